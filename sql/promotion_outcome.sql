-- promotion_outcome: what the data says happened after each promotion (issue 5).
-- A promotion followed, within $window_months months, by a hire of the establishment in
-- the per-SIRET hires ({{ hires }}) or by a job offer linked to it ({{ links }} joined
-- to {{ offers }}) is a "possible success": the data cannot prove the hire came from the
-- promotion, so it is reported beside, never instead of, the outcome the agency recorded.
-- Hires are monthly: every month overlapping the window counts. With $same_rome, only hires or
-- offers in the promoted ROME count.
CREATE OR REPLACE TABLE promotion_outcome AS
WITH p AS (
    SELECT promotion_id, siret, code_rome, date_promotion,
           CAST(date_trunc('month', date_promotion) AS DATE) AS month_start,
           CAST(date_promotion + to_months(CAST($window_months AS INTEGER)) AS DATE) AS window_end
    FROM promotion
),
hires AS (
    SELECT p.promotion_id,
           sum(h.nombre_embauches) AS hires_any_rome,
           coalesce(sum(h.nombre_embauches) FILTER (WHERE h.code_rome = p.code_rome), 0)
               AS hires_same_rome,
           min(h.mois) AS first_hire_month
    FROM p
    JOIN {{ hires }} AS h
      ON h.siret = p.siret AND h.mois >= p.month_start AND h.mois < p.window_end
         AND h.nombre_embauches > 0
    GROUP BY ALL
),
offers AS (
    SELECT p.promotion_id,
           count(DISTINCT o.offre_id) AS offers_any_rome,
           count(DISTINCT o.offre_id) FILTER (WHERE o.code_rome = p.code_rome) AS offers_same_rome,
           CAST(min(o.date_creation) AS DATE) AS first_offer_date
    FROM p
    JOIN {{ links }} AS l ON l.siret = p.siret
    JOIN {{ offers }} AS o
      ON o.offre_id = l.offre_id
     AND CAST(o.date_creation AS DATE) >= p.date_promotion
     AND CAST(o.date_creation AS DATE) < p.window_end
    GROUP BY ALL
),
joined AS (
    SELECT p.promotion_id, p.window_end,
           coalesce(h.hires_any_rome, 0) AS hires_any_rome,
           coalesce(h.hires_same_rome, 0) AS hires_same_rome,
           coalesce(o.offers_any_rome, 0) AS offers_any_rome,
           coalesce(o.offers_same_rome, 0) AS offers_same_rome,
           h.first_hire_month, o.first_offer_date
    FROM p
    LEFT JOIN hires AS h USING (promotion_id)
    LEFT JOIN offers AS o USING (promotion_id)
)
SELECT *,
       CASE WHEN $same_rome THEN hires_same_rome > 0 ELSE hires_any_rome > 0 END AS hire_in_data,
       CASE WHEN $same_rome THEN offers_same_rome > 0 ELSE offers_any_rome > 0 END AS offer_in_data,
       hire_in_data OR offer_in_data AS possible_success,
       CASE WHEN hire_in_data THEN 'hires_siret' WHEN offer_in_data THEN 'offre' END AS success_source
FROM joined;
