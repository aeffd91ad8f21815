"""Scenario worlds: the sample generator with the shape of the world as parameters.

One shipped sample cannot tell whether a model holds on data it was not built on (issue
10). A world varies what changes between deployments: how many establishments and
where (thin territories), how many months of data exist before the as-of date, whether
per-SIRET hires are available, how often employers advertise and give their SIRET, the
dynamics (stable / trending / seasonal / bursty), new establishments staffing up at
opening, heavy-tailed sizes, and the hiring process itself (log-linear intensity or
recruiting regimes with turnover, two different functional forms). Each world writes the
pipeline's inputs in the official formats, cut at its as-of date, and `truth/` with
what happened next (`ciblage.sample.world_files`).

    python -m ciblage.sample.worlds --list
    python -m ciblage.sample.worlds --world regime-bursty --out /tmp/w [--scale 0.1]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ciblage.sample.establishments import ALL_BANDS, BAND_FREQ, generate_population
from ciblage.sample.hiring import BASE_BY_BAND, Dynamics, HiringResult, month_index, simulate
from ciblage.sample.offers import PARIS, Posting, draw_offers
from ciblage.sample.referentials import load_referentials
from ciblage.sample.regime import RegimeShape, simulate_regime
from ciblage.sample.world_files import write_world

Process = Literal["loglinear", "regime"]
Shape = Literal["stable", "trending", "seasonal", "bursty"]
HORIZON_MONTHS = 6  # the truth window: the pipeline's default horizon
# Heavy tails: more large sites and the INSEE bands 2,000+ (51, 52, 53) the sample lacks.
HEAVY_BAND_FREQ = np.array(
    [30, 9, 20, 13, 9, 8, 5.5, 2.3, 1.3, 0.5, 0.6, 0.35, 0.2, 0.1, 0.04, 0.02]
)
HEAVY_BASE = {**BASE_BY_BAND, "51": 26.0, "52": 50.0, "53": 90.0}


@dataclass(frozen=True)
class WorldSpec:
    """Everything that defines a world; the same spec and seed give the same files."""

    name: str
    seed: int
    per_dep: dict[str, int] = field(default_factory=lambda: {"45": 11500, "27": 9500, "57": 10500})
    as_of: dt.date = dt.date(2026, 5, 1)
    history_months: int = 30
    process: Process = "loglinear"
    shape: Shape = "stable"
    hires_file: bool = True
    publish_scale: float = 1.0  # x the sample's share of hires advertised
    siret_shown: float = 0.25  # share of offers carrying entreprise.siret
    opening: bool = False  # new establishments hire at opening
    heavy_tail: bool = False

    def scaled(self, factor: float) -> WorldSpec:
        """The same world with `factor` x the establishments (CI-sized worlds)."""
        per_dep = {d: max(50, int(n * factor)) for d, n in self.per_dep.items()}
        return dataclasses.replace(self, per_dep=per_dep)

    @property
    def n_establishments(self) -> int:
        return sum(self.per_dep.values())

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["as_of"] = self.as_of.isoformat()
        return d


# The bench's worlds: both processes, both label modes, 18/30/60 months of history,
# every dynamic, heavy tails, thin territories, few / many offers, few SIRETs on offers.
_THIN = {"45": 26700, "27": 4000, "57": 900}
WORLDS: dict[str, WorldSpec] = {
    w.name: w
    for w in (
        WorldSpec("loglin-stable-30", 101, history_months=30),
        WorldSpec(
            "loglin-seasonal-60",
            102,
            history_months=60,
            shape="seasonal",
            as_of=dt.date(2026, 3, 1),
        ),
        WorldSpec(
            "loglin-bursty-18-heavy", 103, history_months=18, shape="bursty", heavy_tail=True
        ),
        WorldSpec(
            "loglin-trending-thin-offers",
            104,
            per_dep=_THIN,
            shape="trending",
            hires_file=False,
            publish_scale=1.6,
            siret_shown=0.6,
            opening=True,
        ),
        WorldSpec("regime-stable-60", 201, history_months=60, process="regime", opening=True),
        WorldSpec(
            "regime-bursty-30-heavy",
            202,
            process="regime",
            shape="bursty",
            heavy_tail=True,
            as_of=dt.date(2026, 4, 1),
        ),
        WorldSpec(
            "regime-seasonal-18-thin",
            203,
            per_dep=_THIN,
            history_months=18,
            process="regime",
            shape="seasonal",
            opening=True,
        ),
        WorldSpec(
            "regime-trending-offers",
            204,
            process="regime",
            shape="trending",
            hires_file=False,
            publish_scale=0.6,
            siret_shown=0.1,
            heavy_tail=True,
        ),
    )
}


def _dynamics(spec: WorldSpec) -> Dynamics:
    base = HEAVY_BASE if spec.heavy_tail else None
    common = dict(size_base=base, opening_all=spec.opening)
    return {
        "stable": Dynamics(trend_scale=0.0, season_power=0.5, **common),
        "trending": Dynamics(trend_scale=2.5, trend_origin=month_index(spec.as_of), **common),
        "seasonal": Dynamics(season_power=2.5, **common),
        "bursty": Dynamics(ar_rho=0.5, ar_sigma=0.9, **common),
    }[spec.shape]


def _regime(spec: WorldSpec) -> RegimeShape:
    opening = 0.6 if spec.opening else 0.0
    return {
        "stable": RegimeShape(trend_scale=0.0, season_power=0.5, opening=opening),
        "trending": RegimeShape(trend_scale=2.5, opening=opening),
        "seasonal": RegimeShape(season_power=2.5, opening=opening),
        "bursty": RegimeShape(off=0.7, batch_scale=2.5, opening=opening),
    }[spec.shape]


def simulate_world(
    spec: WorldSpec,
) -> tuple[object, list, list, HiringResult, list, list[np.random.Generator]]:
    """(referentials, units, establishments, hiring, offers, rngs) of the whole calendar."""
    ref = load_referentials(tuple(spec.per_dep))
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(7)]
    freq = HEAVY_BAND_FREQ if spec.heavy_tail else BAND_FREQ
    assert len(freq) <= len(ALL_BANDS)
    units, estabs = generate_population(rngs[0], ref, spec.per_dep, freq)
    if spec.process == "regime":
        hiring = simulate_regime(rngs[1], estabs, ref, _regime(spec))
    else:
        hiring = simulate(rngs[1], estabs, ref, _dynamics(spec))
    cutoff = dt.datetime.combine(spec.as_of, dt.time(0), tzinfo=PARIS) - dt.timedelta(hours=1)
    posting = Posting(spec.publish_scale, spec.siret_shown, cutoff)
    offers = draw_offers(rngs[2], estabs, hiring, ref, posting)
    return ref, units, estabs, hiring, offers, rngs


def generate_world(spec: WorldSpec, out_dir: Path) -> dict:
    """Write the world's inputs and truth into `out_dir`; returns its summary (world.json)."""
    started = time.perf_counter()
    ref, units, estabs, hiring, offers, rngs = simulate_world(spec)
    summary = write_world(
        Path(out_dir), spec.as_of, spec.history_months, HORIZON_MONTHS, spec.hires_file,
        ref, units, estabs, hiring, offers, rngs,
    )  # fmt: skip
    summary = {"spec": spec.to_json(), **summary}
    summary["seconds"] = round(time.perf_counter() - started, 1)
    (Path(out_dir) / "truth" / "world.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", choices=sorted(WORLDS), help="world to generate")
    parser.add_argument("--out", type=Path, help="folder to write the world into")
    parser.add_argument("--scale", type=float, default=1.0, help="x the establishments")
    parser.add_argument("--list", action="store_true", help="list the worlds and exit")
    args = parser.parse_args(argv)
    if args.list or not args.world:
        for w in WORLDS.values():
            print(json.dumps(w.to_json(), ensure_ascii=False))
        return
    spec = WORLDS[args.world] if args.scale == 1.0 else WORLDS[args.world].scaled(args.scale)
    summary = generate_world(spec, args.out or Path(spec.name))
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
