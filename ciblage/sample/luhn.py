"""SIREN/SIRET identifiers with valid Luhn keys (and deliberately broken ones)."""

from __future__ import annotations

import numpy as np

from ciblage.siret import luhn_ok


def luhn_valid(digits: str) -> bool:
    """True when `digits` passes the Luhn check used by SIREN and SIRET."""
    return luhn_ok(digits)


def complete(prefix: str) -> str:
    """`prefix` plus the one check digit that makes it Luhn-valid."""
    total = 0
    for i, ch in enumerate(reversed(prefix)):  # the key will sit at position 0
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return prefix + str((10 - total % 10) % 10)


def make_siren(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        siren = complete(f"{int(rng.integers(30_000_000, 99_999_999)):08d}")
        if siren not in used:
            used.add(siren)
            return siren


def make_siret(siren: str, rank: int) -> tuple[str, str]:
    """(siret, nic) of the `rank`-th establishment: NIC = 4-digit rank + Luhn key."""
    siret = complete(f"{siren}{rank:04d}")
    return siret, siret[9:]


def break_key(siret: str) -> str:
    """The same SIRET with a wrong last digit (fails Luhn), as a mistyped offer has it."""
    last = int(siret[-1])
    for delta in (1, 3, 7):
        candidate = siret[:-1] + str((last + delta) % 10)
        if not luhn_valid(candidate):
            return candidate
    raise AssertionError("unreachable")
