"""The model registry: which trained model serves an as-of, horizon and label mode.

Models live in `<warehouse dir>/models/<model_id>/` (scoring/model.py writes them); the
warehouse table `model_registry` lists them with their back-test and gate, so a territory
rerun or a second scoring of the same as-of reuses the model instead of training again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from ciblage.config import Settings
from ciblage.warehouse import table_exists
from scoring.features import FEATURES

# model id suffix of scores made by a model's baseline alone (ScoringModel.as_baseline)
BASELINE_SUFFIX = "#baseline"


def registry_entry(con: duckdb.DuckDBPyConnection, model_id: str) -> dict[str, Any] | None:
    """The `model_registry` row (by column) of the model that wrote scores under
    `model_id` (a `#baseline` id: the model whose baseline scored); None when unlisted."""
    if not table_exists(con, "model_registry"):
        return None
    cur = con.execute(
        "SELECT * FROM model_registry WHERE model_id = ?", [model_id.removesuffix(BASELINE_SUFFIX)]
    )
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return dict(zip(names, rows[0], strict=True)) if rows else None


def models_dir(settings: Settings) -> Path:
    """Beside the warehouse: a model is only valid with the data it was trained on."""
    return settings.warehouse.parent / "models"


def register_model(
    con: duckdb.DuckDBPyConnection, model_id: str, path: Path, meta: dict[str, Any]
) -> None:
    """List a saved model (replacing an entry of the same id: a retrain of the same data)."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS model_registry (model_id VARCHAR, trained_at TIMESTAMP,
        as_of DATE, horizon_months INTEGER, label_mode VARCHAR, path VARCHAR, sha256 VARCHAR,
        metrics JSON)"""
    )
    con.execute("DELETE FROM model_registry WHERE model_id = ?", [model_id])
    con.execute(
        "INSERT INTO model_registry VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            model_id,
            datetime.fromisoformat(meta["trained_at"]).replace(tzinfo=None),
            date.fromisoformat(meta["as_of"]),
            meta["horizon_months"],
            meta["label_mode"],
            str(path),
            meta["sha256"],
            json.dumps({**(meta.get("backtest") or {}), "gate": meta.get("gate")}, default=str),
        ],
    )


class Registered(NamedTuple):
    model_id: str
    path: Path
    sha256: str
    as_of: date


def registered_model(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    horizon: int,
    label_mode: str,
    max_age_days: int = 0,
    settings_digest: str | None = None,
) -> Registered | None:
    """The model to serve `as_of` without training, or None: the latest one registered
    for this horizon and label mode, for an as-of at most `max_age_days` earlier, whose
    file exists and whose features are this code's. Never one of a later as-of: it has
    seen data the scores must not use.

    `settings_digest`: a national run takes only a model trained with the same training
    settings (`training_settings_digest`). None (a territory rerun): any, since the
    rerun must score with the model that served the national run.
    """
    if not table_exists(con, "model_registry"):
        return None
    rows = con.execute(
        "SELECT model_id, path, sha256, as_of FROM model_registry WHERE horizon_months = ? "
        "AND label_mode = ? AND as_of <= ? AND as_of >= ? "
        "ORDER BY as_of DESC, trained_at DESC",
        [horizon, label_mode, as_of, as_of - timedelta(days=max(0, max_age_days))],
    ).fetchall()
    for model_id, path, sha, trained_for in rows:
        meta = _metadata(Path(path))
        if meta is None or not Path(path).is_file() or not _current_format(meta):
            continue
        if settings_digest is None or meta.get("settings_digest") == settings_digest:
            return Registered(model_id, Path(path), sha, trained_for)
    return None


def _metadata(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((path.parent / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _current_format(meta: dict[str, Any]) -> bool:
    """A model saved before the prior x correction design (no `prior` in its metadata), or
    on other features than this code computes, cannot be reused: the run retrains instead
    of failing on an upgraded install."""
    return "prior" in meta and list(meta.get("features") or []) == list(FEATURES)


# [scoring] keys that change how fast or how long scores are kept, never the model
RUNTIME_KEYS = frozenset(
    {"threads", "predict_workers", "memory_limit", "retrain_days", "keep_as_of"}
)


def training_settings_digest(
    section: dict[str, Any], horizon: int, params: dict[str, Any] | None = None
) -> str:
    """What a reused model must have been trained with: every other [scoring] key, the
    horizon and the effective boosting `params` (defaults included: a config that names
    none of them still retrains when the code's defaults change). Changing the grid, a cap
    or the seed in ciblage.toml retrains the next night."""
    kept = {k: v for k, v in section.items() if k not in RUNTIME_KEYS}
    blob = json.dumps([kept, horizon, params or {}], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]
