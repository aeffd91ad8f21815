-- dq_result: one row per (run, source, partition, expectation), appended by
-- ciblage.quality.validate_table. `success` is GE's verdict for the partition; `critical`
-- says whether a failure stops the source's load; `details` is JSON (counts, examples,
-- the expectation's arguments).
CREATE TABLE IF NOT EXISTS dq_result (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    partition VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    column_name VARCHAR,
    success BOOLEAN NOT NULL,
    critical BOOLEAN NOT NULL,
    observed VARCHAR,
    details JSON
);
