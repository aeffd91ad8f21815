"""Prefect flow `ingest`: every configured source into the DuckDB warehouse, validated.

One task fetches a source (retried: downloads fail transiently), one loads it. Sources
are loaded in spec order on one DuckDB connection (DuckDB has a single writer), and a
failing source never stops the others: its previous tables are kept and the summary
says why it failed.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ciblage.config import Settings, load_settings
from ciblage.ingest import load_source, prepare
from ciblage.ingest.load import DQ_MAX_ROWS, LoadResult, Progress
from ciblage.ingest.runner import open_warehouse, resolve_path, selected_specs
from ciblage.ingest.specs import registry
from ciblage.linking import relink_if_needed
from ciblage.progress import Stage
from ciblage.progress import stage as stage_progress
from ciblage.runs import locked, run_id_for


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except Exception:  # called outside a flow run (unit tests)
        return logging.getLogger("ciblage.ingest")


@task(retries=3, retry_delay_seconds=[2, 10, 30], cache_policy=NO_CACHE)
def fetch_source(settings: Settings, name: str) -> Path | None:
    """Local path of the source (downloading it when configured with a URL)."""
    return resolve_path(settings, name)


@task(cache_policy=NO_CACHE)
def load_source_task(
    con: Any,
    name: str,
    path: Path | None,
    run_id: str,
    as_of: date,
    progress: Progress | None,
    dq_max_rows: int | None = DQ_MAX_ROWS,
    since: date | None = None,
) -> dict[str, Any]:
    specs = registry()
    result = load_source(
        con,
        specs[name],
        path,
        run_id=run_id,
        as_of=as_of,
        registry=specs,
        progress=progress,
        dq_max_rows=dq_max_rows,
        history_start=since,
    )
    log = _logger()
    level = logging.ERROR if result.status == "failed" else logging.INFO
    log.log(
        level,
        "%s: %s, %d read, %d loaded, %d quarantined in %.1fs%s",
        name,
        result.status,
        result.rows_read,
        result.rows_loaded,
        result.rows_quarantined,
        result.seconds,
        f" ({result.message})" if result.message else "",
    )
    return result.as_dict()


@flow(name="ingest")
def ingest_flow(
    config: str | None = None,
    sources: list[str] | None = None,
    as_of: str | None = None,
    run_id: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Load the sources (all by default) and return per-source rows read/loaded/quarantined.

    Progress (sources done, rows read per source) is drawn live in a terminal and logged
    everywhere by `ciblage.progress`, which decides by itself: `progress` is kept for the
    callers and deployments that pass it, and no longer changes anything.
    Returns {"run_id", "as_of", "sources": {name: {...}}, "failed": [names]}.
    """
    settings = load_settings(config, as_of=as_of)
    run_id = run_id or run_id_for(settings.as_of)
    specs = selected_specs(sources)
    summary: dict[str, Any] = {}
    with ExitStack() as stack:
        # one writer at a time: a concurrent run waits here, saying for whom
        stack.enter_context(locked(settings, run_id, "ingest"))
        con = open_warehouse(settings)
        bar = stack.enter_context(
            stage_progress("ingest", total=len(specs), unit="sources", log_pct=25)
        )
        try:
            _run(con, settings, specs, run_id, bar, summary)
            quality_report = _quality_report(con, settings, run_id)
        finally:
            con.close()
    failed = [n for n, r in summary.items() if r["status"] == "failed"]
    coverage_failed = [n for n, r in summary.items() if not r.get("coverage", {}).get("ok", True)]
    if failed:
        _logger().error("ingest: failed source(s), previous data kept: %s", ", ".join(failed))
    return {
        "run_id": run_id,
        "as_of": settings.as_of.isoformat(),
        "sources": summary,
        "failed": failed,
        "coverage_failed": coverage_failed,  # loaded, but inform (almost) no establishment
        "quality_report": str(quality_report) if quality_report else None,
    }


def _quality_report(con: Any, settings: Settings, run_id: str) -> Path | None:
    """Analysts read each run's expectations and quarantine in one HTML page.

    A run where every source was unchanged validated nothing, so it gets no page (its
    coverage verdicts, measured anyway, are in dq_result and `ciblage status`).
    """
    from ciblage.quality.coverage import EXPECTATION
    from ciblage.quality.report import render_quality_report

    rows = con.execute(
        "SELECT count(*) FROM dq_result WHERE run_id = ? AND expectation <> ?",
        [run_id, EXPECTATION],
    ).fetchall()
    if not rows or not rows[0][0]:
        return None
    path = render_quality_report(con, run_id, settings.output / "quality" / f"{run_id}.html")
    _logger().info("ingest: data-quality report %s", path)
    return path


def model_history_start(settings: Settings) -> date:
    """The first day a training at this as-of reads (its earliest snapshot less the
    features' look-back, from 1 January): the SIRENE load leaves out the establishments
    closed before it (about half of France's 43 M), see SourceSpec.history."""
    from scoring.features import history_start
    from scoring.options import ScoringOptions

    opts = ScoringOptions.from_settings(settings)
    return history_start(
        settings.as_of, settings.horizon_months, opts.step_months, opts.n_snapshots
    )


def _run(
    con: Any,
    settings: Settings,
    specs: list[Any],
    run_id: str,
    bar: Stage,
    summary: dict[str, Any],
) -> None:
    """Fetch then load each source in order; a failed fetch of an optional source = missing.

    Each source has its own progress row (rows read, logged every 30 s and at the end)
    under the stage's (sources done, ETA)."""
    prepare(con)
    # [ingest] quality_max_rows: 0 validates every row (slower at national scale)
    dq_max_rows = int(settings.section("ingest").get("quality_max_rows", DQ_MAX_ROWS)) or None
    since = model_history_start(settings)
    for spec in specs:
        try:
            path = fetch_source(settings, spec.name)
        except Exception as exc:  # download failed after its retries
            path = None
            if spec.required:
                summary[spec.name] = LoadResult(
                    spec.name, "failed", message=f"fetch failed: {exc}"
                ).as_dict()
                bar.advance(1, item=spec.name)
                continue
        with stage_progress(f"ingest {spec.name}", unit="lignes lues") as rows:
            summary[spec.name] = load_source_task(
                con, spec.name, path, run_id, settings.as_of, _rows_read(rows), dq_max_rows, since
            )
            rows.outcome = summary[spec.name]["status"]
        bar.advance(1, item=spec.name)
    link_offers_task(con, settings, run_id, summary)
    coverage_task(con, settings, run_id, summary)
    con.execute("CHECKPOINT")


def _rows_read(rows: Stage) -> Progress:
    """The loader's callback (source, rows read so far) feeding a source's progress row."""

    def report(source: str, n: int) -> None:
        rows.update(done=n)

    return report


@task(cache_policy=NO_CACHE)
def coverage_task(
    con: Any, settings: Settings, run_id: str, summary: dict[str, Any]
) -> list[dict[str, Any]]:
    """Share of establishments each source informs, against the [coverage] bounds.

    Loaded rows that inform nobody (e.g. DPAE sectors that join no establishment) are a
    critical data-quality failure (dq_result, run_ledger); each source's summary entry
    gets its `coverage`. Returns the failures.
    """
    from ciblage.quality.coverage import bounds, measure_coverage

    cov = measure_coverage(
        con, run_id, settings.as_of, "ingest", bounds(settings.section("coverage"))
    )
    for c in cov:
        if c.source in summary:
            summary[c.source]["coverage"] = {
                "share": round(c.share, 4),
                "min_share": c.min_share,
                "ok": c.success,
            }
    failed = [{"source": c.source, "message": c.describe()} for c in cov if not c.success]
    for f in failed:
        _logger().error("coverage: %s", f["message"])
    return failed


@task(cache_policy=NO_CACHE)
def link_offers_task(
    con: Any, settings: Settings, run_id: str, summary: dict[str, Any]
) -> dict[str, Any] | None:
    """Link offers to establishments when offers or SIRENE changed (ciblage/linking.py).

    The counts go to run_ledger (step offre_siret_link) and under summary["offres"].
    """
    statuses = {name: r["status"] for name, r in summary.items()}
    counts = relink_if_needed(con, run_id, statuses, settings.section("linking"))
    if counts is not None:
        if "offres" in summary:
            summary["offres"]["linking"] = counts
        _logger().info(
            "offre_siret_link: %d/%d offers linked (%d by SIRET, %d by name)",
            counts["siret"] + counts["entity_resolution"],
            counts["offers"],
            counts["siret"],
            counts["entity_resolution"],
        )
    return counts
