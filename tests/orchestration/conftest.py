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


@pytest.fixture(scope="session")
def nightly_work(
    tmp_path_factory: pytest.TempPathFactory, e2e_config: Path, prefect_harness: None
) -> dict:
    """One full `nightly` run (in-process, under the harness) on a private copy of the
    session's sample config; later tests compare with what it produced."""
    from orch_fixtures import clone_config, comparable_scores, comparable_targets

    from pipelines.nightly import nightly_flow

    cfg = clone_config(e2e_config, tmp_path_factory.mktemp("nightly"))
    result = nightly_flow(config=str(cfg))
    settings = load_settings(cfg)
    run_dir = Path(result["publish"]["run_dir"])
    return {
        "config": cfg,
        "result": result,
        "run_dir": run_dir,
        "scores": comparable_scores(settings.warehouse),
        "targets": comparable_targets(run_dir),
    }
