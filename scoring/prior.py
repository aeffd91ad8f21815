"""The model's starting point: a shrunk past-hiring rate, the "obvious" signal made robust.

La Bonne Boîte's method, "most hires last year first", is hard to beat because past
hiring is by far the strongest predictor of future hiring. The gradient boosting must
therefore not re-learn it as one feature among forty (on small or shifted data it learnt
it badly: flat plateaus at the top, leaves worth billions). Instead, every establishment
gets a prior expected count

    mu0 = scale x h x (N12 + v x N_old + k x m_g) / (E12 + v x E_old + k)

where N12 is its hiring signal over the last 12 months (per-SIRET hires, or offered
positions in offers mode), E12 the months of those 12 it existed (and the sources cover),
N_old and E_old the same for the 12 months before, weighted by v (older hiring says less
about the next months; v = 0 in a world that changes fast), m_g the monthly rate of
its size band x NAF section (shrunk toward the size band's rate), k a number of
pseudo-months and v fitted on the training rows (Poisson-Gamma empirical Bayes: a young or
quiet establishment leans on its peers, an establishment with a long record on its own
past), h the horizon in months and scale the global level. The boosting learns a bounded
multiplicative correction of mu0 (scoring/model.py), so the model starts from the
baseline and stays continuous in the past signal: the biggest hirers stay ordered.

Everything is computed from the feature matrix (scoring.features.FEATURES), so the
ablation of reasons and chunked national scoring use the same function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scoring.features import FEATURES

# pseudo-months tried for k, and weights of months 13-24 tried for v (fitted on the
# training rows by Poisson deviance)
K_GRID: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
V_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)
# a group's rate leans on its size band's rate with this many establishment-months
GROUP_PRIOR_MONTHS = 120.0
MIN_MU = 1e-4  # no prior is exactly zero: a Poisson weight of 0 teaches nothing
_COL = {f: i for i, f in enumerate(FEATURES)}
_SIZE_SLOTS, _SECTION_SLOTS = 17, 28  # effectif_rank -1..15, naf_section -1..26 (A..U)


def signal_column(label_mode: str) -> str:
    """The past signal of the label's own kind (what "most hires last year first" sorts by)."""
    return "hires_12m" if label_mode == "hires_siret" else "postes_12m"


def _col(X: np.ndarray, name: str) -> np.ndarray:
    return X[:, _COL[name]]


def _keys(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer size band (-1 unknown) and NAF section (-1 unknown) of every row."""
    size = np.nan_to_num(_col(X, "effectif_rank"), nan=-1.0).astype(np.int64)
    section = np.nan_to_num(_col(X, "naf_section"), nan=-1.0).astype(np.int64)
    return size, section


def _history(X: np.ndarray, label_mode: str) -> np.ndarray:
    """Months before T both the establishment and the sources cover (at most 24)."""
    hist_col = "hires_history_months" if label_mode == "hires_siret" else "offers_history_months"
    age_m = np.nan_to_num(_col(X, "age_years") * 12.0, nan=24.0)
    return np.clip(np.minimum(age_m, np.nan_to_num(_col(X, hist_col), nan=12.0)), 0.0, 24.0)


def _exposure(X: np.ndarray, label_mode: str) -> np.ndarray:
    """Months of the last 12 the establishment existed and the sources cover."""
    return np.clip(_history(X, label_mode), 0.0, 12.0)


def _older(X: np.ndarray, label_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Signal and exposure of months 13-24 before T (offers scaled to positions)."""
    expo = np.clip(_history(X, label_mode) - 12.0, 0.0, 12.0)
    if label_mode == "hires_siret":
        n = np.nan_to_num(_col(X, "hires_24m") - _col(X, "hires_12m"), nan=0.0)
    else:
        offers12 = np.nan_to_num(_col(X, "offers_12m"), nan=0.0)
        postes12 = np.nan_to_num(_col(X, "postes_12m"), nan=0.0)
        per_offer = np.where(offers12 > 0, postes12 / np.maximum(offers12, 1.0), 1.0)
        n = np.nan_to_num(_col(X, "offers_24m") - _col(X, "offers_12m"), nan=0.0) * per_offer
    return np.clip(n, 0.0, None), expo


@dataclass
class Prior:
    """Fitted prior: group rates, shrinkage k and level; JSON-serialisable (model metadata)."""

    label_mode: str
    horizon_months: int
    k: float = 4.0
    v: float = 0.0
    scale: float = 1.0
    global_rate: float = 0.0
    size_rate: dict[str, float] = field(default_factory=dict)
    group_rate: dict[str, float] = field(default_factory=dict)

    def group_rates(self, X: np.ndarray) -> np.ndarray:
        """m_g of every row, by a dense (size, section) lookup (vectorised for 16 M rows)."""
        size, section = _keys(X)
        table = np.full((_SIZE_SLOTS, _SECTION_SLOTS), self.global_rate)
        for s, r in self.size_rate.items():
            if -1 <= int(s) < _SIZE_SLOTS - 1:
                table[int(s) + 1, :] = r
        for key, r in self.group_rate.items():
            s, c = (int(v) for v in key.split(":"))
            if -1 <= s < _SIZE_SLOTS - 1 and -1 <= c < _SECTION_SLOTS - 1:
                table[s + 1, c + 1] = r
        si = np.clip(size + 1, 0, _SIZE_SLOTS - 1)
        ci = np.clip(section + 1, 0, _SECTION_SLOTS - 1)
        return table[si, ci]

    def rate(self, X: np.ndarray, k: float | None = None, v: float | None = None) -> np.ndarray:
        """Shrunk monthly rate of every row (before the global scale)."""
        k = self.k if k is None else k
        v = self.v if v is None else v
        n12 = np.clip(np.nan_to_num(_col(X, signal_column(self.label_mode)), nan=0.0), 0, None)
        n_old, e_old = _older(X, self.label_mode)
        num = n12 + v * n_old + k * self.group_rates(X)
        return num / (_exposure(X, self.label_mode) + v * e_old + k)

    def mu(self, X: np.ndarray) -> np.ndarray:
        """Prior expected count over the horizon."""
        return np.maximum(self.scale * self.horizon_months * self.rate(X), MIN_MU)

    def to_json(self) -> dict[str, Any]:
        return {
            "label_mode": self.label_mode,
            "horizon_months": self.horizon_months,
            "k": self.k,
            "v": self.v,
            "scale": self.scale,
            "global_rate": self.global_rate,
            "size_rate": self.size_rate,
            "group_rate": self.group_rate,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Prior:
        return cls(**d)


def _deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
    mu = np.maximum(mu, MIN_MU)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.sum(w * 2.0 * (term - y + mu)) / np.sum(w))


def fit_prior(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, label_mode: str, horizon_months: int
) -> Prior:
    """Group rates from the past signal of the training rows; k and scale from their labels.

    Rates come from the features (the 12 months before each snapshot), not from the
    labels, so the prior means the same thing at training and at scoring time.
    """
    prior = Prior(label_mode=label_mode, horizon_months=horizon_months)
    n12 = np.clip(np.nan_to_num(_col(X, signal_column(label_mode)), nan=0.0), 0, None)
    expo = _exposure(X, label_mode)
    size, section = _keys(X)
    tot_n, tot_e = float(np.sum(w * n12)), float(np.sum(w * expo))
    prior.global_rate = tot_n / tot_e if tot_e > 0 else 0.0
    for s in np.unique(size).tolist():
        m = size == s
        n, e = float(np.sum(w[m] * n12[m])), float(np.sum(w[m] * expo[m]))
        prior.size_rate[str(s)] = (n + GROUP_PRIOR_MONTHS * prior.global_rate) / (
            e + GROUP_PRIOR_MONTHS
        )
    keys = size * 1000 + section
    for key in np.unique(keys).tolist():
        m = keys == key
        s, c = int(size[m][0]), int(section[m][0])
        n, e = float(np.sum(w[m] * n12[m])), float(np.sum(w[m] * expo[m]))
        base = prior.size_rate[str(s)]
        prior.group_rate[f"{s}:{c}"] = (n + GROUP_PRIOR_MONTHS * base) / (e + GROUP_PRIOR_MONTHS)
    best: tuple[float, float, float, float] | None = None
    for k in K_GRID:
        for v in V_GRID:
            raw = horizon_months * prior.rate(X, k, v)
            scale = float(np.sum(w * y) / max(np.sum(w * raw), 1e-12))
            dev = _deviance(y, scale * raw, w)
            if best is None or dev < best[0]:
                best = (dev, k, v, scale)
    assert best is not None
    prior.k, prior.v, prior.scale = best[1], best[2], best[3]
    return prior
