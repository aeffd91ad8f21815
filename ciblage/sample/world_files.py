"""A world's files: the pipeline's inputs as known at the as-of date, and the truth after it.

The inputs are written by the sample's own writers (same official formats), then cut so
that nothing dated at or after the as-of date T leaks in: SIRENE is the stock as INSEE
would have published it at T (establishments created from T on are absent, closures from
T on not yet known), hires and offers cover [T - history, T), DPAE quarters end before T.
`truth/` holds what a bench needs to score the lists and no pipeline stage reads:

- `offres_siret_truth.csv`: the true establishment of every input offer;
- `hires_after_as_of.csv`: per (siret, code_rome), the hires of [T, T + horizon), the
  process's expected hires knowing its latent state at T (`true_rate`, what a perfect
  model could predict) and along the realised latent path (`expected_path`);
- `world.json` (written by `ciblage.sample.worlds`): the spec and the figures below.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np

from ciblage.sample.dpae import write_dpae
from ciblage.sample.establishments import Establishment, Unit
from ciblage.sample.files import write_hires, write_offers, write_truth
from ciblage.sample.hiring import HiringResult, month_index
from ciblage.sample.offers import PARIS, Offer
from ciblage.sample.referentials import Referentials
from ciblage.sample.sirene_files import csv_text, write_sirene

TRUTH_COLUMNS = ("siret", "code_rome", "hires", "true_rate", "expected_path")
MIN_RATE = 1e-4  # truth rows below this expected rate and without a hire are left out


def add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return dt.date(y, m + 1, 1)


def stock_at(
    as_of: dt.date, units: list[Unit], estabs: list[Establishment]
) -> tuple[list[Unit], list[Establishment]]:
    """SIRENE as published at `as_of`: no future establishment, no future closure."""
    kept_units: dict[str, Unit] = {}
    for u in units:
        if u.created < as_of:
            closed = u.closed if u.closed and u.closed < as_of else None
            kept_units[u.siren] = dataclasses.replace(u, closed=closed)
    out = []
    for e in estabs:
        if e.created >= as_of or e.unit.siren not in kept_units:
            continue
        closed = e.closed if e.closed and e.closed < as_of else None
        out.append(dataclasses.replace(e, unit=kept_units[e.unit.siren], closed=closed))
    return list(kept_units.values()), out


def _cut_dpae(path: Path, start: dt.date, as_of: dt.date) -> int:
    """Keep the quarters ending in [start, as_of); returns the rows kept."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header, body = rows[0], rows[1:]
    names = ("dernier_jour_du_trimestre", "Dernier jour du trimestre")
    col = next((i for i, h in enumerate(header) if h in names), None)
    if col is None:
        raise ValueError(f"{path}: no quarter end column among {header}")
    kept = [r for r in body if start.isoformat() <= r[col] < as_of.isoformat()]
    path.write_text(csv_text(header, kept, ";"), encoding="utf-8")
    return len(kept)


def _truth_rows(
    estabs: list[Establishment],
    hiring: HiringResult,
    ref: Referentials,
    t0: int,
    horizon: int,
) -> list[list[str]]:
    assert hiring.forecast is not None
    rate = hiring.forecast(t0, horizon).sum(axis=1)
    path = hiring.expected[:, t0 : t0 + horizon].sum(axis=1)
    hires: dict[tuple[int, str], int] = defaultdict(int)
    for i, t, rome, count, _ in hiring.records:
        if t0 <= t < t0 + horizon:
            hires[(i, rome)] += count
    rows = []
    for i, e in enumerate(estabs):
        for rome, share in ref.rome_shares[e.naf.code]:
            n = hires.get((i, rome), 0)
            if n or rate[i] * share >= MIN_RATE:
                r, p = rate[i] * share, path[i] * share
                rows.append([e.siret, rome, str(n), f"{r:.6g}", f"{p:.6g}"])
    rows.sort()
    return rows


def write_world(
    out: Path,
    as_of: dt.date,
    history_months: int,
    horizon: int,
    hires_file: bool,
    ref: Referentials,
    units: list[Unit],
    estabs: list[Establishment],
    hiring: HiringResult,
    offers: list[Offer],
    rngs: list[np.random.Generator],
) -> dict:
    """Inputs cut at `as_of` (history from `as_of - history_months`) and the truth."""
    out.mkdir(parents=True, exist_ok=True)
    start = add_months(as_of, -history_months)
    t0, t_start = month_index(as_of), max(0, month_index(start))
    if t0 + horizon > hiring.expected.shape[1]:
        raise ValueError(f"as_of {as_of} + {horizon} months is beyond the simulated calendar")
    stock_units, stock = stock_at(as_of, units, estabs)
    write_sirene(rngs[3], out, stock_units, stock)
    dpae = write_dpae(rngs[4], out, estabs, hiring, ref)
    dpae_rows = {name: _cut_dpae(p, start, as_of) for name, p in dpae.items()}
    past = [r for r in hiring.records if t_start <= r[1] < t0]
    if hires_file:
        write_hires(out, estabs, dataclasses.replace(hiring, records=past))
    lo = dt.datetime.combine(start, dt.time(0), tzinfo=PARIS)
    hi = dt.datetime.combine(as_of, dt.time(0), tzinfo=PARIS)
    inputs = [o for o in offers if lo <= o.created < hi]
    write_offers(out, inputs)
    write_truth(out, inputs)
    truth = _truth_rows(estabs, hiring, ref, t0, horizon)
    path = out / "truth" / "hires_after_as_of.csv"
    path.write_text(csv_text(TRUTH_COLUMNS, truth, ";"), encoding="utf-8")
    window = hiring.hires[:, t0 : t0 + horizon].sum(axis=1)
    alive_at_t = {e.siret for e in stock if e.closed is None}
    in_stock = np.array([e.siret in alive_at_t for e in estabs])
    return {
        "as_of": as_of.isoformat(),
        "history_start": start.isoformat(),
        "establishments_generated": len(estabs),
        "establishments_in_stock": len(stock),
        "establishments_active": len(alive_at_t),
        "hires_in_inputs": int(sum(r[3] for r in past)),
        "hires_file": hires_file,
        "offers_in_inputs": len(inputs),
        "offers_with_siret": sum(1 for o in inputs if "siret" in o.payload["entreprise"]),
        "dpae_rows": dpae_rows,
        "hires_after_as_of": int(window.sum()),
        "hires_after_as_of_active": int(window[in_stock].sum()),
        "max_hires_after_as_of_one_establishment": int(window[in_stock].max(initial=0)),
    }
