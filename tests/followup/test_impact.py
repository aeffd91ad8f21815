from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.followup.impact import band_finding, wilson, write_impact_report
from ciblage.followup.impact_plots import draw_cached
from ciblage.followup.ledger import import_promotions

from .ledgers import SIRET_A, SIRET_B, SIRET_C, promo_rows, settings_for, write_csv

# 45A: 2 promotions (1 hire, 1 refusal); 45B: 2 (1 interview, 1 silence) + 1 after as_of.
SPEC = [
    ("12/09/2026", "45A", SIRET_A, "M1607", "embauche"),
    ("13/09/2026", "45A", SIRET_B, "M1607", "refus"),
    ("02/10/2026", "45B", SIRET_C, "K2204", "entretien"),
    ("03/10/2026", "45B", SIRET_C, "K2204", ""),
    ("05/11/2026", "45B", SIRET_A, "K2204", "embauche"),  # after as_of: not reported
]


@pytest.fixture()
def report(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> Path:
    import_promotions(con, write_csv(tmp_path / "suivi.csv", promo_rows(SPEC)))
    con.execute(
        "CREATE TABLE score_etablissement AS SELECT * FROM (VALUES "
        f"(DATE '2026-08-01', '{SIRET_A}', 85, 5), (DATE '2026-08-01', '{SIRET_B}', 30, 2), "
        f"(DATE '2026-10-01', '{SIRET_A}', 10, 1)) t(as_of, siret, hiring_potential, stars)"
    )
    con.execute(
        "CREATE TABLE hires_siret AS SELECT * FROM (VALUES "
        f"('{SIRET_C}', DATE '2026-11-01', 'K2204', 1)) t(siret, mois, code_rome, "
        "nombre_embauches)"
    )
    return write_impact_report(con, settings_for(tmp_path, "2026-11-04"), tmp_path / "run")


def read_csv(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(text[1:].splitlines(), delimiter=";"))


def test_summary_figures_per_agency_and_overall(report: Path) -> None:
    rows = {r["perimetre"]: r for r in read_csv(report.parent / "synthese.csv")}
    assert set(rows) == {"ensemble", "45A", "45B"}
    got = {
        k: [rows[k][c] for c in ("promotions", "reponses", "entretiens", "embauches")] for k in rows
    }
    assert got == {
        "ensemble": ["4", "3", "2", "1"],
        "45A": ["2", "2", "1", "1"],
        "45B": ["2", "1", "1", "0"],
    }
    assert rows["45A"]["taux_conversion"] == "0,5000"
    assert rows["ensemble"]["objectif"] == "0,1200"
    assert rows["ensemble"]["ecart_objectif"] == "0,1300"  # 25 % - 12 %
    # SIRET_C's hire in 11/2026 is within 3 months of both its October promotions.
    assert rows["45B"]["succes_possibles"] == "2"


def test_bands_use_the_score_known_at_promotion_date(report: Path) -> None:
    rows = read_csv(report.parent / "par_potentiel.csv")
    overall = {r["potentiel"]: r["promotions"] for r in rows if r["perimetre"] == "ensemble"}
    # SIRET_A: 85 on 2026-08-01 for its September promotion, 10 since 2026-10-01.
    assert overall == {"20–39": "1", "80–100": "1", "inconnu": "2"}
    months = [
        (r["perimetre"], r["mois"], r["promotions"])
        for r in read_csv(report.parent / "par_mois.csv")
    ]
    assert ("ensemble", "2026-09-01", "2") in months and ("45B", "2026-10-01", "2") in months
    romes = {
        (r["perimetre"], r["code_rome"]): r["embauches"]
        for r in read_csv(report.parent / "par_rome.csv")
    }
    assert romes[("ensemble", "K2204")] == "0" and romes[("45A", "M1607")] == "1"


def test_report_files(report: Path) -> None:
    out = report.parent
    assert (out / "agences" / "45A.html").is_file() and (out / "agences" / "45B.html").is_file()
    for png in ("ensemble_potentiel.png", "ensemble_mois.png", "agence_45B_mois.png"):
        assert (out / "plots" / png).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.browser
def test_report_renders_in_browser(report: Path, chromium) -> None:  # noqa: ANN001
    page = chromium.new_page()
    page.goto(report.as_uri())
    assert page.inner_text("h1") == "Impact des promotions"
    assert page.inner_text("#kpi-promotions") == "4"
    assert page.inner_text("#kpi-conversion") == "25,0 %"
    agencies = page.locator("[data-testid=table-agences] tbody tr")
    assert agencies.count() == 2
    assert "Trop peu de promotions" in page.inner_text("[data-testid=band-finding]")
    images = page.locator("img.plot")
    assert images.count() == 2
    for i in range(2):  # plots actually load (natural size set by the browser)
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    page.click("text=45B")
    assert page.url.endswith("agences/45B.html")
    assert page.inner_text("#kpi-embauches") == "0"
    assert page.locator("img.plot").first.evaluate("img => img.naturalWidth > 0")
    page.close()


def test_empty_ledger_says_so(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    index = write_impact_report(con, settings_for(tmp_path, "2026-11-01"), tmp_path / "run")
    html = index.read_text(encoding="utf-8")
    assert "Aucune promotion enregistrée" in html and "kpi-conversion" not in html
    assert read_csv(index.parent / "synthese.csv") == []


def test_band_finding_compares_only_with_enough_promotions() -> None:
    def bands(rows: list[tuple[str, int, int]]) -> pl.DataFrame:
        return pl.DataFrame(
            rows, schema=["potential_band", "promotions", "embauches"], orient="row"
        )

    many = bands([("80–100", 40, 10), ("60–79", 10, 2), ("20–39", 30, 1), ("inconnu", 9, 9)])
    text = band_finding(many)
    assert "convertissent mieux" in text and "24,0 %" in text and "3,3 %" in text
    assert "50 promotions" in text and "30 promotions" in text
    assert "pas significatif" not in text
    close = bands([("80–100", 25, 3), ("20–39", 25, 2)])
    assert "pas significatif" in band_finding(close)
    assert "Trop peu" in band_finding(bands([("80–100", 19, 3), ("20–39", 50, 2)]))
    assert "pas encore possible" in band_finding(bands([("inconnu", 50, 2)]))
    later = band_finding(bands([("inconnu", 50, 2)]), date(2026, 11, 1))
    assert "premier score disponible date du 01/11/2026" in later and "--as-of" in later


def test_wilson_interval() -> None:
    low, high = wilson(0, 10)
    assert low == 0 and 0.27 < high < 0.28
    low, high = wilson(12, 100)
    assert 0.0699 < low < 0.0701 and 0.198 < high < 0.1982
    assert wilson(0, 0) == (None, None)


def test_impact_table_in_the_session(report: Path, con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT siret, date_promotion, potential_band FROM promotion_impact ORDER BY date_promotion"
    ).fetchall()
    assert rows[0] == (SIRET_A, date(2026, 9, 12), "80–100")
    assert len(rows) == 4


def test_writable_report_imports_configured_ledger_and_read_only_uses_stored(
    tmp_path: Path,
) -> None:
    ledger_file = write_csv(tmp_path / "suivi.csv", promo_rows(SPEC[:2]))
    settings = settings_for(tmp_path, "2026-11-04", f'ledger = ["{ledger_file.name}"]')
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        index = write_impact_report(con, settings, tmp_path / "run1")
    assert 'id="kpi-promotions">2<' in index.read_text(encoding="utf-8")
    write_csv(ledger_file, promo_rows(SPEC[:4]))  # the agency's file grew
    with duckdb.connect(str(db), read_only=True) as con:
        index = write_impact_report(con, settings, tmp_path / "run2")
    assert 'id="kpi-promotions">2<' in index.read_text(encoding="utf-8")
    fresh = tmp_path / "fresh.duckdb"
    duckdb.connect(str(fresh)).close()
    with duckdb.connect(str(fresh), read_only=True) as con:
        html = write_impact_report(con, settings, tmp_path / "run4").read_text(encoding="utf-8")
    assert "Aucune promotion enregistrée" in html


def test_many_agencies_keep_inline_bars_without_png(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import_promotions(con, write_csv(tmp_path / "suivi.csv", promo_rows(SPEC[:4])))
    settings = settings_for(tmp_path, "2026-11-04", "agency_plots_max = 1")
    index = write_impact_report(con, settings, tmp_path / "run")
    page = (index.parent / "agences" / "45B.html").read_text(encoding="utf-8")
    assert "<img" not in page and 'class="bar"' in page
    assert "<img" in index.read_text(encoding="utf-8")
    assert sorted(p.name for p in (index.parent / "plots").glob("*.png")) == [
        "ensemble_mois.png",
        "ensemble_potentiel.png",
    ]


def test_unchanged_plots_are_copied_from_the_previous_run(tmp_path: Path) -> None:
    calls: list[Path] = []

    def plot(df: pl.DataFrame, goal: float, path: Path) -> Path:
        calls.append(path)
        path.write_bytes(f"{df.height} {goal}".encode())
        return path

    df = pl.DataFrame({"month": ["2026-09", "2026-10"], "promotions": [3, 4]})
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir(), (tmp_path / "c").mkdir()
    assert not draw_cached(plot, df, 0.12, tmp_path / "a" / "p.png", None)
    assert draw_cached(plot, df, 0.12, tmp_path / "b" / "p.png", tmp_path / "a")
    assert (tmp_path / "b" / "p.png").read_bytes() == b"2 0.12" and len(calls) == 1
    # new data or a new goal is drawn again, never a stale copy
    assert not draw_cached(plot, df.head(1), 0.12, tmp_path / "c" / "p.png", tmp_path / "b")
    assert (tmp_path / "c" / "p.png").read_bytes() == b"1 0.12"
    assert not draw_cached(plot, df, 0.15, tmp_path / "c" / "p.png", tmp_path / "b")
    assert len(calls) == 3
