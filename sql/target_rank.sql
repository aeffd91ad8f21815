-- target_rank: the ranked list of companies per (territory, ROME v3 trade) as of $as_of
-- (keys and ranks only; sql/target_list.sql adds what a counselor reads about each company).
--
-- Run once per partition of territories (scoring/ranking.py: the territories whose
-- communes lie mostly in one département), so that memory stays bounded whatever the
-- number of territories: {{ scope }} holds the partition's territories with their communes
-- (territory_level, territory_code, territory_name, code_commune), and the rows are
-- appended to target_rank. A territory lies in one partition only, and every rule below is
-- per territory, so the lists do not depend on the partitioning.
-- Candidates: target_candidate (sql/target_candidate.sql: eligibility, threshold,
-- non-employers), read only for {{ deps }}, the départements of the partition's communes
-- (a literal list, so that the scan skips the row groups of other départements).
-- {{ cooldown }} is promotion_cooldown or an empty relation with its columns when the
-- follow-up has never run.
-- Order: per-ROME hiring potential, then per-ROME expected hires, then siret (so that two
-- runs on the same data give the same lists). A company in cool-down for the agency
-- (promotion follow-up) is excluded ($cooldown_exclude) or put after the others.
-- Cap: a company keeps only its $max_lists best lists per territory ($max_lists = 0: no
-- cap), best = its lowest rank before the cap; others move up. Then top $top_n.
CREATE TEMP TABLE IF NOT EXISTS target_rank (
    territory_level VARCHAR, territory_code VARCHAR, territory_name VARCHAR,
    code_rome VARCHAR, rome_label VARCHAR, rank INTEGER, siret VARCHAR,
    hiring_potential INTEGER, stars INTEGER, expected_hires DOUBLE, in_cooldown BOOLEAN,
    cooldown_until DATE, cooldown_reason VARCHAR
);
INSERT INTO target_rank
WITH cand AS (
    SELECT ts.territory_level, ts.territory_code, c.code_rome,
           c.siret, c.hiring_potential, c.stars, c.expected_hires
    FROM target_candidate c
    JOIN {{ scope }} ts ON ts.code_commune = c.code_commune
    WHERE c.code_departement IN ({{ deps }})
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
prerank AS MATERIALIZED (
    SELECT *,
        row_number() OVER (
            PARTITION BY territory_level, territory_code, code_rome
            ORDER BY in_cooldown, hiring_potential DESC, expected_hires DESC, siret
        ) AS pre_rank
    FROM flagged
    WHERE NOT ($cooldown_exclude AND in_cooldown)
),
-- The cap and the final ranks read each list's first $depth rows only (`head`; nationally
-- 45 M candidates went through both window sorts): a company's lists are capped in
-- pre_rank order, so a row's nth_list and its final rank depend only on rows ranked
-- before it, and a list is exact when its head keeps $top_n rows after the cap or holds
-- every candidate. A territory with a list that may be neither (its head full and short
-- of $top_n rows after the cap) is capped on all its rows (`redo`): exact always.
head AS (SELECT * FROM prerank WHERE pre_rank <= $depth),
head_capped AS (
    SELECT *,
        row_number() OVER (
            PARTITION BY territory_level, territory_code, siret
            ORDER BY pre_rank, hiring_potential DESC, code_rome
        ) AS nth_list
    FROM head
),
redo AS (
    SELECT DISTINCT territory_level, territory_code
    FROM (
        SELECT territory_level, territory_code
        FROM head_capped
        GROUP BY territory_level, territory_code, code_rome
        HAVING max(pre_rank) >= $depth
           AND count(*) FILTER (WHERE $max_lists = 0 OR nth_list <= $max_lists) < $top_n
    )
),
capped AS (
    SELECT * FROM head_capped ANTI JOIN redo USING (territory_level, territory_code)
    UNION ALL
    SELECT *,
        row_number() OVER (
            PARTITION BY territory_level, territory_code, siret
            ORDER BY pre_rank, hiring_potential DESC, code_rome
        ) AS nth_list
    FROM prerank SEMI JOIN redo USING (territory_level, territory_code)
),
ranked AS (
    SELECT territory_level, territory_code, code_rome,
        CAST(row_number() OVER (
            PARTITION BY territory_level, territory_code, code_rome ORDER BY pre_rank
        ) AS INTEGER) AS rank,
        siret, hiring_potential, stars, expected_hires, in_cooldown, cooldown_until,
        nullif(cooldown_reason, '') AS cooldown_reason
    FROM capped
    WHERE $max_lists = 0 OR nth_list <= $max_lists
    QUALIFY rank <= $top_n
),
-- the names, joined to the kept rows only: carried through the three window sorts they
-- were a fifth of the national ranking's time. A trade's label is the referential's (one
-- per trade: ref_naf_rome repeats it for every NAF)
names AS (
    SELECT territory_level, territory_code, min(territory_name) AS territory_name
    FROM {{ scope }} GROUP BY ALL
),
labels AS (SELECT code_rome, min(rome_label) AS rome_label FROM ref_naf_rome GROUP BY ALL)
SELECT r.territory_level, r.territory_code, n.territory_name, r.code_rome, l.rome_label,
    r.rank, r.siret, r.hiring_potential, r.stars, r.expected_hires, r.in_cooldown,
    r.cooldown_until, r.cooldown_reason
FROM ranked r
JOIN names n USING (territory_level, territory_code)
LEFT JOIN labels l USING (code_rome);
