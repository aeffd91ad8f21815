-- territory_partition: which partition ranks each territory of territory_scope, and
-- territory_partition_deps: per partition, the départements its candidates come from.
--
-- A partition is the set of territories whose communes (those holding candidates, from
-- target_candidate) lie mostly in one département, ties to the smallest code: a
-- département, its bassins and its agencies, plus the areas astride a border that lean
-- its way. Every territory is in exactly one partition, and sql/target_rank.sql ranks
-- one partition at a time, reading the candidates of `deps` only. Territories without any
-- candidate have no list and no partition.
CREATE OR REPLACE TEMP TABLE territory_partition AS
WITH cd AS (SELECT DISTINCT code_commune, code_departement FROM target_candidate),
t AS (
    SELECT ts.territory_level, ts.territory_code, cd.code_departement, count(*) AS n
    FROM territory_scope ts JOIN cd USING (code_commune)
    GROUP BY ALL
)
SELECT territory_level, territory_code,
       first(code_departement ORDER BY n DESC, code_departement) AS part
FROM t GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE territory_partition_deps AS
WITH cd AS (SELECT DISTINCT code_commune, code_departement FROM target_candidate)
SELECT p.part, list(DISTINCT cd.code_departement ORDER BY cd.code_departement) AS deps,
       count(DISTINCT (p.territory_level, p.territory_code)) AS territories
FROM territory_partition p
JOIN territory_scope ts USING (territory_level, territory_code)
JOIN cd USING (code_commune)
GROUP BY p.part;
