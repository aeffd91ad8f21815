"""Territory parameter parsing and distances."""

from __future__ import annotations

import duckdb
import pytest

from ciblage.territories import (
    TerritoryError,
    TerritoryFilter,
    haversine_km,
    haversine_sql,
    parse_territory,
)


@pytest.mark.parametrize(
    "text, level, code",
    [
        ("all", None, None),
        (None, None, None),
        ("dep:45", "departement", "45"),
        ("dep:2a", "departement", "2A"),
        ("dep:1", "departement", "01"),
        ("bassin:2420", "bassin", "2420"),
        ("agence:ORL-NORD", "agence", "ORL-NORD"),
    ],
)
def test_parse(text, level, code):
    flt = parse_territory(text)
    assert (flt.level, flt.code) == (level, code)
    assert parse_territory(str(flt)) == flt


@pytest.mark.parametrize("text", ["45", "dep:", "region:24", "commune:45234"])
def test_parse_errors(text):
    with pytest.raises(TerritoryError, match="territoire invalide"):
        parse_territory(text)


def test_str_roundtrip():
    assert str(TerritoryFilter("bassin", "2420")) == "bassin:2420"


def test_haversine_python_and_sql_agree():
    paris, orleans = (48.8566, 2.3522), (47.9029, 1.9093)
    km = haversine_km(*paris, *orleans)
    assert 108 < km < 112  # ~111 km as the crow flies
    expr = haversine_sql("a_lat", "a_lon", "b_lat", "b_lon")
    [(sql_km,)] = duckdb.sql(
        f"SELECT {expr} FROM (SELECT {paris[0]} a_lat, {paris[1]} a_lon, "
        f"{orleans[0]} b_lat, {orleans[1]} b_lon)"
    ).fetchall()
    assert sql_km == pytest.approx(km, rel=1e-9)
    assert haversine_km(*paris, *paris) == 0


def test_bassins_named_by_main_communes_and_departement():
    from ciblage.territories import build_territory_commune

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE ref_commune AS SELECT * FROM (VALUES "
        "('45234', 'Orléans', '45', '24', '2420', 47.9, 1.9), "
        "('45302', 'Saint-Jean-de-Braye', '45', '24', '2420', 47.9, 1.97), "
        "('45285', 'Saran', '45', '24', '2420', 47.95, 1.87), "
        "('45169', 'Ingré', '45', '24', '2420', 47.92, 1.82), "
        "('28085', 'Chartres', '28', '24', '2401', 48.4, 1.5)) "
        "t(code_commune, libelle, code_departement, code_region, code_bassin, latitude, longitude)"
    )
    con.execute(
        "CREATE TABLE ref_bassin AS SELECT * FROM (VALUES ('2420', 'Bassin d''emploi 2420', "
        "'45'), ('2401', 'Chartres et environs', '28')) t(code_bassin, libelle, code_departement)"
    )
    con.execute(
        "CREATE TABLE ref_departement AS SELECT * FROM (VALUES ('45', '24', 'Loiret'), "
        "('28', '24', 'Eure-et-Loir')) t(code_departement, code_region, libelle)"
    )
    con.execute(
        "CREATE TABLE etablissement AS SELECT * FROM (VALUES ('45234', '45', 'A'), "
        "('45234', '45', 'A'), ('45285', '45', 'A'), ('45285', '45', 'A'), "
        "('45169', '45', 'A'), ('45302', '45', 'F'), ('45302', '45', 'F')) "
        "t(code_commune, code_departement, etat_administratif)"
    )
    build_territory_commune(con, None)
    names = dict(
        con.execute(
            "SELECT DISTINCT territory_code, territory_name FROM territory_commune "
            "WHERE territory_level = 'agence'"
        ).fetchall()
    )
    # most active establishments first (closed ones do not count), then the département
    assert names["2420"] == "Orléans, Saran, Ingré… (Loiret)"
    assert names["2401"] == "Chartres et environs"  # a real name is kept


def test_territories_read_the_per_commune_counts_built_at_ingest():
    """`etablissement_commune` (built with `etablissement`) gives the same territories as
    scanning the establishments, which a warehouse loaded before it existed still does."""
    from ciblage.territories import build_territory_commune, commune_counts
    from ciblage.warehouse import run_sql_file

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE ref_commune AS SELECT * FROM (VALUES "
        "('45234', 'Orléans', '45', '24', '2420', 47.9, 1.9), "
        "('45285', 'Saran', '45', '24', '2420', 47.95, 1.87)) "
        "t(code_commune, libelle, code_departement, code_region, code_bassin, latitude, longitude)"
    )
    con.execute(
        "CREATE TABLE ref_bassin (code_bassin VARCHAR, libelle VARCHAR, code_departement VARCHAR)"
    )
    con.execute(
        "CREATE TABLE ref_departement AS SELECT '45' AS code_departement, '24' AS code_region, "
        "'Loiret' AS libelle"
    )
    con.execute(
        "CREATE TABLE etablissement AS SELECT * FROM (VALUES ('45234', '45', 'A'), "
        "('45285', '45', 'A'), ('45285', '45', 'A'), ('45234', '45', 'F'), "
        "('45234', '45', 'F'), ('45234', '45', 'F'), "
        "('45999', '45', 'A'), (NULL, NULL, 'A')) "  # 45999: not in the COG
        "t(code_commune, code_departement, etat_administratif)"
    )
    assert commune_counts(con).startswith("(SELECT")
    build_territory_commune(con, None)
    scanned = con.execute("SELECT * FROM territory_commune ORDER BY ALL").fetchall()
    assert ("departement", "45", "Loiret", "45999") in scanned
    assert ("agence", "2420", "Saran, Orléans (Loiret)", "45234") in scanned  # active ones

    con.execute("ALTER TABLE etablissement RENAME TO etablissement__new")
    run_sql_file(con, "etablissement_commune")
    con.execute("ALTER TABLE etablissement_commune__new RENAME TO etablissement_commune")
    con.execute("CREATE TABLE etablissement AS SELECT * FROM etablissement__new LIMIT 0")
    assert commune_counts(con) == "etablissement_commune"
    build_territory_commune(con, None)
    assert con.execute("SELECT * FROM territory_commune ORDER BY ALL").fetchall() == scanned
