-- agence_mirror: the agencies whose lists are a bassin's lists, copied rather than ranked
-- again (scoring/agency_mirror.py). Without an agency mapping each bassin is one agency
-- area: the same communes, hence the same candidates and the same lists, a third of all
-- of France's ranking done twice. An agency is mirrored when a bassin in scope has exactly
-- its communes and no promotion cool-down of the agency is running at $as_of (cool-downs
-- reorder or remove an agency's rows only). {{ cooldown }}: promotion_cooldown, or an
-- empty relation when cool-downs are ignored or the follow-up has never run.
CREATE OR REPLACE TEMP TABLE agence_mirror AS
WITH areas AS (
    SELECT territory_level, territory_code,
           list(code_commune ORDER BY code_commune) AS communes
    FROM territory_scope
    WHERE territory_level IN ('agence', 'bassin')
    GROUP BY ALL
),
paused AS (
    SELECT DISTINCT agency_code FROM {{ cooldown }} WHERE until > CAST($as_of AS DATE)
)
SELECT a.territory_code AS agency_code, min(b.territory_code) AS bassin_code
FROM areas a
JOIN areas b ON b.territory_level = 'bassin' AND b.communes = a.communes
WHERE a.territory_level = 'agence'
  AND a.territory_code NOT IN (SELECT agency_code FROM paused WHERE agency_code IS NOT NULL)
GROUP BY ALL;
