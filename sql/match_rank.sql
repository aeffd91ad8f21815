-- match_rank: the best companies for one job seeker's profile (ciblage match): eligible
-- establishments (sql/eligible_etablissement.sql) within $rayon km of the point
-- ($lat, $lon), NAF linked to the ROME $code_rome, scored for it as of $as_of. Distance
-- from the establishment's own coordinates, else its commune's centre. A box on latitude
-- and longitude first keeps the great-circle computation to the neighbourhood.
-- Same rules as the lists (sql/target_rank.sql): per-trade potential at least
-- $min_potential, never a non-employer without any hire or offer in 24 months ({{ signal }}).
-- Order: companies paused by the promotion follow-up ({{ cooldown }}, any agency) last,
-- then per-ROME hiring potential, expected hires, distance, siret. Top $n.
CREATE OR REPLACE TEMP TABLE match_rank AS
WITH p AS (
    SELECT CAST($lat AS DOUBLE) AS lat, CAST($lon AS DOUBLE) AS lon,
           CAST($rayon AS DOUBLE) AS km,
           CAST($rayon AS DOUBLE) / 111.0 AS dlat,
           CAST($rayon AS DOUBLE) / (111.0 * greatest(cos(radians(CAST($lat AS DOUBLE))), 0.01))
               AS dlon
),
located AS (
    SELECT el.siret, el.naf_code,
           coalesce(el.latitude, c.latitude) AS lat, coalesce(el.longitude, c.longitude) AS lon
    FROM eligible_etablissement el
    LEFT JOIN ref_commune c USING (code_commune)
),
near AS (
    SELECT l.*, {{ distance }} AS distance_km
    FROM located l, p
    WHERE l.lat BETWEEN p.lat - p.dlat AND p.lat + p.dlat
      AND l.lon BETWEEN p.lon - p.dlon AND p.lon + p.dlon
),
cand AS (
    SELECT n.siret, n.distance_km, r.code_rome, nr.rome_label,
           r.hiring_potential, r.stars, r.expected_hires
    FROM near n
    JOIN score_etablissement_rome r ON r.siret = n.siret
    JOIN ref_naf_rome nr ON nr.naf_code = n.naf_code AND nr.code_rome = r.code_rome
    LEFT JOIN {{ signal }} sig ON sig.siret = n.siret
    WHERE r.as_of = CAST($as_of AS DATE) AND r.code_rome = $code_rome
      AND n.distance_km <= (SELECT km FROM p)
      AND r.hiring_potential >= CAST($min_potential AS INTEGER)
      AND NOT (coalesce(sig.is_employer, 1) = 0
               AND coalesce(sig.hires_24m, 0) + coalesce(sig.offers_24m, 0) = 0)
),
cool AS (
    SELECT siret, max(until) AS until, string_agg(DISTINCT reason, ' ; ') AS reason
    FROM {{ cooldown }}
    WHERE until > CAST($as_of AS DATE) AND (code_rome IS NULL OR code_rome = $code_rome)
    GROUP BY siret
)
SELECT 'rayon' AS territory_level, CAST($commune AS VARCHAR) AS territory_code,
    CAST($territory_name AS VARCHAR) AS territory_name, c.code_rome, c.rome_label,
    CAST(row_number() OVER (
        ORDER BY cool.siret IS NOT NULL, c.hiring_potential DESC, c.expected_hires DESC,
                 c.distance_km, c.siret
    ) AS INTEGER) AS rank,
    c.siret, c.hiring_potential, c.stars, c.expected_hires,
    cool.siret IS NOT NULL AS in_cooldown, cool.until AS cooldown_until,
    cool.reason AS cooldown_reason, c.distance_km
FROM cand c
LEFT JOIN cool USING (siret)
QUALIFY rank <= $n;
