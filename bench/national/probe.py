"""A fixed workload timed before a national bench and after each of its commands: how
fast the machine ran.

The national figures are compared from run to run, on a shared machine whose speed moved
by 10 to 40 % within the same day (the same code's stages took 211 s, then 247 s; the
whole run's CPU seconds rose with them, so the cores themselves were slower, not busier).
A stage that got slower is then either the code or the machine: the probe tells which.
It times the two kinds of work the pipeline does, each a few tenths of a second, several
times (the median is kept, a stray pause of the machine does not move it):

- `python_s`: interpreted Python on one core (Great Expectations, the agencies' XLSX);
- `duckdb_s`: DuckDB hashing and aggregating 40 M generated rows on every core (the
  ingest's row rules, the features, the ranking).

Only ratios mean something: a run whose probe took 10 % longer ran on a machine about
10 % slower.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import duckdb

REPEATS = 5


def _python_work() -> int:
    total = 0
    for i in range(6_000_000):
        total += (i * i) % 7
    return total


def _duckdb_work(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(
        "SELECT sum(hash(i) % 1000) FROM range(40000000) t(i) GROUP BY i % 64 ORDER BY 1 LIMIT 1"
    ).fetchall()[0][0]


def _median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def speed_probe(repeats: int = REPEATS) -> dict[str, float]:
    """{"python_s", "duckdb_s"}: the median seconds of each workload on this machine now."""
    con = duckdb.connect()
    try:
        _duckdb_work(con)  # the first query pays for DuckDB's start-up
        return {
            "python_s": _median_seconds(_python_work, repeats),
            "duckdb_s": _median_seconds(lambda: _duckdb_work(con), repeats),
        }
    finally:
        con.close()
