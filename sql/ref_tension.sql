-- Recruitment difficulty (BMO, %) per ROME v3 code; a ROME covered by several FAP trades
-- gets their mean.
CREATE OR REPLACE TABLE ref_tension__new AS
SELECT rome_code AS code_rome,
       avg(CAST(replace(tension_pct, ',', '.') AS DOUBLE)) AS tension_pct
FROM {{ staging }}
WHERE rome_code IS NOT NULL AND tension_pct IS NOT NULL
GROUP BY rome_code
ORDER BY code_rome;
