"""Score the establishments of one as-of snapshot and write the score tables.

Predictions stream through Arrow record batches (one chunk of rows at a time), so memory
stays bounded at national scale (16 M active establishments). Writing is atomic per
table: rows of the same as-of (and territory) are deleted and inserted in one
transaction, so a reader never sees half a run. Only the last `keep_as_of` as-of dates are
kept in the score tables; features keep the current snapshot only.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ciblage.warehouse import run_sql_file, table_exists
from scoring.calibration import p_hire_sql, potential, star_sql, stars
from scoring.features import matrix
from scoring.model import ScoringModel
from scoring.reasons import choose

RAW = "score_etablissement__raw"
FEATURES_NEW = "feature_etablissement__new"
CHUNK_ROWS = 250_000  # small enough for two workers to share a département-size table
# establishments whose per-ROME rows are built in one statement, to bound its memory (at
# 4 GB the national night 2 ran out of memory even in these slices: the stage's default
# [scoring] memory_limit is now 6 GB, README "All of France")
ROME_SLICE_ESTABLISHMENTS = 4_000_000


def workers_setting(value: object) -> int:
    """`[scoring] predict_workers`: a number, or "auto" (one per core, at most 4)."""
    if str(value) == "auto":
        return max(1, min(4, os.cpu_count() or 1))
    return max(1, int(str(value)))


def stage_features(con: duckdb.DuckDBPyConnection, temp_table: str) -> int:
    """Copy a snapshot built in a temp table to a real staging table (readable by cursors)."""
    con.execute(f"CREATE OR REPLACE TABLE {FEATURES_NEW} AS SELECT * FROM {temp_table}")
    row = con.execute(f"SELECT count(*) FROM {FEATURES_NEW}").fetchone()
    return int(row[0]) if row else 0


def predict_to_raw(
    con: duckdb.DuckDBPyConnection,
    model: ScoringModel,
    as_of: date,
    model_id: str,
    label_mode: str,
    min_potential: int,
    features_table: str = FEATURES_NEW,
    chunk_rows: int = CHUNK_ROWS,
    workers: int = 1,
) -> int:
    """Predict every row of `features_table` into the RAW staging table, chunk by chunk.

    With `workers` > 1, chunks are scored by that many Python threads while the main
    thread reads the next chunk and inserts the finished ones in order: scikit-learn's
    tree traversal and most of numpy's work release the GIL, and unlike OpenMP threads
    inside one prediction (`[scoring] threads`), threads that wait never spin, so a busy
    machine only slows them down. At most `workers` chunks are in flight (bounded memory);
    rows are the same, in the same order, whatever `workers` and `chunk_rows` are.
    """
    con.execute(
        f"""CREATE OR REPLACE TABLE {RAW} (as_of DATE, siret VARCHAR, expected_hires DOUBLE,
        p_hire DOUBLE, hiring_potential INTEGER, stars INTEGER, r1 SMALLINT, r2 SMALLINT,
        r3 SMALLINT, model_id VARCHAR, label_mode VARCHAR)"""
    )
    reference = model.metadata["reference"]

    def score(batch: pa.RecordBatch) -> pd.DataFrame:
        return _scored(
            batch.to_pandas(), model, reference, as_of, model_id, label_mode, min_potential
        )

    def insert(out: pd.DataFrame) -> int:
        con.register("_raw_chunk", out)
        con.execute(f"INSERT INTO {RAW} SELECT * FROM _raw_chunk")
        con.unregister("_raw_chunk")
        return len(out)

    reader_con = con.cursor()
    n = 0
    try:
        reader = reader_con.sql(f"SELECT * FROM {features_table}").to_arrow_reader(chunk_rows)
        workers = max(1, workers)  # one worker: read, score, insert, one chunk at a time
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="score") as pool:
            pending: deque[Future[pd.DataFrame]] = deque()
            for batch in reader:
                pending.append(pool.submit(score, batch))
                if len(pending) >= workers:
                    n += insert(pending.popleft().result())
            while pending:
                n += insert(pending.popleft().result())
    finally:
        reader_con.close()
    return n


def _scored(
    df: pd.DataFrame,
    model: ScoringModel,
    reference: dict[str, float],
    as_of: date,
    model_id: str,
    label_mode: str,
    min_potential: int,
) -> pd.DataFrame:
    """One chunk's RAW rows: prediction, potential, stars and reason codes."""
    X = matrix(df)
    mu, p = model.predict(X)
    pot = potential(p)
    codes = choose(model, X, df, reference, label_mode, pot >= min_potential, mu)
    codes_n = np.where(codes >= 0, codes, -1)
    out = pd.DataFrame(
        {
            "as_of": as_of,
            "siret": df["siret"].astype(str).to_numpy(),
            "expected_hires": mu,
            "p_hire": p,
            "hiring_potential": pot.astype(np.int32),
            "stars": stars(pot).astype(np.int32),
            "r1": pd.array(codes_n[:, 0], dtype="Int16"),
            "r2": pd.array(codes_n[:, 1], dtype="Int16"),
            "r3": pd.array(codes_n[:, 2], dtype="Int16"),
            "model_id": model_id,
            "label_mode": label_mode,
        }
    )
    for col in ("r1", "r2", "r3"):
        out.loc[out[col] < 0, col] = pd.NA
    return out


def _replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    as_of: date,
    whole: bool,
    keep: int,
    order: str | None = None,
) -> None:
    """Swap `source` rows into `table` for this as-of, in one transaction.

    `order`: rows are inserted in that order, so that DuckDB's per-block min/max let a
    filter on its first column skip the other blocks (score_etablissement_rome by
    département: a territory rerun reads its own rows, not all of France's).
    """
    con.execute("BEGIN TRANSACTION")
    try:
        if not table_exists(con, table):
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM {source} LIMIT 0")
        have = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
        for name, kind, *_ in con.execute(f"DESCRIBE {source}").fetchall():
            if name not in have:  # a warehouse from before the column: added, NULL in old rows
                con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {kind}')
        if whole:
            con.execute(f"DELETE FROM {table} WHERE as_of = ?", [as_of])
        else:
            con.execute(
                f"DELETE FROM {table} WHERE as_of = ? AND siret IN (SELECT siret FROM {source})",
                [as_of],
            )
        if order:
            con.execute("SET preserve_insertion_order = true")
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT * FROM {source}"
            + (f" ORDER BY {order}" if order else "")
        )
        con.execute("SET preserve_insertion_order = false")
        if keep > 0:
            con.execute(
                f"""DELETE FROM {table} WHERE as_of NOT IN (
                    SELECT DISTINCT as_of FROM {table} ORDER BY as_of DESC LIMIT {int(keep)})"""
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def write_tables(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    whole: bool,
    keep_as_of: int,
    prior_weight: float,
    min_share: float,
    min_p_hire: float = 0.005,
    dispersion: float = 0.5,
) -> dict[str, int]:
    """Build reasons text and per-ROME rows from the staged predictions; swap them in.

    The per-ROME rows are built in slices of establishments: a national night (16 M
    establishments, 91 M per-ROME rows) ran the score stage's DuckDB out of a 4 GB limit
    building them at once.
    """
    run_sql_file(con, "score_etablissement", raw=RAW, features=FEATURES_NEW, target="_score_new")
    rome = dict(as_of=as_of, prior_weight=prior_weight, min_share=min_share, min_p=min_p_hire)
    parts = max(1, -(-_count(con, "_score_new") // ROME_SLICE_ESTABLISHMENTS))
    for part in range(parts):
        run_sql_file(
            con,
            "score_etablissement_rome",
            {**rome, "parts": parts, "part": part},
            scores="_score_new",
            target="_score_rome_new",
            into="INSERT INTO _score_rome_new"
            if part
            else "CREATE OR REPLACE TEMP TABLE _score_rome_new AS",
            stars_case=star_sql("round(100 * p_rome)"),
            p_rome=p_hire_sql("sh.expected_hires * sh.share", dispersion),
        )
    # a view, not a copy of every per-ROME row: the stored columns
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _score_rome_out AS SELECT as_of, siret, code_departement, "
        "code_rome, expected_hires, hiring_potential, stars FROM _score_rome_new"
    )
    if whole and table_exists(con, "feature_etablissement"):
        con.execute("DROP TABLE feature_etablissement")
    _replace_rows(con, "feature_etablissement", FEATURES_NEW, as_of, whole, keep=1)
    _replace_rows(con, "score_etablissement", "_score_new", as_of, whole, keep_as_of)
    _replace_rows(
        con,
        "score_etablissement_rome",
        "_score_rome_out",
        as_of,
        whole,
        keep_as_of,
        order="code_departement, siret, code_rome",
    )
    counts = {
        "score_etablissement": _count(con, "_score_new"),
        "score_etablissement_rome": _count(con, "_score_rome_out"),
    }
    con.execute(f"DROP TABLE IF EXISTS {RAW}")
    con.execute(f"DROP TABLE IF EXISTS {FEATURES_NEW}")
    return counts


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0
