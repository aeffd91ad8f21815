"""The known hiring process behind the sample (documented in the sample's README).

Monthly hires of establishment i in month t ~ Poisson(lambda_it) with
    lambda_it = scale * base[band] * sector[group] * gamma_i * ramp_i(t) * fade_i(t)
                * exp(g_i * years_t) * exp(r[group, dep] * years_t) * season[group][month]
                * exp(u_it) * alive_it
gamma_i a persistent establishment effect, g_i its own growth (higher for young
establishments), r the sector x département dynamics, u_it an AR(1) shock (so recent
hires say more than old ones), ramp_i the start-up of a new company (slow) or the
opening wave of a new site of an existing company (fast), fade_i the
decline before a closure, and alive_it zero before creation and from closure on.
Each hire gets a ROME drawn from the real ROME shares of the establishment's NAF.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ciblage.sample.establishments import BANDS, Establishment
from ciblage.sample.referentials import Referentials

FIRST_MONTH = dt.date(2021, 1, 1)
N_MONTHS = 70  # 2021-01 .. 2026-10 (the shipped config's as_of is 2026-11-01)
HIRE_SCALE = 0.14
BASE_BY_BAND = dict(
    zip(
        BANDS,
        (0.004, 0.02, 0.035, 0.07, 0.12, 0.22, 0.5, 1.1, 2.0, 3.2, 4.5, 8.0, 14.0),
        strict=True,
    )
)
GAMMA_SHAPE = 2.0  # establishment effect ~ Gamma(2, 1/2): mean 1, dispersed
AR_RHO, AR_SIGMA = 0.9, 0.4  # monthly log-shock persistence and size
YOUNG_GROWTH, OLD_GROWTH_SD = 0.5, 0.3  # yearly log-growth: young N(0.5, 0.2), others N(0, 0.3)
RAMP_START, RAMP_MONTHS = 0.2, 24  # a new company starts at 20 %, full level at 24 months
# A new secondary site of an existing company (a new shop, agency, depot) staffs up at
# opening instead: 1 + 3 * exp(-age / 3 months) times its level.
OPENING_BOOST, OPENING_DECAY = 3.0, 3.0
FADE_MONTHS = 12  # hiring fades over the 12 months before a closure (down to 15 %)

GROUPS = (
    "agriculture",
    "industrie",
    "construction",
    "commerce",
    "transport",
    "hotellerie_restauration",
    "sante_social",
    "enseignement",
    "services",
)
SECTOR_LEVEL = {
    "agriculture": 1.2,
    "industrie": 0.8,
    "construction": 0.9,
    "commerce": 1.0,
    "transport": 1.2,
    "hotellerie_restauration": 1.6,
    "sante_social": 1.3,
    "enseignement": 1.0,
    "services": 1.0,
}
# Yearly log-growth of hiring per sector group (the same in every département, plus a
# département-specific N(0, DEP_TREND_SD) draw): health, logistics and tourism grow, building and
# industry shrink.
SECTOR_TREND = {
    "agriculture": 0.0,
    "industrie": -0.15,
    "construction": -0.25,
    "commerce": -0.08,
    "transport": 0.2,
    "hotellerie_restauration": 0.15,
    "sante_social": 0.18,
    "enseignement": 0.0,
    "services": 0.05,
}
DEP_TREND_SD = 0.1
_SEASON = {
    "agriculture": (0.3, 0.3, 0.5, 0.8, 1.1, 1.8, 2.2, 2.4, 1.9, 0.8, 0.3, 0.3),
    "hotellerie_restauration": (0.5, 0.55, 0.75, 1.0, 1.4, 1.9, 1.9, 1.4, 0.9, 0.7, 0.55, 0.6),
    "commerce": (1.1, 0.85, 0.9, 0.95, 0.95, 1.0, 1.05, 0.9, 1.0, 1.0, 1.3, 1.4),
    "construction": (0.9, 1.0, 1.15, 1.15, 1.1, 1.05, 1.0, 0.6, 1.2, 1.1, 1.0, 0.75),
    "enseignement": (0.9, 0.8, 0.8, 0.8, 0.8, 0.9, 0.9, 1.0, 2.2, 1.2, 0.9, 0.8),
    "default": (1.05, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 0.75, 1.2, 1.05, 1.0, 0.9),
}
SEASON = {
    g: np.array(_SEASON.get(g, _SEASON["default"])) / np.mean(_SEASON.get(g, _SEASON["default"]))
    for g in GROUPS
}
CDI_SHARE = {
    "agriculture": 0.2,
    "industrie": 0.55,
    "construction": 0.6,
    "commerce": 0.45,
    "transport": 0.5,
    "hotellerie_restauration": 0.35,
    "sante_social": 0.45,
    "enseignement": 0.3,
    "services": 0.5,
}


def sector_group(a21: str) -> str:
    return {
        "A": "agriculture",
        "B": "industrie",
        "C": "industrie",
        "D": "industrie",
        "E": "industrie",
        "F": "construction",
        "G": "commerce",
        "H": "transport",
        "I": "hotellerie_restauration",
        "Q": "sante_social",
        "P": "enseignement",
    }.get(a21, "services")


def month_start(t: int) -> dt.date:
    y, m = divmod(FIRST_MONTH.month - 1 + t, 12)
    return dt.date(FIRST_MONTH.year + y, m + 1, 1)


@dataclass
class HiringResult:
    expected: np.ndarray  # (n_estab, N_MONTHS) lambda_it
    hires: np.ndarray  # (n_estab, N_MONTHS) realised counts
    records: list[tuple[int, int, str, int, int]]  # (estab, month, rome, hires, of which CDI)
    dep_trend: dict[tuple[str, str], float]
    # E[hires_it | latent state known at the end of month t0 - 1], filled by
    # `forecast(t0, months)`: what a perfect model could know at an as-of date.
    forecast: Callable[[int, int], np.ndarray] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Dynamics:
    """Shape of the log-linear process; the defaults are the shipped sample's.

    trend_scale multiplies every trend (sector x département and own growth: 0 = stable
    world, >1 = strongly trending), season_power sharpens (>1) or flattens (0) the
    seasonal profiles, ar_rho / ar_sigma set the monthly shock (low rho and high sigma:
    bursty hiring where last months say little), size_base overrides base[band] (heavier
    tails, bands 51-53).
    """

    trend_scale: float = 1.0
    season_power: float = 1.0
    ar_rho: float = AR_RHO
    ar_sigma: float = AR_SIGMA
    size_base: dict[str, float] | None = None
    opening_all: bool = False  # every new establishment staffs up at opening (no slow ramp)
    # month index where trends equal 1: a strongly trending world pivots at its as-of date,
    # so that its level there stays comparable instead of compounding since 2021
    trend_origin: int = 0


def month_index(d: dt.date) -> int:
    return (d.year - FIRST_MONTH.year) * 12 + d.month - FIRST_MONTH.month


def simulate(
    rng: np.random.Generator,
    estabs: list[Establishment],
    ref: Referentials,
    dyn: Dynamics | None = None,
) -> HiringResult:
    """Monthly hires of every establishment over the calendar (module docstring).

    `dyn` reshapes the world for the scenario suite; without it the draws are exactly the
    shipped sample's (same order, same values), so its files stay byte-identical.
    """
    dyn = dyn or Dynamics()
    rho, sigma = dyn.ar_rho, dyn.ar_sigma
    n, t_idx = len(estabs), np.arange(N_MONTHS)
    years = (t_idx - dyn.trend_origin) / 12.0
    deps = sorted({e.commune.dep for e in estabs})
    dep_trend = {
        (g, d): (SECTOR_TREND[g] + float(rng.normal(0, DEP_TREND_SD))) * dyn.trend_scale
        for g in GROUPS
        for d in deps
    }
    groups = [sector_group(e.naf.a21) for e in estabs]
    base_by_band = dyn.size_base or BASE_BY_BAND
    base = np.array(
        [base_by_band[e.band] * SECTOR_LEVEL[g] for e, g in zip(estabs, groups, strict=True)]
    )
    gamma = rng.gamma(GAMMA_SHAPE, 1 / GAMMA_SHAPE, n)
    young = np.array([e.created >= dt.date(2019, 1, 1) for e in estabs])
    growth = np.where(young, rng.normal(YOUNG_GROWTH, 0.2, n), rng.normal(0, OLD_GROWTH_SD, n))
    growth = growth * dyn.trend_scale
    created = np.array([month_index(e.created) for e in estabs])
    closed = np.array([month_index(e.closed) if e.closed else 10_000 for e in estabs])
    age = t_idx[None, :] - created[:, None]
    new_site = np.array(
        [dyn.opening_all or (not e.siege and e.created > e.unit.created) for e in estabs]
    )
    ramp = np.where(
        new_site[:, None],
        1 + OPENING_BOOST * np.exp(-np.maximum(age, 0) / OPENING_DECAY),
        np.clip(RAMP_START + (1 - RAMP_START) * age / RAMP_MONTHS, 0, 1),
    )
    fade = np.clip((closed[:, None] - t_idx[None, :]) / FADE_MONTHS, 0.15, 1)
    alive = (age >= 0) & (t_idx[None, :] < closed[:, None])
    sector = np.array([dep_trend[(g, e.commune.dep)] for e, g in zip(estabs, groups, strict=True)])
    season = np.stack(
        [seasonal(g, dyn.season_power)[(t_idx + FIRST_MONTH.month - 1) % 12] for g in groups]
    )
    shock = np.zeros((n, N_MONTHS))
    shock[:, 0] = rng.normal(0, sigma, n)
    for t in range(1, N_MONTHS):
        shock[:, t] = rho * shock[:, t - 1] + rng.normal(0, sigma * np.sqrt(1 - rho**2), n)
    trend = np.clip(np.exp(growth[:, None] * years[None, :]), 0.3, 3.0)
    level = (
        (HIRE_SCALE * base * gamma)[:, None]
        * ramp
        * fade
        * trend
        * np.exp(sector[:, None] * years[None, :])
        * season
        * alive
    )
    lam = level * np.exp(shock - sigma**2 / 2)
    hires = rng.poisson(lam)
    records = assign_romes(rng, estabs, ref, hires, groups)

    def forecast(t0: int, months: int) -> np.ndarray:
        """E[lambda_t | u_{t0-1}] for t0..t0+months-1: the AR(1) shock decays towards 0."""
        k = np.arange(1, months + 1)
        mean = rho ** k[None, :] * shock[:, t0 - 1 : t0]
        var = sigma**2 * (1 - rho ** (2 * k))[None, :]
        return level[:, t0 : t0 + months] * np.exp(mean + var / 2 - sigma**2 / 2)

    return HiringResult(lam, hires, records, dep_trend, forecast)


def seasonal(group: str, power: float = 1.0) -> np.ndarray:
    """The group's monthly profile (mean 1) raised to `power` and renormalised."""
    if power == 1.0:
        return SEASON[group]
    s = SEASON[group] ** power
    return s / s.mean()


def assign_romes(
    rng: np.random.Generator,
    estabs: list[Establishment],
    ref: Referentials,
    hires: np.ndarray,
    groups: list[str],
) -> list[tuple[int, int, str, int, int]]:
    """Split each (establishment, month) count over the real ROME shares of its NAF."""
    records: list[tuple[int, int, str, int, int]] = []
    for i, t in zip(*np.nonzero(hires), strict=True):
        e = estabs[i]
        shares = ref.rome_shares[e.naf.code]
        counts = rng.multinomial(int(hires[i, t]), [s for _, s in shares])
        for (rome, _), c in zip(shares, counts, strict=True):
            if c:
                cdi = int(rng.binomial(int(c), CDI_SHARE[groups[i]]))
                records.append((int(i), int(t), rome, int(c), cdi))
    return records
