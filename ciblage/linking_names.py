"""The establishments' normalised names the linking blocks on (table `offre_link_name`),
kept from one linking to the next while what they are built from is unchanged.

Normalising every name of France is most of a national linking (136 of 168 s, measured
on 43 M establishments), yet a night with a new day of offers and the same SIRENE stock
would compute the very same names again. The table is therefore not a work table: it
stays in the warehouse with its key (`offre_link_name_key`), and the next linking reuses
it when the key matches:

- the SIRENE loads it was built from: the fingerprints of the last good loads of the
  establishments and legal units (files' sha256 and the load's SQL, `source_load`); a
  warehouse whose tables have no recorded load (built by hand) never reuses;
- the date window, widened to whole months (first day of the first offer's month, last
  day of the last offer's month): a night adding a day of offers keeps it, the first
  night of a month rebuilds it;
- the départements with offers to resolve, the grace on creation dates;
- the text of `sql/offre_link_name.sql` and of the name normaliser.

The per-offer links only depend on the names table and the offer itself, so a reused
table gives exactly the links a rebuild would (`tests/offers/test_linking_names.py`).
"""

from __future__ import annotations

import calendar
import hashlib
import inspect
import json
from datetime import date
from typing import Any

import duckdb

from ciblage import company_names
from ciblage.warehouse import run_sql_file, sql_text, table_exists

KEY_TABLE = "offre_link_name_key"
NAMES_TABLE = "offre_link_name"
SIRENE_SOURCES = ("sirene_etablissement", "sirene_unite_legale")


def month_window(first: date, last: date) -> tuple[date, date]:
    """[first day of `first`'s month, last day of `last`'s month]."""
    end = calendar.monthrange(last.year, last.month)[1]
    return first.replace(day=1), last.replace(day=end)


def sirene_fingerprints(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """Fingerprints of the last good SIRENE loads, or None when a table has none (a
    warehouse built without the loader: what its tables hold is unknown)."""
    if not table_exists(con, "source_load"):
        return None
    out = []
    for source in SIRENE_SOURCES:
        rows = con.execute(
            "SELECT fingerprint FROM source_load WHERE source = ? AND status = 'loaded' "
            "ORDER BY loaded_at DESC LIMIT 1",
            [source],
        ).fetchall()
        if not rows or rows[0][0] is None:
            return None
        out.append(str(rows[0][0]))
    return out


def names_key(
    con: duckdb.DuckDBPyConnection, window: tuple[date, date], grace_days: int
) -> str | None:
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
    parts = {
        "sirene": fingerprints,
        "window": [d.isoformat() for d in window],
        "grace_days": grace_days,
        "departements": deps,
        "sql": sql_text(NAMES_TABLE, into=""),
        "normaliser": inspect.getsource(company_names),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def stored_key(con: duckdb.DuckDBPyConnection) -> str | None:
    if not (table_exists(con, KEY_TABLE) and table_exists(con, NAMES_TABLE)):
        return None
    rows = con.execute(f"SELECT key FROM {KEY_TABLE}").fetchall()
    return str(rows[0][0]) if len(rows) == 1 else None


def build_names(
    con: duckdb.DuckDBPyConnection,
    dates: tuple[Any, ...],
    grace_days: int,
    slice_establishments: int,
) -> bool:
    """`offre_link_name` for the offers of `offre_link_query` (their date range `dates`);
    returns True when the stored table was reused.

    Built in slices of at most `slice_establishments` split by a hash of the SIREN: an
    establishment's names depend only on itself and its legal unit, so each slice joins
    only its own legal units and together the slices give exactly the rows of one
    statement (all of France at once ran the ingest out of memory)."""
    window = month_window(*dates) if dates[0] is not None else (dates[0], dates[1])
    key = names_key(con, window, grace_days) if dates[0] is not None else None
    if key is not None and stored_key(con) == key:
        return True
    # the key goes first: a build that fails half-way is never taken for a valid table
    con.execute(f"DROP TABLE IF EXISTS {KEY_TABLE}")
    (n,) = con.execute(
        "SELECT count(*) FROM etablissement WHERE code_departement IN "
        "(SELECT DISTINCT code_departement FROM offre_link_query)"
    ).fetchall()[0]
    parts = max(1, -(-int(n) // slice_establishments))
    params = {
        "min_date": window[0],
        "max_date": window[1],
        "creation_grace_days": grace_days,
        "parts": parts,
    }
    for part in range(parts):
        into = f"INSERT INTO {NAMES_TABLE}" if part else f"CREATE OR REPLACE TABLE {NAMES_TABLE} AS"
        run_sql_file(con, NAMES_TABLE, {**params, "part": part}, into=into)
    if key is not None:
        con.execute(f"CREATE TABLE {KEY_TABLE} AS SELECT ? AS key", [key])
    return False


def drop_unkeyed(con: duckdb.DuckDBPyConnection) -> None:
    """Drop a names table no key vouches for: it can never be reused, only take room."""
    if not table_exists(con, KEY_TABLE):
        con.execute(f"DROP TABLE IF EXISTS {NAMES_TABLE}")
