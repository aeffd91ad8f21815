"""The model gate refuses what must not reach the lists, and only that.

Each check is tried just inside and just past its bound; then a bad model is forced
through the real training and scoring tasks and must end as the baseline ranking.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from scoring.model_gate import (
    CALIBRATION_BOUNDS,
    evaluate_gate,
    prediction_bound,
    published_model,
    summary_fr,
)

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
    from pipelines.score import score_establishments, train_model
    from scoring import model as model_mod
    from scoring.options import ScoringOptions

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


# ---- bounds, missing figures and the verdict's wording (fast, no training) ---------------


@pytest.mark.parametrize(("pred", "ok"), [(80.0, True), (125.0, True), (79.99, False)])
def test_calibration_bounds_are_inclusive(pred: float, ok: bool) -> None:
    gate = evaluate_gate(_backtest(pred), bound=50.0, max_predicted=10.0)
    check = gate["checks"][0]
    assert check == {
        "check": "calibration_ratio",
        "value": pytest.approx(pred / 100.0),
        "bound": [0.8, 1.25],
        "ok": ok,
    }


@pytest.mark.parametrize("backtest", [{"hires_predicted": 5.0}, {"hires_observed": 0.0}])
def test_no_observed_hires_fails_calibration(backtest: dict) -> None:
    gate = evaluate_gate(backtest, bound=50.0, max_predicted=10.0)
    assert not gate["passed"] and gate["checks"][0]["value"] is None
    assert gate["reason"] == "failed: calibration_ratio"
    assert [c["check"] for c in gate["checks"]] == ["calibration_ratio", "max_prediction"]


def test_prediction_bound_edges() -> None:
    assert prediction_bound(0.0, 0.0, 6) == 2.0  # never below 2 x 1 hire
    assert prediction_bound(0.4, 0.2, 6) == 2.0
    assert prediction_bound(10.0, 30.0, 12) == 60.0  # past 12 months scaled to the horizon
    assert prediction_bound(10.0, 30.0, 3) == 20.0
    gate = evaluate_gate(_backtest(100.0), 80.0, 80.0)  # at the bound: accepted
    assert gate["passed"] and gate["bound"] == 80.0 and gate["reason"] is None
    assert gate["checks"][1] == {
        "check": "max_prediction",
        "value": 80.0,
        "bound": 80.0,
        "ok": True,
    }
    missing = evaluate_gate(_backtest(100.0), 80.0, None)
    assert _failed(missing) == {"max_prediction"}


def test_ranking_check_needs_both_figures() -> None:
    bt = _backtest(100.0)
    bt["ranking"]["model"] = None
    assert [c["check"] for c in evaluate_gate(bt, 50.0, 10.0)["checks"]] == [
        "calibration_ratio",
        "max_prediction",
    ]
    bt = _backtest(100.0, model=0.21)
    bt["ranking"]["past_12m"] = {}
    gate = evaluate_gate(bt, 50.0, 10.0)
    assert gate["passed"] and gate["checks"][2]["baseline"] == "headcount"
    bt["ranking"]["headcount"] = {"precision_at_10": None}
    assert len(evaluate_gate(bt, 50.0, 10.0)["checks"]) == 2
    del bt["ranking"]
    assert evaluate_gate(bt, 50.0, 10.0)["passed"]


def test_reason_lists_every_failed_check() -> None:
    gate = evaluate_gate(_backtest(200.0, model=0.1), bound=5.0, max_predicted=10.0)
    assert gate["reason"] == "failed: calibration_ratio, max_prediction, ranking_vs_baseline"
    assert gate["checks"][2] == {
        "check": "ranking_vs_baseline",
        "value": 0.1,
        "bound": 0.28,
        "ok": False,
        "baseline": "past_12m",
    }
    empty = evaluate_gate({}, bound=7.0, max_predicted=1.0)
    assert empty == {
        "passed": False,
        "checks": [],
        "bound": 7.0,
        "reason": "no back-test (not enough history): the model cannot be verified",
    }


def test_counselor_sentence_only_when_refused() -> None:
    assert summary_fr(None) is None and summary_fr({}) is None
    assert summary_fr({"passed": True}) is None and summary_fr({"checks": []}) is None
    text = summary_fr({"passed": False})
    assert text is not None and text.startswith("Le modèle de prédiction n'a pas passé")
    assert "embauches passées" in text


def test_published_model_says_which_ranking_the_scores_come_from() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE score_etablissement (as_of DATE, siret VARCHAR, model_id VARCHAR)")
    assert published_model(con, "2026-11-01") is None
    con.execute(
        "INSERT INTO score_etablissement VALUES ('2026-11-01', 'a', 'm1'), "
        "('2026-11-01', 'b', 'm1'), ('2026-11-01', 'c', 'm0'), ('2026-10-01', 'd', 'm2#baseline')"
    )
    # no registry: the model ranks
    assert published_model(con, "2026-11-01") == {
        "model_id": "m1",
        "ranking_method": "model",
        "reason": None,
        "reason_fr": None,
    }
    con.execute("CREATE TABLE model_registry (model_id VARCHAR, metrics VARCHAR)")
    con.execute(
        "INSERT INTO model_registry VALUES ('m1', ?), ('m2', ?)",
        [
            json.dumps({"gate": {"passed": False, "reason": "failed: calibration_ratio"}}),
            json.dumps({"gate": {"passed": True}}),
        ],
    )
    assert published_model(con, "2026-11-01") == {
        "model_id": "m1",
        "ranking_method": "baseline",
        "reason": "failed: calibration_ratio",
        "reason_fr": "contrôle échoué : ratio de calibration",
    }
    # refused at scoring time: the registry's gate had passed
    assert published_model(con, "2026-10-01") == {
        "model_id": "m2#baseline",
        "ranking_method": "baseline",
        "reason": "a prediction above the plausibility bound at scoring time",
        "reason_fr": "une prédiction au-dessus de la borne de plausibilité au moment du score",
    }
    con.execute("UPDATE model_registry SET metrics = NULL WHERE model_id = 'm1'")
    assert published_model(con, "2026-11-01")["ranking_method"] == "model"
    con.execute(
        "UPDATE model_registry SET metrics = ?",
        [json.dumps({"gate": {"passed": True, "reason": "x"}})],
    )
    assert published_model(con, "2026-11-01")["ranking_method"] == "model"
    assert published_model(con, "2026-11-01")["reason"] is None  # only a refusal has one


def test_calibration_with_few_or_missing_figures() -> None:
    """Less than one observed hire still gives a ratio; a missing prediction counts 0."""
    small = evaluate_gate(_backtest(0.5, obs=0.5), bound=50.0, max_predicted=10.0)
    assert small["checks"][0]["value"] == 1.0 and small["passed"]
    missing = evaluate_gate({"hires_observed": 100.0}, bound=50.0, max_predicted=10.0)
    assert missing["checks"][0]["value"] == 0.0 and not missing["passed"]


def test_counselor_sentence_in_full() -> None:
    assert summary_fr({"passed": False}) == (
        "Le modèle de prédiction n'a pas passé ses contrôles de qualité pour cette mise à "
        "jour : les entreprises sont classées par leurs embauches passées (méthode de "
        "référence)."
    )
