"""The `ciblage` command line.

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

import pipelines  # noqa: F401  (offline Prefect defaults, set before any flow runs)
from ciblage.cli_errors import DEBUG, exit_now, french, friendly, last_words, preflight
from ciblage.cli_usage import FrenchCommand, FrenchGroup
from ciblage.prefect_api import start_early, wait_ready

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


def _cfg(config: Path | None) -> str | None:
    return str(config) if config else None


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
    result = ingest_flow(config=_cfg(config), sources=source, as_of=as_of, progress=True)
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
        config=_cfg(config),
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
    res = publish_flow(config=_cfg(config), as_of=as_of, territory=territory, top_n=top)
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
            config=_cfg(config),
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
            territory=territory, config=_cfg(config), as_of=as_of, top_n=top, horizon_months=horizon
        )
    )


@app.command(cls=FrenchCommand)
@friendly
def status(
    config: ConfigOpt = None,
    last: Annotated[int, typer.Option(help="Nombre de runs à montrer.")] = 10,
    wide: Annotated[
        bool, typer.Option("--wide", help="Identifiants de run complets (sinon : courts).")
    ] = False,
) -> None:
    """Derniers runs : paramètres, lignes par étape, durées, qualité des données, publication.

    Chaque run est titré par un identifiant court (le plus court préfixe qu'aucun autre run
    ne partage), accepté par toute commande qui prend un identifiant de run ; --wide montre
    les identifiants complets."""
    from ciblage.status import show_status

    show_status(config=_cfg(config), last=last, wide=wide)


@app.command(cls=FrenchCommand)
@french
def match(
    rome: Annotated[str, typer.Option(help="Code ROME (M1607) ou intitulé (« secrétaire »).")],
    commune: Annotated[
        str,
        typer.Option(
            help="Commune du demandeur d'emploi : code INSEE, code postal ou nom (« Orléans »)."
        ),
    ],
    rayon: Annotated[float, typer.Option(help="Rayon de recherche en km.")] = 20.0,
    rqth: Annotated[bool, typer.Option(help="Travailleur handicapé reconnu (RQTH).")] = False,
    rsa: Annotated[bool, typer.Option(help="Bénéficiaire du RSA.")] = False,
    age: Annotated[int | None, typer.Option(help="Âge du demandeur d'emploi.")] = None,
    qpv: Annotated[bool, typer.Option(help="Habite un quartier prioritaire (QPV).")] = False,
    mois_chomage: Annotated[
        int | None,
        typer.Option("--mois-chomage", help="Mois d'inscription comme demandeur d'emploi."),
    ] = None,
    n: Annotated[int, typer.Option(help="Nombre d'entreprises.")] = 5,
    out: Annotated[Path | None, typer.Option(help="Dossier des fichiers XLSX/HTML.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Les meilleures entreprises pour un profil, leur fiche et les aides qui s'appliquent."""
    from ciblage.matching import run_match_cli

    run_match_cli(
        config=_cfg(config),
        rome=rome,
        commune=commune,
        rayon_km=rayon,
        rqth=rqth,
        rsa=rsa,
        age=age,
        qpv=qpv,
        months_unemployed=mois_chomage,
        n=n,
        out=out,
    )


@promotions_app.command("import", cls=FrenchCommand)
@french
def promotions_import(
    file: Annotated[Path, typer.Argument(help="CSV ou XLSX rempli par une agence.")],
    config: ConfigOpt = None,
) -> None:
    """Importer promotions et suites (idempotent ; les corrections gardent l'historique)."""
    from ciblage.followup.ledger import import_promotions_cli

    import_promotions_cli(config=_cfg(config), path=file)


@app.command("fetch-offres", cls=FrenchCommand)
@friendly
def fetch_offres_cmd(
    config: ConfigOpt = None,
    departement: Annotated[
        list[str] | None,
        typer.Option("--departement", "-d", help="Département (répétable ; défaut : config)."),
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Offres créées ces N derniers jours (défaut : config).")
    ] = None,
) -> None:
    """Collecter les offres de l'API Offres d'emploi v2 dans <raw>/offres/<date>/.

    La progression par département passe par `ciblage.progress` (barre dans un terminal,
    les mêmes lignes dans les journaux), comme chaque étape."""
    from ciblage.config import load_settings
    from ciblage.outcome import EXIT_NOT_PUBLISHED
    from ciblage.progress import fmt_count
    from ciblage.sources.offres_api import OffresApiError, fetch_offres

    settings = load_settings(_cfg(config))
    try:
        report = fetch_offres(settings.section("offres_api"), settings.raw_dir, departement, days)
    except OffresApiError as exc:  # credentials, département list, API refusal: one line
        if DEBUG["on"]:
            raise
        typer.echo(f"erreur : {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(EXIT_NOT_PUBLISHED) from None
    folder = report.files[0].parent if report.files else settings.raw_dir / "offres"
    typer.echo(
        f"{fmt_count(report.offers)} offres en {len(report.files)} pages dans {folder} "
        f"({report.requests} requêtes, {report.retries} nouvelles tentatives, "
        f"{report.window_splits} fenêtres découpées)"
    )
    for dep, start, end, total in report.truncated:
        typer.echo(
            f"attention : {dep} {start}..{end} : {fmt_count(total)} offres, seules les "
            "1 150 premières sont accessibles"
        )


@app.command("quality-report", cls=FrenchCommand)
@friendly
def quality_report_cmd(
    config: ConfigOpt = None,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="Identifiant de run, ou l'identifiant court de `ciblage status` (tout préfixe "
            "non ambigu) ; défaut : le dernier run contrôlé.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Fichier HTML (défaut : <output>/quality/<run>.html)."),
    ] = None,
) -> None:
    """Écrire le rapport de qualité des données d'un run d'ingestion (contrôles, quarantaine)."""
    from ciblage.config import load_settings
    from ciblage.preflight import UsageError
    from ciblage.quality.report import (
        latest_quality_run,
        recent_quality_runs,
        render_quality_report,
    )
    from ciblage.run_ids import known_run_ids, resolve_run_id, short_ids
    from ciblage.warehouse import session

    settings = load_settings(_cfg(config))
    if not settings.warehouse.is_file():
        raise UsageError(f"pas d'entrepôt à {settings.warehouse} : lancez d'abord `ciblage ingest`")
    with session(settings.warehouse, read_only=True) as con:
        known = known_run_ids(con)
        run_id = resolve_run_id(run, known) if run else latest_quality_run(con)
        if not run_id:
            raise UsageError("aucun résultat de qualité des données dans l'entrepôt")
        if not recent_quality_runs(con, run_id):
            shorts = short_ids(known)
            recent = ", ".join(shorts.get(r, r) for r in recent_quality_runs(con, last=5))
            recent = recent or "aucun"
            raise UsageError(
                f"--run {run_id} : aucun résultat de qualité des données ; runs récents : {recent}"
            )
        path = render_quality_report(
            con, run_id, out or settings.output / "quality" / f"{run_id}.html"
        )
    typer.echo(f"rapport de qualité des données du run {run_id} : {path}")


if __name__ == "__main__":
    app()
