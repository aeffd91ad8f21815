"""Fixtures of the orchestration tests (builders live in orch_fixtures.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from orch_fixtures import AS_OF

from ciblage.config import Settings, load_settings
from ciblage.runs import create_run_dir, new_run_id


@pytest.fixture()
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    def make(gates: str = "", runs: str = "") -> Settings:
        cfg = tmp_path / "ciblage.toml"
        cfg.write_text(
            '[paths]\nwarehouse = "wh/ciblage.duckdb"\noutput = "out"\n'
            f'[run]\nas_of = "{AS_OF}"\n[gates]\n{gates}\n[runs]\n{runs}\n'
        )
        return load_settings(cfg)

    return make


@pytest.fixture()
def make_run() -> Callable[..., Path]:
    def make(settings: Settings, targets: pl.DataFrame | None) -> Path:
        run_dir = create_run_dir(settings, new_run_id(AS_OF))
        if targets is not None:
            targets.write_parquet(run_dir / "targets.parquet")
        return run_dir

    return make
