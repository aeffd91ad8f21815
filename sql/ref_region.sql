-- INSEE regions (COG).
CREATE OR REPLACE TABLE ref_region__new AS
SELECT REG AS code_region, LIBELLE AS libelle
FROM {{ staging }}
ORDER BY code_region;
