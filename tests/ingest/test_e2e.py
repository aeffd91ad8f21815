"""The `ingest` flow on the generated sample (the shared session chain)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import duckdb
import pytest

from ciblage import formats
from ciblage.config import Settings
from ciblage.ingest.specs import SPECS

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
        # nothing lost: every establishment row is either loaded or quarantined
        loaded = con.execute("SELECT count(*) FROM etablissement").fetchone()[0]
        quarantined = con.execute(
            "SELECT count(DISTINCT row_number) FROM quarantine "
            "WHERE source = 'sirene_etablissement'"
        ).fetchone()[0]
        assert loaded + quarantined == len(etabs)
        private = {r["siret"] for r in etabs if r["statutDiffusionEtablissement"] == "P"}
        flagged = {
            r[0]
            for r in con.execute(
                "SELECT siret FROM etablissement WHERE NOT is_diffusible"
            ).fetchall()
        }
        assert private and private <= flagged
        closed = sum(r["etatAdministratifEtablissement"] == "F" for r in etabs)
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
