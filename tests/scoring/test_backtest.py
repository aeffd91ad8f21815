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
