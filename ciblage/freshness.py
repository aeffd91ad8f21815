"""Which sources the published lists rest on old data for, and since when, in French.

When a source fails to load (or is stale, or its file is missing) the pipeline keeps its
last good load and still publishes (a degraded run, exit 3). Counselors reading a page and
operators reading `ciblage status` or `run_report.md` must then see which data is old and
why, e.g. « Données SIRENE du 01/10/2026 : le chargement du 27/11/2026 a échoué ». The
facts come from `source_load` (one row per load attempt: loaded / unchanged / missing /
stale / failed); the publish stage freezes them in `<run>/sources.json` so that the site
header and the run report of a run say what was true when it was built.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ciblage.publish.fmt import fr_date
from ciblage.warehouse import table_exists

log = logging.getLogger(__name__)

SOURCES_FILE = "sources.json"
PROBLEMS = ("failed", "stale", "missing")
GOOD = ("loaded", "unchanged")
# How counselors call the sources; unknown names are shown as they are.
LABELS = {
    "sirene_etablissement": "SIRENE (établissements)",
    "sirene_unite_legale": "SIRENE (unités légales)",
    "sirene_geoloc": "de géolocalisation SIRENE",
    "dpae_departement": "DPAE par département",
    "dpae_region_na38": "DPAE par région",
    "hires_siret": "d'embauches par établissement",
    "offres": "d'offres d'emploi",
}


def _fr(day: date | datetime | None) -> str:
    return fr_date(day) or "?"


def notice_fr(item: dict[str, Any]) -> str:
    """One French line: which data is kept, from when, and what happened to the new load."""
    label = LABELS.get(item["source"], item["source"])
    last_good = item["last_good"]
    kept = f"Données {label} du {_fr(last_good)}" if last_good else f"Données {label} absentes"
    attempt = _fr(item["failed_at"])
    what = {
        "failed": f"le chargement du {attempt} a échoué",
        "stale": f"le fichier reçu le {attempt} est trop ancien et n'a pas été chargé",
        "missing": f"fichier introuvable au chargement du {attempt}",
    }[item["status"]]
    since = item.get("failing_since")
    if since and since.date() != item["failed_at"].date():
        what += f" (en échec depuis le {_fr(since)})"
    return f"{kept} : {what}"


def stale_sources(
    con: duckdb.DuckDBPyConnection,
    run_ids: list[str] | None = None,
    configured: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Sources whose last load attempt (of `run_ids`, else the latest of all) was not good.

    Each item: source, status, failed_at (that attempt), failing_since (first problem since
    the last good load), last_good (last `loaded` before it, None if never), message,
    notice_fr. An optional source that is simply not configured is a deployment choice,
    not old data: skipped (and, given `configured`, any source not in it).
    """
    if not table_exists(con, "source_load"):
        return []
    scope = "WHERE list_contains($ids, run_id)" if run_ids is not None else ""
    rows = con.execute(
        f"""
        WITH latest AS (
            SELECT source, arg_max(status, loaded_at) AS status, max(loaded_at) AS at,
                   arg_max(message, loaded_at) AS message
            FROM source_load {scope} GROUP BY source
        )
        SELECT l.source, l.status, l.at, l.message,
               (SELECT max(g.loaded_at) FROM source_load g
                 WHERE g.source = l.source AND g.status = 'loaded' AND g.loaded_at < l.at),
               (SELECT min(p.loaded_at) FROM source_load p
                 WHERE p.source = l.source AND p.loaded_at <= l.at AND p.loaded_at > coalesce(
                   (SELECT max(g.loaded_at) FROM source_load g WHERE g.source = l.source
                     AND g.status IN ('loaded', 'unchanged') AND g.loaded_at < l.at),
                   TIMESTAMP '1900-01-01'))
        FROM latest l WHERE l.status IN ('failed', 'stale', 'missing')
        ORDER BY l.source
        """,
        {"ids": run_ids} if run_ids is not None else {},
    ).fetchall()
    out = []
    for source, status, at, message, last_good, since in rows:
        if status == "missing" and "not configured" in (message or ""):
            continue
        if configured is not None and source not in configured:
            continue
        item = {
            "source": source,
            "status": status,
            "failed_at": at,
            "failing_since": since,
            "last_good": last_good,
            "message": message,
        }
        item["notice_fr"] = notice_fr(item)
        out.append(item)
    return out


def configured_sources(settings: Any) -> set[str]:
    """Sources a deployment loads: those of its config plus the required ones."""
    from ciblage.ingest.specs import SPECS

    return set(settings.sources) | {s.name for s in SPECS if s.required}


def write_sources_note(
    settings: Any, run_dir: Path, con: duckdb.DuckDBPyConnection | None = None
) -> dict[str, Any] | None:
    """`sources.json` in the run folder when a source is on old data, else nothing (and an
    older note removed); returns what was written. Read by the site header
    (`source_notices`), the run report and `ciblage status`."""
    from ciblage.warehouse import connect

    own = con is None
    con = con or connect(settings.warehouse, read_only=True)
    try:
        items = stale_sources(con, configured=configured_sources(settings))
    finally:
        if own:
            con.close()
    path = Path(run_dir) / SOURCES_FILE
    if not items:
        path.unlink(missing_ok=True)
        return None
    note = {"sources": items, "notices_fr": [i["notice_fr"] for i in items]}
    path.write_text(json.dumps(note, ensure_ascii=False, indent=1, default=str), "utf-8")
    return note


def source_notices(run_dir: Path | None) -> list[str]:
    """The French notice lines of a run folder (empty when every source was fresh)."""
    path = Path(run_dir) / SOURCES_FILE if run_dir is not None else None
    if path is None or not path.is_file():
        return []
    return list(json.loads(path.read_text("utf-8")).get("notices_fr") or [])


def run_source_notices(
    settings: Any, run_dir: Path, con: duckdb.DuckDBPyConnection | None = None
) -> list[str]:
    """The notices of a run folder for its run report: the note the publish stage wrote
    for the site header (so both say the same), else written now. Never blocks the
    publication: a note that cannot be written is logged, not raised."""
    if not (Path(run_dir) / SOURCES_FILE).is_file():
        try:
            write_sources_note(settings, run_dir, con=con)
        except (duckdb.Error, OSError) as exc:
            log.warning("sources note not written in %s: %s", run_dir, exc)
    return source_notices(run_dir)
