"""The stored per-trade rows are the back-test's allocation without its potential-0 trades.

Both run sql/score_etablissement_rome.sql: the back-test must rank every candidate (a
floor would hide the model's misses at the bottom of a group), while the stored table only
keeps what a list, the matching or a fiche can show."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ciblage.warehouse import sql_text, used_params
from scoring.backtest import rome_allocation
from scoring.calibration import p_hire_sql, star_sql
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


AS_OF = "2026-11-01"


def _rome_rows(con: duckdb.DuckDBPyConnection, min_share: float, weight: float) -> set[tuple]:
    """sql/score_etablissement_rome.sql on a hand-made warehouse: (siret, trade, hires)."""
    sql = sql_text(
        "score_etablissement_rome",
        scores="scores",
        stars_case=star_sql("round(100 * p_rome)"),
        p_rome=p_hire_sql("sh.expected_hires * sh.share", 0.5),
        into="CREATE OR REPLACE TEMP TABLE out_rows AS",
        slice="TRUE",
    )
    params = {
        "as_of": AS_OF,
        "prior_weight": weight,
        "min_share": min_share,
        "min_p": 0.0,
        "min_potential": 0,
    }
    con.execute(sql, used_params(sql, params))
    rows = con.execute("SELECT siret, code_rome, expected_hires FROM out_rows").fetchall()
    assert len({(s, r) for s, r, _ in rows}) == len(rows), "a trade twice for one company"
    return {(siret, rome, round(hires, 6)) for siret, rome, hires in rows}


def test_a_trade_under_the_minimum_share_of_its_naf_is_kept_only_with_own_offers() -> None:
    # NAF 1071C: D1102 90 %, D1106 9.5 %, D1505 0.5 % (alone under the 2 % minimum share)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE ref_naf_rome AS SELECT * FROM (VALUES ('1071C', 'D1102', 0.9), "
        "('1071C', 'D1106', 0.095), ('1071C', 'D1505', 0.005)) t(naf_code, code_rome, "
        "share_of_naf)"
    )
    con.execute(
        "CREATE TABLE etablissement AS SELECT * FROM (VALUES ('11111111100011', '1071C', "
        "'45'), ('22222222200022', '1071C', '45'), ('33333333300033', '1071C', '18')) "
        "t(siret, naf_code, code_departement)"
    )
    con.execute(
        f"CREATE TABLE scores AS SELECT DATE '{AS_OF}' AS as_of, siret, 10.0 AS expected_hires, "
        "0.9 AS p_hire FROM etablissement"
    )
    # the second bakery posted 30 offers for D1505 within 24 months, the third 5 for K2204
    # (outside its NAF's trades)
    con.execute(
        "CREATE TABLE offre AS SELECT 'o' || i AS offre_id, DATE '2026-06-01' AS date_creation, "
        "CASE WHEN i < 30 THEN 'D1505' ELSE 'K2204' END AS code_rome FROM range(35) r(i)"
    )
    con.execute(
        "CREATE TABLE offre_siret_link AS SELECT offre_id, CASE WHEN code_rome = 'D1505' "
        "THEN '22222222200022' ELSE '33333333300033' END AS siret FROM offre"
    )
    con.execute(
        "CREATE TABLE hires_siret (siret VARCHAR, code_rome VARCHAR, mois VARCHAR, "
        "nombre_embauches INTEGER)"
    )
    weight = 10.0
    rows = _rome_rows(con, 0.02, weight)
    trades = {(s, r) for s, r, _ in rows}
    assert ("11111111100011", "D1505") not in trades  # 0.5 % of its NAF, no own offer
    assert {("11111111100011", "D1102"), ("11111111100011", "D1106")} <= trades
    # own offers lift the low trade: (w x 0.005 + 30) / (w x 1 + 30) of its 10 hires
    share = (weight * 0.005 + 30) / (weight * 1.0 + 30)
    assert ("22222222200022", "D1505", round(10.0 * share, 6)) in rows
    assert ("33333333300033", "K2204") in trades  # own trade outside the NAF's list
    assert ("33333333300033", "D1505") not in trades
