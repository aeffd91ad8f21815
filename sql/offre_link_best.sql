-- offre_link_best: the chosen establishment of each offer linked by entity resolution.
-- For one blocking pass ('{{ pass_name }}'), each (query, establishment) candidate gets
--   confidence = name_score × (1 − $w_commune − $w_sector
--                              + $w_commune × same commune + $w_sector × same division)
-- (an unknown division counts half). Per offer, among candidates active at the offer
-- date and at or above $min_confidence, the best confidence wins; ties go to the better
-- name score, then the larger headcount band (a bigger site posts more offers), then the
-- smallest SIRET, so reruns agree. Offers linked by an earlier pass keep their link.
-- "Active at the offer date" allows a site registered up to $creation_grace_days after
-- the offer: employers recruit for a new site before INSEE records its creation.
CREATE TABLE IF NOT EXISTS offre_link_best (
    offre_id VARCHAR, siret VARCHAR, confidence DOUBLE, name_score DOUBLE, pass VARCHAR
);
INSERT INTO offre_link_best
WITH qn AS (
    SELECT DISTINCT q_id, name_norm AS q_name FROM offre_link_query WHERE q_id IS NOT NULL
),
cand AS (
    SELECT p.q_id, p.siret,
           bool_or(p.commune_match) AS commune_match,
           bool_or(p.sector_match) AS sector_match,
           max(s.name_score) AS name_score
    FROM offre_link_pair AS p
    JOIN qn USING (q_id)
    JOIN offre_link_name_score AS s ON s.q_name = qn.q_name AND s.e_name = p.e_name
    WHERE p.pass = '{{ pass_name }}'
    GROUP BY ALL
),
scored AS (
    SELECT *,
           name_score * (1 - $w_commune - $w_sector
                         + $w_commune * CAST(commune_match AS INTEGER)
                         + $w_sector * coalesce(CAST(sector_match AS INTEGER), 0.5))
               AS confidence
    FROM cand
),
active AS (
    SELECT DISTINCT siret, date_creation, date_fermeture, size_rank FROM offre_link_name
)
SELECT o.offre_id, c.siret, c.confidence, c.name_score, '{{ pass_name }}' AS pass
FROM offre_link_query AS o
JOIN scored AS c USING (q_id)
JOIN active AS d USING (siret)
ANTI JOIN offre_link_best AS done ON done.offre_id = o.offre_id
WHERE (d.date_creation IS NULL
       OR d.date_creation <= o.offer_date + to_days(CAST($creation_grace_days AS INTEGER)))
  AND (d.date_fermeture IS NULL OR d.date_fermeture >= o.offer_date)
  AND c.confidence >= $min_confidence
QUALIFY row_number() OVER (
    PARTITION BY o.offre_id
    ORDER BY c.confidence DESC, c.name_score DESC, d.size_rank DESC, c.siret
) = 1;
