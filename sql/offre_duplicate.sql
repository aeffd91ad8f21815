-- offre_duplicate: offers read more than once in this load (the same id in several
-- harvested pages or exports), folded into one row of `offre` (the latest
-- dateActualisation). Kept so that nothing is merged silently: copies and files per id.
CREATE OR REPLACE TABLE offre_duplicate__new AS
SELECT
    offre_id,
    count(*) AS copies,
    list(DISTINCT _file ORDER BY _file) AS files,
    max(date_actualisation) AS latest_actualisation
FROM {{ staging }}
WHERE offre_id IS NOT NULL
GROUP BY offre_id
HAVING count(*) > 1;
