-- target_list: the ranked list of companies per (territory, ROME v3 trade) as of $as_of,
-- with everything a counselor reads about each company (written to <run>/targets.parquet).
--
-- Needs the temp table territory_scope (territory_level, territory_code, territory_name,
-- code_commune) built by ciblage.territories; {{ cooldown }}, {{ offers }} and {{ links }}
-- are promotion_cooldown, offre and offre_siret_link, or empty relations with their columns
-- when a deployment has none.
--
-- Eligible: active establishment ('A'), diffusible (never statutDiffusion P, on the
-- establishment or on its legal unit), in the territory, NAF linked to the ROME in
-- ref_naf_rome, scored for the ROME as of $as_of.
-- Order: per-ROME hiring potential, then per-ROME expected hires, then siret (so that two
-- runs on the same data give the same lists). A company in cool-down for the agency
-- (promotion follow-up) is excluded ($cooldown_exclude) or put after the others.
-- Cap: a company keeps only its $max_lists best lists per territory ($max_lists = 0: no
-- cap), best = its lowest rank before the cap; others move up. Then top $top_n.
CREATE OR REPLACE TEMP TABLE target_rank AS
WITH eligible AS (
    SELECT e.siret, e.siren, e.naf_code, e.code_commune
    FROM etablissement e
    LEFT JOIN unite_legale ul USING (siren)
    WHERE e.etat_administratif = 'A'
      AND e.is_diffusible IS TRUE
      AND coalesce(e.statut_diffusion, '') <> 'P'
      AND ul.is_diffusible IS NOT FALSE
      AND coalesce(ul.statut_diffusion, '') <> 'P'
),
cand AS (
    SELECT ts.territory_level, ts.territory_code, ts.territory_name, r.code_rome,
           nr.rome_label, el.siret, r.hiring_potential, r.stars, r.expected_hires
    FROM score_etablissement_rome r
    JOIN eligible el USING (siret)
    JOIN ref_naf_rome nr ON nr.naf_code = el.naf_code AND nr.code_rome = r.code_rome
    JOIN territory_scope ts ON ts.code_commune = el.code_commune
    WHERE r.as_of = CAST($as_of AS DATE)
),
cool AS (
    SELECT c.siret, c.agency_code, c.code_rome, max(c.until) AS until,
           string_agg(DISTINCT c.reason, ' ; ') AS reason
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

CREATE OR REPLACE TEMP TABLE target_list AS
WITH listed AS (SELECT DISTINCT siret FROM target_rank),
offers AS (
    SELECT l.siret, o.offre_id, CAST(o.date_creation AS DATE) AS date_offre, o.intitule,
           o.code_rome, o.type_contrat, coalesce(o.entreprise_adaptee, false) AS adaptee
    FROM {{ links }} l
    JOIN {{ offers }} o USING (offre_id)
    WHERE l.siret IN (SELECT siret FROM listed)
      AND CAST(o.date_creation AS DATE) < CAST($as_of AS DATE)
),
offer_stats AS (
    SELECT siret,
        count(*) FILTER (WHERE date_offre >= CAST($as_of AS DATE) - INTERVAL 12 MONTH)
            AS offers_12m,
        bool_or(adaptee) AS entreprise_adaptee,
        list(struct_pack(date_offre := date_offre, intitule := intitule,
                         code_rome := code_rome, type_contrat := type_contrat)
             ORDER BY date_offre DESC, offre_id)[1:$last_offers] AS last_offers
    FROM offers GROUP BY siret
),
offer_rome AS (
    SELECT siret, code_rome, count(*) AS offers_12m_rome
    FROM offers WHERE date_offre >= CAST($as_of AS DATE) - INTERVAL 12 MONTH
    GROUP BY ALL
)
SELECT
    t.territory_level, t.territory_code, t.territory_name, t.code_rome, t.rome_label,
    t.rank, t.siret, e.siren,
    CAST(t.hiring_potential AS INTEGER) AS hiring_potential,
    CAST(t.stars AS INTEGER) AS stars,
    CAST(t.expected_hires AS DOUBLE) AS expected_hires_6m,
    CAST(s.hiring_potential AS INTEGER) AS hiring_potential_etablissement,
    CAST(s.p_hire AS DOUBLE) AS p_hire_etablissement,
    coalesce(s.reasons, []::VARCHAR[]) AS reasons,
    coalesce(nullif(ul.denomination, ''), nullif(trim(concat_ws(' ', ul.prenom, ul.nom)), ''),
             nullif(e.enseigne, ''), nullif(e.denomination_usuelle, ''), e.siret) AS name,
    coalesce(nullif(e.enseigne, ''), nullif(e.denomination_usuelle, '')) AS enseigne,
    e.adresse AS address, e.code_postal, e.code_commune, e.libelle_commune AS commune,
    e.code_departement, e.naf_code, n.libelle AS naf_label,
    e.tranche_effectifs, ul.categorie_entreprise, ul.categorie_juridique,
    coalesce(left(ul.categorie_juridique, 1) IN ('4', '7'), false) AS is_public,
    coalesce(ul.is_ess, false) AS is_ess,
    coalesce(os.entreprise_adaptee, false) AS is_entreprise_adaptee,
    coalesce(ul.societe_mission, false) AS is_societe_mission,
    coalesce(e.is_siege, false) AS is_siege,
    e.date_creation,
    e.latitude, e.longitude, coalesce(e.geo_precise, false) AS geo_precise,
    coalesce(os.offers_12m, 0) AS offers_12m,
    coalesce(orr.offers_12m_rome, 0) AS offers_12m_rome,
    CASE WHEN os.last_offers IS NULL THEN []::STRUCT(date_offre DATE, intitule VARCHAR,
        code_rome VARCHAR, type_contrat VARCHAR)[] ELSE os.last_offers END AS last_offers,
    t.in_cooldown, t.cooldown_until, t.cooldown_reason,
    CAST($as_of AS DATE) AS as_of
FROM target_rank t
JOIN etablissement e USING (siret)
LEFT JOIN unite_legale ul ON ul.siren = e.siren
LEFT JOIN score_etablissement s ON s.siret = t.siret AND s.as_of = CAST($as_of AS DATE)
LEFT JOIN ref_naf n ON n.naf_code = e.naf_code
LEFT JOIN offer_stats os ON os.siret = t.siret
LEFT JOIN offer_rome orr ON orr.siret = t.siret AND orr.code_rome = t.code_rome
ORDER BY t.territory_level, t.territory_code, t.code_rome, t.rank;
