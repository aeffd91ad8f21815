"""The model gate refuses what must not reach the lists, and only that.

Each check is tried just inside and just past its bound; then a bad model is forced
through the real training and scoring tasks and must end as the baseline ranking.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from scoring.model_gate import CALIBRATION_BOUNDS, evaluate_gate, prediction_bound

from .conftest import FAST, score_directly, write_synthetic_config


def _backtest(pred: float, obs: float = 100.0, model: float = 0.30, past: float = 0.28) -> dict:
    return {
        "hires_observed": obs,
        "hires_predicted": pred,
        "ranking": {
            "model": {"precision_at_10": model},
            "headcount": {"precision_at_10": 0.20},
            "past_12m": {"precision_at_10": past},
        },
    }


def _failed(gate: dict) -> set[str]:
    return {c["check"] for c in gate["checks"] if not c["ok"]}


@pytest.mark.parametrize(
    ("ratio", "ok"),
    [(0.79, False), (0.81, True), (1.0, True), (1.24, True), (1.26, False)],
)
def test_calibration_ratio_bounds(ratio: float, ok: bool) -> None:
    assert CALIBRATION_BOUNDS == (0.8, 1.25)
    gate = evaluate_gate(_backtest(100.0 * ratio), bound=50.0, max_predicted=10.0)
    assert gate["passed"] is ok
    assert ("calibration_ratio" in _failed(gate)) is (not ok)


def test_prediction_above_the_bound_is_refused() -> None:
    bound = prediction_bound(max_label=40.0, max_past_12m=30.0, horizon_months=6)
    assert bound == 80.0  # twice the largest of 40 observed and 30 x 6/12
    assert evaluate_gate(_backtest(100.0), bound, 79.9)["passed"]
    gate = evaluate_gate(_backtest(100.0), bound, 80.1)
    assert not gate["passed"] and _failed(gate) == {"max_prediction"}
    assert not evaluate_gate(_backtest(100.0), bound, float("inf"))["passed"]
    assert not evaluate_gate(_backtest(100.0), bound, float("nan"))["passed"]


@pytest.mark.parametrize(("model", "ok"), [(0.279, False), (0.28, True), (0.281, True)])
def test_model_must_rank_at_least_as_well_as_the_best_baseline(model: float, ok: bool) -> None:
    gate = evaluate_gate(_backtest(100.0, model=model), bound=50.0, max_predicted=10.0)
    assert gate["passed"] is ok
    check = next(c for c in gate["checks"] if c["check"] == "ranking_vs_baseline")
    assert check["baseline"] == "past_12m" and check["bound"] == 0.28
    # the best baseline is whichever is best: here largest-first
    bt = _backtest(100.0, model=0.25, past=0.10)
    bt["ranking"]["headcount"]["precision_at_10"] = 0.26
    assert _failed(evaluate_gate(bt, 50.0, 10.0)) == {"ranking_vs_baseline"}


def test_no_backtest_means_no_verified_model() -> None:
    gate = evaluate_gate({}, bound=50.0, max_predicted=None)
    assert not gate["passed"] and "back-test" in gate["reason"]


def test_a_forced_bad_model_never_reaches_the_scores(
    tmp_path: Path, synthetic_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import scoring.model as model_mod
    import scoring.training as training_mod

    # a correction worth billions, as the unregularised model once produced, and a tuning
    # forced to keep it (the real tuning would prefer the baseline alone)
    monkeypatch.setattr(model_mod, "correction", lambda reg, X: np.full(len(X), 1e9))

    def forced_tune(train, valid, cfg, label_mode, horizon):
        params = model_mod.Params(max_iter=5)
        model = model_mod.fit_model(train, params, 0, 10**6, label_mode, horizon)
        return params, [], model

    monkeypatch.setattr(training_mod, "tune", forced_tune)
    shutil.copy(synthetic_warehouse, tmp_path / "w.duckdb")
    out = score_directly(write_synthetic_config(tmp_path, tmp_path / "w.duckdb", FAST))
    gate = out["gate"]
    assert gate["passed"] is False and gate["ranking_method"] == "baseline"
    assert {"calibration_ratio", "max_prediction"} <= _failed(gate)
    assert out["model_id"].startswith("baseline-")
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    top, ids = con.execute(
        "SELECT max(expected_hires), list(DISTINCT model_id) FROM score_etablissement"
    ).fetchall()[0]
    assert top <= gate["bound"]
    assert ids == [out["model_id"]]
    card = Path(out["model_card"]).read_text("utf-8")
    assert card.splitlines()[2].startswith("> **Warning:** the model gate refused the model")


def test_a_model_extrapolating_at_scoring_time_falls_back_to_the_baseline(
    tmp_path: Path, synthetic_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sane in the back-test, absurd on today's population: the bound is checked again."""
    import shutil

    import scoring.training as training_mod
    from ciblage.config import load_settings
    from pipelines.score import ScoringOptions, score_establishments, train_model
    from scoring import model as model_mod

    # the synthetic world's back-test verdict does not matter here: let the model through
    real_gate = training_mod.evaluate_gate
    monkeypatch.setattr(
        training_mod, "evaluate_gate", lambda *a: {**real_gate(*a), "passed": True, "reason": None}
    )
    shutil.copy(synthetic_warehouse, tmp_path / "w.duckdb")
    settings = load_settings(write_synthetic_config(tmp_path, tmp_path / "w.duckdb", FAST))
    opts = ScoringOptions.from_settings(settings)
    info = train_model.fn(settings, opts, "hires_siret")
    assert info["gate"]["ranking_method"] == "model", info["gate"]
    real = model_mod.correction
    monkeypatch.setattr(
        model_mod,
        "correction",
        lambda reg, X: np.where(np.arange(len(X)) == 0, 1e6, 1.0) * real(reg, X),
    )
    rows = score_establishments.fn(settings, opts, "all", "hires_siret", info)
    assert rows["refused_at_scoring"] == 1
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    top, ids = con.execute(
        "SELECT max(expected_hires), list(DISTINCT model_id) FROM score_etablissement"
    ).fetchall()[0]
    assert top <= info["gate"]["bound"]
    assert ids == [f"{info['model_id']}#baseline"]
