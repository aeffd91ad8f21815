"""Fixtures of the follow-up tests; ledger-writing helpers live in `ledgers.py`."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest


@pytest.fixture()
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(":memory:")
    yield c
    c.close()
