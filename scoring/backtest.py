"""Temporal back-test: what the model (and two simple baselines) predicted at T-h vs what
happened in [T-h, T).

Ranking metrics are computed the way counselors use the lists: per (département x ROME)
group, establishments of the département whose ROME shares include the trade, ranked by
per-ROME expected hires (the same allocation as score_etablissement_rome); a group counts
when at least one of its establishments hired in that trade. Baselines rank the same
candidates: largest headcount first, and most hires/offers in the trade over the last 12
months first (the label's own kind of signal: per-SIRET hires, else linked offers).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score

from ciblage.warehouse import run_sql_file
from scoring.calibration import p_hire_sql, star_sql
from scoring.features import add_months
from scoring.model import poisson_deviance

K = 10
K_CURVE = 20
METHODS = ("model", "prior", "headcount", "past_12m")


def rome_allocation(
    con: duckdb.DuckDBPyConnection,
    scores: pd.DataFrame,
    as_of: date,
    prior_weight: float,
    min_share: float,
    target: str = "_rome_alloc",
    dispersion: float = 0.5,
) -> None:
    """Per (siret, code_rome) expected hires for `scores` (as_of, siret, expected_hires,
    p_hire), into the temp table `target` (left in DuckDB: the candidates are joined
    there, see `candidates`)."""
    con.register("_alloc_scores", scores)
    try:
        run_sql_file(
            con,
            "score_etablissement_rome",
            # every establishment is a candidate in the back-test (no potential floor)
            dict(
                as_of=as_of,
                prior_weight=prior_weight,
                min_share=min_share,
                min_p=0.0,
                min_potential=0,
            ),
            scores="_alloc_scores",
            into=f"CREATE OR REPLACE TEMP TABLE {target} AS",
            slice="TRUE",
            stars_case=star_sql("round(100 * p_rome)"),
            p_rome=p_hire_sql("sh.expected_hires * sh.share", dispersion),
        )
    finally:
        con.unregister("_alloc_scores")


def candidates(
    con: duckdb.DuckDBPyConnection,
    snapshot: pd.DataFrame,
    headcount: np.ndarray,
    as_of: date,
    horizon_months: int,
    label_mode: str,
    with_prior: bool,
) -> pd.DataFrame:
    """One row per (siret, code_rome) candidate: the model's (and the baseline's)
    expected hires in the trade, the trade's hires in the horizon (y), the past 12
    months' (past_12m), headcount; SIRET, département and ROME as integer codes (in
    the order of the strings: the SIRET breaks ties).

    Joined in DuckDB, where the allocations and labels already are: at 5 % of France the
    back-test has millions of candidates, and four pandas merges on string keys took
    minutes. Codes are integers for the same reason (the metrics only compare and sort them).
    """
    from scoring.features import build_labels

    build_labels(con, as_of, horizon_months, label_mode, "_rome_labels")
    build_labels(con, add_months(as_of, -12), 12, label_mode, "_past_rome")
    etab = pd.DataFrame(
        {
            "siret": snapshot["siret"].astype(str).to_numpy(),
            "code_departement": snapshot["code_departement"].to_numpy(),
            "headcount": headcount,
        }
    )
    prior_col = "coalesce(pr.expected_hires, 0.0) AS prior," if with_prior else ""
    prior_join = (
        "LEFT JOIN _rome_alloc_prior pr ON pr.siret = m.siret AND pr.code_rome = m.code_rome"
        if with_prior
        else ""
    )
    con.register("_bt_etab", etab)
    try:
        return con.execute(
            f"""
            WITH m AS (
                SELECT m.siret, m.code_rome, m.expected_hires, e.code_departement, e.headcount
                FROM _rome_alloc m JOIN _bt_etab e USING (siret)
            ),
            -- integer codes ranked on the distinct keys (a million SIRETs), not with a
            -- window over every candidate row (tens of millions nationally)
            sid AS (SELECT siret, row_number() OVER (ORDER BY siret) AS sid
                    FROM (SELECT DISTINCT siret FROM m)),
            rid AS (SELECT code_rome, row_number() OVER (ORDER BY code_rome) AS rid
                    FROM (SELECT DISTINCT code_rome FROM m)),
            did AS (SELECT code_departement, row_number() OVER (ORDER BY code_departement) AS did
                    FROM (SELECT DISTINCT code_departement FROM m
                          WHERE code_departement IS NOT NULL))
            SELECT sid.sid AS siret, rid.rid AS code_rome, m.expected_hires AS model,
                   {prior_col}
                   did.did AS code_departement,  -- NULL: no group, as pandas' NaN keys
                   coalesce(l.y, 0.0) AS y, coalesce(p.past, 0.0) AS past_12m,
                   m.headcount, 0 AS siret_only
            FROM m
            JOIN sid USING (siret)
            JOIN rid USING (code_rome)
            LEFT JOIN did USING (code_departement)
            {prior_join}
            LEFT JOIN (SELECT siret, code_rome, sum(n) AS y FROM _rome_labels
                       WHERE code_rome IS NOT NULL GROUP BY ALL) l USING (siret, code_rome)
            LEFT JOIN (SELECT siret, code_rome, sum(n) AS past FROM _past_rome
                       WHERE code_rome IS NOT NULL GROUP BY ALL) p USING (siret, code_rome)
            """
        ).df()
    finally:
        con.unregister("_bt_etab")


# secondary order of each method when scores tie (then the SIRET, for determinism)
TIEBREAK = {
    "model": "headcount",
    "prior": "headcount",
    "headcount": "siret_only",
    "past_12m": "headcount",
}


GROUP = ["code_departement", "code_rome"]


def _order(*keys: np.ndarray) -> np.ndarray:
    """Row order by `keys` in turn, ascending, stable: `np.lexsort(keys[::-1])` (NaN last
    in both), by polars' multi-threaded sort, about 5 times faster on the millions of
    candidates of a national back-test."""
    frame = pl.DataFrame({f"k{i}": k for i, k in enumerate(keys)}).with_row_index("_i")
    return frame.sort(frame.columns[1:], maintain_order=True)["_i"].to_numpy()


def _method_metrics(
    cands: pd.DataFrame, gid: np.ndarray, sizes: np.ndarray, siret_code: np.ndarray, score_col: str
) -> tuple[np.ndarray, float]:
    """(precision@1..K_CURVE averaged over groups, mean NDCG@K) of one method.

    One sort of all candidates and array arithmetic, not a sort per group: a national
    back-test has ~28 k (département, ROME) groups even at 0.5 % of France, and the loop
    over them took two minutes (scoring/backtest.py before 2026-11-28). Within a group
    the order is the score descending, then its tiebreak column descending, then the SIRET.
    """
    score = cands[score_col].to_numpy(dtype=float)
    tie = cands[TIEBREAK[score_col]].to_numpy(dtype=float)
    # numeric keys only (the SIRET as its rank among SIRETs): pandas' sort on the SIRET
    # strings took most of a national back-test's minute
    order = _order(gid, -score, -tie, siret_code)
    n_groups = len(sizes)
    g = gid[order]
    rel = cands["y"].to_numpy(dtype=float)[order]
    rank = np.arange(len(g)) - np.r_[0, np.cumsum(sizes)][g]  # 0-based, within the group
    # precision@k: hits among the first min(k, n) candidates over min(k, n)
    top = rank < K_CURVE
    hits = np.zeros((n_groups, K_CURVE))
    np.add.at(hits, (g[top], rank[top]), (rel[top] > 0).astype(float))
    hits = np.cumsum(hits, axis=1)
    ks = np.arange(1, K_CURVE + 1)
    upto = np.minimum(ks[None, :], sizes[:, None])  # min(k, n)
    prec = np.take_along_axis(hits, upto - 1, axis=1) / upto
    # NDCG@K against the group's ideal order (its hires sorted descending)
    disc = 1.0 / np.log2(np.arange(2, K + 2))
    first = rank < K
    dcg = np.bincount(g[first], rel[first] * disc[rank[first]], minlength=n_groups)
    ideal_order = _order(g, -rel)
    ideal_rel = rel[ideal_order]
    # same group sizes and order: the ranks line up position by position
    idcg = np.bincount(g[first], ideal_rel[first] * disc[rank[first]], minlength=n_groups)
    ndcg = np.divide(dcg, idcg, out=np.zeros(n_groups), where=idcg > 0)
    return prec.mean(axis=0), float(ndcg.mean())


def ranking_metrics(cands: pd.DataFrame) -> dict[str, Any]:
    """Average precision@k and NDCG@10 per method over (département, ROME) groups.

    `cands`: one row per (siret, code_rome) candidate with code_departement, y (hires in
    the trade), and one score column per method. A group counts when one of its
    candidates hired in the trade.
    """
    out: dict[str, Any] = {"groups": 0}
    hired = cands.groupby(GROUP, sort=False)["y"].transform("max") > 0
    kept = cands[hired.to_numpy()].reset_index(drop=True)
    gid = kept.groupby(GROUP, sort=True).ngroup().to_numpy()
    sizes = np.bincount(gid) if len(gid) else np.zeros(0, dtype=int)
    siret_code = pd.factorize(kept["siret"], sort=True)[0]  # the SIRET order, as integers
    out["groups"] = int(len(sizes))
    for m in METHODS:
        if m not in cands.columns:
            continue
        if not len(sizes):
            out[m] = {"precision_at_10": None, "ndcg_at_10": None, "precision_curve": []}
            continue
        curve, ndcg = _method_metrics(kept, gid, sizes, siret_code, m)
        out[m] = {
            "precision_at_10": float(curve[K - 1]),
            "ndcg_at_10": ndcg,
            "precision_curve": [float(x) for x in curve],
        }
    return out


def evaluate(
    con: duckdb.DuckDBPyConnection,
    snapshot: pd.DataFrame,
    mu: np.ndarray,
    p: np.ndarray,
    as_of: date,
    horizon_months: int,
    label_mode: str,
    prior_weight: float,
    min_share: float,
    mu_prior: np.ndarray | None = None,
    dispersion: float = 0.5,
) -> dict[str, Any]:
    """All back-test metrics for predictions made at `as_of` on `snapshot` (with its y).

    `mu_prior`, when given, is the baseline the model gate falls back to (scoring/prior.py):
    it is ranked on the same candidates, as method "prior".
    """
    y = snapshot["y"].to_numpy(dtype=float)
    dev = poisson_deviance(y, mu)
    dev_null = poisson_deviance(y, np.full_like(y, max(y.mean(), 1e-9)))
    hired = (y > 0).astype(int)
    past_total = (
        snapshot["hires_12m"] if label_mode == "hires_siret" else snapshot["postes_12m"]
    ).to_numpy(dtype=float)
    headcount = snapshot["effectif_rank"].fillna(-1).to_numpy(dtype=float)
    metrics: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "horizon_months": horizon_months,
        "label_mode": label_mode,
        "n_establishments": int(len(y)),
        "n_hiring": int(hired.sum()),
        "hires_observed": float(y.sum()),
        "hires_predicted": float(mu.sum()),
        "max_predicted": float(np.max(mu)) if len(mu) else 0.0,
        "max_observed": float(np.max(y)) if len(y) else 0.0,
        "dispersion": dispersion,
        "poisson_deviance": dev,
        "poisson_deviance_null": dev_null,
        "d2_poisson": 1 - dev / dev_null if dev_null > 0 else None,
    }
    if 0 < hired.sum() < len(hired):
        metrics["auc_pr"] = {
            "model": float(average_precision_score(hired, p)),
            "headcount": float(average_precision_score(hired, headcount)),
            "past_12m": float(average_precision_score(hired, past_total)),
            "prevalence": float(hired.mean()),
        }
        frac, mean_p = calibration_curve(hired, p, n_bins=10, strategy="quantile")
        metrics["calibration"] = {"mean_predicted": mean_p.tolist(), "observed": frac.tolist()}
    # per (département x ROME)
    scores = snapshot[["siret"]].assign(as_of=as_of, expected_hires=mu, p_hire=p)
    rome_allocation(con, scores, as_of, prior_weight, min_share, dispersion=dispersion)
    if mu_prior is not None:
        metrics["hires_predicted_prior"] = float(mu_prior.sum())
        prior_scores = scores.assign(expected_hires=mu_prior)
        rome_allocation(con, prior_scores, as_of, prior_weight, min_share, "_rome_alloc_prior")
    cands = candidates(
        con, snapshot, headcount, as_of, horizon_months, label_mode, mu_prior is not None
    )
    metrics["ranking"] = ranking_metrics(cands)
    metrics["rome_calibration"] = rome_calibration(cands, dispersion)
    return metrics


POTENTIAL_BINS = (0, 5, 10, 25, 50, 75, 101)


def rome_calibration(cands: pd.DataFrame, dispersion: float) -> list[dict[str, Any]]:
    """Per-trade potential bands vs the share of candidates that did hire in the trade:
    what a list threshold on potential keeps and what it drops (README, [publish])."""
    from scoring.calibration import p_hire, potential

    pot = potential(p_hire(cands["model"].to_numpy(dtype=float), dispersion))
    hired = cands["y"].to_numpy(dtype=float) > 0
    out = []
    for lo, hi in zip(POTENTIAL_BINS[:-1], POTENTIAL_BINS[1:], strict=True):
        m = (pot >= lo) & (pot < hi)
        out.append(
            {
                "potential": [lo, min(hi, 100)],
                "rows": int(m.sum()),
                "hired_share": float(hired[m].mean()) if m.any() else None,
                "hires_share": float(cands["y"].to_numpy()[m].sum() / max(cands["y"].sum(), 1e-9)),
            }
        )
    return out


def beats_baselines(metrics: dict[str, Any]) -> dict[str, float | None]:
    """Model precision@10 minus each baseline's (positive = the model is better)."""
    r = metrics.get("ranking", {})
    model = (r.get("model") or {}).get("precision_at_10")
    out: dict[str, float | None] = {}
    for b in ("prior", "headcount", "past_12m"):
        base = (r.get(b) or {}).get("precision_at_10")
        out[b] = None if model is None or base is None else model - base
    return out
