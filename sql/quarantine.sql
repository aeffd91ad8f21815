-- Rows refused by ingestion's row rules, with the reason: nothing is dropped silently.
-- row_number is the 1-based data row in `file` (header excluded); raw is the row as JSON.
CREATE TABLE IF NOT EXISTS quarantine (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    file VARCHAR,
    row_number BIGINT,
    field VARCHAR,
    value VARCHAR,
    reason VARCHAR NOT NULL,
    raw VARCHAR
);
