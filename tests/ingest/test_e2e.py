"""The `ingest` flow on the generated sample (the shared session chain)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ciblage import formats
from ciblage.config import Settings
from ciblage.ingest.load import loaded_history_start
from ciblage.ingest.specs import SPECS
from pipelines.ingest import model_history_start

pytestmark = pytest.mark.e2e


def _sample_rows(settings: Settings, name: str, member: str) -> list[dict[str, str]]:
    path = settings.source(name).path
    with zipfile.ZipFile(path) as zf:
        text = zf.read(member).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_sample_is_ingested_completely(ingested_settings: Settings) -> None:
    etabs = _sample_rows(
        ingested_settings, "sirene_etablissement", formats.SIRENE_ETABLISSEMENT_CSV
    )
    with duckdb.connect(str(ingested_settings.warehouse), read_only=True) as con:
        last = dict(
            con.execute(
                "SELECT source, arg_max(status, loaded_at) FROM source_load GROUP BY source"
            ).fetchall()
        )
        assert {s.name for s in SPECS} <= set(last)
        assert all(v == "loaded" for k, v in last.items() if k in {s.name for s in SPECS})
        # nothing lost: every establishment row is loaded, quarantined, or closed before
        # the model's history (counted in the load's rows read and message)
        start = loaded_history_start(con, "sirene_etablissement")
        assert start == model_history_start(ingested_settings) == date(2021, 1, 1)
        before = [
            r
            for r in etabs
            if r["etatAdministratifEtablissement"] == "F" and r["dateDebut"] < start.isoformat()
        ]
        assert before and len(before) < len(etabs) / 2
        loaded = con.execute("SELECT count(*) FROM etablissement").fetchone()[0]
        quarantined = con.execute(
            "SELECT count(DISTINCT row_number) FROM quarantine "
            "WHERE source = 'sirene_etablissement'"
        ).fetchone()[0]
        assert loaded + quarantined + len(before) == len(etabs)
        left_out = {r["siret"] for r in before}
        assert not left_out & {
            r[0] for r in con.execute("SELECT siret FROM etablissement").fetchall()
        }
        read, message = con.execute(
            "SELECT rows_read, message FROM source_load WHERE source = 'sirene_etablissement' "
            "ORDER BY loaded_at DESC LIMIT 1"
        ).fetchall()[0]
        assert read == len(etabs)
        assert f"{len(before)} lignes antérieures à l'historique (avant le 01/01/2021)" in message
        private = {r["siret"] for r in etabs if r["statutDiffusionEtablissement"] == "P"}
        private -= left_out
        flagged = {
            r[0]
            for r in con.execute(
                "SELECT siret FROM etablissement WHERE NOT is_diffusible"
            ).fetchall()
        }
        assert private and private <= flagged
        closed = sum(r["etatAdministratifEtablissement"] == "F" for r in etabs) - len(before)
        assert (
            con.execute(
                "SELECT count(*) FROM etablissement WHERE etat_administratif = 'F' "
                "AND date_fermeture IS NOT NULL"
            ).fetchone()[0]
            == closed
        )
        deps = con.execute("SELECT DISTINCT code_departement FROM etablissement").fetchall()
        known = con.execute("SELECT code_departement FROM ref_departement").fetchall()
        assert set(deps) <= set(known)
        assert con.execute("SELECT count(*) FROM dpae_aggregate").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM hires_siret").fetchone()[0] > 0
        assert (
            con.execute("SELECT count(*) FROM etablissement WHERE latitude IS NOT NULL").fetchone()[
                0
            ]
            > 0
        )


def test_rerun_on_the_same_sample_is_a_noop(
    ingested_settings: Settings, warehouse_copy: Path, tmp_path: Path
) -> None:
    from pipelines.ingest import ingest_flow

    text = ingested_settings.config_path.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^warehouse = ".*"', f'warehouse = "{warehouse_copy.as_posix()}"', text)
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text(text, encoding="utf-8")
    result = ingest_flow(config=str(cfg))
    assert result["failed"] == []
    assert {r["status"] for r in result["sources"].values()} == {"unchanged"}


def test_ingest_writes_the_run_quality_report(ingested_settings: Settings) -> None:
    reports = sorted((ingested_settings.output / "quality").glob("*.html"))
    assert reports, "the ingest run rendered no data-quality report"
    # the first report is the fixture's full ingest (later no-op reruns may add their own)
    html = reports[0].read_text(encoding="utf-8")
    assert "sirene_etablissement" in html and "offres" in html
