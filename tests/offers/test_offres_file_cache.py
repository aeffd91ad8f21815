"""The offers folder read file by file (ciblage/ingest/file_cache.py): the next load reads
only new or changed files, and gives the tables a full read gives."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

import ciblage.ingest.file_cache as file_cache
from ciblage.ingest import load_source, prepare
from ciblage.ingest.specs import OFFRES, registry
from ciblage.sources.offres_json import read_offres_source

from .test_offres_json import offer

KW: dict[str, Any] = {"as_of": date(2026, 11, 1)}


class Spy:
    """The offers reader, noting which paths it was asked to read."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, path: Path, spec: Any = None) -> Iterator[pa.RecordBatch]:
        self.paths.append(Path(path).name)
        return read_offres_source(path, spec)


def write(folder: Path, name: str, rows: list[dict[str, Any]]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("\n".join(json.dumps(o) for o in rows), encoding="utf-8")


def month(prefix: str, n: int, day: str) -> list[dict[str, Any]]:
    return [
        offer(f"{prefix}{i}", f"{day}T10:00:00Z", dateCreation=f"{day}T09:00:00Z") for i in range(n)
    ]


def tables(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[tuple], list[tuple]]:
    return (
        con.execute("SELECT * FROM offre ORDER BY offre_id").fetchall(),
        con.execute("SELECT * FROM offre_duplicate ORDER BY offre_id").fetchall(),
        con.execute(
            "SELECT file, row_number, field, reason FROM quarantine WHERE run_id = ? "
            "ORDER BY file, row_number",
            [KW["run_id"]],
        ).fetchall(),
    )


def full_read(tmp_path: Path, folder: Path, run_id: str) -> tuple[list, list, list]:
    """The tables of a load of `folder` without any cache, in a new warehouse."""
    con = duckdb.connect(str(tmp_path / f"full-{run_id}.duckdb"))
    prepare(con)
    spec = dataclasses.replace(OFFRES, cache_files=None)
    KW["run_id"] = run_id
    assert load_source(con, spec, folder, registry=registry(), **KW).status == "loaded"
    return tables(con)


@pytest.fixture()
def world(tmp_path: Path) -> tuple[duckdb.DuckDBPyConnection, Any, Spy, Path]:
    folder = tmp_path / "offres"
    write(folder, "offres_2026-09.jsonl", month("S", 30, "2026-09-10"))
    # a copy of S1, more recent, and a row without id (quarantined)
    oct_rows = [*month("O", 30, "2026-10-03"), offer("S1", "2026-10-04T10:00:00Z")]
    write(folder, "offres_2026-10.jsonl", [*oct_rows, offer(None, "2026-10-05T10:00:00Z")])
    write(folder / "api", "page-1.json", month("P", 3, "2026-10-20"))  # labelled api/page-1.json
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    prepare(con)
    spy = Spy()
    spec = dataclasses.replace(OFFRES, reader=spy)
    KW["run_id"] = "night-1"
    assert load_source(con, spec, folder, registry=registry(), **KW).status == "loaded"
    assert spy.paths == ["offres"]  # nothing to reuse: the folder in one read
    return con, spec, spy, folder


def cached(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT DISTINCT _file FROM file_cache_offres ORDER BY 1").fetchall()


def test_a_new_file_is_the_only_one_read(world: Any, tmp_path: Path) -> None:
    con, spec, spy, folder = world
    write(
        folder,
        "offres_2026-11.jsonl",
        [*month("N", 3, "2026-11-01"), offer("O2", "2026-11-01T11:00:00Z")],
    )
    spy.paths.clear()
    KW["run_id"] = "night-2"
    result = load_source(con, spec, folder, registry=registry(), **KW)
    assert result.status == "loaded", result.message
    assert spy.paths == ["offres_2026-11.jsonl"]
    assert tables(con) == full_read(tmp_path, folder, "night-2")
    assert result.rows_read == 30 + 32 + 3 + 4 and result.rows_quarantined == 1


def test_a_changed_file_is_read_again_and_a_removed_one_forgotten(
    world: Any, tmp_path: Path
) -> None:
    con, spec, spy, folder = world
    write(folder / "api", "page-1.json", month("P", 4, "2026-10-21"))  # revised, in a subfolder
    (folder / "offres_2026-09.jsonl").unlink()
    spy.paths.clear()
    KW["run_id"] = "night-2"
    assert load_source(con, spec, folder, registry=registry(), **KW).status == "loaded"
    assert spy.paths == ["page-1.json"]
    # the file read alone is labelled by its path in the folder, as a full read labels it
    assert tables(con) == full_read(tmp_path, folder, "night-2")
    assert cached(con) == [("api/page-1.json",), ("offres_2026-10.jsonl",)]


def test_the_staged_rows_are_those_of_a_full_read(world: Any, tmp_path: Path) -> None:
    """Rows staged from the cache and from the files: every column, `_file` and `_row`
    included, as a full read stages them."""
    from ciblage.ingest.fingerprint import fingerprint
    from ciblage.ingest.load import _stage

    con, spec, spy, folder = world
    write(folder, "offres_2026-08.jsonl", month("A", 2, "2026-08-01"))
    files = fingerprint(folder, spec.tables, {}, None)["files"]
    _stage(con, spec, folder, "stg_check", None, files)
    assert spy.paths[-1] == "offres_2026-08.jsonl" and len(spy.paths) == 2
    _stage(con, dataclasses.replace(spec, cache_files=None), folder, "stg_full", None, files)
    staged = con.execute("SELECT * FROM stg_check ORDER BY _file, _row").fetchall()
    assert staged == con.execute("SELECT * FROM stg_full ORDER BY _file, _row").fetchall()
    assert len(staged) == 2 + 30 + 32 + 3 and staged[3][-3] == "offres_2026-08.jsonl"


def test_other_staging_code_reads_every_file_again(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows kept by another version of the code that stages them (the contact filter
    included) are not reused."""
    con, spec, spy, folder = world
    assert {"ciblage.contacts", "ciblage.sources.offres_json", "ciblage.ingest.load"} <= set(
        file_cache.code_modules(OFFRES)
    )
    before = file_cache.reader_digest(OFFRES)
    real = file_cache._module_source

    def edited(name: str) -> str:
        return real(name) + ("# fixed" if name == "ciblage.contacts" else "")

    monkeypatch.setattr(file_cache, "_module_source", edited)
    assert file_cache.reader_digest(OFFRES) != before
    write(folder, "offres_2026-11.jsonl", month("N", 1, "2026-11-01"))
    spy.paths.clear()
    KW["run_id"] = "night-2"
    assert load_source(con, spec, folder, registry=registry(), **KW).status == "loaded"
    assert spy.paths == ["offres"]


def test_a_forced_load_reads_every_file(world: Any) -> None:
    con, spec, spy, folder = world
    spy.paths.clear()
    KW["run_id"] = "night-2"
    result = load_source(con, spec, folder, registry=registry(), force=True, **KW)
    assert result.status == "loaded"
    assert spy.paths == ["offres"]


def test_a_file_without_a_hash_is_read_and_not_kept(world: Any, tmp_path: Path) -> None:
    """The fingerprint skips hidden files, the offers reader reads them: such a file is
    read at every load, never taken from the cache."""
    con, spec, spy, folder = world
    write(folder, ".late.jsonl", month("L", 2, "2026-10-30"))
    write(folder, "offres_2026-11.jsonl", month("N", 1, "2026-11-01"))
    spy.paths.clear()
    KW["run_id"] = "night-2"
    assert load_source(con, spec, folder, registry=registry(), **KW).status == "loaded"
    assert sorted(spy.paths) == [".late.jsonl", "offres_2026-11.jsonl"]
    assert ("L1",) in con.execute("SELECT offre_id FROM offre").fetchall()
    assert (".late.jsonl",) not in cached(con)
    write(folder, "offres_2026-11.jsonl", month("N", 2, "2026-11-01"))
    spy.paths.clear()
    KW["run_id"] = "night-3"
    assert load_source(con, spec, folder, registry=registry(), **KW).status == "loaded"
    assert sorted(spy.paths) == [".late.jsonl", "offres_2026-11.jsonl"]
