"""Reading the promotions file an agency sends back: CSV (`;` or `,`) or XLSX.

Agencies fill the file in French Excel, often starting from the list they downloaded,
so headers come with accents, capitals and extra columns (company name, address...).
Known headers are mapped to the ledger's fields; company columns are ignored; a column
that holds a job seeker's name or contact makes the whole file rejected before any value
is read, so such data never reaches the warehouse (privacy by refusal, not by cleaning).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ciblage.followup.fields import fold

REQUIRED = ("date_promotion", "code_agence", "siret", "code_rome", "id_demandeur")
OPTIONAL = ("id_conseiller", "canal", "resultat", "date_resultat")
FIELDS = REQUIRED + OPTIONAL

# Folded header (see `fold`) -> field.
_ALIASES: dict[str, tuple[str, ...]] = {
    "date_promotion": ("date promotion", "date de promotion", "date", "date de la promotion"),
    "code_agence": ("code agence", "agence", "code de l agence", "agency code", "agence code"),
    "siret": ("siret", "n siret", "numero siret", "no siret"),
    "code_rome": ("code rome", "rome", "code metier rome", "metier rome"),
    "id_conseiller": ("id conseiller", "identifiant conseiller", "conseiller id"),
    "id_demandeur": (
        "id demandeur",
        "identifiant demandeur",
        "id demandeur d emploi",
        "id de",
        "id candidat",
        "identifiant candidat",
    ),
    "canal": ("canal", "canal de promotion", "moyen de contact"),
    "resultat": ("resultat", "resultat de la promotion", "issue"),
    "date_resultat": ("date resultat", "date du resultat", "date de resultat"),
}
_BY_ALIAS = {alias: f for f, aliases in _ALIASES.items() for alias in aliases}

# Headers naming a person's identity or contact. "nom"/"adresse" alone are the company's
# (columns of the downloaded list) and are only ignored; with a person word, or for fields
# only a person has (first name, birth date, NIR), the file is refused.
_PERSON_ONLY = re.compile(
    r"\b(prenom|prenoms|date de naissance|naissance|nir|securite sociale|"
    r"e ?mail|mail|courriel|mel|telephone|tel|portable|mobile|linkedin)\b"
)
_PERSON_WORD = re.compile(
    r"\b(demandeur|demandeuse|candidat|candidate|personne|beneficiaire|usager|jeune)\b"
)
_IDENTITY = re.compile(r"\b(nom|adresse|contact|coordonnees|cv)\b")


class PromotionFileError(ValueError):
    """The file as a whole cannot be imported (unreadable, missing or forbidden columns)."""


@dataclass
class RawRow:
    location: str  # file name, plus sheet for XLSX
    row: int  # as shown by the spreadsheet: header is row 1 (or its own row in XLSX)
    values: dict[str, Any]
    data_row: int = 0  # 1-based data row, header excluded (`row` is what quarantine stores)


@dataclass
class ReadResult:
    rows: list[RawRow]
    ignored_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def personal_data_columns(headers: list[str]) -> list[str]:
    """Headers that look like a job seeker's name or contact."""
    bad = []
    for h in headers:
        key = fold(h)
        if key in _BY_ALIAS:
            continue
        if _PERSON_ONLY.search(key) or (_PERSON_WORD.search(key) and _IDENTITY.search(key)):
            bad.append(h)
    return bad


def map_headers(headers: list[str], where: str) -> tuple[dict[int, str], list[str]]:
    """Column index -> field, and the ignored headers; refuses personal data columns."""
    bad = personal_data_columns([h for h in headers if h])
    if bad:
        raise PromotionFileError(
            f"{where} : colonne(s) {', '.join(repr(b) for b in bad)} refusée(s) : le suivi ne "
            "doit contenir aucun nom ni coordonnée de demandeur d'emploi (seulement "
            "id_demandeur, un identifiant pseudonyme). Supprimez ces colonnes et réimportez."
        )
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    for i, h in enumerate(headers):
        f = _BY_ALIAS.get(fold(h))
        if f is None:
            if h:
                ignored.append(h)
            continue
        if f in mapping.values():
            raise PromotionFileError(f"{where} : colonne {f!r} présente deux fois ({h!r})")
        mapping[i] = f
    missing = [f for f in REQUIRED if f not in mapping.values()]
    if missing:
        raise PromotionFileError(
            f"{where} : colonne(s) obligatoire(s) manquante(s) : {', '.join(missing)} "
            f"(en-têtes lus : {', '.join(h for h in headers if h)})"
        )
    return mapping, ignored


def read_promotions_file(path: Path) -> ReadResult:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise PromotionFileError(f"{path} : fichier introuvable")
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    raise PromotionFileError(f"{path} : format non pris en charge (attendu .csv ou .xlsx)")


def _read_csv(path: Path) -> ReadResult:
    data = path.read_bytes()
    warnings = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # "CSV (séparateur : point-virgule)" in French Excel is Windows-1252, not UTF-8.
        text = data.decode("cp1252")
        warnings.append(f"{path.name} : fichier lu en Windows-1252 (il n'est pas en UTF-8)")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise PromotionFileError(f"{path.name} : fichier vide ou sans ligne d'en-tête")
    header_line = lines[0]
    delimiter = max((";", ",", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = [h.strip() for h in next(reader)]
    mapping, ignored = map_headers(headers, path.name)
    rows = []
    for n, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers) :]):
            raise PromotionFileError(
                f"{path.name}, ligne {n} : {len(cells)} valeurs pour {len(headers)} colonnes "
                f"(séparateur {delimiter!r} présent dans une valeur ?)"
            )
        values = {f: (cells[i] if i < len(cells) else "") for i, f in mapping.items()}
        rows.append(RawRow(path.name, n, values, n - 1))
    return ReadResult(rows, ignored, warnings)


def _read_xlsx(path: Path) -> ReadResult:
    """Every sheet holding the ledger's columns (e.g. the per-ROME sheets of a list)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for bad files
        raise PromotionFileError(f"{path.name} : classeur XLSX illisible ({exc})") from exc
    result = ReadResult([])
    errors = []
    try:
        for ws in wb.worksheets:
            found = _read_sheet(path.name, ws.title, ws.iter_rows(values_only=True))
            if found is None:
                continue
            if isinstance(found, str):
                errors.append(found)
                continue
            rows, ignored = found
            result.rows.extend(rows)
            result.ignored_columns.extend(c for c in ignored if c not in result.ignored_columns)
    finally:
        wb.close()
    if not result.rows and errors:
        raise PromotionFileError(errors[0])
    if not result.rows and not errors:
        raise PromotionFileError(f"{path.name} : aucune feuille avec une colonne « siret »")
    return result


def _read_sheet(
    file_name: str, title: str, cells: Iterator[tuple[Any, ...]]
) -> tuple[list[RawRow], list[str]] | str | None:
    where = f"{file_name} [{title}]"
    for header_row, row in enumerate(cells, start=1):
        headers = [str(c).strip() if c is not None else "" for c in row]
        if "siret" in (fold(h) for h in headers):
            break
        if header_row >= 10:
            return None
    else:
        return None
    try:
        mapping, ignored = map_headers(headers, where)
    except PromotionFileError as exc:
        if "refusée" in str(exc):
            raise
        return str(exc)
    rows = []
    for n, row in enumerate(cells, start=header_row + 1):
        if all(c is None or str(c).strip() == "" for c in row):
            continue
        values = {f: (row[i] if i < len(row) else None) for i, f in mapping.items()}
        rows.append(RawRow(where, n, values, n - header_row))
    return rows, ignored
