"""Precision and recall of offer linking against a known truth (the sample's).

The sample generator keeps the true establishment of every offer in
`truth/offres_siret_truth.csv` (`offre_id;siret`); ingestion never reads it. This module
compares `offre_siret_link` with it so that `bench/linking_quality.py` can print the
figures and a test can fail when a change makes linking worse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb


def linking_quality(con: duckdb.DuckDBPyConnection, truth_csv: Path) -> dict[str, Any]:
    """Precision (correct / linked), recall (correct / offers), coverage, per method.

    Only offers present both in `offre` and in the truth count; recall is also given
    for offers that carry an employer name (offers without one cannot be resolved).
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE linking_truth AS SELECT * FROM read_csv(?, delim=';',"
        " header=true, columns={'offre_id': 'VARCHAR', 'siret': 'VARCHAR'})",
        [str(truth_csv)],
    )
    rows = con.execute(
        """
        SELECT
            coalesce(l.method, 'unlinked') AS method,
            count(*) AS offers,
            count(*) FILTER (WHERE l.siret = t.siret) AS correct,
            count(*) FILTER (WHERE o.entreprise_nom IS NOT NULL) AS named
        FROM offre AS o
        JOIN linking_truth AS t USING (offre_id)
        LEFT JOIN offre_siret_link AS l USING (offre_id)
        GROUP BY ALL
        ORDER BY method
        """
    ).fetchall()
    named_total, named_correct = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE l.siret = t.siret)
        FROM offre AS o
        JOIN linking_truth AS t USING (offre_id)
        LEFT JOIN offre_siret_link AS l USING (offre_id)
        WHERE o.entreprise_nom IS NOT NULL OR l.method = 'siret'
        """
    ).fetchall()[0]
    con.execute("DROP TABLE linking_truth")
    total = sum(r[1] for r in rows)
    linked = sum(r[1] for r in rows if r[0] != "unlinked")
    correct = sum(r[2] for r in rows)
    by_method = {
        m: {
            "offers": n,
            "coverage": n / total if total else 0.0,
            "precision": (c / n if n else None) if m != "unlinked" else None,
        }
        for m, n, c, _ in rows
    }
    return {
        "offers": total,
        "linked": linked,
        "correct": correct,
        "precision": correct / linked if linked else 0.0,
        "recall": correct / total if total else 0.0,
        "recall_resolvable": named_correct / named_total if named_total else 0.0,
        "by_method": by_method,
    }
