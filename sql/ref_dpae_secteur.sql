-- URSSAF DPAE sector nomenclatures (grand secteur GS1..GS7, NA38), one row per
-- (nomenclature, code), from data/reference/dpae_secteurs.csv. The exports write a sector
-- as "<code> <label>"; ingestion resolves the code against this table and fails loudly on
-- a value that is not in it (ciblage/ingest/dpae.py). role 'excluded' marks modalities
-- that are not sectors (nca, the CVS '_calage_' rows): known, kept, joined to nothing.
CREATE OR REPLACE TABLE ref_dpae_secteur__new AS
SELECT
    trim(nomenclature) AS nomenclature,
    trim(code) AS code,
    coalesce(trim(libelle), '') AS libelle,
    trim(role) AS role,
    list_filter(string_split(coalesce(trim(naf_a38), ''), ' '), lambda x: x <> '') AS naf_a38,
    list_filter(string_split(coalesce(trim(naf_inclus), ''), ' '), lambda x: x <> '') AS naf_inclus,
    list_filter(string_split(coalesce(trim(naf_exclus), ''), ' '), lambda x: x <> '') AS naf_exclus
FROM {{ staging }}
ORDER BY nomenclature, code;
