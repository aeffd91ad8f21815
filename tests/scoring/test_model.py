"""Potential, stars, persistence and determinism of the model."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest

from scoring.calibration import STAR_CUTOFFS, potential, rome_probability, stars
from scoring.features import SnapshotSpec, labelled_snapshot, matrix
from scoring.model import (
    Params,
    ScoringModel,
    fingerprint,
    fit_regressor,
    load_model,
    save_model,
)


def test_potential_and_stars_bounds_and_cutoffs() -> None:
    p = np.array([0.0, 0.004, 0.095, 0.1, 0.249, 0.25, 0.5, 0.749, 0.75, 1.0, 1.2, -0.1])
    pot = potential(p)
    assert pot.min() >= 0 and pot.max() <= 100
    assert list(pot) == [0, 0, 10, 10, 25, 25, 50, 75, 75, 100, 100, 0]
    st = stars(pot)
    assert list(st) == [1, 1, 2, 2, 3, 3, 4, 5, 5, 5, 5, 1]
    assert list(stars(np.array(STAR_CUTOFFS))) == [2, 3, 4, 5]
    assert list(stars(np.array(STAR_CUTOFFS) - 1)) == [1, 2, 3, 4]


def test_rome_probability_never_exceeds_the_establishment() -> None:
    rng = np.random.default_rng(0)
    p, share = rng.random(1000), rng.random(1000)
    pr = rome_probability(p, share)
    assert (pr <= p + 1e-12).all() and (pr >= 0).all()
    assert np.allclose(rome_probability(p, np.ones_like(p)), p)


@pytest.fixture(scope="module")
def snapshot(synthetic_warehouse: Path):
    con = duckdb.connect(str(synthetic_warehouse), read_only=True)
    return labelled_snapshot(con, date(2025, 11, 1), SnapshotSpec(6), "hires_siret")


def test_same_seed_same_model_same_hash(snapshot, tmp_path: Path) -> None:
    params = Params(max_iter=40)
    a = fit_regressor(snapshot, params, seed=3, max_rows=10**6)
    b = fit_regressor(snapshot, params, seed=3, max_rows=10**6)
    X = matrix(snapshot)
    assert np.array_equal(a.predict(X), b.predict(X))
    meta = {
        "horizon_months": 6,
        "label_mode": "hires_siret",
        "reference": {},
        "fingerprint": fingerprint(snapshot, params, 3),
    }
    assert fingerprint(snapshot, params, 3) != fingerprint(snapshot, params, 4)
    id_a, path_a = save_model(ScoringModel(a, None, dict(meta)), tmp_path / "m1", date(2026, 1, 1))
    id_b, path_b = save_model(ScoringModel(b, None, dict(meta)), tmp_path / "m2", date(2026, 1, 1))
    assert id_a == id_b
    loaded = load_model(path_a)
    assert np.array_equal(loaded.predict(X)[0], a.predict(X))
    assert loaded.metadata["library_versions"]["scikit-learn"]


def test_subsampling_keeps_hiring_rows_and_is_seeded(snapshot) -> None:
    from scoring.model import _subsample

    small = _subsample(snapshot, max_rows=len(snapshot) // 2, seed=1)
    assert (small.y > 0).sum() == (snapshot.y > 0).sum()
    assert small["_w"].max() > 1
    again = _subsample(snapshot, max_rows=len(snapshot) // 2, seed=1)
    assert small.siret.tolist() == again.siret.tolist()


def test_tampered_model_file_is_refused(snapshot, tmp_path: Path) -> None:
    reg = fit_regressor(snapshot, Params(max_iter=10), seed=0, max_rows=10**6)
    meta = {"horizon_months": 6, "label_mode": "offres", "reference": {}}
    _, path = save_model(ScoringModel(reg, None, meta), tmp_path, date(2026, 1, 1))
    with path.open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(ValueError, match="sha256"):
        load_model(path)
