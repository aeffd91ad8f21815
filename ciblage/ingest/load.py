"""Load one source: read -> stage -> quality gate, with quarantine and build beside its
checks (`ciblage.ingest.gate`, `ciblage.ingest.build`) -> atomic swap once it passed.

The previous tables stay in place until the final swap, so a failure at any step leaves
the last good data untouched; every attempt is recorded in `source_load` and `run_ledger`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ciblage import ledger
from ciblage.ingest import file_cache, readers
from ciblage.ingest.build import build, clean_view, drop_new, ensure_tables, swap
from ciblage.ingest.fingerprint import fingerprint
from ciblage.ingest.gate import QualityFailure, is_stale, start_quality_gate
from ciblage.ingest.readers import IngestError
from ciblage.ingest.rules import install_macros, quarantine_rows
from ciblage.ingest.spec import SourceSpec
from ciblage.ingest.staging import Progress, drop_staging, read_into, staging_name
from ciblage.progress import fmt_count
from ciblage.warehouse import run_sql_file, table_exists

log = logging.getLogger(__name__)

DQ_MAX_ROWS = 1_000_000  # quality gate on a sample above this size (see _quality_gate)


# run_ledger's vocabulary (ciblage.ledger); the precise load status is kept in params.
_LEDGER_STATUS = {
    "loaded": ledger.COMPLETED,
    "unchanged": ledger.SKIPPED,
    "missing": ledger.SKIPPED,
    "stale": ledger.SKIPPED,
    "failed": ledger.FAILED,
}


@dataclass
class LoadResult:
    source: str
    status: str  # loaded | unchanged | missing | stale | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str = ""
    file: str | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("extra")
        return d


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Bookkeeping tables and SQL macros the loader relies on."""
    for table in ("quarantine", "source_load", "run_ledger", "dq_result"):
        run_sql_file(con, table)
    install_macros(con)


def last_good(con: duckdb.DuckDBPyConnection, source: str) -> tuple[dict, int] | None:
    row = con.execute(
        "SELECT fingerprint, rows_read FROM source_load WHERE source = ? AND status = 'loaded' "
        "ORDER BY loaded_at DESC LIMIT 1",
        [source],
    ).fetchone()
    return (json.loads(row[0]), int(row[1] or 0)) if row else None


def _stage(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path,
    staging: str,
    progress: Progress | None,
    files: list[dict[str, Any]] | None = None,
    force: bool = False,
    keep: str | None = None,
) -> tuple[list[readers.Reject], int | None]:
    """Stream the file into the staging table; returns malformed lines (rejects) and, when
    `keep` (the spec's history predicate, see `_load`) filtered them, the rows streamed.

    A folder source with `spec.cache_files` reads only the files whose rows are not kept
    in its file cache (`ciblage.ingest.file_cache`; `files`: the fingerprint's files)."""
    if spec.cache_files is None or not path.is_dir() or files is None:
        rejects, streamed = read_into(con, spec, path, [path], staging, progress, keep)
        return rejects, streamed if keep is not None else None
    rejects = file_cache.stage(
        con,
        spec,
        path,
        staging,
        files,
        force,
        lambda paths, table: read_into(con, spec, path, paths, table, progress)[0],
    )
    return rejects, None


def load_source(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path | None,
    *,
    run_id: str,
    as_of: date,
    registry: Mapping[str, SourceSpec],
    progress: Progress | None = None,
    force: bool = False,
    dq_max_rows: int | None = DQ_MAX_ROWS,
    history_start: date | None = None,
) -> LoadResult:
    """Load `spec` from `path` into its tables; never raises for data problems.

    `dq_max_rows`: above this many rows the quality gate validates a sample (None: all).
    `history_start`: a source with a `history` predicate keeps only the rows it needs from
    this day on (None: every row); the day enters the fingerprint, so a later start loads
    the source again, and is recorded with it (`loaded_history_start`).
    """
    t0 = time.monotonic()
    started = datetime.now(UTC).replace(tzinfo=None)
    fp: dict[str, Any] | None = None
    try:
        result, fp = _load(
            con, spec, path, run_id, as_of, registry, progress, force, dq_max_rows, history_start
        )
    except Exception as exc:  # one source failing must not stop the others
        _cleanup(con, spec, run_id)
        expected = isinstance(exc, (IngestError, QualityFailure, duckdb.Error, OSError, ValueError))
        result = LoadResult(spec.name, "failed", message=str(exc) or type(exc).__name__)
        log.error(
            "%s: load failed, previous data kept: %s",
            spec.name,
            exc,
            exc_info=not expected,  # a bug, not a bad file: keep the traceback
        )
    result.file = str(path) if path else None
    result.seconds = round(time.monotonic() - t0, 3)
    if result.status in ("missing", "stale", "failed") and not _has_loaded(con, spec.name):
        try:  # downstream stages may rely on the tables: create them empty
            ensure_tables(con, spec, registry, as_of)
        except (duckdb.Error, FileNotFoundError) as exc:
            log.warning("%s: could not create empty tables: %s", spec.name, exc)
    _record(con, spec, result, fp, run_id, started, as_of)
    return result


def loaded_history_start(con: duckdb.DuckDBPyConnection, source: str) -> date | None:
    """First day of the history `source`'s tables hold (None: every row was loaded)."""
    good = last_good(con, source)
    start = good[0].get("deps", {}).get("history_start") if good else None
    return date.fromisoformat(start) if start else None


def _has_loaded(con: duckdb.DuckDBPyConnection, source: str) -> bool:
    return last_good(con, source) is not None


def _load(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path | None,
    run_id: str,
    as_of: date,
    registry: Mapping[str, SourceSpec],
    progress: Progress | None,
    force: bool,
    dq_max_rows: int | None,
    history_start: date | None = None,
) -> tuple[LoadResult, dict[str, Any] | None]:
    if path is None or not path.exists():
        what = f"fichier introuvable : {path}" if path else "non configurée"
        if spec.required:
            raise IngestError(what, file=str(path) if path else spec.name)
        msg = f"source facultative : {what} ; dernier chargement réussi conservé"
        log.warning("%s: %s", spec.name, msg)
        return LoadResult(spec.name, "missing", message=msg), None
    phases: dict[str, tuple[float, float]] = {}
    clock = [time.monotonic(), time.process_time()]

    def tick(phase: str) -> None:  # (wall, CPU) seconds per phase, for the benchmark and logs
        now = [time.monotonic(), time.process_time()]
        phases[phase] = (round(now[0] - clock[0], 2), round(now[1] - clock[1], 2))
        clock[:] = now

    previous = last_good(con, spec.name)
    deps = {d: (last_good(con, d) or ({"key": "none"}, 0))[0]["key"] for d in spec.depends}
    since = history_start if spec.history else None
    if since is not None:  # another history is another table: load again (and recorded)
        deps["history_start"] = since.isoformat()
    # a forced load hashes every file again (a rewrite keeping size and mtime is then seen)
    fp = fingerprint(path, spec.tables, deps, previous[0] if previous and not force else None)
    tick("fingerprint")
    tables_there = all(table_exists(con, t) for t in spec.tables)
    if not force and previous and previous[0].get("key") == fp["key"] and tables_there:
        return LoadResult(spec.name, "unchanged", message="entrées inchangées : rien à faire"), fp
    staging = staging_name(spec)
    try:
        keep = spec.history.format(since=since.isoformat()) if spec.history and since else None
        rejects, streamed = _stage(con, spec, path, staging, progress, fp["files"], force, keep)
        staged = con.execute(f"SELECT count(*) FROM {staging}").fetchone()[0]
        left_out = streamed - staged if streamed is not None else 0
        rows_read = staged + len(rejects) + left_out
        tick("read")
        prev_rows = previous[1] if previous else None
        # the gate's Great Expectations run in a thread while DuckDB checks the row rules
        # and builds the new tables; they are put in place only once the gate passed
        gate = start_quality_gate(
            con, spec, staging, run_id, prev_rows, path.name, dq_max_rows, rows_apart=left_out
        )
        try:
            tick("quality")
            stale = is_stale(con, spec, staging, as_of)
            if not (stale and previous):
                if rejects:
                    con.executemany(
                        "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                        [
                            [run_id, spec.name, f, r, fld, why, raw]
                            for f, r, fld, why, raw in rejects
                        ],
                    )
                quarantined = quarantine_rows(con, spec, staging, run_id)
                tick("rules")
                clean = clean_view(con, spec, staging, run_id, registry, as_of)
                rows_loaded = con.execute(f"SELECT count(*) FROM {clean}").fetchone()[0]
                # a source with its own check (the DPAE sectors, whose message names the
                # unknown code) builds after it: the check, not the build, says what is wrong
                if spec.validate is None:
                    build(con, spec, clean, as_of)
                    tick("build")
            dq = gate.result(con)  # a failed gate comes first, as when it ran alone
        finally:
            gate.close()
        if spec.validate:  # after the gate, which replaces the run's dq_result rows
            note = spec.validate(con, spec, staging, run_id, path.name)
            dq = "; ".join(m for m in (dq, note) if m)
        tick("quality_wait")
        if stale and previous:
            msg = f"source périmée ({stale}) ; dernier chargement réussi conservé"
            log.warning("%s: %s", spec.name, msg)
            return LoadResult(spec.name, "stale", rows_read=rows_read, message=msg), fp
        if spec.validate is not None:
            build(con, spec, clean, as_of)
            tick("build")
        swap(con, spec)
    finally:
        con.execute(f"DROP VIEW IF EXISTS {staging}__ok")
        drop_staging(con, staging)
        drop_staging(con, f"{staging}__read")  # the file cache's new rows
    history = (
        f"{fmt_count(left_out)} lignes antérieures à l'historique (avant le {since:%d/%m/%Y}) "
        "non chargées"
        if left_out and since
        else ""
    )
    msg = " ; ".join(m for m in (f"périmée : {stale}" if stale else "", history, dq) if m)
    if quarantined:
        log.warning("%s: %d rows quarantined (see table quarantine)", spec.name, quarantined)
    result = LoadResult(spec.name, "loaded", rows_read, rows_loaded, quarantined, message=msg)
    result.extra["phases"] = phases
    result.extra["rows_before_history"] = left_out
    log.info("%s: phase seconds %s", spec.name, phases)
    return result, fp


def _cleanup(con: duckdb.DuckDBPyConnection, spec: SourceSpec, run_id: str) -> None:
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")
    con.execute(f"DROP VIEW IF EXISTS {staging_name(spec)}__ok")
    drop_staging(con, staging_name(spec))
    drop_new(con, spec)
    con.execute("DELETE FROM quarantine WHERE run_id = ? AND source = ?", [run_id, spec.name])


def _record(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    r: LoadResult,
    fp: dict[str, Any] | None,
    run_id: str,
    started: datetime,
    as_of: date,
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        "INSERT INTO source_load VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            spec.name,
            json.dumps(fp) if fp and r.status == "loaded" else (fp or {}).get("key"),
            r.file,
            now,
            r.rows_read,
            r.rows_loaded,
            r.rows_quarantined,
            r.status,
            run_id,
            r.message,
        ],
    )
    ledger.append(
        con,
        run_id=run_id,
        flow="ingest",
        stage="ingest",
        step=spec.name,
        status=_LEDGER_STATUS[r.status],
        started_at=started,
        ended_at=now,
        rows_in=r.rows_read,
        rows_out=r.rows_loaded,
        rows_quarantined=r.rows_quarantined,
        params={"as_of": as_of.isoformat(), "file": r.file, "load_status": r.status},
        message=r.message or None,
    )
