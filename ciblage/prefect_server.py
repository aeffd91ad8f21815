"""The local Prefect API server process that `ciblage` commands share, and its idle stop.

Why: Prefect's temporary server spends about 9 CPU-seconds importing its API (pydantic
schemas, SQLAlchemy models) before it answers, on every command: the largest part of a
territory rerun on the sample. `ciblage.prefect_api` therefore starts this process
detached and lets the next commands reuse it; the server stops itself once no request
and no connection has come for `--idle` seconds, so no one has a server to start or to
stop by hand, and none lingers for long.

Run as `python -m ciblage.prefect_server --fd N --idle S --state FILE --app MODULE:FACTORY`
(the factory is Prefect's `create_app` in production; tests pass a small one). It serves
the app with uvicorn, counts open connections and the last request, and when idle it
takes the state file's lock, checks the file was not claimed meanwhile (a command that
picks this server touches the file under that lock), removes the file and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import importlib
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


PREFECT_APP = "prefect.server.api.server:create_app"


def lock_file(state: Path) -> Path:
    return state.with_name(state.name + ".lock")


@contextmanager
def record_lock(state: Path) -> Iterator[None]:
    """The lock that serialises picking, starting and retiring the shared server."""
    fd = os.open(lock_file(state), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class IdleWatch:
    """ASGI wrapper: the app, plus when it was last used and how many connections are open.

    An open connection (Prefect's events websocket during a long stage) counts as use, so
    a server is never retired under a running command.
    """

    def __init__(self, app: ASGIApp, on_shutdown: Callable[[], None] | None = None) -> None:
        self.app, self.open, self.last = app, 0, time.monotonic()
        self.on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            try:
                await self.app(scope, receive, send)
            finally:
                # the app's lifespan ends with the server: the last moment this process
                # surely runs (uvicorn re-raises a SIGTERM it caught once it has shut down)
                if self.on_shutdown is not None:
                    self.on_shutdown()
            return
        self.open += 1
        self.last = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.last = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.open else time.monotonic() - self.last


def retire_if_idle(state: Path, watch: IdleWatch, idle: float) -> bool:
    """True when this server may stop: idle for `idle` s, and its state file unclaimed.

    Under the lock, a command picking this server has touched the state file: a touch
    newer than `idle` seconds keeps it. When retiring, the state file is removed (if it is
    still this server's) so that no command picks a server that is going away.
    """
    if watch.idle_for() < idle:
        return False
    with record_lock(state):
        try:
            info = json.loads(state.read_text())
            claimed = time.time() - state.stat().st_mtime
        except (OSError, ValueError):
            return True  # no state (removed by hand, or another server's): just stop
        if info.get("pid") != os.getpid():
            return True
        if claimed < idle:
            return False
        state.unlink(missing_ok=True)
        return True


def serve(app: ASGIApp, fd: int, state: Path | None, idle: float) -> None:
    """Serve `app` on the listening socket `fd` until signalled, or (with a state file)
    until idle (see `retire_if_idle`).

    The socket is bound by the command that starts the server and inherited: its port is
    known (and reserved) before this process has even imported Prefect, so two servers
    started at the same moment can never be handed the same free port.
    """
    import socket

    import uvicorn

    sock = socket.socket(fileno=fd)
    watch = IdleWatch(app, on_shutdown=(lambda: _forget(state)) if state is not None else None)
    server = uvicorn.Server(uvicorn.Config(watch, log_level="error", lifespan="on"))
    tick = max(0.2, min(30.0, idle / 4))

    async def main() -> None:
        async def watchdog() -> None:
            while not server.should_exit:
                await asyncio.sleep(tick)
                if await asyncio.to_thread(retire_if_idle, state, watch, idle):
                    server.should_exit = True

        task = asyncio.create_task(watchdog()) if state is not None else None
        try:
            await server.serve(sockets=[sock])
        finally:
            if task is not None:
                task.cancel()

    asyncio.run(main())


def _forget(state: Path) -> None:
    try:
        if json.loads(state.read_text()).get("pid") == os.getpid():
            state.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


def _factory(spec: str) -> ASGIApp:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, required=True, help="inherited listening socket")
    parser.add_argument("--state", type=Path, help="shared: its record")
    parser.add_argument("--idle", type=float, default=0.0, help="seconds, with --state")
    parser.add_argument("--app", default=PREFECT_APP)
    args = parser.parse_args(argv)
    serve(_factory(args.app), args.fd, args.state, args.idle)


if __name__ == "__main__":
    main()
