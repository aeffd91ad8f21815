"""The run's lists (`<run>/targets/`): their documented schema, its checks, and the writer.

The schema below is the one documented in docs/outputs.md (a test keeps them in step).
Every downstream reader (agency exports, site, publication gates, analysts) relies on
it, so the files are validated before `latest` may point at the run. The files' layout
(one per département partition, linked when unchanged) is `target_files.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ciblage.publish.target_files import (
    files_sql,
    read_manifest,
    targets_dir,
    targets_files,
    write_partitions,
)

if TYPE_CHECKING:
    import duckdb

LAST_OFFER = pl.Struct(
    {
        "date_offre": pl.Date,
        "intitule": pl.String,
        "code_rome": pl.String,
        "type_contrat": pl.String,
    }
)
TARGETS_SCHEMA: dict[str, pl.DataType] = {
    "territory_level": pl.String(),
    "territory_code": pl.String(),
    "territory_name": pl.String(),
    "code_rome": pl.String(),
    "rome_label": pl.String(),
    "rank": pl.Int32(),
    "siret": pl.String(),
    "siren": pl.String(),
    "hiring_potential": pl.Int32(),
    "stars": pl.Int32(),
    "expected_hires_6m": pl.Float64(),
    "hiring_potential_etablissement": pl.Int32(),
    "p_hire_etablissement": pl.Float64(),
    "reasons": pl.List(pl.String),
    "name": pl.String(),
    "enseigne": pl.String(),
    "address": pl.String(),
    "code_postal": pl.String(),
    "code_commune": pl.String(),
    "commune": pl.String(),
    "code_departement": pl.String(),
    "naf_code": pl.String(),
    "naf_label": pl.String(),
    "tranche_effectifs": pl.String(),
    "tranche_effectifs_label": pl.String(),
    "categorie_entreprise": pl.String(),
    "categorie_juridique": pl.String(),
    "is_public": pl.Boolean(),
    "is_ess": pl.Boolean(),
    "is_entreprise_adaptee": pl.Boolean(),
    "is_societe_mission": pl.Boolean(),
    "is_siege": pl.Boolean(),
    "date_creation": pl.Date(),
    "latitude": pl.Float64(),
    "longitude": pl.Float64(),
    "geo_precise": pl.Boolean(),
    "offers_12m": pl.Int64(),
    "offers_12m_rome": pl.Int64(),
    "last_offers": pl.List(LAST_OFFER),
    "contact_url": pl.String(),
    "contact_courriel": pl.String(),
    "contact_telephone": pl.String(),
    "contact_adresse": pl.String(),
    "site_web": pl.String(),
    "contact_date": pl.Date(),
    "in_cooldown": pl.Boolean(),
    "cooldown_until": pl.Date(),
    "cooldown_reason": pl.String(),
    "as_of": pl.Date(),
}
NOT_NULL = (
    "territory_level",
    "territory_code",
    "territory_name",
    "code_rome",
    "rank",
    "siret",
    "hiring_potential",
    "stars",
    "expected_hires_6m",
    "reasons",
    "name",
    "in_cooldown",
    "as_of",
)
LEVELS = ("departement", "bassin", "agence")


class TargetsSchemaError(ValueError):
    """targets.parquet does not match its documented schema."""


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Columns in documented order and types (fails on a missing column)."""
    missing = [c for c in TARGETS_SCHEMA if c not in df.columns]
    if missing:
        raise TargetsSchemaError(f"targets: missing column(s) {missing}")
    return df.select([pl.col(c).cast(t) for c, t in TARGETS_SCHEMA.items()])


def _bad_rows_sql(src: str) -> str:
    """One row of counts per check, computed by DuckDB while streaming the file (a
    national targets.parquet does not fit in a frame)."""
    nulls = ", ".join(f'count(*) FILTER (WHERE {c} IS NULL) AS "{c} is null"' for c in NOT_NULL)
    levels = ", ".join(f"'{v}'" for v in LEVELS)
    return f"""
        SELECT count(*) AS n, {nulls},
            count(*) FILTER (WHERE NOT hiring_potential BETWEEN 0 AND 100)
                AS "hiring_potential outside 0..100",
            count(*) FILTER (WHERE NOT stars BETWEEN 1 AND 5) AS "stars outside 1..5",
            count(*) FILTER (WHERE rank < 1) AS "rank < 1",
            count(*) FILTER (WHERE NOT regexp_full_match(siret, '\\d{{14}}'))
                AS "siret not 14 digits",
            count(*) FILTER (WHERE territory_level NOT IN ({levels}))
                AS "unknown territory_level",
            count(*) - count(DISTINCT (territory_level, territory_code, code_rome, rank))
                AS "duplicate rank in a list",
            count(*) - count(DISTINCT (territory_level, territory_code, code_rome, siret))
                AS "a company twice in a list"
        FROM {src}"""


def validate_targets(run_dir: Path, files: list[Path] | None = None) -> int:
    """Check types, nullability, value ranges and keys of the run's list files (`files`:
    those this run wrote; a file linked from the published run was checked when that run
    wrote it); returns the rows of the whole run.

    Every territory must sit in one file only: a list split between two files would be
    read twice or half by the agency files."""
    import duckdb

    files = targets_files(run_dir) if files is None else files
    problems = []
    for path in files:
        schema = pl.read_parquet_schema(path)
        for col, dtype in TARGETS_SCHEMA.items():
            if col not in schema:
                problems.append(f"{path.name}: missing column {col}")
            elif schema[col] != dtype:
                problems.append(f"{path.name}: column {col}: type {schema[col]}, expected {dtype}")
        extra = sorted(set(schema) - set(TARGETS_SCHEMA))
        if extra:
            problems.append(f"{path.name}: undocumented column(s) {extra}")
    if problems:
        raise TargetsSchemaError(f"{targets_dir(run_dir)}: " + "; ".join(problems))
    manifest = read_manifest(run_dir)
    if manifest is not None:
        seen: dict[tuple[str, str], str] = {}
        for part, entry in manifest["parts"].items():
            for level, code, _n in entry["territories"]:
                if (level, code) in seen:
                    problems.append(f"{level} {code} in partitions {seen[level, code]} and {part}")
                seen[level, code] = part
    if files:
        con = duckdb.connect()
        try:
            cur = con.execute(_bad_rows_sql(files_sql(files)))
            names = [d[0] for d in cur.description]
            counts = dict(zip(names, cur.fetchall()[0], strict=True))
        finally:
            con.close()
        counts.pop("n")
        problems += [name for name, bad in counts.items() if bad]
    if problems:
        raise TargetsSchemaError(f"{targets_dir(run_dir)}: " + "; ".join(problems))
    if manifest is not None:
        return sum(int(e["rows"]) for e in manifest["parts"].values())
    return sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files)


def row_invariants(
    df: pl.DataFrame, dispersion: float | None = None, bound: float | None = None
) -> list[str]:
    """What must hold on every published row between the numbers a counselor reads.

    Potential and expected hires come from one monotone link (scoring/calibration.py), so
    over all rows of one model a larger expected count never shows a lower potential;
    stars follow the potential's fixed cut-offs; a trade's potential never exceeds its
    establishment's. With the model's `dispersion`, potential is that link exactly; with
    the gate's `bound`, no expected count is above it. Returns the violations found.
    """
    import numpy as np

    from scoring.calibration import p_hire, potential, stars

    out: list[str] = []
    if df.is_empty():
        return out
    exp = df["expected_hires_6m"].to_numpy()
    pot = df["hiring_potential"].to_numpy()
    if not np.isfinite(exp).all() or (exp < 0).any():
        out.append("expected_hires_6m negative or not finite")
    if (df["stars"].to_numpy() != stars(pot)).any():
        out.append("stars inconsistent with hiring_potential")
    order = np.lexsort((pot, exp))
    if (np.diff(pot[order]) < 0).any():
        out.append("a larger expected_hires_6m shows a lower hiring_potential")
    etab = df["hiring_potential_etablissement"].cast(pl.Float64).to_numpy()
    known = ~np.isnan(etab)
    if (pot[known] > etab[known]).any():
        out.append("a trade's potential above its establishment's")
    p_etab = df["p_hire_etablissement"].cast(pl.Float64).to_numpy()
    ok = ~np.isnan(p_etab) & known
    if (potential(p_etab[ok]) != etab[ok]).any():
        out.append("hiring_potential_etablissement is not round(100 x p_hire_etablissement)")
    if dispersion is not None and (np.abs(potential(p_hire(exp, dispersion)) - pot) > 1).any():
        out.append("hiring_potential does not follow the model's link from expected hires")
    if bound is not None and (exp > bound).any():
        out.append(f"expected_hires_6m above the model's bound {bound:.1f}")
    return out


def copy_targets(
    con: duckdb.DuckDBPyConnection,
    run_dir: Path,
    source: str = "target_list",
    carry_from: Path | None = None,
    scope: str = "territory_scope",
) -> dict[str, Any]:
    """Stream `source` (the ranked lists view) into the run's partitioned list files
    (`ciblage.publish.target_files`), every value cast to its documented type; returns
    the manifest. `carry_from`: a territory rerun keeps the published run's lists of the
    territories outside `scope`."""
    cols = ", ".join(f'CAST("{c}" AS {sql_type(t)}) AS "{c}"' for c, t in TARGETS_SCHEMA.items())
    select = f"SELECT {cols} FROM {source}"
    types = {c: sql_type(t) for c, t in TARGETS_SCHEMA.items()}
    return write_partitions(con, run_dir, select, types, carry_from, scope)


def sql_type(dtype: pl.DataType) -> str:
    """DuckDB type of a documented column: every value is cast to it, so a column that
    is NULL in a whole run (no contact anywhere) still has its documented type."""
    if isinstance(dtype, pl.List):
        return sql_type(dtype.inner) + "[]"
    if isinstance(dtype, pl.Struct):
        return "STRUCT(" + ", ".join(f"{f.name} {sql_type(f.dtype)}" for f in dtype.fields) + ")"
    simple = {
        pl.String: "VARCHAR",
        pl.Int32: "INTEGER",
        pl.Int64: "BIGINT",
        pl.Float64: "DOUBLE",
        pl.Boolean: "BOOLEAN",
        pl.Date: "DATE",
    }
    return simple[dtype.base_type()]


def write_targets(df: pl.DataFrame, run_dir: Path) -> Path:
    """The list files from a frame, through the same writer as the publish stage (for
    small inputs: tests and tools); returns the run's targets folder."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("frame_targets", conform(df).to_arrow())
        copy_targets(con, run_dir, "frame_targets")
    finally:
        con.close()
    return targets_dir(run_dir)


def targets_summary(run_dir: Path) -> dict[str, Any]:
    """Agencies with lists, number of lists, lists per level: from the manifest (a run of
    the single-file layout: read from the file), for the run summary and the fan-out."""
    manifest = read_manifest(run_dir)
    if manifest is None:
        return _summary_from_files(run_dir)
    per_level: dict[str, int] = {}
    agencies = []
    for entry in manifest["parts"].values():
        for level, code, n in entry["territories"]:
            per_level[level] = per_level.get(level, 0) + int(n)
            if level == "agence":
                agencies.append(code)
    return {
        "lists": sum(per_level.values()),
        "lists_per_level": dict(sorted(per_level.items())),
        "agencies": sorted(agencies),
    }


def _summary_from_files(run_dir: Path) -> dict[str, Any]:
    import duckdb

    files = targets_files(run_dir)
    if not files:
        return {"lists": 0, "lists_per_level": {}, "agencies": []}
    src = files_sql(files)
    con = duckdb.connect()
    try:
        per_level = con.execute(
            f"SELECT territory_level, count(DISTINCT (territory_code, code_rome)) FROM {src} "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        agencies = con.execute(
            f"SELECT DISTINCT territory_code FROM {src} WHERE territory_level = 'agence' ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    return {
        "lists": sum(int(n) for _lvl, n in per_level),
        "lists_per_level": {lvl: int(n) for lvl, n in per_level},
        "agencies": [r[0] for r in agencies],
    }
