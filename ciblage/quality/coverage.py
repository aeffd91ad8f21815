"""Coverage checks: does each source inform the establishments, not only load rows?

A DPAE export whose sector labels joined nothing loaded « 120 read, 120 loaded », passed
every row-level expectation and left every DPAE feature empty. Row counts and column
expectations cannot see that; the share of establishments a source actually informs can.
It is measured twice (sql/source_coverage_ingest.sql after the load, and
sql/source_coverage_features.sql once the score stage built feature_etablissement), stored
in `source_coverage` (sql/source_coverage.sql), and
compared with the `[coverage]` bounds: a source that has rows but informs fewer
establishments than its bound is a critical data-quality failure (dq_result, run ledger,
`ciblage status`, quality report). A source without rows (not provided) is not judged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from ciblage import ledger
from ciblage.config import Settings
from ciblage.quality.outcome import WHOLE_TABLE
from ciblage.warehouse import run_sql_file, session, table_exists

log = logging.getLogger(__name__)

# Minimum share of establishments each source must inform, when it has rows. Overridable
# per source in ciblage.toml, e.g. `[coverage]` `offres = 0.01`. Chosen to catch a
# source that informs (almost) nothing, not to judge a thin one: DPAE and geolocation
# cover every employer sector / establishment by design; offers and per-SIRET hires
# reach a minority of establishments even when healthy.
DEFAULT_MIN_SHARE: dict[str, float] = {
    "dpae_departement": 0.5,
    "dpae_region_na38": 0.5,
    "sirene_geoloc": 0.5,
    "offres": 0.005,
    "hires_siret": 0.01,
}
STAGES = ("ingest", "features")  # sql/source_coverage_<stage>.sql
EXPECTATION = "expect_source_to_inform_establishments"
# Tables the measures read; a warehouse that never loaded one gets it empty (TEMP).
_OPTIONAL = {
    "etablissement_geoloc": "siret VARCHAR",
    "hires_siret": "siret VARCHAR",
    "offre": "offre_id VARCHAR",
    "offre_siret_link": "offre_id VARCHAR, siret VARCHAR",
    "dpae_aggregate": "dataset VARCHAR, code_region VARCHAR, code_departement VARCHAR, "
    "secteur_code VARCHAR",
    "ref_naf_dpae": "naf_code VARCHAR, grand_secteur_code VARCHAR, na38_code VARCHAR",
}


@dataclass(frozen=True)
class Coverage:
    """One measure of one source at one stage, with its verdict."""

    stage: str
    source: str
    measure: str
    population: int
    informed: int
    share: float
    rows: int
    min_share: float

    @property
    def judged(self) -> bool:
        return self.rows > 0 and self.population > 0

    @property
    def success(self) -> bool:
        return not self.judged or self.share >= self.min_share

    def describe(self, french: bool = False) -> str:
        """English for the logs; `french=True` for the user (run outcome, `status`,
        quality report)."""
        unjudged, judged = _TEXT[french]
        sep = " " if french else ","
        return (judged if self.judged else unjudged).format(
            source=self.source,
            stage=self.stage,
            rows=f"{self.rows:,}".replace(",", sep),
            population=f"{self.population:,}".replace(",", sep),
            informed=f"{self.informed:,}".replace(",", sep),
            share=100 * self.share,
            bound=100 * self.min_share,
        )


# (not judged, judged) wording of `Coverage.describe`, per language (french: True)
_TEXT = {
    False: (
        "{source} ({stage}): not judged ({rows} rows, {population} establishments)",
        "{source} ({stage}): informs {informed} of {population} establishments "
        "({share:.1f} %, bound {bound:.1f} %) from {rows} rows",
    ),
    True: (
        "{source} ({stage}) : non évaluée ({rows} lignes, {population} établissements)",
        "{source} ({stage}) : renseigne {informed} établissements sur {population} "
        "({share:.1f} %, seuil {bound:.1f} %) à partir de {rows} lignes",
    ),
}


def bounds(section: dict[str, Any] | None) -> dict[str, float]:
    """DEFAULT_MIN_SHARE updated with the `[coverage]` section of the configuration."""
    out = dict(DEFAULT_MIN_SHARE)
    for key, value in (section or {}).items():
        if key not in out:
            raise ValueError(
                f"[coverage] {key} : source inconnue ; sources connues : {', '.join(out)}"
            )
        out[key] = float(value)
    return out


def measure_coverage(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    as_of: date,
    stage: str,
    min_share: dict[str, float],
) -> list[Coverage]:
    """Compute and store `stage`'s coverage rows; record verdicts in dq_result and the ledger.

    Returns every measure; the critical failures are those with `not success`.
    """
    started = datetime.now(UTC).replace(tzinfo=None)
    stand_ins = [t for t in _OPTIONAL if not table_exists(con, t)]
    try:
        for table in stand_ins:
            con.execute(f"CREATE TEMP TABLE {table} ({_OPTIONAL[table]})")
        run_sql_file(con, "source_coverage")
        run_sql_file(con, f"source_coverage_{stage}", {"run_id": run_id, "as_of": as_of})
    finally:  # later steps create their own stand-ins, with their own columns
        for table in stand_ins:
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    rows = con.execute(
        "SELECT source, measure, population, informed, coalesce(share, 0), rows "
        "FROM source_coverage WHERE run_id = ? AND stage = ? ORDER BY source",
        [run_id, stage],
    ).fetchall()
    out = [
        Coverage(stage, s, m, int(p or 0), int(i or 0), float(sh), int(r or 0), min_share[s])
        for s, m, p, i, sh, r in rows
    ]
    if out:  # DuckDB refuses an executemany without parameter sets
        con.executemany(
            "UPDATE source_coverage SET min_share = ?, success = ? "
            "WHERE run_id = ? AND stage = ? AND source = ?",
            [[c.min_share, c.success, run_id, stage, c.source] for c in out],
        )
    _record_dq(con, run_id, out)
    failed = [c for c in out if not c.success]
    for c in failed:
        log.error("coverage below bound, critical: %s", c.describe())
    ledger.append(
        con,
        run_id=run_id,
        flow="ingest" if stage == "ingest" else "score",
        stage="ingest" if stage == "ingest" else "score",
        step=f"coverage_{stage}",
        status=ledger.FAILED if failed else ledger.COMPLETED,
        started_at=started,
        ended_at=datetime.now(UTC).replace(tzinfo=None),
        params={"as_of": as_of.isoformat(), "coverage": [c.__dict__ for c in out]},
        message=(
            "source(s) ne renseignant (presque) aucun établissement : "
            + " ; ".join(c.describe(french=True) for c in failed)
        )
        if failed
        else None,
    )
    return out


def _record_dq(con: duckdb.DuckDBPyConnection, run_id: str, cov: list[Coverage]) -> None:
    # a warehouse scored without any quality-checked load (tests, restored copies) has none
    run_sql_file(con, "dq_result")
    con.execute(
        "DELETE FROM dq_result WHERE run_id = ? AND expectation = ? AND list_contains(?, "
        "column_name)",
        [run_id, EXPECTATION, [f"{c.stage}:{c.measure}" for c in cov]],
    )
    rows = [
        [
            run_id,
            c.source,
            WHOLE_TABLE,
            EXPECTATION,
            f"{c.stage}:{c.measure}",
            c.success,
            True,
            c.describe(french=True),
            json.dumps(
                {
                    "stage": c.stage,
                    "population": c.population,
                    "informed": c.informed,
                    "share": c.share,
                    "min_share": c.min_share,
                    "rows": c.rows,
                }
            ),
        ]
        for c in cov
        if c.judged
    ]
    if rows:  # none judged (a small territory's rerun): nothing to record
        con.executemany("INSERT INTO dq_result VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def coverage_rows(con: duckdb.DuckDBPyConnection, run_ids: list[str]) -> list[dict[str, Any]]:
    """source_coverage rows of these runs (quality report, `ciblage status`)."""
    if not run_ids or not table_exists(con, "source_coverage"):
        return []
    rows = con.execute(
        "SELECT run_id, stage, source, measure, population, informed, share, rows, min_share, "
        "success FROM source_coverage WHERE list_contains(?, run_id) "
        "ORDER BY stage <> 'ingest', source",  # after the load, then after the features
        [run_ids],
    ).fetchall()
    keys = (
        "run_id",
        "stage",
        "source",
        "measure",
        "population",
        "informed",
        "share",
        "rows",
        "min_share",
        "success",
    )
    return [dict(zip(keys, r, strict=True)) for r in rows]


def record_feature_coverage(settings: Settings, run_id: str) -> list[str]:
    """After the score stage built feature_etablissement: measure, judge, re-render the report.

    Called by pipelines/score.py once the features are staged, under the run's id, so that
    the run's quality report (<output>/quality/<run_id>.html) shows both stages. Returns
    the descriptions of the critical failures (empty when every source informs enough).
    """
    from ciblage.quality.report import render_quality_report

    with session(settings.warehouse) as con:
        cov = measure_coverage(
            con, run_id, settings.as_of, "features", bounds(settings.section("coverage"))
        )
        render_quality_report(con, run_id, settings.output / "quality" / f"{run_id}.html")
    return [c.describe(french=True) for c in cov if not c.success]
