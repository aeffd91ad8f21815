-- Establishments per (commune, département): what the territory tables need from
-- `etablissement` (communes missing from the COG, bassins named after their busiest
-- communes, the départements of a rerun's communes), read from 40 k rows instead of
-- scanning 43 M establishments at every ranking, preflight and territory rerun.
-- Built right after etablissement__new, in the same swap (ciblage/ingest/load.py).
CREATE OR REPLACE TABLE etablissement_commune__new AS
SELECT
    code_commune,
    code_departement,
    count(*) AS n_etablissements,
    count(*) FILTER (WHERE etat_administratif = 'A') AS n_actifs
FROM etablissement__new
GROUP BY ALL
ORDER BY code_commune, code_departement;
