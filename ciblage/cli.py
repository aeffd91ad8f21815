"""The `ciblage` command line: the pipeline's commands (sample, ingest, score, publish,
run, rerun); the tools' commands are in `ciblage.cli_tools`, the app and shared options
in `ciblage.cli_app`.

Heavy imports (prefect, sklearn, great_expectations) happen inside each command so that
`ciblage --help` and `ciblage match` start fast.

Everything the user reads is French (issue 13): the help (options and the commands'
docstrings, which Typer shows as their help), messages and last lines; logs stay English.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ciblage.cli_app import (
    AsOfOpt,
    ConfigOpt,
    RetrainOpt,
    SourcesOpt,
    TerritoryOpt,
    app,
    config_arg,
)
from ciblage.cli_errors import DEBUG, exit_now, friendly, last_words, preflight
from ciblage.cli_usage import FrenchCommand
from ciblage.prefect_api import start_early, wait_ready


def _server_early() -> None:
    """Start Prefect's temporary server now (ciblage.prefect_api), in the `ciblage` process
    only: a test runner driving the CLI in-process keeps Prefect's usual behaviour."""
    if os.path.basename(sys.argv[0]) == "ciblage":
        start_early()


@app.command(cls=FrenchCommand)
def sample(
    out: Annotated[Path, typer.Option(help="Dossier où écrire l'échantillon.")] = Path(
        "data/sample"
    ),
    seed: Annotated[int, typer.Option(help="Graine aléatoire (42 pour l'échantillon livré).")] = 42,
) -> None:
    """Générer l'échantillon au format réel (SIRENE, DPAE, offres, embauches), 3 départements."""
    from ciblage.sample import generate

    written = generate(out, seed=seed)
    for name, path in written.items():
        typer.echo(f"{name}: {path}")


@app.command(cls=FrenchCommand)
@friendly
def ingest(config: ConfigOpt = None, source: SourcesOpt = None, as_of: AsOfOpt = None) -> None:
    """Charger chaque source configurée dans l'entrepôt, contrôlée (flow Prefect `ingest`)."""
    from rich.console import Console
    from rich.table import Table

    from ciblage.outcome import (
        EXIT_DEGRADED,
        EXIT_NOT_PUBLISHED,
        SOURCE_STATUS_FR,
        judge_sources,
        status_fr,
    )

    settings = preflight(config, as_of=as_of, sources=source)
    _server_early()  # Prefect's server boots while the flows are imported
    from pipelines.ingest import ingest_flow  # Prefect: only once the inputs are checked

    wait_ready()
    result = ingest_flow(config=config_arg(config), sources=source, as_of=as_of, progress=True)
    table = Table(title=f"ingest {result['run_id']}")
    for col in ("source", "statut", "lues", "chargées", "quarantaine", "secondes"):
        table.add_column(col, justify="left" if col in ("source", "statut") else "right")
    for name, r in result["sources"].items():
        style = {"failed": "red", "stale": "yellow", "missing": "yellow"}.get(r["status"])
        table.add_row(
            name,
            SOURCE_STATUS_FR.get(r["status"], r["status"]),
            f"{r['rows_read']:,}",
            f"{r['rows_loaded']:,}",
            f"{r['rows_quarantined']:,}",
            f"{r['seconds']:.1f}",
            style=style,
        )
    console = Console()
    console.print(table)
    for name, r in result["sources"].items():
        if r["status"] in ("failed", "stale", "missing") and r["message"]:
            console.print(f"[bold]{name}[/bold]: {r['message']}", markup=True, highlight=False)
    verdict = judge_sources(result, set(settings.sources))
    if verdict.status == "completed":
        typer.echo(f"ingest {result['run_id']} : toutes les sources chargées ou inchangées")
        return
    head = status_fr(verdict.status).upper()
    typer.echo(f"ingest {result['run_id']} {head} : {verdict.message()}")
    raise typer.Exit(EXIT_NOT_PUBLISHED if verdict.failed_required else EXIT_DEGRADED)


@app.command(cls=FrenchCommand)
@friendly
def score(
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    horizon: Annotated[int | None, typer.Option(help="Horizon en mois.")] = None,
    territory: TerritoryOpt = "all",
    retrain: RetrainOpt = False,
) -> None:
    """Calculer les variables, entraîner et tester le modèle, noter (flow `score`)."""
    preflight(config, as_of=as_of, horizon=horizon, territory=territory)
    _server_early()
    from ciblage.progress import fmt_count
    from pipelines.score import score_flow

    wait_ready()
    res = score_flow(
        config=config_arg(config),
        as_of=as_of,
        horizon_months=horizon,
        territory=territory,
        retrain=retrain,
    )
    rows = res["rows"]
    typer.echo(
        f"score {res['as_of']} ({res['territory']}) : {fmt_count(rows['score_etablissement'])} "
        f"établissements, {fmt_count(rows['score_etablissement_rome'])} lignes par ROME, "
        f"cible {res['label_mode']}, modèle {res['model_id']}"
        + (f" (réutilisé, entraîné au {res['model_as_of']})" if res["reused_model"] else "")
    )
    bt = res.get("backtest") or {}
    if bt.get("precision_at_10_model") is not None:
        typer.echo(
            "back-test, précision@10 : modèle {:.3f}, plus gros effectif {:.3f}, "
            "plus d'embauches/offres sur 12 mois {:.3f}".format(
                bt["precision_at_10_model"],
                bt["precision_at_10_headcount"],
                bt["precision_at_10_past_12m"],
            )
        )
    if res.get("model_card"):
        typer.echo(f"fiche du modèle : {res['model_card']}")


@app.command(cls=FrenchCommand)
@friendly
def publish(
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    territory: TerritoryOpt = "all",
    top: Annotated[int | None, typer.Option("--top", help="Entreprises par liste.")] = None,
) -> None:
    """Classer et écrire les listes, fiches et le site HTML de chaque agence (flow `publish`)."""
    preflight(config, as_of=as_of, top=top, territory=territory)
    _server_early()
    from pipelines.publish import publish_flow

    wait_ready()
    res = publish_flow(config=config_arg(config), as_of=as_of, territory=territory, top_n=top)
    state = {True: "publiées", False: "NON publiées (voir run_report.md)", None: "écrites"}
    typer.echo(
        f"{res['lists']} listes, {res['rows']} lignes, {res['agencies']} agences, scores au "
        f"{res['as_of']} : {state[res['published']]} -> {res['run_dir']}"
    )
    if res["published"] is False:
        raise typer.Exit(1)


@app.command(cls=FrenchCommand)
@friendly
def run(
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    territory: TerritoryOpt = "all",
    source: SourcesOpt = None,
    horizon: Annotated[int | None, typer.Option(help="Horizon en mois.")] = None,
    top: Annotated[int | None, typer.Option("--top", help="Entreprises par liste.")] = None,
    retrain: RetrainOpt = False,
) -> None:
    """Enchaîner ingest -> score -> publish (flow `nightly`), sans serveur Prefect à lancer."""
    preflight(config, as_of=as_of, horizon=horizon, top=top, territory=territory, sources=source)
    _server_early()
    # the stages' modules, imported while the server boots (the flow would import them)
    import pipelines.ingest
    import pipelines.publish
    import pipelines.score  # noqa: F401
    from pipelines.nightly import nightly_flow

    _finish_run(
        lambda: nightly_flow(
            config=config_arg(config),
            as_of=as_of,
            territory=territory,
            sources=source,
            horizon_months=horizon,
            top_n=top,
            retrain=retrain,
        )
    )


def _finish_run(call: Any) -> None:
    """Run a chain flow; its last line says published or not and why; exit code to match."""
    from ciblage.outcome import EXIT_NOT_PUBLISHED, RunNotPublished, exit_code
    from pipelines.nightly import summary_line

    try:
        wait_ready()
        result = call()
    except RunNotPublished as exc:
        last_words([summary_line(exc.result)] if exc.result else [], exc.line)
        exit_now(EXIT_NOT_PUBLISHED)
    except Exception as exc:
        if DEBUG["on"]:
            raise
        last_words(
            [],
            f"NON PUBLIÉ : le run s'est arrêté sur {type(exc).__name__} : "
            f"{' '.join(str(exc).split())[:400]} (`ciblage -v` montre les journaux, "
            "--debug la trace)",
        )
        exit_now(EXIT_NOT_PUBLISHED)
    outcome = result.get("outcome") or {"status": "published", "line": "terminé"}
    last_words([summary_line(result)], outcome["line"])
    exit_now(exit_code(outcome["status"]))


@app.command(cls=FrenchCommand)
@friendly
def rerun(
    territory: Annotated[
        str, typer.Option("--territory", "-t", help="dep:<code>, bassin:<code> ou agence:<code>.")
    ],
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
    horizon: Annotated[int | None, typer.Option(help="Horizon en mois.")] = None,
    top: Annotated[int | None, typer.Option("--top", help="Entreprises par liste.")] = None,
) -> None:
    """Renoter et republier un territoire sur l'entrepôt actuel (flow `territory-rerun`)."""
    preflight(config, as_of=as_of, horizon=horizon, top=top, territory=territory)
    _server_early()
    # the publish stage's modules, imported while the server boots; not the score stage's
    # (scikit-learn, skops: seconds of CPU on a 2-core machine beside the booting server):
    # a rerun on current scores does not score (pipelines.nightly imports it if it does)
    import pipelines.publish  # noqa: F401
    from pipelines.nightly import territory_rerun_flow

    _finish_run(
        lambda: territory_rerun_flow(
            territory=territory,
            config=config_arg(config),
            as_of=as_of,
            top_n=top,
            horizon_months=horizon,
        )
    )


# The tools' commands register after the pipeline's: `ciblage --help` lists them in
# this order.
from ciblage import cli_tools  # noqa: E402, F401

if __name__ == "__main__":
    app()
