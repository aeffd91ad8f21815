"""The counselor's argument: the 2–3 reasons that raise an establishment's potential.

Attribution by ablation, in batch: for each group of related features (its offers, its
hires, its company, its territory's sector trend, ...) the model predicts again with that
group set to a reference establishment's values (training medians; modes for
categories); the reason's weight is log(mu) - log(mu_without_it). The heaviest positive
groups become reasons, but only when the data supports a positive sentence (a group is
never phrased against its own value: "a publié 0 offre" or "+-3 %" cannot appear).
When fewer than two model reasons exist, the establishment's factual profile (size and
age) completes the list. Ablation is computed only for the establishments a list or a
match shows (scoring/reason_table.py), and among them for those at `min_potential` or
more: one prediction per group and row is the costliest step of explaining.

The French sentences are built in DuckDB (`sql/score_etablissement.sql`) from the chosen
group codes below and the feature values, so that the text always quotes the very
numbers stored in `feature_etablissement`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scoring.features import CATEGORICAL, FEATURES

# code -> (name, features ablated together). Codes are used by sql/score_etablissement.sql.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "offres",
        (
            "offers_3m",
            "offers_6m",
            "offers_12m",
            "offers_24m",
            "offers_prev_6m",
            "offers_trend",
            "postes_12m",
            "days_since_last_offer",
        ),
    ),
    (
        "embauches",
        ("hires_3m", "hires_6m", "hires_12m", "hires_24m", "hires_prev_6m", "hires_trend"),
    ),
    (
        "entreprise",
        (
            "siren_n_etab",
            "siren_hires_6m",
            "siren_hires_12m",
            "siren_hires_24m",
            "siren_hires_trend",
            "siren_offers_6m",
            "siren_offers_12m",
            "siren_offers_24m",
            "siren_offers_trend",
        ),
    ),
    (
        "territoire",
        (
            "dpae_dep_gs_per_etab",
            "dpae_dep_gs_trend",
            "dpae_reg_a38_per_etab",
            "dpae_reg_a38_trend",
        ),
    ),
    (
        "secteur",
        ("naf_division", "naf_section", "naf_n_etab", "naf_hires_rate_12m", "naf_offers_rate_12m"),
    ),
    ("tension", ("naf_tension_pct",)),
    (
        "saison",
        ("naf_hires_season_ratio", "naf_offers_season_ratio", "asof_month_sin", "asof_month_cos"),
    ),
    (
        "profil",
        (
            "effectif_rank",
            "age_years",
            "is_siege",
            "is_employer",
            "categorie_juridique_2",
            "is_ess",
            "categorie_entreprise_rank",
        ),
    ),
)
GROUP_CODES = {name: code for code, (name, _) in enumerate(GROUPS)}
PROFILE = GROUP_CODES["profil"]
MAX_REASONS = 3
TENSION_MIN_PCT = 50.0  # below this, "métiers en tension" would overstate the BMO figure
MIN_GAIN = 0.01  # minimum log-gain for a group to count as a model reason


def reference_values(train: pd.DataFrame) -> dict[str, float]:
    """A typical establishment: medians of the training rows (modes for categories)."""
    ref: dict[str, float] = {}
    for f in FEATURES:
        col = pd.to_numeric(train[f], errors="coerce").dropna()
        if col.empty:
            ref[f] = float("nan")
        elif f in CATEGORICAL:
            ref[f] = float(col.mode().iloc[0])
        else:
            ref[f] = float(col.median())
    return ref


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def supports(df: pd.DataFrame, label_mode: str) -> np.ndarray:
    """N x groups: does the data allow a positive, true sentence for this group?"""
    c = {f: _col(df, f) for f in FEATURES}
    with np.errstate(invalid="ignore"):
        rate = c["naf_hires_rate_12m"] if label_mode == "hires_siret" else c["naf_offers_rate_12m"]
        season = (
            c["naf_hires_season_ratio"]
            if label_mode == "hires_siret"
            else c["naf_offers_season_ratio"]
        )
        others_hire = c["siren_hires_12m"] - c["hires_12m"]
        others_offer = c["siren_offers_12m"] - c["offers_12m"]
        cols = [
            c["offers_12m"] >= 1,
            c["hires_12m"] >= 1,
            (c["siren_n_etab"] >= 2) & ((others_hire >= 1) | (others_offer >= 1)),
            (np.round(c["dpae_dep_gs_trend"] * 100) >= 1)
            | (np.round(c["dpae_reg_a38_trend"] * 100) >= 1),
            np.round(rate, 1) >= 0.1,
            c["naf_tension_pct"] >= TENSION_MIN_PCT,
            np.round((season - 1) * 100) >= 5,
            ~np.isnan(c["effectif_rank"]) | ~np.isnan(c["age_years"]),
        ]
    return np.column_stack([np.nan_to_num(x, nan=0).astype(bool) for x in cols])


def choose(
    model: Any,
    X: np.ndarray,
    df: pd.DataFrame,
    reference: dict[str, float],
    label_mode: str,
    candidates: np.ndarray,
    mu: np.ndarray,
) -> np.ndarray:
    """N x 3 group codes (-1 = none), heaviest model reason first, profile as fallback.

    `model` has `mu(X)` (scoring.model.ScoringModel); `mu` is its prediction for every
    row (already computed by the caller). The prior is ablated with the rest: setting an
    establishment's hires to the reference also removes them from its starting rate.
    """
    n = len(df)
    sup = supports(df, label_mode)
    gain = np.full((n, len(GROUPS)), -np.inf)
    base = np.log(np.clip(mu[candidates], 1e-12, None))
    cand_idx = np.flatnonzero(candidates)
    for code, (_, feats) in enumerate(GROUPS):
        rows = sup[cand_idx, code]
        if not rows.any():
            continue
        cols = [FEATURES.index(f) for f in feats]
        Xg = X[cand_idx[rows]].copy()
        Xg[:, cols] = [reference[f] for f in feats]
        ablated = np.log(np.clip(model.mu(Xg), 1e-12, None))
        gain[cand_idx[rows], code] = base[rows] - ablated
    order = np.argsort(-gain, axis=1, kind="stable")[:, :MAX_REASONS]
    top = np.take_along_axis(gain, order, axis=1)
    codes = np.where(top > MIN_GAIN, order, -1)
    # complete with the factual profile when the model gives fewer than two reasons
    n_model = (codes >= 0).sum(axis=1)
    need = (n_model < 2) & sup[:, PROFILE] & ~(codes == PROFILE).any(axis=1)
    rows = np.flatnonzero(need)
    codes[rows, n_model[rows]] = PROFILE
    return codes.astype(np.int16)
