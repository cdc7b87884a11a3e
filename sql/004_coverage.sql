-- careledger schema 4: SPEC R6 coverage as of D, per track and unit (R9).

SET LOCAL search_path = careledger;

-- Per worker: home unit and policy (as of D), and the first and last qualifying day
-- of each eligibility key of SPEC §4, counting facts dated ≤ D only.
CREATE FUNCTION qualifications(d date)
RETURNS TABLE (worker_id text, family_id text, unit_id text, policy_id text, key text,
               first_day date, last_day date)
LANGUAGE sql STABLE AS $$
    WITH home AS (
        SELECT h.worker_id, COALESCE(w.family_id, h.worker_id) AS family_id, h.unit_id,
               p.policy_id, p.frontline, p.timezone, COALESCE(w.children, 0) AS children,
               w.occurred_at AS registered_at
        FROM careledger.worker_home h JOIN careledger.units u USING (unit_id)
        CROSS JOIN LATERAL careledger.policy_at(u.region, $1) p
        LEFT JOIN careledger.workers w USING (worker_id)
        WHERE p.policy_id IS NOT NULL),
    days AS (
        SELECT x.worker_id, x.date, x.kind, COALESCE(wd.designated, false) AS designated
        FROM careledger.days_to($1) x
        LEFT JOIN careledger.worker_days wd USING (worker_id, date)),
    q AS (
        SELECT h.worker_id, h.family_id, h.unit_id, h.policy_id, h.children, h.registered_at,
               h.timezone,
               min(y.date) FILTER (WHERE h.frontline = 'any' OR y.kind <> 'other') AS f1,
               max(y.date) FILTER (WHERE h.frontline = 'any' OR y.kind <> 'other') AS f2,
               min(y.date) FILTER (WHERE y.kind = 'direct') AS d1,
               max(y.date) FILTER (WHERE y.kind = 'direct') AS d2,
               min(y.date) FILTER (WHERE y.kind = 'deployed') AS p1,
               max(y.date) FILTER (WHERE y.kind = 'deployed') AS p2,
               min(y.date) FILTER (WHERE y.designated) AS g1,
               max(y.date) FILTER (WHERE y.designated) AS g2,
               min(y.date) AS a1, max(y.date) AS a2
        FROM home h LEFT JOIN days y USING (worker_id)
        GROUP BY 1, 2, 3, 4, 5, 6, 7),
    inj AS (
        SELECT worker_id, min(date) AS i1, max(date) AS i2 FROM careledger.injury_stages
        WHERE stage = 'reported' AND date <= $1 GROUP BY worker_id)
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

-- R6 for worker, family and unit scoped once / recurring tracks.
CREATE FUNCTION coverage_people(d date)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE AS $$
    WITH q AS (SELECT * FROM careledger.qualifications($1)),
    t AS (SELECT * FROM careledger.policy_tracks WHERE kind IN ('once', 'recurring')),
    -- Candidates: a person (worker, family or unit) with its qualifying days and unit.
    workers AS (
        SELECT t.track_id, q.worker_id AS who, q.unit_id, q.first_day, q.last_day
        FROM t JOIN q ON q.policy_id = t.policy_id AND q.key = t.eligible
        WHERE t.scope = 'worker'),
    families AS (
        -- A family qualifies when a member does; it belongs to the unit of the member
        -- who qualified first (tie: the smaller worker_id).
        SELECT DISTINCT ON (t.track_id, q.family_id) t.track_id, q.family_id AS who, q.unit_id,
               min(q.first_day) OVER w AS first_day, max(q.last_day) OVER w AS last_day
        FROM t JOIN q ON q.policy_id = t.policy_id AND q.key = t.eligible
        WHERE t.scope = 'family'
        WINDOW w AS (PARTITION BY t.track_id, q.family_id)
        ORDER BY t.track_id, q.family_id, q.first_day, q.worker_id),
    units AS (
        -- Units with a (frontline) worker-day credited to them.
        SELECT t.track_id, x.unit_id AS who, x.unit_id, min(x.date) AS first_day,
               max(x.date) AS last_day
        FROM t JOIN careledger.days_to($1) x ON x.policy_id = t.policy_id
        WHERE t.scope = 'unit' AND x.unit_id <> '' AND (t.eligible = 'all' OR x.frontline)
        GROUP BY t.track_id, x.unit_id),
    people AS (
        SELECT p.*, t.scope, t.kind, t.cadence_days, t.grace_days, t.min_amount_fen,
               t.min_sum_insured_fen
        FROM (SELECT * FROM workers UNION ALL SELECT * FROM families UNION ALL SELECT * FROM units) p
        JOIN t USING (track_id)),
    eligible AS (
        SELECT * FROM people
        WHERE first_day <= $1 - grace_days
          AND (kind <> 'recurring' OR last_day >= $1 - cadence_days + 1))
    SELECT e.track_id, e.unit_id, count(*),
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM careledger.deliveries v
               WHERE v.track_id = e.track_id
                 AND CASE e.scope WHEN 'worker' THEN v.worker_id WHEN 'family' THEN v.family_id
                                  ELSE v.unit_id END = e.who
                 AND v.date <= $1
                 AND (e.kind <> 'recurring' OR v.date > $1 - e.cadence_days)
                 AND (e.min_amount_fen IS NULL OR v.amount_fen >= e.min_amount_fen)
                 AND (e.min_sum_insured_fen IS NULL OR v.sum_insured_fen >= e.min_sum_insured_fen)))
    FROM eligible e GROUP BY e.track_id, e.unit_id
$$;

-- R6 for entitlement tracks: worker-months with entitlement of the part whose payment is
-- due (payment_due_day of the next month) by D; covered when paid in full by D.
CREATE FUNCTION coverage_entitlement(d date)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE AS $$
    WITH t AS (SELECT t.*, p.payment_due_day FROM careledger.policy_tracks t
               JOIN careledger.policy_settings p USING (policy_id) WHERE t.kind = 'entitlement'),
    months AS (
        SELECT t.track_id, t.payment_due_day, x.worker_id, date_trunc('month', x.date)::date AS month,
               sum(x.subsidy_fen) AS part_fen
        FROM t JOIN careledger.days_to($1) x ON x.policy_id = t.policy_id
        WHERE x.subsidy_fen > 0 AND (t.part = 'all' OR (t.part = 'deployment') = (x.kind = 'deployed'))
        GROUP BY 1, 2, 3, 4),
    due AS (
        SELECT m.* FROM months m
        WHERE (m.month + interval '1 month')::date + (m.payment_due_day - 1) <= $1)
    SELECT d.track_id, wm.unit_id, count(*), count(*) FILTER (WHERE wm.arrears_fen = 0)
    FROM due d JOIN careledger.worker_months($1) wm USING (worker_id, month)
    GROUP BY d.track_id, wm.unit_id
$$;

-- R6 for the work-injury channel: cases whose deadline is ≤ D; covered = met.
CREATE FUNCTION coverage_sla(d date)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE AS $$
    WITH cases AS (
        SELECT r.case_id, r.worker_id, r.date AS reported,
               (SELECT s.date FROM careledger.injury_stages s WHERE s.case_id = r.case_id
                AND s.stage = 'recognized' AND s.date <= $1) AS recognized,
               (SELECT s.date FROM careledger.injury_stages s WHERE s.case_id = r.case_id
                AND s.stage = 'paid' AND s.date <= $1) AS paid
        FROM careledger.injury_stages r WHERE r.stage = 'reported' AND r.date <= $1),
    owned AS (
        SELECT c.*, h.unit_id, p.policy_id FROM cases c
        JOIN careledger.worker_home h USING (worker_id) JOIN careledger.units u USING (unit_id)
        CROSS JOIN LATERAL careledger.policy_at(u.region, $1) p),
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

-- Every countable track: eligible and covered per unit. Coverage = covered / eligible;
-- a track with no eligible population has no rows (the report shows "no data").
CREATE FUNCTION coverage_at(d date)
RETURNS TABLE (track_id text, unit_id text, eligible bigint, covered bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM careledger.coverage_people($1)
    UNION ALL SELECT * FROM careledger.coverage_entitlement($1)
    UNION ALL SELECT * FROM careledger.coverage_sla($1)
$$;

-- status tracks: the latest status dated ≤ D per region and measure.
CREATE FUNCTION statuses_at(d date)
RETURNS TABLE (region text, measure text, status text, date date, note text)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (region, measure) region, measure, status, date, note
    FROM careledger.statuses WHERE date <= $1 ORDER BY region, measure, date DESC
$$;

-- Data quality (issue 4): facts that name workers, units or families not (yet)
-- registered. They are counted where the rules allow (an unregistered unit's
-- shifts are worker-days that earn nothing) and listed here for the reports.
CREATE FUNCTION data_quality()
RETURNS TABLE (problem text, id text, events bigint, first_seen date)
LANGUAGE sql STABLE AS $$
    SELECT 'unregistered_unit', e.unit_id, count(*), min(e.start_at)::date
    FROM careledger.events e
    WHERE e.type = 'shift.completed' AND e.unit_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = e.unit_id)
    GROUP BY e.unit_id
    UNION ALL
    SELECT 'unregistered_worker', e.worker_id, count(*), min(COALESCE(e.start_at::date, e.date))
    FROM careledger.events e
    WHERE e.type IN ('shift.completed', 'deployment.started', 'benefit.delivered', 'subsidy.paid',
                     'injury.reported') AND e.worker_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM careledger.workers w WHERE w.worker_id = e.worker_id)
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
