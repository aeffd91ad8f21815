-- Hirings per (NAF, ROME v3) and the share of the NAF's hirings each ROME represents:
-- the weight that turns an establishment's potential into per-ROME potentials.
CREATE OR REPLACE TABLE ref_naf_rome__new AS
WITH h AS (
    SELECT naf_id AS naf_code, rome_id AS code_rome, any_value(rome_label) AS rome_label,
           sum(CAST(hirings AS BIGINT)) AS hirings
    FROM {{ staging }}
    GROUP BY ALL
)
SELECT naf_code, code_rome, rome_label, hirings,
       hirings / nullif(sum(hirings) OVER (PARTITION BY naf_code), 0) AS share_of_naf
FROM h
ORDER BY naf_code, code_rome;
