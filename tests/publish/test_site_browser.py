"""The static site as a counselor sees it, rendered in headless Chromium (the scans of the
output files for non-diffusible establishments are in test_privacy.py, not browser-marked)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.publish import synthetic as syn
from tests.publish.browser import chromium_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def run_dir(synth_published) -> Path:
    return Path(synth_published["run_dir"])


def _visible_rows(page, table: str = "#liste") -> list:
    return [r for r in page.query_selector_all(f"{table} tbody tr") if r.is_visible()]


def _col(page, index: int) -> list[str]:
    return [r.query_selector_all("td")[index].inner_text().strip() for r in _visible_rows(page)]


def test_index_agency_list_and_fiche(run_dir):
    targets = pl.read_parquet(run_dir / "targets.parquet").filter(
        pl.col("territory_level") == "agence"
    )
    with chromium_page() as page:
        page.goto((run_dir / "site" / "index.html").as_uri())
        assert "Listes d'entreprises par agence" in page.inner_text("h1")
        names = page.locator("#agences tbody td:nth-child(2)").all_inner_texts()
        assert sorted(names) == sorted(b[1] for b in syn.BASSINS)

        page.click("text=Orléans")
        assert page.inner_text("h1").startswith("Orléans")
        agency = targets.filter(pl.col("territory_code") == "2420")
        romes = page.locator("#metiers tbody td:first-child").all_inner_texts()
        assert sorted(romes) == sorted(agency["code_rome"].unique())
        assert page.inner_text("#compteur") == f"{len(romes)} métiers affichés"
        located = agency.filter(pl.col("latitude").is_not_null())["siret"].n_unique()
        assert page.locator("svg.carte circle").count() == located < agency["siret"].n_unique()

        page.click("#metiers >> text=Personnel de cuisine")
        assert "(G1602)" in page.inner_text("h1")
        lst = agency.filter(pl.col("code_rome") == "G1602").sort("rank")
        assert _col(page, 0) == [str(r) for r in lst["rank"]]
        assert page.inner_text("#compteur") == f"{lst.height} entreprises affichées"

        # sorting: click « Potentiel » twice (ascending, then descending)
        page.click("#liste th:has-text('Potentiel')")
        pots = [int(x) for x in _col(page, 5)]
        assert pots == sorted(pots)
        page.click("#liste th:has-text('Potentiel')")
        pots = [int(x) for x in _col(page, 5)]
        assert pots == sorted(pots, reverse=True)
        page.click("#liste th:has-text('Entreprise')")
        assert _col(page, 1)[0].startswith("Claire MARTIN")  # alphabetical, accents folded

        # filtering: free text (accent-insensitive) and minimum potential
        page.fill("#filtre", "claire")
        assert len(_visible_rows(page)) == 1
        assert page.inner_text("#compteur") == "1 entreprise affichée"
        page.fill("#filtre", "")
        page.fill("#potentiel-min", "50")
        shown = [int(x) for x in _col(page, 5)]
        assert shown and min(shown) >= 50
        assert len(shown) == lst.filter(pl.col("hiring_potential") >= 50).height

        # the fiche shows the reasons and the hiring aids
        first = lst.row(0, named=True)
        page.fill("#potentiel-min", "0")
        page.click(f"#liste a[href='fiches/{first['siret']}.html']")
        assert page.inner_text("h1") == first["name"]
        reasons = page.locator(".raisons li").all_inner_texts()
        assert reasons == first["reasons"]
        aids = page.inner_text(".aides-fiche")
        assert "Immersion professionnelle (PMSMP)" in aids and "Pourquoi" in aids
        assert first["siret"] in page.inner_text("dl")


def test_public_employer_fiche_shows_pec(run_dir):
    with chromium_page() as page:
        fiche = run_dir / "site" / "agences" / "2420" / "fiches" / f"{syn.PUBLIC}.html"
        page.goto(fiche.as_uri())
        aids = page.inner_text(".aides-fiche")
        assert "Parcours emploi compétences" in aids and "employeur public" in aids
        assert "Emplois francs" not in aids  # private employers only


def test_impact_report_linked_and_renders(run_dir):
    """The follow-up's impact report (written in the same run) opens from the site index."""
    with chromium_page() as page:
        page.goto((run_dir / "site" / "index.html").as_uri())
        page.click("text=Rapport d'impact des promotions")
        assert page.url.endswith("/impact/index.html")
        assert "Impact des promotions" in page.inner_text("h1")
