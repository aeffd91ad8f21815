"""The loader's guarantees: no-op reruns, atomic replacement, gates, stale/missing sources."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ciblage import formats

from .conftest import Loader
from .files import csv_bytes, dpae_rows, etab_row, etab_zip, siret


def _rows(n: int, start: int = 1, **over: str) -> list[dict[str, str]]:
    return [etab_row(siret("44318460", f"{i:04d}"), **over) for i in range(start, start + n)]


def _count(wh: duckdb.DuckDBPyConnection, table: str) -> int:
    return wh.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _leftovers(wh: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in wh.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_name LIKE '%__new' OR table_name LIKE 'stg_%'"
        ).fetchall()
    ]


def test_rerun_on_unchanged_inputs_is_a_noop(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    path = etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, _rows(5))
    assert load("sirene_etablissement", path, "r1").status == "loaded"
    second = load("sirene_etablissement", path, "r2")
    assert (second.status, second.rows_read) == ("unchanged", 0)
    # Same bytes rewritten (new mtime): the sha256 says nothing changed.
    data = path.read_bytes()
    path.write_bytes(data)
    os.utime(path, (1, 1))
    assert load("sirene_etablissement", path, "r3").status == "unchanged"
    # New content: replaced.
    etab_zip(path, _rows(7))
    third = load("sirene_etablissement", path, "r4")
    assert (third.status, third.rows_loaded) == ("loaded", 7)
    assert _count(wh, "etablissement") == 7
    statuses = wh.execute(
        "SELECT status FROM source_load WHERE source = 'sirene_etablissement' ORDER BY loaded_at"
    ).fetchall()
    assert [s[0] for s in statuses] == ["loaded", "unchanged", "unchanged", "loaded"]
    ledger = wh.execute(
        "SELECT run_id, status, rows_in, rows_out FROM run_ledger "
        "WHERE step = 'sirene_etablissement' ORDER BY started_at"
    ).fetchall()
    assert ledger[0] == ("r1", "completed", 5, 5) and ledger[1][1] == "skipped"


def test_a_dependency_change_reloads(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    """Establishments read the legal units' P flag: a new legal-unit file reloads them."""
    from .files import ul_row, ul_zip

    path = etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, _rows(2))
    ul = ul_zip(tmp_path / formats.SIRENE_UNITE_LEGALE_ZIP, [ul_row("443184601")])
    load("sirene_unite_legale", ul)
    assert load("sirene_etablissement", path).status == "loaded"
    assert wh.execute("SELECT bool_and(is_diffusible) FROM etablissement").fetchone()[0]
    ul_zip(ul, [ul_row("443184601", statutDiffusionUniteLegale="P")])
    load("sirene_unite_legale", ul, "r2")
    assert load("sirene_etablissement", path, "r2").status == "loaded"
    assert not wh.execute("SELECT bool_or(is_diffusible) FROM etablissement").fetchone()[0]


def test_failed_load_keeps_previous_data(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    path = etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, _rows(200))
    assert load("sirene_etablissement", path, "r1").status == "loaded"
    data = etab_zip(tmp_path / "new.zip", _rows(300)).read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a download cut in the middle
    r = load("sirene_etablissement", path, "r2")
    assert r.status == "failed" and "archive zip tronquée ou corrompue" in r.message
    assert _count(wh, "etablissement") == 200
    assert _leftovers(wh) == []
    assert _count(wh, "quarantine WHERE run_id = 'r2'") == 0


def test_quality_gate_stops_the_source(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    path = etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, _rows(100))
    assert load("sirene_etablissement", path, "r1").status == "loaded"
    # A file where most SIRETs lost their last digit: not row defects, a broken export.
    broken = [dict(r, siret=r["siret"][:13]) for r in _rows(100)]
    etab_zip(path, broken)
    r = load("sirene_etablissement", path, "r2")
    assert r.status == "failed"
    assert (
        "champ 'siret' (SIREN/SIRET valide (longueur et clé de contrôle)" in r.message
        and "dernières données valides sont conservées" in r.message
    )
    assert "(13 chiffres au lieu de 14)" in r.message  # a lost digit, not a wrong check digit
    assert _count(wh, "etablissement") == 100
    # the row rules and the build ran beside the gate (the rules quarantined the short
    # SIRETs): a refused load leaves neither quarantine rows nor built tables
    assert _count(wh, "quarantine WHERE run_id = 'r2'") == 0
    assert _leftovers(wh) == []
    failed = wh.execute(
        "SELECT count(*) FROM dq_result WHERE run_id = 'r2' AND NOT success AND critical"
    ).fetchone()[0]
    assert failed >= 1
    # Row count far below the previous load is a critical failure too.
    etab_zip(path, _rows(50))
    r = load("sirene_etablissement", path, "r3")
    assert r.status == "failed"
    expectations = wh.execute(
        "SELECT expectation FROM dq_result WHERE run_id = 'r3' AND NOT success"
    ).fetchall()
    assert expectations == [("expect_table_row_count_to_be_at_least_ratio_of_previous",)]
    assert _count(wh, "etablissement") == 100


def test_large_files_are_gated_on_a_sample(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    path = etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, _rows(400))
    r = load("sirene_etablissement", path, "r1", dq_max_rows=100)
    assert r.status == "loaded" and "sample of 400 rows" in r.message
    assert r.rows_loaded == 400  # the sample only feeds the gate; every row is loaded
    rows = wh.execute(
        "SELECT expectation, success FROM dq_result WHERE run_id = 'r1' "
        "AND source = 'sirene_etablissement'"
    ).fetchall()
    kinds = {e for e, _ in rows}
    assert "expect_table_row_count_to_be_at_least_ratio_of_previous" in kinds
    assert "expect_column_values_to_pass_luhn_checksum" in kinds
    assert all(ok for _, ok in rows)
    # a broken large file is still stopped by the sampled gate
    etab_zip(path, [dict(r, siret=r["siret"][:13]) for r in _rows(400)])
    r = load("sirene_etablissement", path, "r2", dq_max_rows=100)
    assert r.status == "failed" and "clé de contrôle" in r.message
    assert _count(wh, "etablissement") == 400


def test_sampled_reload_counts_the_whole_table(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    """Every national reload takes the sampled path: its row count is the staged table's,
    never the sample's, and is judged at 98 % of the previous load, both sides of it."""
    path = etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, _rows(400))
    assert load("sirene_etablissement", path, "r1", dq_max_rows=100).status == "loaded"

    def observed(run_id: str) -> tuple[bool, str]:
        return wh.execute(
            "SELECT success, observed FROM dq_result WHERE run_id = ? "
            "AND expectation = 'expect_table_row_count_to_be_at_least_ratio_of_previous'",
            [run_id],
        ).fetchone()

    etab_zip(path, _rows(392))  # ceil(0.98 * 400) = 392: just inside
    r = load("sirene_etablissement", path, "r2", dq_max_rows=100)
    assert r.status == "loaded", r.message
    assert "sample of 392 rows" in r.message
    ok, text = observed("r2")
    assert ok and text.startswith("392 rows against 400 in the previous load")
    assert _count(wh, "etablissement") == 392

    etab_zip(path, _rows(384))  # ceil(0.98 * 392) = 385: just past
    r = load("sirene_etablissement", path, "r3", dq_max_rows=100)
    assert r.status == "failed" and "dernières données valides sont conservées" in r.message
    ok, text = observed("r3")
    assert not ok and text.startswith("384 rows against 392 in the previous load")
    assert _count(wh, "etablissement") == 392

    etab_zip(path, _rows(385))
    r = load("sirene_etablissement", path, "r4", dq_max_rows=100)
    assert r.status == "loaded", r.message
    assert observed("r4")[0] and _count(wh, "etablissement") == 385
    assert "row-level expectations on a 26.0 % sample of 385 rows" in r.message


def _dpae(tmp: Path, name: str, last_day: str, labels: bool = False) -> Path:
    rows = dpae_rows(last_day)
    cols = list(formats.DPAE_DEPARTEMENT_FIELDS)
    if labels:
        rows = [{formats.DPAE_DEPARTEMENT_FIELDS[k]: v for k, v in r.items()} for r in rows]
        cols = list(formats.DPAE_DEPARTEMENT_FIELDS.values())
    path = tmp / name
    path.write_bytes(csv_bytes(rows, cols, ";"))
    return path


def test_dpae_labels_stale_and_missing(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    fresh = _dpae(tmp_path, "dpae.csv", "2026-06-30", labels=True)
    r = load("dpae_departement", fresh, "r1")
    assert (r.status, r.rows_loaded) == ("loaded", 4)
    row = wh.execute(
        "SELECT dataset, code_departement, secteur_code, annee, trimestre, dpae_cvs "
        "FROM dpae_aggregate ORDER BY secteur_code, dpae_cvs LIMIT 1"
    ).fetchone()
    assert row == ("departement_grand_secteur", "45", "GS1", 2026, 2, 99.5)
    # An old file (series suspended): warned, last good load kept.
    stale = _dpae(tmp_path, "dpae_old.csv", "2024-12-31")
    r = load("dpae_departement", stale, "r2")
    assert r.status == "stale" and "dernier chargement réussi conservé" in r.message
    assert wh.execute("SELECT max(annee) FROM dpae_aggregate").fetchone()[0] == 2026
    # Missing file: warned, kept.
    r = load("dpae_departement", tmp_path / "nope.csv", "r3")
    assert r.status == "missing"
    assert _count(wh, "dpae_aggregate") == 4
    # The other DPAE dataset shares the table without erasing this one.
    assert load("dpae_region_na38", None, "r3").status == "missing"
    assert _count(wh, "dpae_aggregate") == 4


def test_optional_hires_absent_gives_an_empty_table(
    load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    r = load("hires_siret", None)
    assert r.status == "missing"
    cols = [c[0] for c in wh.execute("DESCRIBE hires_siret").fetchall()]
    assert cols == ["siret", "mois", "code_rome", "nombre_embauches"]
    assert _count(wh, "hires_siret") == 0


def test_hires_rows(tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection) -> None:
    s = siret("44318460", "0001")
    rows = [
        {"siret": s, "mois": "2026-03", "code_rome": "D1106", "nombre_embauches": "2"},
        {"siret": s, "mois": "2026-04-01", "code_rome": "D1106", "nombre_embauches": "1"},
        *(
            {
                "siret": siret("55000000", f"{i:04d}"),
                "mois": "2026-04",
                "code_rome": "N4101",
                "nombre_embauches": "1",
            }
            for i in range(1, 200)
        ),
        {"siret": s, "mois": "2026-13", "code_rome": "D1106", "nombre_embauches": "1"},
        {"siret": s, "mois": "2026-05", "code_rome": "D1106", "nombre_embauches": "-1"},
    ]
    path = tmp_path / "embauches_siret.csv"
    path.write_bytes(csv_bytes(rows, formats.HIRES_SIRET_COLUMNS, ";"))
    r = load("hires_siret", path)
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 201, 2)
    got = wh.execute(
        "SELECT mois, nombre_embauches FROM hires_siret WHERE siret = ? ORDER BY mois", [s]
    ).fetchall()
    assert [(str(m), n) for m, n in got] == [("2026-03-01", 2), ("2026-04-01", 1)]
    reasons = {r[0] for r in wh.execute("SELECT reason FROM quarantine").fetchall()}
    assert reasons == {"mois ni AAAA-MM ni AAAA-MM-JJ", "embauches non entières ou négatives"}


def test_staged_rows_stay_out_of_the_warehouse_file(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection, monkeypatch
) -> None:
    """The raw rows are staged in a TEMP table (never compressed into the warehouse file,
    half of the national establishments' read; a load killed midway leaves nothing
    there), with a file number per row instead of the file's label (which a TEMP table
    would store on every row); the staging view gives the label back."""
    import ciblage.ingest.load as loader

    seen: dict[str, list] = {}
    gate = loader.start_quality_gate

    def spy(con, spec, staging, *args, **kw):  # type: ignore[no-untyped-def]
        seen["tables"] = con.execute(
            "SELECT table_name, temporary FROM duckdb_tables() WHERE table_name LIKE 'stg_%'"
        ).fetchall()
        seen["views"] = con.execute(
            "SELECT view_name FROM duckdb_views() WHERE temporary AND view_name LIKE 'stg_%'"
        ).fetchall()
        seen["stored"] = [r[0] for r in con.execute(f"DESCRIBE {staging}__rows").fetchall()]
        seen["files"] = con.execute(f"SELECT DISTINCT _file FROM {staging}").fetchall()
        return gate(con, spec, staging, *args, **kw)

    monkeypatch.setattr(loader, "start_quality_gate", spy)
    path = etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, _rows(50))
    assert load("sirene_etablissement", path, "r1").status == "loaded"
    assert seen["tables"] == [("stg_sirene_etablissement__rows", True)]
    assert seen["views"] == [("stg_sirene_etablissement",)]
    assert "_file" not in seen["stored"] and "_file_id" in seen["stored"]
    assert seen["files"] == [(f"{path.name}!{formats.SIRENE_ETABLISSEMENT_CSV}",)]
    assert _count(wh, "etablissement") == 50
    assert _leftovers(wh) == []


def test_the_build_waits_for_the_gate_to_swap_and_a_source_check_to_build(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection, monkeypatch
) -> None:
    """The new tables are built while the gate's checks run and put in place only after
    its verdict; a source with its own check (the DPAE sectors) builds after it, so that a
    wrong code is reported by that check rather than by the build."""
    import ciblage.ingest.gate as gate
    import ciblage.ingest.load as loader

    events: list[str] = []

    def spying(name: str, f):  # type: ignore[no-untyped-def]
        def spy(*args, **kw):  # type: ignore[no-untyped-def]
            events.append(name)
            return f(*args, **kw)

        return spy

    monkeypatch.setattr(loader, "quarantine_rows", spying("rules", loader.quarantine_rows))
    monkeypatch.setattr(loader, "build", spying("build", loader.build))
    monkeypatch.setattr(loader, "swap", spying("swap", loader.swap))
    monkeypatch.setattr(gate.PendingGate, "result", spying("verdict", gate.PendingGate.result))
    path = etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, _rows(50))
    assert load("sirene_etablissement", path, "r1").status == "loaded"
    assert events == ["rules", "build", "verdict", "swap"]
    events.clear()
    r = load("dpae_departement", _dpae(tmp_path, "dpae.csv", "2026-06-30"), "r1")
    assert r.status == "loaded", r.message
    assert events == ["rules", "verdict", "build", "swap"]


def test_the_gates_checks_run_beside_the_row_rules(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection, monkeypatch
) -> None:
    """Great Expectations (Python, one core) runs in a thread while DuckDB evaluates the
    row rules on the same staged rows: the rules start before the checks end."""
    import threading

    import ciblage.ingest.load as loader
    from ciblage.quality import validate

    rules_started = threading.Event()
    seen: dict[str, object] = {}
    run, rules = validate.PendingValidation.run, loader.quarantine_rows

    def waiting_run(self):  # type: ignore[no-untyped-def]
        seen["thread"] = threading.current_thread().name
        seen["rules_meanwhile"] = rules_started.wait(timeout=10)
        return run(self)

    def spy(*args, **kw):  # type: ignore[no-untyped-def]
        rules_started.set()
        return rules(*args, **kw)

    monkeypatch.setattr(validate.PendingValidation, "run", waiting_run)
    monkeypatch.setattr(loader, "quarantine_rows", spy)
    path = etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, _rows(50))
    r = load("sirene_etablissement", path, "r1")
    assert r.status == "loaded", r.message
    assert seen["rules_meanwhile"] is True
    assert str(seen["thread"]).startswith("quality-gate")
    assert wh.execute("SELECT count(*) FROM dq_result WHERE run_id = 'r1'").fetchone()[0] > 0
