-- careledger schema 8: summaries of worker_days kept current by ingest, so that the reports
-- read thousands of summary rows instead of millions of worker-days (issue 7: each report
-- in at most 2 s for 200,000 workers in 2,000 units; docs/SCALING.md limit 3).
--
-- Every summary is a function of worker_days (and, for a worker's home, of workers) only,
-- so it is exact whatever the policies: a batch applies to it the worker-days it deleted
-- and inserted (aggregate/agg.c, one statement), `careledger rebuild` fills it the same
-- way from empty, and `careledger verify` recomputes it from worker_days and compares.
-- Rows whose counts fall back to zero are left in place (deleting them would need a
-- second pass per batch); readers skip them and verify ignores them.
--
--   unit_days    per credited unit, date, kind and policy: worker-days, frontline days,
--                subsidy and performance pay (KPIs, finance, comparison, unit coverage)
--   home_days    per home unit (R9) and date: workers with a worker-day (active workers,
--                the 30-day series)
--   month_sums   per worker, month, policy and deployed or not: days, subsidy, earning
--                days (worker-months, entitlement coverage)
--   worker_sets  per worker: the home unit and the dates of their worker-days as date
--                multiranges (every day, direct, deployed, designated) and their longest
--                run (qualifying days, coverage, compliance)
--   quality_ids  ids named by accepted events that were not registered when the events
--                came, and families named by deliveries (the data-quality section)
--
-- The "as of D" functions of 003, 004 and 006 keep their names, signatures and rows
-- (bench/report_sql_equiv.sh compares them before and after); open deployments, which
-- run to D, are still added at report time from open_deployments (a few rows).

SET LOCAL search_path = careledger;

CREATE TABLE unit_days (
    unit_id     text NOT NULL,          -- credited unit ('' when unknown), as worker_days
    date        date NOT NULL,
    kind        text NOT NULL,
    policy_id   text NOT NULL,          -- '' when no policy was in force
    days        bigint NOT NULL,
    frontline   bigint NOT NULL,        -- of which frontline
    subsidy_fen bigint NOT NULL,
    perf_fen    bigint NOT NULL,
    PRIMARY KEY (unit_id, date, kind, policy_id)
);

CREATE TABLE home_days (
    unit_id text NOT NULL,              -- the worker's home (R9): registered unit, else first credited
    date    date NOT NULL,
    workers bigint NOT NULL,            -- workers with a worker-day (at most one each per date)
    PRIMARY KEY (unit_id, date)
);

CREATE TABLE month_sums (
    worker_id   text NOT NULL,
    month       date NOT NULL,          -- first day
    policy_id   text NOT NULL,          -- '' when no policy was in force
    deployed    boolean NOT NULL,
    days        bigint NOT NULL,
    subsidy_fen bigint NOT NULL,
    earning     bigint NOT NULL,        -- days with a subsidy above zero
    PRIMARY KEY (worker_id, month, policy_id, deployed)
);

CREATE TABLE worker_sets (
    worker_id   text PRIMARY KEY,
    home_unit   text,                   -- R9; NULL when unregistered and never credited to a unit
    days        datemultirange NOT NULL,
    direct      datemultirange NOT NULL,
    deployed    datemultirange NOT NULL,
    designated  datemultirange NOT NULL,
    longest_run integer NOT NULL        -- days in the longest run of consecutive worker-days
);

CREATE TABLE quality_ids (
    problem     text NOT NULL,          -- unregistered_unit, unregistered_worker,
                                        -- unknown_unit_delivery (ids not registered when
                                        -- counted), family (every family delivered to)
    id          text NOT NULL,
    events      bigint NOT NULL,
    first_start timestamptz,            -- earliest shift start among them
    first_date  date,                   -- earliest date of the others
    PRIMARY KEY (problem, id)
);

-- Families are looked up by id when deliveries are counted at the family's unit.
CREATE INDEX workers_family ON workers (family_id, worker_id);

-- The summaries of the worker-days that exist now (a database migrated with data).
INSERT INTO unit_days
SELECT unit_id, date, kind, coalesce(policy_id, ''), count(*), count(*) FILTER (WHERE frontline),
       sum(subsidy_fen), sum(perf_fen)
FROM worker_days GROUP BY 1, 2, 3, 4;

INSERT INTO month_sums
SELECT worker_id, date_trunc('month', date::timestamp)::date, coalesce(policy_id, ''),
       kind = 'deployed', count(*), sum(subsidy_fen), count(*) FILTER (WHERE subsidy_fen > 0)
FROM worker_days GROUP BY 1, 2, 3, 4;

INSERT INTO worker_sets
SELECT s.worker_id, coalesce(k.unit_id, s.first_unit), s.days, s.direct, s.deployed,
       s.designated, (SELECT coalesce(max(upper(r) - lower(r)), 0) FROM unnest(s.days) r)
FROM (SELECT d.worker_id,
             (array_agg(d.unit_id ORDER BY d.date) FILTER (WHERE d.unit_id <> ''))[1] AS first_unit,
             range_agg(daterange(d.date, d.date, '[]')) AS days,
             coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.kind = 'direct'),
                      '{}') AS direct,
             coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.kind = 'deployed'),
                      '{}') AS deployed,
             coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.designated),
                      '{}') AS designated
      FROM worker_days d GROUP BY d.worker_id) s
LEFT JOIN workers k USING (worker_id);

INSERT INTO home_days
SELECT s.home_unit, g::date, count(*)
FROM worker_sets s, unnest(s.days) r, generate_series(lower(r), upper(r) - 1, interval '1 day') g
WHERE s.home_unit IS NOT NULL GROUP BY 1, 2;

INSERT INTO quality_ids
SELECT x.problem, x.id, count(*), min(x.start_at), min(x.date) FROM (
    SELECT 'unregistered_unit' AS problem, e.unit_id AS id, e.start_at, NULL::date AS date
    FROM events e WHERE e.type = 'shift.completed' AND e.unit_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM units u WHERE u.unit_id = e.unit_id)
    UNION ALL
    SELECT 'unregistered_worker', e.worker_id, e.start_at, e.date
    FROM events e WHERE e.type IN ('shift.completed', 'deployment.started', 'benefit.delivered',
                                   'subsidy.paid', 'injury.reported')
      AND e.worker_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.worker_id = e.worker_id)
    UNION ALL
    SELECT 'unknown_unit_delivery', d.unit_id, NULL, d.date
    FROM deliveries d WHERE d.unit_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM units u WHERE u.unit_id = d.unit_id)
    UNION ALL
    SELECT 'family', d.family_id, NULL, d.date FROM deliveries d WHERE d.family_id IS NOT NULL) x
GROUP BY 1, 2;

-- Row-level security as their neighbours' (007): per credited or home unit as worker_days,
-- per worker as the people whose facts a login's figures are computed from. The ids of
-- the data-quality section are the whole database's: only logins granted the root read
-- them (a bound login's section counts what it can see, from the events, DECISIONS 91).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['unit_days', 'home_days', 'month_sums', 'worker_sets', 'quality_ids'] LOOP
        EXECUTE format('ALTER TABLE careledger.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY ingest_all ON careledger.%I TO careledger_ingest '
                       'USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;
CREATE POLICY report_scope ON unit_days FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR unit_id IN (SELECT acl_ids(current_user, 'units0')));
CREATE POLICY report_scope ON home_days FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR unit_id IN (SELECT acl_ids(current_user, 'units0')));
CREATE POLICY report_scope ON month_sums FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR worker_id IN (SELECT acl_ids(current_user, 'people')));
CREATE POLICY report_scope ON worker_sets FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR worker_id IN (SELECT acl_ids(current_user, 'people')));
CREATE POLICY report_scope ON quality_ids FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user)));

-- The last date of a set on or before D (NULL when none): its last date when the whole set
-- is on or before D, which it is for every worker at the last day of data, else cut.
CREATE FUNCTION last_on_or_before(s datemultirange, d date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN upper($1) <= $2 + 1 THEN upper($1) - 1
                ELSE upper($1 * datemultirange(daterange(NULL, $2, '[]'))) - 1 END
$$;

-- Each worker's qualifying days as sets (as 006's qualifications_in, whose days came from
-- one pass over worker_days): per key of KEYS (SPEC §4), the first day and the set of
-- qualifying days, which also holds days after D (callers test days on or before D: a
-- window by overlap, the last day with last_on_or_before()). Open deployments add their
-- days from departure to D, injuries their reported dates to D, and the registration date
-- (in the home policy's zone) counts for 'all'. Homes as worker_home: the registered
-- unit, else the first credited one.
CREATE FUNCTION qualifying_sets(d date, region text, keys text[])
RETURNS TABLE (worker_id text, family_id text, unit_id text, policy_id text, key text,
               first_day date, days datemultirange)
LANGUAGE sql STABLE ROWS 100000 SET jit = off SET work_mem = '64MB' AS $$
    -- Under a region, the registered workers who are not kin_under() it are left out.
    WITH away AS MATERIALIZED (
        SELECT r.worker_id FROM careledger.workers r
        WHERE r.worker_id NOT IN (SELECT k.worker_id FROM careledger.kin_under($2) k)),
    wd AS (
        SELECT w.worker_id, w.days, w.direct, w.deployed, w.designated
        FROM careledger.worker_sets w
        WHERE lower(w.days) <= $1
          AND ($2 IS NULL OR w.worker_id NOT IN (SELECT a.worker_id FROM away a))),
    od AS (
        SELECT o.worker_id, datemultirange(daterange(o.from_date, $1, '[]')) AS o
        FROM careledger.open_deployments o WHERE o.from_date <= $1),
    inj AS (
        SELECT s.worker_id, range_agg(daterange(s.date, s.date, '[]')) AS i
        FROM careledger.injury_stages s
        WHERE s.stage = 'reported' AND s.date <= $1 GROUP BY s.worker_id),
    ids AS (
        SELECT k.worker_id FROM careledger.workers k
        WHERE $2 IS NULL OR k.worker_id NOT IN (SELECT a.worker_id FROM away a)
        UNION SELECT w.worker_id FROM wd w
        UNION SELECT o.worker_id FROM careledger.open_deployments o
        UNION SELECT i.worker_id FROM inj i),
    home AS (
        SELECT h.worker_id, COALESCE(h.family_id, h.worker_id) AS family_id, h.unit_id,
               p.policy_id, p.frontline, COALESCE(h.children, 0) AS children,
               (h.occurred_at AT TIME ZONE p.timezone)::date AS registered
        FROM (SELECT i.worker_id, w.family_id, w.children, w.occurred_at,
                     COALESCE(w.unit_id, careledger.first_credited_unit(i.worker_id)) AS unit_id
              FROM ids i LEFT JOIN careledger.workers w USING (worker_id)) h
        JOIN careledger.unit_policies($1) p USING (unit_id)
        WHERE p.policy_id IS NOT NULL),
    q AS (
        SELECT h.worker_id, h.family_id, h.unit_id, h.policy_id, h.registered,
               COALESCE(w.days, '{}') + COALESCE(o.o, '{}') AS a,
               CASE WHEN h.frontline = 'any' THEN COALESCE(w.days, '{}') + COALESCE(o.o, '{}')
                    ELSE COALESCE(w.direct, '{}') + COALESCE(w.deployed, '{}') + COALESCE(o.o, '{}')
                    END AS f,
               COALESCE(w.direct, '{}') AS dd,
               COALESCE(w.deployed, '{}') + COALESCE(o.o, '{}') AS p,
               COALESCE(w.designated, '{}') AS g,
               h.children, inj.i
        FROM home h LEFT JOIN wd w USING (worker_id) LEFT JOIN od o USING (worker_id)
        LEFT JOIN inj USING (worker_id))
    SELECT x.worker_id, x.family_id, x.unit_id, x.policy_id, x.key, x.first_day, x.s
    FROM (SELECT q.worker_id, q.family_id, q.unit_id, q.policy_id, k.key, y.s,
                 CASE WHEN k.key = 'all' AND q.registered IS NOT NULL THEN q.registered
                      ELSE lower(y.s) END AS first_day
          FROM q CROSS JOIN unnest($3) k (key)
          CROSS JOIN LATERAL (SELECT CASE k.key
              WHEN 'frontline' THEN q.f
              WHEN 'direct' THEN q.dd
              WHEN 'deployed' THEN q.p
              WHEN 'direct_or_deployed' THEN q.dd + q.p
              WHEN 'designated_frontline' THEN q.g + q.p
              WHEN 'with_children' THEN CASE WHEN q.children > 0 THEN q.f ELSE '{}' END
              WHEN 'infected' THEN COALESCE(q.i, '{}')
              WHEN 'all' THEN q.a + CASE WHEN q.registered IS NOT NULL
                                        THEN datemultirange(daterange(q.registered, q.registered, '[]'))
                                        ELSE '{}' END
              END AS s) y) x
    WHERE x.first_day IS NOT NULL AND x.first_day <= $1
$$;

-- Qualifying days (as in 004 and 006) from the workers' day sets.
CREATE OR REPLACE FUNCTION qualifications_in(d date, region text)
RETURNS TABLE (worker_id text, family_id text, unit_id text, policy_id text, key text,
               first_day date, last_day date)
LANGUAGE sql STABLE ROWS 100000 SET jit = off SET work_mem = '64MB' AS $$
    SELECT q.worker_id, q.family_id, q.unit_id, q.policy_id, q.key, q.first_day,
           careledger.last_on_or_before(q.days, $1)
    FROM careledger.qualifying_sets($1, $2, ARRAY['frontline', 'direct', 'deployed',
         'direct_or_deployed', 'designated_frontline', 'with_children', 'infected', 'all']) q
$$;

-- R6 for once, recurring and entitlement tracks (as 006's, same rows) from the summaries:
-- people from their day sets (qualifying_sets(), only the keys some class of track asks
-- for; a recurring window is tested by overlap, so no set is cut), units from unit_days,
-- worker-months from month_sums. Open deployments add their days to D. KINDS: 'people',
-- 'entitlement' or 'all' rows.
CREATE OR REPLACE FUNCTION coverage_counts(d date, kinds text, region text)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE SET jit = off SET work_mem = '64MB' AS $$
    WITH uu AS MATERIALIZED (SELECT u.unit_id FROM careledger.units_under($3) u),
    away AS MATERIALIZED (
        SELECT r.worker_id FROM careledger.workers r
        WHERE $3 IS NOT NULL
          AND r.worker_id NOT IN (SELECT k.worker_id FROM careledger.kin_under($3) k)),
    t AS MATERIALIZED (
        SELECT pt.*, dense_rank() OVER (ORDER BY pt.policy_id, pt.scope, pt.eligible,
                                        pt.grace_days, pt.kind, pt.cadence_days) AS cls
        FROM careledger.policy_tracks pt
        WHERE pt.kind IN ('once', 'recurring') AND $2 IN ('people', 'all')),
    c AS MATERIALIZED (
        SELECT DISTINCT t.cls, t.policy_id, t.scope, t.eligible, t.grace_days, t.kind,
               t.cadence_days
        FROM t),
    te AS MATERIALIZED (
        SELECT t.track_id, t.policy_id, t.part, p.payment_due_day
        FROM careledger.policy_tracks t JOIN careledger.policy_settings p USING (policy_id)
        WHERE t.kind = 'entitlement' AND $2 IN ('entitlement', 'all')),
    q AS MATERIALIZED (
        SELECT * FROM careledger.qualifying_sets($1, $3,
            ARRAY(SELECT DISTINCT c.eligible FROM c WHERE c.scope IN ('worker', 'family')))),
    -- The eligible people (worker, family or unit) of each class, with their unit. A
    -- recurring class needs a qualifying day in (D - cadence_days, D].
    ec AS MATERIALIZED (
        SELECT c.cls, q.worker_id AS who, q.unit_id
        FROM c JOIN q ON q.policy_id = c.policy_id AND q.key = c.eligible
        WHERE c.scope = 'worker' AND q.first_day <= $1 - c.grace_days
          AND (c.kind <> 'recurring'
               OR q.days && daterange($1 - c.cadence_days + 1, $1, '[]'))
        UNION ALL
        -- A family qualifies when a member does, from the first member's first day to the
        -- last one's last; it belongs to the unit of the member who qualified first (tie:
        -- the smaller worker_id).
        SELECT f.cls, f.who, f.unit_id FROM (
            SELECT c.cls, q.family_id AS who, q.unit_id, c.grace_days, c.kind, c.cadence_days,
                   row_number() OVER w AS k, min(q.first_day) OVER w AS first_day,
                   bool_or(c.kind = 'recurring'
                           AND q.days && daterange($1 - c.cadence_days + 1, $1, '[]')) OVER w
                       AS recent
            FROM c JOIN q ON q.policy_id = c.policy_id AND q.key = c.eligible
            WHERE c.scope = 'family'
            WINDOW w AS (PARTITION BY c.cls, q.family_id COLLATE "C"
                         ORDER BY q.first_day, q.worker_id
                         ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) f
        WHERE f.k = 1 AND f.first_day <= $1 - f.grace_days
          AND (f.kind <> 'recurring' OR f.recent)
        UNION ALL
        -- Units with a (frontline) worker-day credited to them: first day, and for a
        -- recurring class one in the window.
        SELECT u.cls, u.unit_id, u.unit_id FROM (
            SELECT c.cls, x.unit_id, c.grace_days, c.kind, c.cadence_days,
                   min(x.date) AS first_day,
                   bool_or(x.date > $1 - c.cadence_days) AS recent
            FROM c JOIN (
                SELECT nullif(v.policy_id, '') AS policy_id, v.unit_id, v.date, v.frontline > 0 AS fl
                FROM careledger.unit_days v
                WHERE v.date <= $1 AND v.days > 0 AND v.unit_id <> ''
                  AND ($3 IS NULL OR v.unit_id IN (SELECT unit_id FROM uu))
                UNION ALL
                SELECT o.policy_id, o.unit_id, g::date, o.frontline
                FROM careledger.open_deployments o,
                     generate_series(o.from_date, $1, interval '1 day') g
                WHERE o.unit_id <> '' AND ($3 IS NULL OR o.unit_id IN (SELECT unit_id FROM uu))) x
              ON x.policy_id = c.policy_id AND (c.eligible = 'all' OR x.fl)
            WHERE c.scope = 'unit'
            GROUP BY c.cls, x.unit_id, c.grace_days, c.kind, c.cadence_days) u
        WHERE u.first_day <= $1 - u.grace_days
          AND (u.kind <> 'recurring' OR u.recent)),
    -- (track, person) pairs with a delivery that covers them as of D.
    delivered AS MATERIALIZED (
        SELECT v.track_id,
               CASE t.scope WHEN 'worker' THEN v.worker_id WHEN 'family' THEN v.family_id
                            ELSE v.unit_id END AS who
        FROM careledger.deliveries v JOIN t USING (track_id)
        WHERE v.date <= $1
          AND (t.kind <> 'recurring' OR v.date > $1 - t.cadence_days)
          AND (t.min_amount_fen IS NULL OR v.amount_fen >= t.min_amount_fen)
          AND (t.min_sum_insured_fen IS NULL OR v.sum_insured_fen >= t.min_sum_insured_fen)),
    people AS (
        SELECT t.track_id COLLATE "C" AS track_id, e.unit_id COLLATE "C" AS unit_id,
               count(*) AS eligible,
               count(*) FILTER (WHERE (t.track_id, e.who) IN (SELECT d.track_id, d.who
                                                               FROM delivered d)) AS covered
        FROM t JOIN ec e ON e.cls = t.cls
        GROUP BY t.track_id COLLATE "C", e.unit_id COLLATE "C"),
    -- Entitlement: worker-months with entitlement of the track's part, due by D; covered
    -- when paid in full. Month M is due for a track when the first of M + 1 month +
    -- (payment_due_day - 1) <= D: no month from that of D - (smallest payment_due_day - 1)
    -- on is due. Open deployments add their days of those months (all before D).
    cut AS MATERIALIZED (
        SELECT date_trunc('month', ($1 - (min(te.payment_due_day) - 1))::timestamp)::date AS m
        FROM te),
    dm AS MATERIALIZED (
        SELECT g.worker_id, g.month, g.policy_id, g.deployed, sum(g.fen) AS fen,
               bool_or(g.earns) AS earns
        FROM (SELECT s.worker_id, s.month, nullif(s.policy_id, '') AS policy_id, s.deployed,
                     s.subsidy_fen AS fen, s.earning > 0 AS earns
              FROM careledger.month_sums s
              WHERE s.month < (SELECT cut.m FROM cut)
                AND ($3 IS NULL OR s.worker_id NOT IN (SELECT a.worker_id FROM away a))
              UNION ALL
              SELECT o.worker_id, m.m::date, o.policy_id, true,
                     o.subsidy_fen * (least((m.m + interval '1 month')::date - 1, $1) -
                                      greatest(o.from_date, m.m::date) + 1),
                     o.subsidy_fen > 0
              FROM careledger.open_deployments o
              CROSS JOIN LATERAL generate_series(date_trunc('month', o.from_date::timestamp),
                                                 (SELECT cut.m FROM cut) - interval '1 month',
                                                 interval '1 month') m (m)
              WHERE o.from_date <= $1
                AND ($3 IS NULL OR o.worker_id NOT IN (SELECT a.worker_id FROM away a))) g
        GROUP BY g.worker_id, g.month, g.policy_id, g.deployed),
    wm AS (
        SELECT x.worker_id COLLATE "C" AS worker_id, x.month, sum(x.fen) AS ent,
               sum(x.paid) AS paid,
               array_agg(DISTINCT x.track_id) FILTER (WHERE x.track_id IS NOT NULL) AS tracks
        FROM (SELECT m.worker_id, m.month, m.fen, 0 AS paid, NULL AS track_id FROM dm m
              UNION ALL
              SELECT m.worker_id, m.month, 0, 0, t.track_id
              FROM te t JOIN dm m ON m.policy_id = t.policy_id
              WHERE m.earns AND (t.part = 'all' OR (t.part = 'deployment') = m.deployed)
                AND (m.month + interval '1 month')::date + (t.payment_due_day - 1) <= $1
              UNION ALL
              SELECT p.worker_id, p.period, 0, p.amount_fen, NULL FROM careledger.payments p
              WHERE p.line = 'temp_subsidy' AND p.date <= $1
                AND EXISTS (SELECT 1 FROM te)) x
        GROUP BY x.worker_id COLLATE "C", x.month),
    entitled AS (
        SELECT x.track_id COLLATE "C", x.unit_id COLLATE "C", count(*) AS eligible,
               count(*) FILTER (WHERE greatest(x.ent - x.paid, 0) = 0) AS covered
        FROM (SELECT d.track_id, w.ent, w.paid,
                     COALESCE(k.unit_id, careledger.first_credited_unit(w.worker_id)) AS unit_id
              FROM wm w CROSS JOIN LATERAL unnest(w.tracks) d (track_id)
              LEFT JOIN careledger.workers k ON k.worker_id = w.worker_id COLLATE "default") x
        GROUP BY x.track_id COLLATE "C", x.unit_id COLLATE "C")
    SELECT * FROM (SELECT * FROM people WHERE $2 IN ('people', 'all')
                   UNION ALL
                   SELECT * FROM entitled WHERE $2 IN ('entitlement', 'all')) r
    WHERE $3 IS NULL OR r.unit_id IN (SELECT unit_id FROM uu)
$$;

-- R8 as of D (as in 003 and 006) for the units under REGION (NULL: all), from the workers'
-- day sets: a run of consecutive worker-days is a range of the set, cut at D, and only
-- workers whose longest run exceeds their limit (or with an open deployment, which runs
-- to D) are looked at. Couples: the dates both spouses' sets hold. Long shifts: each home
-- worker's shifts through the index by worker (index-only), as in 006.
CREATE OR REPLACE FUNCTION compliance_under(d date, region text)
RETURNS TABLE (unit_id text, long_shifts bigint, over_consecutive bigint, couples_same_day bigint)
LANGUAGE sql STABLE SET jit = off SET work_mem = '64MB' AS $$
    WITH up AS MATERIALIZED (SELECT * FROM careledger.unit_policies($1)),
    uu AS MATERIALIZED (SELECT u.unit_id FROM careledger.units_under($2) u),
    away AS MATERIALIZED (
        SELECT k.worker_id FROM careledger.workers k
        WHERE $2 IS NOT NULL AND k.unit_id NOT IN (SELECT unit_id FROM uu)),
    ws AS MATERIALIZED (
        SELECT w.worker_id, w.days, w.longest_run FROM careledger.worker_sets w
        WHERE NOT isempty(w.days)
          AND ($2 IS NULL OR w.worker_id NOT IN (SELECT a.worker_id FROM away a))),
    -- worker_home (003): everyone with a worker-day, registered or with an open deployment
    -- (under a region, of the registered those registered there).
    home AS MATERIALIZED (
        SELECT i.worker_id, up.unit_id, up.timezone, up.shift_max_hours,
               up.max_consecutive_days, up.no_couples
        FROM (SELECT w.worker_id FROM ws w
              UNION SELECT k.worker_id FROM careledger.workers k
                    WHERE $2 IS NULL OR k.worker_id NOT IN (SELECT a.worker_id FROM away a)
              UNION SELECT o.worker_id FROM careledger.open_deployments o) i
        LEFT JOIN careledger.workers k USING (worker_id)
        JOIN up ON up.unit_id = COALESCE(k.unit_id, careledger.first_credited_unit(i.worker_id))),
    -- Runs to D longer than the home's limit: a worker's runs are the ranges of their set
    -- (with an open deployment's days to D), each cut at D.
    consec AS (
        SELECT h.unit_id, count(*) AS n
        FROM home h
        LEFT JOIN ws w USING (worker_id)
        LEFT JOIN careledger.open_deployments o USING (worker_id)
        CROSS JOIN LATERAL unnest(COALESCE(w.days, '{}') +
                                  CASE WHEN o.from_date <= $1
                                       THEN datemultirange(daterange(o.from_date, $1, '[]'))
                                       ELSE '{}' END) r
        WHERE h.max_consecutive_days IS NOT NULL
          AND (w.longest_run > h.max_consecutive_days OR o.worker_id IS NOT NULL)
          AND lower(r) <= $1
          AND least(upper(r) - 1, $1) - lower(r) + 1 > h.max_consecutive_days
        GROUP BY h.unit_id),
    longs AS (
        SELECT h.unit_id, sum(l.n) AS n FROM home h
        CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM careledger.events e
            WHERE e.worker_id = h.worker_id AND e.type = 'shift.completed'
              AND e.end_at - e.start_at > make_interval(hours => h.shift_max_hours)
              AND (e.start_at AT TIME ZONE h.timezone)::date <= $1
              AND NOT EXISTS (SELECT 1 FROM careledger.events c WHERE c.type = 'shift.cancelled'
                              AND c.cancels = e.event_id)) l
        WHERE h.shift_max_hours IS NOT NULL AND l.n > 0
          AND ($2 IS NULL OR h.unit_id IN (SELECT unit_id FROM uu))
        GROUP BY h.unit_id),
    -- Couples (a: the smaller worker_id, whose home unit the pair counts at), those of
    -- units that forbid it (and under the region) only: the dates to D both sets hold.
    couples AS MATERIALIZED (
        SELECT c.a, c.b, h.unit_id
        FROM (SELECT DISTINCT least(w.worker_id, w.spouse_worker_id) AS a,
                     greatest(w.worker_id, w.spouse_worker_id) AS b
              FROM careledger.workers w WHERE w.spouse_worker_id IS NOT NULL
                AND w.spouse_worker_id <> w.worker_id) c
        JOIN home h ON h.worker_id = c.a
        WHERE h.no_couples AND ($2 IS NULL OR h.unit_id IN (SELECT unit_id FROM uu))),
    both_days AS (
        SELECT c.unit_id, s.a * s.b * datemultirange(daterange(NULL, $1, '[]')) AS s
        FROM couples c
        CROSS JOIN LATERAL (
            SELECT COALESCE((SELECT w.days FROM careledger.worker_sets w WHERE w.worker_id = c.a),
                            '{}') +
                   COALESCE((SELECT datemultirange(daterange(o.from_date, $1, '[]'))
                             FROM careledger.open_deployments o
                             WHERE o.worker_id = c.a AND o.from_date <= $1), '{}') AS a,
                   COALESCE((SELECT w.days FROM careledger.worker_sets w WHERE w.worker_id = c.b),
                            '{}') +
                   COALESCE((SELECT datemultirange(daterange(o.from_date, $1, '[]'))
                             FROM careledger.open_deployments o
                             WHERE o.worker_id = c.b AND o.from_date <= $1), '{}') AS b) s),
    pairs AS (
        SELECT b.unit_id, sum(upper(r) - lower(r)) AS n
        FROM both_days b CROSS JOIN LATERAL unnest(b.s) r
        GROUP BY b.unit_id)
    SELECT u.unit_id,
           CASE WHEN u.shift_max_hours IS NULL THEN NULL ELSE COALESCE(l.n, 0)::bigint END,
           CASE WHEN u.max_consecutive_days IS NULL THEN NULL ELSE COALESCE(c.n, 0) END,
           CASE WHEN u.no_couples THEN COALESCE(pr.n, 0)::bigint END
    FROM up u
    LEFT JOIN longs l USING (unit_id) LEFT JOIN consec c USING (unit_id)
    LEFT JOIN pairs pr USING (unit_id)
    WHERE $2 IS NULL OR u.unit_id IN (SELECT unit_id FROM uu)
$$;

-- The one day D or later that R7 reads worker-days for: worker-months are summed per month,
-- and a month still running at D is summed from month_sums when the worker has no day after
-- D, else from their worker-days of that month to D (by their key). Open deployments add
-- their days to D, month by month.
CREATE OR REPLACE FUNCTION worker_months(d date)
RETURNS TABLE (worker_id text, month date, unit_id text, entitled_fen bigint, paid_fen bigint,
               arrears_fen bigint, overpaid_fen bigint)
LANGUAGE sql STABLE AS $$
    SELECT wm.worker_id, wm.month,
           COALESCE(k.unit_id, careledger.first_credited_unit(wm.worker_id)),
           wm.entitled, wm.paid,
           greatest(wm.entitled - wm.paid, 0), greatest(wm.paid - wm.entitled, 0)
    FROM (SELECT x.worker_id, x.month, sum(x.ent) AS entitled, sum(x.paid) AS paid
          FROM (SELECT s.worker_id, s.month, s.subsidy_fen AS ent, 0 AS paid
                FROM careledger.month_sums s
                WHERE s.days <> 0 AND (s.month + interval '1 month')::date <= $1 + 1
                UNION ALL
                SELECT s.worker_id, s.month, s.subsidy_fen, 0
                FROM careledger.month_sums s JOIN careledger.worker_sets w USING (worker_id)
                WHERE s.days <> 0 AND s.month <= $1 AND (s.month + interval '1 month')::date > $1 + 1
                  AND upper(w.days) <= $1 + 1
                UNION ALL
                SELECT w.worker_id, date_trunc('month', y.date::timestamp)::date, y.subsidy_fen, 0
                FROM careledger.worker_sets w
                CROSS JOIN LATERAL (
                    SELECT wd.date, wd.subsidy_fen FROM careledger.worker_days wd
                    WHERE wd.worker_id = w.worker_id
                      AND wd.date >= date_trunc('month', $1::timestamp)::date AND wd.date <= $1) y
                WHERE upper(w.days) > $1 + 1
                  AND w.days && daterange(date_trunc('month', $1::timestamp)::date, $1, '[]')
                UNION ALL
                SELECT o.worker_id, m.m::date,
                       o.subsidy_fen * (least((m.m + interval '1 month')::date - 1, $1) -
                                        greatest(o.from_date, m.m::date) + 1), 0
                FROM careledger.open_deployments o
                CROSS JOIN LATERAL generate_series(date_trunc('month', o.from_date::timestamp),
                                                   $1::timestamp, interval '1 month') m (m)
                WHERE o.from_date <= $1
                UNION ALL
                SELECT p.worker_id, p.period, 0, p.amount_fen FROM careledger.payments p
                WHERE p.line = 'temp_subsidy' AND p.date <= $1) x
          GROUP BY x.worker_id, x.month) wm
    LEFT JOIN careledger.workers k USING (worker_id)
$$;

-- 1 when the caller reads quality_ids whole: not subject to row-level security, or granted
-- the root. A bound login's data-quality section counts the events it can see (006's
-- reading, DECISIONS 91).
CREATE FUNCTION quality_whole() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT row_security_active('careledger.quality_ids') OR careledger.acl_root(current_user)
$$;

-- 006's data quality, read from the events a login can see.
CREATE FUNCTION data_quality_seen()
RETURNS TABLE (problem text, id text, events bigint, first_seen date)
LANGUAGE sql STABLE SET jit = off AS $$
    WITH RECURSIVE su (unit_id) AS (
        (SELECT e.unit_id FROM careledger.events e
         WHERE e.type = 'shift.completed' AND e.unit_id IS NOT NULL ORDER BY e.unit_id LIMIT 1)
        UNION ALL
        SELECT (SELECT e.unit_id FROM careledger.events e
                WHERE e.type = 'shift.completed' AND e.unit_id > su.unit_id
                ORDER BY e.unit_id LIMIT 1)
        FROM su WHERE su.unit_id IS NOT NULL),
    sw (worker_id) AS (
        (SELECT e.worker_id FROM careledger.events e
         WHERE e.worker_id IS NOT NULL ORDER BY e.worker_id LIMIT 1)
        UNION ALL
        SELECT (SELECT e.worker_id FROM careledger.events e
                WHERE e.worker_id IS NOT NULL AND e.worker_id > sw.worker_id
                ORDER BY e.worker_id LIMIT 1)
        FROM sw WHERE sw.worker_id IS NOT NULL)
    SELECT 'unregistered_unit', e.unit_id, count(*), min(e.start_at)::date
    FROM su JOIN careledger.events e ON e.unit_id = su.unit_id AND e.type = 'shift.completed'
    WHERE NOT EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = su.unit_id)
    GROUP BY e.unit_id
    UNION ALL
    SELECT 'unregistered_worker', e.worker_id, count(*), min(COALESCE(e.start_at::date, e.date))
    FROM sw JOIN careledger.events e ON e.worker_id = sw.worker_id
     AND e.type IN ('shift.completed', 'deployment.started', 'benefit.delivered', 'subsidy.paid',
                    'injury.reported')
    WHERE NOT EXISTS (SELECT 1 FROM careledger.workers w WHERE w.worker_id = sw.worker_id)
    GROUP BY e.worker_id
    UNION ALL
    SELECT 'unknown_family', d.family_id, count(*), min(d.date)
    FROM careledger.deliveries d
    WHERE d.family_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM careledger.workers w WHERE w.family_id = d.family_id)
    GROUP BY d.family_id
    UNION ALL
    SELECT 'unknown_unit_delivery', d.unit_id, count(*), min(d.date)
    FROM careledger.deliveries d
    WHERE d.unit_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = d.unit_id)
    GROUP BY d.unit_id
$$;

-- Data quality (as in 004 and 006) from quality_ids: the ids still not registered, and the
-- families no registered worker names.
CREATE OR REPLACE FUNCTION data_quality()
RETURNS TABLE (problem text, id text, events bigint, first_seen date)
LANGUAGE sql STABLE SET jit = off AS $$
    WITH whole AS MATERIALIZED (SELECT careledger.quality_whole() AS yes)
    SELECT 'unregistered_unit', q.id, q.events, q.first_start::date
    FROM careledger.quality_ids q
    WHERE q.problem = 'unregistered_unit' AND (SELECT yes FROM whole)
      AND NOT EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = q.id)
    UNION ALL
    SELECT 'unregistered_worker', q.id, q.events, least(q.first_start::date, q.first_date)
    FROM careledger.quality_ids q
    WHERE q.problem = 'unregistered_worker' AND (SELECT yes FROM whole)
      AND NOT EXISTS (SELECT 1 FROM careledger.workers w WHERE w.worker_id = q.id)
    UNION ALL
    SELECT 'unknown_family', q.id, q.events, q.first_date
    FROM careledger.quality_ids q
    WHERE q.problem = 'family' AND (SELECT yes FROM whole)
      AND NOT EXISTS (SELECT 1 FROM careledger.workers w WHERE w.family_id = q.id)
    UNION ALL
    SELECT 'unknown_unit_delivery', q.id, q.events, q.first_date
    FROM careledger.quality_ids q
    WHERE q.problem = 'unknown_unit_delivery' AND (SELECT yes FROM whole)
      AND NOT EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = q.id)
    UNION ALL
    SELECT * FROM careledger.data_quality_seen() WHERE NOT (SELECT yes FROM whole)
$$;

-- days_to() summed per credited unit, date, kind and policy (NULL policy as ''): unit_days
-- to D, and the open deployments' days to D.
CREATE FUNCTION unit_days_to(d date)
RETURNS TABLE (unit_id text, date date, kind text, policy_id text, days bigint, frontline bigint,
               subsidy_fen bigint, perf_fen bigint)
LANGUAGE sql STABLE AS $$
    SELECT v.unit_id, v.date, v.kind, v.policy_id, v.days, v.frontline, v.subsidy_fen, v.perf_fen
    FROM careledger.unit_days v
    WHERE v.date <= $1 AND (v.days <> 0 OR v.frontline <> 0 OR v.subsidy_fen <> 0 OR v.perf_fen <> 0)
    UNION ALL
    SELECT o.unit_id, g::date, 'deployed', COALESCE(o.policy_id, ''), count(*),
           count(*) FILTER (WHERE o.frontline), sum(o.subsidy_fen), sum(o.perf_fen)
    FROM careledger.open_deployments o,
         generate_series(o.from_date::timestamp, $1::timestamp, interval '1 day') g
    GROUP BY 1, 2, 3, 4
$$;

-- Workers with a worker-day on each date to D (open deployments' days included), per home
-- unit: home_days, and the open deployments at their worker's home.
CREATE FUNCTION home_days_to(d date)
RETURNS TABLE (unit_id text, date date, workers bigint)
LANGUAGE sql STABLE AS $$
    SELECT h.unit_id, h.date, h.workers FROM careledger.home_days h
    WHERE h.date <= $1 AND h.workers <> 0
    UNION ALL
    SELECT x.unit_id, g::date, count(*)
    FROM (SELECT o.worker_id, o.from_date,
                 COALESCE(k.unit_id, careledger.first_credited_unit(o.worker_id)) AS unit_id
          FROM careledger.open_deployments o LEFT JOIN careledger.workers k USING (worker_id)
          WHERE o.from_date <= $1) x,
         generate_series(x.from_date::timestamp, $1::timestamp, interval '1 day') g
    WHERE x.unit_id IS NOT NULL
    GROUP BY 1, 2
$$;
