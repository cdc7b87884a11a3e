-- careledger schema 10: coverage marks recomputed only for the people whose marks can move,
-- under per-person locks instead of one global lock (issue 7, ingest speed; DECISIONS
-- 130-133). No figure changes: the marks are those 008 defines, and `careledger verify`
-- still recomputes every one of them with marks_compute().

SET LOCAL search_path = careledger;

-- A worker-day's subsidy is never below zero (policies hold no negative amounts), so a
-- worker-month's entitlement is above zero exactly when one of its month_sums rows earns;
-- ingest relies on it to tell which worker-months' marks can move (DECISIONS 130).
ALTER TABLE worker_days ADD CONSTRAINT worker_days_subsidy_nonnegative CHECK (subsidy_fen >= 0);

-- What each member counted in its family as last recomputed (marks_families_moved()); ''
-- for the members counted before this schema (their families are recomputed when they are
-- next listed).
ALTER TABLE mark_members ADD COLUMN sig text NOT NULL DEFAULT '';

-- The families of the workers listed (agg_marks_w), as registered now and as last counted,
-- added to agg_marks_f.
CREATE FUNCTION marks_add_families() RETURNS void
LANGUAGE plpgsql SET jit = off AS $fn$
BEGIN
    INSERT INTO pg_temp.agg_marks_f (family_id)
    SELECT COALESCE(k.family_id, w.worker_id) FROM pg_temp.agg_marks_w w
    LEFT JOIN LATERAL (SELECT k.family_id FROM careledger.workers k
                       WHERE k.worker_id = w.worker_id OFFSET 0) k ON true
    UNION
    SELECT m.family_id FROM pg_temp.agg_marks_w w
    CROSS JOIN LATERAL (SELECT m.family_id FROM careledger.mark_members m
                        WHERE m.worker_id = w.worker_id OFFSET 0) m
    ON CONFLICT DO NOTHING;
END
$fn$;

-- Empty the session's mk_people and mk_keys (a transaction may recompute marks more than
-- once: rebuild's chunks).
CREATE FUNCTION marks_people_clear() RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS mk_people (worker_id text PRIMARY KEY, family_id text,
        unit_id text, region text, registered timestamptz, children integer,
        days datemultirange, direct datemultirange, deployed datemultirange,
        designated datemultirange, open datemultirange, injured datemultirange)
        ON COMMIT DELETE ROWS;
    DELETE FROM mk_people;
    CREATE TEMP TABLE IF NOT EXISTS mk_keys (worker_id text, family_id text, unit_id text,
        policy_id text, span datemultirange, key text, first_day date, days datemultirange)
        ON COMMIT DELETE ROWS;
    DELETE FROM mk_keys;
END
$fn$;

-- Add to mk_people and mk_keys the people of the lists not there yet (as 008's
-- marks_compute() computed them): the workers listed, and with FAMILIES the families'
-- members too, so that a second call after the families are known (and locked) reads
-- only their members.
CREATE FUNCTION marks_people_add(families boolean) RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    -- Everyone whose days count: the workers listed and the families' members (a family
    -- named by an id no registered worker has may be an unregistered worker's own).
    INSERT INTO mk_people
    WITH ids AS (
        SELECT w.worker_id FROM pg_temp.agg_marks_w w
        UNION SELECT m.worker_id FROM pg_temp.agg_marks_f f
              CROSS JOIN LATERAL (SELECT k.worker_id FROM careledger.workers k
                                  WHERE k.family_id = f.family_id OFFSET 0) m
              WHERE families
        UNION SELECT f.family_id FROM pg_temp.agg_marks_f f WHERE families),
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
    FROM (SELECT i.worker_id FROM ids i
          WHERE NOT EXISTS (SELECT 1 FROM mk_people x WHERE x.worker_id = i.worker_id)) i
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
       OR o.from_date IS NOT NULL OR inj.i IS NOT NULL
    ON CONFLICT DO NOTHING;

    -- Each person's qualifying days per key, under each policy in force at their home.
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
          JOIN pk ON pk.policy_id = sp.policy_id
          WHERE NOT EXISTS (SELECT 1 FROM mk_keys k WHERE k.worker_id = p.worker_id)) y
    WHERE CASE WHEN y.key = 'all' AND y.reg IS NOT NULL THEN y.reg ELSE lower(y.s) END IS NOT NULL;

END
$fn$;

-- The coverage marks (into the session's mk_new) of the people listed in agg_marks_w
-- (workers), agg_marks_f (families) and agg_marks_m (worker-months), as 008's
-- marks_compute() computed them once the families were added.
CREATE FUNCTION marks_compute_listed() RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    PERFORM careledger.marks_people_add(true);

    -- The new marks.
    CREATE TEMP TABLE IF NOT EXISTS mk_new (who text, track_id text, unit_id text,
        eligible datemultirange, covered datemultirange) ON COMMIT DELETE ROWS;
    DELETE FROM mk_new;
    -- Workers: per track of their scope, and as frontline workers. A delivery qualifies when
    -- it reaches the track's minimums; it covers from its date (once) or for cadence_days.
    INSERT INTO mk_new
    -- The listed workers' deliveries first, once each (joined to the tracks inside, the
    -- planner probed deliveries once per worker and track: DECISIONS 133).
    WITH wv AS MATERIALIZED (
        SELECT v.* FROM pg_temp.agg_marks_w w
        CROSS JOIN LATERAL (SELECT v.* FROM careledger.deliveries v
                            WHERE v.worker_id = w.worker_id OFFSET 0) v),
    dv AS MATERIALIZED (
        SELECT v.worker_id, v.track_id,
               CASE WHEN t.kind = 'once' THEN datemultirange(daterange(min(v.date), NULL))
                    ELSE range_agg(daterange(v.date, v.date + t.cadence_days)) END AS cover
        FROM wv v
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


-- What a family's marks read of each member (DECISIONS 132): the member's mk_keys rows
-- under family-scope tracks (policy, key, span, first day, and the days when a recurring
-- family track reads them), its family and unit, and the policies' digest, as one text per
-- listed worker in mk_sig (NULL when the worker has no facts). The families of the listed
-- workers whose text differs from the one stored in mark_members, now and as last counted,
-- are added to agg_marks_f; the others' families cannot have moved through them.
CREATE FUNCTION marks_families_moved() RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS mk_sig (worker_id text PRIMARY KEY, family_id text,
        sig text, old_family text, changed boolean) ON COMMIT DELETE ROWS;
    DELETE FROM mk_sig;
    INSERT INTO mk_sig
    WITH ft AS MATERIALIZED (
        SELECT t.policy_id, t.eligible AS key, bool_or(t.kind = 'recurring') AS recurring
        FROM careledger.policy_tracks t
        WHERE t.scope = 'family' AND t.kind IN ('once', 'recurring') GROUP BY 1, 2),
    ks AS (
        SELECT q.worker_id,
               string_agg(q.policy_id || ':' || q.key || ':' || q.span::text || ':'
                          || q.first_day::text
                          || CASE WHEN ft.recurring THEN ':' || q.days::text ELSE '' END,
                          ';' ORDER BY q.policy_id, q.key) AS s
        FROM mk_keys q JOIN ft ON ft.policy_id = q.policy_id AND ft.key = q.key
        WHERE q.worker_id IN (SELECT w.worker_id FROM pg_temp.agg_marks_w w)
        GROUP BY q.worker_id),
    dg AS (SELECT COALESCE((SELECT g.digest FROM careledger.policy_state g WHERE g.id = 1), '')
                  AS digest),
    n AS (
        SELECT w.worker_id, p.family_id,
               CASE WHEN p.worker_id IS NOT NULL
                    THEN concat_ws('|', p.family_id, COALESCE(p.unit_id, ''), dg.digest,
                                   COALESCE(ks.s, '')) END AS sig
        FROM pg_temp.agg_marks_w w
        LEFT JOIN mk_people p ON p.worker_id = w.worker_id
        LEFT JOIN ks ON ks.worker_id = w.worker_id
        CROSS JOIN dg)
    SELECT n.worker_id, n.family_id, n.sig, m.family_id, n.sig IS DISTINCT FROM m.sig
    FROM n LEFT JOIN LATERAL (SELECT m.family_id, m.sig FROM careledger.mark_members m
                              WHERE m.worker_id = n.worker_id OFFSET 0) m ON true;
    INSERT INTO pg_temp.agg_marks_f (family_id)
    SELECT s.family_id FROM mk_sig s WHERE s.changed AND s.family_id IS NOT NULL
    UNION SELECT s.old_family FROM mk_sig s WHERE s.changed AND s.old_family IS NOT NULL
    ON CONFLICT DO NOTHING;
END
$fn$;

-- 008's marks_compute() (verify's: everyone listed, every listed worker's family).
CREATE OR REPLACE FUNCTION marks_compute() RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    PERFORM careledger.marks_people_clear();
    PERFORM careledger.marks_add_families();
    PERFORM careledger.marks_compute_listed();
END
$fn$;

-- Recompute the coverage marks of the people listed and apply the difference to
-- coverage_days, under the people's locks (DECISIONS 131): marks are recomputed from what is
-- committed once every earlier holder of a person's lock has committed, so that two batches
-- never apply differences to the same old marks; a person whose facts a batch still in
-- flight changes is recomputed again by that batch. Worker-months listed in agg_marks_mp
-- (entitlement changed, no flip) are recomputed only when payments name them.
CREATE OR REPLACE FUNCTION marks_refresh() RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_temp.agg_marks_w) AND NOT EXISTS (SELECT 1 FROM pg_temp.agg_marks_f)
       AND NOT EXISTS (SELECT 1 FROM pg_temp.agg_marks_m)
       AND (to_regclass('pg_temp.agg_marks_mp') IS NULL
            OR NOT EXISTS (SELECT 1 FROM pg_temp.agg_marks_mp)) THEN
        RETURN;
    END IF;
    -- The people's locks (DECISIONS 131): buckets 0-255 by worker id for workers and
    -- worker-months, in order; then the deferred months that need it (payments read now,
    -- under the lock); then buckets 256-511 by family id, in order.
    CREATE TEMP TABLE IF NOT EXISTS agg_marks_mp (worker_id text, month date,
        PRIMARY KEY (worker_id, month)) ON COMMIT DELETE ROWS;
    PERFORM count(pg_advisory_xact_lock(1668050283, x.b)) FROM (
        SELECT DISTINCT (hashtextextended(y.worker_id, 0) & 255)::integer AS b FROM (
            SELECT w.worker_id FROM pg_temp.agg_marks_w w
            UNION ALL SELECT m.worker_id FROM pg_temp.agg_marks_m m
            UNION ALL SELECT p.worker_id FROM pg_temp.agg_marks_mp p) y ORDER BY 1) x;
    INSERT INTO pg_temp.agg_marks_m (worker_id, month)
    SELECT p.worker_id, p.month FROM pg_temp.agg_marks_mp p
    WHERE EXISTS (SELECT 1 FROM careledger.payments y WHERE y.worker_id = p.worker_id
                  AND y.period = p.month AND y.line = 'temp_subsidy' OFFSET 0)
    ON CONFLICT DO NOTHING;
    -- The listed workers' facts first (under their locks), to tell which families moved;
    -- the families' members are read once the families are locked (DECISIONS 131).
    PERFORM careledger.marks_people_clear();
    PERFORM careledger.marks_people_add(false);
    PERFORM careledger.marks_families_moved();
    PERFORM count(pg_advisory_xact_lock(1668050283, x.b)) FROM (
        SELECT DISTINCT 256 + (hashtextextended(f.family_id, 0) & 255)::integer AS b
        FROM pg_temp.agg_marks_f f ORDER BY 1) x;
    PERFORM careledger.marks_compute_listed();

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
    -- The members as counted now: a worker without facts counts in no family.
    DELETE FROM careledger.mark_members m
    WHERE m.worker_id IN (SELECT s.worker_id FROM mk_sig s WHERE s.changed AND s.sig IS NULL);
    INSERT INTO careledger.mark_members AS t (worker_id, family_id, sig)
    SELECT s.worker_id, s.family_id, s.sig FROM mk_sig s WHERE s.changed AND s.sig IS NOT NULL
    ORDER BY 1
    ON CONFLICT (worker_id) DO UPDATE SET family_id = EXCLUDED.family_id, sig = EXCLUDED.sig;
END
$fn$;

REVOKE EXECUTE ON FUNCTION marks_add_families(), marks_people_clear(), marks_people_add(boolean),
    marks_compute_listed(), marks_families_moved() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION marks_add_families(), marks_people_clear(), marks_people_add(boolean),
    marks_compute_listed(), marks_families_moved() TO careledger_ingest;
