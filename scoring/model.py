"""The hiring-potential model: a shrunk past-hiring rate, corrected by Poisson boosting.

Expected hires over the horizon are mu = mu0 x f(x): mu0 is the prior of
scoring/prior.py (the establishment's own past signal shrunk toward its size x sector
rate: the "most hires last year first" baseline, made robust), and f a bounded
multiplicative correction learnt by a `HistGradientBoostingRegressor(loss="poisson")` on
the ratio y / mu0 with weights mu0 (the exact equivalent of a Poisson offset log mu0).
Why this shape, after the model lost to the baseline on independent data and predicted
billions:
- the boosting starts at f = sum(y) / sum(mu0), i.e. at the baseline, so what it learns is
  what the data adds to the obvious signal, not the signal itself;
- f is clipped to F_BOUNDS and regularised (l2 and leaf-size floors), so no leaf can be
  worth billions;
- f is monotone non-decreasing in every past-hires/offers count (monotonic_cst) and mu0
  increases with the past signal, so more past hiring never lowers the prediction;
- mu0 is continuous in the past signal, so establishments in the same leaf of f keep
  their order: no flat plateau at the top of the lists.
P(at least one hire) comes from mu through a negative-binomial link with a dispersion
fitted on out-of-time predictions (scoring/calibration.py): one monotone function, so a
higher expected count never means a lower potential, per establishment and per trade.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_poisson_deviance

from scoring.calibration import DEFAULT_DISPERSION, p_hire
from scoring.errors import ModelIntegrityError
from scoring.features import CATEGORICAL, FEATURES, matrix
from scoring.prior import Prior, fit_prior
from scoring.registry import BASELINE_SUFFIX

# Types skops must rebuild for our bundle; anything else in a file is refused.
_TRUSTED_TYPES = [
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]
PREDICT_CHUNK = 1_000_000
# OpenMP threads of scikit-learn's gradient boosting. One by default: on a shared machine
# (2 cores, other jobs running) two spinning OpenMP threads made a fit 35x slower in our
# measurements (108 s vs 3 s), while on an idle machine two threads gain less than 2x.
# `[scoring] threads` raises it for a dedicated machine.
_THREADS = {"n": 1}


def set_threads(n: int) -> None:
    _THREADS["n"] = max(1, int(n))


def sk_threads() -> Any:
    """Context limiting OpenMP threads for scikit-learn calls (see _THREADS)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=_THREADS["n"], user_api="openmp")


# Regularisation floors: with l2 = 0 and 20-row leaves a Poisson leaf on small or shifted
# data was worth billions. A grid point below a floor is raised to it.
MIN_L2 = 1.0
MIN_LEAF = 50
# the boosted correction f multiplies the prior by at most this range
F_BOUNDS = (0.05, 20.0)
# Past-signal counts: more of them never lowers the prediction (monotone constraints).
MONOTONE_INCREASING: tuple[str, ...] = (
    "hires_3m",
    "hires_6m",
    "hires_12m",
    "hires_24m",
    "hires_prev_6m",
    "offers_3m",
    "offers_6m",
    "offers_12m",
    "offers_24m",
    "offers_prev_6m",
    "postes_12m",
    "siren_hires_6m",
    "siren_hires_12m",
    "siren_hires_24m",
    "siren_offers_6m",
    "siren_offers_12m",
    "siren_offers_24m",
)


@dataclass(frozen=True)
class Params:
    """Gradient-boosting settings of the correction; the regularisation ones are tuned."""

    # 75 iterations at 0.1 rather than 150 at 0.05: half the trees to traverse for 16 M
    # establishments and their reasons' ablations, rankings unchanged within noise on the
    # scenario worlds (README "Scoring", 2026-12-06)
    learning_rate: float = 0.1
    max_iter: int = 75
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 100
    l2_regularization: float = 10.0

    def floored(self) -> Params:
        return Params(
            **{
                **asdict(self),
                "l2_regularization": max(self.l2_regularization, MIN_L2),
                "min_samples_leaf": max(self.min_samples_leaf, MIN_LEAF),
            }
        )


# Used when no temporal validation is possible (less than two labelled snapshots before
# the back-test): the most regularised point of the default grid.
CONSERVATIVE = (30.0, 200)


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 42
    threads: int = 1
    base: Params = field(default_factory=Params)
    # tuned by temporal validation: (l2_regularization, min_samples_leaf), floored
    grid: tuple[tuple[float, int], ...] = ((1.0, 50), (10.0, 100), CONSERVATIVE)
    max_train_rows: int = 500_000  # rows of a training stack (scoring/sampling.py)
    max_eval_rows: int = 1_000_000  # rows of the back-test snapshot (whole départements)

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> TrainConfig:
        """[scoring] options of ciblage.toml (all optional)."""
        base = Params(
            learning_rate=float(section.get("learning_rate", Params.learning_rate)),
            max_iter=int(section.get("max_iter", Params.max_iter)),
            max_leaf_nodes=int(section.get("max_leaf_nodes", Params.max_leaf_nodes)),
        )
        grid = tuple(
            (max(float(a), MIN_L2), max(int(b), MIN_LEAF))
            for a, b in section.get("grid", cls.grid)  # type: ignore[arg-type]
        )
        return cls(
            seed=int(section.get("seed", 42)),
            threads=int(section.get("threads", 1)),
            base=base,
            grid=grid,
            max_train_rows=int(section.get("max_train_rows", 500_000)),
            max_eval_rows=int(section.get("max_eval_rows", 1_000_000)),
        )


def _subsample(df: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """Keep every row with a hire and a uniform sample of the others, re-weighted.

    When the rows with a hire alone would fill half the cap (hiring is common at national
    scale), a uniform sample of all rows instead: keeping them all left one re-weighted
    row without a hire. The snapshots are usually sampled before (scoring/sampling.py).
    """
    df = df.assign(_w=1.0)
    if len(df) <= max_rows:
        return df
    pos = df[df["y"] > 0]
    neg = df[df["y"] <= 0]
    if len(pos) >= max_rows // 2:
        return df.sample(n=max_rows, random_state=seed).sort_index().reset_index(drop=True)
    keep = max(max_rows - len(pos), 1)
    if keep >= len(neg):
        return df
    neg = neg.sample(n=keep, random_state=seed)
    neg = neg.assign(_w=len(df[df["y"] <= 0]) / keep)
    return pd.concat([pos, neg], ignore_index=True)


def _design(df: pd.DataFrame) -> np.ndarray:
    X = matrix(df)
    # a feature without any value (e.g. hires-based ones in offers mode) carries nothing,
    # and the binner cannot handle an all-missing column: give it a constant
    X[:, np.isnan(X).all(axis=0)] = 0.0
    return X


def fit_model(
    train: pd.DataFrame,
    params: Params | None,
    seed: int,
    max_rows: int,
    label_mode: str,
    horizon_months: int,
) -> ScoringModel:
    """Fit the prior and, unless `params` is None (baseline only), the boosted correction.

    The dispersion of the P(at least one hire) link is left at its default: it is fitted
    on out-of-time predictions by the caller (scoring/training.py).
    """
    data = _subsample(train, max_rows, seed)
    X = _design(data)
    y = data["y"].to_numpy(dtype=float)
    w = data["_w"].to_numpy(dtype=float)
    prior = fit_prior(X, y, w, label_mode, horizon_months)
    if params is None:
        return ScoringModel(None, prior, DEFAULT_DISPERSION, {})
    params = params.floored()
    mu0 = prior.mu(X)
    reg = HistGradientBoostingRegressor(
        loss="poisson",
        learning_rate=params.learning_rate,
        max_iter=params.max_iter,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        categorical_features=[f in CATEGORICAL for f in FEATURES],
        monotonic_cst=[1 if f in MONOTONE_INCREASING else 0 for f in FEATURES],
        early_stopping=False,
        random_state=seed,
    )
    with sk_threads():
        reg.fit(X, y / mu0, sample_weight=w * mu0)
    return ScoringModel(reg, prior, DEFAULT_DISPERSION, {})


def correction(reg: Any, X: np.ndarray) -> np.ndarray:
    """The boosted multiplicative correction f, bounded, predicted in chunks."""
    out = np.empty(len(X), dtype=np.float64)
    with sk_threads():
        for start in range(0, len(X), PREDICT_CHUNK):
            out[start : start + PREDICT_CHUNK] = reg.predict(X[start : start + PREDICT_CHUNK])
    return np.clip(out, *F_BOUNDS)


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    return float(mean_poisson_deviance(y, np.clip(mu, 1e-9, None)))


@dataclass
class ScoringModel:
    """Prior x correction, and the dispersion of the P(at least one hire) link.

    `regressor` None means the baseline alone (the model gate's fall-back).
    """

    regressor: Any | None
    prior: Prior
    dispersion: float
    metadata: dict[str, Any]

    def mu(self, X: np.ndarray) -> np.ndarray:
        """Expected hires over the horizon."""
        mu0 = self.prior.mu(X)
        if self.regressor is None:
            return mu0
        return mu0 * correction(self.regressor, X)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(expected hires over the horizon, P(at least one hire))."""
        mu = self.mu(X)
        return mu, p_hire(mu, self.dispersion)

    def as_baseline(self, reason: str | None = None) -> ScoringModel:
        """This model's baseline alone, under the id `<model_id>#baseline`: what scores
        when today's predictions break the gate's bound (pipelines/score.py), rebuilt the
        same way wherever those scores' reasons are computed (scoring/reason_table.py)."""
        gate = self.metadata.get("gate") or {}
        meta = {
            **self.metadata,
            "model_id": f"{self.metadata['model_id']}{BASELINE_SUFFIX}",
            "gate": {
                **gate,
                "passed": False,
                "ranking_method": "baseline",
                "reason": reason or gate.get("reason"),
            },
        }
        return ScoringModel(None, self.prior, float(self.metadata["baseline_dispersion"]), meta)


class MuEstimator(RegressorMixin, BaseEstimator):
    """scikit-learn-style view of a model (predict = expected hires), for permutation
    importance in the model card."""

    def __init__(self, model: ScoringModel) -> None:
        self.model = model

    def fit(self, X: np.ndarray, y: np.ndarray) -> MuEstimator:
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.mu(X)


def tune(
    train: pd.DataFrame, valid: pd.DataFrame, cfg: TrainConfig, label_mode: str, horizon: int
) -> tuple[Params | None, list[dict[str, Any]], ScoringModel]:
    """Pick the regularisation with the lowest Poisson deviance on a later snapshot.

    The baseline alone (no correction) is a candidate too: when the boosting does not
    improve on it out of time, it is not used. Returns the chosen parameters (None =
    baseline alone), every trial, and the chosen fitted model.
    """
    trials: list[dict[str, Any]] = []
    best: tuple[float, Params | None, ScoringModel] | None = None
    y_valid = valid["y"].to_numpy(dtype=float)
    X_valid = matrix(valid)
    candidates: list[Params | None] = [None]
    for l2, leaf in cfg.grid:
        p = Params(**{**asdict(cfg.base), "l2_regularization": l2, "min_samples_leaf": leaf})
        if p.floored() not in candidates:
            candidates.append(p.floored())
    for params in candidates:
        model = fit_model(train, params, cfg.seed, cfg.max_train_rows, label_mode, horizon)
        dev = poisson_deviance(y_valid, model.mu(X_valid))
        trials.append(
            {
                "l2_regularization": None if params is None else params.l2_regularization,
                "min_samples_leaf": None if params is None else params.min_samples_leaf,
                "poisson_deviance": dev,
            }
        )
        if best is None or dev < best[0]:
            best = (dev, params, model)
    assert best is not None, "empty tuning grid"
    return best[1], trials, best[2]


def library_versions() -> dict[str, str]:
    libs = ("scikit-learn", "numpy", "scipy", "pandas", "duckdb", "skops")
    return {"python": platform.python_version(), **{lib: version(lib) for lib in libs}}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_model(model: ScoringModel, models_dir: Path, as_of: date) -> tuple[str, Path]:
    """Write `<models_dir>/<model_id>/model.skops` + metadata.json; return (model_id, path).

    The id ends with the training fingerprint (data, parameters, seed, library versions):
    the same inputs give the same id and the same predictions. The file's own sha256 is
    recorded for integrity (skops files embed object addresses, so their bytes vary).
    """
    import skops.io as sio

    tmp = models_dir / f".tmp-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    tmp.mkdir(parents=True, exist_ok=True)
    sio.dump({"regressor": model.regressor}, tmp / "model.skops")
    digest = sha256_file(tmp / "model.skops")
    meta = model.metadata
    tag = meta.get("fingerprint") or digest
    kind = "hgb-poisson" if model.regressor is not None else "baseline"
    model_id = f"{kind}-{as_of:%Y%m%d}-h{meta['horizon_months']}-{meta['label_mode']}-{tag[:10]}"
    meta.update(
        prior=model.prior.to_json(),
        dispersion=model.dispersion,
        model_id=model_id,
        sha256=digest,
        library_versions=library_versions(),
        features=list(FEATURES),
        categorical=list(CATEGORICAL),
    )
    (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    final = models_dir / model_id
    if final.exists():
        import shutil

        shutil.rmtree(final)
    tmp.rename(final)
    return model_id, final / "model.skops"


def fingerprint(train: pd.DataFrame, params: Params | None, seed: int) -> str:
    """sha256 of what determines a fit: training rows, parameters, seed, library versions."""
    h = hashlib.sha256()
    cols = [*FEATURES, "y"]
    h.update(pd.util.hash_pandas_object(train[cols], index=False).to_numpy().tobytes())
    settings = asdict(params) if params is not None else None
    h.update(json.dumps([settings, seed, library_versions()], sort_keys=True).encode())
    return h.hexdigest()


def load_model(path: Path, expected_sha256: str | None = None) -> ScoringModel:
    """Load a persisted model, refusing a file whose hash differs from the registry's."""
    import skops.io as sio

    meta = json.loads((path.parent / "metadata.json").read_text(encoding="utf-8"))
    digest = sha256_file(path)
    want = expected_sha256 or meta["sha256"]
    if digest != want:
        raise ModelIntegrityError(
            f"modèle {path} refusé : son empreinte sha256 {digest[:12]}… diffère de celle "
            f"enregistrée ({want[:12]}…) ; fichier modifié ou abîmé : réentraîner le modèle "
            "(`ciblage score` sans --territory)"
        )
    if list(meta["features"]) != list(FEATURES):
        raise ModelIntegrityError(
            f"modèle {path} refusé : entraîné sur d'autres variables que celles que calcule "
            "cette version du code : réentraîner le modèle (`ciblage score` sans --territory)"
        )
    bundle = sio.load(path, trusted=_TRUSTED_TYPES)
    prior = Prior.from_json(meta["prior"])
    return ScoringModel(bundle["regressor"], prior, float(meta["dispersion"]), meta)
