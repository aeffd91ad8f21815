-- Commune -> bassin d'emploi as published by Pôle emploi (older COG vintage: codes of
-- merged communes still appear; ref_commune.sql maps them to current communes).
CREATE OR REPLACE TABLE ref_commune_bassin__new AS
SELECT code_insee AS code_commune, code_bassin_emploi AS code_bassin
FROM {{ staging }};
