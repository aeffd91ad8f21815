"""SIRENE stock files (establishments, legal units, geolocation) in INSEE's formats."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zipfile
from pathlib import Path

import numpy as np

from ciblage import formats
from ciblage.sample.establishments import AS_OF, Establishment, Unit

ZIP_DATE = (2026, 11, 1, 0, 0, 0)  # fixed member timestamp: byte-identical archives
ND = "[ND]"  # INSEE's mask for non-diffusible fields


def write_zip(path: Path, member: str, text: str) -> Path:
    """Zip one text member deterministically (fixed date, permissions and compression)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    info = zipfile.ZipInfo(member, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, text.encode("utf-8"), compresslevel=6)
    return path


def csv_text(header: tuple[str, ...] | list[str], rows: list[list[str]], sep: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def lambert93(lat: float, lon: float) -> tuple[float, float]:
    """WGS84/RGF93 geographic -> Lambert-93 (EPSG:2154), IGN closed formulas."""
    e = 0.0818191910428158
    n, c, xs, ys = 0.7256077650532670, 11754255.426096, 700000.0, 12655612.049876
    phi, lam = math.radians(lat), math.radians(lon - 3.0)
    s = math.sin(phi)
    li = math.log(math.tan(math.pi / 4 + phi / 2) * ((1 - e * s) / (1 + e * s)) ** (e / 2))
    r = c * math.exp(-n * li)
    return xs + r * math.sin(n * lam), ys - r * math.cos(n * lam)


def _stamp(rng: np.random.Generator, not_before: dt.date) -> str:
    lo = max(not_before, dt.date(2019, 1, 1))
    day = lo + dt.timedelta(days=int(rng.integers(0, max(1, (AS_OF - lo).days))))
    return (
        f"{day.isoformat()}T{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:"
        f"{int(rng.integers(0, 60)):02d}"
    )


def _annee_effectifs(band: str) -> str:
    return "" if band == "NN" else "2023"


def etablissement_rows(rng: np.random.Generator, estabs: list[Establishment]) -> list[list[str]]:
    rows = []
    for e in sorted(estabs, key=lambda x: x.siret):
        c, p = e.commune, not e.diffusible
        x, y = lambert93(e.lat, e.lon)
        num, typ, voie = e.address
        last_change = e.closed or e.created
        values = {
            "siren": e.unit.siren,
            "nic": e.nic,
            "siret": e.siret,
            "statutDiffusionEtablissement": "P" if p else "O",
            "dateCreationEtablissement": e.created.isoformat(),
            "trancheEffectifsEtablissement": e.band,  # "NN": non-employer, as INSEE codes it
            "anneeEffectifsEtablissement": _annee_effectifs(e.band),
            "dateDernierTraitementEtablissement": _stamp(rng, last_change),
            "etablissementSiege": "true" if e.siege else "false",
            "nombrePeriodesEtablissement": str(
                1 + (e.closed is not None) + int(rng.integers(0, 2))
            ),
            "numeroVoieEtablissement": ND if p else num,
            "typeVoieEtablissement": ND if p else typ,
            "libelleVoieEtablissement": ND if p else voie,
            "codePostalEtablissement": c.postal_code,
            "libelleCommuneEtablissement": c.ncc,
            "codeCommuneEtablissement": c.code,
            "identifiantAdresseEtablissement": ND
            if p
            else (
                f"{c.code}_{int(rng.integers(1000, 9999))}_{int(num):05d}"
                if rng.random() < 0.7
                else ""
            ),
            "coordonneeLambertAbscisseEtablissement": ND if p else f"{x:.1f}",
            "coordonneeLambertOrdonneeEtablissement": ND if p else f"{y:.1f}",
            "dateDebut": last_change.isoformat(),
            "etatAdministratifEtablissement": "F" if e.closed else "A",
            "enseigne1Etablissement": ND if p and e.enseigne else e.enseigne,
            "activitePrincipaleEtablissement": e.naf.dotted,
            "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
            "caractereEmployeurEtablissement": "N" if e.band == "NN" or e.closed else "O",
        }
        rows.append([values.get(col, "") for col in formats.SIRENE_ETABLISSEMENT_COLUMNS])
    return rows


def unite_legale_rows(rng: np.random.Generator, units: list[Unit]) -> list[list[str]]:
    rows = []
    for u in sorted(units, key=lambda x: x.siren):
        p = not u.diffusible
        person = u.categorie_juridique == "1000"
        values = {
            "siren": u.siren,
            "statutDiffusionUniteLegale": "P" if p else "O",
            "dateCreationUniteLegale": u.created.isoformat(),
            "sexeUniteLegale": (ND if p else u.sexe) if person else "",
            "prenom1UniteLegale": (ND if p else u.prenom) if person else "",
            "prenomUsuelUniteLegale": (ND if p else u.prenom) if person else "",
            "trancheEffectifsUniteLegale": u.band,
            "anneeEffectifsUniteLegale": _annee_effectifs(u.band),
            "dateDernierTraitementUniteLegale": _stamp(rng, u.closed or u.created),
            "nombrePeriodesUniteLegale": str(1 + (u.closed is not None)),
            "categorieEntreprise": u.categorie_entreprise,
            "anneeCategorieEntreprise": "2022" if u.categorie_entreprise else "",
            "dateDebut": (u.closed or u.created).isoformat(),
            "etatAdministratifUniteLegale": "C" if u.closed else "A",
            "nomUniteLegale": (ND if p else u.nom) if person else "",
            "denominationUniteLegale": u.denomination,
            "categorieJuridiqueUniteLegale": u.categorie_juridique,
            "activitePrincipaleUniteLegale": u.naf.dotted,
            "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
            "nicSiegeUniteLegale": u.nic_siege,
            "economieSocialeSolidaireUniteLegale": u.ess,
            "societeMissionUniteLegale": "" if person else "N",
            "caractereEmployeurUniteLegale": "N" if u.band == "NN" or u.closed else "O",
        }
        rows.append([values.get(col, "") for col in formats.SIRENE_UNITE_LEGALE_COLUMNS])
    return rows


def geoloc_rows(rng: np.random.Generator, estabs: list[Establishment]) -> list[list[str]]:
    """Geolocation of diffusible establishments (the INSEE file leaves out statut P ones)."""
    rows = []
    for e in sorted(estabs, key=lambda x: x.siret):
        if not e.diffusible:
            continue
        x, y = lambert93(e.lat, e.lon)
        imprecise = e.geo_quality == "33"
        iris_suffix = int(rng.integers(101, 999))
        iris = e.commune.code + ("0000" if rng.random() < 0.6 else f"{iris_suffix:04d}")
        precision = rng.uniform(500, 3000) if imprecise else rng.uniform(0, 40)
        values = {
            "siret": e.siret,
            "x": f"{x:.1f}",
            "y": f"{y:.1f}",
            "qualite_xy": e.geo_quality,
            "epsg": "2154",
            "plg_qp24": "",
            "plg_iris": iris,
            "plg_zus": "",
            "plg_qva": "",
            "plg_code_commune": e.commune.code,
            "distance_precision": f"{precision:.2f}",
            "qualite_qp24": "1",
            "qualite_iris": "1",
            "qualite_zus": "1",
            "qualite_qva": "1",
            "y_latitude": f"{e.lat:.7f}",
            "x_longitude": f"{e.lon:.7f}",
        }
        rows.append([values[col] for col in formats.SIRENE_GEOLOC_COLUMNS])
    return rows


def write_sirene(
    rng: np.random.Generator, out: Path, units: list[Unit], estabs: list[Establishment]
) -> dict[str, Path]:
    d = out / "sirene"
    return {
        "sirene_etablissement": write_zip(
            d / formats.SIRENE_ETABLISSEMENT_ZIP,
            formats.SIRENE_ETABLISSEMENT_CSV,
            csv_text(formats.SIRENE_ETABLISSEMENT_COLUMNS, etablissement_rows(rng, estabs), ","),
        ),
        "sirene_unite_legale": write_zip(
            d / formats.SIRENE_UNITE_LEGALE_ZIP,
            formats.SIRENE_UNITE_LEGALE_CSV,
            csv_text(formats.SIRENE_UNITE_LEGALE_COLUMNS, unite_legale_rows(rng, units), ","),
        ),
        "sirene_geoloc": write_zip(
            d / formats.SIRENE_GEOLOC_ZIP,
            formats.SIRENE_GEOLOC_CSV,
            csv_text(formats.SIRENE_GEOLOC_COLUMNS, geoloc_rows(rng, estabs), ";"),
        ),
    }
