-- Optional per-establishment hires (France Travail internal DPAE per SIRET). Empty table
-- when the deployment has none, so that scoring can test for it.
CREATE OR REPLACE TABLE hires_siret__new AS
SELECT
    siret,
    CAST(date_trunc('month', CAST(CASE WHEN length(mois) = 7 THEN mois || '-01' ELSE mois END
                                  AS DATE)) AS DATE) AS mois,
    code_rome,
    CAST(nombre_embauches AS INTEGER) AS nombre_embauches
FROM {{ staging }};
