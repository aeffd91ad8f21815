"""The staging of a source's raw rows: a TEMP table of the rows read, seen through a view.

DuckDB writes a persistent table's rows compressed, which was half of the national
establishments' read (the 43 M rows streamed into a table: 61 s persistent, 41 s TEMP);
read once by the gate, the rules and the build, then dropped, the staged rows need no
compression and no place in the warehouse file (a failed load leaves none behind).

A TEMP table is not compressed, though: every row's file label (`_file`, up to 140
characters for the SIRENE geolocation's `zip!member`) would be stored on every row, about
5.8 GB for the geolocation's 41.7 M rows. The rows are therefore staged in `<name>__rows`
with a small file number (`_file_id`), and `<name>` is a TEMP view giving back `_file`
from the labels of the read: every reader of the staging (gate, rules, quarantine, build
SQL, file cache) sees the columns the readers yield, `_file` included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ciblage.ingest import readers
from ciblage.ingest.readers import stream_schema
from ciblage.ingest.spec import SourceSpec

Progress = Callable[[str, int], None]  # (source, rows read so far)
ROWS = "__rows"  # suffix of the table under a staging view


def staging_name(spec: SourceSpec) -> str:
    return f"stg_{spec.name}"


def empty_staging(con: duckdb.DuckDBPyConnection, spec: SourceSpec, name: str) -> None:
    """A staging table with no row (the tables of a source never loaded are built from it)."""
    cols = ", ".join(f'NULL::VARCHAR AS "{c}"' for c in spec.columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols}, NULL::VARCHAR AS _file, "
        "NULL::BIGINT AS _row, NULL::VARCHAR AS _partition LIMIT 0"
    )


def drop_staging(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop staging `name`, a view over `name__rows` (a read) or a table (an assembled or
    empty staging); DuckDB refuses `DROP TABLE` on a view and the reverse."""
    (views,) = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?", [name]
    ).fetchall()[0]
    con.execute(f"DROP VIEW IF EXISTS {name}" if views else f"DROP TABLE IF EXISTS {name}")
    con.execute(f"DROP TABLE IF EXISTS {name}{ROWS}")


def read_into(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    folder: Path,
    paths: list[Path],
    name: str,
    progress: Progress | None,
    keep: str | None = None,
) -> tuple[list[readers.Reject], int]:
    """Stream `paths` (the source `folder` itself, or files of it) into staging `name`, the
    rows where `keep` holds (an SQL predicate; None: all); returns the malformed lines and
    the number of rows streamed. A file read alone is labelled `_file` by its path in the
    folder, as a read of the folder labels it."""
    errors: list[BaseException] = []
    rejects: list[readers.Reject] = []
    labels: dict[str, int] = {}  # file label -> _file_id, in the order read
    seen = 0
    yielded = stream_schema(spec)
    schema = yielded.set(yielded.get_field_index("_file"), pa.field("_file_id", pa.int32()))

    def numbered(batch: pa.RecordBatch, label: str | None) -> pa.RecordBatch:
        """`_file` replaced by its number; `label`: the name of a file read alone, which
        labels all its rows (the reader's own labels are then not looked up)."""
        i = batch.schema.get_field_index("_file")
        if label is not None:
            n = labels.setdefault(label, len(labels))
            ids = pa.array(np.full(batch.num_rows, n, dtype=np.int32))
        else:
            files = batch.column(i)
            if not pa.types.is_dictionary(files.type):  # the offers' reader: plain strings
                files = pc.dictionary_encode(files)
            # the few values of the dictionary are numbered, not every row
            values = files.dictionary.to_pylist()
            for file_label in values:
                labels.setdefault(file_label, len(labels))
            ids = pa.array([labels[v] for v in values], pa.int32()).take(files.indices)
        return batch.set_column(i, "_file_id", ids)

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal seen
        try:
            for p in paths:
                label = None if p == folder else p.relative_to(folder).as_posix()
                first_reject = len(rejects)
                for batch in spec.reader(p, spec):
                    seen += batch.num_rows
                    if progress:
                        progress(spec.name, seen)
                    yield numbered(batch, label)
                if label is not None:  # the reader names a file read alone by its name
                    rejects[first_reject:] = [(label, *r[1:]) for r in rejects[first_reject:]]
        except BaseException as exc:  # DuckDB would only keep the message
            errors.append(exc)
            raise

    stream = pa.RecordBatchReader.from_batches(schema, batches())
    part = f", ({spec.partition})::VARCHAR AS _partition" if spec.partition else ""
    readers.collect_rejects(rejects)
    con.complete()  # DuckDB 2: a half-fetched earlier result would block register()
    drop_staging(con, name)  # an earlier staging of this name may be a table
    con.register("_ingest_stream", stream)
    try:
        where = f" WHERE {keep}" if keep else ""
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name}{ROWS} AS "
            f"SELECT *{part} FROM _ingest_stream{where}"
        )
    except Exception:
        if errors:
            raise errors[0] from None
        raise
    finally:
        readers.collect_rejects(None)
        con.unregister("_ingest_stream")
    _label_view(con, spec, name, list(labels))
    return rejects, seen


def _label_view(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, name: str, labels: list[str]
) -> None:
    """View `name`: the staged rows with `_file` given back from its number, in the
    columns and order the readers yield (plus `_partition`)."""
    quoted = ", ".join("'" + label.replace("'", "''") + "'" for label in labels)
    file = (
        "NULL::VARCHAR"
        if not labels
        else f"{quoted}::VARCHAR"
        if len(labels) == 1
        else f"([{quoted}]::VARCHAR[])[_file_id + 1]"
    )
    cols = ", ".join(f'"{c}"' for c in spec.columns)
    part = ", _partition" if spec.partition else ""
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS "
        f"SELECT {cols}, {file} AS _file, _row{part} FROM {name}{ROWS}"
    )
