"""One profile → the best companies around, with their fiche and the hiring aids that fit.

The counselor's daily use (`ciblage match --rome M1607 --commune 45234 --rayon 20 --rsa`):
the same eligibility and privacy rule as the lists (sql/eligible_etablissement.sql), the
same company fields (sql/target_list.sql), ranked by the trade's hiring potential within a
radius. It reads the warehouse read-only and imports no Prefect, so it answers in well
under a second and can run while the nightly pipeline writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from ciblage.aids import Aid, Profile, load_aids
from ciblage.config import load_settings
from ciblage.match_search import Search, few_results_text
from ciblage.places import PlaceError, resolve_commune, resolve_trade
from ciblage.publish import fmt
from ciblage.publish.fiche import build_fiches, warehouse_extras
from ciblage.territories import TerritoryError, commune_centre
from ciblage.warehouse import connect, run_sql_file
from scoring.errors import ReasonsUnavailable
from scoring.ranking import RankingOptions, build_target_list, resolve_as_of
from scoring.reason_table import ReasonSettings


class MatchError(ValueError):
    """The profile cannot be matched (unknown ROME or commune, no scores)."""


@dataclass
class MatchResult:
    rome_input: str
    code_rome: str
    rome_label: str | None
    commune: str
    commune_label: str
    rayon_km: float
    as_of: date
    profile: Profile
    fiches: list[dict[str, Any]] = field(default_factory=list)
    understood: list[str] = field(default_factory=list)  # how the inputs were read (French)
    n_wanted: int = 5
    min_potential: int = 0
    widening: dict[str, Any] = field(default_factory=dict)

    @property
    def few(self) -> bool:
        return len(self.fiches) < self.n_wanted

    @property
    def notice(self) -> str | None:
        """« Peu de résultats » and what to try, when fewer companies than asked qualify."""
        return few_results_text(self) if self.few else None

    @property
    def profile_text(self) -> str:
        p = self.profile
        parts = [
            "bénéficiaire du RSA" if p.rsa else "",
            "RQTH" if p.rqth else "",
            "réside en QPV" if p.qpv else "",
            f"{p.age} ans" if p.age is not None else "",
            f"inscrit depuis {p.months_unemployed} mois" if p.months_unemployed is not None else "",
        ]
        return ", ".join(x for x in parts if x) or "non précisée"


def resolve_rome(con: duckdb.DuckDBPyConnection, code: str) -> tuple[str, str | None]:
    """A ROME code or job title -> (v3 parent code, label); see `ciblage.places`."""
    try:
        trade = resolve_trade(con, code)
    except PlaceError as exc:
        raise MatchError(str(exc)) from exc
    return trade.code_rome, trade.label


def match_profile(
    con: duckdb.DuckDBPyConnection,
    rome: str,
    commune: str,
    rayon_km: float,
    profile: Profile,
    n: int = 5,
    as_of: date | None = None,
    aids: list[Aid] | None = None,
    min_potential: int = 0,
    reasons: ReasonSettings | None = None,
) -> MatchResult:
    """The `n` best companies for the trade within `rayon_km` of the commune, under the
    lists' rules (`min_potential`, no non-employer without a hiring signal); when fewer
    qualify, `widening` counts what a larger radius or a close trade would give.
    `reasons`: how the reasons are computed (default: the shipped settings)."""
    if rayon_km <= 0 or n < 1:
        raise MatchError("le rayon doit être positif et n au moins 1")
    try:
        trade = resolve_trade(con, rome)
        place = resolve_commune(con, commune)
    except PlaceError as exc:
        raise MatchError(str(exc)) from exc
    code_rome, rome_label, commune, commune_label = (
        trade.code_rome,
        trade.label,
        place.code_commune,
        place.label,
    )
    try:
        lat, lon = commune_centre(con, commune)
    except TerritoryError as exc:
        raise MatchError(f"commune {commune_label} ({commune}) sans coordonnées") from exc
    try:
        as_of = resolve_as_of(con, as_of or date.today(), explicit=False)
    except RuntimeError as exc:
        raise MatchError(str(exc)) from exc
    run_sql_file(con, "eligible_etablissement", etablissement="etablissement")
    search = Search(con, lat, lon, as_of, commune, commune_label, min_potential)
    search.rank(code_rome, float(rayon_km), n)
    try:
        build_target_list(
            con, "match_rank", as_of, 3, "etablissement", reasons=reasons or ReasonSettings()
        )
    except ReasonsUnavailable as exc:
        raise MatchError(str(exc)) from exc
    cur = con.execute(
        "SELECT t.*, m.distance_km FROM target_list t JOIN match_rank m USING (siret) "
        "ORDER BY t.rank"
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, values, strict=True)) for values in cur.fetchall()]
    extras = warehouse_extras(con, [r["siret"] for r in rows], as_of)
    fiches = build_fiches(rows, extras, profile=profile, aids=aids or load_aids())
    for f in fiches:
        f["distance_fr"] = fmt.fr_number(f["distance_km"], 1)
    widening = search.widening(code_rome, float(rayon_km), n) if len(fiches) < n else {}
    return MatchResult(
        understood=[trade.understood, place.understood],
        n_wanted=n,
        min_potential=min_potential,
        widening=widening,
        rome_input=rome.strip(),
        code_rome=code_rome,
        rome_label=rome_label,
        commune=commune,
        commune_label=commune_label,
        rayon_km=float(rayon_km),
        as_of=as_of,
        profile=profile,
        fiches=fiches,
    )


def write_match_outputs(result: MatchResult, out: Path) -> list[Path]:
    """XLSX (Profil, Entreprises, Fiches) and a self-contained HTML page."""
    from ciblage.publish.match_outputs import write_match_html, write_match_xlsx

    out.mkdir(parents=True, exist_ok=True)
    stem = f"profil_{result.code_rome}_{result.commune}"
    return [
        write_match_xlsx(result, out / f"{stem}.xlsx"),
        write_match_html(result, out / f"{stem}.html"),
    ]


def print_match(result: MatchResult) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    from ciblage.publish.fiche import fiche_lines

    console = Console()
    title = (
        f"{result.rome_input} {result.rome_label or ''} — {result.rayon_km:g} km autour de "
        f"{result.commune_label} — profil : {result.profile_text} (scores au "
        f"{fmt.fr_date(result.as_of)})"
    )
    for line in result.understood:
        console.print(f"[dim]Compris :[/] {line}")
    if result.notice:
        console.print(f"[yellow]{result.notice}[/]")
    if not result.fiches:
        console.print(f"[yellow]Aucune entreprise éligible[/] : {title}")
        return
    table = Table(title=title, show_lines=True)
    for col in ("#", "Entreprise", "Commune", "km", "Potentiel", "Aides applicables"):
        table.add_column(col)
    for f in result.fiches:
        table.add_row(
            str(f["rank"]),
            f["name"],
            f["commune"] or "",
            f["distance_fr"],
            f"{f['hiring_potential']}/100 {fmt.stars(f['stars'])}",
            ", ".join(a["nom"] for a in f["aids"] if a["statut"] == "oui"),
        )
    console.print(table)
    for f in result.fiches:
        body = "\n".join(f"[bold]{k}[/] : {v}" for k, v in fiche_lines(f) if k != "Listes")
        console.print(Panel(body, title=f"{f['rank']}. {f['name']}", expand=False))


def run_match_cli(
    config: str | None,
    rome: str,
    commune: str,
    rayon_km: float,
    rqth: bool,
    rsa: bool,
    age: int | None,
    qpv: bool,
    months_unemployed: int | None,
    n: int,
    out: Path | None,
) -> None:
    """`ciblage match`: print the companies and their fiche; write XLSX/HTML into `out`."""
    settings = load_settings(config)
    profile = Profile(rsa=rsa, rqth=rqth, qpv=qpv, age=age, months_unemployed=months_unemployed)
    if not settings.warehouse.is_file():
        raise SystemExit(f"warehouse not found: {settings.warehouse} (run `ciblage run` first)")
    con = connect(settings.warehouse, read_only=True)
    try:
        from scoring.ranking import published_label_mode

        opts = RankingOptions.from_settings(settings)
        min_pot = opts.threshold(published_label_mode(con, settings.as_of))
        result = match_profile(
            con,
            rome,
            commune,
            rayon_km,
            profile,
            n,
            settings.as_of,
            min_potential=min_pot,
            reasons=ReasonSettings.from_settings(settings),
        )
    except MatchError as exc:
        raise SystemExit(f"ciblage match: {exc}") from exc
    finally:
        con.close()
    print_match(result)
    if out is not None:
        for path in write_match_outputs(result, Path(out)):
            print(f"écrit : {path}")
