-- careledger schema 12: plans that do not depend on the sizes the planner guesses for a
-- batch's temporary rows (issue 7, ingest speed; DECISIONS 144). No figure changes.

SET LOCAL search_path = careledger;

-- As 010's, but the workers' delivery cover is read by key from mk_cover: in a replay the
-- planner, guessing one eligible row, scanned the whole cover CTE for each of thousands of
-- eligible rows (15 s of one batch's 20 s).
CREATE OR REPLACE FUNCTION marks_compute_listed() RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    PERFORM careledger.marks_people_add(true);

    -- The new marks.
    CREATE TEMP TABLE IF NOT EXISTS mk_new (who text, track_id text, unit_id text,
        eligible datemultirange, covered datemultirange) ON COMMIT DELETE ROWS;
    DELETE FROM mk_new;
    -- The listed workers' deliveries that qualify, as cover per worker and track, once each
    -- (joined to the tracks inside, the planner probed deliveries once per worker and track:
    -- DECISIONS 133), in a table keyed by both: joined from a CTE, whose size the planner
    -- cannot know, they were scanned whole for every eligible row (DECISIONS 144).
    CREATE TEMP TABLE IF NOT EXISTS mk_cover (worker_id text, track_id text,
        cover datemultirange, PRIMARY KEY (worker_id, track_id)) ON COMMIT DELETE ROWS;
    DELETE FROM mk_cover;
    INSERT INTO mk_cover
    WITH wv AS MATERIALIZED (
        SELECT v.* FROM pg_temp.agg_marks_w w
        CROSS JOIN LATERAL (SELECT v.* FROM careledger.deliveries v
                            WHERE v.worker_id = w.worker_id OFFSET 0) v)
    SELECT v.worker_id, v.track_id,
           CASE WHEN t.kind = 'once' THEN datemultirange(daterange(min(v.date), NULL))
                ELSE range_agg(daterange(v.date, v.date + t.cadence_days)) END
    FROM wv v
    JOIN careledger.policy_tracks t ON t.track_id = v.track_id
    WHERE t.scope = 'worker' AND t.kind IN ('once', 'recurring')
      AND (t.min_amount_fen IS NULL OR v.amount_fen >= t.min_amount_fen)
      AND (t.min_sum_insured_fen IS NULL OR v.sum_insured_fen >= t.min_sum_insured_fen)
    GROUP BY v.worker_id, v.track_id, t.kind;

    -- Workers: per track of their scope, and as frontline workers. A delivery qualifies when
    -- it reaches the track's minimums; it covers from its date (once) or for cadence_days.
    INSERT INTO mk_new
    SELECT 'w:' || x.worker_id, x.track_id, x.unit_id, x.e,
           x.e * COALESCE((SELECT c.cover FROM mk_cover c WHERE c.worker_id = x.worker_id
                           AND c.track_id = x.track_id), '{}')
    FROM (SELECT q.worker_id, q.unit_id, t.track_id,
                 q.span * datemultirange(daterange(q.first_day + t.grace_days, NULL))
                 * CASE WHEN t.kind = 'recurring' THEN careledger.widen(q.days, t.cadence_days)
                        ELSE '{(,)}'::datemultirange END AS e
          FROM mk_keys q
          JOIN careledger.policy_tracks t ON t.policy_id = q.policy_id AND t.eligible = q.key
          WHERE t.scope = 'worker' AND t.kind IN ('once', 'recurring')
            AND q.worker_id IN (SELECT w.worker_id FROM pg_temp.agg_marks_w w)) x
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
