-- careledger schema 13: what each home unit's workers earned on each date (DECISIONS 151),
-- so that R7's arrears as of a day inside its month need no per-worker reading for the
-- workers not yet paid for it.

SET LOCAL search_path = careledger;

-- The subsidy of the worker-days (R6) of the workers whose home (R9) is unit_id, dated date:
-- kept by ingest beside the head count, and moved with it when a worker's home moves.
ALTER TABLE home_days ADD COLUMN subsidy_fen bigint NOT NULL DEFAULT 0;

UPDATE home_days h SET subsidy_fen = x.fen
FROM (SELECT s.home_unit, d.date, sum(d.subsidy_fen) AS fen
      FROM worker_days d JOIN worker_sets s USING (worker_id)
      WHERE s.home_unit IS NOT NULL GROUP BY 1, 2) x
WHERE h.unit_id = x.home_unit AND h.date = x.date AND x.fen <> 0;

-- R7 per home unit for month M as of D inside it (M <= D < M's last day): what finance.c
-- sums from worker_months(D) for M, read another way. A worker owes max(earned - paid, 0),
-- which is earned - min(earned, paid); with no payment for M dated by D that is all they
-- earned to D, so the unit's earned sum to D (home_days, and its open deployments' days)
-- less min(earned, paid) of the workers with a payment gives the arrears, and only those
-- workers are read one by one. As of a day inside the month nearly nobody has been paid.
CREATE FUNCTION month_arrears_inside(d date, m date)
RETURNS TABLE (unit_id text, arrears_fen bigint, overpaid_fen bigint)
LANGUAGE sql STABLE AS $$
    WITH od AS (
        -- Open deployments' days in M to D, per worker (as worker_months() counts them).
        SELECT o.worker_id, sum(o.subsidy_fen * ($1 - greatest(o.from_date, $2) + 1)) AS fen
        FROM careledger.open_deployments o WHERE o.from_date <= $1 GROUP BY o.worker_id),
    paid AS (
        SELECT p.worker_id, sum(p.amount_fen) AS fen FROM careledger.payments p
        WHERE p.line = 'temp_subsidy' AND p.period = $2 AND p.date <= $1
        GROUP BY p.worker_id),
    settled AS (
        SELECT COALESCE(k.unit_id, careledger.first_credited_unit(p.worker_id)) AS unit_id,
               sum(least(e.fen, p.fen)) AS fen, sum(greatest(p.fen - e.fen, 0)) AS over
        FROM paid p
        CROSS JOIN LATERAL (
            SELECT COALESCE((SELECT sum(y.subsidy_fen) FROM careledger.worker_days y
                             WHERE y.worker_id = p.worker_id AND y.date BETWEEN $2 AND $1), 0)
                   + COALESCE((SELECT od.fen FROM od WHERE od.worker_id = p.worker_id), 0)
                   AS fen) e
        LEFT JOIN careledger.workers k USING (worker_id)
        GROUP BY 1),
    earned AS (
        SELECT h.unit_id, sum(h.subsidy_fen) AS fen FROM careledger.home_days h
        WHERE h.date BETWEEN $2 AND $1 GROUP BY h.unit_id
        UNION ALL
        SELECT COALESCE(k.unit_id, careledger.first_credited_unit(od.worker_id)), od.fen
        FROM od LEFT JOIN careledger.workers k USING (worker_id))
    SELECT x.unit_id, sum(x.fen)::bigint, sum(x.over)::bigint
    FROM (SELECT e.unit_id, e.fen, 0 AS over FROM earned e
          UNION ALL
          SELECT s.unit_id, -s.fen, s.over FROM settled s) x
    WHERE x.unit_id IS NOT NULL
    GROUP BY x.unit_id
$$;
