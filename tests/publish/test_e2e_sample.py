"""The publish stage on the real-format sample, after the shared ingest → score chain."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.aids import Profile
from ciblage.matching import match_profile
from ciblage.publish.agency import export_stem
from ciblage.publish.target_files import read_targets
from ciblage.publish.targets import validate_targets
from tests.publish.browser import chromium_page, find_in_outputs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def warehouse(published_dir: Path, scored_settings) -> Path:
    return scored_settings.warehouse


def test_the_cycle_collector_is_on_after_publishing(published_dir):
    """Every agency's files are written with the cycle collector paused, several at once
    on the flow's threads (`ciblage.cycle_collector`): it must be on again after."""
    assert published_dir.is_dir()
    assert gc.isenabled()


def test_lists_for_every_agency_area(published_dir, warehouse):
    n = validate_targets(published_dir)
    targets = read_targets(published_dir)
    assert n == targets.height > 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        # every bassin (= agency area without a mapping file) holding an eligible, scored
        # establishment of a ROME linked to its NAF has lists
        expected = {
            r[0]
            for r in con.execute(
                """
                SELECT DISTINCT c.code_bassin
                FROM score_etablissement_rome s
                JOIN etablissement e USING (siret)
                JOIN ref_naf_rome nr ON nr.naf_code = e.naf_code AND nr.code_rome = s.code_rome
                JOIN ref_commune c ON c.code_commune = e.code_commune
                WHERE e.etat_administratif = 'A' AND e.is_diffusible
                  AND s.as_of = (SELECT max(as_of) FROM score_etablissement_rome)
                  AND c.code_bassin IS NOT NULL
                """
            ).fetchall()
        }
    finally:
        con.close()
    agencies = set(targets.filter(pl.col("territory_level") == "agence")["territory_code"])
    assert expected and agencies == expected
    summary = json.loads((published_dir / "publish_summary.json").read_text("utf-8"))
    assert {a["code"] for a in summary["agencies"]} == agencies
    for code in agencies:
        folder = published_dir / "agences" / code
        stem = export_stem(code, targets["as_of"][0])
        assert (folder / f"{stem}.csv").is_file() and (folder / f"{stem}.xlsx").is_file()
        assert (published_dir / "site" / "agences" / code / "index.html").is_file()


def test_no_p_anywhere(published_dir, warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        hidden = con.execute(
            """
            SELECT e.siret, e.siren FROM etablissement e
            LEFT JOIN unite_legale ul USING (siren)
            WHERE NOT e.is_diffusible OR e.statut_diffusion = 'P'
               OR ul.is_diffusible = false OR ul.statut_diffusion = 'P'
            """
        ).fetchall()
    finally:
        con.close()
    assert hidden, "the sample should contain non-diffusible establishments"
    needles = [s for s, _ in hidden]
    hits = [h for h in find_in_outputs(published_dir, needles) if not h[0].startswith("gates/")]
    assert hits == []


@pytest.mark.browser
def test_site_opens_in_browser(published_dir):
    with chromium_page() as page:
        page.goto((published_dir / "site" / "index.html").as_uri())
        assert page.locator("#agences tbody tr").count() >= 1
        page.locator("#agences tbody a").first.click()
        page.locator("#metiers tbody a").first.click()
        page.wait_for_selector("#liste tbody tr")  # drawn from the agency's list file
        rows = page.locator("#liste tbody tr")
        assert rows.count() >= 1
        page.locator("#liste tbody a").first.click()
        page.wait_for_selector(".raisons li")  # drawn from the agency's fiche file
        assert page.locator(".raisons li").count() >= 1
        assert "Immersion professionnelle" in page.inner_text(".aides-fiche")


def test_match_five_companies_on_sample(published_dir, warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rome, commune = con.execute(
            """
            SELECT s.code_rome, any_value(e.code_commune) FROM score_etablissement_rome s
            JOIN etablissement e USING (siret)
            GROUP BY s.code_rome ORDER BY count(*) DESC, s.code_rome LIMIT 1
            """
        ).fetchone()
        res = match_profile(con, rome, commune, 30, Profile(rsa=True, age=52), n=5)
    finally:
        con.close()
    assert len(res.fiches) == 5
    assert all(f["aids"] and f["address_full"] for f in res.fiches)


def test_every_published_row_keeps_its_invariants(published_dir, warehouse):
    """Potential, stars and expected hires agree on every row the sample run published, and
    no figure exceeds what the model gate found plausible."""
    from ciblage.publish.targets import row_invariants

    targets = read_targets(published_dir)
    ranking = json.loads((published_dir / "ranking.json").read_text("utf-8"))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (path,) = con.execute(
            "SELECT path FROM model_registry WHERE model_id = ?",
            [ranking["model_id"].removesuffix("#baseline")],
        ).fetchall()[0]
    finally:
        con.close()
    meta = json.loads((Path(path).parent / "metadata.json").read_text("utf-8"))
    dispersion = meta["dispersion"] if ranking["ranking_method"] == "model" else None
    assert targets.height > 0
    assert row_invariants(targets, dispersion, meta["gate"]["bound"]) == []
    # the check does fire: one swapped potential breaks it
    broken = targets.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("hiring_potential").max() + 1)
        .otherwise(pl.col("hiring_potential"))
        .clip(0, 100)
        .alias("hiring_potential")
    )
    assert row_invariants(broken, dispersion, meta["gate"]["bound"]) != []
