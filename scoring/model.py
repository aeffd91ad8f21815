"""The hiring-potential model: Poisson gradient boosting on past as-of snapshots.

One `HistGradientBoostingRegressor(loss="poisson")` predicts the expected hires over the
horizon; P(at least one hire) is derived from it (1 - exp(-mu)) and then calibrated by an
isotonic regression fitted on out-of-time predictions (the back-test), because the
Poisson assumption understates how concentrated hiring is. One model instead of a
regressor plus a classifier halves training and national scoring time, and keeps the two
outputs consistent (a higher expected count never means a lower probability).
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
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import mean_poisson_deviance

from scoring.features import CATEGORICAL, FEATURES, matrix

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


@dataclass(frozen=True)
class Params:
    """Gradient-boosting settings; the regularisation ones are tuned."""

    learning_rate: float = 0.05
    max_iter: int = 200
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 20
    l2_regularization: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 42
    threads: int = 1
    base: Params = field(default_factory=Params)
    # tuned by temporal validation: (l2_regularization, min_samples_leaf)
    grid: tuple[tuple[float, int], ...] = ((0.0, 20), (1.0, 20), (10.0, 20), (1.0, 80))
    max_train_rows: int = 2_000_000

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> TrainConfig:
        """[scoring] options of ciblage.toml (all optional)."""
        base = Params(
            learning_rate=float(section.get("learning_rate", Params.learning_rate)),
            max_iter=int(section.get("max_iter", Params.max_iter)),
            max_leaf_nodes=int(section.get("max_leaf_nodes", Params.max_leaf_nodes)),
        )
        grid = tuple(
            (float(a), int(b))
            for a, b in section.get("grid", cls.grid)  # type: ignore[arg-type]
        )
        return cls(
            seed=int(section.get("seed", 42)),
            threads=int(section.get("threads", 1)),
            base=base,
            grid=grid,
            max_train_rows=int(section.get("max_train_rows", 2_000_000)),
        )


def _subsample(df: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """Keep every row with a hire and a uniform sample of the others, re-weighted."""
    df = df.assign(_w=1.0)
    if len(df) <= max_rows:
        return df
    pos = df[df["y"] > 0]
    neg = df[df["y"] <= 0]
    keep = max(max_rows - len(pos), 1)
    if keep >= len(neg):
        return df
    neg = neg.sample(n=keep, random_state=seed)
    neg = neg.assign(_w=len(df[df["y"] <= 0]) / keep)
    return pd.concat([pos, neg], ignore_index=True)


def fit_regressor(train: pd.DataFrame, params: Params, seed: int, max_rows: int) -> Any:
    """Fit the Poisson model on labelled snapshots (columns FEATURES + y)."""
    data = _subsample(train, max_rows, seed)
    cat_mask = [f in CATEGORICAL for f in FEATURES]
    reg = HistGradientBoostingRegressor(
        loss="poisson",
        learning_rate=params.learning_rate,
        max_iter=params.max_iter,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        categorical_features=cat_mask,
        early_stopping=False,
        random_state=seed,
    )
    X = matrix(data)
    # a feature without any value (e.g. hires-based ones in offers mode) carries nothing,
    # and the binner cannot handle an all-missing column: give it a constant
    X[:, np.isnan(X).all(axis=0)] = 0.0
    with sk_threads():
        reg.fit(X, data["y"].to_numpy(dtype=float), sample_weight=data["_w"].to_numpy())
    return reg


def predict_mu(reg: Any, X: np.ndarray) -> np.ndarray:
    """Expected hires, predicted in chunks so that national tables fit in memory."""
    out = np.empty(len(X), dtype=np.float64)
    with sk_threads():
        for start in range(0, len(X), PREDICT_CHUNK):
            out[start : start + PREDICT_CHUNK] = reg.predict(X[start : start + PREDICT_CHUNK])
    return out


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    return float(mean_poisson_deviance(y, np.clip(mu, 1e-9, None)))


def tune(
    train: pd.DataFrame, valid: pd.DataFrame, cfg: TrainConfig
) -> tuple[Params, list[dict[str, float]], Any]:
    """Pick the regularisation with the lowest Poisson deviance on a later snapshot.

    Returns the chosen parameters, every trial, and the chosen fitted model.
    """
    trials = []
    best: tuple[float, Params, Any] | None = None
    y_valid = valid["y"].to_numpy(dtype=float)
    for l2, leaf in cfg.grid:
        params = Params(**{**asdict(cfg.base), "l2_regularization": l2, "min_samples_leaf": leaf})
        reg = fit_regressor(train, params, cfg.seed, cfg.max_train_rows)
        dev = poisson_deviance(y_valid, predict_mu(reg, matrix(valid)))
        trials.append({"l2_regularization": l2, "min_samples_leaf": leaf, "poisson_deviance": dev})
        if best is None or dev < best[0]:
            best = (dev, params, reg)
    assert best is not None, "empty tuning grid"
    return best[1], trials, best[2]


def fit_calibrator(mu: np.ndarray, y: np.ndarray) -> IsotonicRegression:
    """Map the Poisson P(>=1) to the observed frequency of at least one hire."""
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(1.0 - np.exp(-mu), (y > 0).astype(float))
    return iso


@dataclass
class ScoringModel:
    regressor: Any
    calibrator: IsotonicRegression | None
    metadata: dict[str, Any]

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(expected hires over the horizon, calibrated P(at least one hire))."""
        mu = predict_mu(self.regressor, X)
        p = 1.0 - np.exp(-mu)
        if self.calibrator is not None:
            p = self.calibrator.predict(p)
        return mu, np.clip(p, 0.0, 1.0)


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
    sio.dump({"regressor": model.regressor, "calibrator": model.calibrator}, tmp / "model.skops")
    digest = sha256_file(tmp / "model.skops")
    meta = model.metadata
    tag = meta.get("fingerprint") or digest
    model_id = (
        f"hgb-poisson-{as_of:%Y%m%d}-h{meta['horizon_months']}-{meta['label_mode']}-{tag[:10]}"
    )
    meta.update(
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


def fingerprint(train: pd.DataFrame, params: Params, seed: int) -> str:
    """sha256 of what determines a fit: training rows, parameters, seed, library versions."""
    h = hashlib.sha256()
    cols = [*FEATURES, "y"]
    h.update(pd.util.hash_pandas_object(train[cols], index=False).to_numpy().tobytes())
    h.update(json.dumps([asdict(params), seed, library_versions()], sort_keys=True).encode())
    return h.hexdigest()


def load_model(path: Path, expected_sha256: str | None = None) -> ScoringModel:
    """Load a persisted model, refusing a file whose hash differs from the registry's."""
    import skops.io as sio

    meta = json.loads((path.parent / "metadata.json").read_text(encoding="utf-8"))
    digest = sha256_file(path)
    want = expected_sha256 or meta["sha256"]
    if digest != want:
        raise ValueError(f"{path}: sha256 {digest} does not match the registered {want}")
    if list(meta["features"]) != list(FEATURES):
        raise ValueError(f"{path}: trained on other features than this code version computes")
    bundle = sio.load(path, trusted=_TRUSTED_TYPES)
    return ScoringModel(bundle["regressor"], bundle["calibrator"], meta)
