"""Impact report: did promotions bring people back to work, per agency and overall?

The report measures conversion (hires recorded by the agency / promotions) against the
12 % goal, by ROME, by month and by the hiring-potential band the company had when it was
promoted: the last one is the real-world test of the model. Possible successes seen in
the data (a hire or a linked offer after the promotion) are shown beside, never mixed
with, what the agencies recorded. Small counts come with a 95 % interval so that nobody
reads a trend into five promotions.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ciblage.config import PROJECT_ROOT, Settings
from ciblage.followup.impact_plots import draw_cached, plot_bands, plot_months
from ciblage.followup.refresh import followup_options, refresh_followup
from ciblage.warehouse import run_sql_file, table_exists

log = logging.getLogger(__name__)

TEMPLATES = PROJECT_ROOT / "reports" / "templates" / "impact"
BANDS = ["0–19", "20–39", "40–59", "60–79", "80–100", "inconnu"]
HIGH_POTENTIAL = 60  # bands at or above it are "fort potentiel" in the finding
MIN_COMPARE = 20  # promotions per group below which no comparison is stated

_METRICS = (
    "count(*) AS promotions, count(*) FILTER (WHERE answered) AS reponses, "
    "count(*) FILTER (WHERE interview) AS entretiens, count(*) FILTER (WHERE hired) AS embauches,"
    " count(*) FILTER (WHERE possible_success) AS succes_possibles"
)
_EMPTY_SCORES = (
    "(SELECT NULL::VARCHAR AS siret, NULL::DATE AS as_of, NULL::INTEGER AS hiring_potential, "
    "NULL::INTEGER AS stars WHERE false)"
)
_EMPTY_ROMES = "(SELECT NULL::VARCHAR AS code_rome, NULL::VARCHAR AS libelle WHERE false)"
_EMPTY_PROMOTIONS = (
    "(SELECT NULL::VARCHAR AS promotion_id, NULL::VARCHAR AS agency_code, "
    "NULL::VARCHAR AS siret, NULL::VARCHAR AS code_rome, NULL::DATE AS date_promotion, "
    "NULL::VARCHAR AS canal, NULL::VARCHAR AS resultat WHERE false)"
)
_EMPTY_OUTCOMES = (
    "(SELECT NULL::VARCHAR AS promotion_id, NULL::BOOLEAN AS possible_success WHERE false)"
)


@dataclass
class Scope:
    """One page of the report: all agencies (`code` None) or one agency."""

    code: str | None
    title: str
    totals: dict[str, Any]
    by_rome: list[dict[str, Any]]
    by_band: list[dict[str, Any]]
    by_month: list[dict[str, Any]]
    band_finding: str
    plots: dict[str, str] = field(default_factory=dict)  # name -> path relative to page


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float] | tuple[None, None]:
    """95 % Wilson interval of a proportion; honest for small n and for 0 or n successes."""
    if n == 0:
        return None, None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def differs(k1: int, n1: int, k2: int, n2: int, z_crit: float = 1.96) -> bool:
    """Two-proportion z-test (pooled), two-sided at 5 %."""
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return False
    return abs(k1 / n1 - k2 / n2) / se >= z_crit


def _with_rates(df: pl.DataFrame, goal: float) -> pl.DataFrame:
    if df.is_empty():
        return df
    low, high = zip(
        *(wilson(k, n) for k, n in zip(df["embauches"], df["promotions"], strict=True)),
        strict=True,
    )
    return df.with_columns(
        taux_reponse=pl.col("reponses") / pl.col("promotions"),
        taux_entretien=pl.col("entretiens") / pl.col("promotions"),
        taux_conversion=pl.col("embauches") / pl.col("promotions"),
        taux_conversion_min95=pl.Series(low, dtype=pl.Float64),
        taux_conversion_max95=pl.Series(high, dtype=pl.Float64),
        objectif=pl.lit(goal),
        taux_succes_possibles=pl.col("succes_possibles") / pl.col("promotions"),
    ).with_columns(ecart_objectif=pl.col("taux_conversion") - pl.col("objectif"))


def breakdown(con: duckdb.DuckDBPyConnection, by: list[str], goal: float) -> pl.DataFrame:
    """Metrics per `by` for every agency and overall (`perimetre` = 'ensemble'), one query."""
    cols = ", ".join(by)
    sets = f"(agency_code, {cols}), ({cols})" if by else "(agency_code), ()"
    select = f"{cols}, " if by else ""
    df = con.sql(
        f"SELECT coalesce(agency_code, 'ensemble') AS perimetre, {select}{_METRICS} "
        f"FROM promotion_impact GROUP BY GROUPING SETS ({sets}) "
        f"ORDER BY agency_code NULLS FIRST{', ' + cols if by else ''}"
    ).pl()
    df = df.filter(pl.col("promotions") > 0)
    if "potential_band" in by and not df.is_empty():
        order = {b: i for i, b in enumerate(BANDS)}
        rank = pl.col("potential_band").replace_strict(order, return_dtype=pl.Int32)
        df = df.sort(pl.col("perimetre") != "ensemble", "perimetre", rank)
    return _with_rates(df, goal)


def band_finding(by_band: pl.DataFrame, first_score: date | None = None) -> str:
    """The answer to "do high-potential companies convert better?", or why there is none.

    Only scores computed before a promotion count (a later score has seen the hires that
    followed it), so a deployment whose scores all postdate its promotions gets the way
    to obtain earlier ones instead of a biased comparison.
    """
    known = by_band.filter(pl.col("potential_band") != "inconnu")
    if known.is_empty():
        text = (
            "Aucune promotion ne peut être rapprochée d'un score de potentiel calculé avant "
            "elle : la comparaison par potentiel d'embauche n'est pas encore possible."
        )
        if first_score is not None:
            text += (
                f" Le premier score disponible date du {first_score:%d/%m/%Y} ; des scores à "
                "des dates passées (`ciblage score --as-of AAAA-MM-JJ`) ou les prochaines "
                "exécutions nocturnes la rendront possible."
            )
        return text
    lower = known["potential_band"].str.extract(r"^(\d+)", 1).cast(pl.Int32)
    high = known.filter(lower >= HIGH_POTENTIAL)
    low = known.filter(lower < HIGH_POTENTIAL)
    n_hi, n_lo = int(high["promotions"].sum()), int(low["promotions"].sum())
    if n_hi < MIN_COMPARE or n_lo < MIN_COMPARE:
        return (
            f"Trop peu de promotions pour comparer ({n_hi} vers des entreprises à fort "
            f"potentiel ≥ {HIGH_POTENTIAL}, {n_lo} vers les autres ; il en faut au moins "
            f"{MIN_COMPARE} de chaque côté)."
        )
    k_hi, k_lo = int(high["embauches"].sum()), int(low["embauches"].sum())
    r_hi, r_lo = k_hi / n_hi, k_lo / n_lo
    verdict = "mieux" if r_hi > r_lo else "moins bien" if r_hi < r_lo else "autant"
    text = (
        f"Les entreprises à fort potentiel (≥ {HIGH_POTENTIAL}) convertissent {verdict} : "
        f"{fmt_pct(r_hi)} d'embauches sur {n_hi} promotions, contre {fmt_pct(r_lo)} sur "
        f"{n_lo} promotions vers les autres."
    )
    if not differs(k_hi, n_hi, k_lo, n_lo):
        text += (
            " L'écart n'est pas significatif à ce stade (test de comparaison de deux "
            "proportions, seuil de 5 %)."
        )
    return text


def fmt_pct(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.1f}".replace(".", ",") + " %"


def fmt_int(value: int | None) -> str:
    return "–" if value is None else f"{int(value):,}".replace(",", "\u202f")


def _with_bars(rows: list[dict[str, Any]], goal: float) -> list[dict[str, Any]]:
    """Widths (% of the cell) of the inline bars drawn in the tables, for every page."""
    if not rows:
        return rows
    most = max(r["promotions"] for r in rows)
    top_rate = max(goal, *(r["taux_conversion"] for r in rows)) * 1.1
    for r in rows:
        r["bar_promotions"] = round(100 * r["promotions"] / most, 1)
        r["bar_embauches"] = round(100 * r["embauches"] / most, 1)
        r["bar_conversion"] = round(100 * r["taux_conversion"] / top_rate, 1)
        r["bar_goal"] = round(100 * goal / top_rate, 1)
    return rows


def _scope(
    code: str | None,
    frames: dict[str, pl.DataFrame],
    goal: float,
    out: Path,
    plots: bool,
    first_score: date | None = None,
    previous_plots: Path | None = None,
) -> Scope:
    """One page's figures, taken from the breakdowns of every agency."""
    label = code or "ensemble"
    mine = {k: df.filter(pl.col("perimetre") == label) for k, df in frames.items()}
    totals = mine["synthese"]
    bands = mine["par_potentiel"]
    scope = Scope(
        code=code,
        title="Toutes les agences" if code is None else f"Agence {code}",
        totals=totals.row(0, named=True) if not totals.is_empty() else {},
        by_rome=mine["par_rome"].sort("promotions", descending=True).to_dicts(),
        by_band=_with_bars(bands.to_dicts(), goal),
        by_month=_with_bars(mine["par_mois"].to_dicts(), goal),
        band_finding=band_finding(bands, first_score) if not bands.is_empty() else "",
    )
    if scope.totals and plots:
        stem = "ensemble" if code is None else f"agence_{code}"
        (out / "plots").mkdir(parents=True, exist_ok=True)
        rel = "plots" if code is None else "../plots"
        draw_cached(
            plot_bands, bands, goal, out / "plots" / f"{stem}_potentiel.png", previous_plots
        )
        draw_cached(
            plot_months, mine["par_mois"], goal, out / "plots" / f"{stem}_mois.png", previous_plots
        )
        scope.plots = {
            "potentiel": f"{rel}/{stem}_potentiel.png",
            "mois": f"{rel}/{stem}_mois.png",
        }
    return scope


def build_impact_table(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """(Re)build the temp table `promotion_impact` from the ledger, outcomes and scores."""
    romes = []
    if table_exists(con, "ref_naf_rome"):
        romes.append("SELECT code_rome, rome_label AS libelle FROM ref_naf_rome")
    if table_exists(con, "ref_rome"):
        romes.append("SELECT code_rome, libelle FROM ref_rome")
    run_sql_file(
        con,
        "promotion_impact",
        {"as_of": as_of},
        scores="score_etablissement" if table_exists(con, "score_etablissement") else _EMPTY_SCORES,
        romes=f"({' UNION ALL '.join(romes)})" if romes else _EMPTY_ROMES,
        promotions="promotion" if table_exists(con, "promotion") else _EMPTY_PROMOTIONS,
        outcomes="promotion_outcome" if table_exists(con, "promotion_outcome") else _EMPTY_OUTCOMES,
    )


def _writable(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT NOT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    return bool(rows and rows[0][0])


def _write_csvs(out: Path, frames: dict[str, pl.DataFrame]) -> list[Path]:
    """UTF-8 with BOM, `;`, decimal comma: opens cleanly in French Excel."""
    written = []
    for name, df in frames.items():
        df = df.rename({"potential_band": "potentiel", "month": "mois"}, strict=False)
        path = out / f"{name}.csv"
        df.write_csv(path, include_bom=True, separator=";", decimal_comma=True, float_precision=4)
        written.append(path)
    return written


def write_impact_report(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_dir: Path,
    previous_run: Path | None = None,
) -> Path:
    """Write `<run_dir>/impact/` (index.html, one page per agency, CSVs, plots).

    On a writable connection the configured ledger files are (re)imported and outcomes and
    cool-downs rebuilt first; on a read-only one the stored follow-up tables are used.
    Plots whose data did not change since `previous_run` are copied from it, not redrawn.
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    opts = followup_options(settings)
    goal = float(opts["goal_conversion"])
    if _writable(con):  # fresh ledger imports, outcomes and cool-downs; else as stored
        refresh_followup(con, settings)
    else:
        log.info("impact report on a read-only connection: follow-up tables used as stored")
    build_impact_table(con, settings.as_of)
    out = Path(run_dir) / "impact"
    (out / "agences").mkdir(parents=True, exist_ok=True)
    frames = {
        "synthese": breakdown(con, [], goal),
        "par_rome": breakdown(con, ["code_rome", "rome_label"], goal),
        "par_potentiel": breakdown(con, ["potential_band"], goal),
        "par_mois": breakdown(con, ["month"], goal),
    }
    agencies = [a for a in frames["synthese"]["perimetre"].to_list() if a != "ensemble"]
    # matplotlib costs ~0.2 s a plot: beyond the limit, agency pages keep their tables'
    # inline bars only, so that a national run does not spend minutes drawing.
    agency_plots = len(agencies) <= int(opts["agency_plots_max"])
    first_score = None
    if table_exists(con, "score_etablissement"):
        first_score = con.execute("SELECT min(as_of) FROM score_etablissement").fetchall()[0][0]
    prev = previous_run / "impact" / "plots" if previous_run is not None else None
    overall = _scope(None, frames, goal, out, True, first_score, prev)
    scopes = [_scope(a, frames, goal, out, agency_plots, first_score, prev) for a in agencies]
    csvs = _write_csvs(out, frames)

    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"])
    )
    env.filters.update(pct=fmt_pct, num=fmt_int)
    common = {
        "as_of": settings.as_of,
        "goal": goal,
        "csvs": [p.name for p in csvs],
        "window_months": opts["outcome_window_months"],
    }
    index = out / "index.html"
    index.write_text(
        env.get_template("index.html.j2").render(overall=overall, agencies=scopes, **common),
        encoding="utf-8",
    )
    for scope in scopes:
        (out / "agences" / f"{scope.code}.html").write_text(
            env.get_template("agence.html.j2").render(scope=scope, **common), encoding="utf-8"
        )
    log.info(
        "impact report: %d promotions, %d agencies -> %s",
        overall.totals.get("promotions", 0),
        len(scopes),
        index,
    )
    return index
