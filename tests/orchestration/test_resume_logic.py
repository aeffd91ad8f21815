"""Resume rules of the nightly flow, with small stand-in stage flows (fast, in-process).

The real stages are exercised by test_nightly_e2e.py; here each stand-in counts its
calls and writes to the warehouse, so that reuse decisions are visible and cheap.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orch_fixtures import install_stage_flows
from prefect import flow

from ciblage.warehouse import session

CALLS: list[str] = []


@flow(name="ingest")
def fake_ingest(config: str | None = None, sources=None, as_of=None) -> dict:
    CALLS.append("ingest")
    return {"tables": 1}


@flow(name="score")
def fake_score(
    config=None, as_of=None, horizon_months=None, territory="all", retrain=False
) -> dict:
    CALLS.append("score --retrain" if retrain else "score")
    if Path(config).with_name("fail-score").exists():
        raise RuntimeError("score failed on purpose")
    return {"scored": 10}


@flow(name="publish")
def fake_publish(config=None, as_of=None, territory="all", top_n=None, out_dir=None) -> dict:
    CALLS.append("publish")
    run_dir = Path(config).parent / "out" / "runs" / "p"
    if Path(config).with_name("block-publish").exists():  # what publish_run writes on refusal
        run_dir.mkdir(parents=True, exist_ok=True)
        check = {"name": "scored_establishments", "territory": "dep:45", "passed": False}
        report = {"published": False, "checks": [{**check, "detail": "20 now vs 40"}]}
        (run_dir / "run_report.json").write_text(json.dumps(report))
    return {"run_id": "p", "run_dir": str(run_dir)}


@pytest.fixture()
def fake_stages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    install_stage_flows(monkeypatch, fake_ingest, fake_score, fake_publish)
    CALLS.clear()
    src = tmp_path / "source.csv"
    src.write_text("a;b\n1;2\n")
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text(
        '[paths]\nwarehouse = "wh/c.duckdb"\noutput = "out"\n[run]\nas_of = "2026-11-01"\n'
        '[sources.hires_siret]\npath = "source.csv"\n'
    )
    return cfg


def test_rerun_resumes_at_first_failed_stage(fake_stages: Path, prefect_harness: None) -> None:
    from pipelines.nightly import nightly_flow

    cfg = str(fake_stages)
    fail = fake_stages.with_name("fail-score")
    fail.touch()
    with pytest.raises(RuntimeError, match="on purpose"):
        nightly_flow(config=cfg)
    assert CALLS == ["ingest", "score"]

    fail.unlink()
    second = nightly_flow(config=cfg)
    assert CALLS == ["ingest", "score", "score", "publish"]  # ingest not redone
    assert second["stages"]["ingest"]["status"] == "skipped"
    assert second["stages"]["score"]["status"] == "completed"
    assert second["publish"]["run_dir"].endswith("runs/p")

    third = nightly_flow(config=cfg)  # nothing changed: every stage reused
    assert CALLS[4:] == []
    assert {s["status"] for s in third["stages"].values()} == {"skipped"}

    assert third["publish"] == second["publish"]

    # a parameter change reruns from the stage it affects
    nightly_flow(config=cfg, top_n=10)
    assert CALLS[4:] == ["publish"]

    # a changed source file reruns everything
    fake_stages.with_name("source.csv").write_text("a;b\n1;2\n3;4\n")
    nightly_flow(config=cfg, top_n=10)
    assert CALLS[5:] == ["ingest", "score", "publish"]

    # `ciblage run --retrain`: a completed score stage does not stand for a training
    nightly_flow(config=cfg, top_n=10, retrain=True)
    assert CALLS[8:] == ["score --retrain", "publish"]

    with session(fake_stages.parent / "wh" / "c.duckdb", read_only=True) as con:
        statuses = con.execute(
            "SELECT status, count(*) FROM run_ledger WHERE step = 'run' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert statuses == [("completed", 5), ("failed", 1)]


def test_standalone_stage_run_prevents_reuse(fake_stages: Path, prefect_harness: None) -> None:
    from ciblage.ledger import ledger_step
    from pipelines.nightly import nightly_flow

    cfg = str(fake_stages)
    nightly_flow(config=cfg)
    # an analyst's standalone score run changed the scores since
    with ledger_step(
        fake_stages.parent / "wh" / "c.duckdb",
        run_id="analyst",
        flow="score",
        stage="score",
        step="model",
    ):
        pass
    result = nightly_flow(config=cfg)
    assert result["stages"]["ingest"]["status"] == "skipped"
    assert result["stages"]["score"]["status"] == "completed"
    assert CALLS == ["ingest", "score", "publish", "score", "publish"]


def test_territory_rerun_scores_only_when_its_scores_are_not_current(
    fake_stages: Path, prefect_harness: None
) -> None:
    """A rerun always publishes; it scores unless the last score stage already scored its
    territory for the same as-of, horizon, configuration and code, with no ingest since."""
    from pipelines.nightly import nightly_flow, territory_rerun_flow

    cfg = str(fake_stages)

    def rerun(**kw) -> list[str]:
        CALLS.clear()
        territory_rerun_flow(config=cfg, **kw)
        return list(CALLS)

    assert rerun(territory="dep:45") == ["score", "publish"]
    assert rerun(territory="dep:45") == ["publish"]  # same scores
    assert rerun(territory="dep:28") == ["score", "publish"]  # not scored yet
    assert rerun(territory="dep:45") == ["score", "publish"]  # dep:28's scoring came after
    assert rerun(territory="dep:45", as_of="2026-10-01") == ["score", "publish"]
    assert rerun(territory="dep:45", horizon_months=3) == ["score", "publish"]
    CALLS.clear()
    nightly_flow(config=cfg)  # ingests and scores all of France
    assert rerun(territory="dep:45") == ["publish"]
    assert rerun(territory="dep:28") == ["publish"]
    fake_stages.write_text(fake_stages.read_text() + "# edited\n")  # another configuration
    assert rerun(territory="dep:45") == ["score", "publish"]
    CALLS.clear()
    nightly_flow(config=cfg, sources=["hires_siret"])  # a new ingest
    assert rerun(territory="dep:45") == ["publish"]  # that run scored everything again
    with session(fake_stages.parent / "wh" / "c.duckdb", read_only=False) as con:
        rows = con.execute(
            "SELECT status, params FROM run_ledger WHERE flow = 'territory-rerun' "
            "AND stage = 'score' ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
    assert rows[0][0] == "skipped" and json.loads(rows[0][1])["reused_from"]


def test_gate_refusal_fails_the_run(fake_stages: Path, prefect_harness: None) -> None:
    from pipelines.nightly import PublicationBlocked, nightly_flow

    fake_stages.with_name("block-publish").touch()
    with pytest.raises(PublicationBlocked, match=r"NON PUBLIÉ.*dep:45 : 20 now vs 40"):
        nightly_flow(config=str(fake_stages))
