-- careledger schema 6: the "as of D" figures of migrations 003 and 004 with the same
-- names, signatures and results, set-based (issue 7: a daily report of the 20,000-worker
-- province took minutes). What made them slow: policy_at() once per worker or case
-- (LATERAL), worker_home's look-up per worker and delivery_units' per delivery (the
-- family one re-evaluating all of worker_home each time), unit_in_scope() per payment
-- and budget, coverage_people's correlated EXISTS whose CASE on the scope defeated every
-- index, each function reading worker_days again, date_trunc() on timestamptz per
-- worker-day, and compliance_at() and data_quality() reading the raw events' heap.
--
-- Now a unit's policy is resolved once per distinct region (policy_at() itself), homes
-- are looked up for the workers at hand, coverage makes two passes over worker_days,
-- compliance one ordered walk of its key, raw events are read from indexes only, and
-- the reports call variants restricted to their region (coverage_under(),
-- compliance_under(), qualifications_under()) that read only what can count there.
-- bench/report_sql_equiv.sh compares every function's output before and after, and
-- each variant with its full function.

SET LOCAL search_path = careledger;

-- R8's long shifts need every shift's length (no aggregate keeps it) and whether it was
-- cancelled. Reading those from the events' heap cost seconds at province size, so 005's
-- index by worker also carries end_at and event_id: the per-worker shift look-up is
-- index-only. Still one index on events (each insert maintains the same number), its
-- entries a few bytes wider.
DROP INDEX events_worker_start;
CREATE INDEX events_worker_start ON events (worker_id, type, start_at) INCLUDE (end_at, event_id)
    WHERE worker_id IS NOT NULL;

-- Every registered unit with the settings of its policy as of D (NULLs when none is in
-- force): policy_at() itself, evaluated once per distinct region rather than per row.
CREATE FUNCTION unit_policies(d date)
RETURNS TABLE (unit_id text, region text, policy_id text, frontline text, timezone text,
               shift_max_hours integer, max_consecutive_days integer, no_couples boolean,
               payment_due_day integer)
LANGUAGE sql STABLE AS $$
    WITH rp AS MATERIALIZED (
        SELECT r.region, careledger.policy_at(r.region, $1) AS p
        FROM (SELECT DISTINCT u.region FROM careledger.units u) r)
    SELECT u.unit_id, u.region, (rp.p).policy_id, (rp.p).frontline, (rp.p).timezone,
           (rp.p).shift_max_hours, (rp.p).max_consecutive_days, (rp.p).no_couples,
           (rp.p).payment_due_day
    FROM careledger.units u JOIN rp ON rp.region = u.region
$$;

-- R9's home of a worker not (yet) registered: the unit of their first worker-day
-- credited to a unit (NULL when none). Called only where workers has no row (COALESCE
-- after the registered unit), so it is costed as the cheap look-up it is.
CREATE FUNCTION first_credited_unit(worker text) RETURNS text
LANGUAGE sql STABLE STRICT COST 5 AS $$
    SELECT d.unit_id FROM careledger.worker_days d
    WHERE d.worker_id = $1 AND d.unit_id <> '' ORDER BY d.date LIMIT 1
$$;

-- The units under a region, as the reports select a jurisdiction's: those whose region
-- has it among its ancestors (region_ancestors()), resolved once per distinct region.
CREATE FUNCTION units_under(region text) RETURNS TABLE (unit_id text)
LANGUAGE sql STABLE AS $$
    SELECT u.unit_id FROM careledger.units u
    WHERE u.region IN (SELECT r.region FROM (SELECT DISTINCT x.region FROM careledger.units x) r
                       WHERE EXISTS (SELECT 1 FROM careledger.region_ancestors(r.region) a
                                     WHERE a.ancestor = $1))
$$;

-- The registered workers whose qualifying days can decide a figure of a unit under a
-- region: those registered there and the other members of their families (a family
-- belongs to the unit of the member who qualified first and counts from the first
-- member's first day to the last one's last), and the members of families named by an
-- id no registered worker has (it may be an unregistered worker's, whose family is
-- their own id). Unregistered workers are always read: their home, the unit of their
-- first credited worker-day, is known only from their worker-days.
CREATE FUNCTION kin_under(region text) RETURNS TABLE (worker_id text)
LANGUAGE sql STABLE AS $$
    SELECT k.worker_id FROM careledger.workers k
    WHERE k.family_id IN (SELECT f.family_id FROM careledger.workers f
                          WHERE f.unit_id IN (SELECT u.unit_id FROM careledger.units_under($1) u))
       OR k.family_id NOT IN (SELECT r.worker_id FROM careledger.workers r)
$$;

-- R9 (as in 003). The same rows: every worker with a worker-day, a registration or an
-- open deployment. The distinct worker_ids of worker_days are found by walking its
-- primary key (one probe per worker instead of reading every worker-day), and the
-- first credited unit is looked up for unregistered workers only.
CREATE OR REPLACE VIEW worker_home AS
SELECT w.worker_id,
       COALESCE(k.unit_id, careledger.first_credited_unit(w.worker_id)) AS unit_id
FROM (WITH RECURSIVE ids (worker_id) AS (
          (SELECT d.worker_id FROM worker_days d ORDER BY d.worker_id LIMIT 1)
          UNION ALL
          SELECT (SELECT d.worker_id FROM worker_days d WHERE d.worker_id > ids.worker_id
                  ORDER BY d.worker_id LIMIT 1)
          FROM ids WHERE ids.worker_id IS NOT NULL)
      SELECT ids.worker_id FROM ids WHERE ids.worker_id IS NOT NULL
      UNION SELECT r.worker_id FROM workers r
      UNION SELECT o.worker_id FROM open_deployments o) w
LEFT JOIN workers k USING (worker_id);

-- R7 per worker-month as of D (as in 003), at worker_home's unit, looked up for the
-- workers listed only. Entitled days and payments are grouped together per worker and
-- month (the rows of 003's full join), so a caller's filter on the month reaches both
-- (the finance statement reads one month). Months are truncated as timestamps: the
-- same first day, without a time-zone conversion per worker-day.
CREATE OR REPLACE FUNCTION worker_months(d date)
RETURNS TABLE (worker_id text, month date, unit_id text, entitled_fen bigint, paid_fen bigint,
               arrears_fen bigint, overpaid_fen bigint)
LANGUAGE sql STABLE AS $$
    SELECT wm.worker_id, wm.month,
           COALESCE(k.unit_id, careledger.first_credited_unit(wm.worker_id)),
           wm.entitled, wm.paid,
           greatest(wm.entitled - wm.paid, 0), greatest(wm.paid - wm.entitled, 0)
    FROM (SELECT x.worker_id, x.month, sum(x.ent) AS entitled, sum(x.paid) AS paid
          FROM (SELECT y.worker_id, date_trunc('month', y.date::timestamp)::date AS month,
                       y.subsidy_fen AS ent, 0 AS paid
                FROM careledger.days_to($1) y
                UNION ALL
                SELECT p.worker_id, p.period, 0, p.amount_fen FROM careledger.payments p
                WHERE p.line = 'temp_subsidy' AND p.date <= $1) x
          GROUP BY x.worker_id, x.month) wm
    LEFT JOIN careledger.workers k USING (worker_id)
$$;

-- The unit a delivery counts at (as in 003): the delivery's unit, else the worker's
-- home, else that of the family's smallest registered member (a registered worker's
-- home is their unit). Joins instead of a sub-query per delivery.
CREATE OR REPLACE VIEW delivery_units AS
SELECT d.*, t.line, t.kind,
       COALESCE(d.unit_id, k.unit_id, careledger.first_credited_unit(d.worker_id), fm.unit_id)
           AS counted_unit
FROM deliveries d LEFT JOIN policy_tracks t USING (track_id)
LEFT JOIN workers k ON k.worker_id = d.worker_id
LEFT JOIN (SELECT DISTINCT ON (w.family_id) w.family_id, w.unit_id FROM workers w
           ORDER BY w.family_id, w.worker_id) fm ON fm.family_id = d.family_id;

-- R7 budgets as of D (as in 003). Spending is summed per line, unit and day first; a
-- budget's scope covers the unit of that id and every registered unit whose region has
-- the scope among its ancestors (unit_in_scope()), ancestors resolved once per region.
CREATE OR REPLACE FUNCTION budgets_at(d date)
RETURNS TABLE (budget_id text, scope text, line text, funding text, budget_fen bigint,
               paid_fen bigint, remaining_fen bigint, burn_fen bigint, exhaustion date,
               over_budget boolean)
LANGUAGE sql STABLE SET jit = off AS $$
    WITH x AS MATERIALIZED (
        SELECT y.line, y.unit, y.date, sum(y.amount_fen) AS fen
        FROM (SELECT p.line, p.unit_id AS unit, p.date, p.amount_fen FROM careledger.payments p
              WHERE p.date <= $1
              UNION ALL
              SELECT v.line, v.counted_unit, v.date, v.amount_fen FROM careledger.delivery_units v
              WHERE v.amount_fen IS NOT NULL AND v.line IS NOT NULL AND v.date <= $1) y
        WHERE y.line IN (SELECT b.line FROM careledger.budgets b)
        GROUP BY y.line, y.unit, y.date),
    anc AS MATERIALIZED (
        SELECT DISTINCT u.unit_id, ra.ancestor
        FROM careledger.units u
        JOIN (SELECT r.region, a.ancestor
              FROM (SELECT DISTINCT un.region FROM careledger.units un) r
              CROSS JOIN LATERAL careledger.region_ancestors(r.region) a) ra
          ON ra.region = u.region),
    scoped AS MATERIALIZED (
        SELECT b.budget_id, b.line, b.from_date, b.to_date, b.scope AS unit
        FROM careledger.budgets b
        UNION ALL
        SELECT b.budget_id, b.line, b.from_date, b.to_date, anc.unit_id
        FROM careledger.budgets b JOIN anc ON anc.ancestor = b.scope
        WHERE anc.unit_id <> b.scope),
    sums AS (
        SELECT s.budget_id, sum(x.fen) AS paid, sum(x.fen) FILTER (WHERE x.date > $1 - 14) AS burn
        FROM scoped s
        JOIN x ON x.unit = s.unit AND x.line = s.line AND x.date BETWEEN s.from_date AND s.to_date
        GROUP BY s.budget_id),
    b AS (
        SELECT b.*, COALESCE(s.paid, 0)::bigint AS paid, COALESCE(s.burn, 0)::bigint AS burn
        FROM careledger.budgets b LEFT JOIN sums s USING (budget_id))
    SELECT b.budget_id, b.scope, b.line, b.funding, b.amount_fen, b.paid,
           b.amount_fen - b.paid, b.burn,
           CASE WHEN b.burn > 0 AND b.amount_fen - b.paid > 0
                THEN $1 + (((b.amount_fen - b.paid) * 14 + b.burn - 1) / b.burn)::integer
                WHEN b.burn > 0 THEN $1 END,
           b.paid > b.amount_fen
    FROM b
$$;

-- R8 as of D (as in 003) for the units under REGION (NULL: all), in one ordered pass
-- over worker_days' primary key instead of sorting and grouping every worker-day: each
-- maximal run of consecutive days to D is seen at its first and last day, and each
-- worker at their first day, which also lists who has worker-days for the homes
-- (worker_home lists a worker whose worker-days are all after D too). Workers with an
-- open deployment have its days to D added, made distinct, apart (a few). Long shifts:
-- each home worker's shifts through the index by worker (index-only, see above).
-- Couples: the days of their members only.
CREATE FUNCTION compliance_under(d date, region text)
RETURNS TABLE (unit_id text, long_shifts bigint, over_consecutive bigint, couples_same_day bigint)
LANGUAGE sql STABLE SET jit = off SET work_mem = '64MB' AS $$
    WITH up AS MATERIALIZED (SELECT * FROM careledger.unit_policies($1)),
    -- Under a region: its units; the workers walked are those not registered elsewhere
    -- (an unregistered worker's home only their worker-days tell): one hashed look-up
    -- per worker-day.
    uu AS MATERIALIZED (SELECT u.unit_id FROM careledger.units_under($2) u),
    away AS MATERIALIZED (
        SELECT k.worker_id FROM careledger.workers k
        WHERE k.unit_id NOT IN (SELECT unit_id FROM uu)),
    -- Each worker's days in key order, reduced to the first and last day of each run to
    -- D (and the first day of all, which lists the worker); a run's length is then its
    -- last day less the latest first day before it, plus one.
    walk AS MATERIALIZED (
        SELECT y.worker_id, y.prev IS NULL AS first,
               CASE WHEN y.last THEN y.date - max(CASE WHEN y.start THEN y.date END)
                                              OVER (PARTITION BY y.worker_id ORDER BY y.date
                                                    ROWS UNBOUNDED PRECEDING) + 1 END AS len
        FROM (SELECT x.worker_id, x.date, x.prev,
                     x.date <= $1 AND (x.prev IS NULL OR x.prev <> x.date - 1) AS start,
                     x.date <= $1 AND (x.next IS NULL OR x.next <> x.date + 1 OR x.next > $1)
                         AS last
              FROM (SELECT wd.worker_id, wd.date, lag(wd.date) OVER w AS prev,
                           lead(wd.date) OVER w AS next
                    FROM careledger.worker_days wd
                    WHERE $2 IS NULL OR wd.worker_id NOT IN (SELECT a.worker_id FROM away a)
                    WINDOW w AS (PARTITION BY wd.worker_id ORDER BY wd.date)) x) y
        WHERE y.prev IS NULL OR y.start OR y.last),
    runs AS (
        SELECT w.worker_id, w.len FROM walk w
        WHERE w.len IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM careledger.open_deployments o
                          WHERE o.worker_id = w.worker_id)
        UNION ALL
        SELECT x.worker_id, count(*) FROM (
            SELECT z.worker_id,
                   z.date - (row_number() OVER (PARTITION BY z.worker_id ORDER BY z.date))::integer
                       AS grp
            FROM (SELECT o.worker_id, y.date FROM careledger.open_deployments o
                  CROSS JOIN LATERAL (
                      SELECT wd.date FROM careledger.worker_days wd
                      WHERE wd.worker_id = o.worker_id AND wd.date <= $1
                      UNION
                      SELECT g::date FROM generate_series(o.from_date, $1, interval '1 day') g) y) z) x
        GROUP BY x.worker_id, x.grp),
    -- worker_home (003): everyone with a worker-day, registered or with an open deployment
    -- (under a region, of the registered those registered there).
    home AS MATERIALIZED (
        SELECT i.worker_id, up.unit_id, up.timezone, up.shift_max_hours,
               up.max_consecutive_days, up.no_couples
        FROM (SELECT w.worker_id FROM walk w WHERE w.first
              UNION SELECT k.worker_id FROM careledger.workers k
                    WHERE $2 IS NULL OR k.worker_id NOT IN (SELECT a.worker_id FROM away a)
              UNION SELECT o.worker_id FROM careledger.open_deployments o) i
        LEFT JOIN careledger.workers k USING (worker_id)
        JOIN up ON up.unit_id = COALESCE(k.unit_id, careledger.first_credited_unit(i.worker_id))),
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
    consec AS (
        SELECT h.unit_id, count(*) AS n FROM runs r JOIN home h USING (worker_id)
        WHERE h.max_consecutive_days IS NOT NULL AND r.len > h.max_consecutive_days
        GROUP BY h.unit_id),
    -- Couples (a: the smaller worker_id, whose home unit the pair counts at), those of
    -- units that forbid it (and under the region) only. A date counts when both have it:
    -- each one's dates are distinct, so the pair and date then occur twice.
    couples AS MATERIALIZED (
        SELECT c.a, c.b, h.unit_id
        FROM (SELECT DISTINCT least(w.worker_id, w.spouse_worker_id) AS a,
                     greatest(w.worker_id, w.spouse_worker_id) AS b
              FROM careledger.workers w WHERE w.spouse_worker_id IS NOT NULL
                AND w.spouse_worker_id <> w.worker_id) c
        JOIN home h ON h.worker_id = c.a
        WHERE h.no_couples AND ($2 IS NULL OR h.unit_id IN (SELECT unit_id FROM uu))),
    pairs AS (
        SELECT y.unit_id, count(*) AS n FROM (
            SELECT c.unit_id, c.a, c.b, x.date
            FROM couples c CROSS JOIN LATERAL (VALUES (c.a), (c.b)) m (worker_id)
            CROSS JOIN LATERAL (
                SELECT wd.date FROM careledger.worker_days wd
                WHERE wd.worker_id = m.worker_id AND wd.date <= $1
                UNION
                SELECT g::date FROM careledger.open_deployments o,
                       generate_series(o.from_date, $1, interval '1 day') g
                WHERE o.worker_id = m.worker_id) x
            GROUP BY c.unit_id, c.a, c.b, x.date HAVING count(*) = 2) y
        GROUP BY y.unit_id)
    SELECT u.unit_id,
           CASE WHEN u.shift_max_hours IS NULL THEN NULL ELSE COALESCE(l.n, 0)::bigint END,
           CASE WHEN u.max_consecutive_days IS NULL THEN NULL ELSE COALESCE(c.n, 0) END,
           CASE WHEN u.no_couples THEN COALESCE(pr.n, 0) END
    FROM up u
    LEFT JOIN longs l USING (unit_id) LEFT JOIN consec c USING (unit_id)
    LEFT JOIN pairs pr USING (unit_id)
    WHERE $2 IS NULL OR u.unit_id IN (SELECT unit_id FROM uu)
$$;

-- R8 as of D (as in 003): compliance_under() of every unit.
CREATE OR REPLACE FUNCTION compliance_at(d date)
RETURNS TABLE (unit_id text, long_shifts bigint, over_consecutive bigint, couples_same_day bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM careledger.compliance_under($1, NULL)
$$;

-- Qualifying days (as in 004) from one pass over worker_days grouped per worker. An open
-- deployment adds its deployed days from departure to D; a day is designated only as a
-- worker-day (an expanded deployment day is designated where a worker-day of that date
-- is, and that worker-day counts itself). Homes follow worker_home's rule, looked up for
-- the people who can qualify: registered, with a worker-day to D, deployed or injured.
CREATE FUNCTION qualifications_in(d date, region text)
RETURNS TABLE (worker_id text, family_id text, unit_id text, policy_id text, key text,
               first_day date, last_day date)
LANGUAGE sql STABLE ROWS 100000 SET jit = off SET work_mem = '64MB' AS $$
    -- Under a region, the registered workers who are not kin_under() it are left out
    -- (one hashed look-up per worker-day).
    WITH away AS MATERIALIZED (
        SELECT r.worker_id FROM careledger.workers r
        WHERE r.worker_id NOT IN (SELECT k.worker_id FROM careledger.kin_under($2) k)),
    wd AS (
        SELECT x.worker_id, min(x.date) AS a1, max(x.date) AS a2,
               min(x.date) FILTER (WHERE x.kind <> 'other') AS n1,
               max(x.date) FILTER (WHERE x.kind <> 'other') AS n2,
               min(x.date) FILTER (WHERE x.kind = 'direct') AS d1,
               max(x.date) FILTER (WHERE x.kind = 'direct') AS d2,
               min(x.date) FILTER (WHERE x.kind = 'deployed') AS p1,
               max(x.date) FILTER (WHERE x.kind = 'deployed') AS p2,
               min(x.date) FILTER (WHERE x.designated) AS g1,
               max(x.date) FILTER (WHERE x.designated) AS g2
        FROM careledger.worker_days x
        WHERE x.date <= $1
          AND ($2 IS NULL OR x.worker_id NOT IN (SELECT a.worker_id FROM away a))
        GROUP BY x.worker_id),
    od AS (
        SELECT o.worker_id, o.from_date AS o1, $1 AS o2 FROM careledger.open_deployments o
        WHERE o.from_date <= $1),
    inj AS (
        SELECT worker_id, min(date) AS i1, max(date) AS i2 FROM careledger.injury_stages
        WHERE stage = 'reported' AND date <= $1 GROUP BY worker_id),
    ids AS (
        SELECT k.worker_id FROM careledger.workers k
        WHERE $2 IS NULL OR k.worker_id NOT IN (SELECT a.worker_id FROM away a)
        UNION SELECT w.worker_id FROM wd w
        UNION SELECT o.worker_id FROM careledger.open_deployments o
        UNION SELECT i.worker_id FROM inj i),
    home AS (
        SELECT h.worker_id, COALESCE(h.family_id, h.worker_id) AS family_id, h.unit_id,
               p.policy_id, p.frontline, p.timezone, COALESCE(h.children, 0) AS children,
               h.occurred_at AS registered_at
        FROM (SELECT i.worker_id, w.family_id, w.children, w.occurred_at,
                     COALESCE(w.unit_id, careledger.first_credited_unit(i.worker_id)) AS unit_id
              FROM ids i LEFT JOIN careledger.workers w USING (worker_id)) h
        JOIN careledger.unit_policies($1) p USING (unit_id)
        WHERE p.policy_id IS NOT NULL),
    q AS (
        SELECT h.worker_id, h.family_id, h.unit_id, h.policy_id, h.children, h.registered_at,
               h.timezone,
               CASE WHEN h.frontline = 'any' THEN least(w.a1, o.o1) ELSE least(w.n1, o.o1) END AS f1,
               CASE WHEN h.frontline = 'any' THEN greatest(w.a2, o.o2) ELSE greatest(w.n2, o.o2) END AS f2,
               w.d1, w.d2,
               least(w.p1, o.o1) AS p1, greatest(w.p2, o.o2) AS p2,
               w.g1, w.g2,
               least(w.a1, o.o1) AS a1, greatest(w.a2, o.o2) AS a2
        FROM home h LEFT JOIN wd w USING (worker_id) LEFT JOIN od o USING (worker_id))
    SELECT q.worker_id, q.family_id, q.unit_id, q.policy_id, k.key, k.first_day, k.last_day
    FROM q LEFT JOIN inj USING (worker_id)
    CROSS JOIN LATERAL (VALUES
        ('frontline', q.f1, q.f2),
        ('direct', q.d1, q.d2),
        ('deployed', q.p1, q.p2),
        ('direct_or_deployed', least(q.d1, q.p1), greatest(q.d2, q.p2)),
        ('designated_frontline', least(q.g1, q.p1), greatest(q.g2, q.p2)),
        ('with_children', CASE WHEN q.children > 0 THEN q.f1 END, CASE WHEN q.children > 0 THEN q.f2 END),
        ('infected', inj.i1, inj.i2),
        ('all', CASE WHEN q.registered_at IS NOT NULL
                     THEN (q.registered_at AT TIME ZONE q.timezone)::date ELSE q.a1 END,
                greatest(q.a2, CASE WHEN q.registered_at IS NOT NULL
                                    THEN (q.registered_at AT TIME ZONE q.timezone)::date END))
    ) AS k (key, first_day, last_day)
    WHERE k.first_day IS NOT NULL AND k.first_day <= $1
$$;

-- Qualifying days as of D (as in 004).
CREATE OR REPLACE FUNCTION qualifications(d date)
RETURNS TABLE (worker_id text, family_id text, unit_id text, policy_id text, key text,
               first_day date, last_day date)
LANGUAGE sql STABLE ROWS 100000 AS $$
    SELECT * FROM careledger.qualifications_in($1, NULL)
$$;

-- qualifications() of the workers whose home is under a region.
CREATE FUNCTION qualifications_under(d date, region text)
RETURNS TABLE (worker_id text, family_id text, unit_id text, policy_id text, key text,
               first_day date, last_day date)
LANGUAGE sql STABLE ROWS 30000 AS $$
    SELECT q.* FROM careledger.qualifications_in($1, $2) q
    WHERE q.unit_id IN (SELECT u.unit_id FROM careledger.units_under($2) u)
$$;

-- R6 work-injury channel (as in 004): the home unit of the injured only, policies per
-- unit once.
CREATE OR REPLACE FUNCTION coverage_sla(d date)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE AS $$
    WITH cases AS (
        SELECT r.case_id, r.worker_id, r.date AS reported,
               (SELECT s.date FROM careledger.injury_stages s WHERE s.case_id = r.case_id
                AND s.stage = 'recognized' AND s.date <= $1) AS recognized,
               (SELECT s.date FROM careledger.injury_stages s WHERE s.case_id = r.case_id
                AND s.stage = 'paid' AND s.date <= $1) AS paid
        FROM careledger.injury_stages r WHERE r.stage = 'reported' AND r.date <= $1),
    -- worker_home's unit (NULL for someone it does not list: the case is nobody's).
    owned AS (
        SELECT c.*, p.unit_id, p.policy_id
        FROM (SELECT c.*,
                     COALESCE(k.unit_id, careledger.first_credited_unit(c.worker_id)) AS home_unit
              FROM cases c LEFT JOIN careledger.workers k USING (worker_id)) c
        JOIN careledger.unit_policies($1) p ON p.unit_id = c.home_unit),
    judged AS (
        SELECT t.track_id, o.unit_id,
               CASE t.stage WHEN 'recognition' THEN o.reported
                    ELSE COALESCE(o.recognized, o.reported) + t.pay_within_days END AS deadline,
               CASE t.stage WHEN 'recognition' THEN o.recognized ELSE o.paid END AS done
        FROM careledger.policy_tracks t JOIN owned o ON o.policy_id = t.policy_id
        WHERE t.kind = 'sla')
    SELECT track_id, unit_id, count(*), count(*) FILTER (WHERE done IS NOT NULL AND done <= deadline)
    FROM judged WHERE deadline <= $1 GROUP BY track_id, unit_id
$$;

-- R6 for once and recurring tracks (004's coverage_people) and entitlement tracks (its
-- coverage_entitlement) of the units under REGION (NULL: all), in one query that reads
-- worker_days twice: per worker in qualifications_in(), and once grouped per policy,
-- unit, worker, month and deployment for the unit candidates and the entitlements. The
-- eligible are found once per class of tracks and the deliveries that cover once per
-- track and person (the scope resolved once, not by a CASE inside a correlated EXISTS).
-- Its sets come from CTEs and function scans, which have no statistics, so the planner
-- estimates them orders of magnitude small: large sets meet by grouping or through a
-- hashed sub-plan, never by a join it could turn into a nested loop, and what it may
-- sort is keyed byte-wise. KINDS: 'people', 'entitlement' or 'all' rows.
CREATE FUNCTION coverage_counts(d date, kinds text, region text)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE SET jit = off SET work_mem = '64MB' AS $$
    -- Under a region: its units, and the registered workers who are not kin_under() it,
    -- left out (unregistered workers are always read).
    WITH uu AS MATERIALIZED (SELECT u.unit_id FROM careledger.units_under($3) u),
    away AS MATERIALIZED (
        SELECT r.worker_id FROM careledger.workers r
        WHERE r.worker_id NOT IN (SELECT k.worker_id FROM careledger.kin_under($3) k)),
    -- Tracks that count the same people (same policy, scope, eligibility, grace and
    -- cadence) share a class: who is eligible is worked out once per class.
    t AS MATERIALIZED (
        SELECT pt.*, dense_rank() OVER (ORDER BY pt.policy_id, pt.scope, pt.eligible,
                                        pt.grace_days, pt.kind, pt.cadence_days) AS cls
        FROM careledger.policy_tracks pt WHERE pt.kind IN ('once', 'recurring')),
    c AS MATERIALIZED (
        SELECT DISTINCT t.cls, t.policy_id, t.scope, t.eligible, t.grace_days, t.kind,
               t.cadence_days
        FROM t),
    te AS MATERIALIZED (
        SELECT t.track_id, t.policy_id, t.part, p.payment_due_day
        FROM careledger.policy_tracks t JOIN careledger.policy_settings p USING (policy_id)
        WHERE t.kind = 'entitlement'),
    -- The days to D grouped per policy and unit (unit candidates) and, for the days of
    -- months that can be due by D, also per worker, month and deployment or not
    -- (entitlements). Month M is due for a track when the first of M + 1 month +
    -- (payment_due_day - 1) <= D: no day on or after the first of the month of
    -- D - (smallest payment_due_day - 1) is in a month due by D.
    dg AS MATERIALIZED (
        SELECT x.policy_id, x.unit_id, x.worker_id, x.month, x.deployed,
               min(x.date) AS a1, max(x.date) AS a2,
               min(x.date) FILTER (WHERE x.frontline) AS f1,
               max(x.date) FILTER (WHERE x.frontline) AS f2,
               sum(x.subsidy_fen) AS fen, bool_or(x.subsidy_fen > 0) AS earns
        FROM (SELECT y.policy_id, y.unit_id, y.date, y.frontline, y.subsidy_fen,
                     CASE WHEN y.early THEN y.worker_id END AS worker_id,
                     CASE WHEN y.early THEN date_trunc('month', y.date::timestamp)::date
                          END AS month,
                     CASE WHEN y.early THEN y.kind = 'deployed' END AS deployed
              FROM (SELECT z.*, z.date < (SELECT date_trunc('month', ($1 - (min(te.payment_due_day)
                                                                   - 1))::timestamp)::date
                                          FROM te) AS early
                    FROM careledger.days_to($1) z
                    WHERE $3 IS NULL OR z.unit_id IN (SELECT unit_id FROM uu)
                       OR z.worker_id NOT IN (SELECT a.worker_id FROM away a)) y) x
        GROUP BY x.policy_id, x.unit_id, x.worker_id, x.month, x.deployed),
    q AS MATERIALIZED (
        SELECT * FROM careledger.qualifications_in($1, $3)
        WHERE EXISTS (SELECT 1 FROM c WHERE c.scope IN ('worker', 'family'))),
    -- The eligible people (worker, family or unit) of each class, with their unit.
    ec AS MATERIALIZED (
        SELECT c.cls, q.worker_id AS who, q.unit_id
        FROM c JOIN q ON q.policy_id = c.policy_id AND q.key = c.eligible
        WHERE c.scope = 'worker' AND q.first_day <= $1 - c.grace_days
          AND (c.kind <> 'recurring' OR q.last_day >= $1 - c.cadence_days + 1)
        UNION ALL
        -- A family qualifies when a member does, from the first member's first day to the
        -- last one's last; it belongs to the unit of the member who qualified first (tie:
        -- the smaller worker_id): one sort, on keys that compare cheaply first.
        SELECT f.cls, f.who, f.unit_id FROM (
            SELECT c.cls, q.family_id AS who, q.unit_id, c.grace_days, c.kind, c.cadence_days,
                   row_number() OVER w AS k, min(q.first_day) OVER w AS first_day,
                   max(q.last_day) OVER w AS last_day
            FROM c JOIN q ON q.policy_id = c.policy_id AND q.key = c.eligible
            WHERE c.scope = 'family'
            WINDOW w AS (PARTITION BY c.cls, q.family_id COLLATE "C"
                         ORDER BY q.first_day, q.worker_id
                         ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) f
        WHERE f.k = 1 AND f.first_day <= $1 - f.grace_days
          AND (f.kind <> 'recurring' OR f.last_day >= $1 - f.cadence_days + 1)
        UNION ALL
        -- Units with a (frontline) worker-day credited to them.
        SELECT u.cls, u.unit_id, u.unit_id FROM (
            SELECT c.cls, x.unit_id, c.grace_days, c.kind, c.cadence_days,
                   CASE WHEN c.eligible = 'all' THEN min(x.a1) ELSE min(x.f1) END AS first_day,
                   CASE WHEN c.eligible = 'all' THEN max(x.a2) ELSE max(x.f2) END AS last_day
            FROM c JOIN dg x ON x.policy_id = c.policy_id
            WHERE c.scope = 'unit' AND x.unit_id <> ''
            GROUP BY c.cls, x.unit_id, c.eligible, c.grace_days, c.kind, c.cadence_days) u
        WHERE u.first_day <= $1 - u.grace_days
          AND (u.kind <> 'recurring' OR u.last_day >= $1 - u.cadence_days + 1)),
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
    -- Per track and unit: its class's eligible, and how many of them have a delivery (a
    -- look-up in one hash of the pairs delivered, whatever the estimates; no join of
    -- large sets whose sizes the planner cannot know). Grouped on byte-wise keys.
    people AS (
        SELECT t.track_id COLLATE "C" AS track_id, e.unit_id COLLATE "C" AS unit_id,
               count(*) AS eligible,
               count(*) FILTER (WHERE (t.track_id, e.who) IN (SELECT d.track_id, d.who
                                                               FROM delivered d)) AS covered
        FROM t JOIN ec e ON e.cls = t.cls
        GROUP BY t.track_id COLLATE "C", e.unit_id COLLATE "C"),
    -- Entitlement: worker-months with entitlement of the track's part, due by D; covered
    -- when paid in full (worker_months' arrears 0): the month's whole entitlement against
    -- its temp_subsidy paid by D. Entitled, paid and the tracks due are gathered per
    -- worker-month by grouping, not by joining the three.
    dm AS MATERIALIZED (
        SELECT g.worker_id, g.month, g.policy_id, g.deployed, sum(g.fen) AS fen,
               bool_or(g.earns) AS earns
        FROM dg g WHERE g.worker_id IS NOT NULL
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
              WHERE p.line = 'temp_subsidy' AND p.date <= $1) x
        GROUP BY x.worker_id COLLATE "C", x.month),
    entitled AS (
        SELECT x.track_id COLLATE "C", x.unit_id COLLATE "C", count(*) AS eligible,
               count(*) FILTER (WHERE greatest(x.ent - x.paid, 0) = 0) AS covered
        FROM (SELECT d.track_id, w.ent, w.paid,
                     COALESCE(k.unit_id, careledger.first_credited_unit(w.worker_id)) AS unit_id
              FROM wm w CROSS JOIN LATERAL unnest(w.tracks) d (track_id)
              LEFT JOIN careledger.workers k ON k.worker_id = w.worker_id COLLATE "default") x
        GROUP BY x.track_id COLLATE "C", x.unit_id COLLATE "C")
    -- The kinds asked for only: the other part is not evaluated.
    SELECT * FROM (SELECT * FROM people WHERE $2 IN ('people', 'all')
                   UNION ALL
                   SELECT * FROM entitled WHERE $2 IN ('entitlement', 'all')) r
    WHERE $3 IS NULL OR r.unit_id IN (SELECT unit_id FROM uu)
$$;

-- R6 once / recurring tracks (as in 004).
CREATE OR REPLACE FUNCTION coverage_people(d date)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM careledger.coverage_counts($1, 'people', NULL)
$$;

-- R6 entitlement tracks (as in 004).
CREATE OR REPLACE FUNCTION coverage_entitlement(d date)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM careledger.coverage_counts($1, 'entitlement', NULL)
$$;

-- R6 every countable track (as in 004).
CREATE OR REPLACE FUNCTION coverage_at(d date)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM careledger.coverage_counts($1, 'all', NULL)
    UNION ALL SELECT * FROM careledger.coverage_sla($1)
$$;

-- coverage_at() of the units under a region, reading only what can count there.
CREATE FUNCTION coverage_under(d date, region text)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM careledger.coverage_counts($1, 'all', $2)
    UNION ALL
    SELECT s.* FROM careledger.coverage_sla($1) s
    WHERE s.unit_id IN (SELECT u.unit_id FROM careledger.units_under($2) u)
$$;

-- Data quality (as in 004) without reading the raw events' heap for registered ids: the
-- distinct units of shift events and the distinct workers named by events are walked
-- through their indexes (one probe per distinct id); only unregistered ones are counted.
CREATE OR REPLACE FUNCTION data_quality()
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
