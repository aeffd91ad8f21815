"""Ranking behaviours the mutation run of the whole module (bench/mutation.py ranking)
found unpinned by test_ranking.py and test_ranking_bounds.py."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.config import ConfigError
from ciblage.territories import parse_territory
from scoring.ranking import RankingOptions, prepare_ranking, rank_all
from tests.publish import synthetic as syn
from tests.publish.conftest import make_settings
from tests.publish.test_ranking import _rank_both

# the whole requirement list after the config path, to its last word
_BOUNDS = re.compile(
    r" : \[publish\] top_n >= 1, max_lists_per_company >= 0, last_offers >= 0 et "
    r"min_potential dans 0\.\.100 sont requis$"
)


def test_out_of_bounds_option_names_every_requirement(tmp_path, synth_warehouse):
    settings = make_settings(tmp_path, synth_warehouse, "last_offers = -1")
    with pytest.raises(ConfigError) as exc:
        RankingOptions.from_settings(settings)
    assert str(exc.value).startswith(str(settings.config_path))
    assert _BOUNDS.search(str(exc.value)), str(exc.value)


def test_rank_all_ranks_only_the_partitions_it_is_given(synth_settings):
    """No partition given: no list, although the scope has candidates (the stand-in for an
    empty ranking must not rank the whole scope); one partition: only its territories."""
    options = RankingOptions.from_settings(synth_settings)
    con = duckdb.connect(str(synth_settings.warehouse), read_only=True)
    try:
        parts = prepare_ranking(con, synth_settings, syn.AS_OF, parse_territory("all"), options)
        assert len(parts) == 2
        assert rank_all(con, [], syn.AS_OF, options) == 0
        assert con.execute("SELECT count(*) FROM target_rank").fetchone() == (0,)
        prepare_ranking(con, synth_settings, syn.AS_OF, parse_territory("all"), options)
        n = rank_all(con, parts[:1], syn.AS_OF, options)
        territories, rows = con.execute(
            "SELECT count(DISTINCT (territory_level, territory_code)), count(*) FROM target_rank"
        ).fetchone()
    finally:
        con.close()
    assert n == rows > 0
    assert territories == parts[0].territories


@pytest.fixture(scope="module")
def cooled_warehouse(tmp_path_factory) -> Path:
    rows = [
        (syn.MANY, "2420", "D1507", date(2026, 12, 15), "pourvu en D1507"),
        (syn.TIE_A, "2420", None, date(2026, 12, 1), "pause"),
        (syn.TIE_B, "2420", None, date(2026, 10, 1), "pause finie"),  # over by the as-of
    ]
    return syn.build_warehouse(tmp_path_factory.mktemp("cool_mutants") / "w.duckdb", cooldown=rows)


def test_one_pass_ranking_applies_the_cooldowns_too(tmp_path, cooled_warehouse):
    """The one-pass reference ranks as of the run's date like the partitions: the same
    lists, cool-downs included (test_ranking.py compares the two without any cool-down)."""
    settings = make_settings(tmp_path, cooled_warehouse, 'cooldown = "demote"')
    parted, whole = _rank_both(settings)
    cooled = whole.filter(pl.col("in_cooldown"))
    assert set(cooled["siret"]) == {syn.MANY, syn.TIE_A}
    assert parted.equals(whole)
