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
    PRIMARY KEY (policy_id, unit_id, date, kind)    -- a unit's first day under a policy: one probe
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

-- Coverage (R6) per person as sets of dates D (schema 8): for each person (a worker, a
-- family, or a worker-month for entitlement tracks) and track, the dates as of which they
-- are eligible and covered, at their unit. Kept by ingest for the people a batch touches
-- (marks_refresh()); coverage_days holds their boundaries summed per track, unit and date
-- (+1 where a set starts, -1 where it ends), so that a count as of D is a sum to D.
-- '#frontline' marks the workers counted as frontline workers (the reports' KPI).
CREATE TABLE coverage_marks (
    who       text NOT NULL,                -- 'w:' worker, 'f:' family, 'm:' worker ':' month
    track_id  text NOT NULL,
    unit_id   text NOT NULL,
    eligible  datemultirange NOT NULL,
    covered   datemultirange NOT NULL,
    PRIMARY KEY (who, track_id, unit_id)
);
CREATE TABLE coverage_days (
    track_id text NOT NULL,
    unit_id  text NOT NULL,
    date     date NOT NULL,
    eligible bigint NOT NULL,               -- people becoming eligible on date, less those ceasing
    covered  bigint NOT NULL,
    PRIMARY KEY (date, track_id, unit_id)   -- the rows after D: one range
);
-- Each track and unit also has a row dated 'infinity' holding the sum of all its others (the
-- counts as of any D past the last boundary), so a count as of D, a sum to D, is also that
-- total less the rows after D: few at the days reports are asked for.

-- The family each worker was last counted in (a re-registration may move them).
CREATE TABLE mark_members (
    worker_id text PRIMARY KEY,
    family_id text NOT NULL
);
CREATE INDEX deliveries_worker ON deliveries (worker_id, track_id) WHERE worker_id IS NOT NULL;
CREATE INDEX deliveries_family ON deliveries (family_id, track_id) WHERE family_id IS NOT NULL;

-- Families are looked up by id when deliveries are counted at the family's unit.
CREATE INDEX workers_family ON workers (family_id, worker_id);
-- The workers whose runs can exceed a limit (R8), and those at a home unit, by index.
CREATE INDEX worker_sets_longest ON worker_sets (longest_run);
CREATE INDEX worker_sets_home ON worker_sets (home_unit);
CREATE INDEX worker_sets_last ON worker_sets ((upper(days)));  -- workers with days after D

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
-- people (workers, families, worker-months) from coverage_days, the boundaries of their
-- coverage marks summed to D; units from unit_days; the worker-months of workers with an
-- open deployment (whose months go on with D) as in 006, from month_sums. KINDS: 'people',
-- 'entitlement' or 'all' rows.
CREATE OR REPLACE FUNCTION coverage_counts(d date, kinds text, region text)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE plpgsql STABLE SET jit = off SET work_mem = '64MB' AS $fn$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH uu AS MATERIALIZED (SELECT u.unit_id FROM careledger.units_under($3) u),
    t AS MATERIALIZED (
        SELECT pt.* FROM careledger.policy_tracks pt
        WHERE (pt.kind IN ('once', 'recurring') AND $2 IN ('people', 'all'))
           OR (pt.kind = 'entitlement' AND $2 IN ('entitlement', 'all'))),
    marked AS (
        SELECT c.track_id, c.unit_id,
               sum(CASE WHEN c.date = 'infinity' THEN c.eligible ELSE -c.eligible END) AS eligible,
               sum(CASE WHEN c.date = 'infinity' THEN c.covered ELSE -c.covered END) AS covered
        FROM careledger.coverage_days c
        WHERE c.date > $1
          AND c.track_id IN (SELECT t.track_id FROM t
                             WHERE t.scope IN ('worker', 'family') OR t.kind = 'entitlement')
          AND ($3 IS NULL OR c.unit_id IN (SELECT unit_id FROM uu))
        GROUP BY c.track_id, c.unit_id),
    -- Units with a (frontline) worker-day credited to them (under the track's policy): the
    -- first, and for a recurring track one in the window, each looked up by unit in
    -- unit_days' key order; covered by a delivery to the unit.
    units AS (
        SELECT u.track_id, u.unit_id, 1 AS eligible,
               CASE WHEN EXISTS (
                   SELECT 1 FROM careledger.deliveries v
                   WHERE v.track_id = u.track_id AND v.unit_id = u.unit_id AND v.date <= $1
                     AND (u.kind <> 'recurring' OR v.date > $1 - u.cadence_days)
                     AND (u.min_amount_fen IS NULL OR v.amount_fen >= u.min_amount_fen)
                     AND (u.min_sum_insured_fen IS NULL OR v.sum_insured_fen >= u.min_sum_insured_fen))
                    THEN 1 ELSE 0 END AS covered
        FROM (SELECT t.*, un.unit_id,
                     least((SELECT v.date FROM careledger.unit_days v
                            WHERE v.policy_id = t.policy_id AND v.unit_id = un.unit_id
                              AND v.date <= $1 AND v.days > 0
                              AND (t.eligible = 'all' OR v.frontline > 0)
                            ORDER BY v.date LIMIT 1),
                           CASE WHEN t.eligible = 'all' THEN od.any_from ELSE od.fl_from END)
                         AS first_day,
                     t.kind = 'recurring' AND (
                         EXISTS (SELECT 1 FROM careledger.unit_days v
                                 WHERE v.policy_id = t.policy_id AND v.unit_id = un.unit_id
                                   AND v.date <= $1 AND v.date > $1 - t.cadence_days
                                   AND v.days > 0 AND (t.eligible = 'all' OR v.frontline > 0))
                         OR CASE WHEN t.eligible = 'all' THEN od.any_from ELSE od.fl_from END
                            IS NOT NULL) AS recent
              FROM t CROSS JOIN (SELECT x.unit_id FROM careledger.units x
                                 WHERE $3 IS NULL OR x.unit_id IN (SELECT unit_id FROM uu)
                                 UNION SELECT o.unit_id FROM careledger.open_deployments o
                                 WHERE $3 IS NULL AND o.unit_id <> ''
                                 UNION SELECT v.unit_id FROM careledger.unit_days v
                                 WHERE $3 IS NULL AND v.unit_id <> ''
                                   AND NOT EXISTS (SELECT 1 FROM careledger.units x
                                                   WHERE x.unit_id = v.unit_id)) un
              LEFT JOIN (SELECT o.unit_id, o.policy_id, min(o.from_date) AS any_from,
                                min(o.from_date) FILTER (WHERE o.frontline) AS fl_from
                         FROM careledger.open_deployments o WHERE o.from_date <= $1
                         GROUP BY o.unit_id, o.policy_id) od
                ON od.unit_id = un.unit_id AND od.policy_id = t.policy_id
              WHERE t.scope = 'unit' AND t.kind IN ('once', 'recurring')) u
        WHERE u.first_day <= $1 - u.grace_days AND (u.kind <> 'recurring' OR u.recent)),
    -- Worker-months of workers with an open deployment (few), as 006 did for everyone.
    te AS MATERIALIZED (
        SELECT t.track_id, t.policy_id, t.part, p.payment_due_day
        FROM t JOIN careledger.policy_settings p USING (policy_id) WHERE t.kind = 'entitlement'),
    ow AS MATERIALIZED (
        SELECT o.worker_id, o.from_date, o.policy_id, o.subsidy_fen
        FROM careledger.open_deployments o WHERE EXISTS (SELECT 1 FROM te)),
    cut AS MATERIALIZED (
        SELECT date_trunc('month', ($1 - (min(te.payment_due_day) - 1))::timestamp)::date AS m
        FROM te),
    dm AS MATERIALIZED (
        SELECT g.worker_id, g.month, g.policy_id, g.deployed, sum(g.fen) AS fen,
               bool_or(g.earns) AS earns
        FROM (SELECT s.worker_id, s.month, nullif(s.policy_id, '') AS policy_id, s.deployed,
                     s.subsidy_fen AS fen, s.earning > 0 AS earns
              FROM ow CROSS JOIN LATERAL (
                  SELECT s.* FROM careledger.month_sums s
                  WHERE s.worker_id = ow.worker_id AND s.month < (SELECT cut.m FROM cut)
                  OFFSET 0) s
              UNION ALL
              SELECT o.worker_id, m.m::date, o.policy_id, true,
                     o.subsidy_fen * (least((m.m + interval '1 month')::date - 1, $1) -
                                      greatest(o.from_date, m.m::date) + 1),
                     o.subsidy_fen > 0
              FROM ow o
              CROSS JOIN LATERAL generate_series(date_trunc('month', o.from_date::timestamp),
                                                 (SELECT cut.m FROM cut) - interval '1 month',
                                                 interval '1 month') m (m)
              WHERE o.from_date <= $1) g
        GROUP BY g.worker_id, g.month, g.policy_id, g.deployed),
    wm AS (
        SELECT x.worker_id, x.month, sum(x.fen) AS ent, sum(x.paid) AS paid,
               array_agg(DISTINCT x.track_id) FILTER (WHERE x.track_id IS NOT NULL) AS tracks
        FROM (SELECT m.worker_id, m.month, m.fen, 0 AS paid, NULL AS track_id FROM dm m
              UNION ALL
              SELECT m.worker_id, m.month, 0, 0, t.track_id
              FROM te t JOIN dm m ON m.policy_id = t.policy_id
              WHERE m.earns AND (t.part = 'all' OR (t.part = 'deployment') = m.deployed)
                AND (m.month + interval '1 month')::date + (t.payment_due_day - 1) <= $1
              UNION ALL
              SELECT p.worker_id, p.period, 0, p.amount_fen, NULL
              FROM ow CROSS JOIN LATERAL (
                  SELECT p.* FROM careledger.payments p
                  WHERE p.worker_id = ow.worker_id AND p.line = 'temp_subsidy' AND p.date <= $1
                  OFFSET 0) p) x
        GROUP BY x.worker_id, x.month),
    entitled AS (
        SELECT d.track_id, COALESCE(k.unit_id, careledger.first_credited_unit(w.worker_id)) AS unit_id,
               1 AS eligible, CASE WHEN greatest(w.ent - w.paid, 0) = 0 THEN 1 ELSE 0 END AS covered
        FROM wm w CROSS JOIN LATERAL unnest(w.tracks) d (track_id)
        LEFT JOIN LATERAL (SELECT k.unit_id FROM careledger.workers k
                           WHERE k.worker_id = w.worker_id OFFSET 0) k ON true)
    SELECT r.track_id COLLATE "C", r.unit_id COLLATE "C", sum(r.eligible)::bigint,
           sum(r.covered)::bigint
    FROM (SELECT * FROM marked UNION ALL SELECT * FROM units UNION ALL SELECT * FROM entitled) r
    WHERE $3 IS NULL OR r.unit_id IN (SELECT unit_id FROM uu)
    GROUP BY r.track_id COLLATE "C", r.unit_id COLLATE "C"
    HAVING sum(r.eligible) > 0;
END
$fn$;

-- R8 as of D (as in 003 and 006) for the units under REGION (NULL: all), from the workers'
-- day sets, looking only at the workers who can count: a run of consecutive worker-days is a
-- range of the set, cut at D, so only those whose longest run exceeds the smallest limit in
-- force (or with an open deployment, which runs to D) are looked at; long shifts, each
-- worker's shifts through the index by worker (index-only, as in 006), of those whose home
-- policy limits shifts; couples, the dates both spouses' sets hold. Homes (worker_home's)
-- are looked up for those workers only; the counts belong to the home unit, so a region
-- keeps the rows of its units.
CREATE OR REPLACE FUNCTION compliance_under(d date, region text)
RETURNS TABLE (unit_id text, long_shifts bigint, over_consecutive bigint, couples_same_day bigint)
LANGUAGE plpgsql STABLE SET jit = off SET work_mem = '64MB' AS $fn$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH up AS MATERIALIZED (SELECT * FROM careledger.unit_policies($1)),
    uu AS MATERIALIZED (SELECT u.unit_id FROM careledger.units_under($2) u),
    lim AS MATERIALIZED (
        SELECT min(up.max_consecutive_days) AS consec FROM up
        WHERE $2 IS NULL OR up.unit_id IN (SELECT unit_id FROM uu)),
    -- Limited shifts: the workers whose home is a unit whose policy limits them.
    shifty AS MATERIALIZED (
        SELECT up.unit_id FROM up
        WHERE up.shift_max_hours IS NOT NULL
          AND ($2 IS NULL OR up.unit_id IN (SELECT unit_id FROM uu))),
    cand AS (
        SELECT w.worker_id FROM careledger.worker_sets w
        WHERE w.longest_run > (SELECT lim.consec FROM lim)
        UNION SELECT o.worker_id FROM careledger.open_deployments o
        UNION SELECT least(w.worker_id, w.spouse_worker_id) FROM careledger.workers w
              WHERE w.spouse_worker_id IS NOT NULL AND w.spouse_worker_id <> w.worker_id
        UNION SELECT k.worker_id FROM careledger.workers k
              WHERE k.unit_id IN (SELECT unit_id FROM shifty)
        UNION SELECT w.worker_id FROM shifty s
              CROSS JOIN LATERAL (SELECT w.worker_id FROM careledger.worker_sets w
                                  WHERE w.home_unit = s.unit_id OFFSET 0) w
              WHERE NOT EXISTS (SELECT 1 FROM careledger.workers k WHERE k.worker_id = w.worker_id)),
    -- worker_home (003): everyone with a worker-day, registered or with an open deployment.
    home AS MATERIALIZED (
        SELECT i.worker_id, up.unit_id, up.timezone, up.shift_max_hours,
               up.max_consecutive_days, up.no_couples, w.days, w.longest_run, o.from_date
        FROM cand i
        LEFT JOIN LATERAL (SELECT k.unit_id FROM careledger.workers k
                           WHERE k.worker_id = i.worker_id OFFSET 0) k ON true
        LEFT JOIN LATERAL (SELECT w.days, w.longest_run, w.home_unit FROM careledger.worker_sets w
                           WHERE w.worker_id = i.worker_id AND NOT isempty(w.days) OFFSET 0) w ON true
        LEFT JOIN LATERAL (SELECT o.from_date FROM careledger.open_deployments o
                           WHERE o.worker_id = i.worker_id OFFSET 0) o ON true
        JOIN up ON up.unit_id = COALESCE(k.unit_id, w.home_unit)
        WHERE (k.unit_id IS NOT NULL OR w.days IS NOT NULL OR o.from_date IS NOT NULL)
          AND ($2 IS NULL OR up.unit_id IN (SELECT unit_id FROM uu))),
    consec AS (
        SELECT h.unit_id, count(*) AS n
        FROM home h
        CROSS JOIN LATERAL unnest(COALESCE(h.days, '{}') +
                                  CASE WHEN h.from_date <= $1
                                       THEN datemultirange(daterange(h.from_date, $1, '[]'))
                                       ELSE '{}' END) r
        WHERE h.max_consecutive_days IS NOT NULL
          AND (h.longest_run > h.max_consecutive_days OR h.from_date IS NOT NULL)
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
        GROUP BY h.unit_id),
    -- Couples (a: the smaller worker_id, whose home unit the pair counts at), those of
    -- units that forbid it only: the dates to D both sets hold.
    couples AS MATERIALIZED (
        SELECT c.a, c.b, h.unit_id
        FROM (SELECT DISTINCT least(w.worker_id, w.spouse_worker_id) AS a,
                     greatest(w.worker_id, w.spouse_worker_id) AS b
              FROM careledger.workers w WHERE w.spouse_worker_id IS NOT NULL
                AND w.spouse_worker_id <> w.worker_id) c
        JOIN home h ON h.worker_id = c.a
        WHERE h.no_couples),
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
    WHERE $2 IS NULL OR u.unit_id IN (SELECT unit_id FROM uu);
END
$fn$;

-- R7 per worker-month as of D (as in 003 and 006): whole months from month_sums, and the
-- month D falls in too for a worker with no day after D (every worker, at the last day of
-- data); the others' days of that month to D from worker_days (read only when there are
-- such workers). Open deployments add their days to D, month by month.
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
                SELECT y.worker_id, date_trunc('month', y.date::timestamp)::date, y.subsidy_fen, 0
                FROM careledger.worker_days y
                WHERE y.date >= date_trunc('month', $1::timestamp)::date AND y.date <= $1
                  AND y.worker_id IN (SELECT w.worker_id FROM careledger.worker_sets w
                                      WHERE upper(w.days) > $1 + 1)
                  AND EXISTS (SELECT 1 FROM careledger.worker_sets w WHERE upper(w.days) > $1 + 1)
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

-- The policies in force in a region over time (SPEC §4, as policy_at() picks them for each
-- day): each policy of an ancestor with the days it is in force and no nearer one is.
CREATE FUNCTION region_policy_spans(region text)
RETURNS TABLE (policy_id text, span datemultirange)
LANGUAGE sql STABLE AS $$
    WITH p AS (
        SELECT s.policy_id, a.depth,
               datemultirange(daterange(s.effective_from, s.effective_to, '[]')) AS r
        FROM careledger.region_ancestors($1) a
        JOIN careledger.policy_settings s ON s.region = a.ancestor)
    SELECT p.policy_id,
           p.r - COALESCE((SELECT range_agg(q.r) FROM p q WHERE q.depth < p.depth), '{}')
    FROM p
$$;

-- A set widened by N - 1 days after each of its ranges: the days D with one of its days in
-- (D - N, D].
CREATE FUNCTION widen(s datemultirange, n integer) RETURNS datemultirange
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE((SELECT range_agg(daterange(lower(r), upper(r) + ($2 - 1))) FROM unnest($1) r),
                    '{}')
$$;

-- The coverage marks (into the session's mk_new) of the people listed in agg_marks_w
-- (workers), agg_marks_f (families) and agg_marks_m (worker-months); the families of the
-- workers listed (now and as last counted) are added to agg_marks_f. Eligibility as of D
-- follows 006's coverage_counts() exactly: a person counts under the policy in force at
-- their home on D (the policy's span), from the first qualifying day + grace_days, and for
-- recurring tracks on days with a qualifying day in the last cadence_days; a family from its
-- members' days, at the unit of the member who qualified first; a delivery covers from its
-- date (once) or for cadence_days (recurring). Worker-months of workers with an open
-- deployment are left to report time (their months go on with D).
CREATE FUNCTION marks_compute() RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    -- The families of the workers listed, as registered now and as last counted.
    INSERT INTO pg_temp.agg_marks_f (family_id)
    SELECT COALESCE(k.family_id, w.worker_id) FROM pg_temp.agg_marks_w w
    LEFT JOIN LATERAL (SELECT k.family_id FROM careledger.workers k
                       WHERE k.worker_id = w.worker_id OFFSET 0) k ON true
    UNION
    SELECT m.family_id FROM pg_temp.agg_marks_w w
    CROSS JOIN LATERAL (SELECT m.family_id FROM careledger.mark_members m
                        WHERE m.worker_id = w.worker_id OFFSET 0) m
    ON CONFLICT DO NOTHING;

    -- Everyone whose days count: the workers listed and the families' members (a family
    -- named by an id no registered worker has may be an unregistered worker's own).
    CREATE TEMP TABLE IF NOT EXISTS mk_people (worker_id text PRIMARY KEY, family_id text,
        unit_id text, region text, registered timestamptz, children integer,
        days datemultirange, direct datemultirange, deployed datemultirange,
        designated datemultirange, open datemultirange, injured datemultirange)
        ON COMMIT DELETE ROWS;
    DELETE FROM mk_people;
    INSERT INTO mk_people
    WITH ids AS (
        SELECT w.worker_id FROM pg_temp.agg_marks_w w
        UNION SELECT m.worker_id FROM pg_temp.agg_marks_f f
              CROSS JOIN LATERAL (SELECT k.worker_id FROM careledger.workers k
                                  WHERE k.family_id = f.family_id OFFSET 0) m
        UNION SELECT f.family_id FROM pg_temp.agg_marks_f f),
    inj AS (
        SELECT s.worker_id, range_agg(daterange(s.date, s.date, '[]')) AS i
        FROM careledger.injury_stages s WHERE s.stage = 'reported' AND s.worker_id IS NOT NULL
        GROUP BY s.worker_id)
    SELECT i.worker_id, COALESCE(k.family_id, i.worker_id), h.unit_id, u.region, k.occurred_at,
           COALESCE(k.children, 0), COALESCE(ws.days, '{}'), COALESCE(ws.direct, '{}'),
           COALESCE(ws.deployed, '{}'), COALESCE(ws.designated, '{}'),
           CASE WHEN o.from_date IS NOT NULL THEN datemultirange(daterange(o.from_date, NULL))
                ELSE '{}' END,
           COALESCE(inj.i, '{}')
    FROM ids i
    LEFT JOIN LATERAL (SELECT k.* FROM careledger.workers k
                       WHERE k.worker_id = i.worker_id OFFSET 0) k ON true
    LEFT JOIN LATERAL (SELECT w.* FROM careledger.worker_sets w
                       WHERE w.worker_id = i.worker_id OFFSET 0) ws ON true
    LEFT JOIN LATERAL (SELECT o.from_date FROM careledger.open_deployments o
                       WHERE o.worker_id = i.worker_id OFFSET 0) o ON true
    LEFT JOIN inj ON inj.worker_id = i.worker_id
    CROSS JOIN LATERAL (SELECT COALESCE(k.unit_id, ws.home_unit) AS unit_id) h
    LEFT JOIN careledger.units u ON u.unit_id = h.unit_id
    WHERE k.worker_id IS NOT NULL OR NOT isempty(COALESCE(ws.days, '{}'))
       OR o.from_date IS NOT NULL OR inj.i IS NOT NULL;

    -- Each person's qualifying days per key, under each policy in force at their home.
    CREATE TEMP TABLE IF NOT EXISTS mk_keys (worker_id text, family_id text, unit_id text,
        policy_id text, span datemultirange, key text, first_day date, days datemultirange)
        ON COMMIT DELETE ROWS;
    DELETE FROM mk_keys;
    INSERT INTO mk_keys
    WITH sp AS MATERIALIZED (
        SELECT r.region, x.policy_id, x.span, ps.frontline, ps.timezone
        FROM (SELECT DISTINCT p.region FROM mk_people p WHERE p.region IS NOT NULL) r
        CROSS JOIN LATERAL careledger.region_policy_spans(r.region) x
        JOIN careledger.policy_settings ps ON ps.policy_id = x.policy_id
        WHERE NOT isempty(x.span)),
    pk AS MATERIALIZED (
        SELECT DISTINCT t.policy_id, t.eligible AS key FROM careledger.policy_tracks t
        WHERE t.kind IN ('once', 'recurring') AND t.scope IN ('worker', 'family')
        UNION SELECT s.policy_id, 'frontline' FROM (SELECT DISTINCT policy_id FROM sp) s)
    SELECT y.worker_id, y.family_id, y.unit_id, y.policy_id, y.span, y.key,
           CASE WHEN y.key = 'all' AND y.reg IS NOT NULL THEN y.reg ELSE lower(y.s) END, y.s
    FROM (SELECT p.worker_id, p.family_id, p.unit_id, sp.policy_id, sp.span, pk.key,
                 (p.registered AT TIME ZONE sp.timezone)::date AS reg,
                 CASE pk.key
                     WHEN 'frontline' THEN CASE WHEN sp.frontline = 'any' THEN p.days + p.open
                                                ELSE p.direct + p.deployed + p.open END
                     WHEN 'direct' THEN p.direct
                     WHEN 'deployed' THEN p.deployed + p.open
                     WHEN 'direct_or_deployed' THEN p.direct + p.deployed + p.open
                     WHEN 'designated_frontline' THEN p.designated + p.deployed + p.open
                     WHEN 'with_children' THEN
                         CASE WHEN p.children <= 0 THEN '{}'::datemultirange
                              WHEN sp.frontline = 'any' THEN p.days + p.open
                              ELSE p.direct + p.deployed + p.open END
                     WHEN 'infected' THEN p.injured
                     WHEN 'all' THEN p.days + p.open +
                         CASE WHEN p.registered IS NOT NULL
                              THEN datemultirange(daterange((p.registered AT TIME ZONE sp.timezone)::date,
                                                            (p.registered AT TIME ZONE sp.timezone)::date, '[]'))
                              ELSE '{}' END
                 END AS s
          FROM mk_people p JOIN sp ON sp.region = p.region
          JOIN pk ON pk.policy_id = sp.policy_id) y
    WHERE CASE WHEN y.key = 'all' AND y.reg IS NOT NULL THEN y.reg ELSE lower(y.s) END IS NOT NULL;

    -- The new marks.
    CREATE TEMP TABLE IF NOT EXISTS mk_new (who text, track_id text, unit_id text,
        eligible datemultirange, covered datemultirange) ON COMMIT DELETE ROWS;
    DELETE FROM mk_new;
    -- Workers: per track of their scope, and as frontline workers. A delivery qualifies when
    -- it reaches the track's minimums; it covers from its date (once) or for cadence_days.
    INSERT INTO mk_new
    WITH dv AS (
        SELECT v.worker_id, v.track_id,
               CASE WHEN t.kind = 'once' THEN datemultirange(daterange(min(v.date), NULL))
                    ELSE range_agg(daterange(v.date, v.date + t.cadence_days)) END AS cover
        FROM pg_temp.agg_marks_w w
        CROSS JOIN LATERAL (SELECT v.* FROM careledger.deliveries v
                            WHERE v.worker_id = w.worker_id OFFSET 0) v
        JOIN careledger.policy_tracks t ON t.track_id = v.track_id
        WHERE t.scope = 'worker' AND t.kind IN ('once', 'recurring')
          AND (t.min_amount_fen IS NULL OR v.amount_fen >= t.min_amount_fen)
          AND (t.min_sum_insured_fen IS NULL OR v.sum_insured_fen >= t.min_sum_insured_fen)
        GROUP BY v.worker_id, v.track_id, t.kind)
    SELECT 'w:' || x.worker_id, x.track_id, x.unit_id, x.e, x.e * COALESCE(dv.cover, '{}')
    FROM (SELECT q.worker_id, q.unit_id, t.track_id,
                 q.span * datemultirange(daterange(q.first_day + t.grace_days, NULL))
                 * CASE WHEN t.kind = 'recurring' THEN careledger.widen(q.days, t.cadence_days)
                        ELSE '{(,)}'::datemultirange END AS e
          FROM mk_keys q
          JOIN careledger.policy_tracks t ON t.policy_id = q.policy_id AND t.eligible = q.key
          WHERE t.scope = 'worker' AND t.kind IN ('once', 'recurring')
            AND q.worker_id IN (SELECT w.worker_id FROM pg_temp.agg_marks_w w)) x
    LEFT JOIN dv ON dv.worker_id = x.worker_id AND dv.track_id = x.track_id
    WHERE NOT isempty(x.e)
    UNION ALL
    SELECT 'w:' || q.worker_id, '#frontline', q.unit_id,
           range_agg(q.span * datemultirange(daterange(q.first_day, NULL))), '{}'
    FROM mk_keys q
    WHERE q.key = 'frontline' AND q.worker_id IN (SELECT w.worker_id FROM pg_temp.agg_marks_w w)
    GROUP BY q.worker_id, q.unit_id;

    -- Families: eligible while a member is (under the policy at their home), at the unit of
    -- the member who qualified first among those in the policy's span.
    INSERT INTO mk_new
    WITH m AS (
        SELECT q.*, q.span - COALESCE(range_agg(q.span) OVER (
                   PARTITION BY q.family_id, q.policy_id, q.key ORDER BY q.first_day, q.worker_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), '{}') AS own
        FROM mk_keys q WHERE q.family_id IN (SELECT f.family_id FROM pg_temp.agg_marks_f f)),
    e AS (
        SELECT m.family_id, t.track_id, t.kind, t.cadence_days, t.min_amount_fen,
               t.min_sum_insured_fen,
               range_agg(m.span * datemultirange(daterange(m.first_day + t.grace_days, NULL)))
               * CASE WHEN t.kind = 'recurring'
                      THEN range_agg(m.span * careledger.widen(m.days, t.cadence_days))
                      ELSE '{(,)}'::datemultirange END AS e
        FROM m JOIN careledger.policy_tracks t ON t.policy_id = m.policy_id AND t.eligible = m.key
        WHERE t.scope = 'family' AND t.kind IN ('once', 'recurring')
        GROUP BY m.family_id, t.track_id, t.kind, t.cadence_days, t.min_amount_fen,
                 t.min_sum_insured_fen),
    u AS (
        SELECT e.family_id, e.track_id, e.kind, e.cadence_days, e.min_amount_fen,
               e.min_sum_insured_fen, m.unit_id, e.e * range_agg(m.own) AS e
        FROM e JOIN careledger.policy_tracks t USING (track_id)
        JOIN m ON m.family_id = e.family_id AND m.policy_id = t.policy_id AND m.key = t.eligible
        GROUP BY e.family_id, e.track_id, e.kind, e.cadence_days, e.min_amount_fen,
                 e.min_sum_insured_fen, m.unit_id, e.e)
    SELECT 'f:' || u.family_id, u.track_id, u.unit_id, u.e, u.e * COALESCE(dv.cover, '{}')
    FROM u LEFT JOIN LATERAL (
        SELECT CASE WHEN u.kind = 'once' THEN datemultirange(daterange(min(v.date), NULL))
                    ELSE range_agg(daterange(v.date, v.date + u.cadence_days)) END AS cover
        FROM careledger.deliveries v
        WHERE v.family_id = u.family_id AND v.track_id = u.track_id
          AND (u.min_amount_fen IS NULL OR v.amount_fen >= u.min_amount_fen)
          AND (u.min_sum_insured_fen IS NULL OR v.sum_insured_fen >= u.min_sum_insured_fen)
        HAVING count(*) > 0) dv ON true
    WHERE NOT isempty(u.e);

    -- Worker-months (entitlement tracks): eligible from the month's due date when it has
    -- entitlement of the track's part; covered from the day its temp_subsidy payments reach
    -- the month's whole entitlement (or from the due date when that is not above zero).
    INSERT INTO mk_new
    WITH wm AS (
        SELECT a.worker_id, a.month, COALESCE(k.unit_id, ws.home_unit) AS unit_id,
               (SELECT COALESCE(sum(s.subsidy_fen), 0) FROM careledger.month_sums s
                WHERE s.worker_id = a.worker_id AND s.month = a.month) AS ent
        FROM pg_temp.agg_marks_m a
        LEFT JOIN LATERAL (SELECT k.unit_id FROM careledger.workers k
                           WHERE k.worker_id = a.worker_id OFFSET 0) k ON true
        LEFT JOIN LATERAL (SELECT w.home_unit FROM careledger.worker_sets w
                           WHERE w.worker_id = a.worker_id OFFSET 0) ws ON true
        WHERE NOT EXISTS (SELECT 1 FROM careledger.open_deployments o
                          WHERE o.worker_id = a.worker_id)),
    due AS (
        SELECT wm.*, t.track_id,
               (wm.month + interval '1 month')::date + (p.payment_due_day - 1) AS due
        FROM wm
        JOIN careledger.month_sums s ON s.worker_id = wm.worker_id AND s.month = wm.month
        JOIN careledger.policy_tracks t ON t.policy_id = s.policy_id AND t.kind = 'entitlement'
        JOIN careledger.policy_settings p ON p.policy_id = t.policy_id
        WHERE s.earning > 0 AND (t.part = 'all' OR (t.part = 'deployment') = s.deployed)
          AND wm.unit_id IS NOT NULL
        GROUP BY wm.worker_id, wm.month, wm.unit_id, wm.ent, t.track_id, p.payment_due_day),
    full_paid AS (
        SELECT wm.worker_id, wm.month,
               CASE WHEN wm.ent <= 0 THEN '-infinity'::date
                    ELSE (SELECT min(x.date) FROM (
                              SELECT p.date, sum(p.amount_fen) OVER (ORDER BY p.date) AS cum
                              FROM careledger.payments p
                              WHERE p.worker_id = wm.worker_id AND p.period = wm.month
                                AND p.line = 'temp_subsidy') x
                          WHERE x.cum >= wm.ent) END AS d
        FROM wm)
    SELECT 'm:' || d.worker_id || ':' || to_char(d.month, 'YYYY-MM-DD'), d.track_id, d.unit_id,
           datemultirange(daterange(d.due, NULL)),
           CASE WHEN f.d IS NULL THEN '{}'::datemultirange
                ELSE datemultirange(daterange(greatest(d.due, f.d), NULL)) END
    FROM due d JOIN full_paid f USING (worker_id, month);

END
$fn$;

-- Recompute the coverage marks of the people listed (marks_compute()) and apply the
-- difference to coverage_days. Under the lock 'careledger.marks', taken last in a batch:
-- marks are recomputed from what is committed, so that two batches never apply differences
-- to the same old marks; a person whose facts a batch still in flight changes is
-- recomputed again by that batch.
CREATE FUNCTION marks_refresh() RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_temp.agg_marks_w) AND NOT EXISTS (SELECT 1 FROM pg_temp.agg_marks_f)
       AND NOT EXISTS (SELECT 1 FROM pg_temp.agg_marks_m) THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('careledger.marks', 0));
    PERFORM careledger.marks_compute();

    -- What changed: the stored marks of the people recomputed less the new ones, and back.
    CREATE TEMP TABLE IF NOT EXISTS mk_old (who text, track_id text, unit_id text,
        eligible datemultirange, covered datemultirange) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS mk_diff (sign integer, who text, track_id text,
        unit_id text, eligible datemultirange, covered datemultirange) ON COMMIT DELETE ROWS;
    DELETE FROM mk_old;
    DELETE FROM mk_diff;
    INSERT INTO mk_old
    SELECT o.* FROM (SELECT 'w:' || w.worker_id AS who FROM pg_temp.agg_marks_w w
                     UNION ALL SELECT 'f:' || f.family_id FROM pg_temp.agg_marks_f f
                     UNION ALL SELECT 'm:' || m.worker_id || ':' || to_char(m.month, 'YYYY-MM-DD')
                     FROM pg_temp.agg_marks_m m) k
    CROSS JOIN LATERAL (SELECT o.* FROM careledger.coverage_marks o WHERE o.who = k.who OFFSET 0) o;
    INSERT INTO mk_diff
    SELECT 1, x.* FROM (SELECT * FROM mk_new EXCEPT ALL SELECT * FROM mk_old) x
    UNION ALL
    SELECT -1, x.* FROM (SELECT * FROM mk_old EXCEPT ALL SELECT * FROM mk_new) x;

    -- The difference to coverage_days: each set's ranges start (+1) and end (-1), on its
    -- date and on the total's.
    INSERT INTO careledger.coverage_days AS t (track_id, unit_id, date, eligible, covered)
    SELECT x.track_id, x.unit_id, k.date, sum(x.e), sum(x.c)
    FROM (SELECT n.track_id, n.unit_id, b.date, b.n * n.sign AS e, 0 AS c
          FROM mk_diff n CROSS JOIN LATERAL unnest(n.eligible) r
          CROSS JOIN LATERAL (VALUES (lower(r), 1), (upper(r), -1)) b (date, n)
          WHERE b.date IS NOT NULL
          UNION ALL
          SELECT n.track_id, n.unit_id, b.date, 0, b.n * n.sign
          FROM mk_diff n CROSS JOIN LATERAL unnest(n.covered) r
          CROSS JOIN LATERAL (VALUES (lower(r), 1), (upper(r), -1)) b (date, n)
          WHERE b.date IS NOT NULL) x
    CROSS JOIN LATERAL (VALUES (x.date), ('infinity'::date)) k (date)
    GROUP BY 1, 2, 3 HAVING sum(x.e) <> 0 OR sum(x.c) <> 0
    ORDER BY 3, 1, 2
    ON CONFLICT (track_id, unit_id, date) DO UPDATE SET eligible = t.eligible + EXCLUDED.eligible,
        covered = t.covered + EXCLUDED.covered;

    DELETE FROM careledger.coverage_marks o
    WHERE o.who = ANY (ARRAY(SELECT DISTINCT d.who FROM mk_diff d WHERE d.sign < 0))
      AND (o.who, o.track_id, o.unit_id) IN (SELECT d.who, d.track_id, d.unit_id FROM mk_diff d
                                             WHERE d.sign < 0);
    INSERT INTO careledger.coverage_marks
    SELECT d.who, d.track_id, d.unit_id, d.eligible, d.covered FROM mk_diff d WHERE d.sign > 0;
    INSERT INTO careledger.mark_members AS t (worker_id, family_id)
    SELECT p.worker_id, p.family_id FROM mk_people p
    WHERE p.worker_id IN (SELECT w.worker_id FROM pg_temp.agg_marks_w w)
    ORDER BY 1
    ON CONFLICT (worker_id) DO UPDATE SET family_id = EXCLUDED.family_id;
END
$fn$;

-- Only ingest (and the schema owner: rebuild, verify) recomputes marks; report logins call
-- no function that writes (007: acl_prepare alone).
REVOKE EXECUTE ON FUNCTION marks_compute(), marks_refresh() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION marks_compute(), marks_refresh() TO careledger_ingest;

-- The frontline workers (the reports' KPI) whose home is under a region, as of D (their
-- marks' total less what starts after D).
CREATE FUNCTION frontline_under(d date, region text)
RETURNS TABLE (unit_id text, workers bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.unit_id,
           sum(CASE WHEN c.date = 'infinity' THEN c.eligible ELSE -c.eligible END)::bigint
    FROM careledger.coverage_days c
    WHERE c.track_id = '#frontline' AND c.date > $1
      AND c.unit_id IN (SELECT u.unit_id FROM careledger.units_under($2) u)
    GROUP BY c.unit_id
$$;

-- Row-level security of the marks: per unit as their neighbours; the marks per person and
-- the members are ingest's own (no report reads them).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['coverage_days', 'coverage_marks', 'mark_members'] LOOP
        EXECUTE format('ALTER TABLE careledger.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY ingest_all ON careledger.%I TO careledger_ingest '
                       'USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;
CREATE POLICY report_scope ON coverage_days FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR unit_id IN (SELECT acl_ids(current_user, 'units0')));
CREATE POLICY report_scope ON coverage_marks FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user)));
CREATE POLICY report_scope ON mark_members FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user)));

-- The marks of everyone who exists now (a database migrated with data).
CREATE TEMP TABLE agg_marks_w (worker_id text PRIMARY KEY) ON COMMIT DROP;
CREATE TEMP TABLE agg_marks_f (family_id text PRIMARY KEY) ON COMMIT DROP;
CREATE TEMP TABLE agg_marks_m (worker_id text, month date, PRIMARY KEY (worker_id, month))
    ON COMMIT DROP;
INSERT INTO agg_marks_w
SELECT worker_id FROM workers UNION SELECT worker_id FROM worker_sets
UNION SELECT worker_id FROM open_deployments
UNION SELECT worker_id FROM injury_stages WHERE worker_id IS NOT NULL;
INSERT INTO agg_marks_m SELECT DISTINCT worker_id, month FROM month_sums;
DO $$ BEGIN PERFORM careledger.marks_refresh(); END $$;

-- The unit a delivery counts at (as in 003 and 006): the delivery's unit, else the worker's
-- home, else that of the family's smallest registered member, looked up by workers_family
-- only for family deliveries (006 sorted every worker for them).
CREATE OR REPLACE VIEW delivery_units AS
SELECT d.*, t.line, t.kind,
       COALESCE(d.unit_id, k.unit_id, careledger.first_credited_unit(d.worker_id),
                (SELECT w.unit_id FROM workers w WHERE w.family_id = d.family_id
                 ORDER BY w.worker_id LIMIT 1)) AS counted_unit
FROM deliveries d LEFT JOIN policy_tracks t USING (track_id)
LEFT JOIN workers k ON k.worker_id = d.worker_id;

-- Worker-days and their entitlement to D per credited unit: unit_days, and the open
-- deployments' days to D (days_to() summed per unit, for the KPIs and the comparison).
CREATE FUNCTION unit_totals_to(d date)
RETURNS TABLE (unit_id text, days bigint, subsidy_fen bigint)
LANGUAGE sql STABLE AS $$
    SELECT x.unit_id, sum(x.days)::bigint, sum(x.fen)::bigint
    FROM (SELECT v.unit_id, v.days, v.subsidy_fen AS fen FROM careledger.unit_days v
          WHERE v.date <= $1
          UNION ALL
          SELECT o.unit_id, $1 - o.from_date + 1, o.subsidy_fen * ($1 - o.from_date + 1)
          FROM careledger.open_deployments o WHERE o.from_date <= $1) x
    GROUP BY x.unit_id
$$;

-- budgets_at() of the budgets under a region (a unit's under it, or a region's at or below
-- it), summing only the spending of the units under the region (no other unit is in such a
-- budget's scope). Planned for the date and region asked (PL/pgSQL).
CREATE FUNCTION budgets_under(d date, region text)
RETURNS TABLE (budget_id text, scope text, line text, funding text, budget_fen bigint,
               paid_fen bigint, remaining_fen bigint, burn_fen bigint, exhaustion date,
               over_budget boolean)
LANGUAGE plpgsql STABLE SET jit = off SET work_mem = '64MB' AS $fn$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH uu AS MATERIALIZED (SELECT u.unit_id FROM careledger.units_under($2) u),
    bu AS MATERIALIZED (
        SELECT b.* FROM careledger.budgets b
        WHERE b.scope IN (SELECT unit_id FROM uu)
           OR (b.scope ~ '^[0-9]{6}$' AND EXISTS (SELECT 1 FROM careledger.region_ancestors(b.scope) a
                                                   WHERE a.ancestor = $2))),
    x AS MATERIALIZED (
        SELECT y.line, y.unit, y.date, sum(y.amount_fen) AS fen
        FROM (SELECT p.line, p.unit_id AS unit, p.date, p.amount_fen FROM careledger.payments p
              WHERE p.date <= $1 AND p.unit_id IN (SELECT unit_id FROM uu)
              UNION ALL
              SELECT v.line, v.counted_unit, v.date, v.amount_fen FROM careledger.delivery_units v
              WHERE v.amount_fen IS NOT NULL AND v.line IS NOT NULL AND v.date <= $1) y
        WHERE y.line IN (SELECT b.line FROM bu b) AND y.unit IN (SELECT unit_id FROM uu)
        GROUP BY y.line, y.unit, y.date),
    anc AS MATERIALIZED (
        SELECT DISTINCT u.unit_id, ra.ancestor
        FROM careledger.units u
        JOIN (SELECT r.region, a.ancestor
              FROM (SELECT DISTINCT un.region FROM careledger.units un) r
              CROSS JOIN LATERAL careledger.region_ancestors(r.region) a) ra
          ON ra.region = u.region
        WHERE u.unit_id IN (SELECT unit_id FROM uu)),
    scoped AS MATERIALIZED (
        SELECT b.budget_id, b.line, b.from_date, b.to_date, b.scope AS unit
        FROM bu b
        UNION ALL
        SELECT b.budget_id, b.line, b.from_date, b.to_date, anc.unit_id
        FROM bu b JOIN anc ON anc.ancestor = b.scope
        WHERE anc.unit_id <> b.scope),
    sums AS (
        SELECT s.budget_id, sum(x.fen) AS paid, sum(x.fen) FILTER (WHERE x.date > $1 - 14) AS burn
        FROM scoped s
        JOIN x ON x.unit = s.unit AND x.line = s.line AND x.date BETWEEN s.from_date AND s.to_date
        GROUP BY s.budget_id),
    b AS (
        SELECT b.*, COALESCE(s.paid, 0)::bigint AS paid, COALESCE(s.burn, 0)::bigint AS burn
        FROM bu b LEFT JOIN sums s USING (budget_id))
    SELECT b.budget_id, b.scope, b.line, b.funding, b.amount_fen, b.paid,
           b.amount_fen - b.paid, b.burn,
           CASE WHEN b.burn > 0 AND b.amount_fen - b.paid > 0
                THEN $1 + (((b.amount_fen - b.paid) * 14 + b.burn - 1) / b.burn)::integer
                WHEN b.burn > 0 THEN $1 END,
           b.paid > b.amount_fen
    FROM b;
END
$fn$;
