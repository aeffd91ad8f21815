-- NAF sous-classe -> the DPAE sectors that cover it: grand secteur code (GS1..GS7) and
-- NA38 code, from ref_dpae_secteur (its A38 lists, plus/minus named sous-classes) over
-- INSEE's NAF -> A38 aggregation in ref_naf (built with ref_dpae_secteur, before its swap:
-- hence __new). The feature join (feature_etablissement.sql)
-- matches dpae_aggregate.secteur_code against these codes, never against labels.
-- A sous-classe in two grand secteurs (a wrong mapping table) keeps the smallest code;
-- tests/ingest/test_dpae.py asserts the shipped table has none.
CREATE OR REPLACE TABLE ref_naf_dpae__new AS
WITH m AS (
    SELECT nomenclature, code, naf_a38, naf_inclus, naf_exclus
    FROM ref_dpae_secteur__new WHERE role = 'sector'
),
hit AS (
    SELECT n.naf_code, m.nomenclature, m.code
    FROM ref_naf n JOIN m
      ON (list_contains(m.naf_a38, n.a38) OR list_contains(m.naf_inclus, n.naf_code))
     AND NOT list_contains(m.naf_exclus, n.naf_code)
)
SELECT
    n.naf_code,
    min(h.code) FILTER (WHERE h.nomenclature = 'grand_secteur') AS grand_secteur_code,
    min(h.code) FILTER (WHERE h.nomenclature = 'na38') AS na38_code
FROM ref_naf n LEFT JOIN hit h USING (naf_code)
GROUP BY n.naf_code
ORDER BY n.naf_code;
