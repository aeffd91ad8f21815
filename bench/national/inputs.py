"""Generate (or reuse) one scale's inputs, and the files the second night changes.

`ensure_inputs` writes everything into `<work>/inputs-<scale>/` and finishes with a
`manifest.json` (volumes, seed, rows, seconds): a folder with a manifest for the same
volumes and seed is reused as it is, so that running the bench again measures the
pipeline, not the generator. A folder without one (an interrupted generation) is
rebuilt.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.national import AS_OF, SEED, Volumes
from bench.national.activity import (
    HiresFile,
    Model,
    OfferFiles,
    chunks,
    day,
    hires_table,
    months,
    offers_frame,
)
from bench.national.dpae import write_dpae
from bench.national.population import POPULATION, write_sirene
from ciblage.sample.referentials import load_referentials

MANIFEST = "manifest.json"
HIRES_CSV = Path("hires") / "embauches_siret.csv"


def inputs_dir(work: Path, vol: Volumes) -> Path:
    return work / f"inputs-{vol.scale:g}"


def _last_seen(as_of: dt.date) -> dt.datetime:
    return dt.datetime.combine(as_of, dt.time(0)) - dt.timedelta(seconds=1)


def generate(out: Path, vol: Volumes, seed: int = SEED) -> dict[str, Any]:
    """Every input of the first night into `out` (wiped first); returns the manifest."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    write_sirene(out, vol.establishments, seed)
    t_sirene = time.perf_counter() - t0
    ref = load_referentials(())
    model = Model(ref, out / POPULATION, vol)
    windows = months(AS_OF, vol.history_months)
    rng = np.random.default_rng([seed, 3])
    deps = sorted(set(model.com_dep.tolist()))
    dep_index = {d: i for i, d in enumerate(deps)}
    com_dep = np.array([dep_index[d] for d in model.com_dep])
    levels = np.zeros((len(deps), len(model.nafs)))
    hires, offers = HiresFile(out / HIRES_CSV), OfferFiles(out / "offres", windows)
    counters: dict[str, int] = {}
    active = 0
    for c in chunks(model, out / POPULATION, seed):
        active += len(c.rate)
        hires.write(hires_table(rng, model, c, windows))
        offers.write(offers_frame(rng, model, c, windows, counters, _last_seen(AS_OF)))
        np.add.at(levels, (com_dep[c.commune], c.naf), c.rate)
    hires.close()
    offers.close()
    write_dpae(out, ref, deps, model.nafs, levels, seed)
    manifest = {
        **vol.as_dict(),
        "seed": seed,
        "as_of": AS_OF.isoformat(),
        "establishments_active": active,
        "hires_rows": hires.rows,
        "offers_written": offers.rows,
        "seconds_sirene": round(t_sirene, 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def ensure_inputs(work: Path, vol: Volumes, seed: int = SEED) -> tuple[Path, dict[str, Any]]:
    """The inputs folder of these volumes, generated unless a complete one is there."""
    out = inputs_dir(work, vol)
    manifest = out / MANIFEST
    if manifest.is_file():
        found = json.loads(manifest.read_text(encoding="utf-8"))
        if found.get("seed") == seed and all(found.get(k) == v for k, v in vol.as_dict().items()):
            return out, {**found, "reused": True}
    return out, {**generate(out, vol, seed), "reused": False}


def day_offers(inputs: Path, folder: Path, vol: Volumes, when: dt.date, seed: int) -> Path:
    """The offers created on `when` (one day's harvest) as a new JSON-lines file."""
    ref = load_referentials(())
    model = Model(ref, inputs / POPULATION, vol)
    window = day(when)
    rng = np.random.default_rng([seed, 6])
    files = OfferFiles(folder, [window])
    counters: dict[str, int] = {}
    last = _last_seen(when + dt.timedelta(days=1))
    for c in chunks(model, inputs / POPULATION, seed):
        files.write(offers_frame(rng, model, c, [window], counters, last))
    files.close()
    return files.paths[0]
