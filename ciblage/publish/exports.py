"""An agency's lists as CSV and XLSX, in the shape a counselor opens in French Excel.

CSV: UTF-8 with BOM (without it Excel reads UTF-8 as Windows-1252 and breaks every
accent), `;` separator and decimal comma (the French locale's list and decimal
separators). XLSX: one sheet per ROME trade with a frozen header row and filters, and a
« Fiches » sheet with one block per company, to print or paste into a promotion mail.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ciblage.contacts import annuaire_url, contact_text
from ciblage.publish import fmt
from ciblage.publish.fiche import fiche_lines

if TYPE_CHECKING:
    import polars as pl

# (French header, value from a targets row, column width in the XLSX)
COLUMNS: list[tuple[str, Any, int]] = [
    ("Code ROME", lambda r: r["code_rome"], 10),
    ("Métier", lambda r: r["rome_label"] or "", 28),
    ("Rang", lambda r: r["rank"], 6),
    ("Entreprise", lambda r: r["name"], 30),
    ("Enseigne", lambda r: r["enseigne"] or "", 22),
    ("SIRET", lambda r: r["siret"], 16),
    ("Adresse", lambda r: r["address"] or "", 30),
    ("Code postal", lambda r: r["code_postal"] or "", 8),
    ("Commune", lambda r: r["commune"] or "", 18),
    ("Activité (NAF)", lambda r: f"{r['naf_code']} {r['naf_label'] or ''}".strip(), 30),
    ("Effectif", lambda r: r["tranche_effectifs_label"] or "", 16),
    ("Potentiel d'embauche (0-100)", lambda r: r["hiring_potential"], 12),
    ("Étoiles", lambda r: fmt.stars(r["stars"]), 9),
    ("Embauches probables", lambda r: fmt.hires_band(r["expected_hires_6m"]), 30),
    ("Raisons", lambda r: fmt.reasons_text(r["reasons"]), 60),
    ("Offres (12 mois)", lambda r: r["offers_12m"], 9),
    ("Dernières offres", lambda r: fmt.offers_text(r["last_offers"]), 50),
    ("Comment la joindre", lambda r: contact_text(r, fmt.fr_date(r.get("contact_date"))), 50),
    ("Annuaire des entreprises", lambda r: annuaire_url(r["siren"]) or "", 30),
    ("ESS", lambda r: fmt.yes(r["is_ess"]), 6),
    ("Entreprise adaptée", lambda r: fmt.yes(r["is_entreprise_adaptee"]), 10),
    ("Société à mission", lambda r: fmt.yes(r["is_societe_mission"]), 10),
    ("Siège", lambda r: fmt.yes(r["is_siege"]), 6),
    ("Employeur public", lambda r: fmt.yes(r["is_public"]), 9),
    ("En pause (suivi)", lambda r: fmt.yes(r["in_cooldown"]), 9),
    ("Motif de la pause", lambda r: r["cooldown_reason"] or "", 40),
    ("Données au", lambda r: fmt.fr_date(r["as_of"]), 11),
]
# Digit codes French Excel would turn into numbers (SIRET shown as 3,61189E+13, postcode
# 01000 as 1000) when it opens the CSV with a double-click: written with a leading tab,
# which Excel's and LibreOffice's CSV import keep as text (no number starts with a tab),
# and which, unlike a ="…" formula, shows no formula and is no formula-injection vector.
CSV_TEXT_COLUMNS = ("SIRET", "Code postal")
CSV_TEXT_PREFIX = "\t"
HEADERS = [c[0] for c in COLUMNS]


def sorted_records(rows: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows as dicts in list order (trade, then rank). An agency's files read them
    three times (fiches, tables, pages): made once, since each pass of polars' row
    iteration cost about 5 % of the agency's files."""
    return list(rows.sort(["code_rome", "rank"]).iter_rows(named=True))


def list_table(rows: pl.DataFrame | list[dict[str, Any]]) -> list[list[Any]]:
    """One list per value row; `rows`: a targets frame, or its `sorted_records`."""
    records = rows if isinstance(rows, list) else sorted_records(rows)
    return [[get(r) for _h, get, _w in COLUMNS] for r in records]


def write_csv(rows: pl.DataFrame, path: Path, table: list[list[Any]] | None = None) -> Path:
    """All lists of a territory in one CSV (UTF-8 BOM, `;`, decimal comma); `table`: the
    rows' `list_table` when the caller already has it (the XLSX uses the same)."""
    import polars as pl

    table = list_table(rows) if table is None else table
    df = pl.DataFrame(table, schema=HEADERS, orient="row", infer_schema_length=None)
    df = df.with_columns(
        (CSV_TEXT_PREFIX + pl.col(c).cast(pl.String)).fill_null("").alias(c)
        for c in CSV_TEXT_COLUMNS
    )
    tmp = path.with_suffix(".csv.tmp")
    df.write_csv(tmp, include_bom=True, separator=";", decimal_comma=True, float_precision=2)
    tmp.replace(path)
    return path


LISTS_SHEET = "Listes"


def write_xlsx(
    rows: pl.DataFrame,
    fiches: list[dict[str, Any]],
    path: Path,
    title: str,
    notes: dict[str, dict[str, Any]] | None = None,
    table: list[list[Any]] | None = None,
) -> Path:
    """« Sommaire » (full trade names, companies, short lists and how to widen them, a
    link to each trade's first row) + « Listes » (every trade's list, one row per company
    and trade, filterable by trade) + « Fiches ».

    One sheet for all lists rather than one per trade: an agency of a national run has
    lists in 300+ trades, a workbook of 300 tabs is not usable, and each sheet costs
    xlsxwriter as much as a few hundred cells.
    """
    notes = notes or {}
    import polars as pl
    import xlsxwriter

    tmp = path.with_suffix(".xlsx.tmp")
    # in_memory: the sheets' XML is assembled in memory, not in temporary files before
    # the zip (a national agency's XLSX: a few tens of MB; 5 % less CPU, measured on six
    # national agencies' workbooks, five times each: 4.47 -> 4.23 s)
    wb = xlsxwriter.Workbook(
        str(tmp), {"strings_to_urls": False, "strings_to_formulas": False, "in_memory": True}
    )
    try:
        head = wb.add_format(
            {"bold": True, "bg_color": "#1F4E79", "font_color": "#FFFFFF", "text_wrap": True}
        )
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        bold = wb.add_format({"bold": True})
        big = wb.add_format({"bold": True, "font_size": 13})
        dec = wb.add_format({"num_format": "0.0", "valign": "top"})
        link = wb.add_format({"font_color": "blue", "underline": 1})
        summary = wb.add_worksheet("Sommaire")
        lists = wb.add_worksheet(LISTS_SHEET)
        summary.write(0, 0, title, big)
        summary.write_row(2, 0, ["Code ROME", "Métier", "Entreprises", "Liste", "Remarque"], head)
        summary.freeze_panes(3, 0)
        for c, width in enumerate((10, 50, 12, 24)):
            summary.set_column(c, c, width)
        summary.set_column(4, 4, 90, wrap)
        counts = rows.group_by("code_rome", maintain_order=False).agg(
            pl.len().alias("n"), pl.col("rome_label").first()
        )
        first_row = 2  # Excel row of each trade's first company in « Listes »
        for i, (code, n, label) in enumerate(counts.sort("code_rome").iter_rows()):
            summary.write_row(3 + i, 0, [code, label or "", n])
            summary.write_url(
                3 + i, 3, f"internal:'{LISTS_SHEET}'!A{first_row}", link, string="Voir la liste"
            )
            if code in notes:
                summary.write(3 + i, 4, notes[code]["text"], wrap)
            first_row += n
        lists.write_row(0, 0, HEADERS, head)
        lists.set_row(0, 45)
        lists.freeze_panes(1, 0)
        for c, (_h, _g, width) in enumerate(COLUMNS):
            lists.set_column(c, c, width)
        table = list_table(rows) if table is None else table
        # typed writes: xlsxwriter's generic write() costs a third more per cell (a
        # national agency has tens of thousands), and it would turn a text starting with
        # "=" (a company name, an offer title) into a formula; an empty value, no cell
        # (about a quarter of them: flags, brand names, pause reasons)
        text, number = lists.write_string, lists.write_number
        for r, values in enumerate(table, start=1):
            for c, value in enumerate(values):
                if isinstance(value, str):
                    if value:
                        text(r, c, value, wrap)
                elif value is not None:
                    number(r, c, value, dec if isinstance(value, float) else wrap)
        lists.autofilter(0, 0, max(len(table), 1), len(COLUMNS) - 1)
        write_fiches_sheet(wb.add_worksheet("Fiches"), fiches, head, bold, wrap)
    finally:
        wb.close()
    tmp.replace(path)
    return path


def write_fiches_sheet(
    ws: Any, fiches: list[dict[str, Any]], head: Any, bold: Any, wrap: Any
) -> None:
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 100)
    ws.write_row(0, 0, ["Entreprise", "Fiche"], head)
    ws.freeze_panes(1, 0)
    r = 1
    for f in fiches:
        ws.write_string(r, 0, f["name"], bold)
        ws.write_string(r, 1, f"{f['commune'] or ''} — SIRET {f['siret']}", bold)
        r += 1
        for label, value in fiche_lines(f):
            ws.write_string(r, 0, label, wrap)
            if value:
                ws.write_string(r, 1, value, wrap)
            r += 1
        r += 1
    ws.autofilter(0, 0, max(r - 1, 1), 1)
