"""The partitioned list files: one file per département partition, a rerun rewrites only
the partitions its territories are in (before or now) and links the others."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.gate_snapshot import scope_departements
from ciblage.publish.target_files import (
    LEGACY_FILE,
    changed_files,
    read_manifest,
    read_targets,
    rerun_scope,
    targets_files,
    territory_file,
)
from ciblage.publish.targets import (
    TARGETS_SCHEMA,
    conform,
    copy_targets,
    validate_targets,
    write_targets,
)


def _row(level: str, code: str, rank: int, dep: str, pot: int = 80) -> dict:
    row = dict.fromkeys(TARGETS_SCHEMA)
    siret = f"{dep}{level[0]}{code}{rank}".ljust(14, "0")[:14].replace("a", "1")
    row.update(
        territory_level=level,
        territory_code=code,
        territory_name=f"{level} {code}",
        code_rome="M1607",
        rome_label="Secrétariat",
        rank=rank,
        siret="".join(c if c.isdigit() else "9" for c in siret),
        hiring_potential=pot,
        stars=4,
        expected_hires_6m=2.0,
        reasons=["raison"],
        name="Société",
        code_departement=dep,
        in_cooldown=False,
        as_of=date(2026, 11, 1),
        last_offers=[],
    )
    return row


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=TARGETS_SCHEMA)


# the bassin 2401 lists two companies of 45 and one of 18: it is in partition 45
FIRST = [
    _row("departement", "18", 1, "18"),
    _row("departement", "27", 1, "27"),
    _row("departement", "45", 1, "45"),
    _row("departement", "45", 2, "45"),
    _row("bassin", "2401", 1, "45"),
    _row("bassin", "2401", 2, "45"),
    _row("bassin", "2401", 3, "18"),
    _row("agence", "1801", 1, "18"),
]


def _rerun(run_dir: Path, previous: Path, rows: list[dict], scope: list[tuple]) -> dict:
    """What a territory rerun writes: its scope's new rows, the rest from `previous`."""
    con = duckdb.connect()
    try:
        con.register("new_rows", conform(_frame(rows)).to_arrow())
        con.execute(
            "CREATE TEMP TABLE scope AS SELECT * FROM (VALUES "
            + ", ".join(f"('{lvl}', '{code}')" for lvl, code in scope)
            + ") t(territory_level, territory_code)"
        )
        return copy_targets(con, run_dir, "new_rows", carry_from=previous, scope="scope")
    finally:
        con.close()


def _inode(path: Path) -> int:
    return path.stat().st_ino


def test_one_file_per_partition_with_its_manifest(tmp_path: Path) -> None:
    write_targets(_frame(FIRST), tmp_path)
    assert [f.name for f in targets_files(tmp_path)] == ["18.parquet", "27.parquet", "45.parquet"]
    manifest = read_manifest(tmp_path)
    assert manifest is not None
    assert manifest["parts"]["45"]["territories"] == [
        ["bassin", "2401", 1],
        ["departement", "45", 1],
    ]
    assert manifest["parts"]["45"]["rows"] == 5
    assert territory_file(tmp_path, "agence", "1801") == [tmp_path / "targets" / "18.parquet"]
    assert territory_file(tmp_path, "agence", "9999") == []
    assert validate_targets(tmp_path) == len(FIRST)
    assert read_targets(tmp_path).height == len(FIRST)


def test_rerun_links_the_partitions_outside_its_scope(tmp_path: Path) -> None:
    first, second = tmp_path / "r1", tmp_path / "r2"
    write_targets(_frame(FIRST), first)
    new45 = [_row("departement", "45", 1, "45", pot=95)]
    manifest = _rerun(second, first, new45, [("departement", "45")])
    for name in ("18.parquet", "27.parquet"):
        assert _inode(second / "targets" / name) == _inode(first / "targets" / name)
        assert manifest["parts"][name[:2]]["linked_from"] == "r1"
    assert "linked_from" not in manifest["parts"]["45"]
    rows = read_targets(second)
    dep45 = rows.filter(pl.col("territory_code") == "45")
    assert dep45["hiring_potential"].to_list() == [95]  # the rerun's list replaced the old
    assert rows.filter(pl.col("territory_code") == "2401").height == 3  # carried over
    assert rows.height == len(FIRST) - 1
    assert validate_targets(second, [second / "targets" / "45.parquet"]) == rows.height
    cur, prev = changed_files(second, first)
    assert [f.name for f in cur] == ["45.parquet"] and [f.name for f in prev] == ["45.parquet"]


def test_a_territory_that_changes_partition_rewrites_both(tmp_path: Path) -> None:
    first, second = tmp_path / "r1", tmp_path / "r2"
    write_targets(_frame(FIRST), first)
    moved = [_row("bassin", "2401", 1, "18"), _row("bassin", "2401", 2, "18")]
    manifest = _rerun(second, first, moved, [("bassin", "2401")])
    assert _inode(second / "targets" / "27.parquet") == _inode(first / "targets" / "27.parquet")
    assert "linked_from" not in manifest["parts"]["18"]
    assert "linked_from" not in manifest["parts"]["45"]
    assert territory_file(second, "bassin", "2401") == [second / "targets" / "18.parquet"]
    bassin = read_targets(second).filter(pl.col("territory_code") == "2401")
    assert bassin["code_departement"].to_list() == ["18", "18"]  # the old rows are gone
    validate_targets(second)


def test_a_partition_left_empty_is_removed(tmp_path: Path) -> None:
    first, second = tmp_path / "r1", tmp_path / "r2"
    write_targets(_frame(FIRST), first)
    manifest = _rerun(second, first, [], [("departement", "27")])
    assert "27" not in manifest["parts"]
    assert not (second / "targets" / "27.parquet").exists()
    assert read_targets(second).height == len(FIRST) - 1


def test_a_rerun_names_its_territories_and_its_gate_counts_only_their_departements(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "r1", tmp_path / "r2"
    write_targets(_frame(FIRST), first)
    assert rerun_scope(first) is None  # a full run: every list is its own
    _rerun(second, first, [_row("agence", "4501", 1, "45")], [("agence", "4501")])
    rerun = rerun_scope(second)
    assert rerun is not None
    assert rerun[0] == [("agence", "4501")]
    assert [f.name for f in rerun[1]] == ["45.parquet"]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE etablissement AS SELECT DISTINCT siret, code_departement FROM "
        f"read_parquet(['{first}/targets/*.parquet', '{second}/targets/*.parquet'])"
    )
    # the lists carried over are not the rerun's, even those in its file (bassin 2401,
    # with a company of 18): only the agency's new list counts
    assert scope_departements(con, second, "agence:4501") == ["45"]
    assert scope_departements(con, first, "agence:4501") == ["18", "27", "45"]


def test_rerun_on_a_single_file_run_rewrites_it_partitioned(tmp_path: Path) -> None:
    first, second = tmp_path / "r1", tmp_path / "r2"
    first.mkdir()
    conform(_frame(FIRST)).write_parquet(first / LEGACY_FILE)
    assert targets_files(first) == [first / LEGACY_FILE]
    _rerun(second, first, [_row("departement", "45", 1, "45", pot=95)], [("departement", "45")])
    assert [f.name for f in targets_files(second)] == ["18.parquet", "27.parquet", "45.parquet"]
    assert read_targets(second).height == len(FIRST) - 1
    assert validate_targets(second) == len(FIRST) - 1


def test_a_territory_in_two_files_is_refused(tmp_path: Path) -> None:
    write_targets(_frame(FIRST), tmp_path)
    path = tmp_path / "targets" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["parts"]["27"]["territories"].append(["departement", "18", 1])
    path.write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="departement 18 in partitions"):
        validate_targets(tmp_path)


@pytest.mark.parametrize("layout", ["partitioned", "single file"])
def test_a_column_the_published_run_lacked_is_carried_as_null(tmp_path: Path, layout: str) -> None:
    """A rerun after an upgrade that added a column keeps the other territories' lists:
    the column is NULL there, in its documented type."""
    first, second = tmp_path / "r1", tmp_path / "r2"
    old = conform(_frame(FIRST)).drop("site_web")
    if layout == "partitioned":
        write_targets(_frame(FIRST), first)
        for f in targets_files(first):
            pl.read_parquet(f).drop("site_web").write_parquet(f)
    else:
        first.mkdir()
        old.write_parquet(first / LEGACY_FILE)
    new45 = [{**_row("departement", "45", 1, "45"), "site_web": "https://exemple.fr"}]
    _rerun(second, first, new45, [("departement", "45")])
    rows = read_targets(second)
    assert rows.schema["site_web"] == pl.String
    assert rows.filter(pl.col("territory_code") == "45")["site_web"].to_list() == [
        "https://exemple.fr"
    ]
    assert rows.filter(pl.col("territory_code") == "2401")["site_web"].null_count() == 3


def _write_with_threads(rows: pl.DataFrame, run_dir: Path, threads: int) -> dict:
    con = duckdb.connect()
    try:
        con.execute(f"SET threads = {threads}")
        con.execute("SET preserve_insertion_order = false")  # as the warehouse's connections
        con.register("frame_targets", conform(rows).to_arrow())
        return copy_targets(con, run_dir, "frame_targets")
    finally:
        con.close()


def test_files_written_on_several_threads_are_those_of_one(tmp_path: Path) -> None:
    """The partitions are written concurrently (one cursor per file): each file's bytes,
    its rows' order and the manifest must not depend on it."""
    import random

    rows = [
        _row("agence", f"{dep}{a:02d}", rank, dep, pot=rank % 97)
        for dep in (f"{d:02d}" for d in range(1, 17))
        for a in range(4)
        for rank in range(1, 601)
    ]
    random.Random(7).shuffle(rows)
    frame = _frame(rows)
    one = _write_with_threads(frame, tmp_path / "one", 1)
    four = _write_with_threads(frame, tmp_path / "four", 4)
    assert one == four and len(one["parts"]) == 16
    for name in (f.name for f in targets_files(tmp_path / "one")):
        assert (tmp_path / "one" / "targets" / name).read_bytes() == (
            tmp_path / "four" / "targets" / name
        ).read_bytes()
        keys = pl.read_parquet(
            tmp_path / "four" / "targets" / name,
            columns=["territory_level", "territory_code", "code_rome", "rank"],
        ).rows()
        assert keys == sorted(keys)
    assert read_targets(tmp_path / "four").height == len(rows)
