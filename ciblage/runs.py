"""Run folders and the atomic `latest` pointer that agencies download from.

A run writes everything under `<output>/runs/<run_id>/`; only when every output is
complete and validated does `switch_latest` repoint `<output>/latest` to it, in one
`rename`, so a failed or interrupted run never touches the published lists.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from ciblage.config import Settings


def new_run_id(as_of: date) -> str:
    """Sortable and readable: creation time, then the as-of date it publishes."""
    now = datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%f}Z_asof{as_of:%Y%m%d}"


def runs_root(settings: Settings) -> Path:
    return settings.output / "runs"


def create_run_dir(settings: Settings, run_id: str) -> Path:
    path = runs_root(settings) / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def latest_link(settings: Settings) -> Path:
    return settings.output / "latest"


def latest_run_dir(settings: Settings) -> Path | None:
    """Folder currently published, or None before the first publication."""
    link = latest_link(settings)
    if not link.is_symlink():
        return None
    target = (link.parent / os.readlink(link)).resolve()
    return target if target.is_dir() else None


def switch_latest(settings: Settings, run_dir: Path) -> None:
    """Repoint `latest` to `run_dir` atomically (symlink to a temp name, then rename)."""
    link = latest_link(settings)
    link.parent.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(run_dir.resolve(), link.parent.resolve())
    tmp = link.with_name(f".latest.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(rel, target_is_directory=True)
    os.replace(tmp, link)
