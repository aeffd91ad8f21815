"""The SIREN / SIRET checksum in its three implementations, on the same cases.

Scalar (`ciblage.siret.siret_ok`: ledgers, linking), vectorised (`ciblage.quality.luhn.
luhn_valid`: the quality gate over millions of rows) and SQL (`siret_ok` / `siren_ok`
macros of `ciblage.ingest.rules`: the row rules that quarantine). La Poste's "digit sum
multiple of 5" exception belongs to SIREN 356000000 only: a SIRET of another company whose
digits add up to a multiple of 5 but whose Luhn key is wrong must be refused by all three.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pandas as pd
import pytest

from ciblage.followup.fields import siret_luhn_ok
from ciblage.ingest.rules import install_macros
from ciblage.quality.luhn import is_valid_siret, luhn_valid
from ciblage.siret import LA_POSTE_SIREN, luhn_ok, siret_ok

SIRETS = [
    ("73282932000074", True),  # a real SIRET
    ("73282932000075", False),  # one digit changed
    ("73282932000013", False),  # digit sum 40, multiple of 5, not La Poste: Luhn decides
    ("13560000000000", False),  # digit sum 20, holds 356000000 but not as its SIREN
    ("35600000100000", False),  # digit sum 15, SIREN 356000001: not La Poste
    ("35600000000048", True),  # La Poste head office: plain Luhn
    ("35600000000051", True),  # La Poste establishment: digit sum 20
    ("35600000000052", False),  # La Poste, digit sum 21
    ("35600000000101", False),  # La Poste, digit sum 16
    ("55555555555553", True),  # every doubled digit is a 5 (5 * 2 - 9 = 1)
    ("55555555555554", False),
    ("12345678901237", True),
    ("99999999999993", True),
    ("7328293200007", False),  # 13 digits
    ("732829320000740", False),  # 15 digits
    ("7328293200007A", False),
    ("3560000000005A", False),
    ("", False),
]
SIRENS = [
    ("732829320", True),
    ("732829321", False),
    ("356000000", True),  # La Poste's SIREN: plain Luhn
    ("505050500", True),
    ("555555556", True),
    ("555555555", False),  # digit sum 45: the La Poste rule is for SIRETs only
    ("35600000", False),
]


def _sql(values: list[str | None], macro: str) -> list[bool]:
    con = duckdb.connect()
    install_macros(con)
    con.execute("CREATE TABLE t (i INTEGER, s VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    return [r[0] for r in con.execute(f"SELECT {macro}(s) FROM t ORDER BY i").fetchall()]


def _vectorised(values: list[str | None]) -> list[bool]:
    return [bool(v) for v in luhn_valid(pd.Series(values, dtype="object")).fillna(False)]


IMPLEMENTATIONS: dict[str, Callable[[list[str | None]], list[bool]]] = {
    "scalar": lambda vs: [siret_ok(v) for v in vs],
    "is_valid_siret": lambda vs: [is_valid_siret(v) for v in vs],
    "vectorised": _vectorised,
    "sql": lambda vs: _sql(vs, "siret_ok"),
}


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize(("siret", "ok"), SIRETS)
def test_siret_one_by_one(impl: str, siret: str, ok: bool) -> None:
    assert IMPLEMENTATIONS[impl]([siret]) == [ok]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_siret_in_one_batch(impl: str) -> None:
    """Mixed in one batch, as the vectorised and SQL forms see them: La Poste rows must not
    lend their exception to the others."""
    values = [s for s, _ in SIRETS]
    assert IMPLEMENTATIONS[impl](values) == [ok for _, ok in SIRETS]


def test_non_la_poste_multiple_of_5_in_a_batch_without_la_poste() -> None:
    values = ["73282932000013", "73282932000074"]
    assert _vectorised(values) == [False, True]
    assert _sql(values, "siret_ok") == [False, True]


@pytest.mark.parametrize(("siren", "ok"), SIRENS)
def test_siren(siren: str, ok: bool) -> None:
    assert siret_ok(siren) is ok
    assert _vectorised([siren]) == [ok]
    if len(siren) == 9:
        assert _sql([siren], "siren_ok") == [ok]
        assert luhn_ok(siren) is ok  # for a SIREN the Luhn key is the whole rule


def test_nulls_and_non_ascii_digits() -> None:
    fullwidth = "".join(chr(0xFF10 + int(c)) for c in "73282932000074")  # '７３２…'
    assert not siret_ok(None) and not siret_ok(fullwidth)
    assert not luhn_ok("7328293200007A")
    got = luhn_valid(pd.Series([None, fullwidth, "73282932000074"], dtype="object"))
    assert got.dtype == "boolean"  # nullable booleans, what the expectations read
    assert got.iloc[0] is pd.NA and not got.iloc[1] and got.iloc[2]
    assert _sql([None, fullwidth], "siret_ok") == [False, False]
    assert _sql([None], "siren_ok") == [False]


def test_ledger_check_wants_a_siret() -> None:
    assert siret_luhn_ok("35600000000051") and siret_luhn_ok("73282932000074")
    assert not siret_luhn_ok("73282932000013")
    assert not siret_luhn_ok("732829320")  # a SIREN is not a SIRET here


def test_la_poste_siren() -> None:
    assert LA_POSTE_SIREN == "356000000"


def test_sql_agrees_with_the_scalar_checksum_on_random_identifiers() -> None:
    """The SQL macros read the number two digits at a time (`rules._luhn_sum`): every
    position's doubling must match the scalar digit-by-digit rule, valid keys and not, on
    SIRETs (La Poste's included) and SIRENs."""
    import random

    rng = random.Random(7)
    sirets = [f"{rng.randrange(10**14):014d}" for _ in range(4000)]
    sirets += [LA_POSTE_SIREN + f"{rng.randrange(10**5):05d}" for _ in range(500)]
    # one valid key per body, so that about half of them pass
    sirets += [
        next(b + str(k) for k in range(10) if siret_ok(b + str(k)))
        for b in (f"{rng.randrange(10**13):013d}" for _ in range(2000))
    ]
    sirens = [f"{rng.randrange(10**9):09d}" for _ in range(4000)]
    sirens += [
        next(b + str(k) for k in range(10) if luhn_ok(b + str(k)))
        for b in (f"{rng.randrange(10**8):08d}" for _ in range(2000))
    ]
    assert _sql(sirets, "siret_ok") == [siret_ok(s) for s in sirets]
    assert _sql(sirens, "siren_ok") == [luhn_ok(s) for s in sirens]
    assert 0.3 < sum(map(siret_ok, sirets)) / len(sirets) < 0.6
