-- promotion_impact: one row per promotion up to $as_of with everything the impact report
-- aggregates (issue 5): the agency's recorded outcome, the possible success seen in the
-- data (promotion_outcome) and the establishment's hiring potential as scored at the
-- latest as-of date on or before the promotion ({{ scores }}), so that the report can
-- answer "do high-potential companies convert better?" with the score counselors saw.
-- A TEMP table: the report also runs on a read-only connection next to other readers.
-- {{ promotions }} / {{ outcomes }} are promotion / promotion_outcome, or empty relations.
CREATE OR REPLACE TEMP TABLE promotion_impact AS
WITH scored AS (
    SELECT p.promotion_id,
           arg_max(s.hiring_potential, s.as_of) AS hiring_potential,
           arg_max(s.stars, s.as_of) AS stars
    FROM {{ promotions }} AS p
    JOIN {{ scores }} AS s ON s.siret = p.siret AND s.as_of <= p.date_promotion
    GROUP BY p.promotion_id
),
labels AS (
    SELECT code_rome, any_value(libelle) AS rome_label FROM {{ romes }} GROUP BY code_rome
)
SELECT p.promotion_id, p.agency_code, p.code_rome, l.rome_label, p.siret, p.date_promotion,
       CAST(date_trunc('month', p.date_promotion) AS DATE) AS month,
       p.canal, p.resultat,
       coalesce(p.resultat IN ('refus', 'entretien', 'embauche'), false) AS answered,
       coalesce(p.resultat IN ('entretien', 'embauche'), false) AS interview,
       coalesce(p.resultat = 'embauche', false) AS hired,
       coalesce(o.possible_success, false) AS possible_success,
       s.hiring_potential, s.stars,
       CASE
           WHEN s.hiring_potential IS NULL THEN 'inconnu'
           WHEN s.hiring_potential >= 80 THEN '80–100'
           WHEN s.hiring_potential >= 60 THEN '60–79'
           WHEN s.hiring_potential >= 40 THEN '40–59'
           WHEN s.hiring_potential >= 20 THEN '20–39'
           ELSE '0–19'
       END AS potential_band
FROM {{ promotions }} AS p
LEFT JOIN {{ outcomes }} AS o USING (promotion_id)
LEFT JOIN scored AS s USING (promotion_id)
LEFT JOIN labels AS l USING (code_rome)
WHERE p.date_promotion <= $as_of;
