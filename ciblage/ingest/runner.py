"""Resolve where each source comes from and open the warehouse the way ingestion needs it.

Shared by the Prefect flow (`pipelines/ingest.py`), the benchmark and the tests, so that
none of them re-implements the source order or the DuckDB settings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import duckdb

from ciblage.config import Settings
from ciblage.ingest.spec import SourceSpec
from ciblage.ingest.specs import SPECS
from ciblage.warehouse import connect

log = logging.getLogger(__name__)


def selected_specs(names: Iterable[str] | None = None) -> list[SourceSpec]:
    """Specs in load order, restricted to `names` (unknown names are an error)."""
    if not names:
        return list(SPECS)
    wanted = set(names)
    unknown = wanted - {s.name for s in SPECS}
    if unknown:
        raise ValueError(
            f"source(s) inconnue(s) : {', '.join(sorted(unknown))} ; "
            f"sources connues : {', '.join(s.name for s in SPECS)}"
        )
    return [s for s in SPECS if s.name in wanted]


def resolve_path(settings: Settings, name: str) -> Path | None:
    """Local file of a source: a configured path, or its URL downloaded under raw_dir."""
    src = settings.source(name)
    if src is None:  # shipped referentials (e.g. the DPAE sector table) need no entry
        spec = next((s for s in SPECS if s.name == name), None)
        return spec.default_path if spec else None
    try:
        from ciblage.sources.download import resolve_source
    except ImportError:
        if src.url:
            raise RuntimeError(
                f"{name} : une source par URL demande ciblage.sources.download"
            ) from None
        return src.path
    return resolve_source(settings, name)


# The staged raw rows are a TEMP table (`ciblage.ingest.staging`): in memory up to
# DuckDB's limit, spilled to disk beyond it. All of France stages 22 M establishments
# (several GB uncompressed): at 4GB the spilled rows made the rules and the build slower
# than the staging got faster; at 8GB the four SIRENE and hires loads took 246 s instead
# of 284, peak RSS 8.6 GiB; 6GB was slower again (README "Fifteenth national measurement").
INGEST_MEMORY_LIMIT = "8GB"


def open_warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Warehouse connection with the [ingest] memory/threads settings (national scale)."""
    con = connect(settings.warehouse)
    opts = settings.section("ingest")
    con.execute(f"SET memory_limit = '{opts.get('memory_limit', INGEST_MEMORY_LIMIT)}'")
    if opts.get("threads"):
        con.execute(f"SET threads = {int(opts['threads'])}")
    tmp = opts.get("temp_directory")
    if tmp:
        con.execute(f"SET temp_directory = '{tmp}'")
    return con
