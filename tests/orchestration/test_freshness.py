"""Stale sources said in French, from `source_load`: which data is kept, from when, what
happened to the new load (site header, run report, `ciblage status`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from ciblage.freshness import SOURCES_FILE, source_notices, stale_sources, write_sources_note
from ciblage.warehouse import run_sql_file


def _load(
    con: duckdb.DuckDBPyConnection, source: str, day: str, status: str, run: str, message: str = ""
) -> None:
    con.execute(
        "INSERT INTO source_load (source, loaded_at, status, run_id, message) "
        "VALUES (?, ?, ?, ?, ?)",
        [source, datetime.fromisoformat(day), status, run, message],
    )


@pytest.fixture()
def wh(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    run_sql_file(con, "source_load")
    _load(con, "sirene_etablissement", "2026-10-01 02:00", "loaded", "r1")
    _load(con, "sirene_etablissement", "2026-11-01 02:00", "unchanged", "r2")
    _load(con, "sirene_etablissement", "2026-11-26 02:00", "failed", "r3", "truncated zip")
    _load(con, "sirene_etablissement", "2026-11-27 02:00", "failed", "r4", "truncated zip")
    _load(con, "dpae_departement", "2026-11-27 02:00", "stale", "r4", "newest quarter 2025")
    _load(con, "hires_siret", "2026-11-27 02:00", "missing", "r4", "optional source not configured")
    _load(con, "offres", "2026-11-27 02:00", "loaded", "r4")
    return con


def test_stale_sources_say_which_data_and_since_when(wh: duckdb.DuckDBPyConnection) -> None:
    items = {i["source"]: i for i in stale_sources(wh)}
    assert set(items) == {"sirene_etablissement", "dpae_departement"}  # not the unconfigured
    assert items["sirene_etablissement"]["notice_fr"] == (
        "Données SIRENE (établissements) du 01/10/2026 : le chargement du 27/11/2026 a échoué "
        "(en échec depuis le 26/11/2026)"
    )
    assert items["dpae_departement"]["notice_fr"] == (
        "Données DPAE par département absentes : le fichier reçu le 27/11/2026 est trop ancien "
        "et n'a pas été chargé"
    )
    # one run's view: r3 had only the first failure
    (r3,) = stale_sources(wh, run_ids=["r3"])
    assert r3["notice_fr"].endswith("le chargement du 26/11/2026 a échoué")
    assert stale_sources(wh, run_ids=["r2"]) == []
    assert [i["source"] for i in stale_sources(wh, configured={"dpae_departement"})] == [
        "dpae_departement"
    ]


def test_sources_note_written_read_and_removed(
    wh: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    settings = SimpleNamespace(sources={"dpae_departement": None}, warehouse=None)
    run = tmp_path / "run"
    run.mkdir()
    note = write_sources_note(settings, run, con=wh)
    assert note is not None and (run / SOURCES_FILE).is_file()
    notices = source_notices(run)
    assert len(notices) == 2 and notices[0].startswith("Données DPAE par département")
    assert notices[1].startswith("Données SIRENE (établissements) du 01/10/2026")  # required
    _load(wh, "sirene_etablissement", "2026-11-28 02:00", "loaded", "r5")
    _load(wh, "dpae_departement", "2026-11-28 02:00", "loaded", "r5")
    assert write_sources_note(settings, run, con=wh) is None
    assert not (run / SOURCES_FILE).exists() and source_notices(run) == []
    assert source_notices(None) == []


def _page(**ctx: object) -> str:
    from ciblage.publish.site import _env

    page = _env().from_string('{% extends "base.html.j2" %}{% block title %}t{% endblock %}')
    return page.render(root="", as_of_fr="01/11/2026", generated="g", run_id="r", **ctx)


def test_site_header_shows_the_notices_and_tolerates_their_absence() -> None:
    """Every page extends base.html.j2: a `source_notices` key shows the stale sources in
    the header block; without it (publish.py not wired yet, or a clean run) nothing shows."""
    notice = "Données SIRENE (établissements) du 01/10/2026 : le chargement du 27/11/2026 a échoué"
    html = _page(source_notices=[notice], model_notice=None)
    block = html.split('class="avertissement donnees-anciennes"')[1].split("</div>")[0]
    assert notice in block and "dernier chargement réussi" in block
    assert html.index("donnees-anciennes") < html.index("<main>") + 200  # top of the page
    assert "donnees-anciennes" not in _page(model_notice=None)
    assert "donnees-anciennes" not in _page(source_notices=[], model_notice=None)


def test_run_report_and_status_name_the_stale_source(settings_factory, make_run) -> None:
    """A run published while SIRENE failed to load: `run_report.md` says it in French
    (and reads « PUBLISHED WITH WARNINGS »), `sources.json` holds it for the site header,
    and `ciblage status` shows it on the run whose ingest failed."""
    from orch_fixtures import lists, scores, write_scores

    from ciblage.ledger import ledger_step
    from ciblage.runs import publish_run
    from ciblage.status import collect_status
    from ciblage.warehouse import session

    s = settings_factory()
    write_scores(s, scores())
    with session(s.warehouse) as con:
        run_sql_file(con, "source_load")
        _load(con, "sirene_etablissement", "2026-10-01 02:00", "loaded", "old")
        _load(con, "sirene_etablissement", "2026-11-27 02:00", "failed", "bad", "truncated zip")
    with ledger_step(s.warehouse, run_id="bad", flow="nightly", stage="ingest", step="stage"):
        pass
    run_dir = make_run(s, lists(scores()))
    report = publish_run(s, run_dir, None)
    assert report.published
    expected = (
        "Données SIRENE (établissements) du 01/10/2026 : le chargement du 27/11/2026 a échoué"
    )
    assert report.stale_sources == [expected]
    md = (run_dir / "run_report.md").read_text(encoding="utf-8")
    assert "PUBLIÉ AVEC AVERTISSEMENTS" in md and f"## Données anciennes\n\n- {expected}" in md
    assert source_notices(run_dir) == [expected]
    bad = next(r for r in collect_status(s.warehouse) if r["run_id"] == "bad")
    assert bad["stale_sources"] == [expected]
    from typer.testing import CliRunner

    from ciblage.cli import app

    res = CliRunner().invoke(app, ["status", "-c", str(s.config_path), "--wide"])
    assert res.exit_code == 0, res.output
    assert f"données anciennes : {expected}" in " ".join(res.output.split())
