"""The model gate: a trained model reaches the lists only if its back-test says it is sane.

Three checks, each with its figure and bound recorded in the model's metadata, the model
card, the run report and `ciblage status`:
- calibration: sum of predicted / sum of observed hires over the back-test within
  CALIBRATION_BOUNDS (a model predicting 2.3 million hires for 50,000 real ones was
  published once);
- plausibility: no prediction above a bound derived from the data (twice the largest
  hiring of one establishment seen in the labels or in its past 12 months, scaled to the
  horizon), on the back-test and again on the scored population at publication time;
- ranking: back-test precision@10 of the model at least that of the best simple baseline
  of its label mode (largest first, most hires/offers last year first).
A refused model never reaches the lists: the run ranks by the baseline (the shrunk past
rate of scoring/prior.py, fitted on the same data) and still publishes, saying so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CALIBRATION_BOUNDS = (0.8, 1.25)
BOUND_FACTOR = 2.0
BASELINES = ("headcount", "past_12m")

# The gate's `reason` as stored (model registry, ledger, ranking.json, logs): English,
# made of the check names. `reason_fr` turns it into what a user reads, at display time,
# so that registries written before it still read in French.
NO_BACKTEST = "no back-test (not enough history): the model cannot be verified"
FAILED = "failed: "
AT_SCORING = "a prediction above the plausibility bound at scoring time"
CHECKS_FR = {
    "calibration_ratio": "ratio de calibration",
    "max_prediction": "prédiction maximale",
    "ranking_vs_baseline": "classement face à la référence",
}


def prediction_bound(max_label: float, max_past_12m: float, horizon_months: int) -> float:
    """Largest expected hires of one establishment the data makes plausible."""
    return BOUND_FACTOR * max(float(max_label), float(max_past_12m) * horizon_months / 12.0, 1.0)


def _check(name: str, value: float | None, bound: Any, ok: bool | None) -> dict[str, Any]:
    return {"check": name, "value": value, "bound": bound, "ok": ok}


def evaluate_gate(backtest: dict[str, Any], bound: float, max_predicted: float | None) -> dict:
    """Verdict on a back-tested model. `passed` is False when a check fails or when no
    back-test exists (nothing shows the model is sane: the baseline ranks instead)."""
    checks: list[dict[str, Any]] = []
    if not backtest:
        return {
            "passed": False,
            "checks": checks,
            "bound": bound,
            "reason": NO_BACKTEST,
        }
    obs, pred = backtest.get("hires_observed") or 0.0, backtest.get("hires_predicted") or 0.0
    ratio = pred / obs if obs > 0 else None
    lo, hi = CALIBRATION_BOUNDS
    checks.append(
        _check("calibration_ratio", ratio, [lo, hi], ratio is not None and lo <= ratio <= hi)
    )
    checks.append(
        _check(
            "max_prediction",
            max_predicted,
            bound,
            max_predicted is not None and np.isfinite(max_predicted) and max_predicted <= bound,
        )
    )
    ranking = backtest.get("ranking", {})
    model_p = (ranking.get("model") or {}).get("precision_at_10")
    base = {b: (ranking.get(b) or {}).get("precision_at_10") for b in BASELINES}
    base = {b: v for b, v in base.items() if v is not None}
    if model_p is not None and base:
        best = max(base, key=lambda b: base[b])
        checks.append(
            {
                **_check("ranking_vs_baseline", model_p, base[best], model_p >= base[best]),
                "baseline": best,
            }
        )
    failed = [c["check"] for c in checks if not c["ok"]]
    return {
        "passed": not failed,
        "checks": checks,
        "bound": bound,
        "reason": (FAILED + ", ".join(failed)) if failed else None,
    }


def reason_fr(reason: str | None) -> str | None:
    """A refusal's reason as a user reads it (status, run report): French, from the
    stored English reason and its check names. An unknown reason is shown as stored."""
    if not reason:
        return None
    if reason == NO_BACKTEST:
        return "pas de back-test (historique insuffisant) : le modèle ne peut pas être vérifié"
    if reason == AT_SCORING or reason.startswith("failed at scoring"):
        return "une prédiction au-dessus de la borne de plausibilité au moment du score"
    if reason.startswith(FAILED):
        names = [n.strip() for n in reason.removeprefix(FAILED).split(",") if n.strip()]
        label = "contrôles échoués" if len(names) > 1 else "contrôle échoué"
        return f"{label} : " + ", ".join(CHECKS_FR.get(n, n) for n in names)
    return reason


def summary_fr(gate: dict[str, Any] | None) -> str | None:
    """One French sentence for counselors (site header) when the baseline ranks instead."""
    if not gate or gate.get("passed", True):
        return None
    return (
        "Le modèle de prédiction n'a pas passé ses contrôles de qualité pour cette mise à "
        "jour : les entreprises sont classées par leurs embauches passées (méthode de "
        "référence)."
    )


def published_model(con: Any, as_of: Any) -> dict[str, Any] | None:
    """Which ranking the scores of `as_of` come from: the model, or the baseline after a
    refusal (at training, from the registry's gate; at scoring, from the `#baseline` id).
    None when nothing is scored for that date."""
    rows = con.execute(
        "SELECT model_id FROM score_etablissement WHERE as_of = ? GROUP BY model_id "
        "ORDER BY count(*) DESC LIMIT 1",
        [as_of],
    ).fetchall()
    if not rows:
        return None
    model_id = rows[0][0]
    import json

    from scoring.registry import BASELINE_SUFFIX, registry_entry  # lazily: loads features

    gate: dict[str, Any] = {}
    entry = registry_entry(con, model_id)
    if entry is not None and entry.get("metrics"):
        gate = (json.loads(entry["metrics"]) or {}).get("gate") or {}
    refused = model_id.endswith(BASELINE_SUFFIX) or gate.get("passed") is False
    reason = gate.get("reason")
    if model_id.endswith(BASELINE_SUFFIX):
        reason = AT_SCORING
    return {
        "model_id": model_id,
        "ranking_method": "baseline" if refused else "model",
        "reason": reason if refused else None,
        "reason_fr": reason_fr(reason) if refused else None,
    }
