"""A small warehouse of the contract tables, built by hand so each ranking rule has a case.

Three bassins in two départements, a few dozen establishments, among them: a top-scored
non-diffusible one (P) of a diffusible legal unit, one whose legal unit is P, a closed
one, one scored for a ROME its NAF is not linked to, an exact tie, a natural person, a
public employer, an ESS company,
an entreprise adaptée (from its offers), one without coordinates, one with many ROMEs.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

AS_OF = date(2026, 11, 1)

COMMUNES = [
    # code, libelle, dep, region, bassin, lat, lon
    ("45234", "Orléans", "45", "24", "2420", 47.9029, 1.9093),
    ("45302", "Saint-Jean-de-Braye", "45", "24", "2420", 47.9127, 1.9732),
    ("45208", "Montargis", "45", "24", "2410", 47.9973, 2.7326),
    ("28085", "Chartres", "28", "24", "2401", 48.4469, 1.4892),
]
# a commune without establishments sharing a name with one of COMMUNES (name look-ups)
NAMESAKES = [("28999", "Montargis", "28", "24", "2401", 48.30, 1.60)]
POSTCODES = [
    ("45000", "45234", "ORLEANS"),
    ("45800", "45302", "ST JEAN DE BRAYE"),
    ("45800", "45208", "MONTARGIS"),  # fictitious: one postcode, two communes, no main one
    ("45200", "45208", "MONTARGIS"),
    ("28000", "28085", "CHARTRES"),
]
BASSINS = [("2420", "Orléans", "45"), ("2410", "Montargis", "45"), ("2401", "Chartres", "28")]
NAF = [
    # naf_code, libelle, division, grand_secteur
    ("4711F", "Hypermarchés", "47", "GS4"),
    ("5610A", "Restauration traditionnelle", "56", "GS5"),
    ("8810A", "Aide à domicile", "88", "GS5"),
    ("4941A", "Transports routiers de fret interurbains", "49", "GS4"),
    ("8411Z", "Administration publique générale", "84", "GS5"),
]
NAF_ROME = [
    # naf_code, code_rome, rome_label, hirings, share
    ("4711F", "D1507", "Mise en rayon libre-service", 600, 0.5),
    ("4711F", "M1607", "Secrétariat", 60, 0.05),
    ("5610A", "G1602", "Personnel de cuisine", 500, 0.5),
    ("5610A", "G1803", "Service en restauration", 400, 0.4),
    ("8810A", "K1302", "Assistance auprès d'adultes", 900, 0.9),
    ("8810A", "M1607", "Secrétariat", 50, 0.05),
    ("4941A", "N4101", "Conduite de transport de marchandises sur longue distance", 700, 0.7),
    ("8411Z", "M1607", "Secrétariat", 300, 0.3),
    ("8411Z", "K1302", "Assistance auprès d'adultes", 100, 0.1),
]
ROME_V4 = [
    ("M1607", "Secrétaire", "M1607"),
    ("M1612", "Assistant / Assistante de service juridique", "M1607"),
    ("K1302", "Assistant / Assistante de vie aux familles", "K1302"),
    ("D1507", "Employé / Employée de libre-service", "D1507"),
    ("G1602", "Cuisinier / Cuisinière", "G1602"),
    ("G1803", "Serveur / Serveuse en restauration", "G1803"),
    ("N4101", "Conducteur / Conductrice de poids lourd", "N4101"),
]

# siret suffix -> special role, used by the tests
P_ETAB = "90000000100017"
P_UNITE = "90000000200015"
CLOSED = "90000000300013"
UNLINKED = "90000000400011"
TIE_A = "90000000500018"
TIE_B = "90000000600016"
PERSON = "90000000700014"
PUBLIC = "90000000800012"
MANY = "90000000900010"


def _establishments() -> list[dict]:
    naf_cycle = ["4711F", "5610A", "8810A", "4941A", "5610A", "4711F", "8810A"]
    tranches = ["01", "02", "03", "11", "12", "21", "22", "NN"]
    rows = []
    i = 0
    for code, lib, dep, _reg, _bassin, lat, lon in COMMUNES:
        for _ in range(9):
            i += 1
            siren = f"{100000000 + i:09d}"
            rows.append(
                dict(
                    siret=f"{siren}00011",
                    siren=siren,
                    naf_code=naf_cycle[i % len(naf_cycle)],
                    code_commune=code,
                    libelle_commune=lib,
                    code_departement=dep,
                    tranche_effectifs=tranches[i % len(tranches)],
                    latitude=lat + 0.003 * (i % 5),
                    longitude=lon - 0.004 * (i % 4),
                    potential=min(99, 20 + (i * 37) % 80),
                )
            )
    orleans = COMMUNES[0]

    def special(siret: str, naf: str, potential: int, **kw: object) -> dict:
        row = dict(
            siret=siret,
            siren=siret[:9],
            naf_code=naf,
            code_commune=orleans[0],
            libelle_commune=orleans[1],
            code_departement="45",
            tranche_effectifs="12",
            latitude=orleans[5] + 0.01,
            longitude=orleans[6] + 0.01,
            potential=potential,
        )
        row.update(kw)
        return row

    rows += [
        special(P_ETAB, "5610A", 100, statut="P"),
        special(P_UNITE, "5610A", 100, ul_statut="P"),
        special(CLOSED, "5610A", 100, etat="F"),
        special(UNLINKED, "4941A", 100, extra_rome="G1602"),
        special(TIE_A, "8810A", 88),
        special(TIE_B, "8810A", 88),
        special(PERSON, "5610A", 61, person=True),
        special(PUBLIC, "8411Z", 75, cj="7210", latitude=None, longitude=None),
        special(MANY, "4711F", 97, ess=True, adaptee=True),
    ]
    return rows


def _create(con: duckdb.DuckDBPyConnection, name: str, df: pl.DataFrame) -> None:
    con.register("_frame", df)
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM _frame")
    con.unregister("_frame")


# INSEE headcount band -> rank of scoring.features (None: unknown)
EFFECTIF_RANK = {"01": 1, "02": 2, "03": 3, "11": 4, "12": 5, "21": 6, "22": 7, "NN": None}


def _features_and_model(con: duckdb.DuckDBPyConnection, path: Path, etabs: list[dict]) -> str:
    """Feature rows and a registered model (a prior alone, at its defaults), from which
    the lists compute their reasons (scoring/reason_table.py); returns the model's id."""
    from datetime import UTC

    from scoring.features import FEATURES
    from scoring.model import ScoringModel, save_model
    from scoring.prior import Prior
    from scoring.registry import register_model

    rows = []
    for e in etabs:
        values: dict[str, float | None] = dict.fromkeys(FEATURES)
        values.update(
            offers_12m=float(e["potential"] // 10),
            offers_6m=float(e["potential"] // 20),
            postes_12m=float(e["potential"] // 10),
            offers_history_months=24.0,
            effectif_rank=EFFECTIF_RANK[e["tranche_effectifs"]],
            age_years=11.6,
            naf_offers_rate_12m=1.5,
        )
        ids = {k: e[k] for k in ("siret", "siren", "code_departement", "naf_code")}
        rows.append({"as_of": AS_OF, **ids, **values})
    schema = dict.fromkeys(FEATURES, pl.Float64)
    _create(con, "feature_etablissement", pl.DataFrame(rows, schema_overrides=schema))
    meta = {
        "horizon_months": 6,
        "label_mode": "offres",
        "as_of": AS_OF.isoformat(),
        "trained_at": datetime.now(UTC).isoformat(),
        "reference": dict.fromkeys(FEATURES, 0.0),
        "baseline_dispersion": 0.5,
    }
    model = ScoringModel(None, Prior("offres", 6), 0.5, meta)
    model_id, model_path = save_model(model, path.parent / "models", AS_OF)
    register_model(con, model_id, model_path, model.metadata)
    return model_id


def build_warehouse(path: Path, *, cooldown: list[tuple] | None = None) -> Path:
    """Write the synthetic warehouse at `path`; `cooldown` rows create promotion_cooldown
    (siret, agency_code, code_rome, until, reason)."""
    etabs = _establishments()
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE ref_commune (code_commune VARCHAR, libelle VARCHAR, code_departement "
        "VARCHAR, code_region VARCHAR, code_bassin VARCHAR, latitude DOUBLE, longitude DOUBLE)"
    )
    con.executemany("INSERT INTO ref_commune VALUES (?, ?, ?, ?, ?, ?, ?)", COMMUNES + NAMESAKES)
    con.execute(
        "CREATE TABLE ref_code_postal (code_postal VARCHAR, code_commune VARCHAR, "
        "libelle_acheminement VARCHAR, latitude DOUBLE, longitude DOUBLE)"
    )
    con.executemany("INSERT INTO ref_code_postal VALUES (?, ?, ?, NULL, NULL)", POSTCODES)
    con.execute(
        "CREATE TABLE ref_departement AS SELECT * FROM (VALUES ('45', '24', 'Loiret'), "
        "('28', '24', 'Eure-et-Loir')) t(code_departement, code_region, libelle)"
    )
    con.execute(
        "CREATE TABLE ref_region AS SELECT * FROM (VALUES ('24', 'Centre-Val de Loire')) "
        "t(code_region, libelle)"
    )
    con.execute(
        "CREATE TABLE ref_bassin (code_bassin VARCHAR, libelle VARCHAR, code_departement VARCHAR)"
    )
    con.executemany("INSERT INTO ref_bassin VALUES (?, ?, ?)", BASSINS)
    con.execute(
        "CREATE TABLE ref_naf (naf_code VARCHAR, naf VARCHAR, libelle VARCHAR, classe VARCHAR, "
        "groupe VARCHAR, division VARCHAR, a88 VARCHAR, a38 VARCHAR, a21 VARCHAR, a10 VARCHAR, "
        "grand_secteur VARCHAR)"
    )
    con.executemany(
        "INSERT INTO ref_naf VALUES (?, ?, ?, NULL, NULL, ?, ?, NULL, NULL, NULL, ?)",
        [(n, f"{n[:2]}.{n[2:]}", lib, div, div, gs) for n, lib, div, gs in NAF],
    )
    con.execute(
        "CREATE TABLE ref_naf_rome (naf_code VARCHAR, code_rome VARCHAR, rome_label VARCHAR, "
        "hirings INTEGER, share_of_naf DOUBLE)"
    )
    con.executemany("INSERT INTO ref_naf_rome VALUES (?, ?, ?, ?, ?)", NAF_ROME)
    con.execute(
        "CREATE TABLE ref_rome (code_rome VARCHAR, libelle VARCHAR, code_rome_parent VARCHAR)"
    )
    con.executemany("INSERT INTO ref_rome VALUES (?, ?, ?)", ROME_V4)

    etab_df = pl.DataFrame(
        [
            dict(
                siret=e["siret"],
                siren=e["siren"],
                nic=e["siret"][9:],
                is_diffusible=e.get("statut") != "P" and e.get("ul_statut") != "P",
                statut_diffusion=e.get("statut", "O"),
                date_creation=date(2015, 3, 1),
                tranche_effectifs=e["tranche_effectifs"],
                annee_effectifs=2024,
                is_siege=e["siret"].endswith("00011") or e["siret"] == MANY,
                etat_administratif=e.get("etat", "A"),
                date_debut=date(2015, 3, 1),
                date_fermeture=date(2026, 6, 30) if e.get("etat") == "F" else None,
                enseigne=f"Enseigne {e['siret'][-6:]}",
                denomination_usuelle=None,
                naf_code=e["naf_code"],
                naf_nomenclature="NAFRev2",
                caractere_employeur="O",
                adresse=f"{int(e['siret'][5:9])} RUE DE LA REPUBLIQUE",
                code_postal=e["code_commune"][:2] + "000",
                code_commune=e["code_commune"],
                libelle_commune=e["libelle_commune"],
                code_departement=e["code_departement"],
                latitude=e["latitude"],
                longitude=e["longitude"],
                geo_precise=e["latitude"] is not None,
            )
            for e in etabs
        ]
    )
    # the P-unit's establishment is flagged diffusible on purpose: ranking must also check
    # the legal unit (belt and braces against an upstream slip)
    etab_df = etab_df.with_columns(
        is_diffusible=pl.when(pl.col("siret") == P_UNITE)
        .then(True)
        .otherwise(pl.col("is_diffusible"))
    )
    _create(con, "etablissement", etab_df)
    ul_df = pl.DataFrame(
        [
            dict(
                siren=e["siren"],
                # the legal unit's own status: P_ETAB's legal unit is diffusible, so
                # that only the establishment-level rule keeps P_ETAB out
                is_diffusible=e.get("ul_statut") != "P",
                statut_diffusion=e.get("ul_statut", "O"),
                denomination=None if e.get("person") else f"SOCIETE {e['siren'][-4:]}",
                nom="MARTIN" if e.get("person") else None,
                prenom="Claire" if e.get("person") else None,
                categorie_entreprise="PME",
                categorie_juridique="1000" if e.get("person") else e.get("cj", "5710"),
                is_ess=bool(e.get("ess")),
                date_creation=date(2015, 3, 1),
                etat_administratif="A",
                tranche_effectifs=e["tranche_effectifs"],
                naf_code=e["naf_code"],
                societe_mission=False,
            )
            for e in etabs
        ]
    )
    _create(con, "unite_legale", ul_df)

    shares = {}
    for naf, rome, _lab, _h, share in NAF_ROME:
        shares.setdefault(naf, []).append((rome, share))
    model_id = _features_and_model(con, path, etabs)
    score_rows, rome_rows = [], []
    for e in etabs:
        pot = e["potential"]
        exp = round(pot / 20, 3)
        score_rows.append(
            dict(
                as_of=AS_OF,
                siret=e["siret"],
                expected_hires=exp,
                p_hire=pot / 100,
                hiring_potential=pot,
                stars=1 + min(4, pot // 20),
                model_id=model_id,
                label_mode="offres",
            )
        )
        romes = list(shares[e["naf_code"]])
        if e.get("extra_rome"):
            romes.append((e["extra_rome"], 0.3))
        for rome, share in romes:
            rpot = pot if e["siret"] in (TIE_A, TIE_B) else max(1, round(pot * (0.5 + share / 2)))
            rome_rows.append(
                dict(
                    as_of=AS_OF,
                    siret=e["siret"],
                    code_rome=rome,
                    expected_hires=round(exp * share, 4),
                    hiring_potential=rpot,
                    stars=1 + min(4, rpot // 20),
                )
            )
    # an older score that must not be published
    rome_rows.append(
        dict(
            as_of=date(2026, 5, 1),
            siret=CLOSED,
            code_rome="G1602",
            expected_hires=9.0,
            hiring_potential=100,
            stars=5,
        )
    )
    _create(con, "score_etablissement", pl.DataFrame(score_rows))
    _create(con, "score_etablissement_rome", pl.DataFrame(rome_rows))

    offers = [
        ("o1", datetime(2026, 10, 2), "Employé libre-service H/F", "D1507", MANY, True),
        ("o2", datetime(2026, 9, 15), "Secrétaire accueil", "M1607", MANY, True),
        ("o3", datetime(2026, 6, 1), "Employé commercial", "D1507", MANY, False),
        ("o4", datetime(2025, 3, 1), "Caissier", "D1507", MANY, False),
        ("o5", datetime(2026, 11, 20), "Offre après T", "D1507", MANY, False),
        ("o6", datetime(2026, 8, 20), "Commis de cuisine", "G1602", P_ETAB, False),
    ]
    # public channels as ingest keeps them (ciblage/contacts.py); o5 is after T, o6 is the
    # non-diffusible establishment's: neither may ever be shown
    contacts = {
        "o1": dict(
            contact_url="https://www.many.fr/carrieres/o1", contact_telephone="02 38 00 00 01"
        ),
        "o2": dict(contact_courriel="recrutement@many.fr", site_web="https://www.many.fr"),
        "o5": dict(contact_courriel="apres-t@many.fr"),
        "o6": dict(contact_courriel="recrutement@secret.fr", contact_telephone="02 38 99 99 99"),
    }
    offre_df = pl.DataFrame(
        [
            dict(
                **{
                    c: contacts.get(o, {}).get(c)
                    for c in (
                        "contact_url",
                        "contact_courriel",
                        "contact_telephone",
                        "contact_adresse",
                        "site_web",
                    )
                },
                offre_id=o,
                date_creation=d,
                intitule=t,
                code_rome=r,
                entreprise_adaptee=a,
                type_contrat="CDI",
                code_commune="45234",
                nombre_postes=1,
            )
            for o, d, t, r, _s, a in offers
        ]
    )
    link_df = pl.DataFrame(
        [
            dict(offre_id=o, siret=s, method="siret", confidence=1.0)
            for o, _d, _t, _r, s, _a in offers
        ]
    )
    _create(con, "offre", offre_df)
    _create(con, "offre_siret_link", link_df)
    if cooldown is not None:
        con.execute(
            "CREATE TABLE promotion_cooldown (siret VARCHAR, agency_code VARCHAR, "
            "code_rome VARCHAR, until DATE, reason VARCHAR)"
        )
        con.executemany("INSERT INTO promotion_cooldown VALUES (?, ?, ?, ?, ?)", cooldown)
    con.close()
    return path


def write_config(path: Path, warehouse: Path, output: Path, publish: str = "") -> Path:
    path.write_text(
        f"""
[paths]
warehouse = "{warehouse.as_posix()}"
output = "{output.as_posix()}"

[run]
as_of = "{AS_OF.isoformat()}"
top_n = 50

[publish]
{publish}
""",
        encoding="utf-8",
    )
    return path
