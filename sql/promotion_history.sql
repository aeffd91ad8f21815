-- promotion_history: every replaced version of a promotion (issue 5). Appends the
-- versions captured by promotion.sql (temp table promotion__previous) before a corrected
-- follow-up overwrote them, with when and by which file they were replaced.
CREATE TABLE IF NOT EXISTS promotion_history (
    promotion_id VARCHAR NOT NULL,
    date_promotion DATE NOT NULL,
    agency_code VARCHAR NOT NULL,
    siret VARCHAR NOT NULL,
    code_rome VARCHAR NOT NULL,
    id_demandeur VARCHAR NOT NULL,
    id_conseiller VARCHAR,
    canal VARCHAR,
    resultat VARCHAR,
    date_resultat DATE,
    source_file VARCHAR NOT NULL,    -- file that had written this version
    source_row INTEGER NOT NULL,
    imported_at TIMESTAMP NOT NULL,  -- first import of the promotion
    updated_at TIMESTAMP NOT NULL,   -- import that wrote this version
    replaced_at TIMESTAMP NOT NULL,  -- import that replaced it
    replaced_by_file VARCHAR NOT NULL
);

INSERT INTO promotion_history
SELECT *, $replaced_at, $replaced_by FROM promotion__previous;

DROP TABLE promotion__previous;
