"""A source's tables built from its clean staged rows, beside the ones in use, then put in
place in one transaction: a failure at any step leaves the last good tables untouched.

The loader (`ciblage.ingest.load`) builds while the quality gate's checks still run in their
thread, and swaps only once the gate has passed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import date

import duckdb

from ciblage.ingest.spec import SourceSpec
from ciblage.ingest.staging import drop_staging, empty_staging, staging_name
from ciblage.warehouse import run_sql_file, table_exists


def build(con: duckdb.DuckDBPyConnection, spec: SourceSpec, staging: str, as_of: date) -> None:
    """`spec`'s tables as `<table>__new`, beside the ones in use (dropped on failure)."""
    try:
        for table in spec.tables:
            run_sql_file(con, table, {"as_of": as_of}, staging=staging, **spec.templates)
    except BaseException:
        drop_new(con, spec)
        raise


def swap(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Put every `<table>__new` in place in one transaction."""
    try:
        con.execute("BEGIN TRANSACTION")
        for table in spec.tables:
            con.execute(f"DROP TABLE IF EXISTS {table}")
            con.execute(f"ALTER TABLE {table}__new RENAME TO {table}")
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        drop_new(con, spec)
        raise


def drop_new(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Drop a build that will not be put in place (a refused gate, a failed load)."""
    for table in spec.tables:
        con.execute(f"DROP TABLE IF EXISTS {table}__new")


def ensure_tables(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    registry: Mapping[str, SourceSpec],
    as_of: date,
) -> None:
    """Create `spec`'s tables empty (and those it reads) when they were never loaded.

    Downstream stages and the SQL of other sources can then rely on them existing, e.g.
    `hires_siret` is an empty table when a deployment has no per-SIRET hires.
    """
    for dep in spec.depends:
        if dep in registry:
            ensure_tables(con, registry[dep], registry, as_of)
    if all(table_exists(con, t) for t in spec.tables):
        return
    name = f"{staging_name(spec)}__empty"
    empty_staging(con, spec, name)
    try:
        build(con, spec, name, as_of)
        swap(con, spec)
    finally:
        drop_staging(con, name)


def clean_view(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    staging: str,
    run_id: str,
    registry: Mapping[str, SourceSpec],
    as_of: date,
) -> str:
    """The staged rows but those quarantined, as the view the build reads (the tables of
    the sources it reads created empty if never loaded)."""
    clean = f"{staging}__ok"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {clean} AS SELECT * FROM {staging} s "
        "ANTI JOIN (SELECT DISTINCT file, row_number FROM quarantine "
        f"WHERE run_id = '{run_id}' AND source = '{spec.name}') q "
        "ON s._file = q.file AND s._row = q.row_number"
    )
    for dep in spec.depends:
        if dep in registry:
            ensure_tables(con, registry[dep], registry, as_of)
    return clean
