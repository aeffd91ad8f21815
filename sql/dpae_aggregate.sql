-- URSSAF DPAE quarterly aggregates. Two datasets share the table; loading one replaces
-- only its own rows (the other dataset's last good load is carried over).
-- secteur_code is the code of ref_dpae_secteur the export's sector value resolves to
-- (« GS1 Industrie » -> GS1, « CA Fabrication de … » -> CA; the resolution SQL comes from
-- ciblage/ingest/dpae.py, whose validation has already refused any value that resolves to nothing);
-- secteur_label is the rest of the value. Non-sector modalities (nca, _calage_) are kept
-- with their own code and join no establishment.
CREATE TABLE IF NOT EXISTS dpae_aggregate (
    dataset VARCHAR, code_region VARCHAR, code_departement VARCHAR, secteur_code VARCHAR,
    secteur_label VARCHAR, duree_contrat VARCHAR, nature_contrat VARCHAR, annee INTEGER,
    trimestre INTEGER, date_fin_trimestre DATE, dpae_brut DOUBLE, dpae_cvs DOUBLE
);
CREATE OR REPLACE TABLE dpae_aggregate__new AS
WITH s AS (  -- both exports' columns, NULL where the dataset has none
    SELECT * FROM {{ staging }}
    UNION ALL BY NAME
    SELECT NULL::VARCHAR AS code_departement, NULL::VARCHAR AS grand_secteur_d_activite,
           NULL::VARCHAR AS secteur_na38
    WHERE false
),
c AS (SELECT s.*, {{ secteur_code }} AS _secteur_code FROM s)
SELECT * FROM dpae_aggregate WHERE dataset <> '{{ dataset }}'
UNION ALL
SELECT
    '{{ dataset }}' AS dataset,
    code_region,
    code_departement,
    _secteur_code AS secteur_code,
    {{ secteur_label }} AS secteur_label,
    duree_de_contrat AS duree_contrat,
    nature_de_contrat AS nature_contrat,
    CAST(annee AS INTEGER) AS annee,
    CAST(right(trimestre, 1) AS INTEGER) AS trimestre,
    CAST(dernier_jour_du_trimestre AS DATE) AS date_fin_trimestre,
    CAST(replace(dpae_brut, ',', '.') AS DOUBLE) AS dpae_brut,
    CAST(replace(dpae_cvs, ',', '.') AS DOUBLE) AS dpae_cvs
FROM c;
