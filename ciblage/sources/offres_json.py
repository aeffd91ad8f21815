"""Reader of Offres d'emploi API v2 JSON files into flat string RecordBatches.

The API client (`ciblage.sources.offres_api`) saves every page it fetches as the search
response it received, and partners export offers as JSON lines; reading both with one
reader means a harvested folder and a hand-delivered export go through the same checks.
Values stay strings here: typing and deduplication happen in `sql/offre.sql`, where a bad
value becomes a quarantined row instead of a crashed run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from ciblage.contacts import CONTACT_COLUMNS, public_contact

# Flat columns of one offer, named after the `offre` table (see docs/architecture.md).
OFFRE_COLUMNS: tuple[str, ...] = (
    "offre_id",
    "date_creation",
    "date_actualisation",
    "intitule",
    "code_rome",
    "appellation",
    "code_commune",
    "code_postal",
    "lieu_libelle",
    "latitude",
    "longitude",
    "entreprise_nom",
    "entreprise_siret",
    "entreprise_adaptee",
    "secteur_activite",
    "type_contrat",
    "nature_contrat",
    "nombre_postes",
    *CONTACT_COLUMNS,
)
SCHEMA = pa.schema(
    [pa.field(c, pa.string()) for c in OFFRE_COLUMNS]
    + [pa.field("_file", pa.string()), pa.field("_row", pa.int64())]
)
OFFRE_SUFFIXES = (".json", ".jsonl", ".ndjson")


class OffresFormatError(ValueError):
    """A file is not an Offres API search response nor JSON lines of offers."""


def offer_files(path: Path) -> list[Path]:
    """The files of a source: the file itself, or every JSON file of a folder, sorted.

    Sorting by relative path makes "the later file wins" reproducible (the client names
    pages by harvest date, then département and window).
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"source des offres introuvable : {path}")
    files = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in OFFRE_SUFFIXES]
    return sorted(files, key=lambda p: p.relative_to(path).as_posix())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False)


def flatten_offer(offer: dict[str, Any]) -> dict[str, str | None]:
    """One API offer as the flat `offre` columns (strings, None when absent)."""
    lieu = offer.get("lieuTravail") or {}
    ent = offer.get("entreprise") or {}
    if not isinstance(lieu, dict):
        lieu = {}
    if not isinstance(ent, dict):
        ent = {}
    return {
        "offre_id": _text(offer.get("id")),
        "date_creation": _text(offer.get("dateCreation")),
        "date_actualisation": _text(offer.get("dateActualisation")),
        "intitule": _text(offer.get("intitule")),
        "code_rome": _text(offer.get("romeCode")),
        "appellation": _text(offer.get("appellationlibelle")),
        "code_commune": _text(lieu.get("commune")),
        "code_postal": _text(lieu.get("codePostal")),
        "lieu_libelle": _text(lieu.get("libelle")),
        "latitude": _text(lieu.get("latitude")),
        "longitude": _text(lieu.get("longitude")),
        "entreprise_nom": _text(ent.get("nom")),
        "entreprise_siret": _text(ent.get("siret")),
        "entreprise_adaptee": _text(ent.get("entrepriseAdaptee")),
        "secteur_activite": _text(offer.get("secteurActivite")),
        "type_contrat": _text(offer.get("typeContrat")),
        "nature_contrat": _text(offer.get("natureContrat")),
        "nombre_postes": _text(offer.get("nombrePostes")),
        # only the company's own channels, never contact.nom (see ciblage/contacts.py)
        **public_contact(offer.get("contact"), ent),
    }


def _json_error(
    file: Path, exc: json.JSONDecodeError, line: int | None = None
) -> OffresFormatError:
    where = f"{file}:{line if line is not None else exc.lineno}"
    return OffresFormatError(f"{where} : JSON invalide ({exc.msg}, colonne {exc.colno})")


def _iter_json_lines(file: Path) -> Iterator[tuple[int, Any]]:
    with file.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                raise _json_error(file, exc, lineno) from exc


def iter_offers(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row, offer) pairs of one file; row = line (JSON lines) or position in `resultats`.

    A `.json` file is a search response (`{"resultats": [...]}`), a list of offers, or a
    single offer; if it holds several documents it is read as JSON lines. A file that is
    none of these raises OffresFormatError naming the file and line.
    """
    file = Path(file)
    try:
        if file.suffix.lower() == ".json":
            try:
                doc = json.loads(file.read_text(encoding="utf-8-sig"))
            except json.JSONDecodeError as exc:
                if exc.msg != "Extra data":
                    raise _json_error(file, exc) from exc
                rows: Iterable[tuple[int, Any]] = _iter_json_lines(file)
            else:
                rows = _document_rows(file, doc)
        else:
            rows = _iter_json_lines(file)
        for row, offer in rows:
            if not isinstance(offer, dict):
                raise OffresFormatError(
                    f"{file}:{row} : objet offre attendu, reçu {type(offer).__name__}"
                )
            yield row, offer
    except UnicodeDecodeError as exc:
        raise OffresFormatError(
            f"{file} : pas en UTF-8 ({exc.reason} à l'octet {exc.start})"
        ) from exc


def _document_rows(file: Path, doc: Any) -> Iterable[tuple[int, Any]]:
    if isinstance(doc, dict) and "resultats" in doc:
        results = doc["resultats"]
        if not isinstance(results, list):
            raise OffresFormatError(f"{file} : 'resultats' doit être une liste")
        return enumerate(results, start=1)
    if isinstance(doc, list):
        return enumerate(doc, start=1)
    if isinstance(doc, dict) and "id" in doc:
        return [(1, doc)]
    if isinstance(doc, dict) and not doc:
        return []  # an empty answer saved from a 204 No Content
    raise OffresFormatError(
        f"{file} : ni une réponse de recherche de l'API Offres (pas de 'resultats'), "
        "ni une liste d'offres, ni une offre"
    )


def read_offres(path: Path, batch_size: int = 50_000) -> Iterator[pa.RecordBatch]:
    """Stream every offer of a file or folder as RecordBatches of SCHEMA.

    `_file` is the path relative to the source folder (the file name for a single file),
    `_row` the line (JSON lines) or the position in `resultats`. Memory stays bounded by
    `batch_size` offers plus one search response (150 offers).
    """
    path = Path(path)
    root = path if path.is_dir() else path.parent
    buf: dict[str, list[Any]] = {c: [] for c in SCHEMA.names}
    for file in offer_files(path):
        name = file.relative_to(root).as_posix()
        for row, offer in iter_offers(file):
            for col, value in flatten_offer(offer).items():
                buf[col].append(value)
            buf["_file"].append(name)
            buf["_row"].append(row)
            if len(buf["_row"]) >= batch_size:
                yield pa.RecordBatch.from_pydict(buf, schema=SCHEMA)
                buf = {c: [] for c in SCHEMA.names}
    if buf["_row"]:
        yield pa.RecordBatch.from_pydict(buf, schema=SCHEMA)


def read_offres_source(path: Path, spec: Any = None) -> Iterator[pa.RecordBatch]:
    """`read_offres` with the ingestion mechanism's reader signature `(path, spec)`."""
    return read_offres(path)
