-- Establishment scores: expected hires over the horizon, P(at least one hire), potential
-- 0..100 and stars, with the model that made them.
--
-- {{ raw }}: as_of, siret, code_departement, expected_hires, p_hire, hiring_potential,
-- stars, model_id, label_mode (scoring/scorer.py). Writes {{ target }}. No reasons here:
-- they are computed for the establishments a list or a match shows
-- (sql/etablissement_reason.sql). code_departement: the establishment's at scoring (its
-- features'), so that a territory rerun selects its own rows by it instead of joining
-- all of France's establishments (NULL in rows scored before the column existed).
CREATE OR REPLACE TEMP TABLE {{ target }} AS
SELECT r.as_of, r.siret, r.code_departement, r.expected_hires, r.p_hire,
    CAST(r.hiring_potential AS INTEGER) AS hiring_potential, CAST(r.stars AS INTEGER) AS stars,
    r.model_id, r.label_mode
FROM {{ raw }} r;
