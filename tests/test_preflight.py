"""Configuration and options are checked before any flow starts; a mistake is one line.

Every refusal path is exercised here, through the functions and through the CLI (no
Prefect server is started: the checks come first, which is the point).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ciblage.cli import app
from ciblage.config import ConfigError, load_settings
from ciblage.ingest.specs import SPECS
from ciblage.outcome import EXIT_USAGE
from ciblage.preflight import UsageError, check_config, check_sources_option, check_territory
from ciblage.warehouse import session


def write_config(tmp_path: Path, extra: str = "", drop: str | None = None) -> Path:
    lines = ['[paths]\nwarehouse = "wh/c.duckdb"\noutput = "out"\n[run]\nas_of = "2026-11-01"']
    lines += [
        f'[sources.{s.name}]\npath = "{s.name}.csv"' for s in SPECS if s.required and s.name != drop
    ]
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return cfg


def test_valid_config_passes(tmp_path: Path) -> None:
    check_config(load_settings(write_config(tmp_path)))


def test_misspelt_source_is_named_with_a_suggestion(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[sources.sirene_etablissements]\npath = "x.zip"\n')
    with pytest.raises(ConfigError) as err:
        check_config(load_settings(cfg))
    msg = str(err.value)
    assert "[sources.sirene_etablissements]" in msg and str(cfg) in msg
    assert "did you mean 'sirene_etablissement'?" in msg and "known sources:" in msg
    assert "\n" not in msg


def test_required_source_missing(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, drop="sirene_unite_legale")
    with pytest.raises(ConfigError, match=r"required source\(s\) not configured: "):
        check_config(load_settings(cfg))


def test_required_source_without_path_or_url(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, drop="ref_naf")
    cfg.write_text(cfg.read_text() + "[sources.ref_naf]\nsha256 = 'ab'\n")
    with pytest.raises(ConfigError, match=r"\[sources.ref_naf\] needs a `path` or an `url`"):
        check_config(load_settings(cfg))


def test_unknown_run_key(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace('as_of = "2026-11-01"', 'asof = "2026-11-01"'))
    with pytest.raises(ConfigError, match=r"unknown key 'asof'.*did you mean 'as_of'"):
        check_config(load_settings(cfg))


def test_as_of_option_is_blamed_not_the_file(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    with pytest.raises(ConfigError, match=r"^--as-of: expected an ISO date .*2026-13-45"):
        load_settings(cfg, as_of="2026-13-45")
    cfg.write_text(cfg.read_text().replace("2026-11-01", "2026-13-45"))
    with pytest.raises(ConfigError, match=r"ciblage.toml \[run\] as_of: expected"):
        load_settings(cfg)


def test_source_option() -> None:
    check_sources_option(["offres"])
    with pytest.raises(UsageError, match=r"--source sirene_etab: .*'sirene_etablissement'"):
        check_sources_option(["sirene_etab"])


def _small_warehouse(path: Path) -> None:
    with session(path) as con:
        con.execute(
            "CREATE TABLE ref_commune AS SELECT * FROM (VALUES "
            "('45234', 'Orléans', '45', '2404'), ('27229', 'Évreux', '27', '2305')) "
            "t(code_commune, libelle, code_departement, code_bassin)"
        )
        con.execute("CREATE TABLE ref_departement (code_departement VARCHAR, libelle VARCHAR)")
        con.execute("CREATE TABLE ref_bassin (code_bassin VARCHAR, libelle VARCHAR)")
        con.execute(
            "CREATE TABLE etablissement AS SELECT * FROM (VALUES "
            "('45000000000001', '45234', '45', 'A')) "
            "t(siret, code_commune, code_departement, etat_administratif)"
        )


def test_territory_checked_against_the_warehouse(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path))
    with pytest.raises(UsageError, match=r"^--territory: invalid territory 'dep45'"):
        check_territory(settings, "dep45")
    check_territory(settings, "dep:999")  # no warehouse yet: the flow will say
    _small_warehouse(settings.warehouse)
    check_territory(settings, "dep:45")
    check_territory(settings, "bassin:2404")
    with pytest.raises(UsageError, match=r"--territory dep:999: no such departement.*27, 45$"):
        check_territory(settings, "dep:999")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--as-of", "2026-13-45"], "error: --as-of: expected an ISO date"),
        (["rerun", "-t", "dep:999"], "error: --territory dep:999: no such departement"),
        (["rerun", "-t", "xx"], "error: --territory: invalid territory 'xx'"),
        (["run", "-s", "sirene_etab"], "error: --source sirene_etab: unknown source"),
        (["ingest", "--top", "3"], "No such option"),  # click's own usage error, also 2
        (["quality-report", "--run", "nope"], "error: --run nope: no data-quality results"),
        (["status", "-c", "/nonexistent.toml"], "error: configuration file not found"),
    ],
)
def test_cli_mistakes_are_one_line_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    cfg = write_config(tmp_path)
    _small_warehouse(load_settings(cfg).warehouse)
    if "-c" not in args:
        args = [*args, "-c", str(cfg)]
    t0 = time.monotonic()
    res = CliRunner().invoke(app, args)
    assert res.exit_code == EXIT_USAGE, res.output
    assert expected in res.output
    assert "Traceback" not in res.output
    if "No such option" not in expected:
        assert len(res.output.strip().splitlines()) == 1, res.output
    assert time.monotonic() - t0 < 10  # no Prefect server was started


def test_misspelt_source_in_cli_and_debug_shows_the_exception(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[sources.sirene_etablissements]\npath = "x.zip"\n')
    res = CliRunner().invoke(app, ["run", "-c", str(cfg)])
    assert res.exit_code == EXIT_USAGE
    assert res.output.startswith("error: ") and "did you mean" in res.output
    res = CliRunner().invoke(app, ["--debug", "run", "-c", str(cfg)])
    assert isinstance(res.exception, ConfigError)


def test_match_mistake_is_french(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\nas_of = "2026-13-45"\n')
    args = ["match", "--rome", "M1607", "--commune", "45234", "-c", str(cfg)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == EXIT_USAGE
    assert res.output.startswith("erreur : ") and len(res.output.strip().splitlines()) == 1
