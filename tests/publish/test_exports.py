"""What an agency downloads: CSV for French Excel, XLSX sheets, run folder, summary."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from ciblage.publish.agency import export_stem
from ciblage.publish.exports import HEADERS, LISTS_SHEET
from ciblage.publish.target_files import read_targets
from ciblage.publish.targets import validate_targets
from tests.publish import synthetic as syn

STEM = export_stem("2420", syn.AS_OF)  # liste_2420_2026-11-01: the as-of in the file name


@pytest.fixture(scope="module")
def run_dir(synth_published) -> Path:
    return Path(synth_published["run_dir"])


def test_flow_result_and_latest(synth_published, run_dir):
    assert synth_published["published"] is True
    assert synth_published["agencies"] == len(syn.BASSINS)  # no mapping: one per bassin
    assert synth_published["rows"] == validate_targets(run_dir)
    latest = run_dir.parent.parent / "latest"
    assert latest.resolve() == run_dir.resolve()
    summary = json.loads((run_dir / "publish_summary.json").read_text("utf-8"))
    assert summary["lists"] == synth_published["lists"]
    assert {a["code"] for a in summary["agencies"]} == {b[0] for b in syn.BASSINS}


def test_csv_opens_in_french_excel(run_dir):
    raw = (run_dir / "agences" / "2420" / f"{STEM}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM missing"
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == HEADERS
    assert all(len(r) == len(HEADERS) for r in rows)
    table = {h: [r[i] for r in rows[1:]] for i, h in enumerate(HEADERS)}
    assert "Orléans" in table["Commune"]  # accents intact
    bands = table["Embauches probables"]
    assert bands and all(v.endswith("en 6 mois") and "probable" in v for v in bands)
    assert all(set(v) <= {"★", "☆"} and len(v) == 5 for v in table["Étoiles"])
    targets = read_targets(run_dir).filter(
        pl.col("territory_level") == "agence", pl.col("territory_code") == "2420"
    )
    assert len(rows) - 1 == targets.height
    assert set(table["Données au"]) == {"01/11/2026"}
    # read back as French Excel's CSV import types a cell: neither SIRET nor postcode may
    # become a number (3,61189E+13, leading 0 dropped), and the digits are intact
    for col in ("SIRET", "Code postal"):
        assert table[col] and not any(excel_fr_number(v) for v in table[col])
    assert sorted(v.strip() for v in table["SIRET"]) == sorted(targets["siret"])
    assert {v.strip() for v in table["Code postal"]} == set(targets["code_postal"])


def excel_fr_number(cell: str) -> bool:
    """Would French Excel's CSV import (General format) store this cell as a number?
    It ignores surrounding spaces, reads « 1 234,5 », « 12,5 % », « -3 », « 1,2E+3 »,
    and a non-breaking space as the thousands separator; a tab or any letter keeps text."""
    import re

    text = cell.strip(" ").replace("\u00a0", "").replace("\u202f", "")
    return bool(re.fullmatch(r"[+-]?(\d{1,3}( \d{3})+|\d+)(,\d+)?(E[+-]?\d+)?\s?%?", text))


def test_excel_number_reader_sees_bare_digits_as_numbers() -> None:
    # the check above is only worth something if it flags what Excel would convert
    assert excel_fr_number("36118900012345") and excel_fr_number("01000")
    assert excel_fr_number(" 45 000 ") and excel_fr_number("12,5")
    assert not excel_fr_number("\t01000") and not excel_fr_number("2A004")


def test_xlsx_sheets_frozen_filtered(run_dir):
    wb = openpyxl.load_workbook(run_dir / "agences" / "2420" / f"{STEM}.xlsx")
    targets = read_targets(run_dir).filter(
        pl.col("territory_level") == "agence", pl.col("territory_code") == "2420"
    )
    romes = sorted(targets["code_rome"].unique())
    assert wb.sheetnames == ["Sommaire", LISTS_SHEET, "Fiches"]
    ws = wb[LISTS_SHEET]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.column_dimensions["D"].width > 20  # company name column is readable
    assert ws.max_row - 1 == targets.height
    listed = [(ws.cell(r, 1).value, ws.cell(r, 3).value) for r in range(2, ws.max_row + 1)]
    assert [c for c, _ in listed] == sorted(c for c, _ in listed)  # trades in code order
    for code in romes:  # each trade's ranks 1..n, in order
        ranks = [rank for c, rank in listed if c == code]
        assert ranks == list(range(1, len(ranks) + 1))
    summary = wb["Sommaire"]
    links = {
        summary.cell(r, 1).value: summary.cell(r, 4).hyperlink.location
        for r in range(4, summary.max_row + 1)
        if summary.cell(r, 4).hyperlink is not None
    }
    assert sorted(links) == romes
    for code, where in links.items():  # the link lands on the trade's first row
        row = int(where.rsplit("A", 1)[1])
        assert ws.cell(row, 1).value == code and ws.cell(row, 3).value == 1
    fiches = wb["Fiches"]
    assert fiches.freeze_panes == "A2"
    labels = {fiches.cell(r, 1).value for r in range(1, fiches.max_row + 1)}
    assert {"SIRET", "Raisons", "Aides mobilisables"} <= labels


def test_territory_rerun_carries_other_territories(synth_published, run_dir):
    from pipelines.publish import publish_flow

    before = read_targets(run_dir)
    result = publish_flow(config=synth_published["config"], territory="dep:28")
    new_dir = Path(result["run_dir"])
    after = read_targets(new_dir)
    key = ["territory_level", "territory_code", "code_rome", "rank", "siret"]
    assert after.select(key).sort(key).equals(before.select(key).sort(key))
    for code in ("2420", "2410", "2401"):
        assert (new_dir / "agences" / code / f"{export_stem(code, syn.AS_OF)}.xlsx").is_file()
        assert (new_dir / "site" / "agences" / code / "index.html").is_file()
    assert result["published"] is True
    # the rerun's own agencies: same lists, fiches and header as the run it follows, so
    # their files are that run's (linked, not written again), byte for byte
    summary = json.loads((new_dir / "publish_summary.json").read_text("utf-8"))
    in_scope = [a for a in summary["agencies"] if "carried_from" not in a]
    assert in_scope and all(a["reused_from"] == run_dir.name for a in in_scope)
    for a in in_scope:
        for sub in (Path("agences") / a["code"], Path("site") / "agences" / a["code"]):
            old = {
                p.relative_to(run_dir / sub): p.read_bytes()
                for p in (run_dir / sub).rglob("*")
                if p.is_file()
            }
            new = {
                p.relative_to(new_dir / sub): p.read_bytes()
                for p in (new_dir / sub).rglob("*")
                if p.is_file()
            }
            assert old and new == old, sub
    # lists that changed (a shorter top) are written again
    shorter = publish_flow(config=synth_published["config"], territory="dep:28", top_n=2)
    third = Path(shorter["run_dir"])
    summary = json.loads((third / "publish_summary.json").read_text("utf-8"))
    rewritten = [a for a in summary["agencies"] if "carried_from" not in a]
    assert rewritten and not any("reused_from" in a for a in rewritten)
    for a in rewritten:
        ranks = pl.read_csv(third / "agences" / a["code"] / a["csv"], separator=";")["Rang"]
        assert ranks.max() <= 2


def test_out_dir_run_is_not_published(synth_published, tmp_path):
    from pipelines.publish import publish_flow

    latest = Path(synth_published["run_dir"]).parent.parent / "latest"
    before = latest.resolve()
    result = publish_flow(config=synth_published["config"], out_dir=str(tmp_path / "x"))
    assert result["published"] is None and result["run_dir"] == str(tmp_path / "x")
    assert validate_targets(tmp_path / "x") == result["rows"]
    assert latest.resolve() == before


def test_expected_hires_are_shown_as_bounded_bands() -> None:
    from ciblage.publish.fmt import HIRES_BANDS, TOP_BAND, hires_band

    assert hires_band(0.0) == "moins d'une embauche probable en 6 mois"
    assert hires_band(0.49) == "moins d'une embauche probable en 6 mois"
    assert hires_band(0.5) == "environ 1 embauche probable en 6 mois"
    assert hires_band(2.2) == "2 à 3 embauches probables en 6 mois"
    assert hires_band(13.4) == "8 à 15 embauches probables en 6 mois"
    # an absurd figure is never printed as such
    assert hires_band(6_774_315_301.9) == f"{TOP_BAND} en 6 mois"
    assert hires_band(None) == "" and hires_band(float("nan")) == ""
    # bands are ordered and contiguous
    bounds = [hi for hi, _ in HIRES_BANDS]
    assert bounds == sorted(bounds)
    # at, just below and just above every bound: the first band whose exclusive upper
    # bound exceeds the value
    for v in [0.0, *bounds, *(b - 1e-9 for b in bounds), *(b + 1e-9 for b in bounds), 1e12]:
        label = next((lab for hi, lab in HIRES_BANDS if v < hi), TOP_BAND)
        assert hires_band(v, months=12) == f"{label} en 12 mois", v


def test_site_says_when_the_baseline_ranked_the_lists(tmp_path) -> None:
    """A refused model is announced on every page; a passing one adds nothing."""
    from datetime import date

    from ciblage.publish.agency import RANKING_FILE, common_context
    from ciblage.publish.site import write_index
    from scoring.model_gate import summary_fr

    notice = summary_fr({"passed": False})
    (tmp_path / RANKING_FILE).write_text(
        json.dumps({"ranking_method": "baseline", "notice_fr": notice}), encoding="utf-8"
    )
    page = write_index(
        tmp_path / "site", [], common_context(date(2026, 11, 1), "r1", tmp_path), None
    )
    assert notice and "pas passé ses contrôles de qualité" in page.read_text("utf-8")
    (tmp_path / RANKING_FILE).write_text(
        json.dumps({"ranking_method": "model", "notice_fr": None}), encoding="utf-8"
    )
    page = write_index(
        tmp_path / "site", [], common_context(date(2026, 11, 1), "r1", tmp_path), None
    )
    assert "avertissement" not in page.read_text("utf-8")
    assert summary_fr({"passed": True}) is None


def test_xlsx_text_starting_with_equals_stays_text(run_dir, tmp_path):
    """A company name or offer title starting with "=" is shown, never run as a formula."""
    from ciblage.publish.exports import write_xlsx
    from ciblage.publish.fiche import build_fiches

    rows = (
        read_targets(run_dir)
        .filter(pl.col("territory_level") == "agence", pl.col("territory_code") == "2420")
        .head(2)
        .with_columns(pl.lit('=HYPERLINK("http://x","y")').alias("name"))
    )
    path = write_xlsx(
        rows, build_fiches(rows.iter_rows(named=True), aids=[]), tmp_path / "x.xlsx", "t"
    )
    wb = openpyxl.load_workbook(path)
    cell = wb[LISTS_SHEET].cell(2, HEADERS.index("Entreprise") + 1)
    assert cell.value == '=HYPERLINK("http://x","y")' and cell.data_type == "s"
    fiche = wb["Fiches"].cell(2, 1)
    assert fiche.value == '=HYPERLINK("http://x","y")' and fiche.data_type == "s"
