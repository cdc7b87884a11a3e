-- careledger schema 11: R7 per worker-month as of the last day of a month (DECISIONS 143).
-- 008's worker_months() counted the month D ends twice for every worker with a day after
-- D: once whole from month_sums (a month that ends on D is whole) and again day by day from
-- worker_days (the branch meant for the month D falls inside). The finance statement of a
-- month as of its last day showed that month's entitlement, and so its arrears, doubled
-- for everyone still working after it. Also, a month as of a day inside it reads the days
-- after D instead of those before it when they are fewer.

SET LOCAL search_path = careledger;

-- True when some worker has a day after D and fewer of D's month's days with data lie
-- after D than up to it: worker_months() then reads the month's sums less the days after D
-- (a statement as of yesterday reads one day per worker), else the days to D of the
-- workers with a day after D (none at all as of the last day of data). Either reading
-- gives the same figures.
CREATE FUNCTION month_reads_after(d date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT l > $1 AND least(l, (date_trunc('month', $1::timestamp) + interval '1 month')::date - 1)
                      - $1 < $1 - date_trunc('month', $1::timestamp)::date + 1
    FROM (SELECT COALESCE(max(upper(w.days)) - 1, $1) AS l FROM careledger.worker_sets w) x
$$;

-- R7 per worker-month as of D: whole months (ending on or before D) from month_sums; the
-- month D falls inside (when D is not its last day) from month_sums for a worker with no
-- day after D, else from the worker's days: those to D, or the month's sums less the days
-- after D when fewer are after it (month_reads_after). Open deployments add their days to
-- D, month by month; payments dated to D by period.
CREATE OR REPLACE FUNCTION worker_months(d date)
RETURNS TABLE (worker_id text, month date, unit_id text, entitled_fen bigint, paid_fen bigint,
               arrears_fen bigint, overpaid_fen bigint)
LANGUAGE sql STABLE AS $$
    SELECT wm.worker_id, wm.month,
           COALESCE(k.unit_id, careledger.first_credited_unit(wm.worker_id)),
           wm.entitled, wm.paid,
           greatest(wm.entitled - wm.paid, 0), greatest(wm.paid - wm.entitled, 0)
    FROM (SELECT x.worker_id, x.month, sum(x.ent) AS entitled, sum(x.paid) AS paid
          FROM (SELECT s.worker_id, s.month, s.subsidy_fen AS ent, 0 AS paid
                FROM careledger.month_sums s
                WHERE s.days <> 0 AND (s.month + interval '1 month')::date <= $1 + 1
                UNION ALL
                -- D's month read up to D: whole for a worker with no day after D...
                SELECT s.worker_id, s.month, s.subsidy_fen, 0
                FROM careledger.month_sums s JOIN careledger.worker_sets w USING (worker_id)
                WHERE NOT careledger.month_reads_after($1)
                  AND s.days <> 0 AND s.month <= $1 AND (s.month + interval '1 month')::date > $1 + 1
                  AND upper(w.days) <= $1 + 1
                UNION ALL
                -- ... and the days to D for the others.
                SELECT y.worker_id, date_trunc('month', y.date::timestamp)::date, y.subsidy_fen, 0
                FROM careledger.worker_days y
                WHERE NOT careledger.month_reads_after($1)
                  AND y.date >= date_trunc('month', $1::timestamp)::date AND y.date <= $1
                  AND y.worker_id IN (SELECT w.worker_id FROM careledger.worker_sets w
                                      WHERE upper(w.days) > $1 + 1)
                  AND EXISTS (SELECT 1 FROM careledger.worker_sets w WHERE upper(w.days) > $1 + 1)
                UNION ALL
                -- D's month read after D (D not its last day): the month's sums less the days
                -- after D, for a worker with a day to D in it (month_sums counts one day per
                -- worker-day, as worker_days holds them).
                SELECT s.worker_id, s.month, (s.fen - COALESCE(a.fen, 0))::bigint, 0
                FROM (SELECT s.worker_id, s.month, sum(s.days) AS n, sum(s.subsidy_fen) AS fen
                      FROM careledger.month_sums s
                      WHERE s.month = date_trunc('month', $1::timestamp)::date
                      GROUP BY s.worker_id, s.month) s
                LEFT JOIN (SELECT y.worker_id, count(*) AS n, sum(y.subsidy_fen) AS fen
                           FROM careledger.worker_days y
                           WHERE y.date > $1
                             AND y.date < (date_trunc('month', $1::timestamp) + interval '1 month')::date
                           GROUP BY y.worker_id) a USING (worker_id)
                WHERE careledger.month_reads_after($1)
                  AND (date_trunc('month', $1::timestamp) + interval '1 month')::date > $1 + 1
                  AND s.n - COALESCE(a.n, 0) > 0
                UNION ALL
                SELECT o.worker_id, m.m::date,
                       o.subsidy_fen * (least((m.m + interval '1 month')::date - 1, $1) -
                                        greatest(o.from_date, m.m::date) + 1), 0
                FROM careledger.open_deployments o
                CROSS JOIN LATERAL generate_series(date_trunc('month', o.from_date::timestamp),
                                                   $1::timestamp, interval '1 month') m (m)
                WHERE o.from_date <= $1
                UNION ALL
                SELECT p.worker_id, p.period, 0, p.amount_fen FROM careledger.payments p
                WHERE p.line = 'temp_subsidy' AND p.date <= $1) x
          GROUP BY x.worker_id, x.month) wm
    LEFT JOIN careledger.workers k USING (worker_id)
$$;
