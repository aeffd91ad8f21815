"""Real-format sample for 3 départements (Loiret, Eure, Moselle) with a known hiring process.

`generate(out_dir, seed)` writes SIRENE stock files, DPAE aggregates, job offers, per-SIRET
hires, the offers' true SIRET and a README; the same seed gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ciblage.sample.dpae import write_dpae
from ciblage.sample.establishments import generate_population
from ciblage.sample.files import write_hires, write_offers, write_truth
from ciblage.sample.hiring import simulate
from ciblage.sample.offers import draw_offers
from ciblage.sample.promotions import write_promotions
from ciblage.sample.readme import write_readme
from ciblage.sample.referentials import load_referentials
from ciblage.sample.sirene_files import write_sirene

ESTABLISHMENTS_PER_DEP = {"45": 3100, "27": 2700, "57": 3500}


def generate(out_dir: Path, seed: int = 42) -> dict[str, Path]:
    """Write the whole sample into `out_dir`; returns name -> path of every file written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref = load_referentials(tuple(ESTABLISHMENTS_PER_DEP))
    # Independent streams per stage: changing one stage does not reshuffle the others.
    streams = np.random.SeedSequence(seed).spawn(7)
    rngs = [np.random.default_rng(s) for s in streams]
    units, estabs = generate_population(rngs[0], ref, ESTABLISHMENTS_PER_DEP)
    hiring = simulate(rngs[1], estabs, ref)
    offers = draw_offers(rngs[2], estabs, hiring, ref)
    written: dict[str, Path] = {}
    written.update(write_sirene(rngs[3], out_dir, units, estabs))
    written.update(write_dpae(rngs[4], out_dir, estabs, hiring, ref))
    written["hires_siret"] = write_hires(out_dir, estabs, hiring)
    written.update(write_offers(out_dir, offers))
    written["truth"] = write_truth(out_dir, offers)
    written["promotions"] = write_promotions(rngs[6], out_dir, estabs, hiring, ref)
    written["readme"] = write_readme(out_dir, seed, units, estabs, hiring, offers)
    return written
