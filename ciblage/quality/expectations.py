"""Translate `Check`s into Great Expectations expectations and read GE's verdicts back.

Row-level checks run on one pandas frame per partition. Kinds that GE checks efficiently
on strings map to GE's own expectations; the others are first computed as a nullable
boolean column (`__dq<i>_<kind>`) by DuckDB or numpy, which GE then checks with
`ExpectColumnValuesToBeInSet([True], mostly=...)`. Nulls stay null in those columns, so
GE's `mostly` is computed over non-null values exactly as for its native expectations.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from ciblage.quality.checks import Check
from ciblage.quality.luhn import luhn_valid
from ciblage.quality.outcome import MAX_EXAMPLES, CheckResult

# GE would otherwise phone home (analytics) and draw progress bars in batch logs.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
PARTIAL_UNEXPECTED = 50
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": PARTIAL_UNEXPECTED}


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def derived_column(index: int, check: Check) -> str | None:
    """Name of the computed boolean column a check is validated on (None: GE-native)."""
    if check.kind in ("luhn", "in_table", "date_parse", "between"):
        return f"__dq{index}_{check.kind}"
    return None


def derived_sql(check: Check, dup_table: str | None) -> str | None:
    """DuckDB expression computing a check's boolean column (NULL where the value is)."""
    col = quote(check.column or "")
    if check.kind == "in_table":
        ref_table, ref_col = str(check.arg).rsplit(".", 1)
        cond = (
            f"{col} IN (SELECT {quote(ref_col)} FROM {quote(ref_table)} "
            f"WHERE {quote(ref_col)} IS NOT NULL)"
        )
    elif check.kind == "date_parse":
        cond = f"try_strptime(CAST({col} AS VARCHAR), {sql_literal(check.arg)}) IS NOT NULL"
    elif check.kind == "between":
        lo, hi = check.arg
        kind = "DATE" if isinstance(lo or hi, date) else "DOUBLE"
        if isinstance(lo or hi, str):
            kind = "VARCHAR"
        value = f"TRY_CAST({col} AS {kind})"
        parts = [f"{value} IS NOT NULL"]
        if lo is not None:
            parts.append(f"{value} >= {sql_literal(lo)}")
        if hi is not None:
            parts.append(f"{value} <= {sql_literal(hi)}")
        cond = "coalesce(" + " AND ".join(parts) + ", FALSE)"
    elif check.kind == "unique" and dup_table:
        cond = f"{col} NOT IN (SELECT k FROM {quote(dup_table)})"
    else:
        return None
    return f"CASE WHEN {col} IS NULL THEN NULL ELSE {cond} END"


def anchored(pattern: str) -> str:
    """Whole-value regex: GE's pandas backend uses `str.match`, anchored only at the start."""
    return f"^(?:{pattern})$"


@dataclass
class Suite:
    """A GE validation definition for one set of checks, reusable on every partition."""

    validation: Any
    checks: list[tuple[int, Check, str]]  # (index, check, GE column validated)
    row_column: str | None


def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def build_suite(
    name: str, checks: list[tuple[int, Check]], partitioned_unique: set[int], row_column: str | None
) -> Suite:
    """One ephemeral GE context, pandas data source and whole-dataframe batch definition."""
    import great_expectations as gx

    ctx = _context()
    batch = (
        ctx.data_sources.add_pandas(f"{name}_pandas")
        .add_dataframe_asset(f"{name}_partition")
        .add_batch_definition_whole_dataframe("whole_partition")
    )
    suite = ctx.suites.add(gx.ExpectationSuite(name=f"{name}_suite"))
    E = gx.expectations
    planned: list[tuple[int, Check, str]] = []
    for i, check in checks:
        col = str(check.column)
        derived = derived_column(i, check)
        if check.kind == "unique" and i in partitioned_unique:
            derived = f"__dq{i}_unique"
        meta = {"check_index": i}
        if derived:
            exp = E.ExpectColumnValuesToBeInSet(
                column=derived, value_set=[True], mostly=check.mostly, meta=meta
            )
        elif check.kind == "not_null":
            exp = E.ExpectColumnValuesToNotBeNull(column=col, mostly=check.mostly, meta=meta)
        elif check.kind == "unique":
            exp = E.ExpectColumnValuesToBeUnique(column=col, mostly=check.mostly, meta=meta)
        elif check.kind == "regex":
            exp = E.ExpectColumnValuesToMatchRegex(
                column=col, regex=anchored(check.arg), mostly=check.mostly, meta=meta
            )
        elif check.kind == "in_set":
            exp = E.ExpectColumnValuesToBeInSet(
                column=col, value_set=list(check.arg), mostly=check.mostly, meta=meta
            )
        else:  # pragma: no cover - Check.__post_init__ rejects other kinds
            raise ValueError(check.kind)
        suite.add_expectation(exp)
        planned.append((i, check, derived or col))
    validation = ctx.validation_definitions.add(
        gx.ValidationDefinition(name=f"{name}_validation", data=batch, suite=suite)
    )
    return Suite(validation=validation, checks=planned, row_column=row_column)


def add_numpy_columns(df: pd.DataFrame, suite: Suite) -> None:
    """Columns computed in Python (vectorised): the Luhn checksum."""
    for _, check, ge_col in suite.checks:
        if check.kind == "luhn":
            df[ge_col] = luhn_valid(df[str(check.column)])


def run_suite(suite: Suite, df: pd.DataFrame, partition: str) -> list[CheckResult]:
    if not suite.checks:
        return []
    result = suite.validation.run(batch_parameters={"dataframe": df}, result_format=RESULT_FORMAT)
    by_index = {i: (check, ge_col) for i, check, ge_col in suite.checks}
    out = []
    for er in result.results:
        i = int(er.expectation_config.meta["check_index"])
        check, ge_col = by_index[i]
        out.append((i, _to_result(check, ge_col, er, df, partition, suite.row_column)))
    return [r for _, r in sorted(out, key=lambda pair: pair[0])]


def _to_result(
    check: Check, ge_col: str, er: Any, df: pd.DataFrame, partition: str, row_column: str | None
) -> CheckResult:
    info = er.exception_info or {}
    if info.get("raised_exception"):
        message = str(info.get("exception_message") or "expectation raised an exception")
        observed = f"could not be evaluated: {message}"
        return CheckResult(check, partition, False, observed, details={"error": message})
    res = dict(er.result or {})
    unexpected = int(res.get("unexpected_count") or 0)
    elements = int(res.get("element_count") or len(df))
    missing = int(res.get("missing_count") or 0)
    index = list(res.get("partial_unexpected_index_list") or [])
    examples: list[str] = []
    rows: list[int] = []
    if check.kind != "not_null":
        for idx in index:
            value = df.at[idx, str(check.column)]
            text = str(value)
            if text in examples:
                continue
            examples.append(text)
            if row_column:
                rows.append(_row_number(df.at[idx, row_column]))
            if len(examples) >= MAX_EXAMPLES:
                break
    elif row_column:
        rows = [_row_number(df.at[idx, row_column]) for idx in index[:MAX_EXAMPLES]]
    if check.kind == "not_null":
        observed = f"{unexpected:,} of {elements:,} values are empty"
        base = elements
    else:
        base = elements - missing
        observed = f"{unexpected:,} of {base:,} non-empty values fail"
    if base:
        observed += f" ({100.0 * unexpected / base:.2f} %)"
    details = {
        "element_count": elements,
        "missing_count": missing,
        "unexpected_count": unexpected,
        "mostly": check.mostly,
        "arg": check.arg,
        "ge_expectation": er.expectation_config.type,
        "ge_column": ge_col,
        "examples": examples,
        "example_rows": rows,
    }
    return CheckResult(
        check=check,
        partition=partition,
        success=bool(er.success),
        observed=observed,
        unexpected_count=unexpected,
        element_count=base,
        examples=tuple(examples),
        example_rows=tuple(rows),
        details=details,
    )


def _row_number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # the row column itself is damaged; the value examples still stand


def row_count_result(check: Check, rows: int, previous_rows: int | None) -> CheckResult:
    """GE checks the table's row count (one-row frame) against ratio × previous count."""
    if not previous_rows:
        return CheckResult(
            check,
            "all",
            True,
            f"{rows:,} rows; no previous load to compare with",
            details={"rows": rows, "previous_rows": previous_rows, "ratio": check.arg},
        )
    import great_expectations as gx

    minimum = math.ceil(float(check.arg) * previous_rows)
    ctx = _context()
    batch = (
        ctx.data_sources.add_pandas("row_count")
        .add_dataframe_asset("row_count")
        .add_batch_definition_whole_dataframe("row_count")
    )
    suite = ctx.suites.add(gx.ExpectationSuite(name="row_count"))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(column="row_count", min_value=minimum)
    )
    vd = ctx.validation_definitions.add(
        gx.ValidationDefinition(name="row_count", data=batch, suite=suite)
    )
    res = vd.run(batch_parameters={"dataframe": pd.DataFrame({"row_count": [rows]})})
    ratio = rows / previous_rows
    observed = (
        f"{rows:,} rows against {previous_rows:,} in the previous load ({ratio:.1%}; "
        f"minimum {minimum:,} = {float(check.arg):.0%})"
    )
    return CheckResult(
        check,
        "all",
        bool(res.success),
        observed,
        unexpected_count=0 if res.success else 1,
        element_count=1,
        details={"rows": rows, "previous_rows": previous_rows, "minimum": minimum},
    )
