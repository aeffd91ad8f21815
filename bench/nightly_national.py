"""The whole national nightly on one machine, through the real CLI (issue 12, item 1).

Generates national-size inputs in the official formats the pipeline ingests (SIRENE
stock, legal units and geolocation zips; the two URSSAF DPAE exports; per-SIRET hires,
about 25 M a year; >= 4 M Offres d'emploi API v2 offers over 24 months: see
`bench/national/`), then, on a fresh warehouse:

1. night 1: `ciblage run --config <generated config> --as-of 2026-11-01`;
2. night 2, the next day: one new day of offers and a revised DPAE export, the other
   files untouched (their loads must be reused), `ciblage run … --as-of 2026-11-02`;
3. `ciblage rerun -t dep:45` on that warehouse.

and prints per stage (ingest, score, publish; from `run_ledger`) the wall and CPU
seconds, the peak RSS of the whole process tree (psutil, every 0.5 s), the rows, and
per command the total and the run folder's size and file count; writes every figure to
JSON (`--json`, default bench/results/nightly_national-<scale>.json).

    python bench/nightly_national.py --scale 0.01 --work /tmp/nightly   # 1 % of France
    python bench/nightly_national.py --work /data/nightly                # national

`--work` keeps the generated inputs (`inputs-<scale>/`, reused by the next bench run)
and the warehouse and outputs (`run-<scale>/`, rebuilt on every bench run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.national import AS_OF, SEED, Volumes  # noqa: E402
from bench.national.dpae import DEP_FILE, revise_last_quarter  # noqa: E402
from bench.national.inputs import MANIFEST, day_offers, ensure_inputs  # noqa: E402
from bench.national.measure import run_cli  # noqa: E402
from bench.national.population import POPULATION  # noqa: E402
from bench.national.probe import speed_probe  # noqa: E402
from bench.national.report import stage_figures, table  # noqa: E402
from ciblage.config import DEFAULT_CONFIG  # noqa: E402
from ciblage.sample.scenario_eval import write_config  # noqa: E402

NOT_INPUTS = {POPULATION, MANIFEST}  # bench files the pipeline never reads


def link_tree(src: Path, dst: Path) -> None:
    """`dst` mirrors `src` with hard links (copies across file systems): the nights may
    add or replace files there without touching the generated inputs."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_dir() or rel.parts[0] in NOT_INPUTS:
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


def shipped_levels() -> tuple[str, ...]:
    """The territory levels the shipped config publishes (the real nightly's)."""
    cfg = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    return tuple(cfg["publish"]["levels"])


def night_two(inputs: Path, live: Path, vol: Volumes) -> dict[str, Any]:
    """The next day's changed files: one day of new offers, a revised DPAE export."""
    t0 = time.perf_counter()
    offers = day_offers(inputs, live / "offres", vol, AS_OF, SEED + 1)
    dpae = live / "urssaf" / DEP_FILE
    revised = revise_last_quarter(inputs / "urssaf" / DEP_FILE, dpae, SEED + 1)
    return {
        "changed": [str(offers.relative_to(live)), str(dpae.relative_to(live))],
        "new_offers": sum(1 for _ in offers.open(encoding="utf-8")),
        "dpae_rows_revised": revised,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def measure(phase: str, args: list[str], run: Path, config: Path, as_of: dt.date) -> dict[str, Any]:
    print(f"{phase}: ciblage {' '.join(args)}", file=sys.stderr, flush=True)
    m = run_cli(
        # --debug: a stage that raises leaves its traceback in the log
        ["--debug", *args, "--config", str(config), "--as-of", as_of.isoformat()],
        run / f"{phase}.log",
    )
    fig = stage_figures(run / "warehouse" / "ciblage.duckdb", run / "output", m, as_of.isoformat())
    fig["log"] = str(run / f"{phase}.log")
    print(f"{phase}: exit {m.returncode} in {m.wall:.0f} s: {m.last_line}", file=sys.stderr)
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="share of every national volume")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "nightly")
    ap.add_argument("--json", type=Path, help="figures file (default bench/results/…)")
    ap.add_argument("--territory", default="dep:45", help="the rerun's territory")
    ap.add_argument("--skip-second-night", action="store_true")
    ap.add_argument("--skip-rerun", action="store_true")
    ap.add_argument("--generate-only", action="store_true", help="write the inputs and stop")
    a = ap.parse_args(argv)
    vol = Volumes(a.scale)
    started = time.perf_counter()
    inputs, manifest = ensure_inputs(a.work, vol)
    gen = "reused" if manifest["reused"] else f"generated in {manifest['seconds']:.0f} s"
    print(
        f"inputs {inputs} ({gen}): {manifest['establishments']:,} establishments "
        f"({manifest['establishments_active']:,} active), {manifest['hires_rows']:,} hires rows, "
        f"{manifest['offers_written']:,} offers",
        file=sys.stderr,
    )
    if a.generate_only:
        return 0
    result: dict[str, Any] = {
        "volumes": manifest,
        "machine": machine(),
        "probes": {"before": speed_probe()},  # and after each command: the machine's speed
        "phases": {},
    }
    run = a.work / f"run-{a.scale:g}"
    shutil.rmtree(run, ignore_errors=True)  # fresh warehouse and outputs
    live = run / "inputs"
    link_tree(inputs, live)
    config = write_config(live, run, "hires_siret", shipped_levels())
    phases = result["phases"]
    out = a.json or ROOT / "bench" / "results" / f"nightly_national-{a.scale:g}.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    # after every command, so that an interrupted bench keeps its figures
    def save(phase: str) -> None:
        result["probes"][f"after {phase}"] = speed_probe()
        result["machine_after"] = machine()
        result["seconds"] = round(time.perf_counter() - started)
        out.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")

    phases["night 1"] = measure("night1", ["run"], run, config, AS_OF)
    save("night 1")
    as_of = AS_OF
    if not a.skip_second_night:
        result["night2_changes"] = night_two(inputs, live, vol)
        as_of = AS_OF + dt.timedelta(days=1)
        phases["night 2"] = measure("night2", ["run"], run, config, as_of)
        save("night 2")
    if not a.skip_rerun:
        phases[f"rerun {a.territory}"] = measure(
            "rerun", ["rerun", "-t", a.territory], run, config, as_of
        )
        save(f"rerun {a.territory}")
    print(table(phases))
    print(probe_line(result["probes"]))
    print(f"figures: {out}")
    return 0 if all(p["returncode"] in (0, 3) for p in phases.values()) else 1


def machine() -> dict[str, Any]:
    """What the figures were measured on (a shared machine's load changes them)."""
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def probe_line(probes: dict[str, dict[str, float]]) -> str:
    """How fast the machine ran before the first command and after each (probe.py's
    median seconds; a shared machine slows down under a long load, or with its
    neighbours'), to compare this run's stages with another run's."""
    return "machine probe (s; larger = slower): " + "; ".join(
        f"{when} python {p['python_s']:.3f} duckdb {p['duckdb_s']:.3f}"
        for when, p in probes.items()
    )


if __name__ == "__main__":
    sys.exit(main())
