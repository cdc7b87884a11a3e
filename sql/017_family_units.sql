-- careledger schema 17: a family's money counts at the unit of the member who qualified
-- first (SPEC R7, R9; DECISIONS 163), as its coverage does, instead of at the unit of its
-- registered member with the smallest id (DECISIONS 50, interim).

SET LOCAL search_path = careledger;

-- Per family and family-scoped track, the units its qualifying members give it, as
-- marks_compute_listed() divides a family's eligibility: ordered by first qualifying day
-- (tie: the smaller worker_id), each member owns the days of the track's policy span at
-- their home that no member before them holds. first_day and worker_id are those of the
-- unit's earliest member. Derived under the family's lock with its coverage marks.
CREATE TABLE family_units (
    family_id text NOT NULL,
    track_id  text NOT NULL,
    unit_id   text NOT NULL,
    first_day date NOT NULL,
    worker_id text NOT NULL,
    own       datemultirange NOT NULL,
    PRIMARY KEY (family_id, track_id, unit_id)
);

-- The family units (into the session's mk_fam) of the families in agg_marks_f, from the
-- qualifying days in mk_keys that marks_compute_listed() (or marks_people_add(true)) left.
CREATE FUNCTION family_units_compute() RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS mk_fam (family_id text, track_id text, unit_id text,
        first_day date, worker_id text, own datemultirange) ON COMMIT DELETE ROWS;
    DELETE FROM mk_fam;
    IF NOT EXISTS (SELECT 1 FROM pg_temp.agg_marks_f) THEN
        RETURN;
    END IF;
    INSERT INTO mk_fam
    WITH m AS (
        SELECT q.family_id, q.policy_id, q.key, q.unit_id, q.first_day, q.worker_id,
               q.span - COALESCE(range_agg(q.span) OVER (
                   PARTITION BY q.family_id, q.policy_id, q.key ORDER BY q.first_day, q.worker_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), '{}') AS own
        FROM mk_keys q WHERE q.family_id IN (SELECT f.family_id FROM pg_temp.agg_marks_f f)),
    o AS (
        SELECT m.*, row_number() OVER (PARTITION BY m.family_id, m.policy_id, m.key, m.unit_id
                                       ORDER BY m.first_day, m.worker_id) AS n
        FROM m)
    SELECT o.family_id, t.track_id, o.unit_id,
           min(o.first_day) FILTER (WHERE o.n = 1), min(o.worker_id) FILTER (WHERE o.n = 1),
           range_agg(o.own)
    FROM o JOIN careledger.policy_tracks t ON t.policy_id = o.policy_id AND t.eligible = o.key
    WHERE t.scope = 'family' AND t.kind IN ('once', 'recurring') AND o.unit_id IS NOT NULL
    GROUP BY o.family_id, t.track_id, o.unit_id
    HAVING NOT isempty(range_agg(o.own));
END
$fn$;

-- Recompute and store the family units of the families in agg_marks_f: run after
-- marks_refresh(), whose mk_keys hold every member of those families, under their locks.
-- The families whose units changed go to fu_moved, whose money deliveries the batch then
-- lists for money_refresh() to recount (agg.c's SQL_MONEY_BATCH): most families a batch
-- lists only gained days, which moves none of their units.
CREATE FUNCTION family_units_refresh() RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS fu_moved (family_id text PRIMARY KEY) ON COMMIT DELETE ROWS;
    IF to_regclass('pg_temp.mk_keys') IS NULL OR NOT EXISTS (SELECT 1 FROM pg_temp.agg_marks_f) THEN
        RETURN;
    END IF;
    PERFORM careledger.family_units_compute();
    WITH gone AS (
        DELETE FROM careledger.family_units f
        WHERE f.family_id = ANY (ARRAY(SELECT a.family_id FROM pg_temp.agg_marks_f a))
          AND NOT EXISTS (SELECT 1 FROM mk_fam n
                          WHERE n.family_id = f.family_id AND n.track_id = f.track_id
                            AND n.unit_id = f.unit_id AND n.first_day = f.first_day
                            AND n.worker_id = f.worker_id AND n.own = f.own)
        RETURNING f.family_id)
    INSERT INTO fu_moved SELECT DISTINCT g.family_id FROM gone g ON CONFLICT DO NOTHING;
    WITH added AS (
        INSERT INTO careledger.family_units
        SELECT n.* FROM mk_fam n ORDER BY 1, 2, 3
        ON CONFLICT (family_id, track_id, unit_id) DO NOTHING
        RETURNING family_id)
    INSERT INTO fu_moved SELECT DISTINCT a.family_id FROM added a ON CONFLICT DO NOTHING;
END
$fn$;

-- The unit a delivery counts at: the delivery's unit, else the worker's home, else the
-- family's: the unit that owns the delivery's date for its track, else the unit of the
-- track's first qualifier, else (no member qualifies for the track) that of the family's
-- smallest registered member.
CREATE OR REPLACE VIEW delivery_units AS
SELECT d.*, t.line, t.kind,
       COALESCE(d.unit_id, k.unit_id, careledger.first_credited_unit(d.worker_id),
                (SELECT f.unit_id FROM family_units f
                 WHERE f.family_id = d.family_id AND f.track_id = d.track_id
                 ORDER BY f.own @> d.date DESC, f.first_day, f.worker_id LIMIT 1),
                (SELECT w.unit_id FROM workers w WHERE w.family_id = d.family_id
                 ORDER BY w.worker_id LIMIT 1)) AS counted_unit
FROM deliveries d LEFT JOIN policy_tracks t USING (track_id)
LEFT JOIN workers k ON k.worker_id = d.worker_id;

REVOKE EXECUTE ON FUNCTION family_units_compute(), family_units_refresh() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION family_units_compute(), family_units_refresh() TO careledger_ingest;

-- Row-level security as mark_members': ingest's own (no report reads it).
ALTER TABLE family_units ENABLE ROW LEVEL SECURITY;
CREATE POLICY ingest_all ON family_units TO careledger_ingest USING (true) WITH CHECK (true);
CREATE POLICY report_scope ON family_units FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user)));

-- The reports of an injury case, for a batch to recompute every worker they named when a
-- later report moves the case (DECISIONS 165); few rows.
CREATE INDEX events_injury_case ON events (case_id) WHERE type = 'injury.reported';

-- The family units of a database migrated with data, and its money recounted under them.
CREATE TEMP TABLE IF NOT EXISTS agg_marks_w (worker_id text PRIMARY KEY) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS agg_marks_f (family_id text PRIMARY KEY) ON COMMIT DROP;
INSERT INTO agg_marks_f
SELECT family_id FROM mark_members UNION SELECT family_id FROM workers WHERE family_id IS NOT NULL
ON CONFLICT DO NOTHING;
DO $$
BEGIN
    PERFORM careledger.marks_people_clear();
    PERFORM careledger.marks_people_add(true);
    PERFORM careledger.family_units_refresh();
END
$$;
CREATE TEMP TABLE IF NOT EXISTS agg_money_p (unit_id text, line text, date date, amount_fen bigint)
    ON COMMIT DROP;
DELETE FROM agg_money_p;
DO $$ BEGIN PERFORM careledger.money_refresh(true); END $$;
