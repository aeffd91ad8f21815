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
from ciblage.quality import wording
from ciblage.quality.coverage import EXPECTATION as COVERAGE_EXPECTATION
from ciblage.quality.coverage import coverage_rows
from ciblage.quality.outcome import WHOLE_TABLE
from ciblage.siret import identifier_length, siret_problem
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
    example_values: set[str] = field(default_factory=set)
    details: dict[str, Any] = field(default_factory=dict)  # of one partition: mostly, arg

    @property
    def success(self) -> bool:
        return not self.failed

    @property
    def label(self) -> str:
        return wording.describe(self.expectation, self.details.get("arg"))

    @property
    def threshold(self) -> str:
        return wording.threshold(self.expectation, self.details)

    @property
    def observed_fr(self) -> str:
        if "unexpected_count" not in self.details and "rows" not in self.details:
            return self.observed  # no counts stored (e.g. coverage): the recorded text
        return wording.observed(self.expectation, self.unexpected, self.checked, self.details)

    @property
    def verdict(self) -> str:
        return wording.verdict(self.success, self.critical, self.unexpected)


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
        summary.details = {**summary.details, **info}
        examples = _examples(info, expectation, column)
        if not success:
            summary.failed.append(
                {
                    "partition": part,
                    "observed": _observed(expectation, info, observed),
                    "examples": examples,
                }
            )
        # failing values are shown even when they stayed under the threshold
        for value, ex in zip(info.get("examples") or [], examples, strict=False):
            if str(value) not in summary.example_values and len(summary.examples) < 5:
                summary.example_values.add(str(value))  # one line per value, not per partition
                summary.examples.append(ex)
    for src in sources.values():
        if len(src.partitions) > 1:  # table-level checks of a partitioned source
            src.partitions.discard(WHOLE_TABLE)
    return list(sources.values())


def _observed(expectation: str, info: dict[str, Any], recorded: str | None) -> str:
    """One partition's result in French, from its counts (the recorded text without)."""
    if "unexpected_count" not in info:
        return recorded or ""
    checked = int(info.get("element_count") or 0) - int(info.get("missing_count") or 0)
    return wording.observed(expectation, int(info["unexpected_count"]), checked, info)


def _examples(info: dict[str, Any], expectation: str, column: str | None) -> list[str]:
    """Failing values with their line when known, and for a SIREN/SIRET why it is refused:
    « 7328293200007 (ligne 12 ; 13 chiffres au lieu de 14) »."""
    values = [str(e) for e in info.get("examples") or []]
    lines = list(info.get("example_rows") or [])
    luhn = wording.KIND_OF.get(expectation) == "luhn"
    out = []
    for i, v in enumerate(values):
        notes = [f"ligne {lines[i]}"] if i < len(lines) and int(lines[i]) > 0 else []
        why = siret_problem(v, identifier_length(column)) if luhn else None
        notes += [why] if why else []
        out.append(f"{v} ({' ; '.join(notes)})" if notes else v)
    return out


def _quarantine(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    if not table_exists(con, "quarantine"):
        return []
    rows = con.execute(
        "SELECT source, reason, field, count(*) AS n, "
        "arg_min(value, (file, row_number)) AS example, min(file) AS file, "
        "arg_min(row_number, (file, row_number)) AS line "
        "FROM quarantine WHERE run_id = ? GROUP BY ALL ORDER BY source, n DESC, reason",
        [run_id],
    ).fetchall()
    keys = ("source", "reason", "field", "rows", "example", "file", "line")
    return [dict(zip(keys, r, strict=True)) for r in rows]


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
        generated_at=datetime.now(UTC).strftime("%d/%m/%Y à %H:%M UTC"),
        status_labels=wording.STATUS_LABELS,
        fr_number=wording.fr_number,
        fr_pct=wording.fr_pct,
        sources=sources,
        quarantine=quarantine,
        quarantine_totals=dict(totals),
        max_partition_rows=MAX_PARTITION_ROWS,
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path
