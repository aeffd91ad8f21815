"""The sample ledger the generator writes: importable, realistic, with a true answer."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import duckdb
import pytest

from ciblage.config import PROJECT_ROOT
from ciblage.followup.ledger import import_promotions
from ciblage.followup.refresh import build_derived

from .ledgers import settings_for


@pytest.fixture(scope="module")
def ledger(sample_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    report = import_promotions(con, sample_dir / "promotions" / "promotions_sample.csv")
    assert report.errors == [] and report.inserted == report.rows_read > 500
    return con


def test_sample_ledger_is_shipped_and_reproducible(sample_dir: Path) -> None:
    name = Path("promotions") / "promotions_sample.csv"
    assert (sample_dir / name).read_bytes() == (
        PROJECT_ROOT / "data" / "sample" / name
    ).read_bytes()


def test_agencies_are_bassins_and_companies_are_diffusible(
    ledger: duckdb.DuckDBPyConnection, sample_dir: Path
) -> None:
    with zipfile.ZipFile(sample_dir / "sirene" / "StockEtablissement_utf8.zip") as z:
        text = z.read("StockEtablissement_utf8.csv").decode("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    status = {
        r["siret"]: (r["statutDiffusionEtablissement"], r["codeCommuneEtablissement"]) for r in rows
    }
    promoted = ledger.execute("SELECT DISTINCT siret, agency_code FROM promotion").fetchall()
    assert all(status[s][0] == "O" for s, _ in promoted)
    with (PROJECT_ROOT / "data/reference/lbb-pse_bassin-emploi_code-insee.csv").open() as f:
        bassin = {r["code_insee"]: r["code_bassin_emploi"] for r in csv.DictReader(f)}
    assert all(bassin[status[s][1]] == agency for s, agency in promoted)
    assert len({a for _, a in promoted}) >= 10


def test_conversion_rises_with_the_companies_hiring(
    ledger: duckdb.DuckDBPyConnection, sample_dir: Path
) -> None:
    """Promotions to companies that hired in the next 3 months convert more often."""
    hires = sample_dir / "hires" / "embauches_siret.csv"
    rows = ledger.execute(
        f"""
        WITH h AS (SELECT siret::VARCHAR AS siret, strptime(mois, '%Y-%m')::DATE AS mois,
                          nombre_embauches FROM read_csv('{hires}', delim=';', all_varchar=true,
                          columns={{'siret':'VARCHAR','mois':'VARCHAR','code_rome':'VARCHAR',
                                   'nombre_embauches':'INTEGER'}}, header=true))
        SELECT EXISTS (SELECT 1 FROM h WHERE h.siret = p.siret
                       AND h.mois >= date_trunc('month', p.date_promotion)
                       AND h.mois < p.date_promotion + INTERVAL 3 MONTH) AS hiring,
               avg((resultat = 'embauche')::INT) AS conversion, count(*) AS n
        FROM promotion p WHERE resultat IS NOT NULL GROUP BY ALL
        """
    ).fetchall()
    rate = {hiring: (conv, n) for hiring, conv, n in rows}
    assert rate[True][1] > 100 and rate[False][1] > 100
    assert rate[True][0] > 1.5 * rate[False][0]


def test_sample_ledger_pauses_some_companies(
    ledger: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    summary = build_derived(ledger, settings_for(tmp_path, "2026-11-01"))
    assert summary.cooldowns >= 3
    reasons = [r[0] for r in ledger.execute("SELECT reason FROM promotion_cooldown").fetchall()]
    assert all("sans réponse depuis le" in r and "en pause jusqu'au" in r for r in reasons)
