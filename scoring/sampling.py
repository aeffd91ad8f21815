"""Bounded samples of the labelled snapshots, drawn in DuckDB before anything reaches pandas.

Nationally a snapshot is 16 M active establishments, about 6 GB as a feature frame, and
training stacks up to four of them plus the back-test's. Sub-sampling after the fetch
(as `fit_model` also does) bounds the fit, not the memory, and kept every row with a hire:
at national rates (a third of establishments hire within six months) that alone exceeds
any cap. So the sample is a predicate on the rows the feature SQL outputs
(`{{ scope }}` of sql/feature_etablissement.sql); the aggregates the features read
(company, sector, territory) are still computed on the whole warehouse, so a sampled row
has exactly the features it would have in a full snapshot.

Two kinds, for two uses:
- **train**: a uniform sample of establishments, the same rate for those that hire and
  those that do not, so no re-weighting is needed (the Poisson fit and the tuning
  deviance stay unbiased). The draw is a hash of (siret, snapshot date, seed): reproducible,
  and another set of establishments at each date. Budget per snapshot:
  `[scoring] max_train_rows` / `n_snapshots`, so any stack of training snapshots fits it.
- **eval**: whole départements, in a seeded order, until `[scoring] max_eval_rows`: the
  back-test ranks candidates per (département, ROME), and a list is only judged on all of
  its candidates. At least one département is always kept.

Below its budget a snapshot is taken whole (predicate `TRUE`): every world of the scenario
bench and the shipped sample are scored exactly as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import duckdb

WHOLE = "TRUE"


@dataclass(frozen=True)
class Sample:
    """The predicate for one snapshot, and what it keeps (for the model's metadata)."""

    predicate: str
    rows: int
    of_rows: int
    departements: tuple[str, ...] = ()

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"rows": self.rows, "of_rows": self.of_rows}
        if self.departements:
            out["departements"] = list(self.departements)
        return out


def active_by_departement(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, int]:
    """Establishments in the feature SQL's population at `as_of`, per département."""
    rows = con.execute(
        """
        SELECT coalesce(code_departement, ''), count(*)
        FROM etablissement e
        WHERE (e.date_creation IS NULL OR e.date_creation < $t)
          AND (e.date_fermeture IS NULL OR e.date_fermeture >= $t)
          AND NOT (e.etat_administratif = 'F' AND e.date_fermeture IS NULL)
        GROUP BY ALL
        """,
        {"t": as_of},
    ).fetchall()
    return {str(d): int(n) for d, n in rows}


def train_sample(con: duckdb.DuckDBPyConnection, as_of: date, budget: int, seed: int) -> Sample:
    """A uniform draw of at most about `budget` establishments active at `as_of`."""
    total = sum(active_by_departement(con, as_of).values())
    if total <= budget:
        return Sample(WHOLE, total, total)
    # 1 % under the budget: the draw's count varies (about 0.15 % for 500 k rows), and a
    # stack over `max_train_rows` would be sub-sampled again by fit_model
    per_million = max(1, math.floor(0.99 * budget / total * 1_000_000))
    predicate = f"hash(e.siret, DATE '{as_of.isoformat()}', {int(seed)}) % 1000000 < {per_million}"
    return Sample(predicate, round(total * per_million / 1_000_000), total)


def eval_sample(con: duckdb.DuckDBPyConnection, as_of: date, budget: int, seed: int) -> Sample:
    """Whole départements, in an order drawn from `seed`, up to `budget` establishments."""
    counts = active_by_departement(con, as_of)
    total = sum(counts.values())
    if total <= budget:
        return Sample(WHOLE, total, total)
    order = con.execute(
        "SELECT d FROM unnest($d) t(d) ORDER BY hash(d, $seed), d",
        {"d": sorted(counts), "seed": int(seed)},
    ).fetchall()
    kept: list[str] = []
    rows = 0
    for (dep,) in order:
        if kept and rows + counts[dep] > budget:
            continue  # a smaller département further on may still fit
        kept.append(dep)
        rows += counts[dep]
    listed = ", ".join("'" + d.replace("'", "''") + "'" for d in sorted(kept))
    predicate = f"coalesce(e.code_departement, '') IN ({listed})"
    return Sample(predicate, rows, total, tuple(sorted(kept)))
