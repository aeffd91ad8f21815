"""Command-line usage mistakes are one French line with the help to read, exit code 2
(issue 13): Typer's vendored Click writes them as an English five-line box.

Each case goes through the real `ciblage` application (Typer's test runner), so a Typer
upgrade that changes an exception or a sentence fails here rather than in a terminal.
"""

from __future__ import annotations

import pytest
from french_text import assert_french
from typer.testing import CliRunner

from ciblage.cli import app
from ciblage.outcome import EXIT_USAGE


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["rerun", "--bogus"], "erreur : option inconnue : --bogus (aide : ciblage rerun --help)"),
        (
            ["rerun", "--territoire", "dep:45"],
            "erreur : option inconnue : --territoire (vouliez-vous dire --territory ?)",
        ),
        (["rerun"], "erreur : option obligatoire manquante : --territory / -t"),
        (
            ["rerun", "-t", "dep:45", "--top", "abc"],
            "erreur : valeur invalide pour --top : nombre entier",
        ),
        (["rerun", "-t", "dep:45", "--top"], "erreur : l'option --top attend une valeur"),
        (["rerunn"], "erreur : commande inconnue : rerunn (vouliez-vous dire rerun, run ?)"),
        (["rerun", "-t", "dep:45", "en-trop"], "erreur : argument en trop : en-trop"),
        (["promotions", "importer"], "erreur : commande inconnue : importer (vouliez-vous dire"),
    ],
)
def test_usage_mistake_is_one_french_line(args: list[str], expected: str, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # the box Typer drew was cut to the terminal
    res = CliRunner().invoke(app, args, prog_name="ciblage")
    assert res.exit_code == EXIT_USAGE, res.output
    assert res.output.startswith(expected), res.output
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert "Traceback" not in res.output and "╭" not in res.output
    assert_french(res.output)


def test_no_command_shows_the_french_help() -> None:
    res = CliRunner().invoke(app, ["promotions"])
    assert res.exit_code == EXIT_USAGE  # as Click: a group called without its command
    assert "Commandes" in res.output and "Afficher cette aide et quitter." in res.output


def test_help_and_a_good_command_keep_exit_0(tmp_path) -> None:
    res = CliRunner().invoke(app, ["rerun", "--help"], prog_name="ciblage")
    assert res.exit_code == 0 and "Usage : ciblage rerun" in res.output
