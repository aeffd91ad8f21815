-- offre_link_pair: candidate (query, establishment name) pairs of one blocking pass.
-- A pair shares at least one name word (2+ characters) inside the block:
--   pass 'commune'     : same commune;
--   pass 'departement' : same département and same NAF division, for the queries of
--                        offers still unlinked ({{ pending }} lists their q_id).
-- Words carried by more than $max_token_df establishment names of a block are too common
-- to block on (they would pair every query with the whole block); the other words of the
-- name still do. Pairs of both passes accumulate in the table.
CREATE TABLE IF NOT EXISTS offre_link_pair (
    q_id BIGINT, siret VARCHAR, e_name VARCHAR, commune_match BOOLEAN,
    sector_match BOOLEAN, pass VARCHAR
);
INSERT INTO offre_link_pair
WITH q AS (
    SELECT DISTINCT q_id, name_norm, code_commune, code_departement, division
    FROM offre_link_query
    WHERE q_id IN (SELECT q_id FROM {{ pending }})
      AND {{ block_key_not_null }}
),
qt AS (
    SELECT DISTINCT q_id, {{ block_cols }}, unnest(string_split(name_norm, ' ')) AS token
    FROM q
),
et AS (
    SELECT siret, name_norm, {{ block_cols }}, unnest(string_split(name_norm, ' ')) AS token
    FROM offre_link_name
    SEMI JOIN (SELECT DISTINCT {{ block_cols }} FROM q) AS b USING ({{ block_cols }})
),
df AS (
    SELECT {{ block_cols }}, token
    FROM et
    GROUP BY ALL
    HAVING count(DISTINCT siret) <= $max_token_df
),
hits AS (
    SELECT DISTINCT qt.q_id, et.siret, et.name_norm AS e_name
    FROM qt
    JOIN df USING ({{ block_cols }}, token)
    JOIN et USING ({{ block_cols }}, token)
    WHERE length(qt.token) >= 2
)
SELECT
    h.q_id, h.siret, h.e_name,
    n.code_commune IS NOT DISTINCT FROM q.code_commune AS commune_match,
    n.division = q.division AS sector_match,
    '{{ pass_name }}' AS pass
FROM hits AS h
JOIN q USING (q_id)
JOIN (SELECT DISTINCT siret, code_commune, division FROM offre_link_name) AS n USING (siret);
