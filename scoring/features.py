"""Feature and label snapshots, computed in DuckDB from the warehouse.

The SQL lives in `sql/feature_etablissement.sql` and `sql/label_etablissement.sql`; this
module chooses the snapshot dates, the label mode and the territory scope, and hands
pandas frames to the model. Feature meanings are documented in docs/features.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ciblage.warehouse import run_sql_file, table_exists

log = logging.getLogger(__name__)

# Model inputs, in this order (the persisted model records them too).
FEATURES: tuple[str, ...] = (
    "naf_division",
    "naf_section",
    "naf_n_etab",
    "naf_hires_rate_12m",
    "naf_offers_rate_12m",
    "naf_hires_season_ratio",
    "naf_offers_season_ratio",
    "effectif_rank",
    "age_years",
    "is_siege",
    "is_employer",
    "categorie_juridique_2",
    "is_ess",
    "categorie_entreprise_rank",
    "siren_n_etab",
    "hires_3m",
    "hires_6m",
    "hires_12m",
    "hires_24m",
    "hires_prev_6m",
    "hires_trend",
    "offers_3m",
    "offers_6m",
    "offers_12m",
    "offers_24m",
    "offers_prev_6m",
    "offers_trend",
    "postes_12m",
    "days_since_last_offer",
    "siren_hires_6m",
    "siren_hires_12m",
    "siren_hires_24m",
    "siren_hires_trend",
    "siren_offers_6m",
    "siren_offers_12m",
    "siren_offers_24m",
    "siren_offers_trend",
    "dpae_dep_gs_per_etab",
    "dpae_dep_gs_trend",
    "dpae_reg_a38_per_etab",
    "dpae_reg_a38_trend",
    "naf_tension_pct",
    "asof_month_sin",
    "asof_month_cos",
    "hires_history_months",
    "offers_history_months",
)
# Integer codes without an order: handled as categories by the gradient boosting.
CATEGORICAL: tuple[str, ...] = ("naf_division", "naf_section", "categorie_juridique_2")
ID_COLUMNS: tuple[str, ...] = ("as_of", "siret", "siren", "code_departement", "naf_code")

LABEL_MODES = ("hires_siret", "offres")


# Optional inputs: a deployment without them still scores (empty stand-ins, logged).
_OPTIONAL_TABLES = {
    "hires_siret": "siret VARCHAR, mois DATE, code_rome VARCHAR, nombre_embauches INTEGER",
    "offre": "offre_id VARCHAR, date_creation TIMESTAMP, code_rome VARCHAR, nombre_postes INTEGER",
    "offre_siret_link": "offre_id VARCHAR, siret VARCHAR, method VARCHAR, confidence DOUBLE",
    "dpae_aggregate": "dataset VARCHAR, code_region VARCHAR, code_departement VARCHAR, "
    "secteur_code VARCHAR, secteur_label VARCHAR, duree_contrat VARCHAR, "
    "nature_contrat VARCHAR, annee INTEGER, trimestre INTEGER, date_fin_trimestre DATE, "
    "dpae_brut DOUBLE, dpae_cvs DOUBLE",
    "ref_tension": "code_rome VARCHAR, tension_pct DOUBLE",
}


def ensure_optional_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create empty temp stand-ins for optional sources never loaded; returns their names."""
    missing = [t for t in _OPTIONAL_TABLES if not table_exists(con, t)]
    for t in missing:
        con.execute(f"CREATE TEMP TABLE {t} ({_OPTIONAL_TABLES[t]})")
    if missing:
        log.warning("scoring without %s (source never loaded): empty stand-ins", missing)
    return missing


def detect_label_mode(con: duckdb.DuckDBPyConnection, forced: str | None = None) -> str:
    """'hires_siret' when the deployment loaded per-SIRET hires, else 'offres'."""
    if forced:
        if forced not in LABEL_MODES:
            raise ValueError(f"label_mode must be one of {LABEL_MODES}, got {forced!r}")
        return forced
    if table_exists(con, "hires_siret"):
        row = con.execute("SELECT count(*) FROM hires_siret").fetchone()
        if row and row[0] > 0:
            return "hires_siret"
    return "offres"


def signal_bounds(con: duckdb.DuckDBPyConnection, label_mode: str) -> tuple[date, date] | None:
    """First and last month with a hiring signal of the label's kind (None when empty)."""
    if label_mode == "hires_siret":
        sql = "SELECT min(CAST(mois AS DATE)), max(CAST(mois AS DATE)) FROM hires_siret"
    else:
        sql = (
            "SELECT min(CAST(o.date_creation AS DATE)), max(CAST(o.date_creation AS DATE)) "
            "FROM offre o JOIN offre_siret_link l USING (offre_id) WHERE l.siret IS NOT NULL"
        )
    row = con.execute(sql).fetchone()
    if not row or row[0] is None:
        return None
    return row[0], row[1]


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1) if d.day == 1 else _clip_day(d.year + y, m + 1, d.day)


def _clip_day(y: int, m: int, day: int) -> date:
    import calendar

    return date(y, m, min(day, calendar.monthrange(y, m)[1]))


@dataclass(frozen=True)
class SnapshotSpec:
    horizon_months: int
    dpae_lag_days: int = 45


def build_features(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    spec: SnapshotSpec,
    target: str,
    scope: str = "TRUE",
    temp: bool = True,
) -> None:
    """Create table `target` with the features of establishments active at `as_of`.

    `temp`: a temporary table (training snapshots); the scoring stage builds a real one,
    read by its prediction cursors and renamed feature_etablissement, not copied twice."""
    require_history(con, as_of)
    run_sql_file(
        con,
        "feature_etablissement",
        dict(
            as_of=as_of,
            horizon_months=spec.horizon_months,
            dpae_lag_days=spec.dpae_lag_days,
        ),
        target=target,
        scope=scope,
        siren_scope="TRUE"
        if scope == "TRUE"
        else f"siren IN (SELECT e.siren FROM pop e WHERE {scope})",
        temp="TEMP" if temp else "",
    )


def build_labels(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    horizon_months: int,
    label_mode: str,
    target: str,
) -> None:
    """Create temp table `target` (siret, code_rome, n): hires in [as_of, as_of + h)."""
    run_sql_file(
        con,
        "label_etablissement",
        dict(as_of=as_of, horizon_months=horizon_months, label_mode=label_mode),
        target=target,
    )


def labelled_snapshot(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    spec: SnapshotSpec,
    label_mode: str,
    scope: str = "TRUE",
) -> pd.DataFrame:
    """Features at `as_of` joined with the label y = hires in [as_of, as_of + h)."""
    return labelled_snapshots(con, as_of, spec, label_mode, [scope])[0]


def labelled_snapshots(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    spec: SnapshotSpec,
    label_mode: str,
    scopes: list[str],
) -> list[pd.DataFrame]:
    """`labelled_snapshot` for each of `scopes` (predicates on the establishment, alias
    e), from one feature build over their union.

    A build's cost is its aggregates over the whole warehouse, the same for any scope, and
    a row's features do not depend on the scope (sql/feature_etablissement.sql): two
    samples of one date (nationally, the back-test's date is drawn for training and for
    evaluation) cost one build, and each frame is the one its own build would give."""
    union = "TRUE" if "TRUE" in scopes else " OR ".join(f"({s})" for s in scopes)
    build_features(con, as_of, spec, "_snap_features", union)
    build_labels(con, as_of, spec.horizon_months, label_mode, "_snap_labels")
    frames = []
    for scope in scopes:
        within = (
            ""
            if scope == union
            else f"WHERE f.siret IN (SELECT e.siret FROM etablissement e WHERE {scope})"
        )
        frames.append(
            con.execute(
                f"""
                SELECT f.*, coalesce(l.y, 0) AS y
                FROM _snap_features f
                LEFT JOIN (SELECT siret, sum(n) AS y FROM _snap_labels GROUP BY siret) l
                    USING (siret)
                {within}
                ORDER BY f.siret
                """
            ).df()
        )
    return frames


def training_snapshots(
    as_of: date, horizon_months: int, step_months: int, n: int, earliest: date | None
) -> list[date]:
    """Past as-of dates whose label window ends by `as_of`: as_of - h, as_of - h - step, ...

    A snapshot is kept only if at least 12 months of signal exist before it (`earliest`),
    so that its 12-month features are not truncated by the start of the data.
    """
    out: list[date] = []
    for k in range(n):
        s = add_months(as_of, -(horizon_months + k * step_months))
        if earliest is not None and add_months(s, -12) < earliest:
            break
        out.append(s)
    return out


@dataclass(frozen=True)
class SnapshotPlan:
    """Every as-of date a training at `as_of` builds: the final model's snapshots, the
    back-test (the same plan one horizon earlier, validated at `backtest_as_of`), and the
    tuning (the plan at the back-test's latest snapshot, validated there)."""

    final: list[date]
    backtest_as_of: date
    backtest: list[date]
    tuning: list[date]

    @property
    def tuning_validation(self) -> date | None:
        return self.backtest[0] if self.backtest else None

    def dates(self) -> list[date]:
        return sorted({*self.final, self.backtest_as_of, *self.backtest, *self.tuning})


def snapshot_plan(
    as_of: date, horizon_months: int, step_months: int, n: int, earliest: date | None
) -> SnapshotPlan:
    final = training_snapshots(as_of, horizon_months, step_months, n, earliest)
    bt_asof = add_months(as_of, -horizon_months)
    bt = training_snapshots(bt_asof, horizon_months, step_months, n, earliest)
    tuning = training_snapshots(bt[0], horizon_months, step_months, n, earliest) if bt else []
    return SnapshotPlan(final, bt_asof, bt, tuning)


# How far back a snapshot's features read the hiring signal (sql/feature_etablissement.sql:
# hires and offers within 24 months before it).
SIGNAL_MONTHS = 24


def history_start(as_of: date, horizon_months: int, step_months: int, n: int) -> date:
    """The first day of the year of the earliest day a training at `as_of` reads: its
    earliest snapshot, less the SIGNAL_MONTHS its features look back.

    The ingest leaves out the establishments closed before it: no snapshot's population
    holds them (it keeps establishments not closed before the snapshot), and every offer a
    feature counts is linked among all the establishments open at its date (the names
    need the closed ones too, or an offer goes to a namesake). A year's first day, so a
    nightly run changes it once a year, not every night (each change loads SIRENE again)."""
    earliest = snapshot_plan(as_of, horizon_months, step_months, n, None).dates()[0]
    first = add_months(earliest, -SIGNAL_MONTHS)
    return date(first.year, 1, 1)


def require_history(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Refuse a snapshot at `as_of` when the establishments closed in the months it reads
    were left out of the warehouse (an ingest for a later as-of)."""
    from ciblage.ingest.load import loaded_history_start

    start = (
        loaded_history_start(con, "sirene_etablissement")
        if table_exists(con, "source_load")
        else None
    )
    needed = add_months(as_of, -SIGNAL_MONTHS)
    if start is not None and needed < start:
        raise ValueError(
            f"l'entrepôt ne garde les établissements fermés qu'à partir du {start:%d/%m/%Y} ; "
            f"un instantané au {as_of:%d/%m/%Y} lit les {SIGNAL_MONTHS} mois avant lui : "
            f"relancez l'ingestion avec ce --as-of (ciblage ingest --as-of {as_of.isoformat()})"
        )


def matrix(df: pd.DataFrame) -> np.ndarray:
    """The model's input matrix, float64, NaN for missing (handled natively by the model)."""
    return df.loc[:, list(FEATURES)].to_numpy(dtype=np.float64, na_value=np.nan)


def arrow_matrix(batch: pa.RecordBatch) -> np.ndarray:
    """`matrix` of an Arrow batch of feature rows, the same values: each column cast to
    float64 by Arrow (nulls become NaN). Scoring all of France's establishments went
    through pandas for this: 0.9 s per million rows against 0.33 s here."""
    return np.column_stack(
        [pc.cast(batch.column(f), pa.float64()).to_numpy(zero_copy_only=False) for f in FEATURES]
    )
