-- careledger schema 16: a person's changed marks are updated in place instead of deleted
-- and inserted again (issue 7, ingest speed; DECISIONS 157). No figure changes.

SET LOCAL search_path = careledger;

-- A person's marks (one row per track and unit) are read together by every batch that
-- lists the person. Deleted and inserted again on each change, they scattered over the
-- table: at 1 M events of the replay a batch's 4,968 people read 19,759 marks from 21,177
-- heap pages, and that read was a quarter of marks_refresh(). Updated in place, a mark
-- stays on its page when the page has room (a HOT update: the key, the only index, is
-- unchanged), so pages keep room for it; a person's new marks are inserted together, in
-- key order.
ALTER TABLE coverage_marks SET (fillfactor = 70);

-- As 014's, but the stored marks are updated where only their sets changed.
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
        delta bigint NOT NULL DEFAULT 0, PRIMARY KEY (worker_id, month)) ON COMMIT DELETE ROWS;
    PERFORM count(pg_advisory_xact_lock(1668050283, x.b)) FROM (
        SELECT DISTINCT (hashtextextended(y.worker_id, 0) & 255)::integer AS b FROM (
            SELECT w.worker_id FROM pg_temp.agg_marks_w w
            UNION ALL SELECT m.worker_id FROM pg_temp.agg_marks_m m
            UNION ALL SELECT p.worker_id FROM pg_temp.agg_marks_mp p) y ORDER BY 1) x;
    -- A deferred month's mark moves only when its first fully paid date does: when a
    -- running total of its temp_subsidy payments (as full_paid sums them, per date) lies
    -- in [lo, hi), the entitlement before and after the batch's change in either order
    -- (DECISIONS 155). Anything else (no payments, a total below both or at or above
    -- both) leaves the date, and the stored mark, as they were.
    INSERT INTO pg_temp.agg_marks_m (worker_id, month)
    SELECT p.worker_id, p.month FROM pg_temp.agg_marks_mp p
    CROSS JOIN LATERAL (SELECT COALESCE(sum(s.subsidy_fen), 0) AS ent
                        FROM careledger.month_sums s
                        WHERE s.worker_id = p.worker_id AND s.month = p.month) e
    CROSS JOIN LATERAL (SELECT least(e.ent, e.ent - p.delta) AS lo,
                               greatest(e.ent, e.ent - p.delta) AS hi) b
    WHERE b.lo <= 0
       OR EXISTS (SELECT 1 FROM (SELECT sum(y.amount_fen) OVER (ORDER BY y.date) AS cum
                                 FROM careledger.payments y
                                 WHERE y.worker_id = p.worker_id AND y.period = p.month
                                   AND y.line = 'temp_subsidy') c
                  WHERE c.cum >= b.lo AND c.cum < b.hi)
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

    -- The stored marks that differ: a key is unique in mk_old and in mk_new, so it is in
    -- mk_diff at most once with each sign. A stored key (-1) also new (+1) changed its
    -- sets and is updated; one without is gone. Only the keys with +1 alone are inserted.
    -- The people are named as an array so that their marks are found by key (mk_diff has
    -- no statistics, and a join the planner chose on its guesses could read every mark).
    CREATE TEMP TABLE IF NOT EXISTS mk_stored (changed boolean, who text, track_id text,
        unit_id text) ON COMMIT DELETE ROWS;
    DELETE FROM mk_stored;
    INSERT INTO mk_stored
    SELECT bool_or(d.sign > 0), d.who, d.track_id, d.unit_id FROM mk_diff d
    GROUP BY 2, 3, 4 HAVING bool_or(d.sign < 0);
    UPDATE careledger.coverage_marks o SET eligible = d.eligible, covered = d.covered
    FROM mk_diff d
    WHERE o.who = ANY (ARRAY(SELECT DISTINCT k.who FROM mk_stored k WHERE k.changed))
      AND d.sign > 0 AND o.who = d.who AND o.track_id = d.track_id AND o.unit_id = d.unit_id;
    DELETE FROM careledger.coverage_marks o
    WHERE o.who = ANY (ARRAY(SELECT DISTINCT k.who FROM mk_stored k WHERE NOT k.changed))
      AND (o.who, o.track_id, o.unit_id) IN (
          SELECT k.who, k.track_id, k.unit_id FROM mk_stored k WHERE NOT k.changed);
    INSERT INTO careledger.coverage_marks
    SELECT d.who, d.track_id, d.unit_id, d.eligible, d.covered FROM mk_diff d
    WHERE d.sign > 0 AND NOT EXISTS (SELECT 1 FROM mk_stored k
        WHERE k.who = d.who AND k.track_id = d.track_id AND k.unit_id = d.unit_id)
    ORDER BY d.who, d.track_id, d.unit_id;
    -- The members as counted now: a worker without facts counts in no family.
    DELETE FROM careledger.mark_members m
    WHERE m.worker_id IN (SELECT s.worker_id FROM mk_sig s WHERE s.changed AND s.sig IS NULL);
    INSERT INTO careledger.mark_members AS t (worker_id, family_id, sig)
    SELECT s.worker_id, s.family_id, s.sig FROM mk_sig s WHERE s.changed AND s.sig IS NOT NULL
    ORDER BY 1
    ON CONFLICT (worker_id) DO UPDATE SET family_id = EXCLUDED.family_id, sig = EXCLUDED.sig;
END
$fn$;
