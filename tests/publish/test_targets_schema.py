"""The list files: written in their documented schema, and a broken file is refused."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from ciblage.config import PROJECT_ROOT
from ciblage.publish.target_files import targets_files
from ciblage.publish.targets import (
    TARGETS_SCHEMA,
    TargetsSchemaError,
    validate_targets,
    write_targets,
)
from ciblage.territories import parse_territory
from scoring.ranking import RankingOptions, rank_targets


@pytest.fixture()
def ranked(synth_settings) -> pl.DataFrame:
    con = duckdb.connect(str(synth_settings.warehouse), read_only=True)
    try:
        return rank_targets(
            con,
            synth_settings,
            synth_settings.as_of,
            parse_territory("all"),
            RankingOptions.from_settings(synth_settings),
        )
    finally:
        con.close()


def test_written_file_validates(tmp_path, ranked):
    folder = write_targets(ranked, tmp_path)
    assert validate_targets(tmp_path) == ranked.height > 0
    files = targets_files(tmp_path)
    assert files and all(f.parent == folder for f in files)
    assert all(list(pl.read_parquet_schema(f)) == list(TARGETS_SCHEMA) for f in files)


def test_every_column_documented():
    doc = (PROJECT_ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    missing = [c for c in TARGETS_SCHEMA if f"`{c}`" not in doc]
    assert not missing, f"columns not documented in docs/outputs.md: {missing}"


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda df: df.drop("reasons"), "missing column reasons"),
        (lambda df: df.with_columns(rank=pl.col("rank").cast(pl.Int64)), "column rank: type"),
        (lambda df: df.with_columns(extra=pl.lit(1)), "undocumented column"),
        (lambda df: df.with_columns(hiring_potential=pl.lit(140, pl.Int32)), "outside 0..100"),
        (lambda df: df.with_columns(rank=pl.lit(1, pl.Int32)), "duplicate rank"),
        (lambda df: df.with_columns(name=pl.lit(None, pl.String)), "name is null"),
    ],
)
def test_broken_file_refused(tmp_path, ranked, breakage, message):
    write_targets(ranked, tmp_path)
    path = targets_files(tmp_path)[0]
    breakage(pl.read_parquet(path)).write_parquet(path)
    with pytest.raises(TargetsSchemaError, match=message):
        validate_targets(tmp_path)
