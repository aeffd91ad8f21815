"""Agencies that are a bassin get the bassin's lists copied, not ranked again; an agency
in a promotion cool-down, or of a mapping that is no bassin, is ranked itself. Either way
the lists equal the one-pass ranking, which ranks every agency
(test_ranking.py::test_partitioned_ranking_gives_the_one_pass_lists on the same worlds)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from ciblage.territories import parse_territory
from scoring.ranking import RankingOptions, prepare_ranking, rank_targets
from tests.publish import synthetic as syn
from tests.publish.conftest import make_settings, mapped_settings
from tests.publish.test_ranking_bounds import COOLDOWNS


def _mirror(settings) -> tuple[dict[str, str], set[str]]:
    """(agency -> bassin mirrored, every agency in scope)."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        options = RankingOptions.from_settings(settings)
        prepare_ranking(con, settings, syn.AS_OF, parse_territory("all"), options)
        mirror = dict(con.execute("SELECT agency_code, bassin_code FROM agence_mirror").fetchall())
        agencies = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT territory_code FROM territory_scope "
                "WHERE territory_level = 'agence'"
            ).fetchall()
        }
    finally:
        con.close()
    return mirror, agencies


def _both(settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    options = RankingOptions.from_settings(settings)
    out = []
    for partitioned in (True, False):  # copied agencies, every agency ranked
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            out.append(
                rank_targets(con, settings, syn.AS_OF, parse_territory("all"), options, partitioned)
            )
        finally:
            con.close()
    return out[0], out[1]


def _level(df: pl.DataFrame, level: str) -> pl.DataFrame:
    return df.filter(pl.col("territory_level") == level).drop("territory_level")


def test_without_a_mapping_every_agency_is_its_bassin(synth_settings) -> None:
    mirror, agencies = _mirror(synth_settings)
    assert agencies and set(mirror) == agencies
    assert all(code == bassin for code, bassin in mirror.items())
    copied, ranked = _both(synth_settings)
    assert copied.equals(ranked)
    assert _level(copied, "agence").equals(_level(copied, "bassin"))


def test_an_agency_in_cool_down_is_ranked_itself(tmp_path: Path) -> None:
    warehouse = syn.build_warehouse(tmp_path / "w.duckdb", cooldown=COOLDOWNS)
    settings = make_settings(tmp_path, warehouse, 'cooldown = "demote"')
    mirror, agencies = _mirror(settings)
    assert "2420" in agencies and "2420" not in mirror
    assert set(mirror) == agencies - {"2420"}
    copied, ranked = _both(settings)
    assert copied.equals(ranked)
    paused = copied.filter(pl.col("territory_code") == "2420", pl.col("in_cooldown"))
    assert set(paused["territory_level"]) == {"agence"} and paused.height > 0
    # what the copy would have shown instead: the bassin's order, without the pause
    assert not _level(copied, "agence").equals(_level(copied, "bassin"))


def test_a_mapped_agency_is_copied_only_when_it_is_a_bassin(
    tmp_path: Path, synth_warehouse: Path
) -> None:
    settings = mapped_settings(tmp_path, synth_warehouse)
    mirror, agencies = _mirror(settings)
    # ORL-NORD has exactly the communes of bassin 2420; CHARTRES is one commune of another
    assert agencies == {"ORL-NORD", "CHARTRES"} and mirror == {"ORL-NORD": "2420"}
    copied, ranked = _both(settings)
    assert copied.equals(ranked)
    assert set(_level(copied, "agence")["territory_name"]) == {"Orléans Nord", "Chartres"}
