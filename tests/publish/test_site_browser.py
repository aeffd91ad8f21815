"""The static site as a counselor sees it, rendered in headless Chromium (the scans of the
output files for non-diffusible establishments are in test_privacy.py, not browser-marked)."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from ciblage.publish.target_files import read_targets
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
    targets = read_targets(run_dir).filter(pl.col("territory_level") == "agence")
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
        # every company is on the map (commune centre when no precise point), drawn by
        # the vendored Leaflet; tiles refused here: the map says the background is missing
        n = agency["siret"].n_unique()
        page.wait_for_selector(".carte-leaflet path.leaflet-interactive")
        assert page.locator("svg.carte circle").count() == n
        assert page.locator("svg.carte circle.approx").count() >= 1  # PUBLIC: no coordinates
        assert page.locator(".carte-leaflet path.leaflet-interactive").count() == n
        page.wait_for_selector(".carte-note")
        assert "Fond de carte indisponible" in page.inner_text(".carte-note")
        _shot(page, "carte")

        page.click("#metiers >> text=Personnel de cuisine")
        page.wait_for_load_state("load")
        page.wait_for_selector(".carte-leaflet path.leaflet-interactive")
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
        # the map follows the filter
        assert page.locator(".carte-bloc").get_attribute("data-markers") == str(len(shown))
        assert page.locator(".carte-leaflet path.leaflet-interactive").count() == len(shown)

        # the fiche shows the reasons and the hiring aids
        first = lst.row(0, named=True)
        page.fill("#potentiel-min", "0")
        page.click(f"#liste a[href='fiche.html#{first['siret']}']")
        assert page.inner_text("h1") == first["name"]
        reasons = page.locator(".raisons li").all_inner_texts()
        assert reasons == first["reasons"]
        aids = page.inner_text(".aides-fiche")
        assert "Immersion professionnelle (PMSMP)" in aids and "Pourquoi" in aids
        assert first["siret"] in page.inner_text("dl")


def _fiche_uri(run_dir: Path, agency: str, siret: str) -> str:
    return (run_dir / "site" / "agences" / agency / "fiche.html").as_uri() + "#" + siret


def test_fiche_page_follows_the_address(run_dir):
    """One fiche page per agency draws any of its companies from the data files: another
    SIRET in the address shows that company, an unknown one says so."""
    targets = read_targets(run_dir).filter(
        pl.col("territory_level") == "agence", pl.col("territory_code") == "2420"
    )
    names = dict(targets.select("siret", "name").unique().iter_rows())
    with chromium_page() as page:
        for siret, name in sorted(names.items()):
            page.goto(_fiche_uri(run_dir, "2420", siret))
            assert page.inner_text("h1") == name
            assert siret in page.inner_text(".fiche")
        page.evaluate("window.location.hash = '#00000000000000'")
        assert "Entreprise introuvable" in page.inner_text("#fiche-page")


def test_public_employer_fiche_shows_pec(run_dir):
    with chromium_page() as page:
        page.goto(_fiche_uri(run_dir, "2420", syn.PUBLIC))
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


SHOTS = os.environ.get("CIBLAGE_SCREENSHOTS")  # a folder: save the pages for a human to look at


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_agency_search_by_commune_postcode_departement(run_dir):
    with chromium_page() as page:
        page.goto((run_dir / "site" / "index.html").as_uri())
        _shot(page, "index")
        for text, expected in (
            ("saint jean de braye", "2420"),
            ("45200", "2410"),
            ("eure", "2401"),
        ):
            page.fill("#filtre", text)
            codes = [r.query_selector("td").inner_text() for r in _visible_rows(page, "#agences")]
            assert codes == [expected], text
        page.fill("#filtre", "loiret")
        assert len(_visible_rows(page, "#agences")) == 2


def test_short_list_contact_and_fiche(run_dir):
    with chromium_page() as page:
        page.goto((run_dir / "site" / "agences" / "2420" / "index.html").as_uri())
        assert page.locator(".badge.court").count() >= 1
        _shot(page, "agence")
        page.goto((run_dir / "site" / "agences" / "2420" / "liste.html").as_uri() + "#D1507")
        note = page.inner_text(".liste-courte")
        assert note.startswith("Liste courte") and "Pour élargir" in note
        _shot(page, "liste")
        page.goto(_fiche_uri(run_dir, "2420", syn.MANY))
        contact = page.inner_text(".contact")
        assert "02 38 00 00 01" in contact and "contact vu dans l'offre du 02/10/2026" in contact
        assert (
            page.locator(".contact a[href^='https://annuaire-entreprises.data.gouv.fr/']").count()
            == 1
        )
        assert page.locator(".contact a[href^='https://www.openstreetmap.org/']").count() == 1
        _shot(page, "fiche")


def test_list_file_expands_to_every_field_of_its_lines(run_dir):
    """site.js rebuilds from a compact list file exactly what `list_data` gives: every
    field, the map point's label (approximate positions said so) and the offer's sort key."""
    import json
    from datetime import date

    from ciblage.publish.site_data import compact_lists, list_data

    base = dict.fromkeys(syn_row_keys := ("enseigne", "commune", "naf_label", "naf_code"))
    rows = [
        {**base, "rank": 1, "siret": "11111111111111", "name": "Précise", "commune": "Orléans",
         "naf_label": "Boulangerie", "tranche_effectifs": "11",
         "tranche_effectifs_label": "10 à 19 salariés", "hiring_potential": 45, "stars": 3,
         "expected_hires_6m": 0.6135333378974225, "reasons": ["a recruté"],
         "last_offers": [{"date_offre": date(2026, 4, 8), "intitule": "Vendeur",
                          "code_rome": "D1106", "type_contrat": "CDI"}],
         "latitude": 47.9, "longitude": 1.9, "geo_precise": True, "is_siege": True},
        {**base, "rank": 2, "siret": "22222222222222", "name": "Approchée", "enseigne": "E",
         "hiring_potential": 7, "stars": 1, "expected_hires_6m": 0.02, "reasons": [],
         "last_offers": [], "latitude": 47.8, "longitude": 1.8, "geo_precise": False,
         "in_cooldown": True, "cooldown_reason": "contactée"},
        {**base, "rank": 3, "siret": "33333333333333", "name": "Sans position",
         "hiring_potential": 5, "stars": 1, "expected_hires_6m": 0.01, "reasons": [],
         "last_offers": [], "latitude": None, "longitude": None},
    ]  # fmt: skip
    assert syn_row_keys
    full = {"D1106": list_data("D1106", "Vente", rows, None)}
    packed = compact_lists(full)
    with chromium_page() as page:
        page.goto((run_dir / "site" / "agences" / "2420" / "liste.html").as_uri() + "#D1507")
        page.wait_for_selector("#liste tbody tr")
        expanded = page.evaluate("p => window.ciblageExpandListes(p)", packed)
    want = json.loads(json.dumps(full, default=str))
    want["D1106"]["rows"][0]["expected"] = round(want["D1106"]["rows"][0]["expected"], 4)
    assert expanded == want
    assert expanded["D1106"]["rows"][1]["map"]["l"].endswith("— position approximative")


def test_match_page(tmp_path, synth_warehouse):
    import duckdb

    from ciblage.aids import Profile
    from ciblage.matching import match_profile, write_match_outputs

    con = duckdb.connect(str(synth_warehouse), read_only=True)
    try:
        res = match_profile(
            con, "cuisinier", "orleans", 2, Profile(rsa=True), n=5, min_potential=40
        )
    finally:
        con.close()
    html = next(p for p in write_match_outputs(res, tmp_path) if p.suffix == ".html")
    with chromium_page() as page:
        page.goto(html.as_uri())
        assert "Peu de résultats" in page.inner_text(".liste-courte")
        assert "Personnel de cuisine" in page.inner_text("dl.profil")
        assert page.locator(".fiche").count() == len(res.fiches)
        assert page.locator(".fiche .aides-fiche").first.is_visible()
        _shot(page, "match")
