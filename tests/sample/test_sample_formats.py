"""The sample's files are in the official formats (columns, order, separators, members)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sample_readers import read_csv, read_zip_csv

from ciblage import formats
from ciblage.config import PROJECT_ROOT

REAL_RESPONSE = PROJECT_ROOT / "data" / "reference" / "offres-search-response-metz-2019.json"


def test_sirene_zips_have_official_member_and_columns(sample_dir: Path) -> None:
    cases = [
        (
            formats.SIRENE_ETABLISSEMENT_ZIP,
            formats.SIRENE_ETABLISSEMENT_CSV,
            formats.SIRENE_ETABLISSEMENT_COLUMNS,
            ",",
        ),
        (
            formats.SIRENE_UNITE_LEGALE_ZIP,
            formats.SIRENE_UNITE_LEGALE_CSV,
            formats.SIRENE_UNITE_LEGALE_COLUMNS,
            ",",
        ),
        (formats.SIRENE_GEOLOC_ZIP, formats.SIRENE_GEOLOC_CSV, formats.SIRENE_GEOLOC_COLUMNS, ";"),
    ]
    for zip_name, member, columns, sep in cases:
        members, header, rows = read_zip_csv(sample_dir / "sirene" / zip_name, sep)
        assert members == [member]
        assert tuple(header) == columns
        assert rows and all(len(r) == len(columns) for r in rows), zip_name


def test_sirene_values_look_like_insee(etab_rows: list[dict[str, str]]) -> None:
    assert 9000 <= len(etab_rows) <= 10_000
    for r in etab_rows:
        assert re.fullmatch(r"\d{2}\.\d{2}[A-Z]", r["activitePrincipaleEtablissement"])
        assert r["nomenclatureActivitePrincipaleEtablissement"] == "NAFRev2"
        assert r["etablissementSiege"] in ("true", "false")
        assert r["etatAdministratifEtablissement"] in ("A", "F")
        assert r["codeCommuneEtablissement"][:2] in ("45", "27", "57")
        assert r["siret"] == r["siren"] + r["nic"]


def test_dpae_exports_headers_and_quarters(sample_dir: Path) -> None:
    header, rows = read_csv(sample_dir / "urssaf" / "dpae-par-departement-x-grand-secteur.csv")
    assert header == list(formats.DPAE_DEPARTEMENT_FIELDS)
    quarters = {(r[header.index("annee")], r[header.index("trimestre")]) for r in rows}
    assert min(quarters) == ("2021", "T1") and max(quarters) == ("2026", "T3")
    assert len(quarters) == 23
    assert {r[header.index("code_departement")] for r in rows} == {"27", "45", "57"}
    header, rows = read_csv(sample_dir / "urssaf" / "dpae-par-region-x-na38.csv")
    assert header == list(formats.DPAE_REGION_NA38_FIELDS.values())
    assert all(int(r[header.index("DPAE (brut)")]) >= 0 for r in rows)


def test_offer_files_are_api_search_responses(sample_dir: Path) -> None:
    real = json.loads(REAL_RESPONSE.read_text(encoding="utf-8"))
    # `contact` is in the Offres v2 documentation, absent from the saved 2019 response
    real_keys = set().union(*(o.keys() for o in real["resultats"])) | {"contact"}
    contact_keys = {"nom", "coordonnees1", "coordonnees2", "coordonnees3", "telephone"}
    contact_keys |= {"courriel", "commentaire", "urlRecruteur", "urlPostulation"}
    real_lieu = set(real["resultats"][0]["lieuTravail"])
    real_facet = set(real["filtresPossibles"][0])
    files = sorted((sample_dir / "offres").glob("*.json"))
    assert len(files) > 10
    for p in files:
        body = json.loads(p.read_text(encoding="utf-8"))
        assert set(body) == set(real)
        assert 0 < len(body["resultats"]) <= 150
        assert {k for f in body["filtresPossibles"] for k in f} == real_facet
        for o in body["resultats"]:
            assert set(o) <= real_keys, set(o) - real_keys
            assert set(o["lieuTravail"]) in (real_lieu, {"libelle"})
            assert re.fullmatch(r"\d\d - .+", o["lieuTravail"]["libelle"])
            assert set(o["entreprise"]) <= {"nom", "siret", "entrepriseAdaptee", "url"}
            assert set(o.get("contact") or {}) <= contact_keys
            assert re.fullmatch(r"\d{3}[A-Z]{4}", o["id"])
            assert re.fullmatch(r"\d{2}", o["secteurActivite"])
            assert o["typeContrat"] in ("CDI", "CDD", "MIS")
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", o["dateCreation"])
    lines = (sample_dir / "offres" / "offres_2026.jsonl").read_text(encoding="utf-8")
    assert all(set(json.loads(line)) <= real_keys for line in lines.splitlines())


def test_hires_and_truth_files(sample_dir: Path) -> None:
    header, rows = read_csv(sample_dir / "hires" / "embauches_siret.csv")
    assert tuple(header) == formats.HIRES_SIRET_COLUMNS
    for siret, mois, rome, n in rows:
        assert re.fullmatch(r"\d{14}", siret) and re.fullmatch(r"202[1-6]-\d\d", mois)
        assert "2021-01" <= mois <= "2026-10" and re.fullmatch(r"[A-N]\d{4}", rome)
        assert int(n) > 0
    header, rows = read_csv(sample_dir / "truth" / "offres_siret_truth.csv")
    assert header == ["offre_id", "siret"]


def test_sample_is_small(sample_dir: Path) -> None:
    total = sum(p.stat().st_size for p in sample_dir.rglob("*") if p.is_file())
    assert total < 15_000_000


def test_dpae_is_the_sample_hires_scaled_to_the_territory(sample_dir: Path, etab_rows) -> None:
    """Département DPAE ~ TERRITORY_SCALE x the sample's hires (agriculture is out of scope)."""
    from ciblage.sample.dpae import TERRITORY_SCALE

    where = {r["siret"]: r["codeCommuneEtablissement"][:2] for r in etab_rows}
    division = {r["siret"]: int(r["activitePrincipaleEtablissement"][:2]) for r in etab_rows}
    hires: dict[str, int] = {}
    _, rows = read_csv(sample_dir / "hires" / "embauches_siret.csv")
    for siret, mois, _, n in rows:
        if mois <= "2026-09" and division[siret] > 3:  # DPAE ends 2026T3, no agriculture
            hires[where[siret]] = hires.get(where[siret], 0) + int(n)
    header, rows = read_csv(sample_dir / "urssaf" / "dpae-par-departement-x-grand-secteur.csv")
    dpae: dict[str, int] = {}
    for r in rows:
        dep = r[header.index("code_departement")]
        dpae[dep] = dpae.get(dep, 0) + int(r[header.index("dpae_brut")])
    assert set(dpae) == set(hires) == {"27", "45", "57"}
    for dep, n in hires.items():
        assert 0.8 < dpae[dep] / (TERRITORY_SCALE * n) < 1.25, (dep, dpae[dep], n)


def test_a_share_of_offers_tells_how_to_apply(sample_dir: Path) -> None:
    """Like real offers, some carry a contact block (sometimes naming a person, which the
    lists must never show) or the company website."""
    offers = [
        o
        for p in sorted((sample_dir / "offres").glob("*.json"))
        for o in json.loads(p.read_text(encoding="utf-8"))["resultats"]
    ]
    with_contact = [o for o in offers if o.get("contact")]
    assert 0.3 < len(with_contact) / len(offers) < 0.6
    assert any(re.match(r"(M\.|Mme) ", o["contact"]["nom"]) for o in with_contact)
    assert any("url" in o["entreprise"] for o in offers)
