-- NAF rev2 sous-classes with their aggregation levels (INSEE table d'agrégation) and the
-- URSSAF DPAE grand secteur of their section. Levels are derived from the code itself
-- where the source lost leading zeros (classe '111' for 01.11).
CREATE OR REPLACE TABLE ref_naf__new AS
SELECT
    sous_classe_a_732 AS naf_code,
    substr(sous_classe_a_732, 1, 2) || '.' || substr(sous_classe_a_732, 3) AS naf,
    intitule_de_la_naf_rev_2 AS libelle,
    substr(sous_classe_a_732, 1, 2) || '.' || substr(sous_classe_a_732, 3, 2) AS classe,
    substr(sous_classe_a_732, 1, 2) || '.' || substr(sous_classe_a_732, 3, 1) AS groupe,
    substr(sous_classe_a_732, 1, 2) AS division,
    lpad(division_a_88, 2, '0') AS a88,
    section_a_38 AS a38,
    section_a_21 AS a21,
    section_a_10 AS a10,
    {{ grand_secteur }} AS grand_secteur
FROM {{ staging }}
WHERE sous_classe_a_732 <> 'RIEN'
ORDER BY naf_code;
