"""Flow `nightly` (ingest → score → publish) and flow `territory-rerun` (score → publish).

Both hold the warehouse write lock for their whole duration (a second run waits, see
`ciblage.lock`), run each stage as a Prefect subflow, and record each stage in the run
ledger under one run id. `nightly` resumes after a failure: stages that completed for
the same inputs are reused instead of rerun (see `ciblage.resume` for the rules).

Deployed by `prefect.yaml`; run with no server by `ciblage run` / `ciblage rerun`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Failed, State

from ciblage.config import Settings, load_settings
from ciblage.freshness import run_source_notices
from ciblage.gates import REPORT_JSON, GateCheck, GateReport, add_warnings
from ciblage.ledger import (
    BLOCKED,
    COMPLETED,
    DEGRADED,
    FAILED,
    SKIPPED,
    ledger_step,
    mark_interrupted,
    record,
    utcnow,
)
from ciblage.outcome import RunNotPublished, SourceVerdict, judge_sources
from ciblage.preflight import check_source_names
from ciblage.progress import fmt_seconds
from ciblage.resume import (
    config_digest,
    covering_score_record,
    inputs_fingerprint,
    reusable_record,
    stage_key,
)
from ciblage.runs import bind_run_id, create_run_dir, latest_run_dir, locked, new_run_id
from pipelines.task_runners import publish_task_runner


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


RERUN_FLOW = "territory-rerun"


class _Stages:
    """Runs stages in order inside one nightly/rerun flow run, reusing completed ones."""

    def __init__(self, settings: Settings, run_id: str, flow_name: str, resume: bool) -> None:
        self.settings, self.run_id, self.flow_name = settings, run_id, flow_name
        self.resume = resume
        self.upstream_key: str | None = None
        self.upstream_ran = False
        self.report: dict[str, Any] = {}
        self.sources = SourceVerdict()  # what the ingest stage says about the data

    def run(self, stage: str, params: dict[str, Any], call: Callable[[], Any]) -> Any:
        log = get_run_logger()
        key = stage_key(stage, params, self.upstream_key)
        self.upstream_key = key
        rec = None
        if self.resume and not self.upstream_ran:
            rec = reusable_record(self.settings, stage, key)
        elif stage == "score" and self.flow_name == RERUN_FLOW and not self.upstream_ran:
            rec = covering_score_record(self.settings, params)  # its scores are current
        if rec is not None:
            log.info(f"stage {stage}: reusing run {rec['run_id']} (same inputs, completed)")
            now = utcnow()
            result = rec["params"].get("result")
            record(
                self.settings.warehouse,
                run_id=self.run_id,
                flow=self.flow_name,
                stage=stage,
                step="stage",
                status=SKIPPED,
                started_at=now,
                ended_at=now,
                params={**params, "key": key, "reused_from": rec["run_id"], "result": result},
                message=f"étape terminée du run {rec['run_id']} réutilisée",
            )
            self.report[stage] = {"status": SKIPPED, "reused_from": rec["run_id"]}
            self._verdict(stage, result)
            return result
        self.upstream_ran = True
        with ledger_step(
            self.settings.warehouse,
            run_id=self.run_id,
            flow=self.flow_name,
            stage=stage,
            step="stage",
            params={**params, "key": key},
        ) as step:
            started = utcnow()
            result = _jsonable(call())
            step.params = {"result": result}
            step.status, step.message = self._verdict(stage, result)
        self.report[stage] = {
            "status": step.status,
            "seconds": round((utcnow() - started).total_seconds(), 2),
        }
        if step.message:
            self.report[stage]["message"] = step.message
        return result

    def _verdict(self, stage: str, result: Any) -> tuple[str, str | None]:
        """An ingest stage whose sources failed did not complete: say so in the ledger
        (a failed stage is also never reused by the next run)."""
        if stage != "ingest" or not isinstance(result, dict) or "sources" not in result:
            return COMPLETED, None
        self.sources = judge_sources(result, set(self.settings.sources))
        status = {"failed": FAILED, "degraded": DEGRADED}.get(self.sources.status, COMPLETED)
        return status, self.sources.message()


def _settings(
    config: str | None, as_of: str | None, horizon: int | None, top: int | None
) -> Settings:
    return load_settings(config, as_of=as_of, horizon_months=horizon, top_n=top)


def _stage_calls(
    settings: Settings,
    stages: list[str],
    territory: str,
    sources: list[str] | None,
    retrain: bool = False,
) -> list[tuple[str, dict[str, Any], Callable[[], Any]]]:
    """(stage, parameters that key its reuse, call of its subflow), in order."""
    cfg, day = str(settings.config_path), settings.as_of.isoformat()
    horizon, top_n = settings.horizon_months, settings.top_n
    calls: list[tuple[str, dict[str, Any], Callable[[], Any]]] = []
    if "ingest" in stages:
        from pipelines.ingest import ingest_flow

        fingerprint = inputs_fingerprint(settings, sources)
        calls.append(
            (
                "ingest",
                {"as_of": day, "sources": sources, "inputs": fingerprint},
                lambda: ingest_flow(config=cfg, sources=sources, as_of=day),
            )
        )
    if "score" in stages:

        def score() -> Any:
            # imported when it runs: a territory rerun on current scores skips it, and its
            # modules (scikit-learn, skops) cost seconds of a rerun's start
            from pipelines.score import score_flow

            forced = {"retrain": True} if retrain else {}
            return score_flow(
                config=cfg, as_of=day, horizon_months=horizon, territory=territory, **forced
            )

        params = {
            "as_of": day,
            "horizon_months": horizon,
            "territory": territory,
            "config": config_digest(settings),
        }
        if retrain:  # a completed score stage without a forced training does not count
            params["retrain"] = True
        calls.append(("score", params, score))
    if "publish" in stages:
        from pipelines.publish import publish_flow

        runner = publish_task_runner(settings, territory)
        publish = publish_flow.with_options(task_runner=runner) if runner else publish_flow
        calls.append(
            (
                "publish",
                {"as_of": day, "territory": territory, "top_n": top_n},
                lambda: publish(config=cfg, as_of=day, territory=territory, top_n=top_n),
            )
        )
    return calls


def _run_chain(
    flow_name: str,
    stages: list[str],
    *,
    config: str | None,
    as_of: str | None,
    territory: str,
    sources: list[str] | None,
    horizon_months: int | None,
    top_n: int | None,
    resume: bool,
    retrain: bool = False,
) -> dict[str, Any]:
    settings = _settings(config, as_of, horizon_months, top_n)
    check_source_names(settings)  # a misspelt source would silently keep its old data
    # one as-of for every stage, even if the run crosses midnight with as_of = today
    run_id = new_run_id(settings.as_of)
    run_params = {
        "as_of": settings.as_of.isoformat(),
        "territory": territory,
        "sources": sources,
        "horizon_months": settings.horizon_months,
        "top_n": settings.top_n,
    }
    log = get_run_logger()
    log.info(f"{flow_name} run {run_id}: {run_params}")
    with locked(settings, run_id, flow_name), bind_run_id(run_id):
        stale = mark_interrupted(settings.warehouse)
        if stale:
            log.warning(f"{stale} ledger step(s) of a killed run marked interrupted")
        with ledger_step(
            settings.warehouse,
            run_id=run_id,
            flow=flow_name,
            stage="run",
            step="run",
            params=run_params,
        ) as whole:
            chain = _Stages(settings, run_id, flow_name, resume)
            result: dict[str, Any] = {}
            for stage, params, call in _stage_calls(settings, stages, territory, sources, retrain):
                result = chain.run(stage, params, call) or {}
                if stage == "score" and isinstance(result, dict):
                    # a source that loads rows but fills (almost) no feature: not a success
                    chain.sources.degraded.extend(
                        f"couverture des variables : {c}"
                        for c in result.get("coverage_failed") or []
                    )
                if chain.sources.failed_required:  # never rank on stale SIRENE/referentials
                    result = {}
                    break
            whole.params = {"stages": chain.report}
            outcome = _conclude(settings, run_id, chain.sources, result)
            whole.status = {"failed": FAILED, "blocked": BLOCKED, "degraded": DEGRADED}.get(
                outcome["status"], COMPLETED
            )
            whole.message = outcome["line"]
    done = {"run_id": run_id, "stages": chain.report, "publish": result, "outcome": outcome}
    log.info(outcome["line"])
    return done


class PublicationBlocked(RunNotPublished):
    """The run finished but its gates kept the previous lists published."""


def _conclude(
    settings: Settings, run_id: str, verdict: SourceVerdict, result: dict[str, Any]
) -> dict[str, Any]:
    """The run's outcome: status ('published', 'degraded', 'failed', 'blocked') and the
    one line that says it (the CLI's last line, the ledger's message, the flow state)."""
    if verdict.failed_required:
        run_dir = create_run_dir(settings, run_id)
        previous = latest_run_dir(settings)
        detail = " ; ".join(verdict.failed_required)
        check = GateCheck(
            "required_sources",
            "run",
            None,
            "toutes les sources obligatoires chargées",
            False,
            detail,
        )
        report = GateReport(run_id, str(run_dir), previous.name if previous else None, [check])
        report.stale_sources = run_source_notices(settings, run_dir)  # which data, since when
        report.write(run_dir)
        kept = (
            f"listes précédentes ({previous.name}) conservées"
            if previous
            else "rien n'est encore publié"
        )
        line = f"NON PUBLIÉ : source(s) obligatoire(s) en échec : {detail} ; {kept}"
        return {"status": "failed", "line": line, "run_dir": str(run_dir)}
    run_dir = result.get("run_dir") if isinstance(result, dict) else None
    report = Path(run_dir) / REPORT_JSON if run_dir else None
    if report is None or not report.is_file():
        return {"status": "published", "line": f"run {run_id} : rien de nouveau à publier"}
    data = json.loads(report.read_text(encoding="utf-8"))
    if not data.get("published"):
        failed = [c for c in data.get("checks", []) if not c.get("passed")]
        detail = " ; ".join(f"{c['name']} {c['territory']} : {c['detail']}" for c in failed[:3])
        line = (
            f"NON PUBLIÉ : run {Path(run_dir).name} refusé par les contrôles, listes précédentes "
            f"conservées ({detail}) ; voir {Path(run_dir) / 'run_report.md'}"
        )
        return {"status": "blocked", "line": line, "run_dir": run_dir}
    if verdict.degraded:
        add_warnings(Path(run_dir), verdict.degraded)
        line = (
            f"PUBLIÉ AVEC AVERTISSEMENTS -> {run_dir} ; source(s) facultative(s) sur leur "
            f"dernier chargement réussi : {' ; '.join(verdict.degraded)}"
        )
        return {"status": "degraded", "line": line, "run_dir": run_dir}
    return {"status": "published", "line": f"PUBLIÉ -> {run_dir}", "run_dir": run_dir}


def _final(done: dict[str, Any]) -> dict[str, Any] | State:
    """A run that did not publish ends in a Failed flow state (a deployment shows it as
    not OK) carrying the exception the caller gets, without a traceback in the logs."""
    outcome = done["outcome"]
    if outcome["status"] == "blocked":
        return Failed(message=outcome["line"], data=PublicationBlocked(outcome["line"], done))
    if outcome["status"] == "failed":
        return Failed(message=outcome["line"], data=RunNotPublished(outcome["line"], done))
    return done


@flow(name="nightly", log_prints=True)
def nightly_flow(
    config: str | None = None,
    as_of: str | None = None,
    territory: str = "all",
    sources: list[str] | None = None,
    horizon_months: int | None = None,
    top_n: int | None = None,
    retrain: bool = False,
) -> dict[str, Any] | State:
    """Refresh sources, rescore, republish; a rerun resumes at the first unfinished stage.
    `retrain`: train the model even when a recent one could be reused."""
    return _final(
        _run_chain(
            "nightly",
            ["ingest", "score", "publish"],
            config=config,
            as_of=as_of,
            territory=territory,
            sources=sources,
            horizon_months=horizon_months,
            top_n=top_n,
            resume=True,
            retrain=retrain,
        )
    )


@flow(name="territory-rerun", log_prints=True)
def territory_rerun_flow(
    territory: str,
    config: str | None = None,
    as_of: str | None = None,
    top_n: int | None = None,
    horizon_months: int | None = None,
) -> dict[str, Any] | State:
    """An analyst's rerun of one territory on the current warehouse: score → publish."""
    return _final(
        _run_chain(
            RERUN_FLOW,
            ["score", "publish"],
            config=config,
            as_of=as_of,
            territory=territory,
            sources=None,
            horizon_months=horizon_months,
            top_n=top_n,
            resume=False,
        )
    )


def summary_line(result: dict[str, Any]) -> str:
    """One line for the terminal (French): stages done or reused, and where the lists are."""
    from ciblage.outcome import status_fr

    stages = ", ".join(
        f"{name} {status_fr(info['status'])}"
        + (f" ({fmt_seconds(info['seconds'])})" if "seconds" in info else "")
        for name, info in result.get("stages", {}).items()
    )
    pub = result.get("publish") or {}
    where = pub.get("run_dir") or "rien de nouveau publié"
    return f"run {result.get('run_id')} : {stages} ; sortie : {where}"
