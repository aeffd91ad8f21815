"""Normalisation of company names for matching offers to SIRENE establishments.

Recruiters type employer names freely ("Sarl Électricité Dupont", "ETS DUPONT & FILS"),
SIRENE stores them upper-case without accents and with the legal form in a separate
field. Both sides go through the same function so that only the distinctive words are
compared. It is written with pyarrow compute kernels (RE2) so that it runs vectorised,
both in Python and as a DuckDB Arrow UDF over tens of millions of SIRENE names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

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

_DROP = r"\b(?:" + "|".join(sorted(set(LEGAL_FORM_WORDS + STOPWORDS), key=len)[::-1]) + r")\b"


def normalise_names(values: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    """Upper-case, accent-folded, punctuation-free names without legal forms; null if empty.

    `SARL Électricité d'Orléans & Fils` → `ELECTRICITE ORLEANS FILS`.
    """
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.string())
    s = pc.utf8_normalize(arr, form="NFKD")
    s = pc.replace_substring_regex(s, r"\p{Mn}+", "")  # combining accents
    s = pc.utf8_upper(s)
    s = pc.replace_substring(s, "&", " ET ")
    s = pc.replace_substring(s, "Œ", "OE")
    s = pc.replace_substring(s, "Æ", "AE")
    s = pc.replace_substring_regex(s, r"\b([A-Z0-9])\.", r"\1")  # S.A.R.L. → SARL
    s = pc.replace_substring_regex(s, r"[^A-Z0-9]+", " ")
    for short, long in ABBREVIATIONS.items():
        s = pc.replace_substring_regex(s, rf"\b{short}\b", long)
    s = pc.replace_substring_regex(s, _DROP, " ")
    s = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, r" {2,}", " "))
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)


def normalise_name(value: str | None) -> str | None:
    """Scalar form of `normalise_names` (same rules)."""
    return normalise_names([value])[0].as_py()


def register_udf(con: object) -> None:
    """Expose `ciblage_normalise_name(VARCHAR)` to SQL on a DuckDB connection."""
    import duckdb

    con.complete()  # type: ignore[attr-defined]  # DuckDB 2 refuses while a result is open
    with contextlib.suppress(duckdb.InvalidInputException, duckdb.CatalogException):
        con.remove_function("ciblage_normalise_name")  # type: ignore[attr-defined]
    con.create_function(  # type: ignore[attr-defined]
        "ciblage_normalise_name",
        normalise_names,
        [duckdb.sqltypes.VARCHAR],
        duckdb.sqltypes.VARCHAR,
        type="arrow",
        null_handling="special",
    )
