"""The `ciblage` commands around the pipeline: runs' status, profile matching, follow-up
import, offers harvest and the data quality report (`ciblage.cli` has the pipeline's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ciblage.cli_app import ConfigOpt, app, config_arg, promotions_app
from ciblage.cli_errors import DEBUG, french, friendly
from ciblage.cli_usage import FrenchCommand


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

    show_status(config=config_arg(config), last=last, wide=wide)


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
        config=config_arg(config),
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

    import_promotions_cli(config=config_arg(config), path=file)


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

    settings = load_settings(config_arg(config))
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

    settings = load_settings(config_arg(config))
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
