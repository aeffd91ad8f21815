"""The snapshot every run folder keeps for the publication gates (`ciblage.gates`).

`gates/territory_stats.parquet` (scored and high-potential establishments per
département) and `gates/potentials.parquet` (each listed-scope establishment's
potential): the next run is compared with what was *published*, not with the warehouse,
which has been overwritten since.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from ciblage.publish.target_files import files_sql, rerun_scope, targets_files
from ciblage.warehouse import sql_list

if TYPE_CHECKING:
    from ciblage.gates import GateConfig

SNAPSHOT_DIR = "gates"
STATS_FILE = "territory_stats.parquet"
POTENTIALS_FILE = "potentials.parquet"


def scope_departements(
    con: duckdb.DuckDBPyConnection, run_dir: Path, territory: str
) -> list[str] | None:
    """Départements a run covers: None for 'all', else those of the establishments it
    listed (works alike for dep:, bassin: and agence: runs).

    A rerun's run folder also holds the lists it carried over from the published run (all
    of France's): only the rows of the territories it listed anew count (the manifest's
    scope), else an agency rerun counted every département again (10 of its 21 s)."""
    if territory == "all":
        return None
    if territory.startswith("dep:"):
        return [territory.split(":", 1)[1]]
    rerun = rerun_scope(run_dir)
    files = targets_files(run_dir) if rerun is None else rerun[1]
    if not files:
        return []
    own, params = "", {}
    if rerun is not None:
        own = " AND list_contains($scope, [t.territory_level, t.territory_code])"
        params = {"scope": [list(t) for t in rerun[0]]}
    rows = con.execute(
        f"SELECT DISTINCT e.code_departement FROM {files_sql(files)} t "
        f"JOIN etablissement e USING (siret) WHERE e.code_departement IS NOT NULL{own}",
        params,
    ).fetchall()
    return sorted(r[0] for r in rows)


def write_snapshot(
    con: duckdb.DuckDBPyConnection,
    run_dir: Path,
    as_of: date,
    territory: str,
    cfg: GateConfig,
    previous_dir: Path | None = None,
) -> None:
    """Per-département counts (all départements) and per-siret potentials (run scope).

    A territory rerun counts its own départements only and carries the others' counts
    over from `previous_dir`'s snapshot, as it carries their lists over: those counts
    describe the lists this run republishes unchanged, and the next run is judged against
    them. Counting all of France again cost a national rerun about 4 of its 19 seconds.
    """
    out = run_dir / SNAPSHOT_DIR
    out.mkdir(parents=True, exist_ok=True)
    scope = scope_departements(con, run_dir, territory)
    carried = _carried_stats(previous_dir, scope)
    # the départements counted: all, or a rerun's own (a literal list: etablissement is
    # stored sorted by département, so the scan skips the others' row groups)
    counted = "" if carried is None else f" AND e.code_departement IN ({sql_list(scope)})"
    params: list[Any] = [cfg.high_potential_min, as_of]
    base = (
        "FROM score_etablissement s JOIN etablissement e USING (siret) WHERE s.as_of = ? "
        f"AND e.code_departement IS NOT NULL{counted}"
    )
    stats = con.sql(
        "SELECT e.code_departement, count(*) AS n_scored, "
        f"count(*) FILTER (WHERE s.hiring_potential >= ?) AS n_high {base} GROUP BY 1",
        params=params,
    ).pl()
    # a rerun whose territories listed nothing anew counts nothing: its counts are all
    # carried over, but the scores it was ranked from must still exist
    nothing_listed = scope == [] and carried is not None
    if stats.is_empty() and (
        not nothing_listed
        or not con.execute(
            "SELECT 1 FROM score_etablissement WHERE as_of = ? LIMIT 1", [as_of]
        ).fetchall()
    ):
        raise ValueError(f"aucun établissement noté au {as_of} dans score_etablissement")
    stats = stats.with_columns(
        in_scope=pl.lit(True) if scope is None else pl.col("code_departement").is_in(scope)
    )
    if carried is not None:
        stats = pl.concat([stats, carried.filter(~pl.col("code_departement").is_in(scope))])
    stats.sort("code_departement").write_parquet(out / STATS_FILE)
    # Only diffusible establishments: the snapshot sits in the run folder, and P units must
    # never appear in anything a run writes (their potential is never published anyway).
    pots_sql = (
        "SELECT s.siret, e.code_departement, s.hiring_potential "
        "FROM score_etablissement s JOIN etablissement e USING (siret) "
        "LEFT JOIN unite_legale ul ON ul.siren = e.siren "
        "WHERE s.as_of = ? AND e.code_departement IS NOT NULL "
        "AND e.is_diffusible IS TRUE AND ul.is_diffusible IS NOT FALSE"
    )
    if scope is not None:
        pots_sql += f" AND e.code_departement IN ({sql_list(scope)})"
    con.sql(pots_sql, params=[as_of]).pl().write_parquet(out / POTENTIALS_FILE)


def _carried_stats(previous_dir: Path | None, scope: list[str] | None) -> pl.DataFrame | None:
    """The previous snapshot's counts, when this run counts only its `scope` (a rerun)."""
    if scope is None or previous_dir is None:
        return None
    path = previous_dir / SNAPSHOT_DIR / STATS_FILE
    if not path.is_file():
        return None
    prev = pl.read_parquet(path)
    return prev.select(
        "code_departement",
        pl.col("n_scored").cast(pl.Int64),
        pl.col("n_high").cast(pl.Int64),
        in_scope=pl.lit(False),
    )
