"""Real referentials the generator draws from (COG communes, postal codes, NAF, ROME).

The sample must use genuine codes so that joins with the shipped referentials work the
same way as in production; everything random is built on top of these tables.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field

from ciblage.config import PROJECT_ROOT

REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"

# Largest towns of the three départements (approximate population, thousands): they get
# proportionally more establishments; other communes share a small uniform weight.
TOWN_WEIGHTS: dict[str, dict[str, float]] = {
    "45": {
        "Orléans": 117,
        "Olivet": 22,
        "Fleury-les-Aubrais": 21,
        "Saint-Jean-de-Braye": 21,
        "Montargis": 14,
        "Saran": 16,
        "Saint-Jean-de-la-Ruelle": 16,
        "Gien": 14,
        "Pithiviers": 9,
        "Amilly": 13,
        "Saint-Jean-le-Blanc": 9,
        "Châlette-sur-Loing": 12,
    },
    "27": {
        "Évreux": 47,
        "Vernon": 24,
        "Louviers": 18,
        "Val-de-Reuil": 13,
        "Les Andelys": 8,
        "Bernay": 10,
        "Gisors": 12,
        "Pont-Audemer": 9,
        "Gaillon": 7,
        "Verneuil d'Avre et d'Iton": 8,
    },
    "57": {
        "Metz": 120,
        "Thionville": 41,
        "Montigny-lès-Metz": 21,
        "Forbach": 21,
        "Sarreguemines": 21,
        "Yutz": 17,
        "Saint-Avold": 15,
        "Hayange": 16,
        "Woippy": 14,
        "Creutzwald": 13,
        "Sarrebourg": 12,
        "Fameck": 13,
    },
}
SMALL_COMMUNE_WEIGHT = 0.8


@dataclass(frozen=True)
class Commune:
    code: str
    dep: str
    reg: str
    name: str  # official label with accents ("Orléans")
    ncc: str  # upper case without accents, as SIRENE writes it ("ORLEANS")
    postal_code: str
    lat: float
    lon: float
    weight: float


@dataclass(frozen=True)
class Naf:
    code: str  # "4711F"
    label: str
    division: str  # "47"
    a38: str  # "GZ"
    a21: str  # "G"

    @property
    def dotted(self) -> str:
        return f"{self.code[:2]}.{self.code[2:]}"


@dataclass
class Referentials:
    communes: dict[str, list[Commune]]  # by département
    naf: dict[str, Naf]
    naf_hirings: dict[str, int]  # total real hirings per NAF (DPAE 2016-2017)
    rome_shares: dict[str, list[tuple[str, float]]]  # NAF -> [(ROME v3, share)]
    rome_labels: dict[str, str]
    appellations: dict[str, list[str]] = field(default_factory=dict)  # ROME v3 -> labels
    tranches: dict[str, str] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)
    departements: dict[str, tuple[str, str]] = field(default_factory=dict)  # dep -> (reg, name)


def _read_csv(name: str, delimiter: str = ",") -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def load_communes(deps: tuple[str, ...]) -> dict[str, list[Commune]]:
    """Communes of the COG with a La Poste postal code and coordinates (others skipped)."""
    postal: dict[str, tuple[str, float, float]] = {}
    for row in sorted(_read_csv("laposte_hexasmal.csv", ";"), key=lambda r: r["Code_postal"]):
        code, gps = row["Code_commune_INSEE"], row["coordonnees_gps"].strip()
        if code[:2] in deps and gps and code not in postal:
            lat, lon = (float(v) for v in gps.split(","))
            postal[code] = (row["Code_postal"], lat, lon)
    out: dict[str, list[Commune]] = {d: [] for d in deps}
    for row in _read_csv("communes.csv"):
        if row["TYPECOM"] != "COM" or row["DEP"] not in deps or row["COM"] not in postal:
            continue
        cp, lat, lon = postal[row["COM"]]
        weight = TOWN_WEIGHTS[row["DEP"]].get(row["LIBELLE"], SMALL_COMMUNE_WEIGHT)
        out[row["DEP"]].append(
            Commune(
                row["COM"], row["DEP"], row["REG"], row["LIBELLE"], row["NCC"], cp, lat, lon, weight
            )
        )
    for d in deps:
        out[d].sort(key=lambda c: c.code)
    return out


_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def load_naf() -> dict[str, Naf]:
    """NAF sous-classes with their A38/A21 aggregates, parsed from the INSEE SQL dump."""
    naf: dict[str, Naf] = {}
    text = (REFERENCE_DIR / "naf_data.sql").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.startswith("("):
            continue
        vals = [v.replace("''", "'") for v in _QUOTED.findall(line)]
        if len(vals) != 10 or not re.fullmatch(r"\d{4}[A-Z]", vals[0]):
            continue
        code, label = vals[0], vals[1]
        naf[code] = Naf(code, label, code[:2], vals[7], vals[8])
    return naf


def load_rome_naf() -> tuple[dict[str, int], dict[str, list[tuple[str, float]]], dict[str, str]]:
    """Real NAF x ROME hirings: per-NAF totals, per-NAF ROME shares, ROME labels."""
    per_naf: dict[str, dict[str, int]] = {}
    labels: dict[str, str] = {}
    for row in _read_csv("rome_naf_mapping.raw.csv"):
        n = int(row["hirings"])
        if n <= 0:
            continue
        per_naf.setdefault(row["naf_id"], {})[row["rome_id"]] = n
        labels[row["rome_id"]] = row["rome_label"]
    totals = {k: sum(v.values()) for k, v in per_naf.items()}
    shares: dict[str, list[tuple[str, float]]] = {}
    for naf, romes in per_naf.items():
        ranked = sorted(romes.items(), key=lambda kv: (-kv[1], kv[0]))
        kept, acc = [], 0
        for rome, n in ranked:  # the ROMEs covering 90 % of the NAF's hirings, at most 12
            kept.append((rome, n))
            acc += n
            if acc >= 0.9 * totals[naf] or len(kept) == 12:
                break
        s = sum(n for _, n in kept)
        shares[naf] = [(r, n / s) for r, n in kept]
    return totals, shares, labels


def load_appellations() -> dict[str, list[str]]:
    """ROME v3 parent code -> job titles (ROME 4.60 appellations)."""
    out: dict[str, list[str]] = {}
    for row in _read_csv("unix_referentiel_appellation_v460_utf8.csv"):
        if row["peu_usite"] == "O":
            continue
        out.setdefault(row["code_rome_parent"], []).append(row["libelle_appellation_court"])
    for v in out.values():
        v.sort()
    return out


def load_referentials(deps: tuple[str, ...]) -> Referentials:
    totals, shares, labels = load_rome_naf()
    tranches = json.loads((REFERENCE_DIR / "tranches-effectifs.json").read_text(encoding="utf-8"))
    regions = {r["REG"]: r["LIBELLE"] for r in _read_csv("regions.csv")}
    departements = {r["DEP"]: (r["REG"], r["LIBELLE"]) for r in _read_csv("departements.csv")}
    return Referentials(
        communes=load_communes(deps),
        naf=load_naf(),
        naf_hirings=totals,
        rome_shares=shares,
        rome_labels=labels,
        appellations=load_appellations(),
        tranches=tranches,
        regions=regions,
        departements=departements,
    )
