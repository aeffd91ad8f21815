-- promotion: the promotions ledger filled by agencies (issue 5), one row per promotion.
-- Natural key (date_promotion, agency_code, siret, code_rome, id_demandeur) hashed into
-- promotion_id. Merges the validated rows staged as {{ staging }}: new rows are inserted,
-- rows whose follow-up changed are updated (their previous version is kept in the temp
-- table promotion__previous, appended to promotion_history by promotion_history.sql).
CREATE TABLE IF NOT EXISTS promotion (
    promotion_id VARCHAR NOT NULL,
    date_promotion DATE NOT NULL,
    agency_code VARCHAR NOT NULL,
    siret VARCHAR NOT NULL,
    code_rome VARCHAR NOT NULL,
    id_demandeur VARCHAR NOT NULL,   -- pseudonymous id, never a name or contact
    id_conseiller VARCHAR,           -- pseudonymous id
    canal VARCHAR,                   -- 'mail' | 'telephone' | 'visite'
    resultat VARCHAR,                -- 'sans_reponse' | 'refus' | 'entretien' | 'embauche' | NULL (not known yet)
    date_resultat DATE,
    source_file VARCHAR NOT NULL,    -- file (and sheet) of the current version
    source_row INTEGER NOT NULL,
    imported_at TIMESTAMP NOT NULL,  -- first import
    updated_at TIMESTAMP NOT NULL    -- import that wrote the current version
);

CREATE OR REPLACE TEMP TABLE promotion__diff AS
SELECT
    s.*,
    CASE
        WHEN p.promotion_id IS NULL THEN 'new'
        WHEN p.id_conseiller IS DISTINCT FROM s.id_conseiller
          OR p.canal IS DISTINCT FROM s.canal
          OR p.resultat IS DISTINCT FROM s.resultat
          OR p.date_resultat IS DISTINCT FROM s.date_resultat THEN 'changed'
        ELSE 'unchanged'
    END AS change
FROM {{ staging }} AS s
LEFT JOIN promotion AS p USING (promotion_id);

CREATE OR REPLACE TEMP TABLE promotion__previous AS
SELECT p.*
FROM promotion AS p
JOIN promotion__diff AS d USING (promotion_id)
WHERE d.change = 'changed';

UPDATE promotion
SET id_conseiller = d.id_conseiller,
    canal = d.canal,
    resultat = d.resultat,
    date_resultat = d.date_resultat,
    source_file = d.source_file,
    source_row = d.source_row,
    updated_at = $imported_at
FROM promotion__diff AS d
WHERE promotion.promotion_id = d.promotion_id AND d.change = 'changed';

INSERT INTO promotion
SELECT promotion_id, date_promotion, agency_code, siret, code_rome, id_demandeur,
       id_conseiller, canal, resultat, date_resultat, source_file, source_row,
       $imported_at, $imported_at
FROM promotion__diff
WHERE change = 'new';
