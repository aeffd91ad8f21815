"""Damaged source files through the CLI, on the sample: exit code, last line, status,
run report (which data is old, since when) and `latest` say what happened (a failed
required source is never published as a success; a failed optional one publishes, marked
degraded)."""

from __future__ import annotations

import html
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from orch_fixtures import clone_config
from typer.testing import CliRunner

from ciblage.config import load_settings
from ciblage.freshness import source_notices
from ciblage.outcome import EXIT_DEGRADED, EXIT_NOT_PUBLISHED
from ciblage.runs import latest_run_dir
from ciblage.status import collect_status


def _point(cfg: Path, source: str, path: Path) -> None:
    text = cfg.read_text(encoding="utf-8")
    text, n = re.subn(
        rf'(\[sources\.{source}\]\s*\npath\s*=\s*)"[^"]*"', rf'\g<1>"{path.as_posix()}"', text
    )
    assert n == 1
    cfg.write_text(text, encoding="utf-8")


def _run(cfg: Path) -> tuple[int, str]:
    from ciblage.cli import app

    res = CliRunner().invoke(app, ["run", "-c", str(cfg)])
    return res.exit_code, res.stdout.strip().splitlines()[-1]


@pytest.mark.e2e
@pytest.mark.slow
def test_damaged_sources_through_the_cli(nightly_work: dict, tmp_path: Path) -> None:
    # a copy of the published nightly (warehouse, runs, `latest`) to damage
    src_work = Path(nightly_work["config"]).parent
    work = tmp_path / "work"
    shutil.copytree(src_work, work, symlinks=True)
    cfg = clone_config(Path(nightly_work["config"]), work)
    settings = load_settings(cfg)
    published = latest_run_dir(settings)
    assert published is not None

    # required: a truncated SIRENE zip
    good = settings.sources["sirene_etablissement"].path
    bad = tmp_path / "StockEtablissement_utf8.zip"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _point(cfg, "sirene_etablissement", bad)
    code, last = _run(cfg)
    assert code == EXIT_NOT_PUBLISHED
    assert last.startswith("NON PUBLIÉ : source(s) obligatoire(s) en échec : sirene_etablissement")
    assert f"listes précédentes ({published.name}) conservées" in last
    assert latest_run_dir(settings) == published
    run = collect_status(settings.warehouse, last=1)[0]
    assert run["status"] == "failed" and run["stages"]["ingest"]["status"] == "failed"
    assert "score" not in run["stages"]
    report = (settings.output / "runs" / run["run_id"] / "run_report.md").read_text()
    assert "NON PUBLIÉ" in report and "sirene_etablissement" in report
    # which data is old and since when, in French (ciblage/freshness.py)
    today = date.today().strftime("%d/%m/%Y")
    stale = f"Données SIRENE (établissements) du {today} : le chargement du {today} a échoué"
    assert f"## Données anciennes\n\n- {stale}" in report
    assert run["stale_sources"] == [stale]

    # optional: DPAE export with the wrong separator; SIRENE repaired
    _point(cfg, "sirene_etablissement", good)
    dpae = tmp_path / "dpae.csv"
    text = settings.sources["dpae_departement"].path.read_text(encoding="utf-8")
    dpae.write_text(text.replace(";", ","), encoding="utf-8")
    _point(cfg, "dpae_departement", dpae)
    code, last = _run(cfg)
    assert code == EXIT_DEGRADED, last
    assert last.startswith("PUBLIÉ AVEC AVERTISSEMENTS") and "dpae_departement en échec" in last
    new = latest_run_dir(settings)
    assert new != published
    run = collect_status(settings.warehouse, last=1)[0]
    assert run["status"] == "degraded"
    report = (new / "run_report.md").read_text()
    assert "PUBLIÉ AVEC AVERTISSEMENTS" in report and "dpae_departement" in report
    stale = f"Données DPAE par département du {today} : le chargement du {today} a échoué"
    assert f"## Données anciennes\n\n- {stale}" in report
    assert run["stale_sources"] == [stale]
    assert source_notices(new) == [stale]  # sources.json, for the site header
    pages = [new / "site" / "index.html", next((new / "site" / "agences").rglob("*.html"))]
    for page in pages:  # every page's header says which data is old
        assert stale in html.unescape(page.read_text(encoding="utf-8")), page
