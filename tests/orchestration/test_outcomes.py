"""Honest run outcomes: a failed source never looks like a success.

Stand-in stage flows (fast, in-process, as in test_resume_logic.py) return the ingest
summaries the real flow returns for a failed required source, a failed optional one,
and a clean load; the tests check exit code, last line, ledger status, run report and
`latest`, through the flow and through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orch_fixtures import install_stage_flows
from prefect import flow
from typer.testing import CliRunner

from ciblage.config import load_settings
from ciblage.gates import GateReport
from ciblage.ingest.specs import SPECS
from ciblage.outcome import EXIT_DEGRADED, EXIT_NOT_PUBLISHED, RunNotPublished, judge_sources
from ciblage.runs import latest_run_dir
from ciblage.status import collect_status

CALLS: list[str] = []
INGEST: dict = {}  # source -> (status, message) the stand-in ingest reports
COVERAGE: list[str] = []  # after-features coverage failures the stand-in score reports


def damage(cfg: Path, source: str, status: str, message: str) -> None:
    """The stand-in ingest reports `status` for `source`, whose file changes (as a
    damaged file would: a run never reuses an ingest whose inputs changed)."""
    INGEST[source] = (status, message)
    (cfg.parent / f"{source}.csv").write_text(f"{status} {message}\n")


def _summary() -> dict:
    sources = {name: {"status": "loaded", "message": ""} for name in ("ref_naf", "offres")}
    sources.update({n: {"status": s, "message": m} for n, (s, m) in INGEST.items()})
    return {"run_id": "i", "sources": sources, "failed": []}


@flow(name="ingest")
def fake_ingest(config=None, sources=None, as_of=None) -> dict:
    CALLS.append("ingest")
    return _summary()


@flow(name="score")
def fake_score(config=None, as_of=None, horizon_months=None, territory="all") -> dict:
    CALLS.append("score")
    return {"scored": 10, "coverage_failed": list(COVERAGE)}


@flow(name="publish")
def fake_publish(config=None, as_of=None, territory="all", top_n=None, out_dir=None) -> dict:
    """Writes what `publish_run` writes for a published run, and switches `latest`."""
    from ciblage.runs import create_run_dir, run_id_for, switch_latest

    CALLS.append("publish")
    settings = load_settings(config)
    run_dir = create_run_dir(settings, run_id_for(settings.as_of))
    GateReport(run_dir.name, str(run_dir), None, published=True).write(run_dir)
    switch_latest(settings, run_dir)
    return {"run_id": run_dir.name, "run_dir": str(run_dir), "published": True}


def full_config(path: Path, extra: str = "") -> Path:
    """Every required source configured (files need not exist for the stand-ins)."""
    lines = ['[paths]\nwarehouse = "wh/c.duckdb"\noutput = "out"\n[run]\nas_of = "2026-11-01"']
    lines += [f'[sources.{s.name}]\npath = "{s.name}.csv"' for s in SPECS if s.required]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


@pytest.fixture()
def stand_ins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    install_stage_flows(monkeypatch, fake_ingest, fake_score, fake_publish)
    CALLS.clear()
    INGEST.clear()
    COVERAGE.clear()
    dpae = '[sources.dpae_departement]\npath = "dpae_departement.csv"\n'
    return full_config(tmp_path / "ciblage.toml", dpae)


def test_judge_sources_splits_required_and_optional() -> None:
    summary = {
        "sources": {
            "sirene_etablissement": {"status": "failed", "message": "missing column siret"},
            "dpae_departement": {"status": "stale", "message": "newest quarter 2025-03-31"},
            "hires_siret": {"status": "missing", "message": "not configured"},
            "ref_naf": {"status": "unchanged", "message": ""},
        }
    }
    v = judge_sources(summary, configured={"sirene_etablissement", "dpae_departement"})
    assert v.status == "failed"
    assert v.failed_required == ["sirene_etablissement en échec (missing column siret)"]
    # hires_siret is not configured: a deployment choice, not a degradation
    assert v.degraded == ["dpae_departement périmée (newest quarter 2025-03-31)"]
    assert judge_sources({"sources": {}}).status == "completed"


def test_required_source_failure_stops_before_scoring(stand_ins: Path, prefect_harness) -> None:
    from pipelines.nightly import nightly_flow

    settings = load_settings(stand_ins)
    nightly_flow(config=str(stand_ins))  # a good run publishes first
    published = latest_run_dir(settings)
    damage(stand_ins, "sirene_etablissement", "failed", "x.zip row 12: missing column 'siret'")
    with pytest.raises(
        RunNotPublished, match=r"NON PUBLIÉ : source\(s\) obligatoire\(s\) en échec.*siret"
    ) as err:
        nightly_flow(config=str(stand_ins))
    assert CALLS == ["ingest", "score", "publish", "ingest"]  # no ranking on stale SIRENE
    assert latest_run_dir(settings) == published  # the previous lists stay
    report = Path(err.value.result["outcome"]["run_dir"]) / "run_report.md"
    text = report.read_text()
    assert "NON PUBLIÉ" in text and "en échec : 1" in text and "sirene_etablissement" in text
    runs = collect_status(settings.warehouse, last=2)
    assert runs[0]["status"] == "failed" and runs[0]["stages"]["ingest"]["status"] == "failed"
    assert "sirene_etablissement" in runs[0]["error"]
    # the next run tries the failed ingest again instead of reusing it
    INGEST.clear()
    nightly_flow(config=str(stand_ins))
    assert CALLS[4:] == ["ingest", "score", "publish"]


def test_a_source_filling_no_feature_publishes_degraded(stand_ins: Path, prefect_harness) -> None:
    """Rows loaded but (almost) no establishment informed: the run says so (exit 3)."""
    from pipelines.nightly import nightly_flow

    COVERAGE.append("dpae: 0.0 % of establishments informed (bound 50 %)")
    outcome = nightly_flow(config=str(stand_ins))["outcome"]
    assert outcome["status"] == "degraded" and "dpae: 0.0 %" in outcome["line"]
    report = json.loads((Path(outcome["run_dir"]) / "run_report.json").read_text())
    assert report["published"] and "couverture des variables" in report["warnings"][0]


def test_optional_source_failure_publishes_degraded(stand_ins: Path, prefect_harness) -> None:
    from pipelines.nightly import nightly_flow

    damage(stand_ins, "dpae_departement", "failed", "not UTF-8 at byte 1204")
    INGEST["hires_siret"] = ("missing", "optional source not configured")  # not configured
    result = nightly_flow(config=str(stand_ins))
    outcome = result["outcome"]
    assert outcome["status"] == "degraded" and "dpae_departement" in outcome["line"]
    assert "hires_siret" not in outcome["line"]
    run_dir = Path(outcome["run_dir"])
    assert latest_run_dir(load_settings(stand_ins)) == run_dir.resolve()
    report = json.loads((run_dir / "run_report.json").read_text())
    assert report["published"] and "not UTF-8" in report["warnings"][0]
    md = (run_dir / "run_report.md").read_text()
    assert "PUBLIÉ AVEC AVERTISSEMENTS" in md and "avertissements sur les données : 1" in md
    runs = collect_status(load_settings(stand_ins).warehouse, last=1)
    assert runs[0]["status"] == "degraded"


def _cli(cfg: Path) -> tuple[int, list[str]]:
    from ciblage.cli import app

    res = CliRunner().invoke(app, ["run", "-c", str(cfg)])
    return res.exit_code, res.output.strip().splitlines()


def test_cli_exit_codes_and_last_line(stand_ins: Path, prefect_harness) -> None:
    code, lines = _cli(stand_ins)
    assert code == 0 and lines[-1].startswith("PUBLIÉ -> ")
    damage(stand_ins, "dpae_departement", "stale", "newest quarter 2025-03-31")
    code, lines = _cli(stand_ins)
    assert code == EXIT_DEGRADED and lines[-1].startswith("PUBLIÉ AVEC AVERTISSEMENTS")
    damage(stand_ins, "ref_naf", "failed", "naf_data.sql: unexpected end of file")
    code, lines = _cli(stand_ins)
    assert code == EXIT_NOT_PUBLISHED
    assert lines[-1].startswith("NON PUBLIÉ : source(s) obligatoire(s) en échec : ref_naf en échec")
    assert "conservées" in lines[-1]


def test_deployed_flow_refuses_a_misspelt_source(stand_ins: Path, prefect_harness) -> None:
    """A deployment does not go through the CLI: the flow checks source names itself."""
    from ciblage.config import ConfigError
    from pipelines.nightly import nightly_flow

    stand_ins.write_text(stand_ins.read_text() + '[sources.sirene_etablissements]\npath = "x"\n')
    with pytest.raises(ConfigError, match="vouliez-vous dire 'sirene_etablissement'"):
        nightly_flow(config=str(stand_ins))
    assert CALLS == []


def _plain_stage(monkeypatch: pytest.MonkeyPatch, module: str, attr: str, fn) -> None:
    """A stage flow replaced by a plain function: the CLI path without Prefect."""
    import sys
    import types

    mod = types.ModuleType(f"pipelines.{module}")
    setattr(mod, attr, fn)
    monkeypatch.setitem(sys.modules, f"pipelines.{module}", mod)


def test_ingest_and_publish_commands_exit_codes(monkeypatch, tmp_path: Path) -> None:
    from ciblage.cli import app

    cfg = full_config(tmp_path / "ciblage.toml", '[sources.sirene_geoloc]\npath = "g.zip"\n')
    counts = {"rows_read": 1, "rows_loaded": 1, "rows_quarantined": 0, "seconds": 0.1}
    statuses: dict[str, str] = {"ref_naf": "loaded"}

    def ingest(**_: object) -> dict:
        sources = {n: {**counts, "status": s, "message": "x"} for n, s in statuses.items()}
        return {"run_id": "r", "sources": sources, "failed": []}

    _plain_stage(monkeypatch, "ingest", "ingest_flow", ingest)
    assert CliRunner().invoke(app, ["ingest", "-c", str(cfg)]).exit_code == 0
    statuses["sirene_geoloc"] = "failed"
    res = CliRunner().invoke(app, ["ingest", "-c", str(cfg)])
    assert res.exit_code == EXIT_DEGRADED and "ingest r DÉGRADÉ : " in res.stdout
    statuses["sirene_unite_legale"] = "failed"
    res = CliRunner().invoke(app, ["ingest", "-c", str(cfg)])
    assert res.exit_code == EXIT_NOT_PUBLISHED and "ingest r ÉCHEC : " in res.stdout

    published = {"value": False}

    def publish(**_: object) -> dict:
        return {
            "lists": 1,
            "rows": 1,
            "agencies": 1,
            "as_of": "2026-11-01",
            "run_dir": "d",
            "published": published["value"],
        }

    _plain_stage(monkeypatch, "publish", "publish_flow", publish)
    res = CliRunner().invoke(app, ["publish", "-c", str(cfg)])
    assert res.exit_code == EXIT_NOT_PUBLISHED and "NON publiées (voir run_report.md)" in res.stdout
    published["value"] = True
    assert CliRunner().invoke(app, ["publish", "-c", str(cfg)]).exit_code == 0
