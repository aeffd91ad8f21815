"""A second hiring process, of another functional form: recruiting regimes and turnover.

The log-linear process (`hiring.py`) makes every establishment hire at a smooth rate
that drifts. Real employers rather alternate: most months they only replace leavers,
then a project, a new contract or a season opens a recruiting campaign that hires a
batch at once. A model tuned on one form must also hold on the other, so this process
differs in structure, not in parameter values:

    hires_it = alive_it * (s_it * B_it + R_it + O_it)
    s_it     latent Markov state (1 = recruiting), P(0 -> 1) = on_i * season_t,
             P(1 -> 0) = off (mean campaign length 1 / off months)
    B_it     ~ NegBin(mean batch * h_it ** BATCH_ELASTICITY, dispersion BATCH_K)
    R_it     ~ Poisson(turnover[sector] * h_it / 12 * season_t): replacement of leavers
    O_it     ~ Poisson(opening * h_i / OPENING_MONTHS) in the first months of a new site
    h_it     headcount, drawn log-uniform inside the SIRENE band, growing or shrinking at
             the establishment's trend (sector trend x trend_scale + own drift)

Campaigns are rare, so past hires say less about the next 6 months than under the
log-linear process (whose AR(1) shock decays slowly), and size matters sub-linearly.
`forecast(t0, m)` is the true expected hires knowing the state at t0 - 1 (the chain's
state probabilities carried forward month by month).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ciblage.sample.establishments import ALL_BANDS, Establishment
from ciblage.sample.hiring import (
    FIRST_MONTH,
    GROUPS,
    N_MONTHS,
    SECTOR_TREND,
    HiringResult,
    assign_romes,
    month_index,
    seasonal,
    sector_group,
)
from ciblage.sample.referentials import Referentials

# Headcount range of each INSEE band (NN: non-employer, 00: staff during the year only).
BAND_HEADCOUNT = dict(
    zip(
        ALL_BANDS,
        (
            (0.2, 0.4),
            (0.5, 1.0),
            (1, 2),
            (3, 5),
            (6, 9),
            (10, 19),
            (20, 49),
            (50, 99),
            (100, 199),
            (200, 249),
            (250, 499),
            (500, 999),
            (1000, 1999),
            (2000, 4999),
            (5000, 9999),
            (10000, 20000),
        ),
        strict=True,
    )
)
# Yearly replacement hires per head (contracts of more than a month), by sector group.
TURNOVER = {
    "agriculture": 0.06,
    "industrie": 0.015,
    "construction": 0.025,
    "commerce": 0.03,
    "transport": 0.03,
    "hotellerie_restauration": 0.07,
    "sante_social": 0.035,
    "enseignement": 0.025,
    "services": 0.025,
}
# Monthly chance that a non-recruiting establishment opens a campaign, by sector group.
CAMPAIGN_ON = {
    "agriculture": 0.05,
    "industrie": 0.025,
    "construction": 0.03,
    "commerce": 0.03,
    "transport": 0.035,
    "hotellerie_restauration": 0.05,
    "sante_social": 0.04,
    "enseignement": 0.03,
    "services": 0.03,
}
BATCH, BATCH_ELASTICITY, BATCH_K = 0.12, 0.7, 1.2  # hires per campaign month ~ h ** 0.7
PROPENSITY_SHAPE = 1.2  # establishment propensity to recruit ~ Gamma(1.2, 1/1.2)
SIZE_ON_ELASTICITY = 0.2  # bigger establishments open campaigns a little more often
OPENING_MONTHS = 3
OWN_DRIFT_SD = 0.1  # yearly own headcount drift on top of the sector trend
FADE_MONTHS = 6  # no new campaign in the last months before a closure


@dataclass(frozen=True)
class RegimeShape:
    """Shape of the regime process (see the module docstring).

    off: monthly chance a campaign ends (bursty worlds: high, short intense campaigns,
    batch_scale raising the batch so that volumes stay comparable); opening: share of the
    headcount hired in the first OPENING_MONTHS months of an establishment (0 = none).
    """

    off: float = 0.3
    batch_scale: float = 1.0
    trend_scale: float = 1.0
    season_power: float = 1.0
    opening: float = 0.0


def headcounts(rng: np.random.Generator, estabs: list[Establishment]) -> np.ndarray:
    """Headcount of each establishment, log-uniform inside its SIRENE band."""
    lo = np.array([BAND_HEADCOUNT[e.band][0] for e in estabs], dtype=float)
    hi = np.array([BAND_HEADCOUNT[e.band][1] for e in estabs], dtype=float) + 1
    return np.exp(rng.uniform(np.log(lo), np.log(hi)))


def simulate_regime(
    rng: np.random.Generator,
    estabs: list[Establishment],
    ref: Referentials,
    shape: RegimeShape | None = None,
) -> HiringResult:
    """Hires under recruiting regimes and turnover, in the same HiringResult as the
    log-linear process so that offers, DPAE and truth are written by the same code."""
    shape = shape or RegimeShape()
    n, t_idx = len(estabs), np.arange(N_MONTHS)
    groups = [sector_group(e.naf.a21) for e in estabs]
    h0 = headcounts(rng, estabs)
    deps = sorted({e.commune.dep for e in estabs})
    dep_trend = {
        (g, d): (SECTOR_TREND[g] + float(rng.normal(0, 0.1))) * shape.trend_scale
        for g in GROUPS
        for d in deps
    }
    drift = np.array([dep_trend[(g, e.commune.dep)] for e, g in zip(estabs, groups, strict=True)])
    drift = drift + rng.normal(0, OWN_DRIFT_SD * shape.trend_scale, n)
    h = h0[:, None] * np.clip(np.exp(drift[:, None] * t_idx[None, :] / 12), 0.3, 3.0)
    season = np.stack(
        [seasonal(g, shape.season_power)[(t_idx + FIRST_MONTH.month - 1) % 12] for g in groups]
    )
    created = np.array([month_index(e.created) for e in estabs])
    closed = np.array([month_index(e.closed) if e.closed else 10_000 for e in estabs])
    age = t_idx[None, :] - created[:, None]
    alive = ((age >= 0) & (t_idx[None, :] < closed[:, None])).astype(float)
    propensity = rng.gamma(PROPENSITY_SHAPE, 1 / PROPENSITY_SHAPE, n)
    on_base = np.array([CAMPAIGN_ON[g] for g in groups]) * propensity
    on_base = on_base * (1 + h0) ** SIZE_ON_ELASTICITY / 2
    fading = (closed[:, None] - t_idx[None, :]) <= FADE_MONTHS
    p_on = np.clip(on_base[:, None] * season, 0, 0.9) * alive * ~fading
    batch = BATCH * shape.batch_scale * h**BATCH_ELASTICITY
    replace = np.array([TURNOVER[g] for g in groups])[:, None] * h / 12 * season * alive
    opening = (
        np.where(
            (age >= 0) & (age < OPENING_MONTHS) & (created[:, None] >= 0),
            shape.opening * h0[:, None] / OPENING_MONTHS,
            0.0,
        )
        * alive
    )
    state = np.zeros((n, N_MONTHS), dtype=bool)
    s = rng.random(n) < p_on[:, 0] / (p_on[:, 0] + shape.off + 1e-12)
    for t in range(N_MONTHS):
        if t:
            u = rng.random(n)
            s = np.where(s, u >= shape.off, u < p_on[:, t])
        s = s & (alive[:, t] > 0)
        state[:, t] = s
    mean_batch = state * batch * alive
    p_nb = BATCH_K / (BATCH_K + np.maximum(mean_batch, 1e-12))
    hires = np.where(state, rng.negative_binomial(BATCH_K, p_nb), 0)
    hires = hires + rng.poisson(replace + opening)
    records = assign_romes(rng, estabs, ref, hires, groups)

    def forecast(t0: int, months: int) -> np.ndarray:
        """E[hires_t | s_{t0-1}]: the recruiting probability carried forward by the chain."""
        p = state[:, t0 - 1].astype(float)
        out = np.zeros((n, months))
        for k in range(months):
            t = t0 + k
            p = p * (1 - shape.off) + (1 - p) * p_on[:, t]
            out[:, k] = p * batch[:, t] * alive[:, t] + replace[:, t] + opening[:, t]
        return out

    expected = mean_batch + replace + opening
    return HiringResult(expected, hires, records, dep_trend, forecast)
