"""Normalisation of company names for matching offers to SIRENE establishments.

Recruiters type employer names freely ("Sarl Électricité Dupont", "ETS DUPONT & FILS"),
SIRENE stores them upper-case without accents and with the legal form in a separate
field. Both sides go through the same function so that only the distinctive words are
compared. It is one SQL expression (a DuckDB macro: native, multi-threaded, no Python
per row, which matters over tens of millions of SIRENE names); Python calls the same
macro on an in-memory connection.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import duckdb
import pyarrow as pa

# Legal forms and generic company words: they say nothing about which company it is,
# and recruiters add or drop them at will.
LEGAL_FORM_WORDS: tuple[str, ...] = (
    "SA", "SAS", "SASU", "SARL", "SARLU", "EURL", "SCI", "SNC", "SCS", "SCA", "SCOP",
    "SCIC", "SCP", "SCM", "SEL", "SELARL", "SELAS", "SELAFA", "SEM", "SEML", "SPL", "GIE",
    "EI", "EIRL", "EARL", "GAEC", "SCEA", "GFA", "ETS", "ETABLISSEMENT", "ETABLISSEMENTS",
    "STE", "SOCIETE", "GROUPE", "GRP", "CIE", "COMPAGNIE", "ENTREPRISE", "ENTREPRISES",
    "ASSOCIATION", "ASSO", "HOLDING", "FRANCE",
)  # fmt: skip
# French articles and linking words.
STOPWORDS: tuple[str, ...] = (
    "A", "AU", "AUX", "D", "DE", "DES", "DU", "EN", "ET", "L", "LA", "LE", "LES", "SUR",
    "SOUS", "PAR", "POUR",
)  # fmt: skip
# Abbreviations expanded to the word SIRENE usually spells out.
ABBREVIATIONS: dict[str, str] = {
    "ST": "SAINT",
    "STS": "SAINTS",
    "IND": "INDUSTRIES",
    "INDUSTRIE": "INDUSTRIES",
    "TRANSP": "TRANSPORTS",
    "TRANSPORT": "TRANSPORTS",
    "BD": "BOULEVARD",
    "AV": "AVENUE",
    "INTERNAT": "INTERNATIONAL",
}


def _normalise_sql(x: str) -> str:
    """The normalisation as one SQL expression over `x` (native DuckDB, vectorised).

    Character-level clean-up with RE2 regexes, then word-level work on the list of words
    (abbreviations by CASE, dropped words by IN): twice as fast as one regex per rule.
    Splitting into words by the regex itself, and the dots' regex only where there is a
    dot, made it a fifth faster (5 M national names: 2.9 -> 2.3 CPU-s, the same words on
    them and on 200 k random strings of punctuation, accents and spaces).
    """
    s = f"replace(replace(replace(upper(strip_accents({x})), '&', ' ET '), 'Œ', 'OE'), 'Æ', 'AE')"
    # S.A.R.L. -> SARL, run only on names with a dot (most have none)
    dots = f"regexp_replace({s}, '\\b([A-Z0-9])\\.', '\\1', 'g')"
    s = f"CASE WHEN contains({s}, '.') THEN {dots} ELSE {s} END"
    expand = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in ABBREVIATIONS.items())
    drop = ", ".join(f"'{w}'" for w in sorted(set(LEGAL_FORM_WORDS + STOPWORDS)))
    # split on runs of anything but A-Z0-9 (the empty words at either end are dropped)
    split = f"regexp_split_to_array({s}, '[^A-Z0-9]+')"
    words = f"list_transform({split}, lambda w: CASE w {expand} ELSE w END)"
    kept = f"list_filter({words}, lambda w: w <> '' AND w NOT IN ({drop}))"
    return f"nullif(array_to_string({kept}, ' '), '')"


MACRO_SQL = f"CREATE OR REPLACE TEMP MACRO ciblage_normalise_name(x) AS {_normalise_sql('x')}"
_local = threading.local()


def install_macro(con: duckdb.DuckDBPyConnection) -> None:
    """Define `ciblage_normalise_name(VARCHAR)` on a connection (a temp macro)."""
    con.execute(MACRO_SQL)


def normalise_names(values: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    """Upper-case, accent-folded, punctuation-free names without legal forms; null if empty.

    `SARL Électricité d'Orléans & Fils` → `ELECTRICITE ORLEANS FILS`. Runs the same SQL
    macro the warehouse uses, so Python and SQL can never disagree.
    """
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    table = pa.table({"v": arr.cast(pa.string())})
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
        install_macro(con)
    con.register("names_in", table)
    try:
        out = con.sql("SELECT ciblage_normalise_name(v) AS n FROM names_in").to_arrow_table()
    finally:
        con.unregister("names_in")
    return out["n"].combine_chunks()


def normalise_name(value: str | None) -> str | None:
    """Scalar form of `normalise_names` (same rules)."""
    return normalise_names([value])[0].as_py()
