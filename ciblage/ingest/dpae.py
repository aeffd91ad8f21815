"""URSSAF DPAE aggregates: the two Opendatasoft exports and the sector table they map to.

URSSAF writes a sector as one value, code then label: `grand_secteur_d_activite` =
« GS1 Industrie », `secteur_na38` = « CA Fabrication de denrées alimentaires, … ». Features
join DPAE volumes to establishments by *code* (grand secteur GS1..GS7, NA38 = INSEE A38),
through the explicit table data/reference/dpae_secteurs.csv (`ref_dpae_secteur`, and its
NAF-level expansion `ref_naf_dpae`). Comparing labels silently matched nothing when the
exports' labels differed from ours, so a value whose code (or, for an export without
codes, whose whole label) is not in that table now stops the load, naming file, row,
field and value; a known code with another label loads and is reported as a warning.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import duckdb

from ciblage import formats
from ciblage.config import PROJECT_ROOT
from ciblage.ingest.gate import QualityFailure
from ciblage.ingest.readers import read_tabular
from ciblage.ingest.spec import Rule, SourceSpec
from ciblage.quality import Check
from ciblage.quality.outcome import WHOLE_TABLE
from ciblage.warehouse import table_exists

SECTOR_TABLE = PROJECT_ROOT / "data" / "reference" / "dpae_secteurs.csv"
# Sector fields of each export -> nomenclature of ref_dpae_secteur they are coded in.
SECTOR_FIELDS: dict[str, dict[str, str]] = {
    "dpae_departement": {"grand_secteur_d_activite": "grand_secteur"},
    "dpae_region_na38": {"grand_secteur_d_activite": "grand_secteur", "secteur_na38": "na38"},
}
EXPECT_MAPPED = "expect_dpae_sector_in_mapping_table"
EXPECT_LABEL = "expect_dpae_sector_label_as_published"


def _token(value: str) -> str:
    return f"regexp_extract(trim({value}), '^(\\S+)', 1)"


def sector_code_sql(value: str, nomenclature: str) -> str:
    """SQL: code of ref_dpae_secteur for an export's sector `value`, NULL when unknown.

    The code is the value's first word (« GS1 Industrie » -> GS1); an export without code
    prefix is matched on the whole label, accents and case ignored.
    """
    norm = "lower(strip_accents(trim({})))"
    return (
        "coalesce("
        f"(SELECT min(r.code) FROM ref_dpae_secteur r WHERE r.nomenclature = '{nomenclature}' "
        f"AND r.code = {_token(value)}), "
        f"(SELECT min(r.code) FROM ref_dpae_secteur r WHERE r.nomenclature = '{nomenclature}' "
        f"AND r.libelle <> '' AND {norm.format('r.libelle')} = {norm.format(value)}))"
    )


def sector_label_sql(value: str, code: str) -> str:
    """SQL: the label part of `value` once its code (`code`, SQL) is known."""
    return (
        f"CASE WHEN {_token(value)} = {code} "
        f"THEN trim(regexp_replace(trim({value}), '^\\S+', '')) ELSE trim({value}) END"
    )


def _norm(text: str | None) -> str:
    s = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"\s+", " ", s).strip()


def _record(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    source: str,
    expectation: str,
    field: str,
    critical: bool,
    bad: list[tuple[Any, ...]],
    total: int,
    file: str,
) -> None:
    """One dq_result row (whole table) in the shape the quality report reads."""
    n_bad = sum(int(b[3]) for b in bad)
    examples = [str(b[0]) for b in bad[:5]]
    observed = (
        f"{len(bad)} value(s) on {n_bad:,} of {total:,} rows: " + ", ".join(map(repr, examples))
        if bad
        else f"all {total:,} rows mapped"
    )
    details = {
        "file": file,
        "unexpected_count": n_bad,
        "element_count": total,
        "examples": examples,
        "example_rows": [int(b[1]) for b in bad[:5]],
    }
    con.execute(
        "INSERT INTO dq_result VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            source,
            WHOLE_TABLE,
            expectation,
            field,
            not bad,
            critical,
            observed,
            json.dumps(details, ensure_ascii=False),
        ],
    )


def validate_sectors(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, staging: str, run_id: str, file: str
) -> str:
    """Every sector value of the staged export must map to ref_dpae_secteur.

    Raises QualityFailure (the load stops, the previous DPAE data stays) on the first
    unknown value with its file, row, field and value; returns a warning for known codes
    published under another label. Both verdicts go to dq_result.
    """
    if not table_exists(con, "ref_dpae_secteur"):
        raise QualityFailure(
            f"source '{spec.name}' ({file}) : table ref_dpae_secteur absente ; chargez d'abord "
            "la source ref_dpae_secteur (data/reference/dpae_secteurs.csv)"
        )
    total = con.execute(f"SELECT count(*) FROM {staging}").fetchone()[0]
    errors, warnings = [], []
    for field, nomenclature in SECTOR_FIELDS[spec.name].items():
        rows = con.execute(
            f"""WITH v AS (
                    SELECT "{field}" AS value, min(_row) AS first_row,
                           any_value(_file) AS file, count(*) AS n
                    FROM {staging} GROUP BY 1
                ), c AS (SELECT v.*, {sector_code_sql("v.value", nomenclature)} AS code FROM v)
                SELECT c.value, c.first_row, c.file, c.n, c.code, r.libelle,
                       {sector_label_sql("c.value", "c.code")} AS label
                FROM c LEFT JOIN ref_dpae_secteur r
                  ON r.nomenclature = '{nomenclature}' AND r.code = c.code
                ORDER BY c.first_row"""
        ).fetchall()
        unknown = [r for r in rows if r[4] is None]
        relabelled = [r for r in rows if r[4] is not None and _norm(r[6]) != _norm(r[5])]
        _record(con, run_id, spec.name, EXPECT_MAPPED, field, True, unknown, total, file)
        if relabelled:
            _record(con, run_id, spec.name, EXPECT_LABEL, field, False, relabelled, total, file)
        if unknown:
            value, row, fname, n = unknown[0][:4]
            more = (
                f" (et {len(unknown) - 1} autre(s) valeur(s) inconnue(s))"
                if len(unknown) > 1
                else ""
            )
            errors.append(
                f"{fname or file}, ligne {row}, champ {field} : le secteur {value!r} ne "
                f"correspond à aucun code {nomenclature} de data/reference/dpae_secteurs.csv "
                f"({n} ligne(s)){more}"
            )
        for value, row, fname, _n, code, libelle, _label in relabelled[:3]:
            warnings.append(
                f"{fname or file}, ligne {row}, champ {field} : {value!r} a le code {code}, "
                f"libellé {libelle!r} dans dpae_secteurs.csv"
            )
    if errors:
        raise QualityFailure(
            f"Secteur DPAE inconnu dans la source '{spec.name}' : "
            + " ; ".join(errors)
            + ". Le chargement est arrêté et les données précédentes conservées : ajoutez le "
            "secteur et sa correspondance NAF à data/reference/dpae_secteurs.csv si l'URSSAF "
            "l'a introduit."
        )
    return ("secteur(s) DPAE renommé(s) : " + " ; ".join(warnings)) if warnings else ""


# ---- specs --------------------------------------------------------------------------------

REF_DPAE_SECTEUR = SourceSpec(
    name="ref_dpae_secteur",
    tables=("ref_dpae_secteur", "ref_naf_dpae"),
    columns=("nomenclature", "code", "libelle", "role", "naf_a38", "naf_inclus", "naf_exclus"),
    reader=read_tabular,
    delimiter=";",
    keys=("nomenclature", "code"),
    rules=(
        Rule("nomenclature", "in_set", "nomenclature inconnue", arg=("grand_secteur", "na38")),
        Rule("role", "in_set", "rôle inconnu", arg=("sector", "excluded")),
        Rule("code", "not_null", "code secteur manquant"),
    ),
    checks=(Check("not_null", "code"),),
    depends=("ref_naf",),
    default_path=SECTOR_TABLE,
    description="URSSAF DPAE sectors (grand secteur, NA38) -> NAF, data/reference/",
)

_DPAE_COMMON: dict[str, Any] = dict(
    reader=read_tabular,
    delimiter=";",
    required=False,
    freshness="try_cast(dernier_jour_du_trimestre AS DATE)",
    max_age_days=270,  # the quarterly series are published ~2 months after the quarter
    depends=("ref_dpae_secteur",),  # a new mapping table reloads the exports
    validate=validate_sectors,
)
_DPAE_RULES = (
    Rule("annee", "int", "année non entière"),
    Rule("trimestre", "regex", "trimestre hors de 1 à 4", arg="T?[1-4]"),
    Rule("dernier_jour_du_trimestre", "date", "date illisible"),
    Rule("dpae_brut", "number", "dpae_brut non numérique"),
    Rule("dpae_cvs", "number", "dpae_cvs non numérique"),
)
_DPAE_CHECKS = (
    Check("date_parse", "dernier_jour_du_trimestre", arg="%Y-%m-%d"),
    Check("not_null", "dpae_brut", mostly=0.95),
)


def _templates(dataset: str, field: str, nomenclature: str) -> dict[str, str]:
    """sql/dpae_aggregate.sql computes the code once, as column _secteur_code."""
    return {
        "dataset": dataset,
        "secteur_code": sector_code_sql(field, nomenclature),
        "secteur_label": sector_label_sql(field, "_secteur_code"),
    }


DPAE_DEPARTEMENT = SourceSpec(
    name="dpae_departement",
    tables=("dpae_aggregate",),
    columns=tuple(formats.DPAE_DEPARTEMENT_FIELDS),
    labels=formats.DPAE_DEPARTEMENT_FIELDS,
    header=tuple(formats.DPAE_DEPARTEMENT_FIELDS),
    rules=(*_DPAE_RULES, Rule("code_departement", "not_null", "département manquant")),
    checks=(*_DPAE_CHECKS, Check("not_null", "code_departement")),
    partition="code_departement",
    templates=_templates("departement_grand_secteur", "grand_secteur_d_activite", "grand_secteur"),
    **_DPAE_COMMON,
)
DPAE_REGION_NA38 = SourceSpec(
    name="dpae_region_na38",
    tables=("dpae_aggregate",),
    columns=tuple(formats.DPAE_REGION_NA38_FIELDS),
    labels=formats.DPAE_REGION_NA38_FIELDS,
    header=tuple(formats.DPAE_REGION_NA38_FIELDS),
    rules=(*_DPAE_RULES, Rule("code_region", "not_null", "région manquante")),
    checks=(*_DPAE_CHECKS, Check("not_null", "secteur_na38")),
    templates=_templates("region_na38", "secteur_na38", "na38"),
    **_DPAE_COMMON,
)
