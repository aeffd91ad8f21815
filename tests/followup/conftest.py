"""Fixtures of the follow-up tests; ledger-writing helpers live in `ledgers.py`."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from tests.publish.browser import no_stale_event_loop


@pytest.fixture()
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(":memory:")
    yield c
    c.close()


@pytest.fixture(scope="session")
def chromium():  # noqa: ANN201
    """Headless Chromium from the Debian package (the lists' browser test uses the same)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with no_stale_event_loop(), sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()
