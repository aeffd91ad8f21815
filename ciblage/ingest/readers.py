"""Readers turn one source file into a stream of all-string Arrow record batches.

Every reader has the signature `(path, spec) -> Iterator[pyarrow.RecordBatch]` and yields
the spec's `columns` (VARCHAR, empty field -> NULL) plus `_file` (file name, as strings or
dictionary-encoded) and `_row` (the line a user sees in a text editor, header = line 1:
the first data row of a CSV is line 2; Parquet has no lines: its 1-based row), so that any
later error or quarantined row names its file, line and field. Nothing is ever loaded
whole: CSVs are parsed block by block (zip members are streamed, never extracted), Parquet
is scanned with column projection.

Rows the CSV parser cannot split (wrong number of fields) are not fatal: they are sent
to `report_reject` with their line and, for a short line, the first field it lacks;
the loader turns them into quarantine rows.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ciblage.ingest.zip_member import open_member

if TYPE_CHECKING:
    from ciblage.ingest.specs import SourceSpec

log = logging.getLogger(__name__)
BLOCK_SIZE = 16 << 20  # bytes per CSV block: large blocks parse faster, memory stays bounded
MAX_REJECTS = 1000  # beyond this many malformed lines the file is not the expected format


class IngestError(Exception):
    """A source file cannot be read as its official format (names file, row, field)."""

    def __init__(
        self, message: str, *, file: str | None = None, row: int | None = None, field=None
    ):
        where = ", ".join(
            p
            for p in (
                f"fichier {file}" if file else "",
                f"ligne {row}" if row is not None else "",
                f"champ {field!r}" if field else "",
            )
            if p
        )
        # the user reads it (ingest table, a run's last line): French, like `message`
        super().__init__(f"{where} : {message}" if where else message)
        self.file, self.row, self.field = file, row, field


# (file, line, field, reason, raw line) of malformed lines, collected by the loader during a
# read. A plain module global, not a ContextVar: DuckDB pulls the batches from its own threads.
Reject = tuple[str, int | None, str | None, str, str]
_reject_sink: list[Reject] | None = None


def collect_rejects(sink: list[Reject] | None) -> None:
    """Route `report_reject` calls to `sink` (None: malformed lines become errors)."""
    global _reject_sink
    _reject_sink = sink


def report_reject(
    file: str, row: int | None, reason: str, raw: str, field: str | None = None
) -> bool:
    """Hand a malformed line to the loader's quarantine; False when it must be fatal."""
    sink = _reject_sink
    if sink is None or len(sink) >= MAX_REJECTS:
        return False
    sink.append((file, row, field, reason, raw))
    return True


def normalise_label(label: str) -> str:
    """'Grand secteur d'activité' -> 'grand_secteur_d_activite' (Opendatasoft field style)."""
    s = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


def _with_position(batch: pa.RecordBatch, file: str, first_row: int) -> pa.RecordBatch:
    n = batch.num_rows
    return pa.RecordBatch.from_arrays(
        [*batch.columns, _repeat(file, n), pa.array(np.arange(first_row, first_row + n))],
        names=[*batch.schema.names, "_file", "_row"],
    )


def _repeat(value: str, n: int) -> pa.DictionaryArray:
    """`value` n times, dictionary-encoded: written out as strings, a file's label was
    copied once per row, then hashed row by row to number the files (0.04 s per million
    rows, on the thread feeding the warehouse: the 43 M national establishments' read
    40.4 / 41.1 -> 39.5 / 39.7 s)."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([value]))


def stream_schema(spec: SourceSpec) -> pa.Schema:
    """Schema every reader yields for `spec` (the loader needs it before the first batch);
    the CSV, Parquet and NAF readers yield `_file` dictionary-encoded, of these strings."""
    return pa.schema(
        [(c, pa.string()) for c in spec.columns] + [("_file", pa.string()), ("_row", pa.int64())]
    )


# ---- CSV -------------------------------------------------------------------------------


def _header_names(stream: io.BufferedReader, file: str, spec: SourceSpec) -> list[str]:
    """Read and check the header line; leaves `stream` positioned after the BOM only."""
    head = stream.peek(1 << 16)[: 1 << 16]
    if head.startswith(b"\xef\xbb\xbf"):
        stream.read(3)
        head = head[3:]
    if not head.strip():  # else « missing columns; header has 0 columns »: not the problem
        raise IngestError("fichier vide (ni en-tête ni données)", file=file, row=1)
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"en-tête pas en UTF-8 ({exc.reason} à l'octet {exc.start}) ; fichier UTF-8 attendu",
            file=file,
            row=1,
        ) from exc
    names = next(csv.reader([text], delimiter=spec.delimiter), [])
    if len(names) <= 1:
        for other in (";", ",", "\t", "|"):
            if other != spec.delimiter and other in text:
                raise IngestError(
                    f"mauvais séparateur : {spec.delimiter!r} attendu mais l'en-tête est séparé "
                    f"par {other!r}",
                    file=file,
                    row=1,
                )
    if spec.labels:
        by_norm = {normalise_label(lbl): f for f, lbl in spec.labels.items()}
        by_norm.update({normalise_label(f): f for f in spec.labels})
        names = [by_norm.get(normalise_label(n), n) for n in names]
    if spec.header and tuple(names) != tuple(spec.header):
        # Columns the pipeline does not read may come and go between INSEE vintages.
        gone = [c for c in spec.header if c not in names]
        extra = [c for c in names if c not in spec.header]
        log.warning(
            "%s: header differs from the official format (missing: %s; extra: %s%s)",
            file,
            ", ".join(gone) or "-",
            ", ".join(extra) or "-",
            "; order differs" if not gone and not extra else "",
        )
    missing = [c for c in spec.columns if c not in names]
    if missing:
        raise IngestError(
            f"colonne(s) manquante(s) {', '.join(missing)} ; l'en-tête a {len(names)} colonnes : "
            f"{', '.join(names[:8])}{', ...' if len(names) > 8 else ''}",
            file=file,
            row=1,
            field=missing[0],
        )
    return names


def _first_bad_utf8(open_raw: Callable[[], IO[bytes]], file: str, delimiter: str):
    """Locate the first line that is not UTF-8 (only run after the parser refused one)."""
    with open_raw() as raw:
        header = None
        for i, line in enumerate(raw):
            if header is None:
                header = line.decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n")
                header = next(csv.reader([header], delimiter=delimiter), [])
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                cells = line.split(delimiter.encode())
                col = next((j for j, c in enumerate(cells) if _not_utf8(c)), 0)
                name = header[col] if col < len(header) else f"#{col + 1}"
                return i + 1, name, line[:200]  # i counts from 0 = the header, line 1
    return None


def _locate_lines(open_raw: Callable[[], IO[bytes]], texts: list[str]) -> list[int | None]:
    """Editor line numbers (header = 1) of malformed lines, given in file order.

    Only run when a file has malformed lines: one more pass over it, matching each
    line's text (its first physical line when a quoted value spans lines).
    """
    wanted = [t.split("\n", 1)[0].rstrip("\r") for t in texts]
    found: list[int | None] = []
    with open_raw() as raw:
        for number, line in enumerate(raw, start=1):
            if len(found) == len(wanted):
                break
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if number > 1 and text == wanted[len(found)]:
                found.append(number)
    return found + [None] * (len(wanted) - len(found))


def _not_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def csv_batches(
    open_raw: Callable[[], IO[bytes]], file: str, spec: SourceSpec
) -> Iterator[pa.RecordBatch]:
    """Parse one CSV byte stream as `spec` says; `open_raw` may be called again on errors."""
    with open_raw() as raw:
        stream = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, 1 << 20)
        names = _header_names(stream, file, spec)
        wanted = list(spec.columns)
        # Column names are given explicitly (labels mapped), so skip the header line.
        seen = 0

        fatal: list[IngestError] = []
        # (line or None, field, reason, text): pyarrow's streaming reader does not know the
        # line of a malformed row, so it is located once the file has been read.
        pending: list[tuple[int | None, str | None, str, str]] = []

        def on_invalid(row: Any) -> str:
            # Exceptions raised here are swallowed by pyarrow: record and answer "error".
            reason = f"{row.actual_columns} champs au lieu de {row.expected_columns}"
            # A short line lacks its first absent field; a long one has no single culprit.
            field = names[row.actual_columns] if row.actual_columns < len(names) else None
            sink = _reject_sink
            if sink is not None and len(sink) + len(pending) < MAX_REJECTS:
                pending.append((row.number, field, reason, row.text))
                return "skip"
            if sink is not None:
                reason = f"more than {MAX_REJECTS} malformed lines ({reason}): not this format"
            line = row.number or _locate_lines(open_raw, [row.text])[0]
            fatal.append(IngestError(f"{reason}: {row.text[:200]!r}", file=file, row=line))
            return "error"

        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    column_names=names, skip_rows=1, block_size=BLOCK_SIZE
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=spec.delimiter,
                    newlines_in_values=spec.newlines_in_values,
                    invalid_row_handler=on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    include_columns=wanted,
                    column_types={c: pa.string() for c in wanted},
                    strings_can_be_null=True,
                    null_values=[""],
                    quoted_strings_can_be_null=True,
                ),
            )
            for batch in reader:
                # header = line 1; one line per record (a value spanning lines shifts this)
                yield _with_position(batch, file, seen + 2)
                seen += batch.num_rows
            if pending:
                unknown = [p[3] for p in pending if p[0] is None]
                located = iter(_locate_lines(open_raw, unknown) if unknown else [])
                for line, field, reason, text in pending:
                    line = line if line is not None else next(located)
                    report_reject(file, line, reason, text[:2000], field)
        except pa.ArrowInvalid as exc:
            if fatal:
                raise fatal[0] from exc
            msg = str(exc)
            if "UTF8" in msg or "utf8" in msg.lower():
                bad = _first_bad_utf8(open_raw, file, spec.delimiter)
                if bad:
                    row, name, text = bad
                    raise IngestError(
                        f"UTF-8 invalide (le fichier doit être encodé en UTF-8) : {text!r}",
                        file=file,
                        row=row,
                        field=name,
                    ) from exc
            raise IngestError(
                f"CSV illisible après la ligne {seen + 1} : {msg}", file=file
            ) from exc
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise IngestError(
                f"archive tronquée ou corrompue après la ligne {seen + 1} : {exc}", file=file
            ) from exc


def _zip_member(zf: zipfile.ZipFile, path: Path, spec: SourceSpec) -> str:
    names = [n for n in zf.namelist() if not n.endswith("/")]
    if spec.member and spec.member in names:
        return spec.member
    csvs = [n for n in names if n.lower().endswith((".csv", ".txt"))]
    if len(csvs) == 1:
        return csvs[0]
    raise IngestError(
        f"membre {spec.member or '*.csv'} attendu dans le zip, trouvé : "
        f"{', '.join(names) or 'aucun'}",
        file=path.name,
    )


def read_zip_csv(path: Path, spec: SourceSpec) -> Iterator[pa.RecordBatch]:
    """A zipped CSV (SIRENE stock files), streamed from the archive member."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(f"archive zip tronquée ou corrompue : {exc}", file=path.name) from exc
    with zf:
        member = _zip_member(zf, path, spec)
        label = f"{path.name}!{member}"
        yield from csv_batches(lambda: open_member(zf, path, member), label, spec)


def read_csv(path: Path, spec: SourceSpec) -> Iterator[pa.RecordBatch]:
    """A plain CSV file (referentials, Opendatasoft exports, per-SIRET hires)."""
    yield from csv_batches(lambda: open(path, "rb", buffering=1 << 20), path.name, spec)  # noqa: SIM115


def read_parquet(path: Path, spec: SourceSpec) -> Iterator[pa.RecordBatch]:
    """Parquet file or folder (SIRENE's Parquet edition), column-projected, cast to string."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(path, format="parquet")
    names = dataset.schema.names
    missing = [c for c in spec.columns if c not in names]
    if missing:
        raise IngestError(
            f"colonne(s) manquante(s) {', '.join(missing)} dans le schéma Parquet",
            file=path.name,
            field=missing[0],
        )
    for fragment in dataset.get_fragments():
        label = Path(fragment.path).name
        seen = 0
        for batch in fragment.to_batches(columns=list(spec.columns), batch_size=1 << 18):
            cols = [_as_string(batch.column(c)) for c in spec.columns]
            yield _with_position(
                pa.RecordBatch.from_arrays(cols, names=list(spec.columns)), label, seen + 1
            )
            seen += batch.num_rows


def _as_string(arr: pa.Array) -> pa.Array:
    if pa.types.is_string(arr.type):
        return arr
    if pa.types.is_boolean(arr.type):
        return pa.compute.if_else(arr, "true", "false")
    if pa.types.is_dictionary(arr.type):
        return arr.cast(arr.type.value_type).cast(pa.string())
    return arr.cast(pa.string())


def read_tabular(path: Path, spec: SourceSpec) -> Iterator[pa.RecordBatch]:
    """Dispatch on the file: `.zip` (CSV member), `.parquet` or a folder, else plain CSV."""
    if path.is_dir() or path.suffix.lower() == ".parquet":
        return read_parquet(path, spec)
    if path.suffix.lower() == ".zip":
        return read_zip_csv(path, spec)
    return read_csv(path, spec)


# ---- NAF aggregation table shipped as SQL INSERTs ---------------------------------------

_TUPLE = re.compile(r"\(\s*(\d+)\s*,((?:\s*'(?:[^']|'')*'\s*,?)+)\)")
_STRING = re.compile(r"'((?:[^']|'')*)'")


def read_naf_sql(path: Path, spec: SourceSpec) -> Iterator[pa.RecordBatch]:
    """INSEE's NAF aggregation table as `INSERT INTO "naf" (...) VALUES (...)` statements.

    The values' order is taken from the INSERT's column list, not assumed.
    """
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise IngestError("fichier vide (aucune instruction INSERT)", file=path.name, row=1)
    m = re.search(r'INSERT INTO\s+"?naf"?\s*\(([^)]*)\)\s*VALUES', text, re.IGNORECASE)
    if not m:
        raise IngestError("aucune instruction INSERT INTO naf (...) VALUES trouvée", file=path.name)
    cols = [c.strip().strip('"') for c in m.group(1).split(",")][1:]  # drop the id
    missing = [c for c in spec.columns if c not in cols]
    if missing:
        raise IngestError(f"colonne(s) manquante(s) {', '.join(missing)}", file=path.name)
    rows, lines = [], []
    line, pos = 1, 0
    for t in _TUPLE.finditer(text, m.end()):
        line, pos = line + text.count("\n", pos, t.start()), t.start()  # editor line
        values = [v.replace("''", "'") for v in _STRING.findall(t.group(2))]
        if len(values) != len(cols):
            reason = f"{len(values)} valeurs au lieu de {len(cols)}"
            if not report_reject(path.name, line, reason, t.group(0)[:500]):
                raise IngestError(reason, file=path.name, row=line)
            continue
        rows.append(dict(zip(cols, values, strict=True)))
        lines.append(line)
    table = pa.table({c: pa.array([r[c] or None for r in rows], pa.string()) for c in spec.columns})
    n = table.num_rows
    yield pa.RecordBatch.from_arrays(
        [
            *(table.column(c).combine_chunks() for c in spec.columns),
            _repeat(path.name, n),
            pa.array(lines, pa.int64()),
        ],
        names=[*spec.columns, "_file", "_row"],
    )
