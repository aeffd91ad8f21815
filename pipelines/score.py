"""Prefect flow `score`: features as of T, model (trained + back-tested, or reused), scores.

`territory` restricts the scored establishments (all, dep:45, bassin:2404, agence:<code>,
an agency area being its bassin d'emploi). A territory rerun reuses the model already
registered for the same as-of, horizon and label mode when there is one (seconds instead
of a retraining); its features still use national SIREN and sector aggregates, so its
scores equal those of a national run. A national run (`all`) reuses a model trained for
an as-of at most `[scoring] retrain_days` earlier (default 7) with the same training
settings, so the nightly retrains once a week rather than every night; otherwise, or with
`retrain`, it trains; with the same data and seed it produces the same model id.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, task

from ciblage.config import Settings, load_settings
from ciblage.ledger import ledger_step
from ciblage.progress import fmt_count
from ciblage.progress import stage as stage_progress
from ciblage.quality.coverage import record_feature_coverage
from ciblage.runs import locked, run_id_for
from ciblage.territories import (
    agency_mapping_path,
    build_territory_commune,
    build_territory_scope,
    configured_levels,
    parse_territory,
    read_agency_mapping,
)
from ciblage.warehouse import session
from scoring.features import (
    SnapshotSpec,
    build_features,
    detect_label_mode,
    ensure_optional_tables,
)
from scoring.model import ScoringModel, load_model, save_model, set_threads
from scoring.model_card import write_model_card
from scoring.options import ScoringOptions
from scoring.registry import (
    models_dir,
    register_model,
    registered_model,
)
from scoring.scorer import (
    FEATURES_NEW,
    RAW,
    predict_to_raw,
    staged_features,
    write_tables,
)
from scoring.training import TrainResult, train

log = logging.getLogger(__name__)


def _import_skops() -> None:
    """Import skops.io (load_model/save_model need it) now, and without its detours.

    It lists every scikit-learn estimator to build its trusted types, walking all of
    scikit-learn's packages: that imports pytest (sklearn's testing helpers) and dask.array
    (an array-API adapter), seconds that a model load does not need. Both are hidden while
    it imports (an import of them fails and is skipped; nothing keeps the failure: they
    import normally afterwards), unless already imported; the trusted types are the same.
    Done with the flows' imports, so that the rest overlaps the start of Prefect's
    temporary server (ciblage.prefect_api) instead of adding to the score stage.
    """
    if "skops.io" in sys.modules:
        return
    hidden = [name for name in ("pytest", "dask") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import skops.io  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


_import_skops()


def territory_scope(con: duckdb.DuckDBPyConnection, settings: Settings, territory: str) -> str:
    """SQL predicate (alias `e`) for the establishments a territory rerun rescores.

    Same territories as the publish stage: `dep:45` covers the département and every
    bassin/agency area having a commune in it (whole, not cut at the border), so that each
    list that the rerun republishes is ranked on fresh scores.
    """
    flt = parse_territory(territory)
    if flt.level is None:
        return "TRUE"
    path = agency_mapping_path(settings)
    build_territory_commune(con, read_agency_mapping(path) if path else None)
    build_territory_scope(con, flt, configured_levels(settings))
    return "e.code_commune IN (SELECT code_commune FROM territory_scope)"


def train_on(
    con: duckdb.DuckDBPyConnection, settings: Settings, opts: ScoringOptions, label_mode: str
) -> TrainResult:
    """The stage's training with its options (bench/train_sample.py times this very call)."""
    con.execute(f"SET memory_limit = '{opts.memory_limit}'")
    return train(
        con,
        settings.as_of,
        settings.horizon_months,
        label_mode,
        opts.train,
        step_months=opts.step_months,
        n_snapshots=opts.n_snapshots,
        dpae_lag_days=opts.dpae_lag_days,
        prior_weight=opts.prior_weight,
        min_share=opts.min_share,
    )


@task(name="train-model")
def train_model(settings: Settings, opts: ScoringOptions, label_mode: str) -> dict[str, Any]:
    """Tune, back-test, fit, persist and register the model; write its model card."""
    with session(settings.warehouse) as con:
        result = train_on(con, settings, opts, label_mode)
        result.model.metadata["settings_digest"] = opts.settings_digest
        model_id, path = save_model(result.model, models_dir(settings), settings.as_of)
        register_model(con, model_id, path, result.model.metadata)
    card = write_model_card(
        settings.output / "model_cards" / model_id,
        result.model.metadata,
        path,
        result.backtest_frame,
        result.backtest_model,
    )
    return {
        "model_id": model_id,
        "path": str(path),
        "sha256": result.model.metadata["sha256"],
        "model_card": str(card),
        "backtest": result.backtest,
        "gate": result.model.metadata.get("gate"),
    }


@task(name="score-establishments")
def score_establishments(
    settings: Settings, opts: ScoringOptions, territory: str, label_mode: str, model_info: dict
) -> dict[str, int]:
    model: ScoringModel = load_model(Path(model_info["path"]), model_info["sha256"])
    whole = territory == "all"
    with (
        session(settings.warehouse) as con,
        stage_progress("score : établissements", total=3, unit="étapes") as bar,
    ):
        con.execute(f"SET memory_limit = '{opts.memory_limit}'")
        ensure_optional_tables(con)
        build_features(
            con,
            settings.as_of,
            SnapshotSpec(settings.horizon_months, opts.dpae_lag_days),
            FEATURES_NEW,
            territory_scope(con, settings, territory),
            temp=False,
        )
        n = staged_features(con)
        bar.advance(1, item="caractéristiques")
        predict_to_raw(
            con,
            model,
            settings.as_of,
            model_info["model_id"],
            label_mode,
            workers=opts.predict_workers,
        )
        fallback = _bound_fallback(con, model)
        if fallback is not None:
            model = fallback
            predict_to_raw(
                con,
                model,
                settings.as_of,
                model.metadata["model_id"],
                label_mode,
                workers=opts.predict_workers,
            )
        bar.advance(1, item="prédiction")
        counts = write_tables(
            con,
            settings.as_of,
            whole,
            opts.keep_as_of,
            model.metadata["rome_allocation"]["prior_weight"],
            opts.min_share,
            opts.rome_min_p_hire,
            model.dispersion,
        )
        bar.advance(1, item="tables")
    return {"feature_etablissement": n, "refused_at_scoring": int(fallback is not None), **counts}


def _bound_fallback(con: duckdb.DuckDBPyConnection, model: ScoringModel) -> ScoringModel | None:
    """The gate's plausibility check on today's predictions: above the bound, the baseline.

    The back-test checked the model on last year's population; today's may hold an
    establishment the model extrapolates wildly for. Returns the baseline model to score
    with instead (its id ends in `#baseline`), or None when every prediction is plausible.
    """
    gate = model.metadata.get("gate") or {}
    bound = gate.get("bound")
    if model.regressor is None or bound is None:
        return None
    row = con.execute(f"SELECT max(expected_hires) FROM {RAW}").fetchall()
    top = row[0][0] if row else None
    if top is None or top <= bound:
        return None
    log.warning("score: a prediction of %.1f exceeds the bound %.1f: baseline ranks", top, bound)
    return model.as_baseline(f"failed at scoring: max_prediction {top:.1f} > bound {bound:.1f}")


def _summary(backtest: dict[str, Any] | None) -> dict[str, Any] | None:
    """The back-test figures worth a log line and a ledger entry (no curves)."""
    if not backtest:
        return None
    rk = backtest.get("ranking", {})
    return {
        "as_of": backtest.get("as_of"),
        "groups": rk.get("groups"),
        **{
            f"precision_at_10_{m}": (rk.get(m) or {}).get("precision_at_10")
            for m in ("model", "headcount", "past_12m")
        },
        **{
            f"ndcg_at_10_{m}": (rk.get(m) or {}).get("ndcg_at_10")
            for m in ("model", "headcount", "past_12m")
        },
        "auc_pr_model": (backtest.get("auc_pr") or {}).get("model"),
        "poisson_deviance": backtest.get("poisson_deviance"),
        "calibration_ratio": (
            backtest["hires_predicted"] / backtest["hires_observed"]
            if backtest.get("hires_observed")
            else None
        ),
    }


@flow(name="score")
def score_flow(
    config: str | None = None,
    as_of: str | None = None,
    horizon_months: int | None = None,
    territory: str = "all",
    retrain: bool = False,
) -> dict:
    """Score every active establishment at `as_of` (see the module docstring); `retrain`:
    train a model even when one may be reused."""
    settings = load_settings(config, as_of=as_of, horizon_months=horizon_months)
    opts = ScoringOptions.from_settings(settings)
    set_threads(opts.train.threads)
    parse_territory(territory)  # fail fast on a malformed territory
    run_id = run_id_for(settings.as_of)
    params = {
        "as_of": settings.as_of.isoformat(),
        "horizon_months": settings.horizon_months,
        "territory": territory,
    }
    with (
        locked(settings, run_id, "score"),
        stage_progress(f"score {territory}", total=3, unit="étapes") as bar,
    ):
        with session(settings.warehouse) as con:
            label_mode = detect_label_mode(con, opts.label_mode)
            national = territory == "all"
            reuse = None
            if not retrain and not (national and opts.retrain_days <= 0):
                # a territory rerun: the model that served the national run; a national
                # run: a recent one trained with the same settings
                reuse = registered_model(
                    con,
                    settings.as_of,
                    settings.horizon_months,
                    label_mode,
                    max_age_days=max(0, opts.retrain_days),
                    settings_digest=opts.settings_digest if national else None,
                )
        log.info("score: label mode %s, territory %s", label_mode, territory)
        if reuse:
            log.info("score: model %s (trained as of %s) reused", reuse.model_id, reuse.as_of)
            model_info: dict[str, Any] = {
                "model_id": reuse.model_id,
                "model_as_of": reuse.as_of.isoformat(),
                "path": str(reuse.path),
                "sha256": reuse.sha256,
                "model_card": None,
                "backtest": None,
            }
        else:
            with ledger_step(
                settings.warehouse,
                run_id=run_id,
                flow="score",
                stage="score",
                step="train",
                params={**params, "label_mode": label_mode},
            ) as step:
                model_info = train_model(settings, opts, label_mode)
                step.rows_out = 1
                step.message = f"model {model_info['model_id']}"
                gate = model_info.get("gate") or {}
                step.params = {
                    "backtest": _summary(model_info["backtest"]),
                    "gate": {k: gate.get(k) for k in ("passed", "ranking_method", "reason")},
                }
                if gate.get("passed") is False:
                    step.message += (
                        f" REFUSED by the model gate ({gate.get('reason')}): baseline ranks"
                    )
        bar.advance(1, item=f"modèle {'réutilisé' if reuse else 'entraîné'}")
        with ledger_step(
            settings.warehouse,
            run_id=run_id,
            flow="score",
            stage="score",
            step="score",
            params={**params, "label_mode": label_mode, "model_id": model_info["model_id"]},
        ) as step:
            counts = score_establishments(settings, opts, territory, label_mode, model_info)
            step.rows_in = counts["feature_etablissement"]
            step.rows_out = counts["score_etablissement"]
        bar.advance(1, item=f"{fmt_count(counts['score_etablissement'])} établissements notés")
        # does each source fill the features? (critical DQ failure when (almost) none)
        coverage_failed = record_feature_coverage(settings, run_id)
        bar.advance(1, item="couverture des sources")
    return {
        "run_id": run_id,
        "as_of": settings.as_of.isoformat(),
        "label_mode": label_mode,
        "territory": territory,
        "reused_model": bool(reuse),
        "model_as_of": model_info.get("model_as_of", settings.as_of.isoformat()),
        "model_id": model_info["model_id"],
        "model_path": model_info["path"],
        "model_card": model_info["model_card"],
        "backtest": _summary(model_info["backtest"]),
        "rows": counts,
        "coverage_failed": coverage_failed,
    }
