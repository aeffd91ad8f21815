-- Per ROME trade potential: the establishment's expected hires split by its ROME shares.
--
-- Shares: the NAF x ROME hirings referential (ref_naf_rome.share_of_naf), refreshed with the
-- establishment's own ROME mix over the 24 months before T (linked offers' code_rome, and
-- per-SIRET hires when present), as a Bayesian blend: share = (w * share_of_naf + own_n) /
-- (w * sum_of_naf_shares + own_total), w = $prior_weight pseudo-observations. A trade is kept
-- when its share is at least $min_share; establishments with P(at least one hire) below
-- $min_p (potential 0: never a target) get no per-ROME rows, and a trade whose own
-- potential rounds below $min_potential is not kept: the stored table holds potential >= 1
-- (lists and matching never show a trade at 0, a fiche's best trades no longer end with
-- one, and 44 % of the national rows were such trades), the back-test keeps every
-- candidate (0). Reads the scores relation (as_of, siret, expected_hires, p_hire);
-- writes where the statement prefix `into` says, with the establishment's département
-- (the table is stored sorted by it, so that a territory rerun reads only its own rows).
-- P per trade is the model's link from expected hires to P(at least one hire) applied to
-- the trade's expected hires (`p_rome`, from scoring/calibration.py), so potential and
-- expected hires agree on every row.
-- Run once per slice of départements (`slice`, a predicate on the département;
-- scoring/scorer.py: all of France at once ran DuckDB out of memory), each slice's rows
-- sorted: an establishment's rows depend only on itself, and consecutive slices inserted in
-- département order leave the table sorted without one national sort.
{{ into }}
WITH params AS (
    SELECT CAST($as_of AS DATE) AS t, CAST($prior_weight AS DOUBLE) AS w,
           CAST($min_share AS DOUBLE) AS min_share
),
s AS MATERIALIZED (
    SELECT sc.as_of, sc.siret, sc.expected_hires, sc.p_hire, e.naf_code,
           coalesce(e.code_departement, '?') AS code_departement
    FROM {{ scores }} sc JOIN etablissement e USING (siret)
    WHERE sc.p_hire >= CAST($min_p AS DOUBLE) AND {{ slice }}
),
own AS (
    SELECT l.siret, o.code_rome, count(*)::DOUBLE AS n
    FROM offre o JOIN offre_siret_link l USING (offre_id), params p
    WHERE o.date_creation < p.t AND o.date_creation >= p.t - INTERVAL 24 MONTH
      AND o.code_rome IS NOT NULL AND l.siret IN (SELECT siret FROM s)
    GROUP BY ALL
    UNION ALL
    SELECT hs.siret, hs.code_rome, sum(hs.nombre_embauches)::DOUBLE AS n
    FROM hires_siret hs, params p
    WHERE CAST(hs.mois AS DATE) + INTERVAL 1 MONTH <= p.t
      AND CAST(hs.mois AS DATE) >= p.t - INTERVAL 24 MONTH
      AND hs.code_rome IS NOT NULL AND hs.siret IN (SELECT siret FROM s)
    GROUP BY ALL
),
own_rome AS MATERIALIZED (SELECT siret, code_rome, sum(n) AS n FROM own GROUP BY ALL),
own_total AS (SELECT siret, sum(n) AS total FROM own_rome GROUP BY siret),
naf_total AS (SELECT naf_code, sum(share_of_naf) AS total FROM ref_naf_rome GROUP BY naf_code),
-- `low`: a trade whose NAF share alone is under $min_share. Without the establishment's own
-- offers or hires in it, its blended share is at most that (w * s / (w * total + own
-- total) <= s / total), so the share filter below would drop it: such pairs (69 % of
-- the national establishment x trade pairs) are never generated, only the establishment's
-- own trades among them are (`own_cand`). The margin keeps every pair the exact
-- filter could keep.
naf_pairs AS (
    SELECT nr.naf_code, nr.code_rome, nr.share_of_naf,
           nr.share_of_naf < p.min_share * nt.total * (1 - 1e-9) AS low
    FROM ref_naf_rome nr JOIN naf_total nt USING (naf_code), params p
),
-- each establishment with its own offers' and hires' total and its NAF's share total,
-- joined once per establishment rather than once per candidate trade (11 a head)
s_tot AS (
    SELECT s.*, ot.total AS own_total, nt.total AS naf_share_total
    FROM s LEFT JOIN own_total ot USING (siret) LEFT JOIN naf_total nt USING (naf_code)
),
-- candidates: the NAF's trades at the minimum share or above, plus the establishment's own
-- other trades (UNION ALL and joins on small tables only, so that 16 M establishments
-- stream)
naf_cand AS (
    SELECT s.as_of, s.siret, s.expected_hires, s.p_hire, s.code_departement, s.own_total,
           s.naf_share_total, nr.code_rome, nr.share_of_naf
    FROM s_tot s JOIN naf_pairs nr USING (naf_code)
    WHERE NOT nr.low
),
-- the establishment's own trades the NAF pairs above leave out: its NAF's trades under
-- the minimum share (`low`), and trades outside its NAF's list (no pair: share 0)
own_cand AS (
    SELECT s.as_of, s.siret, s.expected_hires, s.p_hire, s.code_departement, s.own_total,
           s.naf_share_total, o.code_rome, coalesce(nr.share_of_naf, 0.0) AS share_of_naf
    FROM own_rome o JOIN s_tot s USING (siret)
    LEFT JOIN naf_pairs nr ON nr.naf_code = s.naf_code AND nr.code_rome = o.code_rome
    WHERE nr.low IS NOT FALSE
),
cand AS (SELECT * FROM naf_cand UNION ALL SELECT * FROM own_cand),
shares AS (
    SELECT c.as_of, c.siret, c.code_departement, c.code_rome, c.expected_hires, c.p_hire,
        (p.w * c.share_of_naf + coalesce(o.n, 0))
            / nullif(p.w * coalesce(c.naf_share_total, 0) + coalesce(c.own_total, 0), 0)
            AS share
    FROM cand c
    CROSS JOIN params p
    LEFT JOIN own_rome o ON o.siret = c.siret AND o.code_rome = c.code_rome
),
scored AS (
    SELECT sh.as_of, sh.siret, sh.code_departement, sh.code_rome, sh.share,
        sh.expected_hires * sh.share AS expected_hires,
        {{ p_rome }} AS p_rome
    FROM shares sh, params p
    WHERE sh.share >= p.min_share
)
SELECT as_of, siret, code_departement, code_rome, expected_hires,
    CAST(least(greatest(round(100 * p_rome), 0), 100) AS INTEGER) AS hiring_potential,
    CAST({{ stars_case }} AS INTEGER) AS stars
FROM scored
WHERE round(100 * p_rome) >= CAST($min_potential AS INTEGER)
ORDER BY code_departement, siret, code_rome;
