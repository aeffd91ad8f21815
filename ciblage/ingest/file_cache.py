"""Staged rows kept per file, for sources that are a folder growing file by file.

The job offers are a folder of monthly files: the next night adds a day to the current
month's file and leaves the other 24 untouched, yet a changed folder meant reading all of
it again (4 M offers: 61 s of JSON flattening on two cores, measured nationally). With
`SourceSpec.cache_files`, the staged rows of each file are kept in the warehouse table
`stg_cache_<source>`, keyed by the file's path in the folder and a key made of its sha256
(from the load's fingerprint) and of the reading code (the reader's module, the spec's
columns and partition expression). A load then reads only the files whose key is not
there, and takes the others' rows from the table: the staged rows are those of a full
read, and everything after the staging (rules, quarantine, quality gate, build) runs on
all of them as before.

A file whose reading reported malformed lines (`readers.Reject`) is not kept: it is read
again next time, so its lines are quarantined by every load, as without the cache.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ciblage.warehouse import table_exists

if TYPE_CHECKING:
    import duckdb

    from ciblage.ingest.spec import SourceSpec

KEY = "_file_key"


def cache_table(spec: SourceSpec) -> str:
    return f"stg_cache_{spec.name}"


def reader_digest(spec: SourceSpec) -> str:
    """The code that turns a file into staged rows: rows kept by another version are
    never reused."""
    name = getattr(spec.reader, "__qualname__", type(spec.reader).__qualname__)
    module = sys.modules.get(spec.reader.__module__)
    source = inspect.getsource(module) if module is not None else name
    h = hashlib.sha256(source.encode())
    h.update(repr((spec.columns, spec.partition, name)).encode())
    return h.hexdigest()[:16]


def file_keys(spec: SourceSpec, folder: Path, files: list[dict[str, Any]]) -> dict[str, str]:
    """Path in the folder -> cache key of every data file of the folder
    (`spec.cache_files`), in the reader's file order, from the fingerprint's `files`
    (path, sha256)."""
    assert spec.cache_files is not None
    code = reader_digest(spec)
    sha = {f["path"]: f["sha256"] for f in files}
    return {
        p.relative_to(folder).as_posix(): f"{sha[str(p)]}:{code}" for p in spec.cache_files(folder)
    }


def cached_files(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, keys: dict[str, str]
) -> set[str]:
    """The files of `keys` whose rows the cache holds under the same key."""
    table = cache_table(spec)
    if not table_exists(con, table):
        return set()
    have = con.execute(f"SELECT DISTINCT _file, {KEY} FROM {table}").fetchall()
    return {f for f, k in have if keys.get(f) == k}


def _order_table(con: duckdb.DuckDBPyConnection, keys: dict[str, str]) -> str:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _stage_files (_file VARCHAR, idx INTEGER, key VARCHAR)"
    )
    con.executemany(
        "INSERT INTO _stage_files VALUES (?, ?, ?)",
        [(f, i, k) for i, (f, k) in enumerate(keys.items())],
    )
    return "_stage_files"


def assemble(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    staging: str,
    read: str,
    keys: dict[str, str],
    reused: set[str],
) -> None:
    """`staging` = the rows just read (table `read`, dropped) and the cached rows of the
    `reused` files. No order: a full read's staging has none either (the warehouse does
    not preserve insertion order), and the key rule orders copies by (_file, _row)."""
    order = _order_table(con, keys)
    con.execute(
        f"CREATE OR REPLACE TABLE {staging} AS SELECT * FROM {read} UNION ALL "
        f"SELECT c.* EXCLUDE ({KEY}) FROM {cache_table(spec)} c "
        f"JOIN {order} o ON o._file = c._file AND o.key = c.{KEY} "
        "WHERE list_contains(?, c._file)",
        [sorted(reused)],
    )
    con.execute(f"DROP TABLE {read}")


def refresh(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    staging: str,
    keys: dict[str, str],
    read: set[str],
    rejected: set[str],
) -> None:
    """After a complete staging: the cache holds the rows of the folder's current files
    (those `read` now, except the `rejected` ones), and nothing of files gone or changed."""
    table = cache_table(spec)
    cols = [r[0] for r in con.execute(f"DESCRIBE {staging}").fetchall()]
    if table_exists(con, table):
        have = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        if have != [*cols, KEY]:  # another version's columns: start again
            con.execute(f"DROP TABLE {table}")
    if not table_exists(con, table):
        con.execute(
            f"CREATE TABLE {table} AS SELECT *, ''::VARCHAR AS {KEY} FROM {staging} LIMIT 0"
        )
    order = _order_table(con, keys)
    con.execute(
        f"DELETE FROM {table} c WHERE NOT EXISTS (SELECT 1 FROM {order} o "
        f"WHERE o._file = c._file AND o.key = c.{KEY})"
    )
    fresh = sorted(read - rejected)
    if fresh:
        con.execute(
            f"INSERT INTO {table} SELECT s.*, o.key FROM {staging} s "
            f"JOIN {order} o USING (_file) WHERE list_contains(?, s._file)",
            [fresh],
        )
