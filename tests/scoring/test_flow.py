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
