"""Fixtures of the publication tests: the synthetic warehouse and a config pointing at it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.config import Settings, load_settings
from ciblage.territories import parse_territory
from scoring.ranking import RankingOptions, rank_targets
from tests.publish.synthetic import AS_OF, build_warehouse, write_config


@pytest.fixture(scope="session")
def synth_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("synth") / "warehouse.duckdb")


@pytest.fixture()
def synth_settings(tmp_path: Path, synth_warehouse: Path) -> Settings:
    cfg = write_config(tmp_path / "ciblage.toml", synth_warehouse, tmp_path / "output")
    return load_settings(cfg)


def make_settings(tmp_path: Path, warehouse: Path, publish: str = "") -> Settings:
    cfg = write_config(tmp_path / "ciblage.toml", warehouse, tmp_path / "output", publish)
    return load_settings(cfg)


def mapped_settings(tmp_path: Path, warehouse: Path) -> Settings:
    """Settings with an agency mapping: ORL-NORD (the communes of bassin 2420, Orléans)
    and CHARTRES (one commune of another bassin)."""
    mapping = tmp_path / "agences.csv"
    mapping.write_text(
        "commune;agency_code;agency_name\n45234;ORL-NORD;Orléans Nord\n"
        "45302;ORL-NORD;Orléans Nord\n28085;CHARTRES;Chartres\n",
        encoding="utf-8",
    )
    return make_settings(tmp_path, warehouse, f'agency_mapping = "{mapping.as_posix()}"')


def altered_copy(tmp_path: Path, warehouse: Path, sql: str) -> Settings:
    """Settings on a copy of `warehouse` changed by `sql` (the original stays shared)."""
    path = tmp_path / "altered.duckdb"
    shutil.copy(warehouse, path)
    con = duckdb.connect(str(path))
    try:
        con.execute(sql)
    finally:
        con.close()
    return make_settings(tmp_path, path)


def rank_lists(
    settings: Settings,
    territory: str = "all",
    con: duckdb.DuckDBPyConnection | None = None,
    **opts: object,
) -> pl.DataFrame:
    """Every list of `territory` as of the synthetic as-of, ranked with the settings'
    options overridden by `opts`."""
    options = RankingOptions(**{**RankingOptions.from_settings(settings).__dict__, **opts})
    own = con is None
    con = con or duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return rank_targets(con, settings, AS_OF, parse_territory(territory), options)
    finally:
        if own:
            con.close()


@pytest.fixture(scope="session")
def synth_published(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> dict:
    """publish_flow run on a private synthetic warehouse (the flow writes follow-up tables)."""
    from pipelines.publish import publish_flow

    work = tmp_path_factory.mktemp("synth_publish")
    warehouse = build_warehouse(work / "warehouse.duckdb")
    cfg = write_config(work / "ciblage.toml", warehouse, work / "output")
    result = publish_flow(config=str(cfg))
    return {**result, "config": str(cfg), "warehouse": warehouse}
