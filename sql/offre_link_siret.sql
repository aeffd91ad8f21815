-- offre_link_siret: offers whose stated SIRET passes the checksum ({{ valid_sirets }},
-- computed by ciblage.quality.luhn) and is a SIRENE establishment: linked with certainty.
CREATE OR REPLACE TABLE offre_link_siret AS
SELECT o.offre_id, o.entreprise_siret AS siret
FROM offre AS o
JOIN {{ valid_sirets }} AS v ON v.siret = o.entreprise_siret
SEMI JOIN etablissement AS e ON e.siret = o.entreprise_siret;
