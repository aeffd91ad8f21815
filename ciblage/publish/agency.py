"""Everything one agency downloads or opens, written from the run's validated targets.

`write_agency` takes only picklable arguments and reads only the run folder (the lists and
the inputs `write_agency_inputs` computed once from the warehouse), so the publish flow
can fan it out per agency on threads, processes or a Dask cluster.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ciblage import cycle_collector
from ciblage.config import PROJECT_ROOT, load_settings
from ciblage.freshness import source_notices
from ciblage.publish import fmt
from ciblage.publish.exports import list_table, sorted_records, write_csv, write_xlsx
from ciblage.publish.fiche import build_fiches, extras_sql
from ciblage.publish.site import SITE_DIR, write_agency_pages
from ciblage.publish.target_files import link_or_copy, targets_dir, territory_file
from ciblage.publish.widening import short_list_notes, trade_similarity
from ciblage.territories import all_search_terms
from scoring.ranking import RankingOptions

if TYPE_CHECKING:
    import duckdb

AGENCY_LEVEL = "agence"


def agency_rows(run_dir: Path, code: str) -> pl.DataFrame:
    """The agency's rows, read from the one list file the manifest names."""
    files = territory_file(run_dir, AGENCY_LEVEL, code)
    if not files:
        return pl.DataFrame()
    return (
        pl.scan_parquet(files)
        .filter(pl.col("territory_level") == AGENCY_LEVEL, pl.col("territory_code") == code)
        .collect()
    )


RANKING_FILE = "ranking.json"
SUMMARY_FILE = "publish_summary.json"
# What every agency's files need from the warehouse, computed once for the whole run by
# `write_agency_inputs` (one pass over the national tables instead of one per agency);
# removed when the fan-out is done.
AGENCY_INPUTS = ".agency_inputs"
EXTRAS_FILE = "extras.parquet"
META_FILE = "agencies.json"
TRADES_FILE = "trades.parquet"  # trade_similarity: the short lists' close trades


def write_agency_inputs(
    con: duckdb.DuckDBPyConnection,
    run_dir: Path,
    as_of: date,
    threshold: int,
    scores: str = "score_etablissement_rome",
) -> Path:
    """Fiche extras of every listed company per agency (sorted by agency, so one agency's
    read skips the others' row groups), and each agency's search terms and the list
    threshold. `con` holds the ranking's temp tables (target_rank, territory_commune);
    `scores`: the per-ROME scores relation the ranking read (a rerun's own départements).
    With the close trades of every trade (`trade_similarity`), the agencies' files need no
    warehouse connection."""
    folder = run_dir / AGENCY_INPUTS
    folder.mkdir(parents=True, exist_ok=True)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE agency_siret AS SELECT DISTINCT territory_code AS "
        f"agency, siret FROM target_rank WHERE territory_level = '{AGENCY_LEVEL}'"
    )
    con.execute("SET preserve_insertion_order = true")
    extras = extras_sql("agency_siret", as_of, scores)
    con.execute(
        f"COPY (SELECT a.agency, x.* FROM agency_siret a JOIN ({extras}) x USING (siret)"
        f" ORDER BY a.agency, a.siret) TO '{folder / EXTRAS_FILE}' "
        "(FORMAT parquet, ROW_GROUP_SIZE 20000)"
    )
    con.execute("SET preserve_insertion_order = false")
    trade_similarity(con).write_parquet(folder / TRADES_FILE)
    listed = {r[0] for r in con.execute("SELECT DISTINCT agency FROM agency_siret").fetchall()}
    search = all_search_terms(con, AGENCY_LEVEL)
    meta = {
        "threshold": threshold,
        "search": {code: search.get(code, "") for code in sorted(listed)},
    }
    (folder / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return folder


def read_agency_inputs(run_dir: Path, code: str) -> tuple[dict[str, dict[str, Any]], str, int]:
    """(fiche extras by siret, search terms, list threshold) of agency `code`."""
    folder = run_dir / AGENCY_INPUTS
    meta = json.loads((folder / META_FILE).read_text("utf-8"))
    rows = (
        pl.scan_parquet(folder / EXTRAS_FILE)
        .filter(pl.col("agency") == code)
        .select("siret", "top_romes", "etablissements_actifs")
        .collect()
    )
    extras = {
        r["siret"]: {
            "top_romes": r["top_romes"],
            "etablissements_actifs": r["etablissements_actifs"],
        }
        for r in rows.iter_rows(named=True)
    }
    return extras, meta["search"].get(code, ""), int(meta["threshold"])


def similar_trade_pairs(run_dir: Path) -> pl.DataFrame:
    """The run's `trade_similarity`, read once per worker process (every agency's short
    lists use it)."""
    path = run_dir / AGENCY_INPUTS / TRADES_FILE
    st = path.stat()
    return _read_pairs(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=2)
def _read_pairs(path: str, _mtime_ns: int, _size: int) -> pl.DataFrame:
    return pl.read_parquet(path)


def export_stem(code: str, as_of: date) -> str:
    """`liste_2420_2026-11-01`: a file saved on a desktop still says which data it holds."""
    return f"liste_{code}_{as_of.isoformat()}"


def common_context(as_of: date, run_id: str, run_dir: Path | None = None) -> dict[str, Any]:
    """Header values of every page; `model_notice` says when the baseline ranked the lists
    (the model gate refused the model: counselors must know what the order means)."""
    ctx: dict[str, Any] = {"as_of_fr": fmt.fr_date(as_of), "run_id": run_id, "model_notice": None}
    path = run_dir / RANKING_FILE if run_dir is not None else None
    if path is not None and path.is_file():
        ctx["model_notice"] = json.loads(path.read_text("utf-8")).get("notice_fr")
    ctx["source_notices"] = source_notices(run_dir)
    return ctx


def write_agency(
    config: str,
    run_dir: str,
    code: str,
    previous: str | None = None,
    before: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """CSV, XLSX and site pages of one agency; returns what was written.

    `previous`: the last published run folder, `before`: the agency's entry in its summary
    (`published_agencies`, read once by the flow). When everything the agency's files show is
    the same as in that run (its digest, see `agency_digest`), they are linked from it
    instead of written again: a territory rerun or a same-day nightly on unchanged data
    rewrites nothing. The reused pages say which run wrote them. Written with the cycle
    collector paused (`ciblage.cycle_collector`: 12 national agencies, 11.4-11.8 -> 10.0 s)."""
    with cycle_collector.paused():
        return _write_agency(config, run_dir, code, previous, before)


def _write_agency(
    config: str, run_dir: str, code: str, previous: str | None, before: dict[str, Any] | None
) -> dict[str, Any]:
    settings = load_settings(config)
    out = Path(run_dir)
    rows = agency_rows(out, code)
    if rows.is_empty():
        raise ValueError(f"{targets_dir(out)}: no list for agency {code}")
    as_of = rows["as_of"][0]
    opts = RankingOptions.from_settings(settings)
    counts = dict(rows.group_by("code_rome").len().iter_rows())
    extras, search, threshold = read_agency_inputs(out, code)
    notes = short_list_notes(similar_trade_pairs(out), out, code, counts, opts.top_n, threshold)
    common = common_context(as_of, out.name, out)
    digest = agency_digest(rows, extras, notes, search, common)
    if previous and before and before.get("digest") == digest:
        reused = reuse_agency(Path(previous), out, code, before)
        if reused is not None:
            return reused
    records = sorted_records(rows)
    fiches = build_fiches(records, extras)
    name = rows["territory_name"][0]
    folder = out / "agences" / code
    folder.mkdir(parents=True, exist_ok=True)
    stem = export_stem(code, as_of)
    table = list_table(records)
    csv_path = write_csv(rows, folder / f"{stem}.csv", table)
    title = f"{name} ({code}) — entreprises à fort potentiel d'embauche au {fmt.fr_date(as_of)}"
    xlsx_path = write_xlsx(rows, fiches, folder / f"{stem}.xlsx", title, notes, table)
    agency = {
        "code": code,
        "name": name,
        "lists": rows["code_rome"].n_unique(),
        "companies": len(fiches),
        "rows": rows.height,
        "csv": csv_path.name,
        "xlsx": xlsx_path.name,
        "search": search,
    }
    pages = write_agency_pages(out / SITE_DIR, agency, records, fiches, common, notes)
    return {**agency, "pages": pages, "digest": digest}


@lru_cache(maxsize=1)
def code_digest() -> str:
    """The code and texts that shape an agency's files (publish modules, contact and aid
    rules, the site's templates and script, the aids referential): files written by
    another version are never reused."""
    h = hashlib.sha256()
    roots = [Path(__file__).parent, PROJECT_ROOT / "reports" / "templates" / "site"]
    files = [p for r in roots for p in r.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    files += [PROJECT_ROOT / "ciblage" / n for n in ("contacts.py", "aids.py", "territories.py")]
    files += sorted((PROJECT_ROOT / "data" / "aides").glob("*"))
    for path in sorted(set(files)):
        h.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def agency_digest(
    rows: pl.DataFrame,
    extras: dict[str, Any],
    notes: dict[str, Any],
    search: str,
    common: dict[str, Any],
) -> str:
    """sha256 of everything an agency's files show: its target rows (every column, in
    order), the fiche extras, the short-list notes, the search terms, the page header
    (as-of, model and stale-source notices; not the run id) and the code version."""
    import io

    buf = io.BytesIO()
    rows.sort("code_rome", "rank").write_ipc(buf, compression="uncompressed")
    header = {k: v for k, v in common.items() if k != "run_id"}
    h = hashlib.sha256(code_digest().encode())
    h.update(buf.getvalue())
    h.update(json.dumps([extras, notes, search, header], sort_keys=True, default=str).encode())
    return h.hexdigest()


def published_agencies(previous: Path | None, out: Path) -> dict[str, dict[str, Any]]:
    """Agency entries of the `previous` run's summary, by code (none when `out` is that
    run, or it has no summary)."""
    if previous is None or previous.resolve() == out.resolve():
        return {}
    summary = previous / SUMMARY_FILE
    if not summary.is_file():
        return {}
    return {a["code"]: a for a in json.loads(summary.read_text("utf-8"))["agencies"]}


def reuse_agency(
    previous: Path, out: Path, code: str, old: dict[str, Any]
) -> dict[str, Any] | None:
    """`old` (the previous run's entry of agency `code`) with its files linked into `out`;
    None when that run lacks them (the files are then written)."""
    pairs = [(previous / "agences" / code, out / "agences" / code)]
    pairs.append((previous / SITE_DIR / "agences" / code, out / SITE_DIR / "agences" / code))
    if not all(src.is_dir() for src, _ in pairs):
        return None
    for src, dst in pairs:
        shutil.copytree(src, dst, dirs_exist_ok=True, copy_function=link_or_copy)
    return {**old, "reused_from": previous.name}
