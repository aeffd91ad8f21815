"""Linking of job offers to SIRENE establishments (table `offre_siret_link`).

Offers rarely carry a SIRET and their employer name is typed by a recruiter, so most
links come from entity resolution. Two methods, in order:

1. **siret** (confidence 1.0): `entreprise.siret` is 14 digits, passes the INSEE
   checksum (Luhn; La Poste's SIREN 356000000 by digit sum multiple of 5) and is a known
   establishment. An invalid or unknown SIRET falls through to entity resolution.
2. **entity_resolution**: the offer's name and the establishment's names (enseigne,
   denomination_usuelle, legal unit's denomination, natural person's name) are
   normalised alike (`ciblage.company_names`). Blocking, in DuckDB: a candidate shares a
   name word with the offer and is in the offer's commune (pass 1) or, for offers still
   unlinked, in its département with the same NAF division (pass 2); it must be active at
   the offer date. Scoring, with rapidfuzz: name_score = mean of token_set_ratio (a name
   contained in the other scores 100) and token_sort_ratio (extra words cost), best over
   the establishment's names; confidence = name_score × (0.70 + 0.15·same commune +
   0.15·same division). The best candidate at or above `min_confidence` is kept (ties:
   higher name score, larger headcount band, smaller SIRET). "Active at the offer date"
   tolerates a creation up to `creation_grace_days` after the offer (new sites recruit
   before INSEE registers them).

Threshold: DEFAULT_MIN_CONFIDENCE = 0.75 was chosen on the sample with
`bench/linking_quality.py` (figures in the README, section "Job offers"): a perfect name
in the right commune and sector scores 1.0; one disagreement (other commune or other
division) needs a name score of 0.88; an offer whose name only shares a common word
(BOULANGERIE ...) with the establishment stays below it.

Complexity: the normalisation is one native SQL pass over the names (a DuckDB macro,
linear, each distinct spelling once); blocking is hash joins on (commune | département ×
division, word), linear in the number of words. Each query blocks only on its
BLOCK_WORDS rarest words of the block (plus words carried by at most `max_token_df`
names), so its candidates are bounded by the frequency of its rarest words, not by the
size of the town: pairs ≈ distinct queries × a few dozen. Scoring is one rapidfuzz call
per *distinct* (offer name, establishment name) pair, in chunks (`chunk_size`) to bound
memory; offers of one employer in one commune share one query. The names, most of a
national linking, are kept for the next one while SIRENE is unchanged
(`ciblage.linking_names`). Measured figures:
`bench/linking_scale.py` (README, "Job offers").
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from ciblage.company_names import install_macro
from ciblage.ledger import COMPLETED, append, utcnow
from ciblage.linking_names import build_names, drop_unkeyed
from ciblage.warehouse import run_sql_file, table_exists

log = logging.getLogger(__name__)

DEFAULT_MIN_CONFIDENCE = 0.75
W_COMMUNE = 0.15
W_SECTOR = 0.15
# Blocking words per query: its BLOCK_WORDS rarest words in the block, plus any word
# carried by at most MAX_TOKEN_DF establishment names of the block.
BLOCK_WORDS = 2
MAX_TOKEN_DF = 100
CREATION_GRACE_DAYS = 90
CHUNK_SIZE = 500_000
# establishments whose names are normalised in one statement: every name of France at once
# (43 M establishments) ran the ingest's DuckDB out of its 4 GB (ciblage/linking_names.py)
NAMES_SLICE_ESTABLISHMENTS = 12_000_000
PASSES = {
    # pass name → (block columns, block keys required)
    "commune": ("code_commune", "code_commune IS NOT NULL"),
    "departement": (
        "code_departement, division",
        "code_departement IS NOT NULL AND division IS NOT NULL",
    ),
}
WORK_TABLES = (
    "offre_link_siret",
    "offre_link_query",
    "offre_link_pending",
    "offre_link_pair",
    "offre_link_to_score",
    "offre_link_name_score",
    "offre_link_best",
    "offre_link_valid_siret",
)


def valid_sirets(values: pd.Series) -> pd.Series:
    """True where the value is a 14-digit SIRET with a valid INSEE checksum."""
    from ciblage.quality.luhn import luhn_valid

    s = values.astype("string")
    ok = luhn_valid(s).fillna(False).astype(bool)
    return ok & s.str.fullmatch(r"[0-9]{14}").fillna(False).astype(bool)


def name_scores(queries: list[str], names: list[str], workers: int = 1) -> Any:
    """Similarity in [0, 1] of each (query, name) pair (same index), see module doc."""
    kw = {"workers": workers, "dtype": "float32"}
    token_set = cpdist(queries, names, scorer=fuzz.token_set_ratio, **kw)
    token_sort = cpdist(queries, names, scorer=fuzz.token_sort_ratio, **kw)
    return (token_set + token_sort) / 200.0


def _score_pending_pairs(con: duckdb.DuckDBPyConnection, chunk_size: int, workers: int) -> int:
    """Score the (offer name, establishment name) pairs not scored yet, chunk by chunk."""
    con.execute(
        """
        CREATE OR REPLACE TABLE offre_link_to_score AS
        SELECT row_number() OVER () AS rn, q_name, e_name FROM (
            SELECT DISTINCT q.name_norm AS q_name, p.e_name
            FROM offre_link_pair AS p
            JOIN (SELECT DISTINCT q_id, name_norm FROM offre_link_query) AS q USING (q_id)
            ANTI JOIN offre_link_name_score AS s
                ON s.q_name = q.name_norm AND s.e_name = p.e_name
        )
        """
    )
    total = con.execute("SELECT count(*) FROM offre_link_to_score").fetchall()[0][0]
    for lo in range(0, total, chunk_size):
        con.complete()
        chunk = con.sql(
            "SELECT q_name, e_name FROM offre_link_to_score WHERE rn > $lo AND rn <= $hi",
            params={"lo": lo, "hi": lo + chunk_size},
        ).to_arrow_table()
        scores = name_scores(
            chunk["q_name"].to_pylist(), chunk["e_name"].to_pylist(), workers=workers
        )
        batch = pa.table(
            {"q_name": chunk["q_name"], "e_name": chunk["e_name"], "name_score": scores}
        )
        con.complete()  # DuckDB 2: no registration while a result is open
        con.register("offre_link_scores_batch", batch)
        try:
            con.execute("INSERT INTO offre_link_name_score SELECT * FROM offre_link_scores_batch")
        finally:
            con.unregister("offre_link_scores_batch")
    return total


def _siret_links(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    given = con.execute(
        "SELECT DISTINCT entreprise_siret AS siret FROM offre WHERE entreprise_siret IS NOT NULL"
    ).df()
    ok = given[valid_sirets(given["siret"]).to_numpy()].reset_index(drop=True)
    con.complete()
    con.register("offre_link_valid_siret_df", ok)
    try:
        con.execute(
            "CREATE OR REPLACE TABLE offre_link_valid_siret AS FROM offre_link_valid_siret_df"
        )
    finally:
        con.unregister("offre_link_valid_siret_df")
    run_sql_file(con, "offre_link_siret", valid_sirets="offre_link_valid_siret")
    n_given, n_valid = con.execute(
        """
        SELECT count(*) FILTER (WHERE entreprise_siret IS NOT NULL),
               count(*) FILTER (
                   WHERE entreprise_siret IN (SELECT siret FROM offre_link_valid_siret))
        FROM offre
        """
    ).fetchall()[0]
    n_linked = con.execute("SELECT count(*) FROM offre_link_siret").fetchall()[0][0]
    return {
        "siret_given": n_given,
        "siret_invalid": n_given - n_valid,
        "siret_unknown": n_valid - n_linked,
    }


def link_offers(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    max_token_df: int = MAX_TOKEN_DF,
    chunk_size: int = CHUNK_SIZE,
    workers: int = -1,
    creation_grace_days: int = CREATION_GRACE_DAYS,
) -> dict[str, Any]:
    """Rebuild `offre_siret_link` from `offre`, `etablissement` and `unite_legale`
    (the establishments' normalised names are reused from the last linking while SIRENE
    and the first offer's month are the same: `ciblage.linking_names`).

    Returns counts: offers, linked by method, unlinked by reason (no usable name, no
    candidate above the threshold), SIRET diagnostics and the scoring workload; the same
    counts are appended to `run_ledger` (step `offre_siret_link`).
    """
    started = utcnow()
    for table in ("offre", "etablissement", "unite_legale"):
        if not table_exists(con, table):
            raise RuntimeError(f"link_offers: table {table!r} is missing; load it first")
    install_macro(con)
    _drop_work_tables(con)
    counts: dict[str, Any] = _siret_links(con)
    run_sql_file(con, "offre_link_query")
    (first_offer,) = con.execute(
        "SELECT min(offer_date) FROM offre_link_query WHERE q_id IS NOT NULL"
    ).fetchall()[0]
    names_reused = build_names(con, first_offer, NAMES_SLICE_ESTABLISHMENTS)
    con.execute(
        "CREATE TABLE offre_link_name_score (q_name VARCHAR, e_name VARCHAR, name_score FLOAT)"
    )
    con.execute(
        "CREATE TABLE offre_link_best (offre_id VARCHAR, siret VARCHAR, confidence DOUBLE,"
        " name_score DOUBLE, pass VARCHAR)"
    )
    params = {"max_token_df": max_token_df, "block_words": BLOCK_WORDS}
    best = {
        "min_confidence": min_confidence,
        "w_commune": W_COMMUNE,
        "w_sector": W_SECTOR,
        "creation_grace_days": creation_grace_days,
    }
    counts["name_pairs_scored"] = 0
    for pass_name, (block_cols, not_null) in PASSES.items():
        con.execute(
            """
            CREATE OR REPLACE TABLE offre_link_pending AS
            SELECT DISTINCT q_id FROM offre_link_query AS o
            ANTI JOIN offre_link_best AS b USING (offre_id)
            WHERE q_id IS NOT NULL
            """
        )
        run_sql_file(
            con,
            "offre_link_pair",
            params,
            pending="offre_link_pending",
            block_cols=block_cols,
            block_key_not_null=not_null,
            pass_name=pass_name,
        )
        counts["name_pairs_scored"] += _score_pending_pairs(con, chunk_size, workers)
        run_sql_file(con, "offre_link_best", best, pass_name=pass_name)
    run_sql_file(con, "offre_siret_link")
    _swap(con, "offre_siret_link")
    counts.update(_outcome_counts(con))
    if table_exists(con, "offre_duplicate"):
        counts["offre_duplicates_folded"] = int(
            con.execute("SELECT coalesce(sum(copies - 1), 0) FROM offre_duplicate").fetchall()[0][0]
        )
    counts["min_confidence"] = min_confidence
    counts["names_reused"] = names_reused
    _drop_work_tables(con)
    drop_unkeyed(con)
    _record(con, run_id, started, counts)
    log.info("offre_siret_link: %s", counts)
    return counts


LINK_INPUTS = ("offres", "sirene_etablissement", "sirene_unite_legale")


def relink_if_needed(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    statuses: dict[str, str],
    options: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """`link_offers` after an ingest run, when one of its inputs was (re)loaded.

    `statuses` maps source name to its load status in this run; unchanged inputs keep the
    existing links (a rerun on the same files is a no-op). `options` is `[linking]` of
    ciblage.toml (`min_confidence`). Returns the counts, or None when nothing was done.
    """
    if not all(table_exists(con, t) for t in ("offre", "etablissement", "unite_legale")):
        return None
    changed = any(statuses.get(name) == "loaded" for name in LINK_INPUTS)
    if not changed and table_exists(con, "offre_siret_link"):
        return None
    opts = options or {}
    return link_offers(
        con, run_id, min_confidence=float(opts.get("min_confidence", DEFAULT_MIN_CONFIDENCE))
    )


def _outcome_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    row = con.execute(
        """
        SELECT
            (SELECT count(*) FROM offre),
            count(*) FILTER (WHERE l.method = 'siret'),
            count(*) FILTER (WHERE l.method = 'entity_resolution'),
            (SELECT count(*) FROM offre_link_query WHERE name_norm IS NULL),
            count(*) FILTER (WHERE l.method = 'entity_resolution'
                             AND b.pass = 'departement')
        FROM offre_siret_link AS l
        LEFT JOIN offre_link_best AS b USING (offre_id)
        """
    ).fetchall()[0]
    offers, by_siret, by_er, no_name, dep_pass = row
    return {
        "offers": offers,
        "siret": by_siret,
        "entity_resolution": by_er,
        "entity_resolution_departement_pass": dep_pass,
        "unlinked_no_name": no_name,
        "unlinked_no_match": offers - by_siret - by_er - no_name,
    }


def _swap(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Replace `table` by `<table>__new` in one transaction (readers see old or new)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"ALTER TABLE {table}__new RENAME TO {table}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in WORK_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _record(
    con: duckdb.DuckDBPyConnection, run_id: str, started: datetime, counts: dict[str, Any]
) -> None:
    linked = counts["siret"] + counts["entity_resolution"]
    append(
        con,
        run_id=run_id,
        flow="ingest",
        stage="ingest",
        step="offre_siret_link",
        status=COMPLETED,
        started_at=started,
        ended_at=utcnow(),
        rows_in=counts["offers"],
        rows_out=linked,
        params=counts,
        message=(
            f"{linked}/{counts['offers']} offers linked ({counts['siret']} by SIRET, "
            f"{counts['entity_resolution']} by name); unlinked: "
            f"{counts['unlinked_no_name']} without name, {counts['unlinked_no_match']} no match"
        ),
    )
