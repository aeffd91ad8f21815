"""What a counselor does when a list is short: look next door, or at a neighbouring trade.

Lists only hold real targets (`[publish] min_potential`), so many are shorter than
`top_n`. A short list says so and names the two widenings a counselor would try:

- **neighbouring agencies**: the nearest agency areas (distance between the centres of
  their listed companies) that have a list in the same trade;
- **close trades that hire here**: the trades whose hirings come from the same
  activities (cosine similarity of their NAF hiring profiles in the NAF×ROME hiring
  matrix `ref_naf_rome`; no ROME « proximity » referential is shipped in
  data/reference), among those with a list in this agency.
"""

from __future__ import annotations

from functools import lru_cache
from math import cos, radians, sqrt
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ciblage.publish.target_files import targets_files

NEIGHBOURS = 3
CLOSE_TRADES = 3
MIN_SIMILARITY = 0.2


def trade_similarity(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every pair of trades at `MIN_SIMILARITY` or more: code_rome, other, label (the
    other's), sim; per trade, most similar first. One query for a whole publication (the
    agencies read it from their inputs) or a match."""
    return con.sql(
        """
        WITH v AS (
            SELECT code_rome, naf_code, CAST(hirings AS DOUBLE) AS h,
                   any_value(rome_label) OVER (PARTITION BY code_rome) AS label
            FROM ref_naf_rome WHERE hirings > 0
        ),
        n AS (SELECT code_rome, sqrt(sum(h * h)) AS norm FROM v GROUP BY code_rome)
        SELECT a.code_rome, b.code_rome AS other, any_value(b.label) AS label,
               sum(a.h * b.h) / (any_value(na.norm) * any_value(nb.norm)) AS sim
        FROM v a JOIN v b ON a.naf_code = b.naf_code AND a.code_rome <> b.code_rome
        JOIN n na ON na.code_rome = a.code_rome JOIN n nb ON nb.code_rome = b.code_rome
        GROUP BY a.code_rome, b.code_rome
        HAVING sim >= $min_sim
        ORDER BY a.code_rome, sim DESC, b.code_rome
        """,
        params={"min_sim": MIN_SIMILARITY},
    ).pl()


def similar_trades(
    pairs: pl.DataFrame, codes: list[str], among: list[str] | None = None
) -> dict[str, list[tuple[str, str | None, float]]]:
    """Per ROME of `codes`: the most similar trades (code, label, similarity), best first,
    restricted to `among` when given (default: `codes`); `pairs`: `trade_similarity`."""
    if not codes:
        return {}
    rows = pairs.filter(
        pl.col("code_rome").is_in(codes),
        pl.col("other").is_in(among if among is not None else codes),
    )
    out: dict[str, list[tuple[str, str | None, float]]] = {}
    for code, other, label, sim in rows.iter_rows():
        out.setdefault(code, []).append((other, label, float(sim)))
    return out


def _file_key(run_dir: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple(
        (str(f), st.st_mtime_ns, st.st_size) for f in targets_files(run_dir) for st in [f.stat()]
    )


def agency_centres(run_dir: Path) -> pl.DataFrame:
    """code, name, lat, lon of every agency area with lists (mean of its companies).

    Computed once per run's list files and process (keyed by their paths, mtimes and
    sizes): every agency of a national run asks, and the files hold all of France's lists.
    """
    return _agency_centres(_file_key(run_dir))


def agency_trade_counts(run_dir: Path) -> dict[tuple[str, str], int]:
    """(agency code, ROME) -> companies listed (once per run's list files and process)."""
    return _agency_trade_counts(_file_key(run_dir))


@lru_cache(maxsize=4)
def _agency_centres(key: tuple[tuple[str, int, int], ...]) -> pl.DataFrame:
    if not key:
        return pl.DataFrame(
            schema={
                "territory_code": pl.String,
                "name": pl.String,
                "lat": pl.Float64,
                "lon": pl.Float64,
            }
        )
    return (
        pl.scan_parquet([k[0] for k in key])
        .filter(pl.col("territory_level") == "agence")
        .group_by("territory_code")
        .agg(
            name=pl.col("territory_name").first(),
            lat=pl.col("latitude").mean(),
            lon=pl.col("longitude").mean(),
        )
        .collect()
        .sort("territory_code")
    )


@lru_cache(maxsize=4)
def _agency_trade_counts(key: tuple[tuple[str, int, int], ...]) -> dict[tuple[str, str], int]:
    if not key:
        return {}
    df = (
        pl.scan_parquet([k[0] for k in key])
        .filter(pl.col("territory_level") == "agence")
        .group_by("territory_code", "code_rome")
        .len()
        .collect()
    )
    return {(a, r): int(n) for a, r, n in df.iter_rows()}


def nearest_agencies(centres: pl.DataFrame, code: str, k: int = 8) -> list[dict[str, Any]]:
    """The `k` agency areas nearest to `code` (equirectangular distance, km)."""
    rows = {r["territory_code"]: r for r in centres.iter_rows(named=True)}
    me = rows.get(code)
    if me is None or me["lat"] is None:
        return []
    out = []
    for other, r in rows.items():
        if other == code or r["lat"] is None:
            continue
        dx = (r["lon"] - me["lon"]) * cos(radians(me["lat"])) * 111.3
        dy = (r["lat"] - me["lat"]) * 111.3
        out.append({"code": other, "name": r["name"], "km": sqrt(dx * dx + dy * dy)})
    return sorted(out, key=lambda x: (x["km"], x["code"]))[:k]


def short_list_notes(
    pairs: pl.DataFrame,
    run_dir: Path,
    code: str,
    counts: dict[str, int],
    top_n: int,
    min_potential: int,
) -> dict[str, dict[str, Any]]:
    """Per ROME of agency `code` whose list is shorter than `top_n`: the widenings
    (`pairs`: `trade_similarity`)."""
    short = sorted(r for r, n in counts.items() if n < top_n)
    if not short:
        return {}
    everywhere = agency_trade_counts(run_dir)
    near = nearest_agencies(agency_centres(run_dir), code)
    close = similar_trades(pairs, short, sorted(counts))
    notes = {}
    for rome in short:
        neighbours = [
            {**a, "n": everywhere[(a["code"], rome)]}
            for a in near
            if (a["code"], rome) in everywhere
        ][:NEIGHBOURS]
        trades = [
            {"code_rome": c, "rome_label": lab, "n": counts[c]}
            for c, lab, _s in close.get(rome, [])[:CLOSE_TRADES]
        ]
        notes[rome] = {
            "n": counts[rome],
            "top_n": top_n,
            "min_potential": min_potential,
            "neighbours": neighbours,
            "trades": trades,
            "text": note_text(counts[rome], min_potential, neighbours, trades),
        }
    return notes


def note_text(
    n: int, min_potential: int, neighbours: list[dict[str, Any]], trades: list[dict[str, Any]]
) -> str:
    """The French sentence of a short list (XLSX « Sommaire », CSV readers, `match`)."""
    who = "entreprise a" if n == 1 else "entreprises ont"
    text = f"Liste courte : {n} {who} une chance réelle d'embaucher dans ce métier ici"
    if min_potential:
        text += f" (potentiel d'au moins {min_potential}/100)"
    parts = []
    if neighbours:
        parts.append(
            "territoires voisins : "
            + ", ".join(f"{a['name']} ({a['n']} entreprises)" for a in neighbours)
        )
    if trades:
        parts.append(
            "métiers proches qui recrutent ici : "
            + ", ".join(f"{t['code_rome']} {t['rome_label'] or ''} ({t['n']})" for t in trades)
        )
    return text + (". Pour élargir : " + " ; ".join(parts) + "." if parts else ".")
