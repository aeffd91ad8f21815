"""Ranking at its boundaries (what mutation testing found unpinned): the threshold is
inclusive and picks the offres value for offres scores, cool-downs of one company are
merged (latest end, every reason) and end on their date, a company capped to one list
keeps its best one, options are read and bounded, and a scope without any candidate
gives empty lists (a rerun's départements: test_rerun_scope.py)."""

from __future__ import annotations

import logging
import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.config import ConfigError
from ciblage.territories import parse_territory
from ciblage.warehouse import sql_list
from scoring.ranking import (
    Partition,
    RankingOptions,
    prepare_ranking,
    published_label_mode,
    rank_all,
    rank_targets,
    resolve_as_of,
    tranche_labels,
)
from tests.publish import synthetic as syn
from tests.publish.conftest import make_settings, rank_lists

ORLEANS = ("agence", "2420")


def _list(df: pl.DataFrame, rome: str, territory: tuple[str, str] = ORLEANS) -> pl.DataFrame:
    level, code = territory
    return df.filter(
        pl.col("territory_level") == level,
        pl.col("territory_code") == code,
        pl.col("code_rome") == rome,
    ).sort("rank")


def _row(df: pl.DataFrame, rome: str, siret: str) -> dict:
    return _list(df, rome).filter(pl.col("siret") == siret).row(0, named=True)


# ---- as-of -------------------------------------------------------------------------------


def test_as_of_fallback_is_said_and_needs_scores(synth_warehouse, caplog):
    with pytest.raises(
        RuntimeError, match="^pas de table score_etablissement_rome : lancez d'abord `ciblage "
    ):
        resolve_as_of(duckdb.connect(), syn.AS_OF, explicit=False)
    con = duckdb.connect(str(synth_warehouse), read_only=True)
    try:
        with caplog.at_level(logging.WARNING, logger="scoring.ranking"):
            assert resolve_as_of(con, date(2026, 11, 20), explicit=False) == syn.AS_OF
        assert caplog.messages == [
            "no scores as of 2026-11-20; publishing the latest scores, as of 2026-11-01"
        ]
        with pytest.raises(RuntimeError, match=r"2020-01-01 .*\(dernière date avant : None\)"):
            resolve_as_of(con, date(2020, 1, 1), explicit=False)
    finally:
        con.close()


# ---- threshold -------------------------------------------------------------------------


def test_threshold_keeps_a_potential_equal_to_it(synth_settings):
    everything = rank_lists(synth_settings)
    assert (everything["hiring_potential"] == 40).any()
    assert (everything["hiring_potential"] < 40).any()
    assert rank_lists(synth_settings, min_potential=40)["hiring_potential"].min() == 40


def test_offres_scores_use_the_offres_threshold(synth_settings):
    """The synthetic scores were learnt from offers: min_potential_offres applies, not
    min_potential (and min_potential when no offres value is set)."""
    con = duckdb.connect(str(synth_settings.warehouse), read_only=True)
    try:
        assert published_label_mode(con, syn.AS_OF) == "offres"
        assert published_label_mode(con, date(2020, 1, 1)) is None
    finally:
        con.close()
    low = rank_lists(synth_settings, min_potential=0, min_potential_offres=40)
    assert low["hiring_potential"].min() == 40
    high = rank_lists(synth_settings, min_potential=40, min_potential_offres=0)
    assert high["hiring_potential"].min() < 40
    opts = RankingOptions(min_potential=30, min_potential_offres=10)
    assert (opts.threshold("offres"), opts.threshold("hires_siret"), opts.threshold(None)) == (
        10,
        30,
        30,
    )
    assert RankingOptions(min_potential=30).threshold("offres") == 30


def test_label_mode_of_most_scores(tmp_path):
    con = duckdb.connect()
    assert published_label_mode(con, syn.AS_OF) is None  # nothing scored yet
    con.execute(
        "CREATE TABLE score_etablissement AS SELECT * FROM (VALUES "
        "(DATE '2026-11-01', 'offres'), (DATE '2026-11-01', 'hires_siret'), "
        "(DATE '2026-11-01', 'hires_siret'), (DATE '2026-10-01', 'offres'), "
        "(DATE '2026-10-01', 'offres')) t(as_of, label_mode)"
    )
    assert published_label_mode(con, syn.AS_OF) == "hires_siret"
    assert published_label_mode(con, date(2026, 10, 1)) == "offres"


# ---- non-employers ---------------------------------------------------------------------


def test_missing_hire_or_offer_count_is_no_signal(synth_settings, tmp_path):
    """A non-employer whose hires or offers count is NULL has no signal on that side."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(synth_settings.warehouse, warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "UPDATE feature_etablissement SET "
            "is_employer = CASE WHEN siret IN ($a, $b) THEN 0 ELSE 1 END, "
            "hires_24m = CASE WHEN siret = $a THEN NULL ELSE 0.0 END, "
            "offers_24m = CASE WHEN siret = $b THEN NULL ELSE 0 END",
            {"a": syn.TIE_A, "b": syn.TIE_B},
        )
        out = rank_lists(synth_settings, con=con)
    finally:
        con.close()
    assert out.height and not {syn.TIE_A, syn.TIE_B} & set(out["siret"])


# ---- cool-downs ------------------------------------------------------------------------

COOLDOWNS = [
    # two company-wide pauses of one company at one agency: the latest end, both reasons
    (syn.PERSON, "2420", None, date(2026, 12, 1), "b: relance"),
    (syn.PERSON, "2420", None, date(2027, 1, 15), "a: refus"),
    # a company-wide pause and a per-trade one: both apply to that trade
    (syn.PUBLIC, "2420", None, date(2026, 12, 1), "pause"),
    (syn.PUBLIC, "2420", "K1302", date(2027, 2, 1), "K1302 pourvu"),
    # ends on the as-of date: over
    (syn.TIE_A, "2420", None, syn.AS_OF, "fini le jour même"),
]


@pytest.fixture(scope="module")
def cooldown_warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cool_bounds") / "w.duckdb"
    return syn.build_warehouse(path, cooldown=COOLDOWNS)


def test_cooldowns_of_one_company_are_merged(tmp_path, cooldown_warehouse):
    settings = make_settings(tmp_path, cooldown_warehouse, 'cooldown = "demote"')
    df = rank_lists(settings, max_lists_per_company=0)
    person = _row(df, "G1602", syn.PERSON)
    assert person["in_cooldown"]
    assert person["cooldown_until"] == date(2027, 1, 15)
    assert person["cooldown_reason"] == "a: refus ; b: relance"
    k = _row(df, "K1302", syn.PUBLIC)
    assert k["cooldown_until"] == date(2027, 2, 1)
    assert k["cooldown_reason"] == "pause ; K1302 pourvu"
    m = _row(df, "M1607", syn.PUBLIC)
    assert (m["cooldown_until"], m["cooldown_reason"]) == (date(2026, 12, 1), "pause")
    # demoted after every company not in cool-down
    assert _list(df, "K1302")["siret"].to_list()[-1] == syn.PUBLIC


def test_cooldown_ending_on_the_as_of_date_is_over(tmp_path, cooldown_warehouse):
    settings = make_settings(tmp_path, cooldown_warehouse, 'cooldown = "exclude"')
    df = rank_lists(settings, max_lists_per_company=0)
    assert syn.TIE_A in _list(df, "K1302")["siret"].to_list()
    assert syn.PUBLIC not in _list(df, "K1302")["siret"].to_list()


def test_no_cooldown_fields_outside_a_cooldown(tmp_path, cooldown_warehouse):
    settings = make_settings(tmp_path, cooldown_warehouse, 'cooldown = "demote"')
    df = rank_lists(settings, max_lists_per_company=0)
    free = df.filter(~pl.col("in_cooldown"))
    assert free.height and free["cooldown_reason"].is_null().all()
    assert free["cooldown_until"].is_null().all()
    # a département list is never in an agency's cool-down
    dep = df.filter(pl.col("territory_level") != "agence")
    assert dep.height and not dep["in_cooldown"].any()


# ---- cap ---------------------------------------------------------------------------------


def test_cap_keeps_the_higher_potential_of_two_first_places(synth_settings):
    """First in two trades of agency 2420 (G1602 at 71, G1803 at 66): capped to one list,
    the company keeps G1602."""
    company = "10000001500011"
    uncapped = rank_lists(synth_settings, max_lists_per_company=0)
    assert _row(uncapped, "G1602", company)["rank"] == _row(uncapped, "G1803", company)["rank"]
    capped = rank_lists(synth_settings, max_lists_per_company=1)
    mine = capped.filter(
        pl.col("territory_level") == ORLEANS[0],
        pl.col("territory_code") == ORLEANS[1],
        pl.col("siret") == company,
    )
    assert mine["code_rome"].to_list() == ["G1602"]


# ---- options ---------------------------------------------------------------------------


def test_options_defaults_and_values(tmp_path, synth_warehouse):
    assert RankingOptions.from_settings(make_settings(tmp_path, synth_warehouse)) == (
        RankingOptions(top_n=50)
    )
    settings = make_settings(
        tmp_path,
        synth_warehouse,
        'max_lists_per_company = 0\ncooldown = "exclude"\nlast_offers = 0\n'
        'memory_limit = "1GB"\nmin_potential = 100\nmin_potential_offres = 0',
    )
    assert RankingOptions.from_settings(settings, top_n=1) == RankingOptions(
        top_n=1,
        max_lists_per_company=0,
        cooldown="exclude",
        last_offers=0,
        min_potential=100,
        min_potential_offres=0,
        memory_limit="1GB",
    )
    settings = make_settings(tmp_path, synth_warehouse, "min_potential_offres = 100")
    assert RankingOptions.from_settings(settings).min_potential_offres == 100


@pytest.mark.parametrize(
    "publish",
    [
        "max_lists_per_company = -1",
        "last_offers = -1",
        "min_potential = -1",
        "min_potential = 101",
        "min_potential_offres = -1",
        "min_potential_offres = 101",
    ],
)
def test_options_out_of_bounds_are_refused(tmp_path, synth_warehouse, publish):
    settings = make_settings(tmp_path, synth_warehouse, publish)
    with pytest.raises(ConfigError, match=r"\[publish\] top_n >= 1, max_lists_per_company >= 0"):
        RankingOptions.from_settings(settings)


def test_top_n_below_one_and_unknown_cooldown_are_refused(tmp_path, synth_warehouse):
    settings = make_settings(tmp_path, synth_warehouse)
    object.__setattr__(settings, "top_n", 0)
    with pytest.raises(ConfigError, match="top_n >= 1"):
        RankingOptions.from_settings(settings)
    settings = make_settings(tmp_path, synth_warehouse, 'cooldown = "later"')
    with pytest.raises(ConfigError, match="cooldown doit valoir l'un de .*reçu 'later'"):
        RankingOptions.from_settings(settings)


def test_headcount_labels():
    labels = tranche_labels()
    assert (labels["NN"], labels["00"], labels["12"]) == (
        "Non employeur",
        "0 salarié",
        "20 à 49 salariés",
    )


def test_sql_list_quotes_each_value():
    assert sql_list(("45", "2A")) == "'45', '2A'"
    assert sql_list(("l'x",)) == "'l''x'"
    assert sql_list(()) == "NULL"


# ---- partitions ------------------------------------------------------------------------


def test_partitions_report_progress_and_rows(synth_settings):
    options = RankingOptions.from_settings(synth_settings)
    con = duckdb.connect(str(synth_settings.warehouse), read_only=True)
    seen: list[Partition] = []
    try:
        parts = prepare_ranking(con, synth_settings, syn.AS_OF, parse_territory("all"), options)
        assert [p.key for p in parts] == ["28", "45"]
        assert [p.territories for p in parts] == [3, 5]
        n = rank_all(con, parts, syn.AS_OF, options, on_partition=seen.append)
        (rows,) = con.execute("SELECT count(*) FROM target_rank").fetchone()
        assert seen == parts and n == rows > 0
        parts = prepare_ranking(con, synth_settings, syn.AS_OF, parse_territory("all"), options)
        assert rank_all(con, parts, syn.AS_OF, options, partitioned=False) == n
    finally:
        con.close()


def test_scope_without_any_candidate_gives_empty_lists(synth_settings):
    """Nothing reaches the threshold: no partition, an empty target_rank, empty lists."""
    con = duckdb.connect(str(synth_settings.warehouse), read_only=True)
    try:
        options = RankingOptions(min_potential=100)
        parts = prepare_ranking(con, synth_settings, syn.AS_OF, parse_territory("all"), options)
        assert parts == []
        assert rank_all(con, parts, syn.AS_OF, options) == 0
        df = rank_targets(con, synth_settings, syn.AS_OF, parse_territory("all"), options)
    finally:
        con.close()
    assert df.is_empty() and "siret" in df.columns


def test_ranking_says_what_it_ranked(synth_settings, caplog):
    options = RankingOptions.from_settings(synth_settings)
    con = duckdb.connect(str(synth_settings.warehouse), read_only=True)
    try:
        parts = prepare_ranking(con, synth_settings, syn.AS_OF, parse_territory("all"), options)
        with caplog.at_level(logging.INFO, logger="scoring.ranking"):
            n = rank_all(con, parts, syn.AS_OF, options)
        # no agency mapping: every agency is its bassin, its rows copied from the bassin's
        (agencies,) = con.execute(
            "SELECT count(*) FROM target_rank WHERE territory_level = 'agence'"
        ).fetchone()
    finally:
        con.close()
    assert agencies > 0
    assert caplog.messages == [
        f"ranked {n} rows in 2 partitions over 8 territories (cool-down: demote); "
        f"{agencies} rows of agencies that are a bassin copied from it"
    ]


# ---- company fields --------------------------------------------------------------------


def _many(df: pl.DataFrame) -> dict:
    return _row(df, "D1507", syn.MANY)


def test_last_offers_option(synth_settings):
    titles = [o["intitule"] for o in _many(rank_lists(synth_settings))["last_offers"]]
    assert titles == ["Employé libre-service H/F", "Secrétaire accueil", "Employé commercial"]
    one = _many(rank_lists(synth_settings, last_offers=1))["last_offers"]
    assert [o["intitule"] for o in one] == ["Employé libre-service H/F"]
    assert _many(rank_lists(synth_settings, last_offers=0))["last_offers"] == []


@pytest.mark.parametrize("dropped", [("offre_siret_link",), ("offre", "offre_siret_link")])
def test_lists_without_offer_tables(tmp_path, dropped):
    """A deployment without offers (or with offers never linked to a SIRET) still gets its
    lists, with no offer shown."""
    path = syn.build_warehouse(tmp_path / "w.duckdb")
    con = duckdb.connect(str(path))
    try:
        for table in dropped:
            con.execute(f"DROP TABLE {table}")
    finally:
        con.close()
    df = rank_lists(make_settings(tmp_path, path))
    many = _many(df)
    assert df.height and many["last_offers"] == [] and many["offers_12m"] == 0
    assert many["contact_url"] is None and not many["is_entreprise_adaptee"]
