"""The sample chain: the generator's ledger is imported at publication, the lists show the
cool-downs, and the impact report renders from the published site."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.config import Settings
from ciblage.publish.target_files import read_targets

pytestmark = pytest.mark.e2e


def test_publication_imports_sample_ledger_and_writes_report(
    published_dir: Path, scored_settings: Settings, sample_dir: Path
) -> None:
    ledger = sample_dir / "promotions" / "promotions_sample.csv"
    n_rows = sum(1 for _ in ledger.open(encoding="utf-8-sig")) - 1
    with duckdb.connect(str(scored_settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM promotion").fetchall() == [(n_rows,)]
        (n_cool,) = con.execute("SELECT count(*) FROM promotion_cooldown").fetchall()[0]
        (n_scored,) = con.execute(
            "SELECT count(*) FROM promotion p WHERE EXISTS (SELECT 1 FROM score_etablissement s"
            " WHERE s.siret = p.siret AND s.as_of <= p.date_promotion)"
        ).fetchall()[0]
    assert n_cool >= 3
    synthese = (published_dir / "impact" / "synthese.csv").read_text(encoding="utf-8-sig")
    assert synthese.splitlines()[1].startswith(f"ensemble;{n_rows};")
    bands = pl.read_csv(
        published_dir / "impact" / "par_potentiel.csv", separator=";", decimal_comma=True
    )
    known = bands.filter((pl.col("perimetre") == "ensemble") & (pl.col("potentiel") != "inconnu"))
    assert int(known["promotions"].sum()) == n_scored


def test_lists_flag_companies_in_cooldown(published_dir: Path, scored_settings: Settings) -> None:
    targets = read_targets(published_dir)
    with duckdb.connect(str(scored_settings.warehouse), read_only=True) as con:
        paused = con.execute(
            "SELECT agency_code, siret, code_rome FROM promotion_cooldown"
        ).fetchall()
    agency_lists = targets.filter(pl.col("territory_level") == "agence")
    expected = {
        (a, s, r)
        for a, s, r in agency_lists.select("territory_code", "siret", "code_rome").iter_rows()
        if (a, s, None) in paused or (a, s, r) in paused
    }
    flagged = agency_lists.filter(pl.col("in_cooldown"))
    assert set(flagged.select("territory_code", "siret", "code_rome").iter_rows()) == expected
    assert all("en pause jusqu'au" in r for r in flagged["cooldown_reason"])
    assert not targets.filter(pl.col("territory_level") != "agence")["in_cooldown"].any()


@pytest.mark.browser
def test_impact_report_renders_from_the_site(published_dir: Path, chromium) -> None:  # noqa: ANN001
    page = chromium.new_page()
    page.goto((published_dir / "site" / "index.html").as_uri())
    page.click("text=Rapport d'impact des promotions")
    assert page.url.endswith("impact/index.html")
    assert page.inner_text("h1") == "Impact des promotions"
    assert int(page.inner_text("#kpi-promotions").replace("\u202f", "")) > 500
    assert page.locator("[data-testid=table-agences] tbody tr").count() >= 10
    assert "potentiel" in page.inner_text("[data-testid=band-finding]")
    page.locator("[data-testid=table-agences] a").first.click()
    assert "/impact/agences/" in page.url
    assert page.locator("img.plot").first.evaluate("img => img.naturalWidth > 0")
    page.close()
