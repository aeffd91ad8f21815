"""The lists on disk: `<run>/targets/<partition>.parquet`, one file per département
partition, and `targets/manifest.json`, which territories each file holds.

Why partitioned: a territory rerun must not read and re-encode every list of France. It
writes the files of the partitions its territories are in and hard-links the others from
the published run, so a national rerun costs one département, not 40 M rows. Readers
(agency files, gates) open the one file the manifest names instead of scanning all.

A territory's partition is the département holding most of its listed companies (ties to
the smallest code), computed from the rows alone: the same rule for a full run, a rerun
and a frame written by a tool, so a territory's file never depends on how it was ranked.
Rows of a file are sorted by list and rank, and files are read in name order: two runs on
the same data write the same bytes. Every file of a run was validated before publication
(a linked file was, in the run that wrote it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    import duckdb

TARGETS_DIR = "targets"
MANIFEST_FILE = "manifest.json"
LEGACY_FILE = "targets.parquet"  # runs written before the partitioned layout
ROW_ORDER = ("territory_level", "territory_code", "code_rome", "rank")
UNKNOWN_PART = "unknown"  # territories whose companies have no département
PART_NAME = re.compile(r"[0-9A-Za-z]+")
SCOPE_KEY = "scope"  # manifest: a territory rerun's own territories, [[level, code], ...]


def sql_path(path: Path) -> str:
    return _quote(path.as_posix())


def targets_dir(run_dir: Path) -> Path:
    return run_dir / TARGETS_DIR


def targets_files(run_dir: Path) -> list[Path]:
    """Every list file of a run, in reading order (a run of the single-file layout: that
    file); empty when the run wrote none."""
    folder = targets_dir(run_dir)
    if folder.is_dir():
        return sorted(folder.glob("*.parquet"))
    legacy = run_dir / LEGACY_FILE
    return [legacy] if legacy.is_file() else []


def files_sql(files: list[Path]) -> str:
    """DuckDB relation over `files` (they must not be empty)."""
    if not files:
        raise ValueError("no targets file to read")
    return "read_parquet([" + ", ".join(f"'{sql_path(f)}'" for f in files) + "])"


def read_targets(run_dir: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """Every list row of a run as one frame, in file order (tests, tools, small runs)."""
    files = targets_files(run_dir)
    if not files:
        raise FileNotFoundError(f"{targets_dir(run_dir)}: no list file")
    return read_files(files, columns)


def read_files(files: list[Path], columns: list[str] | None = None) -> pl.DataFrame:
    """Rows of list files, in the order given (they must not be empty)."""
    return pl.concat([pl.read_parquet(f, columns=columns) for f in files], how="vertical")


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    """{"parts": {part: {"file", "rows", "territories": [[level, code, lists], ...]}}}
    (a territory rerun adds "scope": its own territories), or None for a run without one
    (single-file layout)."""
    path = targets_dir(run_dir) / MANIFEST_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def written_files(run_dir: Path, manifest: dict[str, Any]) -> list[Path]:
    """The files this run wrote itself (not linked from the published run)."""
    folder = targets_dir(run_dir)
    return [folder / e["file"] for e in manifest["parts"].values() if "linked_from" not in e]


def rerun_scope(run_dir: Path) -> tuple[list[tuple[str, str]], list[Path]] | None:
    """(the territories a territory rerun listed anew, the files holding them), or None
    when the run does not say (a full run, or one written before the manifest did): its
    other lists were carried over from the published run unchanged."""
    manifest = read_manifest(run_dir)
    if manifest is None or manifest.get(SCOPE_KEY) is None:
        return None
    scope = [(str(lvl), str(code)) for lvl, code in manifest[SCOPE_KEY]]
    wanted = set(scope)
    files = [
        targets_dir(run_dir) / e["file"]
        for e in manifest["parts"].values()
        if any((t[0], t[1]) in wanted for t in e["territories"])
    ]
    return scope, files


def territory_file(run_dir: Path, level: str, code: str) -> list[Path]:
    """The file(s) that may hold a territory's lists: the one the manifest names, or every
    file when there is no manifest."""
    manifest = read_manifest(run_dir)
    if manifest is None:
        return targets_files(run_dir)
    for entry in manifest["parts"].values():
        if any(t[0] == level and t[1] == code for t in entry["territories"]):
            return [targets_dir(run_dir) / entry["file"]]
    return []


def changed_files(run_dir: Path, previous: Path) -> tuple[list[Path], list[Path]]:
    """(files of `run_dir`, files of `previous`) that are not the same file in both runs:
    a partition linked from the previous run cannot differ from it, so comparisons
    between the two runs read only the rest."""

    def ids(files: list[Path]) -> dict[tuple[int, int], Path]:
        out = {}
        for f in files:
            st = f.stat()
            out[(st.st_dev, st.st_ino)] = f
        return out

    cur, prev = ids(targets_files(run_dir)), ids(targets_files(previous))
    return (
        [f for k, f in cur.items() if k not in prev],
        [f for k, f in prev.items() if k not in cur],
    )


def _part_sql(rows: str) -> str:
    """(territory_level, territory_code, part) of every territory in relation `rows`."""
    return f"""
        SELECT territory_level, territory_code,
               first(d ORDER BY n DESC, d) AS part
        FROM (SELECT territory_level, territory_code,
                     coalesce(code_departement, '{UNKNOWN_PART}') AS d, count(*) AS n
              FROM {rows} GROUP BY ALL)
        GROUP BY ALL"""


def write_partitions(
    con: duckdb.DuckDBPyConnection,
    run_dir: Path,
    select: str,
    columns: dict[str, str],
    carry_from: Path | None = None,
    scope: str = "territory_scope",
) -> dict[str, Any]:
    """Write `select` (a query giving `columns`, name → SQL type) as one file per
    partition, plus the manifest; returns the manifest.

    `carry_from`: a territory rerun keeps the lists of the published run for the
    territories outside `scope` (a relation with territory_level, territory_code). The
    files of partitions holding none of the scope's territories, before or now, are
    hard-linked from it (when they have this run's columns); the others are rewritten
    with its rows outside the scope, a column it lacked as NULL. Each
    file is written under a temporary name, then renamed: a reader never sees half a file.
    """
    folder = targets_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(carry_from) if carry_from is not None else None
    prev_files = targets_files(carry_from) if carry_from is not None else []
    if carry_from is not None and previous is None and prev_files:
        # a run of the single-file layout: its rows outside the scope join the new ones
        select += " UNION ALL " + _outside(con, files_sql(prev_files), scope, columns)
    # a view: the partitions read three of its columns, and the partition-sorted copy
    # `_write_files` makes is its one materialisation (national lists, interleaved:
    # 21.3-22.3 -> 19.0-21.3 s, and one table of every list row less in memory)
    con.execute(f"CREATE OR REPLACE TEMP VIEW target_rows_new AS {select}")
    con.execute("CREATE OR REPLACE TEMP TABLE target_parts AS " + _part_sql("target_rows_new"))
    new_parts = {r[0] for r in con.execute("SELECT DISTINCT part FROM target_parts").fetchall()}
    linked: dict[str, dict[str, Any]] = {}
    rewrite: dict[str, Path | None] = dict.fromkeys(new_parts)
    in_scope: set[tuple[str, str]] | None = None
    if carry_from is not None:
        in_scope = {
            (lvl, code)
            for lvl, code in con.execute(
                f"SELECT DISTINCT territory_level, territory_code FROM {scope}"
            ).fetchall()
        }
    if previous is not None and in_scope is not None:
        for part, entry in previous["parts"].items():
            old = targets_dir(carry_from) / entry["file"]
            touched = any((t[0], t[1]) in in_scope for t in entry["territories"])
            # a file of another version's columns is rewritten, never linked: every file
            # of a run has the run's columns
            same_columns = list(pl.read_parquet_schema(old)) == list(columns)
            if touched or part in new_parts or not same_columns:
                rewrite[part] = old
            else:
                linked[part] = entry
    for part in rewrite:
        if not PART_NAME.fullmatch(part):  # a département code names a file
            raise ValueError(f"département code {part!r} cannot name a list file")
    parts = _write_files(con, folder, rewrite, columns, scope)
    for part, entry in linked.items():
        link_or_copy(targets_dir(carry_from) / entry["file"], folder / entry["file"])  # type: ignore[operator]
        parts[part] = {**entry, "linked_from": carry_from.name}  # type: ignore[union-attr]
    manifest: dict[str, Any] = {"parts": {p: parts[p] for p in sorted(parts)}}
    if in_scope is not None:  # a rerun: the territories it listed anew (the rest carried)
        manifest[SCOPE_KEY] = sorted([lvl, code] for lvl, code in in_scope)
    (folder / MANIFEST_FILE).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=0), encoding="utf-8"
    )
    con.execute("DROP TABLE IF EXISTS target_parts")
    return manifest


SCRATCH = "publish_scratch"  # in memory: unlike TEMP tables, cursors (threads) see it


def _write_files(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    rewrite: dict[str, Path | None],
    columns: dict[str, str],
    scope: str,
) -> dict[str, dict[str, Any]]:
    """Write every partition of `rewrite` (part -> the published file whose rows outside
    `scope` it keeps, or None) from `target_rows_new`; returns the entries of the files
    holding rows.

    One COPY encodes its file on one thread (a partition's rows fit in one row group), so
    the files are written by as many threads as DuckDB has, each on its own cursor; the
    rows are staged in an in-memory database the cursors share. Each file's bytes depend
    only on its query, not on which thread wrote it."""
    cols = ", ".join(f'"{c}"' for c in columns)
    order = ", ".join(ROW_ORDER)
    con.execute(f"ATTACH ':memory:' AS {SCRATCH} (READ_WRITE)")
    (old,) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0]
    try:
        # sorted by partition, so that each file's query skips the other partitions' blocks,
        # then in each file's order, which a scan keeping insertion order gives back: one
        # sort instead of one more per file (national files' COPYs: 17.2 -> 12.2 thread-s)
        con.execute(
            f"CREATE TABLE {SCRATCH}.target_rows AS SELECT p.part AS _part, r.* "
            "FROM target_rows_new r JOIN target_parts p USING (territory_level, territory_code) "
            f"ORDER BY _part, {order}"
        )
        con.execute("DROP VIEW target_rows_new")
        con.execute(
            f"CREATE TABLE {SCRATCH}.scope AS "
            f"SELECT DISTINCT territory_level, territory_code FROM {scope}"
            if any(rewrite.values())
            else f"CREATE TABLE {SCRATCH}.scope (territory_level VARCHAR, territory_code VARCHAR)"
        )
        # a global setting: set once for all threads (the stored order is each file's)
        con.execute("SET preserve_insertion_order = true")

        def write(part: str) -> tuple[str, dict[str, Any]]:
            query = f"SELECT {cols} FROM {SCRATCH}.target_rows WHERE _part = '{_quote(part)}'"
            old_file = rewrite[part]
            path = folder / f"{part}.parquet"
            cur = con.cursor()  # a connection is not shared between threads
            try:
                if old_file is not None:  # the published run's rows join: sorted again
                    query += " UNION ALL " + _outside(
                        cur, files_sql([old_file]), f"{SCRATCH}.scope", columns
                    )
                    query += f" ORDER BY {order}"
                _copy(cur, query, path)
                return part, _entry(cur, path)
            finally:
                cur.close()

        (threads,) = con.execute("SELECT current_setting('threads')").fetchall()[0]
        with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
            written = dict(pool.map(write, sorted(rewrite)))
    finally:
        con.execute(f"SET preserve_insertion_order = {str(bool(old)).lower()}")
        con.execute(f"DETACH {SCRATCH}")
    parts = {}
    for part, entry in written.items():
        if entry["rows"]:
            parts[part] = entry
        else:  # every list of the partition left the scope
            (folder / entry["file"]).unlink()
    return parts


def _quote(value: str) -> str:
    return value.replace("'", "''")


def _outside(
    con: duckdb.DuckDBPyConnection, relation: str, scope: str, columns: dict[str, str]
) -> str:
    """Rows of `relation` (a published run's files) whose territory is not in `scope`, in
    this run's columns and types: a column that run did not have yet comes as NULL."""
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    cols = ", ".join(
        f"CAST({f'p.{q}' if c in have else 'NULL'} AS {t}) AS {q}"
        for c, t in columns.items()
        for q in [f'"{c}"']
    )
    return (
        f"SELECT {cols} FROM {relation} p WHERE NOT EXISTS (SELECT 1 FROM "
        f"(SELECT DISTINCT territory_level, territory_code FROM {scope}) s "
        "WHERE s.territory_level = p.territory_level AND s.territory_code = p.territory_code)"
    )


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    """COPY under a temporary name, then renamed (the caller keeps insertion order: the
    order of the rows the query reads, or its ORDER BY, is the file's order)."""
    tmp = path.with_suffix(".parquet.tmp")
    con.execute(
        f"COPY ({query}) TO '{sql_path(tmp)}' "
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"
    )
    tmp.replace(path)


def _entry(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, Any]:
    rows = con.execute(
        "SELECT territory_level, territory_code, count(DISTINCT code_rome), count(*) "
        f"FROM read_parquet('{sql_path(path)}') GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    return {
        "file": path.name,
        "rows": sum(int(r[3]) for r in rows),
        "territories": [[lvl, code, int(n)] for lvl, code, n, _ in rows],
    }


def link_or_copy(src: str | Path, dst: str | Path) -> None:
    """Hard link (runs never modify a published file: list files, agency folders), a copy
    across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
