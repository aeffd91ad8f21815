"""What the training sample costs in ranking quality, and what it saves in time and memory.

    python bench/train_sample.py --config RUN/ciblage.toml --rows 0 --rows 1000000 \
        --rows 500000 [--eval-rows 2000000] [--json FILE]

On the warehouse of an existing run (copied first: training writes temporary tables
only, but a bench must never touch a warehouse a run may use), trains the model exactly as
the score stage does (`scoring.training.train`: tuning, back-test, final fit, gate) once
per `--rows` value of `[scoring] max_train_rows` (0 = no cap: every snapshot whole), each
in a fresh process, with the same back-test sample (`--eval-rows`, whole départements) so
that every variant is judged on the same candidates. Prints, per variant: wall and CPU
seconds, peak RSS, training rows, precision@10 and NDCG@10 of the model and of the best
baseline, the calibration ratio and the gate's verdict.

The scenario worlds (bench/model_scenarios.py) are below any cap; this bench is what
validates `max_train_rows` on a world large enough for the cap to bind (bench/national
inputs through `bench/nightly_national.py --scale 0.05`, for instance).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NO_CAP = 10**12


def one(config: Path, warehouse: Path, rows: int, eval_rows: int) -> dict:
    """Train once in this process and return the figures."""
    from ciblage.config import load_settings
    from ciblage.warehouse import session
    from pipelines.score import train_on
    from scoring.features import detect_label_mode
    from scoring.options import ScoringOptions

    settings = load_settings(str(config))
    opts = ScoringOptions.from_settings(settings)
    cfg = replace(opts.train, max_train_rows=rows or NO_CAP, max_eval_rows=eval_rows)
    t0, c0 = time.monotonic(), time.process_time()
    with session(warehouse) as con:  # exactly the score stage's training task
        label_mode = detect_label_mode(con)
        result = train_on(con, settings, replace(opts, train=cfg), label_mode)
    meta = result.model.metadata
    ranking = result.backtest.get("ranking", {})
    baselines = {k: v for k, v in ranking.items() if k in ("headcount", "past_12m", "offers_12m")}
    best = max(baselines, key=lambda k: baselines[k]["precision_at_10"]) if baselines else None
    check = {c["check"]: c for c in meta["gate"]["checks"]}
    return {
        "max_train_rows": rows,
        "wall_s": round(time.monotonic() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "train_rows": meta["n_train_rows"],
        "samples": meta["training"].get("samples"),
        "eval_rows": result.backtest.get("n_establishments"),
        "groups": ranking.get("groups"),
        "model": ranking.get("model"),
        "best_baseline": best,
        "baseline": baselines.get(best) if best else None,
        "calibration_ratio": check.get("calibration_ratio", {}).get("value"),
        "gate": "passed" if meta["gate"]["passed"] else f"refused ({meta['gate'].get('reason')})",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, required=True, help="ciblage.toml of a finished run")
    ap.add_argument("--rows", type=int, action="append", help="max_train_rows (0 = no cap)")
    ap.add_argument("--eval-rows", type=int, default=1_000_000)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.config, args.warehouse, args.one, args.eval_rows)))
        return
    from ciblage.config import load_settings

    source = load_settings(str(args.config)).warehouse
    figures = []
    with tempfile.TemporaryDirectory(prefix="train-sample-") as tmp:
        warehouse = Path(tmp) / "ciblage.duckdb"
        shutil.copy(source, warehouse)
        print(
            "| max_train_rows | training rows | wall s | CPU s | peak GiB | back-test rows / "
            "groups | model p@10 / NDCG@10 | best baseline p@10 / NDCG@10 | calib. ratio | gate |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
        for rows in args.rows or [0, 1_000_000, 500_000]:
            cmd = [sys.executable, __file__, "--config", str(args.config), "--one", str(rows)]
            cmd += ["--warehouse", str(warehouse), "--eval-rows", str(args.eval_rows)]
            env = {**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"}
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if out.returncode != 0:
                sys.exit(f"max_train_rows={rows} failed:\n{out.stderr[-3000:]}")
            fig = json.loads(out.stdout.strip().splitlines()[-1])
            figures.append(fig)
            print(_row(fig), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")


def _row(f: dict) -> str:
    model, base = f["model"] or {}, f["baseline"] or {}
    cap = f"{f['max_train_rows']:,}" if f["max_train_rows"] else "no cap"
    return (
        f"| {cap} | {f['train_rows']:,} | {f['wall_s']:.0f} | {f['cpu_s']:.0f} | "
        f"{f['peak_rss_gib']:.2f} | {f['eval_rows']:,} / {f['groups']} | "
        f"{model.get('precision_at_10', 0):.3f} / {model.get('ndcg_at_10', 0):.3f} | "
        f"{f['best_baseline']} {base.get('precision_at_10', 0):.3f} / "
        f"{base.get('ndcg_at_10', 0):.3f} | {f['calibration_ratio'] or 0:.3f} | {f['gate']} |"
    )


if __name__ == "__main__":
    main()
