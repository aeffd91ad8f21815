"""The establishments' names kept from one linking to the next (ciblage/linking_names.py):
reused only while SIRENE, the month window and the code are the same, and then giving the
links a rebuild gives."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

import ciblage.linking_names as linking_names
from ciblage.linking import link_offers
from ciblage.linking_names import KEY_TABLE, NAMES_TABLE, month_start
from ciblage.warehouse import run_sql_file

from .helpers import load_offres
from .linking_world import OFFERS, linking_warehouse, offer


def record_sirene_loads(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """What the loader writes after loading the SIRENE stocks (`version`: the files)."""
    run_sql_file(con, "source_load")
    for source in ("sirene_etablissement", "sirene_unite_legale"):
        con.execute(
            "INSERT INTO source_load (source, fingerprint, loaded_at, status) "
            "VALUES (?, ?, now(), 'loaded')",
            [source, f'{{"sha256": "{source}-{version}"}}'],
        )


def links(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT * FROM offre_siret_link ORDER BY offre_id").fetchall()


@pytest.fixture()
def keyed(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = linking_warehouse(tmp_path)
    record_sirene_loads(con, "v1")
    return con


def rebuilt_links(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The links of a linking that cannot reuse anything."""
    con.execute(f"DROP TABLE IF EXISTS {KEY_TABLE}")
    counts = link_offers(con, "rebuild", workers=1)
    assert counts["names_reused"] is False
    return links(con)


def test_month_start() -> None:
    assert month_start(date(2024, 11, 17)) == date(2024, 11, 1)


def test_unchanged_sirene_reuses_the_names_and_gives_the_same_links(
    keyed: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    first = link_offers(keyed, "night-1", workers=1)
    assert first["names_reused"] is False
    assert {NAMES_TABLE, KEY_TABLE} <= {
        r[0] for r in keyed.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    # next day: one more offer in the same month, the same SIRENE stock
    extra = offer("new", "Boulangerie Martin", date="2026-03-20T08:00:00Z")
    f = tmp_path / "night2.jsonl"
    f.write_text("\n".join(json.dumps(o) for o in [*OFFERS, extra]), "utf-8")
    load_offres(keyed, f)
    second = link_offers(keyed, "night-2", workers=1)
    assert second["names_reused"] is True
    reused = links(keyed)
    assert ("new", "55210055400013", "entity_resolution", 1.0) in reused
    assert reused == rebuilt_links(keyed)


def test_a_new_sirene_stock_rebuilds_the_names(keyed: duckdb.DuckDBPyConnection) -> None:
    link_offers(keyed, "night-1", workers=1)
    assert "nomatch" not in {r[0] for r in links(keyed)}
    # the new stock has the garage the offer names: the old names cannot know it
    keyed.execute(
        "INSERT INTO etablissement VALUES ('44306184100047', '443061841', '45234', '45', "
        "'4520A', DATE '2020-01-01', NULL, 'GARAGE BERNARD', NULL, 'A', '11')"
    )
    record_sirene_loads(keyed, "v2")
    counts = link_offers(keyed, "night-2", workers=1)
    assert counts["names_reused"] is False
    assert ("nomatch", "44306184100047") in {r[:2] for r in links(keyed)}


def test_new_months_of_offers_keep_the_names_and_an_older_first_month_rebuilds_them(
    keyed: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The next night is often the first of a month: its offers keep the names (their
    lower bound is the first offer's month), an offer older than that month does not."""
    link_offers(keyed, "night-1", workers=1)
    later = offer("april", "Boulangerie Martin", date="2026-04-02T08:00:00Z")
    f = tmp_path / "april.jsonl"
    f.write_text("\n".join(json.dumps(o) for o in [*OFFERS, later]), "utf-8")
    load_offres(keyed, f)
    assert link_offers(keyed, "night-2", workers=1)["names_reused"] is True
    assert ("april", "55210055400013") in {r[:2] for r in links(keyed)}
    assert links(keyed) == rebuilt_links(keyed)
    # an offer of January 2025: the site closed on 2025-06-30 is a candidate again
    older = offer("old", "Julie Leroy", date="2025-01-15T08:00:00Z", secteur="56")
    f.write_text("\n".join(json.dumps(o) for o in [*OFFERS, later, older]), "utf-8")
    load_offres(keyed, f)
    assert link_offers(keyed, "night-3", workers=1)["names_reused"] is False
    assert ("old", "40483304800010") in {r[:2] for r in links(keyed)}


def test_without_recorded_sirene_loads_nothing_is_kept(tmp_path: Path) -> None:
    """A warehouse whose SIRENE tables no load vouches for never reuses, and keeps no
    names table."""
    con = linking_warehouse(tmp_path)
    assert link_offers(con, "a", workers=1)["names_reused"] is False
    assert link_offers(con, "b", workers=1)["names_reused"] is False
    left = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'offre_link_%'"
    ).fetchall()
    assert left == [(0,)]


def test_an_offer_in_a_new_departement_rebuilds_the_names(
    keyed: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The names cover the départements with offers: an offer elsewhere, the same month,
    needs the names of its département."""
    keyed.execute(  # in the stock from the start, in a département without offers yet
        "INSERT INTO etablissement VALUES ('44306184100047', '443061841', '28085', '28', "
        "'4520A', DATE '2020-01-01', NULL, 'GARAGE DES PRES', NULL, 'A', '11')"
    )
    link_offers(keyed, "night-1", workers=1)
    chartres = offer("chartres", "Garage des Prés", commune="28085", secteur="45")
    f = tmp_path / "chartres.jsonl"
    f.write_text("\n".join(json.dumps(o) for o in [*OFFERS, chartres]), "utf-8")
    load_offres(keyed, f)
    counts = link_offers(keyed, "night-2", workers=1)
    assert counts["names_reused"] is False
    assert ("chartres", "44306184100047") in {r[:2] for r in links(keyed)}


def test_a_build_that_fails_half_way_is_not_reused(
    keyed: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The names are built in slices; a build that fails after its first slice leaves a
    table no key vouches for, which the next linking rebuilds."""
    import ciblage.linking as linking

    link_offers(keyed, "night-1", workers=1)
    good = links(keyed)
    record_sirene_loads(keyed, "v2")  # a new stock: the names must be rebuilt
    monkeypatch.setattr(linking, "NAMES_SLICE_ESTABLISHMENTS", 3)  # 8 establishments
    real = linking_names.run_sql_file
    calls: list[int] = []

    def second_slice_fails(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(linking_names, "run_sql_file", second_slice_fails)
    with pytest.raises(RuntimeError, match="disk full"):
        link_offers(keyed, "night-2", workers=1)
    assert keyed.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [KEY_TABLE]
    ).fetchall() == [(0,)]
    monkeypatch.undo()
    # back on the first stock: the half-built table was not vouched for, so it is rebuilt
    keyed.execute("DELETE FROM source_load WHERE fingerprint LIKE '%v2%'")
    assert link_offers(keyed, "night-3", workers=1)["names_reused"] is False
    assert links(keyed) == good


def test_names_are_each_establishments_distinct_normalised_names(tmp_path: Path) -> None:
    """One row per (establishment in scope, distinct normalised name), whatever the slices:
    the SQL keeps a name only when it differs from the row's earlier ones; here the same
    rows are derived in Python from the raw names."""
    from ciblage.company_names import install_macro, normalise_name
    from ciblage.linking import _siret_links

    con = linking_warehouse(tmp_path)
    extra = [  # siret, siren, commune, closed, enseigne, denomination_usuelle
        ("55210055400039", "552100554", "45234", None, "[ND]", "Boulangerie Martin S.A.R.L."),
        ("55210055400047", "552100554", "45234", None, "B. MARTIN", "b martin"),
        ("40483304800036", "404833048", "45234", "2024-01-31", "LEROY", None),  # closed long ago
        ("99999999900015", "999999999", "45234", None, "SAS", None),  # a legal form only
    ]
    for siret, siren, com, closed, ens, den in extra:
        con.execute(
            "INSERT INTO etablissement VALUES (?, ?, ?, '45', '4711A', DATE '2000-01-01', ?,"
            " ?, ?, ?, 'NN')",
            [siret, siren, com, closed, ens, den, "F" if closed else "A"],
        )
    # a unit with a denomination and a person's names, one of them hidden by INSEE
    con.execute("INSERT INTO unite_legale VALUES ('999999999', 'MARTIN', 'MARTIN', '[ND]')")
    install_macro(con)
    _siret_links(con)
    run_sql_file(con, "offre_link_query")
    since = date(2026, 3, 1)
    rows = con.execute(
        "SELECT e.siret, e.date_fermeture, e.enseigne, e.denomination_usuelle, u.denomination,"
        " u.prenom, u.nom FROM etablissement e LEFT JOIN unite_legale u USING (siren)"
    ).fetchall()
    expected = set()
    for siret, closed, *raw in rows:
        if closed is not None and closed < since:
            continue
        ens, den_u, den, prenom, nom = (None if v == "[ND]" else v for v in raw)
        person = " ".join(v for v in (prenom, nom) if v) or None
        for name in (ens, den_u, den, person):
            norm = normalise_name(name) if name else None
            if norm:
                expected.add((siret, norm))
    assert ("99999999900015", "MARTIN") in expected and len(expected) > 10
    for slice_size in (100, 3):
        linking_names.build_names(con, since, slice_size)
        got = con.execute(f"SELECT siret, name_norm FROM {NAMES_TABLE}").fetchall()
        assert len(got) == len(set(got))  # no establishment holds a name twice
        assert set(got) == expected
