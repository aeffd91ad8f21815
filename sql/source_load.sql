-- One row per load attempt of a source. The fingerprint (JSON: files with size, mtime,
-- sha256; dependencies; SQL version) of the last 'loaded' row decides whether a rerun is
-- a no-op. status: loaded | unchanged | missing | stale | failed.
CREATE TABLE IF NOT EXISTS source_load (
    source VARCHAR NOT NULL,
    fingerprint VARCHAR,
    file VARCHAR,
    loaded_at TIMESTAMP NOT NULL,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    status VARCHAR NOT NULL,
    run_id VARCHAR,
    message VARCHAR
);
