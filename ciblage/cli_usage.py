"""Command-line usage errors and help frames in French, in one line.

Typer (0.29) vendors its own Click, whose messages are plain English f-strings (no
gettext catalog to translate them), and shows a usage error as a five-line box: « No such
option: --bogus », « Missing option '--territory' / '-t' ». An analyst's or a
counselor's wrong option is a user's mistake like a wrong territory code, so it gets the
same treatment as `ciblage.cli_errors`: one French line on stderr (`erreur : …`, with the
help command to read) and exit code 2.

`FrenchGroup` and `FrenchCommand` are the classes of the `ciblage` command and its
subcommands: the group's `main` runs Typer in non-standalone mode and renders the usage
errors itself; both give the help option and the help frames French names. Messages are
rebuilt from the exceptions' attributes (option name, parameter, suggestions) where they
carry them, and from the vendored Click's fixed English sentences otherwise; an unknown
sentence is kept as it is rather than lost (tests/test_cli_usage.py covers each case).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer import rich_utils
from typer.core import TyperCommand, TyperGroup

from ciblage.outcome import EXIT_NOT_PUBLISHED, EXIT_USAGE

HELP_OPTION = "Afficher cette aide et quitter."
USAGE_PREFIX = "Usage : "

# Typer's rich help reads these module globals when it renders (help pages and frames)
rich_utils.OPTIONS_PANEL_TITLE = "Options"
rich_utils.COMMANDS_PANEL_TITLE = "Commandes"
rich_utils.ARGUMENTS_PANEL_TITLE = "Arguments"
rich_utils.ERRORS_PANEL_TITLE = "Erreur"
rich_utils.DEFAULT_STRING = "[défaut : {}]"
rich_utils.ENVVAR_STRING = "[variable d'environnement : {}]"
rich_utils.REQUIRED_LONG_STRING = "[obligatoire]"
rich_utils.DEPRECATED_STRING = "(obsolète) "
rich_utils.ABORTED_TEXT = "Interrompu."
rich_utils.RICH_HELP = "Aide : [blue]{command_path} {help_option}[/]"

# the shell-completion options Typer adds to the main command (their help is fixed English)
COMPLETION_HELP = {
    "install_completion": "Installer la complétion de ciblage pour le shell courant.",
    "show_completion": "Afficher le script de complétion du shell courant (à copier ou adapter).",
}

# the vendored Click's fixed sentences that carry no attribute to rebuild them from
_NO_COMMAND = re.compile(r"No such command '(?P<name>[^']*)'\.(?: Did you mean (?P<maybe>.*)\?)?")
_EXTRA_ARGS = re.compile(r"Got unexpected extra arguments? ?\(s?\)? ?\((?P<args>.*)\)")
_VALUE_REASONS = (
    ("valid integer", "nombre entier attendu"),
    ("valid number", "nombre attendu"),
    ("valid float", "nombre attendu"),
    ("valid boolean", "oui/non attendu (true/false)"),
    ("valid date", "date attendue (AAAA-MM-JJ)"),
    ("does not exist", "chemin introuvable"),
    ("is a directory", "un fichier est attendu, pas un dossier"),
    ("is a file", "un dossier est attendu, pas un fichier"),
)


def _hint(param: Any) -> str:
    opts = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
    if opts and getattr(param, "param_type_name", "") == "option":
        return " / ".join(opts)
    return (getattr(param, "name", None) or "").upper() or "?"


def usage_message(exc: Exception) -> str:
    """The French sentence for one usage error (without the `erreur : ` prefix)."""
    from typer._click import exceptions as cx

    if isinstance(exc, cx.NoSuchOption):
        text = f"option inconnue : {exc.option_name}"
        if exc.possibilities:
            text += f" (vouliez-vous dire {', '.join(sorted(exc.possibilities))} ?)"
        return text
    if isinstance(exc, cx.MissingParameter):
        if getattr(exc.param, "param_type_name", "") == "option":
            return f"option obligatoire manquante : {_hint(exc.param)}"
        return f"argument obligatoire manquant : {_hint(exc.param)}"
    if isinstance(exc, cx.BadParameter):
        where = _hint(exc.param) if exc.param is not None else "un paramètre"
        reason = next(
            (fr for en, fr in _VALUE_REASONS if en in exc.message), " ".join(exc.message.split())
        )
        return f"valeur invalide pour {where} : {reason}"
    if isinstance(exc, cx.BadOptionUsage):
        if "requires an argument" in exc.message:
            return f"l'option {exc.option_name} attend une valeur"
        if "does not take a value" in exc.message:
            return f"l'option {exc.option_name} ne prend pas de valeur"
        return " ".join(exc.message.split())
    message = " ".join(str(getattr(exc, "message", exc)).split())
    if match := _NO_COMMAND.fullmatch(message):
        text = f"commande inconnue : {match['name']}"
        if match["maybe"]:
            text += f" (vouliez-vous dire {match['maybe'].replace(chr(39), '')} ?)"
        return text
    if match := _EXTRA_ARGS.fullmatch(message):
        return f"argument en trop : {match['args']}"
    if message == "Missing command.":
        return "commande manquante"
    return message


def _help_line(ctx: Any) -> str:
    if ctx is None:
        return " (aide : ciblage --help)"
    return f" (aide : {ctx.command_path} --help)"


class _French:
    """What the group and its commands share: the help option and the usage line."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION
        return option

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=USAGE_PREFIX)


class FrenchCommand(_French, TyperCommand):
    """A `ciblage` subcommand: French help option and usage line."""


class FrenchGroup(_French, TyperGroup):
    """The `ciblage` command: usage errors as one French line, exit code 2."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:  # added by Typer after the group is built
            if param.name in COMPLETION_HELP:
                param.help = COMPLETION_HELP[param.name]
        return params

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        from typer._click import exceptions as cx

        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except cx.NoArgsIsHelpError as exc:  # `ciblage` alone: the help (printed when raised)
            sys.exit(exc.exit_code)
        except cx.UsageError as exc:
            typer.echo(f"erreur : {usage_message(exc)}{_help_line(exc.ctx)}", err=True)
            sys.exit(EXIT_USAGE)
        except cx.ClickException as exc:  # e.g. a file option that cannot be opened
            typer.echo(f"erreur : {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("Interrompu.", err=True)
            sys.exit(EXIT_NOT_PUBLISHED)
        sys.exit(code if isinstance(code, int) else 0)
