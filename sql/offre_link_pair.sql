-- offre_link_pair: candidate (query, establishment name) pairs of one blocking pass.
-- A pair shares a name word (2+ characters) inside the block:
--   pass 'commune'     : same commune;
--   pass 'departement' : same département and same NAF division, for the queries of
--                        offers still unlinked ({{ pending }} lists their q_id).
-- Each query blocks on its $block_words rarest words in the block (by the number of
-- establishment names carrying them), plus any word carried by at most $max_token_df
-- names: "BOULANGERIE MARTIN" in a big town pairs with the MARTINs, not with every bakery,
-- which bounds the pairs per query whatever the size of the town. Both passes accumulate.
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
    SELECT DISTINCT q_id, {{ block_cols }}, token
    FROM (SELECT *, unnest(string_split(name_norm, ' ')) AS token FROM q)
    WHERE length(token) >= 2
),
-- establishment words, only for (block, word) that some query carries
et AS (
    SELECT siret, name_norm, {{ block_cols }}, token
    FROM (
        SELECT siret, name_norm, {{ block_cols }},
               unnest(string_split(name_norm, ' ')) AS token
        FROM offre_link_name
        SEMI JOIN (SELECT DISTINCT {{ block_cols }} FROM q) AS b USING ({{ block_cols }})
    )
    SEMI JOIN (SELECT DISTINCT {{ block_cols }}, token FROM qt) AS w
        USING ({{ block_cols }}, token)
),
df AS (
    SELECT {{ block_cols }}, token, count(DISTINCT siret) AS df
    FROM et
    GROUP BY ALL
),
blocking AS (
    SELECT qt.q_id, qt.token
    FROM qt
    JOIN df USING ({{ block_cols }}, token)
    QUALIFY row_number() OVER (PARTITION BY qt.q_id ORDER BY df.df, qt.token)
                <= $block_words
            OR df.df <= $max_token_df
),
hits AS (
    SELECT DISTINCT b.q_id, et.siret, et.name_norm AS e_name
    FROM blocking AS b
    JOIN qt USING (q_id, token)
    JOIN et USING ({{ block_cols }}, token)
)
SELECT
    h.q_id, h.siret, h.e_name,
    n.code_commune IS NOT DISTINCT FROM q.code_commune AS commune_match,
    n.division = q.division AS sector_match,
    '{{ pass_name }}' AS pass
FROM hits AS h
JOIN q USING (q_id)
JOIN (SELECT DISTINCT siret, code_commune, division FROM offre_link_name) AS n USING (siret);
