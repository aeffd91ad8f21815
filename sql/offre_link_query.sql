-- offre_link_query: the offers entity resolution has to link (working table of
-- ciblage/linking.py), one row per offer, with the blocking keys and `q_id`, one id per
-- distinct (normalised name, commune, département, NAF division): a chain that posts
-- 500 offers in one town is scored once.
CREATE OR REPLACE TABLE offre_link_query AS
WITH todo AS (
    SELECT
        o.offre_id,
        CAST(o.date_creation AS DATE) AS offer_date,
        ciblage_normalise_name(o.entreprise_nom) AS name_norm,
        o.code_commune,
        o.code_departement,
        o.secteur_activite AS division
    FROM offre AS o
    ANTI JOIN offre_link_siret AS s USING (offre_id)
)
SELECT
    *,
    CASE WHEN name_norm IS NOT NULL THEN
        dense_rank() OVER (ORDER BY name_norm, code_commune, code_departement, division)
    END AS q_id
FROM todo;
