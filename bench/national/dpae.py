"""URSSAF DPAE exports for all of France, from the national hires process.

The sample's writer (`ciblage.sample.dpae`) knows three départements and their anciennes
régions; here every département and région of the COG has rows. The cells and rows are
the sample's own functions (`_cells`, `_rows`), fed with one pseudo-establishment per
(département, NAF) whose expected hires are the sum of its establishments' rates, so
the exports keep the sample's seasonality, CDI share and field formats at national
volume. The ancienne région columns repeat the région (URSSAF's series predate 2016;
the pipeline reads the codes of the région and the département only).
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ciblage import formats
from ciblage.sample.dpae import NOT_IN_DPAE, _cells, _rows, load_sectors
from ciblage.sample.hiring import N_MONTHS, SEASON, sector_group
from ciblage.sample.referentials import Referentials
from ciblage.sample.sirene_files import csv_text

DEP_FILE = "dpae-par-departement-x-grand-secteur.csv"
REGION_FILE = "dpae-par-region-x-na38.csv"


def _pseudo(ref: Referentials, deps: list[str], nafs: list[str], levels: np.ndarray):
    """(establishments, hiring) shaped for `_cells`: one per (département, NAF) cell."""
    estabs, expected = [], []
    calendar = np.arange(N_MONTHS) % 12  # month 0 is January 2021
    for d, dep in enumerate(deps):
        for k, naf_dotted in enumerate(nafs):
            if levels[d, k] <= 0 or dep not in ref.departements:
                continue
            naf = ref.naf[naf_dotted.replace(".", "")]
            estabs.append(SimpleNamespace(naf=naf, commune=SimpleNamespace(dep=dep)))
            expected.append(levels[d, k] * SEASON[sector_group(naf.a21)][calendar])
    return estabs, SimpleNamespace(expected=np.array(expected))


def write_dpae(
    out: Path,
    ref: Referentials,
    deps: list[str],
    nafs: list[str],
    levels: np.ndarray,
    seed: int,
) -> dict[str, Path]:
    """Both exports; `levels[d, k]`: expected monthly hires of NAF k in département d."""
    d = out / "urssaf"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 4])
    sectors = load_sectors()
    estabs, hiring = _pseudo(ref, deps, nafs, levels)

    def dep_key(e):
        gs = sectors.grand_secteur(e.naf)
        return (e.commune.dep, gs) if gs and gs not in NOT_IN_DPAE else None

    def region(code: str) -> dict[str, str]:
        label = ref.regions[code]
        return {
            "region": label,
            "ancienne_region": label,
            "code_region": code,
            "code_ancienne_region": code,
        }

    def dep_describe(k) -> dict[str, str]:
        dep, gs = k
        reg, name = ref.departements[dep]
        return {
            **region(reg),
            "departement": name,
            "grand_secteur_d_activite": sectors.labels[("grand_secteur", gs)],
            "code_departement": dep,
        }

    cells = _cells(estabs, hiring, dep_key)
    fields = list(formats.DPAE_DEPARTEMENT_FIELDS)
    rows = _rows(rng, cells, dict.fromkeys(cells, 1.0), fields, dep_describe)
    dep_path = d / DEP_FILE
    dep_path.write_text(csv_text(fields, rows, ";"), encoding="utf-8")

    def reg_key(e):
        a38 = e.naf.a38
        return (ref.departements[e.commune.dep][0], a38) if a38 in sectors.gs_of_a38 else None

    def reg_describe(k) -> dict[str, str]:
        reg, a38 = k
        return {
            **region(reg),
            "grand_secteur_d_activite": sectors.labels[("grand_secteur", sectors.gs_of_a38[a38])],
            "secteur_na38": sectors.labels[("na38", a38)],
        }

    cells = _cells(estabs, hiring, reg_key)
    fields = list(formats.DPAE_REGION_NA38_FIELDS)
    rows = _rows(rng, cells, dict.fromkeys(cells, 1.0), fields, reg_describe)
    reg_path = d / REGION_FILE
    labels = [formats.DPAE_REGION_NA38_FIELDS[f] for f in fields]
    reg_path.write_text(csv_text(labels, rows, ";"), encoding="utf-8")
    return {"dpae_departement": dep_path, "dpae_region_na38": reg_path}


def revise_last_quarter(src: Path, dst: Path, seed: int) -> int:
    """URSSAF's next export: the last quarter's figures revised by a few per cent.

    Written to `dst` (a new file, never the source in place: the source may be a hard
    link to the generated inputs). Returns the rows revised.
    """
    with src.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header, body = rows[0], rows[1:]
    end = header.index("dernier_jour_du_trimestre")
    brut, cvs = header.index("dpae_brut"), header.index("dpae_cvs")
    last = max(r[end] for r in body)
    rng = np.random.default_rng([seed, 5])
    revised = 0
    for r in body:
        if r[end] == last:
            f = 1 + rng.uniform(-0.04, 0.04)
            r[brut] = str(round(int(r[brut]) * f))
            r[cvs] = f"{float(r[cvs]) * f:.1f}"
            revised += 1
    dst.unlink(missing_ok=True)
    dst.write_text(csv_text(header, body, ";"), encoding="utf-8")
    return revised
