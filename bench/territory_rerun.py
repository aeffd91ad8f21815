"""Time a one-département rerun (flow `territory-rerun`: score → publish) on the sample.

    python bench/territory_rerun.py [--territory dep:45] [--repeat 3] [--config FILE]

Without --config, generates the sample into a temporary folder and runs the nightly
flow once to build the warehouse (not timed). Then times `repeat` reruns and prints the
wall time of each, with each stage's share, and the median. The Prefect API is the
ephemeral one already started by the set-up run, as for an analyst's `ciblage rerun`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ciblage.config import write_relocated_config


def _sample_config(work: Path) -> Path:
    from ciblage.sample import generate

    sample = work / "sample"
    generate(sample, seed=42)
    return write_relocated_config(work / "ciblage.toml", sample, work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--territory", default="dep:45")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--config", type=Path, help="existing config with a built warehouse")
    args = parser.parse_args()

    from pipelines.nightly import nightly_flow, territory_rerun_flow

    with tempfile.TemporaryDirectory(prefix="ciblage-bench-") as tmp:
        cfg = args.config
        if cfg is None:
            t0 = time.perf_counter()
            cfg = _sample_config(Path(tmp))
            nightly_flow(config=str(cfg))
            print(f"set-up (sample + nightly run): {time.perf_counter() - t0:.1f} s")
        times = []
        for i in range(args.repeat):
            t0 = time.perf_counter()
            result = territory_rerun_flow(territory=args.territory, config=str(cfg))
            wall = time.perf_counter() - t0
            times.append(wall)
            stages = ", ".join(
                f"{name} {info.get('seconds', '?')} s" for name, info in result["stages"].items()
            )
            print(f"rerun {args.territory} #{i + 1}: {wall:.2f} s ({stages})")
        print(f"territory rerun {args.territory}: median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
