-- run_ledger: one row per (run, stage, step) of every flow run, appended by
-- ciblage/ledger.py. `ciblage status` and the nightly flow's resume logic read it:
-- a stage is skipped on rerun when its last record is `completed` with the same
-- inputs key (params->>'key'). Status: running, completed, failed, skipped,
-- interrupted (a `running` row found while nobody holds the warehouse lock), blocked
-- (publication gates refused the run).
CREATE TABLE IF NOT EXISTS run_ledger (
    run_id VARCHAR NOT NULL,
    flow VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    step VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    status VARCHAR NOT NULL,
    rows_in BIGINT,
    rows_out BIGINT,
    rows_quarantined BIGINT,
    params JSON,
    message VARCHAR
);
