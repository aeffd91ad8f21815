"""Flow `publish`: rank per (territory, ROME), write the list files, every agency's
files and the site, then publish the run (gates, then the atomic `latest` switch).

The warehouse is written only at the start (follow-up ledgers and cool-downs, under the
write lock); that connection is closed before the ranking, which runs on a read-only
connection, and before the per-agency fan-out (`publish_agencies`, a few batches of
agencies per CPU, with picklable arguments, each reading the run folder only) so that
the fan-out can run on threads, processes or a Dask cluster. A territory rerun (`dep:45`…)
republishes its territories and carries the other territories' lists over from the
published run, so the new run is complete on its own.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, task, unmapped

from ciblage import progress
from ciblage.config import Settings, load_settings
from ciblage.freshness import write_sources_note
from ciblage.gates import add_warnings
from ciblage.ledger import ledger_step
from ciblage.publish.agency import (
    AGENCY_INPUTS,
    AGENCY_LEVEL,
    RANKING_FILE,
    SUMMARY_FILE,
    common_context,
    published_agencies,
    reuse_agency,
    write_agency,
    write_agency_inputs,
)
from ciblage.publish.site import SITE_DIR, write_index
from ciblage.publish.target_files import written_files
from ciblage.publish.targets import copy_targets, targets_summary, validate_targets
from ciblage.runs import (
    create_run_dir,
    latest_run_dir,
    locked,
    publish_run,
    run_id_for,
)
from ciblage.territories import TerritoryFilter, parse_territory
from ciblage.warehouse import connect
from scoring.ranking import (
    ESTABLISHMENTS_VIEW,
    SCORES_VIEW,
    RankingOptions,
    build_target_list,
    prepare_ranking,
    published_label_mode,
    rank_all,
    resolve_as_of,
    run_departements,
)
from scoring.reason_table import ReasonSettings

log = logging.getLogger("ciblage.publish")


@task(name="publish_agencies", retries=1, retry_delay_seconds=5)
def publish_agencies(
    config: str,
    run_dir: str,
    codes: list[str],
    previous: str | None = None,
    before: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Some agencies' CSV, XLSX and site pages (from the run folder), each linked
    from the `previous` run when unchanged (`before`: those agencies' entries there)."""
    before = before or {}
    return [write_agency(config, run_dir, c, previous, before.get(c)) for c in codes]


# Fan-out tasks per CPU. A task costs Prefect API calls and, on a process pool, a round
# trip to a worker: about a second under load, more than a small agency's files (400
# agencies as 400 tasks spent two thirds of their time there). A few tasks per worker
# still balance big and small agencies.
TASKS_PER_CPU = 8


def agency_batches(codes: list[str], cpus: int | None = None) -> list[list[str]]:
    """`codes` dealt round-robin into at most TASKS_PER_CPU × cpus batches (a territory
    rerun's few agencies: one per batch)."""
    n = max(1, min(len(codes), TASKS_PER_CPU * (cpus or os.cpu_count() or 2)))
    return [b for b in (codes[i::n] for i in range(n)) if b]


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
    settings: Settings,
    explicit_as_of: bool,
    flt: TerritoryFilter,
    top_n: int | None,
    run_dir: Path,
    previous: Path | None,
) -> tuple[date, set[tuple[str, str]], list[Path]]:
    """Rank the run's territories one partition at a time and write the lists, one file
    per département partition (a territory rerun links the published run's files its
    territories are not in); returns the scores' as-of, the territories in scope and the
    list files written (not linked)."""
    opts = RankingOptions.from_settings(settings, top_n)
    con = connect(settings.warehouse, read_only=True)
    try:
        con.execute(f"SET memory_limit = '{opts.memory_limit}'")
        as_of = resolve_as_of(con, settings.as_of, explicit_as_of)
        parts = prepare_ranking(con, settings, as_of, flt, opts)
        with progress.stage("classement", total=len(parts), unit="partitions") as bar:
            rank_all(con, parts, as_of, opts, on_partition=lambda p: bar.advance(1, item=p.key))
        build_target_list(
            con,
            "target_rank",
            as_of,
            opts.last_offers,
            ESTABLISHMENTS_VIEW,
            reasons=ReasonSettings.from_settings(settings),
            departements=run_departements(con, flt),
        )
        rerun = flt.level is not None and previous is not None
        carry = previous if rerun and previous != run_dir.resolve() else None
        written = written_files(run_dir, copy_targets(con, run_dir, carry_from=carry))
        threshold = opts.threshold(published_label_mode(con, as_of))
        write_agency_inputs(con, run_dir, as_of, threshold, SCORES_VIEW)
        scope = set(
            con.execute(
                "SELECT DISTINCT territory_level, territory_code FROM territory_scope"
            ).fetchall()
        )
    finally:
        con.close()
    return as_of, scope, written


def carry_over(
    previous: Path,
    run_dir: Path,
    scope: set[tuple[str, str]],
    listed: list[str],
    old_agencies: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Copy the files of the agencies outside this rerun's scope (their rows are already
    in the list files, see `rank`); returns their summary entries (`old_agencies`: the
    previous run's, by code)."""
    carried = []
    for code in listed:
        if (AGENCY_LEVEL, code) in scope or code not in old_agencies:
            continue
        if reuse_agency(previous, run_dir, code, old_agencies[code]) is not None:
            carried.append({**old_agencies[code], "carried_from": previous.name})
    log.info("territory rerun: %d agencies carried over from %s", len(carried), previous.name)
    return carried


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
            used_as_of, scope, written = rank(
                settings, as_of is not None, flt, top_n, run_dir, previous
            )
            settings = dataclasses.replace(settings, as_of=used_as_of)
            n_rows = validate_targets(run_dir, written)
            counts = targets_summary(run_dir)
            carried: list[dict[str, Any]] = []
            old = published_agencies(previous, run_dir)  # the summary, read once
            if flt.level is not None and previous is not None and old:
                carried = carry_over(previous, run_dir, scope, counts["agencies"], old)
            ranking = write_ranking_note(settings, used_as_of, run_dir)
            write_sources_note(settings, run_dir)
            done = {a["code"] for a in carried}
            codes = [c for c in counts["agencies"] if c not in done]
            with progress.stage("fichiers des agences", total=len(codes), unit="agences") as bar:
                prev = str(previous) if previous is not None else None
                batches = agency_batches(codes)
                befores = [{c: old[c] for c in b if c in old} for b in batches]
                futures = publish_agencies.map(
                    unmapped(cfg), unmapped(str(run_dir)), batches, unmapped(prev), befores
                )
                agencies = []
                for f in futures:
                    batch = f.result()
                    agencies += batch
                    bar.advance(len(batch), item=batch[-1]["code"])
            agencies = sorted(agencies + carried, key=lambda a: a["code"])
            shutil.rmtree(run_dir / AGENCY_INPUTS, ignore_errors=True)
            write_index(
                run_dir / SITE_DIR,
                agencies,
                common_context(used_as_of, run_dir.name, run_dir),
                impact,
            )
            lists = counts["lists"]
            summary = {
                "run_id": run_dir.name,
                "as_of": used_as_of.isoformat(),
                "territory": str(flt),
                "rows": n_rows,
                "lists": lists,
                "lists_per_level": counts["lists_per_level"],
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
                        f"modèle {ranking['model_id']} refusé "
                        f"({ranking.get('reason_fr') or ranking['reason']}) : les listes sont "
                        "classées par la méthode de référence (taux d'embauche passé lissé)"
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
