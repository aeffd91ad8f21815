from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ciblage.followup.ledger import import_promotions
from ciblage.followup.refresh import build_derived

from .ledgers import SIRET_A, SIRET_B, SIRET_C, promo_rows, settings_for, write_csv

PROMOS = [
    ("15/06/2026", "45A", SIRET_A, "M1607", ""),
    ("15/06/2026", "45A", SIRET_B, "M1607", ""),
    ("15/06/2026", "45A", SIRET_C, "M1607", ""),
]


def outcomes(con: duckdb.DuckDBPyConnection, tmp_path: Path, followup: str = "") -> dict:
    import_promotions(con, write_csv(tmp_path / "suivi.csv", promo_rows(PROMOS)))
    build_derived(con, settings_for(tmp_path, "2026-11-01", followup))
    rows = con.execute(
        "SELECT p.siret, o.possible_success, o.success_source FROM promotion_outcome o "
        "JOIN promotion p USING (promotion_id)"
    ).fetchall()
    return {siret: (ok, src) for siret, ok, src in rows}


@pytest.fixture()
def data(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute(
        "CREATE TABLE hires_siret (siret VARCHAR, mois DATE, code_rome VARCHAR, "
        "nombre_embauches INTEGER)"
    )
    con.execute(
        "INSERT INTO hires_siret VALUES "
        f"('{SIRET_A}', '2026-06-01', 'K2204', 1),"  # same month, other ROME
        f"('{SIRET_B}', '2026-10-01', 'M1607', 2),"  # after the 3-month window
        f"('{SIRET_B}', '2026-05-01', 'M1607', 2)"  # before the promotion
    )
    con.execute("CREATE TABLE offre (offre_id VARCHAR, date_creation TIMESTAMP, code_rome VARCHAR)")
    con.execute("CREATE TABLE offre_siret_link (offre_id VARCHAR, siret VARCHAR)")
    con.execute(
        "INSERT INTO offre VALUES ('o1', '2026-09-14 10:00', 'M1607'), "
        "('o2', '2026-06-10 10:00', 'M1607'), ('o3', '2026-09-15 09:00', 'M1607')"
    )
    con.execute(
        f"INSERT INTO offre_siret_link VALUES ('o1', '{SIRET_C}'), ('o2', '{SIRET_B}'), "
        f"('o3', '{SIRET_B}')"
    )
    return con


def test_hires_and_linked_offers_within_three_months(
    data: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    assert outcomes(data, tmp_path) == {
        SIRET_A: (True, "hires_siret"),
        SIRET_B: (False, None),  # hire too late/early, offer before or on the window end
        SIRET_C: (True, "offre"),  # offer 14/09, window ends 15/09
    }


def test_same_rome_option(data: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    got = outcomes(data, tmp_path, "outcome_same_rome = true")
    assert got[SIRET_A] == (False, None) and got[SIRET_C] == (True, "offre")


def test_without_hires_or_offers_tables(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    assert set(outcomes(con, tmp_path).values()) == {(False, None)}
