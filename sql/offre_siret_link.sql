-- offre_siret_link: the establishment behind each job offer that could be linked.
-- 'siret': the offer states a valid SIRET (Luhn, La Poste rule) known to SIRENE, 1.0.
-- 'entity_resolution': the best candidate of ciblage/linking.py (offre_link_best),
-- active at the offer date, with confidence >= the threshold. Offers absent here are
-- unlinked; their count by reason is in the run ledger.
CREATE OR REPLACE TABLE offre_siret_link__new AS
SELECT offre_id, siret, 'siret' AS method, 1.0::DOUBLE AS confidence
FROM offre_link_siret
UNION ALL
SELECT offre_id, siret, 'entity_resolution' AS method, round(confidence, 4) AS confidence
FROM offre_link_best;
