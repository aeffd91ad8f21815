"""Does the model hold on worlds it was not built on? The scenario suite of issue 10.

For each generated world (ciblage/sample/worlds.py: two hiring processes of different
form, 18/30/60 months of history, stable / trending / seasonal / bursty, heavy tails,
thin territories, with and without per-SIRET hires) and each label mode, writes a
config like ciblage.toml, runs the real `ciblage run --config … --as-of …` as a
subprocess, and scores the published département lists against the world's truth
(ciblage/sample/scenario_eval.py): precision@10 and NDCG@10 of the lists vs largest
headcount first, most hires in the last 12 months first, most offers in the last 12
months first (true employer), and the world's true expected hires; the back-test
calibration ratio, the largest prediction vs the largest real 6-month hires of one
establishment, and the model gate's verdict.

    python bench/model_scenarios.py [--worlds small|full] [--only NAME] [--jobs 1]
                                    [--keep] [--json scenarios.json] [--work DIR]

A world with a hires file runs twice (hires_siret, then offers only: the same files
without [sources.hires_siret]); a world without runs in offers mode only. `full`: 8
worlds of about 31,500 establishments (a few minutes each per mode on 2 cores); `small`:
the same worlds at a tenth of the size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ciblage.publish.target_files import targets_files
from ciblage.sample.scenario_eval import evaluate, run_pipeline, write_config
from ciblage.sample.worlds import WORLDS, generate_world

SCALES = {"full": 1.0, "small": 0.1}
MODE_BASELINE = {"hires_siret": "past_hires", "offres": "past_offers"}


def run_world(name: str, scale: float, work: Path, keep: bool) -> list[dict[str, Any]]:
    """Generate one world, run the pipeline in each of its label modes, score the lists."""
    spec = WORLDS[name] if scale == 1.0 else WORLDS[name].scaled(scale)
    world_dir = work / name / "world"
    info = generate_world(spec, world_dir)
    print(f"{name}: generated in {info['seconds']} s", file=sys.stderr, flush=True)
    modes = ("hires_siret", "offres") if spec.hires_file else ("offres",)
    rows = []
    for mode in modes:
        run_dir = work / name / mode
        config = write_config(world_dir, run_dir, mode)
        run = run_pipeline(config, spec.as_of, run_dir / "run.log")
        row: dict[str, Any] = {
            "world": name,
            "mode": mode,
            "process": spec.process,
            "shape": spec.shape,
            "history_months": spec.history_months,
            "establishments_active": info["establishments_active"],
            "run": run,
        }
        published = bool(targets_files(run_dir / "output" / "latest"))
        if run["returncode"] in (0, 3) and published:  # 3: published, degraded source
            row.update(evaluate(world_dir, run_dir, spec.as_of, mode))
        else:
            row["error"] = f"ciblage run failed, see {run_dir / 'run.log'}"
        print(f"{name}/{mode}: run {run['seconds']} s", file=sys.stderr, flush=True)
        rows.append(row)
        if not keep:
            shutil.rmtree(run_dir / "warehouse", ignore_errors=True)
            shutil.rmtree(run_dir / "output", ignore_errors=True)
    if not keep:
        shutil.rmtree(world_dir, ignore_errors=True)
    return rows


def _pair(row: dict, method: str) -> str:
    m = row.get(method)
    if not m:
        return "-"
    return f"{m['precision_at_10']:.3f} / {m['ndcg_at_10']:.3f}"


def _num(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _gate(row: dict) -> str:
    g = row.get("gate")
    if g is None:
        return "-"
    if isinstance(g, dict):
        verdict = "passed" if g.get("passed") else "refused"
        return f"{verdict} ({g.get('ranking_method', '?')})"
    return str(g)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| world | labels | active est. | groups | lists | ranking | headcount | most hires 12m "
        "| most offers 12m | true rate | calib. ratio | max pred. | max obs. 6m | gate | run s |"
    )
    lines = [
        "precision@10 / NDCG@10 of the published département lists (threshold "
        "[publish] min_potential applied: a list shorter than 10 counts misses), of the "
        "model's full ranking (no threshold) and of the baselines "
        "(same candidates; groups with a hire; in parentheses: hires the offers-only run "
        "was not given)",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['world']} | {r['mode']} | {r['error']} |")
            continue
        hires = _pair(r, "past_hires")
        if r["mode"] == "offres" and hires != "-":  # in the files, not given to the pipeline
            hires = f"({hires})"
        lines.append(
            f"| {r['world']} | {r['mode']} | {r['establishments_active']:,} | {r['groups']} "
            f"| **{_pair(r, 'lists')}** | **{_pair(r, 'ranking')}** | {_pair(r, 'headcount')} "
            f"| {hires} "
            f"| {_pair(r, 'past_offers')} | {_pair(r, 'true_rate')} "
            f"| {_num(r.get('calibration_ratio'), '.3f')} "
            f"| {_num(r.get('max_expected_hires'), ',.1f')} "
            f"| {r['max_observed_6m']:,} | {_gate(r)} | {r['run']['seconds']:.0f} |"
        )
    return "\n".join(lines)


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's bars, per label mode: lists vs its baseline and vs the true rate."""
    out: dict[str, Any] = {}
    for mode, base in MODE_BASELINE.items():
        ok = [r for r in rows if r["mode"] == mode and "error" not in r and r["groups"]]
        if not ok:
            continue
        p = [r["lists"]["precision_at_10"] for r in ok]
        q = [r["ranking"]["precision_at_10"] for r in ok]
        b = [r[base]["precision_at_10"] for r in ok]
        t = [r["true_rate"]["precision_at_10"] for r in ok]
        out[mode] = {
            "worlds": len(ok),
            "mean_ranking_p10": sum(q) / len(q),
            "ranking_over_baseline": sum(q) / sum(b) if sum(b) else None,
            "ranking_over_true_rate": sum(q) / sum(t) if sum(t) else None,
            "ranking_worlds_below_baseline": [
                r["world"]
                for r in ok
                if r["ranking"]["precision_at_10"] < r[base]["precision_at_10"]
            ],
            "mean_lists_p10": sum(p) / len(p),
            "mean_baseline_p10": sum(b) / len(b),
            "mean_true_rate_p10": sum(t) / len(t),
            "lists_over_baseline": sum(p) / sum(b) if sum(b) else None,
            "lists_over_true_rate": sum(p) / sum(t) if sum(t) else None,
            "worlds_below_baseline": [
                r["world"] for r in ok if r["lists"]["precision_at_10"] < r[base]["precision_at_10"]
            ],
            "calibration_outside_bounds": [
                r["world"]
                for r in ok
                if r.get("calibration_ratio") is None or not 0.8 <= r["calibration_ratio"] <= 1.25
            ],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", choices=sorted(SCALES), default="full")
    parser.add_argument("--only", action="append", choices=sorted(WORLDS), help="repeatable")
    parser.add_argument("--jobs", type=int, default=1, help="worlds run at once")
    parser.add_argument("--keep", action="store_true", help="keep worlds, warehouses, outputs")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument("--work", type=Path, help="working folder (default: a temp folder)")
    args = parser.parse_args(argv)
    names = args.only or list(WORLDS)
    work = args.work or Path(tempfile.mkdtemp(prefix="ciblage-scenarios-"))
    work.mkdir(parents=True, exist_ok=True)
    scale = SCALES[args.worlds]
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(run_world, n, scale, work, args.keep) for n in names]
            for f in futures:
                rows += f.result()
    else:
        for n in names:
            rows += run_world(n, scale, work, args.keep)
            if args.json:  # partial results survive an interrupted bench
                args.json.write_text(json.dumps({"rows": rows}, indent=2, default=str))
    result = {
        "worlds": args.worlds,
        "work": str(work),
        "seconds": round(time.perf_counter() - started),
        "rows": rows,
        "summary": summary(rows),
    }
    print(table(rows))
    print()
    print(json.dumps(result["summary"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
