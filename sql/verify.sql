-- careledger verify: recompute the aggregates from raw facts with set-based
-- SQL of its own (not the incremental C path) and list every difference in
-- the temp table v_diff (what, key, detail). Run inside one REPEATABLE READ
-- transaction by `careledger verify`.

-- R5: keyed facts, the latest occurred_at winning (tie: the larger event_id).
CREATE TEMP TABLE v_workers ON COMMIT DROP AS
SELECT DISTINCT ON (worker_id) worker_id, unit_id, role, staff, family_id, spouse_worker_id,
       children, elders
FROM careledger.events WHERE type = 'worker.registered'
ORDER BY worker_id, occurred_at DESC, event_id DESC;

CREATE TEMP TABLE v_units ON COMMIT DROP AS
SELECT DISTINCT ON (unit_id) unit_id, name, region, kind, level
FROM careledger.events WHERE type = 'unit.registered'
ORDER BY unit_id, occurred_at DESC, event_id DESC;

CREATE TEMP TABLE v_regions ON COMMIT DROP AS
SELECT DISTINCT ON (code) code, name, parent, level
FROM careledger.events WHERE type = 'region.registered'
ORDER BY code, occurred_at DESC, event_id DESC;

CREATE TEMP TABLE v_dep ON COMMIT DROP AS
SELECT s.deployment_id, s.worker_id, s.date AS from_date, e.date AS to_date,
       s.exposure = 'direct' AS direct
FROM (SELECT DISTINCT ON (deployment_id) deployment_id, worker_id, date, exposure
      FROM careledger.events WHERE type = 'deployment.started'
      ORDER BY deployment_id, occurred_at DESC, event_id DESC) s
LEFT JOIN (SELECT DISTINCT ON (deployment_id) deployment_id, date
           FROM careledger.events WHERE type = 'deployment.ended'
           ORDER BY deployment_id, occurred_at DESC, event_id DESC) e USING (deployment_id);

-- SPEC §4: a region's ancestors, registered parent first, else the GB/T 2260 structure.
CREATE TEMP TABLE v_chain ON COMMIT DROP AS
WITH RECURSIVE chain (start, code, depth) AS (
    SELECT c, c, 0 FROM (SELECT region AS c FROM v_units UNION SELECT '000000') s
    UNION ALL
    SELECT ch.start,
           COALESCE((SELECT r.parent FROM v_regions r WHERE r.code = ch.code
                     AND r.parent ~ '^[0-9]{6}$' AND r.parent <> ch.code),
                    CASE WHEN right(ch.code, 2) <> '00' THEN left(ch.code, 4) || '00'
                         WHEN substr(ch.code, 3, 2) <> '00' THEN left(ch.code, 2) || '0000'
                         ELSE '000000' END),
           ch.depth + 1
    FROM chain ch WHERE ch.code <> '000000' AND ch.depth < 15
)
SELECT * FROM chain;

-- The policy of a region on a day: the nearest ancestor with a policy in force.
CREATE OR REPLACE FUNCTION pg_temp.v_policy(region text, d date) RETURNS careledger.policy_settings
LANGUAGE sql STABLE AS $$
    -- $1 region, $2 day (positional: policy_settings has a column named region)
    SELECT p.* FROM v_chain c JOIN careledger.policy_settings p ON p.region = c.code
    WHERE c.start = $1 AND $2 >= p.effective_from AND (p.effective_to IS NULL OR $2 <= p.effective_to)
    ORDER BY c.depth LIMIT 1
$$;

-- Non-cancelled shifts with their unit's region and UTC day.
CREATE TEMP TABLE v_shift_utc ON COMMIT DROP AS
SELECT e.worker_id, e.event_id, e.unit_id, e.start_at, e.exposure = 'direct' AS direct,
       u.region, (e.start_at AT TIME ZONE 'UTC')::date AS utc_d
FROM careledger.events e LEFT JOIN v_units u USING (unit_id)
WHERE e.type = 'shift.completed'
  AND NOT EXISTS (SELECT 1 FROM careledger.events c
                  WHERE c.type = 'shift.cancelled' AND c.cancels = e.event_id);

-- Open deployments: the earliest open departure supersedes every later day. Its open span,
-- one price a day to D, starts at the last policy boundary after the departure (a policy's
-- first day or the day after its last), at most 1,096 days on; the days before it are
-- deployment days priced day by day (DECISIONS 159).
CREATE TEMP TABLE v_open_from ON COMMIT DROP AS
SELECT o.*, LEAST(GREATEST(o.from_date, b.last), o.from_date + 1096) AS span_from
FROM (SELECT DISTINCT ON (worker_id) worker_id, deployment_id, from_date, direct
      FROM v_dep WHERE to_date IS NULL ORDER BY worker_id, from_date, deployment_id) o
CROSS JOIN (SELECT max(x) AS last
            FROM (SELECT effective_from AS x FROM careledger.policy_settings
                  UNION ALL SELECT effective_to + 1 FROM careledger.policy_settings
                  WHERE effective_to IS NOT NULL) y) b;

-- v_policy() of every (region, day) any derivation below asks for, computed once: the
-- regions of units and the nation, times every day in play (a local day is its UTC day
-- or a neighbour). Per-row calls made the derivation minutes long on a province.
CREATE TEMP TABLE v_pol ON COMMIT DROP AS
SELECT r.region, d.day, pg_temp.v_policy(r.region, d.day) AS pol
FROM (SELECT region FROM v_units UNION SELECT '000000') r
CROSS JOIN (SELECT utc_d + k AS day FROM (SELECT DISTINCT utc_d FROM v_shift_utc) x,
                 (VALUES (-1), (0), (1)) o (k)
            UNION SELECT g::date FROM v_dep v,
                 generate_series(v.from_date, v.to_date, interval '1 day') g
                 WHERE v.to_date IS NOT NULL AND v.to_date >= v.from_date
            UNION SELECT g::date FROM v_open_from o,
                 generate_series(o.from_date, o.span_from, interval '1 day') g) d;
CREATE INDEX ON v_pol (region, day);
ANALYZE v_pol;

-- Shifts dated in their unit's zone (the national zone while unknown).
CREATE TEMP TABLE v_shifts ON COMMIT DROP AS
SELECT s.worker_id, s.event_id, s.unit_id, s.start_at, s.direct,
       (s.start_at AT TIME ZONE COALESCE((pu.pol).timezone, (pn.pol).timezone, 'UTC'))::date AS d
FROM v_shift_utc s
LEFT JOIN v_pol pu ON pu.region = s.region AND pu.day = s.utc_d
LEFT JOIN v_pol pn ON pn.region = '000000' AND pn.day = s.utc_d;

-- R1: each shift's unit admitted by its policy's unit levels on that day?
CREATE TEMP TABLE v_shift_days ON COMMIT DROP AS
SELECT s.*, u.unit_id IS NOT NULL AND (vp.pol).policy_id IS NOT NULL
            AND ((vp.pol).unit_levels IS NULL OR u.level = ANY ((vp.pol).unit_levels)) AS admitted
FROM v_shifts s LEFT JOIN v_units u USING (unit_id)
LEFT JOIN v_pol vp ON vp.region = u.region AND vp.day = s.d;

-- Deployment days of closed deployments; one per date, the earliest departure credits. Then
-- the open deployment's days before its open span.
CREATE TEMP TABLE v_dep_days ON COMMIT DROP AS
(SELECT DISTINCT ON (x.worker_id, x.d) x.*
 FROM (SELECT v.worker_id, v.deployment_id, v.from_date, v.direct, g::date AS d
       FROM v_dep v, generate_series(v.from_date, v.to_date, interval '1 day') g
       WHERE v.to_date IS NOT NULL AND v.to_date >= v.from_date) x
 LEFT JOIN v_open_from o USING (worker_id)
 WHERE o.from_date IS NULL OR x.d < o.from_date
 ORDER BY x.worker_id, x.d, x.from_date, x.deployment_id)
UNION ALL
SELECT o.worker_id, o.deployment_id, o.from_date, o.direct, g::date
FROM v_open_from o, generate_series(o.from_date, o.span_from - 1, interval '1 day') g;

-- A day's money under a policy (R1 rates, R2 performance pay).
CREATE OR REPLACE FUNCTION pg_temp.v_subsidy(p careledger.policy_settings, kind text, admitted boolean,
                                  direct boolean) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p.policy_id IS NULL THEN 0
        WHEN kind = 'deployed' THEN CASE p.deploy_rule
            WHEN 'flat' THEN p.deploy_value
            WHEN 'multiplier' THEN p.deploy_value * CASE WHEN direct THEN p.direct_fen ELSE p.other_fen END
            ELSE CASE WHEN direct THEN p.direct_fen ELSE p.other_fen END END
        WHEN NOT admitted THEN 0
        WHEN kind = 'direct' THEN p.direct_fen
        ELSE p.other_fen END
$$;
CREATE OR REPLACE FUNCTION pg_temp.v_frontline(p careledger.policy_settings, kind text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p.policy_id IS NOT NULL AND (p.frontline = 'any' OR kind <> 'other')
$$;
CREATE OR REPLACE FUNCTION pg_temp.v_perf(p careledger.policy_settings, kind text, subsidy bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p.policy_id IS NULL THEN 0
                WHEN p.perf_basis = 'frontline_day'
                    THEN CASE WHEN pg_temp.v_frontline(p, kind) THEN p.perf_rate_fen ELSE 0 END
                ELSE subsidy END
$$;

-- Local worker-days: admitted shifts decide, direct first, then the earliest start;
-- with none admitted, the highest exposure is credited and earns nothing.
CREATE TEMP TABLE v_local ON COMMIT DROP AS
SELECT DISTINCT ON (s.worker_id, s.d) s.*
FROM v_shift_days s
LEFT JOIN v_open_from o USING (worker_id)
WHERE (o.from_date IS NULL OR s.d < o.from_date)
  AND NOT EXISTS (SELECT 1 FROM v_dep_days dd WHERE dd.worker_id = s.worker_id AND dd.d = s.d)
ORDER BY s.worker_id, s.d, s.admitted DESC, s.direct DESC, s.start_at, s.event_id;

CREATE TEMP TABLE v_days ON COMMIT DROP AS
SELECT l.worker_id, l.d AS date, CASE WHEN l.direct THEN 'direct' ELSE 'other' END AS kind,
       l.unit_id, p.policy_id,
       p.policy_id IS NOT NULL AND l.admitted AS admitted,
       pg_temp.v_frontline(p, CASE WHEN l.direct THEN 'direct' ELSE 'other' END) AS frontline,
       p.policy_id IS NOT NULL AND u.kind = 'designated_hospital' AS designated,
       pg_temp.v_subsidy(p, CASE WHEN l.direct THEN 'direct' ELSE 'other' END, l.admitted, l.direct) AS subsidy_fen,
       pg_temp.v_perf(p, CASE WHEN l.direct THEN 'direct' ELSE 'other' END,
                      pg_temp.v_subsidy(p, CASE WHEN l.direct THEN 'direct' ELSE 'other' END, l.admitted, l.direct)) AS perf_fen,
       l.event_id AS shift_event_id, NULL::text AS deployment_id
FROM v_local l LEFT JOIN v_units u USING (unit_id)
LEFT JOIN v_pol vp ON vp.region = u.region AND vp.day = l.d
CROSS JOIN LATERAL (SELECT (vp.pol).*) p
UNION ALL
SELECT dd.worker_id, dd.d, 'deployed', COALESCE(w.unit_id, ''), p.policy_id,
       p.policy_id IS NOT NULL,
       pg_temp.v_frontline(p, 'deployed'),
       p.policy_id IS NOT NULL AND u.kind = 'designated_hospital',
       pg_temp.v_subsidy(p, 'deployed', true, dd.direct),
       pg_temp.v_perf(p, 'deployed', pg_temp.v_subsidy(p, 'deployed', true, dd.direct)),
       NULL, dd.deployment_id
FROM v_dep_days dd LEFT JOIN v_workers w USING (worker_id)
LEFT JOIN v_units u ON u.unit_id = w.unit_id
LEFT JOIN v_pol vp ON vp.region = u.region AND vp.day = dd.d
CROSS JOIN LATERAL (SELECT (vp.pol).*) p;

CREATE TEMP TABLE v_open ON COMMIT DROP AS
SELECT o.worker_id, o.deployment_id, o.span_from AS from_date, COALESCE(w.unit_id, '') AS unit_id, p.policy_id,
       pg_temp.v_subsidy(p, 'deployed', true, o.direct) AS subsidy_fen,
       pg_temp.v_perf(p, 'deployed', pg_temp.v_subsidy(p, 'deployed', true, o.direct)) AS perf_fen,
       pg_temp.v_frontline(p, 'deployed') AS frontline
FROM v_open_from o LEFT JOIN v_workers w USING (worker_id)
LEFT JOIN v_units u ON u.unit_id = w.unit_id
LEFT JOIN v_pol vp ON vp.region = u.region AND vp.day = o.span_from
CROSS JOIN LATERAL (SELECT (vp.pol).*) p;

-- Every difference, both ways, table by table.
CREATE TEMP TABLE v_diff (what text, key text, detail text) ON COMMIT DROP;
INSERT INTO v_diff
SELECT 'worker_days', worker_id || ' ' || date, 'recomputed ' || x::text
FROM (SELECT * FROM v_days EXCEPT ALL
      SELECT worker_id, date, kind, unit_id, policy_id, admitted, frontline, designated,
             subsidy_fen, perf_fen, shift_event_id, deployment_id FROM careledger.worker_days) x
UNION ALL
SELECT 'worker_days', worker_id || ' ' || date, 'stored ' || x::text
FROM (SELECT worker_id, date, kind, unit_id, policy_id, admitted, frontline, designated,
             subsidy_fen, perf_fen, shift_event_id, deployment_id FROM careledger.worker_days
      EXCEPT ALL SELECT * FROM v_days) x
UNION ALL
SELECT 'open_deployments', worker_id, 'recomputed ' || x::text
FROM (SELECT * FROM v_open EXCEPT ALL SELECT worker_id, deployment_id, from_date, unit_id,
      policy_id, subsidy_fen, perf_fen, frontline FROM careledger.open_deployments) x
UNION ALL
SELECT 'open_deployments', worker_id, 'stored ' || x::text
FROM (SELECT worker_id, deployment_id, from_date, unit_id, policy_id, subsidy_fen, perf_fen,
      frontline FROM careledger.open_deployments EXCEPT ALL SELECT * FROM v_open) x
UNION ALL
SELECT 'workers', worker_id, 'recomputed ' || x::text
FROM (SELECT * FROM v_workers EXCEPT ALL SELECT worker_id, unit_id, role, staff, family_id,
      spouse_worker_id, children, elders FROM careledger.workers) x
UNION ALL
SELECT 'workers', worker_id, 'stored ' || x::text
FROM (SELECT worker_id, unit_id, role, staff, family_id, spouse_worker_id, children, elders
      FROM careledger.workers EXCEPT ALL SELECT * FROM v_workers) x
UNION ALL
SELECT 'units', unit_id, 'recomputed ' || x::text
FROM (SELECT * FROM v_units EXCEPT ALL SELECT unit_id, name, region, kind, level FROM careledger.units) x
UNION ALL
SELECT 'units', unit_id, 'stored ' || x::text
FROM (SELECT unit_id, name, region, kind, level FROM careledger.units EXCEPT ALL SELECT * FROM v_units) x
UNION ALL
SELECT 'regions', code, 'recomputed ' || x::text
FROM (SELECT * FROM v_regions EXCEPT ALL SELECT code, name, parent, level FROM careledger.regions) x
UNION ALL
SELECT 'regions', code, 'stored ' || x::text
FROM (SELECT code, name, parent, level FROM careledger.regions EXCEPT ALL SELECT * FROM v_regions) x
UNION ALL
SELECT 'payments', event_id, 'recomputed ' || x::text
FROM (SELECT event_id, worker_id, unit_id, line, period, amount_fen, date, funding
      FROM careledger.events WHERE type = 'subsidy.paid'
      EXCEPT ALL SELECT * FROM careledger.payments) x
UNION ALL
SELECT 'payments', event_id, 'stored ' || x::text
FROM (SELECT * FROM careledger.payments EXCEPT ALL
      SELECT event_id, worker_id, unit_id, line, period, amount_fen, date, funding
      FROM careledger.events WHERE type = 'subsidy.paid') x
UNION ALL
SELECT 'deliveries', event_id, 'recomputed ' || x::text
FROM (SELECT event_id, measure, worker_id, family_id, unit_id, date, amount_fen, sum_insured_fen
      FROM careledger.events WHERE type = 'benefit.delivered'
      EXCEPT ALL SELECT * FROM careledger.deliveries) x
UNION ALL
SELECT 'deliveries', event_id, 'stored ' || x::text
FROM (SELECT * FROM careledger.deliveries EXCEPT ALL
      SELECT event_id, measure, worker_id, family_id, unit_id, date, amount_fen, sum_insured_fen
      FROM careledger.events WHERE type = 'benefit.delivered') x;

-- The summaries of schema 8 against the stored worker_days (and workers, for homes); rows
-- whose counts are all zero are left by ingest and ignored here.
CREATE TEMP TABLE v_ws ON COMMIT DROP AS
SELECT s.worker_id, coalesce(k.unit_id, s.first_unit) AS home_unit, s.days, s.direct,
       s.deployed, s.designated,
       (SELECT coalesce(max(upper(r) - lower(r)), 0) FROM unnest(s.days) r) AS longest_run
FROM (SELECT d.worker_id,
             (array_agg(d.unit_id ORDER BY d.date) FILTER (WHERE d.unit_id <> ''))[1] AS first_unit,
             range_agg(daterange(d.date, d.date, '[]')) AS days,
             coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.kind = 'direct'),
                      '{}') AS direct,
             coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.kind = 'deployed'),
                      '{}') AS deployed,
             coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.designated),
                      '{}') AS designated
      FROM careledger.worker_days d GROUP BY d.worker_id) s
LEFT JOIN careledger.workers k USING (worker_id);

INSERT INTO v_diff
SELECT 'unit_days', unit_id || ' ' || date, 'recomputed ' || x::text
FROM (SELECT unit_id, date, kind, coalesce(policy_id, ''), count(*),
             count(*) FILTER (WHERE frontline), sum(subsidy_fen), sum(perf_fen)
      FROM careledger.worker_days GROUP BY 1, 2, 3, 4
      EXCEPT ALL SELECT unit_id, date, kind, policy_id, days, frontline, subsidy_fen, perf_fen
      FROM careledger.unit_days WHERE days <> 0 OR frontline <> 0 OR subsidy_fen <> 0 OR perf_fen <> 0) x
UNION ALL
SELECT 'unit_days', unit_id || ' ' || date, 'stored ' || x::text
FROM (SELECT unit_id, date, kind, policy_id, days, frontline, subsidy_fen, perf_fen
      FROM careledger.unit_days WHERE days <> 0 OR frontline <> 0 OR subsidy_fen <> 0 OR perf_fen <> 0
      EXCEPT ALL SELECT unit_id, date, kind, coalesce(policy_id, ''), count(*),
             count(*) FILTER (WHERE frontline), sum(subsidy_fen), sum(perf_fen)
      FROM careledger.worker_days GROUP BY 1, 2, 3, 4) x
UNION ALL
SELECT 'month_sums', worker_id || ' ' || month, 'recomputed ' || x::text
FROM (SELECT worker_id, date_trunc('month', date::timestamp)::date AS month, coalesce(policy_id, ''),
             kind = 'deployed', count(*), sum(subsidy_fen), count(*) FILTER (WHERE subsidy_fen > 0)
      FROM careledger.worker_days GROUP BY 1, 2, 3, 4
      EXCEPT ALL SELECT worker_id, month, policy_id, deployed, days, subsidy_fen, earning
      FROM careledger.month_sums WHERE days <> 0 OR subsidy_fen <> 0 OR earning <> 0) x
UNION ALL
SELECT 'month_sums', worker_id || ' ' || month, 'stored ' || x::text
FROM (SELECT worker_id, month, policy_id, deployed, days, subsidy_fen, earning
      FROM careledger.month_sums WHERE days <> 0 OR subsidy_fen <> 0 OR earning <> 0
      EXCEPT ALL SELECT worker_id, date_trunc('month', date::timestamp)::date, coalesce(policy_id, ''),
             kind = 'deployed', count(*), sum(subsidy_fen), count(*) FILTER (WHERE subsidy_fen > 0)
      FROM careledger.worker_days GROUP BY 1, 2, 3, 4) x
UNION ALL
SELECT 'worker_sets', worker_id, 'recomputed ' || x::text
FROM (SELECT * FROM v_ws EXCEPT ALL
      SELECT worker_id, home_unit, days, direct, deployed, designated, longest_run
      FROM careledger.worker_sets WHERE NOT isempty(days)) x
UNION ALL
SELECT 'worker_sets', worker_id, 'stored ' || x::text
FROM (SELECT worker_id, home_unit, days, direct, deployed, designated, longest_run
      FROM careledger.worker_sets WHERE NOT isempty(days) EXCEPT ALL SELECT * FROM v_ws) x
UNION ALL
SELECT 'home_days', unit_id || ' ' || date, 'recomputed ' || x::text
FROM (SELECT s.home_unit AS unit_id, d.date, count(*), sum(d.subsidy_fen)
      FROM careledger.worker_days d
      JOIN v_ws s USING (worker_id) WHERE s.home_unit IS NOT NULL GROUP BY 1, 2
      EXCEPT ALL SELECT unit_id, date, workers, subsidy_fen FROM careledger.home_days
      WHERE workers <> 0 OR subsidy_fen <> 0) x
UNION ALL
SELECT 'home_days', unit_id || ' ' || date, 'stored ' || x::text
FROM (SELECT unit_id, date, workers, subsidy_fen FROM careledger.home_days
      WHERE workers <> 0 OR subsidy_fen <> 0
      EXCEPT ALL SELECT s.home_unit, d.date, count(*), sum(d.subsidy_fen)
      FROM careledger.worker_days d
      JOIN v_ws s USING (worker_id) WHERE s.home_unit IS NOT NULL GROUP BY 1, 2) x;

-- quality_ids against the raw events: the rows data_quality() shows (ids still not
-- registered, every family delivered to).
CREATE TEMP TABLE v_quality ON COMMIT DROP AS
SELECT x.problem, x.id, count(*) AS events, min(x.start_at) AS first_start, min(x.date) AS first_date
FROM (SELECT 'unregistered_unit' AS problem, e.unit_id AS id, e.start_at, NULL::date AS date
      FROM careledger.events e WHERE e.type = 'shift.completed' AND e.unit_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = e.unit_id)
      UNION ALL
      SELECT 'unregistered_worker', e.worker_id, e.start_at, e.date
      FROM careledger.events e WHERE e.type IN ('shift.completed', 'deployment.started',
                                                'benefit.delivered', 'subsidy.paid', 'injury.reported')
        AND e.worker_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM careledger.workers w WHERE w.worker_id = e.worker_id)
      UNION ALL
      SELECT 'unknown_unit_delivery', e.unit_id, NULL, e.date
      FROM careledger.events e WHERE e.type = 'benefit.delivered' AND e.unit_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = e.unit_id)
      UNION ALL
      SELECT 'family', e.family_id, NULL, e.date
      FROM careledger.events e WHERE e.type = 'benefit.delivered' AND e.family_id IS NOT NULL) x
GROUP BY 1, 2;

INSERT INTO v_diff
SELECT 'quality_ids', problem || ' ' || id, 'recomputed ' || x::text
FROM (SELECT * FROM v_quality EXCEPT ALL
      SELECT problem, id, events, first_start, first_date FROM careledger.quality_ids q
      WHERE q.problem = 'family'
         OR (q.problem = 'unregistered_worker'
             AND NOT EXISTS (SELECT 1 FROM careledger.workers w WHERE w.worker_id = q.id))
         OR (q.problem IN ('unregistered_unit', 'unknown_unit_delivery')
             AND NOT EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = q.id))) x
UNION ALL
SELECT 'quality_ids', problem || ' ' || id, 'stored ' || x::text
FROM (SELECT problem, id, events, first_start, first_date FROM careledger.quality_ids q
      WHERE q.problem = 'family'
         OR (q.problem = 'unregistered_worker'
             AND NOT EXISTS (SELECT 1 FROM careledger.workers w WHERE w.worker_id = q.id))
         OR (q.problem IN ('unregistered_unit', 'unknown_unit_delivery')
             AND NOT EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = q.id))
      EXCEPT ALL SELECT * FROM v_quality) x;

-- Coverage marks: everyone's recomputed (marks_compute(), the function ingest applies)
-- against the stored marks, and coverage_days against the stored marks' boundaries.
CREATE TEMP TABLE IF NOT EXISTS agg_marks_w (worker_id text PRIMARY KEY) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_marks_f (family_id text PRIMARY KEY) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_marks_m (worker_id text, month date,
    PRIMARY KEY (worker_id, month)) ON COMMIT DELETE ROWS;
INSERT INTO agg_marks_w
SELECT worker_id FROM careledger.workers UNION SELECT worker_id FROM careledger.worker_days
UNION SELECT worker_id FROM careledger.open_deployments
UNION SELECT worker_id FROM careledger.injury_stages WHERE worker_id IS NOT NULL
ON CONFLICT DO NOTHING;
INSERT INTO agg_marks_m SELECT DISTINCT worker_id, date_trunc('month', date::timestamp)::date
FROM careledger.worker_days ON CONFLICT DO NOTHING;
SELECT careledger.marks_compute();

INSERT INTO v_diff
SELECT 'coverage_marks', who || ' ' || track_id, 'recomputed ' || x::text
FROM (SELECT * FROM mk_new EXCEPT ALL SELECT * FROM careledger.coverage_marks) x
UNION ALL
SELECT 'coverage_marks', who || ' ' || track_id, 'stored ' || x::text
FROM (SELECT * FROM careledger.coverage_marks EXCEPT ALL SELECT * FROM mk_new) x;

-- The units each family counts at per track (schema 17), from the same qualifying days.
SELECT careledger.family_units_compute();
INSERT INTO v_diff
SELECT 'family_units', family_id || ' ' || track_id, 'recomputed ' || x::text
FROM (SELECT * FROM mk_fam EXCEPT ALL SELECT * FROM careledger.family_units) x
UNION ALL
SELECT 'family_units', family_id || ' ' || track_id, 'stored ' || x::text
FROM (SELECT * FROM careledger.family_units EXCEPT ALL SELECT * FROM mk_fam) x;

CREATE TEMP TABLE v_cov_days ON COMMIT DROP AS
SELECT x.track_id, x.unit_id, k.date, sum(x.e) AS eligible, sum(x.c) AS covered
FROM (SELECT m.track_id, m.unit_id, b.date, b.n AS e, 0 AS c
      FROM careledger.coverage_marks m CROSS JOIN LATERAL unnest(m.eligible) r
      CROSS JOIN LATERAL (VALUES (lower(r), 1), (upper(r), -1)) b (date, n) WHERE b.date IS NOT NULL
      UNION ALL
      SELECT m.track_id, m.unit_id, b.date, 0, b.n
      FROM careledger.coverage_marks m CROSS JOIN LATERAL unnest(m.covered) r
      CROSS JOIN LATERAL (VALUES (lower(r), 1), (upper(r), -1)) b (date, n) WHERE b.date IS NOT NULL) x
CROSS JOIN LATERAL (VALUES (x.date), ('infinity'::date)) k (date)
GROUP BY 1, 2, 3 HAVING sum(x.e) <> 0 OR sum(x.c) <> 0;

INSERT INTO v_diff
SELECT 'coverage_days', track_id || ' ' || unit_id || ' ' || date, 'recomputed ' || x::text
FROM (SELECT * FROM v_cov_days EXCEPT ALL SELECT track_id, unit_id, date, eligible, covered
      FROM careledger.coverage_days WHERE eligible <> 0 OR covered <> 0) x
UNION ALL
SELECT 'coverage_days', track_id || ' ' || unit_id || ' ' || date, 'stored ' || x::text
FROM (SELECT track_id, unit_id, date, eligible, covered FROM careledger.coverage_days
      WHERE eligible <> 0 OR covered <> 0 EXCEPT ALL SELECT * FROM v_cov_days) x;

-- Money per counting unit, line and date (schema 9): payments at their unit, money
-- deliveries at delivery_units' counted unit (line '' when the track has none); and the unit
-- and line each money delivery is counted at.
CREATE TEMP TABLE v_money ON COMMIT DROP AS
SELECT unit_id, line, date, src, sum(fen) AS amount_fen
FROM (SELECT p.unit_id, p.line, p.date, 'paid' AS src, p.amount_fen AS fen FROM careledger.payments p
      UNION ALL
      SELECT v.counted_unit, coalesce(v.line, ''), v.date, 'delivered', v.amount_fen
      FROM careledger.delivery_units v WHERE v.amount_fen IS NOT NULL AND v.counted_unit IS NOT NULL) x
GROUP BY 1, 2, 3, 4 HAVING sum(fen) <> 0;

INSERT INTO v_diff
SELECT 'money_days', unit_id || ' ' || line || ' ' || date, 'recomputed ' || x::text
FROM (SELECT * FROM v_money EXCEPT ALL SELECT unit_id, line, date, src, amount_fen
      FROM careledger.money_days WHERE amount_fen <> 0) x
UNION ALL
SELECT 'money_days', unit_id || ' ' || line || ' ' || date, 'stored ' || x::text
FROM (SELECT unit_id, line, date, src, amount_fen FROM careledger.money_days
      WHERE amount_fen <> 0 EXCEPT ALL SELECT * FROM v_money) x
UNION ALL
SELECT 'delivery_money', event_id, 'recomputed ' || x::text
FROM (SELECT v.event_id, v.counted_unit, coalesce(v.line, '') FROM careledger.delivery_units v
      WHERE v.amount_fen IS NOT NULL
      EXCEPT ALL SELECT event_id, unit_id, line FROM careledger.delivery_money) x
UNION ALL
SELECT 'delivery_money', event_id, 'stored ' || x::text
FROM (SELECT event_id, unit_id, line FROM careledger.delivery_money
      EXCEPT ALL SELECT v.event_id, v.counted_unit, coalesce(v.line, '') FROM careledger.delivery_units v
      WHERE v.amount_fen IS NOT NULL) x;
