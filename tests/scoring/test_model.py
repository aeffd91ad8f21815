"""Potential, stars, persistence and determinism of the model."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from scoring.calibration import (
    STAR_CUTOFFS,
    fit_dispersion,
    p_hire,
    p_hire_sql,
    potential,
    stars,
)
from scoring.features import FEATURES, SnapshotSpec, labelled_snapshot, matrix
from scoring.model import (
    F_BOUNDS,
    MONOTONE_INCREASING,
    Params,
    fingerprint,
    fit_model,
    load_model,
    save_model,
)


def _fit(snapshot, params, seed=3):
    return fit_model(snapshot, params, seed, 10**6, "hires_siret", 6)


def test_potential_and_stars_bounds_and_cutoffs() -> None:
    p = np.array([0.0, 0.004, 0.095, 0.1, 0.249, 0.25, 0.5, 0.749, 0.75, 1.0, 1.2, -0.1])
    pot = potential(p)
    assert pot.min() >= 0 and pot.max() <= 100
    assert list(pot) == [0, 0, 10, 10, 25, 25, 50, 75, 75, 100, 100, 0]
    st = stars(pot)
    assert list(st) == [1, 1, 2, 2, 3, 3, 4, 5, 5, 5, 5, 1]
    assert list(stars(np.array(STAR_CUTOFFS))) == [2, 3, 4, 5]
    assert list(stars(np.array(STAR_CUTOFFS) - 1)) == [1, 2, 3, 4]


def test_trade_probability_never_exceeds_the_establishment_and_sql_agrees() -> None:
    rng = np.random.default_rng(0)
    mu, share = rng.gamma(0.5, 4.0, 1000), rng.random(1000)
    for k in (0.05, 0.5, 3.0):
        p = p_hire(mu, k)
        pr = p_hire(mu * share, k)
        assert (pr <= p + 1e-12).all() and (pr >= 0).all() and (p < 1).all()
        # strictly increasing in mu: a higher expected count never shows a lower potential
        order = np.argsort(mu)
        assert (np.diff(p[order]) >= 0).all()
        sql = p_hire_sql("x", k)
        got = duckdb.sql(f"SELECT {sql} FROM (SELECT 2.5::DOUBLE AS x)").fetchall()[0][0]
        assert got == pytest.approx(float(p_hire(np.array([2.5]), k)[0]))


def test_dispersion_is_recovered_from_overdispersed_counts() -> None:
    rng = np.random.default_rng(1)
    mu = rng.gamma(1.0, 2.0, 20_000)
    k_true = 0.4
    y = rng.poisson(rng.gamma(k_true, mu / k_true))
    assert fit_dispersion(mu, y) == pytest.approx(k_true, rel=0.25)
    # Poisson-like data gives a large dispersion, i.e. close to 1 - exp(-mu)
    assert fit_dispersion(mu, rng.poisson(mu)) > 5


@pytest.fixture(scope="module")
def snapshot(synthetic_warehouse: Path):
    con = duckdb.connect(str(synthetic_warehouse), read_only=True)
    return labelled_snapshot(con, date(2025, 11, 1), SnapshotSpec(6), "hires_siret")


def test_same_seed_same_model_same_hash(snapshot, tmp_path: Path) -> None:
    params = Params(max_iter=40)
    a, b = _fit(snapshot, params), _fit(snapshot, params)
    X = matrix(snapshot)
    assert np.array_equal(a.mu(X), b.mu(X))
    meta = {
        "horizon_months": 6,
        "label_mode": "hires_siret",
        "reference": {},
        "fingerprint": fingerprint(snapshot, params, 3),
    }
    assert fingerprint(snapshot, params, 3) != fingerprint(snapshot, params, 4)
    a.metadata, b.metadata = dict(meta), dict(meta)
    id_a, path_a = save_model(a, tmp_path / "m1", date(2026, 1, 1))
    id_b, path_b = save_model(b, tmp_path / "m2", date(2026, 1, 1))
    assert id_a == id_b
    loaded = load_model(path_a)
    assert np.array_equal(loaded.predict(X)[0], a.mu(X))
    assert loaded.metadata["library_versions"]["scikit-learn"]


def test_subsampling_keeps_hiring_rows_and_is_seeded(snapshot) -> None:
    from scoring.model import _subsample

    # hiring rare (as in a small territory): a tenth as many hiring rows as the others
    neg = snapshot[snapshot.y <= 0]
    rare = pd.concat([snapshot[snapshot.y > 0].head(len(neg) // 10), neg], ignore_index=True)
    small = _subsample(rare, max_rows=len(rare) // 2, seed=1)
    assert (small.y > 0).sum() == (rare.y > 0).sum()
    assert small["_w"].max() > 1
    again = _subsample(rare, max_rows=len(rare) // 2, seed=1)
    assert small.siret.tolist() == again.siret.tolist()


def test_tampered_model_file_is_refused(snapshot, tmp_path: Path) -> None:
    model = _fit(snapshot, Params(max_iter=10), seed=0)
    model.metadata = {"horizon_months": 6, "label_mode": "offres", "reference": {}}
    _, path = save_model(model, tmp_path, date(2026, 1, 1))
    with path.open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(ValueError, match="sha256"):
        load_model(path)


def test_more_past_hiring_never_lowers_the_prediction(snapshot) -> None:
    model = _fit(snapshot, Params(max_iter=60, l2_regularization=1.0, min_samples_leaf=50))
    X = matrix(snapshot)
    base = model.mu(X)
    for f in ("hires_12m", "hires_6m", "offers_12m", "postes_12m", "siren_hires_12m"):
        assert f in MONOTONE_INCREASING
        Xp = X.copy()
        j = FEATURES.index(f)
        Xp[:, j] = np.nan_to_num(Xp[:, j]) + 5
        assert (model.mu(Xp) >= base - 1e-9).all(), f


def test_correction_is_bounded_and_the_top_is_not_flat(snapshot) -> None:
    model = _fit(snapshot, Params(max_iter=60, l2_regularization=1.0, min_samples_leaf=50))
    X = matrix(snapshot)
    mu, mu0 = model.mu(X), model.prior.mu(X)
    ratio = mu / mu0
    assert ratio.min() >= F_BOUNDS[0] - 1e-9 and ratio.max() <= F_BOUNDS[1] + 1e-9
    # the 20 biggest past hirers keep distinct expected hires (no single top leaf value)
    top = np.argsort(-np.nan_to_num(snapshot["hires_12m"].to_numpy(dtype=float)))[:20]
    assert len(np.unique(np.round(mu[top], 9))) >= len(np.unique(snapshot["hires_12m"].iloc[top]))


def test_regularisation_floor_applies_to_any_grid_point() -> None:
    from scoring.model import MIN_L2, MIN_LEAF, TrainConfig

    cfg = TrainConfig.from_section({"grid": [[0.0, 20], [5.0, 500]]})
    assert cfg.grid == ((MIN_L2, MIN_LEAF), (5.0, 500))
    assert Params(l2_regularization=0.0, min_samples_leaf=1).floored() == Params(
        l2_regularization=MIN_L2, min_samples_leaf=MIN_LEAF
    )


def test_prior_shrinks_toward_the_size_sector_rate(snapshot) -> None:
    from scoring.prior import fit_prior

    X = matrix(snapshot)
    y = snapshot["y"].to_numpy(dtype=float)
    prior = fit_prior(X, y, np.ones(len(y)), "hires_siret", 6)
    assert prior.k > 0 and prior.scale > 0
    mu0 = prior.mu(X)
    # calibrated in total on its own training rows
    assert mu0.sum() == pytest.approx(y.sum(), rel=0.01)
    # an establishment with no past hire still gets its group's rate, not zero
    none = np.nan_to_num(snapshot["hires_12m"].to_numpy(dtype=float)) == 0
    assert (mu0[none] > 0).all()
    # JSON round trip (stored in the model's metadata)
    from scoring.prior import Prior

    again = Prior.from_json(prior.to_json())
    assert np.array_equal(again.mu(X), mu0)
