"""From calibrated probabilities to what a counselor reads: potential 0–100 and 1–5 stars.

hiring_potential = round(100 x P(at least one hire within the horizon)), P being the
isotonic-calibrated probability (scoring/model.py), so "potentiel 40" reads "4 chances
sur 10 d'embaucher dans les 6 mois". Stars cut the potential at fixed, documented
thresholds (not at quantiles) so that a star means the same thing in every territory and
every run:

| stars | hiring_potential |
|---|---|
| 1 | 0–9   |
| 2 | 10–24 |
| 3 | 25–49 |
| 4 | 50–74 |
| 5 | 75–100 |

Per ROME trade, hires are split by the establishment's ROME shares (Poisson thinning):
expected_rome = mu x share and P_rome = 1 - (1 - P)^share, so a trade's potential never
exceeds the establishment's overall potential.
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


def rome_probability(p: np.ndarray, share: np.ndarray) -> np.ndarray:
    """P(at least one hire in a trade) when hires are split by `share` (Poisson thinning)."""
    return 1.0 - np.power(1.0 - np.clip(p, 0.0, 1.0 - 1e-12), np.clip(share, 0.0, 1.0))


def star_sql(expr: str) -> str:
    """The same cut-offs as a SQL CASE, for the per-ROME table built in DuckDB."""
    c2, c3, c4, c5 = STAR_CUTOFFS
    return (
        f"CASE WHEN {expr} >= {c5} THEN 5 WHEN {expr} >= {c4} THEN 4 "
        f"WHEN {expr} >= {c3} THEN 3 WHEN {expr} >= {c2} THEN 2 ELSE 1 END"
    )
