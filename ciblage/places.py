"""Places and trades by name: what a counselor types, turned into the codes the data uses.

Counselors know « Orléans », « 45000 » or « serveuse », not INSEE code 45234 or ROME
G1803. These look-ups accept a commune code, a postcode or a commune name (accents,
case, hyphens and « St »/« Ste » ignored; « Saint-Denis (93) » to pick among namesakes),
and a ROME code or a job title (ROME appellations), and always say what they understood,
so a wrong guess is visible instead of silently ranking the wrong place or trade.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import duckdb

from ciblage.warehouse import table_exists

_CODE_ROME = re.compile(r"^[A-Z]\d{4}$")
_DIGITS5 = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_DEP_SUFFIX = re.compile(r"^(.*?)[\s(]+(\d{2,3}|2[AB])\)?$", re.IGNORECASE)
# the same normalisation in SQL (DuckDB) and Python
NORM_SQL = "trim(regexp_replace(lower(strip_accents({col})), '[^a-z0-9]+', ' ', 'g'))"
MAX_CHOICES = 8


class PlaceError(ValueError):
    """The text names no known place or trade, or several: the message lists choices."""


def norm(text: str) -> str:
    """« Saint-Jean-de-Braye », « ST JEAN DE BRAYE » -> « saint jean de braye »."""
    t = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).lower()
    t = re.sub(r"[^a-z0-9]+", " ", t).strip()
    t = re.sub(r"^(st|ste)\b", lambda m: "saint" if m.group(1) == "st" else "sainte", t)
    return re.sub(r"\b(st|ste)\b", lambda m: "saint" if m.group(1) == "st" else "sainte", t)


@dataclass(frozen=True)
class Place:
    code_commune: str
    label: str
    understood: str  # French: what the input was read as


def _norm_sql(col: str) -> str:
    base = NORM_SQL.format(col=col)
    return (
        f"regexp_replace(regexp_replace({base}, '\\bste\\b', 'sainte', 'g'),"
        " '\\bst\\b', 'saint', 'g')"
    )


def resolve_commune(con: duckdb.DuckDBPyConnection, text: str) -> Place:
    """A commune from an INSEE code, a postcode or a name (see the module docstring)."""
    raw = text.strip()
    if not raw:
        raise PlaceError("commune vide")
    up = raw.upper()
    if _DIGITS5.match(up):
        row = con.execute(
            "SELECT code_commune, libelle, code_departement FROM ref_commune "
            "WHERE code_commune = ?",
            [up],
        ).fetchone()
        if row:
            return Place(row[0], row[1], f"code commune INSEE {up} : {row[1]} ({row[2]})")
        if up.isdigit():
            return _by_postcode(con, up)
        raise PlaceError(f"commune {up} inconnue")
    name, dep = raw, None
    m = _DEP_SUFFIX.match(raw)
    if m and not m.group(1).strip().isdigit():
        name, dep = m.group(1), m.group(2).upper().zfill(2)
    rows = con.execute(
        f"SELECT code_commune, libelle, code_departement FROM ref_commune "
        f"WHERE {_norm_sql('libelle')} = ? ORDER BY code_departement, code_commune",
        [norm(name)],
    ).fetchall()
    if dep is not None:
        rows = [r for r in rows if r[2] == dep]
    if len(rows) == 1:
        code, label, d = rows[0]
        return Place(code, label, f"commune « {raw} » : {label} ({d}), code INSEE {code}")
    if len(rows) > 1:
        choices = ", ".join(f"{r[1]} ({r[2]})" for r in rows[:MAX_CHOICES])
        raise PlaceError(
            f"plusieurs communes s'appellent « {name.strip()} » : {choices} ; précisez le "
            f"département, par exemple « {rows[0][1]} ({rows[0][2]}) », ou le code postal"
        )
    near = con.execute(
        f"SELECT libelle, code_departement FROM ref_commune "
        f"WHERE {_norm_sql('libelle')} LIKE ? ORDER BY length(libelle), libelle LIMIT ?",
        [norm(name) + "%", MAX_CHOICES],
    ).fetchall()
    hint = (" ; vouliez-vous dire : " + ", ".join(f"{a} ({b})" for a, b in near)) if near else ""
    raise PlaceError(f"commune « {raw} » inconnue{hint}")


def _by_postcode(con: duckdb.DuckDBPyConnection, code: str) -> Place:
    """A postcode: its commune, or the one La Poste names it after when it serves several."""
    if not table_exists(con, "ref_code_postal"):
        raise PlaceError(f"{code} n'est pas un code commune connu (pas de table des codes postaux)")
    rows = con.execute(
        """
        SELECT DISTINCT p.code_commune, c.libelle, c.code_departement, p.libelle_acheminement
        FROM ref_code_postal p JOIN ref_commune c USING (code_commune)
        WHERE p.code_postal = ? ORDER BY c.libelle, p.code_commune
        """,
        [code],
    ).fetchall()
    if not rows:
        raise PlaceError(f"commune {code} inconnue : ni code commune INSEE ni code postal")
    if len(rows) > 1:
        named = [r for r in rows if norm(r[1]) == norm(r[3] or "")]
        if len({r[0] for r in named}) != 1:
            choices = ", ".join(f"{r[1]} ({r[0]})" for r in rows[:MAX_CHOICES])
            raise PlaceError(
                f"le code postal {code} dessert plusieurs communes : {choices} ; "
                "donnez le nom de la commune ou son code INSEE"
            )
        others = ", ".join(sorted({r[1] for r in rows} - {named[0][1]}))
        c, label, d, _ = named[0]
        return Place(c, label, f"code postal {code} : {label} ({d}) ; dessert aussi {others}")
    c, label, d, _ = rows[0]
    return Place(c, label, f"code postal {code} : {label} ({d}), code INSEE {c}")


@dataclass(frozen=True)
class Trade:
    code_rome: str  # v3 parent code (what lists are ranked by)
    label: str | None
    understood: str


def resolve_trade(con: duckdb.DuckDBPyConnection, text: str) -> Trade:
    """A ROME code (v4 → its v3 parent) or a job title searched in the ROME appellations."""
    raw = text.strip()
    if _CODE_ROME.match(raw.upper()):
        code = raw.upper()
        row = con.execute(
            "SELECT code_rome_parent, libelle FROM ref_rome WHERE code_rome = ?", [code]
        ).fetchone()
        parent = row[0] if row and row[0] else code
        label = con.execute(
            "SELECT any_value(rome_label) FROM ref_naf_rome WHERE code_rome = ?", [parent]
        ).fetchone()[0]
        if label is None and row is None:
            raise PlaceError(f"code ROME inconnu : {code}")
        label = label or (row[1] if row else None)
        how = f"code ROME {code}" + (f", rattaché à {parent}" if parent != code else "")
        return Trade(parent, label, f"{how} : {label or ''}".strip())
    words = norm(raw).split()
    if not words:
        raise PlaceError("métier vide")
    source = (
        "SELECT libelle, code_rome_parent AS parent FROM ref_rome_appellation"
        if table_exists(con, "ref_rome_appellation")
        else "SELECT libelle, code_rome_parent AS parent FROM ref_rome"
    )
    cond = " AND ".join("regexp_matches(a.n, ?)" for _ in words)
    rows = con.execute(
        f"""
        WITH a AS (SELECT libelle, parent, {_norm_sql("libelle")} AS n FROM ({source}) s),
        rankable AS (SELECT code_rome, any_value(rome_label) AS rl FROM ref_naf_rome
                     GROUP BY code_rome)
        SELECT a.libelle, a.parent, r.rl, a.n FROM a JOIN rankable r ON r.code_rome = a.parent
        WHERE {cond} ORDER BY length(a.libelle), a.libelle
        """,
        [rf"(^| ){re.escape(w)}" for w in words],
    ).fetchall()
    if not rows:
        raise PlaceError(
            f"aucun métier ne correspond à « {raw} » (essayez un autre mot ou un code ROME)"
        )
    q = norm(raw)
    exact = [r for r in rows if q == r[3] or q in (norm(p) for p in r[0].split("/"))]
    # « Cuisinier / Cuisinière » is the title itself (every gendered form is just the
    # query); « Cuisinier / Cuisinière en industrie chimique » a specialisation
    plain = [r for r in exact if all(len(norm(p).split()) == len(words) for p in r[0].split("/"))]
    pick = exact or rows
    parents = sorted({r[1] for r in pick}, key=lambda p: -sum(r[1] == p for r in pick))
    if plain and len({r[1] for r in plain}) == 1:
        parents.remove(plain[0][1])
        parents.insert(0, plain[0][1])
    best = parents[0]
    share = sum(r[1] == best for r in pick) / len(pick)
    if (plain and len({r[1] for r in plain}) == 1) or share >= 0.6:
        hit = next(r for r in pick if r[1] == best)
        also = parents[1:4]
        understood = f"métier « {raw} » : {hit[0]} → ROME {best} {hit[2] or ''}".strip()
        if also:
            understood += f" (autres métiers possibles : {', '.join(also)})"
        return Trade(best, hit[2], understood)
    first = {p: next(r for r in pick if r[1] == p) for p in parents[:MAX_CHOICES]}
    choices = "; ".join(f"{p} {r[2] or ''} (ex. {r[0]})" for p, r in first.items())
    raise PlaceError(
        f"« {raw} » correspond à plusieurs métiers : {choices} ; précisez ou donnez le code ROME"
    )
