"""Flow `publish`: rank per (territory, ROME), write targets.parquet, every agency's
files and the site, then publish the run (gates, then the atomic `latest` switch).

The warehouse is written only at the start (follow-up ledgers and cool-downs, under the
write lock); that connection is closed before the ranking, which runs on a read-only
connection, and before the per-agency fan-out (`publish_agency`, one task per agency with
picklable arguments, each opening the warehouse read-only) so that the fan-out can run
on threads or on a Dask cluster. A territory rerun (`dep:45`…) republishes its
territories and carries the other territories' lists over from the published run, so the
new run is complete on its own.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task, unmapped

from ciblage.config import Settings, load_settings
from ciblage.gates import add_warnings
from ciblage.ledger import ledger_step
from ciblage.publish.agency import AGENCY_LEVEL, RANKING_FILE, common_context, write_agency
from ciblage.publish.site import SITE_DIR, write_index
from ciblage.publish.targets import (
    TARGETS_FILE,
    TARGETS_SCHEMA,
    conform,
    validate_targets,
    write_targets,
)
from ciblage.runs import (
    create_run_dir,
    latest_run_dir,
    locked,
    publish_run,
    run_id_for,
)
from ciblage.territories import TerritoryFilter, parse_territory
from ciblage.warehouse import connect
from scoring.ranking import RankingOptions, rank_targets, resolve_as_of

log = logging.getLogger("ciblage.publish")
SUMMARY_FILE = "publish_summary.json"


@task(name="publish_agency", retries=1, retry_delay_seconds=5)
def publish_agency(config: str, run_dir: str, agency_code: str) -> dict[str, Any]:
    """One agency's CSV, XLSX and site pages (read-only warehouse access)."""
    return write_agency(config, run_dir, agency_code)


def refresh_followup_outputs(
    settings: Settings, run_dir: Path, previous: Path | None = None
) -> str | None:
    """Import the follow-up ledgers, rebuild cool-downs and write the impact report.

    Needs the write connection; returns the impact page relative to the site, if any.
    """
    from ciblage.followup.impact import write_impact_report

    con = connect(settings.warehouse)
    try:
        index = write_impact_report(con, settings, run_dir, previous)
    finally:
        con.close()
    return f"../{index.relative_to(run_dir).as_posix()}"


def rank(
    settings: Settings, explicit_as_of: bool, flt: TerritoryFilter, top_n: int | None
) -> tuple[pl.DataFrame, date, set[tuple[str, str]]]:
    """Lists of the run's territories, the scores' as-of, and the territories in scope."""
    con = connect(settings.warehouse, read_only=True)
    try:
        as_of = resolve_as_of(con, settings.as_of, explicit_as_of)
        df = rank_targets(con, settings, as_of, flt, RankingOptions.from_settings(settings, top_n))
        scope = set(
            con.execute(
                "SELECT DISTINCT territory_level, territory_code FROM territory_scope"
            ).fetchall()
        )
    finally:
        con.close()
    return df, as_of, scope


def carry_over(
    df: pl.DataFrame, previous: Path, run_dir: Path, scope: set[tuple[str, str]]
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Add the published lists of territories outside this rerun's scope, with their files."""
    prev_targets = previous / TARGETS_FILE
    if not prev_targets.is_file():
        return df, []
    keep = pl.DataFrame(sorted(scope), schema=["territory_level", "territory_code"], orient="row")
    old = pl.read_parquet(prev_targets).join(
        keep, on=["territory_level", "territory_code"], how="anti"
    )
    summary_path = previous / SUMMARY_FILE
    old_agencies = {}
    if summary_path.is_file():
        old_agencies = {
            a["code"]: a for a in json.loads(summary_path.read_text("utf-8"))["agencies"]
        }
    carried = []
    for code in old.filter(pl.col("territory_level") == AGENCY_LEVEL)["territory_code"].unique():
        src_files, src_site = previous / "agences" / code, previous / SITE_DIR / "agences" / code
        if code in old_agencies and src_files.is_dir() and src_site.is_dir():
            shutil.copytree(src_files, run_dir / "agences" / code, dirs_exist_ok=True)
            shutil.copytree(src_site, run_dir / SITE_DIR / "agences" / code, dirs_exist_ok=True)
            carried.append({**old_agencies[code], "carried_from": previous.name})
    log.info("territory rerun: %d rows and %d agencies carried over", old.height, len(carried))
    # a run published before a column existed carries it as nulls
    old = old.with_columns(
        pl.lit(None, dtype=dtype).alias(c)
        for c, dtype in TARGETS_SCHEMA.items()
        if c not in old.columns
    )
    return pl.concat([conform(df), conform(old)], how="vertical"), carried


def write_ranking_note(settings: Any, as_of: Any, run_dir: Path) -> dict[str, Any] | None:
    """`ranking.json` in the run folder: which ranking the lists use (model or baseline),
    read by the site header, the run report and `ciblage status`."""
    from scoring.model_gate import published_model, summary_fr

    con = connect(settings.warehouse, read_only=True)
    try:
        info = published_model(con, as_of)
    finally:
        con.close()
    if info is None:
        return None
    refused = info["ranking_method"] == "baseline"
    note = {**info, "notice_fr": summary_fr({"passed": False}) if refused else None}
    (run_dir / RANKING_FILE).write_text(json.dumps(note, ensure_ascii=False), encoding="utf-8")
    return note


@flow(name="publish", log_prints=True)
def publish_flow(
    config: str | None = None,
    as_of: str | None = None,
    territory: str = "all",
    top_n: int | None = None,
    out_dir: str | None = None,
) -> dict[str, Any]:
    """Rank, write every output into a run folder, validate, then publish it.

    With `out_dir`, everything is written there and nothing is published.
    """
    settings = load_settings(config, as_of=as_of, top_n=top_n)
    flt = parse_territory(territory)
    run_id = run_id_for(settings.as_of)
    cfg = str(settings.config_path)
    with locked(settings, run_id, "publish"):
        run_dir = Path(out_dir) if out_dir else create_run_dir(settings, run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        previous = latest_run_dir(settings)
        params = {"territory": str(flt), "top_n": top_n, "run_dir": str(run_dir)}
        with ledger_step(
            settings.warehouse,
            run_id=run_id,
            flow="publish",
            stage="publish",
            step="lists",
            params=params,
        ) as step:
            impact = refresh_followup_outputs(settings, run_dir, previous)
            df, used_as_of, scope = rank(settings, as_of is not None, flt, top_n)
            settings = dataclasses.replace(settings, as_of=used_as_of)
            carried: list[dict[str, Any]] = []
            if flt.level is not None and previous is not None and previous != run_dir.resolve():
                df, carried = carry_over(df, previous, run_dir, scope)
            n_rows = validate_targets(write_targets(df, run_dir))
            ranking = write_ranking_note(settings, used_as_of, run_dir)
            done = {a["code"] for a in carried}
            codes = sorted(
                set(df.filter(pl.col("territory_level") == AGENCY_LEVEL)["territory_code"]) - done
            )
            futures = publish_agency.map(unmapped(cfg), unmapped(str(run_dir)), codes)
            agencies = [f.result() for f in futures] + carried
            write_index(
                run_dir / SITE_DIR,
                agencies,
                common_context(used_as_of, run_dir.name, run_dir),
                impact,
            )
            lists = df.select("territory_level", "territory_code", "code_rome").n_unique()
            summary = {
                "run_id": run_dir.name,
                "as_of": used_as_of.isoformat(),
                "territory": str(flt),
                "rows": n_rows,
                "lists": lists,
                "lists_per_level": dict(
                    df.unique(["territory_level", "territory_code", "code_rome"])
                    .group_by("territory_level")
                    .len()
                    .sort("territory_level")  # same file for the same data
                    .iter_rows()
                ),
                "agencies": agencies,
            }
            (run_dir / SUMMARY_FILE).write_text(
                json.dumps(summary, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
            )
            step.rows_out = n_rows
            step.message = f"{lists} lists, {len(agencies)} agencies -> {run_dir}"
        published = None
        if out_dir is None:
            report = publish_run(settings, run_dir, previous, territory=str(flt))
            published = report.published
            if ranking and ranking["ranking_method"] == "baseline":
                add_warnings(
                    run_dir,
                    [
                        f"model gate refused model {ranking['model_id']} ({ranking['reason']}): "
                        "the lists are ranked by the baseline (shrunk past hiring rate)"
                    ],
                )
    log.info("publish: %d rows, %d lists, %d agencies in %s", n_rows, lists, len(agencies), run_dir)
    return {
        "run_id": run_dir.name,
        "run_dir": str(run_dir),
        "as_of": used_as_of.isoformat(),
        "agencies": len(agencies),
        "lists": lists,
        "rows": n_rows,
        "published": published,
    }
