-- source_coverage: per run, stage and source, the share of establishments the source
-- actually informs. A source can load thousands of rows and inform nobody (labels that
-- join nothing, SIRETs of another territory): row counts cannot see it, this table does.
-- ciblage/quality/coverage.py compares `share` with the [coverage] bounds and records the
-- verdicts in dq_result. This file holds the table; its rows come from
-- source_coverage_ingest.sql (after the load) and source_coverage_features.sql (after the
-- score stage built the features).
-- population: active establishments (ingest) or feature_etablissement rows at as_of
-- (features); informed: how many of them the source gives a value; rows: the source's
-- rows in the warehouse (0 = not provided: not judged).
CREATE TABLE IF NOT EXISTS source_coverage (
    run_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    as_of DATE,
    source VARCHAR NOT NULL,
    measure VARCHAR NOT NULL,
    population BIGINT,
    informed BIGINT,
    share DOUBLE,
    rows BIGINT,
    min_share DOUBLE,
    success BOOLEAN,
    computed_at TIMESTAMP
);
