"""Fixtures of the offers tests (helpers in tests/offers/helpers.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from .helpers import FakeApi, make_handler


@pytest.fixture()
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi(offers=[])
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
