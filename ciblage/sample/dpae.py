"""URSSAF DPAE quarterly aggregates, as the Opendatasoft `;` exports, from the same process.

The sample holds only a subset of each territory's establishments, so the aggregates are
drawn from the process's expected hires scaled up (TERRITORY_SCALE), as if the rest of the
territory's employers hired the same way: DPAE volumes and trends agree with the per-SIRET
hires without being their exact sum.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ciblage import formats
from ciblage.config import PROJECT_ROOT
from ciblage.sample.establishments import Establishment
from ciblage.sample.hiring import CDI_SHARE, N_MONTHS, SEASON, HiringResult, sector_group
from ciblage.sample.referentials import Naf, Referentials
from ciblage.sample.sirene_files import csv_text

CDI, CDD = "CDI", "CDD de plus d'un mois"  # nature_de_contrat as URSSAF writes it
TERRITORY_SCALE = 20.0  # a département has ~20x the sample's employers in it
QUARTERS = [(y, q) for y in range(2021, 2027) for q in range(1, 5)][:23]  # 2021Q1..2026Q3
# Ancienne région (pre-2016) of each sample département and its number of départements:
# the region-level rows are per (région, ancienne région), like URSSAF's series.
ANCIENNE_REGION = {
    "45": ("24", "Centre"),
    "27": ("23", "Haute-Normandie"),
    "57": ("41", "Lorraine"),
}
DEPS_IN_ANCIENNE_REGION = {"24": 6, "23": 2, "41": 4}
# The sector values are written as URSSAF publishes them, code then label (« GS1
# Industrie », « CA Fabrication de denrées alimentaires, … »), from the same table the
# ingestion maps them with, so that the sample exercises the real parsing.
NOT_IN_DPAE = {"GS6"}  # intérim: the DPAE series cover the régime général hors intérim
SECTOR_TABLE = PROJECT_ROOT / "data" / "reference" / "dpae_secteurs.csv"


@dataclass(frozen=True)
class Sectors:
    """The DPAE sector table, as the generator needs it."""

    labels: dict[tuple[str, str], str]  # (nomenclature, code) -> "code label"
    gs_of_a38: dict[str, str]  # A38 -> grand secteur code
    gs_of_naf: dict[str, str]  # NAF sous-classes named in naf_inclus / naf_exclus -> code

    def grand_secteur(self, naf: Naf) -> str | None:
        return self.gs_of_naf.get(naf.code, self.gs_of_a38.get(naf.a38))


def load_sectors(path: Path = SECTOR_TABLE) -> Sectors:
    with path.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter=";") if r["role"] == "sector"]
    labels = {(r["nomenclature"], r["code"]): f"{r['code']} {r['libelle']}" for r in rows}
    gs_of_a38: dict[str, str] = {}
    gs_of_naf: dict[str, str] = {}
    for r in (r for r in rows if r["nomenclature"] == "grand_secteur"):
        gs_of_a38.update(dict.fromkeys(r["naf_a38"].split(), r["code"]))
        gs_of_naf.update(dict.fromkeys(r["naf_inclus"].split(), r["code"]))
    for r in (r for r in rows if r["nomenclature"] == "grand_secteur"):
        for naf in r["naf_exclus"].split():
            gs_of_naf.setdefault(naf, "")  # excluded and in no other grand secteur
    return Sectors(labels, gs_of_a38, gs_of_naf)


def _quarter_end(y: int, q: int) -> str:
    nxt = dt.date(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return (nxt - dt.timedelta(days=1)).isoformat()


def _cells(estabs: list[Establishment], hiring: HiringResult, key) -> dict:
    """Expected hires per (key, quarter) and the mean seasonal factor of each cell."""
    out: dict = {}
    for i, e in enumerate(estabs):
        k = key(e)
        if k is None:
            continue
        g = sector_group(e.naf.a21)
        acc = out.setdefault(
            k, {"lam": np.zeros(N_MONTHS), "season": np.zeros(N_MONTHS), "w": 0.0, "cdi": 0.0}
        )
        acc["lam"] += hiring.expected[i]
        acc["season"] += SEASON[g][np.arange(N_MONTHS) % 12] * hiring.expected[i].sum()
        acc["w"] += hiring.expected[i].sum()
        acc["cdi"] += CDI_SHARE[g] * hiring.expected[i].sum()
    return out


def cvs(brut: int, season: np.ndarray) -> str:
    """The seasonally adjusted count as URSSAF prints it: the raw count over the quarter's
    mean seasonal factor, one decimal. The factor is rounded first: numpy's sums differ by
    one ulp between CPUs (SIMD width), and a quotient on a printed tie (x.x5) then flipped
    a decimal of the shipped sample."""
    return f"{brut / round(float(season.mean()), 9):.1f}"


def _rows(
    rng: np.random.Generator, cells: dict, scale: dict, fields: list[str], describe
) -> list[list[str]]:
    rows = []
    for k in sorted(cells):
        acc = cells[k]
        if acc["w"] <= 0:
            continue
        season = acc["season"] / acc["w"]
        cdi_share = acc["cdi"] / acc["w"]
        for y, q in QUARTERS:
            m0 = (y - 2021) * 12 + 3 * (q - 1)
            lam = acc["lam"][m0 : m0 + 3].sum() * scale[k]
            for nature, share in ((CDI, cdi_share), (CDD, 1 - cdi_share)):
                brut = int(rng.poisson(lam * share))
                values = {
                    **describe(k),
                    "duree_de_contrat": "Plus d'un mois",
                    "nature_de_contrat": nature,
                    "annee": str(y),
                    "trimestre": f"T{q}",
                    "dernier_jour_du_trimestre": _quarter_end(y, q),
                    "dpae_brut": str(brut),
                    "dpae_cvs": cvs(brut, season[m0 : m0 + 3]),
                }
                rows.append([values[f] for f in fields])
    return rows


def write_dpae(
    rng: np.random.Generator,
    out: Path,
    estabs: list[Establishment],
    hiring: HiringResult,
    ref: Referentials,
) -> dict[str, Path]:
    d = out / "urssaf"
    d.mkdir(parents=True, exist_ok=True)
    sectors = load_sectors()

    def dep_key(e: Establishment):
        gs = sectors.grand_secteur(e.naf)
        return (e.commune.dep, gs) if gs and gs not in NOT_IN_DPAE else None

    def dep_describe(k) -> dict[str, str]:
        dep, gs = k
        reg = ref.departements[dep][0]
        code_anc, anc = ANCIENNE_REGION[dep]
        return {
            "region": ref.regions[reg],
            "ancienne_region": anc,
            "departement": ref.departements[dep][1],
            "grand_secteur_d_activite": sectors.labels[("grand_secteur", gs)],
            "code_region": reg,
            "code_ancienne_region": code_anc,
            "code_departement": dep,
        }

    dep_cells = _cells(estabs, hiring, dep_key)
    fields = list(formats.DPAE_DEPARTEMENT_FIELDS)
    dep_rows = _rows(
        rng, dep_cells, dict.fromkeys(dep_cells, TERRITORY_SCALE), fields, dep_describe
    )
    p1 = d / "dpae-par-departement-x-grand-secteur.csv"
    p1.write_text(csv_text(fields, dep_rows, ";"), encoding="utf-8")

    # Region level: each sample département stands for its whole ancienne région; NA38
    # sectors of the régime général (those in a grand secteur: not agriculture, not UZ).
    def reg_key(e: Establishment):
        a38 = e.naf.a38
        dep = e.commune.dep
        return (ref.departements[dep][0], dep, a38) if a38 in sectors.gs_of_a38 else None

    reg_cells = _cells(estabs, hiring, reg_key)
    scale = {
        k: TERRITORY_SCALE * DEPS_IN_ANCIENNE_REGION[ANCIENNE_REGION[k[1]][0]] for k in reg_cells
    }

    def reg_describe(k) -> dict[str, str]:
        reg, dep, a38 = k
        code_anc, anc = ANCIENNE_REGION[dep]
        return {
            "region": ref.regions[reg],
            "ancienne_region": anc,
            "grand_secteur_d_activite": sectors.labels[("grand_secteur", sectors.gs_of_a38[a38])],
            "secteur_na38": sectors.labels[("na38", a38)],
            "code_region": reg,
            "code_ancienne_region": code_anc,
        }

    reg_fields = list(formats.DPAE_REGION_NA38_FIELDS)
    reg_rows = _rows(rng, reg_cells, scale, reg_fields, reg_describe)
    labels = [formats.DPAE_REGION_NA38_FIELDS[f] for f in reg_fields]
    p2 = d / "dpae-par-region-x-na38.csv"
    p2.write_text(csv_text(labels, reg_rows, ";"), encoding="utf-8")
    return {"dpae_departement": p1, "dpae_region_na38": p2}
