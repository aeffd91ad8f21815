"""Prefect's API server for `ciblage` commands: started early, and shared between commands.

Why early: without a Prefect server configured, Prefect starts a temporary one (a
uvicorn subprocess serving its API on a local SQLite database) at the first API call,
inside the flow, after the command has imported Prefect, polars and scikit-learn: the
imports, then the server's start-up, one after the other. Here a pipeline command starts
the server (`ciblage.prefect_server`, serving Prefect's `create_app` with the settings
Prefect's `SubprocessASGIServer` uses: UI off, ephemeral services) as soon as its inputs
are checked, and points `PREFECT_API_URL` at it before Prefect is imported, so that the
server boots on the other core while the main process imports.

Why shared: that server spends about 9 CPU-seconds importing Prefect's API before it
answers, more than a territory rerun's own work. So the server is started detached and
recorded in `$PREFECT_HOME/ciblage-server-<digest>.json`; the next command with the same Python,
Prefect version and Prefect settings reuses it, and it stops by itself after
`CIBLAGE_PREFECT_IDLE_MINUTES` (default 15) without a request. `0` restores Prefect's
behaviour: a server per command, stopped at its end. Flow runs and logs land in the same
database (`$PREFECT_HOME`) either way.

Nothing is started when `PREFECT_API_URL` is already set (a real server: deployments,
`prefect server start`), when the ephemeral mode is disabled, or when Prefect is already
imported in this process (tests driving the CLI in-process): Prefect then does as usual.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ciblage.prefect_server import PREFECT_APP, record_lock

API_URL_ENV = "PREFECT_API_URL"
IDLE_ENV = "CIBLAGE_PREFECT_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 15.0
STATE_PREFIX = "ciblage-server-"  # + a digest of the fingerprint + ".json"
SERVER_APP = PREFECT_APP  # what `ciblage.prefect_server` serves


class EarlyServer:
    """A Prefect API server this command started (`process`) or reuses (`pid` only)."""

    def __init__(
        self, port: int, pid: int, process: subprocess.Popen[bytes] | None, state: Path | None
    ) -> None:
        self.port, self.pid, self.process, self.state = port, pid, process, state
        self.shared = state is not None  # recorded in `state`, left for the next command
        self.api_url = f"http://127.0.0.1:{port}/api"

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return _is_server_pid(self.pid)

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Block until the API answers /health (seconds waited); the caller's flows need it.

        Raises RuntimeError when the server exits or does not answer within `timeout`
        (`PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`, as for Prefect's own).
        """
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if not self.alive():
                code = self.process.returncode if self.process is not None else "?"
                raise RuntimeError(
                    f"Prefect's server on port {self.port} exited with code {code} before answering"
                )
            try:
                # the socket is bound from the start: the request waits in its backlog
                # and is answered as soon as the server serves (no polling delay)
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=10) as resp:
                    if resp.status == 200:
                        return time.monotonic() - start
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        if not self.shared:
            self.stop()
        raise RuntimeError(f"Prefect's server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """Terminate the server (idempotent), as Prefect's `SubprocessASGIServer.stop`."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        elif self.process is None and _is_server_pid(self.pid):
            os.kill(self.pid, 15)


_current: dict[str, EarlyServer | None] = {"server": None}


def _listening_socket() -> socket.socket:
    """A socket bound to a free local port and listening, for the server to inherit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _is_server_pid(pid: int, wait_s: float = 0.3) -> bool:
    """The process exists and is a `ciblage.prefect_server` (not a recycled pid).

    A process whose command line does not say so yet is looked at again for up to
    `wait_s`: a server spawned an instant ago can still show its parent's command line
    (between fork and exec) or none, and judging it dead started a second server (seen
    twice in loaded test runs). A recycled pid only costs that wait."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        try:
            if b"ciblage.prefect_server" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:  # no /proc (macOS): trust the pid
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def idle_minutes() -> float:
    """How long a shared server waits for the next command (0: stop with this command)."""
    from ciblage.preflight import UsageError

    raw = os.environ.get(IDLE_ENV, "").strip()
    if not raw:
        return DEFAULT_IDLE_MINUTES
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise UsageError(f"{IDLE_ENV}={raw!r} : nombre de minutes attendu (0 ou plus)")
    return value


def state_file(fp: dict[str, Any] | None = None) -> Path:
    """Where the shared server that fits this command (its `fingerprint`) is recorded:
    beside Prefect's database, one record per fingerprint, so that commands of two
    installs (another virtualenv, another Prefect) sharing a Prefect home each keep
    their own server."""
    home = os.environ.get("PREFECT_HOME") or "~/.prefect"
    fp = fingerprint() if fp is None else fp
    digest = hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()
    return Path(home).expanduser() / f"{STATE_PREFIX}{digest[:12]}.json"


def fingerprint() -> dict[str, Any]:
    """What a reused server must share with this command: a server started by another
    Python, Prefect version or Prefect settings (database, home) is not reused."""
    try:
        version = importlib.metadata.version("prefect")
    except importlib.metadata.PackageNotFoundError:
        version = None
    client_side = ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_LOGGING_", "PREFECT_CLIENT_")
    settings = {
        k: v
        for k, v in os.environ.items()
        if k.startswith("PREFECT_") and not k.startswith(client_side)
    }
    settings = dict(sorted(settings.items()))
    return {"python": sys.executable, "prefect": version, "settings": settings}


def _spawn(state: Path | None, idle_s: float) -> tuple[subprocess.Popen[bytes], int]:
    """Start the server process on a socket bound here (its port is known at once and no
    other server can be given it); returns the process and its port."""
    env = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    env.pop(API_URL_ENV, None)
    with _listening_socket() as sock:
        fd, port = sock.fileno(), int(sock.getsockname()[1])
        command = [sys.executable, "-m", "ciblage.prefect_server", "--fd", str(fd)]
        command += ["--app", SERVER_APP]
        if state is None:  # this command's own server, stopped at its end
            return subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, pass_fds=(fd,)
            ), port
        command += ["--state", str(state), "--idle", str(idle_s)]
        with open(state.with_suffix(".log"), "ab") as log:
            # its own session and no inherited terminal or pipe: it outlives this command
            # without holding a caller's output open (a CI job waiting for EOF)
            process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(fd,),
            )
        return process, port


def _shared_server(idle_s: float) -> EarlyServer:
    """The recorded server if it is alive and fits this command, else a new one recorded.

    Under the state file's lock, which the server also takes before retiring: the touch
    given to a picked server's state tells it a command is coming.
    """
    want = fingerprint()
    state = state_file(want)
    state.parent.mkdir(parents=True, exist_ok=True)
    with record_lock(state):
        recorded = _recorded(state)
        if recorded is not None:
            os.utime(state)
            return recorded
        # none, or a dead one: a new one (the record keeps the fingerprint for a reader)
        process, port = _spawn(state, idle_s)
        info = {"pid": process.pid, "port": port, "started": time.time(), "fingerprint": want}
        state.write_text(json.dumps(info))
        return EarlyServer(port, process.pid, process, state)


def _recorded(state: Path) -> EarlyServer | None:
    """The server recorded in `state`, if it is alive."""
    try:
        info = json.loads(state.read_text())
    except (OSError, ValueError):
        return None
    pid, port = info.get("pid"), info.get("port")
    if isinstance(pid, int) and isinstance(port, int) and _is_server_pid(pid):
        return EarlyServer(port, pid, None, state)
    return None


def keep_claimed(server: EarlyServer, idle_s: float) -> threading.Event:
    """While this command runs, touch the shared server's record every `idle_s / 4`
    (until the returned event is set; the daemon thread ends with the process anyway).

    Why: the server retires after `idle_s` with no request and no open connection; a
    long stage can be quiet that long (a fit that logs nothing, its events socket
    closed). The touch, which `retire_if_idle` reads under the lock, keeps it for the
    command's whole life.
    """
    state, stop = server.state, threading.Event()

    def beat() -> None:
        while state is not None and not stop.wait(max(0.5, idle_s / 4)):
            try:
                if json.loads(state.read_text()).get("pid") == server.pid:
                    os.utime(state)
            except (OSError, ValueError):
                pass

    threading.Thread(target=beat, name="ciblage-prefect-claim", daemon=True).start()
    return stop


def start_early() -> EarlyServer | None:
    """Start (or reuse) the server now and point Prefect at it (see the module docstring)."""
    if _current["server"] is not None:
        return _current["server"]
    if os.environ.get(API_URL_ENV) or "prefect" in sys.modules:
        return None
    if os.environ.get("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "true").lower() in ("0", "false"):
        return None
    if importlib.util.find_spec("prefect") is None:
        return None
    idle_s = idle_minutes() * 60
    if idle_s > 0:
        server = _shared_server(idle_s)
        keep_claimed(server, idle_s)
    else:
        process, port = _spawn(None, 0)
        server = EarlyServer(port, process.pid, process, None)
        atexit.register(server.stop)
    os.environ[API_URL_ENV] = server.api_url
    _current["server"] = server
    return server


def wait_ready() -> None:
    """Before the first flow: the server, if any, must answer. (A picked shared server
    does not retire meanwhile: the touch of its state file gives it `idle` more seconds.)"""
    server = _current["server"]
    if server is not None:
        timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 300))
        server.wait_ready(timeout)


def stop() -> None:
    """At a command's end: stop its own server; a shared one stays for the next command."""
    server = _current["server"]
    if server is not None and not server.shared:
        server.stop()


def stop_shared() -> bool:
    """Stop the recorded shared server now, if any (True if one was running)."""
    server = _recorded(state_file())
    if server is not None:
        server.stop()
    return server is not None
