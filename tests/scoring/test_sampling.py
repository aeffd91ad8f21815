"""Training and back-test snapshots above their budget are samples drawn in SQL
(scoring/sampling.py): bounded, reproducible, with the features of a full snapshot, and
the back-test keeps whole départements. Below the budget nothing changes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from scoring.features import SnapshotSpec, labelled_snapshot
from scoring.model import _subsample
from scoring.sampling import WHOLE, active_by_departement, eval_sample, train_sample

SPEC = SnapshotSpec(horizon_months=6)
D = date(2026, 5, 1)


@pytest.fixture()
def con(synthetic_warehouse: Path):
    with duckdb.connect(str(synthetic_warehouse), read_only=True) as c:
        yield c


def test_below_its_budget_a_snapshot_is_whole(con) -> None:
    total = sum(active_by_departement(con, D).values())
    assert train_sample(con, D, total, seed=1).predicate == WHOLE
    assert eval_sample(con, D, total, seed=1).predicate == WHOLE
    assert train_sample(con, D, total - 1, seed=1).predicate != WHOLE


def test_train_sample_is_bounded_reproducible_and_keeps_full_features(con) -> None:
    full = labelled_snapshot(con, D, SPEC, "hires_siret")
    budget = len(full) // 3
    sample = train_sample(con, D, budget, seed=1)
    part = labelled_snapshot(con, D, SPEC, "hires_siret", sample.predicate)
    assert abs(len(part) - budget) < 4 * budget**0.5  # a binomial draw around the budget
    assert sample.of_rows == len(full)
    again = labelled_snapshot(con, D, SPEC, "hires_siret", sample.predicate)
    assert part.siret.tolist() == again.siret.tolist()
    other = train_sample(con, D, budget, seed=2)
    assert set(labelled_snapshot(con, D, SPEC, "hires_siret", other.predicate).siret) != set(
        part.siret
    )
    # company, sector and territory aggregates come from the whole warehouse
    same = full.set_index("siret").loc[part.siret].reset_index()
    pd.testing.assert_frame_equal(part.reset_index(drop=True), same, check_like=True)
    # hiring and non-hiring establishments at the same rate: no re-weighting needed
    assert abs((part.y > 0).mean() - (full.y > 0).mean()) < 0.15


def test_eval_sample_keeps_whole_departements(con) -> None:
    counts = active_by_departement(con, D)
    full = labelled_snapshot(con, D, SPEC, "hires_siret")
    small = min(counts.values())
    sample = eval_sample(con, D, small, seed=3)
    assert len(sample.departements) == 1 and sample.rows == counts[sample.departements[0]]
    part = labelled_snapshot(con, D, SPEC, "hires_siret", sample.predicate)
    dep = sample.departements[0]
    assert set(part.siret) == set(full.loc[full.code_departement == dep, "siret"])
    # never empty: a budget under every département still keeps one
    assert len(eval_sample(con, D, 1, seed=3).departements) == 1


def test_subsample_when_hiring_is_common_is_uniform() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"siret": [f"{i:014d}" for i in range(1000)], "y": rng.poisson(2, 1000)})
    assert (df.y > 0).mean() > 0.8
    out = _subsample(df, max_rows=300, seed=1)
    assert len(out) == 300 and (out["_w"] == 1.0).all()
    assert out.siret.is_monotonic_increasing  # the frame's order is kept


def test_training_with_small_budgets_records_its_samples(
    tmp_path: Path, synthetic_copy, scored_synthetic: dict
) -> None:
    from tests.scoring.conftest import FAST, score_directly, write_synthetic_config

    cfg = write_synthetic_config(
        tmp_path, synthetic_copy, FAST + "max_train_rows = 300\nmax_eval_rows = 1\n"
    )
    res = score_directly(cfg)
    meta = json.loads((Path(res["path"]).parent / "metadata.json").read_text())
    samples = meta["training"]["samples"]
    assert isinstance(samples, dict), samples
    kinds = {k.split()[0] for k in samples}
    assert kinds == {"train", "eval"}
    evals = [v for k, v in samples.items() if k.startswith("eval")]
    assert len(evals) == 1 and len(evals[0]["departements"]) == 1
    assert res["backtest"]["n_establishments"] == evals[0]["rows"]
    assert all(v["rows"] <= 300 for k, v in samples.items() if k.startswith("train"))
    card = Path(res["model_card"]).read_text(encoding="utf-8")
    assert "- Samples (snapshots above their budget" in card and "(whole départements: 1)" in card
    # the plausibility bound still sees the largest hirer of the whole population
    assert res["gate"]["bound"] >= scored_synthetic["gate"]["bound"]


def test_bound_maxima_see_the_whole_population(con) -> None:
    """A small sample misses the largest hirer; the gate's bound must not."""
    from scoring.training import _Snapshots

    full = labelled_snapshot(con, D, SPEC, "hires_siret")
    snaps = _Snapshots(con, SPEC, "hires_siret", {"train": 20, "eval": 20}, seed=1)
    part = snaps.get(D)
    assert len(part) < len(full)
    assert part.y.max() < full.y.max() or part.hires_12m.max() < full.hires_12m.max()
    max_y, max_past = snaps.maxima([D], "hires_12m")
    assert max_y >= full.y.max() and max_past >= full.hires_12m.max()
    assert max_past == pytest.approx(full.hires_12m.max())  # the features' own definition


def test_two_samples_of_one_date_are_one_build_with_their_own_frames(con, monkeypatch) -> None:
    """The back-test's date is drawn for training and for evaluation: one feature build
    (its aggregates are the cost), and each frame equals the one its own build gives."""
    from scoring import training
    from scoring.features import labelled_snapshots

    counts = active_by_departement(con, D)
    train = train_sample(con, D, sum(counts.values()) // 4, seed=5)
    evals = eval_sample(con, D, min(counts.values()), seed=5)
    assert WHOLE not in (train.predicate, evals.predicate)
    both = labelled_snapshots(con, D, SPEC, "hires_siret", [train.predicate, evals.predicate])
    for predicate, frame in zip((train.predicate, evals.predicate), both, strict=True):
        pd.testing.assert_frame_equal(
            frame, labelled_snapshot(con, D, SPEC, "hires_siret", predicate)
        )
    # the training's snapshots: both samples drawn, one build when the first is fetched
    builds: list[list[str]] = []
    monkeypatch.setattr(
        training,
        "labelled_snapshots",
        lambda *a: builds.append(a[-1]) or labelled_snapshots(*a),
    )
    snaps = training._Snapshots(con, SPEC, "hires_siret", {"train": 50, "eval": 50}, seed=5)
    drawn = {kind: snaps.sample(D, kind).predicate for kind in ("eval", "train")}
    frames = {kind: snaps.get(D, kind) for kind in ("eval", "train")}
    assert len(builds) == 1 and sorted(builds[0]) == sorted(drawn.values())
    for kind, frame in frames.items():
        pd.testing.assert_frame_equal(
            frame, labelled_snapshot(con, D, SPEC, "hires_siret", drawn[kind])
        )
