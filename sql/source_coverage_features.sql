-- source_coverage rows of stage 'features' (the table is in source_coverage.sql): after
-- the score stage built feature_etablissement as of T, the share of its establishments
-- whose features each source filled. This is what the model sees: a DPAE export whose
-- sectors join nothing leaves dpae_* NULL here even though it loaded.
DELETE FROM source_coverage WHERE run_id = $run_id AND stage = 'features';
INSERT INTO source_coverage
WITH f AS (
    SELECT f.*, e.latitude
    FROM feature_etablissement f LEFT JOIN etablissement e USING (siret)
    WHERE f.as_of = CAST($as_of AS DATE)
),
m AS (
    SELECT 'sirene_geoloc' AS source, 'establishments_geolocated' AS measure,
           count(*) FILTER (WHERE latitude IS NOT NULL) AS informed,
           (SELECT count(*) FROM etablissement_geoloc) AS rows
    FROM f
    UNION ALL
    SELECT 'hires_siret', 'hires_24m_positive', count(*) FILTER (WHERE hires_24m > 0),
           (SELECT count(*) FROM hires_siret)
    FROM f
    UNION ALL
    SELECT 'offres', 'offers_24m_positive', count(*) FILTER (WHERE offers_24m > 0),
           (SELECT count(*) FROM offre)
    FROM f
    UNION ALL
    SELECT 'dpae_departement', 'dpae_dep_gs_per_etab_filled',
           count(*) FILTER (WHERE dpae_dep_gs_per_etab IS NOT NULL),
           (SELECT count(*) FROM dpae_aggregate WHERE dataset = 'departement_grand_secteur')
    FROM f
    UNION ALL
    SELECT 'dpae_region_na38', 'dpae_reg_a38_per_etab_filled',
           count(*) FILTER (WHERE dpae_reg_a38_per_etab IS NOT NULL),
           (SELECT count(*) FROM dpae_aggregate WHERE dataset = 'region_na38')
    FROM f
)
SELECT $run_id, 'features', CAST($as_of AS DATE), m.source, m.measure,
       (SELECT count(*) FROM f), m.informed,
       m.informed / nullif((SELECT count(*) FROM f), 0), m.rows, NULL, NULL, now()
FROM m;
