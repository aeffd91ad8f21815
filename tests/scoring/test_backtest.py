"""Ranking metrics on a hand-made example (known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.backtest import ranking_metrics
from scoring.model_card import versus_text


def _group(
    dep: str,
    rome: str,
    y: list[float],
    model: list[float],
    headcount: list[float],
    past: list[float],
) -> pd.DataFrame:
    n = len(y)
    return pd.DataFrame(
        {
            "siret": [f"{dep}{rome}{i:03d}" for i in range(n)],
            "code_departement": dep,
            "code_rome": rome,
            "y": y,
            "model": model,
            "headcount": headcount,
            "past_12m": past,
            "siret_only": 0,
        }
    )


def test_precision_and_ndcg_on_known_groups() -> None:
    n = 12
    # group 1: hires at positions 0 and 1 only; the model ranks them first, headcount last
    y1 = [3.0, 1.0] + [0.0] * (n - 2)
    g1 = _group(
        "45", "M1607", y1, model=list(range(n, 0, -1)), headcount=list(range(n)), past=[0.0] * n
    )
    # group 2: no hire at all: not counted
    g2 = _group("45", "G1602", [0.0] * n, list(range(n)), list(range(n)), [0.0] * n)
    m = ranking_metrics(pd.concat([g1, g2], ignore_index=True))
    assert m["groups"] == 1
    assert m["model"]["precision_at_10"] == pytest.approx(2 / 10)
    assert m["model"]["precision_curve"][0] == 1.0 and m["model"]["precision_curve"][1] == 1.0
    assert m["model"]["ndcg_at_10"] == pytest.approx(1.0)
    assert m["headcount"]["precision_at_10"] == 0.0 and m["headcount"]["ndcg_at_10"] == 0.0
    # past_12m all tied at 0: falls back on headcount, then SIRET -> same as headcount
    assert m["past_12m"]["precision_at_10"] == 0.0
    # fewer candidates than k: precision over the candidates that exist
    small = _group("27", "F1602", [1.0, 0.0, 0.0], [3, 2, 1], [1, 2, 3], [0, 0, 0])
    m2 = ranking_metrics(small)
    assert m2["model"]["precision_at_10"] == pytest.approx(1 / 3)
    assert np.isclose(m2["model"]["ndcg_at_10"], 1.0)


def test_versus_text_says_by_how_much() -> None:
    bt = {
        "ranking": {
            "model": {"precision_at_10": 0.3},
            "headcount": {"precision_at_10": 0.2},
            "past_12m": {"precision_at_10": 0.25},
        }
    }
    text = versus_text(bt)
    assert "+0.100 (+50 %)" in text and "+0.050 (+20 %)" in text


def _one_group(g: pd.DataFrame, score_col: str) -> tuple[np.ndarray, float]:
    """The definition, one group at a time (the former implementation)."""
    from scoring.backtest import K_CURVE, TIEBREAK, K

    ranked = g.sort_values(
        [score_col, TIEBREAK[score_col], "siret"], ascending=[False, False, True]
    )
    rel = ranked["y"].to_numpy(dtype=float)
    hits = np.cumsum(rel[:K_CURVE] > 0)
    ks = np.arange(1, K_CURVE + 1)
    prec = np.array([hits[min(k, len(hits)) - 1] for k in ks]) / np.minimum(ks, len(rel))
    disc = 1.0 / np.log2(np.arange(2, K + 2))
    dcg = float((rel[:K] * disc[: len(rel[:K])]).sum())
    ideal = np.sort(rel)[::-1][:K]
    idcg = float((ideal * disc[: len(ideal)]).sum())
    return prec, dcg / idcg if idcg > 0 else 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_metrics_equal_the_per_group_definition(seed: int) -> None:
    """Random groups of 1 to 40 candidates, ties in scores and in tiebreaks, no-hire groups."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(300):
        n = int(rng.integers(1, 40))
        hires = rng.poisson(0.3, n) * (rng.random() < 0.8)
        frames.append(
            _group(
                f"{i % 7:02d}",
                f"R{i:04d}",
                list(hires.astype(float)),
                model=list(rng.integers(0, 5, n).astype(float)),  # many ties
                headcount=list(rng.integers(0, 3, n).astype(float)),
                past=list(rng.poisson(0.5, n).astype(float)),
            )
        )
    cands = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=seed)
    got = ranking_metrics(cands)
    groups = [g for _, g in cands.groupby(["code_departement", "code_rome"]) if (g.y > 0).any()]
    assert got["groups"] == len(groups)
    for method in ("model", "headcount", "past_12m"):
        precs, ndcgs = zip(*(_one_group(g, method) for g in groups), strict=True)
        curve = np.mean(np.vstack(precs), axis=0)
        assert np.allclose(got[method]["precision_curve"], curve, rtol=0, atol=1e-12)
        assert got[method]["ndcg_at_10"] == pytest.approx(float(np.mean(ndcgs)), abs=1e-12)


def test_the_candidates_order_is_numpys_lexsort() -> None:
    """`_order` (polars' sort) must give exactly `np.lexsort`'s order, whose keys the
    metrics were written for: ties kept in row order, NaN after every number."""
    from scoring.backtest import _order

    rng = np.random.default_rng(3)
    n = 20_000
    gid = rng.integers(0, 50, n)
    score = rng.integers(0, 5, n).astype(float)  # many ties
    score[rng.random(n) < 0.05] = np.nan
    tie = rng.integers(0, 3, n).astype(float)
    tie[rng.random(n) < 0.05] = np.nan
    code = rng.integers(0, 300, n)  # ties left for the row order too
    got = _order(gid, -score, -tie, code)
    assert np.array_equal(got, np.lexsort((code, -tie, -score, gid)))
    assert np.array_equal(_order(gid, -score), np.lexsort((-score, gid)))
