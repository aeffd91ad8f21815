"""Scoring chunks in parallel threads (`[scoring] predict_workers`, scoring/scorer.py)
writes the same rows, in the same order, as one thread on one chunk."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd


def test_parallel_chunks_score_the_same_rows_in_the_same_order(
    scored_synthetic: dict, tmp_path: Path
) -> None:
    """`[scoring] predict_workers`: threads scoring chunks side by side change nothing."""
    import shutil

    from scoring.model import load_model
    from scoring.scorer import RAW, predict_to_raw

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(scored_synthetic["settings"].warehouse, warehouse)
    model = load_model(Path(scored_synthetic["path"]), scored_synthetic["sha256"])
    frames = []
    with duckdb.connect(str(warehouse)) as con:
        for chunk_rows, workers in ((1_000_000, 1), (37, 3)):
            n = predict_to_raw(
                con,
                model,
                date(2026, 11, 1),
                "m",
                "hires_siret",
                features_table="feature_etablissement",
                chunk_rows=chunk_rows,
                workers=workers,
            )
            frames.append(con.execute(f"SELECT * FROM {RAW}").df())
            assert n == len(frames[-1]) > 37 * 3
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_per_rome_rows_built_in_slices_are_the_same_rows(
    scored_synthetic: dict, tmp_path: Path, monkeypatch
) -> None:
    """Nationally the per-ROME rows are built a slice of départements at a time (all at
    once ran DuckDB out of memory): the stored rows must not depend on the slicing, and
    the table must be stored sorted by département, SIRET and trade (a territory rerun
    reads its département's blocks only) without one sort of all the rows."""
    import shutil

    import scoring.scorer as scorer
    from scoring.model import load_model

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(scored_synthetic["settings"].warehouse, warehouse)
    model = load_model(Path(scored_synthetic["path"]), scored_synthetic["sha256"])
    day = date(2026, 11, 1)
    tables = []
    with duckdb.connect(str(warehouse)) as con:
        for slice_rows in (scorer.ROME_SLICE_ESTABLISHMENTS, 100):
            monkeypatch.setattr(scorer, "ROME_SLICE_ESTABLISHMENTS", slice_rows)
            con.execute(
                f"CREATE OR REPLACE TABLE {scorer.FEATURES_NEW} AS "
                "SELECT * FROM feature_etablissement"
            )
            scorer.predict_to_raw(con, model, day, "m", "hires_siret", workers=1)
            slices = scorer.departement_slices(con, scorer.RAW, 0.005, slice_rows)
            counts = scorer.write_tables(con, day, True, 3, 5.0, 0.02)
            stored = con.execute(
                "SELECT * FROM score_etablissement_rome WHERE as_of = ? ORDER BY rowid", [day]
            ).df()
            tables.append(stored)
            assert counts["score_etablissement_rome"] == len(stored)
            ordered = stored.sort_values(["code_departement", "siret", "code_rome"])
            assert stored.index.equals(ordered.index)  # stored in that order
            if slice_rows == 100:
                assert len(slices) > 1  # one slice per département
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_a_rescored_establishment_without_new_trade_rows_loses_its_old_ones() -> None:
    """A territory rerun replaces the per-ROME rows of every establishment it scored: one
    whose P(hire) fell under `rome_min_p_hire` has no new rows and must not keep
    yesterday's, while establishments outside the rerun keep theirs."""
    from scoring.scorer import _replace_rows

    day = date(2026, 11, 1)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE score_etablissement_rome AS SELECT * FROM (VALUES "
        "(DATE '2026-11-01', 'A', 'A1', 1.0), (DATE '2026-11-01', 'B', 'B1', 2.0), "
        "(DATE '2026-11-01', 'C', 'C1', 3.0)) t(as_of, siret, code_rome, expected_hires)"
    )
    con.execute("CREATE TABLE _score_new AS SELECT * FROM (VALUES ('A'), ('B')) t(siret)")
    con.execute("CREATE TABLE _shape AS SELECT * FROM score_etablissement_rome LIMIT 0")
    insert = (
        "INSERT INTO score_etablissement_rome BY NAME SELECT CAST($as_of AS DATE) AS as_of, "
        "'A' AS siret, 'A2' AS code_rome, 5.0 AS expected_hires",
        {"as_of": day, "unused": 1},
    )
    n = _replace_rows(
        con, "score_etablissement_rome", "_shape", day, False, 3, [insert], "_score_new"
    )
    rows = con.execute(
        "SELECT siret, code_rome FROM score_etablissement_rome ORDER BY siret"
    ).fetchall()
    assert n == 1 and rows == [("A", "A2"), ("C", "C1")]


def test_a_failed_slice_rolls_back_and_reports_its_own_error() -> None:
    """A slice that fails leaves the table as it was and raises its own error (not the
    aborted transaction's refusal of the next statement)."""
    from scoring.scorer import _replace_rows

    day = date(2026, 11, 1)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE score_etablissement_rome AS SELECT DATE '2026-11-01' AS as_of, "
        "'A' AS siret, 1 AS n"
    )
    con.execute("CREATE TABLE _shape AS SELECT * FROM score_etablissement_rome LIMIT 0")
    bad = ("INSERT INTO score_etablissement_rome BY NAME SELECT 'x' AS n", {})
    try:
        _replace_rows(con, "score_etablissement_rome", "_shape", day, True, 3, [bad])
    except duckdb.ConversionException:
        pass
    else:  # pragma: no cover - the insert must fail
        raise AssertionError("the bad slice was accepted")
    assert con.execute("SELECT siret, n FROM score_etablissement_rome").fetchall() == [("A", 1)]
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchall() == [
        (False,)
    ]


def test_the_arrow_matrix_is_the_pandas_one() -> None:
    """Scoring builds the model's matrix from Arrow batches (`arrow_matrix`), training
    from pandas frames (`matrix`): the same numbers for every column type the feature SQL
    gives (doubles, integers, DECIMAL counts, booleans), NULL as NaN."""
    import numpy as np

    from scoring.features import FEATURES, arrow_matrix, matrix

    kinds = ["DOUBLE", "INTEGER", "BIGINT", "DECIMAL(38, 0)", "BOOLEAN"]
    values = {
        "DOUBLE": ["1.5", "NULL", "-0.25"],
        "INTEGER": ["3", "NULL", "0"],
        "BIGINT": ["9007199254740000", "7", "NULL"],
        "DECIMAL(38, 0)": ["NULL", "12", "123456789"],
        "BOOLEAN": ["true", "NULL", "false"],
    }
    rows = []
    for r in range(3):
        cells = [
            f"CAST({values[kinds[i % len(kinds)]][r]} AS {kinds[i % len(kinds)]}) AS {f}"
            for i, f in enumerate(FEATURES)
        ]
        rows.append(f"SELECT '1000000000001{r}' AS siret, " + ", ".join(cells))
    con = duckdb.connect()
    table = con.sql(" UNION ALL ".join(rows)).to_arrow_table().combine_chunks()
    (batch,) = table.to_batches()
    got, want = arrow_matrix(batch), matrix(batch.to_pandas())
    assert got.shape == (3, len(FEATURES)) and got.dtype == np.float64
    assert np.array_equal(got, want, equal_nan=True)
    assert np.isnan(got).any() and got[0, 2] == 9007199254740000.0
