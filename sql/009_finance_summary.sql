-- careledger schema 9: money per counting unit, line and date kept by ingest, so that the
-- finance statement's budgets and measures read a few thousand summary rows instead of
-- resolving the counting unit of every money delivery of the province (issue 7: each
-- report in at most 2 s for 200,000 workers in 2,000 units).
--
--   money_days       per counting unit, line, date and source ('paid': payments at their
--                    unit; 'delivered': money deliveries at delivery_units' counted unit,
--                    line '' when the track has none): the amounts summed
--   delivery_money   per money delivery: the unit and line it is counted at in money_days,
--                    so that a batch that moves it applies the difference
--
-- A payment's unit never changes: a batch adds its payments. A delivery's counting unit
-- follows the registrations and first days of its worker and the members of its family, so
-- each batch recounts the deliveries it may have moved (money_refresh(), called by
-- aggregate/agg.c) under the lock 'careledger.money', taken last: from what is committed
-- plus its own changes, as the coverage marks are (008). Both are added there, so that
-- money_days is written under that lock only (no batch holds one of its rows while it
-- waits for the lock). Rows whose amounts fall back to zero are left in place (a zero adds
-- nothing) and verify ignores them.

SET LOCAL search_path = careledger;

CREATE TABLE money_days (
    unit_id    text NOT NULL,
    line       text NOT NULL,
    date       date NOT NULL,
    src        text NOT NULL CHECK (src IN ('paid', 'delivered')),
    amount_fen bigint NOT NULL,
    PRIMARY KEY (unit_id, line, date, src)
);

CREATE TABLE delivery_money (
    event_id text PRIMARY KEY,
    unit_id  text,                      -- NULL: counted at no unit (no money_days row)
    line     text NOT NULL
);

-- Add the batch's payments (agg_money_p) and recount the money deliveries whose counting
-- unit it may have moved, or all of them (EVERYTHING: a new policy set may move lines; a
-- rebuild): those it delivered (agg_money_d), those of workers it registered or recomputed
-- without a registered unit (agg_money_w: their first credited unit), and when it registered
-- anyone, every delivery counted through a family (its smallest registered member may have
-- changed). The difference to what delivery_money last counted goes to money_days.
CREATE FUNCTION money_refresh(everything boolean) RETURNS void
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('careledger.money', 0));
    CREATE TEMP TABLE IF NOT EXISTS mo_recount (event_id text PRIMARY KEY) ON COMMIT DELETE ROWS;
    TRUNCATE mo_recount;
    IF everything THEN
        INSERT INTO mo_recount SELECT d.event_id FROM careledger.deliveries d
        WHERE d.amount_fen IS NOT NULL;
    ELSE
        INSERT INTO mo_recount
        SELECT m.event_id FROM agg_money_d m
        UNION
        SELECT d.event_id FROM careledger.deliveries d
        WHERE d.amount_fen IS NOT NULL AND d.worker_id IN (SELECT m.worker_id FROM agg_money_w m)
        UNION
        SELECT d.event_id FROM careledger.deliveries d
        WHERE d.amount_fen IS NOT NULL AND d.unit_id IS NULL AND d.family_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM agg_money_w m WHERE m.registered);
    END IF;
    ANALYZE mo_recount;
    WITH cur AS MATERIALIZED (
        SELECT v.event_id, v.counted_unit AS unit_id, coalesce(v.line, '') AS line, v.date,
               v.amount_fen
        FROM careledger.delivery_units v
        WHERE v.event_id IN (SELECT t.event_id FROM mo_recount t) AND v.amount_fen IS NOT NULL),
    ch AS MATERIALIZED (
        SELECT c.*, o.event_id IS NOT NULL AS existed, o.unit_id AS o_unit, o.line AS o_line
        FROM cur c LEFT JOIN careledger.delivery_money o USING (event_id)
        WHERE o.event_id IS NULL OR c.unit_id IS DISTINCT FROM o.unit_id OR c.line <> o.line),
    put AS (
        INSERT INTO careledger.delivery_money AS t (event_id, unit_id, line)
        SELECT c.event_id, c.unit_id, c.line FROM ch c ORDER BY 1
        ON CONFLICT (event_id) DO UPDATE SET unit_id = EXCLUDED.unit_id, line = EXCLUDED.line)
    INSERT INTO careledger.money_days AS t (unit_id, line, date, src, amount_fen)
    SELECT x.unit_id, x.line, x.date, x.src, sum(x.fen)
    FROM (SELECT c.unit_id, c.line, c.date, 'delivered' AS src, c.amount_fen AS fen FROM ch c
          WHERE c.unit_id IS NOT NULL
          UNION ALL
          SELECT c.o_unit, c.o_line, c.date, 'delivered', -c.amount_fen FROM ch c
          WHERE c.existed AND c.o_unit IS NOT NULL
          UNION ALL
          SELECT p.unit_id, p.line, p.date, 'paid', p.amount_fen FROM agg_money_p p) x
    GROUP BY 1, 2, 3, 4 HAVING sum(x.fen) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (unit_id, line, date, src) DO UPDATE SET amount_fen = t.amount_fen + EXCLUDED.amount_fen;
END
$fn$;
REVOKE EXECUTE ON FUNCTION money_refresh(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION money_refresh(boolean) TO careledger_ingest;

-- The money of a database migrated with data (the lists as aggregate/agg.c creates them).
CREATE TEMP TABLE IF NOT EXISTS agg_money_d (event_id text PRIMARY KEY) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_money_w (worker_id text PRIMARY KEY, registered boolean NOT NULL)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_money_p (unit_id text, line text, date date, amount_fen bigint)
    ON COMMIT DELETE ROWS;
INSERT INTO agg_money_p SELECT unit_id, line, date, amount_fen FROM payments;
DO $$ BEGIN PERFORM careledger.money_refresh(true); END $$;

-- Row-level security as their neighbours': money per unit as unit_days (units0); the unit
-- each delivery is counted at is ingest's own (no report reads it).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['money_days', 'delivery_money'] LOOP
        EXECUTE format('ALTER TABLE careledger.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY ingest_all ON careledger.%I TO careledger_ingest '
                       'USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;
CREATE POLICY report_scope ON money_days FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user))
    OR unit_id IN (SELECT acl_ids(current_user, 'units0')));
CREATE POLICY report_scope ON delivery_money FOR SELECT TO careledger_report USING (
    (SELECT acl_root(current_user)));

-- budgets_under() (008) summing money_days: the same amounts per line, unit and date as
-- the payments and delivery_units it summed, without resolving any delivery's unit.
CREATE OR REPLACE FUNCTION budgets_under(d date, region text)
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
        SELECT m.line, m.unit_id AS unit, m.date, sum(m.amount_fen) AS fen
        FROM careledger.money_days m
        WHERE m.date <= $1 AND m.unit_id IN (SELECT unit_id FROM uu)
          AND m.line IN (SELECT b.line FROM bu b) AND (m.src = 'paid' OR m.line <> '')
        GROUP BY m.line, m.unit_id, m.date),
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
