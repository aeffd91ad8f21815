"""The site's lists and fiches are data that site.js draws: every published line and every
listed company is in the data, once, with the figures of targets.parquet (the browser
tests check the drawing; these run without a browser)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import polars as pl

from ciblage.publish.site_data import (
    FICHES_PER_FILE,
    LIST_ROWS_PER_FILE,
    fiche_file,
    fiche_files,
    json_script,
)
from ciblage.publish.target_files import read_targets

_INDEX = re.compile(r'data-index="([^"]*)"')


def _parts(folder: Path, call: str) -> dict[int, dict]:
    parts = {}
    for path in folder.glob("*.js"):
        text = path.read_text("utf-8")
        assert text.startswith(f"{call}(") and text.rstrip().endswith(");"), path
        parts[int(path.stem)] = json.loads(text.strip()[len(call) + 1 : -2])
    return parts


def _list_parts(folder: Path) -> dict[int, dict]:
    """Each list file's trades, lines as {column: value} with their company's columns
    and stars read from the file's tables (the browser test checks site.js's full
    expansion)."""
    out = {}
    for k, packed in _parts(folder, "ciblageListes").items():

        def line(v: list, packed: dict = packed) -> dict:
            x = dict(zip(packed["colonnes"], v, strict=True))
            company = packed["entreprises"][x["entreprise"]]
            x |= dict(zip(packed["colonnes_entreprise"], company, strict=True))
            return {**x, "stars": packed["etoiles"][x["stars"]][0]}

        out[k] = {
            code: {**t, "rows": [line(v) for v in t["rows"]]}
            for code, t in packed["metiers"].items()
        }
    return out


def _fiche_parts(folder: Path) -> dict[int, dict]:
    return {k: v["fiches"] for k, v in _parts(folder, "ciblageFiches").items()}


def test_list_files_hold_every_line_in_rank_order(synth_published) -> None:
    run = Path(synth_published["run_dir"])
    targets = read_targets(run).filter(pl.col("territory_level") == "agence")
    for (code,), agency in targets.group_by("territory_code"):
        base = run / "site" / "agences" / code
        page = (base / "liste.html").read_text("utf-8")
        index = json.loads(html.unescape(_INDEX.search(page).group(1)))
        parts = _list_parts(base / "listes")
        assert sorted(index) == sorted(agency["code_rome"].unique()), code
        assert sorted(parts) == sorted(set(index.values()))
        for part in parts.values():
            # whole trades per file, a new file past the line budget
            lines = sum(len(t["rows"]) for t in part.values())
            assert len(part) == 1 or lines <= LIST_ROWS_PER_FILE
        for rome, k in index.items():
            trade = parts[k][rome]
            grp = agency.filter(pl.col("code_rome") == rome).sort("rank")
            lines = trade["rows"]
            assert [(x["rank"], x["siret"], x["potential"], x["stars"]) for x in lines] == list(
                grp.select("rank", "siret", "hiring_potential", "stars").iter_rows()
            ), (code, rome)
            assert [x["reasons"] for x in lines] == grp["reasons"].to_list()
            # every company of the list is on its map (commune centre when not precise)
            assert all(x["la"] is not None and x["lo"] is not None for x in lines)
            assert [x["p"] for x in lines] == grp["geo_precise"].to_list()


def test_fiche_files_hold_each_listed_company_once(synth_published) -> None:
    run = Path(synth_published["run_dir"])
    targets = read_targets(run).filter(pl.col("territory_level") == "agence")
    for (code,), grp in targets.group_by("territory_code"):
        base = run / "site" / "agences" / code
        parts = _fiche_parts(base / "fiches")
        sirets = set(grp["siret"])
        files = fiche_files(len(sirets))
        assert sorted(parts) == list(range(files))
        assert f'data-fichiers="{files}"' in (base / "fiche.html").read_text("utf-8")
        seen = [s for part in parts.values() for s in part]
        assert sorted(seen) == sorted(sirets), code
        for k, part in parts.items():
            assert len(part) <= FICHES_PER_FILE
            assert all(fiche_file(s, files) == k for s in part)
        for siret, f in (s for part in parts.values() for s in part.items()):
            mine = grp.filter(pl.col("siret") == siret)
            assert f["name"] == mine["name"][0]
            assert sorted(x[0] for x in f["lists"]) == sorted(mine["code_rome"])
            assert f["hiring_potential_etablissement"] == mine["hiring_potential_etablissement"][0]


def test_fiche_files_split_a_large_agency() -> None:
    assert fiche_files(0) == 1 and fiche_files(FICHES_PER_FILE) == 1
    assert fiche_files(FICHES_PER_FILE + 1) == 2
    # site.js computes Number(siret) % files: exact for 14 digits (below 2**53)
    assert fiche_file("99999999999999", 7) == 99999999999999 % 7 and 99999999999999 < 2**53


def test_inline_data_cannot_close_its_script_tag() -> None:
    html = json_script([{"name": "</script><script>alert(1)</script>"}], "lignes")
    assert html.count("</script>") == 1 and html.endswith("</script>")
    body = html[len('<script type="application/json" id="lignes">') : -len("</script>")]
    assert json.loads(body) == [{"name": "</script><script>alert(1)</script>"}]


def test_fiche_file_stores_shared_texts_once() -> None:
    from ciblage.publish.site_data import compact_fiches

    base = {
        "name": "A", "reasons": ["r"], "contacts": [], "flags": [], "address_full": "x",
        "naf_code": "4711F", "hiring_potential": 50, "latitude": None, "longitude": None,
        "offers_12m": 0, "hiring_potential_etablissement": 0, "etablissements_actifs": None,
        "offers": [],
        "top_romes": [{"code_rome": "D1507", "rome_label": "Rayon", "hiring_potential": 50}],
        "lists": [{"code_rome": "D1507", "rome_label": "Rayon", "rank": 1,
                   "hiring_potential": 50, "stars": 3, "expected": 1.0}],
        "aids": [{"nom": "Emplois francs", "statut": "oui", "pourquoi": "p", "resume": "long",
                  "source": "https://x", "fraicheur": "2025"}],
    }  # fmt: skip
    part = compact_fiches([{**base, "siret": "1" * 14}, {**base, "siret": "2" * 14}])
    assert len(part["aides"]) == 1 and part["aides"][0]["resume"] == "long"
    assert part["metiers"] == {"D1507": "Rayon"}
    one = part["fiches"]["1" * 14]
    assert one["aids"] == [0] and one["lists"] == [["D1507", 1, 50, "★★★☆☆", one["lists"][0][4]]]
    # zero is a figure the fiche shows, not an empty value
    assert one["offers_12m"] == 0 and one["hiring_potential_etablissement"] == 0
    assert "etablissements_actifs" not in one
