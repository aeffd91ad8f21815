"""Linking offers to establishments on a tiny hand-made warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ciblage.company_names import normalise_name, normalise_names
from ciblage.linking import link_offers, valid_sirets

from .linking_world import linking_warehouse


@pytest.fixture()
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return linking_warehouse(tmp_path)


def test_link_offers(warehouse: duckdb.DuckDBPyConnection) -> None:
    counts = link_offers(warehouse, "run-test", workers=1)
    links = {
        r[0]: r[1:]
        for r in warehouse.execute(
            "SELECT offre_id, siret, method, confidence FROM offre_siret_link"
        ).fetchall()
    }
    assert links["siret"] == ("73282932000082", "siret", 1.0)
    assert links["poste"] == ("35600000049837", "siret", 1.0)
    assert links["exact"] == ("55210055400013", "entity_resolution", 1.0)
    # Right name in another commune: the enseigne's establishment there.
    assert links["enseigne"][0] == "55210055400021"
    # A mistyped SIRET falls back to the name, which resolves in the offer's commune.
    assert links["badkey"][:2] == ("73282932000074", "entity_resolution")
    # The site closed in 2025 is not a candidate for a 2026 offer; the new one is.
    assert links["person"][0] == "40483304800028"
    assert links["fallback"][0] in ("73282932000074", "73282932000082")
    assert links["fallback"][2] < 1.0  # other commune costs confidence
    assert links["asso"][0] == "13000548100010"
    for oid in ("noname", "blank", "nomatch"):
        assert oid not in links
    assert counts["offers"] == 11
    assert counts["siret"] == 2 and counts["entity_resolution"] == 6
    assert counts["unlinked_no_name"] == 2 and counts["unlinked_no_match"] == 1
    assert counts["siret_given"] == 3 and counts["siret_invalid"] == 1
    assert all(0 < c <= 1 for _, _, c in links.values())
    # Counted in the run ledger; working tables cleaned up.
    ledger = warehouse.execute(
        "SELECT rows_in, rows_out FROM run_ledger WHERE step = 'offre_siret_link'"
    ).fetchall()
    assert ledger == [(11, 8)]
    left = warehouse.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'offre_link_%'"
    ).fetchone()
    assert left == (0,)


def test_rerun_is_deterministic(warehouse: duckdb.DuckDBPyConnection) -> None:
    link_offers(warehouse, "run-1", workers=1)
    first = warehouse.execute("SELECT * FROM offre_siret_link ORDER BY offre_id").fetchall()
    link_offers(warehouse, "run-2", workers=1)
    assert warehouse.execute("SELECT * FROM offre_siret_link ORDER BY offre_id").fetchall() == first


def test_names_built_in_slices_give_the_same_links(
    warehouse: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nationally the establishments' names are normalised in slices (all at once ran out
    of memory); the links must not depend on the slicing."""
    import ciblage.linking as linking
    import ciblage.linking_names as linking_names

    statements: list[int] = []
    real = linking_names.run_sql_file

    def spy(con, name, params=None, **kw):  # type: ignore[no-untyped-def]
        statements.append(name == "offre_link_name")
        return real(con, name, params, **kw)

    monkeypatch.setattr(linking_names, "run_sql_file", spy)
    link_offers(warehouse, "run-1", workers=1)
    whole = warehouse.execute("SELECT * FROM offre_siret_link ORDER BY offre_id").fetchall()
    assert sum(statements) == 1
    monkeypatch.setattr(linking, "NAMES_SLICE_ESTABLISHMENTS", 3)  # 8 establishments
    link_offers(warehouse, "run-2", workers=1)
    assert sum(statements) == 1 + 3
    assert warehouse.execute("SELECT * FROM offre_siret_link ORDER BY offre_id").fetchall() == whole
    assert len(whole) == 8


def test_threshold_controls_entity_resolution(warehouse: duckdb.DuckDBPyConnection) -> None:
    counts = link_offers(warehouse, "run-strict", min_confidence=0.999, workers=1)
    assert counts["siret"] == 2
    methods = warehouse.execute(
        "SELECT DISTINCT method FROM offre_siret_link WHERE confidence < 0.999"
    ).fetchall()
    assert methods == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SARL Électricité d'Orléans & Fils", "ELECTRICITE ORLEANS FILS"),
        ("S.A.R.L. DUPONT", "DUPONT"),
        ("ETS. MARTIN", "MARTIN"),
        ("Boulangerie-Martin SAS", "BOULANGERIE MARTIN"),
        ("Ste Transp. St Jean", "TRANSPORTS SAINT JEAN"),
        ("L'ŒUVRE SOCIALE", "OEUVRE SOCIALE"),
        ("SAS", None),
        ("  ", None),
        (None, None),
        ("Groupe ABC (Établissements Dupont)", "ABC DUPONT"),
        # punctuation at either end and runs of it: the words only
        ("--Dupont,, &  Fils!!", "DUPONT FILS"),
        ("A.B.C. Conseil", "ABC CONSEIL"),
        ("Boulangerie.Martin", "BOULANGERIE MARTIN"),
    ],
)
def test_normalise_name(raw: str | None, expected: str | None) -> None:
    assert normalise_name(raw) == expected


def test_normalise_names_vectorised_and_in_sql() -> None:
    values = ["Sarl Dupont", None, "Société Générale"]
    assert normalise_names(values).to_pylist() == ["DUPONT", None, "GENERALE"]
    from ciblage.company_names import install_macro

    con = duckdb.connect()
    install_macro(con)
    install_macro(con)  # idempotent
    got = con.execute(
        "SELECT ciblage_normalise_name(x) FROM (VALUES ('Sarl Dupont'), (NULL)) t(x)"
    ).fetchall()
    assert got == [("DUPONT",), (None,)]


def test_valid_sirets() -> None:
    s = pd.Series(
        ["73282932000074", "73282932000075", "35600000049837", "35600000049838",
         "732829320", "7328293200007A", None, "00000000000007"],
        dtype="string",
    )  # fmt: skip
    assert valid_sirets(s).tolist() == [True, False, True, False, False, False, False, False]


def test_no_offers_gives_an_empty_link_table(warehouse: duckdb.DuckDBPyConnection) -> None:
    warehouse.execute("DELETE FROM offre")
    counts = link_offers(warehouse, "run-empty", workers=1)
    assert counts["offers"] == 0 and counts["siret"] == counts["entity_resolution"] == 0
    assert warehouse.execute("SELECT count(*) FROM offre_siret_link").fetchall() == [(0,)]
