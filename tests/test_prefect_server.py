"""The Prefect server `ciblage` commands share: reused while it fits, retired when idle.

These tests serve a tiny ASGI app instead of Prefect's (which takes ~10 s to import):
the sharing, the claim under the lock and the idle stop are the same code.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from pathlib import Path

import pytest

from ciblage import prefect_api
from ciblage.prefect_server import IdleWatch, retire_if_idle

TINY_APP = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"true"})

def create_app():
    return app
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "tiny_asgi.py").write_text(TINY_APP)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setattr(prefect_api, "SERVER_APP", "tiny_asgi:create_app")
    yield tmp_path / "prefect"
    prefect_api.stop_shared()


def _gone(pid: int, within: float) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if not prefect_api._is_server_pid(pid):
            return True
        time.sleep(0.1)
    return False


def test_a_second_command_reuses_the_server_which_retires_once_idle(home: Path) -> None:
    first = prefect_api._shared_server(idle_s=3.0)
    assert first.process is not None  # started by this command
    first.wait_ready(timeout=60)
    state = json.loads(prefect_api.state_file().read_text())
    assert (state["pid"], state["port"]) == (first.pid, first.port)

    second = prefect_api._shared_server(idle_s=3.0)
    assert second.process is None and (second.pid, second.port) == (first.pid, first.port)
    assert second.wait_ready(timeout=10) < 1.0  # already up: answers at once
    with urllib.request.urlopen(f"{second.api_url}/health", timeout=5) as resp:
        assert resp.read() == b"true"

    assert _gone(first.pid, within=30), "the idle server did not stop"
    first.process.wait(timeout=5)
    assert not prefect_api.state_file().exists()
    third = prefect_api._shared_server(idle_s=3.0)  # nothing recorded: a new one
    assert third.process is not None and third.pid != first.pid


def test_servers_started_together_never_share_a_port(home: Path) -> None:
    """Each server inherits a socket bound by its command: no two get the same free port
    (they used to be told a port that was free, then bound it once imported)."""
    servers = []
    for i in range(4):
        os.environ["PREFECT_SERVER_TEST_SHARD"] = str(i)  # four fingerprints, four servers
        try:
            servers.append(prefect_api._shared_server(idle_s=60.0))
        finally:
            del os.environ["PREFECT_SERVER_TEST_SHARD"]
    assert len({s.port for s in servers}) == 4
    for server in servers:
        server.wait_ready(timeout=60)  # every one of them answers on its port
        server.stop()


def test_other_prefect_settings_get_their_own_server(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, first_record = prefect_api._shared_server(idle_s=60.0), prefect_api.state_file()
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", "sqlite+aiosqlite:///other.db")
    other, other_record = prefect_api._shared_server(idle_s=60.0), prefect_api.state_file()
    assert other.process is not None and other.pid != first.pid
    # each keeps its own record: the first one still serves the commands it fits
    assert other_record != first_record and first_record.exists() and other_record.exists()
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "DEBUG")  # client side: no new server
    # (failed once in a loaded full run, not reproduced since: say what the record held)
    before = other_record.read_text() if other_record.exists() else "no record"
    cmdline = Path(f"/proc/{other.pid}/cmdline")
    seen = cmdline.read_bytes()[:80] if cmdline.exists() else b"no /proc entry"
    alive = prefect_api._is_server_pid(other.pid)
    third = prefect_api._shared_server(idle_s=60.0)
    assert third.pid == other.pid, (
        f"record {before!r}, command line {seen!r}, other alive {alive}, "
        f"exit {other.process.poll()}, "
        f"same record file {prefect_api.state_file() == other_record}"
    )
    assert first.process is not None and first.process.poll() is None
    first.wait_ready(timeout=60)
    os.kill(first.pid, 15)
    first.process.wait(timeout=30)
    assert not first_record.exists()  # a server stopped once serving removes its record


def test_a_dead_recorded_server_is_replaced(home: Path) -> None:
    home.mkdir(parents=True)
    prefect_api.state_file().write_text(
        json.dumps({"pid": 999_999_999, "port": 1, "fingerprint": prefect_api.fingerprint()})
    )
    server = prefect_api._shared_server(idle_s=60.0)
    assert server.process is not None and server.pid != 999_999_999


def test_idle_time_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    from ciblage.preflight import UsageError

    monkeypatch.delenv(prefect_api.IDLE_ENV, raising=False)
    assert prefect_api.idle_minutes() == prefect_api.DEFAULT_IDLE_MINUTES
    monkeypatch.setenv(prefect_api.IDLE_ENV, "0,5")
    assert prefect_api.idle_minutes() == 0.5
    for bad in ("quinze", "-1"):
        monkeypatch.setenv(prefect_api.IDLE_ENV, bad)
        with pytest.raises(UsageError, match=prefect_api.IDLE_ENV):
            prefect_api.idle_minutes()


def test_a_claimed_or_busy_server_does_not_retire(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"pid": os.getpid()}))
    watch = IdleWatch(app=None)  # type: ignore[arg-type]
    watch.last -= 100
    assert not retire_if_idle(state, watch, idle=10)  # claimed (touched) 0 s ago
    old = time.time() - 100
    os.utime(state, (old, old))
    watch.open = 1  # a connection open (a long stage's events websocket)
    assert not retire_if_idle(state, watch, idle=10)
    watch.open = 0
    assert retire_if_idle(state, watch, idle=10)
    assert not state.exists()  # no command can pick a server going away
    state.write_text(json.dumps({"pid": os.getpid() + 1}))  # another server recorded
    assert retire_if_idle(state, watch, idle=10) and state.exists()


def test_a_request_in_flight_counts_as_use() -> None:
    seen: list[float] = []

    async def app(scope, receive, send) -> None:
        seen.append(watch.idle_for())

    watch = IdleWatch(app)
    watch.last -= 100
    assert watch.idle_for() >= 100
    loop, stale = asyncio.new_event_loop(), asyncio._get_running_loop()
    asyncio._set_running_loop(None)  # a mark left by Prefect's sync bridge in other tests
    try:
        loop.run_until_complete(watch({"type": "http"}, None, None))
    finally:
        loop.close()
        asyncio._set_running_loop(stale)
    assert seen == [0.0] and watch.idle_for() < 1


def test_a_running_command_keeps_its_quiet_server(home: Path) -> None:
    """No request for longer than the idle time: the command's claim keeps the server."""
    server = prefect_api._shared_server(idle_s=2.0)
    server.wait_ready(timeout=60)
    stop = prefect_api.keep_claimed(server, idle_s=2.0)
    time.sleep(6)
    assert server.alive(), "retired under a running command"
    stop.set()  # the command ended
    assert _gone(server.pid, within=30)
