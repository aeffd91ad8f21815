"""`ciblage status`: the last runs as an operator needs them the morning after.

One line per run id (a nightly run and the stage flows it ran share one id): what was
asked (as-of, territory), how each stage went (status, rows out, duration), the
data-quality outcome and whether the run was published or why not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from ciblage.config import load_settings
from ciblage.lock import describe, lock_holder
from ciblage.warehouse import connect, table_exists

STAGES = ("ingest", "score", "publish")


def collect_status(warehouse: str | Path, last: int = 10) -> list[dict[str, Any]]:
    """The last `last` runs, newest first, one dict per run id."""
    con = connect(warehouse, read_only=True)
    try:
        if not table_exists(con, "run_ledger"):
            return []
        rows = con.execute(
            """
            WITH runs AS (
                SELECT run_id, min(started_at) AS started FROM run_ledger
                GROUP BY run_id ORDER BY started DESC LIMIT ?
            )
            SELECT l.run_id, l.flow, l.stage, l.step, l.started_at, l.ended_at, l.status,
                   l.rows_out, l.params, l.message
            FROM run_ledger l JOIN runs USING (run_id)
            ORDER BY runs.started DESC, l.started_at
            """,
            [last],
        ).fetchall()
        # a stage flow may record its data-quality results under its own run id, returned
        # to the nightly run and kept in the stage's params.result
        linked: dict[str, set[str]] = {}
        for r in rows:
            ids = linked.setdefault(r[0], {r[0]})
            result = json.loads(r[8] or "{}").get("result")
            if isinstance(result, dict) and isinstance(result.get("run_id"), str):
                ids.add(result["run_id"])
        dq = _dq_outcomes(con, linked)
    finally:
        con.close()
    runs: dict[str, dict[str, Any]] = {}
    for run_id, flow, stage, step, started, ended, status, rows_out, params, message in rows:
        run = runs.setdefault(
            run_id,
            {"run_id": run_id, "flows": [], "started": started, "ended": ended, "rows": []},
        )
        if flow not in run["flows"]:
            run["flows"].append(flow)
        run["ended"] = max(filter(None, [run["ended"], ended]), default=None)
        run["rows"].append(
            {
                "stage": stage,
                "step": step,
                "status": status,
                "rows_out": rows_out,
                "params": json.loads(params or "{}"),
                "message": message,
                "seconds": (ended - started).total_seconds() if ended else None,
            }
        )
    return [_summarise(run, dq.get(run["run_id"])) for run in runs.values()]


def _dq_outcomes(con: duckdb.DuckDBPyConnection, linked: dict[str, set[str]]) -> dict[str, str]:
    if not linked or not table_exists(con, "dq_result"):
        return {}
    out = {}
    for run_id, ids in linked.items():
        n, crit, warn = con.execute(
            """SELECT count(*), count(*) FILTER (WHERE NOT success AND critical),
                      count(*) FILTER (WHERE NOT success AND NOT critical)
               FROM dq_result WHERE list_contains(?, run_id)""",
            [sorted(ids)],
        ).fetchone()
        if not n:
            continue
        if crit:
            out[run_id] = f"{crit} critical failed / {n}"
        elif warn:
            out[run_id] = f"ok, {warn} warnings / {n}"
        else:
            out[run_id] = f"ok ({n} checks)"
    return out


def _overall(statuses: list[str]) -> str:
    for s in ("running", "failed", "interrupted", "blocked"):
        if s in statuses:
            return s
    return "completed" if statuses else "?"


def _summarise(run: dict[str, Any], dq: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for r in run["rows"]:
        if r["step"] in ("run", "stage"):
            params = {**r["params"], **params}
    for r in run["rows"]:  # a stage run alone: its steps' own parameters
        for key in ("as_of", "territory"):
            if params.get(key) is None and isinstance(r["params"].get(key), str):
                params[key] = r["params"][key]
    stages = {}
    for stage in STAGES:
        rows = [r for r in run["rows"] if r["stage"] == stage]
        if not rows:
            continue
        summary = [r for r in rows if r["step"] == "stage"]
        detail = [r for r in rows if r["step"] not in ("stage", "publication")]
        status = summary[-1]["status"] if summary else _overall([r["status"] for r in rows])
        n_out = sum(r["rows_out"] or 0 for r in detail) if detail else None
        secs = summary[-1]["seconds"] if summary else sum(r["seconds"] or 0 for r in rows)
        stages[stage] = {"status": status, "rows_out": n_out, "seconds": secs}
    publication = [r for r in run["rows"] if r["step"] == "publication"]
    whole = [r for r in run["rows"] if r["step"] == "run"]
    errors = [r["message"] for r in run["rows"] if r["status"] in ("failed", "interrupted")]
    return {
        "run_id": run["run_id"],
        "flows": "+".join(run["flows"]),
        "started": run["started"],
        "seconds": (run["ended"] - run["started"]).total_seconds() if run["ended"] else None,
        "status": whole[-1]["status"] if whole else _overall([r["status"] for r in run["rows"]]),
        "as_of": params.get("as_of"),
        "territory": params.get("territory"),
        "stages": stages,
        "dq": dq,
        "published": publication[-1]["message"] if publication else None,
        "error": errors[0] if errors else None,
    }


def _fmt_stage(s: dict[str, Any] | None) -> str:
    if not s:
        return "-"
    parts = [s["status"]]
    if s["rows_out"] is not None:
        parts.append(f"{s['rows_out']:,} rows".replace(",", " "))
    if s["seconds"] is not None:
        parts.append(f"{s['seconds']:.1f}s")
    return "\n".join(parts)


def show_status(config: str | None = None, last: int = 10) -> None:
    """Print the last runs as a table (the `ciblage status` command)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table to 80 columns
        console = Console(width=220)
    settings = load_settings(config)
    holder = lock_holder(settings.warehouse)
    if holder:
        console.print(f"[bold yellow]running now:[/] {describe(holder)} holds the warehouse")
    if not settings.warehouse.exists():
        console.print(f"no warehouse yet at {settings.warehouse}: nothing has run")
        return
    try:
        runs = collect_status(settings.warehouse, last)
    except duckdb.IOException as exc:
        console.print(f"[red]cannot read the run ledger while the warehouse is in use:[/] {exc}")
        return
    if not runs:
        console.print("no run recorded yet")
        return
    table = Table(title=f"Last {len(runs)} runs ({settings.warehouse.name})", show_lines=True)
    for col in ("run", "flow", "started (UTC)", "status", "as of", "territory"):
        table.add_column(col)
    for stage in STAGES:
        table.add_column(stage)
    table.add_column("data quality")
    table.add_column("publication")
    for r in runs:
        started = r["started"].strftime("%Y-%m-%d %H:%M:%S") if r["started"] else "-"
        dur = f"\n{r['seconds']:.1f}s" if r["seconds"] is not None else ""
        status = r["status"] + (f"\n{r['error'][:80]}" if r["error"] else "")
        table.add_row(
            r["run_id"],
            r["flows"],
            started + dur,
            status,
            str(r["as_of"] or "-"),
            str(r["territory"] or "-"),
            *[_fmt_stage(r["stages"].get(s)) for s in STAGES],
            r["dq"] or "-",
            r["published"] or "-",
        )
    console.print(table)
