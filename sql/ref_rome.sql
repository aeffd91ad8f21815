-- ROME v4 fiches and their historic (v3) parent code, used for rankings.
CREATE OR REPLACE TABLE ref_rome__new AS
SELECT code_rome, libelle_rome AS libelle, code_rome_parent
FROM {{ staging }}
ORDER BY code_rome;
