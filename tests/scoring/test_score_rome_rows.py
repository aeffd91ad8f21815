"""The stored per-trade rows are the back-test's allocation without its potential-0 trades.

Both run sql/score_etablissement_rome.sql: the back-test must rank every candidate (a
floor would hide the model's misses at the bottom of a group), while the stored table only
keeps what a list, the matching or a fiche can show."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from scoring.backtest import rome_allocation
from scoring.model import load_model
from scoring.options import ScoringOptions
from scoring.scorer import MIN_STORED_POTENTIAL


def test_stored_rows_are_the_allocation_above_potential_zero(scored_synthetic: dict) -> None:
    model = load_model(Path(scored_synthetic["path"]))
    opts = ScoringOptions.from_settings(scored_synthetic["settings"])
    con = duckdb.connect(str(scored_synthetic["settings"].warehouse), read_only=True)
    try:
        as_of = con.execute("SELECT max(as_of) FROM score_etablissement").fetchall()[0][0]
        stored = con.execute(
            "SELECT siret, code_rome, expected_hires, hiring_potential, stars "
            "FROM score_etablissement_rome WHERE as_of = ? ORDER BY siret, code_rome",
            [as_of],
        ).df()
        scores = con.execute(
            "SELECT as_of, siret, expected_hires, p_hire FROM score_etablissement "
            "WHERE as_of = ? AND p_hire >= ?",
            [as_of, opts.rome_min_p_hire],
        ).df()
        rome_allocation(
            con,
            scores,
            as_of,
            model.metadata["rome_allocation"]["prior_weight"],
            opts.min_share,
            dispersion=model.dispersion,
        )
        alloc = con.execute(
            "SELECT siret, code_rome, expected_hires, hiring_potential, stars "
            "FROM _rome_alloc ORDER BY siret, code_rome"
        ).df()
    finally:
        con.close()
    assert (alloc.hiring_potential == 0).sum() > 0, "the fixture must have trades at 0"
    shown = alloc[alloc.hiring_potential >= MIN_STORED_POTENTIAL].reset_index(drop=True)
    assert len(stored) == len(shown) > 100
    pd.testing.assert_frame_equal(stored, shown, check_dtype=False, atol=1e-9)
