"""Per-run data-quality report (HTML) from `dq_result` and `quarantine`.

A national run stores ~100 partitions × ~10 checks per source; an analyst needs the
expectations that failed, where, and what the bad values look like, so the report
aggregates per expectation and lists only the failing partitions in detail.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ciblage.config import PROJECT_ROOT
from ciblage.quality.checks import EXPECTATION_NAMES
from ciblage.quality.coverage import EXPECTATION as COVERAGE_EXPECTATION
from ciblage.quality.coverage import coverage_rows
from ciblage.quality.outcome import WHOLE_TABLE
from ciblage.warehouse import table_exists

TEMPLATES = PROJECT_ROOT / "reports" / "templates"
TEMPLATE = "quality_report.html.j2"
MAX_PARTITION_ROWS = 30


@dataclass
class ExpectationSummary:
    expectation: str
    column: str | None
    critical: bool
    partitions: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    unexpected: int = 0
    checked: int = 0
    observed: str = ""
    examples: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failed


@dataclass
class SourceSummary:
    source: str
    file: str | None = None
    expectations: list[ExpectationSummary] = field(default_factory=list)
    partitions: set[str] = field(default_factory=set)

    @property
    def critical_failures(self) -> int:
        return sum(1 for e in self.expectations if e.critical and not e.success)

    @property
    def warnings(self) -> int:
        return sum(1 for e in self.expectations if not e.critical and not e.success)

    @property
    def status(self) -> str:
        """'stopped': the load was refused; 'uninformative': loaded, but informs (almost)
        no establishment (coverage bound, ciblage/quality/coverage.py)."""
        crit = [e for e in self.expectations if e.critical and not e.success]
        if any(e.expectation != COVERAGE_EXPECTATION for e in crit):
            return "stopped"
        return "uninformative" if crit else "passed"


def _summaries(con: duckdb.DuckDBPyConnection, run_id: str) -> list[SourceSummary]:
    if not table_exists(con, "dq_result"):
        return []
    rows = con.execute(
        "SELECT source, partition, expectation, column_name, success, critical, observed, "
        "CAST(details AS VARCHAR) FROM dq_result WHERE run_id = ? ORDER BY source, partition",
        [run_id],
    ).fetchall()
    sources: dict[str, SourceSummary] = {}
    keyed: dict[tuple[str, str, str | None, bool], ExpectationSummary] = {}
    for source, part, expectation, column, success, critical, observed, details in rows:
        info = json.loads(details) if details else {}
        src = sources.setdefault(source, SourceSummary(source, info.get("file")))
        src.partitions.add(part)
        key = (source, expectation, column, critical)
        if key not in keyed:
            keyed[key] = ExpectationSummary(expectation, column, critical)
            src.expectations.append(keyed[key])
        summary = keyed[key]
        summary.partitions += 1
        summary.unexpected += int(info.get("unexpected_count") or 0)
        summary.checked += int(info.get("element_count") or 0) - int(info.get("missing_count") or 0)
        summary.observed = observed or ""
        if not success:
            examples = [str(e) for e in info.get("examples") or []]
            summary.failed.append({"partition": part, "observed": observed, "examples": examples})
            for ex in examples:
                if ex not in summary.examples and len(summary.examples) < 5:
                    summary.examples.append(ex)
    for src in sources.values():
        if len(src.partitions) > 1:  # table-level checks of a partitioned source
            src.partitions.discard(WHOLE_TABLE)
    for summary in keyed.values():
        if summary.partitions > 1:  # one line for the whole table, not the last partition's
            pct = 100.0 * summary.unexpected / summary.checked if summary.checked else 0.0
            verb = (
                "values are empty"
                if summary.expectation == EXPECTATION_NAMES["not_null"]
                else "non-empty values fail"
            )
            summary.observed = f"{summary.unexpected:,} of {summary.checked:,} {verb} ({pct:.2f} %)"
    return list(sources.values())


def _quarantine(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    if not table_exists(con, "quarantine"):
        return []
    rows = con.execute(
        "SELECT source, reason, field, count(*) AS n, any_value(value) AS example "
        "FROM quarantine WHERE run_id = ? GROUP BY ALL ORDER BY source, n DESC",
        [run_id],
    ).fetchall()
    return [
        {"source": s, "reason": r, "field": f, "rows": n, "example": ex} for s, r, f, n, ex in rows
    ]


def latest_quality_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """Run id of the most recent validation (by the run ledger when there is one)."""
    if not table_exists(con, "dq_result"):
        return None
    if table_exists(con, "run_ledger"):
        rows = con.execute(
            "SELECT d.run_id FROM (SELECT DISTINCT run_id FROM dq_result) d "
            "LEFT JOIN (SELECT run_id, max(started_at) AS t FROM run_ledger GROUP BY 1) r "
            "USING (run_id) ORDER BY r.t DESC NULLS LAST, d.run_id DESC LIMIT 1"
        ).fetchall()
    else:
        rows = con.execute("SELECT max(run_id) FROM dq_result").fetchall()
    return rows[0][0] if rows and rows[0][0] else None


def recent_quality_runs(
    con: duckdb.DuckDBPyConnection, run_id: str | None = None, last: int = 10
) -> list[str]:
    """Run ids with data-quality results, newest first (or just `run_id` if it has some):
    `quality-report --run` refuses an unknown id and lists these instead."""
    if not table_exists(con, "dq_result"):
        return []
    if run_id is not None:
        rows = con.execute(
            "SELECT DISTINCT run_id FROM dq_result WHERE run_id = ?", [run_id]
        ).fetchall()
    else:
        rows = con.execute(
            "SELECT run_id FROM dq_result GROUP BY run_id ORDER BY run_id DESC LIMIT ?", [last]
        ).fetchall()
    return [r[0] for r in rows]


def render_quality_report(con: duckdb.DuckDBPyConnection, run_id: str, out_path: Path) -> Path:
    """Write the HTML report of run `run_id` to `out_path` (folders created) and return it."""
    sources = _summaries(con, run_id)
    quarantine = _quarantine(con, run_id)
    totals: dict[str, int] = defaultdict(int)
    for q in quarantine:
        totals[q["source"]] += q["rows"]
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html = env.get_template(TEMPLATE).render(
        run_id=run_id,
        coverage=coverage_rows(con, [run_id]),
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sources=sources,
        quarantine=quarantine,
        quarantine_totals=dict(totals),
        max_partition_rows=MAX_PARTITION_ROWS,
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path
