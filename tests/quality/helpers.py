"""Constants and types shared by the quality tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

# Real SIRETs: Luhn-valid (La Poste's head office and an establishment numbered with the
# "sum of digits multiple of 5" rule), and the same with one digit changed.
VALID_SIRETS = ["73282932000074", "35600000000048", "35600000000051", "44306184100047"]
INVALID_SIRET = "73282932000075"

# make_table({"col": [values...]}, name="stg") -> table name, every column VARCHAR
MakeTable = Callable[..., str]
