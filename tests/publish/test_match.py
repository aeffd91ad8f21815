"""`ciblage match`: the best companies in a radius for one profile, fiche and aids."""

from __future__ import annotations

import duckdb
import openpyxl
import pytest
from typer.testing import CliRunner

from ciblage.aids import Profile
from ciblage.cli import app
from ciblage.matching import MatchError, match_profile
from ciblage.territories import haversine_km
from tests.publish import synthetic as syn


@pytest.fixture()
def con(synth_warehouse):
    c = duckdb.connect(str(synth_warehouse), read_only=True)
    yield c
    c.close()


def test_rome4_maps_to_parent_and_ranks(con):
    res = match_profile(con, "M1612", "45234", 20, Profile(rsa=True, age=52), n=5)
    assert res.code_rome == "M1607" and res.rome_input == "M1612"
    assert len(res.fiches) == 5
    pots = [(f["hiring_potential"], f["expected_hires_6m"]) for f in res.fiches]
    assert pots == sorted(pots, reverse=True)
    assert [f["rank"] for f in res.fiches] == [1, 2, 3, 4, 5]
    for f in res.fiches:
        assert f["code_rome"] == "M1607"
        assert f["naf_code"] in {n for n, r, *_ in syn.NAF_ROME if r == "M1607"}
        assert f["reasons"] and f["aids"]
    same_v3 = match_profile(con, "M1607", "45234", 20, Profile(rsa=True, age=52), n=5)
    assert [f["siret"] for f in same_v3.fiches] == [f["siret"] for f in res.fiches]


def test_radius_and_privacy(con):
    res = match_profile(con, "G1602", "45234", 5, Profile(), n=50)
    sirets = {f["siret"] for f in res.fiches}
    assert not sirets & {syn.P_ETAB, syn.P_UNITE, syn.CLOSED, syn.UNLINKED}
    orleans = syn.COMMUNES[0]
    for f in res.fiches:
        assert f["distance_km"] <= 5
        assert f["distance_km"] == pytest.approx(
            haversine_km(orleans[5], orleans[6], f["latitude"], f["longitude"]), abs=1e-6
        )
    # from Orléans: Montargis ~62 km, Chartres ~69 km
    assert "Montargis" not in {f["commune"] for f in res.fiches}
    wide = match_profile(con, "G1602", "45234", 65, Profile(), n=50)
    assert "Montargis" in {f["commune"] for f in wide.fiches}
    assert "Chartres" not in {f["commune"] for f in wide.fiches}


def test_aids_follow_the_profile(con):
    res = match_profile(con, "K1302", "45234", 20, Profile(rqth=True, age=45), n=10)
    public = next(f for f in res.fiches if f["siret"] == syn.PUBLIC)
    private = next(f for f in res.fiches if f["siret"] != syn.PUBLIC)
    ids = lambda f: {a["id"]: a["statut"] for a in f["aids"]}  # noqa: E731
    assert ids(public).get("fiphfp") == "oui" and "agefiph_embauche" not in ids(public)
    assert ids(private).get("agefiph_embauche") == "oui" and "fiphfp" not in ids(private)
    assert ids(private).get("apprentissage") == "oui"  # no age limit with RQTH


def test_bad_input(con):
    with pytest.raises(MatchError, match="code ROME inconnu"):
        match_profile(con, "Z9999", "45234", 20, Profile())
    with pytest.raises(MatchError, match="commune 99999"):
        match_profile(con, "M1607", "99999", 20, Profile())


def test_cli_prints_and_writes(tmp_path, synth_warehouse):
    cfg = syn.write_config(tmp_path / "c.toml", synth_warehouse, tmp_path / "out")
    out = tmp_path / "match"
    args = ["match", "--rome", "M1607", "--commune", "45234", "--rayon", "20", "--rsa"]
    args += ["--age", "52", "--config", str(cfg), "--out", str(out)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "Secrétariat" in result.output and "Aides" in result.output
    xlsx = out / "profil_M1607_45234.xlsx"
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["Profil", "Entreprises", "Fiches"]
    assert wb["Entreprises"].max_row == 6  # header + 5 companies
    html = (out / "profil_M1607_45234.html").read_text("utf-8")
    assert html.count('class="fiche"') == 5 and "bénéficiaire du RSA" in html
    for p in (syn.P_ETAB, syn.P_UNITE):
        assert p not in html
    bad = CliRunner().invoke(
        app, ["match", "--rome", "Z9999", "--commune", "45234", "--config", str(cfg)]
    )
    assert bad.exit_code != 0 and "code ROME inconnu" in bad.output
