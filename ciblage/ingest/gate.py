"""Gates between staging and loading: the data-quality gate and the freshness check.

Both run on the staged table, before any row is quarantined or any table replaced, so
that a failing gate leaves the previous good load untouched.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import duckdb

from ciblage.ingest.spec import SourceSpec

log = logging.getLogger(__name__)


class QualityFailure(Exception):
    """A critical data-quality expectation failed on the staged data."""


def quality_gate(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    staging: str,
    run_id: str,
    previous_rows: int | None,
    file: str,
    max_rows: int | None,
    rows_apart: int = 0,
) -> str:
    """Great Expectations on the staged table; raises QualityFailure on a critical failure.

    Above `max_rows` staged rows, the row-level expectations run on a seeded Bernoulli
    sample of about `max_rows` rows (the row count always on the whole table): the gate
    exists to catch a broken file (format drift, a shifted column, a truncated export),
    which a sample of millions of rows shows as surely as the whole; every single bad row
    is still caught by the row rules, which scan everything in SQL. `rows_apart`: rows
    of the file not staged (before the source's history), counted by the row-count check,
    which compares files, not what a history start keeps of them.
    """
    if not spec.checks:
        return ""
    # pandas and Great Expectations: imported by the ingestion only, not by every
    # command that reads the source specs (`ciblage.quality`)
    from ciblage.quality.validate import record_results, validate_table

    rows = con.execute(f"SELECT count(*) FROM {staging}").fetchone()[0]
    row_checks = [c for c in spec.checks if c.kind != "row_count_ratio"]
    table_checks = [c for c in spec.checks if c.kind == "row_count_ratio"]
    target, note = staging, ""
    if max_rows and rows > max_rows and row_checks:
        pct = 100.0 * max_rows / rows
        target = f"{staging}__dq"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {target} AS "
            f"SELECT * FROM {staging} USING SAMPLE {pct:.4f}% (bernoulli, 42)"
        )
        note = f"row-level expectations on a {pct:.1f} % sample of {rows:,} rows"
        log.info("%s: %s", spec.name, note)
    parts = (
        [(target, row_checks), (staging, table_checks)]
        if target != staging
        else [(staging, list(spec.checks))]
    )
    outcomes = []
    try:
        for table, checks in parts:
            if checks:
                outcomes.append(
                    validate_table(
                        con,
                        run_id=run_id,
                        source=spec.name,
                        table=table,
                        checks=checks,
                        partition_by="_partition" if spec.partition and table == target else None,
                        previous_rows=previous_rows,
                        file=file,
                        row_column="_row",
                        rows_apart=rows_apart,
                    )
                )
    finally:
        if target != staging:
            con.execute(f"DROP TABLE IF EXISTS {target}")
    outcome = outcomes[0]
    if len(outcomes) > 1:  # each call replaces the run's dq_result rows: store both
        outcome.results.extend(r for o in outcomes[1:] for r in o.results)
        record_results(con, outcome)
    if not outcome.passed:  # what the user reads: French (the log line stays English)
        raise QualityFailure(outcome.message(french=True))
    warning = outcome.message(french=True) if outcome.failures else ""  # non-critical only
    return "; ".join(m for m in (note, warning) if m)


def is_stale(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, staging: str, as_of: date
) -> str | None:
    if not spec.freshness:
        return None
    row = con.execute(f"SELECT max({spec.freshness}) FROM {staging}").fetchone()
    newest = row[0] if row else None
    if newest is None:
        return "aucune ligne datée"
    if isinstance(newest, datetime):
        newest = newest.date()
    age = (as_of - newest).days
    return (
        f"données les plus récentes du {newest}, vieilles de {age} jours"
        if (age > spec.max_age_days)
        else None
    )
