"""Training with a temporal back-test and a model gate, all on past as-of snapshots.

Dates, for an as-of T, horizon h and snapshot step s (default s = h = 6 months):
- final model: snapshots T-h, T-h-s, ... (each labelled by its following h months, all
  complete before T);
- back-test: pretend the as-of is T-h; model trained on snapshots up to T-2h, predicts
  [T-h, T), compared with what happened and with the simple baselines;
- tuning: the back-test's training data split in time: train up to T-3h, validate on the
  snapshot T-2h; the regularisation (or the baseline alone) with the lowest Poisson
  deviance wins. Without that much history, a conservative default (the most
  regularised grid point) is used. The dispersion of P(at least one hire) is fitted on
  the tuning validation for the back-test (so its calibration curve is out of sample),
  and on the back-test predictions for the final model.
The model gate (scoring/model_gate.py) then judges the back-test; a refused model is
replaced by the baseline alone, fitted on the same final snapshots.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pandas as pd

from ciblage.progress import Stage
from ciblage.progress import stage as progress_stage
from scoring.backtest import evaluate
from scoring.calibration import DEFAULT_DISPERSION, fit_dispersion
from scoring.features import (
    SnapshotSpec,
    add_months,
    build_labels,
    ensure_optional_tables,
    labelled_snapshots,
    matrix,
    signal_bounds,
    snapshot_plan,
)
from scoring.model import (
    CONSERVATIVE,
    Params,
    ScoringModel,
    TrainConfig,
    fingerprint,
    fit_model,
    tune,
)
from scoring.model_gate import evaluate_gate, prediction_bound
from scoring.prior import signal_column
from scoring.reasons import reference_values
from scoring.rome_mix import fit_concentration
from scoring.sampling import WHOLE, Sample, eval_sample, train_sample

# NAF x ROME prior weight when too few establishments have a trade mix to estimate it from
DEFAULT_ROME_WEIGHT = 5.0

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    model: ScoringModel
    backtest: dict[str, Any]
    # back-test frame and predictions, for the model card's plots
    backtest_frame: pd.DataFrame | None = None
    backtest_model: Any = None
    info: dict[str, Any] = field(default_factory=dict)


class _Snapshots:
    """Labelled snapshots computed once each (the three fits share most of them); each
    new one advances the training's progress (`ciblage.progress`).

    A snapshot above its budget is a sample drawn in SQL (scoring/sampling.py): `train`
    (uniform) for fitting and tuning, `eval` (whole départements) for the back-test."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        spec: SnapshotSpec,
        label_mode: str,
        budgets: dict[str, int],
        seed: int,
        bar: Stage | None = None,
    ) -> None:
        self.con, self.spec, self.label_mode = con, spec, label_mode
        self.budgets, self.seed = budgets, seed
        self._samples: dict[tuple[date, str], Sample] = {}
        self._cache: dict[tuple[date, str], pd.DataFrame] = {}  # by (date, predicate)
        self._label_max: dict[date, float] = {}  # whole population, for sampled dates
        self.bar = bar

    @property
    def samples(self) -> dict[str, dict[str, Any]]:
        """The snapshots that were sampled, for the model's metadata."""
        return {
            f"{kind} {d.isoformat()}": s.describe()
            for (d, kind), s in self._samples.items()
            if s.predicate != WHOLE
        }

    def sample(self, d: date, kind: str) -> Sample:
        if (d, kind) not in self._samples:
            draw = train_sample if kind == "train" else eval_sample
            self._samples[(d, kind)] = draw(self.con, d, self.budgets[kind], self.seed)
        return self._samples[(d, kind)]

    def get(self, d: date, kind: str = "train") -> pd.DataFrame:
        predicate = self.sample(d, kind).predicate
        if (d, predicate) not in self._cache:
            # every sample drawn at `d` and not fetched yet, from one feature build
            # (`labelled_snapshots`): the back-test's date is drawn for both kinds first
            drawn = sorted(
                {s.predicate for (sd, _), s in self._samples.items() if sd == d}
                - {p for cd, p in self._cache if cd == d}
            )
            frames = labelled_snapshots(self.con, d, self.spec, self.label_mode, drawn)
            self._cache.update({(d, p): f for p, f in zip(drawn, frames, strict=True)})
            if drawn != [WHOLE]:  # the labels it just built cover every establishment
                self._label_max[d] = _largest("_snap_labels", self.con)
            if self.bar is not None:
                self.bar.advance(len(drawn), item=d.isoformat())
        return self._cache[(d, predicate)]

    def stack(self, dates: list[date]) -> pd.DataFrame:
        return pd.concat([self.get(d) for d in dates], ignore_index=True)

    def maxima(self, dates: list[date], past: str) -> tuple[float, float]:
        """Largest label and past-12-month signal of one establishment at `dates`.

        From the fetched frames, and for a sampled date also from the whole population
        in SQL: a sample can miss the largest hirer, and the gate's plausibility bound,
        checked again on every establishment scored, must not."""
        ys, pasts = [], []
        for (d, _), frame in self._cache.items():
            if d in dates and len(frame):
                ys.append(float(frame["y"].max()))
                pasts.append(float(frame[past].fillna(0).max()))
        for d in sorted(self._label_max):
            if d in dates:
                ys.append(self._label_max[d])
                # 12 months before a date is exactly the features' past 12-month signal
                build_labels(self.con, add_months(d, -12), 12, self.label_mode, "_past_max")
                pasts.append(_largest("_past_max", self.con))
        return max(ys), max(pasts)


def _largest(labels: str, con: duckdb.DuckDBPyConnection) -> float:
    """Largest label of one establishment in a label table (scoring/features.build_labels)."""
    row = con.execute(
        f"SELECT max(y) FROM (SELECT siret, sum(n) AS y FROM {labels} GROUP BY siret)"
    ).fetchall()
    return float(row[0][0] or 0.0) if row else 0.0


def train(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    horizon: int,
    label_mode: str,
    cfg: TrainConfig,
    step_months: int = 6,
    n_snapshots: int = 4,
    dpae_lag_days: int = 45,
    prior_weight: float | None = None,
    min_share: float = 0.02,
) -> TrainResult:
    """Tune, back-test and fit the final model for scoring at `as_of`.

    The labelled snapshots are the long part (minutes nationally): their progress is
    shown and logged (`ciblage.progress`), one unit per snapshot built."""
    with progress_stage("score : instantanés d'entraînement", unit="instantanés") as bar:
        return _train(
            con,
            as_of,
            horizon,
            label_mode,
            cfg,
            step_months,
            n_snapshots,
            dpae_lag_days,
            prior_weight,
            min_share,
            bar,
        )


def _train(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    horizon: int,
    label_mode: str,
    cfg: TrainConfig,
    step_months: int,
    n_snapshots: int,
    dpae_lag_days: int,
    prior_weight: float | None,
    min_share: float,
    bar: Stage,
) -> TrainResult:
    ensure_optional_tables(con)
    fixed_weight = prior_weight
    bounds = signal_bounds(con, label_mode)
    if bounds is None:
        raise ValueError(
            f"aucun signal d'embauche pour apprendre en mode {label_mode!r} : "
            "hires_siret est vide et aucune offre n'est rattachée à un établissement"
        )
    earliest = bounds[0]
    budgets = {
        "train": max(1, cfg.max_train_rows // max(1, n_snapshots)),
        "eval": cfg.max_eval_rows,
    }
    snaps = _Snapshots(
        con, SnapshotSpec(horizon, dpae_lag_days), label_mode, budgets, cfg.seed, bar
    )
    plan = snapshot_plan(as_of, horizon, step_months, n_snapshots, earliest)
    final_dates = plan.final
    if not final_dates:
        raise ValueError(
            f"historique insuffisant : le signal commence le {earliest}, un instantané au "
            f"{add_months(as_of, -horizon)} demande 12 mois d'historique avant"
        )
    bt_asof, bt_dates = plan.backtest_as_of, plan.backtest
    tune_valid, tune_dates = plan.tuning_validation, plan.tuning
    every = {*final_dates, *bt_dates, *tune_dates} | ({bt_asof} if bt_dates else set())
    eval_apart = bool(bt_dates) and (
        snaps.sample(bt_asof, "eval").predicate != snaps.sample(bt_asof, "train").predicate
    )
    bar.update(
        total=len(every | ({tune_valid} if tune_dates and tune_valid else set())) + eval_apart
    )
    info: dict[str, Any] = {
        "signal_window": [earliest.isoformat(), bounds[1].isoformat()],
        "final_snapshots": [d.isoformat() for d in final_dates],
        "backtest_as_of": bt_asof.isoformat() if bt_dates else None,
        "backtest_snapshots": [d.isoformat() for d in bt_dates],
        "tuning_snapshots": [d.isoformat() for d in tune_dates],
        "tuning_validation": tune_valid.isoformat() if tune_dates and tune_valid else None,
        "seed": cfg.seed,
    }
    # 1. tuning (needs a validation snapshot and earlier training snapshots)
    params: Params | None = Params(
        **{
            **asdict(cfg.base),
            "l2_regularization": CONSERVATIVE[0],
            "min_samples_leaf": CONSERVATIVE[1],
        }
    ).floored()
    bt_dispersion = DEFAULT_DISPERSION
    if tune_dates and tune_valid:
        valid = snaps.get(tune_valid)
        params, trials, tuned = tune(snaps.stack(tune_dates), valid, cfg, label_mode, horizon)
        info["tuning"] = trials
        bt_dispersion = fit_dispersion(tuned.mu(matrix(valid)), valid["y"].to_numpy())
    else:
        info["tuning"] = (
            "skipped: not enough history for a temporal validation; conservative default "
            f"l2_regularization={CONSERVATIVE[0]}, min_samples_leaf={CONSERVATIVE[1]}"
        )
    info["params"] = asdict(params) if params is not None else {"baseline_only": True}
    log.info("scoring: params %s", info["params"])
    fit = dict(
        seed=cfg.seed, max_rows=cfg.max_train_rows, label_mode=label_mode, horizon_months=horizon
    )
    # 2. back-test (the model and the baseline alone, on the same candidates)
    backtest: dict[str, Any] = {}
    bt_frame, bt_model = None, None
    final_dispersion, prior_dispersion = DEFAULT_DISPERSION, DEFAULT_DISPERSION
    if bt_dates:
        bt_train = snaps.stack(bt_dates)
        bt_model = fit_model(bt_train, params, **fit)
        bt_model.dispersion = bt_dispersion
        bt_frame = snaps.get(bt_asof, "eval")
        Xb = matrix(bt_frame)
        mu, p = bt_model.predict(Xb)
        mu_prior = bt_model.prior.mu(Xb)
        del Xb  # a float copy of the whole back-test snapshot: not needed past here
        bt_weight = fixed_weight or fit_concentration(con, bt_asof, DEFAULT_ROME_WEIGHT)
        backtest = evaluate(
            con,
            bt_frame,
            mu,
            p,
            bt_asof,
            horizon,
            label_mode,
            bt_weight,
            min_share,
            mu_prior=mu_prior,
            dispersion=bt_dispersion,
        )
        # in place: a copy of the back-test snapshot (1 M rows) costs about a GiB; the
        # cached frame is read again only for its labels and past signal (`maxima`)
        bt_frame["mu"], bt_frame["p"] = mu, p
        y_bt = bt_frame["y"].to_numpy()
        final_dispersion = fit_dispersion(mu, y_bt)
        prior_dispersion = fit_dispersion(mu_prior, y_bt)
    # 3. final model, judged by the gate
    train_df = snaps.stack(final_dates)
    max_label, max_past = snaps.maxima(
        [*final_dates, *([bt_asof] if bt_frame is not None else [])], signal_column(label_mode)
    )
    bound = prediction_bound(max_label, max_past, horizon)
    gate = evaluate_gate(backtest, bound, backtest.get("max_predicted"))
    if gate["passed"] and params is not None:
        model = fit_model(train_df, params, **fit)
        model.dispersion = final_dispersion
    else:
        model = fit_model(train_df, None, **fit)
        model.dispersion = prior_dispersion
        params = None
    gate["ranking_method"] = "model" if model.regressor is not None else "baseline"
    log.info(
        "scoring: model gate %s (%s)", "passed" if gate["passed"] else "refused", gate.get("reason")
    )
    latest = snaps.get(final_dates[0])
    info["samples"] = snaps.samples or "none: every snapshot whole (below its budget)"
    meta = {
        "as_of": as_of.isoformat(),
        "horizon_months": horizon,
        "label_mode": label_mode,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "fingerprint": fingerprint(train_df, params, cfg.seed),
        "n_train_rows": int(len(train_df)),
        "n_train_hiring": int((train_df["y"] > 0).sum()),
        "reference": reference_values(latest),
        "training": info,
        "backtest": backtest,
        "gate": gate,
        "baseline_dispersion": prior_dispersion,
        "rome_allocation": {
            "prior_weight": fixed_weight or fit_concentration(con, as_of, DEFAULT_ROME_WEIGHT),
            "estimated": fixed_weight is None,
            "min_share": min_share,
        },
    }
    model.metadata = meta
    return TrainResult(model, backtest, bt_frame, bt_model, info)
