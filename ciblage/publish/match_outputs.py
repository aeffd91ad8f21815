"""Files of `ciblage match`: the spreadsheet and the page a counselor attaches to a
profile's file or prints before calling the companies."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ciblage.publish import fmt
from ciblage.publish.exports import fiche_lines, write_fiches_sheet
from ciblage.publish.site import copy_assets, render
from ciblage.publish.site_data import fiche_context, fiche_data, json_script

if TYPE_CHECKING:
    from ciblage.matching import MatchResult

TABLE = [
    ("Rang", 6),
    ("Entreprise", 32),
    ("SIRET", 16),
    ("Adresse", 40),
    ("Distance (km)", 10),
    ("Potentiel (0-100)", 10),
    ("Étoiles", 7),
    ("Raisons", 60),
    ("Comment la joindre", 50),
    ("Aides applicables", 50),
    ("Aides à vérifier", 40),
]


def write_match_xlsx(result: MatchResult, path: Path) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_urls": False, "strings_to_formulas": False})
    try:
        head = wb.add_format({"bold": True, "bg_color": "#1F4E79", "font_color": "#FFFFFF"})
        bold = wb.add_format({"bold": True})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        prof = wb.add_worksheet("Profil")
        prof.set_column(0, 0, 22)
        prof.set_column(1, 1, 90)
        lines = [
            ("Métier", f"{result.rome_input} (ROME {result.code_rome}) {result.rome_label or ''}"),
            ("Lieu", f"{result.rayon_km:g} km autour de {result.commune_label} ({result.commune})"),
            ("Situation", result.profile_text),
            ("Scores au", fmt.fr_date(result.as_of)),
            ("Entreprises", str(len(result.fiches))),
            ("Compris", " ; ".join(result.understood)),
            ("Peu de résultats", result.notice or ""),
        ]
        lines = [(k, v) for k, v in lines if v]
        for r, (k, v) in enumerate(lines):
            prof.write(r, 0, k, bold)
            prof.write(r, 1, v, wrap)
        ws = wb.add_worksheet("Entreprises")
        ws.write_row(0, 0, [h for h, _w in TABLE], head)
        for c, (_h, width) in enumerate(TABLE):
            ws.set_column(c, c, width)
        for r, f in enumerate(result.fiches, start=1):
            ok = [a["nom"] for a in f["aids"] if a["statut"] == "oui"]
            check = [a["nom"] for a in f["aids"] if a["statut"] != "oui"]
            values = [
                f["rank"],
                f["name"],
                f["siret"],
                f["address_full"],
                round(f["distance_km"], 1),
                f["hiring_potential"],
                fmt.stars(f["stars"]),
                fmt.reasons_text(f["reasons"]),
                f.get("contact_text") or "",
                ", ".join(ok),
                ", ".join(check),
            ]
            for c, v in enumerate(values):
                ws.write(r, c, v, wrap)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(result.fiches), 1), len(TABLE) - 1)
        write_fiches_sheet(wb.add_worksheet("Fiches"), result.fiches, head, bold, wrap)
    finally:
        wb.close()
    return path


def write_match_html(result: MatchResult, path: Path) -> Path:
    copy_assets(path.parent)
    context = {
        "rome_input": result.rome_input,
        "code_rome": result.code_rome,
        "rome_label": result.rome_label,
        "commune": result.commune,
        "commune_label": result.commune_label,
        "rayon_km": result.rayon_km,
        "profile_text": result.profile_text,
        "understood": result.understood,
        "notice": result.notice,
        "widening": result.widening,
        "fiches": [fiche_context(f) for f in result.fiches],
    }
    return render(
        "match.html.j2",
        path,
        m=context,
        fiches_json=json_script(
            [fiche_data(f, with_map=False) for f in result.fiches], "fiches-donnees"
        ),
        root="",
        as_of_fr=fmt.fr_date(result.as_of),
        run_id="match",
    )


__all__ = ["fiche_lines", "write_match_html", "write_match_xlsx"]
