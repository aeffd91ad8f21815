"""The establishments' normalised names the linking blocks on (table `offre_link_name`),
kept from one linking to the next while what they are built from is unchanged.

Normalising every name of France is most of a national linking (103 of 124 s, measured
on 43 M establishments; about 30 s since sql/offre_link_name.sql normalises each row's
names side by side), yet a night with a new day of offers and the same SIRENE stock
would compute the very same names again. The table is therefore not a work table: it
stays in the warehouse with its key (`offre_link_name_key`), and the next linking reuses
it when the key matches:

- the SIRENE loads it was built from: the fingerprints of the last good loads of the
  establishments and legal units (files' sha256 and the load's SQL, `source_load`); a
  warehouse whose tables have no recorded load (built by hand) never reuses;
- the first day of the first offer's month (`since`): the names are those of the
  establishments not closed before it, whatever their creation date (a creation after
  the last offer is a new site the exact per-offer check takes or leaves; the stock's
  extraction date bounds them anyway), so new offers, even in a new month, keep the table,
  and it is rebuilt when the oldest offers' month leaves the source (once a month);
- the départements with offers to resolve;
- the text of `sql/offre_link_name.sql` and of the name normaliser, the DuckDB version
  (its accent folding and regular expressions normalise the names);
- the row counts of the establishments and legal units (a guard against tables changed
  without a recorded load).

The per-offer links only depend on the names table and the offer itself, so a reused
table gives exactly the links a rebuild would (`tests/offers/test_linking_names.py`).
Against the previous exact window (active between the first and the last offer date
plus a 90-day grace on creation), the names add the few establishments closed in the
days before the first offer of its month and those created after the last offer plus the
grace (none when the stock is older than the offers): word frequencies, hence blocking
words, can shift slightly; the per-offer date check is unchanged.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from datetime import date

import duckdb

from ciblage import company_names
from ciblage.ingest.load import last_good
from ciblage.warehouse import run_sql_file, sql_text, table_exists

KEY_TABLE = "offre_link_name_key"
NAMES_TABLE = "offre_link_name"
SIRENE_SOURCES = ("sirene_etablissement", "sirene_unite_legale")


def month_start(first: date) -> date:
    """The first day of `first`'s month: the names' lower bound on closing dates."""
    return first.replace(day=1)


def sirene_fingerprints(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """Fingerprints of the last good SIRENE loads, or None when a table has none (a
    warehouse built without the loader: what its tables hold is unknown)."""
    if not table_exists(con, "source_load"):
        return None
    loads = [last_good(con, source) for source in SIRENE_SOURCES]
    if any(good is None for good in loads):
        return None
    return [json.dumps(good[0], sort_keys=True) for good in loads if good is not None]


def names_key(con: duckdb.DuckDBPyConnection, since: date) -> str | None:
    """What the names table is built from (module doc), hashed; None: never reuse."""
    fingerprints = sirene_fingerprints(con)
    if fingerprints is None:
        return None
    deps = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT code_departement FROM offre_link_query "
            "WHERE code_departement IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    # row counts: a nearly free guard against tables changed without a recorded load
    (n_etab,), (n_units,) = (
        con.execute(f"SELECT count(*) FROM {t}").fetchall()[0]
        for t in ("etablissement", "unite_legale")
    )
    parts = {
        "sirene": fingerprints,
        "rows": [n_etab, n_units],
        "duckdb": duckdb.__version__,  # the normaliser's accents and regular expressions
        "since": since.isoformat(),
        "departements": deps,
        "sql": sql_text(NAMES_TABLE, into="", parts="", part=""),
        "normaliser": inspect.getsource(company_names),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def stored_key(con: duckdb.DuckDBPyConnection) -> str | None:
    """The key the kept names table was built under (None: no table, or none vouched)."""
    if not (table_exists(con, KEY_TABLE) and table_exists(con, NAMES_TABLE)):
        return None
    rows = con.execute(f"SELECT key FROM {KEY_TABLE}").fetchall()
    return str(rows[0][0]) if len(rows) == 1 else None


def build_names(
    con: duckdb.DuckDBPyConnection, first_offer: date | None, slice_establishments: int
) -> bool:
    """`offre_link_name` for the offers of `offre_link_query` (`first_offer`: their
    earliest date); returns True when the stored table was reused.

    Built in slices of at most `slice_establishments` split by a hash of the SIREN: an
    establishment's names depend only on itself and its legal unit, so each slice joins
    only its own legal units and together the slices give exactly the rows of one
    statement (all of France at once ran the ingest out of memory)."""
    since = month_start(first_offer) if first_offer is not None else None
    key = names_key(con, since) if since is not None else None
    if key is not None and stored_key(con) == key:
        return True
    # the key goes first: a build that fails half-way is never taken for a valid table
    con.execute(f"DROP TABLE IF EXISTS {KEY_TABLE}")
    (n,) = con.execute(
        "SELECT count(*) FROM etablissement WHERE code_departement IN "
        "(SELECT DISTINCT code_departement FROM offre_link_query)"
    ).fetchall()[0]
    parts = max(1, -(-int(n) // slice_establishments))
    for part in range(parts):
        into = f"INSERT INTO {NAMES_TABLE}" if part else f"CREATE OR REPLACE TABLE {NAMES_TABLE} AS"
        run_sql_file(con, NAMES_TABLE, {"since": since}, into=into, parts=parts, part=part)
    if key is not None:
        con.execute(f"CREATE TABLE {KEY_TABLE} AS SELECT ? AS key", [key])
    return False


def drop_unkeyed(con: duckdb.DuckDBPyConnection) -> None:
    """Drop a names table no key vouches for: it can never be reused, only take room."""
    if not table_exists(con, KEY_TABLE):
        con.execute(f"DROP TABLE IF EXISTS {NAMES_TABLE}")
