"""DPAE exports in URSSAF's real shapes, the sector table, and features actually filled.

The exports write sectors as « GS1 Industrie » / « CA Fabrication de … » (code and label in
one value), with field names or French labels as headers. These tests load small files of
each shape, assert the codes parsed, the features built from them non-empty, and that a
sector URSSAF relabels or invents is said loudly: failed load, dq_result, `ciblage status`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from ciblage import formats
from ciblage.ingest.dpae import EXPECT_LABEL, EXPECT_MAPPED, SECTOR_TABLE
from ciblage.outcome import judge_sources
from ciblage.status import collect_status
from scoring.features import SnapshotSpec, build_features, ensure_optional_tables

from .conftest import Loader
from .files import AS_OF, csv_bytes, dpae_series, etab_row, etab_zip, siret, ul_row, ul_zip

CA = "CA Fabrication de denrées alimentaires, de boissons et de produits à base de tabac"
GZ = "GZ Commerce ; réparation d'automobiles et de motocycles"
DEP_SECTORS = {"GS1 Industrie": 400, "GS3 Commerce": 900, "_calage_": 3}


def _write(path: Path, rows: list[dict[str, str]], fields: dict[str, str], labels: bool) -> Path:
    """A ';' export with field names (labels=False) or French labels as header."""
    cols = list(fields)
    if labels:
        rows = [{fields[k]: r[k] for k in cols} for r in rows]
        cols = list(fields.values())
    path.write_bytes(csv_bytes([{c: r[c] for c in cols} for r in rows], cols, ";"))
    return path


def _dep(tmp: Path, sectors: dict[str, float], labels: bool = False, name: str = "dep.csv"):
    return _write(tmp / name, dpae_series(sectors), formats.DPAE_DEPARTEMENT_FIELDS, labels)


def _reg(tmp: Path, sectors: dict[str, float], labels: bool = True, name: str = "reg.csv"):
    rows = dpae_series(sectors, region=True)
    return _write(tmp / name, rows, formats.DPAE_REGION_NA38_FIELDS, labels)


def test_shipped_sector_table_maps_every_employer_naf_once(wh: duckdb.DuckDBPyConnection) -> None:
    """INSEE's A38 of every NAF outside agriculture and extraterritorial bodies has one
    grand secteur, and its NA38 code is its A38 (the official aggregation)."""
    rows = wh.execute(
        "SELECT n.naf_code, n.a21, n.a38, m.grand_secteur_code, m.na38_code "
        "FROM ref_naf n LEFT JOIN ref_naf_dpae m USING (naf_code)"
    ).fetchall()
    assert len(rows) == 732
    for naf, a21, a38, gs, na38 in rows:
        assert na38 == a38, naf
        assert (gs is None) == (a21 in ("A", "U")), (naf, gs)
    by_naf = dict((r[0], r[3]) for r in rows)
    assert by_naf["7820Z"] == "GS6" and by_naf["7810Z"] == "GS5"  # intérim apart
    assert by_naf["4711F"] == "GS3" and by_naf["5610A"] == "GS4" and by_naf["8610Z"] == "GS7"
    # no A38 in two grand secteurs of the CSV itself
    with SECTOR_TABLE.open(encoding="utf-8") as f:
        gs = [r for r in csv.DictReader(f, delimiter=";") if r["nomenclature"] == "grand_secteur"]
    seen = [a for r in gs for a in r["naf_a38"].split()]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("labels", [False, True], ids=["field-names", "french-labels"])
def test_departement_export_codes_parsed(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection, labels: bool
) -> None:
    r = load("dpae_departement", _dep(tmp_path, DEP_SECTORS, labels))
    assert r.status == "loaded", r.message
    got = wh.execute(
        "SELECT secteur_code, any_value(secteur_label), count(*) FROM dpae_aggregate "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert got == [("GS1", "Industrie", 16), ("GS3", "Commerce", 16), ("_calage_", "", 16)]
    assert wh.execute(
        "SELECT DISTINCT nature_contrat FROM dpae_aggregate ORDER BY 1"
    ).fetchall() == [("CDD de plus d'un mois",), ("CDI",)]


@pytest.mark.parametrize("labels", [True, False], ids=["french-labels", "field-names"])
def test_region_na38_composite_sector(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection, labels: bool
) -> None:
    """No code_secteur_na38 column: the NA38 code is the first word of secteur_na38."""
    r = load("dpae_region_na38", _reg(tmp_path, {CA: 300, GZ: 800}, labels))
    assert r.status == "loaded", r.message
    got = wh.execute(
        "SELECT dataset, code_region, secteur_code, any_value(secteur_label) FROM dpae_aggregate "
        "GROUP BY ALL ORDER BY 3"
    ).fetchall()
    assert got == [
        ("region_na38", "24", "CA", CA[3:]),
        ("region_na38", "24", "GZ", GZ[3:]),
    ]


def _establishments(tmp: Path, load: Loader) -> dict[str, str]:
    """Three Loiret establishments: retail (GS3/GZ), food industry (GS1/CA), farming."""
    nafs = {"retail": "47.11F", "food": "10.71C", "farm": "01.11Z"}
    sirets = {k: siret(f"1234567{i}", "0001") for i, k in enumerate(nafs)}
    uls = [ul_row(s[:9]) for s in sirets.values()]
    ets = [etab_row(sirets[k], activitePrincipaleEtablissement=nafs[k]) for k in nafs]
    assert load("sirene_unite_legale", ul_zip(tmp / "ul.zip", uls)).status == "loaded"
    r = load("sirene_etablissement", etab_zip(tmp / "et.zip", ets))
    assert r.status == "loaded", r.message
    return sirets


def _features(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    ensure_optional_tables(con)
    build_features(con, AS_OF, SnapshotSpec(6), "_f", "TRUE")
    rows = con.execute(
        "SELECT siret, dpae_dep_gs_per_etab, dpae_dep_gs_trend, dpae_reg_a38_per_etab, "
        "dpae_reg_a38_trend FROM _f"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


@pytest.mark.parametrize("labels", [False, True], ids=["field-names", "french-labels"])
def test_dpae_features_are_filled(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection, labels: bool
) -> None:
    """Not only rows loaded: every establishment whose sector the exports cover gets its
    four DPAE features; the farm (no DPAE grand secteur, no NA38 series) gets none."""
    sirets = _establishments(tmp_path, load)
    assert load("dpae_departement", _dep(tmp_path, DEP_SECTORS, labels)).status == "loaded"
    assert load("dpae_region_na38", _reg(tmp_path, {CA: 300, GZ: 800}, labels)).status == "loaded"
    f = _features(wh)
    for k in ("retail", "food"):
        assert all(v is not None for v in f[sirets[k]]), (k, f[sirets[k]])
    # Loiret GS3 over the last 4 quarters: 900 x (1 + .05k), k = 4..7, for 1 establishment
    assert f[sirets["retail"]][0] == pytest.approx(sum(900 * (1 + 0.05 * k) for k in range(4, 8)))
    assert f[sirets["retail"]][1] > 0  # growing series
    assert f[sirets["farm"]] == (None, None, None, None)


def test_unknown_sector_fails_loudly_and_the_run_says_so(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    """URSSAF adds « GS9 Nouveau secteur »: the load stops naming file, row, field and
    value; the previous good DPAE data stays; the run's outcome (degraded, with the value),
    dq_result and `ciblage status` say so."""
    assert load("dpae_departement", _dep(tmp_path, DEP_SECTORS), run_id="r1").status == "loaded"
    bad = _dep(tmp_path, {"GS1 Industrie": 400, "GS9 Nouveau secteur": 50}, name="new.csv")
    r = load("dpae_departement", bad, run_id="r2")
    assert r.status == "failed"
    verdict = judge_sources({"sources": {"dpae_departement": r.as_dict()}})
    assert verdict.status == "degraded" and "'GS9 Nouveau secteur'" in (verdict.message() or "")
    # editor lines (header = 1): per quarter, GS1 CDI, GS1 CDD, GS9 CDI (line 4)
    for part in ("new.csv", "ligne 4", "grand_secteur_d_activite", "'GS9 Nouveau secteur'"):
        assert part in r.message, r.message
    assert (
        wh.execute("SELECT count(*) FROM dpae_aggregate WHERE secteur_code = 'GS3'").fetchone()[0]
        == 16
    )  # last good load kept
    dq = wh.execute(
        "SELECT success, critical, observed FROM dq_result WHERE run_id = 'r2' AND expectation = ?",
        [EXPECT_MAPPED],
    ).fetchall()
    assert dq and not dq[0][0] and dq[0][1] and "GS9 Nouveau secteur" in dq[0][2]
    wh.execute("CHECKPOINT")
    path = wh.execute(
        "SELECT file FROM pragma_database_list WHERE name = current_database()"
    ).fetchone()[0]
    wh.close()  # `ciblage status` opens the warehouse read-only
    run = next(r for r in collect_status(path) if r["run_id"] == "r2")
    assert run["status"] == "failed"
    assert "GS9 Nouveau secteur" in run["error"]
    assert run["dq"].startswith("1 critique(s) en échec")


def test_relabelled_sector_loads_with_a_warning(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    """A known code under a new label keeps its code (and its NAF mapping), but is reported."""
    path = _dep(tmp_path, {"GS3 Commerce de détail et de gros": 900, "GS1 Industrie": 400})
    r = load("dpae_departement", path)
    assert r.status == "loaded", r.message
    assert "renommé" in r.message and "GS3" in r.message
    assert wh.execute(
        "SELECT DISTINCT secteur_label FROM dpae_aggregate WHERE secteur_code = 'GS3'"
    ).fetchall() == [("Commerce de détail et de gros",)]
    dq = wh.execute(
        "SELECT success, critical FROM dq_result WHERE expectation = ?", [EXPECT_LABEL]
    ).fetchall()
    assert dq == [(False, False)]


def test_exports_without_code_prefix_match_on_the_label(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    """An export writing only « Industrie » resolves by label; a label of nothing fails."""
    assert load("dpae_departement", _dep(tmp_path, {"Industrie": 10})).status == "loaded"
    assert wh.execute("SELECT DISTINCT secteur_code FROM dpae_aggregate").fetchall() == [("GS1",)]
    r = load("dpae_departement", _dep(tmp_path, {"Hébergement-restauration": 10}, name="x.csv"))
    assert r.status == "failed" and "'Hébergement-restauration'" in r.message


def test_sample_writes_the_real_shapes(sample_dir: Path) -> None:
    """The generator writes what URSSAF publishes (it used to write our own labels, which
    hid the label-join bug): « GSn label » and « NA38 label » values of the table, the
    real contract natures, no code_secteur_na38 column."""
    with SECTOR_TABLE.open(encoding="utf-8") as f:
        known = {f"{r['code']} {r['libelle']}" for r in csv.DictReader(f, delimiter=";")}
    urssaf = sample_dir / "urssaf"
    with (urssaf / "dpae-par-departement-x-grand-secteur.csv").open(encoding="utf-8") as f:
        dep = list(csv.DictReader(f, delimiter=";"))
    with (urssaf / "dpae-par-region-x-na38.csv").open(encoding="utf-8") as f:
        reg = list(csv.DictReader(f, delimiter=";"))
    assert list(reg[0]) == list(formats.DPAE_REGION_NA38_FIELDS.values())
    assert "Code secteur NA38" not in reg[0]
    gs = {r["grand_secteur_d_activite"] for r in dep}
    assert "GS1 Industrie" in gs and gs <= known
    na38 = {r["Secteur NA38"] for r in reg}
    assert CA in na38 and na38 <= known
    assert {r["Grand secteur d'activité"] for r in reg} <= known
    assert {r["nature_de_contrat"] for r in dep} == {"CDI", "CDD de plus d'un mois"}


def test_malformed_line_is_quarantined_with_its_line_and_field(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    """A line cut short (its last fields lost) is quarantined with the line a text editor
    shows (header = line 1) and the first field it lacks; a line with one field too many
    names its line, with no single field to blame."""
    path = _dep(tmp_path, DEP_SECTORS)
    lines = path.read_text(encoding="utf-8").splitlines()
    short, long_ = lines[3], lines[7]
    lines[3] = ";".join(short.split(";")[:-2])  # line 4: dpae_brut and dpae_cvs lost
    lines[7] = long_ + ";extra"  # line 8
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = load("dpae_departement", path)
    assert r.status == "loaded", r.message
    got = wh.execute(
        "SELECT file, row_number, field, reason FROM quarantine "
        "WHERE source = 'dpae_departement' ORDER BY row_number"
    ).fetchall()
    cols = list(formats.DPAE_DEPARTEMENT_FIELDS)
    n = len(cols)
    assert got == [
        ("dep.csv", 4, cols[-2], f"{n - 2} champs au lieu de {n}"),
        ("dep.csv", 8, None, f"{n + 1} champs au lieu de {n}"),
    ]
