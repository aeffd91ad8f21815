"""The radius search of `ciblage match`, and what to try when it finds few companies.

A 2-km search may find one company at 1/100: shown like a strong one, it would send a
job seeker to a company with no real chance of hiring. The search applies the lists'
rules (`[publish] min_potential`, no non-employer without a hiring signal), and when
fewer companies than asked qualify, counts what the two usual widenings would give: a
larger radius, and the trades closest to this one (NAF×ROME hiring profiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb

from ciblage.publish.widening import similar_trades, trade_similarity
from ciblage.territories import haversine_sql
from ciblage.warehouse import run_sql_file, table_exists
from scoring.ranking import _NO_SIGNAL, EMPTY_COOLDOWN

if TYPE_CHECKING:
    from ciblage.matching import MatchResult

RADIUS_FACTORS = (2, 3, 5)
MAX_RADIUS_KM = 150.0
CLOSE_TRADES = 3
COUNT_CAP = 1000


@dataclass
class Search:
    con: duckdb.DuckDBPyConnection
    lat: float
    lon: float
    as_of: date
    commune: str
    commune_label: str
    min_potential: int = 0

    def rank(self, code_rome: str, rayon_km: float, n: int) -> int:
        """Temp table match_rank for (trade, radius); returns its rows."""
        con = self.con
        run_sql_file(
            con,
            "match_rank",
            {
                "lat": self.lat,
                "lon": self.lon,
                "rayon": rayon_km,
                "as_of": self.as_of,
                "code_rome": code_rome,
                "commune": self.commune,
                "territory_name": f"{rayon_km:g} km autour de {self.commune_label}",
                "n": n,
                "min_potential": self.min_potential,
            },
            distance=haversine_sql("p.lat", "p.lon", "l.lat", "l.lon"),
            cooldown="promotion_cooldown"
            if table_exists(con, "promotion_cooldown")
            else EMPTY_COOLDOWN,
            signal="feature_etablissement"
            if table_exists(con, "feature_etablissement")
            else _NO_SIGNAL,
        )
        return int(con.execute("SELECT count(*) FROM match_rank").fetchone()[0])

    def widening(self, code_rome: str, rayon_km: float, n: int) -> dict[str, Any]:
        """Companies a larger radius would give (first radius reaching `n`, or the
        largest tried), and the close trades with companies within the radius."""
        radii = []
        for f in RADIUS_FACTORS:
            r = min(rayon_km * f, MAX_RADIUS_KM)
            if r <= rayon_km or (radii and r == radii[-1]["km"]):
                continue
            radii.append({"km": r, "n": self.rank(code_rome, r, COUNT_CAP)})
            if radii[-1]["n"] >= n:
                break
        every = [
            r[0] for r in self.con.execute("SELECT DISTINCT code_rome FROM ref_naf_rome").fetchall()
        ]
        pairs = trade_similarity(self.con)
        close = similar_trades(pairs, [code_rome], sorted(every)).get(code_rome, [])
        trades = []
        for code, label, _sim in close[: CLOSE_TRADES * 3]:
            found = self.rank(code, rayon_km, COUNT_CAP)
            if found:
                trades.append({"code_rome": code, "rome_label": label, "n": found})
            if len(trades) == CLOSE_TRADES:
                break
        return {"radii": radii, "trades": trades}


def few_results_text(result: MatchResult) -> str:
    """« Peu de résultats » in French, with the widenings that find more."""
    k = len(result.fiches)
    found = "aucune entreprise" if k == 0 else f"{k} entreprise{'s' if k > 1 else ''}"
    text = (
        f"Peu de résultats : {found} sur {result.n_wanted} demandées dans un rayon de "
        f"{result.rayon_km:g} km"
    )
    if result.min_potential:
        text += f" avec un potentiel d'au moins {result.min_potential}/100"
    parts = []
    radii = [r for r in result.widening.get("radii", []) if r["n"] > k]
    if radii:
        best = radii[-1]
        parts.append(f"un rayon de {best['km']:g} km ({best['n']} entreprises)")
    trades = result.widening.get("trades", [])
    if trades:
        parts.append(
            "un métier proche : "
            + ", ".join(f"{t['code_rome']} {t['rome_label'] or ''} ({t['n']})" for t in trades)
        )
    return text + (". Pour élargir : " + " ; ".join(parts) + "." if parts else ".")
