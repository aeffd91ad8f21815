-- target_candidate: every (establishment, ROME trade) that may enter a list of the run's
-- territories as of $as_of, built once per run and read by sql/target_rank.sql one
-- partition of territories at a time.
--
-- Eligible: in eligible_etablissement (sql/eligible_etablissement.sql: active, never
-- statutDiffusion P on the establishment or its legal unit), in a commune of
-- territory_scope, NAF linked to the ROME in ref_naf_rome, scored for the ROME as of
-- $as_of, with a per-trade potential of at least $min_potential ([publish] min_potential:
-- a real chance of hiring in that trade), and never a non-employer (caractereEmployeur N)
-- without any hire or offer in 24 months ({{ signal }}: feature_etablissement, or an empty
-- relation before any scoring).
-- {{ scores }} reads score_etablissement_rome, restricted to the scope's départements when
-- the table has its code_departement column (stored sorted by it: a territory rerun reads
-- only its own rows). Rows are sorted by département so that each partition's read of this
-- table skips the others' row groups: in a second statement, so that the sort does not hold
-- its buffers while the joins hold their hash tables (in one statement, all of France's
-- 22.6 M candidates ran out of the 6GB publish memory once etablissement was stored sorted
-- by département; in two they fit).
CREATE OR REPLACE TEMP TABLE target_candidate_unsorted AS
WITH communes AS (SELECT DISTINCT code_commune FROM territory_scope)
SELECT coalesce(el.code_departement, '?') AS code_departement, el.code_commune, el.siret,
       r.code_rome, r.hiring_potential, r.stars, r.expected_hires
FROM {{ scores }} r
JOIN eligible_etablissement el USING (siret)
JOIN communes c ON c.code_commune = el.code_commune
JOIN ref_naf_rome nr ON nr.naf_code = el.naf_code AND nr.code_rome = r.code_rome
LEFT JOIN {{ signal }} sig ON sig.siret = el.siret
WHERE r.as_of = CAST($as_of AS DATE)
  AND r.hiring_potential >= CAST($min_potential AS INTEGER)
  AND NOT (coalesce(sig.is_employer, 1) = 0
           AND coalesce(sig.hires_24m, 0) + coalesce(sig.offers_24m, 0) = 0);
-- '?' (no département) sorts after every code, as NULL did
CREATE OR REPLACE TEMP TABLE target_candidate AS
SELECT * FROM target_candidate_unsorted ORDER BY code_departement, siret, code_rome;
DROP TABLE target_candidate_unsorted;
