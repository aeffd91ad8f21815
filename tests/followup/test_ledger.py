from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from ciblage.followup.fields import parse_siret, siret_luhn_ok
from ciblage.followup.ledger import import_promotions
from ciblage.followup.reader import PromotionFileError

from .ledgers import HEADER, SIRET_A, SIRET_B, SIRET_C, write_csv

ROWS = [
    ["12/09/2026", "45A", SIRET_A, "M1607", "c01", "d001", "Téléphone", "Sans réponse", ""],
    ["2026-09-13", "45a", SIRET_B, "m1607", "c01", "d002", "MAIL", "Entretien", "20/09/2026"],
    ["14/09/2026", "45A", SIRET_C, "K2204", "c02", "d003", "visite", "", ""],
]


def ledger(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT date_promotion, agency_code, siret, code_rome, id_demandeur, canal, resultat, "
        "date_resultat FROM promotion ORDER BY date_promotion, siret"
    ).fetchall()


def test_import_csv_normalises_values(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    report = import_promotions(con, write_csv(tmp_path / "suivi.csv", ROWS))
    assert (report.rows_read, report.inserted, report.errors) == (3, 3, [])
    assert ledger(con) == [
        (date(2026, 9, 12), "45A", SIRET_A, "M1607", "d001", "telephone", "sans_reponse", None),
        (
            date(2026, 9, 13),
            "45A",
            SIRET_B,
            "M1607",
            "d002",
            "mail",
            "entretien",
            date(2026, 9, 20),
        ),
        (date(2026, 9, 14), "45A", SIRET_C, "K2204", "d003", "visite", None, None),
    ]


@pytest.mark.parametrize(
    ("sep", "bom", "encoding"),
    [(",", False, "utf-8"), (";", False, "utf-8"), (";", False, "cp1252")],
)
def test_import_csv_variants(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, sep: str, bom: bool, encoding: str
) -> None:
    header = [
        "Date de promotion",
        "Code agence",
        "SIRET",
        "Code ROME",
        "ID conseiller",
        "Identifiant demandeur",
        "Canal",
        "Résultat",
        "Date du résultat",
    ]
    path = write_csv(tmp_path / "s.csv", ROWS, header=header, sep=sep, bom=bom, encoding=encoding)
    report = import_promotions(con, path)
    assert report.inserted == 3 and not report.errors
    assert ledger(con)[0][5:7] == ("telephone", "sans_reponse")
    assert bool(report.warnings) == (encoding == "cp1252")


def test_import_xlsx_every_sheet_with_ledger_columns(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    """An agency fills the per-ROME sheets of the list it downloaded; untouched rows skip."""
    wb = Workbook()
    ws = wb.active
    ws.title = "M1607"
    ws.append(["Raison sociale", "Adresse", *HEADER])
    ws.append(
        [
            "ACME",
            "1 rue X",
            date(2026, 9, 12),
            "45A",
            int(SIRET_A),
            "M1607",
            "c01",
            "d001",
            "téléphone",
            "embauché",
            date(2026, 10, 2),
        ]
    )
    ws.append(["BETA", "2 rue Y", None, None, SIRET_B, "M1607", None, None, None, None, None])
    other = wb.create_sheet("K2204")
    other.append(HEADER)
    other.append(["14/09/2026", "45A", SIRET_C, "K2204", "c02", "d003", "visite", "refus", ""])
    wb.create_sheet("Lisez-moi").append(["Ce classeur liste les entreprises..."])
    path = tmp_path / "liste_45A.xlsx"
    wb.save(path)

    report = import_promotions(con, path)
    assert (report.inserted, report.blank_rows, report.errors) == (2, 1, [])
    assert report.ignored_columns == ["Raison sociale", "Adresse"]
    rows = ledger(con)
    assert rows[0][2] == SIRET_A and rows[0][6:] == ("embauche", date(2026, 10, 2))
    assert rows[1][6] == "refus"


def test_row_errors_name_file_row_field_and_valid_rows_still_import(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    bad_luhn = SIRET_A[:-1] + str((int(SIRET_A[-1]) + 1) % 10)
    rows = [
        *ROWS,
        ["31/02/2026", "45A", SIRET_A, "M1607", "c01", "d004", "mail", "", ""],
        ["15/09/2026", "45A", bad_luhn, "M16070", "c01", "d005", "fax", "peut-être", ""],
        ["15/09/2026", "45A", SIRET_A, "M1607", "c01", "d006", "mail", "refus", "01/09/2026"],
        ["01/01/2099", "", SIRET_A, "M1607", "c01", "d007", "mail", "", ""],
    ]
    report = import_promotions(con, write_csv(tmp_path / "suivi.csv", rows))
    assert report.inserted == 3 and report.rejected_rows == 4
    found = {(e.row, e.field): (e.value, e.message) for e in report.errors}
    assert found[(5, "date_promotion")] == ("31/02/2026", "date impossible")
    assert found[(6, "siret")][1] == "SIRET invalide : clé de contrôle (dernier chiffre) fausse"
    assert (6, "code_rome") in found and (6, "canal") in found and (6, "resultat") in found
    assert "antérieure" in found[(7, "date_resultat")][1]
    assert found[(8, "date_promotion")][1] == "date dans le futur"
    assert found[(8, "code_agence")][1] == "code agence manquant"
    assert all(e.file == "suivi.csv" for e in report.errors)
    assert "suivi.csv, ligne 6, siret" in str(report.errors[1])


def test_reimport_is_idempotent(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    path = write_csv(tmp_path / "suivi.csv", [*ROWS, ROWS[0]])  # identical repeat in file
    first = import_promotions(con, path)
    assert (first.inserted, first.duplicates) == (3, 1)
    again = import_promotions(con, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert con.execute("SELECT count(*) FROM promotion").fetchall() == [(3,)]
    assert con.execute("SELECT count(*) FROM promotion_history").fetchall() == [(0,)]


def test_correction_updates_row_and_keeps_history(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    import_promotions(con, write_csv(tmp_path / "semaine1.csv", ROWS))
    corrected = [list(r) for r in ROWS]
    corrected[0][7:9] = ["embauche", "03/10/2026"]
    report = import_promotions(con, write_csv(tmp_path / "semaine2.csv", corrected))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    assert ledger(con)[0][6:] == ("embauche", date(2026, 10, 3))
    hist = con.execute(
        "SELECT siret, resultat, source_file, replaced_by_file, replaced_at >= updated_at "
        "FROM promotion_history"
    ).fetchall()
    assert hist == [(SIRET_A, "sans_reponse", "semaine1.csv", "semaine2.csv", True)]
    (src,) = con.execute(f"SELECT source_file FROM promotion WHERE siret = '{SIRET_A}'").fetchall()
    assert src == ("semaine2.csv",)


def test_conflicting_rows_for_same_promotion_are_rejected(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    other = list(ROWS[0])
    other[7] = "refus"
    report = import_promotions(con, write_csv(tmp_path / "s.csv", [ROWS[0], other]))
    assert report.inserted == 1
    assert [(e.row, "ligne 2" in e.message) for e in report.errors] == [(3, True)]


@pytest.mark.parametrize(
    "column", ["Nom du demandeur", "Prénom", "Email", "Téléphone candidat", "Adresse du DE"]
)
def test_job_seeker_identity_columns_refuse_the_file(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, column: str
) -> None:
    rows = [[*r, "x"] for r in ROWS]
    path = write_csv(tmp_path / "s.csv", rows, header=[*HEADER, column])
    if column == "Adresse du DE":
        # "DE" folds to "de": an address column without a person word is the company's.
        assert import_promotions(con, path).ignored_columns == [column]
        return
    with pytest.raises(PromotionFileError, match="aucun nom ni coordonnée"):
        import_promotions(con, path)
    assert not con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'promotion'"
    ).fetchall()[0][0]


@pytest.mark.parametrize(
    ("value", "hint"),
    [("jean.dupont@mail.fr", "e-mail"), ("06 12 34 56 78", "téléphone"), ("Jean Dupont", "nom")],
)
def test_identity_values_in_id_columns_are_rejected(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, value: str, hint: str
) -> None:
    row = list(ROWS[0])
    row[5] = value
    report = import_promotions(con, write_csv(tmp_path / "s.csv", [row, ROWS[1]]))
    assert report.inserted == 1
    assert report.errors[0].field == "id_demandeur" and hint in report.errors[0].message
    stored = con.execute("SELECT list(id_demandeur) FROM promotion").fetchall()[0][0]
    assert value not in stored
    assert report.errors[0].value == "(masqué)"


def test_missing_required_column_is_a_file_error(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    header = [h for h in HEADER if h != "id_demandeur"]
    path = write_csv(tmp_path / "s.csv", [r[:5] + r[6:] for r in ROWS], header=header)
    with pytest.raises(PromotionFileError, match="manquante.*id_demandeur"):
        import_promotions(con, path)


def test_excel_damaged_siret_gets_a_hint(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    row = list(ROWS[0])
    row[2] = "4,41E+13"
    report = import_promotions(con, write_csv(tmp_path / "s.csv", [row]))
    assert "formatez la colonne en texte" in report.errors[0].message


def test_unknown_rome_when_referential_loaded(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    con.execute(
        "CREATE TABLE ref_rome AS SELECT * FROM (VALUES ('M1607', 'x', 'M1607'), "
        "('K2204', 'y', 'K2204')) t(code_rome, libelle, code_rome_parent)"
    )
    row = list(ROWS[0])
    row[3] = "M9999"
    report = import_promotions(con, write_csv(tmp_path / "s.csv", [row, ROWS[2]]))
    assert report.inserted == 1 and report.errors[0].message == "code ROME inconnu"


def test_luhn_including_la_poste() -> None:
    assert siret_luhn_ok(SIRET_A)
    assert not siret_luhn_ok(SIRET_A[:-1] + str((int(SIRET_A[-1]) + 5) % 10))
    assert siret_luhn_ok("35600000000048")  # La Poste head office: plain Luhn
    assert siret_luhn_ok("35600000012341")  # La Poste establishment: digit sum multiple of 5
    assert not siret_luhn_ok("35600000012342")


def test_a_13_digit_siret_says_so(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    """13 digits whose padded form is not a SIRET: the user lost a digit, the message says
    so rather than blaming the check digit; a leading zero Excel dropped is restored."""
    lost = list(ROWS[0])
    lost[2] = SIRET_A[:6] + SIRET_A[7:]
    report = import_promotions(con, write_csv(tmp_path / "s.csv", [lost]))
    assert [e.message for e in report.errors] == ["SIRET invalide : 13 chiffres au lieu de 14"]
    zero = next(f"0123456789012{d}" for d in range(10) if siret_luhn_ok(f"0123456789012{d}"))
    assert parse_siret(zero[1:]) == zero


def test_rejected_rows_go_to_quarantine_without_identities(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    con.execute(
        "CREATE TABLE quarantine (run_id VARCHAR, source VARCHAR, file VARCHAR, "
        "row_number BIGINT, field VARCHAR, value VARCHAR, reason VARCHAR, raw VARCHAR)"
    )
    row = list(ROWS[0])
    row[5] = "Jean Dupont"
    bad_rome = list(ROWS[1])
    bad_rome[3] = "M16"
    report = import_promotions(con, write_csv(tmp_path / "s.csv", [ROWS[2], row, bad_rome]))
    assert [(e.row, e.data_row, e.value) for e in report.errors] == [
        (3, 2, "(masqué)"),
        (4, 3, "M16"),
    ]
    stored = con.execute(
        "SELECT source, file, row_number, field, value, raw FROM quarantine ORDER BY row_number"
    ).fetchall()
    assert stored == [
        ("promotions", "s.csv", 3, "id_demandeur", "(masqué)", None),  # the line printed
        ("promotions", "s.csv", 4, "code_rome", "M16", None),
    ]
    assert "Dupont" not in str(report.errors)
