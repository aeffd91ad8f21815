"""Territory parameter parsing and distances."""

from __future__ import annotations

import duckdb
import pytest

from ciblage.territories import (
    TerritoryError,
    TerritoryFilter,
    haversine_km,
    haversine_sql,
    parse_territory,
)


@pytest.mark.parametrize(
    "text, level, code",
    [
        ("all", None, None),
        (None, None, None),
        ("dep:45", "departement", "45"),
        ("dep:2a", "departement", "2A"),
        ("dep:1", "departement", "01"),
        ("bassin:2420", "bassin", "2420"),
        ("agence:ORL-NORD", "agence", "ORL-NORD"),
    ],
)
def test_parse(text, level, code):
    flt = parse_territory(text)
    assert (flt.level, flt.code) == (level, code)
    assert parse_territory(str(flt)) == flt


@pytest.mark.parametrize("text", ["45", "dep:", "region:24", "commune:45234"])
def test_parse_errors(text):
    with pytest.raises(TerritoryError, match="invalid territory"):
        parse_territory(text)


def test_str_roundtrip():
    assert str(TerritoryFilter("bassin", "2420")) == "bassin:2420"


def test_haversine_python_and_sql_agree():
    paris, orleans = (48.8566, 2.3522), (47.9029, 1.9093)
    km = haversine_km(*paris, *orleans)
    assert 108 < km < 112  # ~111 km as the crow flies
    expr = haversine_sql("a_lat", "a_lon", "b_lat", "b_lon")
    [(sql_km,)] = duckdb.sql(
        f"SELECT {expr} FROM (SELECT {paris[0]} a_lat, {paris[1]} a_lon, "
        f"{orleans[0]} b_lat, {orleans[1]} b_lon)"
    ).fetchall()
    assert sql_km == pytest.approx(km, rel=1e-9)
    assert haversine_km(*paris, *paris) == 0
