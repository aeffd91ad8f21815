"""End to end on the shipped sample generator: the back-test must beat both baselines."""

from __future__ import annotations

import json

import duckdb
import pytest

from ciblage.config import Settings


@pytest.mark.e2e
def test_backtest_beats_both_baselines_on_the_sample(scored_settings: Settings) -> None:
    con = duckdb.connect(str(scored_settings.warehouse), read_only=True)
    rows = con.execute(
        "SELECT model_id, label_mode, metrics FROM model_registry ORDER BY trained_at DESC"
    ).fetchall()
    n_scores = con.execute("SELECT count(*) FROM score_etablissement").fetchone()[0]
    n_rome = con.execute("SELECT count(*) FROM score_etablissement_rome").fetchone()[0]
    con.close()
    assert rows and n_scores > 0 and n_rome > 0
    model_id, label_mode, metrics = rows[0]
    ranking = json.loads(metrics)["ranking"]
    assert ranking["groups"] >= 10
    p_model = ranking["model"]["precision_at_10"]
    assert p_model > ranking["headcount"]["precision_at_10"]
    assert p_model > ranking["past_12m"]["precision_at_10"]
    card = scored_settings.output / "model_cards" / model_id / "model_card.md"
    assert "precision@10" in card.read_text(encoding="utf-8")
