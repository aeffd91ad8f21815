"""The follow-up inside the `publish` flow, on the lists' small synthetic warehouse: the
configured ledger is imported, its cool-downs reach the lists, the impact report is linked
from the site and renders in the browser."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.publish.target_files import read_targets
from tests.publish import synthetic as syn

from .ledgers import promo_rows, write_csv


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> dict:
    from pipelines.publish import publish_flow

    work = tmp_path_factory.mktemp("followup_publish")
    warehouse = syn.build_warehouse(work / "warehouse.duckdb")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (siret,) = con.execute(
            "SELECT e.siret FROM etablissement e JOIN score_etablissement_rome r USING (siret) "
            "JOIN ref_commune c USING (code_commune) WHERE c.code_bassin = '2420' "
            "AND e.etat_administratif = 'A' AND e.is_diffusible AND r.code_rome = 'D1507' "
            "AND e.siret NOT IN (?, ?) ORDER BY r.hiring_potential DESC LIMIT 1",
            [syn.P_ETAB, syn.P_UNITE],
        ).fetchall()[0]
    spec = [(d, "2420", siret, "D1507", "") for d in ("12/09/2026", "01/10/2026", "16/10/2026")]
    spec.append(("15/10/2026", "2410", siret, "D1507", "embauche"))
    write_csv(work / "suivi.csv", promo_rows(spec))
    cfg = syn.write_config(work / "ciblage.toml", warehouse, work / "output")
    with cfg.open("a", encoding="utf-8") as f:
        f.write('\n[followup]\nledger = ["suivi.csv"]\n')
    result = publish_flow(config=str(cfg))
    return {**result, "siret": siret}


def test_ledger_cooldown_reaches_the_lists(published: dict) -> None:
    targets = read_targets(Path(published["run_dir"]))
    mine = targets.filter(pl.col("siret") == published["siret"])
    in_agency = mine.filter(
        (pl.col("territory_level") == "agence") & (pl.col("territory_code") == "2420")
    )
    assert in_agency.height >= 1 and in_agency["in_cooldown"].all()
    assert in_agency["cooldown_reason"][0] == (
        "3 promotions sans réponse depuis le 12/09 : en pause jusqu'au 15/12"
    )
    other = mine.filter(pl.col("territory_code") != "2420")
    assert not other["in_cooldown"].any()  # another agency's lists are not affected


@pytest.mark.browser
def test_impact_report_linked_from_site(published: dict, chromium) -> None:  # noqa: ANN001
    run_dir = Path(published["run_dir"])
    page = chromium.new_page()
    page.goto((run_dir / "site" / "index.html").as_uri())
    page.click("text=Rapport d'impact des promotions")
    assert page.url.endswith("impact/index.html")
    assert page.inner_text("#kpi-promotions") == "4"
    assert page.inner_text("#kpi-conversion") == "25,0 %"
    assert page.locator("[data-testid=table-agences] tbody tr").count() == 2
    assert page.locator("img.plot").first.evaluate("img => img.naturalWidth > 0")
    page.close()


def test_agency_fills_the_xlsx_it_downloaded(published: dict, tmp_path: Path) -> None:
    """The counselor adds the ledger columns to a ROME sheet of the list and sends it back."""
    from openpyxl import load_workbook

    from ciblage.followup.ledger import import_promotions

    (xlsx,) = (Path(published["run_dir"]) / "agences" / "2420").glob("*.xlsx")
    wb = load_workbook(xlsx)
    ws = next(s for s in wb.worksheets if s.cell(1, 1).value == "Code ROME")
    width = ws.max_column
    extra = ["date_promotion", "code_agence", "id_demandeur", "canal", "résultat"]
    for i, header in enumerate(extra, start=width + 1):
        ws.cell(1, i, header)
    for i, value in enumerate(["02/10/2026", "2420", "DE77", "téléphone", "entretien"]):
        ws.cell(2, width + 1 + i, value)
    filled = tmp_path / "suivi_2420.xlsx"
    wb.save(filled)

    con = duckdb.connect(":memory:")
    report = import_promotions(con, filled)
    assert (report.inserted, report.errors) == (1, [])
    assert report.blank_rows == ws.max_row - 2  # the other companies were not promoted
    assert "Entreprise" in report.ignored_columns and "Adresse" in report.ignored_columns
    siret, rome = con.execute("SELECT siret, code_rome FROM promotion").fetchall()[0]
    assert (siret, rome) == (str(ws.cell(2, 6).value), ws.cell(2, 1).value)
