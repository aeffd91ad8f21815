"""Access to the embedded DuckDB warehouse and to the SQL files that build its tables.

Every table is built by `sql/<table>.sql`, so a newcomer finds the definition of a
table by its name. SQL files may use `$name` placeholders, bound as prepared parameters,
and `{{ name }}` placeholders for identifiers/paths that DuckDB cannot bind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from ciblage.config import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
_TEMPLATE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file, creating its folder; memory is capped for 24 GiB machines."""
    p = Path(path)
    if not read_only:
        p.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(p), read_only=read_only)
    con.execute("SET preserve_insertion_order = false")
    return con


@contextmanager
def session(path: str | Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def sql_text(name: str, **templates: Any) -> str:
    """Text of `sql/<name>.sql` with `{{ x }}` identifiers substituted."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL file for table {name!r}: {path}")
    text = path.read_text(encoding="utf-8")

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in templates:
            raise KeyError(f"{path.name}: template value {key!r} not given")
        return str(templates[key])

    return _TEMPLATE.sub(sub, text)


def run_sql_file(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: dict[str, Any] | None = None,
    **templates: Any,
) -> None:
    """Execute every statement of `sql/<name>.sql` in order."""
    text = sql_text(name, **templates)
    statements = [s for s in _split_statements(text) if s.strip()]
    for stmt in statements:
        used = used_params(stmt, params)
        con.execute(stmt, used) if used else con.execute(stmt)


def used_params(statement: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The `params` a statement names (`$key`): DuckDB refuses unused named parameters."""
    return {k: v for k, v in (params or {}).items() if f"${k}" in statement}


def sql_list(values: Sequence[str]) -> str:
    """`'45', '2A'`: quoted SQL literals for an `IN (...)` (NULL when empty: matches nothing)."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


def in_departements(table: str, deps: Sequence[str]) -> str:
    """`table`'s rows of départements `deps` or without one (rows written before the
    table had the column are read too: slower, never missing). A literal list, so that
    the scan skips the row groups of the others in a table stored by département, and
    reads the other columns of the matching rows only in one that is not."""
    return (
        f"(SELECT * FROM {table} WHERE code_departement IN ({sql_list(deps)}) "
        "OR code_departement IS NULL)"
    )


def has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether `table` has `column` (a warehouse written by an older version may not)."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = ? "
        "AND NOT internal",
        [table, column],
    ).fetchall()
    return bool(rows and rows[0][0])


def _split_statements(text: str) -> list[str]:
    """Split on `;` outside quotes and comments (DuckDB's execute takes one prepared stmt)."""
    out, buf, quote, i = [], [], None, 0
    while i < len(text):
        c = text[i]
        if quote:
            buf.append(c)
            if c == quote:
                quote = None
        elif c in ("'", '"'):
            quote = c
            buf.append(c)
        elif c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            i = len(text) if j < 0 else j
            continue
        elif c == ";":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    out.append("".join(buf))
    return [s for s in out if s.strip()]


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    # fetchall, not fetchone: duckdb 2.0 refuses register()/sql() on the connection while a
    # result is left unfinished.
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return bool(rows and rows[0][0])
