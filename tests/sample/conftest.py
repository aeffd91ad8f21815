"""Session fixtures: the generated sample's SIRENE rows and offers, read once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_readers import all_offers, read_zip_csv


@pytest.fixture(scope="session")
def etab_rows(sample_dir: Path) -> list[dict[str, str]]:
    _, header, rows = read_zip_csv(sample_dir / "sirene" / "StockEtablissement_utf8.zip", ",")
    return [dict(zip(header, r, strict=True)) for r in rows]


@pytest.fixture(scope="session")
def ul_rows(sample_dir: Path) -> list[dict[str, str]]:
    _, header, rows = read_zip_csv(sample_dir / "sirene" / "StockUniteLegale_utf8.zip", ",")
    return [dict(zip(header, r, strict=True)) for r in rows]


@pytest.fixture(scope="session")
def offers(sample_dir: Path) -> list[dict]:
    return all_offers(sample_dir)
