"""The NAF x ROME prior weight is read from how establishments really mix their trades."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest

from scoring.rome_mix import W_GRID, fit_concentration

T = date(2026, 1, 1)
ROMES = ("A1101", "B1101", "C1101", "D1101")
SHARES = (0.4, 0.3, 0.2, 0.1)


def _warehouse(
    rng: np.random.Generator, specialised: bool, n_etab: int = 200
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE ref_naf_rome (naf_code VARCHAR, code_rome VARCHAR, share_of_naf DOUBLE)"
    )
    con.executemany(
        "INSERT INTO ref_naf_rome VALUES ('5610A', ?, ?)", list(zip(ROMES, SHARES, strict=True))
    )
    con.execute("CREATE TABLE etablissement (siret VARCHAR, naf_code VARCHAR)")
    con.execute(
        "CREATE TABLE hires_siret (siret VARCHAR, mois DATE, code_rome VARCHAR, "
        "nombre_embauches INTEGER)"
    )
    con.execute("CREATE TABLE offre (offre_id VARCHAR, date_creation TIMESTAMP, code_rome VARCHAR)")
    con.execute("CREATE TABLE offre_siret_link (offre_id VARCHAR, siret VARCHAR)")
    rows = []
    for i in range(n_etab):
        siret = f"{i:014d}"
        con.execute("INSERT INTO etablissement VALUES (?, '5610A')", [siret])
        n = int(rng.integers(3, 30))
        p = np.eye(4)[rng.choice(4, p=SHARES)] if specialised else np.array(SHARES)
        for rome, x in zip(ROMES, rng.multinomial(n, p), strict=True):
            if x:
                rows.append((siret, date(2025, 6, 1), rome, int(x)))
    con.executemany("INSERT INTO hires_siret VALUES (?, ?, ?, ?)", rows)
    return con


def test_establishments_hiring_in_their_sector_mix_get_a_large_weight() -> None:
    con = _warehouse(np.random.default_rng(0), specialised=False)
    assert fit_concentration(con, T, default=5.0) >= 100


def test_specialised_establishments_get_a_small_weight() -> None:
    con = _warehouse(np.random.default_rng(1), specialised=True)
    assert fit_concentration(con, T, default=5.0) <= 1.0


def test_too_little_data_keeps_the_default() -> None:
    con = _warehouse(np.random.default_rng(2), specialised=False, n_etab=10)
    assert fit_concentration(con, T, default=7.0) == 7.0
    assert 7.0 not in W_GRID


@pytest.mark.parametrize("later", [date(2025, 6, 1), date(2025, 5, 15)])
def test_only_the_past_counts(later: date) -> None:
    """Hires dated at or after T (or in the month of T) are not read."""
    con = _warehouse(np.random.default_rng(3), specialised=True)
    w_before = fit_concentration(con, later, default=5.0)
    assert w_before == 5.0  # nothing before that date: default


@pytest.mark.parametrize("specialised", [False, True])
def test_a_large_warehouse_samples_establishments_and_keeps_the_weight(
    specialised: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One establishment in ten chooses the same weight as all of them; one in a hundred
    leaves too few (under MIN_ESTABLISHMENTS) and keeps the default: the sample is real."""
    import scoring.rome_mix as rome_mix

    con = _warehouse(np.random.default_rng(4), specialised=specialised, n_etab=1000)
    whole = fit_concentration(con, T, default=7.0)
    assert whole != 7.0
    monkeypatch.setattr(rome_mix, "SAMPLE_ESTABLISHMENTS", 100)
    assert rome_mix.sample_modulus(con) == 10
    assert fit_concentration(con, T, default=7.0) == whole
    monkeypatch.setattr(rome_mix, "SAMPLE_ESTABLISHMENTS", 10)
    assert fit_concentration(con, T, default=7.0) == 7.0
