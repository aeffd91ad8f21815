"""`ciblage status`: the last runs as an operator needs them the morning after.

One block per run id (a nightly run and the stage flows it ran share one id): what was
asked (as-of, territory), how each stage went (status, rows out, duration), the
data-quality outcome and whether the run was published or why not. Blocks, not a table:
a table cut the run ids (the handle every other command needs) at any terminal width.
A run the ledger still says `running` whose process no longer holds the warehouse lock
was killed: it shows `interrupted` (the next run records it so in the ledger too).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import duckdb

from ciblage.config import load_settings
from ciblage.freshness import stale_sources
from ciblage.ledger import INTERRUPTED, RUNNING
from ciblage.lock import describe, lock_holder
from ciblage.outcome import status_fr
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
        coverage = _coverage(con, linked)
        stale = {run_id: stale_sources(con, sorted(ids)) for run_id, ids in linked.items()}
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
    out = [_summarise(run, dq.get(run["run_id"])) for run in runs.values()]
    for r in out:
        r["coverage"] = coverage.get(r["run_id"])
        # « Données SIRENE du 01/10/2026 : le chargement du 27/11/2026 a échoué »
        r["stale_sources"] = [i["notice_fr"] for i in stale.get(r["run_id"], [])]
    return out


def _coverage(con: duckdb.DuckDBPyConnection, linked: dict[str, set[str]]) -> dict[str, str]:
    """Per run: share of establishments each source informs (after features when measured),
    flagged when below its bound (ciblage/quality/coverage.py)."""
    from ciblage.quality.coverage import coverage_rows

    out = {}
    for run_id, ids in linked.items():
        last: dict[str, dict[str, Any]] = {}
        for c in coverage_rows(con, sorted(ids)):  # ordered ingest, then features
            last[c["source"]] = c
        lines = [
            f"{src} aucune ligne"
            if not c["rows"]
            else f"{src} {100 * (c['share'] or 0):.0f} %"
            + ("" if c["success"] else " SOUS LE SEUIL")
            for src, c in sorted(last.items())
        ]
        if lines:
            out[run_id] = "\n".join(lines)
    return out


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
            out[run_id] = f"{crit} critique(s) en échec / {n}"
        elif warn:
            out[run_id] = f"ok, {warn} avertissement(s) / {n}"
        else:
            out[run_id] = f"ok ({n} contrôles)"
    return out


def _overall(statuses: list[str]) -> str:
    for s in ("running", "failed", "interrupted", "blocked", "degraded"):
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
    trained = [r for r in run["rows"] if r["stage"] == "score" and r["step"] == "train"]
    return {
        "model": _model_line(trained[-1]) if trained else None,
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


def _model_line(row: dict[str, Any]) -> str:
    """The trained model and the gate's verdict (which ranking the lists use)."""
    gate = (row["params"] or {}).get("gate") or {}
    bt = (row["params"] or {}).get("backtest") or {}
    model_id = (row["message"] or "").split(" ")[1] if row["message"] else "-"
    parts = [model_id]
    if bt.get("precision_at_10_model") is not None:
        parts.append(
            f"back-test p@10 {bt['precision_at_10_model']:.3f} "
            f"(plus d'embauches d'abord {bt.get('precision_at_10_past_12m') or 0:.3f})"
        )
    if bt.get("calibration_ratio") is not None:
        parts.append(f"calibration {bt['calibration_ratio']:.2f}")
    if gate.get("passed") is False:
        from scoring.model_gate import reason_fr  # numpy: only for a refused model

        reason = reason_fr(gate.get("reason")) or "raison non enregistrée"
        parts.append(f"MODÈLE REFUSÉ ({reason}) : listes classées par la référence")
    elif gate.get("ranking_method") == "baseline":
        parts.append("modèle accepté ; l'ajustement a gardé la référence seule")
    elif gate:
        parts.append("modèle accepté")
    return ", ".join(parts)


def _fmt_stage(s: dict[str, Any] | None) -> str:
    if not s:
        return "-"
    parts = [status_fr(s["status"])]
    if s["rows_out"] is not None:
        parts.append(f"{s['rows_out']:,} lignes".replace(",", " "))
    if s["seconds"] is not None:
        parts.append(f"{s['seconds']:.1f}s")
    return ", ".join(parts)


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def mark_dead_runs(runs: list[dict[str, Any]], holder: dict[str, Any] | None) -> None:
    """`running` only while the run's process holds the warehouse lock, else `interrupted`.

    Every writing run holds the lock for its whole duration and the kernel releases it
    when the process dies (kill -9 included), so a free lock, a lock held by another run,
    or a holder whose pid is gone on this host all mean the `running` rows are stale.
    """
    alive_id = None
    if holder and (holder.get("host") != socket.gethostname() or _pid_alive(holder.get("pid"))):
        alive_id = holder.get("run_id")
    for r in runs:
        if r["run_id"] == alive_id:
            continue
        stale = False
        for stage in r["stages"].values():
            if stage["status"] == RUNNING:
                stage["status"], stale = INTERRUPTED, True
        if r["status"] == RUNNING or stale:
            r["status"] = INTERRUPTED
            r["error"] = r["error"] or "processus disparu (tué ou planté) pendant le run"


def _block(r: dict[str, Any], shown_id: str) -> list[tuple[str, str]]:
    """One run as a few short lines (text, hanging indent when it wraps).

    Its id heads the first line, with the flows, outcome and duration; stages one per
    line; the long facts (model, coverage, publication, error) wrap, never cut.
    """
    started = r["started"].strftime("%Y-%m-%d %H:%M:%S UTC") if r["started"] else "-"
    head = [shown_id, r["flows"], status_fr(r["status"]).upper()]
    if r["seconds"] is not None:
        head.append(f"{r['seconds']:.1f}s")
    lines = [("  ".join(head), " " * 4)]
    lines.append(
        (
            f"  démarré {started} | données au {r['as_of'] or '-'} | "
            f"territoire {r['territory'] or '-'}",
            " " * 4,
        )
    )
    width = max(len(s) for s in STAGES)
    for stage in STAGES:
        if stage in r["stages"]:
            lines.append((f"  {stage:<{width}}  {_fmt_stage(r['stages'][stage])}", " " * 4))
    facts = [("qualité des données", r["dq"] or "-")]
    facts += [("données anciennes", notice) for notice in r.get("stale_sources") or []]
    if r.get("model"):
        facts.append(("modèle", r["model"]))
    if r.get("coverage"):
        facts.append(("couverture", " ; ".join(str(r["coverage"]).splitlines())))
    facts.append(("publication", r["published"] or "-"))
    if r["error"]:
        facts.append(("erreur", " ".join(str(r["error"]).split())[:400]))
    lines += [(f"  {label} : {text}", " " * 4) for label, text in facts]
    return lines


def _wrap(text: str, indent: str, width: int) -> list[str]:
    """Lines of at most `width` characters: words kept whole when they fit, long paths
    broken (a cut path is still all there, a truncated one is not)."""
    import textwrap

    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width=width, subsequent_indent=indent, break_on_hyphens=False) or [
        text
    ]


def show_status(config: str | None = None, last: int = 10, wide: bool = False) -> None:
    """Print the last runs, one block each (the `ciblage status` command).

    Runs are headed by their short id (`ciblage.run_ids`: the shortest prefix no other run
    shares, accepted by every command that takes a run id); `wide` prints whole ids.
    Lines fit the terminal's width ($COLUMNS when set; 220 when piped, one line per fact).
    """
    from rich.console import Console

    from ciblage.run_ids import known_run_ids, short_ids

    console = Console()
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(width=220)  # piped or captured: one line per fact
    width = console.width
    settings = load_settings(config)
    holder = lock_holder(settings.warehouse)
    if holder:
        holding = describe(holder, french=True)
        console.print(f"[bold yellow]en cours :[/] {holding} tient l'entrepôt")
    if not settings.warehouse.exists():
        console.print(f"pas encore d'entrepôt à {settings.warehouse} : aucun run")
        return
    try:
        runs = collect_status(settings.warehouse, last)
        con = connect(settings.warehouse, read_only=True)
        try:
            shorts = {} if wide else short_ids(known_run_ids(con))
        finally:
            con.close()
    except duckdb.IOException as exc:
        console.print(f"[red]journal des runs illisible, l'entrepôt est utilisé :[/] {exc}")
        return
    if not runs:
        console.print("aucun run enregistré")
        return
    mark_dead_runs(runs, holder)
    console.print(
        f"Les {len(runs)} derniers runs ({settings.warehouse.name}), du plus récent au plus ancien",
        style="bold",
    )
    if not wide:
        console.print("identifiants courts (tout préfixe non ambigu convient ; --wide : complets)")
    for r in runs:
        console.print()
        shown = shorts.get(r["run_id"], r["run_id"])
        for i, (text, indent) in enumerate(_block(r, shown)):
            for line in _wrap(text, indent, width):
                console.print(
                    line,
                    style="bold" if i == 0 else None,
                    highlight=False,
                    markup=False,
                    overflow="fold",
                    soft_wrap=False,
                )
