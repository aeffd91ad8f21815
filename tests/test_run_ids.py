"""Short run ids: the shortest unshared prefix, accepted wherever a run id is; ambiguity refused."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from ciblage.cli import app
from ciblage.outcome import EXIT_USAGE
from ciblage.preflight import UsageError
from ciblage.quality import Check, validate_table
from ciblage.run_ids import known_run_ids, resolve_run_id, short_ids

A = "20261127T181423376215Z_asof20261101"
B = "20261127T181423901000Z_asof20261101"  # same second as A
C = "20261128T023000000001Z_asof20261101"


def test_short_ids_are_the_shortest_unshared_prefix_never_below_the_second() -> None:
    shorts = short_ids([A, B, C])
    assert shorts[C] == "20261128T023000"  # to the second, though 9 characters would do
    assert shorts[A] == "20261127T1814233" and shorts[B] == "20261127T1814239"
    assert short_ids(["r1", "r10"]) == {"r1": "r1", "r10": "r10"}  # a prefix stays whole


def test_resolve_prefix_exact_unknown_and_ambiguous() -> None:
    assert resolve_run_id("20261128", [A, B, C]) == C
    assert resolve_run_id("20261127T1814233", [A, B, C]) == A
    assert resolve_run_id(A, [A, B, C]) == A
    assert resolve_run_id("r1", ["r1", "r10"]) == "r1"  # exact wins over the longer one
    assert resolve_run_id("nope", [A, B, C]) == "nope"  # the caller reports it its way
    with pytest.raises(UsageError) as err:
        resolve_run_id("20261127", [A, B, C])
    msg = str(err.value)
    assert msg == (
        "--run 20261127 : identifiant ambigu, 2 runs commencent ainsi : "
        "20261127T1814239, 20261127T1814233 ; donnez plus de caractères"
    )


def _quality_warehouse(tmp_path: Path) -> Path:
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE stg AS SELECT '45234' AS code")
        for run_id in (A, B, C):
            validate_table(
                con, run_id=run_id, source="src", table="stg", checks=[Check.not_null("code")]
            )
        assert known_run_ids(con) == [A, B, C]
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text('[paths]\nwarehouse = "w.duckdb"\noutput = "out"\n', encoding="utf-8")
    return cfg


def test_quality_report_takes_a_short_id(tmp_path: Path) -> None:
    cfg = _quality_warehouse(tmp_path)
    res = CliRunner().invoke(app, ["quality-report", "-c", str(cfg), "--run", "20261128T023000"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "quality" / f"{C}.html").is_file()


def test_quality_report_ambiguous_prefix_is_one_french_line_exit_2(tmp_path: Path) -> None:
    cfg = _quality_warehouse(tmp_path)
    res = CliRunner().invoke(app, ["quality-report", "-c", str(cfg), "--run", "2026112"])
    assert res.exit_code == EXIT_USAGE
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output
    assert "--run 2026112 : identifiant ambigu, 3 runs commencent ainsi" in lines[0]
    assert "20261128T023000" in lines[0]
