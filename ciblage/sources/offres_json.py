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
import pyarrow.compute as pc

from ciblage import cycle_collector
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


# (column, block, key): each flat column's source (block None: the offer itself), one table
# for `flatten_offer` and `piece_batch` (a column at a time), so they cannot drift apart.
FIELDS: tuple[tuple[str, str | None, str], ...] = (
    ("offre_id", None, "id"),
    ("date_creation", None, "dateCreation"),
    ("date_actualisation", None, "dateActualisation"),
    ("intitule", None, "intitule"),
    ("code_rome", None, "romeCode"),
    ("appellation", None, "appellationlibelle"),
    ("code_commune", "lieuTravail", "commune"),
    ("code_postal", "lieuTravail", "codePostal"),
    ("lieu_libelle", "lieuTravail", "libelle"),
    ("latitude", "lieuTravail", "latitude"),
    ("longitude", "lieuTravail", "longitude"),
    ("entreprise_nom", "entreprise", "nom"),
    ("entreprise_siret", "entreprise", "siret"),
    ("entreprise_adaptee", "entreprise", "entrepriseAdaptee"),
    ("secteur_activite", None, "secteurActivite"),
    ("type_contrat", None, "typeContrat"),
    ("nature_contrat", None, "natureContrat"),
    ("nombre_postes", None, "nombrePostes"),
)
_NO_BLOCK: dict[str, Any] = {}


def _block(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else _NO_BLOCK


def flatten_offer(offer: dict[str, Any]) -> dict[str, str | None]:
    """One API offer as the flat `offre` columns (strings, None when absent)."""
    blocks = {None: offer, "lieuTravail": _block(offer.get("lieuTravail"))}
    blocks["entreprise"] = ent = _block(offer.get("entreprise"))
    flat = {col: _text(blocks[block].get(key)) for col, block, key in FIELDS}
    # only the company's own channels, never contact.nom (see ciblage/contacts.py)
    return {**flat, **public_contact(offer.get("contact"), ent)}


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


def _texts(values: list[Any]) -> pa.Array:
    """`_text` of every value, a column at a time: strings go to Arrow whole, trimmed and
    blanked to NULL there (Arrow's whitespace is exactly Python's `str.isspace`, checked
    over every code point); only a column holding other values (numbers, flags) is turned
    into strings value by value. Flattening the national offers a value at a time cost
    11.3–11.5 µs per offer, against 8.5–9.4 now (the same rows)."""
    try:
        arr = pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        arr = pa.array([v if type(v) is str else _text(v) for v in values], pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def piece_batch(piece: Piece) -> pa.RecordBatch:
    """The flat offers of one piece (run in a worker process: module level, picklable):
    `flatten_offer` of each offer, built a column at a time."""
    with cycle_collector.paused():  # 11.9 -> 10.1 µs per national offer, 36.7 -> 31.5 real
        return _piece_batch(piece)


def _piece_batch(piece: Piece) -> pa.RecordBatch:
    rows: list[int] = []
    offers: list[dict[str, Any]] = []
    for row, offer in _piece_offers(piece):
        rows.append(row)
        offers.append(offer)
    blocks: dict[str | None, list[dict[str, Any]]] = {None: offers}
    for name in ("lieuTravail", "entreprise"):
        blocks[name] = [_block(o.get(name)) for o in offers]
    columns: dict[str, pa.Array] = {}
    raw: dict[str, list[Any]] = {}
    try:
        for col, block, key in FIELDS:
            raw[col] = [b.get(key) for b in blocks[block]]
            columns[col] = _texts(raw[col])
        contacts = [
            public_contact(o.get("contact"), e)
            for o, e in zip(offers, blocks["entreprise"], strict=True)
        ]
        for col in CONTACT_COLUMNS:
            raw[col] = [c[col] for c in contacts]
            columns[col] = pa.array(raw[col], pa.string())
    except UnicodeEncodeError as exc:  # a JSON escape of half a UTF-16 pair ("\ud800")
        raise _unencodable(piece, raw, rows) from exc
    columns["_file"] = pa.array([piece.name] * len(rows), pa.string())
    columns["_row"] = pa.array(rows, pa.int64())
    return pa.RecordBatch.from_arrays([columns[c] for c in SCHEMA.names], schema=SCHEMA)


def _unencodable(piece: Piece, raw: dict[str, list[Any]], rows: list[int]) -> OffresFormatError:
    """The first value of a piece that is not valid Unicode text, named by line and field."""
    for col in OFFRE_COLUMNS:
        for i, value in enumerate(raw.get(col, ())):
            text = _text(value)  # a nested value's text holds its strings
            if text is not None:
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    return OffresFormatError(
                        f"{piece.file}:{rows[i]} : champ {col} : texte invalide "
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
