"""Coverage checks: a source that loads rows but informs no establishment is a critical
data-quality failure (dq_result, run ledger, quality report, `ciblage status`)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ciblage import formats
from ciblage.config import load_settings
from ciblage.outcome import judge_sources
from ciblage.quality.coverage import EXPECTATION, bounds, measure_coverage
from ciblage.quality.report import render_quality_report
from ciblage.status import collect_status
from pipelines.ingest import coverage_task
from scoring.features import SnapshotSpec, build_features, ensure_optional_tables

from .conftest import Loader
from .files import AS_OF, dpae_series
from .test_dpae import CA, DEP_SECTORS, GZ, _dep, _establishments, _reg, _write


def _by_source(cov: list) -> dict:
    return {c.source: c for c in cov}


def test_bounds_defaults_and_overrides() -> None:
    b = bounds({"offres": 0.2})
    assert b["offres"] == 0.2 and b["dpae_departement"] == 0.5
    with pytest.raises(ValueError, match="source inconnue"):
        bounds({"dpae": 0.1})


def test_after_load_and_after_features(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    """Healthy exports: 2 of the 3 establishments (not the farm) informed at both stages;
    sources without rows are measured but not judged."""
    _establishments(tmp_path, load)
    assert load("dpae_departement", _dep(tmp_path, DEP_SECTORS)).status == "loaded"
    assert load("dpae_region_na38", _reg(tmp_path, {CA: 300, GZ: 800})).status == "loaded"
    cov = _by_source(measure_coverage(wh, "t1", AS_OF, "ingest", bounds(None)))
    assert (cov["dpae_departement"].informed, cov["dpae_departement"].population) == (2, 3)
    assert cov["dpae_region_na38"].share == pytest.approx(2 / 3)
    assert all(c.success for c in cov.values())
    assert not cov["offres"].judged and not cov["hires_siret"].judged
    ensure_optional_tables(wh)
    build_features(wh, AS_OF, SnapshotSpec(6), "_f", "TRUE")
    wh.execute("CREATE TABLE feature_etablissement AS SELECT * FROM _f")
    cov = _by_source(measure_coverage(wh, "t1", AS_OF, "features", bounds(None)))
    assert cov["dpae_departement"].informed == 2 and cov["dpae_region_na38"].informed == 2
    stages = wh.execute(
        "SELECT stage, count(*) FROM source_coverage WHERE run_id = 't1' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert stages == [("features", 5), ("ingest", 5)]


def test_rows_that_inform_nobody_are_a_critical_failure(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    """A DPAE export for another département loads fine and informs none of the (Loiret)
    establishments: critical dq_result, failed ledger step, report and status say so."""
    _establishments(tmp_path, load)
    rows = [
        {**r, "code_departement": "27", "departement": "Eure"}
        for r in dpae_series({"GS1 Industrie": 10, "GS3 Commerce": 10})
    ]
    path = _write(tmp_path / "eure.csv", rows, formats.DPAE_DEPARTEMENT_FIELDS, False)
    r = load("dpae_departement", path, run_id="cov")
    assert (r.status, r.rows_loaded) == ("loaded", 32)  # loads fine ...
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text(f'[paths]\nwarehouse = "w.duckdb"\n[run]\nas_of = "{AS_OF}"\n')
    sources = {"dpae_departement": r.as_dict()}
    failed = coverage_task.fn(wh, load_settings(cfg), "cov", sources)  # the ingest flow's step
    assert [f["source"] for f in failed] == ["dpae_departement"]
    dpae = _by_source(measure_coverage(wh, "cov", AS_OF, "ingest", bounds(None)))[
        "dpae_departement"
    ]
    assert dpae.judged and dpae.informed == 0 and not dpae.success  # ... informs nobody
    summary = {"sources": sources}
    verdict = judge_sources(summary)  # what `ciblage ingest` / `run` end with
    assert verdict.status == "degraded"
    assert "dpae_departement renseigne 0.0 % des établissements" in (verdict.message() or "")
    dq = wh.execute(
        "SELECT success, critical, observed FROM dq_result WHERE run_id = 'cov' "
        "AND expectation = ? AND source = 'dpae_departement'",
        [EXPECTATION],
    ).fetchall()
    assert dq == [(False, True, dpae.describe(french=True))]
    html = render_quality_report(wh, "cov", tmp_path / "q.html").read_text(encoding="utf-8")
    assert 'id="coverage-table"' in html and "sous le seuil" in html
    assert "uninformative" in html
    path = wh.execute(
        "SELECT file FROM pragma_database_list WHERE name = current_database()"
    ).fetchone()[0]
    wh.close()
    run = next(x for x in collect_status(path) if x["run_id"] == "cov")
    assert run["status"] == "failed" and "dpae_departement" in run["error"]
    assert "dpae_departement 0 % SOUS LE SEUIL" in run["coverage"]


def test_nothing_judged_records_nothing(tmp_path: Path) -> None:
    """A small territory's rerun may judge no source (no rows or no establishment in
    scope): the quality results get no row, and the score stage goes on (DuckDB refuses
    an executemany without parameter sets)."""
    from ciblage.quality.coverage import Coverage, _record_dq

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    unjudged = Coverage("features", "offres", "etablissements", 0, 0, 0.0, 0, 0.2)
    _record_dq(con, "r1", [unjudged])
    _record_dq(con, "r1", [])
    assert con.execute("SELECT count(*) FROM dq_result").fetchall() == [(0,)]
    judged = Coverage("features", "offres", "etablissements", 10, 5, 0.5, 7, 0.2)
    _record_dq(con, "r1", [unjudged, judged])
    assert con.execute("SELECT source, success FROM dq_result").fetchall() == [("offres", True)]
