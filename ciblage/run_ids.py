"""Short run ids, like git's abbreviated hashes: shown by `status`, accepted everywhere.

Why: a run id (`20261127T181423376215Z_asof20261101`, creation time to the microsecond
then the as-of date) is 35 characters, too long for an 80-column terminal next to
anything else. Ids begin with their creation time, so the shortest prefix that no other
known run shares is readable on its own (`20261127T181423` = 27 Nov 2026, 18:14:23) and
is as good a handle as the full id: every command that takes a run id accepts any prefix
that designates a single run, and a prefix shared by several runs is refused with the
candidates rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from ciblage.preflight import UsageError
from ciblage.warehouse import table_exists

# never shorter than the creation time to the second: a short id stays readable as a date
MIN_SHORT = 15
# tables whose run_id column names runs a command may be asked about
RUN_TABLES = ("run_ledger", "dq_result", "source_load")


def known_run_ids(con: duckdb.DuckDBPyConnection, tables: Iterable[str] = RUN_TABLES) -> list[str]:
    """Every run id the warehouse records (sorted), from the tables that exist."""
    parts = [f"SELECT DISTINCT run_id FROM {t}" for t in tables if table_exists(con, t)]
    if not parts:
        return []
    rows = con.execute(" UNION ".join(parts)).fetchall()
    return sorted(r[0] for r in rows if r[0])


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def short_ids(known: Iterable[str], min_len: int = MIN_SHORT) -> dict[str, str]:
    """Each id's shortest prefix (at least `min_len` characters) that no other id starts
    with; an id that is itself the prefix of another stays whole (it matches exactly)."""
    ids = sorted(set(known))
    out = {}
    for i, run_id in enumerate(ids):
        shared = max(
            _common(run_id, ids[i - 1]) if i > 0 else 0,
            _common(run_id, ids[i + 1]) if i + 1 < len(ids) else 0,
        )
        out[run_id] = run_id[: min(len(run_id), max(min_len, shared + 1))]
    return out


def resolve_run_id(given: str, known: Iterable[str], option: str = "--run") -> str:
    """The full id that `given` (a full id or a prefix of one) designates.

    A prefix shared by several runs raises a UsageError (one line, in French, listing
    them); a text matching no run is returned as given, for the caller to report in its
    own terms (e.g. with the recent runs that do have what it needs).
    """
    ids = sorted(set(known))
    if given in ids:
        return given
    matches = [r for r in ids if r.startswith(given)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        shorts = short_ids(ids)
        listed = ", ".join(shorts[m] for m in matches[-5:][::-1])
        more = f" (et {len(matches) - 5} autres)" if len(matches) > 5 else ""
        raise UsageError(
            f"{option} {given} : identifiant ambigu, {len(matches)} runs commencent ainsi : "
            f"{listed}{more} ; donnez plus de caractères"
        )
    return given
