"""The model registry: which trained model serves an as-of, horizon and label mode.

Models live in `<warehouse dir>/models/<model_id>/` (scoring/model.py writes them); the
warehouse table `model_registry` lists them with their back-test and gate, so a territory
rerun or a second scoring of the same as-of reuses the model instead of training again.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ciblage.config import Settings
from ciblage.warehouse import table_exists


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


def registered_model(
    con: duckdb.DuckDBPyConnection, as_of: date, horizon: int, label_mode: str
) -> tuple[str, Path, str] | None:
    """Latest model registered for this as-of, horizon and label mode whose file exists."""
    if not table_exists(con, "model_registry"):
        return None
    rows = con.execute(
        "SELECT model_id, path, sha256 FROM model_registry WHERE as_of = ? AND "
        "horizon_months = ? AND label_mode = ? ORDER BY trained_at DESC",
        [as_of, horizon, label_mode],
    ).fetchall()
    for model_id, path, sha in rows:
        if Path(path).is_file() and _current_format(Path(path)):
            return model_id, Path(path), sha
    return None


def _current_format(path: Path) -> bool:
    """A model saved before the prior x correction design (no `prior` in its metadata)
    cannot be reused: the run retrains instead of failing on an upgraded install."""
    meta = path.parent / "metadata.json"
    try:
        return "prior" in json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
