"""Which registered model may serve an as-of without training (scoring/registry.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from scoring.features import FEATURES
from scoring.registry import register_model, registered_model, training_settings_digest


def _register(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    model_id: str,
    as_of: date,
    *,
    digest: str | None = "d1",
    features: list[str] | None = None,
    label_mode: str = "hires_siret",
) -> None:
    folder = root / model_id
    folder.mkdir(parents=True)
    (folder / "model.skops").write_bytes(b"x")
    meta = {
        "trained_at": f"{as_of.isoformat()}T03:00:00+00:00",
        "as_of": as_of.isoformat(),
        "horizon_months": 6,
        "label_mode": label_mode,
        "sha256": "s",
        "prior": {},
        "features": list(FEATURES) if features is None else features,
    }
    if digest is not None:
        meta["settings_digest"] = digest
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    register_model(con, model_id, folder / "model.skops", meta)


def _pick(con: duckdb.DuckDBPyConnection, day: date, **kw: object) -> str | None:
    found = registered_model(con, day, 6, "hires_siret", **kw)  # type: ignore[arg-type]
    return found.model_id if found else None


def test_a_recent_model_of_the_same_settings_serves_later_as_ofs(tmp_path: Path) -> None:
    con = duckdb.connect()
    _register(con, tmp_path, "m1101", date(2026, 11, 1))
    _register(con, tmp_path, "m1104", date(2026, 11, 4))
    # the latest one at most 7 days before, never one trained on a later as-of
    assert _pick(con, date(2026, 11, 6), max_age_days=7, settings_digest="d1") == "m1104"
    assert _pick(con, date(2026, 11, 3), max_age_days=7, settings_digest="d1") == "m1101"
    assert _pick(con, date(2026, 10, 31), max_age_days=7, settings_digest="d1") is None
    # too old, other settings, no window: train
    assert _pick(con, date(2026, 11, 12), max_age_days=7, settings_digest="d1") is None
    assert _pick(con, date(2026, 11, 6), max_age_days=7, settings_digest="d2") is None
    assert _pick(con, date(2026, 11, 6), max_age_days=0, settings_digest="d1") is None
    assert _pick(con, date(2026, 11, 4), settings_digest="other") is None
    # a territory rerun (no digest): the model that served its national run, any settings
    assert _pick(con, date(2026, 11, 6), max_age_days=7, settings_digest=None) == "m1104"
    assert _pick(con, date(2026, 11, 4), settings_digest=None) == "m1104"
    # another label mode is another model
    assert registered_model(con, date(2026, 11, 6), 6, "offres", 7, "d1") is None


@pytest.mark.parametrize(
    "kw",
    [{"digest": None}, {"features": ["offers_12m"]}],
    ids=["saved before settings digests", "other features"],
)
def test_a_model_of_another_version_is_never_reused(tmp_path: Path, kw: dict) -> None:
    con = duckdb.connect()
    _register(con, tmp_path, "m1101", date(2026, 11, 1), **kw)
    assert _pick(con, date(2026, 11, 2), max_age_days=7, settings_digest="d1") is None
    if "features" in kw:  # not even for a territory rerun: it cannot read today's features
        assert _pick(con, date(2026, 11, 1), settings_digest=None) is None


def test_the_settings_digest_ignores_only_runtime_keys() -> None:
    base = {"seed": 42, "max_iter": 150, "threads": 1, "predict_workers": "auto"}
    same = {**base, "threads": 2, "predict_workers": 1, "retrain_days": 3}
    assert training_settings_digest(base, 6) == training_settings_digest(same, 6)
    assert training_settings_digest(base, 6) != training_settings_digest(base, 3)
    assert training_settings_digest(base, 6) != training_settings_digest({**base, "seed": 1}, 6)


def test_the_settings_digest_follows_the_default_boosting_params(tmp_path) -> None:
    """A config naming no boosting setting still retrains when the code's defaults
    change: the digest holds the effective parameters, not only the section's keys."""
    from dataclasses import asdict, replace

    from ciblage.config import load_settings
    from scoring.model import Params
    from scoring.options import ScoringOptions

    section = {"seed": 42}
    now = training_settings_digest(section, 6, asdict(Params()))
    before = training_settings_digest(section, 6, asdict(replace(Params(), max_iter=150)))
    assert now != before
    (tmp_path / "ciblage.toml").write_text('[run]\nas_of = "2026-11-01"\n', encoding="utf-8")
    settings = load_settings(tmp_path / "ciblage.toml")
    digest = ScoringOptions.from_settings(settings).settings_digest
    section = settings.section("scoring")
    assert digest == training_settings_digest(section, settings.horizon_months, asdict(Params()))
