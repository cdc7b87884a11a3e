-- The two roles of SPEC §6, created by `careledger migrate` when the
-- connected user may create roles (otherwise migrate prints this file).
-- Idempotent: safe to run after every migration.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'careledger_ingest') THEN
        CREATE ROLE careledger_ingest NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'careledger_report') THEN
        CREATE ROLE careledger_report NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA careledger TO careledger_ingest, careledger_report;
-- The ingest role writes raw facts, dead letters, offsets and aggregates.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA careledger TO careledger_ingest;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA careledger TO careledger_ingest;
-- The report role only reads.
GRANT SELECT ON ALL TABLES IN SCHEMA careledger TO careledger_report;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA careledger FROM careledger_report;
