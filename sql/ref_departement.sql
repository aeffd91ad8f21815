-- INSEE départements (COG) with their region.
CREATE OR REPLACE TABLE ref_departement__new AS
SELECT DEP AS code_departement, REG AS code_region, LIBELLE AS libelle
FROM {{ staging }}
ORDER BY code_departement;
