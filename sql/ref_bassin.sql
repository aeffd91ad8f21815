-- Bassins d'emploi. The source file has codes only, no names: the label says so.
-- A bassin may straddle départements: it is attached to the most frequent one of its communes.
CREATE OR REPLACE TABLE ref_bassin__new AS
WITH c AS (
    SELECT code_bassin_emploi AS code_bassin,
           CASE WHEN left(code_insee, 2) IN ('97', '98') THEN left(code_insee, 3)
                ELSE left(code_insee, 2) END AS code_departement
    FROM {{ staging }}
), n AS (
    SELECT code_bassin, code_departement, count(*) AS communes FROM c GROUP BY ALL
)
SELECT code_bassin,
       'Bassin d''emploi ' || code_bassin AS libelle,
       arg_max(code_departement, communes ORDER BY code_departement DESC) AS code_departement
FROM n
GROUP BY code_bassin
ORDER BY code_bassin;
