"""Declarative data-quality checks, the vocabulary of the per-source specs.

A `Check` is a plain frozen value so that source specs can list them as data. Each kind
is validated by a Great Expectations expectation: natively when GE has one that scales
(regex, set, null, unique), otherwise on a boolean column computed beforehand in DuckDB
or numpy (Luhn, lookup in a warehouse table, date parsing, numeric range), because GE's
row-by-row Python implementations would not hold 43 M rows in minutes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

KINDS = (
    "not_null",
    "unique",
    "regex",
    "luhn",
    "in_table",
    "in_set",
    "date_parse",
    "between",
    "row_count_ratio",
)

# Name recorded in dq_result.expectation: GE's own name when GE checks the values
# directly, a name in GE's style for checks on a computed column.
EXPECTATION_NAMES = {
    "not_null": "expect_column_values_to_not_be_null",
    "unique": "expect_column_values_to_be_unique",
    "regex": "expect_column_values_to_match_regex",
    "luhn": "expect_column_values_to_pass_luhn_checksum",
    "in_table": "expect_column_values_to_be_in_table",
    "in_set": "expect_column_values_to_be_in_set",
    "date_parse": "expect_column_values_to_match_strftime_format",
    "between": "expect_column_values_to_be_between",
    "row_count_ratio": "expect_table_row_count_to_be_at_least_ratio_of_previous",
}


class CheckError(ValueError):
    """A check is declared wrongly (unknown kind, missing column or argument)."""


@dataclass(frozen=True)
class Check:
    """One expectation on a column (or on the table for `row_count_ratio`).

    `arg` depends on `kind`: a regex for `regex` (matched against the whole value),
    `"ref_table.column"` for `in_table`, the allowed values for `in_set`, a strftime
    format for `date_parse`, `(min, max)` for `between` (either may be None), and the
    minimum ratio of the previous load's row count for `row_count_ratio`.
    `mostly` is the share of non-null values that must pass; a failed `critical` check
    stops the source's load, a failed non-critical one is only reported.
    """

    kind: str
    column: str | None = None
    arg: Any = None
    mostly: float = 1.0
    critical: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.arg, (list, set, frozenset)):
            # keep the check hashable: results are grouped by check
            object.__setattr__(self, "arg", tuple(self.arg))
        if self.kind not in KINDS:
            raise CheckError(f"unknown check kind {self.kind!r}; expected one of {KINDS}")
        if self.kind != "row_count_ratio" and not self.column:
            raise CheckError(f"check {self.kind!r} needs a column")
        if not 0.0 <= float(self.mostly) <= 1.0:
            raise CheckError(f"check {self.kind} on {self.column}: mostly must be in [0, 1]")
        if self.kind in ("regex", "date_parse") and not isinstance(self.arg, str):
            raise CheckError(f"check {self.kind} on {self.column}: arg must be a string")
        if self.kind == "in_table" and (not isinstance(self.arg, str) or "." not in self.arg):
            raise CheckError(
                f"check in_table on {self.column}: arg must be 'ref_table.column', got {self.arg!r}"
            )
        if self.kind == "in_set" and (self.arg is None or isinstance(self.arg, str)):
            raise CheckError(f"check in_set on {self.column}: arg must be a list of values")
        if self.kind == "between" and (
            not isinstance(self.arg, (tuple, list)) or len(self.arg) != 2
        ):
            raise CheckError(f"check between on {self.column}: arg must be (min, max)")
        if self.kind == "row_count_ratio" and not isinstance(self.arg, (int, float)):
            raise CheckError("check row_count_ratio: arg must be a ratio such as 0.98")

    # -- short constructors, so that specs read like a list of rules --------------------
    @classmethod
    def not_null(cls, column: str, *, mostly: float = 1.0, critical: bool = True) -> Check:
        return cls("not_null", column, None, mostly, critical)

    @classmethod
    def unique(cls, column: str, *, mostly: float = 1.0, critical: bool = True) -> Check:
        return cls("unique", column, None, mostly, critical)

    @classmethod
    def regex(
        cls, column: str, pattern: str, *, mostly: float = 1.0, critical: bool = True
    ) -> Check:
        return cls("regex", column, pattern, mostly, critical)

    @classmethod
    def luhn(cls, column: str, *, mostly: float = 1.0, critical: bool = True) -> Check:
        return cls("luhn", column, None, mostly, critical)

    @classmethod
    def in_table(
        cls, column: str, ref: str, *, mostly: float = 1.0, critical: bool = True
    ) -> Check:
        return cls("in_table", column, ref, mostly, critical)

    @classmethod
    def in_set(
        cls, column: str, values: Iterable[Any], *, mostly: float = 1.0, critical: bool = True
    ) -> Check:
        return cls("in_set", column, tuple(values), mostly, critical)

    @classmethod
    def date_parse(
        cls, column: str, fmt: str = "%Y-%m-%d", *, mostly: float = 1.0, critical: bool = True
    ) -> Check:
        return cls("date_parse", column, fmt, mostly, critical)

    @classmethod
    def between(
        cls,
        column: str,
        min_value: Any = None,
        max_value: Any = None,
        *,
        mostly: float = 1.0,
        critical: bool = True,
    ) -> Check:
        return cls("between", column, (min_value, max_value), mostly, critical)

    @classmethod
    def row_count_ratio(cls, ratio: float = 0.98, *, critical: bool = True) -> Check:
        return cls("row_count_ratio", None, float(ratio), 1.0, critical)

    # -- descriptions ---------------------------------------------------------------------
    @property
    def expectation(self) -> str:
        return EXPECTATION_NAMES[self.kind]

    def describe(self) -> str:
        """What the check requires, in words, for error messages and the report."""
        share = "" if self.mostly >= 1.0 else f" (at least {self.mostly:.1%} of values)"
        k, a = self.kind, self.arg
        if k == "not_null":
            what = "must not be empty"
        elif k == "unique":
            what = "must be unique"
        elif k == "regex":
            what = f"must match the pattern {a!r}"
        elif k == "luhn":
            what = "must be a valid SIREN/SIRET (Luhn checksum)"
        elif k == "in_table":
            what = f"must exist in {a}"
        elif k == "in_set":
            what = f"must be one of {_short_list(a)}"
        elif k == "date_parse":
            what = f"must be a date in the format {a!r}"
        elif k == "between":
            what = f"must be between {a[0]} and {a[1]}"
        else:
            what = f"row count must be at least {a:.0%} of the previous load"
        return what + share


def _short_list(values: Any, limit: int = 8) -> str:
    values = list(values)
    items = [repr(v) for v in values[:limit]]
    more = len(values) - limit
    return "{" + ", ".join(items) + (f", … +{more}" if more > 0 else "") + "}"
