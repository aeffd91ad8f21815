-- source_coverage rows of stage 'ingest' (the table is in source_coverage.sql): after the
-- load and the offers' linking, the share of active establishments each source informs
-- (DPAE: its (territory, sector code) has a series; offers: a linked offer; hires: a row
-- for its SIRET; geolocation: coordinates).
DELETE FROM source_coverage WHERE run_id = $run_id AND stage = 'ingest';
INSERT INTO source_coverage
WITH pop AS (
    SELECT e.siret, e.code_departement, d.code_region, e.latitude, m.grand_secteur_code,
           m.na38_code
    FROM etablissement e
    LEFT JOIN ref_naf_dpae m USING (naf_code)
    LEFT JOIN (SELECT code_departement, any_value(code_region) AS code_region
               FROM ref_departement GROUP BY 1) d USING (code_departement)
    WHERE e.etat_administratif = 'A'
),
dep_cells AS (
    SELECT DISTINCT code_departement, secteur_code FROM dpae_aggregate
    WHERE dataset = 'departement_grand_secteur'
),
reg_cells AS (
    SELECT DISTINCT code_region, secteur_code FROM dpae_aggregate WHERE dataset = 'region_na38'
),
m AS (
    SELECT 'sirene_geoloc' AS source, 'establishments_geolocated' AS measure,
           count(*) FILTER (WHERE latitude IS NOT NULL) AS informed,
           (SELECT count(*) FROM etablissement_geoloc) AS rows
    FROM pop
    UNION ALL
    SELECT 'hires_siret', 'establishments_with_hires',
           count(*) FILTER (WHERE siret IN (SELECT siret FROM hires_siret)),
           (SELECT count(*) FROM hires_siret)
    FROM pop
    UNION ALL
    SELECT 'offres', 'establishments_with_linked_offers',
           count(*) FILTER (WHERE siret IN (SELECT siret FROM offre_siret_link
                                            WHERE siret IS NOT NULL)),
           (SELECT count(*) FROM offre)
    FROM pop
    UNION ALL
    SELECT 'dpae_departement', 'establishments_with_departement_sector_series',
           count(*) FILTER (WHERE (code_departement, grand_secteur_code) IN
                            (SELECT (code_departement, secteur_code) FROM dep_cells)),
           (SELECT count(*) FROM dpae_aggregate WHERE dataset = 'departement_grand_secteur')
    FROM pop
    UNION ALL
    SELECT 'dpae_region_na38', 'establishments_with_region_na38_series',
           count(*) FILTER (WHERE (code_region, na38_code) IN
                            (SELECT (code_region, secteur_code) FROM reg_cells)),
           (SELECT count(*) FROM dpae_aggregate WHERE dataset = 'region_na38')
    FROM pop
)
SELECT $run_id, 'ingest', CAST($as_of AS DATE), m.source, m.measure,
       (SELECT count(*) FROM pop), m.informed,
       m.informed / nullif((SELECT count(*) FROM pop), 0), m.rows,
       NULL, NULL, now()
FROM m;
