"""A small synthetic warehouse with the contract tables and a known hiring process.

Used by the unit tests of `scoring/` so that they do not depend on the ingestion stage:
each establishment hires at a monthly Poisson rate = sector base rate x size effect x a
persistent establishment effect x sector seasonality; part of the hires are announced by
a job offer linked to the establishment one month earlier. A model that learns from past
hiring should therefore beat "largest first" and roughly match the offers baseline.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ciblage.sample.luhn import complete

# NAF code -> (division, A38, A21, grand secteur, base monthly hires, seasonal peak month)
NAFS: dict[str, tuple[str, str, str, str, float, int]] = {
    "5610A": ("56", "IZ", "I", "Hébergement-restauration", 0.45, 6),
    "4711D": ("47", "GZ", "G", "Commerce", 0.30, 11),
    "4321A": ("43", "FZ", "F", "Construction", 0.20, 3),
    "8810A": ("88", "QB", "Q", "Autres services", 0.35, 9),
    "6201Z": ("62", "JC", "J", "Autres services", 0.15, 9),
    "1071C": ("10", "CA", "C", "Industrie", 0.12, 12),
}
# grand secteur code of each A38 above (as in data/reference/dpae_secteurs.csv)
GS_OF_A38 = {"IZ": "GS4", "GZ": "GS3", "FZ": "GS2", "QB": "GS7", "JC": "GS5", "CA": "GS1"}
# (NAF, ROME v3, share of the NAF's hires)
NAF_ROME = [
    ("5610A", "G1602", 0.5),
    ("5610A", "G1803", 0.5),
    ("4711D", "D1507", 0.6),
    ("4711D", "D1505", 0.4),
    ("4321A", "F1602", 0.8),
    ("4321A", "H2602", 0.2),
    ("8810A", "K1302", 0.7),
    ("8810A", "K2204", 0.3),
    ("6201Z", "M1805", 1.0),
    ("1071C", "D1102", 0.6),
    ("1071C", "D1106", 0.4),
]
TENSION = {
    "G1602": 60.0,
    "G1803": 55.0,
    "D1507": 30.0,
    "D1505": 35.0,
    "F1602": 70.0,
    "H2602": 40.0,
    "K1302": 65.0,
    "K2204": 45.0,
    "M1805": 50.0,
    "D1102": 68.0,
    "D1106": 52.0,
}
BANDS = [
    ("00", 0.3),
    ("01", 0.8),
    ("02", 1.5),
    ("03", 2.5),
    ("11", 4.0),
    ("12", 7.0),
    ("21", 12.0),
    ("22", 20.0),
]
DEPS = {"45": ("24", ["45234", "45208", "45147"]), "28": ("24", ["28085", "28218"])}
MONTHS = pd.date_range("2023-01-01", "2026-10-01", freq="MS")
AS_OF = date(2026, 11, 1)


def build_synthetic_warehouse(
    path: Path, n_siren: int = 300, seed: int = 7, with_hires: bool = True
) -> Path:
    """Write a DuckDB file with every table the scoring stage reads."""
    rng = np.random.default_rng(seed)
    etabs, uls = [], []
    for s in range(n_siren):
        siren = f"{100000000 + s * 7919:09d}"
        naf = list(NAFS)[s % len(NAFS)]
        n_et = 1 if rng.random() < 0.8 else int(rng.integers(2, 5))
        cat = rng.choice(["PME", "ETI", None], p=[0.6, 0.05, 0.35])
        uls.append(
            dict(
                siren=siren,
                is_diffusible=True,
                statut_diffusion="O",
                denomination=f"SOCIETE {s}",
                nom=None,
                prenom=None,
                categorie_entreprise=cat,
                categorie_juridique=str(rng.choice(["5710", "5499", "9220", "1000"])),
                is_ess=bool(rng.random() < 0.1),
                date_creation=date(2000, 1, 1),
                etat_administratif="A",
                tranche_effectifs=None,
                naf_code=naf,
                societe_mission=False,
            )
        )
        for j in range(n_et):
            dep = "45" if rng.random() < 0.6 else "28"
            commune = str(rng.choice(DEPS[dep][1]))
            band_i = int(rng.integers(0, len(BANDS)))
            created = date(int(rng.integers(1995, 2026)), int(rng.integers(1, 13)), 1)
            closed = None
            if rng.random() < 0.08:
                closed = date(int(rng.integers(2024, 2027)), int(rng.integers(1, 11)), 1)
                closed = max(closed, created)
            etabs.append(
                dict(
                    siret=complete(f"{siren}{j + 1:04d}"),
                    siren=siren,
                    nic=f"{j + 1:04d}0",
                    is_diffusible=bool(rng.random() > 0.05),
                    statut_diffusion="O",
                    date_creation=created,
                    tranche_effectifs=BANDS[band_i][0],
                    annee_effectifs=2024,
                    is_siege=j == 0,
                    etat_administratif="F" if closed else "A",
                    date_debut=closed or created,
                    date_fermeture=closed,
                    enseigne=None,
                    denomination_usuelle=None,
                    naf_code=naf,
                    naf_nomenclature="NAFRev2",
                    caractere_employeur="O",
                    adresse="1 RUE DE LA GARE",
                    code_postal=commune,
                    code_commune=commune,
                    libelle_commune="COMMUNE",
                    code_departement=dep,
                    latitude=None,
                    longitude=None,
                    geo_precise=False,
                    size_=BANDS[band_i][1],
                    effect_=float(rng.gamma(1.5, 1 / 1.5)),
                )
            )
    et = pd.DataFrame(etabs)
    # known hiring process, month by month
    hires, offers = [], []
    shares = pd.DataFrame(NAF_ROME, columns=["naf_code", "code_rome", "share"])
    oid = 0
    for row in et.itertuples():
        base, peak = NAFS[row.naf_code][4], NAFS[row.naf_code][5]
        romes = shares[shares.naf_code == row.naf_code]
        for m in MONTHS:
            if m.date() < row.date_creation or (
                row.date_fermeture and m.date() >= row.date_fermeture
            ):
                continue
            season = 1 + 0.6 * np.cos(2 * np.pi * (m.month - peak) / 12)
            lam = base * (row.size_**0.7) * row.effect_ * season / 3
            n = int(rng.poisson(lam))
            if n == 0:
                continue
            picks = rng.choice(romes.code_rome.to_numpy(), size=n, p=romes.share.to_numpy())
            for rome, cnt in zip(*np.unique(picks, return_counts=True), strict=True):
                hires.append((row.siret, m.date(), str(rome), int(cnt)))
                for _ in range(int(rng.binomial(int(cnt), 0.35))):
                    oid += 1
                    created = (m - pd.DateOffset(days=int(rng.integers(10, 40)))).to_pydatetime()
                    offers.append(
                        dict(
                            offre_id=f"O{oid:07d}",
                            date_creation=created,
                            date_actualisation=created,
                            intitule="Poste",
                            code_rome=str(rome),
                            appellation=None,
                            code_commune=row.code_commune,
                            code_postal=row.code_postal,
                            latitude=None,
                            longitude=None,
                            entreprise_nom="SOCIETE",
                            entreprise_siret=None,
                            secteur_activite=NAFS[row.naf_code][0],
                            type_contrat="CDI",
                            nature_contrat="Contrat travail",
                            nombre_postes=1,
                            source_file="synthetic.json",
                            _siret=row.siret,
                        )
                    )
    hires_df = pd.DataFrame(hires, columns=["siret", "mois", "code_rome", "nombre_embauches"])
    offre = pd.DataFrame(offers)
    link = pd.DataFrame(
        {
            "offre_id": offre.offre_id,
            "siret": offre._siret,
            "method": "entity_resolution",
            "confidence": 0.9,
        }
    )
    offre = offre.drop(columns="_siret")
    et = et.drop(columns=["size_", "effect_"])
    ul = pd.DataFrame(uls)
    # DPAE: département x grand secteur and region x NA38, quarterly, from the same process
    h = hires_df.merge(et[["siret", "code_departement", "naf_code"]], on="siret")
    # DPAE sectors are joined by code (data/reference/dpae_secteurs.csv): GS of the A38
    h["grand_secteur"] = h.naf_code.map(lambda n: GS_OF_A38[NAFS[n][1]])
    h["a38"] = h.naf_code.map(lambda n: NAFS[n][1])
    h["q_end"] = pd.to_datetime(h.mois).dt.to_period("Q").dt.end_time.dt.normalize().dt.date
    dpae = []
    for (dep, gs, qe), v in (
        h.groupby(["code_departement", "grand_secteur", "q_end"]).nombre_embauches.sum().items()
    ):
        dpae.append(("departement_grand_secteur", "24", dep, gs, gs, qe, float(v) * 40))
    for (a38, qe), v in h.groupby(["a38", "q_end"]).nombre_embauches.sum().items():
        dpae.append(("region_na38", "24", None, a38, a38, qe, float(v) * 90))
    dpae_df = pd.DataFrame(
        dpae,
        columns=[
            "dataset",
            "code_region",
            "code_departement",
            "secteur_code",
            "secteur_label",
            "date_fin_trimestre",
            "dpae_brut",
        ],
    )
    dpae_df["duree_contrat"] = "Plus d'un mois"
    dpae_df["nature_contrat"] = "Ensemble"
    dpae_df["annee"] = [d.year for d in dpae_df.date_fin_trimestre]
    dpae_df["trimestre"] = [(d.month - 1) // 3 + 1 for d in dpae_df.date_fin_trimestre]
    dpae_df["dpae_cvs"] = dpae_df.dpae_brut
    ref_naf = pd.DataFrame(
        [
            dict(
                naf_code=k,
                naf=f"{k[:2]}.{k[2:]}",
                libelle=f"NAF {k}",
                classe=k[:4],
                groupe=k[:3],
                division=v[0],
                a88=v[0],
                a38=v[1],
                a21=v[2],
                a10=v[2],
                grand_secteur=v[3],
            )
            for k, v in NAFS.items()
        ]
    )
    ref_naf_dpae = pd.DataFrame(
        [(k, GS_OF_A38[v[1]], v[1]) for k, v in NAFS.items()],
        columns=["naf_code", "grand_secteur_code", "na38_code"],
    )
    ref_naf_rome = shares.rename(columns={"share": "share_of_naf"})
    ref_naf_rome["rome_label"] = ref_naf_rome.code_rome
    ref_naf_rome["hirings"] = (ref_naf_rome.share_of_naf * 1000).astype(int)
    ref_tension = pd.DataFrame(list(TENSION.items()), columns=["code_rome", "tension_pct"])
    ref_commune = pd.DataFrame(
        [
            dict(
                code_commune=c,
                libelle=f"Commune {c}",
                code_departement=d,
                code_region=r,
                code_bassin=f"B{d}{i % 2}",
                latitude=None,
                longitude=None,
            )
            for d, (r, cs) in DEPS.items()
            for i, c in enumerate(cs)
        ]
    )
    ref_dep = pd.DataFrame(
        [("45", "24", "Loiret"), ("28", "24", "Eure-et-Loir")],
        columns=["code_departement", "code_region", "libelle"],
    )
    ref_reg = pd.DataFrame([("24", "Centre-Val de Loire")], columns=["code_region", "libelle"])
    ref_bassin = ref_commune[["code_bassin", "code_departement"]].drop_duplicates()
    ref_bassin["libelle"] = "Bassin " + ref_bassin.code_bassin
    if not with_hires:
        hires_df = hires_df.iloc[0:0]
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    tables = dict(
        etablissement=et,
        unite_legale=ul,
        offre=offre,
        offre_siret_link=link,
        dpae_aggregate=dpae_df,
        hires_siret=hires_df,
        ref_naf=ref_naf,
        ref_naf_dpae=ref_naf_dpae,
        ref_naf_rome=ref_naf_rome,
        ref_tension=ref_tension,
        ref_commune=ref_commune,
        ref_departement=ref_dep,
        ref_region=ref_reg,
        ref_bassin=ref_bassin,
    )
    for name, df in tables.items():
        con.register("df_view", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM df_view")
        con.unregister("df_view")
    # typed like the contract
    con.execute("ALTER TABLE hires_siret ALTER mois TYPE DATE")
    con.execute("ALTER TABLE hires_siret ALTER nombre_embauches TYPE INTEGER")
    con.execute("ALTER TABLE hires_siret ALTER siret TYPE VARCHAR")
    con.execute("ALTER TABLE hires_siret ALTER code_rome TYPE VARCHAR")
    con.execute("ALTER TABLE offre ALTER date_creation TYPE TIMESTAMP")
    con.execute("ALTER TABLE offre ALTER nombre_postes TYPE INTEGER")
    con.execute("ALTER TABLE etablissement ALTER date_fermeture TYPE DATE")
    con.execute("ALTER TABLE dpae_aggregate ALTER code_departement TYPE VARCHAR")
    con.execute("ALTER TABLE dpae_aggregate ALTER date_fin_trimestre TYPE DATE")
    con.close()
    return path


def write_synthetic_config(dir_: Path, warehouse: Path, extra: str = "") -> Path:
    cfg = dir_ / "ciblage.toml"
    cfg.write_text(
        f'[paths]\nwarehouse = "{warehouse.as_posix()}"\noutput = "{(dir_ / "out").as_posix()}"\n'
        f'raw = "{(dir_ / "raw").as_posix()}"\n\n[run]\nas_of = "{AS_OF.isoformat()}"\n'
        f"horizon_months = 6\ntop_n = 10\n\n[scoring]\nmax_iter = 50\n{extra}",
        encoding="utf-8",
    )
    return cfg


@pytest.fixture(scope="session")
def synthetic_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only use: hires_siret filled (label mode 'hires_siret')."""
    return build_synthetic_warehouse(tmp_path_factory.mktemp("synw") / "w.duckdb")


@pytest.fixture()
def synthetic_copy(tmp_path: Path, synthetic_warehouse: Path) -> Path:
    import shutil

    dst = tmp_path / "w.duckdb"
    shutil.copy(synthetic_warehouse, dst)
    return dst


FAST = "grid = [[1.0, 20], [1.0, 60]]\nn_snapshots = 3\nmin_potential_for_reasons = 0\n"


def score_directly(cfg: Path, territory: str = "all") -> dict:
    """Run the flow's two tasks without a Prefect server (their plain functions)."""
    from ciblage.config import load_settings
    from ciblage.warehouse import session
    from pipelines.score import score_establishments, train_model
    from scoring.features import detect_label_mode
    from scoring.options import ScoringOptions

    settings = load_settings(cfg)
    opts = ScoringOptions.from_settings(settings)
    with session(settings.warehouse) as con:
        mode = detect_label_mode(con)
    info = train_model.fn(settings, opts, mode)
    rows = score_establishments.fn(settings, opts, territory, mode, info)
    return {**info, "rows": rows, "label_mode": mode, "settings": settings}


@pytest.fixture(scope="session")
def scored_synthetic(tmp_path_factory: pytest.TempPathFactory, synthetic_warehouse: Path) -> dict:
    """Synthetic warehouse (hires mode) trained, back-tested and scored once."""
    import shutil

    d = tmp_path_factory.mktemp("scored_syn")
    shutil.copy(synthetic_warehouse, d / "w.duckdb")
    return score_directly(write_synthetic_config(d, d / "w.duckdb", FAST))


@pytest.fixture(scope="session")
def scored_synthetic_offres(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Same process without per-SIRET hires: labels fall back on linked offers."""
    d = tmp_path_factory.mktemp("scored_syn_offres")
    w = build_synthetic_warehouse(d / "w.duckdb", with_hires=False)
    return score_directly(write_synthetic_config(d, w, FAST))
