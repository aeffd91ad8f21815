"""Configuration and options are checked before any flow starts; a mistake is one line.

Every refusal path is exercised here, through the functions and through the CLI (no
Prefect server is started: the checks come first, which is the point).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from french_text import assert_french
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
    assert "vouliez-vous dire 'sirene_etablissement' ?" in msg and "sources connues :" in msg
    assert "\n" not in msg


def test_required_source_missing(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, drop="sirene_unite_legale")
    with pytest.raises(ConfigError, match=r"source\(s\) obligatoire\(s\) non configurée\(s\) : "):
        check_config(load_settings(cfg))


def test_required_source_without_path_or_url(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, drop="ref_naf")
    cfg.write_text(cfg.read_text() + "[sources.ref_naf]\nsha256 = 'ab'\n")
    with pytest.raises(ConfigError, match=r"\[sources.ref_naf\] demande un `path` ou une `url`"):
        check_config(load_settings(cfg))


def test_unknown_run_key(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace('as_of = "2026-11-01"', 'asof = "2026-11-01"'))
    with pytest.raises(ConfigError, match=r"clé inconnue 'asof'.*vouliez-vous dire 'as_of'"):
        check_config(load_settings(cfg))


def test_as_of_option_is_blamed_not_the_file(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    with pytest.raises(
        ConfigError, match=r"^--as-of : date attendue au format AAAA-MM-JJ, reçu '2026-13-45'"
    ):
        load_settings(cfg, as_of="2026-13-45")
    cfg.write_text(cfg.read_text().replace("2026-11-01", "2026-13-45"))
    with pytest.raises(ConfigError, match=r"ciblage.toml \[run\] as_of : date attendue"):
        load_settings(cfg)


def test_source_option() -> None:
    check_sources_option(["offres"])
    with pytest.raises(UsageError, match=r"--source sirene_etab : .*'sirene_etablissement'"):
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
    with pytest.raises(UsageError, match=r"^--territory : territoire invalide 'dep45'"):
        check_territory(settings, "dep45")
    check_territory(settings, "dep:999")  # no warehouse yet: the flow will say
    _small_warehouse(settings.warehouse)
    check_territory(settings, "dep:45")
    check_territory(settings, "bassin:2404")
    with pytest.raises(
        UsageError, match=r"--territory dep:999 : pas de département 999 dans l'entrepôt.*27, 45$"
    ):
        check_territory(settings, "dep:999")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--as-of", "2026-13-45"], "erreur : --as-of : date attendue au format AAAA-MM-JJ"),
        (["rerun", "-t", "dep:999"], "erreur : --territory dep:999 : pas de département 999"),
        (["rerun", "-t", "xx"], "erreur : --territory : territoire invalide 'xx'"),
        (["run", "-s", "sirene_etab"], "erreur : --source sirene_etab : source inconnue"),
        (["run", "--top", "0"], "erreur : --top : top_n doit être >= 1"),
        (["score", "--horizon", "0"], "erreur : --horizon : horizon_months doit être >= 1"),
        (["ingest", "--top", "3"], "erreur : option inconnue : --top (aide : "),
        (
            ["quality-report", "--run", "nope"],
            "erreur : --run nope : aucun résultat de qualité des données ; runs récents : aucun",
        ),
        (["status", "-c", "/nonexistent.toml"], "erreur : fichier de configuration introuvable"),
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
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert_french(res.output)
    assert time.monotonic() - t0 < 10  # no Prefect server was started


def test_misspelt_source_in_cli_and_debug_shows_the_exception(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[sources.sirene_etablissements]\npath = "x.zip"\n')
    res = CliRunner().invoke(app, ["run", "-c", str(cfg)])
    assert res.exit_code == EXIT_USAGE
    assert res.output.startswith("erreur : ") and "vouliez-vous dire" in res.output
    assert_french(res.output)
    res = CliRunner().invoke(app, ["--debug", "run", "-c", str(cfg)])
    assert isinstance(res.exception, ConfigError)


def test_match_mistake_is_french(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\nas_of = "2026-13-45"\n')
    args = ["match", "--rome", "M1607", "--commune", "45234", "-c", str(cfg)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == EXIT_USAGE
    assert res.output.startswith("erreur : ") and len(res.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("extra", "mapping", "expected"),
    [
        ("x = [", None, "TOML invalide"),
        ("[publish]\nagency_mapping = 'agences.csv'\n", None, "fichier des agences introuvable"),
        (
            "[publish]\nagency_mapping = 'agences.csv'\n",
            "commune;agency_code;agency_name\n45234;X/1;Y\n",
            "ligne 2 : champ agency_code : 'X/1' invalide (lettres, chiffres, '-' ou '_')",
        ),
        ("[gates]\ncount_max = 2\n", None, "option(s) inconnue(s) dans [gates] : count_max"),
    ],
)
def test_config_mistakes_through_the_cli_are_french(
    tmp_path: Path, extra: str, mapping: str | None, expected: str
) -> None:
    """Analysts' terminal too: one French line naming the file (and line, field), exit 2."""
    cfg = write_config(tmp_path, extra)
    if mapping is not None:
        (tmp_path / "agences.csv").write_text(mapping, encoding="utf-8")
    if "TOML" not in expected:
        _small_warehouse(load_settings(cfg).warehouse)
    res = CliRunner().invoke(app, ["rerun", "-t", "dep:45", "-c", str(cfg)])
    assert res.exit_code == EXIT_USAGE, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("erreur : ") and expected in lines[0]
    assert str(tmp_path) in lines[0]
    assert_french(lines[0].split(" : TOML invalide : ")[0])
