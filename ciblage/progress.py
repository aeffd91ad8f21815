"""Progress of the long stages: a live Rich bar in a terminal, log lines everywhere.

Why: a national ingest or publication runs for minutes. An operator at a terminal wants
rows or partitions done and an ETA; a deployment (no terminal) wants the same facts in
its flow-run logs. One API serves both, so a stage is instrumented once:

    from ciblage import progress

    with progress.stage("publish", total=len(agencies), unit="agences") as p:
        for code in agencies:
            write_agency(code)
            p.advance(1, item=code)

- In a terminal (stdout is a TTY, and the CLI did not ask for the logs with `-v`): one
  Rich bar per open stage (done/total, elapsed, ETA, the current item). Stages opened
  inside another show as more rows of the same display.
- Always: log lines on the `ciblage.progress` logger, at the start, each time another
  `log_pct` % is done (10 % by default) or after `log_seconds` without a line (30 s), and
  at the end with the duration. Inside a Prefect flow or task run they also reach its
  logs (`ciblage.terminal.attach_run_logs`); the terminal prints them only when no live
  bar already shows them (`ciblage.terminal`).
- `total=None` counts without a bar (e.g. rows of a zip CSV of unknown length): lines
  every `log_seconds`.

Thread-safe (a mapped Prefect task may advance from worker threads), and the display
never raises: progress must not break a run.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

LOGGER_NAME = "ciblage.progress"
# set on the records of progress lines: the terminal handler skips them while a live bar
# shows the same facts
PROGRESS_ATTR = "ciblage_progress"

_live_forced: dict[str, bool | None] = {"value": None}  # None: decide from the terminal


def set_live(enabled: bool | None) -> None:
    """Force the live display on or off (`ciblage -v`: off, the logs say it all);
    None: live exactly when stdout is a terminal."""
    _live_forced["value"] = enabled


def live_enabled() -> bool:
    """Whether stages draw a live bar: stdout is a terminal that can redraw lines."""
    forced = _live_forced["value"]
    if forced is not None:
        return forced
    try:
        return sys.stdout.isatty() and not _dumb_terminal()
    except (AttributeError, ValueError):  # replaced or closed stdout
        return False


def _dumb_terminal() -> bool:
    import os

    return os.environ.get("TERM") == "dumb"


def fmt_count(n: float) -> str:
    """French thousands separator (a space): 1 234 567."""
    return f"{int(n):,}".replace(",", " ")


def fmt_seconds(s: float) -> str:
    """8,2 s / 42 s / 3 min 05 s, as a French reader writes durations."""
    if s < 10:
        return f"{s:.1f} s".replace(".", ",")
    if s < 120:
        return f"{s:.0f} s"
    minutes, seconds = divmod(int(round(s)), 60)
    return f"{minutes} min {seconds:02d} s"


class _Display:
    """One Rich progress display shared by the stages open at once."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.bar: Any = None
        self.users = 0

    @property
    def active(self) -> bool:
        return self.bar is not None

    def open(self, description: str, total: int | None) -> Any:
        """A row for a new stage (its task id), starting the display if needed."""
        with self.lock:
            if self.bar is None:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    SpinnerColumn,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )

                self.bar = Progress(
                    SpinnerColumn(),
                    TextColumn("{task.description}"),
                    BarColumn(bar_width=24),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[unit]}"),
                    TimeElapsedColumn(),
                    TextColumn("reste"),
                    TimeRemainingColumn(),
                )
                self.bar.start()
            self.users += 1
            return self.bar.add_task(description, total=total, unit="")

    def update(self, task: Any, **fields: Any) -> None:
        with self.lock:
            if self.bar is not None and task is not None:
                self.bar.update(task, **fields)

    def close(self, task: Any, keep: bool) -> None:
        """End a stage's row; the display stops (its last frame stays) with the last one."""
        with self.lock:
            if self.bar is None:
                return
            self.users -= 1
            if not keep and self.users > 0 and task is not None:
                self.bar.remove_task(task)  # a finished inner stage: no pile of rows
            if self.users <= 0:
                self.bar.stop()
                self.bar, self.users = None, 0


DISPLAY = _Display()


def display_active() -> bool:
    """A live bar is on the terminal (its stages' log lines need not be printed too)."""
    return DISPLAY.active


class Stage:
    """One long stage's progress: counters, the bar's row, the throttled log lines."""

    def __init__(
        self,
        name: str,
        total: int | None,
        unit: str,
        logger: logging.Logger,
        log_pct: float,
        log_seconds: float,
    ) -> None:
        self.name, self.total, self.unit = name, total, unit
        self.done = 0
        self.item: str | None = None
        # appended to the end line by the caller (« unchanged », « 3 quarantined »)
        self.outcome: str | None = None
        self._log, self._log_pct, self._log_seconds = logger, log_pct, log_seconds
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._last_line = self._start
        self._bucket = 0
        self._task: Any = None

    # ---- what callers use ----------------------------------------------------------------
    def advance(self, n: int = 1, item: str | None = None) -> None:
        """`n` more units done; `item` names the one just finished (agency code, source)."""
        with self._lock:
            self.done += n
            if item is not None:
                self.item = item
        self._changed()

    def update(
        self, done: int | None = None, total: int | None = None, item: str | None = None
    ) -> None:
        """Set the counters outright (e.g. rows read so far, a total learnt on the way)."""
        with self._lock:
            if done is not None:
                self.done = done
            if total is not None:
                self.total = total
            if item is not None:
                self.item = item
        self._changed()

    def log(self, message: str, level: int = logging.INFO) -> None:
        """A concise line of this stage, printed and logged even under a live bar."""
        self._log.log(level, f"{self.name} : {message}")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    @property
    def eta(self) -> float | None:
        """Seconds left at the mean rate so far (None before the first unit or no total)."""
        if not self.total or self.done <= 0 or self.done >= self.total:
            return None
        return self.elapsed / self.done * (self.total - self.done)

    def line(self) -> str:
        """`publish : 3/12 agences (25 %) en 4,1 s, reste ~12 s [45-001]`."""
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            pct = 100 * self.done / self.total
            text = f"{fmt_count(self.done)}/{fmt_count(self.total)}{unit} ({pct:.0f} %)"
        else:
            text = f"{fmt_count(self.done)}{unit}"
        text += f" en {fmt_seconds(self.elapsed)}"
        eta = self.eta
        if eta is not None:
            text += f", reste ~{fmt_seconds(eta)}"
        if self.item:
            text += f" [{self.item}]"
        return f"{self.name} : {text}"

    # ---- internals -----------------------------------------------------------------------
    def _changed(self) -> None:
        desc = f"{self.name} {self.item}" if self.item else self.name
        DISPLAY.update(self._task, completed=self.done, total=self.total, description=desc)
        now = time.monotonic()
        with self._lock:
            due = now - self._last_line >= self._log_seconds
            if self.total and self.done < self.total:
                bucket = int(100 * self.done / self.total // self._log_pct)
                due = due or bucket > self._bucket
                self._bucket = max(self._bucket, bucket)
            elif self.total:
                due = False  # the end line says it
            if due:
                self._last_line = now
        if due:
            self._emit(self.line())

    def _emit(self, text: str, level: int = logging.INFO) -> None:
        self._log.log(level, text, extra={PROGRESS_ATTR: True})

    def _open(self) -> None:
        if live_enabled():
            try:
                self._task = DISPLAY.open(self.name, self.total)
                DISPLAY.update(self._task, unit=self.unit)
            except Exception:  # no display rather than no run
                self._task = None
        if self.total is not None:  # a count without total says it at its end only
            unit = f" {self.unit}" if self.unit else ""
            self._emit(f"{self.name} : {fmt_count(self.total)}{unit} à traiter")

    def _close(self, exc: BaseException | None, outermost: bool) -> None:
        """The end line (the bar's last frame says it on a terminal), then the row goes."""
        unit = f" {self.unit}" if self.unit else ""
        counts = (
            f"{fmt_count(self.done)}/{fmt_count(self.total)}{unit}"
            if self.total is not None
            else f"{fmt_count(self.done)}{unit}"
        )
        if exc is None:
            tail = f", {self.outcome}" if self.outcome else ""
            self._emit(f"{self.name} : {counts} en {fmt_seconds(self.elapsed)}{tail}")
        else:
            self._emit(
                f"{self.name} : interrompu à {counts} après {fmt_seconds(self.elapsed)} "
                f"({type(exc).__name__})",
                logging.WARNING,
            )
        if self._task is not None:
            with suppress(Exception):
                DISPLAY.close(self._task, keep=outermost)


_open_stages = threading.local()


@contextmanager
def stage(
    name: str,
    total: int | None = None,
    unit: str = "",
    *,
    log_pct: float = 10.0,
    log_seconds: float = 30.0,
    logger: logging.Logger | None = None,
) -> Iterator[Stage]:
    """Show and log the progress of one stage (see the module docstring).

    `name` heads every line (« publish », « ingest sirene_etablissement »); `unit` is the
    plural of what `total` counts (« agences », « lignes »).
    """
    from ciblage.terminal import attach_run_logs

    attach_run_logs()
    log = logger or logging.getLogger(LOGGER_NAME)
    depth = getattr(_open_stages, "depth", 0)
    current = Stage(name, total, unit, log, log_pct, log_seconds)
    current._open()
    _open_stages.depth = depth + 1
    try:
        yield current
    except BaseException as exc:
        current._close(exc, outermost=depth == 0)
        raise
    else:
        current._close(None, outermost=depth == 0)
    finally:
        _open_stages.depth = depth
