"""From calibrated probabilities to what a counselor reads: potential 0–100 and 1–5 stars.

hiring_potential = round(100 x P(at least one hire within the horizon)), so "potentiel 40"
reads "4 chances sur 10 d'embaucher dans les 6 mois". P comes from the expected hires mu
through a negative-binomial link, P = 1 - (1 + mu / kappa)^(-kappa): hiring is more
concentrated than Poisson (an establishment that hires, hires several), and the
dispersion kappa is fitted on out-of-time predictions (the back-test). One monotone link
instead of an isotonic map: no plateau where a whole top of list shares P = 1, and
potential, stars and expected hires stay consistent on every row (a higher expected count
never shows a lower potential), per establishment and per trade alike. Stars cut the
potential at fixed, documented thresholds (not at quantiles) so that a star means the
same thing in every territory and every run:

| stars | hiring_potential |
|---|---|
| 1 | 0–9   |
| 2 | 10–24 |
| 3 | 25–49 |
| 4 | 50–74 |
| 5 | 75–100 |

Per ROME trade, hires are split by the establishment's ROME shares: expected_rome =
mu x share and P_rome = the same link applied to expected_rome, so a trade's potential
never exceeds the establishment's overall potential.
"""

from __future__ import annotations

import numpy as np

# lower bound of stars 2, 3, 4, 5 on the 0–100 potential
STAR_CUTOFFS: tuple[int, int, int, int] = (10, 25, 50, 75)


def potential(p: np.ndarray) -> np.ndarray:
    """0–100 integer potential from a probability."""
    # half away from zero, like DuckDB's round() used for the per-ROME table
    return np.clip(np.floor(100.0 * np.asarray(p, dtype=float) + 0.5), 0, 100).astype(np.int64)


def stars(pot: np.ndarray) -> np.ndarray:
    """1–5 stars from the 0–100 potential, with STAR_CUTOFFS."""
    return 1 + np.searchsorted(np.asarray(STAR_CUTOFFS), np.asarray(pot), side="right")


# dispersion used before any out-of-time fit (hiring is strongly over-dispersed)
DEFAULT_DISPERSION = 0.5
DISPERSION_BOUNDS = (0.02, 100.0)


def p_hire(mu: np.ndarray, dispersion: float) -> np.ndarray:
    """P(at least one hire) for expected hires `mu` (negative-binomial link)."""
    mu = np.clip(np.asarray(mu, dtype=float), 0.0, None)
    return 1.0 - np.power(1.0 + mu / dispersion, -dispersion)


def p_hire_sql(expr: str, dispersion: float) -> str:
    """The same link in SQL (per-ROME rows are built in DuckDB)."""
    k = float(dispersion)
    return f"(1 - pow(1 + greatest({expr}, 0) / {k!r}, -{k!r}))"


def fit_dispersion(mu: np.ndarray, y: np.ndarray) -> float:
    """kappa maximising the likelihood of 'at least one hire' given out-of-time mu."""
    from scipy.optimize import minimize_scalar

    hired = np.asarray(y) > 0
    mu = np.clip(np.asarray(mu, dtype=float), 1e-9, None)
    if hired.all() or not hired.any():
        return DEFAULT_DISPERSION

    def nll(log_k: float) -> float:
        p = np.clip(p_hire(mu, float(np.exp(log_k))), 1e-12, 1 - 1e-12)
        return float(-(np.log(p[hired]).sum() + np.log1p(-p[~hired]).sum()))

    lo, hi = np.log(DISPERSION_BOUNDS[0]), np.log(DISPERSION_BOUNDS[1])
    res = minimize_scalar(nll, bounds=(lo, hi), method="bounded")
    return float(np.exp(res.x))


def star_sql(expr: str) -> str:
    """The same cut-offs as a SQL CASE, for the per-ROME table built in DuckDB."""
    c2, c3, c4, c5 = STAR_CUTOFFS
    return (
        f"CASE WHEN {expr} >= {c5} THEN 5 WHEN {expr} >= {c4} THEN 4 "
        f"WHEN {expr} >= {c3} THEN 3 WHEN {expr} >= {c2} THEN 2 ELSE 1 END"
    )
