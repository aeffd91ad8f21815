"""The Offres API v2 JSON reader and the `offre` table it feeds."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from ciblage.config import PROJECT_ROOT
from ciblage.sources.offres_json import (
    OffresFormatError,
    flatten_offer,
    offer_files,
    read_offres,
)

from .helpers import load_offres

METZ = PROJECT_ROOT / "data" / "reference" / "offres-search-response-metz-2019.json"


def offer(oid: str, actualisation: str, **extra: object) -> dict:
    base = {
        "id": oid,
        "intitule": "Vendeur (H/F)",
        "dateCreation": "2026-03-02T09:00:00.000Z",
        "dateActualisation": actualisation,
        "lieuTravail": {"libelle": "45 - ORLEANS", "commune": "45234", "codePostal": "45000"},
        "romeCode": "D1214",
        "entreprise": {"nom": "BOULANGERIE MARTIN"},
        "secteurActivite": "10",
        "typeContrat": "CDI",
        "natureContrat": "Contrat travail",
        "nombrePostes": 2,
    }
    base.update(extra)
    return base


def build(tmp_path: Path, source: Path) -> tuple[duckdb.DuckDBPyConnection, dict[str, int]]:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    return con, load_offres(con, source)


def test_real_search_response_is_flattened(tmp_path: Path) -> None:
    rows = pa_rows(METZ)
    assert len(rows) == 8
    first = rows[0]
    assert first["offre_id"] == "082SGKK"
    assert first["code_rome"] == "D1212"
    assert first["code_commune"] == "57463"
    assert first["entreprise_nom"] == "ISEAH FORMATION"
    assert first["entreprise_siret"] == "00000000000007"
    assert first["secteur_activite"] == "47"
    assert first["latitude"] == "49.11972222"
    assert first["_row"] == 1 and first["_file"].endswith(METZ.name)

    con, counts = build(tmp_path, METZ)
    assert counts == {"rows_read": 8, "rows_invalid": 0, "duplicates": 0, "rows_loaded": 8}
    row = con.execute(
        "SELECT date_creation, code_departement, nombre_postes, latitude, source_file "
        "FROM offre WHERE offre_id = '082SGKK'"
    ).fetchone()
    assert str(row[0]) == "2019-01-23 12:32:22"  # +01:00 stored as UTC
    assert row[1] == "57" and row[2] == 1 and row[3] == pytest.approx(49.11972222)
    assert row[4].endswith(METZ.name)


def pa_rows(path: Path) -> list[dict]:
    return [r for b in read_offres(path) for r in b.to_pylist()]


def test_json_lines_and_folder_with_duplicates(tmp_path: Path) -> None:
    folder = tmp_path / "offres"
    (folder / "2026-03-03").mkdir(parents=True)
    (folder / "2026-03-02").mkdir(parents=True)
    # Day 1: a search response; day 2: JSON lines with an updated copy of A and a new B.
    (folder / "2026-03-02" / "p0.json").write_text(
        json.dumps(
            {"resultats": [offer("A", "2026-03-02T10:00:00Z"), offer("C", "2026-03-02T10:00:00Z")]}
        ),
        encoding="utf-8",
    )
    lines = [
        offer("A", "2026-03-04T10:00:00Z", intitule="Vendeur confirmé (H/F)"),
        offer("B", "2026-03-04T10:00:00Z", entreprise={"nom": "X", "entrepriseAdaptee": True}),
    ]
    (folder / "2026-03-03" / "export.jsonl").write_text(
        "\n".join(json.dumps(o) for o in lines) + "\n\n", encoding="utf-8"
    )
    (folder / "notes.txt").write_text("not an offer file", encoding="utf-8")
    assert [p.name for p in offer_files(folder)] == ["p0.json", "export.jsonl"]

    con, counts = build(tmp_path, folder)
    assert counts == {"rows_read": 4, "rows_invalid": 0, "duplicates": 1, "rows_loaded": 3}
    a = con.execute("SELECT intitule, source_file FROM offre WHERE offre_id = 'A'").fetchone()
    assert a[0] == "Vendeur confirmé (H/F)" and a[1].endswith("export.jsonl")
    b = con.execute("SELECT entreprise_adaptee FROM offre WHERE offre_id = 'B'").fetchone()
    assert b[0] is True


def test_latest_actualisation_wins_even_in_an_earlier_file(tmp_path: Path) -> None:
    folder = tmp_path / "offres"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps(offer("A", "2026-05-01T00:00:00Z", intitule="new")))
    (folder / "b.jsonl").write_text(json.dumps(offer("A", "2026-04-01T00:00:00Z", intitule="old")))
    con, counts = build(tmp_path, folder)
    assert counts["duplicates"] == 1
    assert con.execute("SELECT intitule FROM offre").fetchall() == [("new",)]


def test_invalid_rows_are_counted_not_loaded(tmp_path: Path) -> None:
    f = tmp_path / "x.jsonl"
    rows = [
        offer("A", "2026-03-02T10:00:00Z"),
        offer(None, "x"),
        offer("D", "x", dateCreation="hier"),
    ]
    f.write_text("\n".join(json.dumps(o) for o in rows))
    _, counts = build(tmp_path, f)
    assert counts == {"rows_read": 3, "rows_invalid": 2, "duplicates": 0, "rows_loaded": 1}


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps(offer("A", "x")) + "\n" + '{"id": "B", "intitule": \n')
    with pytest.raises(OffresFormatError, match=r"bad\.jsonl:2 : JSON invalide"):
        list(read_offres(f))


def test_lines_orjson_refuses_are_read_as_json_reads_them(tmp_path: Path) -> None:
    """Lines are parsed by orjson, and by the standard library when orjson refuses them
    (NaN): read, not reported. An integer beyond 64 bits is read as a float."""
    f = tmp_path / "odd.jsonl"
    lines = [
        json.dumps(offer("A", "x", nombrePostes=2**60)),
        json.dumps(offer("B", "x")).replace('"nombrePostes": 2', '"nombrePostes": NaN'),
        json.dumps(offer("C", "x", intitule="Vendeur été")),
        json.dumps(offer("D", "x")),
    ]
    f.write_text("\n".join(lines))
    rows = [r for b in read_offres(f, workers=1) for r in b.to_pylist()]
    expected = [flatten_offer(json.loads(line)) for line in lines]
    assert len(rows) == len(expected)
    assert [{k: r[k] for k in e} for r, e in zip(rows, expected, strict=True)] == expected
    assert [r["nombre_postes"] for r in rows] == [str(2**60), "nan", "2", "2"]
    f.write_text(json.dumps(offer("E", "x", nombrePostes=2**70)))
    assert next(read_offres(f, workers=1))["nombre_postes"].to_pylist() == [str(float(2**70))]
    assert [r["_row"] for r in rows] == [1, 2, 3, 4]


def test_half_a_utf16_pair_names_file_line_and_field(tmp_path: Path) -> None:
    """JSON may escape half of a UTF-16 pair, which is no text: one line naming where."""
    f = tmp_path / "odd.jsonl"
    lines = [json.dumps(offer("A", "x")), json.dumps(offer("B", "x", intitule="Vendeur \ud800"))]
    f.write_text("\n".join(lines))
    with pytest.raises(OffresFormatError, match=r"odd\.jsonl:2 : champ intitule : texte invalide"):
        list(read_offres(f, workers=1))
    lines[1] = json.dumps(offer("B", "x", secteurActivite={"code": "\ud800"}))  # nested
    f.write_text("\n".join(lines))
    with pytest.raises(OffresFormatError, match=r"odd\.jsonl:2 : champ secteur_activite : texte"):
        list(read_offres(f, workers=1))


def test_truncated_search_response_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "page.json"
    text = json.dumps({"resultats": [offer("A", "x")]}, indent=1)
    f.write_text(text[: len(text) // 2])
    with pytest.raises(OffresFormatError, match=r"page\.json:\d+ : JSON invalide"):
        list(read_offres(f))


def test_wrong_document_shapes_are_rejected(tmp_path: Path) -> None:
    f = tmp_path / "other.json"
    f.write_text(json.dumps({"codeErreur": "x"}))
    with pytest.raises(OffresFormatError, match="pas de 'resultats'"):
        list(read_offres(f))
    g = tmp_path / "scalars.jsonl"
    g.write_text('{"id": "A"}\n42\n')
    with pytest.raises(OffresFormatError, match=r"scalars\.jsonl:2 : objet offre attendu"):
        list(read_offres(g))
    h = tmp_path / "latin1.jsonl"
    h.write_bytes('{"id": "A", "intitule": "Boulanger pâtissier"}'.encode("latin-1"))
    with pytest.raises(OffresFormatError, match="pas en UTF-8"):
        list(read_offres(h))


def test_a_piece_is_flattened_column_wise_as_each_offer_is(tmp_path: Path) -> None:
    """`piece_batch` builds its columns a column at a time (Arrow trims strings); every
    value must come out as `flatten_offer` words it: Python's whitespace stripped
    (U+001C..U+001F and NBSP too), blanks as NULL, numbers, flags and nested values
    turned into text, odd blocks ignored, contacts filtered."""
    odd = [
        offer("A", "x", intitule="\x1cVendeur\x1f", nombrePostes="3"),
        offer("B", "x", intitule=" \u00a0 ", secteurActivite={"code": "é", "n": [1]}),
        offer("C", "x", intitule="", nombrePostes=True, lieuTravail="45 - ORLEANS"),
        offer("D", "x", entreprise=["X"], nombrePostes=None, romeCode="\u3000D1214\t"),
        offer(
            "E",
            "x",
            lieuTravail={"commune": 45234, "latitude": 47.9, "longitude": "1,9"},
            entreprise={"nom": " MARTIN ", "url": "https://martin.example", "siret": 1.5e16},
            contact={"courriel": "recrutement@martin.example", "telephone": "02 38 12 34 56"},
        ),
        offer("F", "x", nombrePostes=0.1, entreprise={"entrepriseAdaptee": False}),
        offer("G", "x", entreprise={"nom": "DUPONT", "url": "http://dupont.example/jobs"}),
    ]
    f = tmp_path / "odd.jsonl"
    f.write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in odd), encoding="utf-8")
    rows = [r for b in read_offres(f, workers=1) for r in b.to_pylist()]
    assert [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows] == [
        flatten_offer(o) for o in odd
    ]
    assert [r["intitule"] for r in rows[:3]] == ["Vendeur", None, None]
    assert rows[4]["site_web"] == "https://martin.example"
    assert rows[4]["contact_courriel"] == "recrutement@martin.example"
    assert rows[6]["site_web"] == "http://dupont.example/jobs"  # a website, no contact block
    assert [r["nombre_postes"] for r in rows] == ["3", "2", "true", None, "2", "0.1", "2"]


def test_the_cycle_collector_is_back_after_a_piece_even_a_bad_one(tmp_path: Path) -> None:
    """Offers are parsed with Python's cycle collector off (`piece_batch`); it must be on
    again afterwards, also when the piece is refused, and stay off if it was off."""
    import gc

    good, bad = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    good.write_text(json.dumps(offer("A", "x")))
    bad.write_text('{"id": "B", "intitule": \n')
    assert gc.isenabled()
    assert next(read_offres(good, workers=1)).num_rows == 1
    assert gc.isenabled()
    with pytest.raises(OffresFormatError):
        list(read_offres(bad, workers=1))
    assert gc.isenabled()
    gc.disable()
    try:
        list(read_offres(good, workers=1))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_flatten_tolerates_missing_blocks() -> None:
    flat = flatten_offer({"id": "Z", "dateCreation": "2026-01-01T00:00:00Z"})
    assert flat["entreprise_nom"] is None and flat["code_commune"] is None
    assert flatten_offer({"id": "Z", "lieuTravail": {"libelle": "2A - AJACCIO"}})["lieu_libelle"]


def test_departement_from_label_when_commune_missing(tmp_path: Path) -> None:
    f = tmp_path / "x.jsonl"
    o = offer("A", "2026-03-02T10:00:00Z", lieuTravail={"libelle": "2A - AJACCIO"})
    f.write_text(json.dumps(o))
    con, _ = build(tmp_path, f)
    assert con.execute("SELECT code_departement FROM offre").fetchone() == ("2A",)


def test_worker_processes_read_the_same_rows_in_the_same_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All of France's offers are flattened by a process pool, a block of lines per task:
    rows, order, lines and errors must be those of one process."""
    import ciblage.sources.offres_json as reader

    folder = tmp_path / "offres"
    folder.mkdir()
    lines = [json.dumps(offer(f"A{i}", f"2026-03-0{1 + i % 9}T00:00:00Z")) for i in range(40)]
    (folder / "a.jsonl").write_text("\ufeff" + "\n".join(lines[:25]) + "\n\n", encoding="utf-8")
    (folder / "b.jsonl").write_text("\n".join(lines[25:]), encoding="utf-8")
    (folder / "page.json").write_text(json.dumps({"resultats": [offer("P1", "x")]}))
    monkeypatch.setattr(reader, "BLOCK_BYTES", 1000)  # a few lines per block
    monkeypatch.setattr(reader, "PARALLEL_MIN_BYTES", 0)
    one = [r for b in read_offres(folder, workers=1) for r in b.to_pylist()]
    two = [r for b in read_offres(folder, workers=2) for r in b.to_pylist()]
    assert len(one) == 41 and one == two
    assert [r["_row"] for r in two if r["_file"] == "a.jsonl"] == list(range(1, 26))
    assert two[-1]["_file"] == "page.json" and two[-1]["offre_id"] == "P1"
    (folder / "b.jsonl").write_text("\n".join([*lines[25:35], '{"id": "B", "intitule": ']))
    with pytest.raises(OffresFormatError, match=r"b\.jsonl:11 : JSON invalide"):
        list(read_offres(folder, workers=2))


def test_offers_are_read_on_one_core_when_workers_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parent whose main module cannot be imported again breaks a spawn pool before any
    batch: the load goes on in one process instead of failing."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    import ciblage.sources.offres_json as reader

    class BrokenPool:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __enter__(self) -> BrokenPool:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def submit(self, *args: object) -> Future:
            future: Future = Future()
            future.set_exception(BrokenProcessPool("child died"))
            return future

        def shutdown(self, **kwargs: object) -> None:
            pass

    f = tmp_path / "o.jsonl"
    f.write_text("\n".join(json.dumps(offer(f"A{i}", "x")) for i in range(5)))
    monkeypatch.setattr(reader, "ProcessPoolExecutor", BrokenPool)
    monkeypatch.setattr(reader, "PARALLEL_MIN_BYTES", 0)
    rows = [r["offre_id"] for b in read_offres(f, workers=2) for r in b.to_pylist()]
    assert rows == [f"A{i}" for i in range(5)]
