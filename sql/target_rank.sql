-- target_rank: the ranked list of companies per (territory, ROME v3 trade) as of $as_of
-- (keys and ranks only; sql/target_list.sql adds what a counselor reads about each company).
--
-- Needs the temp table territory_scope (territory_level, territory_code, territory_name,
-- code_commune) built by ciblage.territories; {{ cooldown }} is promotion_cooldown or an
-- empty relation with its columns when the follow-up has never run.
--
-- Eligible: in eligible_etablissement (sql/eligible_etablissement.sql: active, never
-- statutDiffusion P on the establishment or its legal unit), in the territory, NAF linked
-- to the ROME in ref_naf_rome, scored for the ROME as of $as_of, with a per-trade potential
-- of at least $min_potential ([publish] min_potential: a real chance of hiring in that trade),
-- and never a non-employer (caractereEmployeur N) without any hire or offer in 24 months
-- ({{ signal }}: feature_etablissement, or an empty relation before any scoring).
-- Order: per-ROME hiring potential, then per-ROME expected hires, then siret (so that two
-- runs on the same data give the same lists). A company in cool-down for the agency
-- (promotion follow-up) is excluded ($cooldown_exclude) or put after the others.
-- Cap: a company keeps only its $max_lists best lists per territory ($max_lists = 0: no
-- cap), best = its lowest rank before the cap; others move up. Then top $top_n.
CREATE OR REPLACE TEMP TABLE target_rank AS
WITH cand AS (
    SELECT ts.territory_level, ts.territory_code, ts.territory_name, r.code_rome,
           nr.rome_label, el.siret, r.hiring_potential, r.stars, r.expected_hires
    FROM score_etablissement_rome r
    JOIN eligible_etablissement el USING (siret)
    JOIN ref_naf_rome nr ON nr.naf_code = el.naf_code AND nr.code_rome = r.code_rome
    JOIN territory_scope ts ON ts.code_commune = el.code_commune
    LEFT JOIN {{ signal }} sig ON sig.siret = el.siret
    WHERE r.as_of = CAST($as_of AS DATE)
      AND r.hiring_potential >= CAST($min_potential AS INTEGER)
      AND NOT (coalesce(sig.is_employer, 1) = 0
               AND coalesce(sig.hires_24m, 0) + coalesce(sig.offers_24m, 0) = 0)
),
cool AS (
    SELECT c.siret, c.agency_code, c.code_rome, max(c.until) AS until,
           string_agg(DISTINCT c.reason, ' ; ' ORDER BY c.reason) AS reason
    FROM {{ cooldown }} c
    WHERE c.until > CAST($as_of AS DATE)
    GROUP BY ALL
),
flagged AS (
    SELECT cand.*,
           coalesce(ca.siret, cr.siret) IS NOT NULL AS in_cooldown,
           greatest(ca.until, cr.until) AS cooldown_until,
           concat_ws(' ; ', ca.reason, cr.reason) AS cooldown_reason
    FROM cand
    LEFT JOIN cool ca ON cand.territory_level = 'agence' AND ca.agency_code = cand.territory_code
         AND ca.siret = cand.siret AND ca.code_rome IS NULL
    LEFT JOIN cool cr ON cand.territory_level = 'agence' AND cr.agency_code = cand.territory_code
         AND cr.siret = cand.siret AND cr.code_rome = cand.code_rome
),
prerank AS (
    SELECT *,
        row_number() OVER (
            PARTITION BY territory_level, territory_code, code_rome
            ORDER BY in_cooldown, hiring_potential DESC, expected_hires DESC, siret
        ) AS pre_rank
    FROM flagged
    WHERE NOT ($cooldown_exclude AND in_cooldown)
),
capped AS (
    SELECT *,
        row_number() OVER (
            PARTITION BY territory_level, territory_code, siret
            ORDER BY pre_rank, hiring_potential DESC, code_rome
        ) AS nth_list
    FROM prerank
    QUALIFY $max_lists = 0 OR nth_list <= $max_lists
)
SELECT territory_level, territory_code, territory_name, code_rome, rome_label,
    CAST(row_number() OVER (
        PARTITION BY territory_level, territory_code, code_rome ORDER BY pre_rank
    ) AS INTEGER) AS rank,
    siret, hiring_potential, stars, expected_hires, in_cooldown, cooldown_until,
    nullif(cooldown_reason, '') AS cooldown_reason
FROM capped
QUALIFY rank <= $top_n;
