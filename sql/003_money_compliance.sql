-- careledger schema 3: payments and deliveries as aggregates, the tracks of the
-- policies in force, and the "as of D" figures of SPEC R7 (money) and R8
-- (compliance) as functions over aggregates, for reports and operators alike.

SET LOCAL search_path = careledger;

-- subsidy.paid and benefit.delivered are additive facts: one row each.
CREATE TABLE payments (
    event_id   text PRIMARY KEY,
    worker_id  text NOT NULL,
    unit_id    text NOT NULL,     -- the paying unit (R9)
    line       text NOT NULL,     -- temp_subsidy / performance_pay
    period     date NOT NULL,     -- first day of the month worked
    amount_fen bigint NOT NULL,
    date       date NOT NULL,
    funding    text NOT NULL
);
CREATE INDEX payments_worker ON payments (worker_id, period);
CREATE TABLE deliveries (
    event_id        text PRIMARY KEY,
    track_id        text NOT NULL,
    worker_id       text,
    family_id       text,
    unit_id         text,
    date            date NOT NULL,
    amount_fen      bigint,
    sum_insured_fen bigint
);
CREATE INDEX deliveries_track ON deliveries (track_id, date);

-- Every track of the policies in force (written with policy_settings).
CREATE TABLE policy_tracks (
    track_id            text PRIMARY KEY,
    policy_id           text NOT NULL,
    measure_id          text NOT NULL,
    kind                text NOT NULL,
    scope               text,
    eligible            text,
    part                text,
    cadence_days        integer,
    stage               text,
    pay_within_days     integer,
    grace_days          integer NOT NULL,
    min_amount_fen      bigint,
    min_sum_insured_fen bigint,
    line                text,
    target              integer
);

-- Limits of each policy (R8), resolved like its other settings.
ALTER TABLE policy_settings ADD COLUMN shift_max_hours integer,
    ADD COLUMN max_consecutive_days integer, ADD COLUMN no_couples boolean NOT NULL DEFAULT false,
    ADD COLUMN payment_due_day integer NOT NULL DEFAULT 15;

-- A region's ancestors (itself at depth 0): the registered parent, else GB/T 2260.
CREATE FUNCTION region_ancestors(code text)
RETURNS TABLE (ancestor text, depth integer) LANGUAGE sql STABLE AS $$
    WITH RECURSIVE chain (code, depth) AS (
        SELECT $1, 0
        UNION ALL
        SELECT COALESCE((SELECT r.parent FROM careledger.regions r WHERE r.code = ch.code
                         AND r.parent ~ '^[0-9]{6}$' AND r.parent <> ch.code),
                        CASE WHEN right(ch.code, 2) <> '00' THEN left(ch.code, 4) || '00'
                             WHEN substr(ch.code, 3, 2) <> '00' THEN left(ch.code, 2) || '0000'
                             ELSE '000000' END),
               ch.depth + 1
        FROM chain ch WHERE ch.code <> '000000' AND ch.depth < 15)
    SELECT code, depth FROM chain
$$;

-- The policy in force for a region on a day (SPEC §4).
CREATE FUNCTION policy_at(region text, d date) RETURNS policy_settings
LANGUAGE sql STABLE AS $$
    SELECT p.* FROM careledger.region_ancestors($1) a
    JOIN careledger.policy_settings p ON p.region = a.ancestor
    WHERE $2 >= p.effective_from AND (p.effective_to IS NULL OR $2 <= p.effective_to)
    ORDER BY a.depth LIMIT 1
$$;

-- R9: a worker's registered unit; until registered, the unit of their first worker-day.
CREATE VIEW worker_home AS
SELECT w.worker_id, COALESCE(k.unit_id, f.unit_id) AS unit_id
FROM (SELECT worker_id FROM worker_days UNION SELECT worker_id FROM workers
      UNION SELECT worker_id FROM open_deployments) w
LEFT JOIN workers k USING (worker_id)
LEFT JOIN LATERAL (SELECT d.unit_id FROM worker_days d WHERE d.worker_id = w.worker_id
                   AND d.unit_id <> '' ORDER BY d.date LIMIT 1) f ON true;

-- Every worker-day up to D, open deployments expanded to D.
CREATE FUNCTION days_to(d date)
RETURNS TABLE (worker_id text, date date, kind text, unit_id text, policy_id text,
               frontline boolean, subsidy_fen bigint, perf_fen bigint)
LANGUAGE sql STABLE AS $$
    SELECT worker_id, date, kind, unit_id, policy_id, frontline, subsidy_fen, perf_fen
    FROM careledger.worker_days WHERE date <= $1
    UNION ALL
    SELECT o.worker_id, g::date, 'deployed', o.unit_id, o.policy_id, o.frontline, o.subsidy_fen,
           o.perf_fen
    FROM careledger.open_deployments o, generate_series(o.from_date, $1, interval '1 day') g
$$;

-- R7 per worker-month as of D: entitled (of every part), paid (temp_subsidy for that
-- period, dated ≤ D), arrears and overpaid, at the worker's registered unit.
CREATE FUNCTION worker_months(d date)
RETURNS TABLE (worker_id text, month date, unit_id text, entitled_fen bigint, paid_fen bigint,
               arrears_fen bigint, overpaid_fen bigint)
LANGUAGE sql STABLE AS $$
    WITH ent AS (
        SELECT worker_id, date_trunc('month', date)::date AS month, sum(subsidy_fen) AS fen
        FROM careledger.days_to($1) GROUP BY 1, 2),
    paid AS (
        SELECT worker_id, period AS month, sum(amount_fen) AS fen FROM careledger.payments
        WHERE line = 'temp_subsidy' AND date <= $1 GROUP BY 1, 2),
    wm AS (
        SELECT worker_id, month, COALESCE(e.fen, 0) AS entitled, COALESCE(p.fen, 0) AS paid
        FROM ent e FULL JOIN paid p USING (worker_id, month))
    SELECT wm.worker_id, wm.month, h.unit_id, wm.entitled, wm.paid,
           greatest(wm.entitled - wm.paid, 0), greatest(wm.paid - wm.entitled, 0)
    FROM wm LEFT JOIN careledger.worker_home h USING (worker_id)
$$;

-- The unit a delivery counts at (R7): the worker's, the family's (its first-qualified
-- member's registered unit, approximated by the smallest member id), or the unit.
CREATE VIEW delivery_units AS
SELECT d.*, t.line, t.kind,
       COALESCE(d.unit_id,
                (SELECT h.unit_id FROM careledger.worker_home h WHERE h.worker_id = d.worker_id),
                (SELECT h.unit_id FROM careledger.workers w JOIN careledger.worker_home h
                 USING (worker_id) WHERE w.family_id = d.family_id ORDER BY w.worker_id LIMIT 1))
           AS counted_unit
FROM deliveries d LEFT JOIN policy_tracks t USING (track_id);

-- 1 when a unit is under a budget scope: the unit itself, or a region it belongs to.
CREATE FUNCTION unit_in_scope(unit text, scope text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT $1 = $2 OR EXISTS (SELECT 1 FROM careledger.units u,
                              careledger.region_ancestors(u.region) a
                              WHERE u.unit_id = $1 AND a.ancestor = $2)
$$;

-- R7 budgets as of D: paid = payments and money measures of the line and scope dated in
-- [from, to] and ≤ D; burn window D−13…D; exhaustion = D + ceil(remaining × 14 / burn).
CREATE FUNCTION budgets_at(d date)
RETURNS TABLE (budget_id text, scope text, line text, funding text, budget_fen bigint,
               paid_fen bigint, remaining_fen bigint, burn_fen bigint, exhaustion date,
               over_budget boolean)
LANGUAGE sql STABLE AS $$
    WITH spent AS (
        SELECT b.budget_id, x.date, x.amount_fen
        FROM careledger.budgets b
        JOIN (SELECT line, unit_id AS unit, date, amount_fen FROM careledger.payments
              UNION ALL
              SELECT line, counted_unit, date, amount_fen FROM careledger.delivery_units
              WHERE amount_fen IS NOT NULL AND line IS NOT NULL) x
          ON x.line = b.line AND x.date BETWEEN b.from_date AND b.to_date AND x.date <= $1
         AND careledger.unit_in_scope(x.unit, b.scope)),
    sums AS (
        SELECT b.budget_id, COALESCE(sum(s.amount_fen), 0)::bigint AS paid,
               COALESCE(sum(s.amount_fen) FILTER (WHERE s.date > $1 - 14), 0)::bigint AS burn
        FROM careledger.budgets b LEFT JOIN spent s USING (budget_id) GROUP BY b.budget_id)
    SELECT b.budget_id, b.scope, b.line, b.funding, b.amount_fen, s.paid,
           b.amount_fen - s.paid, s.burn,
           CASE WHEN s.burn > 0 AND b.amount_fen - s.paid > 0
                THEN $1 + (((b.amount_fen - s.paid) * 14 + s.burn - 1) / s.burn)::integer
                WHEN s.burn > 0 THEN $1 END,
           s.paid > b.amount_fen
    FROM careledger.budgets b JOIN sums s USING (budget_id)
$$;

-- R8 as of D, per unit (counts belong to the worker's registered unit; a couple to the
-- unit of the smaller worker_id); NULL where the unit's policy sets no limit.
CREATE FUNCTION compliance_at(d date)
RETURNS TABLE (unit_id text, long_shifts bigint, over_consecutive bigint, couples_same_day bigint)
LANGUAGE sql STABLE AS $$
    WITH home AS (
        SELECT h.worker_id, h.unit_id, careledger.policy_at(u.region, $1) AS p
        FROM careledger.worker_home h JOIN careledger.units u USING (unit_id)),
    longs AS (
        SELECT h.unit_id, count(*) AS n FROM home h
        JOIN careledger.events e ON e.worker_id = h.worker_id AND e.type = 'shift.completed'
        WHERE (h.p).shift_max_hours IS NOT NULL AND (e.start_at AT TIME ZONE (h.p).timezone)::date <= $1
          AND e.end_at - e.start_at > make_interval(hours => (h.p).shift_max_hours)
          AND NOT EXISTS (SELECT 1 FROM careledger.events c WHERE c.type = 'shift.cancelled'
                          AND c.cancels = e.event_id)
        GROUP BY h.unit_id),
    days AS (SELECT DISTINCT worker_id, date FROM careledger.days_to($1)),
    runs AS (
        SELECT worker_id, count(*) AS len FROM (
            SELECT worker_id, date - (row_number() OVER (PARTITION BY worker_id ORDER BY date))::integer AS grp
            FROM days) x GROUP BY worker_id, grp),
    consec AS (
        SELECT h.unit_id, count(*) AS n FROM runs r JOIN home h USING (worker_id)
        WHERE (h.p).max_consecutive_days IS NOT NULL AND r.len > (h.p).max_consecutive_days
        GROUP BY h.unit_id),
    couples AS (
        SELECT DISTINCT least(w.worker_id, w.spouse_worker_id) AS a,
               greatest(w.worker_id, w.spouse_worker_id) AS b
        FROM careledger.workers w WHERE w.spouse_worker_id IS NOT NULL
          AND w.spouse_worker_id <> w.worker_id),
    pairs AS (
        SELECT h.unit_id, count(DISTINCT (c.a, c.b, da.date)) AS n
        FROM couples c JOIN days da ON da.worker_id = c.a
        JOIN days db ON db.worker_id = c.b AND db.date = da.date
        JOIN home h ON h.worker_id = c.a
        WHERE (h.p).no_couples GROUP BY h.unit_id)
    SELECT u.unit_id,
           CASE WHEN (p).shift_max_hours IS NULL THEN NULL ELSE COALESCE(l.n, 0) END,
           CASE WHEN (p).max_consecutive_days IS NULL THEN NULL ELSE COALESCE(c.n, 0) END,
           CASE WHEN (p).no_couples THEN COALESCE(pr.n, 0) END
    FROM (SELECT un.unit_id, careledger.policy_at(un.region, $1) AS p FROM careledger.units un) u
    LEFT JOIN longs l USING (unit_id) LEFT JOIN consec c USING (unit_id)
    LEFT JOIN pairs pr USING (unit_id)
$$;
