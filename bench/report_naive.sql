-- bench/report's baseline: each report's headline figures computed the naive
-- way, by GROUP BY over the raw facts (careledger.events) alone, without the
-- rules (no R1/R2 day counting, no policies, no as-of corrections). It prices
-- reading raw facts at report time; the reports read the aggregates instead.
-- Variables: :'d' (the report date), :'month' (YYYY-MM-01), :'mid' and
-- :'midmonth' (finance15: a day inside a month, and that month), :'province' and
-- :'compare' (region codes, 2-digit prefixes of GB/T 2260).
\timing off
SET search_path = careledger;
SET jit = off;

\echo naive daily
\timing on
-- Coverage: people or families delivered each measure by D; frontline per day.
SELECT e.measure, count(DISTINCT coalesce(e.worker_id, e.family_id, e.unit_id))
FROM events e JOIN units u ON u.unit_id = coalesce(e.unit_id, (SELECT w.unit_id FROM workers w
    WHERE w.worker_id = e.worker_id))
WHERE e.type = 'benefit.delivered' AND e.date <= :'d' AND u.region LIKE left(:'province', 2) || '%'
GROUP BY e.measure \g /dev/null
SELECT (e.start_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(DISTINCT e.worker_id)
FROM events e JOIN workers w USING (worker_id) JOIN units u ON u.unit_id = w.unit_id
WHERE e.type = 'shift.completed' AND e.start_at < (:'d'::date + 1)
  AND e.start_at >= (:'d'::date - 29) AND u.region LIKE left(:'province', 2) || '%'
GROUP BY 1 \g /dev/null
\timing off

\echo naive finance
\timing on
-- Per unit: worker-days of the month, subsidy paid for the month.
SELECT w.unit_id, count(DISTINCT (e.worker_id, (e.start_at AT TIME ZONE 'Asia/Shanghai')::date))
FROM events e JOIN workers w USING (worker_id) JOIN units u ON u.unit_id = w.unit_id
WHERE e.type = 'shift.completed' AND e.start_at >= :'month'::date
  AND e.start_at < (:'month'::date + interval '1 month') AND u.region LIKE left(:'province', 2) || '%'
GROUP BY w.unit_id \g /dev/null
SELECT coalesce(e.unit_id, w.unit_id), sum(e.amount_fen)
FROM events e LEFT JOIN workers w USING (worker_id)
WHERE e.type = 'subsidy.paid' AND e.period = :'month'::date AND e.date <= :'d'
GROUP BY 1 \g /dev/null
\timing off

\echo naive finance15
\timing on
-- The same as of a day inside the month.
SELECT w.unit_id, count(DISTINCT (e.worker_id, (e.start_at AT TIME ZONE 'Asia/Shanghai')::date))
FROM events e JOIN workers w USING (worker_id) JOIN units u ON u.unit_id = w.unit_id
WHERE e.type = 'shift.completed' AND e.start_at >= :'midmonth'::date
  AND e.start_at < (:'mid'::date + 1) AND u.region LIKE left(:'province', 2) || '%'
GROUP BY w.unit_id \g /dev/null
SELECT coalesce(e.unit_id, w.unit_id), sum(e.amount_fen)
FROM events e LEFT JOIN workers w USING (worker_id)
WHERE e.type = 'subsidy.paid' AND e.period = :'midmonth'::date AND e.date <= :'mid'
GROUP BY 1 \g /dev/null
\timing off

\echo naive compare
\timing on
-- Per city of the province: frontline workers and worker-days by D, subsidy paid.
SELECT left(u.region, 4), count(DISTINCT e.worker_id),
       count(DISTINCT (e.worker_id, (e.start_at AT TIME ZONE 'Asia/Shanghai')::date))
FROM events e JOIN workers w USING (worker_id) JOIN units u ON u.unit_id = w.unit_id
WHERE e.type = 'shift.completed' AND e.start_at < (:'d'::date + 1)
  AND u.region LIKE left(:'compare', 2) || '%'
GROUP BY 1 \g /dev/null
SELECT left(u.region, 4), sum(e.amount_fen)
FROM events e JOIN workers w USING (worker_id) JOIN units u ON u.unit_id = w.unit_id
WHERE e.type = 'subsidy.paid' AND e.date <= :'d' AND u.region LIKE left(:'compare', 2) || '%'
GROUP BY 1 \g /dev/null
\timing off
