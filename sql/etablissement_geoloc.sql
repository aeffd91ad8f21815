-- INSEE geolocation of establishments (WGS84). qualite_xy = 33 is a random point in the
-- commune, not the establishment's position: flagged imprecise.
CREATE OR REPLACE TABLE etablissement_geoloc__new AS
SELECT siret,
       try_cast(replace(y_latitude, ',', '.') AS DOUBLE) AS latitude,
       try_cast(replace(x_longitude, ',', '.') AS DOUBLE) AS longitude,
       coalesce(qualite_xy NOT IN ('33'), false) AS geo_precise,
       qualite_xy
FROM {{ staging }}
WHERE y_latitude IS NOT NULL AND x_longitude IS NOT NULL;
