"""What a ciblage command prints: its own concise lines and progress, not Prefect's logs.

Why: Prefect's console handler prints every task's state and every flow's random name
(hundreds of lines for a territory rerun), burying the lines an operator needs. By
default the CLI raises the level of Prefect's `console` handler (the one its logging
config puts on the root logger and on the temporary server's uvicorn loggers) so that its
lines leave the terminal; they are still sent to the Prefect API (the flow-run logs of
the temporary server, or of a real server), whose handler is separate. The level is set
with Prefect's documented setting `PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL` (any key of
its logging.yml can be overridden as `PREFECT_LOGGING_[PATH]_[KEY]`), in the environment
before Prefect is imported, so the temporary server's subprocess inherits it, and on the
live handlers when Prefect is already imported (tests, benches). `ciblage -v` leaves
Prefect's console alone: its logs show again, ciblage's lines among them.

ciblage's own lines (loggers `ciblage.*`: progress, lock waits; WARNING and above of
`pipelines.*` and `scoring.*`) go to the terminal through `TerminalHandler`, one short
line each, and into the flow-run logs through `attach_run_logs`.
"""

from __future__ import annotations

import logging
import os
import sys

CONSOLE_LEVEL_ENV = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"
QUIET = "CRITICAL"  # only a line that stops everything still reaches the terminal
# loggers whose lines the terminal shows by default, and from which level
OWN_LOGGERS = {"ciblage": logging.INFO, "pipelines": logging.WARNING, "scoring": logging.WARNING}


class TerminalHandler(logging.Handler):
    """One short line per record on the current stderr (a live bar redirects it).

    Progress lines are skipped while a live bar shows the same facts. The stream is looked
    up at each record, not kept: Rich's live display and test runners replace sys.stderr.
    """

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.setFormatter(logging.Formatter("%(message)s"))

    def filter(self, record: logging.LogRecord) -> bool:
        from ciblage.progress import PROGRESS_ATTR, display_active

        if getattr(record, PROGRESS_ATTR, False) and display_active():
            return False
        return super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if record.levelno >= logging.WARNING:
                text = f"{'attention' if record.levelno < logging.ERROR else 'erreur'} : {text}"
            stream = sys.stderr
            stream.write(text + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def setup(verbose: bool) -> None:
    """Set the terminal up for a CLI command (call before Prefect is imported).

    Default: Prefect's console handler at CRITICAL, ciblage's lines through
    `TerminalHandler`, a live progress bar when stdout is a terminal. Verbose: Prefect's
    console at every level (ciblage's lines included, through the root logger), no live bar.
    """
    from ciblage import progress

    for name, level in OWN_LOGGERS.items():
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if isinstance(h, TerminalHandler)]:
            logger.removeHandler(handler)  # idempotent (several commands in one process)
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
        if not verbose:
            logger.addHandler(TerminalHandler(level))
    if verbose:
        os.environ[CONSOLE_LEVEL_ENV] = "NOTSET"
        progress.set_live(False)
    else:
        os.environ.setdefault(CONSOLE_LEVEL_ENV, QUIET)
        progress.set_live(None)
    _apply_console_level(os.environ[CONSOLE_LEVEL_ENV])


def _apply_console_level(level_name: str) -> None:
    """Prefect already imported (its logging configured): set its console handlers now."""
    if "prefect.logging.handlers" not in sys.modules:
        return  # Prefect reads the environment when it is imported
    from prefect.logging.handlers import PrefectConsoleHandler

    level = logging.getLevelName(level_name.upper())
    level = level if isinstance(level, int) else logging.NOTSET
    for name in (None, "uvicorn", "fastapi"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(level)


def _in_run() -> bool:
    try:
        from prefect.context import get_run_context

        get_run_context()
    except Exception:
        return False
    return True


def attach_run_logs() -> None:
    """Send `ciblage.*` records to the Prefect API inside a flow or task run.

    Prefect sends to its API only the records of its run loggers and of the loggers listed
    in PREFECT_LOGGING_EXTRA_LOGGERS, read when Prefect is imported, which a deployment's
    flow process does before importing our flows. Attaching the API handler here works
    whatever the import order; outside a run the record is simply not sent (no warning).
    Does nothing before Prefect is imported (no flow can be running then).
    """
    logger = logging.getLogger("ciblage")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)  # the root logger's WARNING would drop progress lines
    if "prefect.logging.handlers" not in sys.modules:
        return
    from prefect.logging.handlers import APILogHandler

    if any(isinstance(h, APILogHandler) for h in logger.handlers):
        return
    handler = APILogHandler()
    handler.addFilter(lambda record: _in_run())
    logger.addHandler(handler)
