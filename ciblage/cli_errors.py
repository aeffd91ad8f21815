"""One line for a user's mistake, the traceback only with `--debug`.

A wrong option or a misspelt configuration key used to end in hundreds of lines and
several tracebacks, after the temporary Prefect server had started. Commands check their
inputs first (`preflight`, no Prefect) and are wrapped by `friendly` (operator commands)
or `french` (counselor-facing commands: match, promotions import), which turn the
expected errors into one French line on stderr (`erreur : <quoi et où>`) and exit code 2
(`EXIT_USAGE`); a warehouse held too long by a run, or a persisted model refused at
loading (changed file, other features), is exit code 1. User-facing text is in
French (analysts' terminal included), logs stay in English.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import duckdb
import typer

from ciblage.config import ConfigError, Settings, load_settings
from ciblage.lock import WarehouseLockTimeout
from ciblage.outcome import EXIT_NOT_PUBLISHED, EXIT_USAGE
from scoring.errors import ModelIntegrityError

DEBUG = {"on": False}  # set by the `--debug` option of the main command
F = TypeVar("F", bound=Callable[..., Any])


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


PREFIX = "erreur : "


def _wrap(fn: F) -> F:
    from ciblage.preflight import UsageError
    from ciblage.territories import TerritoryError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, UsageError, TerritoryError) as exc:
            if DEBUG["on"]:
                raise
            typer.echo(f"{PREFIX}{_one_line(exc)}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except (WarehouseLockTimeout, ModelIntegrityError) as exc:
            if DEBUG["on"]:
                raise
            typer.echo(f"{PREFIX}{_one_line(exc)}", err=True)
            raise typer.Exit(EXIT_NOT_PUBLISHED) from None
        except duckdb.IOException as exc:  # a reader while a run writes the warehouse
            if DEBUG["on"] or "lock" not in str(exc).lower():
                raise
            typer.echo(f"{PREFIX}entrepôt utilisé par un run : {_one_line(exc)}", err=True)
            raise typer.Exit(EXIT_NOT_PUBLISHED) from None

    return wrapper  # type: ignore[return-value]


def friendly(fn: F) -> F:
    """Operator commands (analysts): `erreur : <quoi et où>`."""
    return _wrap(fn)


def french(fn: F) -> F:
    """Counselor-facing commands: `erreur : <quoi et où>`."""
    return _wrap(fn)


def preflight(
    config: Path | None,
    *,
    as_of: str | None = None,
    horizon: int | None = None,
    top: int | None = None,
    territory: str | None = None,
    sources: list[str] | None = None,
) -> Settings:
    """Settings of a pipeline command, checked before any flow (and Prefect) starts."""
    from ciblage.preflight import check_config, check_sources_option, check_territory

    settings = load_settings(
        str(config) if config else None, as_of=as_of, horizon_months=horizon, top_n=top
    )
    check_config(settings)
    check_sources_option(sources)
    if territory is not None:
        check_territory(settings, territory)
    return settings


def last_words(lines: list[str], outcome: str) -> None:
    """Print a run's summary and make its outcome the terminal's last line.

    Prefect's temporary server logs « Stopping temporary server » when the process exits
    and DuckDB's bindings report leaked objects during interpreter teardown, both on
    stderr, after anything the command printed. In the real `ciblage` process (not under
    a test runner, whose harness owns the server), the server is stopped before the
    outcome is printed, then stderr is closed for the teardown.
    """
    console_script = _console_script()
    if console_script:
        try:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            from ciblage import prefect_api

            # logs and events still queued go to the server first: sent to a stopped
            # server, they would be retried for minutes at exit. Prefect's sync bridge
            # can leave the thread marked as running a loop, which would turn the drain
            # into an unawaited coroutine: clear that stale mark for the call.
            stale = asyncio._get_running_loop()
            asyncio._set_running_loop(None)
            try:
                for worker in (APILogWorker, EventsWorker):
                    worker.drain_all(timeout=15)
            finally:
                asyncio._set_running_loop(stale)
            prefect_api.stop()  # the server the command started early, if any
            # Prefect's own temporary server, if it started one (the module is imported
            # only then: importing it here would cost seconds for nothing)
            module = sys.modules.get("prefect.server.api.server")
            instances = getattr(getattr(module, "SubprocessASGIServer", None), "_instances", {})
            # one server may be registered under two keys (None and its port)
            for server in {id(x): x for x in instances.values()}.values():
                server.stop()
        except Exception:  # best effort: at worst its log line comes after ours
            pass
    for line in lines:
        typer.echo(line)
    typer.echo(outcome)
    if console_script:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)


def _console_script() -> bool:
    """The real `ciblage` process (not a test runner's), without --debug."""
    return os.path.basename(sys.argv[0]) == "ciblage" and not DEBUG["on"]


def exit_now(code: int) -> NoReturn:
    """End the command with `code` right after its last line.

    The interpreter's teardown (freeing polars, DuckDB, scikit-learn and Prefect objects,
    module by module) took seconds after the last line of a rerun, for nothing: every
    output is written, every connection closed, the logs sent. In the real `ciblage`
    process the exit hooks still run (atexit: Prefect's and ours), then the process ends
    at once; elsewhere (tests, --debug) a normal exit.
    """
    if _console_script():
        atexit._run_exitfuncs()
        sys.stdout.flush()
        os._exit(code)
    raise typer.Exit(code)
