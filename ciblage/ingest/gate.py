"""Gates between staging and loading: the data-quality gate and the freshness check.

Both run on the staged table, before any row is quarantined or any table replaced, so
that a failing gate leaves the previous good load untouched.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import duckdb

from ciblage.ingest.spec import SourceSpec

if TYPE_CHECKING:
    from ciblage.quality.validate import PendingValidation

log = logging.getLogger(__name__)


class QualityFailure(Exception):
    """A critical data-quality expectation failed on the staged data."""


class PendingGate:
    """A started gate: Great Expectations runs in a thread until `result` is asked for."""

    def __init__(self, pending: list[PendingValidation], note: str) -> None:
        self._pending, self._note = pending, note
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quality-gate")
        self._future = self._pool.submit(lambda: [p.run() for p in pending])

    def result(self, con: duckdb.DuckDBPyConnection) -> str:
        """Wait for the checks, store them in `dq_result`; the load's note, or raise."""
        from ciblage.quality.validate import finish_validation

        try:
            outcomes = self._future.result()
        finally:
            self.close()
        if not outcomes:
            return ""
        outcome = outcomes[0]
        outcome.results.extend(r for o in outcomes[1:] for r in o.results)
        finish_validation(con, outcome)
        if not outcome.passed:  # what the user reads: French (the log line stays English)
            raise QualityFailure(outcome.message(french=True))
        warning = outcome.message(french=True) if outcome.failures else ""  # non-critical
        return "; ".join(m for m in (self._note, warning) if m)

    def close(self) -> None:
        """Wait for the thread (a load that fails meanwhile must not leave it running) and
        remove the rows it was given."""
        self._pool.shutdown(wait=True)
        for p in self._pending:
            p.close()


def start_quality_gate(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    staging: str,
    run_id: str,
    previous_rows: int | None,
    file: str,
    max_rows: int | None,
    rows_apart: int = 0,
) -> PendingGate:
    """Start Great Expectations on the staged table: the warehouse work is done here, the
    checks themselves in a thread while the caller goes on (the row rules); its `result`
    raises QualityFailure on a critical failure.

    Above `max_rows` staged rows, the row-level expectations run on a seeded Bernoulli
    sample of about `max_rows` rows of the checked columns (the row count always on the
    whole table): the gate exists to catch a broken file (format drift, a shifted column,
    a truncated export), which a sample of millions of rows shows as surely as the whole;
    every single bad row is still caught by the row rules, which scan everything in SQL.
    `rows_apart`: rows of the file not staged (before the source's history), counted by
    the row-count check, which compares files, not what a history start keeps of them.
    """
    if not spec.checks:
        return PendingGate([], "")
    # pandas and Great Expectations: imported by the ingestion only, not by every
    # command that reads the source specs (`ciblage.quality`)
    from ciblage.quality.validate import prepare_validation

    rows = con.execute(f"SELECT count(*) FROM {staging}").fetchall()[0][0]
    row_checks = [c for c in spec.checks if c.kind != "row_count_ratio"]
    table_checks = [c for c in spec.checks if c.kind == "row_count_ratio"]
    target, note = staging, ""
    if max_rows and rows > max_rows and row_checks:
        pct = 100.0 * max_rows / rows
        target = f"{staging}__dq"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {target} AS "
            f"SELECT {_checked_columns(spec, row_checks)} FROM {staging} "
            f"USING SAMPLE {pct:.4f}% (bernoulli, 42)"
        )
        note = f"row-level expectations on a {pct:.1f} % sample of {rows:,} rows"
        log.info("%s: %s", spec.name, note)
    parts = (
        [(target, row_checks), (staging, table_checks)]
        if target != staging
        else [(staging, list(spec.checks))]
    )
    pending: list[PendingValidation] = []
    try:
        for table, checks in parts:
            if checks:
                pending.append(
                    prepare_validation(
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
    except BaseException:
        for p in pending:
            p.close()
        raise
    finally:
        if target != staging:
            con.execute(f"DROP TABLE IF EXISTS {target}")
    return PendingGate(pending, note)


def _checked_columns(spec: SourceSpec, checks: list[Any]) -> str:
    """The sample's columns: those checked, the row number and the partition. Sampling
    every column copied the 27 staged columns of 22 M national establishments for the 6
    the gate reads. A checked column the spec does not stage stays out (its check then
    reports it missing, as on the staged table)."""
    staged = {*spec.columns, "_row", *(["_partition"] if spec.partition else [])}
    wanted = [str(c.column) for c in checks if c.column] + ["_row"]
    wanted += ["_partition"] if spec.partition else []
    kept = [c for c in dict.fromkeys(wanted) if c in staged]
    return ", ".join('"' + c.replace('"', '""') + '"' for c in kept)


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
