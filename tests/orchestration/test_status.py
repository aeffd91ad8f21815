"""The ledger records each step; `ciblage status` shows runs, stages, failures, publication."""

from __future__ import annotations

import pytest

from ciblage.ledger import FAILED, INTERRUPTED, ledger_step, mark_interrupted
from ciblage.status import collect_status, show_status
from ciblage.warehouse import session


def test_ledger_and_status(settings_factory, capsys) -> None:
    s = settings_factory()
    wh = s.warehouse
    params = {"as_of": "2026-11-01", "territory": "dep:45"}
    with (
        ledger_step(wh, run_id="R1", flow="nightly", stage="ingest", step="stage", params=params),
        ledger_step(wh, run_id="R1", flow="ingest", stage="ingest", step="offres") as st,
    ):
        st.rows_in, st.rows_out, st.rows_quarantined = 120, 118, 2
    with (
        pytest.raises(ValueError, match="model exploded"),
        ledger_step(wh, run_id="R1", flow="nightly", stage="score", step="stage", params=params),
    ):
        raise ValueError("model exploded")
    # a step left running by a killed process
    with session(wh) as con:
        con.execute(
            "INSERT INTO run_ledger (run_id, flow, stage, step, started_at, status) "
            "VALUES ('R0', 'nightly', 'score', 'stage', TIMESTAMP '2026-01-01 02:30:00', 'running')"
        )
    assert mark_interrupted(wh) == 1

    runs = collect_status(wh, last=5)
    assert [r["run_id"] for r in runs] == ["R1", "R0"]
    r1 = runs[0]
    assert r1["stages"]["ingest"]["status"] == "completed"
    assert r1["stages"]["ingest"]["rows_out"] == 118
    assert r1["stages"]["score"]["status"] == FAILED
    assert r1["status"] == FAILED and "model exploded" in r1["error"]
    assert r1["territory"] == "dep:45"
    assert runs[1]["status"] == INTERRUPTED

    show_status(config=str(s.config_path), last=5)
    out = capsys.readouterr().out
    assert "R1" in out and "R0" in out and "model exploded" in out and "118 lignes" in out


def test_status_before_any_run(settings_factory, capsys) -> None:
    s = settings_factory()
    show_status(config=str(s.config_path))
    assert "aucun run" in capsys.readouterr().out
