-- offre_link_name: every name an establishment may appear under in an offer (enseigne,
-- denomination_usuelle, the legal unit's denomination, or first name + name of a natural
-- person), normalised, for the establishments that could be the employer of an offer:
-- in a département with offers to resolve, and not closed before the first day of the
-- first offer's month ($since; no bound on creation, which the SIRENE stock's date
-- bounds: the table is then kept for the next nights while its key holds,
-- ciblage/linking_names.py). The exact date check is per offer.
-- Names hidden by SIRENE for non-diffusible units ('[ND]') are no name.
-- Run once per slice of establishments (hash(siren) % $parts = $part; ciblage/linking.py:
-- all of France at once ran out of memory): the first creates the table, the next ones
-- insert into it. A slice joins only its own legal units.
{{ into }}
WITH est AS (
    SELECT
        e.siret, e.code_commune, e.code_departement, left(e.naf_code, 2) AS division,
        e.date_creation, e.date_fermeture,
        -- size rank: INSEE headcount band codes sort like the headcounts they stand for
        coalesce(TRY_CAST(e.tranche_effectifs AS INTEGER), -1) AS size_rank,
        nullif(e.enseigne, '[ND]') AS enseigne,
        nullif(e.denomination_usuelle, '[ND]') AS denomination_usuelle,
        nullif(u.denomination, '[ND]') AS denomination,
        nullif(concat_ws(' ', nullif(u.prenom, '[ND]'), nullif(u.nom, '[ND]')), '') AS personne
    FROM etablissement AS e
    LEFT JOIN (SELECT * FROM unite_legale WHERE hash(siren) % $parts = $part) AS u USING (siren)
    WHERE e.code_departement IN (SELECT DISTINCT code_departement FROM offre_link_query)
      AND hash(coalesce(e.siren, '')) % $parts = $part
      AND (e.date_fermeture IS NULL OR e.date_fermeture >= CAST($since AS DATE))
),
raw AS (
    SELECT siret, code_commune, code_departement, division, date_creation, date_fermeture,
           size_rank, raw_name
    FROM est
    UNPIVOT (raw_name FOR kind IN (enseigne, denomination_usuelle, denomination, personne))
),
-- each distinct spelling normalised once (a legal unit's name is shared by its sites)
norm AS (
    SELECT raw_name, ciblage_normalise_name(raw_name) AS name_norm
    FROM (SELECT DISTINCT raw_name FROM raw)
)
SELECT DISTINCT siret, code_commune, code_departement, division, date_creation,
       date_fermeture, size_rank, name_norm
FROM raw
JOIN norm USING (raw_name)
WHERE name_norm IS NOT NULL;
