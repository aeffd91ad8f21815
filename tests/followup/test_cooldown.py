from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ciblage.config import ConfigError
from ciblage.followup.ledger import import_promotions
from ciblage.followup.refresh import build_derived

from .ledgers import SIRET_A, SIRET_B, promo_rows, settings_for, write_csv


def cooldowns(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    spec: list[tuple[str, str, str, str, str]],
    as_of: str = "2026-11-01",
    followup: str = "",
) -> list[tuple]:
    import_promotions(con, write_csv(tmp_path / "suivi.csv", promo_rows(spec)))
    build_derived(con, settings_for(tmp_path, as_of, followup))
    return con.execute(
        "SELECT agency_code, siret, code_rome, until, reason FROM promotion_cooldown "
        "ORDER BY agency_code, siret, code_rome NULLS FIRST"
    ).fetchall()


def test_three_silent_promotions_pause_the_company(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    spec = [
        ("12/09/2026", "45A", SIRET_A, "M1607", "sans réponse"),
        ("01/10/2026", "45A", SIRET_A, "M1607", ""),  # blank outcome = no answer
        ("16/10/2026", "45A", SIRET_A, "K2204", "sans réponse"),  # other ROME: all-ROME pause
    ]
    assert cooldowns(con, tmp_path, spec) == [
        (
            "45A",
            SIRET_A,
            None,
            date(2026, 12, 15),
            "3 promotions sans réponse depuis le 12/09 : en pause jusqu'au 15/12",
        )
    ]


@pytest.mark.parametrize(("third", "paused"), [("06/11/2026", True), ("07/11/2026", False)])
def test_window_boundary_in_weeks(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, third: str, paused: bool
) -> None:
    """8 weeks = 56 days: the first promotion must be less than 56 days before the N-th."""
    spec = [
        ("12/09/2026", "45A", SIRET_A, "M1607", ""),
        ("01/10/2026", "45A", SIRET_A, "M1607", ""),
        (third, "45A", SIRET_A, "M1607", ""),
    ]
    assert bool(cooldowns(con, tmp_path, spec, as_of="2026-11-20")) is paused


@pytest.mark.parametrize(("as_of", "paused"), [("2026-12-14", True), ("2026-12-15", False)])
def test_pause_ends_after_cooldown_days(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, as_of: str, paused: bool
) -> None:
    spec = [(d, "45A", SIRET_A, "M1607", "") for d in ("12/09/2026", "01/10/2026", "16/10/2026")]
    assert bool(cooldowns(con, tmp_path, spec, as_of=as_of)) is paused


def test_two_promotions_or_an_answer_do_not_pause(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    spec = [
        ("12/09/2026", "45A", SIRET_A, "M1607", ""),
        ("01/10/2026", "45A", SIRET_A, "M1607", ""),
        ("12/09/2026", "45A", SIRET_B, "M1607", ""),
        ("01/10/2026", "45A", SIRET_B, "M1607", "refus"),  # a refusal is an answer
        ("16/10/2026", "45A", SIRET_B, "M1607", ""),
        ("20/10/2026", "45B", SIRET_A, "M1607", ""),  # other agency counts apart
    ]
    assert cooldowns(con, tmp_path, spec) == []


def test_answer_in_another_rome_keeps_only_the_rome_pause(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    spec = [
        ("12/09/2026", "45A", SIRET_A, "M1607", ""),
        ("01/10/2026", "45A", SIRET_A, "M1607", ""),
        ("16/10/2026", "45A", SIRET_A, "M1607", ""),
        ("20/10/2026", "45A", SIRET_A, "K2204", "entretien"),
    ]
    assert cooldowns(con, tmp_path, spec) == [
        (
            "45A",
            SIRET_A,
            "M1607",
            date(2026, 12, 15),
            "3 promotions sans réponse en M1607 depuis le 12/09 : en pause jusqu'au 15/12",
        )
    ]


def test_promotions_after_as_of_are_ignored_and_options_apply(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    spec = [
        ("01/10/2026", "45A", SIRET_A, "M1607", ""),
        ("05/10/2026", "45A", SIRET_A, "M1607", ""),
        ("20/10/2026", "45A", SIRET_A, "M1607", ""),
    ]
    assert cooldowns(con, tmp_path, spec, as_of="2026-10-10") == []
    rows = cooldowns(
        con,
        tmp_path,
        spec,
        as_of="2026-10-10",
        followup="cooldown_min_promotions = 2\ncooldown_days = 30",
    )
    assert rows == [
        (
            "45A",
            SIRET_A,
            None,
            date(2026, 11, 4),
            "2 promotions sans réponse depuis le 01/10 : en pause jusqu'au 04/11",
        )
    ]


def test_bad_option_is_a_config_error(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cooldown_weeks"):
        build_derived(con, settings_for(tmp_path, "2026-11-01", "cooldown_weeks = 0"))
    with pytest.raises(ConfigError, match=r"inconnue\(s\) dans \[followup\] : cooldown"):
        build_derived(con, settings_for(tmp_path, "2026-11-01", "cooldown = 3"))
