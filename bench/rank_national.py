"""Benchmark: rank the national population (16 M active establishments) into target lists.

The brief asks for the national stock to be ingested, scored *and ranked* on one 2-core
machine, and for a one-département rerun in seconds. This script builds a national-size
warehouse from the sample's real referentials (every COG commune, bassin and département,
the NAF x ROME shares) and the sample's establishments as templates (N establishments
spread over the 34,920 communes, N/2 legal units, one score per establishment and one per
ROME of its NAF as `ciblage score` writes them, the sample's model and feature rows as
templates of the features the lists' reasons read), then times what `ciblage publish` runs
the publish stage's ranking as it runs (partitioned ranking, list files written by
DuckDB's COPY, the per-agency inputs) for every territory (département, bassin, agency =
bassin) and for one département, printing wall time, CPU, peak RSS, rows, lists and file
size; then it times `--agencies` agencies' files (CSV, XLSX, site pages) at national
density and extrapolates the per-agency fan-out.

    python bench/rank_national.py --rows 16000000      # national
    python bench/rank_national.py --rows 1000000       # development size
    python bench/rank_national.py --territories dep:45 # an analyst's rerun only

Needs a warehouse with the sample's referentials (`make demo`, or `ciblage ingest`):
`--source` (default: the configured warehouse).
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ciblage.config import PROJECT_ROOT, load_settings
from ciblage.publish.agency import write_agency, write_agency_inputs
from ciblage.publish.target_files import targets_files
from ciblage.publish.targets import copy_targets, targets_summary
from ciblage.territories import parse_territory
from scoring.ranking import (
    ESTABLISHMENTS_VIEW,
    SCORES_VIEW,
    RankingOptions,
    build_target_list,
    prepare_ranking,
    rank_all,
)
from scoring.reason_table import ReasonSettings


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def build(con: duckdb.DuckDBPyConnection, source: Path, rows: int) -> str:
    """National-size establishment, legal-unit and score tables; returns the scores' as-of."""
    con.execute(f"ATTACH '{source.as_posix()}' AS src (READ_ONLY)")
    refs = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' "
            "AND (table_name LIKE 'ref\\_%' ESCAPE '\\' OR table_name IN ('offre', "
            "'offre_siret_link'))"
        ).fetchall()
    ]
    for t in refs:
        con.execute(f"CREATE TABLE {t} AS SELECT * FROM src.{t}")
    con.execute(
        "CREATE TABLE model_registry AS SELECT * FROM src.model_registry "
        "ORDER BY as_of DESC, trained_at DESC LIMIT 1"
    )
    as_of = con.execute("SELECT max(as_of) FROM src.score_etablissement").fetchone()[0]
    if as_of is None:
        raise SystemExit(f"{source}: no scores; run `make demo` (or `ciblage run`) first")
    con.execute(
        """CREATE TEMP TABLE communes AS SELECT code_commune, code_departement, libelle,
        row_number() OVER (ORDER BY code_commune) - 1 AS i
        FROM ref_commune WHERE code_bassin IS NOT NULL"""
    )
    con.execute(
        """CREATE TEMP TABLE etab_t AS SELECT * EXCLUDE (siret, siren, code_commune,
        code_departement, libelle_commune), row_number() OVER (ORDER BY siret) - 1 AS j
        FROM src.etablissement WHERE etat_administratif = 'A' AND is_diffusible"""
    )
    con.execute(
        """CREATE TEMP TABLE ul_t AS SELECT * EXCLUDE (siren),
        row_number() OVER (ORDER BY siren) - 1 AS j FROM src.unite_legale
        WHERE is_diffusible"""
    )
    nc, ne, nu = (
        con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("communes", "etab_t", "ul_t")
    )
    con.execute(
        f"""CREATE TABLE etablissement AS
        SELECT lpad(CAST(100000000 + r.i // 2 AS VARCHAR), 9, '0')
                 || lpad(CAST(r.i % 100000 AS VARCHAR), 5, '0') AS siret,
               lpad(CAST(100000000 + r.i // 2 AS VARCHAR), 9, '0') AS siren,
               t.* EXCLUDE (j), c.code_commune, c.libelle AS libelle_commune,
               c.code_departement
        FROM range({rows}) r(i)
        JOIN communes c ON c.i = hash(r.i) % {nc}
        JOIN etab_t t ON t.j = hash(r.i + 7919) % {ne}"""
    )
    con.execute(
        f"""CREATE TABLE unite_legale AS
        SELECT lpad(CAST(100000000 + r.i AS VARCHAR), 9, '0') AS siren, t.* EXCLUDE (j)
        FROM range({(rows + 1) // 2}) r(i) JOIN ul_t t ON t.j = hash(r.i) % {nu}"""
    )
    con.execute(
        f"""CREATE TABLE score_etablissement AS
        SELECT DATE '{as_of}' AS as_of, siret,
               -ln(1 - least(u, 0.995)) * 2 AS expected_hires, u AS p_hire,
               CAST(round(100 * u) AS INTEGER) AS hiring_potential,
               CASE WHEN u < 0.10 THEN 1 WHEN u < 0.25 THEN 2 WHEN u < 0.5 THEN 3
                    WHEN u < 0.75 THEN 4 ELSE 5 END AS stars,
               m.model_id, m.label_mode
        FROM (SELECT siret, pow((hash(siret) % 1000000) / 1e6, 3) AS u FROM etablissement),
             model_registry m"""
    )
    # the lists compute their reasons from the features and the model that wrote the
    # scores (scoring/reason_table.py): the sample's model, and its feature rows as
    # templates of the national establishments'
    con.execute(
        """CREATE TEMP TABLE feat_t AS SELECT * EXCLUDE (as_of, siret, siren,
        code_departement, naf_code), row_number() OVER (ORDER BY siret) - 1 AS j
        FROM src.feature_etablissement"""
    )
    nf = con.execute("SELECT count(*) FROM feat_t").fetchone()[0]
    con.execute(
        f"""CREATE TABLE feature_etablissement AS
        SELECT DATE '{as_of}' AS as_of, e.siret, e.siren, e.code_departement, e.naf_code,
               t.* EXCLUDE (j)
        FROM etablissement e JOIN feat_t t ON t.j = hash(e.siret) % {nf}"""
    )
    con.execute(
        """CREATE TABLE score_etablissement_rome AS
        SELECT s.as_of, s.siret, e.code_departement, nr.code_rome,
               s.expected_hires * nr.share_of_naf AS expected_hires,
               CAST(round(100 * (1 - exp(-s.expected_hires * nr.share_of_naf))) AS INTEGER)
                 AS hiring_potential,
               1 AS stars
        FROM score_etablissement s JOIN etablissement e USING (siret)
        JOIN ref_naf_rome nr ON nr.naf_code = e.naf_code
        ORDER BY e.code_departement, s.siret, nr.code_rome"""
    )
    con.execute("DETACH src")
    return str(as_of)


def timed(label: str, fn: Callable[[], Path]) -> None:
    t0, c0 = time.perf_counter(), cpu_s()
    path = fn()
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    counts = targets_summary(path)
    files = targets_files(path)
    rows = pl.scan_parquet(files).select(pl.len()).collect().item()
    size = sum(f.stat().st_size for f in files) / 1024**2
    print(
        f"{label:<28} {wall:8.1f} s wall {cpu:8.1f} CPU-s  {rows:>11,} rows "
        f"{counts['lists']:>9,} lists {len(counts['agencies']):>5} agencies "
        f"targets {size:,.0f} MiB  peak RSS so far {rss_gib():.2f} GiB"
    )


def rank_to_folder(
    con: duckdb.DuckDBPyConnection, settings: Any, d: date, territory: str, out: Path
) -> Path:
    """What the publish stage runs before the per-agency files: partitioned ranking,
    the list files written by COPY per partition, the per-agency inputs."""
    opts = RankingOptions.from_settings(settings)
    out.mkdir(parents=True, exist_ok=True)
    rank_all(con, prepare_ranking(con, settings, d, parse_territory(territory), opts), d, opts)
    reasons = ReasonSettings.from_settings(settings)
    build_target_list(con, "target_rank", d, opts.last_offers, ESTABLISHMENTS_VIEW, reasons=reasons)
    copy_targets(con, out)
    write_agency_inputs(con, out, d, opts.threshold("hires_siret"), SCORES_VIEW)
    return out


def agencies_sample(config: Path, out: Path, k: int) -> None:
    """Time `k` agencies' files (CSV, XLSX, site pages) at national density: the
    per-agency cost times the agencies gives the fan-out's CPU."""
    codes = targets_summary(out)["agencies"]
    picked = codes[:: max(len(codes) // k, 1)][:k]
    walls, rows, files = [], 0, 0
    for code in picked:
        t0 = time.perf_counter()
        r = write_agency(str(config), str(out), code)
        walls.append(time.perf_counter() - t0)
        rows += r["rows"]
        files += r["pages"] if isinstance(r["pages"], int) else len(r["pages"])
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1024**2
    per = sum(walls) / max(len(walls), 1)
    print(
        f"agency files, {len(picked)} of {len(codes)} agencies: {per:.1f} s each "
        f"({rows / max(len(picked), 1):,.0f} rows, {files / max(len(picked), 1):,.0f} pages "
        f"per agency); all agencies ~ {per * len(codes) / 60:.0f} CPU-min; run folder so far "
        f"{size:,.0f} MiB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=16_000_000, help="active establishments")
    ap.add_argument("--source", type=Path, help="warehouse with the sample's referentials")
    ap.add_argument("--config", type=Path, default=PROJECT_ROOT / "ciblage.toml")
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--territories",
        default="dep:45,all",
        help="comma-separated territories to rank, each timed (all = the nightly's lists)",
    )
    ap.add_argument("--dir", type=Path, help="work folder (default: temporary, removed)")
    ap.add_argument(
        "--agencies", type=int, default=5, help="agencies whose files are timed (0: none)"
    )
    args = ap.parse_args()
    settings = load_settings(args.config)
    source = args.source or settings.warehouse
    if not Path(source).is_file():
        raise SystemExit(f"{source} not found: run `make demo` first or give --source")
    work = args.dir or Path(tempfile.mkdtemp(prefix="ciblage-bench-rank-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(work / "national.duckdb"))
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
        con.execute(f"SET threads = {args.threads}")
        con.execute("SET preserve_insertion_order = false")
        t0 = time.perf_counter()
        as_of = build(con, Path(source), args.rows)
        n_rome = con.execute("SELECT count(*) FROM score_etablissement_rome").fetchone()[0]
        print(
            f"built {args.rows:,} establishments, {n_rome:,} per-ROME scores "
            f"in {time.perf_counter() - t0:.0f} s (not timed below)"
        )
        d = date.fromisoformat(as_of)
        for territory in args.territories.split(","):
            out = work / "runs" / territory.replace(":", "_")
            timed(territory, lambda t=territory, o=out: rank_to_folder(con, settings, d, t, o))
        con.close()
        if args.agencies:
            cfg = work / "ciblage.toml"
            text = args.config.read_text(encoding="utf-8")
            wh = (work / "national.duckdb").as_posix()
            text = re.sub(r"(?m)^warehouse = .*$", f'warehouse = "{wh}"', text)
            cfg.write_text(text, encoding="utf-8")
            agencies_sample(cfg, work / "runs" / "all", args.agencies)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
