"""Short lists: close trades from the NAF×ROME hiring matrix, the French note."""

from __future__ import annotations

import duckdb
import polars as pl

from ciblage.publish.widening import (
    nearest_agencies,
    note_text,
    similar_trades,
    trade_similarity,
)


def test_close_trades_share_their_hiring_activities(synth_warehouse):
    con = duckdb.connect(str(synth_warehouse), read_only=True)
    try:
        pairs = trade_similarity(con)
        close = similar_trades(pairs, ["G1602", "N4101"], ["G1602", "G1803", "M1607", "N4101"])
    finally:
        con.close()
    # kitchen and table service are hired by the same restaurants
    assert close["G1602"][0][0] == "G1803" and close["G1602"][0][2] > 0.5
    assert "N4101" not in close  # lorry driving hires from no other listed trade's NAF


def test_nearest_agencies_and_note():
    centres = pl.DataFrame(
        {
            "territory_code": ["A", "B", "C"],
            "name": ["Orléans", "Montargis", "Chartres"],
            "lat": [47.9, 48.0, 48.45],
            "lon": [1.9, 2.73, 1.49],
        }
    )
    near = nearest_agencies(centres, "A")
    assert [a["code"] for a in near] == ["B", "C"] and 55 < near[0]["km"] < 70
    text = note_text(
        2,
        10,
        [{**near[0], "n": 12}],
        [{"code_rome": "G1803", "rome_label": "Service en restauration", "n": 7}],
    )
    assert text.startswith("Liste courte : 2 entreprises ont une chance réelle")
    assert "Montargis (12 entreprises)" in text and "G1803 Service en restauration (7)" in text
    assert note_text(1, 0, [], []) == (
        "Liste courte : 1 entreprise a une chance réelle d'embaucher dans ce métier ici."
    )
