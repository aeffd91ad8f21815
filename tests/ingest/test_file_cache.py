"""The file cache of folder sources (ciblage/ingest/file_cache.py) with a reader that
reports malformed lines, as the CSV readers do: their files are never kept, and a file
read alone gets its path in the folder as label, in its rows and in its rejects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from ciblage.ingest import readers
from ciblage.ingest.fingerprint import fingerprint
from ciblage.ingest.load import _stage
from ciblage.ingest.spec import SourceSpec


def text_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.txt"), key=lambda p: p.relative_to(folder).as_posix())


def lines_reader(path: Path, spec: SourceSpec) -> Iterator[pa.RecordBatch]:
    """One row per line; a line `BAD` is reported as malformed. Files are labelled by
    their path in the folder, a file read alone by its name (as the CSV readers do)."""
    for f in text_files(path) if path.is_dir() else [path]:
        label = f.relative_to(path).as_posix() if path.is_dir() else f.name
        values, rows = [], []
        for i, line in enumerate(f.read_text("utf-8").splitlines(), start=1):
            if line == "BAD":
                readers.report_reject(label, i, "ligne illisible", line)
            else:
                values.append(line)
                rows.append(i)
        yield pa.RecordBatch.from_arrays(
            [pa.array(values, pa.string()), pa.array([label] * len(values)), pa.array(rows)],
            names=["v", "_file", "_row"],
        )


SPEC = SourceSpec(
    name="lines", tables=(), columns=("v",), reader=lines_reader, cache_files=text_files
)


def stage(con: duckdb.DuckDBPyConnection, folder: Path) -> tuple[list[tuple], list]:
    files = fingerprint(folder, (), {}, None)["files"]
    rejects, _ = _stage(con, SPEC, folder, "stg_lines", None, files)
    rows = con.execute("SELECT v, _file, _row FROM stg_lines ORDER BY _file, _row").fetchall()
    return rows, rejects


def kept(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT DISTINCT _file FROM file_cache_lines ORDER BY 1").fetchall()


def test_malformed_lines_are_reported_by_every_load_with_the_folder_label(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "lines"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a1\na2\n", "utf-8")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    stage(con, folder)
    assert kept(con) == [("a.txt",)]
    (folder / "sub" / "b.txt").write_text("b1\nBAD\nb3\n", "utf-8")
    rows, rejects = stage(con, folder)
    assert rows == [("a1", "a.txt", 1), ("a2", "a.txt", 2), ("b1", "sub/b.txt", 1),
                    ("b3", "sub/b.txt", 3)]  # fmt: skip
    assert [(r[0], r[1]) for r in rejects] == [("sub/b.txt", 2)]
    # a load with malformed lines keeps nothing it read: the next one reads and reports
    # them again
    assert kept(con) == [("a.txt",)]
    rows_again, rejects_again = stage(con, folder)
    assert (rows_again, rejects_again) == (rows, rejects)
