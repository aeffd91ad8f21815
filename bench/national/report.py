"""Per-stage figures of one measured command, read back from the warehouse and run folder.

The ledger says when each stage ran and whether it was reused; the rows come from what
the stage leaves behind (`source_load` for ingest, the score tables for score, the run
folder's targets for publish), so that a figure is what a user would find, not what the
code thinks it did.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds

from bench.national.measure import Measured, folder_size
from ciblage.publish.target_files import targets_files

STAGES = ("ingest", "score", "publish")


def _run_id(con: duckdb.DuckDBPyConnection, m: Measured) -> str | None:
    row = con.execute(
        "SELECT run_id FROM run_ledger WHERE stage = 'run' AND started_at >= ? "
        "ORDER BY started_at DESC LIMIT 1",
        [m.started],
    ).fetchone()
    return row[0] if row else None


def _rows(con: duckdb.DuckDBPyConnection, stage: str, run_id: str, as_of: str) -> dict:
    if stage == "ingest":
        rows = con.execute(
            "SELECT source, status, rows_loaded FROM source_load WHERE run_id = ? ORDER BY source",
            [run_id],
        ).fetchall()
        return {
            "rows": sum(r[2] or 0 for r in rows if r[1] == "loaded"),
            "sources": {r[0]: {"status": r[1], "rows": r[2]} for r in rows},
        }
    if stage == "score":
        n, rome = (
            con.execute(f"SELECT count(*) FROM {t} WHERE as_of = ?", [as_of]).fetchone()[0]
            for t in ("score_etablissement", "score_etablissement_rome")
        )
        return {"rows": n, "rome_rows": rome}
    return {}


def _targets_rows(run_dir: Path) -> int | None:
    files = targets_files(run_dir)
    if not files:
        return None
    return ds.dataset([str(f) for f in files], format="parquet").count_rows()


def stage_figures(warehouse: Path, output: Path, m: Measured, as_of: str) -> dict[str, Any]:
    """Stages (wall, CPU, peak RSS, rows, status), slowest steps, run folder, totals."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        run_id = _run_id(con, m)
        ledger = con.execute(
            "SELECT stage, step, status, started_at, ended_at, rows_out, params "
            "FROM run_ledger WHERE run_id = ? ORDER BY started_at",
            [run_id],
        ).fetchall()
        stages: dict[str, dict[str, Any]] = {}
        steps = []
        for stage, step, status, start, end, rows_out, params in ledger:
            wall = (end - start).total_seconds() if end else None
            if step == "stage":
                fig = {"status": status, "wall_s": round(wall or 0, 1), **m.window(start, end)}
                reused = json.loads(params or "{}").get("reused_from")
                if reused:
                    fig["reused_from"] = reused
                elif status in ("completed", "degraded"):
                    fig.update(_rows(con, stage, run_id, as_of))
                stages[stage] = fig
            elif stage in STAGES and wall is not None:
                steps.append(
                    {"stage": stage, "step": step, "wall_s": round(wall, 1), "rows": rows_out}
                )
    finally:
        con.close()
    run_dir = output / "runs" / (run_id or "-")
    folder = folder_size(run_dir)
    if "publish" in stages:
        stages["publish"]["rows"] = _targets_rows(run_dir)
    staged = sum(s["wall_s"] for s in stages.values())
    return {
        "run_id": run_id,
        "returncode": m.returncode,
        "last_line": m.last_line,
        "stages": stages,
        "slowest_steps": sorted(steps, key=lambda s: -s["wall_s"])[:8],
        "run_folder": {"path": str(run_dir), **folder},
        "total": {
            "wall_s": round(m.wall, 1),
            "cpu_s": m.cpu,
            "peak_rss_gib": m.peak_rss_gib,
            "outside_stages_s": round(m.wall - staged, 1),
        },
    }


def table(phases: dict[str, dict[str, Any]]) -> str:
    """The figures as a fixed-width table: one line per stage, a total per phase."""
    head = (
        f"{'phase':<13} {'stage':<8} {'status':<10} {'wall s':>8} {'CPU s':>8} "
        f"{'peak GiB':>8} {'rows':>13}  run folder"
    )
    lines = [head, "-" * len(head)]
    for phase, fig in phases.items():
        for stage, s in fig["stages"].items():
            rows = s.get("rows")
            extra = f"reused {s['reused_from']}" if s.get("reused_from") else ""
            if stage == "score" and s.get("rome_rows") is not None:
                extra = f"{s['rome_rows']:,} per-ROME rows"
            if stage == "ingest" and s.get("sources"):
                loaded = sum(1 for v in s["sources"].values() if v["status"] == "loaded")
                extra = f"sources: {loaded} loaded, {len(s['sources']) - loaded} not reloaded"
            lines.append(
                f"{phase:<13} {stage:<8} {s['status']:<10} {s['wall_s']:>8.1f} "
                f"{_num(s.get('cpu_s'), '8.1f')} {_num(s.get('peak_rss_gib'), '8.2f')} "
                f"{_num(rows, '13,')}  {extra}"
            )
        t, f = fig["total"], fig["run_folder"]
        lines.append(
            f"{phase:<13} {'TOTAL':<8} {'exit ' + str(fig['returncode']):<10} {t['wall_s']:>8.1f} "
            f"{t['cpu_s']:>8.1f} {t['peak_rss_gib']:>8.2f} {'':>13}  "
            f"{f['bytes'] / 2**30:.2f} GiB, {f['files']:,} files "
            f"(outside stages {t['outside_stages_s']:.1f} s)"
        )
    return "\n".join(lines)


def _num(v: Any, fmt: str) -> str:
    width = int("".join(ch for ch in fmt.split(".")[0] if ch.isdigit()) or 0)
    return format(v, fmt) if v is not None else "-".rjust(width)
