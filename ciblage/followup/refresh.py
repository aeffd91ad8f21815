"""Tables derived from the ledger: possible successes in the data, and cool-downs.

They depend on the as-of date and on freshly ingested hires/offers, so they are rebuilt
after every import and before every publication rather than stored once. A deployment can
also list ledger files in `[followup] ledger` that are (re)imported at each publication:
import is idempotent, so the agencies' shared folder can simply be pointed at.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from ciblage.config import ConfigError, Settings
from ciblage.followup.import_cache import import_if_changed
from ciblage.followup.ledger import ImportReport
from ciblage.followup.reader import PromotionFileError
from ciblage.warehouse import run_sql_file, table_exists

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "cooldown_min_promotions": 3,
    "cooldown_weeks": 8,
    "cooldown_days": 60,
    "outcome_window_months": 3,
    "outcome_same_rome": False,
    "goal_conversion": 0.12,
    "agency_plots_max": 60,
    "ledger": [],
}

_EMPTY_HIRES = (
    "(SELECT NULL::VARCHAR AS siret, NULL::DATE AS mois, NULL::VARCHAR AS code_rome, "
    "NULL::INTEGER AS nombre_embauches WHERE false)"
)
_EMPTY_LINKS = "(SELECT NULL::VARCHAR AS offre_id, NULL::VARCHAR AS siret WHERE false)"
_EMPTY_OFFERS = (
    "(SELECT NULL::VARCHAR AS offre_id, NULL::TIMESTAMP AS date_creation, "
    "NULL::VARCHAR AS code_rome WHERE false)"
)


@dataclass(frozen=True)
class DerivedSummary:
    promotions: int
    possible_successes: int
    cooldowns: int


def followup_options(settings: Settings) -> dict[str, Any]:
    """`[followup]` options with their defaults; unknown keys are configuration errors."""
    section = settings.section("followup")
    unknown = set(section) - set(DEFAULTS)
    if unknown:
        raise ConfigError(
            f"{settings.config_path} : option(s) inconnue(s) dans [followup] : "
            f"{', '.join(sorted(unknown))}"
        )
    opts = {**DEFAULTS, **section}
    for key in ("cooldown_min_promotions", "cooldown_weeks", "cooldown_days"):
        if int(opts[key]) < 1:
            raise ConfigError(f"{settings.config_path} : [followup] {key} doit être >= 1")
    return opts


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Create the (empty) ledger tables so that readers never meet a missing table."""
    if not table_exists(con, "promotion") or not table_exists(con, "promotion_history"):
        import polars as pl

        from ciblage.followup.ledger import STAGING_SCHEMA

        con.register("promotion__empty", pl.DataFrame(schema=STAGING_SCHEMA))
        try:
            run_sql_file(con, "promotion", {"imported_at": None}, staging="promotion__empty")
            run_sql_file(con, "promotion_history", {"replaced_at": None, "replaced_by": ""})
        finally:
            con.unregister("promotion__empty")


def build_derived(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: date | None = None
) -> DerivedSummary:
    """Rebuild `promotion_outcome` and `promotion_cooldown` as of `as_of` (default: config)."""
    opts = followup_options(settings)
    ensure_ledger(con)
    has_offers = table_exists(con, "offre") and table_exists(con, "offre_siret_link")
    run_sql_file(
        con,
        "promotion_outcome",
        {
            "window_months": int(opts["outcome_window_months"]),
            "same_rome": bool(opts["outcome_same_rome"]),
        },
        hires="hires_siret" if table_exists(con, "hires_siret") else _EMPTY_HIRES,
        links="offre_siret_link" if has_offers else _EMPTY_LINKS,
        offers="offre" if has_offers else _EMPTY_OFFERS,
    )
    run_sql_file(
        con,
        "promotion_cooldown",
        {
            "as_of": as_of or settings.as_of,
            "min_promotions": int(opts["cooldown_min_promotions"]),
            "weeks": int(opts["cooldown_weeks"]),
            "days": int(opts["cooldown_days"]),
        },
    )
    n, ok = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE possible_success) FROM promotion_outcome"
    ).fetchall()[0]
    (cool,) = con.execute("SELECT count(*) FROM promotion_cooldown").fetchall()[0]
    return DerivedSummary(promotions=n, possible_successes=ok, cooldowns=cool)


def configured_ledgers(settings: Settings) -> list[Path]:
    value = followup_options(settings)["ledger"]
    items = [value] if isinstance(value, str) else list(value)
    base = settings.config_path.parent
    return [p if (p := Path(str(item))).is_absolute() else (base / p).resolve() for item in items]


def refresh_followup(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: date | None = None
) -> tuple[list[ImportReport], DerivedSummary]:
    """Import the configured ledger files (idempotent; an unchanged file is not read again,
    see `import_cache`), then rebuild the derived tables.

    A missing or refused ledger file is logged and skipped: the publication of the lists
    must not fail because an agency's follow-up file is broken.
    """
    reports = []
    for path in configured_ledgers(settings):
        if not path.is_file():
            log.warning("followup ledger %s not found; skipped", path)
            continue
        try:
            report, imported = import_if_changed(con, path)
        except PromotionFileError as exc:
            log.error("followup ledger %s refused: %s", path, exc)
            continue
        if not imported:
            log.info("followup ledger %s unchanged since its last import; not read again", path)
        for err in report.errors:
            log.warning("followup ledger row rejected: %s", err)
        reports.append(report)
    return reports, build_derived(con, settings, as_of)
