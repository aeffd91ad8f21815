"""`ciblage status`: run ids printed whole at 80 columns; a killed run is `interrupted`."""

from __future__ import annotations

import os
import socket

from rich.console import Console

from ciblage.ledger import ensure_ledger, ledger_step
from ciblage.lock import warehouse_lock
from ciblage.runs import new_run_id
from ciblage.status import collect_status, mark_dead_runs, show_status
from ciblage.warehouse import session


def _left_running(wh, run_id: str) -> None:
    """What `kill -9` leaves: the ledger rows of a run still say `running`."""
    with session(wh) as con:
        ensure_ledger(con)
        for stage, step in (("run", "run"), ("score", "stage")):
            con.execute(
                "INSERT INTO run_ledger (run_id, flow, stage, step, started_at, status) "
                "VALUES (?, 'nightly', ?, ?, now()::TIMESTAMP, 'running')",
                [run_id, stage, step],
            )


def test_killed_run_shows_interrupted(settings_factory) -> None:
    s = settings_factory()
    with ledger_step(s.warehouse, run_id="done", flow="nightly", stage="run", step="run"):
        pass
    _left_running(s.warehouse, "killed")
    runs = collect_status(s.warehouse)
    assert runs[0]["status"] == "running"  # the ledger alone cannot tell
    mark_dead_runs(runs, holder=None)  # nobody holds the warehouse lock
    killed = next(r for r in runs if r["run_id"] == "killed")
    assert killed["status"] == "interrupted"
    assert killed["stages"]["score"]["status"] == "interrupted"
    assert "killed" in killed["error"]


def test_live_run_stays_running_and_dead_pid_does_not(settings_factory) -> None:
    s = settings_factory()
    _left_running(s.warehouse, "live")
    host = socket.gethostname()
    runs = collect_status(s.warehouse)
    mark_dead_runs(runs, {"run_id": "live", "pid": os.getpid(), "host": host})
    assert runs[0]["status"] == "running"
    runs = collect_status(s.warehouse)
    mark_dead_runs(runs, {"run_id": "live", "pid": 2**22 + 12345, "host": host})
    assert runs[0]["status"] == "interrupted"
    runs = collect_status(s.warehouse)
    mark_dead_runs(runs, {"run_id": "another", "pid": os.getpid(), "host": host})
    assert runs[0]["status"] == "interrupted"


def test_status_prints_whole_run_ids_at_80_columns(settings_factory, monkeypatch, capsys) -> None:
    s = settings_factory()
    ids = [new_run_id(s.as_of) for _ in range(2)]
    for run_id in ids:
        with ledger_step(
            s.warehouse,
            run_id=run_id,
            flow="nightly",
            stage="run",
            step="run",
            params={"as_of": "2026-11-01", "territory": "all"},
        ) as st:
            st.message = "x " * 200  # long messages wrap, they do not squeeze the id
    _left_running(s.warehouse, ids[0] + "_killed")
    monkeypatch.setattr("rich.console.Console", lambda **kw: Console(**{**kw, "width": 80}))
    with warehouse_lock(s.warehouse, run_id="other", flow="rerun"):
        show_status(config=str(s.config_path))
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for run_id in ids:
        assert run_id in lines  # alone on its line, whole
    killed = lines.index(ids[0] + "_killed")
    assert "INTERRUPTED" in lines[killed + 1]
