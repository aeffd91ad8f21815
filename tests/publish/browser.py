"""Helpers to check generated pages in a real headless Chromium, and to scan outputs.

Reusable by other areas' tests (the follow-up impact report):

    from tests.publish.browser import chromium_page
    with chromium_page() as page:
        page.goto(path.as_uri())
        assert "Taux" in page.inner_text("body")

`chromium_page` fails the test if a page asks for anything but local files (the site
must work on an agency workstation with no network).
"""

from __future__ import annotations

import asyncio
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

CHROMIUM = "/usr/bin/chromium"
TILES = re.compile(r"^https://tile\.openstreetmap\.org/")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@contextmanager
def no_stale_event_loop() -> Iterator[None]:
    """Let Playwright's sync API start after Prefect ran flows in this process.

    A test function never runs inside an event loop, but a library used earlier in the
    session (Prefect's sync bridges) can leave the main thread marked as running one, and
    Playwright then refuses to start. Clear that stale mark while the browser is in use.
    """
    stale = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(stale)


@contextmanager
def chromium_page(viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """A Playwright page; JS errors and non-file requests fail at exit."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    remote: list[str] = []
    with no_stale_event_loop(), _playwright_page(sync_playwright, viewport, errors, remote) as page:
        yield page
    assert not errors, f"JavaScript errors: {errors}"
    assert not remote, f"pages requested the network: {remote[:5]}"


@contextmanager
def _playwright_page(
    sync_playwright: Any, viewport: dict[str, int] | None, errors: list[str], remote: list[str]
) -> Iterator[Any]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=viewport or {"width": 1300, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            local = ("file:", "data:", "about:")
            # background map tiles are the one thing a page may ask the network for (when
            # online); here they are refused, so the maps are tested as offline
            page.route(TILES, lambda route: route.abort())
            page.on(
                "request",
                lambda req: (
                    None
                    if req.url.startswith(local) or TILES.match(req.url)
                    else remote.append(req.url)
                ),
            )
            yield page
        finally:
            browser.close()


def _texts(path: Path) -> Iterator[str]:
    """Every piece of text a file holds (XLSX: every XML part; Parquet: every cell)."""
    suffix = path.suffix.lower()
    if suffix in (".png", ".jpg", ".svg.gz"):
        return
    if suffix in (".xlsx", ".zip"):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                yield zf.read(name).decode("utf-8", errors="replace")
    elif suffix == ".parquet":
        df = pl.read_parquet(path)
        for col in df.columns:
            yield "\n".join(str(v) for v in df[col].to_list())
    else:
        yield path.read_bytes().decode("utf-8", errors="replace")


def find_in_outputs(root: Path, needles: Iterable[str]) -> list[tuple[str, str]]:
    """(file, needle) for every needle found in any file under root."""
    wanted = [n for n in needles if n]
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        for text in _texts(path):
            hits += [(str(path.relative_to(root)), n) for n in wanted if n in text]
    return sorted(set(hits))
