-- etablissement_reason: the reasons of the establishments a list or a match shows, in
-- plain French (a temp table: siret, reasons VARCHAR[], best first).
--
-- {{ codes }}: siret, r1, r2, r3 (reason group codes chosen by scoring/reasons.py, NULL =
-- none), label_mode, of the establishments shown (scoring/reason_table.py).
-- {{ features }}: their feature rows at the scores' as-of (feature_etablissement).
-- Group codes: 0 offres, 1 embauches, 2 entreprise, 3 territoire, 4 secteur, 5 tension,
-- 6 saison, 7 profil. Each sentence quotes the stored feature values, and reasons.py only
-- picks a group when its value supports the sentence.
CREATE OR REPLACE TEMP MACRO reason_text(code, c, mode) AS
    CASE code
    WHEN 0 THEN CASE WHEN c.offers_6m >= 1
        THEN printf('a publié %d offre%s en 6 mois', c.offers_6m::BIGINT,
                    CASE WHEN c.offers_6m > 1 THEN 's' ELSE '' END)
        ELSE printf('a publié %d offre%s en 12 mois', c.offers_12m::BIGINT,
                    CASE WHEN c.offers_12m > 1 THEN 's' ELSE '' END) END
    WHEN 1 THEN printf('a recruté %d personne%s sur les 12 derniers mois',
                       c.hires_12m::BIGINT, CASE WHEN c.hires_12m > 1 THEN 's' ELSE '' END)
    WHEN 2 THEN CASE WHEN mode = 'hires_siret' AND c.siren_hires_12m - c.hires_12m >= 1
        THEN printf('son entreprise (%d établissements) a recruté %d personne%s ailleurs en 12 mois',
                    c.siren_n_etab::BIGINT, (c.siren_hires_12m - c.hires_12m)::BIGINT,
                    CASE WHEN c.siren_hires_12m - c.hires_12m > 1 THEN 's' ELSE '' END)
        WHEN c.siren_offers_12m - c.offers_12m >= 1
        THEN printf('son entreprise (%d établissements) a publié %d offre%s ailleurs en 12 mois',
                    c.siren_n_etab::BIGINT, (c.siren_offers_12m - c.offers_12m)::BIGINT,
                    CASE WHEN c.siren_offers_12m - c.offers_12m > 1 THEN 's' ELSE '' END)
        ELSE printf('son entreprise (%d établissements) a recruté %d personne%s ailleurs en 12 mois',
                    c.siren_n_etab::BIGINT, (c.siren_hires_12m - c.hires_12m)::BIGINT,
                    CASE WHEN c.siren_hires_12m - c.hires_12m > 1 THEN 's' ELSE '' END) END
    WHEN 3 THEN CASE WHEN round(c.dpae_dep_gs_trend * 100) >= 1
        THEN printf('secteur qui embauche +%d %% sur un an (%s, %s)',
                    round(c.dpae_dep_gs_trend * 100)::BIGINT,
                    coalesce(c.grand_secteur, 'secteur'),
                    coalesce(c.dep_libelle, 'département ' || c.code_departement))
        ELSE printf('secteur qui embauche +%d %% sur un an dans la région (%s)',
                    round(c.dpae_reg_a38_trend * 100)::BIGINT,
                    coalesce(c.region_libelle, 'région')) END
    WHEN 4 THEN CASE WHEN mode = 'hires_siret'
        THEN printf('secteur « %s » : %s embauches par établissement en 12 mois',
                    coalesce(c.naf_libelle, c.naf_code),
                    replace(printf('%.1f', c.naf_hires_rate_12m), '.', ','))
        ELSE printf('secteur « %s » : %s offres par établissement en 12 mois',
                    coalesce(c.naf_libelle, c.naf_code),
                    replace(printf('%.1f', c.naf_offers_rate_12m), '.', ',')) END
    WHEN 5 THEN printf('métiers du secteur en tension : %d %% des recrutements jugés difficiles (BMO)',
                       round(c.naf_tension_pct)::BIGINT)
    WHEN 6 THEN printf('le secteur recrute davantage à cette période : +%d %% l''an dernier par rapport à la moyenne',
                       round(((CASE WHEN mode = 'hires_siret' THEN c.naf_hires_season_ratio
                                    ELSE c.naf_offers_season_ratio END) - 1) * 100)::BIGINT)
    WHEN 7 THEN 'établissement'
        || CASE WHEN c.effectif_rank IS NOT NULL
                THEN ' ' || CASE WHEN c.effectif_rank = 0 THEN '' ELSE 'de ' END
                     || ['sans salarié', '1 ou 2 salariés', '3 à 5 salariés', '6 à 9 salariés',
                        '10 à 19 salariés', '20 à 49 salariés', '50 à 99 salariés',
                        '100 à 199 salariés', '200 à 249 salariés', '250 à 499 salariés',
                        '500 à 999 salariés', '1 000 à 1 999 salariés', '2 000 à 4 999 salariés',
                        '5 000 à 9 999 salariés', '10 000 salariés et plus'][c.effectif_rank::BIGINT + 1] ELSE '' END
        || CASE WHEN c.age_years IS NULL THEN ''
                WHEN c.age_years < 1 THEN ' créé il y a moins d''un an'
                WHEN floor(c.age_years) = 1 THEN ' créé il y a 1 an'
                ELSE printf(' créé il y a %d ans', floor(c.age_years)::BIGINT) END
    END;

CREATE OR REPLACE TEMP TABLE etablissement_reason AS
WITH ctx AS (
    SELECT f.siret, f.code_departement, f.naf_code, f.offers_6m, f.offers_12m, f.hires_12m,
        f.siren_n_etab, f.siren_hires_12m, f.siren_offers_12m, f.dpae_dep_gs_trend,
        f.dpae_reg_a38_trend, f.naf_hires_rate_12m, f.naf_offers_rate_12m, f.naf_tension_pct,
        f.naf_hires_season_ratio, f.naf_offers_season_ratio, f.effectif_rank, f.age_years,
        n.libelle AS naf_libelle, n.grand_secteur,
        d.libelle AS dep_libelle, rg.libelle AS region_libelle
    FROM {{ features }} f
    LEFT JOIN ref_naf n ON n.naf_code = f.naf_code
    LEFT JOIN ref_departement d ON d.code_departement = f.code_departement
    LEFT JOIN ref_region rg ON rg.code_region = d.code_region
)
SELECT r.siret,
    list_filter(
        [reason_text(r.r1, c, r.label_mode), reason_text(r.r2, c, r.label_mode),
         reason_text(r.r3, c, r.label_mode)],
        lambda x: x IS NOT NULL
    ) AS reasons
FROM {{ codes }} r JOIN ctx c USING (siret);
