"""Benchmark: score 16 M active establishments (national scale) and print time and memory.

Builds a synthetic but realistically distributed national warehouse slice in a DuckDB file
(feature_etablissement-shaped table with every model input, the etablissement rows the
per-ROME step joins, the real NAF x ROME referential), fits the production model settings
on a 200 k-row labelled sample of it, then times what `ciblage score` does after the
features: chunked prediction, calibrated probability, potential and stars, per-ROME
rows, and the atomic swap into the score tables (the reasons are computed at publication,
for the listed establishments only: scoring/reason_table.py). Feature SQL time is reported
separately (it runs on the real tables in production).

    python bench/score_national.py --rows 16000000        # the target: < 3 min, < 8 GiB
    python bench/score_national.py --rows 1000000 --memory-limit 2GB

Peak RSS is this process's (DuckDB runs in-process), read from the kernel's ru_maxrss.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np

from ciblage.config import PROJECT_ROOT
from scoring.model import Params, ScoringModel, fit_model, set_threads
from scoring.reasons import reference_values
from scoring.scorer import FEATURES_NEW, predict_to_raw, write_tables

AS_OF = date(2026, 11, 1)
# INSEE headcount bands (ordered rank) and their national weights among active
# establishments: most have no employee or an unknown band.
BAND_WEIGHTS = [62, 14, 9, 5, 3.5, 2.5, 1.8, 0.8, 0.4, 0.1, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002]


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def cpu_s() -> float:
    """User + system CPU seconds of this process (every thread, DuckDB's included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def build(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    """Synthetic tables: features (every model input), etablissement, referentials."""
    ref = PROJECT_ROOT / "data" / "reference" / "rome_naf_mapping.raw.csv"
    con.execute(
        f"""CREATE TABLE ref_naf_rome AS
        SELECT naf_id AS naf_code, rome_id AS code_rome, rome_label, hirings,
               hirings / sum(hirings) OVER (PARTITION BY naf_id) AS share_of_naf
        FROM read_csv('{ref.as_posix()}', header = true)"""
    )
    con.execute(
        """CREATE TABLE naf_list AS SELECT naf_code, row_number() OVER (ORDER BY naf_code) - 1
        AS i FROM (SELECT DISTINCT naf_code FROM ref_naf_rome)"""
    )
    n_naf = con.execute("SELECT count(*) FROM naf_list").fetchone()[0]
    cum = np.cumsum(BAND_WEIGHTS) / np.sum(BAND_WEIGHTS)
    band = (
        "CASE "
        + " ".join(f"WHEN u_band < {c:.6f} THEN {i - 1}" for i, c in enumerate(cum[:-1]))
        + f" ELSE {len(cum) - 2} END"
    )
    con.execute("SELECT setseed(0.42)")
    con.execute(
        f"""CREATE TABLE base AS
        SELECT i, lpad(CAST(100000000 + i // 2 AS VARCHAR), 9, '0') AS siren,
               lpad(CAST(100000000 + i // 2 AS VARCHAR), 9, '0')
                 || lpad(CAST(i % 100000 AS VARCHAR), 5, '0') AS siret,
               CAST(floor(random() * {n_naf}) AS INTEGER) AS naf_i,
               random() AS u_band, random() AS u1, random() AS u2, random() AS u3,
               lpad(CAST(1 + floor(random() * 95) AS VARCHAR), 2, '0') AS dep
        FROM range({rows}) t(i)"""
    )
    con.execute(
        f"""CREATE TABLE {FEATURES_NEW} AS
        WITH b AS (SELECT base.*, ({band}) AS rank FROM base),
        s AS (
            SELECT b.*, CASE WHEN rank < 0 THEN NULL ELSE rank END AS effectif_rank,
                   -- yearly hiring intensity grows with size; offers are a third of hires
                   greatest(rank, 0) * 0.6 * u1 * u1 AS lam
            FROM b)
        SELECT DATE '{AS_OF}' AS as_of, siret, siren, dep AS code_departement,
            n.naf_code,
            CAST(left(n.naf_code, 2) AS INTEGER) AS naf_division,
            CAST(n.i % 21 AS INTEGER) AS naf_section,
            1000 + n.i * 10 AS naf_n_etab,
            0.2 + (n.i % 17) / 10.0 AS naf_hires_rate_12m,
            0.05 + (n.i % 13) / 30.0 AS naf_offers_rate_12m,
            0.7 + (n.i % 7) / 10.0 AS naf_hires_season_ratio,
            0.7 + (n.i % 5) / 8.0 AS naf_offers_season_ratio,
            effectif_rank,
            u2 * 40 AS age_years,
            CAST(u3 < 0.8 AS INTEGER) AS is_siege,
            CAST(effectif_rank > 0 AS INTEGER) AS is_employer,
            CASE WHEN u3 < 0.3 THEN 10 WHEN u3 < 0.6 THEN 57 WHEN u3 < 0.85 THEN 54 ELSE 92
                 END AS categorie_juridique_2,
            CAST(u3 > 0.95 AS INTEGER) AS is_ess,
            CASE WHEN effectif_rank >= 9 THEN 2 WHEN effectif_rank >= 1 THEN 1 END
                AS categorie_entreprise_rank,
            1 + CAST(u3 > 0.8 AS INTEGER) * 3 AS siren_n_etab,
            floor(lam * 0.25 * u2) AS hires_3m, floor(lam * 0.5 * u2) AS hires_6m,
            floor(lam * u2) AS hires_12m, floor(lam * 2 * u2) AS hires_24m,
            floor(lam * 0.5 * u1) AS hires_prev_6m,
            ln(1 + floor(lam * 0.5 * u2)) - ln(1 + floor(lam * 0.5 * u1)) AS hires_trend,
            floor(lam * 0.08 * u3) AS offers_3m, floor(lam * 0.16 * u3) AS offers_6m,
            floor(lam * 0.33 * u3) AS offers_12m, floor(lam * 0.66 * u3) AS offers_24m,
            floor(lam * 0.16 * u1) AS offers_prev_6m,
            ln(1 + floor(lam * 0.16 * u3)) - ln(1 + floor(lam * 0.16 * u1)) AS offers_trend,
            floor(lam * 0.4 * u3) AS postes_12m,
            CASE WHEN lam * u3 > 3 THEN floor(700 * u2) END AS days_since_last_offer,
            floor(lam * 0.5 * u2) * (1 + CAST(u3 > 0.8 AS INTEGER)) AS siren_hires_6m,
            floor(lam * u2) * (1 + CAST(u3 > 0.8 AS INTEGER)) AS siren_hires_12m,
            floor(lam * 2 * u2) * (1 + CAST(u3 > 0.8 AS INTEGER)) AS siren_hires_24m,
            ln(1 + floor(lam * 0.5 * u2)) - ln(1 + floor(lam * 0.5 * u1)) AS siren_hires_trend,
            floor(lam * 0.16 * u3) AS siren_offers_6m, floor(lam * 0.33 * u3) AS siren_offers_12m,
            floor(lam * 0.66 * u3) AS siren_offers_24m, 0.0 AS siren_offers_trend,
            20 + (n.i % 50) AS dpae_dep_gs_per_etab, ((n.i % 41) - 20) / 100.0 AS dpae_dep_gs_trend,
            40 + (n.i % 60) AS dpae_reg_a38_per_etab,
            ((n.i % 31) - 15) / 100.0 AS dpae_reg_a38_trend,
            30 + (n.i % 50) AS naf_tension_pct,
            sin(2 * pi() * 11 / 12) AS asof_month_sin, cos(2 * pi() * 11 / 12) AS asof_month_cos,
            lam
        FROM s JOIN naf_list n ON n.i = s.naf_i"""
    )
    con.execute(
        f"""CREATE TABLE etablissement AS SELECT siret, siren, naf_code,
        code_departement FROM {FEATURES_NEW}"""
    )
    for ddl in (
        "CREATE TABLE offre (offre_id VARCHAR, date_creation TIMESTAMP, code_rome VARCHAR, "
        "nombre_postes INTEGER)",
        "CREATE TABLE offre_siret_link (offre_id VARCHAR, siret VARCHAR)",
        "CREATE TABLE hires_siret (siret VARCHAR, mois DATE, code_rome VARCHAR, "
        "nombre_embauches INTEGER)",
        "CREATE TABLE ref_naf (naf_code VARCHAR, libelle VARCHAR, grand_secteur VARCHAR)",
        "CREATE TABLE ref_departement (code_departement VARCHAR, code_region VARCHAR, "
        "libelle VARCHAR)",
        "CREATE TABLE ref_region (code_region VARCHAR, libelle VARCHAR)",
    ):
        con.execute(ddl)
    con.execute("DROP TABLE base")


def train_small(con: duckdb.DuckDBPyConnection, params: Params) -> ScoringModel:
    """The production model settings, fitted on 200 k rows labelled by a known process."""
    df = con.execute(f"SELECT * FROM {FEATURES_NEW} USING SAMPLE 200000 ROWS (reservoir, 7)").df()
    rng = np.random.default_rng(7)
    mu = 0.05 + df["lam"].to_numpy() * 0.4 + 0.3 * df["hires_3m"].fillna(0).to_numpy()
    df["y"] = rng.poisson(mu)
    model = fit_model(df, params, 42, 200_000, "hires_siret", 6)
    model.metadata = {"reference": reference_values(df)}
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=16_000_000)
    ap.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    ap.add_argument(
        "--sk-threads", type=int, default=None, help="scikit-learn OpenMP threads (default: config)"
    )
    ap.add_argument(
        "--workers", default=None, help="threads scoring chunks side by side (default: config)"
    )
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: temp)")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="ciblage-bench-score-"))
    work.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(work / "bench.duckdb"))
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute(f"SET threads = {args.threads}")
    con.execute("SET preserve_insertion_order = false")
    t0 = time.perf_counter()
    build(con, args.rows)
    t_build = time.perf_counter() - t0
    from ciblage.config import load_settings
    from scoring.options import ScoringOptions
    from scoring.scorer import workers_setting

    opts = ScoringOptions.from_settings(load_settings(PROJECT_ROOT / "ciblage.toml"))
    params = opts.train.base  # the shipped model settings (tuned values: first grid entry)
    set_threads(args.sk_threads or opts.train.threads)
    t0 = time.perf_counter()
    model = train_small(con, params)
    t_train = time.perf_counter() - t0
    rss_before = rss_gib()

    c0 = cpu_s()
    t0 = time.perf_counter()
    workers = workers_setting(args.workers) if args.workers else opts.predict_workers
    n = predict_to_raw(con, model, AS_OF, "bench", "hires_siret", workers=workers)
    t_predict = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = write_tables(
        con,
        AS_OF,
        True,
        3,
        opts.prior_weight or 5.0,
        opts.min_share,
        opts.rome_min_p_hire,
        model.dispersion,
    )
    t_write = time.perf_counter() - t0
    cpu = cpu_s() - c0
    stars = con.execute(
        "SELECT stars, count(*) FROM score_etablissement GROUP BY 1 ORDER BY 1"
    ).fetchall()
    con.close()
    total = t_predict + t_write
    print(f"establishments scored      {n:,}")
    sk = args.sk_threads or opts.train.threads
    print(f"model                      {params}, sklearn threads {sk}, workers {workers}")
    print(f"synthetic tables built     {t_build:8.1f} s (not part of scoring)")
    print(f"model fit on 200k rows     {t_train:8.1f} s (not part of scoring)")
    print(f"predict (chunks)          {t_predict:8.1f} s")
    print(f"texts, per-ROME, swap      {t_write:8.1f} s")
    print(f"SCORING TOTAL              {total:8.1f} s  ({n / total:,.0f} establishments/s)")
    print(f"scoring CPU time (user+sys){cpu:8.1f} s  (idle 2-core wall >= {cpu / 2:.0f} s)")
    print(f"per-ROME rows              {counts['score_etablissement_rome']:,}")
    print(f"stars distribution         {stars}")
    print(f"peak RSS                   {rss_gib():8.2f} GiB (before scoring {rss_before:.2f})")


if __name__ == "__main__":
    main()
