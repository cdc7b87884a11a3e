-- careledger schema 5: what ingest reads per batch (issue 7).
-- A batch recomputes a worker whom only shifts touched over a window of dates,
-- reading that worker's shifts by start time. events_worker_start serves that
-- and, by its (worker_id, type) prefix, every query events_worker (002) served,
-- which it replaces, so each insert still maintains one index by worker. The old
-- index is dropped only if it is still 002's (nothing here depends on what a
-- later migration may have made of it).

SET LOCAL search_path = careledger;

CREATE INDEX IF NOT EXISTS events_worker_start ON events (worker_id, type, start_at)
    WHERE worker_id IS NOT NULL;

DO $$
BEGIN
    IF to_regclass('careledger.events_worker') IS NOT NULL
       AND pg_get_indexdef(to_regclass('careledger.events_worker'))
           = 'CREATE INDEX events_worker ON careledger.events USING btree (worker_id, type) '
             'WHERE (worker_id IS NOT NULL)' THEN
        DROP INDEX careledger.events_worker;
    END IF;
END
$$;
