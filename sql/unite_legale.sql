-- Legal units (SIRENE StockUniteLegale). statutDiffusion 'P' (or anything but 'O') makes a
-- unit non-diffusible; natural persons' names are then never stored.
CREATE OR REPLACE TABLE unite_legale__new AS
SELECT
    siren,
    coalesce(statutDiffusionUniteLegale = 'O', false) AS is_diffusible,
    statutDiffusionUniteLegale AS statut_diffusion,
    nullif(denominationUniteLegale, '[ND]') AS denomination,
    CASE WHEN statutDiffusionUniteLegale = 'O'
         THEN nullif(coalesce(nomUsageUniteLegale, nomUniteLegale), '[ND]') END AS nom,
    CASE WHEN statutDiffusionUniteLegale = 'O'
         THEN nullif(coalesce(prenomUsuelUniteLegale, prenom1UniteLegale), '[ND]') END AS prenom,
    CASE WHEN categorieEntreprise IN ('PME', 'ETI', 'GE') THEN categorieEntreprise END
        AS categorie_entreprise,
    categorieJuridiqueUniteLegale AS categorie_juridique,
    coalesce(economieSocialeSolidaireUniteLegale = 'O', false) AS is_ess,
    try_cast(dateCreationUniteLegale AS DATE) AS date_creation,
    etatAdministratifUniteLegale AS etat_administratif,
    trancheEffectifsUniteLegale AS tranche_effectifs,
    replace(activitePrincipaleUniteLegale, '.', '') AS naf_code,
    coalesce(societeMissionUniteLegale = 'O', false) AS societe_mission
FROM {{ staging }};
