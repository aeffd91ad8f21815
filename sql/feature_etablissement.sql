-- Features of every establishment active at $as_of (T), from data strictly before T.
--
-- Builds {{ target }}: a table the scoring stage renames feature_etablissement (the T
-- snapshot; {{ temp }} empty), temporary for the training snapshots at T-6, T-12, ... {{ scope }} is a SQL
-- predicate on the establishment (alias e) that restricts the OUTPUT rows only (territory
-- reruns): SIREN, sector and territory aggregates are always computed on the whole
-- warehouse so that a territory rerun gives the same features as a national run.
-- {{ siren_scope }}: the companies whose aggregates are computed, those of the output rows
-- (`scoring.features.build_features` derives it from {{ scope }}; TRUE for every row): a
-- company's aggregates read all its establishments, so a row's features do not change,
-- but a training sample of 125 k establishments no longer aggregates 15 M companies (a
-- quarter of a national training snapshot's build).
--
-- No leakage: hires count only for months fully elapsed before T, offers created before T,
-- DPAE quarters published before T ($dpae_lag_days after the quarter's end), the
-- population is establishments created before T and not closed before T. What cannot be
-- avoided with a current-state SIRENE snapshot (headcount band, NAF, head-office flag and
-- company category of today applied to past snapshots) is documented in docs/features.md.
-- Every feature is documented in docs/features.md.
CREATE OR REPLACE {{ temp }} TABLE {{ target }} AS
WITH params AS (
    SELECT
        CAST($as_of AS DATE) AS t,
        CAST($horizon_months AS INTEGER) AS h,
        CAST($dpae_lag_days AS INTEGER) AS dpae_lag
),
pop AS (
    -- population at T: created before T, not closed before T
    SELECT e.siret, e.siren, e.naf_code, e.code_departement, e.code_commune,
           e.tranche_effectifs, e.date_creation, e.is_siege, e.caractere_employeur
    FROM etablissement e, params p
    WHERE (e.date_creation IS NULL OR e.date_creation < p.t)
      AND (e.date_fermeture IS NULL OR e.date_fermeture >= p.t)
      AND NOT (e.etat_administratif = 'F' AND e.date_fermeture IS NULL)
),
-- the legal units of the companies of the output rows (nationally 14 M of 28 M), narrow:
-- joined to the establishments with its hash table on them, not on the wide rows
ul AS MATERIALIZED (
    SELECT siren, categorie_juridique, is_ess, categorie_entreprise FROM unite_legale
    WHERE siren IN (SELECT siren FROM pop WHERE {{ siren_scope }})
),
naf AS (
    SELECT naf_code, division, a38, a21, grand_secteur FROM ref_naf
),
-- DPAE sector codes of each NAF (ref_naf_dpae, from data/reference/dpae_secteurs.csv):
-- the DPAE join is on codes (GS1, CA, ...), never on labels
naf_dpae AS (
    SELECT naf_code, grand_secteur_code, na38_code FROM ref_naf_dpae
),
region_of_dep AS (
    SELECT code_departement, any_value(code_region) AS code_region
    FROM ref_departement GROUP BY 1
),
-- past hiring events of every establishment, within 24 months before T
hire_ev AS (
    SELECT hs.siret, CAST(hs.mois AS DATE) AS d, CAST(hs.nombre_embauches AS DOUBLE) AS n
    FROM hires_siret hs, params p
    WHERE CAST(hs.mois AS DATE) + INTERVAL 1 MONTH <= p.t      -- month fully elapsed
      AND CAST(hs.mois AS DATE) >= p.t - INTERVAL 24 MONTH
),
offer_ev AS (
    SELECT l.siret, CAST(o.date_creation AS DATE) AS d,
           CAST(coalesce(o.nombre_postes, 1) AS DOUBLE) AS postes
    FROM offre o JOIN offre_siret_link l USING (offre_id), params p
    WHERE o.date_creation < p.t
      AND o.date_creation >= p.t - INTERVAL 24 MONTH
      AND l.siret IS NOT NULL
),
sig_hire AS (
    SELECT siret,
        sum(n) FILTER (WHERE d >= p.t - INTERVAL 3 MONTH) AS hires_3m,
        sum(n) FILTER (WHERE d >= p.t - INTERVAL 6 MONTH) AS hires_6m,
        sum(n) FILTER (WHERE d >= p.t - INTERVAL 12 MONTH) AS hires_12m,
        sum(n) AS hires_24m,
        sum(n) FILTER (WHERE d >= p.t - INTERVAL 12 MONTH AND d < p.t - INTERVAL 6 MONTH)
            AS hires_prev_6m,
        sum(n) FILTER (WHERE d >= p.t - INTERVAL 12 MONTH AND d < p.t - INTERVAL 12 MONTH
                       + to_months(least(p.h, 12))) AS hires_same_season_1y
    FROM hire_ev, params p GROUP BY siret
),
sig_offer AS (
    SELECT siret,
        count(*) FILTER (WHERE d >= p.t - INTERVAL 3 MONTH) AS offers_3m,
        count(*) FILTER (WHERE d >= p.t - INTERVAL 6 MONTH) AS offers_6m,
        count(*) FILTER (WHERE d >= p.t - INTERVAL 12 MONTH) AS offers_12m,
        count(*) AS offers_24m,
        count(*) FILTER (WHERE d >= p.t - INTERVAL 12 MONTH AND d < p.t - INTERVAL 6 MONTH)
            AS offers_prev_6m,
        sum(postes) FILTER (WHERE d >= p.t - INTERVAL 12 MONTH) AS postes_12m,
        count(*) FILTER (WHERE d >= p.t - INTERVAL 12 MONTH AND d < p.t - INTERVAL 12 MONTH
                         + to_months(least(p.h, 12))) AS offers_same_season_1y,
        max(d) AS last_offer_date
    FROM offer_ev, params p GROUP BY siret
),
sig AS (
    SELECT pop.siret, pop.siren,
        coalesce(h.hires_3m, 0) AS hires_3m, coalesce(h.hires_6m, 0) AS hires_6m,
        coalesce(h.hires_12m, 0) AS hires_12m, coalesce(h.hires_24m, 0) AS hires_24m,
        coalesce(h.hires_prev_6m, 0) AS hires_prev_6m,
        coalesce(h.hires_same_season_1y, 0) AS hires_same_season_1y,
        coalesce(o.offers_3m, 0) AS offers_3m, coalesce(o.offers_6m, 0) AS offers_6m,
        coalesce(o.offers_12m, 0) AS offers_12m, coalesce(o.offers_24m, 0) AS offers_24m,
        coalesce(o.offers_prev_6m, 0) AS offers_prev_6m,
        coalesce(o.postes_12m, 0) AS postes_12m,
        coalesce(o.offers_same_season_1y, 0) AS offers_same_season_1y, o.last_offer_date
    FROM pop LEFT JOIN sig_hire h USING (siret) LEFT JOIN sig_offer o USING (siret)
),
-- the company (SIREN): all its establishments' past signal, and its size at T. Summed
-- for the companies of several establishments only: a company of one has its
-- establishment's signal (the coalesces of the final SELECT; siren is never NULL, the
-- ingest quarantines a SIRET that is not its SIREN + NIC), and grouping then joining all
-- 14 M companies of 16 M establishments was the build's largest cost.
multi_siren AS (
    SELECT siren FROM pop WHERE {{ siren_scope }} GROUP BY siren HAVING count(*) > 1
),
siren_sig AS (
    SELECT siren,
        count(*) AS siren_n_etab,
        sum(hires_6m) AS siren_hires_6m, sum(hires_12m) AS siren_hires_12m,
        sum(hires_24m) AS siren_hires_24m, sum(hires_prev_6m) AS siren_hires_prev_6m,
        sum(offers_6m) AS siren_offers_6m, sum(offers_12m) AS siren_offers_12m,
        sum(offers_24m) AS siren_offers_24m, sum(offers_prev_6m) AS siren_offers_prev_6m
    FROM sig WHERE siren IN (SELECT siren FROM multi_siren) GROUP BY siren
),
-- sector (NAF sous-classe) hiring rate and seasonality, per establishment at T
naf_sig AS (
    SELECT pop.naf_code,
        count(*) AS naf_n_etab,
        sum(s.hires_12m) / count(*) AS naf_hires_rate_12m,
        sum(s.offers_12m) / count(*) AS naf_offers_rate_12m,
        sum(s.hires_same_season_1y) / nullif(sum(s.hires_12m), 0)
            * 12.0 / least(any_value(p.h), 12) AS naf_hires_season_ratio,
        sum(s.offers_same_season_1y) / nullif(sum(s.offers_12m), 0)
            * 12.0 / least(any_value(p.h), 12) AS naf_offers_season_ratio
    FROM pop JOIN sig s USING (siret), params p GROUP BY pop.naf_code
),
-- DPAE aggregates: last 4 published quarters before T vs the 4 before
dpae AS (
    SELECT a.dataset, a.code_departement, a.code_region, a.secteur_code, a.secteur_label,
           a.date_fin_trimestre AS q, sum(a.dpae_brut) AS v
    FROM dpae_aggregate a, params p
    WHERE a.date_fin_trimestre + to_days(p.dpae_lag) < p.t
      -- ensemble rows, when an export has them, would double count their parts
      AND coalesce(lower(a.nature_contrat), '') NOT IN ('total', 'tous', 'toutes')
    GROUP BY ALL
),
dpae_anchor AS (SELECT dataset, max(q) AS q_last FROM dpae GROUP BY dataset),
dpae_dep AS (
    SELECT d.code_departement, d.secteur_code,
        sum(v) FILTER (WHERE q > an.q_last - INTERVAL 12 MONTH) AS dpae_12m,
        sum(v) FILTER (WHERE q <= an.q_last - INTERVAL 12 MONTH
                       AND q > an.q_last - INTERVAL 24 MONTH) AS dpae_prev_12m
    FROM dpae d JOIN dpae_anchor an USING (dataset)
    WHERE d.dataset = 'departement_grand_secteur' GROUP BY ALL
),
dpae_reg AS (
    SELECT d.code_region, d.secteur_code,
        sum(v) FILTER (WHERE q > an.q_last - INTERVAL 12 MONTH) AS dpae_12m,
        sum(v) FILTER (WHERE q <= an.q_last - INTERVAL 12 MONTH
                       AND q > an.q_last - INTERVAL 24 MONTH) AS dpae_prev_12m
    FROM dpae d JOIN dpae_anchor an USING (dataset)
    WHERE d.dataset = 'region_na38' GROUP BY ALL
),
-- establishments of each territory x sector at T, to normalise DPAE volumes: summed from
-- the counts per département x NAF (73 k rows), not from all establishments' rows
pop_dep_naf AS (SELECT code_departement, naf_code, count(*) AS n FROM pop GROUP BY ALL),
n_dep_gs AS (
    SELECT c.code_departement, nd.grand_secteur_code, CAST(sum(c.n) AS BIGINT) AS n
    FROM pop_dep_naf c LEFT JOIN naf_dpae nd USING (naf_code) GROUP BY ALL
),
n_reg_a38 AS (
    SELECT r.code_region, nd.na38_code, CAST(sum(c.n) AS BIGINT) AS n
    FROM pop_dep_naf c LEFT JOIN naf_dpae nd USING (naf_code)
    LEFT JOIN region_of_dep r USING (code_departement) GROUP BY ALL
),
-- recruitment tension of the sector's trades, weighted by the NAF's hires per ROME
naf_tension AS (
    SELECT nr.naf_code,
        sum(nr.share_of_naf * t.tension_pct)
            / nullif(sum(nr.share_of_naf) FILTER (WHERE t.tension_pct IS NOT NULL), 0)
            AS naf_tension_pct
    FROM ref_naf_rome nr LEFT JOIN ref_tension t USING (code_rome)
    GROUP BY nr.naf_code
)
SELECT
    p.t AS as_of,
    e.siret,
    e.siren,
    e.code_departement,
    e.naf_code,
    -- sector at several levels (categorical codes for the model)
    TRY_CAST(n.division AS INTEGER) AS naf_division,
    CASE WHEN n.a21 IS NOT NULL THEN ascii(n.a21) - 65 END AS naf_section,
    ns.naf_n_etab,
    ns.naf_hires_rate_12m,
    ns.naf_offers_rate_12m,
    ns.naf_hires_season_ratio,
    ns.naf_offers_season_ratio,
    -- size and age
    CASE e.tranche_effectifs
        WHEN '00' THEN 0 WHEN '01' THEN 1 WHEN '02' THEN 2 WHEN '03' THEN 3
        WHEN '11' THEN 4 WHEN '12' THEN 5 WHEN '21' THEN 6 WHEN '22' THEN 7
        WHEN '31' THEN 8 WHEN '32' THEN 9 WHEN '41' THEN 10 WHEN '42' THEN 11
        WHEN '51' THEN 12 WHEN '52' THEN 13 WHEN '53' THEN 14 END AS effectif_rank,
    CASE WHEN e.date_creation IS NOT NULL
         THEN datediff('day', e.date_creation, p.t) / 365.25 END AS age_years,
    CAST(e.is_siege AS INTEGER) AS is_siege,
    CASE WHEN e.caractere_employeur = 'O' THEN 1 WHEN e.caractere_employeur = 'N' THEN 0
         END AS is_employer,
    -- the company
    TRY_CAST(left(u.categorie_juridique, 2) AS INTEGER) AS categorie_juridique_2,
    CAST(u.is_ess AS INTEGER) AS is_ess,
    CASE u.categorie_entreprise WHEN 'PME' THEN 1 WHEN 'ETI' THEN 2 WHEN 'GE' THEN 3
         END AS categorie_entreprise_rank,
    coalesce(ss.siren_n_etab, 1) AS siren_n_etab,
    -- past hiring signal of the establishment
    s.hires_3m, s.hires_6m, s.hires_12m, s.hires_24m, s.hires_prev_6m,
    ln(1 + s.hires_6m) - ln(1 + s.hires_prev_6m) AS hires_trend,
    s.offers_3m, s.offers_6m, s.offers_12m, s.offers_24m, s.offers_prev_6m,
    ln(1 + s.offers_6m) - ln(1 + s.offers_prev_6m) AS offers_trend,
    s.postes_12m,
    CASE WHEN s.last_offer_date IS NOT NULL
         THEN datediff('day', s.last_offer_date, p.t) END AS days_since_last_offer,
    -- past hiring signal of the company (all its establishments)
    coalesce(ss.siren_hires_6m, s.hires_6m) AS siren_hires_6m,
    coalesce(ss.siren_hires_12m, s.hires_12m) AS siren_hires_12m,
    coalesce(ss.siren_hires_24m, s.hires_24m) AS siren_hires_24m,
    ln(1 + coalesce(ss.siren_hires_6m, s.hires_6m))
        - ln(1 + coalesce(ss.siren_hires_prev_6m, s.hires_prev_6m)) AS siren_hires_trend,
    CAST(coalesce(ss.siren_offers_6m, s.offers_6m) AS HUGEINT) AS siren_offers_6m,
    CAST(coalesce(ss.siren_offers_12m, s.offers_12m) AS HUGEINT) AS siren_offers_12m,
    CAST(coalesce(ss.siren_offers_24m, s.offers_24m) AS HUGEINT) AS siren_offers_24m,
    ln(1 + coalesce(ss.siren_offers_6m, s.offers_6m))
        - ln(1 + coalesce(ss.siren_offers_prev_6m, s.offers_prev_6m)) AS siren_offers_trend,
    -- territory x sector hiring (URSSAF DPAE), per establishment of the territory x sector
    dd.dpae_12m / nullif(ndg.n, 0) AS dpae_dep_gs_per_etab,
    dd.dpae_12m / nullif(dd.dpae_prev_12m, 0) - 1 AS dpae_dep_gs_trend,
    dr.dpae_12m / nullif(nra.n, 0) AS dpae_reg_a38_per_etab,
    dr.dpae_12m / nullif(dr.dpae_prev_12m, 0) - 1 AS dpae_reg_a38_trend,
    -- recruitment tension (BMO) of the sector's trades
    nt.naf_tension_pct,
    -- seasonality of T
    sin(2 * pi() * month(p.t) / 12) AS asof_month_sin,
    cos(2 * pi() * month(p.t) / 12) AS asof_month_cos,
    -- months of hiring signal the sources hold before T (at most 24): the exposure of the
    -- 24-month counts above when the data starts less than 24 months before T
    hh.months AS hires_history_months,
    oh.months AS offers_history_months
FROM pop e
CROSS JOIN params p
JOIN sig s USING (siret)
LEFT JOIN siren_sig ss ON ss.siren = e.siren
LEFT JOIN ul u ON u.siren = e.siren
LEFT JOIN naf n ON n.naf_code = e.naf_code
LEFT JOIN naf_sig ns ON ns.naf_code = e.naf_code
-- the establishment's territory x sector, from the small tables (a 16 M-row context
-- joined by SIRET was about a sixth of the build)
LEFT JOIN naf_dpae nd ON nd.naf_code = e.naf_code
LEFT JOIN region_of_dep r ON r.code_departement = e.code_departement
LEFT JOIN dpae_dep dd ON dd.code_departement = e.code_departement
    AND dd.secteur_code = nd.grand_secteur_code
LEFT JOIN n_dep_gs ndg ON ndg.code_departement = e.code_departement
    AND ndg.grand_secteur_code = nd.grand_secteur_code
LEFT JOIN dpae_reg dr ON dr.code_region = r.code_region AND dr.secteur_code = nd.na38_code
LEFT JOIN n_reg_a38 nra ON nra.code_region = r.code_region
    AND nra.na38_code = nd.na38_code
LEFT JOIN naf_tension nt ON nt.naf_code = e.naf_code
CROSS JOIN (
    SELECT least(24, greatest(0, datediff('month', min(CAST(hs.mois AS DATE)), any_value(p.t))))
        AS months
    FROM hires_siret hs, params p WHERE CAST(hs.mois AS DATE) < p.t
) hh
CROSS JOIN (
    SELECT least(24, greatest(0, datediff('month', min(CAST(o.date_creation AS DATE)),
                                          any_value(p.t)))) AS months
    FROM offre o JOIN offre_siret_link l USING (offre_id), params p
    WHERE l.siret IS NOT NULL AND o.date_creation < p.t
) oh
WHERE {{ scope }};
