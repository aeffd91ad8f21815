"""Legal units and establishments: a realistic SIRENE population for a few départements.

Sector mix follows the real hirings per NAF (DPAE 2016-2017, flattened), headcount bands
are skewed small with a sector-dependent shift, and the population carries the cases the
pipeline must handle: closed establishments, non-diffusible ones (statut P), natural
persons, multi-establishment companies across départements.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ciblage.sample import names
from ciblage.sample.luhn import make_siren, make_siret
from ciblage.sample.referentials import Commune, Naf, Referentials

# SIRENE headcount bands, their ordinal rank and base frequency (skewed small).
BANDS = ("NN", "00", "01", "02", "03", "11", "12", "21", "22", "31", "32", "41", "42")
BAND_FREQ = np.array([30, 9, 20, 13, 9, 8, 5.5, 2.3, 1.3, 0.35, 0.35, 0.12, 0.05])
# INSEE also codes 2,000-4,999 (51), 5,000-9,999 (52) and 10,000+ (53): only heavy-tailed
# scenario worlds draw them (the shipped sample stops at 42).
ALL_BANDS = (*BANDS, "51", "52", "53")
# Per A21 section: shift towards larger bands (industry, health, logistics are bigger).
SIZE_SHIFT = {
    "C": 0.28,
    "D": 0.25,
    "E": 0.2,
    "Q": 0.2,
    "H": 0.15,
    "N": 0.1,
    "K": 0.05,
    "F": -0.05,
    "M": -0.1,
    "S": -0.2,
    "L": -0.3,
    "A": -0.15,
    "R": -0.1,
}
# Sector priors on top of the real hirings per NAF (hirings favour big sectors too much).
SECTION_PRIOR = {
    "G": 1.4,
    "F": 1.5,
    "I": 1.3,
    "Q": 1.1,
    "H": 0.9,
    "C": 0.55,
    "M": 1.0,
    "N": 0.6,
    "S": 1.0,
    "A": 0.5,
    "O": 0.15,
    "P": 0.4,
    "K": 0.5,
    "L": 0.6,
}
EXCLUDED_NAF = {"7820Z", "7830Z", "7810Z"}  # temporary work: out of DPAE and of targeting
LEGAL_CATEGORIES = (
    ("5710", 0.38),
    ("5499", 0.30),
    ("1000", 0.17),
    ("9220", 0.07),
    ("5599", 0.04),
    ("5202", 0.04),
)
AS_OF = dt.date(2026, 11, 1)
START = dt.date(2021, 1, 1)


@dataclass
class Unit:
    siren: str
    categorie_juridique: str
    denomination: str
    nom: str
    prenom: str
    sexe: str
    created: dt.date
    naf: Naf
    band: str
    categorie_entreprise: str
    ess: str
    diffusible: bool
    closed: dt.date | None = None
    nic_siege: str = ""
    n_etab: int = 0


@dataclass
class Establishment:
    siret: str
    unit: Unit
    nic: str
    commune: Commune
    naf: Naf
    band: str
    created: dt.date
    closed: dt.date | None
    siege: bool
    diffusible: bool
    enseigne: str
    address: tuple[str, str, str]
    lat: float
    lon: float
    geo_quality: str

    @property
    def legal_name(self) -> str:
        u = self.unit
        return u.denomination or f"{u.nom} {u.prenom}"


def _random_date(rng: np.random.Generator, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=int(rng.integers(0, max(1, (end - start).days))))


def _band(rng: np.random.Generator, section: str, freq: np.ndarray = BAND_FREQ) -> str:
    shift = SIZE_SHIFT.get(section, 0.0)
    p = freq * np.exp(shift * np.arange(len(freq)))
    return ALL_BANDS[int(rng.choice(len(freq), p=p / p.sum()))]


def _categorie_entreprise(band: str, n_etab: int) -> str:
    rank = ALL_BANDS.index(band)
    if rank >= BANDS.index("42") or n_etab > 25:
        return "GE"
    if rank >= BANDS.index("32") or n_etab > 8:
        return "ETI"
    return "PME"


def naf_weights(ref: Referentials) -> tuple[list[str], np.ndarray]:
    codes = sorted(
        c
        for c, n in ref.naf.items()
        if c in ref.rome_shares and n.a21 not in "TU" and c not in EXCLUDED_NAF
    )
    w = np.array(
        [ref.naf_hirings[c] ** 0.55 * SECTION_PRIOR.get(ref.naf[c].a21, 0.7) for c in codes]
    )
    return codes, w / w.sum()


def _created(rng: np.random.Generator) -> dt.date:
    r = rng.random()
    if r < 0.28:  # young: created during the observation window
        return _random_date(rng, START, dt.date(2026, 9, 30))
    if r < 0.5:
        return _random_date(rng, dt.date(2012, 1, 1), START)
    return _random_date(rng, dt.date(1965, 1, 1), dt.date(2012, 1, 1))


def _closed(rng: np.random.Generator, created: dt.date) -> dt.date | None:
    r = rng.random()
    if r < 0.07:  # closed during the window (the model must stop expecting hires)
        lo = max(created + dt.timedelta(days=120), START)
        return _random_date(rng, lo, dt.date(2026, 10, 15)) if lo < dt.date(2026, 10, 1) else None
    if r < 0.12 and created < dt.date(2019, 1, 1):  # closed before the window
        return _random_date(rng, created + dt.timedelta(days=365), START)
    return None


def generate_population(
    rng: np.random.Generator,
    ref: Referentials,
    per_dep: dict[str, int],
    band_freq: np.ndarray = BAND_FREQ,
) -> tuple[list[Unit], list[Establishment]]:
    """Legal units and their establishments, about `per_dep[d]` establishments in each d.

    `band_freq`: weights of the headcount bands (BANDS, or ALL_BANDS for heavy tails).
    """
    codes, weights = naf_weights(ref)
    deps = tuple(per_dep)
    commune_p = {
        d: np.array([c.weight for c in ref.communes[d]]) / sum(c.weight for c in ref.communes[d])
        for d in deps
    }
    naf_cdf = _cdf(weights)
    commune_cdf = {d: _cdf(p) for d, p in commune_p.items()}
    used_siren: set[str] = set()
    units: list[Unit] = []
    estabs: list[Establishment] = []
    remaining = dict(per_dep)
    while any(v > 0 for v in remaining.values()):
        dep = deps[int(np.argmax([remaining[d] for d in deps]))]
        naf = ref.naf[codes[_draw(rng, naf_cdf)]]
        r = rng.random()
        n_etab = (
            1 if r < 0.9 else int(rng.integers(2, 4)) if r < 0.975 else int(rng.integers(4, 15))
        )
        cj = LEGAL_CATEGORIES[int(rng.choice(6, p=[w for _, w in LEGAL_CATEGORIES]))][0]
        if naf.a21 in "PQ" and cj == "5202":
            cj = "9220"
        if cj == "1000":
            n_etab = min(n_etab, 2)
        siren = make_siren(rng, used_siren)
        created = _created(rng)
        unit_band = _band(rng, naf.a21, band_freq)
        home = ref.communes[dep][_draw(rng, commune_cdf[dep])]
        sexe = "M" if rng.random() < 0.6 else "F"
        unit = Unit(
            siren=siren,
            categorie_juridique=cj,
            denomination=""
            if cj == "1000"
            else names.company_name(rng, naf.division, dep, home.ncc, cj),
            nom=names.pick(rng, names.SURNAMES) if cj == "1000" else "",
            prenom=names.pick(rng, names.FIRST_NAMES[sexe]) if cj == "1000" else "",
            sexe=sexe if cj == "1000" else "",
            created=created,
            naf=naf,
            band=unit_band,
            categorie_entreprise="",
            ess="O" if cj == "9220" else ("N" if rng.random() < 0.97 else "O"),
            diffusible=rng.random() > (0.1 if cj == "1000" else 0.005),
        )
        unit.categorie_entreprise = _categorie_entreprise(unit_band, n_etab)
        units.append(unit)
        for k in range(n_etab):
            d = dep if k == 0 or rng.random() < 0.75 else deps[int(rng.integers(len(deps)))]
            commune = home if k == 0 else ref.communes[d][_draw(rng, commune_cdf[d])]
            e_created = created if k == 0 else max(created, _created(rng))
            closed = _closed(rng, e_created)
            band = unit_band if n_etab == 1 else _band(rng, naf.a21, band_freq)
            lat, lon, quality = _position(rng, commune)
            e = Establishment(
                siret="",
                unit=unit,
                nic=f"{k + 1:04d}",
                commune=commune,
                naf=naf if rng.random() < 0.95 else ref.naf[codes[_draw(rng, naf_cdf)]],
                band=band,
                created=e_created,
                closed=closed,
                siege=k == 0,
                diffusible=unit.diffusible and rng.random() > 0.012,
                enseigne=names.enseigne(
                    rng, naf.division, unit.nom or names.pick(rng, names.SURNAMES), cj
                )
                if rng.random() < (0.6 if cj == "1000" else 0.2)
                else "",
                address=names.street(rng),
                lat=lat,
                lon=lon,
                geo_quality=quality,
            )
            e.siret, e.nic = make_siret(siren, k + 1)
            estabs.append(e)
            remaining[commune.dep] -= 1
        unit.n_etab = n_etab
        # A company employs at least as many people as its largest site.
        unit.band = max([unit.band, *(e.band for e in estabs[-n_etab:])], key=ALL_BANDS.index)
        unit.categorie_entreprise = _categorie_entreprise(unit.band, n_etab)
        unit.nic_siege = estabs[-n_etab].nic
        if all(e.closed for e in estabs[-n_etab:]):
            unit.closed = max(e.closed for e in estabs[-n_etab:])  # type: ignore[type-var]
    return units, estabs


def _cdf(p: np.ndarray) -> np.ndarray:
    cdf = np.asarray(p, dtype=np.float64).cumsum()
    return cdf / cdf[-1]


def _draw(rng: np.random.Generator, cdf: np.ndarray) -> int:
    """rng.choice(len(cdf), p=...) with the cumulative weights computed once (same draws)."""
    return int(cdf.searchsorted(rng.random(), side="right"))


def _position(rng: np.random.Generator, c: Commune) -> tuple[float, float, str]:
    """Establishment position: near the commune centroid; 12 % only placed in the commune."""
    if rng.random() < 0.12:
        return (c.lat + rng.normal(0, 0.02), c.lon + rng.normal(0, 0.03), "33")
    quality = "11" if rng.random() < 0.8 else "12"
    return (c.lat + rng.normal(0, 0.006), c.lon + rng.normal(0, 0.009), quality)
