-- The two roles of SPEC §6, created by `careledger migrate` when the
-- connected user may create roles (otherwise migrate prints this file).
-- Idempotent: migrate runs it before the migrations (which may name the
-- roles) and again after them (grants on what they made).
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
-- Region-bound report logins (007_region_access): only the schema owner records
-- grants, and the report role reads a table only when row-level security guards
-- it or it is reference data, so that a table a later migration adds is refused
-- to report logins (loudly) until it has its policy, rather than read whole.
-- (migrate keeps every view reading as its caller, after each migration.)
DO $$
DECLARE
    rel regclass;
BEGIN
    IF to_regclass('careledger.region_grants') IS NULL THEN
        RETURN;
    END IF;
    REVOKE ALL ON careledger.region_grants FROM careledger_ingest;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON careledger.region_grants FROM careledger_report;
    FOR rel IN SELECT c.oid::regclass FROM pg_class c
               WHERE c.relnamespace = 'careledger'::regnamespace AND c.relkind IN ('r', 'p')
                 AND NOT c.relrowsecurity
                 AND c.relname NOT IN ('regions', 'policy_settings', 'policy_tracks',
                                       'policy_state', 'offsets', 'schema_migrations') LOOP
        EXECUTE format('REVOKE ALL ON %s FROM careledger_report', rel);
    END LOOP;
END
$$;
