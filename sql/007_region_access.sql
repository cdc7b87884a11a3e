-- careledger schema 7: region-bound report logins (SPEC §6 roles, §9 grant-region).
--
-- `careledger grant-region ROLE CODE` records that ROLE (a login in careledger_report,
-- or a group role such logins inherit from) may see region CODE and its descendants.
-- Row-level security on every table with facts of a place or a person restricts the
-- report role to the rows its regions' figures are computed from, whatever the report
-- functions' bodies are: they are SECURITY INVOKER, so their reads go through these
-- policies. Without a grant a report login sees none of those rows; a grant of the
-- root 000000 sees everything. The schema owner bypasses row-level security (no FORCE),
-- and so must the login that ingests (the owner, or a login in careledger_ingest with
-- BYPASSRLS): PostgreSQL refuses COPY, which writes the aggregates, on a table under
-- row-level security to anyone subject to it, whatever the policies; ingest then pays
-- nothing. careledger_ingest also has a policy of `true` (folded away by the planner),
-- so that its members read and write everything by SQL whether or not they bypass.
--
-- What a login bound to regions G sees (the "scope", computed by acl_sets below):
--   units0   units whose region is G or under G (region_ancestors: registered parents,
--            else GB/T 2260);
--   core     the workers of those units (R9: registered there, or not registered and
--            credited there);
--   people   core plus their spouses and family members, wherever they work: couples
--            (R8) and families (R6, R7) are counted from every member's facts;
--   units    units0 plus the units where people are registered (registration rows
--            only: which unit a family is counted at needs them);
--   registered  people plus everyone credited with a day at units0 (whose registration
--            says where they belong, so that they are not counted as ours).
-- Rows are visible by what they belong to: a worker-day or open deployment credited to
-- units0 or of people; a payment or delivery of units0 or of core (a family delivery:
-- a family of core); an injury case or deployment of people; a status, budget or
-- registration of a region under G. Regions, policies, offsets and migrations are
-- reference data and stay readable; dead letters cannot be placed and are not the
-- report role's at all.

SET LOCAL search_path = careledger;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'careledger_report')
       OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'careledger_ingest') THEN
        RAISE EXCEPTION 'the roles careledger_ingest and careledger_report do not exist'
            USING HINT = 'Run careledger migrate as a user with CREATEROLE, or have an '
                         'administrator run the statements it prints (sql/roles.sql) first.';
    END IF;
END
$$;

-- Who may see which region: a row per (role, region); the role's members inherit it.
CREATE TABLE region_grants (
    role       regrole NOT NULL,
    region     text NOT NULL CHECK (region ~ '^[0-9]{6}$'),
    granted_at timestamptz NOT NULL DEFAULT now(),
    granted_by name NOT NULL DEFAULT current_user,
    PRIMARY KEY (role, region)
);

-- The regions granted to WHO (its own grants and those of roles whose privileges it
-- has), when the session may act as WHO; nothing otherwise, so that no login reads
-- another's scope. Dropped roles' grants are ignored.
CREATE FUNCTION acl_grants(who name) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT coalesce(array_agg(DISTINCT g.region), '{}')
    FROM careledger.region_grants g JOIN pg_roles r ON r.oid = g.role
    WHERE pg_has_role(session_user, $1, 'MEMBER') AND pg_has_role($1, r.oid, 'USAGE')
$$;

-- 1 when WHO is granted the root: it sees every row.
CREATE FUNCTION acl_root(who name) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT '000000' = ANY (careledger.acl_grants($1))
$$;

-- The parts WHATS of WHO's scope (see the head of this file) as (what, id) rows:
-- codes, units0, core, families, people, registered, units, cases, deployments,
-- cancels. Each intermediate set is computed once, and only when needed.
CREATE FUNCTION acl_sets(who name, whats text[]) RETURNS TABLE (what text, id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE ROWS 1000
SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    grants  text[] := careledger.acl_grants(who);
    units0  text[];
    credited text[];
    core    text[];
    people  text[];
BEGIN
    IF cardinality(grants) = 0 THEN
        RETURN;
    END IF;
    IF whats && ARRAY['codes'] THEN
        -- Every code a row may name: registered regions, unit regions, statuses, budgets.
        RETURN QUERY
        SELECT 'codes', c.code FROM (SELECT r.code FROM careledger.regions r
                                     UNION SELECT u.region FROM careledger.units u
                                     UNION SELECT s.region FROM careledger.statuses s
                                     UNION SELECT b.scope FROM careledger.budgets b
                                     UNION SELECT unnest(grants)) c
        WHERE c.code ~ '^[0-9]{6}$' AND EXISTS (
            SELECT 1 FROM careledger.region_ancestors(c.code) a WHERE a.ancestor = ANY (grants));
    END IF;
    IF NOT whats && ARRAY['units0', 'core', 'families', 'people', 'registered', 'units', 'cases',
                          'deployments', 'cancels'] THEN
        RETURN;
    END IF;

    units0 := ARRAY(
        SELECT u.unit_id FROM careledger.units u
        WHERE u.region IN (SELECT x.region FROM (SELECT DISTINCT region FROM careledger.units) x
                           WHERE EXISTS (SELECT 1 FROM careledger.region_ancestors(x.region) a
                                         WHERE a.ancestor = ANY (grants))));
    RETURN QUERY SELECT 'units0', unnest(units0) WHERE 'units0' = ANY (whats);
    IF NOT whats && ARRAY['core', 'families', 'people', 'registered', 'units', 'cases',
                          'deployments', 'cancels'] THEN
        RETURN;
    END IF;

    -- Everyone credited with a day at our units (the one read proportional to the
    -- units' days), then R9: registered at our units, or not registered and credited.
    credited := ARRAY(
        SELECT d.worker_id FROM careledger.worker_days d WHERE d.unit_id = ANY (units0)
        UNION SELECT o.worker_id FROM careledger.open_deployments o WHERE o.unit_id = ANY (units0));
    core := ARRAY(
        SELECT w.worker_id FROM careledger.workers w WHERE w.unit_id = ANY (units0)
        UNION
        SELECT c.id FROM unnest(credited) c(id)
        WHERE NOT EXISTS (SELECT 1 FROM careledger.workers k WHERE k.worker_id = c.id));
    RETURN QUERY SELECT 'core', unnest(core) WHERE 'core' = ANY (whats);
    RETURN QUERY
    SELECT DISTINCT 'families', coalesce(k.family_id, c.id)
    FROM unnest(core) c(id) LEFT JOIN careledger.workers k ON k.worker_id = c.id
    WHERE 'families' = ANY (whats);
    IF NOT whats && ARRAY['people', 'registered', 'units', 'cases', 'deployments', 'cancels'] THEN
        RETURN;
    END IF;

    -- Spouses (either side naming the other) and family members of core.
    people := ARRAY(
        SELECT unnest(core)
        UNION
        SELECT w.worker_id FROM careledger.workers w
        WHERE w.spouse_worker_id = ANY (core)
           OR w.family_id IN (SELECT coalesce(k.family_id, c.id)
                              FROM unnest(core) c(id)
                              LEFT JOIN careledger.workers k ON k.worker_id = c.id)
        UNION
        SELECT k.spouse_worker_id FROM careledger.workers k
        WHERE k.worker_id = ANY (core) AND k.spouse_worker_id IS NOT NULL);
    RETURN QUERY SELECT 'people', unnest(people) WHERE 'people' = ANY (whats);
    -- Registrations: people, and everyone credited at our units (their registration
    -- says where they belong).
    RETURN QUERY
    SELECT 'registered', x.id FROM (SELECT unnest(people) UNION SELECT unnest(credited)) x(id)
    WHERE 'registered' = ANY (whats);
    -- Units: ours, and where people belong (R9), registered or by their first worker-day.
    RETURN QUERY
    SELECT 'units', x.id
    FROM (SELECT unnest(units0)
          UNION
          SELECT coalesce(k.unit_id, (SELECT d.unit_id FROM careledger.worker_days d
                                      WHERE d.worker_id = p.id AND d.unit_id <> ''
                                      ORDER BY d.date LIMIT 1))
          FROM unnest(people) p(id) LEFT JOIN careledger.workers k ON k.worker_id = p.id) x(id)
    WHERE 'units' = ANY (whats) AND x.id IS NOT NULL;
    RETURN QUERY
    SELECT 'cases', s.case_id FROM careledger.injury_stages s
    WHERE 'cases' = ANY (whats) AND s.stage = 'reported' AND s.worker_id = ANY (people);
    RETURN QUERY
    SELECT 'deployments', s.deployment_id FROM careledger.deployment_starts s
    WHERE 'deployments' = ANY (whats) AND s.worker_id = ANY (people);
    -- Cancellations of the shifts we see.
    RETURN QUERY
    SELECT 'cancels', c.event_id FROM careledger.events c
    JOIN careledger.events e ON e.event_id = c.cancels
    WHERE 'cancels' = ANY (whats) AND c.cancels IS NOT NULL AND c.type = 'shift.cancelled'
      AND (e.worker_id = ANY (people) OR e.unit_id = ANY (units0));
END
$$;

-- WHO's scope for the transaction: acl_ids reads it back instead of computing its part
-- again for every table a query reads (a report's queries read them some 200 times).
-- Kept in a temporary table of the session, owned by the schema owner (the caller can
-- neither read nor write it), emptied at the end of the transaction. Only under
-- REPEATABLE READ or SERIALIZABLE, where every statement sees the snapshot it was
-- computed in, in a transaction that may still write (not on a replica, nor for a
-- login whose transactions are read-only by default: those compute as they go), and
-- not for a login that is granted nothing or the root (nothing to compute).
-- careledger report calls it before making its snapshot read-only.
-- Returns whether the scope is now kept.
CREATE FUNCTION acl_prepare(who name) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    grants text[] := careledger.acl_grants(who);
BEGIN
    IF current_setting('transaction_isolation') NOT IN ('repeatable read', 'serializable')
       OR current_setting('transaction_read_only') = 'on' -- a replica, or a read-only login
       OR cardinality(grants) = 0 OR '000000' = ANY (grants) THEN
        RETURN false;
    END IF;
    IF to_regclass('pg_temp.acl_cache') IS NULL THEN
        CREATE TEMP TABLE acl_cache (who name NOT NULL, what text NOT NULL, id text)
            ON COMMIT DELETE ROWS;
        CREATE INDEX ON pg_temp.acl_cache (who, what);
    ELSIF NOT careledger.acl_cache_ours() THEN
        RETURN false; -- a table of that name made by someone else: not to be trusted
    END IF;
    DELETE FROM pg_temp.acl_cache c WHERE c.who = $1;
    INSERT INTO pg_temp.acl_cache
    SELECT $1, s.what, s.id
    FROM careledger.acl_sets($1, ARRAY['codes', 'units0', 'core', 'families', 'people',
                                       'registered', 'units', 'cases', 'deployments',
                                       'cancels']) s
    UNION ALL SELECT $1, '*', NULL;
    RETURN true;
END
$$;

-- 1 when the session's temporary acl_cache exists and was made by acl_prepare (owned
-- by the schema owner, not by the login that might have made one to forge a scope).
CREATE FUNCTION acl_cache_ours() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT c.relowner = (SELECT r.oid FROM pg_roles r
                                          WHERE r.rolname = current_user)
                     FROM pg_class c WHERE c.oid = to_regclass('pg_temp.acl_cache')), false)
$$;

-- One part of WHO's scope: what acl_prepare kept for this transaction, else computed.
CREATE FUNCTION acl_ids(who name, what text) RETURNS SETOF text
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED ROWS 1000
SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    IF careledger.acl_cache_ours() THEN
        IF EXISTS (SELECT 1 FROM pg_temp.acl_cache c WHERE c.who = $1 AND c.what = '*') THEN
            RETURN QUERY SELECT c.id FROM pg_temp.acl_cache c WHERE c.who = $1 AND c.what = $2;
            RETURN;
        END IF;
    END IF;
    IF NOT pg_has_role(session_user, who, 'MEMBER') THEN
        RETURN;
    END IF;
    IF what NOT IN ('codes', 'units0', 'core', 'families', 'people', 'registered', 'units',
                    'cases', 'deployments', 'cancels') THEN
        RAISE EXCEPTION 'acl_ids: unknown part %', what;
    END IF;
    RETURN QUERY SELECT s.id FROM careledger.acl_sets(who, ARRAY[what]) s;
END
$$;

-- 1 when WHO may see region CODE: granted it or an ancestor, or a member of
-- careledger_ingest (which sees everything).
CREATE FUNCTION acl_sees_region(who name, code text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT pg_has_role(session_user, $1, 'MEMBER')
       AND (pg_has_role($1, 'careledger_ingest', 'USAGE')
            OR EXISTS (SELECT 1 FROM careledger.region_ancestors($2) a
                       WHERE a.ancestor = ANY (careledger.acl_grants($1))))
$$;

-- 1 when the current user may report on region CODE: it is not subject to row-level
-- security (owner, superuser, BYPASSRLS) or it sees the region.
CREATE FUNCTION acl_may_report(code text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT NOT row_security_active('careledger.units')
           OR careledger.acl_sees_region(current_user, $1)
$$;

-- The views read as the one who queries them, so that its policies apply (a view
-- runs as its owner otherwise, and the owner bypasses row-level security).
-- careledger migrate does this again after every migration, for views made or
-- replaced later (CREATE OR REPLACE VIEW resets the option).
DO $$
DECLARE
    v regclass;
BEGIN
    FOR v IN SELECT c.oid::regclass FROM pg_class c
             WHERE c.relnamespace = 'careledger'::regnamespace AND c.relkind = 'v' LOOP
        EXECUTE format('ALTER VIEW %s SET (security_invoker = true)', v);
    END LOOP;
END
$$;

-- Row-level security: ingest sees and writes everything; the report role per scope.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['units', 'workers', 'worker_days', 'open_deployments', 'payments',
                             'deliveries', 'injury_stages', 'deployment_starts',
                             'deployment_ends', 'statuses', 'budgets', 'events'] LOOP
        EXECUTE format('ALTER TABLE careledger.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY ingest_all ON careledger.%I TO careledger_ingest '
                       'USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;

-- Each report policy starts with the root grant, so that a root login builds no set.
-- `x IN (SELECT …)` is a hashed subplan: its part of the scope is read once per table
-- scan, from what acl_prepare kept for the transaction, or else computed.
-- Units are also read one at a time, by functions called per row (unit_in_scope):
-- a unit under a grant passes on its own region against the login's grants (RLS on
-- region_grants shows it only its own; the root is every region's ancestor), and the
-- set of units where people belong is built only for a unit that fails that.
CREATE POLICY report_scope ON units FOR SELECT TO careledger_report USING (
    EXISTS (SELECT 1 FROM region_ancestors(region) a JOIN region_grants g ON g.region = a.ancestor)
    OR unit_id IN (SELECT acl_ids(current_user, 'units')));
CREATE POLICY report_scope ON workers FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR worker_id IN (SELECT acl_ids(current_user, 'registered')));
CREATE POLICY report_scope ON worker_days FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR unit_id IN (SELECT acl_ids(current_user, 'units0'))
    OR worker_id IN (SELECT acl_ids(current_user, 'people')));
CREATE POLICY report_scope ON open_deployments FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR unit_id IN (SELECT acl_ids(current_user, 'units0'))
    OR worker_id IN (SELECT acl_ids(current_user, 'people')));
CREATE POLICY report_scope ON payments FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR unit_id IN (SELECT acl_ids(current_user, 'units0'))
    OR worker_id IN (SELECT acl_ids(current_user, 'core')));
CREATE POLICY report_scope ON deliveries FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR unit_id IN (SELECT acl_ids(current_user, 'units0'))
    OR worker_id IN (SELECT acl_ids(current_user, 'core'))
    OR family_id IN (SELECT acl_ids(current_user, 'families')));
CREATE POLICY report_scope ON injury_stages FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR case_id IN (SELECT acl_ids(current_user, 'cases')));
CREATE POLICY report_scope ON deployment_starts FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR worker_id IN (SELECT acl_ids(current_user, 'people')));
CREATE POLICY report_scope ON deployment_ends FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR deployment_id IN (SELECT acl_ids(current_user, 'deployments')));
CREATE POLICY report_scope ON statuses FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR region IN (SELECT acl_ids(current_user, 'codes')));
CREATE POLICY report_scope ON budgets FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR scope IN (SELECT acl_ids(current_user, 'codes'))
    OR scope IN (SELECT acl_ids(current_user, 'units0')));
-- A raw event is visible when the row it keys into is.
CREATE POLICY report_scope ON events FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR (type IN ('shift.completed', 'deployment.started', 'injury.reported')
        AND worker_id IN (SELECT acl_ids(current_user, 'people')))
    OR (type IN ('shift.completed', 'subsidy.paid', 'benefit.delivered')
        AND unit_id IN (SELECT acl_ids(current_user, 'units0')))
    OR (type IN ('subsidy.paid', 'benefit.delivered')
        AND worker_id IN (SELECT acl_ids(current_user, 'core')))
    OR (type = 'benefit.delivered' AND family_id IN (SELECT acl_ids(current_user, 'families')))
    OR (type = 'worker.registered'
        AND worker_id IN (SELECT acl_ids(current_user, 'registered')))
    OR (type = 'unit.registered' AND unit_id IN (SELECT acl_ids(current_user, 'units')))
    OR (type IN ('injury.recognized', 'injury.paid')
        AND case_id IN (SELECT acl_ids(current_user, 'cases')))
    OR (type = 'deployment.ended'
        AND deployment_id IN (SELECT acl_ids(current_user, 'deployments')))
    OR (type = 'shift.cancelled' AND event_id IN (SELECT acl_ids(current_user, 'cancels')))
    OR (type = 'region.registered' AND code IN (SELECT acl_ids(current_user, 'codes')))
    OR (type = 'measure.status' AND region IN (SELECT acl_ids(current_user, 'codes')))
    OR (type = 'budget.allocated'
        AND (scope IN (SELECT acl_ids(current_user, 'codes'))
             OR scope IN (SELECT acl_ids(current_user, 'units0')))));
-- Dead letters cannot be placed in a region, and no report reads them: the report
-- role does not read them at all. (Not row-level security: ingest COPYs into them,
-- and COPY FROM refuses a table under row-level security even with a policy of true.)
REVOKE ALL ON dead_letters FROM careledger_report;

-- Grants: recorded by the schema owner (careledger grant-region); a login reads its own.
ALTER TABLE region_grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_grants ON region_grants FOR SELECT TO careledger_report USING (
    pg_has_role(current_user, role, 'USAGE'));
REVOKE ALL ON region_grants FROM PUBLIC, careledger_ingest, careledger_report;
GRANT SELECT ON region_grants TO careledger_report;
