-- ROME v4 job titles (appellations) -> fiche and parent code.
CREATE OR REPLACE TABLE ref_rome_appellation__new AS
SELECT code_ogr, libelle_appellation_long AS libelle, code_rome, code_rome_parent
FROM {{ staging }}
ORDER BY code_ogr;
