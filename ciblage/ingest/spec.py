"""The declarative description of one source, and of its row rules and quality checks.

Kept apart from `specs.py` (the list of sources) so that readers and the loader can import
the types without importing every source definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ciblage.quality import Check

Reader = Callable[[Path, "SourceSpec"], Iterator[pa.RecordBatch]]
# Source-specific validation of the staged table (con, spec, staging, run_id, file name):
# records its verdicts in dq_result, raises ciblage.ingest.gate.QualityFailure to stop the
# load, returns a warning message (or "").
Validator = Callable[[Any, "SourceSpec", str, str, str], str]


@dataclass(frozen=True)
class Rule:
    """A row-level rule: rows violating it go to `quarantine` with `reason`, not the table.

    kind: not_null | siret | siren | date | month | int | number | regex (arg: pattern) |
    in_set (arg: tuple of values) | in_table (arg: (table, column)).
    `expr` is the SQL expression checked (default: the raw column `field`); `when` is an
    SQL predicate restricting the rule to some rows (e.g. active establishments only).
    """

    field: str
    kind: str
    reason: str
    arg: Any = None
    expr: str | None = None
    when: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    """Everything the loader needs to know about one source (see the package docstring)."""

    name: str  # key of [sources.<name>] in ciblage.toml
    tables: tuple[str, ...]  # built in order by sql/<table>.sql, swapped together
    columns: tuple[str, ...]  # raw columns read (staging columns, all VARCHAR)
    reader: Reader
    header: tuple[str, ...] = ()  # the official header, for documentation and tests
    labels: Mapping[str, str] = field(default_factory=dict)  # field -> alternative header
    delimiter: str = ","
    member: str | None = None  # CSV member inside a zip
    newlines_in_values: bool = False  # slower CSV parsing; only where values span lines
    keys: tuple[str, ...] = ()  # unique key (duplicates after the first are quarantined)
    rules: tuple[Rule, ...] = ()
    checks: tuple[Check, ...] = ()  # Great Expectations checks on the staged table
    partition: str | None = None  # SQL over raw columns giving the département (DQ partition)
    required: bool = True  # a required source that is missing or failing is an error
    # Optional sources whose data may lag (DPAE): newest date in the data, and the age
    # beyond which it is stale (kept as last good load rather than replaced).
    freshness: str | None = None
    max_age_days: int = 365
    depends: tuple[str, ...] = ()  # sources whose tables the SQL/rules read (reload on change)
    templates: Mapping[str, Any] = field(default_factory=dict)  # {{ x }} values of the SQL
    description: str = ""
    validate: Validator | None = None  # runs after the quality gate (e.g. DPAE sectors)
    default_path: Path | None = None  # shipped file used when the config names none
    # a folder source whose files change one at a time: the function listing the data
    # files the reader reads in a folder; each file's staged rows are kept and only new or
    # changed files are read again (ciblage/ingest/file_cache.py)
    cache_files: Callable[[Path], list[Path]] | None = None
    # Rows outside the model's history: an SQL predicate over the raw columns, true for
    # the rows to keep, `{since}` standing for the history's first day (a date literal).
    # Applied while staging when the ingest is given a history start (the nightly gives
    # the first day of the year of the earliest day its training reads: the earliest
    # snapshot less the features' 24-month look-back, see scoring.features.history_start);
    # the rows left out are counted, never quarantined.
    history: str | None = None

    def __post_init__(self) -> None:
        # the file cache keeps each file's staged rows: they would keep the history they
        # were read with whatever the start of the next load
        if self.history and self.cache_files:
            raise ValueError(f"{self.name}: a history predicate needs a source read whole")
