"""What a territory rerun reads: the per-ROME scores and the establishments of its own
départements (both tables stored sorted by département, so the other row groups are
skipped), those without a département included, and the same lists as a nightly for its
territories."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.territories import build_territory_commune, build_territory_scope, parse_territory
from scoring.ranking import (
    ESTABLISHMENTS_VIEW,
    RankingOptions,
    establishments_relation,
    prepare_ranking,
    run_departements,
    scores_relation,
)
from tests.publish import synthetic as syn
from tests.publish.conftest import altered_copy, make_settings, rank_lists

LEVELS = ("departement", "bassin", "agence")


@pytest.fixture(scope="module")
def sorted_scores_warehouse(tmp_path_factory) -> Path:
    """score_etablissement_rome with its code_departement column, as `ciblage score`
    writes it; one establishment without département."""
    path = syn.build_warehouse(tmp_path_factory.mktemp("scores_dep") / "w.duckdb")
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "UPDATE etablissement SET code_departement = NULL WHERE siret = ?", [syn.PUBLIC]
        )
        con.execute(
            "CREATE OR REPLACE TABLE score_etablissement_rome AS SELECT r.*, "
            "coalesce(e.code_departement, '?') AS code_departement "
            "FROM score_etablissement_rome r JOIN etablissement e USING (siret) "
            "ORDER BY code_departement"
        )
    finally:
        con.close()
    return path


def _deps(con: duckdb.DuckDBPyConnection, territory: str) -> tuple[str, ...] | None:
    build_territory_commune(con, None)
    build_territory_scope(con, parse_territory(territory), LEVELS)
    return run_departements(con, parse_territory(territory))


def test_rerun_reads_only_its_departements_scores(tmp_path, sorted_scores_warehouse):
    settings = make_settings(tmp_path, sorted_scores_warehouse)
    con = duckdb.connect(str(sorted_scores_warehouse), read_only=True)
    try:
        assert scores_relation(con, _deps(con, "all")) == "score_etablissement_rome"
        assert scores_relation(con, _deps(con, "dep:28")) == (
            "(SELECT * FROM score_etablissement_rome WHERE code_departement IN ('28') "
            "OR code_departement IS NULL)"
        )
        # the establishment without département is read under '?', as the score stage
        # stores it
        assert _deps(con, "dep:45") == ("45", "?")
        assert scores_relation(con, _deps(con, "dep:45")) == (
            "(SELECT * FROM score_etablissement_rome WHERE code_departement IN ('45', '?') "
            "OR code_departement IS NULL)"
        )
    finally:
        con.close()
    df = rank_lists(settings, "dep:45")
    assert syn.PUBLIC in set(df["siret"]) and set(df["code_departement"].drop_nulls()) == {"45"}
    # a territory filter without the column reads the whole table
    (tmp_path / "plain").mkdir()
    plain = make_settings(tmp_path / "plain", syn.build_warehouse(tmp_path / "plain.duckdb"))
    con = duckdb.connect(str(plain.warehouse), read_only=True)
    try:
        assert scores_relation(con, _deps(con, "dep:28")) == "score_etablissement_rome"
    finally:
        con.close()


def test_rerun_skips_other_departements_rows(tmp_path, sorted_scores_warehouse):
    """The filter is applied: a score row filed under another département is not read."""
    settings = altered_copy(
        tmp_path,
        sorted_scores_warehouse,
        "UPDATE score_etablissement_rome SET code_departement = '45'",
    )
    assert rank_lists(settings, "dep:28").is_empty()
    assert not rank_lists(settings, "all").is_empty()


def test_rerun_reads_only_its_departements_establishments(tmp_path, sorted_scores_warehouse):
    """The candidates and the list rows read the establishments through the run's view:
    its départements only (and those without one) for a rerun, the whole table for a
    nightly; the rerun's lists are the nightly's for its territories."""
    settings = make_settings(tmp_path, sorted_scores_warehouse)
    options = RankingOptions.from_settings(settings)
    con = duckdb.connect(str(sorted_scores_warehouse), read_only=True)
    read = f"SELECT DISTINCT code_departement FROM {ESTABLISHMENTS_VIEW}"
    try:
        for territory, deps in [("all", {"28", "45", None}), ("dep:28", {"28", None})]:
            prepare_ranking(con, settings, syn.AS_OF, parse_territory(territory), options)
            assert {r[0] for r in con.execute(read).fetchall()} == deps
        assert establishments_relation(None) == "etablissement"
        rank_lists(settings, "dep:28", con=con)
        views = dict(
            con.execute(
                "SELECT view_name, sql FROM duckdb_views() WHERE view_name IN "
                "('eligible_etablissement', 'target_list')"
            ).fetchall()
        )
    finally:
        con.close()
    assert len(views) == 2 and all(ESTABLISHMENTS_VIEW in sql for sql in views.values())
    rerun = rank_lists(settings, "dep:28")
    nightly = rank_lists(settings, "all").filter(
        pl.struct("territory_level", "territory_code").is_in(
            rerun.select(pl.struct("territory_level", "territory_code")).to_series().unique()
        )
    )
    assert not rerun.is_empty() and rerun.equals(nightly)


def test_rerun_skips_establishments_filed_under_other_departements(
    tmp_path, sorted_scores_warehouse
):
    """The filter is applied: with the per-commune counts built at ingest, an
    establishment whose row says another département is not read by a rerun of its
    commune's département, while a nightly still lists it."""
    listed = rank_lists(make_settings(tmp_path, sorted_scores_warehouse), "dep:28")
    moved = listed["siret"][0]
    settings = altered_copy(
        tmp_path,
        sorted_scores_warehouse,
        "CREATE TABLE etablissement_commune AS SELECT code_commune, code_departement, "
        "count(*) AS n_etablissements, count(*) FILTER (WHERE etat_administratif = 'A') "
        "AS n_actifs FROM etablissement GROUP BY ALL; "
        f"UPDATE etablissement SET code_departement = '45' WHERE siret = '{moved}'",
    )
    rerun = rank_lists(settings, "dep:28")
    assert not rerun.is_empty() and moved not in set(rerun["siret"])
    assert moved in set(rank_lists(settings, "all")["siret"])


def test_rerun_reads_scores_stored_before_the_departement_column(tmp_path):
    """A warehouse scored before score_etablissement_rome had code_departement gets the
    column added, NULL in its old rows: a territory rerun on those scores must still list
    the territory's companies."""
    warehouse = syn.build_warehouse(tmp_path / "w.duckdb")
    settings = altered_copy(
        tmp_path,
        warehouse,
        "ALTER TABLE score_etablissement_rome ADD COLUMN code_departement VARCHAR",
    )
    (tmp_path / "f").mkdir()
    fresh = rank_lists(make_settings(tmp_path / "f", warehouse), "dep:45")
    old = rank_lists(settings, "dep:45")
    assert old.height > 0 and old.equals(fresh)
