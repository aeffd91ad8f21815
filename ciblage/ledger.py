"""The run ledger: what every flow run did, stage by stage, in the warehouse itself.

The ledger lives in the warehouse (table `run_ledger`, built by `sql/run_ledger.sql`) so
that an analyst can query it next to the data it describes, and so that it is exactly as
durable as the data: a stage recorded `completed` has committed its tables. The nightly
flow reads it to resume after a failure; `ciblage status` renders it.

Each write opens a short-lived connection: stage flows keep their own connections and
DuckDB shares one database instance per file within a process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ciblage.warehouse import run_sql_file, session, table_exists

RUNNING, COMPLETED, FAILED, SKIPPED = "running", "completed", "failed", "skipped"
INTERRUPTED, BLOCKED = "interrupted", "blocked"
DEGRADED = "degraded"  # completed on the last good load of an optional source

COLUMNS = (
    "run_id, flow, stage, step, started_at, ended_at, status, "
    "rows_in, rows_out, rows_quarantined, params, message"
)


def utcnow() -> datetime:
    """Naive UTC, as stored in the ledger's TIMESTAMP columns."""
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    run_sql_file(con, "run_ledger")


@dataclass
class StepOutcome:
    """Filled in by the code inside `ledger_step`; written when the step ends."""

    rows_in: int | None = None
    rows_out: int | None = None
    rows_quarantined: int | None = None
    message: str | None = None
    status: str = COMPLETED
    params: dict[str, Any] = field(default_factory=dict)


def append(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    flow: str,
    stage: str,
    step: str,
    status: str,
    started_at: datetime,
    ended_at: datetime | None = None,
    rows_in: int | None = None,
    rows_out: int | None = None,
    rows_quarantined: int | None = None,
    params: dict[str, Any] | None = None,
    message: str | None = None,
) -> None:
    ensure_ledger(con)
    con.execute(
        f"INSERT INTO run_ledger ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            flow,
            stage,
            step,
            started_at,
            ended_at,
            status,
            rows_in,
            rows_out,
            rows_quarantined,
            json.dumps(params or {}, default=str, sort_keys=True),
            message,
        ],
    )


def record(warehouse: str | Path, **fields: Any) -> None:
    """Append one finished row (see `append` for the fields), opening the warehouse."""
    with session(warehouse) as con:
        append(con, **fields)


def _finish(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    stage: str,
    step: str,
    started_at: datetime,
    outcome: StepOutcome,
    params: dict[str, Any],
) -> None:
    con.execute(
        """
        UPDATE run_ledger
        SET ended_at = ?, status = ?, rows_in = ?, rows_out = ?, rows_quarantined = ?,
            params = ?, message = ?
        WHERE run_id = ? AND stage = ? AND step = ? AND started_at = ?
        """,
        [
            utcnow(),
            outcome.status,
            outcome.rows_in,
            outcome.rows_out,
            outcome.rows_quarantined,
            json.dumps({**params, **outcome.params}, default=str, sort_keys=True),
            outcome.message,
            run_id,
            stage,
            step,
            started_at,
        ],
    )


@contextmanager
def ledger_step(
    warehouse: str | Path,
    *,
    run_id: str,
    flow: str,
    stage: str,
    step: str,
    params: dict[str, Any] | None = None,
) -> Iterator[StepOutcome]:
    """Record a `running` row now, then `completed` (or `failed` with the error) at exit.

    The running row is committed before the work starts, so a killed process leaves a
    trace that the next run turns into `interrupted`.
    """
    params = dict(params or {})
    started = utcnow()
    with session(warehouse) as con:
        append(
            con,
            run_id=run_id,
            flow=flow,
            stage=stage,
            step=step,
            status=RUNNING,
            started_at=started,
            params=params,
        )
    outcome = StepOutcome()
    try:
        yield outcome
    except BaseException as exc:
        outcome.status = FAILED
        outcome.message = f"{type(exc).__name__}: {exc}"[:2000]
        with session(warehouse) as con:
            _finish(con, run_id, stage, step, started, outcome, params)
        raise
    with session(warehouse) as con:
        _finish(con, run_id, stage, step, started, outcome, params)


def mark_interrupted(warehouse: str | Path) -> int:
    """Turn rows left `running` by a dead process into `interrupted`.

    Only call this while holding the warehouse lock: then no other live run can own a
    `running` row, so every such row belongs to a process that died.
    """
    if not Path(warehouse).exists():
        return 0
    with session(warehouse) as con:
        if not table_exists(con, "run_ledger"):
            return 0
        n = con.execute("SELECT count(*) FROM run_ledger WHERE status = ?", [RUNNING]).fetchone()
        con.execute(
            "UPDATE run_ledger SET status = ?, message = coalesce(message, ?) WHERE status = ?",
            [INTERRUPTED, "processus terminé sans clore cette étape (tué ou planté)", RUNNING],
        )
    return int(n[0]) if n else 0


def last_stage_record(warehouse: str | Path, stage: str) -> dict[str, Any] | None:
    """The most recent non-skipped summary row (step 'stage') of `stage`, plus
    `later_activity`: whether another run of that stage started after it ended (a
    standalone run changed the warehouse since, so its result can no longer be reused)."""
    if not Path(warehouse).exists():
        return None
    with session(warehouse, read_only=False) as con:
        if not table_exists(con, "run_ledger"):
            return None
        row = con.execute(
            f"""SELECT {COLUMNS} FROM run_ledger WHERE stage = ? AND step = 'stage'
                AND status <> 'skipped' ORDER BY started_at DESC LIMIT 1""",
            [stage],
        ).fetchone()
        if row is None:
            return None
        rec = dict(zip([c.strip() for c in COLUMNS.split(",")], row, strict=True))
        rec["params"] = json.loads(rec["params"] or "{}")
        later = con.execute(
            """SELECT count(*) FROM run_ledger WHERE stage = ? AND run_id <> ?
               AND status <> 'skipped' AND started_at > coalesce(?, ?)""",
            [stage, rec["run_id"], rec["ended_at"], rec["started_at"]],
        ).fetchone()
        rec["later_activity"] = bool(later and later[0])
    return rec


def stage_started_since(warehouse: str | Path, stage: str, since: Any) -> bool:
    """Whether any run of `stage` (not a reuse) started after `since`."""
    with session(warehouse, read_only=False) as con:
        row = con.execute(
            """SELECT count(*) FROM run_ledger WHERE stage = ? AND status <> 'skipped'
               AND started_at > ?""",
            [stage, since],
        ).fetchall()
    return bool(row and row[0][0])
