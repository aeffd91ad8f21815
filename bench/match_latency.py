"""Time `ciblage match` (one profile → 5 companies) on the sample warehouse.

    python bench/match_latency.py --config ciblage.toml [--repeat 20]

Needs a warehouse with scores (`ciblage run` / `make demo` first). Prints:
- the wall time of the real command in a fresh process (`ciblage match ...`, imports,
  connection, query, fiches, aids and the printed tables) for a few profiles;
- the in-process time of `match_profile` (warm connection) over several ROME codes,
  median and max, and the time to also write the XLSX + HTML files.
Target (issue 4): under one second per profile on the sample warehouse.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _profiles(con, k: int) -> list[tuple[str, str]]:
    """(ROME, commune) pairs that exist in the warehouse: busiest ROMEs, their communes."""
    return con.execute(
        """
        SELECT r.code_rome, any_value(e.code_commune)
        FROM score_etablissement_rome r JOIN etablissement e USING (siret)
        WHERE r.as_of = (SELECT max(as_of) FROM score_etablissement_rome)
        GROUP BY r.code_rome ORDER BY count(*) DESC, r.code_rome LIMIT ?
        """,
        [k],
    ).fetchall()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rayon", type=float, default=20.0)
    args = ap.parse_args()

    from ciblage.aids import Profile
    from ciblage.config import load_settings
    from ciblage.matching import match_profile, write_match_outputs
    from ciblage.warehouse import connect

    settings = load_settings(args.config)
    con = connect(settings.warehouse, read_only=True)
    profiles = _profiles(con, args.repeat)
    n_est = con.execute("SELECT count(*) FROM etablissement").fetchone()[0]
    con.close()
    print(f"warehouse {settings.warehouse} ({n_est} establishments), {len(profiles)} profiles")

    cli = [sys.executable, "-m", "ciblage.cli"]
    cold, cpu = [], []
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for rome, commune in profiles[:3]:
        cmd = [*cli, "match", "--rome", rome, "--commune", commune, "--rayon", str(args.rayon)]
        cmd += ["--rsa", "--age", "52"] + (["--config", args.config] if args.config else [])
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        cold.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if done.returncode:
            sys.exit(f"ciblage match failed: {done.stderr[-2000:]}")
    print(
        f"ciblage match, fresh process: {', '.join(f'{s:.2f}' for s in cold)} s "
        f"(max {max(cold):.2f} s); CPU time {', '.join(f'{s:.2f}' for s in cpu)} s "
        "(wall time includes waiting for a busy CPU)"
    )

    con = connect(settings.warehouse, read_only=True)
    warm, found = [], []
    for rome, commune in profiles:
        t = time.perf_counter()
        res = match_profile(
            con, rome, commune, args.rayon, Profile(rsa=True, age=52), 5, settings.as_of
        )
        warm.append(time.perf_counter() - t)
        found.append(len(res.fiches))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_match_outputs(res, Path(tmp))
        files = time.perf_counter() - t
    con.close()
    print(
        f"match_profile, warm connection: median {statistics.median(warm) * 1000:.0f} ms, "
        f"max {max(warm) * 1000:.0f} ms; companies found per profile: min {min(found)}, "
        f"median {statistics.median(found):.0f}"
    )
    print(f"writing XLSX + HTML for one profile: {files * 1000:.0f} ms")


if __name__ == "__main__":
    main()
