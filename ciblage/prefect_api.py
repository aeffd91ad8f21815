"""Prefect's temporary API server, started early: it boots while the command imports.

Why: without a Prefect server configured, Prefect starts a temporary one (a uvicorn
subprocess serving its API on a local SQLite database) at the first API call, inside the
flow, after the command has imported Prefect, polars and scikit-learn. `ciblage rerun`
thus paid the imports, then the server's start-up, one after the other. Here a pipeline
command spawns the very same server (the command Prefect's `SubprocessASGIServer` runs:
uvicorn on `prefect.server.api.server:create_app`, UI off, ephemeral services) as soon as
its inputs are checked, and points `PREFECT_API_URL` at it before Prefect is imported, so
that the server boots on the other core while the main process imports. Prefect then
uses it like any API; the flow runs and their logs land in the same database. The command
stops it at its end, as Prefect stops its own (and at exit, as a safety net).

Nothing is started when `PREFECT_API_URL` is already set (a real server: deployments,
`prefect server start`), when the ephemeral mode is disabled, or when Prefect is already
imported in this process (tests driving the CLI in-process): Prefect then does as usual.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

API_URL_ENV = "PREFECT_API_URL"


class EarlyServer:
    """A Prefect API server subprocess this command started and will stop."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process, self.port = process, port
        self.api_url = f"http://127.0.0.1:{port}/api"

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Block until the API answers /health (seconds waited); the caller's flows need it.

        Raises RuntimeError when the server exits or does not answer within `timeout`
        (`PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`, as for Prefect's own).
        """
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Prefect's temporary server on port {self.port} exited with code "
                    f"{self.process.returncode} before answering"
                )
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return time.monotonic() - start
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Prefect's temporary server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """Terminate the server (idempotent), as Prefect's `SubprocessASGIServer.stop`."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_current: dict[str, EarlyServer | None] = {"server": None}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prefect_dir() -> Path | None:
    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def start_early() -> EarlyServer | None:
    """Spawn the temporary server now and point Prefect at it (see the module docstring)."""
    if _current["server"] is not None:
        return _current["server"]
    if os.environ.get(API_URL_ENV) or "prefect" in sys.modules:
        return None
    if os.environ.get("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "true").lower() in ("0", "false"):
        return None
    prefect_dir = _prefect_dir()
    if prefect_dir is None:
        return None
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(prefect_dir.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    server = EarlyServer(process, port)
    os.environ[API_URL_ENV] = server.api_url
    _current["server"] = server
    atexit.register(server.stop)
    return server


def wait_ready() -> None:
    """Before the first flow: the early server, if any, must answer."""
    server = _current["server"]
    if server is not None:
        timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 300))
        server.wait_ready(timeout)


def stop() -> None:
    """Stop the early server, if any (after the logs and events were sent to it)."""
    server = _current["server"]
    if server is not None:
        server.stop()
