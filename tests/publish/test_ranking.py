"""Ranking rules on the synthetic warehouse: eligibility, order, ties, top N, cap, cool-down,
territories."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.territories import TerritoryError, parse_territory
from scoring.ranking import RankingOptions, rank_targets, resolve_as_of
from tests.publish import synthetic as syn
from tests.publish.conftest import make_settings, mapped_settings


def _rank(settings, territory="all", **opts) -> pl.DataFrame:
    options = RankingOptions.from_settings(settings)
    options = RankingOptions(**{**options.__dict__, **opts})
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return rank_targets(con, settings, syn.AS_OF, parse_territory(territory), options)
    finally:
        con.close()


def test_only_eligible_establishments(synth_settings):
    df = _rank(synth_settings)
    listed = set(df["siret"])
    assert syn.P_ETAB not in listed, "statutDiffusion P establishment listed"
    assert syn.P_UNITE not in listed, "establishment of a P legal unit listed"
    assert syn.CLOSED not in listed, "closed establishment listed"
    # UNLINKED is scored for G1602 but its NAF (4941A) is not linked to G1602
    assert df.filter(pl.col("siret") == syn.UNLINKED)["code_rome"].unique().to_list() == ["N4101"]
    # every (naf, rome) pair of the lists is in ref_naf_rome
    pairs = {(n, r) for n, r, *_ in syn.NAF_ROME}
    assert set(df.select("naf_code", "code_rome").unique().iter_rows()) <= pairs


def test_order_ties_and_ranks(synth_settings):
    df = _rank(synth_settings)
    for _key, grp in df.group_by("territory_level", "territory_code", "code_rome"):
        assert grp["rank"].sort().to_list() == list(range(1, grp.height + 1))
        ordered = grp.sort("rank")
        expected = grp.sort(
            ["hiring_potential", "expected_hires_6m", "siret"], descending=[True, True, False]
        )
        assert ordered["siret"].to_list() == expected["siret"].to_list()
    k = df.filter(
        pl.col("territory_level") == "agence",
        pl.col("territory_code") == "2420",
        pl.col("code_rome") == "K1302",
    ).sort("rank")
    ranks = dict(zip(k["siret"], k["rank"], strict=True))
    assert ranks[syn.TIE_B] == ranks[syn.TIE_A] + 1, "exact tie not broken by siret"


def test_top_n(synth_settings):
    df = _rank(synth_settings, top_n=2)
    assert df.group_by("territory_level", "territory_code", "code_rome").len()["len"].max() == 2
    assert df["rank"].max() == 2


def test_cap_lists_per_company(synth_settings):
    uncapped = _rank(synth_settings, max_lists_per_company=0)
    agence = (pl.col("territory_level") == "agence") & (pl.col("territory_code") == "2420")
    many = uncapped.filter(pl.col("siret") == syn.MANY, agence)
    assert many.height == 2  # D1507 and M1607
    capped = _rank(synth_settings, max_lists_per_company=1)
    per_company = capped.group_by("territory_level", "territory_code", "siret").len()
    assert per_company["len"].max() == 1
    kept = capped.filter(pl.col("siret") == syn.MANY, agence)
    best = many.sort(["rank", "hiring_potential"], descending=[False, True]).row(0, named=True)
    assert kept["code_rome"].to_list() == [best["code_rome"]]
    # those below moved up: ranks stay contiguous
    m = capped.filter(agence, pl.col("code_rome") == "M1607")
    assert m["rank"].sort().to_list() == list(range(1, m.height + 1))


@pytest.fixture(scope="module")
def cooled_warehouse(tmp_path_factory) -> Path:
    rows = [
        (syn.MANY, "2420", "D1507", date(2026, 12, 15), "3 promotions sans réponse en D1507"),
        (syn.TIE_A, "2420", None, date(2026, 12, 1), "3 promotions sans réponse"),
        (syn.TIE_B, "2420", None, date(2026, 10, 1), "pause terminée"),  # expired
    ]
    return syn.build_warehouse(tmp_path_factory.mktemp("cool") / "w.duckdb", cooldown=rows)


def _list(df, level, code, rome):
    return df.filter(
        pl.col("territory_level") == level,
        pl.col("territory_code") == code,
        pl.col("code_rome") == rome,
    ).sort("rank")


def test_cooldown_exclude(tmp_path, cooled_warehouse):
    settings = make_settings(tmp_path, cooled_warehouse, 'cooldown = "exclude"')
    df = _rank(settings)
    assert syn.MANY not in _list(df, "agence", "2420", "D1507")["siret"].to_list()
    assert syn.MANY in _list(df, "agence", "2420", "M1607")["siret"].to_list()  # other ROME
    assert syn.MANY in _list(df, "departement", "45", "D1507")["siret"].to_list()
    assert syn.TIE_A not in _list(df, "agence", "2420", "K1302")["siret"].to_list()
    assert syn.TIE_B in _list(df, "agence", "2420", "K1302")["siret"].to_list()  # expired
    assert not df["in_cooldown"].any()


def test_cooldown_demote_flags(tmp_path, cooled_warehouse):
    settings = make_settings(tmp_path, cooled_warehouse, 'cooldown = "demote"')
    df = _rank(settings, max_lists_per_company=0)
    d = _list(df, "agence", "2420", "D1507")
    last = d.row(d.height - 1, named=True)
    assert last["siret"] == syn.MANY and last["in_cooldown"]
    assert "sans réponse" in last["cooldown_reason"]
    assert last["cooldown_until"] == date(2026, 12, 15)
    assert d.filter(pl.col("siret") != syn.MANY)["in_cooldown"].not_().all()
    k = _list(df, "agence", "2420", "K1302")
    assert k.filter(pl.col("siret") == syn.TIE_A)["in_cooldown"].item()
    assert not k.filter(pl.col("siret") == syn.TIE_B)["in_cooldown"].item()


def test_cooldown_ignore(tmp_path, cooled_warehouse):
    settings = make_settings(tmp_path, cooled_warehouse, 'cooldown = "ignore"')
    assert not _rank(settings)["in_cooldown"].any()


def test_territory_filters(synth_settings):
    df = _rank(synth_settings, territory="dep:28")
    assert set(df.select("territory_level", "territory_code").unique().iter_rows()) == {
        ("departement", "28"),
        ("bassin", "2401"),
        ("agence", "2401"),
    }
    df = _rank(synth_settings, territory="agence:2410")
    assert set(df.select("territory_level", "territory_code").unique().iter_rows()) == {
        ("agence", "2410")
    }
    assert (df["commune"] == "Montargis").all()
    with pytest.raises(TerritoryError, match="introuvable"):
        _rank(synth_settings, territory="dep:99")
    with pytest.raises(TerritoryError, match="territoire invalide"):
        parse_territory("region:24")


def test_agency_mapping_file(tmp_path, synth_warehouse):
    settings = mapped_settings(tmp_path, synth_warehouse)
    df = _rank(settings).filter(pl.col("territory_level") == "agence")
    assert set(df["territory_code"]) == {"ORL-NORD", "CHARTRES"}
    assert set(df.filter(pl.col("territory_code") == "ORL-NORD")["territory_name"]) == {
        "Orléans Nord"
    }


@pytest.mark.parametrize(
    "content, message",
    [
        ("commune;agence\n45234;X\n", "ligne 1 : l'en-tête"),
        ("commune;agency_code;agency_name\n4523;X;Y\n", "ligne 2 : champ commune"),
        ("commune;agency_code;agency_name\n45234;X/1;Y\n", "ligne 2 : champ agency_code"),
        ("commune;agency_code;agency_name\n45234;X;Y\n45302;X;Z\n", "ligne 3 : champ agency_name"),
    ],
)
def test_agency_mapping_errors(tmp_path, synth_warehouse, content, message):
    mapping = tmp_path / "agences.csv"
    mapping.write_text(content, encoding="utf-8")
    settings = make_settings(tmp_path, synth_warehouse, f'agency_mapping = "{mapping}"')
    with pytest.raises(TerritoryError, match=message) as exc:
        _rank(settings)
    assert str(mapping) in str(exc.value)


def test_resolve_as_of(synth_warehouse):
    con = duckdb.connect(str(synth_warehouse), read_only=True)
    try:
        assert resolve_as_of(con, syn.AS_OF, explicit=True) == syn.AS_OF
        assert resolve_as_of(con, date(2026, 11, 20), explicit=False) == syn.AS_OF
        with pytest.raises(RuntimeError, match="pas de scores au 2026-11-20"):
            resolve_as_of(con, date(2026, 11, 20), explicit=True)
    finally:
        con.close()


def test_no_row_below_the_threshold_and_no_silent_non_employer(synth_settings, tmp_path):
    """Only real targets: every row at least `min_potential`; a non-employer without any
    hire or offer in 24 months is never listed, one with a signal is."""
    everything = _rank(synth_settings)
    assert everything["hiring_potential"].min() < 40  # the threshold has work to do
    df = _rank(synth_settings, min_potential=40)
    assert df.height and df["hiring_potential"].min() >= 40
    kept = everything.filter(pl.col("hiring_potential") >= 40)
    assert set(df["siret"]) <= set(kept["siret"])

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(synth_settings.warehouse, warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "UPDATE feature_etablissement SET "
            "is_employer = CASE WHEN siret IN (?, ?) THEN 0 ELSE 1 END, "
            "hires_24m = CASE WHEN siret = ? THEN 2.0 ELSE 0.0 END, offers_24m = 0",
            [syn.TIE_A, syn.TIE_B, syn.TIE_B],
        )
        out = rank_targets(con, synth_settings, syn.AS_OF, parse_territory("all"), RankingOptions())
    finally:
        con.close()
    assert syn.TIE_A not in set(out["siret"])  # non-employer, no signal
    assert syn.TIE_B in set(out["siret"])  # non-employer that hired: kept


def _rank_both(settings, territory: str = "all") -> tuple[pl.DataFrame, pl.DataFrame]:
    options = RankingOptions.from_settings(settings)
    out = []
    for partitioned in (True, False):
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            out.append(
                rank_targets(
                    con, settings, syn.AS_OF, parse_territory(territory), options, partitioned
                )
            )
        finally:
            con.close()
    return out[0], out[1]


@pytest.mark.parametrize("territory", ["all", "dep:45"])
def test_partitioned_ranking_gives_the_one_pass_lists(synth_settings, territory):
    """Ranking one département's territories at a time (bounded memory) must give the
    same rows in the same order as ranking every territory in one pass."""
    parted, whole = _rank_both(synth_settings, territory)
    assert parted.height > 0
    assert parted.equals(whole)


def test_partition_of_a_territory_astride_two_departements(synth_warehouse, tmp_path):
    """An agency with communes in two départements is ranked once, in the partition of
    the département holding most of its communes, with companies from both."""
    from scoring.ranking import prepare_ranking

    mapping = tmp_path / "agences.csv"
    mapping.write_text(
        "commune;agency_code;agency_name\n"
        "45234;X1;Agence à cheval\n45302;X1;Agence à cheval\n28085;X1;Agence à cheval\n",
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, synth_warehouse, f'agency_mapping = "{mapping.as_posix()}"')
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        parts = prepare_ranking(
            con, settings, syn.AS_OF, parse_territory("agence:X1"), RankingOptions()
        )
    finally:
        con.close()
    assert [(p.key, p.deps, p.territories) for p in parts] == [("45", ("28", "45"), 1)]
    parted, whole = _rank_both(settings, "agence:X1")
    assert parted.equals(whole)
    assert set(parted["code_departement"]) == {"28", "45"}
