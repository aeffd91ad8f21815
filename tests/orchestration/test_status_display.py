"""`ciblage status`: readable at 80 columns (short run ids, --wide for whole ones); a killed
run is `interrupted`."""

from __future__ import annotations

import os
import socket

from rich.console import Console
from typer.testing import CliRunner

from ciblage.cli import app
from ciblage.ledger import ensure_ledger, ledger_step
from ciblage.lock import warehouse_lock
from ciblage.run_ids import short_ids
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
    assert "tué" in killed["error"]


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


def _two_runs_and_a_killed_one(s) -> list[str]:
    """Ids made within the same millisecond: their short ids need the microseconds."""
    ids = [new_run_id(s.as_of) for _ in range(3)]
    killed = ids.pop()
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
    _left_running(s.warehouse, killed)
    return ids + [killed]


def test_status_at_80_columns_short_ids_by_default(settings_factory, monkeypatch, capsys) -> None:
    s = settings_factory()
    ids = _two_runs_and_a_killed_one(s)
    monkeypatch.setattr("rich.console.Console", lambda **kw: Console(**{**kw, "width": 80}))
    with warehouse_lock(s.warehouse, run_id="other", flow="rerun"):
        show_status(config=str(s.config_path))
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    heads = {line.split()[0]: line for line in lines if line[:1].isdigit()}
    shown = short_ids(ids)
    for run_id in ids:
        assert run_id not in heads  # whole ids only with --wide
        assert shown[run_id] in heads and len(shown[run_id]) < len(run_id)
    assert "INTERROMPU" in heads[shown[ids[-1]]]


def test_status_wide_prints_whole_ids_within_80_columns(
    settings_factory, monkeypatch, capsys
) -> None:
    s = settings_factory()
    ids = _two_runs_and_a_killed_one(s)
    monkeypatch.setattr("rich.console.Console", lambda **kw: Console(**{**kw, "width": 80}))
    show_status(config=str(s.config_path), wide=True)
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    heads = [line.split()[0] for line in lines if line[:1].isdigit()]
    assert set(ids) <= set(heads)


def test_status_cli_honours_columns_80(settings_factory, monkeypatch) -> None:
    """Through the command, with COLUMNS=80 as a terminal would set it."""
    s = settings_factory()
    ids = _two_runs_and_a_killed_one(s)
    monkeypatch.setenv("COLUMNS", "80")
    out = CliRunner().invoke(app, ["status", "-c", str(s.config_path)]).output
    assert max(len(line) for line in out.splitlines()) <= 80
    assert short_ids(ids)[ids[1]] in out and ids[1] not in out
    wide = CliRunner().invoke(app, ["status", "-c", str(s.config_path), "--wide"]).output
    assert max(len(line) for line in wide.splitlines()) <= 80 and ids[1] in wide
