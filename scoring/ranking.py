"""Ranking: which companies each territory's counselors should call first, per ROME trade.

The rules live in `sql/target_rank.sql` (the company fields in `sql/target_list.sql`);
this module gathers their options from the config, prepares the territories, the
candidates (sql/target_candidate.sql) and the optional follow-up input (cool-downs), then
ranks one partition of territories at a time (sql/territory_partition.sql: the
territories whose communes lie mostly in one département) into temp table target_rank.
All of France is ~100 partitions: memory is that of one département, never of every list.
It only reads the warehouse (temp tables live in the connection), so it runs on a
read-only connection next to other readers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import duckdb

from ciblage.config import PROJECT_ROOT, ConfigError, Settings
from ciblage.contacts import offers_relation
from ciblage.territories import (
    TerritoryFilter,
    agency_mapping_path,
    build_territory_commune,
    build_territory_scope,
    commune_counts,
    configured_levels,
    read_agency_mapping,
)
from ciblage.warehouse import has_column, in_departements, run_sql_file, sql_list, table_exists
from scoring.agency_mirror import build_mirror, copy_mirrored, unmirrored
from scoring.reason_table import ReasonSettings, build_reasons

if TYPE_CHECKING:
    import polars as pl

log = logging.getLogger(__name__)

COOLDOWN_MODES = ("exclude", "demote", "ignore")
# The cap and the final ranks read each list's first HEAD_DEPTH x top_n candidates, the
# territories where that may not be enough all of theirs (sql/target_rank.sql: exact
# either way); 4: a list's head loses at most 3 rows in 4 to the cap before it is redone
HEAD_DEPTH = 4
EMPTY_COOLDOWN = (
    "(SELECT NULL::VARCHAR AS siret, NULL::VARCHAR AS agency_code, NULL::VARCHAR AS code_rome,"
    " NULL::DATE AS until, NULL::VARCHAR AS reason WHERE false)"
)
_NO_SIGNAL = (
    "(SELECT NULL::VARCHAR AS siret, NULL::INTEGER AS is_employer, NULL::DOUBLE AS hires_24m,"
    " NULL::BIGINT AS offers_24m WHERE false)"
)
_EMPTY_OFFERS = (
    "(SELECT NULL::VARCHAR AS offre_id, NULL::TIMESTAMP AS date_creation, NULL::VARCHAR AS "
    "intitule, NULL::VARCHAR AS code_rome, NULL::VARCHAR AS type_contrat, "
    "NULL::BOOLEAN AS entreprise_adaptee, NULL::VARCHAR AS contact_url, NULL::VARCHAR AS "
    "contact_courriel, NULL::VARCHAR AS contact_telephone, NULL::VARCHAR AS contact_adresse, "
    "NULL::VARCHAR AS site_web WHERE false)"
)
_EMPTY_LINKS = "(SELECT NULL::VARCHAR AS offre_id, NULL::VARCHAR AS siret WHERE false)"


def tranche_labels() -> dict[str, str]:
    """INSEE headcount bands in French (shipped referential), short form for the lists."""
    path = PROJECT_ROOT / "data" / "reference" / "tranches-effectifs.json"
    labels = json.loads(path.read_text(encoding="utf-8"))
    labels["NN"] = "Non employeur"
    labels["00"] = "0 salarié"
    return labels


@dataclass(frozen=True)
class RankingOptions:
    top_n: int = 50
    max_lists_per_company: int = 5  # per territory; 0 = no cap
    cooldown: str = "demote"  # exclude | demote | ignore
    last_offers: int = 3
    # per-trade potential a company needs to be listed (0 = every scored company); the
    # shipped config sets 10, see README "Lists, site and profile matching"
    min_potential: int = 0
    # the same threshold when the scores were learnt from job offers (no per-SIRET hires):
    # their potential is a chance of an offer, well below the chance of a hire, so the
    # shipped config sets a lower value; None = min_potential
    min_potential_offres: int | None = None
    # DuckDB memory limit of the ranking connection: above it, sorts and joins spill to
    # disk instead of growing. 4 GB ranked all of France once, and the next national
    # night ran out of it writing the list files (the offers' list aggregates do not spill)
    memory_limit: str = "6GB"

    def threshold(self, label_mode: str | None) -> int:
        if label_mode == "offres" and self.min_potential_offres is not None:
            return self.min_potential_offres
        return self.min_potential

    @classmethod
    def from_settings(cls, settings: Settings, top_n: int | None = None) -> RankingOptions:
        section = settings.section("publish")
        opts = cls(
            top_n=int(top_n if top_n is not None else settings.top_n),
            max_lists_per_company=int(section.get("max_lists_per_company", 5)),
            cooldown=str(section.get("cooldown", "demote")),
            last_offers=int(section.get("last_offers", 3)),
            memory_limit=str(section.get("memory_limit", cls.memory_limit)),
            min_potential=int(section.get("min_potential", 0)),
            min_potential_offres=(
                int(section["min_potential_offres"])
                if section.get("min_potential_offres") is not None
                else None
            ),
        )
        if opts.cooldown not in COOLDOWN_MODES:
            raise ConfigError(
                f"{settings.config_path} : [publish] cooldown doit valoir l'un de "
                f"{COOLDOWN_MODES}, reçu {opts.cooldown!r}"
            )
        if (
            opts.top_n < 1
            or opts.max_lists_per_company < 0
            or opts.last_offers < 0
            or not 0 <= opts.min_potential <= 100
            or not 0 <= (opts.min_potential_offres or 0) <= 100
        ):
            raise ConfigError(
                f"{settings.config_path} : [publish] top_n >= 1, max_lists_per_company >= 0, "
                "last_offers >= 0 et min_potential dans 0..100 sont requis"
            )
        return opts


def resolve_as_of(con: duckdb.DuckDBPyConnection, wanted: date, explicit: bool) -> date:
    """The scores' as-of date to publish.

    An explicit as-of must have been scored. The config default falls back to the latest
    scored date before it, with a warning, so that a publish the day after scoring still
    publishes what was scored.
    """
    if not table_exists(con, "score_etablissement_rome"):
        raise RuntimeError("pas de table score_etablissement_rome : lancez d'abord `ciblage score`")
    (found,) = con.execute(
        "SELECT max(as_of) FROM score_etablissement_rome WHERE as_of <= ?", [wanted]
    ).fetchone()
    if found == wanted:
        return wanted
    if explicit or found is None:
        raise RuntimeError(
            f"pas de scores au {wanted} dans score_etablissement_rome "
            f"(dernière date avant : {found}) ; lancez d'abord `ciblage score --as-of {wanted}`"
        )
    log.warning("no scores as of %s; publishing the latest scores, as of %s", wanted, found)
    return found


def published_label_mode(con: duckdb.DuckDBPyConnection, as_of: date) -> str | None:
    """Label mode of the scores published (hires_siret or offres)."""
    if not table_exists(con, "score_etablissement"):
        return None
    rows = con.execute(
        "SELECT label_mode FROM score_etablissement WHERE as_of = ? GROUP BY 1 "
        "ORDER BY count(*) DESC LIMIT 1",
        [as_of],
    ).fetchall()
    return rows[0][0] if rows else None


TRANCHES = "tranche_label"


def build_target_list(
    con: duckdb.DuckDBPyConnection,
    ranked: str,
    as_of: date,
    last_offers: int,
    etablissement: str,
    *,
    reasons: ReasonSettings,
    departements: tuple[str, ...] | None = None,
) -> None:
    """Temp view target_list: the ranked temp table `ranked` with every company field.

    A view, so that the publish stage streams it into the list files (COPY) and a
    profile match reads its few rows, without materialising every list. `etablissement`:
    the establishments relation to read the companies from, named by every caller (a
    rerun's départements, `ESTABLISHMENTS_VIEW`, or the whole table). The reasons of the
    ranked establishments are computed first (scoring/reason_table.py). `departements`:
    a rerun's (`run_departements`): the establishments' scores and features are read
    for those only, instead of filtering all of France's 16 M rows by SIRET (the reasons
    of a dep:45 rerun 2.0 -> 1.7 s).
    """
    scores = _of_departements(con, "score_etablissement", departements)
    features = _of_departements(con, "feature_etablissement", departements)
    build_reasons(con, ranked, as_of, reasons, scores=scores, features=features)
    has_offers = table_exists(con, "offre") and table_exists(con, "offre_siret_link")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TRANCHES} (code VARCHAR, label VARCHAR)")
    con.executemany(f"INSERT INTO {TRANCHES} VALUES (?, ?)", sorted(tranche_labels().items()))
    run_sql_file(
        con,
        "target_list",
        ranked=ranked,
        etablissement=etablissement,
        scores=scores,
        as_of=f"DATE '{as_of.isoformat()}'",
        last_offers=int(last_offers),
        offers=offers_relation(con) if has_offers else _EMPTY_OFFERS,
        links="offre_siret_link" if has_offers else _EMPTY_LINKS,
        tranches=TRANCHES,
    )


@dataclass(frozen=True)
class Partition:
    """Territories ranked together: those whose communes lie mostly in département
    `key`; `deps` are the départements of all their communes (what the candidates' scan
    reads)."""

    key: str
    deps: tuple[str, ...]
    territories: int


# temp views of score_etablissement_rome and etablissement restricted to the run's
# départements (`scores_relation`, `establishments_relation`), created by
# `prepare_ranking`: both tables are stored sorted by département, so a territory rerun
# reads its own row groups only
SCORES_VIEW = "ranking_scores"
ESTABLISHMENTS_VIEW = "ranking_etablissement"


def prepare_ranking(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: date,
    territory: TerritoryFilter,
    options: RankingOptions,
) -> list[Partition]:
    """Territories in scope, candidates, and the partitions to rank one at a time; leaves
    temp views `SCORES_VIEW` and `ESTABLISHMENTS_VIEW` for what else reads the run's
    per-ROME scores and establishments (the lists' company fields, the fiches)."""
    mapping_file = agency_mapping_path(settings)
    mapping = read_agency_mapping(mapping_file) if mapping_file else None
    build_territory_commune(con, mapping)
    build_territory_scope(con, territory, configured_levels(settings))
    # the per-ROME scores and the establishments the run reads, named once for the
    # candidates, the list rows and the fiches
    deps = run_departements(con, territory)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {SCORES_VIEW} AS SELECT * FROM {scores_relation(con, deps)}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {ESTABLISHMENTS_VIEW} AS SELECT * FROM "
        f"{establishments_relation(deps)}"
    )
    run_sql_file(con, "eligible_etablissement", etablissement=ESTABLISHMENTS_VIEW)
    run_sql_file(
        con,
        "target_candidate",
        {"as_of": as_of, "min_potential": options.threshold(published_label_mode(con, as_of))},
        scores=SCORES_VIEW,
        signal="feature_etablissement"
        if table_exists(con, "feature_etablissement")
        else _NO_SIGNAL,
    )
    build_mirror(con, as_of, _cooldown(con, options))
    run_sql_file(con, "territory_partition")
    rows = con.execute(
        "SELECT part, deps, territories FROM territory_partition_deps ORDER BY part"
    ).fetchall()
    con.execute("DROP TABLE IF EXISTS target_rank")
    return [Partition(k, tuple(d), int(n)) for k, d, n in rows]


def scores_relation(con: duckdb.DuckDBPyConnection, deps: tuple[str, ...] | None) -> str:
    """score_etablissement_rome, read for a rerun's départements `deps` (`run_departements`)
    only when the table carries them (stored sorted by département: the other rows' blocks
    are skipped)."""
    return _of_departements(con, "score_etablissement_rome", deps)


def _of_departements(
    con: duckdb.DuckDBPyConnection, table: str, deps: tuple[str, ...] | None
) -> str:
    """`table`, or its rows of départements `deps` when it has the column."""
    if deps is None or not has_column(con, table, "code_departement"):
        return table
    return in_departements(table, deps)


def establishments_relation(deps: tuple[str, ...] | None) -> str:
    """etablissement, read for a rerun's départements `deps` only (sql/etablissement.sql
    stores it sorted by département). Establishments without a département are kept: the
    candidates file them under '?' when their commune is in scope."""
    return "etablissement" if deps is None else in_departements("etablissement", deps)


def run_departements(
    con: duckdb.DuckDBPyConnection, territory: TerritoryFilter
) -> tuple[str, ...] | None:
    """Départements of the communes in territory_scope ('?': establishments without
    one), None for all of France."""
    if territory.level is None:
        return None
    return tuple(
        r[0]
        for r in con.execute(
            "SELECT DISTINCT coalesce(e.code_departement, '?') FROM territory_scope ts "
            f"JOIN {commune_counts(con)} e USING (code_commune) ORDER BY 1"
        ).fetchall()
    )


def rank_partition(
    con: duckdb.DuckDBPyConnection, part: Partition | None, as_of: date, options: RankingOptions
) -> None:
    """Append one partition's lists to temp table target_rank (None: every territory in
    one pass, the reference the partitioned ranking must reproduce)."""
    if part is None:
        scope = "territory_scope"
        deps = tuple(
            r[0]
            for r in con.execute(
                "SELECT DISTINCT code_departement FROM target_candidate ORDER BY 1"
            ).fetchall()
        )
    else:
        # the agencies that are a bassin are copied from it once every partition is ranked
        con.execute(
            "CREATE OR REPLACE TEMP TABLE scope_part AS SELECT ts.* FROM "
            f"{unmirrored('territory_scope')} ts "
            "JOIN territory_partition p USING (territory_level, territory_code) "
            "WHERE p.part = ?",
            [part.key],
        )
        scope, deps = "scope_part", part.deps
    run_sql_file(
        con,
        "target_rank",
        {
            "as_of": as_of,
            "top_n": options.top_n,
            "depth": HEAD_DEPTH * options.top_n,
            "max_lists": options.max_lists_per_company,
            "cooldown_exclude": options.cooldown == "exclude",
        },
        scope=scope,
        deps=sql_list(deps),
        cooldown=_cooldown(con, options),
    )


def _cooldown(con: duckdb.DuckDBPyConnection, options: RankingOptions) -> str:
    """The cool-downs the ranking applies: promotion_cooldown, or none."""
    use = options.cooldown != "ignore" and table_exists(con, "promotion_cooldown")
    return "promotion_cooldown" if use else EMPTY_COOLDOWN


def rank_all(
    con: duckdb.DuckDBPyConnection,
    parts: list[Partition],
    as_of: date,
    options: RankingOptions,
    partitioned: bool = True,
    on_partition: Callable[[Partition], None] | None = None,
) -> int:
    """Rank every list of the prepared territories (`prepare_ranking`) into temp table
    target_rank, one partition at a time (memory bounded by the largest département, not
    by the number of territories); `on_partition` reports progress. Returns the rows."""
    if not partitioned:
        rank_partition(con, None, as_of, options)
    for part in parts if partitioned else []:
        rank_partition(con, part, as_of, options)
        if on_partition is not None:
            on_partition(part)
    mirrored = copy_mirrored(con) if partitioned else 0
    if not table_exists(con, "target_rank"):  # nothing in scope had a candidate
        rank_partition(con, Partition("-", (), 0), as_of, options)
    (n,) = con.execute("SELECT count(*) FROM target_rank").fetchall()[0]
    log.info(
        "ranked %d rows in %d partitions over %d territories (cool-down: %s); "
        "%d rows of agencies that are a bassin copied from it",
        n,
        len(parts),
        sum(p.territories for p in parts),
        options.cooldown,
        mirrored,
    )
    return int(n)


def rank_targets(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: date,
    territory: TerritoryFilter,
    options: RankingOptions,
    partitioned: bool = True,
) -> pl.DataFrame:
    """Every list of the run's territories as one polars frame, in the file's row order.

    For small scopes and tests: the publish stage streams the same view into
    the list files instead (ciblage.publish.targets.copy_targets).
    """
    parts = prepare_ranking(con, settings, as_of, territory, options)
    rank_all(con, parts, as_of, options, partitioned)
    build_target_list(
        con,
        "target_rank",
        as_of,
        options.last_offers,
        ESTABLISHMENTS_VIEW,
        reasons=ReasonSettings.from_settings(settings),
        departements=run_departements(con, territory),
    )
    return con.sql(
        "SELECT * FROM target_list ORDER BY territory_level, territory_code, code_rome, rank"
    ).pl()
