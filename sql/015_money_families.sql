-- careledger schema 15: a batch that registers workers recounts the money deliveries of
-- their families only (issue 7, ingest speed). No figure changes: `careledger verify` still
-- recounts every delivery.

SET LOCAL search_path = careledger;

-- As 009's, but the deliveries counted through a family are recounted for the families a
-- registration of the batch can move: a family delivery is counted at the unit of its
-- family's registered member with the smallest id, which changes only when a worker joins
-- or leaves the family or a member's unit changes, each by a registration of that worker.
-- The families are those of every registration of the batch's registered workers (the one
-- stored before this batch among them). 009 recounted every family delivery of the
-- province whenever a batch registered anyone, nearly every batch of a replay: a scan of
-- all deliveries and a recount that grew with them.
CREATE OR REPLACE FUNCTION money_refresh(everything boolean) RETURNS void
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
        SELECT d.event_id
        FROM (SELECT DISTINCT r.family_id FROM agg_money_w m
              CROSS JOIN LATERAL (SELECT e.family_id FROM careledger.events e
                                  WHERE e.worker_id = m.worker_id
                                    AND e.type = 'worker.registered' OFFSET 0) r
              WHERE m.registered AND r.family_id IS NOT NULL) f
        CROSS JOIN LATERAL (SELECT d.event_id, d.amount_fen, d.unit_id
                            FROM careledger.deliveries d
                            WHERE d.family_id = f.family_id OFFSET 0) d
        WHERE d.amount_fen IS NOT NULL AND d.unit_id IS NULL;
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
