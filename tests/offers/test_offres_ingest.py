"""The `offres` source through the one ingestion mechanism (spec, rules, quarantine)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb

from ciblage.ingest import load_source, prepare
from ciblage.ingest.specs import OFFRES, registry

from .test_offres_json import METZ, offer


def test_offres_spec_loads_quarantines_and_counts_duplicates(tmp_path: Path) -> None:
    folder = tmp_path / "offres"
    folder.mkdir()
    (folder / "a.json").write_text(METZ.read_text(encoding="utf-8"), encoding="utf-8")
    rows = [
        *(offer(f"V{i}", "2026-03-02T10:00:00Z") for i in range(30)),
        offer("A", "2026-03-02T10:00:00Z"),
        offer("A", "2026-03-05T10:00:00Z", intitule="latest"),
        offer(None, "2026-03-02T10:00:00Z"),
        offer("D", "2026-03-02T10:00:00Z", dateCreation="02/03/2026"),
    ]
    (folder / "b.jsonl").write_text("\n".join(json.dumps(o) for o in rows), encoding="utf-8")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    prepare(con)
    kw = {"run_id": "r1", "as_of": date(2026, 11, 1), "registry": registry()}
    result = load_source(con, OFFRES, folder, **kw)
    assert result.status == "loaded", result.message
    assert (result.rows_read, result.rows_quarantined) == (42, 2)
    assert con.execute("SELECT count(*) FROM offre").fetchall() == [(39,)]
    assert con.execute("SELECT intitule FROM offre WHERE offre_id = 'A'").fetchall() == [
        ("latest",)
    ]
    assert con.execute("SELECT offre_id, copies, files FROM offre_duplicate").fetchall() == [
        ("A", 2, ["b.jsonl"])
    ]
    reasons = con.execute(
        "SELECT file, row_number, field, reason FROM quarantine ORDER BY row_number"
    ).fetchall()
    assert reasons == [
        ("b.jsonl", 33, "offre_id", "identifiant d'offre manquant"),
        ("b.jsonl", 34, "date_creation", "dateCreation non ISO 8601"),
    ]
    # Same files again: nothing to do.
    assert load_source(con, OFFRES, folder, **kw).status == "unchanged"


def test_bad_json_fails_the_source_with_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "broken.jsonl"
    f.write_text(json.dumps(offer("A", "2026-03-02T10:00:00Z")) + "\n{not json\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    prepare(con)
    kw = {"run_id": "r1", "as_of": date(2026, 11, 1), "registry": registry()}
    result = load_source(con, OFFRES, f, **kw)
    assert result.status == "failed"
    assert "broken.jsonl:2 : JSON invalide" in result.message
