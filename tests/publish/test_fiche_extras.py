"""Fiche extras computed once per run for every agency (`write_agency_inputs`) are the
ones a single fiche gets, even when a company is listed by two overlapping agencies."""

from __future__ import annotations

import duckdb

from ciblage.publish.fiche import extras_sql, warehouse_extras
from tests.publish import synthetic as syn


def test_extras_of_a_company_listed_twice_are_not_doubled(synth_warehouse) -> None:
    con = duckdb.connect(str(synth_warehouse), read_only=True)
    try:
        sirets = [r[0] for r in con.execute("SELECT siret FROM etablissement").fetchall()]
        alone = warehouse_extras(con, sirets, syn.AS_OF)
        con.execute(
            "CREATE TEMP TABLE two_agencies AS SELECT a.agency, s.siret FROM "
            "(SELECT unnest($s) AS siret) s, (VALUES ('A1'), ('A2')) a(agency)",
            {"s": sirets},
        )
        rows = con.execute(extras_sql("two_agencies", syn.AS_OF)).fetchall()
    finally:
        con.close()
    assert any(v["top_romes"] for v in alone.values())
    assert any(v["etablissements_actifs"] == 1 for v in alone.values())
    assert len(rows) == len(alone)  # one row per company, not per (agency, company)
    for siret, top, n in rows:
        assert list(top) == alone[siret]["top_romes"]
        assert n == alone[siret]["etablissements_actifs"]
