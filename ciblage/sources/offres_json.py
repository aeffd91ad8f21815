"""Reader of Offres d'emploi API v2 JSON files into flat string RecordBatches.

The API client (`ciblage.sources.offres_api`) saves every page it fetches as the search
response it received, and partners export offers as JSON lines; reading both with one
reader means a harvested folder and a hand-delivered export go through the same checks.
Values stay strings here: typing and deduplication happen in `sql/offre.sql`, where a bad
value becomes a quarantined row instead of a crashed run.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pyarrow as pa

from ciblage.contacts import CONTACT_COLUMNS, public_contact

log = logging.getLogger(__name__)

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


# A piece of work: whole `.json` documents, or a block of complete lines of a JSON-lines
# file; its offers become one RecordBatch. Small enough that a block's parsed offers stay
# a few tens of MB, large enough that a process pool's per-piece cost is noise.
BLOCK_BYTES = 8 << 20
_BOM = b"\xef\xbb\xbf"
# Below this many bytes a process pool costs more (about a second to start its workers)
# than it saves; the national offers (4 M over 24 months, 2.4 GB) took 102 s on one core.
PARALLEL_MIN_BYTES = 64 << 20


class Piece(NamedTuple):
    name: str  # `_file`: path relative to the source folder
    file: Path  # for messages
    first_line: int  # line of the block's first line in the file (1 for a document)
    data: bytes
    document: bool  # a `.json` file: one document (or JSON lines if it holds several)


def _pieces(path: Path) -> Iterator[Piece]:
    """The pieces of every file of a source, in order (`offer_files`)."""
    root = path if path.is_dir() else path.parent
    for file in offer_files(path):
        name = file.relative_to(root).as_posix()
        if file.suffix.lower() == ".json":
            yield Piece(name, file, 1, file.read_bytes(), True)
            continue
        line, rest = 1, b""
        with file.open("rb") as fh:
            while chunk := fh.read(BLOCK_BYTES):
                data = rest + chunk
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # a line longer than a block: read on
                    rest = data
                    continue
                block, rest = data[:cut], data[cut:]
                yield Piece(name, file, line, block, False)
                line += block.count(b"\n")
        if rest:
            yield Piece(name, file, line, rest, False)


def _text_of(piece: Piece) -> str:
    data = piece.data[3:] if piece.first_line == 1 and piece.data.startswith(_BOM) else piece.data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = piece.first_line + data.count(b"\n", 0, exc.start)
        col = exc.start - data.rfind(b"\n", 0, exc.start)
        raise OffresFormatError(
            f"{piece.file}:{line} : pas en UTF-8 ({exc.reason}, colonne {col})"
        ) from exc


def _json_lines(file: Path, text: str, first_line: int) -> Iterator[tuple[int, Any]]:
    """Each line parsed by orjson (a third of the national offers' flattening was the
    standard library's decoder); a line orjson refuses is parsed again by `json`, which
    accepts what orjson does not (NaN, Infinity; half of a UTF-16 pair, which
    `piece_batch` then refuses by line and field) and words the error when the line is
    not JSON. One difference remains: orjson reads an integer beyond 64 bits as
    a float (the API's numbers are counts and coordinates, far below)."""
    for lineno, line in enumerate(text.split("\n"), start=first_line):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _json_error(file, exc, lineno) from exc
        yield lineno, value


def _piece_offers(piece: Piece) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row, offer) pairs of one piece; row = line (JSON lines) or position in `resultats`.

    A `.json` file is a search response (`{"resultats": [...]}`), a list of offers, or a
    single offer; if it holds several documents it is read as JSON lines. A file that is
    none of these raises OffresFormatError naming the file and line.
    """
    file, text = piece.file, _text_of(piece)
    rows: Iterable[tuple[int, Any]]
    if piece.document:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                raise _json_error(file, exc) from exc
            rows = _json_lines(file, text, 1)
        else:
            rows = _document_rows(file, doc)
    else:
        rows = _json_lines(file, text, piece.first_line)
    for row, offer in rows:
        if not isinstance(offer, dict):
            raise OffresFormatError(
                f"{file}:{row} : objet offre attendu, reçu {type(offer).__name__}"
            )
        yield row, offer


def iter_offers(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row, offer) pairs of one file, streamed a block at a time (see `_piece_offers`)."""
    for piece in _pieces(Path(file)):
        yield from _piece_offers(piece)


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


def piece_batch(piece: Piece) -> pa.RecordBatch:
    """The flat offers of one piece (run in a worker process: module level, picklable)."""
    buf: dict[str, list[Any]] = {c: [] for c in SCHEMA.names}
    for row, offer in _piece_offers(piece):
        for col, value in flatten_offer(offer).items():
            buf[col].append(value)
        buf["_file"].append(piece.name)
        buf["_row"].append(row)
    try:
        return pa.RecordBatch.from_pydict(buf, schema=SCHEMA)
    except UnicodeEncodeError as exc:  # a JSON escape of half a UTF-16 pair ("\ud800")
        raise _unencodable(piece, buf) from exc


def _unencodable(piece: Piece, buf: dict[str, list[Any]]) -> OffresFormatError:
    """The first value of a piece that is not valid Unicode text, named by line and field."""
    for col in OFFRE_COLUMNS:
        for i, value in enumerate(buf[col]):
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return OffresFormatError(
                        f"{piece.file}:{buf['_row'][i]} : champ {col} : texte invalide "
                        "(moitié isolée d'une paire UTF-16, échappée en \\uD800-\\uDFFF)"
                    )
    return OffresFormatError(f"{piece.file} : texte invalide (pas en Unicode)")


def read_offres(path: Path, workers: int | None = None) -> Iterator[pa.RecordBatch]:
    """Stream every offer of a file or folder as RecordBatches of SCHEMA, in file order.

    `_file` is the path relative to the source folder (the file name for a single file),
    `_row` the line (JSON lines) or the position in `resultats`. Memory stays bounded by
    a few pieces (`BLOCK_BYTES` of JSON lines, or one search response).

    Flattening is Python, one core per process: a source of at least PARALLEL_MIN_BYTES
    is parsed by `workers` processes (default: one per core), pieces handed out and their
    batches yielded in order, so the rows are the same as on one core.
    """
    path = Path(path)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    size = sum(f.stat().st_size for f in offer_files(path))
    if workers <= 1 or size < PARALLEL_MIN_BYTES:
        for piece in _pieces(path):
            batch = piece_batch(piece)
            if batch.num_rows:
                yield batch
        return
    # spawn, not fork: the parent runs DuckDB and Prefect threads
    ctx = multiprocessing.get_context("spawn")
    yielded = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: deque[Future[pa.RecordBatch]] = deque()
        pieces = _pieces(path)
        try:
            while True:
                for piece in pieces:  # bounded read-ahead: 2 pieces per worker
                    pending.append(pool.submit(piece_batch, piece))
                    if len(pending) >= 2 * workers:
                        break
                if not pending:
                    break
                batch = pending.popleft().result()
                yielded += 1
                if batch.num_rows:
                    yield batch
        except BrokenProcessPool:
            if yielded:
                raise
            # workers that cannot start (a parent whose main module cannot be imported
            # again): read on one core rather than fail the load
            log.warning("offers: worker processes unavailable, reading on one core")
        else:
            return
        finally:
            pool.shutdown(cancel_futures=True)
    yield from read_offres(path, workers=1)


def read_offres_source(path: Path, spec: Any = None) -> Iterator[pa.RecordBatch]:
    """`read_offres` with the ingestion mechanism's reader signature `(path, spec)`."""
    return read_offres(path)
