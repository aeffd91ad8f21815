"""Time the real `ciblage rerun -t dep:45` on the sample, and say where the seconds go.

    python bench/territory_rerun.py [--territory dep:45] [--repeat 3] [--config FILE]

Without --config, generates the sample into a temporary folder and runs `ciblage run`
once to build the warehouse and publish a first run (not timed). Then runs the command
`repeat` times, each in a fresh process exactly as an analyst types it (interpreter
start-up, imports, the Prefect server, the flows, the last line), and prints the wall
time of each, the medians of the runs that started the shared Prefect server and of
those that reused it (see ciblage.prefect_api; `--temporary` gives each command its own,
stopped at its end), and for each median run where its seconds went:
imports, Prefect's temporary server (start, stop, logs and events drained at exit), the
score stage (features, prediction, tables), the publish stage (follow-up refresh,
ranking, carried-over territories, targets file, agency files, site index, gates and
switch), and what is left: Prefect's flow and task engine (API calls) and the rest.

The breakdown comes from timers wrapped around named functions inside the command's
process (`PROBE` below); a function that a refactoring renamed is listed as not found
rather than failing the bench.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (label, module, attribute, parent label): the timed phases, indented under their parent
PHASES = [
    ("imports: ciblage.cli", "", "", None),
    ("preflight (config, territory)", "ciblage.cli", "preflight", None),
    ("spawn prefect server (early)", "", "", None),
    ("imports: flows (prefect, polars, scikit-learn...)", "", "", None),
    ("wait for the prefect server", "", "", None),
    ("territory-rerun flow", "", "", None),
    (
        "prefect server start",
        "prefect.server.api.server",
        "SubprocessASGIServer.start",
        "territory-rerun flow",
    ),
    ("score flow", "pipelines.score", "score_flow", "territory-rerun flow"),
    ("model lookup (registry)", "pipelines.score", "registered_model", "score flow"),
    ("load model", "pipelines.score", "load_model", "score flow"),
    ("territory scope", "pipelines.score", "territory_scope", "score flow"),
    ("features", "pipelines.score", "build_features", "score flow"),
    ("prediction", "pipelines.score", "predict_to_raw", "score flow"),
    ("score tables", "pipelines.score", "write_tables", "score flow"),
    ("feature coverage", "pipelines.score", "record_feature_coverage", "score flow"),
    ("publish flow", "pipelines.publish", "publish_flow", "territory-rerun flow"),
    ("follow-up + impact report", "pipelines.publish", "refresh_followup_outputs", "publish flow"),
    ("ranking", "pipelines.publish", "rank", "publish flow"),
    ("list files (COPY per partition)", "pipelines.publish", "copy_targets", "ranking"),
    ("agency inputs", "pipelines.publish", "write_agency_inputs", "ranking"),
    ("carry over other territories", "pipelines.publish", "carry_over", "publish flow"),
    ("targets summary", "pipelines.publish", "targets_summary", "publish flow"),
    ("sources note", "pipelines.publish", "write_sources_note", "publish flow"),
    ("validate targets", "pipelines.publish", "validate_targets", "publish flow"),
    ("ranking note", "pipelines.publish", "write_ranking_note", "publish flow"),
    ("agency files (CSV, XLSX, pages)", "pipelines.publish", "write_agency", "publish flow"),
    ("site index", "pipelines.publish", "write_index", "publish flow"),
    ("gates, run report, latest switch", "pipelines.publish", "publish_run", "publish flow"),
    ("last line (logs drained, server stopped)", "", "", None),
    (
        "logs drained",
        "prefect.logging.handlers",
        "APILogWorker.drain_all",
        "last line (logs drained, server stopped)",
    ),
    (
        "events drained",
        "prefect.events.worker",
        "EventsWorker.drain_all",
        "last line (logs drained, server stopped)",
    ),
    ("prefect server stop", "prefect.server.api.server", "SubprocessASGIServer.stop", None),
    (
        "prefect server stop (early)",
        "ciblage.prefect_api",
        "stop",
        "last line (logs drained, server stopped)",
    ),
]

PROBE = r"""
import functools, inspect, json, os, sys, time
t_start = time.time()
out, argv, phases = sys.argv[1], sys.argv[2:], json.loads(os.environ["CIBLAGE_BENCH_PHASES"])
spent, counts, missing = {}, {}, []

def timed(label, fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0
            counts[label] = counts.get(label, 0) + 1
    return wrapper

class Timed:
    # a module-level object (function or Prefect flow) timed when called; its other
    # attributes pass through, and `with_options` gives a timed copy

    def __init__(self, label, obj):
        self._label, self._obj = label, obj

    def __call__(self, *a, **k):
        return timed(self._label, self._obj)(*a, **k)

    def __getattr__(self, name):
        if name.startswith("_"):  # copies and pickles look for these before __init__
            raise AttributeError(name)
        value = getattr(self._obj, name)
        if name == "with_options":
            return lambda *a, **k: Timed(self._label, value(*a, **k))
        return value

patched = set()

def patch():
    # never imports: the command's own imports and their order are what is measured
    for label, module, attr, _ in phases:
        if not module or label in patched or module not in sys.modules:
            continue
        owner = sys.modules[module]
        try:
            *path, name = attr.split(".")
            for p in path:
                owner = getattr(owner, p)
            obj = getattr(owner, name)
            # methods must stay functions to bind; a flow keeps its attributes
            wrap = timed if path or inspect.isfunction(obj) else Timed
            setattr(owner, name, wrap(label, obj))
            patched.add(label)
        except AttributeError:
            pass

IMPORTS = "imports: flows (prefect, polars, scikit-learn...)"
t0 = time.perf_counter()
import ciblage.cli
spent["imports: ciblage.cli"] = time.perf_counter() - t0
marks = {}
if hasattr(ciblage.cli, "start_early"):  # the server starts before the flows' imports
    real_start, real_wait = ciblage.cli.start_early, ciblage.cli.wait_ready

    def start_early():
        t0 = time.perf_counter()
        server = None
        try:
            server = real_start()
            return server
        finally:
            marks["started"] = time.perf_counter()
            marks["server"] = "reused" if server and server.process is None else "started"
            spent["spawn prefect server (early)"] = marks["started"] - t0

    def wait_ready():
        t0 = time.perf_counter()
        # the command imported what it needs before waiting (not the score stage's
        # modules when a rerun does not score: importing them here would time them)
        spent[IMPORTS] = time.perf_counter() - marks.get("started", t0)
        patch()
        t1 = time.perf_counter()
        try:
            return real_wait()
        finally:
            marks["ready"] = time.perf_counter()
            spent["wait for the prefect server"] = marks["ready"] - t1

    ciblage.cli.start_early, ciblage.cli.wait_ready = start_early, wait_ready
else:  # Prefect starts its own server, inside the flow
    t0 = time.perf_counter()
    import pipelines.nightly, pipelines.score, pipelines.publish
    import prefect.server.api.server
    spent[IMPORTS] = time.perf_counter() - t0
    real_preflight = ciblage.cli.preflight

    def preflight(*a, **k):  # the flow starts right after the checks
        try:
            return real_preflight(*a, **k)
        finally:
            marks["ready"] = time.perf_counter()

    ciblage.cli.preflight = preflight
patch()
real_last_words = ciblage.cli.last_words

def last_words(*a, **k):
    t0 = time.perf_counter()
    if "ready" in marks:  # the flow ran between the server's answer and the last line
        spent["territory-rerun flow"] = t0 - marks["ready"]
    try:
        return real_last_words(*a, **k)
    finally:
        spent["last line (logs drained, server stopped)"] = time.perf_counter() - t0

ciblage.cli.last_words = last_words

def dump():
    missing = [p[0] for p in phases if p[1] and p[0] not in patched]
    with open(out, "w") as f:
        json.dump({"t_start": t_start, "t_end": time.time(), "spent": spent,
                   "counts": counts, "missing": missing, "server": marks.get("server")}, f)

import atexit
def atexit_last():  # registered first, so it runs after every other exit hook
    with open(out + ".atexit", "w") as f:
        f.write(str(time.time()))

atexit.register(atexit_last)
atexit.register(dump)
sys.argv = ["ciblage", *argv]
ciblage.cli.app()
"""


def _sample_config(work: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from ciblage.config import write_relocated_config
    from ciblage.sample import generate

    sample = work / "sample"
    generate(sample, seed=42)
    return write_relocated_config(work / "ciblage.toml", sample, work)


def _timed_rerun(cfg: Path, territory: str, work: Path) -> dict:
    out = work / "probe.json"
    args = ["rerun", "-t", territory, "-c", str(cfg)]
    env = {**os.environ, "CIBLAGE_BENCH_PHASES": json.dumps(PHASES)}
    t0 = time.time()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.time() - t0
    if done.returncode not in (0, 3):
        raise SystemExit(f"rerun failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    probe = json.loads(out.read_text())
    probe["wall"] = wall
    probe["interpreter start-up"] = probe["t_start"] - t0
    hooks_done = float(Path(str(out) + ".atexit").read_text())
    probe["exit hooks"] = hooks_done - probe["t_end"]  # Prefect's and others' atexit
    probe["teardown"] = t0 + wall - hooks_done  # threads joined, modules freed
    probe["last_line"] = done.stdout.strip().splitlines()[-1]
    return probe


def _depth(label: str | None) -> int:
    parents = {p[0]: p[3] for p in PHASES}
    depth = 0
    while label is not None:
        label, depth = parents.get(label), depth + 1
    return depth


def _report(run: dict) -> None:
    spent, counts = run["spent"], run["counts"]
    print(f"  {'interpreter start-up':<56} {run['interpreter start-up']:6.2f} s")
    accounted = run["interpreter start-up"] + run["exit hooks"] + run["teardown"]
    for label, _, _, parent in PHASES:
        if label not in spent:
            continue
        n = counts.get(label, 1)
        name = "  " * _depth(parent) + label + (f" ({n} calls)" if n > 1 else "")
        print(f"  {name:<56} {spent[label]:6.2f} s")
        if parent is None:
            accounted += spent[label]
        children = [p[0] for p in PHASES if p[3] == label and p[0] in spent]
        if children:
            rest = spent[label] - sum(spent[c] for c in children)
            name = "  " * (_depth(parent) + 1) + "(Prefect engine, API calls, untimed)"
            print(f"  {name:<56} {rest:6.2f} s  <- {label}")
    print(f"  {'exit hooks (atexit)':<56} {run['exit hooks']:6.2f} s")
    print(f"  {'interpreter teardown':<56} {run['teardown']:6.2f} s")
    print(f"  {'other (outside the timed phases)':<56} {run['wall'] - accounted:6.2f} s")
    if run["missing"]:
        print(f"  not timed (not loaded, or renamed): {', '.join(run['missing'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--territory", default="dep:45")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--config", type=Path, help="existing config with a built warehouse")
    parser.add_argument(
        "--temporary",
        action="store_true",
        help="a Prefect server per command, as Prefect's own (CIBLAGE_PREFECT_IDLE_MINUTES=0)",
    )
    args = parser.parse_args()
    if args.temporary:
        os.environ["CIBLAGE_PREFECT_IDLE_MINUTES"] = "0"

    with tempfile.TemporaryDirectory(prefix="ciblage-bench-") as tmp:
        work = Path(tmp)
        cfg = args.config
        if cfg is None:
            t0 = time.perf_counter()
            cfg = _sample_config(work)
            subprocess.run(
                [sys.executable, "-m", "ciblage.cli", "run", "-c", str(cfg)],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            print(f"set-up (sample + `ciblage run`): {time.perf_counter() - t0:.1f} s")
        runs = []
        for i in range(args.repeat):
            run = _timed_rerun(cfg, args.territory, work)
            runs.append(run)
            print(
                f"`ciblage rerun -t {args.territory}` #{i + 1}: {run['wall']:.2f} s wall "
                f"(Prefect server {run.get('server') or 'not started early'})"
            )
        print(f"load average {os.getloadavg()[0]:.1f}")
        for kind in ("started", "reused", None):
            group = [r for r in runs if r.get("server") == kind]
            if not group:
                continue
            median = sorted(group, key=lambda r: r["wall"])[len(group) // 2]
            print(
                f"server {kind or 'not started early'}: median "
                f"{statistics.median(r['wall'] for r in group):.2f} s wall over {len(group)} "
                "run(s); breakdown of the median run:"
            )
            _report(median)
            print(f"last line: {median['last_line']}")


if __name__ == "__main__":
    main()
