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
import pyarrow as pa
import pyarrow.compute as pc

from ciblage.warehouse import run_sql_file, sql_list, sql_text, table_exists, used_params
from scoring.calibration import p_hire_sql, potential, star_sql, stars
from scoring.features import arrow_matrix
from scoring.model import ScoringModel

RAW = "score_etablissement__raw"
FEATURES_NEW = "feature_etablissement__new"
CHUNK_ROWS = 250_000  # small enough for two workers to share a département-size table
# establishments whose per-ROME rows are built and sorted in one statement (a slice of
# départements, `departement_slices`), to bound its memory
ROME_SLICE_ESTABLISHMENTS = 4_000_000
# per-trade rows below this potential are not stored: lists and matching never show a trade
# at potential 0 (`[publish] min_potential`), a fiche's best trades no longer end with
# such trades, and they were 44 % of the national rows (42 M of 95 M)
MIN_STORED_POTENTIAL = 1


def workers_setting(value: object) -> int:
    """`[scoring] predict_workers`: a number, or "auto" (one per core, at most 4)."""
    if str(value) == "auto":
        return max(1, min(4, os.cpu_count() or 1))
    return max(1, int(str(value)))


def staged_features(con: duckdb.DuckDBPyConnection) -> int:
    """Rows of the staged features (FEATURES_NEW: a real table, so that the prediction's
    cursors read it, built by scoring.features.build_features)."""
    row = con.execute(f"SELECT count(*) FROM {FEATURES_NEW}").fetchone()
    return int(row[0]) if row else 0


def predict_to_raw(
    con: duckdb.DuckDBPyConnection,
    model: ScoringModel,
    as_of: date,
    model_id: str,
    label_mode: str,
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
        f"""CREATE OR REPLACE TABLE {RAW} (as_of DATE, siret VARCHAR, code_departement VARCHAR,
        expected_hires DOUBLE, p_hire DOUBLE, hiring_potential INTEGER, stars INTEGER,
        model_id VARCHAR, label_mode VARCHAR)"""
    )

    def insert(out: pa.Table) -> int:
        con.register("_raw_chunk", out)
        con.execute(
            f"INSERT INTO {RAW} SELECT $as_of, siret, code_departement, expected_hires, p_hire,"
            " hiring_potential, stars, $model_id, $label_mode FROM _raw_chunk",
            {"as_of": as_of, "model_id": model_id, "label_mode": label_mode},
        )
        con.unregister("_raw_chunk")
        return out.num_rows

    reader_con = con.cursor()
    n = 0
    try:
        reader = reader_con.sql(f"SELECT * FROM {features_table}").to_arrow_reader(chunk_rows)
        workers = max(1, workers)  # one worker: read, score, insert, one chunk at a time
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="score") as pool:
            pending: deque[Future[pa.Table]] = deque()
            for batch in reader:
                pending.append(pool.submit(_scored, batch, model))
                if len(pending) >= workers:
                    n += insert(pending.popleft().result())
            while pending:
                n += insert(pending.popleft().result())
    finally:
        reader_con.close()
    return n


def _scored(batch: pa.RecordBatch, model: ScoringModel) -> pa.Table:
    """One chunk's predictions, potential and stars, by SIRET (the RAW rows but their
    constant columns). No reasons: they are computed for the establishments a list or a
    match shows (scoring/reason_table.py). The département goes along: the per-ROME
    slices and a rerun's reads select on it without joining all of France's
    establishments."""
    mu, p = model.predict(arrow_matrix(batch))
    pot = potential(p)
    return pa.table(
        {
            "siret": pc.cast(batch.column("siret"), pa.string()),
            "code_departement": pc.cast(batch.column("code_departement"), pa.string()),
            "expected_hires": mu,
            "p_hire": p,
            "hiring_potential": pot.astype(np.int32),
            "stars": stars(pot).astype(np.int32),
        }
    )


def _replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    as_of: date,
    whole: bool,
    keep: int,
    inserts: list[tuple[str, dict[str, object]]] | None = None,
    scored: str | None = None,
) -> int:
    """Swap `source` rows into `table` for this as-of, in one transaction; returns the
    rows inserted.

    `inserts`: (statement, parameters) that insert the rows themselves (the per-ROME
    slices, each inserting its rows in order) instead of `INSERT ... SELECT * FROM
    source`; `source` then only gives the columns. `scored`: the relation whose SIRETs a partial run
    replaces (default `source`): an establishment scored again loses its old rows even
    when it has no new ones.
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
                f"DELETE FROM {table} WHERE as_of = ? AND siret IN "
                f"(SELECT siret FROM {scored or source})",
                [as_of],
            )
        n = 0
        con.execute("SET preserve_insertion_order = true")  # each insert's own order is kept
        for sql, params in inserts or [(f"INSERT INTO {table} BY NAME SELECT * FROM {source}", {})]:
            n += int(con.execute(sql, used_params(sql, params)).fetchall()[0][0])
        if keep > 0:
            con.execute(
                f"""DELETE FROM {table} WHERE as_of NOT IN (
                    SELECT DISTINCT as_of FROM {table} ORDER BY as_of DESC LIMIT {int(keep)})"""
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:  # after COMMIT or ROLLBACK: an aborted transaction refuses even a SET
        con.execute("SET preserve_insertion_order = false")
    return n


def departement_slices(
    con: duckdb.DuckDBPyConnection, scores: str, min_p: float, limit: int
) -> list[list[str]]:
    """Départements in code order, grouped so that a slice holds at most `limit`
    establishments with per-ROME rows (a larger département is a slice of its own).

    Consecutive départements, each slice inserted sorted: the table ends up sorted by
    département without sorting all of France at once (91 M rows spilled 16 GB)."""
    rows = con.execute(
        f"SELECT coalesce(s.code_departement, '?') AS d, count(*) FROM {scores} s "
        "WHERE s.p_hire >= ? GROUP BY ALL ORDER BY d",
        [min_p],
    ).fetchall()
    slices: list[list[str]] = []
    size = limit
    for dep, n in rows:
        if size + n > limit:
            slices.append([])
            size = 0
        slices[-1].append(dep)
        size += n
    return slices


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
    """Build the score and per-ROME rows from the staged predictions; swap them in.

    The per-ROME rows go straight into their table, one slice of départements at a
    time, each slice sorted (`departement_slices`): no copy of the 91 M national rows and
    no sort of all of them, which ran the national night out of memory and spilled 16 GB.
    """
    run_sql_file(con, "score_etablissement", raw=RAW, target="_score_new")
    rome = dict(
        as_of=as_of,
        prior_weight=prior_weight,
        min_share=min_share,
        min_p=min_p_hire,
        min_potential=MIN_STORED_POTENTIAL,
    )
    shape = dict(
        scores="_score_new",
        stars_case=star_sql("round(100 * p_rome)"),
        p_rome=p_hire_sql("sh.expected_hires * sh.share", dispersion),
    )
    # the stored columns, for the table's creation and schema check
    run_sql_file(
        con,
        "score_etablissement_rome",
        rome,
        **shape,
        into="CREATE OR REPLACE TEMP TABLE _score_rome_shape AS",
        slice="FALSE",
    )
    table = "score_etablissement_rome"
    inserts = [
        sql_text(
            table,
            **shape,
            into=f"INSERT INTO {table} BY NAME",
            slice=f"coalesce(e.code_departement, '?') IN ({sql_list(deps)})",
        )
        for deps in departement_slices(con, "_score_new", min_p_hire, ROME_SLICE_ESTABLISHMENTS)
    ]
    if whole:  # the staged table becomes the features (16 M rows nationally: not copied)
        con.execute("BEGIN TRANSACTION")
        con.execute("DROP TABLE IF EXISTS feature_etablissement")
        con.execute(f"ALTER TABLE {FEATURES_NEW} RENAME TO feature_etablissement")
        con.execute("COMMIT")
    else:
        _replace_rows(con, "feature_etablissement", FEATURES_NEW, as_of, whole, keep=1)
    n_scores = _replace_rows(con, "score_etablissement", "_score_new", as_of, whole, keep_as_of)
    n_rome = _replace_rows(
        con,
        table,
        "_score_rome_shape",
        as_of,
        whole,
        keep_as_of,
        inserts=[(i, rome) for i in inserts],
        scored="_score_new",
    )
    con.execute("DROP TABLE IF EXISTS _score_rome_shape")
    con.execute(f"DROP TABLE IF EXISTS {RAW}")
    con.execute(f"DROP TABLE IF EXISTS {FEATURES_NEW}")
    return {"score_etablissement": n_scores, "score_etablissement_rome": n_rome}


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0
