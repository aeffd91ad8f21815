"""Run a `ciblage` command as a user would, and measure it per stage.

Why outside the process: the figures the issue asks for are those of the real CLI
(Prefect's temporary API server, DuckDB threads, scikit-learn's OpenMP workers), so the
command runs as a child and a poller samples its whole process tree every `interval`
seconds with psutil: resident memory summed over the tree, CPU seconds summed over every
process seen (a process that ended keeps its last reading). Stage boundaries come from
the warehouse's `run_ledger` afterwards (UTC), and each stage gets the CPU and peak RSS
of the samples inside it. The command's total CPU is exact (`RUSAGE_CHILDREN`).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ciblage.config import PROJECT_ROOT

CLI = Path(sys.executable).parent / "ciblage"


def utcnow() -> dt.datetime:
    """Naive UTC, as the ledger stores it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class Sample:
    at: dt.datetime
    rss: int  # bytes, summed over the tree
    cpu: float  # seconds, summed over every process seen so far


@dataclass
class Measured:
    """One command: exit code, wall seconds, exact CPU, and the tree's samples."""

    args: list[str]
    returncode: int
    started: dt.datetime
    ended: dt.datetime
    cpu: float
    samples: list[Sample] = field(default_factory=list)
    last_line: str = ""

    @property
    def wall(self) -> float:
        return (self.ended - self.started).total_seconds()

    def window(self, start: dt.datetime, end: dt.datetime) -> dict[str, float | None]:
        """CPU seconds and peak RSS (GiB) of the samples between start and end."""
        inside = [s for s in self.samples if start <= s.at <= end]
        before = [s for s in self.samples if s.at < start]
        if not inside:
            return {"cpu_s": None, "peak_rss_gib": None}
        c0 = before[-1].cpu if before else 0.0
        return {
            "cpu_s": round(inside[-1].cpu - c0, 1),
            "peak_rss_gib": round(max(s.rss for s in inside) / 2**30, 2),
        }

    @property
    def peak_rss_gib(self) -> float:
        return round(max((s.rss for s in self.samples), default=0) / 2**30, 2)


def _poll(pid: int, interval: float, samples: list[Sample], stop: threading.Event) -> None:
    root = psutil.Process(pid)
    cpu_seen: dict[int, float] = {}
    while not stop.is_set():
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        rss = 0
        for p in procs:
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu_seen[p.pid] = t.user + t.system
            except psutil.Error:
                continue
        samples.append(Sample(utcnow(), rss, sum(cpu_seen.values())))
        stop.wait(interval)


def run_cli(args: list[str], log: Path, interval: float = 0.5) -> Measured:
    """`ciblage <args>` from the project folder, output to `log`, sampled every interval."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = utcnow()
    samples: list[Sample] = []
    stop = threading.Event()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [str(CLI), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),
        )
        poller = threading.Thread(target=_poll, args=(proc.pid, interval, samples, stop))
        poller.start()
        code = proc.wait()
        stop.set()
        poller.join()
    ended = utcnow()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln]
    return Measured(args, code, started, ended, round(cpu, 1), samples, lines[-1] if lines else "")


def folder_size(path: Path) -> dict[str, Any]:
    """Bytes and files under `path` (links not followed: what the run folder holds)."""
    size = files = 0
    if path.is_dir():
        for root, _, names in os.walk(path):
            for n in names:
                p = Path(root) / n
                if not p.is_symlink():
                    size += p.stat().st_size
                    files += 1
    return {"bytes": size, "files": files}
