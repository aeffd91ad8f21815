"""Agencies whose lists are a bassin's lists: copied, not ranked a second time.

Without `[publish] agency_mapping`, every bassin d'emploi is one agency area, so the
agence level repeats the bassin level territory for territory: the same communes give the
same candidates, and every rule of sql/target_rank.sql is per territory, so the same
lists. Ranking them again was a third of all of France's ranking. The agencies with a
running promotion cool-down are ranked as usual (cool-downs apply to agencies only).
The unpartitioned ranking (`rank_all(partitioned=False)`, the reference the tests compare
with) ranks every agency itself.
"""

from __future__ import annotations

from datetime import date

import duckdb

from ciblage.warehouse import run_sql_file, table_exists

MIRROR = "agence_mirror"


def build_mirror(con: duckdb.DuckDBPyConnection, as_of: date, cooldown: str) -> None:
    """Temp table `agence_mirror` (agency_code, bassin_code) for the run's scope
    (territory_scope); `cooldown`: the cool-down relation the ranking reads."""
    run_sql_file(con, MIRROR, {"as_of": as_of}, cooldown=cooldown)


def unmirrored(scope: str) -> str:
    """`scope` (territories with their communes) without the mirrored agencies."""
    return (
        f"(SELECT * FROM {scope} s WHERE NOT (s.territory_level = 'agence' AND "
        f"s.territory_code IN (SELECT agency_code FROM {MIRROR})))"
    )


def copy_mirrored(con: duckdb.DuckDBPyConnection) -> int:
    """Append to target_rank the mirrored agencies' lists: their bassin's rows under the
    agency's code and name. Returns the rows added."""
    if not table_exists(con, MIRROR) or not table_exists(con, "target_rank"):
        return 0
    (added,) = con.execute(
        f"""
        INSERT INTO target_rank
        WITH names AS (
            SELECT territory_code, min(territory_name) AS territory_name
            FROM territory_scope WHERE territory_level = 'agence' GROUP BY ALL
        )
        SELECT 'agence', m.agency_code, n.territory_name, r.code_rome, r.rome_label, r.rank,
               r.siret, r.hiring_potential, r.stars, r.expected_hires, r.in_cooldown,
               r.cooldown_until, r.cooldown_reason
        FROM target_rank r
        JOIN {MIRROR} m ON r.territory_level = 'bassin' AND r.territory_code = m.bassin_code
        JOIN names n ON n.territory_code = m.agency_code
        """
    ).fetchall()[0]
    return int(added)
