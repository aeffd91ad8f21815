"""Readers accept the official formats and name file, row and field when they cannot."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ciblage import formats
from ciblage.ingest import IngestError
from ciblage.ingest.readers import read_naf_sql, read_tabular
from ciblage.ingest.specs import (
    DPAE_DEPARTEMENT,
    REF_NAF,
    SIRENE_ETABLISSEMENT,
)
from ciblage.ingest.staging import read_into

from .files import (
    REFERENCE,
    csv_bytes,
    dpae_rows,
    etab_row,
    etab_zip,
    siret,
    write_zip,
)


def _read(path: Path, spec=SIRENE_ETABLISSEMENT) -> pa.Table:
    return pa.Table.from_batches(list(read_tabular(path, spec)))


def test_zip_csv_is_projected_and_positioned(tmp_path: Path) -> None:
    rows = [etab_row(siret("44318460", "0001")), etab_row(siret("44318460", "0002"))]
    table = _read(etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, rows))
    assert table.column_names == [*SIRENE_ETABLISSEMENT.columns, "_file", "_row"]
    assert all(pa.types.is_string(t) for t in table.schema.types[:-2])
    # the file's label dictionary-encoded: one string per file, not one per row
    label = table.schema.field("_file").type
    assert pa.types.is_dictionary(label) and pa.types.is_string(label.value_type)
    assert table.column("_row").to_pylist() == [2, 3]  # editor lines: the header is line 1
    assert table.column("_file")[0].as_py().endswith(formats.SIRENE_ETABLISSEMENT_CSV)
    # empty official fields arrive as NULL, not ''
    assert table.column("enseigne1Etablissement").null_count == 2


def test_missing_column_is_named(tmp_path: Path) -> None:
    cols = [c for c in formats.SIRENE_ETABLISSEMENT_COLUMNS if c != "codeCommuneEtablissement"]
    data = csv_bytes([{c: "x" for c in cols}], cols)
    path = write_zip(tmp_path / "e.zip", formats.SIRENE_ETABLISSEMENT_CSV, data)
    with pytest.raises(
        IngestError, match=r"colonne\(s\) manquante\(s\).*codeCommuneEtablissement"
    ) as err:
        _read(path)
    assert err.value.field == "codeCommuneEtablissement"


def test_unused_official_column_missing_only_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cols = [c for c in formats.SIRENE_ETABLISSEMENT_COLUMNS if c != "enseigne3Etablissement"]
    row = etab_row(siret("44318460", "0001"))
    data = csv_bytes([{c: row[c] for c in cols}], cols)
    path = write_zip(tmp_path / "e.zip", formats.SIRENE_ETABLISSEMENT_CSV, data)
    assert _read(path).num_rows == 1
    assert "missing: enseigne3Etablissement" in caplog.text


def test_wrong_separator(tmp_path: Path) -> None:
    path = etab_zip(tmp_path / "e.zip", [etab_row(siret("44318460", "0001"))], sep=";")
    with pytest.raises(IngestError, match="mauvais séparateur : ',' attendu .* ';'"):
        _read(path)


def test_truncated_zip(tmp_path: Path) -> None:
    rows = [etab_row(siret("44318460", f"{i:04d}")) for i in range(200)]
    full = etab_zip(tmp_path / "full.zip", rows).read_bytes()
    cut = tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(IngestError, match="archive zip tronquée ou corrompue") as err:
        _read(cut)
    assert err.value.file == cut.name


def test_bad_encoding_names_file_row_and_field(tmp_path: Path) -> None:
    rows = [etab_row(siret("44318460", f"{i:04d}")) for i in range(3)]
    data = csv_bytes(rows, formats.SIRENE_ETABLISSEMENT_COLUMNS)
    # Latin-1 commune name on the 2nd data row (line 3), as in a file saved by the wrong tool.
    lines = data.split(b"\n")
    lines[2] = lines[2].replace(b"ORLEANS", "ORLÉANS".encode("latin-1"))
    path = write_zip(tmp_path / "e.zip", formats.SIRENE_ETABLISSEMENT_CSV, b"\n".join(lines))
    with pytest.raises(IngestError, match="UTF-8 invalide") as err:
        _read(path)
    assert (err.value.row, err.value.field) == (3, "libelleCommuneEtablissement")
    assert "e.zip" in str(err.value) and "ligne 3" in str(err.value)


def test_malformed_line_without_sink_is_an_error(tmp_path: Path) -> None:
    data = csv_bytes([etab_row(siret("44318460", "0001"))], formats.SIRENE_ETABLISSEMENT_COLUMNS)
    path = write_zip(tmp_path / "e.zip", formats.SIRENE_ETABLISSEMENT_CSV, data + b"a,b,c\n")
    with pytest.raises(IngestError, match="3 champs au lieu de 54"):
        _read(path)


def test_parquet_edition_reads_the_same_columns(tmp_path: Path) -> None:
    rows = [etab_row(siret("44318460", "0001"), etablissementSiege="true")]
    table = pa.table(
        {c: [r[c] or None for r in rows] for c in formats.SIRENE_ETABLISSEMENT_COLUMNS}
    )
    # INSEE's Parquet types some columns: a boolean head-office flag, an integer year.
    table = table.set_column(
        table.column_names.index("etablissementSiege"), "etablissementSiege", pa.array([True])
    )
    table = table.set_column(
        table.column_names.index("anneeEffectifsEtablissement"),
        "anneeEffectifsEtablissement",
        pa.array([2023], pa.int32()),
    )
    pq.write_table(table, tmp_path / "StockEtablissement_utf8.parquet")
    out = _read(tmp_path / "StockEtablissement_utf8.parquet")
    assert out.column("etablissementSiege").to_pylist() == ["true"]
    assert out.column("anneeEffectifsEtablissement").to_pylist() == ["2023"]
    assert out.column("_row").to_pylist() == [1]


def test_a_folder_staged_whole_keeps_each_rows_file(tmp_path: Path) -> None:
    """The Parquet edition as a folder of files, staged as one source: every row is
    labelled with its own file (the readers' labels come dictionary-encoded)."""
    folder = tmp_path / "StockEtablissement"
    folder.mkdir()
    expected = []
    for part, nics in (("part-0.parquet", ("0001", "0002")), ("part-1.parquet", ("0003",))):
        rows = [etab_row(siret("44318460", nic)) for nic in nics]
        table = pa.table(
            {c: [r[c] or None for r in rows] for c in formats.SIRENE_ETABLISSEMENT_COLUMNS}
        )
        pq.write_table(table, folder / part)
        expected += [(r["siret"], part, i) for i, r in enumerate(rows, start=1)]
    con = duckdb.connect()
    read_into(con, SIRENE_ETABLISSEMENT, folder, [folder], "stg", None)
    assert con.execute("SELECT siret, _file, _row FROM stg ORDER BY siret").fetchall() == sorted(
        expected
    )


def test_opendatasoft_label_headers_map_to_field_names(tmp_path: Path) -> None:
    rows = dpae_rows()
    by_field = tmp_path / "fields.csv"
    by_field.write_bytes(csv_bytes(rows, formats.DPAE_DEPARTEMENT_FIELDS, ";"))
    by_label = tmp_path / "labels.csv"
    labelled = [{formats.DPAE_DEPARTEMENT_FIELDS[k]: v for k, v in r.items()} for r in rows]
    by_label.write_bytes(
        b"\xef\xbb\xbf" + csv_bytes(labelled, formats.DPAE_DEPARTEMENT_FIELDS.values(), ";")
    )
    a = _read(by_field, DPAE_DEPARTEMENT).drop(["_file"])
    b = _read(by_label, DPAE_DEPARTEMENT).drop(["_file"])
    assert a.equals(b)


def test_naf_sql_has_the_732_subclasses() -> None:
    table = pa.Table.from_batches(list(read_naf_sql(REFERENCE / "naf_data.sql", REF_NAF)))
    codes = table.column("sous_classe_a_732").to_pylist()
    assert len([c for c in codes if c != "RIEN"]) == 732
    assert "4711F" in codes
    row = codes.index("9700Z")
    assert table.column("intitule_de_la_naf_rev_2")[row].as_py().startswith("Activités des")


@pytest.mark.parametrize(
    "content", [b"", b"\xef\xbb\xbf", b"\n\r\n"], ids=["0-byte", "bom", "blank"]
)
def test_empty_file_says_fichier_vide(tmp_path: Path, content: bytes) -> None:
    """Not « missing columns; header has 0 columns », which sends the user to the header."""
    path = tmp_path / "dep.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError, match="fichier vide") as err:
        _read(path, DPAE_DEPARTEMENT)
    assert "0 columns" not in str(err.value) and "dep.csv" in str(err.value)
    zipped = write_zip(tmp_path / "e.zip", formats.SIRENE_ETABLISSEMENT_CSV, content)
    with pytest.raises(IngestError, match="fichier vide"):
        _read(zipped)
    naf = tmp_path / "naf.sql"
    naf.write_bytes(content.replace(b"\xef\xbb\xbf", b""))
    with pytest.raises(IngestError, match="fichier vide"):
        list(read_naf_sql(naf, REF_NAF))


def test_naf_sql_rows_are_editor_lines(tmp_path: Path) -> None:
    text = (REFERENCE / "naf_data.sql").read_text(encoding="utf-8")
    table = pa.Table.from_batches(list(read_naf_sql(REFERENCE / "naf_data.sql", REF_NAF)))
    lines = text.splitlines()
    first = table.column("_row")[0].as_py()
    code = table.column("sous_classe_a_732")[0].as_py()
    assert f"'{code}'" in lines[first - 1]
