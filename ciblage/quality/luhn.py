"""Luhn validation of SIREN / SIRET identifiers, scalar and vectorised.

Great Expectations has no Luhn expectation, and a Python loop over 43 M SIRETs would
dominate the validation time, so the vectorised form works on a (rows × digits) uint8
matrix. La Poste's establishments (SIREN 356000000) are numbered outside the Luhn scheme:
INSEE accepts them when the sum of the SIRET's digits is a multiple of 5 (the head
office, 35600000000048, also passes the plain Luhn test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ciblage.siret import LA_POSTE_SIREN, siret_ok


def _luhn_ok(digits: np.ndarray) -> np.ndarray:
    """Luhn over a (n, width) matrix of digits: doubles every second digit from the right."""
    width = digits.shape[1]
    doubled = (width - 1 - np.arange(width)) % 2 == 1
    values = digits.astype(np.int16)
    values[:, doubled] *= 2
    values[values > 9] -= 9
    return values.sum(axis=1) % 10 == 0


def is_valid_siret(value: str | None) -> bool:
    """True for a 14-digit SIRET (or 9-digit SIREN) that passes the INSEE checksum."""
    return siret_ok(value)


def luhn_valid(values: pd.Series) -> pd.Series:
    """Per value: True/False for SIREN (9 digits) or SIRET (14 digits), NA for nulls.

    Anything that is not 9 or 14 ASCII digits is False: a malformed identifier cannot
    carry a valid checksum, and the format check reports it separately anyway.
    """
    s = values.astype("string")
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    notnull = s.notna()
    out[notnull] = False
    for width in (9, 14):
        mask = (notnull & s.str.fullmatch(f"[0-9]{{{width}}}")).fillna(False).to_numpy(bool)
        if not mask.any():
            continue
        sub = s[mask]
        raw = "".join(sub.tolist()).encode("ascii")
        digits = (np.frombuffer(raw, dtype=np.uint8).reshape(-1, width) - 48).astype(np.uint8)
        ok = _luhn_ok(digits)
        if width == 14:
            la_poste = sub.str.startswith(LA_POSTE_SIREN).to_numpy(bool)
            if la_poste.any():
                ok[la_poste] |= digits[la_poste].sum(axis=1) % 5 == 0
        out[mask] = ok
    return out
