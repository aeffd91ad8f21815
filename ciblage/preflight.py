"""Checks of the configuration and of a command's options, before any work starts.

A misspelt `[sources.sirene_etablissements]` used to be ignored and the whole pipeline
ran on old data; a bad `--as-of` or `-t dep:999` surfaced only after the temporary
Prefect server had started (10-35 s) as hundreds of lines and several tracebacks. These
checks read the configuration, the source registry and (read-only, when it is free)
the warehouse: no Prefect, no write, well under a second, and each error is one line
naming where the mistake is (file and section, or the option).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import duckdb

from ciblage.config import ConfigError, Settings

# « pas de département 999 dans l'entrepôt »: the territory messages
LEVEL_NOUN = {"departement": "département", "bassin": "bassin d'emploi", "agence": "agence"}
KNOWN_KEYS = {
    "paths": ("warehouse", "output", "raw"),
    "run": ("as_of", "horizon_months", "top_n"),
}


class UsageError(ValueError):
    """A command-line option is wrong (the configuration file is not to blame)."""


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (vouliez-vous dire '{close[0]}' ?)" if close else ""


def check_config(settings: Settings) -> None:
    """Unknown or missing sources and misspelt keys of `[paths]` / `[run]`.

    Only the source names are checked strictly: a source the registry does not know is
    never loaded, so its data would silently stay old.
    """
    from ciblage.gates import GateConfig
    from ciblage.ingest.specs import SPECS

    cfg = settings.config_path
    check_source_names(settings)
    missing = [s.name for s in SPECS if s.required and s.name not in settings.sources]
    if missing:
        raise ConfigError(
            f"{cfg} : source(s) obligatoire(s) non configurée(s) : "
            + ", ".join(f"[sources.{n}]" for n in missing)
        )
    for s in SPECS:
        src = settings.sources.get(s.name)
        if s.required and src is not None and src.path is None and not src.url:
            raise ConfigError(f"{cfg} : [sources.{s.name}] demande un `path` ou une `url`")
    for section, keys in KNOWN_KEYS.items():
        bad = sorted(set(settings.section(section)) - set(keys))
        if bad:
            named = ", ".join(f"'{k}'{_hint(k, keys)}" for k in bad)
            raise ConfigError(
                f"{cfg} : clé inconnue {named} dans [{section}] ; clés connues : {', '.join(keys)}"
            )
    GateConfig.from_settings(settings)  # unknown [gates] options


def check_source_names(settings: Settings) -> None:
    """Every `[sources.X]` is a source the registry knows (also checked by the nightly
    flow itself, for deployments that do not go through the CLI)."""
    from ciblage.ingest.specs import SPECS

    known = [s.name for s in SPECS]
    unknown = sorted(set(settings.sources) - set(known))
    if unknown:
        named = ", ".join(f"[sources.{n}]{_hint(n, known)}" for n in unknown)
        raise ConfigError(
            f"{settings.config_path} : source inconnue {named} ; "
            f"sources connues : {', '.join(known)}"
        )


def check_sources_option(sources: list[str] | None) -> None:
    """`--source NAME`: a name the registry knows."""
    from ciblage.ingest.specs import SPECS

    known = [s.name for s in SPECS]
    for name in sources or []:
        if name not in known:
            raise UsageError(
                f"--source {name} : source inconnue{_hint(name, known)} ; "
                f"sources connues : {', '.join(known)}"
            )


def check_territory(settings: Settings, territory: str | None) -> None:
    """`--territory`: well formed, and present in the warehouse when it can be read.

    The warehouse may be held by a running writer (DuckDB then refuses even a read-only
    connection); the territory is then checked by the flow itself once it gets the lock.
    """
    from ciblage.territories import (
        TerritoryError,
        agency_mapping_path,
        build_territory_commune,
        build_territory_scope,
        configured_levels,
        parse_territory,
        read_agency_mapping,
    )
    from ciblage.warehouse import connect, table_exists

    try:
        flt = parse_territory(territory)
    except TerritoryError as exc:
        raise UsageError(f"--territory : {exc}") from None
    if flt.level is None or not settings.warehouse.is_file():
        return
    try:
        con = connect(settings.warehouse, read_only=True)
    except duckdb.Error:
        return
    try:
        if not (table_exists(con, "etablissement") and table_exists(con, "ref_commune")):
            return
        path = agency_mapping_path(settings)
        build_territory_commune(con, read_agency_mapping(path) if path else None)
        try:
            build_territory_scope(con, flt, configured_levels(settings))
        except TerritoryError:
            codes = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT territory_code FROM territory_commune "
                    "WHERE territory_level = ? ORDER BY 1",
                    [flt.level],
                ).fetchall()
            ]
            shown = ", ".join(codes[:12]) + (
                f", … ({len(codes)} en tout)" if len(codes) > 12 else ""
            )
            raise UsageError(
                f"--territory {flt} : pas de {LEVEL_NOUN[flt.level]} {flt.code} dans l'entrepôt"
                f"{_hint(str(flt.code), codes)} ; codes connus : {shown or 'aucun'}"
            ) from None
    except duckdb.Error:
        return
    finally:
        con.close()
