"""The `score` flow under Prefect: national run, then a territory rerun reusing the model."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd

from .conftest import FAST, write_synthetic_config


def test_score_flow_then_territory_rerun(
    prefect_harness: None, synthetic_warehouse: Path, tmp_path: Path
) -> None:
    from pipelines.score import score_flow

    shutil.copy(synthetic_warehouse, tmp_path / "w.duckdb")
    cfg = write_synthetic_config(tmp_path, tmp_path / "w.duckdb", FAST)
    national = score_flow(config=str(cfg))
    assert not national["reused_model"] and national["rows"]["score_etablissement"] > 100
    assert Path(national["model_card"]).is_file()
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    before = con.execute("SELECT * FROM score_etablissement ORDER BY siret").df()
    con.close()

    rerun = score_flow(config=str(cfg), territory="dep:28")
    assert rerun["reused_model"] and rerun["model_id"] == national["model_id"]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    after = con.execute("SELECT * FROM score_etablissement ORDER BY siret").df()
    steps = con.execute(
        "SELECT step, status FROM run_ledger WHERE flow = 'score' ORDER BY started_at"
    ).fetchall()
    dep28 = con.execute(
        "SELECT count(*) FROM feature_etablissement WHERE code_departement = '28'"
    ).fetchone()[0]
    con.close()
    assert rerun["rows"]["score_etablissement"] >= dep28 > 0
    assert rerun["rows"]["score_etablissement"] < len(before)
    # a territory rerun rescoring with the same model gives the national figures
    pd.testing.assert_frame_equal(before, after)
    # each score run also records its after-features coverage check
    assert [s for s in steps if s[0] != "coverage_features"] == [
        ("train", "completed"),
        ("score", "completed"),
        ("score", "completed"),
    ]
    assert ("coverage_features", "completed") in steps


def test_the_next_nights_reuse_the_model_until_retrain_days(
    prefect_harness: None, synthetic_warehouse: Path, tmp_path: Path
) -> None:
    """A national run a few days later scores with the recent model (no training step);
    `retrain`, a model older than `[scoring] retrain_days` or other training settings
    train again."""
    from datetime import date, timedelta

    from pipelines.score import score_flow

    shutil.copy(synthetic_warehouse, tmp_path / "w.duckdb")
    cfg = write_synthetic_config(tmp_path, tmp_path / "w.duckdb", FAST + "retrain_days = 7\n")
    first = score_flow(config=str(cfg))
    day = date.fromisoformat(first["as_of"])
    later = score_flow(config=str(cfg), as_of=(day + timedelta(days=3)).isoformat())
    assert later["reused_model"] and later["model_id"] == first["model_id"]
    assert later["model_as_of"] == first["as_of"] and later["backtest"] is None
    forced = score_flow(config=str(cfg), as_of=(day + timedelta(days=3)).isoformat(), retrain=True)
    assert not forced["reused_model"] and forced["model_as_of"] == later["as_of"]
    (tmp_path / "other").mkdir()
    other_cfg = write_synthetic_config(
        tmp_path / "other", tmp_path / "w.duckdb", FAST + "seed = 7\n"
    )
    other = score_flow(config=str(other_cfg), as_of=(day + timedelta(days=4)).isoformat())
    assert not other["reused_model"]  # other training settings
    too_old = score_flow(config=str(cfg), as_of=(day + timedelta(days=11)).isoformat())
    assert not too_old["reused_model"]  # the forced model (day + 3) is 8 days old
