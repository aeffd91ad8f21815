"""The nightly flow end to end on the sample, under the session's Prefect harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from ciblage.config import load_settings
from ciblage.runs import latest_run_dir, list_runs
from ciblage.status import collect_status


@pytest.mark.e2e
@pytest.mark.slow
def test_nightly_then_rerun_then_territory(nightly_work: dict) -> None:
    from pipelines.nightly import nightly_flow, territory_rerun_flow

    cfg, first, run_dir = nightly_work["config"], nightly_work["result"], nightly_work["run_dir"]
    settings = load_settings(cfg)
    assert {s: i["status"] for s, i in first["stages"].items()} == {
        "ingest": "completed",
        "score": "completed",
        "publish": "completed",
    }
    assert latest_run_dir(settings) == run_dir.resolve()
    report = json.loads((run_dir / "run_report.json").read_text())
    assert report["published"] and report["previous_run_id"] is None
    assert nightly_work["targets"].height > 0 and nightly_work["scores"].height > 0

    # same inputs: everything is reused, nothing is rewritten or republished
    again = nightly_flow(config=str(cfg))
    assert {i["status"] for i in again["stages"].values()} == {"skipped"}
    assert latest_run_dir(settings) == run_dir.resolve()
    assert len(list_runs(settings)) == 1

    # an analyst's rerun of one département goes through the gates against the nightly
    rerun = territory_rerun_flow(territory="dep:45", config=str(cfg))
    rerun_dir = Path(rerun["publish"]["run_dir"])
    rep = json.loads((rerun_dir / "run_report.json").read_text())
    assert rep["previous_run_id"] == run_dir.name
    judged = {c["territory"] for c in rep["checks"] if c["name"] == "scored_establishments"}
    assert judged == {"dep:45"}
    assert rep["published"], [c for c in rep["checks"] if not c["passed"]]
    assert latest_run_dir(settings) == rerun_dir.resolve()
    # same data, same model: the republished lists are the nightly's (others carried over)
    from orch_fixtures import comparable_targets

    assert_frame_equal(comparable_targets(rerun_dir), nightly_work["targets"])

    runs = collect_status(settings.warehouse, last=10)
    assert [r["flows"].split("+")[0] for r in runs[:3]] == [
        "territory-rerun",
        "nightly",
        "nightly",
    ]
    assert runs[2]["stages"]["ingest"]["status"] == "completed"
    assert runs[2]["dq"] and runs[2]["dq"].startswith("ok")
    assert runs[2]["published"].startswith("publié")
    assert runs[1]["stages"]["score"]["status"] == "skipped"
    # the rerun's territory was scored by the first nightly and nothing changed since: its
    # score stage is reused (covering_score_record), its publish stage runs
    assert runs[0]["stages"]["score"]["status"] == "skipped"
    assert runs[0]["stages"]["publish"]["status"] == "completed"
