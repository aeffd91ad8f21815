"""validate_table: each check kind passes and fails, thresholds, partitions, dq_result."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from ciblage.quality import Check, CheckError, QualityError, luhn_valid, validate_table
from tests.quality.helpers import INVALID_SIRET, VALID_SIRETS, MakeTable


def run(con: duckdb.DuckDBPyConnection, checks: list[Check], **kw):
    kw.setdefault("run_id", "run-1")
    kw.setdefault("source", "src")
    kw.setdefault("table", "stg")
    return validate_table(con, checks=checks, **kw)


# --- Luhn -----------------------------------------------------------------------------


def test_luhn_vectorised_matches_known_identifiers() -> None:
    values = pd.Series([*VALID_SIRETS, INVALID_SIRET, "732829320", "732829321", "12AB", None])
    got = luhn_valid(values).tolist()
    assert got[:4] == [True, True, True, True]
    assert got[4] is False
    assert got[5] is True  # SIREN of the first SIRET
    assert got[6] is False
    assert got[7] is False  # not digits
    assert got[8] is pd.NA


def test_la_poste_rule_only_applies_to_la_poste() -> None:
    # digit sum multiple of 5 (20 and 40) but Luhn-invalid: accepted only under SIREN 356000000
    assert luhn_valid(pd.Series(["35600000000051"])).iloc[0]
    assert not luhn_valid(pd.Series(["73282932000013"])).iloc[0]


# --- each kind passes and fails ----------------------------------------------------------

CASES = [
    # (check, good column, bad column, expected example in the message)
    (Check.not_null("c"), ["a", "b"], ["a", None], None),
    (Check.unique("c"), ["a", "b"], ["a", "a"], "'a'"),
    (Check.regex("c", r"[0-9]{4}[A-Z]"), ["4711F", "0111Z"], ["4711F", "47.11F"], "'47.11F'"),
    (Check.luhn("c"), VALID_SIRETS, [VALID_SIRETS[0], INVALID_SIRET], repr(INVALID_SIRET)),
    (
        Check.in_table("c", "ref_commune.code_commune"),
        ["45234", "75056"],
        ["45234", "99999"],
        "'99999'",
    ),
    (Check.in_set("c", ["A", "F"]), ["A", "F"], ["A", "X"], "'X'"),
    (Check.date_parse("c", "%Y-%m-%d"), ["2020-01-31", None], ["2020-01-31", "2020-02-30"], None),
    (Check.between("c", 0, 100), ["0", "99.5"], ["5", "101"], "'101'"),
    (Check.between("c", 0, None), ["0", "7"], ["5", "abc"], "'abc'"),
]


@pytest.mark.parametrize(("check", "good", "bad", "example"), CASES, ids=lambda x: str(x)[:30])
def test_each_kind_passes_and_fails(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable, check, good, bad, example
) -> None:
    make_table({"c": good})
    ok = run(con, [check])
    assert ok.passed, ok.message()
    assert ok.failures == []

    make_table({"c": bad})
    ko = run(con, [check], run_id="run-2")
    assert not ko.passed
    (failure,) = ko.failures
    assert failure.check == check
    # GE counts every occurrence of a duplicated key as unexpected
    assert failure.unexpected_count == (2 if check.kind == "unique" else 1)
    msg = ko.message()
    assert "field 'c'" in msg and "source 'src'" in msg
    if example:
        assert example in msg
        assert example.strip("'") in failure.examples


def test_invalid_date_example_is_reported(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    make_table({"c": ["2020-01-31", "31/01/2020"]})
    out = run(con, [Check.date_parse("c")])
    assert out.failures[0].examples == ("31/01/2020",)


def test_row_count_ratio(con: duckdb.DuckDBPyConnection, make_table: MakeTable) -> None:
    make_table({"c": [str(i) for i in range(98)]})
    check = Check.row_count_ratio(0.98)
    assert run(con, [check], previous_rows=100).passed
    assert run(con, [check], previous_rows=None).passed  # first load
    out = run(con, [check], previous_rows=101)
    assert not out.passed
    assert "98 rows against 101" in out.message()


# --- mostly ----------------------------------------------------------------------------


def test_mostly_threshold(con: duckdb.DuckDBPyConnection, make_table: MakeTable) -> None:
    values = [VALID_SIRETS[0]] * 97 + [INVALID_SIRET] * 3  # 97 % valid
    make_table({"c": values})
    assert run(con, [Check.luhn("c", mostly=0.97)]).passed
    out = run(con, [Check.luhn("c", mostly=0.98)])
    assert not out.passed
    assert out.failures[0].unexpected_count == 3


def test_nulls_do_not_count_against_mostly(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    make_table({"c": ["4711F"] * 9 + [None] * 5 + ["bad"]})
    assert run(con, [Check.regex("c", "[0-9]{4}[A-Z]", mostly=0.9)]).passed
    assert not run(con, [Check.regex("c", "[0-9]{4}[A-Z]", mostly=0.95)]).passed


def test_regex_is_matched_against_the_whole_value(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    make_table({"c": ["4711FX"]})
    assert not run(con, [Check.regex("c", "[0-9]{4}[A-Z]")]).passed


def test_non_critical_failure_does_not_stop(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    make_table({"c": ["99999"]})
    out = run(con, [Check.in_table("c", "ref_commune.code_commune", critical=False)])
    assert out.passed
    assert len(out.failures) == 1
    assert "Warnings (non-critical)" in out.message()
    out.raise_for_failure()  # no exception


# --- partitions ------------------------------------------------------------------------


def test_partitioned_validation(con: duckdb.DuckDBPyConnection, make_table: MakeTable) -> None:
    make_table(
        {
            "siret": [VALID_SIRETS[0], VALID_SIRETS[1], INVALID_SIRET, VALID_SIRETS[3], "x"],
            "commune": ["45234", "45001", "75056", "75056", None],
        }
    )
    out = run(
        con,
        [Check.luhn("siret")],
        partition_by="left(commune, 2)",
        file="StockEtablissement_utf8.zip",
    )
    assert out.partitions == 3
    assert {r.partition for r in out.results} == {"45", "75", "(null)"}
    assert {f.partition for f in out.failures} == {"75", "(null)"}
    msg = out.message()
    assert "StockEtablissement_utf8.zip" in msg
    assert "2 of 5 values fail" in msg and "2 of 3 partition(s)" in msg
    assert repr(INVALID_SIRET) in msg and "'x'" in msg


def test_uniqueness_is_checked_across_partitions(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    make_table({"siret": ["1", "2", "1"], "dep": ["45", "45", "75"]})
    out = run(con, [Check.unique("siret")], partition_by="dep")
    assert not out.passed
    assert sorted(f.partition for f in out.failures) == ["45", "75"]
    assert all(f.examples == ("1",) for f in out.failures)


def test_row_numbers_in_examples(con: duckdb.DuckDBPyConnection, make_table: MakeTable) -> None:
    make_table({"naf": ["4711F", "47.11F", "4711F"], "line": ["2", "3", "4"]})
    out = run(con, [Check.regex("naf", "[0-9]{4}[A-Z]")], row_column="line", file="f.csv")
    assert out.failures[0].example_rows == (3,)
    assert "(lines 3)" in out.message()


# --- problems with the input itself ------------------------------------------------------


def test_missing_column_is_a_clear_failure(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    make_table({"c": ["a"]})
    out = run(con, [Check.not_null("siret")], partition_by="c")
    assert not out.passed
    assert "column 'siret' is missing" in out.message()


def test_missing_reference_table(con: duckdb.DuckDBPyConnection, make_table: MakeTable) -> None:
    make_table({"c": ["a"]})
    out = run(con, [Check.in_table("c", "ref_naf.naf_code")])
    assert not out.passed
    assert "ref_naf" in out.message()


def test_connection_settings_are_restored(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    make_table({"c": ["a", "b"], "p": ["1", "2"]})
    setting = "SELECT current_setting('enable_progress_bar')"
    for value in (True, False):
        con.execute(f"SET enable_progress_bar = {value}")
        run(con, [Check.unique("c")], partition_by="p")
        assert con.execute(setting).fetchall()[0][0] is value
    tables = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    assert not [t for (t,) in tables if t.startswith("__dq")]  # temporary tables dropped


def test_missing_table_raises(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="nope"):
        run(con, [Check.not_null("c")], table="nope")


def test_empty_table_passes_row_checks(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    make_table({"c": []})
    out = run(con, [Check.not_null("c"), Check.luhn("c")], partition_by="c")
    assert out.passed and out.rows == 0


def test_list_arguments_keep_checks_hashable(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    make_table({"c": ["A", "X"]})
    check = Check("in_set", "c", arg=["A", "F"])
    assert check.arg == ("A", "F") and hash(check)
    assert "'X'" in run(con, [check]).message()


def test_bad_check_declarations() -> None:
    with pytest.raises(CheckError):
        Check("luhnn", "c")
    with pytest.raises(CheckError):
        Check.in_table("c", "no_dot")
    with pytest.raises(CheckError):
        Check.regex("c", "x", mostly=1.5)
    with pytest.raises(CheckError):
        Check("not_null")


# --- dq_result --------------------------------------------------------------------------


def test_dq_result_rows(con: duckdb.DuckDBPyConnection, make_table: MakeTable) -> None:
    sirets = [VALID_SIRETS[0], INVALID_SIRET, VALID_SIRETS[1]]
    make_table({"siret": sirets, "dep": ["45", "45", "75"]})
    checks = [Check.not_null("siret"), Check.luhn("siret"), Check.row_count_ratio(0.98)]
    run(con, checks, partition_by="dep", previous_rows=3)
    rows = con.execute(
        "SELECT partition, expectation, column_name, success, critical, observed, details "
        "FROM dq_result WHERE run_id = 'run-1' ORDER BY partition, expectation"
    ).fetchall()
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("45", "expect_column_values_to_not_be_null", True),
        ("45", "expect_column_values_to_pass_luhn_checksum", False),
        ("75", "expect_column_values_to_not_be_null", True),
        ("75", "expect_column_values_to_pass_luhn_checksum", True),
        ("all", "expect_table_row_count_to_be_at_least_ratio_of_previous", True),
    ]
    luhn_45 = rows[1]
    assert luhn_45[2] == "siret" and luhn_45[4] is True
    assert "1 of 2" in luhn_45[5]
    details = json.loads(luhn_45[6])
    assert details["examples"] == [INVALID_SIRET]
    assert details["ge_expectation"] == "expect_column_values_to_be_in_set"

    # re-validating the same run and source replaces its rows instead of duplicating them
    run(con, checks, partition_by="dep", previous_rows=3)
    assert con.execute("SELECT count(*) FROM dq_result").fetchall()[0][0] == 5


def test_quality_error_carries_the_message(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    make_table({"siret": [INVALID_SIRET]})
    out = run(con, [Check.luhn("siret")], source="sirene_etablissement", file="x.zip")
    with pytest.raises(QualityError) as err:
        out.raise_for_failure()
    text = str(err.value)
    assert "sirene_etablissement" in text and "x.zip" in text and "'siret'" in text
    assert INVALID_SIRET in text


def test_partition_spill_files_are_removed(tmp_path) -> None:
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as file_con:
        file_con.execute("CREATE TABLE stg AS SELECT CAST(i AS VARCHAR) AS c FROM range(50) t(i)")
        out = run(file_con, [Check.not_null("c")], partition_by="right(c, 1)")
        spill_root = file_con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
    assert out.partitions == 10 and out.passed
    assert not list(tmp_path.glob("**/ciblage-dq-*"))
    assert spill_root.startswith(str(tmp_path))  # spilled beside the warehouse, not in /tmp


def test_large_unpartitioned_table_is_validated_in_chunks(
    con: duckdb.DuckDBPyConnection, make_table: MakeTable
) -> None:
    values = [VALID_SIRETS[0]] * 5 + [INVALID_SIRET] + [VALID_SIRETS[1]] * 4
    make_table({"siret": values})
    out = run(con, [Check.luhn("siret"), Check.unique("siret")], max_partition_rows=4)
    assert out.partitions == 3
    assert {r.partition for r in out.results} == {"chunk 0000", "chunk 0001", "chunk 0002"}
    # duplicates are found across chunks, the bad checksum in its own chunk
    assert {f.partition for f in out.failures if f.check.kind == "luhn"} == {"chunk 0001"}
    assert len([f for f in out.failures if f.check.kind == "unique"]) == 3
    assert "chunks of 4 rows" in out.message()
