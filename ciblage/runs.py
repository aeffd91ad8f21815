"""Run folders and the atomic `latest` pointer that agencies download from.

A run writes everything under `<output>/runs/<run_id>/`; only when every output is
complete and validated does `switch_latest` repoint `<output>/latest` to it, in one
`rename`, so a failed or interrupted run never touches the published lists.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ciblage.config import Settings
from ciblage.lock import warehouse_lock

if TYPE_CHECKING:
    from ciblage.gates import GateReport


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


# ---- one run id across the stages of a nightly run ---------------------------------------

_current_run: ContextVar[str | None] = ContextVar("ciblage_run_id", default=None)
RUN_ID_ENV = "CIBLAGE_RUN_ID"


def run_id_for(as_of: date) -> str:
    """The run id a stage should record under: the enclosing nightly run's when there is
    one (so `ciblage status` shows one run with its stages), else a fresh one."""
    return _current_run.get() or os.environ.get(RUN_ID_ENV) or new_run_id(as_of)


@contextmanager
def bind_run_id(run_id: str) -> Iterator[str]:
    token = _current_run.set(run_id)
    try:
        yield run_id
    finally:
        _current_run.reset(token)


def lock_timeout_s(settings: Settings) -> float | None:
    """[runs] lock_timeout_minutes (default 360; 0 = wait forever)."""
    minutes = float(settings.section("runs").get("lock_timeout_minutes", 360))
    return minutes * 60 if minutes > 0 else None


@contextmanager
def locked(settings: Settings, run_id: str, flow: str) -> Iterator[Path]:
    """The warehouse write lock, with the configured wait; every writing flow enters it."""
    with warehouse_lock(
        settings.warehouse, run_id=run_id, flow=flow, timeout_s=lock_timeout_s(settings)
    ) as path:
        yield path


# ---- keep the last K runs ----------------------------------------------------------------

_RUN_ID = re.compile(r"^\d{8}T\d{6}\d*Z_asof\d{8}$")


def list_runs(settings: Settings) -> list[Path]:
    """Run folders, oldest first (run ids sort by creation time)."""
    root = runs_root(settings)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and _RUN_ID.match(p.name))


def prune_runs(settings: Settings, keep: int | None = None, background: bool = False) -> list[Path]:
    """Remove all but the `keep` newest run folders ([runs] keep, default 5).

    The published folder is never removed, even when older than the newest K (a run of
    gate failures must not delete what agencies are reading). Folders are first renamed
    into `runs/.trash/` (instant), then deleted; a run folder holds thousands of files
    (one fiche page per company), so with `background=True` the deletion happens on a
    daemon thread and does not delay the publication; whatever an exiting process leaves
    in the trash is deleted by the next prune.
    """
    keep = int(settings.section("runs").get("keep", 5)) if keep is None else keep
    if keep < 1:
        raise ValueError("[runs] keep doit être >= 1")
    published = latest_run_dir(settings)
    trash = runs_root(settings) / TRASH
    removed = []
    for path in list_runs(settings)[:-keep]:
        if published is not None and path.resolve() == published:
            continue
        trash.mkdir(exist_ok=True)
        path.rename(trash / path.name)
        removed.append(path)
    if trash.is_dir():
        if background:
            threading.Thread(target=_empty, args=(trash,), daemon=True).start()
        else:
            _empty(trash)
    return removed


TRASH = ".trash"


def _empty(trash: Path) -> None:
    for child in list(trash.iterdir()):
        shutil.rmtree(child, ignore_errors=True)


# ---- gated publication -------------------------------------------------------------------


def publish_run(
    settings: Settings,
    run_dir: Path,
    previous_dir: Path | None,
    *,
    territory: str = "all",
    flow: str = "publish",
) -> GateReport:
    """Gate a finished run folder, then switch `latest` to it only if every gate passes.

    The publish flow calls this instead of `switch_latest`. A refused run stays in
    `runs/` with its `run_report.json` / `run_report.md` naming the failed territory and
    figure; agencies keep reading the previous lists. Older runs are pruned after a
    successful switch.
    """
    from ciblage.freshness import run_source_notices
    from ciblage.gate_snapshot import write_snapshot
    from ciblage.gates import GateCheck, GateConfig, GateReport, evaluate
    from ciblage.ledger import BLOCKED, COMPLETED, ledger_step
    from ciblage.warehouse import connect

    run_dir = Path(run_dir)
    cfg = GateConfig.from_settings(settings)
    report = GateReport(
        run_id=run_dir.name,
        run_dir=str(run_dir),
        previous_run_id=previous_dir.name if previous_dir else None,
    )
    params = {"run_dir": str(run_dir), "previous": report.previous_run_id, "territory": territory}
    with ledger_step(
        settings.warehouse,
        # the enclosing nightly's id, else the run folder's (= the publish run's id)
        run_id=_current_run.get() or os.environ.get(RUN_ID_ENV) or run_dir.name,
        flow=flow,
        stage="publish",
        step="publication",
        params=params,
    ) as step:
        snapshot_error = None
        con = connect(settings.warehouse)
        try:
            try:
                write_snapshot(con, run_dir, settings.as_of, territory, cfg, previous_dir)
            except Exception as exc:  # missing scores: the run is not publishable, say why
                snapshot_error = f"{type(exc).__name__}: {exc}"
            report.stale_sources = run_source_notices(settings, run_dir, con)
        finally:
            con.close()
        report.checks = evaluate(run_dir, previous_dir, cfg)
        if snapshot_error:
            report.checks.append(
                GateCheck(
                    "scores_snapshot", "run", None, "scores à la date as_of", False, snapshot_error
                )
            )
        report.published = report.passed
        report.write(run_dir)
        if report.published:
            switch_latest(settings, run_dir)
            prune_runs(settings, background=True)
        step.status = COMPLETED if report.published else BLOCKED
        step.rows_out = int(report.checks[0].value or 0) if report.checks else None
        step.message = ("publié : " if report.published else "NON publié : ") + (report.summary())
        step.params = {"published": report.published, "failed_checks": len(report.failures)}
    return report
