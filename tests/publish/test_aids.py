"""Hiring aids: the reference file parses, and each rule says yes/no/to check with why."""

from __future__ import annotations

from pathlib import Path

import pytest

from ciblage.aids import (
    CHECK,
    NO,
    YES,
    AidsFileError,
    Company,
    Profile,
    applicable_aids,
    load_aids,
)

PRIVATE = Company(categorie_juridique="5710", tranche_effectifs="12")
TOWN_HALL = Company(categorie_juridique="7210", tranche_effectifs="22")
ASSOCIATION = Company(categorie_juridique="9220", tranche_effectifs="03")


def _verdicts(profile, company) -> dict:
    return {v.aid.id: v for v in applicable_aids(profile, company)}


def test_reference_file_complete():
    aids = {a.id: a for a in load_aids()}
    expected = {"pec", "emplois_francs", "afpr_poei", "pmsmp", "agefiph_embauche"}
    expected |= {"contrat_pro_26_plus", "apprentissage"}
    assert expected <= set(aids)
    for a in aids.values():
        assert a.source.startswith("https://") and a.etat_au


def test_emplois_francs_needs_qpv_and_private():
    v = _verdicts(Profile(qpv=True, age=30), PRIVATE)["emplois_francs"]
    assert v.status == YES and "quartier prioritaire" in v.as_dict()["pourquoi"]
    assert _verdicts(Profile(qpv=False, age=30), PRIVATE)["emplois_francs"].status == NO
    v = _verdicts(Profile(qpv=True, age=30), TOWN_HALL)["emplois_francs"]
    assert v.status == NO and "employeurs privés" in " ".join(v.reasons)


def test_pec_non_marchand_and_priority_public():
    assert _verdicts(Profile(rsa=True), TOWN_HALL)["pec"].status == YES
    assert _verdicts(Profile(rsa=True), ASSOCIATION)["pec"].status == YES
    assert _verdicts(Profile(rsa=True), PRIVATE)["pec"].status == NO
    # not RSA/RQTH/QPV, age unknown: the counselor must check
    assert _verdicts(Profile(), TOWN_HALL)["pec"].status == CHECK
    assert _verdicts(Profile(age=35, months_unemployed=3), TOWN_HALL)["pec"].status == NO
    v = _verdicts(Profile(age=52, months_unemployed=3), TOWN_HALL)["pec"]
    assert v.status == YES and "50 ans ou plus" in " ".join(v.reasons)


def test_rqth_aids_by_employer_kind():
    private = _verdicts(Profile(rqth=True, age=40), PRIVATE)
    assert private["agefiph_embauche"].status == YES
    assert private["fiphfp"].status == NO
    public = _verdicts(Profile(rqth=True, age=40), TOWN_HALL)
    assert public["agefiph_embauche"].status == NO
    assert public["fiphfp"].status == YES
    assert _verdicts(Profile(rqth=False, age=40), PRIVATE)["agefiph_embauche"].status == NO


def test_apprenticeship_age_limit_lifted_by_rqth():
    assert _verdicts(Profile(age=22), PRIVATE)["apprentissage"].status == YES
    assert _verdicts(Profile(age=45), PRIVATE)["apprentissage"].status == NO
    v = _verdicts(Profile(age=45, rqth=True), PRIVATE)["apprentissage"]
    assert v.status == YES and "RQTH" in " ".join(v.reasons)
    assert _verdicts(Profile(), PRIVATE)["apprentissage"].status == CHECK


def test_contrat_pro_26_plus():
    assert _verdicts(Profile(age=52), PRIVATE)["contrat_pro_26_plus"].status == YES
    assert _verdicts(Profile(age=24), PRIVATE)["contrat_pro_26_plus"].status == NO


def test_open_aids_and_order():
    verdicts = applicable_aids(Profile(age=30), PRIVATE)
    by_id = {v.aid.id: v for v in verdicts}
    assert by_id["pmsmp"].status == YES and by_id["afpr_poei"].status == YES
    statuses = [v.status for v in verdicts]
    assert statuses == sorted(statuses, key=[YES, CHECK, NO].index)
    d = by_id["pmsmp"].as_dict()
    assert d["fraicheur"] and d["source"].startswith("https://")


def test_company_only_view():
    """Lists show, per company, which aids it could use whatever the profile."""
    by_id = {v.aid.id: v for v in applicable_aids(None, TOWN_HALL)}
    assert by_id["pec"].status == YES
    assert by_id["emplois_francs"].status == NO


@pytest.mark.parametrize(
    "body, message",
    [
        ('[[aide]]\nid = "x"\nnom = "X"\nresume = "r"\netat_au = "2025-06"\n', "source"),
        (
            '[[aide]]\nid = "x"\nnom = "X"\nresume = "r"\nsource = "https://a"\n'
            'etat_au = "2025"\n[aide.profil]\nrevenu = 1\n',
            "unknown profil rule",
        ),
        (
            '[[aide]]\nid = "x"\nnom = "X"\nresume = "r"\nsource = "https://a"\n'
            'etat_au = "2025"\n[aide.entreprise]\nsecteur = "mixte"\n',
            "secteur",
        ),
        ("version = 1\n", "no \\[\\[aide\\]\\]"),
    ],
)
def test_bad_reference_file(tmp_path: Path, body: str, message: str):
    path = tmp_path / "aides.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(AidsFileError, match=message):
        load_aids(path)
