-- offre: one row per France Travail job offer (Offres d'emploi API v2), typed and
-- deduplicated. Input {{ staging }}: the string columns of ciblage.sources.offres_json
-- (+ _file, _row) that passed the row rules of the `offres` spec (id present,
-- dateCreation an ISO timestamp); the WHERE below keeps that true for any caller.
-- An offer harvested several times (overlapping windows, daily harvests) keeps its latest
-- dateActualisation; ties go to the later file, then the later row, so reruns agree.
-- Timestamps are stored in UTC.
CREATE OR REPLACE TABLE offre__new AS
WITH typed AS (
    SELECT
        offre_id,
        timezone('UTC', TRY_CAST(date_creation AS TIMESTAMPTZ)) AS date_creation,
        timezone('UTC', TRY_CAST(date_actualisation AS TIMESTAMPTZ)) AS date_actualisation,
        intitule,
        upper(code_rome) AS code_rome,
        appellation,
        code_commune,
        code_postal,
        -- The département: from the commune code (97x overseas), else from the
        -- "57 - METZ" label the API gives when an offer has no commune.
        CASE
            WHEN code_commune LIKE '97%' THEN left(code_commune, 3)
            WHEN code_commune IS NOT NULL THEN left(code_commune, 2)
            ELSE nullif(regexp_extract(lieu_libelle, '^\s*(97\d|2[AB]|\d{2})\s*-', 1), '')
        END AS code_departement,
        TRY_CAST(latitude AS DOUBLE) AS latitude,
        TRY_CAST(longitude AS DOUBLE) AS longitude,
        entreprise_nom,
        -- SIRET as given (spaces removed); validity is judged when linking.
        nullif(replace(entreprise_siret, ' ', ''), '') AS entreprise_siret,
        TRY_CAST(entreprise_adaptee AS BOOLEAN) AS entreprise_adaptee,
        CASE WHEN regexp_full_match(secteur_activite, '\d{2}') THEN secteur_activite END
            AS secteur_activite,
        type_contrat,
        nature_contrat,
        TRY_CAST(nombre_postes AS INTEGER) AS nombre_postes,
        -- the company's public channels only (ciblage/contacts.py: never contact.nom,
        -- no personal e-mail or mobile phone)
        contact_url, contact_courriel, contact_telephone, contact_adresse, site_web,
        _file AS source_file,
        _row
    FROM {{ staging }}
)
SELECT * EXCLUDE (_row)
FROM typed
WHERE offre_id IS NOT NULL AND date_creation IS NOT NULL
QUALIFY row_number() OVER (
    PARTITION BY offre_id
    ORDER BY date_actualisation DESC NULLS LAST, source_file DESC, _row DESC
) = 1;
