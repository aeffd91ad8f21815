-- promotion_cooldown: companies an agency should stop promoting for a while (issue 5),
-- read by the ranking to exclude or demote them and to say so in the lists.
-- Rule, per agency and scope (one ROME, or all ROMEs: code_rome NULL): when a promotion
-- brings to $min_promotions the promotions of the scope within the $weeks weeks up to it,
-- and none of the scope's promotions since the start of that window got an answer
-- (refusal, interview or hire; a blank outcome counts as no answer), the company is paused
-- until that promotion's date + $days days. Only pauses still running at $as_of are kept;
-- a ROME pause already covered by the all-ROME pause is dropped.
CREATE OR REPLACE TABLE promotion_cooldown AS
WITH p AS (
    SELECT agency_code, siret, code_rome, date_promotion,
           coalesce(resultat IN ('refus', 'entretien', 'embauche'), false) AS answered
    FROM promotion
    WHERE date_promotion <= $as_of
),
scoped AS (
    SELECT agency_code, siret, code_rome, date_promotion, answered FROM p
    UNION ALL
    SELECT agency_code, siret, NULL::VARCHAR AS code_rome, date_promotion, answered FROM p
),
trigger_dates AS (
    SELECT DISTINCT agency_code, siret, code_rome, date_promotion AS trigger_date FROM scoped
),
windows AS (
    SELECT t.agency_code, t.siret, t.code_rome, t.trigger_date,
           min(w.date_promotion) AS first_date,
           count(*) AS n_in_window
    FROM trigger_dates AS t
    JOIN scoped AS w
      ON w.agency_code = t.agency_code AND w.siret = t.siret
     AND w.code_rome IS NOT DISTINCT FROM t.code_rome
     AND w.date_promotion > t.trigger_date - to_weeks(CAST($weeks AS INTEGER))
     AND w.date_promotion <= t.trigger_date
    GROUP BY ALL
    HAVING count(*) >= $min_promotions
),
silent AS (
    SELECT w.*
    FROM windows AS w
    WHERE NOT EXISTS (
        SELECT 1 FROM scoped AS a
        WHERE a.answered AND a.agency_code = w.agency_code AND a.siret = w.siret
          AND a.code_rome IS NOT DISTINCT FROM w.code_rome
          AND a.date_promotion >= w.first_date
    )
),
latest AS (
    SELECT agency_code, siret, code_rome,
           arg_max(first_date, trigger_date) AS first_date,
           max(trigger_date) AS last_trigger,
           CAST(max(trigger_date) + to_days(CAST($days AS INTEGER)) AS DATE) AS until
    FROM silent
    GROUP BY ALL
),
active AS (
    SELECT l.*,
           (SELECT count(*) FROM scoped AS s
             WHERE s.agency_code = l.agency_code AND s.siret = l.siret
               AND s.code_rome IS NOT DISTINCT FROM l.code_rome
               AND s.date_promotion >= l.first_date) AS n_promotions
    FROM latest AS l
    WHERE l.until > $as_of
)
SELECT a.siret, a.agency_code, a.code_rome, a.until,
       a.n_promotions || ' promotions sans réponse'
       || CASE WHEN a.code_rome IS NULL THEN '' ELSE ' en ' || a.code_rome END
       || ' depuis le ' || strftime(a.first_date, '%d/%m')
       || ' : en pause jusqu''au ' || strftime(a.until, '%d/%m') AS reason,
       a.n_promotions, a.first_date AS first_promotion, a.last_trigger AS paused_from,
       CAST($as_of AS DATE) AS as_of
FROM active AS a
WHERE a.code_rome IS NULL
   OR NOT EXISTS (
        SELECT 1 FROM active AS g
        WHERE g.code_rome IS NULL AND g.agency_code = a.agency_code AND g.siret = a.siret
          AND g.until >= a.until
   );
