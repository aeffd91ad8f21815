"""Validate a DuckDB staging table with Great Expectations, one partition at a time.

At national scale (43 M establishments) a whole table does not fit in pandas, so the
table is validated per partition (e.g. per département): only the checked columns of one
partition are fetched, with the checks that need a lookup (commune in the COG, duplicate
keys across partitions) already computed by DuckDB. Every verdict is stored in
`dq_result`, so a stopped load can be explained after the fact and rendered as a report.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ciblage.quality.checks import Check
from ciblage.quality.expectations import (
    add_numpy_columns,
    build_suite,
    derived_column,
    derived_sql,
    quote,
    row_count_result,
    run_suite,
)
from ciblage.quality.outcome import WHOLE_TABLE, CheckResult, QualityOutcome
from ciblage.warehouse import run_sql_file

log = logging.getLogger(__name__)
NULL_PARTITION = "(null)"
# ~1 GiB of pandas strings for a SIRENE-like selection of columns
MAX_PARTITION_ROWS = 5_000_000
_temp_names = count()


def _qualified(table: str) -> str:
    return ".".join(quote(p) for p in table.split("."))


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    try:
        rows = con.execute(f"DESCRIBE {_qualified(table)}").fetchall()
    except duckdb.CatalogException as exc:
        raise ValueError(f"data-quality validation: table {table!r} does not exist") from exc
    return [r[0] for r in rows]


def _missing_result(check: Check, why: str) -> CheckResult:
    return CheckResult(check, WHOLE_TABLE, False, why, details={"error": why})


def _reference_problem(con: duckdb.DuckDBPyConnection, check: Check) -> str | None:
    ref_table, ref_col = str(check.arg).rsplit(".", 1)
    try:
        cols = _columns(con, ref_table)
    except ValueError:
        return f"reference table {ref_table!r} is missing from the warehouse"
    if ref_col not in cols:
        return f"reference column {check.arg!r} does not exist"
    return None


def validate_table(con: duckdb.DuckDBPyConnection, **options: Any) -> QualityOutcome:
    """Run the checks on a table at once and store them in `dq_result` (the arguments of
    `prepare_validation`, which says what they mean); returns the verdict."""
    outcome = prepare_validation(con, **options).run()
    finish_validation(con, outcome)
    return outcome


def finish_validation(con: duckdb.DuckDBPyConnection, outcome: QualityOutcome) -> None:
    """Store the verdict in `dq_result` and log it (on the warehouse's own connection)."""
    record_results(con, outcome)
    level = logging.INFO if outcome.passed else logging.ERROR
    log.log(level, outcome.message())


@dataclass
class PendingValidation:
    """A validation whose warehouse work is done (counts, duplicate keys, lookups, the
    rows to check fetched or written to Parquet): what remains is Great Expectations on
    pandas frames, pure Python on one core, which never touches the warehouse connection.

    So the loader runs it in a thread while DuckDB evaluates the row rules on both cores
    (the national establishments' gate: about 10 s of Python, 101 départements)."""

    outcome: QualityOutcome
    row_checks: list[tuple[int, Check]]
    dup_checks: set[int]
    row_column: str | None
    suite_name: str
    frame: pd.DataFrame | None = None  # the selection of an unpartitioned table
    parts: list[tuple[str, Path]] = field(default_factory=list)  # (label, Parquet folder)
    tmp: tempfile.TemporaryDirectory[str] | None = None

    def run(self) -> QualityOutcome:
        """Validate every frame; returns the outcome (not yet stored: `finish_validation`)."""
        try:
            if not self.row_checks:
                return self.outcome
            suite = build_suite(self.suite_name, self.row_checks, self.dup_checks, self.row_column)
            if self.frame is not None:
                self.outcome.results.extend(_validate_frame(suite, self.frame, WHOLE_TABLE))
                self.frame = None
                return self.outcome
            reader = duckdb.connect()  # its own in-memory engine: the warehouse stays free
            try:
                for label, folder in self.parts:
                    df = reader.execute(
                        "SELECT * FROM read_parquet(?, hive_partitioning = false)",
                        [f"{folder}/*.parquet"],
                    ).df()
                    self.outcome.partitions += 1
                    self.outcome.results.extend(_validate_frame(suite, df, label))
                    del df
                    shutil.rmtree(folder, ignore_errors=True)
            finally:
                reader.close()
            return self.outcome
        finally:
            self.close()

    def close(self) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()
            self.tmp = None


def prepare_validation(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    source: str,
    table: str,
    checks: Sequence[Check],
    partition_by: str | None = None,
    previous_rows: int | None = None,
    file: str | None = None,
    row_column: str | None = None,
    max_partition_rows: int = MAX_PARTITION_ROWS,
    rows_apart: int = 0,
) -> PendingValidation:
    """The warehouse half of running `checks` on `table`: once it returns, `table` may be
    dropped or changed; `PendingValidation.run` validates, `finish_validation` stores one
    dq_result row per (partition, check).

    `partition_by` is a column of `table` or a DuckDB expression over it (e.g.
    `left(codeCommuneEtablissement, 2)`); each distinct value is validated separately, so
    `mostly` applies per partition. Uniqueness is checked across the whole table even
    when partitioned. Without `partition_by`, a table of more than `max_partition_rows`
    rows is validated in chunks of that size, so that memory stays bounded whatever the
    caller passes. `file` (the input file's name) and `row_column` (a column holding the
    row number in that file) only make messages precise. `rows_apart`: rows of the file
    kept out of `table`, added to its count by the row-count check.
    """
    columns = _columns(con, table)
    outcome = QualityOutcome(
        run_id=run_id, source=source, table=table, file=file, partition_by=partition_by
    )
    rows = int(con.execute(f"SELECT count(*) FROM {_qualified(table)}").fetchall()[0][0])
    outcome.rows = rows
    if row_column and row_column not in columns:
        raise ValueError(f"row_column {row_column!r} is not a column of {table}")

    row_checks: list[tuple[int, Check]] = []
    for i, check in enumerate(checks):
        if check.kind == "row_count_ratio":
            outcome.results.append(row_count_result(check, rows + rows_apart, previous_rows))
        elif check.column not in columns:
            outcome.results.append(
                _missing_result(check, f"column {check.column!r} is missing from the input")
            )
        elif check.kind == "in_table" and (problem := _reference_problem(con, check)):
            outcome.results.append(_missing_result(check, problem))
        else:
            row_checks.append((i, check))

    part_expr = None
    if partition_by:
        part_expr = quote(partition_by) if partition_by in columns else f"({partition_by})"
    elif rows > max_partition_rows:
        chunk = int(max_partition_rows)
        part_expr = f"('chunk ' || lpad(CAST(rowid // {chunk} AS VARCHAR), 4, '0'))"
        outcome.partition_by = f"chunks of {chunk:,} rows"
    pending = PendingValidation(
        outcome,
        row_checks,
        set(),
        row_column,
        re.sub(r"\W", "_", f"{outcome.source}_{next(_temp_names)}"),
    )
    if not row_checks or part_expr is None:
        outcome.partitions = 1
    if not row_checks:
        return pending
    with _no_progress_bar(con):
        _fetch_rows(con, pending, part_expr)
    return pending


def _fetch_rows(
    con: duckdb.DuckDBPyConnection, pending: PendingValidation, part_expr: str | None
) -> None:
    """The rows to validate: the whole selection as a frame, or one Parquet folder per
    partition (`_partitions`)."""
    table = pending.outcome.table
    dup_tables: dict[int, str] = {}
    try:
        if part_expr:
            dup_tables = _duplicate_tables(con, table, pending.row_checks)
        pending.dup_checks = set(dup_tables)
        select = _select_list(pending.row_checks, dup_tables, pending.row_column)
        if part_expr is None:
            pending.frame = con.execute(f"SELECT {select} FROM {_qualified(table)}").df()
        else:
            pending.tmp, pending.parts = _partitions(con, table, select, part_expr)
    finally:
        for dup in dup_tables.values():
            con.execute(f"DROP TABLE IF EXISTS {quote(dup)}")


@contextmanager
def _no_progress_bar(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's progress bar would interleave with the CLI's own progress display."""
    before = con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]
    con.execute("SET enable_progress_bar = false")
    try:
        yield
    finally:
        con.execute(f"SET enable_progress_bar = {'true' if before else 'false'}")


def _partitions(
    con: duckdb.DuckDBPyConnection, table: str, select: str, part_expr: str
) -> tuple[tempfile.TemporaryDirectory[str], list[tuple[str, Path]]]:
    """A temporary folder and its (label, Parquet folder) per partition, from one pass
    over the table.

    Filtering the table once per partition would scan it ~100 times; instead one COPY
    writes the selected and computed columns to Parquet files partitioned by a small
    integer id (hive folders), each partition then read back on its own.
    """
    values = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT CAST({part_expr} AS VARCHAR) FROM {_qualified(table)} "
            "ORDER BY 1 NULLS LAST"
        ).fetchall()
    ]
    ids = pd.DataFrame({"__dq_v": pd.Series(values, dtype=object), "__dq_id": range(len(values))})
    tmp_root = con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
    tmp_root = tmp_root if tmp_root and Path(tmp_root).is_absolute() else None
    if tmp_root:
        Path(tmp_root).mkdir(parents=True, exist_ok=True)
    tmp_dir = tempfile.TemporaryDirectory(prefix="ciblage-dq-", dir=tmp_root)
    try:
        tmp = tmp_dir.name.replace("'", "''")
        con.register("__dq_partition_ids", ids)
        try:
            con.execute(
                f"COPY (SELECT {select}, __dq_id AS __dq_pid FROM {_qualified(table)} "
                f"JOIN __dq_partition_ids ON CAST({part_expr} AS VARCHAR) "
                f"IS NOT DISTINCT FROM __dq_v) TO '{tmp}' "
                "(FORMAT parquet, PARTITION_BY (__dq_pid), OVERWRITE_OR_IGNORE)"
            )
        finally:
            con.unregister("__dq_partition_ids")
    except BaseException:
        tmp_dir.cleanup()
        raise
    parts = [
        (NULL_PARTITION if value is None else str(value), Path(tmp_dir.name) / f"__dq_pid={pid}")
        for pid, value in enumerate(values)
    ]
    return tmp_dir, parts


def _validate_frame(suite: Any, df: pd.DataFrame, partition: str) -> list[CheckResult]:
    add_numpy_columns(df, suite)
    return run_suite(suite, df, partition)


def _duplicate_tables(
    con: duckdb.DuckDBPyConnection, table: str, row_checks: list[tuple[int, Check]]
) -> dict[int, str]:
    """Keys occurring more than once in the whole table (partitions alone would miss them)."""
    out: dict[int, str] = {}
    for i, check in row_checks:
        if check.kind != "unique":
            continue
        name = f"__dq_dup_{next(_temp_names)}"
        col = quote(str(check.column))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS SELECT {col} AS k "
            f"FROM {_qualified(table)} WHERE {col} IS NOT NULL GROUP BY {col} HAVING count(*) > 1"
        )
        out[i] = name
    return out


def _select_list(
    row_checks: list[tuple[int, Check]], dup_tables: dict[int, str], row_column: str | None
) -> str:
    cols: list[str] = []
    for _, check in row_checks:
        if check.column not in cols:
            cols.append(str(check.column))
    if row_column and row_column not in cols:
        cols.append(row_column)
    items = [quote(c) for c in cols]
    for i, check in row_checks:
        sql = derived_sql(check, dup_tables.get(i))
        if sql is None:
            continue
        name = derived_column(i, check) or f"__dq{i}_{check.kind}"
        items.append(f"{sql} AS {quote(name)}")
    return ", ".join(items) if items else "1 AS __dq_empty"


def record_results(con: duckdb.DuckDBPyConnection, outcome: QualityOutcome) -> None:
    """Replace this run's rows for the source (a retried validation does not duplicate)."""
    run_sql_file(con, "dq_result")
    con.execute(
        "DELETE FROM dq_result WHERE run_id = ? AND source = ?", [outcome.run_id, outcome.source]
    )
    if not outcome.results:
        return
    frame = pd.DataFrame(
        [
            {
                "run_id": outcome.run_id,
                "source": outcome.source,
                "partition": r.partition,
                "expectation": r.check.expectation,
                "column_name": r.check.column,
                "success": r.success,
                "critical": r.check.critical,
                "observed": r.observed,
                "details": json.dumps(
                    {**r.details, "file": outcome.file, "table": outcome.table}, default=str
                ),
            }
            for r in outcome.results
        ]
    )
    con.register("__dq_frame", frame)
    try:
        con.execute(
            "INSERT INTO dq_result (run_id, source, partition, expectation, column_name, "
            "success, critical, observed, details) SELECT run_id, source, partition, "
            "expectation, column_name, success, critical, observed, CAST(details AS JSON) "
            "FROM __dq_frame"
        )
    finally:
        con.unregister("__dq_frame")
