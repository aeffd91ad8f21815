-- What happened after T: hires of each establishment in [$as_of, $as_of + $horizon_months),
-- per ROME trade (code_rome may be NULL when the source does not say).
--
-- $label_mode = 'hires_siret': per-SIRET hires (the best label, when a deployment has it);
-- $label_mode = 'offres': positions of the job offers linked to the establishment, created
-- in the window (a partial and biased view of hires: only published offers, and only the
-- ones the linking step could attach to a SIRET). Builds {{ target }} (siret, code_rome, n).
CREATE OR REPLACE TEMP TABLE {{ target }} AS
WITH params AS (
    SELECT CAST($as_of AS DATE) AS t,
           CAST($as_of AS DATE) + to_months(CAST($horizon_months AS INTEGER)) AS t_end,
           CAST($label_mode AS VARCHAR) AS mode
)
SELECT hs.siret, hs.code_rome, sum(hs.nombre_embauches)::DOUBLE AS n
FROM hires_siret hs, params p
WHERE p.mode = 'hires_siret'
  AND CAST(hs.mois AS DATE) >= p.t AND CAST(hs.mois AS DATE) < p.t_end
GROUP BY ALL
UNION ALL
SELECT l.siret, o.code_rome, sum(coalesce(o.nombre_postes, 1))::DOUBLE AS n
FROM offre o JOIN offre_siret_link l USING (offre_id), params p
WHERE p.mode = 'offres' AND l.siret IS NOT NULL
  AND o.date_creation >= p.t AND o.date_creation < p.t_end
GROUP BY ALL;
