"""`targets.parquet`: the run's consolidated lists, checked against its documented schema.

The schema below is the one documented in docs/outputs.md (a test keeps them in step).
Every downstream reader (agency exports, site, publication gates, analysts) relies on
it, so the file is validated before `latest` may point at the run.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

TARGETS_FILE = "targets.parquet"
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


def validate_targets(path: Path) -> int:
    """Check types, nullability, value ranges and keys; returns the row count."""
    schema = pl.read_parquet_schema(path)
    problems = []
    for col, dtype in TARGETS_SCHEMA.items():
        if col not in schema:
            problems.append(f"missing column {col}")
        elif schema[col] != dtype:
            problems.append(f"column {col}: type {schema[col]}, expected {dtype}")
    extra = sorted(set(schema) - set(TARGETS_SCHEMA))
    if extra:
        problems.append(f"undocumented column(s) {extra}")
    if problems:
        raise TargetsSchemaError(f"{path}: " + "; ".join(problems))
    df = pl.read_parquet(path)
    checks = {
        **{f"{c} is null": pl.col(c).is_null().any() for c in NOT_NULL},
        "hiring_potential outside 0..100": ~pl.col("hiring_potential").is_between(0, 100).all(),
        "stars outside 1..5": ~pl.col("stars").is_between(1, 5).all(),
        "rank < 1": (pl.col("rank") < 1).any(),
        "siret not 14 digits": ~pl.col("siret").str.contains(r"^\d{14}$").all(),
        "unknown territory_level": ~pl.col("territory_level").is_in(LEVELS).all(),
    }
    if df.height:
        flags = df.select(**{k: v for k, v in checks.items()}).row(0, named=True)
        problems += [name for name, bad in flags.items() if bad]
    key = ["territory_level", "territory_code", "code_rome"]
    if df.select(*key, "rank").is_duplicated().any():
        problems.append("duplicate rank in a list")
    if df.select(*key, "siret").is_duplicated().any():
        problems.append("a company twice in a list")
    if problems:
        raise TargetsSchemaError(f"{path}: " + "; ".join(problems))
    return df.height


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


ROW_ORDER = ("territory_level", "territory_code", "code_rome", "rank")


def write_targets(df: pl.DataFrame, run_dir: Path) -> Path:
    """Write atomically (temp name, then rename) so a reader never sees half a file.

    Rows are sorted by list and rank (a list's ranks are unique, so the order is total):
    the ranking runs in parallel and a territory rerun appends the carried-over lists, and
    two runs on the same data must write the same file.
    """
    path = run_dir / TARGETS_FILE
    tmp = path.with_suffix(".parquet.tmp")
    conform(df).sort(ROW_ORDER).write_parquet(tmp)
    tmp.replace(path)
    return path
