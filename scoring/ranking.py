"""Ranking: which companies each territory's counselors should call first, per ROME trade.

The rules live in `sql/target_rank.sql` (the company fields in `sql/target_list.sql`);
this module gathers their options from the config, prepares the territories and the
optional follow-up input (cool-downs), and returns the consolidated list as a polars frame.
It only reads the warehouse (temp tables live in the connection), so it runs on a
read-only connection next to other readers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb

from ciblage.config import PROJECT_ROOT, ConfigError, Settings
from ciblage.contacts import offers_relation
from ciblage.territories import (
    TerritoryFilter,
    agency_mapping_path,
    build_territory_commune,
    build_territory_scope,
    configured_levels,
    read_agency_mapping,
)
from ciblage.warehouse import run_sql_file, table_exists

if TYPE_CHECKING:
    import polars as pl

log = logging.getLogger(__name__)

COOLDOWN_MODES = ("exclude", "demote", "ignore")
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

    def threshold(self, label_mode: str | None) -> int:
        if label_mode == "offres" and self.min_potential_offres is not None:
            return self.min_potential_offres
        return self.min_potential

    @classmethod
    def from_settings(cls, settings: Settings, top_n: int | None = None) -> RankingOptions:
        section = settings.section("publish")
        opts = cls(
            top_n=int(top_n or settings.top_n),
            max_lists_per_company=int(section.get("max_lists_per_company", 5)),
            cooldown=str(section.get("cooldown", "demote")),
            last_offers=int(section.get("last_offers", 3)),
            min_potential=int(section.get("min_potential", 0)),
            min_potential_offres=(
                int(section["min_potential_offres"])
                if section.get("min_potential_offres") is not None
                else None
            ),
        )
        if opts.cooldown not in COOLDOWN_MODES:
            raise ConfigError(
                f"{settings.config_path}: [publish] cooldown must be one of {COOLDOWN_MODES}, "
                f"got {opts.cooldown!r}"
            )
        if (
            opts.top_n < 1
            or opts.max_lists_per_company < 0
            or opts.last_offers < 0
            or not 0 <= opts.min_potential <= 100
            or not 0 <= (opts.min_potential_offres or 0) <= 100
        ):
            raise ConfigError(
                f"{settings.config_path}: [publish] top_n >= 1, max_lists_per_company >= 0, "
                "last_offers >= 0 and min_potential in 0..100 are required"
            )
        return opts


def resolve_as_of(con: duckdb.DuckDBPyConnection, wanted: date, explicit: bool) -> date:
    """The scores' as-of date to publish.

    An explicit as-of must have been scored. The config default falls back to the latest
    scored date before it, with a warning, so that a publish the day after scoring still
    publishes what was scored.
    """
    if not table_exists(con, "score_etablissement_rome"):
        raise RuntimeError("no score_etablissement_rome table: run `ciblage score` first")
    (found,) = con.execute(
        "SELECT max(as_of) FROM score_etablissement_rome WHERE as_of <= ?", [wanted]
    ).fetchone()
    if found == wanted:
        return wanted
    if explicit or found is None:
        raise RuntimeError(
            f"no scores as of {wanted} in score_etablissement_rome "
            f"(latest before it: {found}); run `ciblage score --as-of {wanted}` first"
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


def build_target_list(
    con: duckdb.DuckDBPyConnection, ranked: str, as_of: date, last_offers: int
) -> None:
    """Temp table target_list: the ranked temp table `ranked` with every company field."""
    has_offers = table_exists(con, "offre") and table_exists(con, "offre_siret_link")
    run_sql_file(
        con,
        "target_list",
        {"as_of": as_of, "last_offers": last_offers},
        ranked=ranked,
        offers=offers_relation(con) if has_offers else _EMPTY_OFFERS,
        links="offre_siret_link" if has_offers else _EMPTY_LINKS,
    )


def enrich(
    con: duckdb.DuckDBPyConnection, ranked: str, as_of: date, last_offers: int
) -> pl.DataFrame:
    """targets.parquet rows of the ranked temp table `ranked`, as a polars frame."""
    import polars as pl

    build_target_list(con, ranked, as_of, last_offers)
    df = con.sql("SELECT * FROM target_list").pl()
    return df.with_columns(
        tranche_effectifs_label=pl.col("tranche_effectifs").replace_strict(
            tranche_labels(), default=None, return_dtype=pl.String
        )
    )


def rank_targets(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: date,
    territory: TerritoryFilter,
    options: RankingOptions,
) -> pl.DataFrame:
    """Every list of the run's territories, one row per (territory, ROME, company)."""

    mapping_file = agency_mapping_path(settings)
    mapping = read_agency_mapping(mapping_file) if mapping_file else None
    build_territory_commune(con, mapping)
    n = build_territory_scope(con, territory, configured_levels(settings))
    use_cooldown = options.cooldown != "ignore" and table_exists(con, "promotion_cooldown")
    params: dict[str, Any] = {
        "as_of": as_of,
        "top_n": options.top_n,
        "max_lists": options.max_lists_per_company,
        "cooldown_exclude": options.cooldown == "exclude",
        "min_potential": options.threshold(published_label_mode(con, as_of)),
    }
    run_sql_file(con, "eligible_etablissement")
    run_sql_file(
        con,
        "target_rank",
        params,
        cooldown="promotion_cooldown" if use_cooldown else EMPTY_COOLDOWN,
        signal="feature_etablissement"
        if table_exists(con, "feature_etablissement")
        else _NO_SIGNAL,
    )
    df = enrich(con, "target_rank", as_of, options.last_offers)
    log.info(
        "ranked %d rows in %d lists over %d territories (cool-down: %s)",
        df.height,
        df.select("territory_level", "territory_code", "code_rome").n_unique(),
        n,
        options.cooldown if use_cooldown else "no table",
    )
    return df
