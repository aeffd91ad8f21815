"""The per-agency publication fan-out on a local Dask cluster (the path beyond one machine)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from orch_fixtures import clone_config, comparable_targets
from polars.testing import assert_frame_equal

from ciblage.config import load_settings


@pytest.mark.e2e
@pytest.mark.slow
def test_publish_fanout_on_local_dask_cluster(nightly_work: dict, tmp_path: Path) -> None:
    from prefect_dask import DaskTaskRunner

    from pipelines.publish import publish_flow

    src = load_settings(nightly_work["config"])
    cfg = clone_config(nightly_work["config"], tmp_path / "work")
    dst = load_settings(cfg).warehouse
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src.warehouse, dst)
    runner = DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": 2, "processes": False, "threads_per_worker": 1},
    )
    out = tmp_path / "dask-run"
    result = publish_flow.with_options(task_runner=runner)(config=str(cfg), out_dir=str(out))
    assert result["agencies"] > 1  # a real fan-out: one task per agency
    assert_frame_equal(comparable_targets(out), nightly_work["targets"])
    agencies = sorted(p.name for p in (out / "agences").iterdir())
    assert agencies == sorted(p.name for p in (nightly_work["run_dir"] / "agences").iterdir())
