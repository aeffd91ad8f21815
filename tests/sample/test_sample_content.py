"""The sample carries the cases the pipeline must handle, consistently across files."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from sample_readers import read_csv, read_zip_csv

from ciblage.config import PROJECT_ROOT
from ciblage.sample import ESTABLISHMENTS_PER_DEP
from ciblage.sample.establishments import generate_population
from ciblage.sample.luhn import break_key, complete, luhn_valid
from ciblage.sample.referentials import load_referentials
from ciblage.sample.sirene_files import lambert93


def test_luhn_on_known_identifiers() -> None:
    assert luhn_valid("356000000")  # La Poste
    assert luhn_valid("443061841")
    assert not luhn_valid("443061842")
    assert luhn_valid(complete("4430618410001"))
    assert not luhn_valid(break_key("35600000000048"))


def test_every_identifier_has_a_valid_key(etab_rows, ul_rows) -> None:
    assert all(luhn_valid(r["siret"]) and luhn_valid(r["siren"]) for r in etab_rows)
    assert all(luhn_valid(r["siren"]) for r in ul_rows)
    sirens = {r["siren"] for r in ul_rows}
    assert {r["siren"] for r in etab_rows} == sirens
    assert len({r["siret"] for r in etab_rows}) == len(etab_rows)


def test_population_has_p_closed_persons_and_multi_sites(etab_rows, ul_rows) -> None:
    p = [r for r in etab_rows if r["statutDiffusionEtablissement"] == "P"]
    assert 0.015 < len(p) / len(etab_rows) < 0.05
    assert all(r["libelleVoieEtablissement"] == "[ND]" for r in p)
    closed = [r for r in etab_rows if r["etatAdministratifEtablissement"] == "F"]
    assert any(r["dateDebut"] >= "2021-01-01" for r in closed)
    assert any(r["dateDebut"] < "2021-01-01" for r in closed)
    persons = [r for r in ul_rows if r["categorieJuridiqueUniteLegale"] == "1000"]
    assert any(
        r["statutDiffusionUniteLegale"] == "P" and r["nomUniteLegale"] == "[ND]" for r in persons
    )
    assert any(r["sexeUniteLegale"] in ("M", "F") and r["prenom1UniteLegale"] for r in persons)
    sites = defaultdict(list)
    for r in etab_rows:
        sites[r["siren"]].append(r["etablissementSiege"])
    multi = [v for v in sites.values() if len(v) > 1]
    assert len(multi) > 200 and all(v.count("true") == 1 for v in multi)
    assert {r["categorieEntreprise"] for r in ul_rows} >= {"PME", "ETI", "GE"}
    assert {r["economieSocialeSolidaireUniteLegale"] for r in ul_rows} == {"O", "N"}


def test_geolocation_matches_commune_and_lambert(sample_dir: Path, etab_rows) -> None:
    _, header, rows = read_zip_csv(
        sample_dir
        / "sirene"
        / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.zip",
        ";",
    )
    commune = {r["siret"]: r["codeCommuneEtablissement"] for r in etab_rows}
    centre = {}
    for line in (
        (PROJECT_ROOT / "data/reference/laposte_hexasmal.csv")
        .read_text(encoding="utf-8")
        .splitlines()[1:]
    ):
        f = line.split(";")
        if f[5].strip() and f[0] not in centre:
            centre[f[0]] = tuple(float(v) for v in f[5].split(","))
    qualities = set()
    for r in (dict(zip(header, row, strict=True)) for row in rows):
        lat, lon = float(r["y_latitude"]), float(r["x_longitude"])
        clat, clon = centre[commune[r["siret"]]]
        assert math.hypot(lat - clat, (lon - clon) * 0.66) < 0.15
        x, y = lambert93(lat, lon)
        assert abs(x - float(r["x"])) < 1 and abs(y - float(r["y"])) < 1
        assert r["plg_code_commune"] == commune[r["siret"]]
        qualities.add(r["qualite_xy"])
    assert "33" in qualities and "11" in qualities
    x, y = lambert93(48.8566, 2.3522)  # Paris, Notre-Dame area: ~(652 km, 6862 km)
    assert abs(x - 652_000) < 2_000 and abs(y - 6_862_000) < 2_000


def test_hires_respect_lifetimes_and_offers_link_to_truth(
    sample_dir: Path, etab_rows, offers
) -> None:
    by_siret = {r["siret"]: r for r in etab_rows}
    _, hires = read_csv(sample_dir / "hires" / "embauches_siret.csv")
    for siret, mois, _, _ in hires:
        e = by_siret[siret]
        assert mois >= e["dateCreationEtablissement"][:7]
        if e["etatAdministratifEtablissement"] == "F":
            assert mois < e["dateDebut"][:7]
    _, truth = read_csv(sample_dir / "truth" / "offres_siret_truth.csv")
    true_siret = dict(truth)
    ids = [o["id"] for o in offers]
    assert len(ids) == len(set(ids)) == len(true_siret) and set(ids) == set(true_siret)
    shown = [o for o in offers if "siret" in o["entreprise"]]
    assert 0.2 < len(shown) / len(offers) < 0.3
    wrong = [o for o in shown if not luhn_valid(o["entreprise"]["siret"])]
    assert 0 < len(wrong) < 0.15 * len(shown)
    assert all(
        o["entreprise"]["siret"] == true_siret[o["id"]]
        for o in shown
        if luhn_valid(o["entreprise"]["siret"])
    )
    assert 0.03 < sum("nom" not in o["entreprise"] for o in offers) / len(offers) < 0.2
    assert max(o["dateCreation"] for o in offers) < "2026-11-01"  # nothing after the as-of
    assert max(o["dateActualisation"] for o in offers) < "2026-11-01"


def test_shipped_sample_equals_a_fresh_generation(sample_dir: Path) -> None:
    """Same seed, same bytes: the shipped data/sample never drifts from the generator."""
    shipped = PROJECT_ROOT / "data" / "sample"
    fresh = sorted(p.relative_to(sample_dir) for p in sample_dir.rglob("*") if p.is_file())
    assert fresh == sorted(p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file())
    for rel in fresh:
        assert (sample_dir / rel).read_bytes() == (shipped / rel).read_bytes(), rel


def test_the_seed_drives_the_population() -> None:
    ref = load_referentials(tuple(ESTABLISHMENTS_PER_DEP))
    small = {"45": 50, "27": 50, "57": 50}
    runs = [generate_population(np.random.default_rng(seed), ref, small)[1] for seed in (7, 7, 8)]
    sirets = [[e.siret for e in run] for run in runs]
    assert sirets[0] == sirets[1] != sirets[2]


def test_dpae_cvs_does_not_move_with_one_ulp() -> None:
    """numpy's sums can differ by one ulp between CPUs (SIMD width); the printed seasonally
    adjusted DPAE must not, or the shipped sample differs from a generation elsewhere."""
    from ciblage.sample.dpae import cvs

    exact = np.array([4.0, 4.0, 4.0])  # 1 / 4 = 0.25: a printed tie
    below = np.nextafter(exact, 0.0)
    assert 1 / float(below.mean()) != 0.25  # one ulp off the tie
    assert cvs(1, exact) == cvs(1, below) == "0.2"
    assert cvs(667, np.array([0.97479, 0.97479, 0.97479])) == cvs(
        667, np.nextafter(np.array([0.97479] * 3), 1.0)
    )
