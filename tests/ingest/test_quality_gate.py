"""The ingest quality gate (`ciblage.ingest.gate`) on small staged tables, without files.

Above `max_rows` staged rows the row-level expectations run on a seeded sample, but the
row count is always the staged table's: the path every national reload takes.
"""

from __future__ import annotations

import json
import logging
from datetime import date

import duckdb
import pytest

from ciblage.ingest import QualityFailure, SourceSpec, prepare
from ciblage.ingest.gate import is_stale, start_quality_gate
from ciblage.quality import Check

GOOD = "73282932000074"
ROW_COUNT = "expect_table_row_count_to_be_at_least_ratio_of_previous"
LUHN = "expect_column_values_to_pass_luhn_checksum"


def _spec(*checks: Check, partition: str | None = "dep", **kw: object) -> SourceSpec:
    return SourceSpec(
        name="src",
        tables=("t",),
        columns=("siret", "dep"),
        reader=None,  # type: ignore[arg-type]  # the gate never reads files
        checks=checks,
        partition=partition,
        **kw,
    )


SPEC = _spec(Check.luhn("siret"), Check.row_count_ratio(0.98))


def quality_gate(con: duckdb.DuckDBPyConnection, *args: object, **kw: object) -> str:
    """The gate started and waited for at once (the loader runs the row rules between)."""
    return start_quality_gate(con, *args, **kw).result(con)  # type: ignore[arg-type]


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    prepare(c)
    return c


def _stage(con: duckdb.DuckDBPyConnection, n: int, bad: int = 0) -> str:
    """stg: n rows, the first `bad` of them with a broken SIRET, in départements 45 and 18."""
    con.execute(
        "CREATE OR REPLACE TABLE stg AS SELECT CASE WHEN i < ? THEN '73282932000075' "
        "ELSE ? END AS siret, CASE WHEN i % 2 = 0 THEN '45' ELSE '18' END AS _partition, "
        "i + 2 AS _row FROM range(?) t(i)",
        [bad, GOOD, n],
    )
    return "stg"


def _results(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[bool, str]]:
    return {
        (e, p): (ok, obs)
        for e, p, ok, obs in con.execute(
            "SELECT expectation, partition, success, observed FROM dq_result WHERE run_id = 'r'"
        ).fetchall()
    }


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


@pytest.mark.parametrize(("rows", "passed"), [(392, True), (391, False)])
def test_sampled_reload_counts_the_staged_table(
    con: duckdb.DuckDBPyConnection, rows: int, passed: bool
) -> None:
    staging = _stage(con, rows)
    if passed:
        note = quality_gate(con, SPEC, staging, "r", 400, "f.csv", max_rows=100)
        assert (
            note == f"row-level expectations on a {100 * 100 / rows:.1f} % sample of {rows:,} rows"
        )
    else:
        with pytest.raises(QualityFailure, match=f"{rows} lignes contre 400"):
            quality_gate(con, SPEC, staging, "r", 400, "f.csv", max_rows=100)
    res = _results(con)
    ok, observed = res[(ROW_COUNT, "all")]
    assert ok is passed
    assert observed.startswith(f"{rows} rows against 400 in the previous load")
    # the row-level check ran on the sample, per département
    assert res[(LUHN, "45")][0] and res[(LUHN, "18")][0]
    assert "stg__dq" not in _tables(con)  # the sample is dropped, the staged table kept
    assert con.execute("SELECT count(*) FROM stg").fetchone()[0] == rows


def test_sample_is_about_max_rows(con: duckdb.DuckDBPyConnection) -> None:
    """A sampled gate still sees a broken file: 30 % bad SIRETs show in a 100-row sample."""
    staging = _stage(con, 1000, bad=300)
    with pytest.raises(QualityFailure, match="siret"):
        quality_gate(con, SPEC, staging, "r", None, "f.csv", max_rows=100)
    res = _results(con)
    assert not res[(LUHN, "45")][0] and not res[(LUHN, "18")][0]
    assert res[(ROW_COUNT, "all")] == (True, "1,000 rows; no previous load to compare with")
    (checked,) = con.execute(
        "SELECT sum(CAST(json_extract(details, '$.element_count') AS INTEGER)) FROM dq_result "
        f"WHERE run_id = 'r' AND expectation = '{LUHN}'"
    ).fetchone()
    assert 50 <= checked <= 200  # about max_rows, not the 1,000 staged rows


def test_the_sample_holds_the_checked_columns_only(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sampling copies the columns the checks read, the row and the partition, not the
    other staged columns (27 for the establishments, 6 of them checked)."""
    from ciblage.quality import validate

    staging = _stage(con, 1000)
    con.execute("ALTER TABLE stg ADD COLUMN wide VARCHAR DEFAULT 'not checked'")
    seen: dict[str, list[str]] = {}
    prepare = validate.prepare_validation

    def spy(c: duckdb.DuckDBPyConnection, **kw):  # type: ignore[no-untyped-def]
        seen[kw["table"]] = [r[0] for r in c.execute(f"DESCRIBE {kw['table']}").fetchall()]
        return prepare(c, **kw)

    monkeypatch.setattr(validate, "prepare_validation", spy)
    quality_gate(con, SPEC, staging, "r", None, "f.csv", max_rows=100)
    assert seen["stg__dq"] == ["siret", "_row", "_partition"]
    assert "wide" in seen["stg"]  # the row count reads the staged table itself


@pytest.mark.parametrize("max_rows", [400, 401, 0, None])
def test_not_sampled_at_or_under_max_rows(con: duckdb.DuckDBPyConnection, max_rows) -> None:
    staging = _stage(con, 400)
    assert quality_gate(con, SPEC, staging, "r", 400, "f.csv", max_rows=max_rows) == ""
    res = _results(con)
    assert res[(ROW_COUNT, "all")][0]
    assert {p for e, p in res if e == LUHN} == {"45", "18"}


def test_one_bad_row_on_the_whole_table(con: duckdb.DuckDBPyConnection) -> None:
    """Unsampled, a single bad SIRET among 400 fails a mostly=1.0 check."""
    staging = _stage(con, 400, bad=1)
    with pytest.raises(QualityFailure, match="dernières données valides sont conservées"):
        quality_gate(con, SPEC, staging, "r", None, "f.csv", max_rows=None)
    assert not _results(con)[(LUHN, "45")][0]


def test_without_partition_the_table_is_one_partition(con: duckdb.DuckDBPyConnection) -> None:
    staging = _stage(con, 400)
    spec = _spec(Check.luhn("siret"), Check.row_count_ratio(0.98), partition=None)
    quality_gate(con, spec, staging, "r", 400, "f.csv", max_rows=100)
    assert {p for e, p in _results(con) if e == LUHN} == {"all"}


def test_row_count_only_is_never_sampled(con: duckdb.DuckDBPyConnection) -> None:
    staging = _stage(con, 400)
    spec = _spec(Check.row_count_ratio(0.98))
    assert quality_gate(con, spec, staging, "r", 400, "f.csv", max_rows=100) == ""
    assert set(_results(con)) == {(ROW_COUNT, "all")}
    with pytest.raises(QualityFailure):
        quality_gate(con, spec, staging, "r", 409, "f.csv", max_rows=100)


def test_non_critical_failure_is_a_warning(con: duckdb.DuckDBPyConnection) -> None:
    staging = _stage(con, 400, bad=1)
    spec = _spec(Check.luhn("siret", critical=False), Check.row_count_ratio(0.98))
    note = quality_gate(con, spec, staging, "r", 400, "f.csv", max_rows=None)
    assert "Avertissements (non critiques) :" in note and "siret" in note
    sampled = _stage(con, 1000, bad=500)
    note = quality_gate(con, spec, sampled, "r", 1000, "f.csv", max_rows=100)
    assert note.startswith("row-level expectations on a 10.0 % sample of 1,000 rows; ")
    assert "Avertissements (non critiques) :" in note


def test_no_check_no_gate(con: duckdb.DuckDBPyConnection) -> None:
    staging = _stage(con, 10, bad=10)
    assert quality_gate(con, _spec(), staging, "r", 1000, "f.csv", max_rows=1) == ""
    assert _results(con) == {}


def test_freshness(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE d AS SELECT DATE '2026-06-30' AS day")
    con.execute("CREATE TABLE ts AS SELECT TIMESTAMP '2026-06-30 23:00:00' AS day")
    con.execute("CREATE TABLE e AS SELECT CAST(NULL AS DATE) AS day")
    spec = _spec(freshness="day", max_age_days=10)
    assert is_stale(con, _spec(), "d", date(2027, 1, 1)) is None  # no freshness rule
    assert is_stale(con, spec, "d", date(2026, 7, 10)) is None  # 10 days: just inside
    assert (
        is_stale(con, spec, "d", date(2026, 7, 11))
        == "données les plus récentes du 2026-06-30, vieilles de 11 jours"
    )
    assert (
        is_stale(con, spec, "ts", date(2026, 7, 11))
        == "données les plus récentes du 2026-06-30, vieilles de 11 jours"
    )
    assert is_stale(con, spec, "e", date(2026, 7, 11)) == "aucune ligne datée"


def test_sampling_is_logged(
    con: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    staging = _stage(con, 400)
    with caplog.at_level(logging.INFO, logger="ciblage.ingest.gate"):
        quality_gate(con, SPEC, staging, "r", 400, "f.csv", max_rows=100)
    assert "src: row-level expectations on a 25.0 % sample of 400 rows" in caplog.messages


def test_failure_names_the_file_and_rows(con: duckdb.DuckDBPyConnection) -> None:
    staging = _stage(con, 1000, bad=300)
    with pytest.raises(QualityFailure, match=r"\(fichier f\.csv\)"):
        quality_gate(con, SPEC, staging, "r", None, "f.csv", max_rows=100)
    rows = con.execute(
        "SELECT details FROM dq_result WHERE run_id = 'r' AND NOT success "
        f"AND expectation = '{LUHN}'"
    ).fetchall()
    assert rows and all(json.loads(d)["example_rows"] for (d,) in rows)
