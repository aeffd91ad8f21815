-- La Poste postal codes -> INSEE commune, with the "lat, lon" of the delivery area.
CREATE OR REPLACE TABLE ref_code_postal__new AS
SELECT DISTINCT
    Code_postal AS code_postal,
    Code_commune_INSEE AS code_commune,
    Libelle_acheminement AS libelle_acheminement,
    try_cast(trim(split_part(coordonnees_gps, ',', 1)) AS DOUBLE) AS latitude,
    try_cast(trim(split_part(coordonnees_gps, ',', 2)) AS DOUBLE) AS longitude
FROM {{ staging }};
