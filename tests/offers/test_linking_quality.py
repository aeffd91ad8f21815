"""Linking quality on the generated sample, whose true employers are known.

Floors sit below the measured figures (README, "Job offers") so that a change that makes
linking clearly worse fails here.
"""

from __future__ import annotations

from pathlib import Path

from ciblage.config import Settings
from ciblage.linking_quality import linking_quality
from ciblage.warehouse import session


def test_precision_and_recall_on_sample(
    ingested_settings: Settings, warehouse_copy: Path, sample_dir: Path
) -> None:
    truth = sample_dir / "truth" / "offres_siret_truth.csv"
    with session(warehouse_copy) as con:
        q = linking_quality(con, truth)
        ledger = con.execute(
            "SELECT rows_in, rows_out, params FROM run_ledger WHERE step = 'offre_siret_link'"
        ).fetchall()
    assert q["offers"] > 1000
    assert q["precision"] >= 0.97
    assert q["recall"] >= 0.85
    assert q["recall_resolvable"] >= 0.95
    assert q["by_method"]["siret"]["precision"] == 1.0
    assert q["by_method"]["entity_resolution"]["precision"] >= 0.97
    # The ingest run recorded the linking counts.
    assert ledger and ledger[-1][0] == q["offers"] and ledger[-1][1] == q["linked"]
