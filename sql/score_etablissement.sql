-- Establishment scores: expected hires over the horizon, P(at least one hire), potential
-- 0..100 and stars, with the model that made them.
--
-- {{ raw }}: as_of, siret, expected_hires, p_hire, hiring_potential, stars, model_id,
-- label_mode (scoring/scorer.py). Writes {{ target }}. No reasons here: they are computed
-- for the establishments a list or a match shows (sql/etablissement_reason.sql).
CREATE OR REPLACE TEMP TABLE {{ target }} AS
SELECT r.as_of, r.siret, r.expected_hires, r.p_hire,
    CAST(r.hiring_potential AS INTEGER) AS hiring_potential, CAST(r.stars AS INTEGER) AS stars,
    r.model_id, r.label_mode
FROM {{ raw }} r;
