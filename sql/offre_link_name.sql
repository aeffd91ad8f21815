-- offre_link_name: every name an establishment may appear under in an offer (enseigne,
-- denomination_usuelle, the legal unit's denomination, or first name + name of a natural
-- person), normalised, for the establishments that could be the employer of an offer:
-- in a département with offers to resolve, and not closed before the first day of the
-- first offer's month ($since; no bound on creation, which the SIRENE stock's date
-- bounds: the table is then kept for the next nights while its key holds,
-- ciblage/linking_names.py). The exact date check is per offer.
-- Names hidden by SIRENE for non-diffusible units ('[ND]') are no name.
-- Run once per slice of establishments (hash(siren) % {{ parts }} = {{ part }}, integers
-- written into the text: as prepared-statement parameters they cost three times the
-- join, 11.5 s against 3.6 s per national slice): the first creates the table, the next
-- ones insert into it. A slice joins only its own legal units.
-- One row per (establishment, distinct normalised name), as a DISTINCT over the four
-- names would give, without one: the names of a row are normalised side by side and a
-- name is kept only when it differs from the row's earlier ones. Measured on a quarter of
-- France: 7.2 s against 24 s for unpivoting, normalising each distinct spelling, joining
-- back and deduplicating rows (the same 4.9 M rows).
CREATE OR REPLACE TEMP TABLE offre_link_name_slice AS
SELECT
    e.siret, e.code_commune, e.code_departement, left(e.naf_code, 2) AS division,
    e.date_creation, e.date_fermeture,
    -- size rank: INSEE headcount band codes sort like the headcounts they stand for
    coalesce(TRY_CAST(e.tranche_effectifs AS INTEGER), -1) AS size_rank,
    nullif(e.enseigne, '[ND]') AS r1,
    nullif(e.denomination_usuelle, '[ND]') AS r2,
    nullif(u.denomination, '[ND]') AS r3,
    nullif(concat_ws(' ', nullif(u.prenom, '[ND]'), nullif(u.nom, '[ND]')), '') AS r4
FROM etablissement AS e
LEFT JOIN (SELECT * FROM unite_legale WHERE hash(siren) % {{ parts }} = {{ part }}) AS u
    USING (siren)
WHERE e.code_departement IN (SELECT DISTINCT code_departement FROM offre_link_query)
  AND hash(coalesce(e.siren, '')) % {{ parts }} = {{ part }}
  AND (e.date_fermeture IS NULL OR e.date_fermeture >= CAST($since AS DATE));

-- normalised from a stored slice: in the join's projection the same normalisation took
-- half as long again (10.6 s against 7.2 s for the slice and its names)
{{ into }}
WITH named AS MATERIALIZED (
    SELECT siret, code_commune, code_departement, division, date_creation, date_fermeture,
           size_rank,
           ciblage_normalise_name(r1) AS n1, ciblage_normalise_name(r2) AS n2,
           ciblage_normalise_name(r3) AS n3, ciblage_normalise_name(r4) AS n4
    FROM offre_link_name_slice
)
SELECT siret, code_commune, code_departement, division, date_creation, date_fermeture,
       size_rank, n1 AS name_norm
FROM named WHERE n1 IS NOT NULL
UNION ALL
SELECT siret, code_commune, code_departement, division, date_creation, date_fermeture,
       size_rank, n2
FROM named WHERE n2 IS NOT NULL AND n2 IS DISTINCT FROM n1
UNION ALL
SELECT siret, code_commune, code_departement, division, date_creation, date_fermeture,
       size_rank, n3
FROM named WHERE n3 IS NOT NULL AND n3 IS DISTINCT FROM n1 AND n3 IS DISTINCT FROM n2
UNION ALL
SELECT siret, code_commune, code_departement, division, date_creation, date_fermeture,
       size_rank, n4
FROM named
WHERE n4 IS NOT NULL AND n4 IS DISTINCT FROM n1 AND n4 IS DISTINCT FROM n2
  AND n4 IS DISTINCT FROM n3;

DROP TABLE offre_link_name_slice;
