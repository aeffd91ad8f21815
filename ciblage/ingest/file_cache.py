"""Staged rows kept per file, for sources that are a folder growing file by file.

The job offers are a folder of monthly files: the next night adds a day to the current
month's file and leaves the other 24 untouched, yet a changed folder meant reading all of
it again (4 M offers: 61 s of JSON flattening on two cores, measured nationally). With
`SourceSpec.cache_files`, the staged rows of each file are kept in the warehouse table
`file_cache_<source>`, keyed by the file's path in the folder and a key made of its
sha256 (from the load's fingerprint) and of the code that stages it (`code_modules`: the
reader's module and the `ciblage` modules it uses, such as the contact filter, and the
loader; the spec's columns and partition expression). A load then reads only the files
whose key is not there, and takes the others' rows from the table: the staged rows are
those of a full read, and everything after the staging (rules, quarantine, quality gate,
build) runs on all of them as before.

- With nothing to reuse (first load, other code, a forced load), the folder is read in one
  call, as without the cache (the reader's own parallelism applies).
- A file the fingerprint has no hash for (a hidden file, one written during the load) is
  read but not kept.
- A load whose reading reported malformed lines (`readers.Reject`) keeps nothing it read:
  those files are read again next time, so their lines are quarantined by every load.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ciblage.ingest.readers import Reject, stream_schema
from ciblage.ingest.staging import drop_staging
from ciblage.warehouse import table_exists

if TYPE_CHECKING:
    import duckdb

    from ciblage.ingest.spec import SourceSpec

log = logging.getLogger(__name__)

KEY = "_file_key"
# the loader's modules: how a file's rows are labelled and staged
STAGING_MODULES = ("ciblage.ingest.load", "ciblage.ingest.readers", __name__)


def cache_table(spec: SourceSpec) -> str:
    """The warehouse table holding `spec`'s staged rows per file."""
    return f"file_cache_{spec.name}"


def _ciblage_refs(module: Any) -> set[str]:
    """The `ciblage` modules whose functions, classes or selves `module` refers to."""
    refs = {
        m.__name__ if inspect.ismodule(m) else getattr(m, "__module__", None) or ""
        for m in vars(module).values()
        if inspect.ismodule(m) or callable(m)
    }
    return {r for r in refs if r == "ciblage" or r.startswith("ciblage.")}


def code_modules(spec: SourceSpec) -> list[str]:
    """The modules whose code shapes a file's staged rows: the reader's, every `ciblage`
    module it reaches through the functions and classes it uses (the offers' contact
    filter among them), and the loader's. Reaching too far only costs a full read after
    an upgrade; missing one would keep rows the new code would not stage."""
    todo = [spec.reader.__module__, *STAGING_MODULES]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in sys.modules:
            continue
        seen.add(name)
        todo.extend(_ciblage_refs(sys.modules[name]) - seen)
    return sorted(seen)


def _module_source(name: str) -> str:
    return inspect.getsource(sys.modules[name])


def reader_digest(spec: SourceSpec) -> str:
    """The code that turns a file into staged rows (`code_modules`, the spec's columns and
    partition): rows kept by another version are never reused."""
    name = getattr(spec.reader, "__qualname__", type(spec.reader).__qualname__)
    h = hashlib.sha256(repr((spec.columns, spec.partition, name)).encode())
    for module in code_modules(spec):
        h.update(module.encode())
        h.update(_module_source(module).encode())
    return h.hexdigest()[:16]


def file_keys(spec: SourceSpec, folder: Path, files: list[dict[str, Any]]) -> dict[str, str | None]:
    """Path in the folder -> cache key of every data file of the folder
    (`spec.cache_files`), in the reader's file order, from the fingerprint's `files`
    (path, sha256); None for a file the fingerprint did not hash (read, never kept)."""
    assert spec.cache_files is not None
    code = reader_digest(spec)
    sha = {f["path"]: f["sha256"] for f in files}
    return {
        p.relative_to(folder).as_posix(): f"{sha[str(p)]}:{code}" if str(p) in sha else None
        for p in spec.cache_files(folder)
    }


def staged_columns(spec: SourceSpec) -> list[str]:
    """The staging table's columns (the reader's, plus the partition the loader adds)."""
    return [f.name for f in stream_schema(spec)] + (["_partition"] if spec.partition else [])


def _current_columns(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> bool:
    """Does the cache table exist with the columns this version stages (plus the key)?"""
    table = cache_table(spec)
    if not table_exists(con, table):
        return False
    have = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    return have == [*staged_columns(spec), KEY]


def cached_files(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, keys: dict[str, str | None]
) -> set[str]:
    """The files of `keys` whose rows the cache holds under the same key (none when the
    cache has other columns than this version stages)."""
    if not _current_columns(con, spec):
        return set()
    rows = con.execute(f"SELECT DISTINCT _file, {KEY} FROM {cache_table(spec)}").fetchall()
    return {f for f, k in rows if k is not None and keys.get(f) == k}


def _keys_table(con: duckdb.DuckDBPyConnection, keys: dict[str, str | None]) -> str:
    """Temp table (_file, key) of the folder's files that have a key."""
    con.execute("CREATE OR REPLACE TEMP TABLE _stage_files (_file VARCHAR, key VARCHAR)")
    con.executemany(
        "INSERT INTO _stage_files VALUES (?, ?)", [(f, k) for f, k in keys.items() if k]
    )
    return "_stage_files"


def assemble(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, staging: str, read: str, current: str
) -> None:
    """`staging` = the rows just read (table `read`, dropped) and the cached rows whose
    (file, key) is `current`'s (the reused files). No order: a full read's staging has none
    either (the warehouse does not preserve insertion order), and the key rule orders
    copies by (_file, _row)."""
    drop_staging(con, staging)  # an earlier staging of this name may be a view
    con.execute(
        f"CREATE TEMP TABLE {staging} AS SELECT * FROM {read} UNION ALL "
        f"SELECT c.* EXCLUDE ({KEY}) FROM {cache_table(spec)} c "
        f"JOIN {current} o ON o._file = c._file AND o.key = c.{KEY}"
    )
    drop_staging(con, read)


def refresh(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    staging: str,
    current: str,
    fresh: list[str],
) -> None:
    """After a complete staging: the cache holds the rows of the folder's current files
    (`current`: their keys; the `fresh`ly read ones to keep are added, the others are
    already there), nothing of files gone or changed."""
    table = cache_table(spec)
    if not _current_columns(con, spec):  # none yet, or another version's columns
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS "
            f"SELECT *, ''::VARCHAR AS {KEY} FROM {staging} LIMIT 0"
        )
    con.execute(
        f"DELETE FROM {table} c WHERE NOT EXISTS (SELECT 1 FROM {current} o "
        f"WHERE o._file = c._file AND o.key = c.{KEY})"
    )
    if fresh:
        con.execute(
            f"INSERT INTO {table} SELECT s.*, o.key FROM {staging} s "
            f"JOIN {current} o USING (_file) WHERE list_contains(?, s._file)",
            [fresh],
        )


def stage(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    folder: Path,
    staging: str,
    files: list[dict[str, Any]],
    force: bool,
    read: Callable[[list[Path], str], list[Reject]],
) -> list[Reject]:
    """Stage the folder source `spec` into `staging` through its file cache; `read(paths,
    table)` streams paths (the folder, or files of it) into a table and returns the
    malformed lines. Returns them."""
    keys = file_keys(spec, folder, files)
    reused = set() if force else cached_files(con, spec, keys)
    current = _keys_table(con, keys)
    if reused:
        rejects = read([folder / f for f in keys if f not in reused], f"{staging}__read")
        assemble(con, spec, staging, f"{staging}__read", current)
    else:
        rejects = read([folder], staging)
    fresh = [] if rejects else sorted(f for f, k in keys.items() if k and f not in reused)
    refresh(con, spec, staging, current, fresh)
    log.info(
        "%s: %d of %d files read, %d from the file cache",
        spec.name,
        len(keys) - len(reused),
        len(keys),
        len(reused),
    )
    return rejects
