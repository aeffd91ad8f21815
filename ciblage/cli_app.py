"""The `ciblage` Typer application and the options its commands share.

Commands register on `app` from `ciblage.cli` (the pipeline: ingest, score, publish,
run, rerun) and `ciblage.cli_tools` (status, match, follow-up import, offers harvest,
quality report); the console script `ciblage` is `ciblage.cli:app`, which imports both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import pipelines  # noqa: F401  (offline Prefect defaults, set before any flow runs)
from ciblage.cli_errors import DEBUG
from ciblage.cli_usage import FrenchGroup

app = typer.Typer(
    cls=FrenchGroup,
    help="ciblage : les établissements les plus susceptibles de recruter, par territoire et "
    "par métier ROME.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    epilog="Codes de sortie : 0 publié (ou terminé), 1 échec / non publié, 2 erreur dans la "
    "ligne de commande ou la configuration (rien n'a tourné), 3 publié avec avertissements "
    "(données dégradées). `ciblage --debug COMMANDE` montre la trace d'une erreur.",
)
promotions_app = typer.Typer(
    cls=FrenchGroup, help="Suivi des promotions (registre).", no_args_is_help=True
)
app.add_typer(promotions_app, name="promotions")


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Montrer la trace d'une erreur au lieu d'une ligne.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Afficher les journaux de Prefect (sinon : lignes de ciblage et progression).",
        ),
    ] = False,
) -> None:
    """Options communes (les codes de sortie sont en fin de `ciblage --help`)."""
    from ciblage.terminal import setup

    DEBUG["on"] = debug
    setup(verbose or debug)  # before any command imports Prefect


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Chemin de ciblage.toml (défaut : $CIBLAGE_CONFIG ou ./ciblage.toml).",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Date de référence AAAA-MM-JJ (défaut : configuration, sinon aujourd'hui)."
    ),
]
TerritoryOpt = Annotated[
    str,
    typer.Option(
        "--territory",
        "-t",
        help="'all', ou dep:<code>, bassin:<code>, agence:<code> (ex. dep:45).",
    ),
]
SourcesOpt = Annotated[
    list[str] | None, typer.Option("--source", "-s", help="Seulement ces sources (répétable).")
]
RetrainOpt = Annotated[
    bool,
    typer.Option(
        "--retrain",
        help="Réentraîner le modèle même si un modèle récent (retrain_days, section "
        "scoring) peut servir.",
    ),
]


def config_arg(config: Path | None) -> str | None:
    """`--config` as the string the flows and settings loader take (None: the default)."""
    return str(config) if config else None
