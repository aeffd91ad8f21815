"""Small DuckDB staging tables (all VARCHAR, like the ingestion's) for the quality tests."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from tests.quality.helpers import MakeTable


@pytest.fixture()
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute(
        "CREATE TABLE ref_commune AS SELECT * FROM (VALUES ('45234'), ('45001'), ('75056'))"
        " v(code_commune)"
    )
    yield c
    c.close()


@pytest.fixture()
def make_table(con: duckdb.DuckDBPyConnection) -> MakeTable:
    """make_table({"col": [values...]}, name="stg") -> table name, every column VARCHAR."""

    def make(columns: dict[str, list[str | None]], name: str = "stg") -> str:
        names = list(columns)
        n = len(next(iter(columns.values())))
        con.execute(
            f"CREATE OR REPLACE TABLE {name} (" + ", ".join(f'"{c}" VARCHAR' for c in names) + ")"
        )
        rows = [tuple(columns[c][i] for c in names) for i in range(n)]
        if rows:
            con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' for _ in names)})", rows)
        return name

    return make
