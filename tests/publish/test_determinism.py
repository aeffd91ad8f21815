"""Two runs on the same data write the same files: list files' rows in one order,
fiche pages with tied trades in one order, whatever order the ranking returned."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import polars as pl

from ciblage.publish.fiche import build_fiches
from ciblage.publish.target_files import read_targets
from ciblage.publish.targets import TARGETS_SCHEMA, write_targets


def _row(level: str, code: str, rome: str, rank: int, siret: str, pot: int, exp: float) -> dict:
    row = dict.fromkeys(TARGETS_SCHEMA)
    row.update(
        territory_level=level,
        territory_code=code,
        territory_name=f"{level} {code}",
        code_rome=rome,
        rome_label=f"métier {rome}",
        rank=rank,
        siret=siret,
        hiring_potential=pot,
        stars=3,
        expected_hires_6m=exp,
        reasons=["raison"],
        name=f"Société {siret}",
        in_cooldown=False,
        as_of=date(2026, 11, 1),
        last_offers=[],
    )
    return row


# one company tied on potential and expected hires in two trades, at the same rank
ROWS = [
    _row("departement", "45", "M1607", 1, "11111111111111", 80, 2.0),
    _row("departement", "45", "G1602", 1, "11111111111111", 80, 2.0),
    _row("departement", "45", "G1602", 2, "22222222222222", 70, 1.0),
    _row("departement", "45", "D1507", 1, "11111111111111", 80, 3.0),
    _row("bassin", "2420", "M1607", 1, "11111111111111", 80, 2.0),
    _row("agence", "2420", "G1602", 1, "22222222222222", 70, 1.0),
    _row("departement", "27", "G1602", 1, "33333333333333", 90, 1.0),
]


def _shuffled(seed: int) -> list[dict]:
    rows = list(ROWS)
    random.Random(seed).shuffle(rows)
    return rows


def test_targets_parquet_is_byte_identical_whatever_the_row_order(tmp_path: Path) -> None:
    blobs = set()
    for seed in range(5):
        out = tmp_path / str(seed)
        out.mkdir()
        df = pl.DataFrame(_shuffled(seed), schema=TARGETS_SCHEMA)
        folder = write_targets(df, out)
        blobs.add(tuple((f.name, f.read_bytes()) for f in sorted(folder.iterdir())))
    assert len(blobs) == 1
    keys = read_targets(tmp_path / "0").select(
        "territory_level", "territory_code", "code_rome", "rank"
    )
    assert keys.rows() == sorted(keys.rows())


def test_fiche_orders_tied_trades_by_a_total_order() -> None:
    seen = set()
    for seed in range(8):
        fiches = build_fiches(
            [r for r in _shuffled(seed) if r["territory_level"] == "departement"], aids=[]
        )
        seen.add(
            tuple(
                (f["siret"], f["code_rome"], tuple(x["code_rome"] for x in f["lists"]))
                for f in fiches
            )
        )
    assert len(seen) == 1
    (order,) = seen
    assert order[0] == ("33333333333333", "G1602", ("G1602",))  # rank 1, best potential
    # the company's trades: potential desc, expected hires desc, then code_rome; the
    # fields the fiche copies come from its best row (D1507, 3.0 expected hires)
    assert order[1] == ("11111111111111", "D1507", ("D1507", "G1602", "M1607"))


def test_agency_search_terms_do_not_depend_on_insertion_order() -> None:
    """The site index's search text (postcodes of a commune) is the same on every run."""
    import duckdb

    from ciblage.territories import search_terms

    texts = set()
    for rows in (["27600", "27940"], ["27940", "27600"]):
        con = duckdb.connect()
        con.execute(
            "CREATE TABLE ref_commune AS SELECT '27681' AS code_commune, "
            "'Vernon' AS libelle, '27' AS code_departement"
        )
        con.execute(
            "CREATE TABLE ref_departement AS SELECT '27' AS code_departement, 'Eure' AS libelle"
        )
        con.execute("CREATE TABLE ref_code_postal (code_commune VARCHAR, code_postal VARCHAR)")
        con.executemany("INSERT INTO ref_code_postal VALUES ('27681', ?)", [[r] for r in rows])
        con.execute(
            "CREATE TEMP TABLE territory_commune AS SELECT 'agence' AS territory_level, "
            "'2812' AS territory_code, '27681' AS code_commune"
        )
        texts.add(search_terms(con, "agence", "2812"))
    assert texts == {"Vernon 27600 27940 Eure"}
