"""`ciblage match`: the best companies in a radius for one profile, fiche and aids."""

from __future__ import annotations

import json

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
    assert "bénéficiaire du RSA" in html
    data = html.split('<script type="application/json" id="fiches-donnees">')[1]
    fiches = json.loads(data.split("</script>")[0])
    assert len(fiches) == 5 and all(f["aids"] and f["reasons"] for f in fiches)
    for p in (syn.P_ETAB, syn.P_UNITE):
        assert p not in html
    bad = CliRunner().invoke(
        app, ["match", "--rome", "Z9999", "--commune", "45234", "--config", str(cfg)]
    )
    assert bad.exit_code != 0 and "code ROME inconnu" in bad.output


def test_commune_by_postcode_or_name(con):
    from ciblage.places import PlaceError, resolve_commune

    assert resolve_commune(con, "45000").code_commune == "45234"
    assert "code postal 45000" in resolve_commune(con, "45000").understood
    assert resolve_commune(con, "45234").code_commune == "45234"
    for text in ("orleans", "ORLÉANS", " Orléans "):
        assert resolve_commune(con, text).code_commune == "45234"
    for text in ("st-jean-de-braye", "Saint Jean de Braye"):
        assert resolve_commune(con, text).code_commune == "45302"
    with pytest.raises(PlaceError, match="plusieurs communes"):
        resolve_commune(con, "Montargis")  # also in 28 (NAMESAKES)
    assert resolve_commune(con, "Montargis (45)").code_commune == "45208"
    with pytest.raises(PlaceError, match="dessert plusieurs communes"):
        resolve_commune(con, "45800")
    with pytest.raises(PlaceError, match="vouliez-vous dire : Orléans"):
        resolve_commune(con, "Orl")


def test_trade_by_job_title(con):
    from ciblage.places import PlaceError, resolve_trade

    t = resolve_trade(con, "serveuse")
    assert t.code_rome == "G1803" and "Serveur / Serveuse" in t.understood
    assert resolve_trade(con, "secretaire").code_rome == "M1607"
    assert resolve_trade(con, "m1612").code_rome == "M1607"
    with pytest.raises(PlaceError, match="plusieurs métiers"):
        resolve_trade(con, "assistant")
    with pytest.raises(PlaceError, match="aucun métier"):
        resolve_trade(con, "astronaute")


def test_match_by_names_says_what_it_understood(con):
    res = match_profile(con, "cuisinier", "45000", 20, Profile(), n=3)
    assert res.code_rome == "G1602" and res.commune == "45234"
    assert any("code postal 45000" in u for u in res.understood)
    assert any("G1602" in u for u in res.understood)


def test_few_results_says_so_and_suggests_widening(con):
    """A 2-km search with a threshold shows no weak company and says how to widen."""
    res = match_profile(con, "G1602", "45234", 2, Profile(), n=50, min_potential=40)
    assert res.fiches and all(f["hiring_potential"] >= 40 for f in res.fiches)
    assert res.few and res.notice.startswith("Peu de résultats")
    assert "Pour élargir : un rayon de" in res.notice
    wider = res.widening["radii"][-1]
    assert wider["n"] > len(res.fiches)
    strong = match_profile(con, "G1602", "45234", 200, Profile(), n=3, min_potential=40)
    assert not strong.few and strong.notice is None


def test_plain_title_beats_its_specialisations():
    from ciblage.places import resolve_trade

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE ref_rome_appellation AS SELECT * FROM (VALUES "
        "('1', 'Cuisinier / Cuisinière', 'G1602', 'G1602'), "
        "('2', 'Cuisinier / Cuisinière en industrie chimique', 'H3303', 'H3303'), "
        "('3', 'Vendeur / Vendeuse en tissus', 'D1212', 'D1212'), "
        "('4', 'Vendeur / Vendeuse en ski', 'D1211', 'D1211')) "
        "t(code_ogr, libelle, code_rome, code_rome_parent)"
    )
    con.execute(
        "CREATE TABLE ref_naf_rome AS SELECT * FROM (VALUES ('5610A', 'G1602', 'Cuisine'), "
        "('2059Z', 'H3303', 'Préparation'), ('4751Z', 'D1212', 'Tissus'), "
        "('4764Z', 'D1211', 'Sport')) t(naf_code, code_rome, rome_label)"
    )
    t = resolve_trade(con, "cuisinier")
    assert t.code_rome == "G1602" and "H3303" in t.understood  # the other one is named
    with pytest.raises(ValueError, match="plusieurs métiers"):
        resolve_trade(con, "vendeur")


def test_a_match_without_the_scores_model_says_so(synth_warehouse, tmp_path):
    """The five companies' reasons come from the model that scored them: without it, the
    match stops with the French reason instead of showing companies without reasons."""
    import shutil

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(synth_warehouse, warehouse)
    c = duckdb.connect(str(warehouse))
    try:
        c.execute("DELETE FROM model_registry")
        with pytest.raises(MatchError, match=r"modèle .* introuvable .* `ciblage score`"):
            match_profile(c, "M1612", "45234", 20, Profile(), n=5)
    finally:
        c.close()
