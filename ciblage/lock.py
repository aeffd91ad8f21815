"""One writer at a time on the warehouse: an advisory file lock next to the DuckDB file.

DuckDB lets one process open a file for writing; a second process (a nightly run and an
analyst's territory rerun) would fail with an IO error in the middle of its work. Every
flow that writes takes this lock first, so the second run *waits*, saying which run it
waits for. `fcntl.flock` is released by the kernel when the holder dies (kill -9
included), so a crashed run never leaves a stale lock behind; the JSON written in the
lock file only tells who holds it.

The lock is re-entrant within a process: the nightly flow holds it while its stage
subflows (which also take it when run alone) run in the same process.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_log = logging.getLogger("ciblage.lock")
_held: dict[str, list[Any]] = {}  # lock path -> [fd, depth]
_guard = threading.Lock()


class WarehouseLockTimeout(TimeoutError):
    """Another run held the warehouse longer than the configured wait."""


def lock_path(warehouse: str | Path) -> Path:
    p = Path(warehouse)
    return p.with_name(p.name + ".lock")


def lock_holder(warehouse: str | Path) -> dict[str, Any] | None:
    """Who holds the lock now (run_id, flow, pid, host, started_at), or None if free."""
    path = lock_path(warehouse)
    if not path.exists():
        return None
    key = str(path.resolve())
    with _guard:
        if key in _held:
            return _read_info(path)
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_info(path) or {"run_id": "unknown"}
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_info(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


# (unknown holder, run, on, started at): the logs in English, the user's messages in French
_HOLDER_WORDS = {
    False: ("an unknown run", "run", "on", "started at"),
    True: ("un run inconnu", "le run", "sur", "démarré à"),
}


def describe(info: dict[str, Any] | None, french: bool = False) -> str:
    """Who holds the lock: English for the logs, `french=True` for a user's message."""
    unknown, run, on, started = _HOLDER_WORDS[french]
    if not info:
        return unknown
    return (
        f"{run} {info.get('run_id', '?')} ({info.get('flow', '?')}, pid {info.get('pid', '?')} "
        f"{on} {info.get('host', '?')}, {started} {info.get('started_at', '?')})"
    )


def _default_log(msg: str) -> None:
    """On the terminal (ciblage's own lines stay when Prefect's leave it) and, inside a
    flow run, in its Prefect logs (ciblage.terminal.attach_run_logs)."""
    from ciblage.terminal import attach_run_logs

    attach_run_logs()
    _log.warning(msg)


@contextmanager
def warehouse_lock(
    warehouse: str | Path,
    *,
    run_id: str,
    flow: str,
    timeout_s: float | None = None,
    poll_s: float = 0.5,
    remind_s: float = 60.0,
    log: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold the warehouse's write lock for the duration of the block, waiting if needed.

    While waiting, logs "waiting for run X (pid, started at) holding the warehouse lock"
    once, then every `remind_s`; raises WarehouseLockTimeout after `timeout_s`.
    """
    log = log or _default_log
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.resolve())
    with _guard:
        if key in _held:
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            with _guard:
                _held[key][1] -= 1
        return

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, timeout_s, poll_s, remind_s, log)
        info = {
            "run_id": run_id,
            "flow": flow,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        with _guard:
            _held[key] = [fd, 1]
        try:
            yield path
        finally:
            with _guard:
                del _held[key]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(
    fd: int,
    path: Path,
    timeout_s: float | None,
    poll_s: float,
    remind_s: float,
    log: Callable[[str], None],
) -> None:
    start = time.monotonic()
    next_remind = start
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if time.monotonic() > start + poll_s:
                log(f"warehouse lock acquired after {time.monotonic() - start:.0f} s wait")
            return
        except BlockingIOError:
            pass
        now = time.monotonic()
        info = _read_info(path)
        holder = describe(info)
        if timeout_s is not None and now - start >= timeout_s:
            raise WarehouseLockTimeout(
                f"abandon après {timeout_s:.0f} s d'attente : {describe(info, french=True)} "
                f"tient le verrou de l'entrepôt {path}"
            )
        if now >= next_remind:
            waited = f" (waited {now - start:.0f} s)" if now > start else ""
            log(f"waiting for {holder} holding the warehouse lock {path}{waited}")
            next_remind = now + remind_s
        time.sleep(poll_s)
