"""Row rules in SQL: SIRET/SIREN keys, dates, months, references."""

from __future__ import annotations

import duckdb
import pytest

from ciblage.ingest.rules import install_macros, quarantine_rows, siret_problem_sql, violation_sql
from ciblage.ingest.spec import Rule, SourceSpec
from ciblage.ingest.specs import SIRET_RULE
from ciblage.siret import siret_problem


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    install_macros(c)
    return c


@pytest.mark.parametrize(
    ("siret", "ok"),
    [
        ("73282932000074", True),  # a real SIRET
        ("73282932000075", False),  # one digit changed
        ("35600000000048", True),  # La Poste head office: plain Luhn
        ("35600000000051", True),  # La Poste establishment: digit sum 20, multiple of 5
        ("35600000000052", False),
        ("7328293200007", False),  # 13 digits
        ("7328293200007A", False),
        (None, False),
    ],
)
def test_siret_key(con: duckdb.DuckDBPyConnection, siret: str | None, ok: bool) -> None:
    assert con.execute("SELECT siret_ok(?)", [siret]).fetchone()[0] is ok


def test_siren_key(con: duckdb.DuckDBPyConnection) -> None:
    got = con.execute(
        "SELECT siren_ok('732829320'), siren_ok('732829321'), siren_ok('356000000')"
    ).fetchone()
    assert got == (True, False, True)


@pytest.mark.parametrize(
    ("rule", "value", "bad"),
    [
        (Rule("d", "date", "r"), "2024-02-29", False),
        (Rule("d", "date", "r"), "2023-02-29", True),
        (Rule("d", "date", "r"), "[ND]", False),  # masked by INSEE, not a defect
        (Rule("d", "date", "r"), None, False),
        (Rule("d", "month", "r"), "2026-03", False),
        (Rule("d", "month", "r"), "2026-13", True),
        (Rule("d", "number", "r"), "12,5", False),
        (Rule("d", "number", "r"), "douze", True),
        (Rule("d", "regex", "r", arg="[A-N][0-9]{4}"), "M1607", False),
        (Rule("d", "regex", "r", arg="[A-N][0-9]{4}"), "Z1607", True),
        (Rule("d", "in_set", "r", arg=("A", "F")), "C", True),
        (Rule("d", "not_null", "r"), " ", True),
        (Rule("d", "not_null", "r"), "", True),
        (Rule("d", "not_null", "r"), None, True),
        (Rule("d", "not_null", "r"), "\u00a0 ", True),  # non-breaking spaces are trimmed
        (Rule("d", "not_null", "r"), " 2026-03", False),
        (Rule("d", "not_null", "r"), "é", False),
        (Rule("d", "not_null", "r"), "2026-03", False),
    ],
)
def test_rule_kinds(con: duckdb.DuckDBPyConnection, rule: Rule, value, bad: bool) -> None:
    cond = violation_sql(rule, con)
    assert (
        con.execute(
            f"SELECT coalesce({cond}, false) FROM (SELECT ?::VARCHAR AS d)", [value]
        ).fetchone()[0]
        is bad
    )


def test_reference_rule_is_skipped_until_the_referential_is_loaded(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rule = Rule("c", "in_table", "commune not in the COG", arg=("ref_commune", "code_commune"))
    assert violation_sql(rule, con) is None
    con.execute("CREATE TABLE ref_commune AS SELECT '45234' AS code_commune")
    cond = violation_sql(rule, con)
    bad = con.execute(f"SELECT {cond} FROM (SELECT '45999' AS c)").fetchone()[0]
    assert bad is True


@pytest.mark.parametrize(
    ("value", "length", "why"),
    [
        ("73282932000074", 14, None),
        ("7328293200007", 14, "13 chiffres au lieu de 14"),
        ("732829320000745", 14, "15 chiffres au lieu de 14"),
        ("73282932000075", 14, "clé de contrôle (dernier chiffre) fausse"),
        ("7328293200007A", 14, "caractère(s) autre(s) que des chiffres : « A »"),
        ("732 829-32000074", 14, "caractère(s) autre(s) que des chiffres : «   » « - »"),
        ("", 14, "vide"),
        (None, 14, "vide"),
        ("73282932", 9, "8 chiffres au lieu de 9"),
        ("732829321", 9, "clé de contrôle (dernier chiffre) fausse"),
    ],
)
def test_siret_problem_python_and_sql_agree(
    con: duckdb.DuckDBPyConnection, value: str | None, length: int, why: str | None
) -> None:
    """A 13-digit SIRET is « 13 chiffres au lieu de 14 », not a check-digit error, in the
    per-row Python check and in the SQL quarantine reason alike."""
    assert siret_problem(value, length) == why
    if why is not None:
        got = con.execute(
            f"SELECT {siret_problem_sql('v', length)} FROM (SELECT ?::VARCHAR AS v)", [value]
        ).fetchone()[0]
        assert got == why


def test_quarantine_reason_says_why_the_siret_is_refused(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE quarantine (run_id VARCHAR, source VARCHAR, file VARCHAR, "
        "row_number BIGINT, field VARCHAR, value VARCHAR, reason VARCHAR, raw VARCHAR)"
    )
    con.execute(
        "CREATE TABLE stg AS SELECT * FROM (VALUES ('7328293200007', 'f.csv', 2), "
        "('73282932000074', 'f.csv', 3)) t(siret, _file, _row)"
    )
    spec = SourceSpec(name="s", tables=(), columns=("siret",), reader=None, rules=(SIRET_RULE,))
    assert quarantine_rows(con, spec, "stg", "r") == 1
    assert con.execute("SELECT row_number, field, reason FROM quarantine").fetchall() == [
        (2, "siret", "SIRET invalide : 13 chiffres au lieu de 14")
    ]
