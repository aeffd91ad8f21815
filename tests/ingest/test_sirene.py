"""SIRENE establishments and legal units: rules, quarantine, P flag, history, geolocation."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ciblage import formats

from .conftest import Loader
from .files import etab_row, etab_zip, geoloc_zip, siret, ul_row, ul_zip

S1 = siret("44318460", "0001")  # active, Orléans
S2 = siret("44318460", "0002")  # closed in 2022
S3 = siret("55212340", "0001")  # legal unit with statutDiffusion P
S4 = siret("66123450", "0001")  # establishment itself P
LA_POSTE = "35600000000048"  # La Poste head office (Luhn)
LA_POSTE_ESTAB = "35600000000051"  # digit sum 20: valid only by La Poste's rule


def _files(tmp: Path, extra: list[dict[str, str]] | None = None) -> tuple[Path, Path, Path]:
    etabs = [
        etab_row(S1),
        etab_row(
            S2,
            etablissementSiege="false",
            etatAdministratifEtablissement="F",
            dateDebut="2022-06-30",
            codeCommuneEtablissement="45001",
        ),
        etab_row(S3, codeCommuneEtablissement="27229", codePostalEtablissement="27000"),
        etab_row(S4, statutDiffusionEtablissement="P", codeCommuneEtablissement="57463"),
        etab_row(LA_POSTE, activitePrincipaleEtablissement="53.10Z"),
        etab_row(
            LA_POSTE_ESTAB, activitePrincipaleEtablissement="53.10Z", etablissementSiege="false"
        ),
        *(extra or []),
    ]
    units = [
        ul_row(S1[:9]),
        ul_row(
            S3[:9],
            statutDiffusionUniteLegale="P",
            nomUniteLegale="DUPONT",
            prenom1UniteLegale="JEAN",
        ),
        ul_row(S4[:9]),
        ul_row("356000000"),
    ]
    geo = [
        {"siret": S1, "qualite_xy": "11", "y_latitude": "47.9029", "x_longitude": "1.9093"},
        {"siret": S2, "qualite_xy": "33", "y_latitude": "47.95", "x_longitude": "1.85"},
    ]
    return (
        etab_zip(tmp / formats.SIRENE_ETABLISSEMENT_ZIP, etabs),
        ul_zip(tmp / formats.SIRENE_UNITE_LEGALE_ZIP, units),
        geoloc_zip(tmp / formats.SIRENE_GEOLOC_ZIP, geo),
    )


def _load_all(load: Loader, tmp: Path, extra=None, run_id: str = "t1"):
    etab, ul, geo = _files(tmp, extra)
    assert load("sirene_geoloc", geo, run_id).status == "loaded"
    assert load("sirene_unite_legale", ul, run_id).status == "loaded"
    return load("sirene_etablissement", etab, run_id)


def _etab(wh: duckdb.DuckDBPyConnection, s: str) -> dict:
    cur = wh.execute("SELECT * FROM etablissement WHERE siret = ?", [s])
    cols = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(cols, row, strict=True)) if row else {}


def test_establishments_with_history_privacy_and_geoloc(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    r = _load_all(load, tmp_path)
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 6, 6, 0)
    active = _etab(wh, S1)
    assert active["is_diffusible"] and active["code_departement"] == "45"
    assert active["naf_code"] == "4711F" and active["date_fermeture"] is None
    assert (active["latitude"], active["geo_precise"]) == (47.9029, True)
    closed = _etab(wh, S2)
    assert closed["etat_administratif"] == "F"
    assert str(closed["date_fermeture"]) == "2022-06-30" and not closed["is_siege"]
    assert closed["geo_precise"] is False  # qualite_xy 33: random point in the commune
    assert _etab(wh, S3)["is_diffusible"] is False  # legal unit is P
    assert _etab(wh, S3)["code_departement"] == "27"
    assert _etab(wh, S4)["is_diffusible"] is False  # establishment is P
    assert _etab(wh, LA_POSTE_ESTAB)["siret"] == LA_POSTE_ESTAB
    nom = wh.execute("SELECT nom, prenom FROM unite_legale WHERE siren = ?", [S3[:9]]).fetchone()
    assert nom == (None, None)  # natural person's name of a P unit is not stored


def test_establishments_are_stored_sorted_by_departement(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    """Whatever the file's order (here 45, 45, 27, 57, ...), the table is stored sorted
    by département: a territory rerun's scan then skips the other départements' row
    groups."""
    _load_all(load, tmp_path)
    deps = [
        r[0]
        for r in wh.execute("SELECT code_departement FROM etablissement ORDER BY rowid").fetchall()
    ]
    assert deps == sorted(deps) and set(deps) == {"27", "45", "57"}


def test_bad_rows_are_quarantined_with_reason(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    bad_luhn = S1[:-1] + str((int(S1[-1]) + 1) % 10)
    extra = [
        etab_row(bad_luhn),
        etab_row(siret("77123450", "0001"), dateCreationEtablissement="2021-02-30"),
        etab_row(siret("77123450", "0002"), activitePrincipaleEtablissement="47.99Q"),
        etab_row(siret("77123450", "0003"), codeCommuneEtablissement="45999"),
        # a closed establishment keeps the commune code of its time (not in today's COG)
        etab_row(
            siret("77123450", "0004"),
            codeCommuneEtablissement="45999",
            etatAdministratifEtablissement="F",
            dateDebut="2001-01-01",
        ),
        etab_row(S1, enseigne1Etablissement="DOUBLON"),
        # enough clean rows that the defects stay under the quality gate's thresholds (1 %
        # per département): row-level defects are quarantined, not fatal
        *(etab_row(siret("88000000", f"{i:04d}")) for i in range(1, 301)),
    ]
    r = _load_all(load, tmp_path, extra)
    assert (r.rows_read, r.rows_quarantined, r.rows_loaded) == (312, 5, 307)
    q = {
        (row[0], row[1]): row[2]
        for row in wh.execute(
            "SELECT field, value, reason FROM quarantine WHERE source = 'sirene_etablissement'"
        ).fetchall()
    }
    assert q[("siret", bad_luhn)] == "SIRET invalide : clé de contrôle (dernier chiffre) fausse"
    assert q[("dateCreationEtablissement", "2021-02-30")] == "date illisible"
    assert q[("activitePrincipaleEtablissement", "47.99Q")] == "code NAF absent de la NAF rév. 2"
    assert q[("codeCommuneEtablissement", "45999")] == "commune absente du COG"
    assert q[("siret", S1)].startswith("clé en double")
    row = wh.execute(
        "SELECT file, row_number, raw FROM quarantine WHERE value = ?", [bad_luhn]
    ).fetchone()
    assert row[0].endswith(formats.SIRENE_ETABLISSEMENT_CSV) and row[1] == 8  # 7th data line
    assert bad_luhn in row[2]
    assert _etab(wh, siret("77123450", "0004"))["etat_administratif"] == "F"
    assert _etab(wh, S1)["enseigne"] is None  # the first occurrence is kept
    counts = wh.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined FROM source_load "
        "WHERE source = 'sirene_etablissement' AND status = 'loaded'"
    ).fetchone()
    assert counts == (312, 307, 5)


def test_malformed_lines_are_quarantined_not_fatal(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    etab, ul, geo = _files(tmp_path)
    import zipfile

    with zipfile.ZipFile(etab) as zf:
        data = zf.read(formats.SIRENE_ETABLISSEMENT_CSV)
    etab.unlink()
    with zipfile.ZipFile(etab, "w") as zf:
        zf.writestr(formats.SIRENE_ETABLISSEMENT_CSV, data + b"123,456\n")
    r = load("sirene_etablissement", etab)
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 7, 6, 1)
    reason = wh.execute("SELECT reason FROM quarantine WHERE raw LIKE '123,456%'").fetchone()
    assert reason == ("2 champs au lieu de 54",)
