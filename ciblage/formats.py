"""Official file formats of the sources, in one place.

The sample generator writes these formats and the ingestion readers check them, so a
column list lives here once. Column orders are INSEE's (Sirene stock files, 2025
vintage, with the NAF 2025 columns) and URSSAF's Opendatasoft exports.
"""

from __future__ import annotations

SIRENE_ETABLISSEMENT_ZIP = "StockEtablissement_utf8.zip"
SIRENE_ETABLISSEMENT_CSV = "StockEtablissement_utf8.csv"
SIRENE_UNITE_LEGALE_ZIP = "StockUniteLegale_utf8.zip"
SIRENE_UNITE_LEGALE_CSV = "StockUniteLegale_utf8.csv"
SIRENE_GEOLOC_ZIP = "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.zip"
SIRENE_GEOLOC_CSV = "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv"

# StockEtablissement_utf8.csv: 54 columns, comma-separated, header line, UTF-8.
SIRENE_ETABLISSEMENT_COLUMNS: tuple[str, ...] = (
    "siren",
    "nic",
    "siret",
    "statutDiffusionEtablissement",
    "dateCreationEtablissement",
    "trancheEffectifsEtablissement",
    "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement",
    "dateDernierTraitementEtablissement",
    "etablissementSiege",
    "nombrePeriodesEtablissement",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "dernierNumeroVoieEtablissement",
    "indiceRepetitionDernierNumeroVoieEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "libelleCommuneEtrangerEtablissement",
    "distributionSpecialeEtablissement",
    "codeCommuneEtablissement",
    "codeCedexEtablissement",
    "libelleCedexEtablissement",
    "codePaysEtrangerEtablissement",
    "libellePaysEtrangerEtablissement",
    "identifiantAdresseEtablissement",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
    "complementAdresse2Etablissement",
    "numeroVoie2Etablissement",
    "indiceRepetition2Etablissement",
    "typeVoie2Etablissement",
    "libelleVoie2Etablissement",
    "codePostal2Etablissement",
    "libelleCommune2Etablissement",
    "libelleCommuneEtranger2Etablissement",
    "distributionSpeciale2Etablissement",
    "codeCommune2Etablissement",
    "codeCedex2Etablissement",
    "libelleCedex2Etablissement",
    "codePaysEtranger2Etablissement",
    "libellePaysEtranger2Etablissement",
    "dateDebut",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "enseigne2Etablissement",
    "enseigne3Etablissement",
    "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement",
    "activitePrincipaleNAF25Etablissement",
)

# StockUniteLegale_utf8.csv: 35 columns.
SIRENE_UNITE_LEGALE_COLUMNS: tuple[str, ...] = (
    "siren",
    "statutDiffusionUniteLegale",
    "unitePurgeeUniteLegale",
    "dateCreationUniteLegale",
    "sigleUniteLegale",
    "sexeUniteLegale",
    "prenom1UniteLegale",
    "prenom2UniteLegale",
    "prenom3UniteLegale",
    "prenom4UniteLegale",
    "prenomUsuelUniteLegale",
    "pseudonymeUniteLegale",
    "identifiantAssociationUniteLegale",
    "trancheEffectifsUniteLegale",
    "anneeEffectifsUniteLegale",
    "dateDernierTraitementUniteLegale",
    "nombrePeriodesUniteLegale",
    "categorieEntreprise",
    "anneeCategorieEntreprise",
    "dateDebut",
    "etatAdministratifUniteLegale",
    "nomUniteLegale",
    "nomUsageUniteLegale",
    "denominationUniteLegale",
    "denominationUsuelle1UniteLegale",
    "denominationUsuelle2UniteLegale",
    "denominationUsuelle3UniteLegale",
    "categorieJuridiqueUniteLegale",
    "activitePrincipaleUniteLegale",
    "nomenclatureActivitePrincipaleUniteLegale",
    "nicSiegeUniteLegale",
    "economieSocialeSolidaireUniteLegale",
    "societeMissionUniteLegale",
    "caractereEmployeurUniteLegale",
    "activitePrincipaleNAF25UniteLegale",
)

# Geolocation file: `;`-separated.
SIRENE_GEOLOC_COLUMNS: tuple[str, ...] = (
    "siret",
    "x",
    "y",
    "qualite_xy",
    "epsg",
    "plg_qp24",
    "plg_iris",
    "plg_zus",
    "plg_qva",
    "plg_code_commune",
    "distance_precision",
    "qualite_qp24",
    "qualite_iris",
    "qualite_zus",
    "qualite_qva",
    "y_latitude",
    "x_longitude",
)
# qualite_xy = 33: a random point in the commune, not the establishment's position.
GEOLOC_IMPRECISE_QUALITIES = ("33",)

# URSSAF Opendatasoft CSV export (`;`), dataset dpae-par-departement-x-grand-secteur:
# field names as headers, and the French labels of the same fields (the other export).
DPAE_DEPARTEMENT_FIELDS: dict[str, str] = {
    "region": "Région",
    "ancienne_region": "Ancienne région",
    "departement": "Département",
    "grand_secteur_d_activite": "Grand secteur d'activité",
    "duree_de_contrat": "Durée de contrat",
    "nature_de_contrat": "Nature de contrat",
    "annee": "Année",
    "trimestre": "Trimestre",
    "dernier_jour_du_trimestre": "Dernier jour du trimestre",
    "code_region": "Code région",
    "code_ancienne_region": "Code ancienne région",
    "code_departement": "Code département",
    "dpae_brut": "DPAE (brut)",
    "dpae_cvs": "DPAE (cvs)",
}

# Optional per-establishment hires held by France Travail deployments.
HIRES_SIRET_COLUMNS: tuple[str, ...] = ("siret", "mois", "code_rome", "nombre_embauches")

assert len(SIRENE_ETABLISSEMENT_COLUMNS) == 54
assert len(SIRENE_UNITE_LEGALE_COLUMNS) == 35

# Dataset dpae-par-region-x-na38 (same export conventions, region level, NA38 sectors).
# No separate code column: `secteur_na38` carries code and label in one value ("CA
# Fabrication de denrées alimentaires, …"), like `grand_secteur_d_activite` ("GS1
# Industrie"); ciblage/ingest/dpae.py parses them apart.
DPAE_REGION_NA38_FIELDS: dict[str, str] = {
    "region": "Région",
    "ancienne_region": "Ancienne région",
    "grand_secteur_d_activite": "Grand secteur d'activité",
    "secteur_na38": "Secteur NA38",
    "duree_de_contrat": "Durée de contrat",
    "nature_de_contrat": "Nature de contrat",
    "annee": "Année",
    "trimestre": "Trimestre",
    "dernier_jour_du_trimestre": "Dernier jour du trimestre",
    "code_region": "Code région",
    "code_ancienne_region": "Code ancienne région",
    "dpae_brut": "DPAE (brut)",
    "dpae_cvs": "DPAE (cvs)",
}

# Broad sector label by NAF section (A21), shown in reasons (ref_naf.grand_secteur).
# Not the DPAE join: DPAE series are matched on URSSAF's codes (GS1..GS7, NA38) through
# data/reference/dpae_secteurs.csv (ref_naf_dpae). Agriculture (MSA) has none.
DPAE_GRAND_SECTEUR_BY_A21: dict[str, str] = {
    "B": "Industrie",
    "C": "Industrie",
    "D": "Industrie",
    "E": "Industrie",
    "F": "Construction",
    "G": "Commerce",
    "I": "Hébergement-restauration",
    **{s: "Autres services" for s in "HJKLMNOPQRSTU"},
}

# Offres d'emploi API v2: fields the pipeline reads from each offer of `resultats`.
OFFRE_FIELDS: tuple[str, ...] = (
    "id",
    "intitule",
    "dateCreation",
    "dateActualisation",
    "lieuTravail",  # {libelle, latitude, longitude, codePostal, commune}
    "romeCode",
    "romeLibelle",
    "appellationlibelle",
    "entreprise",  # {nom?, siret?, entrepriseAdaptee?}
    "typeContrat",
    "natureContrat",
    "secteurActivite",  # NAF division, 2 digits
    "nombrePostes",
    "trancheEffectifEtab",
)
