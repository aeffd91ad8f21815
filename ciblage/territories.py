"""Territories a list is built for: département, bassin d'emploi, France Travail agency.

There is no public list of the communes each agency serves, so a deployment may give one
(`[publish] agency_mapping`, a `commune;agency_code;agency_name` CSV); without it each
bassin d'emploi stands for one agency area, which is the closest public partition of a
département into local labour markets. Territories are materialised as a temp table
`territory_commune(territory_level, territory_code, territory_name, code_commune)` so that
the ranking SQL joins establishments to every territory they belong to in one pass.

The radius search (profile matching) uses the great-circle distance between the job
seeker's commune centre and the establishment's own coordinates when they are precise,
else its commune centre.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ciblage.config import ConfigError, Settings
from ciblage.warehouse import table_exists

LEVELS = ("departement", "bassin", "agence")
LEVEL_PREFIX = {"dep": "departement", "bassin": "bassin", "agence": "agence"}
LEVEL_LABEL = {"departement": "Département", "bassin": "Bassin d'emploi", "agence": "Agence"}
EARTH_RADIUS_KM = 6371.0088
_COMMUNE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_AGENCY_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class TerritoryError(ValueError):
    """A territory parameter or an agency mapping file is invalid."""


@dataclass(frozen=True)
class TerritoryFilter:
    """Parsed `territory` parameter; `level` None means every territory ('all')."""

    level: str | None = None
    code: str | None = None

    def __str__(self) -> str:
        if self.level is None:
            return "all"
        prefix = {v: k for k, v in LEVEL_PREFIX.items()}[self.level]
        return f"{prefix}:{self.code}"


def parse_territory(value: str | None) -> TerritoryFilter:
    """`all`, `dep:45`, `bassin:2420`, `agence:XXX` -> TerritoryFilter."""
    text = (value or "all").strip()
    if text.lower() == "all":
        return TerritoryFilter()
    prefix, sep, code = text.partition(":")
    level = LEVEL_PREFIX.get(prefix.strip().lower())
    code = code.strip()
    if not sep or level is None or not code:
        raise TerritoryError(
            f"territoire invalide {value!r} : attendu 'all', 'dep:<code>', 'bassin:<code>' "
            "ou 'agence:<code>'"
        )
    if level == "departement":
        code = code.upper().zfill(2) if code.isdigit() and len(code) < 2 else code.upper()
    return TerritoryFilter(level, code)


@dataclass(frozen=True)
class AgencyRow:
    code_commune: str
    agency_code: str
    agency_name: str


def read_agency_mapping(path: Path) -> list[AgencyRow]:
    """Read and validate `commune;agency_code;agency_name` (header line required).

    Errors name the file, the line and the field: a wrong mapping silently moves
    companies to another agency's lists, which nobody would notice.
    """
    if not path.is_file():
        raise TerritoryError(f"fichier des agences introuvable : {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TerritoryError(f"{path} : pas en UTF-8 ({exc})") from exc
    reader = csv.reader(text.splitlines(), delimiter=";")
    header = [h.strip().lower() for h in next(reader, [])]
    expected = ["commune", "agency_code", "agency_name"]
    if header[:3] != expected:
        raise TerritoryError(
            f"{path} : ligne 1 : l'en-tête doit être {';'.join(expected)}, reçu {header}"
        )
    rows: list[AgencyRow] = []
    names: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for lineno, rec in enumerate(reader, start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) < 3:
            raise TerritoryError(f"{path} : ligne {lineno} : 3 champs attendus, {len(rec)} reçus")
        commune, code, name = (c.strip() for c in rec[:3])
        if not _COMMUNE.match(commune):
            raise TerritoryError(f"{path} : ligne {lineno} : champ commune : {commune!r} invalide")
        if not _AGENCY_CODE.match(code):
            raise TerritoryError(
                f"{path} : ligne {lineno} : champ agency_code : {code!r} invalide "
                "(lettres, chiffres, '-' ou '_')"
            )
        if not name:
            raise TerritoryError(f"{path} : ligne {lineno} : champ agency_name : vide")
        if names.setdefault(code, name) != name:
            raise TerritoryError(
                f"{path} : ligne {lineno} : champ agency_name : {name!r} diffère de "
                f"{names[code]!r} donné plus haut pour l'agence {code}"
            )
        if (commune, code) in seen:
            raise TerritoryError(
                f"{path} : ligne {lineno} : commune {commune} en double pour {code}"
            )
        seen.add((commune, code))
        rows.append(AgencyRow(commune, code, name))
    if not rows:
        raise TerritoryError(f"{path} : aucune ligne d'affectation")
    return rows


def agency_mapping_path(settings: Settings) -> Path | None:
    value = settings.section("publish").get("agency_mapping")
    if not value:
        return None
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else (settings.config_path.parent / p).resolve()


def configured_levels(settings: Settings) -> tuple[str, ...]:
    levels = tuple(settings.section("publish").get("levels", LEVELS))
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad or not levels:
        raise ConfigError(
            f"{settings.config_path} : [publish] levels doit être pris parmi {LEVELS}"
        )
    return levels


def commune_counts(con: duckdb.DuckDBPyConnection) -> str:
    """Relation of establishments per (commune, département): the table the SIRENE load
    builds (sql/etablissement_commune.sql), or the same figures computed from
    `etablissement` on a warehouse loaded before that table existed."""
    if table_exists(con, "etablissement_commune"):
        return "etablissement_commune"
    return (
        "(SELECT code_commune, code_departement, count(*) AS n_etablissements, "
        "count(*) FILTER (WHERE etat_administratif = 'A') AS n_actifs "
        "FROM etablissement GROUP BY ALL)"
    )


def build_territory_commune(
    con: duckdb.DuckDBPyConnection, mapping: list[AgencyRow] | None
) -> None:
    """Temp table of every territory's communes (all levels).

    Communes of establishments missing from ref_commune still get their département
    (from the establishment), so an outdated COG never drops a company from its
    département list.
    """
    counts = commune_counts(con)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE territory_commune AS
        WITH communes AS (
            SELECT code_commune, code_departement, code_bassin FROM ref_commune
            UNION ALL
            SELECT e.code_commune, e.code_departement, NULL
            FROM {counts} e
            WHERE e.code_commune IS NOT NULL AND e.code_departement IS NOT NULL
              AND e.code_commune NOT IN (SELECT code_commune FROM ref_commune)
        )
        SELECT 'departement' AS territory_level, c.code_departement AS territory_code,
               coalesce(d.libelle, 'Département ' || c.code_departement) AS territory_name,
               c.code_commune
        FROM communes c LEFT JOIN ref_departement d USING (code_departement)
        WHERE c.code_departement IS NOT NULL
        UNION ALL
        SELECT 'bassin', c.code_bassin,
               coalesce(b.libelle, 'Bassin ' || c.code_bassin), c.code_commune
        FROM communes c LEFT JOIN ref_bassin b USING (code_bassin)
        WHERE c.code_bassin IS NOT NULL
        """
    )
    name_bassins_by_communes(con)
    if mapping is None:
        con.execute(
            """
            INSERT INTO territory_commune
            SELECT 'agence', territory_code, territory_name, code_commune
            FROM territory_commune WHERE territory_level = 'bassin'
            """
        )
    else:
        con.executemany(
            "INSERT INTO territory_commune VALUES ('agence', ?, ?, ?)",
            [(r.agency_code, r.agency_name, r.code_commune) for r in mapping],
        )


MAIN_COMMUNES = 3


def name_bassins_by_communes(con: duckdb.DuckDBPyConnection) -> None:
    """« Orléans, Saran, Ingré (Loiret) » instead of « Bassin d'emploi 2420 ».

    The public bassin file has codes only. A counselor recognises an area by its main
    communes (most active establishments, else most communes' weight: code order) and
    its département(s); bassins with a real name in ref_bassin keep it.
    """
    weight = (
        f"SELECT code_commune, sum(n_actifs) AS n FROM {commune_counts(con)} GROUP BY code_commune"
        if table_exists(con, "etablissement")
        else "SELECT NULL::VARCHAR AS code_commune, 0 AS n WHERE false"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE bassin_name AS
        WITH w AS ({weight}),
        c AS (
            SELECT tc.territory_code, rc.libelle, rc.code_departement,
                   coalesce(w.n, 0) AS n, tc.code_commune
            FROM territory_commune tc
            JOIN ref_commune rc USING (code_commune)
            LEFT JOIN w USING (code_commune)
            WHERE tc.territory_level = 'bassin'
              AND (tc.territory_name LIKE 'Bassin %' OR tc.territory_name IS NULL)
        ),
        top AS (
            SELECT territory_code,
                   list(libelle ORDER BY n DESC, code_commune)[1:{MAIN_COMMUNES}] AS main,
                   count(*) AS communes
            FROM c GROUP BY territory_code
        ),
        deps AS (
            SELECT territory_code,
                   string_agg(coalesce(d.libelle, c.code_departement), ', '
                              ORDER BY c.code_departement) AS deps
            FROM (SELECT DISTINCT territory_code, code_departement FROM c) c
            LEFT JOIN ref_departement d USING (code_departement)
            GROUP BY territory_code
        )
        SELECT territory_code,
               array_to_string(main, ', ')
                 || CASE WHEN communes > len(main) THEN '…' ELSE '' END
                 || ' (' || deps || ')' AS name
        FROM top JOIN deps USING (territory_code)
        """
    )
    con.execute(
        """
        UPDATE territory_commune t SET territory_name = b.name
        FROM bassin_name b
        WHERE t.territory_level = 'bassin' AND t.territory_code = b.territory_code
        """
    )


def build_territory_scope(
    con: duckdb.DuckDBPyConnection, flt: TerritoryFilter, levels: tuple[str, ...]
) -> int:
    """Temp table `territory_scope`: the territories a run publishes, with their communes.

    `dep:45` publishes the département and every bassin/agency having a commune in it
    (whole, not cut at the border); `bassin:X` the bassin and the agencies overlapping
    it; `agence:X` that agency only. Returns the number of territories.
    """
    if flt.level is None:
        where, params = "list_contains($levels, tc.territory_level)", {}
    else:
        rank = LEVELS.index(flt.level)
        finer = list(LEVELS[rank:])
        where = (
            "list_contains($levels, tc.territory_level)"
            " AND list_contains($finer, tc.territory_level) AND EXISTS ("
            "   SELECT 1 FROM territory_commune t JOIN territory_commune f USING (code_commune)"
            "   WHERE f.territory_level = $level AND f.territory_code = $code"
            "     AND t.territory_level = tc.territory_level"
            "     AND t.territory_code = tc.territory_code)"
        )
        if flt.level == "agence":
            where += " AND tc.territory_level = 'agence' AND tc.territory_code = $code"
        params = {"finer": finer, "level": flt.level, "code": flt.code}
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE territory_scope AS "
        f"SELECT * FROM territory_commune tc WHERE {where}",
        {"levels": list(levels), **params},
    )
    (n,) = con.execute(
        "SELECT count(DISTINCT (territory_level, territory_code)) FROM territory_scope"
    ).fetchone()
    if flt.level is not None and n == 0:
        raise TerritoryError(f"territoire {flt} introuvable (aucune commune)")
    return int(n)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_sql(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """SQL expression of the same distance, for DuckDB."""
    return (
        f"2 * {EARTH_RADIUS_KM} * asin(least(1, sqrt("
        f"pow(sin(radians({lat2} - {lat1}) / 2), 2) + cos(radians({lat1})) * "
        f"cos(radians({lat2})) * pow(sin(radians({lon2} - {lon1}) / 2), 2))))"
    )


def commune_centre(con: duckdb.DuckDBPyConnection, code_commune: str) -> tuple[float, float]:
    """Latitude/longitude of a commune: ref_commune, else the mean of its establishments."""
    row = con.execute(
        "SELECT latitude, longitude FROM ref_commune WHERE code_commune = ?", [code_commune]
    ).fetchone()
    if row and row[0] is not None and row[1] is not None:
        return float(row[0]), float(row[1])
    if table_exists(con, "etablissement"):
        row = con.execute(
            "SELECT avg(latitude), avg(longitude) FROM etablissement "
            "WHERE code_commune = ? AND latitude IS NOT NULL",
            [code_commune],
        ).fetchone()
        if row and row[0] is not None:
            return float(row[0]), float(row[1])
    raise TerritoryError(f"commune {code_commune} : inconnue ou sans coordonnées")


def search_terms(con: duckdb.DuckDBPyConnection, level: str, code: str) -> str:
    """Commune names, postcodes and département names of a territory (temp table
    territory_commune), so the site's agency search finds « orleans », « 45000 » or
    « loiret »."""
    return all_search_terms(con, level, code).get(code, "")


def all_search_terms(
    con: duckdb.DuckDBPyConnection, level: str, code: str | None = None
) -> dict[str, str]:
    """`search_terms` of every territory of `level` (or of `code` only), in one query:
    a national run has hundreds of agencies."""
    postcodes = (
        "SELECT code_commune, string_agg(DISTINCT code_postal, ' ' ORDER BY code_postal) AS cp "
        "FROM ref_code_postal "
        "GROUP BY code_commune"
        if table_exists(con, "ref_code_postal")
        else "SELECT NULL::VARCHAR AS code_commune, NULL::VARCHAR AS cp WHERE false"
    )
    rows = con.execute(
        f"""
        WITH p AS ({postcodes})
        SELECT tc.territory_code, concat_ws(' ',
            string_agg(DISTINCT rc.libelle, ' ' ORDER BY rc.libelle),
            string_agg(DISTINCT p.cp, ' ' ORDER BY p.cp),
            string_agg(DISTINCT d.libelle, ' ' ORDER BY d.libelle))
        FROM territory_commune tc
        LEFT JOIN ref_commune rc USING (code_commune)
        LEFT JOIN p USING (code_commune)
        LEFT JOIN ref_departement d ON d.code_departement = rc.code_departement
        WHERE tc.territory_level = ? AND (? IS NULL OR tc.territory_code = ?)
        GROUP BY tc.territory_code
        """,
        [level, code, code],
    ).fetchall()
    return {c: text or "" for c, text in rows}
