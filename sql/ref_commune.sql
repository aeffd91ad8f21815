-- Current communes (COM) and municipal arrondissements (ARM: SIRENE uses them for Paris,
-- Lyon, Marseille) of the COG, with bassin d'emploi and coordinates.
-- The bassin and La Poste files are older COG vintages: a commune absent from them takes
-- the values of the communes merged into it (COMD/COMA rows of the COG, by COMPARENT),
-- and an arrondissement absent from them takes its city's.
CREATE OR REPLACE TABLE ref_commune__new AS
WITH cog AS (SELECT * FROM {{ staging }}),
cur AS (
    SELECT COM AS code_commune, LIBELLE AS libelle, DEP AS code_departement,
           REG AS code_region, TYPECOM, COMPARENT
    FROM cog WHERE TYPECOM IN ('COM', 'ARM')
),
alias AS (  -- (current commune, code under which older files may know it, priority)
    SELECT code_commune, code_commune AS old_code, 0 AS prio FROM cur
    UNION ALL
    SELECT COMPARENT, COM, 1 FROM cog
    WHERE TYPECOM IN ('COMD', 'COMA') AND COMPARENT IS NOT NULL AND COMPARENT <> COM
    UNION ALL
    SELECT code_commune, COMPARENT, 2 FROM cur WHERE TYPECOM = 'ARM' AND COMPARENT IS NOT NULL
),
bassin AS (
    SELECT a.code_commune,
           arg_min(b.code_bassin, a.prio ORDER BY b.code_bassin) AS code_bassin
    FROM alias a JOIN ref_commune_bassin b ON b.code_commune = a.old_code
    GROUP BY a.code_commune
),
geo_rows AS (
    SELECT a.code_commune, a.prio, p.latitude, p.longitude,
           min(a.prio) OVER (PARTITION BY a.code_commune) AS best
    FROM alias a JOIN ref_code_postal p ON p.code_commune = a.old_code
    WHERE p.latitude IS NOT NULL AND p.longitude IS NOT NULL
),
geo AS (
    SELECT code_commune, avg(latitude) AS latitude, avg(longitude) AS longitude
    FROM geo_rows WHERE prio = best GROUP BY code_commune
)
SELECT cur.code_commune, cur.libelle, cur.code_departement, cur.code_region,
       bassin.code_bassin, geo.latitude, geo.longitude
FROM cur
LEFT JOIN bassin USING (code_commune)
LEFT JOIN geo USING (code_commune)
ORDER BY cur.code_commune;
