"""Small real-format source files for the ingestion tests (a few rows each).

Files are built from the official column lists of `ciblage.formats`, so a test fails if a
reader stops accepting the real format.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from ciblage import formats
from ciblage.config import PROJECT_ROOT
from ciblage.sample.luhn import complete

REFERENCE = PROJECT_ROOT / "data" / "reference"
AS_OF = date(2026, 11, 1)
REF_FILES = {
    "ref_regions": "regions.csv",
    "ref_departements": "departements.csv",
    "ref_bassin": "lbb-pse_bassin-emploi_code-insee.csv",
    "ref_postal": "laposte_hexasmal.csv",
    "ref_communes": "communes.csv",
    "ref_naf": "naf_data.sql",
    "ref_dpae_secteur": "dpae_secteurs.csv",
    "ref_rome": "unix_referentiel_code_rome_v460_utf8.csv",
    "ref_rome_appellation": "unix_referentiel_appellation_v460_utf8.csv",
    "ref_naf_rome": "rome_naf_mapping.raw.csv",
    "ref_tension": "metiers_tension.csv",
}


def siret(siren8: str, nic4: str) -> str:
    assert len(siren8) == 8 and len(nic4) == 4
    siren = complete(siren8)
    return complete(siren + nic4)


def etab_row(siret_: str, **over: str) -> dict[str, str]:
    row = dict.fromkeys(formats.SIRENE_ETABLISSEMENT_COLUMNS, "")
    row.update(
        siren=siret_[:9],
        nic=siret_[9:],
        siret=siret_,
        statutDiffusionEtablissement="O",
        dateCreationEtablissement="2015-03-02",
        trancheEffectifsEtablissement="11",
        anneeEffectifsEtablissement="2023",
        etablissementSiege="true",
        numeroVoieEtablissement="12",
        typeVoieEtablissement="RUE",
        libelleVoieEtablissement="DE LA REPUBLIQUE",
        codePostalEtablissement="45000",
        libelleCommuneEtablissement="ORLEANS",
        codeCommuneEtablissement="45234",
        dateDebut="2015-03-02",
        etatAdministratifEtablissement="A",
        activitePrincipaleEtablissement="47.11F",
        nomenclatureActivitePrincipaleEtablissement="NAFRev2",
        caractereEmployeurEtablissement="O",
    )
    row.update(over)
    return row


def ul_row(siren: str, **over: str) -> dict[str, str]:
    row = dict.fromkeys(formats.SIRENE_UNITE_LEGALE_COLUMNS, "")
    row.update(
        siren=siren,
        statutDiffusionUniteLegale="O",
        dateCreationUniteLegale="2015-03-02",
        categorieEntreprise="PME",
        etatAdministratifUniteLegale="A",
        denominationUniteLegale="SUPERMARCHE DU LOIRET",
        categorieJuridiqueUniteLegale="5710",
        activitePrincipaleUniteLegale="47.11F",
        economieSocialeSolidaireUniteLegale="N",
        nicSiegeUniteLegale="00010",
    )
    row.update(over)
    return row


def csv_bytes(
    rows: Iterable[dict[str, str]], columns: Iterable[str], sep: str = ",", encoding="utf-8"
) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), delimiter=sep, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def write_zip(path: Path, member: str, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    return path


def etab_zip(path: Path, rows: list[dict[str, str]], sep: str = ",") -> Path:
    return write_zip(
        path,
        formats.SIRENE_ETABLISSEMENT_CSV,
        csv_bytes(rows, formats.SIRENE_ETABLISSEMENT_COLUMNS, sep),
    )


def ul_zip(path: Path, rows: list[dict[str, str]]) -> Path:
    return write_zip(
        path, formats.SIRENE_UNITE_LEGALE_CSV, csv_bytes(rows, formats.SIRENE_UNITE_LEGALE_COLUMNS)
    )


def geoloc_zip(path: Path, rows: list[dict[str, str]]) -> Path:
    full = [{**dict.fromkeys(formats.SIRENE_GEOLOC_COLUMNS, ""), **r} for r in rows]
    return write_zip(
        path, formats.SIRENE_GEOLOC_CSV, csv_bytes(full, formats.SIRENE_GEOLOC_COLUMNS, ";")
    )


def dpae_rows(last_day: str = "2026-06-30", n: int = 4) -> list[dict[str, str]]:
    """Département x grand secteur rows as URSSAF writes them (code-prefixed sectors)."""
    rows = []
    for i in range(n):
        rows.append(
            {
                "region": "Centre-Val de Loire",
                "ancienne_region": "Centre",
                "departement": "Loiret",
                "grand_secteur_d_activite": ["GS1 Industrie", "GS3 Commerce"][i % 2],
                "duree_de_contrat": "Plus d'un mois",
                "nature_de_contrat": ["CDI", "CDD de plus d'un mois"][i // 2 % 2],
                "annee": last_day[:4],
                "trimestre": "T2",
                "dernier_jour_du_trimestre": last_day,
                "code_region": "24",
                "code_ancienne_region": "24",
                "code_departement": "45",
                "dpae_brut": str(100 + i),
                "dpae_cvs": f"{99.5 + i}",
            }
        )
    return rows


QUARTER_ENDS = ("03-31", "06-30", "09-30", "12-31")


def quarters(first: tuple[int, int], n: int) -> list[tuple[int, int, str]]:
    """n quarters from (year, quarter): (year, quarter, last day)."""
    y, q = first
    out = []
    for _ in range(n):
        out.append((y, q, f"{y}-{QUARTER_ENDS[q - 1]}"))
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def dpae_series(
    sectors: dict[str, float], n_quarters: int = 8, region: bool = False
) -> list[dict[str, str]]:
    """Quarterly rows for Loiret (or its region) per sector value -> base volume; the
    sector value is written as given (« GS1 Industrie », « CA Fabrication … »)."""
    rows = []
    for k, (y, q, last) in enumerate(quarters((2024, 3), n_quarters)):
        for value, base in sectors.items():
            for nature, share in (("CDI", 0.4), ("CDD de plus d'un mois", 0.6)):
                brut = round(base * share * (1 + 0.05 * k))
                row = {
                    "region": "Centre-Val de Loire",
                    "ancienne_region": "Centre",
                    "duree_de_contrat": "Plus d'un mois",
                    "nature_de_contrat": nature,
                    "annee": str(y),
                    "trimestre": f"T{q}",
                    "dernier_jour_du_trimestre": last,
                    "code_region": "24",
                    "code_ancienne_region": "24",
                    "dpae_brut": str(brut),
                    "dpae_cvs": f"{brut * 0.98:.1f}",
                }
                if region:
                    row["secteur_na38"] = value
                    row["grand_secteur_d_activite"] = NA38_GS.get(value.split()[0], value)
                else:
                    row.update(
                        departement="Loiret", code_departement="45", grand_secteur_d_activite=value
                    )
                rows.append(row)
    return rows


NA38_GS = {"CA": "GS1 Industrie", "GZ": "GS3 Commerce", "_calage_": "_calage_"}
