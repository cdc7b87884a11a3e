/**
 * @file agg.c
 * @brief Keyed facts (R5) and per-worker derived rows (R1, R2), per batch or rebuilt.
 */
#include "careledger/agg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/buf.h"
#include "careledger/rules.h"
#include "careledger/sha256.h"
#include "careledger/time.h"

/* A shift no stored cancellation names, probed per shift by index (OFFSET 0 keeps the
 * planner from turning it into a join that reads every cancellation for each worker). */
#define NOT_CANCELLED                                                                              \
    "AND NOT EXISTS (SELECT 1 FROM careledger.events c WHERE c.cancels = e.event_id "              \
    "AND c.type = 'shift.cancelled' OFFSET 0)"

/* The accepted rows of the batch (the stage holds only those: writer.c), or every raw fact
 * for a rebuild. */
#define SRC_BATCH "(SELECT s.* FROM stage s)"
#define SRC_ALL   "careledger.events"

/* R5 upserts: within the source the latest per key first, then only newer replaces. */
#define UPSERT_REGIONS(src)                                                                        \
    "INSERT INTO careledger.regions AS t (code, name, parent, level, occurred_at, event_id) "      \
    "SELECT DISTINCT ON (code) code, name, parent, level, occurred_at, event_id FROM " src " e "   \
    "WHERE e.type = 'region.registered' ORDER BY code, occurred_at DESC, event_id DESC "           \
    "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, parent = EXCLUDED.parent, "            \
    "level = EXCLUDED.level, occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id "    \
    "WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (t.occurred_at, t.event_id)"
#define UPSERT_UNITS(src)                                                                          \
    "INSERT INTO careledger.units AS t (unit_id, name, region, kind, level, occurred_at, "         \
    "event_id) "                                                                                   \
    "SELECT DISTINCT ON (unit_id) unit_id, name, region, kind, level, occurred_at, event_id "      \
    "FROM " src                                                                                    \
    " e WHERE e.type = 'unit.registered' ORDER BY unit_id, occurred_at DESC, event_id DESC "       \
    "ON CONFLICT (unit_id) DO UPDATE SET name = EXCLUDED.name, region = EXCLUDED.region, "         \
    "kind = EXCLUDED.kind, level = EXCLUDED.level, occurred_at = EXCLUDED.occurred_at, "           \
    "event_id = EXCLUDED.event_id "                                                                \
    "WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (t.occurred_at, t.event_id)"
#define UPSERT_WORKERS(src)                                                                        \
    "INSERT INTO careledger.workers AS t (worker_id, unit_id, role, staff, family_id, "            \
    "spouse_worker_id, children, elders, occurred_at, event_id) "                                  \
    "SELECT DISTINCT ON (worker_id) worker_id, unit_id, role, staff, family_id, "                  \
    "spouse_worker_id, "                                                                           \
    "children, elders, occurred_at, event_id FROM " src " e WHERE e.type = 'worker.registered' "   \
    "ORDER BY worker_id, occurred_at DESC, event_id DESC "                                         \
    "ON CONFLICT (worker_id) DO UPDATE SET unit_id = EXCLUDED.unit_id, role = EXCLUDED.role, "     \
    "staff = EXCLUDED.staff, family_id = EXCLUDED.family_id, "                                     \
    "spouse_worker_id = EXCLUDED.spouse_worker_id, children = EXCLUDED.children, "                 \
    "elders = EXCLUDED.elders, occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id "  \
    "WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (t.occurred_at, t.event_id)"
#define UPSERT_BUDGETS(src)                                                                        \
    "INSERT INTO careledger.budgets AS t (budget_id, scope, line, amount_fen, from_date, "         \
    "to_date, "                                                                                    \
    "funding, occurred_at, event_id) "                                                             \
    "SELECT DISTINCT ON (budget_id) budget_id, scope, line, amount_fen, from_date, to_date, "      \
    "funding, occurred_at, event_id FROM " src " e WHERE e.type = 'budget.allocated' "             \
    "ORDER BY budget_id, occurred_at DESC, event_id DESC "                                         \
    "ON CONFLICT (budget_id) DO UPDATE SET scope = EXCLUDED.scope, line = EXCLUDED.line, "         \
    "amount_fen = EXCLUDED.amount_fen, from_date = EXCLUDED.from_date, "                           \
    "to_date = EXCLUDED.to_date, funding = EXCLUDED.funding, occurred_at = EXCLUDED.occurred_at, " \
    "event_id = EXCLUDED.event_id "                                                                \
    "WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (t.occurred_at, t.event_id)"
#define UPSERT_DEP_STARTS(src)                                                                     \
    "INSERT INTO careledger.deployment_starts AS t (deployment_id, worker_id, team, destination, " \
    "date, exposure, occurred_at, event_id) "                                                      \
    "SELECT DISTINCT ON (deployment_id) deployment_id, worker_id, team, destination, date, "       \
    "exposure, occurred_at, event_id FROM " src " e WHERE e.type = 'deployment.started' "          \
    "ORDER BY deployment_id, occurred_at DESC, event_id DESC "                                     \
    "ON CONFLICT (deployment_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, "                   \
    "team = EXCLUDED.team, destination = EXCLUDED.destination, date = EXCLUDED.date, "             \
    "exposure = EXCLUDED.exposure, occurred_at = EXCLUDED.occurred_at, "                           \
    "event_id = EXCLUDED.event_id "                                                                \
    "WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (t.occurred_at, t.event_id)"
#define UPSERT_DEP_ENDS(src)                                                                       \
    "INSERT INTO careledger.deployment_ends AS t (deployment_id, date, occurred_at, event_id) "    \
    "SELECT DISTINCT ON (deployment_id) deployment_id, date, occurred_at, event_id FROM " src      \
    " e WHERE e.type = 'deployment.ended' ORDER BY deployment_id, occurred_at DESC, "              \
    "event_id DESC ON CONFLICT (deployment_id) DO UPDATE SET date = EXCLUDED.date, "               \
    "occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id "                            \
    "WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (t.occurred_at, t.event_id)"
#define UPSERT_INJURIES(src)                                                                       \
    "INSERT INTO careledger.injury_stages AS t (case_id, stage, worker_id, date, amount_fen, "     \
    "occurred_at, event_id) "                                                                      \
    "SELECT DISTINCT ON (case_id, stage) case_id, stage, worker_id, date, amount_fen, "            \
    "occurred_at, event_id FROM (SELECT e.*, split_part(e.type, '.', 2) AS stage FROM " src        \
    " e WHERE e.type LIKE 'injury.%') i ORDER BY case_id, stage, occurred_at DESC, event_id DESC " \
    "ON CONFLICT (case_id, stage) DO UPDATE SET worker_id = EXCLUDED.worker_id, "                  \
    "date = EXCLUDED.date, amount_fen = EXCLUDED.amount_fen, occurred_at = EXCLUDED.occurred_at, " \
    "event_id = EXCLUDED.event_id "                                                                \
    "WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (t.occurred_at, t.event_id)"
#define UPSERT_STATUSES(src)                                                                       \
    "INSERT INTO careledger.statuses AS t (region, measure, date, status, note, occurred_at, "     \
    "event_id) SELECT DISTINCT ON (region, measure, date) region, measure, date, status, note, "   \
    "occurred_at, event_id FROM " src " e WHERE e.type = 'measure.status' "                        \
    "ORDER BY region, measure, date, occurred_at DESC, event_id DESC "                             \
    "ON CONFLICT (region, measure, date) DO UPDATE SET status = EXCLUDED.status, "                 \
    "note = EXCLUDED.note, occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id "      \
    "WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (t.occurred_at, t.event_id)"

/* Additive facts: one row each (event ids are unique already). */
#define INSERT_PAYMENTS(src)                                                                       \
    "INSERT INTO careledger.payments (event_id, worker_id, unit_id, line, period, amount_fen, "    \
    "date, funding) SELECT event_id, worker_id, unit_id, line, period, amount_fen, date, funding " \
    "FROM " src " e WHERE e.type = 'subsidy.paid' ON CONFLICT DO NOTHING"
#define INSERT_DELIVERIES(src)                                                                     \
    "INSERT INTO careledger.deliveries (event_id, track_id, worker_id, family_id, unit_id, date, " \
    "amount_fen, sum_insured_fen) SELECT event_id, measure, worker_id, family_id, unit_id, date, " \
    "amount_fen, sum_insured_fen FROM " src " e WHERE e.type = 'benefit.delivered' "               \
    "ON CONFLICT DO NOTHING"

/* A region's registration moves the policies of the units under it only when it moves the
 * region's parent as policy resolution follows it (a registered six-digit parent other than
 * itself, else GB/T 2260's: region_ancestors(), cl_policy_set_resolve()). The batch's
 * upsert lists those regions in agg_regions, comparing each row's parent before and after
 * (the statement's snapshot holds the one before; a batch with a registration holds the
 * cross-partition lock exclusively, so no other batch writes regions meanwhile). Only their
 * workers are recomputed: a province's first registration, whose parents are its codes'
 * own, rewrites no one (DECISIONS 160). */
#define EFFECTIVE_PARENT(code, parent)                                                             \
    "CASE WHEN " parent " ~ '^[0-9]{6}$' AND " parent " <> " code " THEN " parent                  \
    " WHEN right(" code ", 2) <> '00' THEN left(" code ", 4) || '00' "                             \
    "WHEN substr(" code ", 3, 2) <> '00' THEN left(" code ", 2) || '0000' ELSE '000000' END"
static const char UPSERT_REGIONS_BATCH[] =
    "WITH src AS (SELECT DISTINCT ON (code) code, name, parent, level, occurred_at, event_id "
    "FROM " SRC_BATCH " e WHERE e.type = 'region.registered' "
    "ORDER BY code, occurred_at DESC, event_id DESC), "
    "old AS (SELECT r.code, r.parent FROM careledger.regions r JOIN src USING (code)), "
    "up AS (INSERT INTO careledger.regions AS t (code, name, parent, level, occurred_at, "
    "event_id) SELECT * FROM src "
    "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, parent = EXCLUDED.parent, "
    "level = EXCLUDED.level, occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id "
    "WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (t.occurred_at, t.event_id) "
    "RETURNING t.code, t.parent) "
    "INSERT INTO agg_regions (code) SELECT up.code FROM up LEFT JOIN old USING (code) "
    "WHERE (" EFFECTIVE_PARENT("up.code", "up.parent") ") IS DISTINCT FROM (" EFFECTIVE_PARENT(
        "up.code", "old.parent") ")";

static const char *const UPSERTS_BATCH[] = {UPSERT_REGIONS_BATCH,
                                            UPSERT_UNITS(SRC_BATCH),
                                            UPSERT_WORKERS(SRC_BATCH),
                                            UPSERT_BUDGETS(SRC_BATCH),
                                            UPSERT_DEP_STARTS(SRC_BATCH),
                                            UPSERT_DEP_ENDS(SRC_BATCH),
                                            UPSERT_INJURIES(SRC_BATCH),
                                            UPSERT_STATUSES(SRC_BATCH),
                                            INSERT_PAYMENTS(SRC_BATCH),
                                            INSERT_DELIVERIES(SRC_BATCH),
                                            NULL};
static const char *const UPSERTS_ALL[] = {UPSERT_REGIONS(SRC_ALL),
                                          UPSERT_UNITS(SRC_ALL),
                                          UPSERT_WORKERS(SRC_ALL),
                                          UPSERT_BUDGETS(SRC_ALL),
                                          UPSERT_DEP_STARTS(SRC_ALL),
                                          UPSERT_DEP_ENDS(SRC_ALL),
                                          UPSERT_INJURIES(SRC_ALL),
                                          UPSERT_STATUSES(SRC_ALL),
                                          INSERT_PAYMENTS(SRC_ALL),
                                          INSERT_DELIVERIES(SRC_ALL),
                                          NULL};

/* The workers to recompute. A worker whom the batch touches only by shifts and cancellations
 * of shifts is recomputed over the local dates of those shifts (R1 derives each local day from
 * that day's shifts and the deployments, which are loaded whole); a deployment, a unit or
 * region registered or a new policy set rewrites every day of the worker (whole). A
 * registration or an injury report moves no day (R1 reads neither, but for the registered
 * unit, which credits deployment days: SQL_WHOLE_DEPLOYED), so it lists the worker's marks
 * and months whole (listed) and recomputes only the dates of the batch's shifts (DECISIONS
 * 168). */
static const char SQL_AGG_SETUP[] =
    "CREATE TEMP TABLE IF NOT EXISTS agg_workers (worker_id text PRIMARY KEY, "
    "whole boolean NOT NULL DEFAULT true, listed boolean NOT NULL DEFAULT false, "
    "registered boolean NOT NULL DEFAULT false) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS agg_regions (code text PRIMARY KEY) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS agg_gone (LIKE careledger.worker_days) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS agg_new (LIKE careledger.worker_days) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS agg_kept (worker_id text PRIMARY KEY) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS agg_marks_w (worker_id text PRIMARY KEY) "
    "ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS agg_marks_f (family_id text PRIMARY KEY) "
    "ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS agg_marks_m (worker_id text, month date, "
    "PRIMARY KEY (worker_id, month)) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS agg_marks_mp (worker_id text, month date, "
    "delta bigint NOT NULL DEFAULT 0, PRIMARY KEY (worker_id, month)) ON COMMIT DELETE ROWS";

/* The workers a batch affects: their own events, the shifts a cancellation names, the
 * deployment an end closes, every worker an injury case's reports named (a later report
 * moves the case off the earlier one's worker), every worker a deployment's starts named (a
 * later start moves the deployment, and its days, off the earlier one's worker), and everyone
 * at a unit (re)registered or in a region whose parent the batch moved (agg_regions). */
static const char SQL_AFFECTED[] =
    "WITH b AS (SELECT s.type, s.worker_id, s.cancels, s.deployment_id, s.code, s.unit_id, "
    "s.case_id "
    "FROM " SRC_BATCH " s), "
    "regs AS (SELECT code FROM agg_regions), "
    "region_units AS (SELECT u.unit_id FROM careledger.units u, regs r WHERE u.region = r.code "
    "  OR u.region LIKE (CASE WHEN r.code LIKE '__0000' THEN left(r.code, 2) "
    "    WHEN r.code LIKE '____00' THEN left(r.code, 4) ELSE r.code END) || '%' "
    "  OR u.region IN (SELECT c.code FROM careledger.regions c WHERE c.parent = r.code)), "
    "units_hit AS (SELECT unit_id FROM b WHERE type = 'unit.registered' "
    "  UNION SELECT unit_id FROM region_units), "
    "hits (w, whole, listed, registered) AS ("
    " SELECT worker_id, type = 'deployment.started', "
    "   type IN ('worker.registered', 'injury.reported'), type = 'worker.registered' "
    "   FROM b WHERE type IN ('shift.completed', 'worker.registered', 'deployment.started', "
    "   'injury.reported')"
    " UNION ALL SELECT e.worker_id, e.type <> 'shift.completed', false, false "
    "   FROM b CROSS JOIN LATERAL ("
    "   SELECT e.worker_id, e.type FROM careledger.events e WHERE e.event_id = b.cancels "
    "   OFFSET 0) e WHERE b.type = 'shift.cancelled'"
    " UNION ALL SELECT d.worker_id, true, false, false FROM b "
    "   JOIN careledger.deployment_starts d USING (deployment_id) WHERE b.type = 'deployment.ended'"
    " UNION ALL SELECT e.worker_id, true, false, false FROM b CROSS JOIN LATERAL ("
    "   SELECT e.worker_id FROM careledger.events e WHERE e.deployment_id = b.deployment_id "
    "   AND e.type = 'deployment.started' OFFSET 0) e WHERE b.type = 'deployment.started'"
    " UNION ALL SELECT e.worker_id, false, true, false FROM b CROSS JOIN LATERAL ("
    "   SELECT e.worker_id FROM careledger.events e WHERE e.case_id = b.case_id "
    "   AND e.type = 'injury.reported' OFFSET 0) e WHERE b.type = 'injury.reported'"
    " UNION ALL SELECT x.worker_id, true, false, false FROM units_hit h CROSS JOIN LATERAL ("
    "   SELECT e.worker_id FROM careledger.events e WHERE e.unit_id = h.unit_id "
    "   AND e.type = 'shift.completed' OFFSET 0) x"
    " UNION ALL SELECT k.worker_id, true, false, false FROM careledger.workers k "
    "   JOIN units_hit h USING (unit_id)) "
    "INSERT INTO agg_workers (worker_id, whole, listed, registered) "
    "SELECT w, bool_or(whole), bool_or(listed), bool_or(registered) FROM hits "
    "WHERE w IS NOT NULL GROUP BY w";

/* A registration moves a worker's days only through the registered unit, which credits the
 * deployment days (cl_rules_worker_days()): a worker registered by the batch who has a
 * deployment is recomputed whole. Decided under the workers' locks: a deployment that
 * another batch stored before is seen here, and one stored after is that batch's to
 * recompute, with this registration. */
static const char SQL_WHOLE_DEPLOYED[] =
    "UPDATE agg_workers a SET whole = true WHERE a.registered AND NOT a.whole "
    "AND EXISTS (SELECT 1 FROM careledger.deployment_starts d WHERE d.worker_id = a.worker_id)";

/* The shifts whose local dates a windowed worker is recomputed over: the batch's own and the
 * ones its cancellations name (dated in C, like every shift, by cl_rules_shift_date()). A
 * named event is found by its key alone (the type tested outside the fence, as in
 * SQL_LOAD_SHIFTS). */
static const char SQL_TRIGGERS[] =
    "SELECT s.worker_id, s.unit_id, (extract(epoch FROM s.start_at) * 1000000)::bigint "
    "FROM " SRC_BATCH " s WHERE s.type = 'shift.completed' "
    "UNION ALL SELECT e.worker_id, e.unit_id, (extract(epoch FROM e.start_at) * 1000000)::bigint "
    "FROM " SRC_BATCH " s CROSS JOIN LATERAL (SELECT e.worker_id, e.unit_id, e.start_at, e.type "
    "FROM careledger.events e WHERE e.event_id = s.cancels OFFSET 0) e "
    "WHERE s.type = 'shift.cancelled' AND e.type = 'shift.completed'";

static const char SQL_ALL_WORKERS[] =
    "SELECT DISTINCT worker_id FROM careledger.events WHERE worker_id IS NOT NULL AND type IN "
    "('shift.completed', 'worker.registered', 'deployment.started', 'injury.reported') "
    "ORDER BY worker_id";
static const char SQL_LOAD_CHUNK[] =
    "INSERT INTO agg_workers (worker_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING";
static const char SQL_MARK_ALL[] =
    "INSERT INTO agg_workers (worker_id) SELECT DISTINCT worker_id FROM careledger.events "
    "WHERE worker_id IS NOT NULL AND type IN ('shift.completed', 'worker.registered', "
    "'deployment.started', 'injury.reported') ON CONFLICT (worker_id) DO UPDATE SET whole = true";

/* Workers are locked by one of 1,024 buckets of their id, in one global order (by bucket).
 * Every advisory lock held takes a slot of the server's lock table until commit, and the
 * table holds 64 per connection by default: one lock per worker made a batch of a few
 * thousand workers fail with "out of shared memory" beside another (DECISIONS 107). The
 * two-key form (class 'clwk') keeps these keys apart from the cross-partition lock's. */
static const char SQL_LOCK_WORKERS[] =
    "SELECT count(pg_advisory_xact_lock(1668052843, b)) FROM (SELECT DISTINCT "
    "(hashtextextended(worker_id, 0) & 1023)::integer AS b FROM agg_workers ORDER BY 1) x";

static const char SQL_LOAD_WORKERS[] =
    "SELECT w.worker_id, k.unit_id, w.whole FROM agg_workers w "
    "LEFT JOIN careledger.workers k USING (worker_id) ORDER BY w.worker_id";
/* The whole workers' shifts, and for each window, worker $1, the shifts starting in [$2, $3):
 * every shift its dates can hold (cl_rules_offset_bounds()). Each worker is looked up on its
 * own by its key (LATERAL ... OFFSET 0), and the type is tested outside that fence: the
 * temporary tables have no statistics, and statistics of events taken before its first shifts
 * make the partial indexes on shifts look empty, so the planner read every shift of every
 * unit for each worker. Only the indexes that lead with worker_id can serve worker_id = x. */
static const char SQL_LOAD_SHIFTS[] =
    "SELECT x.worker_id, e.event_id, e.unit_id, "
    "(extract(epoch FROM e.start_at) * 1000000)::bigint, "
    "(extract(epoch FROM e.end_at) * 1000000)::bigint, e.exposure = 'direct' FROM ("
    " SELECT a.worker_id, NULL::timestamptz AS t0, NULL::timestamptz AS t1 FROM agg_workers a "
    " WHERE a.whole UNION ALL SELECT * FROM unnest($1::text[], $2::timestamptz[], "
    " $3::timestamptz[])) x CROSS JOIN LATERAL ("
    " SELECT e.event_id, e.type, e.unit_id, e.start_at, e.end_at, e.exposure "
    "   FROM careledger.events e WHERE x.t0 IS NULL AND e.worker_id = x.worker_id"
    " UNION ALL"
    " SELECT e.event_id, e.type, e.unit_id, e.start_at, e.end_at, e.exposure "
    "   FROM careledger.events e WHERE x.t0 IS NOT NULL AND e.worker_id = x.worker_id "
    "   AND e.start_at >= x.t0 AND e.start_at < x.t1"
    " OFFSET 0) e WHERE e.type = 'shift.completed' " NOT_CANCELLED " ORDER BY x.worker_id";
static const char SQL_LOAD_DEPLOYMENTS[] =
    "SELECT s.worker_id, s.deployment_id, s.date, d.date, s.exposure = 'direct' "
    "FROM careledger.deployment_starts s JOIN agg_workers USING (worker_id) "
    "LEFT JOIN careledger.deployment_ends d USING (deployment_id) ORDER BY s.worker_id";
/* Every unit: a few thousand rows, cheaper than finding the ones the shifts name. */
static const char SQL_LOAD_UNITS[] =
    "SELECT u.unit_id, u.region, u.kind = 'designated_hospital', u.level FROM careledger.units u";
static const char SQL_LOAD_REGIONS[] =
    "SELECT code, parent FROM careledger.regions WHERE parent IS NOT NULL";
/* The stored rows of the days being rewritten: the whole workers' and the windows' ($1,
 * $2 .. $3), found per worker by index as in SQL_LOAD_SHIFTS. A stored row that its
 * recomputation left as it was stays, and its copy leaves agg_new: nearly every rewritten
 * day came out unchanged (on the session-20 harness 93,258 of 93,362 over 200,000 events,
 * while a registration still recomputed a worker whole: DECISIONS 168), and deleting and
 * inserting them again cost worker_days' heap, both its indexes and WAL, and the summaries a
 * row each way (DECISIONS 167). Rows are compared whole (agg_new is LIKE worker_days), so a
 * column worker_days gains is compared too. Their workers go to agg_kept, so that
 * SQL_SUMMARIZE still looks at every worker it looked at when the copies cancelled out there. */
static const char SQL_CLEAR_DAYS[] =
    "WITH win AS MATERIALIZED (SELECT w.t, (w.r).worker_id AS worker_id, n.ctid AS nt FROM ("
    " SELECT w.* FROM agg_workers a CROSS JOIN LATERAL ("
    "  SELECT w.ctid AS t, w AS r FROM careledger.worker_days w WHERE w.worker_id = a.worker_id "
    "  OFFSET 0) w WHERE a.whole"
    " UNION ALL SELECT w.* FROM unnest($1::text[], $2::date[], $3::date[]) x (worker_id, lo, "
    "  hi) CROSS JOIN LATERAL (SELECT w.ctid AS t, w AS r FROM careledger.worker_days w "
    "  WHERE w.worker_id = x.worker_id AND w.date BETWEEN x.lo AND x.hi OFFSET 0) w) w "
    " LEFT JOIN agg_new n ON n.worker_id = (w.r).worker_id AND n.date = (w.r).date "
    " AND ROW(n.*) IS NOT DISTINCT FROM ROW((w.r).*)), "
    "kept AS (INSERT INTO agg_kept (worker_id) SELECT DISTINCT w.worker_id FROM win w "
    " WHERE w.nt IS NOT NULL), "
    "copies AS (DELETE FROM agg_new n WHERE n.ctid = ANY (ARRAY("
    " SELECT w.nt FROM win w WHERE w.nt IS NOT NULL))), "
    "gone AS (DELETE FROM careledger.worker_days d WHERE d.ctid = ANY (ARRAY("
    " SELECT w.t FROM win w WHERE w.nt IS NULL)) RETURNING d.*) "
    "INSERT INTO agg_gone SELECT * FROM gone";
static const char SQL_CLEAR_OPEN[] =
    "DELETE FROM careledger.open_deployments o USING agg_workers a "
    "WHERE o.worker_id = a.worker_id AND a.whole";
/* The recomputed worker-days go to agg_new while they are computed (a batch's are never all
 * held in memory), then, less the ones SQL_CLEAR_DAYS found stored as they are, from there to
 * worker_days; the summaries are maintained from what is left in agg_new, agg_gone and
 * agg_kept. */
#define DAY_COLS                                                                                   \
    "worker_id, date, kind, unit_id, policy_id, admitted, frontline, designated, subsidy_fen, "    \
    "perf_fen, shift_event_id, deployment_id"
static const char SQL_COPY_NEW[] = "COPY agg_new (" DAY_COLS ") FROM STDIN";
static const char SQL_INSERT_DAYS[] =
    "INSERT INTO careledger.worker_days (" DAY_COLS ") SELECT " DAY_COLS " FROM agg_new";
static const char SQL_COPY_OPEN[] =
    "COPY careledger.open_deployments (worker_id, deployment_id, from_date, unit_id, policy_id, "
    "subsidy_fen, perf_fen, frontline) FROM STDIN";
/* The summaries of schema 8 (sql/008_report_summary.sql) from the worker-days a recompute
 * deleted (agg_gone) and inserted (agg_new, also in worker_days by now), and the workers with
 * days whose rows came out unchanged (agg_kept) or were not recomputed (listed), with nothing
 * to add or take away, in one statement:
 * per credited unit and date, per worker and month, per worker (the day sets, read and
 * written by key: the worker is locked), and per home unit and date (a worker whose home
 * moved takes every date along). Net changes only; shared rows in key order. Worker-months
 * whose marks can move are listed (DECISIONS 130): a month_sums row starting or ceasing to
 * earn, every month of a worker recomputed or listed whole or whose home moved; a month whose
 * entitlement only changed waits in agg_marks_mp, with its net change, for marks_refresh() to
 * test against its payments (DECISIONS 155). */
static const char SQL_SUMMARIZE[] =
    "WITH d AS (SELECT 1 AS s, n.worker_id, n.date, n.kind, n.unit_id, n.policy_id, "
    "  n.frontline, n.designated, n.subsidy_fen, n.perf_fen FROM agg_new n UNION ALL "
    "  SELECT -1, g.worker_id, g.date, g.kind, g.unit_id, g.policy_id, g.frontline, g.designated, "
    "  g.subsidy_fen, g.perf_fen FROM agg_gone g), "
    "ud AS (INSERT INTO careledger.unit_days AS t (unit_id, date, kind, policy_id, days, "
    "  frontline, subsidy_fen, perf_fen) "
    "  SELECT x.* FROM (SELECT d.unit_id, d.date, d.kind, coalesce(d.policy_id, '') AS policy_id, "
    "  sum(d.s) AS n, sum(CASE WHEN d.frontline THEN d.s ELSE 0 END) AS f, "
    "  sum(d.s * d.subsidy_fen) AS fen, sum(d.s * d.perf_fen) AS perf FROM d GROUP BY 1, 2, 3, 4) "
    "x "
    "  WHERE x.n <> 0 OR x.f <> 0 OR x.fen <> 0 OR x.perf <> 0 ORDER BY 1, 2, 3, 4 "
    "  ON CONFLICT (unit_id, date, kind, policy_id) DO UPDATE SET days = t.days + EXCLUDED.days, "
    "  frontline = t.frontline + EXCLUDED.frontline, "
    "  subsidy_fen = t.subsidy_fen + EXCLUDED.subsidy_fen, perf_fen = t.perf_fen + "
    "EXCLUDED.perf_fen), "
    "msd AS MATERIALIZED (SELECT x.* FROM (SELECT d.worker_id, "
    "  date_trunc('month', d.date::timestamp)::date AS month, "
    "  coalesce(d.policy_id, '') AS policy_id, d.kind = 'deployed' AS deployed, sum(d.s) AS n, "
    "  sum(d.s * d.subsidy_fen) AS fen, sum(CASE WHEN d.subsidy_fen > 0 THEN d.s ELSE 0 END) AS e "
    "  FROM d GROUP BY 1, 2, 3, 4) x WHERE x.n <> 0 OR x.fen <> 0 OR x.e <> 0), "
    "ms AS (INSERT INTO careledger.month_sums AS t (worker_id, month, policy_id, deployed, days, "
    "  subsidy_fen, earning) SELECT * FROM msd ORDER BY 1, 2, 3, 4 "
    "  ON CONFLICT (worker_id, month, policy_id, deployed) DO UPDATE SET days = t.days + "
    "  EXCLUDED.days, subsidy_fen = t.subsidy_fen + EXCLUDED.subsidy_fen, "
    "  earning = t.earning + EXCLUDED.earning "
    "  RETURNING t.worker_id, t.month, t.policy_id, t.deployed, t.earning), "
    "mf AS MATERIALIZED (SELECT m.worker_id, m.month, "
    "  bool_or((r.earning > 0) <> (r.earning - m.e > 0)) AS flip, sum(m.fen) AS fen "
    "  FROM msd m JOIN ms r ON r.worker_id = m.worker_id AND r.month = m.month "
    "  AND r.policy_id = m.policy_id AND r.deployed = m.deployed GROUP BY 1, 2), "
    "wd AS (SELECT d.worker_id, "
    "  coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.s < 0), '{}') AS gone, "
    "  coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.s > 0), '{}') AS days, "
    "  coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.s > 0 "
    "    AND d.kind = 'direct'), '{}') AS direct, "
    "  coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.s > 0 "
    "    AND d.kind = 'deployed'), '{}') AS deployed, "
    "  coalesce(range_agg(daterange(d.date, d.date, '[]')) FILTER (WHERE d.s > 0 "
    "    AND d.designated), '{}') AS designated "
    "  FROM d GROUP BY d.worker_id "
    "  UNION ALL SELECT k.worker_id, '{}', '{}', '{}', '{}', '{}' FROM ("
    "  SELECT k.worker_id FROM agg_kept k UNION SELECT a.worker_id FROM agg_workers a "
    "  WHERE a.listed AND NOT a.whole AND EXISTS (SELECT 1 FROM careledger.worker_days w "
    "  WHERE w.worker_id = a.worker_id)) k "
    "  WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.worker_id = k.worker_id)), "
    "ws AS MATERIALIZED (SELECT w.worker_id, o.worker_id IS NOT NULL AS existed, o.home_unit AS "
    "h0, "
    "  coalesce(o.days, '{}') AS s0, (coalesce(o.days, '{}') - w.gone) + w.days AS days, "
    "  (coalesce(o.direct, '{}') - w.gone) + w.direct AS direct, "
    "  (coalesce(o.deployed, '{}') - w.gone) + w.deployed AS deployed, "
    "  (coalesce(o.designated, '{}') - w.gone) + w.designated AS designated, "
    "  o.direct AS o_direct, o.deployed AS o_deployed, o.designated AS o_designated, "
    "  coalesce(k.unit_id, fc.unit_id) AS h1 "
    "  FROM wd w LEFT JOIN LATERAL (SELECT o.* FROM careledger.worker_sets o "
    "    WHERE o.worker_id = w.worker_id OFFSET 0) o ON true "
    "  LEFT JOIN LATERAL (SELECT k.unit_id FROM careledger.workers k "
    "    WHERE k.worker_id = w.worker_id OFFSET 0) k ON true "
    /* first_credited_unit()'s look-up, made only without a registered unit (the function was
     * called 15,030 times in PERFORMANCE.md's session-14 harness, the look-up runs 1,841). */
    "  LEFT JOIN LATERAL (SELECT d.unit_id FROM careledger.worker_days d "
    "    WHERE k.unit_id IS NULL AND d.worker_id = w.worker_id AND d.unit_id <> '' "
    "    ORDER BY d.date LIMIT 1) fc ON true), "
    "sets AS (INSERT INTO careledger.worker_sets AS t (worker_id, home_unit, days, direct, "
    "  deployed, designated, longest_run) "
    "  SELECT s.worker_id, s.h1, s.days, s.direct, s.deployed, s.designated, "
    "  (SELECT coalesce(max(upper(r) - lower(r)), 0) FROM unnest(s.days) r) FROM ws s "
    "  WHERE NOT s.existed OR s.h1 IS DISTINCT FROM s.h0 OR s.days <> s.s0 "
    "  OR s.direct <> s.o_direct OR s.deployed <> s.o_deployed OR s.designated <> s.o_designated "
    "  ORDER BY 1 ON CONFLICT (worker_id) DO UPDATE SET home_unit = EXCLUDED.home_unit, "
    "  days = EXCLUDED.days, direct = EXCLUDED.direct, deployed = EXCLUDED.deployed, "
    "  designated = EXCLUDED.designated, longest_run = EXCLUDED.longest_run), "
    "rec AS MATERIALIZED (SELECT DISTINCT h.h1 AS unit_id FROM (SELECT DISTINCT s.h1 FROM ws s "
    "  WHERE s.days <> s.s0) h JOIN careledger.units u ON u.unit_id = h.h1 "
    "  CROSS JOIN LATERAL careledger.region_policy_spans(u.region) p WHERE NOT isempty(p.span) "
    "  AND EXISTS (SELECT 1 FROM careledger.policy_tracks t WHERE t.policy_id = p.policy_id "
    "  AND t.kind = 'recurring')), "
    "mw AS (INSERT INTO agg_marks_w (worker_id) SELECT a.worker_id FROM agg_workers a "
    "  WHERE a.whole OR a.listed "
    "  UNION SELECT s.worker_id FROM ws s WHERE NOT s.existed OR s.h1 IS DISTINCT FROM s.h0 "
    "  OR lower(s.days) IS DISTINCT FROM lower(s.s0) "
    "  OR lower(s.direct) IS DISTINCT FROM lower(s.o_direct) "
    "  OR lower(s.deployed) IS DISTINCT FROM lower(s.o_deployed) "
    "  OR lower(s.designated) IS DISTINCT FROM lower(s.o_designated) "
    "  OR (s.days <> s.s0 AND s.h1 IN (SELECT r.unit_id FROM rec r)) ON CONFLICT DO NOTHING), "
    "mm AS (INSERT INTO agg_marks_m (worker_id, month) SELECT f.worker_id, f.month FROM mf f "
    "  WHERE f.flip UNION SELECT s.worker_id, s.month FROM (SELECT a.worker_id FROM agg_workers a "
    "  WHERE a.whole OR a.listed UNION SELECT s.worker_id FROM ws s WHERE s.existed "
    "  AND s.h1 IS DISTINCT FROM s.h0) a CROSS JOIN LATERAL ("
    "  SELECT s.worker_id, s.month FROM careledger.month_sums s WHERE s.worker_id = a.worker_id "
    "OFFSET 0) s ON CONFLICT DO NOTHING), "
    "mp AS (INSERT INTO agg_marks_mp AS t (worker_id, month, delta) "
    "  SELECT f.worker_id, f.month, f.fen FROM mf f WHERE f.fen <> 0 AND NOT f.flip "
    "  ON CONFLICT (worker_id, month) DO UPDATE SET delta = t.delta + EXCLUDED.delta), "
    "hd AS (SELECT h.unit_id, h.date, sum(h.n) AS n, sum(h.fen) AS fen FROM ("
    "  SELECT s.h1 AS unit_id, d.date, d.s AS n, d.s * d.subsidy_fen AS fen FROM d "
    "  JOIN ws s USING (worker_id) WHERE s.existed AND s.h1 IS NOT NULL AND s.h1 = s.h0 "
    "  UNION ALL SELECT s.h0, g::date, -1, 0 FROM ws s CROSS JOIN LATERAL unnest(s.s0) r "
    "  CROSS JOIN LATERAL generate_series(lower(r)::timestamp, (upper(r) - 1)::timestamp, "
    "  interval '1 day') g WHERE s.h0 IS NOT NULL AND s.h0 IS DISTINCT FROM s.h1 "
    "  UNION ALL SELECT s.h1, g::date, 1, 0 FROM ws s CROSS JOIN LATERAL unnest(s.days) r "
    "  CROSS JOIN LATERAL generate_series(lower(r)::timestamp, (upper(r) - 1)::timestamp, "
    "  interval '1 day') g WHERE s.h1 IS NOT NULL AND s.h0 IS DISTINCT FROM s.h1 "
    /* Earnings (DECISIONS 151): a new worker's are this batch's rows; a moved worker's new
     * home gains each stored worker-day's subsidy, and the old loses what it had, the stored
     * ones less this batch's net change. */
    "  UNION ALL SELECT s.h1, d.date, 0, d.s * d.subsidy_fen FROM d JOIN ws s USING (worker_id) "
    "  WHERE NOT s.existed AND s.h1 IS NOT NULL "
    "  UNION ALL SELECT CASE WHEN y.k = 1 THEN s.h1 ELSE s.h0 END, y.date, 0, y.k * y.fen "
    "  FROM ws s CROSS JOIN LATERAL (SELECT w.date, w.subsidy_fen AS fen "
    "    FROM careledger.worker_days w WHERE w.worker_id = s.worker_id OFFSET 0) w "
    "  CROSS JOIN LATERAL (VALUES (1, w.date, w.fen), (-1, w.date, w.fen)) y (k, date, fen) "
    "  WHERE s.existed AND s.h0 IS DISTINCT FROM s.h1 "
    "  AND CASE WHEN y.k = 1 THEN s.h1 ELSE s.h0 END IS NOT NULL "
    "  UNION ALL SELECT s.h0, d.date, 0, d.s * d.subsidy_fen FROM d JOIN ws s USING (worker_id) "
    "  WHERE s.existed AND s.h0 IS NOT NULL AND s.h0 IS DISTINCT FROM s.h1) h "
    "  GROUP BY 1, 2 HAVING sum(h.n) <> 0 OR sum(h.fen) <> 0) "
    "INSERT INTO careledger.home_days AS t (unit_id, date, workers, subsidy_fen) "
    "SELECT hd.unit_id, hd.date, hd.n, hd.fen FROM hd ORDER BY 1, 2 "
    "ON CONFLICT (unit_id, date) DO UPDATE SET workers = t.workers + EXCLUDED.workers, "
    "subsidy_fen = t.subsidy_fen + EXCLUDED.subsidy_fen";

/* quality_ids (schema 8) from a source of accepted events: ids named while not registered
 * (grouped first, then looked up once each), and every family delivered to; the rows of ids
 * the source registers are dropped (a row left by a batch running beside the registration
 * is harmless: data_quality() shows only ids still unregistered). */
#define QUALITY(src)                                                                               \
    "WITH b AS (SELECT e.type, e.unit_id, e.worker_id, e.family_id, e.start_at, e.date FROM " src  \
    " e WHERE e.type IN ('shift.completed', 'deployment.started', 'benefit.delivered', "           \
    "'subsidy.paid', 'injury.reported', 'worker.registered', 'unit.registered')), "                \
    "cleared AS (DELETE FROM careledger.quality_ids q USING (SELECT 'unregistered_worker' AS p, "  \
    "b.worker_id AS id FROM b WHERE b.type = 'worker.registered' UNION ALL SELECT v.p, b.unit_id " \
    "FROM b CROSS JOIN (VALUES ('unregistered_unit'), ('unknown_unit_delivery')) v (p) "           \
    "WHERE b.type = 'unit.registered') k WHERE q.problem = k.p AND q.id = k.id), "                 \
    "x (problem, id, n, first_start, first_date) AS ("                                             \
    " SELECT 'unregistered_unit', b.unit_id, count(*), min(b.start_at), NULL::date FROM b "        \
    " WHERE b.type = 'shift.completed' AND b.unit_id IS NOT NULL GROUP BY b.unit_id"               \
    " UNION ALL SELECT 'unregistered_worker', b.worker_id, count(*), min(b.start_at), "            \
    "min(b.date) "                                                                                 \
    " FROM b WHERE b.type IN ('shift.completed', 'deployment.started', 'benefit.delivered', "      \
    " 'subsidy.paid', 'injury.reported') AND b.worker_id IS NOT NULL GROUP BY b.worker_id"         \
    " UNION ALL SELECT 'unknown_unit_delivery', b.unit_id, count(*), NULL, min(b.date) FROM b "    \
    " WHERE b.type = 'benefit.delivered' AND b.unit_id IS NOT NULL GROUP BY b.unit_id"             \
    " UNION ALL SELECT 'family', b.family_id, count(*), NULL, min(b.date) FROM b "                 \
    " WHERE b.type = 'benefit.delivered' AND b.family_id IS NOT NULL GROUP BY b.family_id) "       \
    "INSERT INTO careledger.quality_ids AS t (problem, id, events, first_start, first_date) "      \
    "SELECT x.* FROM x WHERE CASE x.problem "                                                      \
    " WHEN 'unregistered_worker' THEN NOT EXISTS (SELECT 1 FROM careledger.workers w "             \
    "   WHERE w.worker_id = x.id) "                                                                \
    " WHEN 'family' THEN true "                                                                    \
    " ELSE NOT EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = x.id) END "              \
    "ORDER BY 1, 2 ON CONFLICT (problem, id) DO UPDATE SET events = t.events + EXCLUDED.events, "  \
    "first_start = least(t.first_start, EXCLUDED.first_start), "                                   \
    "first_date = least(t.first_date, EXCLUDED.first_date)"
static const char SQL_QUALITY_BATCH[] = QUALITY(SRC_BATCH);
static const char SQL_QUALITY_ALL[] = QUALITY(SRC_ALL);

/* Coverage marks (schema 8): the people the batch's deliveries and payments name, besides
 * the workers the summaries listed; then marks_refresh() under the people's locks, last in
 * the batch (DECISIONS 131). */
static const char SQL_MARKS_BATCH[] =
    "WITH b AS (SELECT e.type, e.worker_id, e.family_id, e.line, e.period FROM " SRC_BATCH " e "
    "WHERE e.type IN ('benefit.delivered', 'subsidy.paid')), "
    "w AS (INSERT INTO agg_marks_w (worker_id) SELECT DISTINCT b.worker_id FROM b "
    "  WHERE b.type = 'benefit.delivered' AND b.worker_id IS NOT NULL ON CONFLICT DO NOTHING), "
    "f AS (INSERT INTO agg_marks_f (family_id) SELECT DISTINCT b.family_id FROM b "
    "  WHERE b.type = 'benefit.delivered' AND b.family_id IS NOT NULL ON CONFLICT DO NOTHING) "
    "INSERT INTO agg_marks_m (worker_id, month) SELECT DISTINCT b.worker_id, b.period FROM b "
    "WHERE b.type = 'subsidy.paid' AND b.line = 'temp_subsidy' ON CONFLICT DO NOTHING";
/* The families' units (schema 17) from the qualifying days the marks just read. */
static const char SQL_MARKS_REFRESH[] =
    "SELECT careledger.marks_refresh(); SELECT careledger.family_units_refresh()";

/* Money per counting unit (schema 9): the batch's payments, its money deliveries and those of
 * the families whose units family_units_refresh() moved (schema 17), and the workers whose
 * deliveries it may move (registered, or affected without a registered unit: their first
 * credited unit); then money_refresh() under its lock, after the marks'. */
#define MONEY_SETUP                                                                                \
    "CREATE TEMP TABLE IF NOT EXISTS agg_money_d (event_id text PRIMARY KEY) "                     \
    "ON COMMIT DELETE ROWS; "                                                                      \
    "CREATE TEMP TABLE IF NOT EXISTS agg_money_w (worker_id text PRIMARY KEY, "                    \
    "registered boolean NOT NULL) ON COMMIT DELETE ROWS; "                                         \
    "CREATE TEMP TABLE IF NOT EXISTS agg_money_p (unit_id text, line text, date date, "            \
    "amount_fen bigint) ON COMMIT DELETE ROWS; "
static const char SQL_MONEY_BATCH[] = MONEY_SETUP
    "INSERT INTO agg_money_d (event_id) SELECT e.event_id FROM " SRC_BATCH " e "
    "WHERE e.type = 'benefit.delivered' AND e.amount_fen IS NOT NULL ON CONFLICT DO NOTHING; "
    "INSERT INTO agg_money_d (event_id) SELECT d.event_id FROM fu_moved f CROSS JOIN LATERAL ("
    "SELECT d.event_id, d.amount_fen, d.unit_id FROM careledger.deliveries d "
    "WHERE d.family_id = f.family_id OFFSET 0) d WHERE d.amount_fen IS NOT NULL "
    "AND d.unit_id IS NULL ON CONFLICT DO NOTHING; "
    "INSERT INTO agg_money_w (worker_id, registered) SELECT DISTINCT e.worker_id, true "
    "FROM " SRC_BATCH " e WHERE e.type = 'worker.registered' ON CONFLICT DO NOTHING; "
    "INSERT INTO agg_money_w (worker_id, registered) SELECT a.worker_id, false FROM agg_workers a "
    "WHERE NOT EXISTS (SELECT 1 FROM careledger.workers k WHERE k.worker_id = a.worker_id "
    "AND k.unit_id IS NOT NULL) ON CONFLICT DO NOTHING; "
    "INSERT INTO agg_money_p (unit_id, line, date, amount_fen) SELECT e.unit_id, e.line, e.date, "
    "e.amount_fen FROM " SRC_BATCH " e WHERE e.type = 'subsidy.paid'";
static const char SQL_MONEY_REFRESH[] = "SELECT careledger.money_refresh(false)";
/* Every delivery recounted: a new policy set may have moved a track's line. */
static const char SQL_MONEY_RECOUNT[] = "SELECT careledger.money_refresh(true)";
static const char SQL_MONEY_REBUILD[] =
    MONEY_SETUP "INSERT INTO agg_money_p (unit_id, line, date, amount_fen) "
                "SELECT unit_id, line, date, amount_fen FROM careledger.payments; "
                "SELECT careledger.money_refresh(true)";

static const char SQL_DIGEST[] = "SELECT digest FROM careledger.policy_state WHERE id = 1";
static const char SQL_SET_DIGEST[] =
    "INSERT INTO careledger.policy_state (id, digest) VALUES (1, $1) "
    "ON CONFLICT (id) DO UPDATE SET digest = EXCLUDED.digest, updated_at = now()";
static const char SQL_CLEAR_SETTINGS[] =
    "DELETE FROM careledger.policy_settings; DELETE FROM careledger.policy_tracks";
static const char SQL_PUT_SETTINGS[] =
    "INSERT INTO careledger.policy_settings (policy_id, region, effective_from, effective_to, "
    "timezone, frontline, direct_fen, other_fen, deploy_rule, deploy_value, unit_levels, "
    "perf_basis, perf_rate_fen, shift_max_hours, max_consecutive_days, no_couples, "
    "payment_due_day) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
    "$16, $17)";
static const char SQL_PUT_TRACK[] =
    "INSERT INTO careledger.policy_tracks (track_id, policy_id, measure_id, kind, scope, eligible, "
    "part, cadence_days, stage, pay_within_days, grace_days, min_amount_fen, min_sum_insured_fen, "
    "line, target) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
/* As for ingest (writer.c): compiling the per-chunk statements costs more than it saves. */
static const char SQL_REBUILD_NO_JIT[] = "SET LOCAL jit = off";
static const char SQL_REBUILD_LOCK[] = "LOCK TABLE careledger.offsets IN EXCLUSIVE MODE";
static const char SQL_REBUILD_CLEAR[] =
    "TRUNCATE careledger.regions, careledger.units, careledger.workers, careledger.budgets, "
    "careledger.deployment_starts, careledger.deployment_ends, careledger.injury_stages, "
    "careledger.statuses, careledger.worker_days, careledger.open_deployments, "
    "careledger.payments, careledger.deliveries, careledger.unit_days, careledger.home_days, "
    "careledger.month_sums, careledger.worker_sets, careledger.quality_ids, "
    "careledger.coverage_marks, careledger.coverage_days, careledger.mark_members, "
    "careledger.money_days, careledger.delivery_money, careledger.family_units";

static const char SQL_REBUILD_NEXT_CHUNK[] =
    "TRUNCATE agg_workers, agg_gone, agg_new, agg_kept, agg_marks_w, agg_marks_f, agg_marks_m, "
    "agg_marks_mp";

#define REBUILD_CHUNK 2000

/* ---- string maps (open addressing) ---- */

typedef struct smap_entry {
    const char *key;
    int value;
} smap_entry_t;

typedef struct smap {
    smap_entry_t *slots;
    size_t cap, n;
} smap_t;

/** @brief FNV-1a. */
static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

/** @brief Reset a map to hold @p n keys. */
static int smap_reset(smap_t *m, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2 + 1)
        cap *= 2;
    if (cap > m->cap) {
        smap_entry_t *s = realloc(m->slots, cap * sizeof *s);
        if (!s)
            return -1;
        m->slots = s;
        m->cap = cap;
    }
    memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
    return 0;
}

/** @brief Insert (the key must outlive the map's use). */
static void smap_put(smap_t *m, const char *key, int value)
{
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->n++;
    m->slots[i].key = key;
    m->slots[i].value = value;
}

/** @brief Look up; -1 when absent. */
static int smap_get(const smap_t *m, const char *key)
{
    if (!m->cap)
        return -1;
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->slots[i].key) {
        if (strcmp(m->slots[i].key, key) == 0)
            return m->slots[i].value;
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

struct cl_agg {
    smap_t units, regions, workers;
    int32_t *win_lo, *win_hi; /* per row of the loaded workers: the window, lo > hi if none */
    size_t cap_win;
    cl_buf_t arr_w, arr_lo, arr_hi, arr_t0, arr_t1; /* the windows as array literals */
    PGresult *units_res, *regions_res;
    cl_rule_shift_t *shifts;
    size_t cap_shifts;
    cl_rule_deployment_t *deps;
    size_t cap_deps;
    cl_rule_output_t out;
    cl_buf_t days, open;
    char digest[65];
    const cl_policy_set_t *digest_of;
};

/** @brief Create a context. */
cl_agg_t *cl_agg_create(void)
{
    return calloc(1, sizeof(cl_agg_t));
}

/** @brief Free a context. */
void cl_agg_destroy(cl_agg_t *a)
{
    if (!a)
        return;
    free(a->units.slots);
    free(a->regions.slots);
    free(a->workers.slots);
    free(a->win_lo);
    free(a->win_hi);
    cl_buf_free(&a->arr_w);
    cl_buf_free(&a->arr_lo);
    cl_buf_free(&a->arr_hi);
    cl_buf_free(&a->arr_t0);
    cl_buf_free(&a->arr_t1);
    PQclear(a->units_res);
    PQclear(a->regions_res);
    free(a->shifts);
    free(a->deps);
    cl_rules_output_free(&a->out);
    cl_buf_free(&a->days);
    cl_buf_free(&a->open);
    free(a);
}

/* The revision of the rules' code, digested with the policies: a fix that changes stored
 * figures bumps it, so that the next batch recomputes every worker under the fixed rules, as
 * it does under a changed policy set, and `verify` says the figures predate the configured
 * set until then. 2: open deployments priced day by day up to the last policy boundary
 * (DECISIONS 159). */
#define RULES_REVISION "careledger-rules:2\n"

/** @brief Policy set digest over the rules' revision and each policy's normalised JSON. */
int cl_agg_policy_digest(const cl_policy_set_t *set, char out[65])
{
    cl_sha256_t h;
    uint8_t d[32];
    char err[256];
    cl_sha256_init(&h);
    cl_sha256_update(&h, RULES_REVISION, sizeof RULES_REVISION - 1);
    for (size_t i = 0; i < cl_policy_set_count(set); i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
            return -1;
        int rc = cl_policy_write_json(set, cl_policy_set_at(set, i), f, err, sizeof err);
        fclose(f);
        if (rc == 0)
            cl_sha256_update(&h, buf, len);
        free(buf);
        if (rc)
            return -1;
    }
    cl_sha256_final(&h, d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return 0;
}

/** @brief Run a statement; on failure copy its error. */
static int exec_ok(PGconn *c, const char *sql, char *err, size_t errsize)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errsize, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

/** @brief A query expected to return rows; NULL with the error copied. */
static PGresult *query(PGconn *c, const char *sql, char *err, size_t errsize)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    snprintf(err, errsize, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

/** @brief Unit lookup for the rules, from the loaded units. */
static void unit_cb(void *ctx, const char *unit_id, cl_rule_unit_t *out)
{
    cl_agg_t *a = ctx;
    memset(out, 0, sizeof *out);
    int i = unit_id ? smap_get(&a->units, unit_id) : -1;
    if (i < 0)
        return;
    static const char *const levels[] = {"province", "city", "county", "township"};
    out->registered = 1;
    snprintf(out->region, sizeof out->region, "%s", PQgetvalue(a->units_res, i, 1));
    out->designated = PQgetvalue(a->units_res, i, 2)[0] == 't';
    for (unsigned k = 0; k < 4; k++)
        if (strcmp(PQgetvalue(a->units_res, i, 3), levels[k]) == 0)
            out->level = 1u << k;
}

/** @brief Registered region parents for policy resolution. */
static int parent_cb(void *ctx, const char *code, char parent[CL_REGION_LEN])
{
    cl_agg_t *a = ctx;
    int i = smap_get(&a->regions, code);
    if (i < 0)
        return -1;
    snprintf(parent, CL_REGION_LEN, "%s", PQgetvalue(a->regions_res, i, 1));
    return 0;
}

/* COPY text goes to the server in pieces of this size (as ingest/writer.c's COPY_CHUNK): libpq
 * holds one CopyData message whole in its output buffer, which it never shrinks, so one
 * message of a batch's worker-days kept that many bytes per connection for good. */
#define COPY_CHUNK ((size_t)1 << 20)

/** @brief Start COPY @p sql on @p c; 0, or -1 with the error. */
static int copy_begin(PGconn *c, const char *sql, char *err, size_t errsize)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COPY_IN;
    if (!ok)
        snprintf(err, errsize, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

/** @brief Send @p b's rows to the COPY in progress in COPY_CHUNK pieces and empty it; 0 or -1. */
static int copy_send(PGconn *c, cl_buf_t *b, char *err, size_t errsize)
{
    for (size_t off = 0; off < b->len; off += COPY_CHUNK) {
        size_t n = b->len - off < COPY_CHUNK ? b->len - off : COPY_CHUNK;
        if (PQputCopyData(c, b->p + off, (int)n) != 1) {
            snprintf(err, errsize, "%s", PQerrorMessage(c));
            return -1;
        }
    }
    cl_buf_reset(b);
    return 0;
}

/** @brief End the COPY in progress, failing it with @p fail when set; 0 when it stored its rows,
 * else -1 with the error (@p fail's own when given). */
static int copy_end(PGconn *c, const char *fail, char *err, size_t errsize)
{
    int ok = PQputCopyEnd(c, fail) == 1;
    PGresult *r = PQgetResult(c);
    ok = ok && !fail && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok && !fail)
        snprintf(err, errsize, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    PQclear(r);
    while ((r = PQgetResult(c)))
        PQclear(r);
    return ok ? 0 : -1;
}

/** @brief COPY a buffer into a table (nothing when it is empty); 0 or -1 with the error. */
static int copy_rows(PGconn *c, const char *sql, cl_buf_t *b, char *err, size_t errsize)
{
    if (!b->len)
        return 0;
    if (copy_begin(c, sql, err, errsize))
        return -1;
    if (copy_send(c, b, err, errsize)) {
        copy_end(c, "client error", err, errsize);
        return -1;
    }
    return copy_end(c, NULL, err, errsize);
}

/** @brief Append a COPY text field (ids and policy ids need no escaping beyond these). */
static void field(cl_buf_t *b, const char *s, char sep)
{
    if (!s) {
        cl_buf_add(b, "\\N", 2);
    } else {
        for (; *s; s++) {
            if (*s == '\\' || *s == '\t' || *s == '\n' || *s == '\r')
                cl_buf_putc(b, '\\');
            cl_buf_putc(b, *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : *s);
        }
    }
    cl_buf_putc(b, sep);
}

static const char *const KIND_NAMES[] = {"direct", "other", "deployed"};

/** @brief Rows of one worker's output: the days within [lo, hi], open spans when whole. */
static void emit(cl_agg_t *a, const char *worker_id, int whole, int32_t lo, int32_t hi)
{
    char d[CL_DATE_LEN];
    for (size_t i = 0; i < a->out.n_days; i++) {
        const cl_worker_day_t *w = &a->out.days[i];
        if (!whole && (w->date < lo || w->date > hi))
            continue;
        field(&a->days, worker_id, '\t');
        field(&a->days, cl_date_format(w->date, d), '\t');
        field(&a->days, KIND_NAMES[w->kind], '\t');
        field(&a->days, w->unit_id, '\t');
        field(&a->days, w->policy ? w->policy->id : NULL, '\t');
        cl_buf_printf(&a->days, "%s\t%s\t%s\t%lld\t%lld\t", w->admitted ? "t" : "f",
                      w->frontline ? "t" : "f", w->designated ? "t" : "f",
                      (long long)w->subsidy_fen, (long long)w->perf_fen);
        field(&a->days, w->shift_event_id, '\t');
        field(&a->days, w->deployment_id, '\n');
    }
    for (size_t i = 0; whole && i < a->out.n_open; i++) {
        const cl_open_span_t *o = &a->out.open[i];
        field(&a->open, worker_id, '\t');
        field(&a->open, o->deployment_id, '\t');
        field(&a->open, cl_date_format(o->from, d), '\t');
        field(&a->open, o->unit_id, '\t');
        field(&a->open, o->policy ? o->policy->id : NULL, '\t');
        cl_buf_printf(&a->open, "%lld\t%lld\t%s\n", (long long)o->subsidy_fen,
                      (long long)o->perf_fen, o->frontline ? "t" : "f");
    }
}

/** @brief Run @p sql with the windows as parameters: its result, or NULL with the error. */
static PGresult *with_windows(cl_agg_t *a, PGconn *c, const char *sql, int instants, char *err,
                              size_t errsize)
{
    /* $1 the workers; $2, $3 their dates, or with @p instants the bounds of their shifts. */
    const char *params[3] = {a->arr_w.p, instants ? a->arr_t0.p : a->arr_lo.p,
                             instants ? a->arr_t1.p : a->arr_hi.p};
    PGresult *r = PQexecParams(c, sql, 3, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    snprintf(err, errsize, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

/** @brief Grow the per-worker window arrays to @p n. */
static int windows_reserve(cl_agg_t *a, size_t n)
{
    if (n <= a->cap_win)
        return 0;
    int32_t *lo = realloc(a->win_lo, n * sizeof *lo);
    if (!lo)
        return -1;
    a->win_lo = lo;
    int32_t *hi = realloc(a->win_hi, n * sizeof *hi);
    if (!hi)
        return -1;
    a->win_hi = hi;
    a->cap_win = n;
    return 0;
}

/** @brief Open the five window arrays. */
static void arrays_open(cl_agg_t *a)
{
    cl_buf_t *arr[5] = {&a->arr_w, &a->arr_lo, &a->arr_hi, &a->arr_t0, &a->arr_t1};
    for (int k = 0; k < 5; k++) {
        cl_buf_reset(arr[k]);
        cl_buf_putc(arr[k], '{');
    }
}

/** @brief Close the five window arrays; -1 when one ran out of memory. */
static int arrays_close(cl_agg_t *a)
{
    cl_buf_t *arr[5] = {&a->arr_w, &a->arr_lo, &a->arr_hi, &a->arr_t0, &a->arr_t1};
    int oom = 0;
    for (int k = 0; k < 5; k++) {
        cl_buf_putc(arr[k], '}');
        oom |= arr[k]->oom;
    }
    return oom ? -1 : 0;
}

/** @brief Append worker @p wid's window [lo, hi], shifts starting in [t0, t1) (seconds). */
static void arrays_add(cl_agg_t *a, const char *wid, int32_t lo, int32_t hi, int64_t t0, int64_t t1)
{
    char d[CL_DATE_LEN], t[CL_INSTANT_LEN];
    if (a->arr_w.len > 1) {
        cl_buf_t *arr[5] = {&a->arr_w, &a->arr_lo, &a->arr_hi, &a->arr_t0, &a->arr_t1};
        for (int k = 0; k < 5; k++)
            cl_buf_putc(arr[k], ',');
    }
    cl_buf_putc(&a->arr_w, '"'); /* ids hold no quotes or backslashes (SPEC §3) */
    cl_buf_puts(&a->arr_w, wid);
    cl_buf_putc(&a->arr_w, '"');
    cl_buf_puts(&a->arr_lo, cl_date_format(lo, d));
    cl_buf_puts(&a->arr_hi, cl_date_format(hi, d));
    cl_buf_puts(&a->arr_t0, cl_instant_format(t0 * 1000000, t));
    cl_buf_puts(&a->arr_t1, cl_instant_format(t1 * 1000000, t));
}

/** @brief Each windowed worker's dates to rewrite, kept in win_lo/win_hi and the arrays. */
static int find_windows(cl_agg_t *a, PGconn *c, const cl_policy_set_t *set, PGresult *wr, char *err,
                        size_t errsize)
{
    /* A window is [lo, hi] in local dates: the dates of the batch's shifts and of the shifts
     * it cancels (lo > hi when none, and for whole workers). The server gets each window's
     * worker, lo, hi, and the instants between which every shift of those dates starts. */
    int nw = PQntuples(wr), windowed = 0;
    if (windows_reserve(a, (size_t)nw ? (size_t)nw : 1) || smap_reset(&a->workers, (size_t)nw)) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    for (int i = 0; i < nw; i++) {
        a->win_lo[i] = INT32_MAX;
        a->win_hi[i] = INT32_MIN;
        if (PQgetvalue(wr, i, 2)[0] != 't') {
            smap_put(&a->workers, PQgetvalue(wr, i, 0), i);
            windowed++;
        }
    }
    arrays_open(a);
    if (windowed) {
        PGresult *tr = query(c, SQL_TRIGGERS, err, errsize);
        if (!tr)
            return -1;
        cl_rule_input_t in = {0};
        in.policies = set;
        in.parent_fn = parent_cb;
        in.parent_ctx = a;
        in.unit_fn = unit_cb;
        in.unit_ctx = a;
        int32_t first = INT32_MAX, last = INT32_MIN;
        for (int t = 0; t < PQntuples(tr); t++) {
            /* A worker not in agg_workers (a cancelled shift committed meanwhile) or
             * recomputed whole needs no window. */
            int i = PQgetisnull(tr, t, 0) ? -1 : smap_get(&a->workers, PQgetvalue(tr, t, 0));
            if (i < 0)
                continue;
            int32_t d =
                cl_rules_shift_date(&in, PQgetisnull(tr, t, 1) ? NULL : PQgetvalue(tr, t, 1),
                                    strtoll(PQgetvalue(tr, t, 2), NULL, 10));
            if (d < a->win_lo[i])
                a->win_lo[i] = d;
            if (d > a->win_hi[i])
                a->win_hi[i] = d;
            if (d < first)
                first = d;
            if (d > last)
                last = d;
        }
        PQclear(tr);
        /* A shift dated d starts on a UTC date within a day of d. */
        int32_t omin = 0, omax = 0;
        if (first <= last)
            cl_rules_offset_bounds(&in, first - 1, last + 1, &omin, &omax);
        for (int i = 0; i < nw; i++)
            if (a->win_lo[i] <= a->win_hi[i])
                arrays_add(a, PQgetvalue(wr, i, 0), a->win_lo[i], a->win_hi[i],
                           (int64_t)a->win_lo[i] * 86400 - omax,
                           ((int64_t)a->win_hi[i] + 1) * 86400 - omin);
    }
    if (arrays_close(a)) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    return 0;
}

/** @brief Recompute the derived rows of every worker in agg_workers (locked by the caller). */
static int recompute(cl_agg_t *a, PGconn *c, const cl_policy_set_t *set, long *nworkers, char *err,
                     size_t errsize)
{
    PGresult *wr = NULL, *sr = NULL, *dr = NULL, *r = NULL;
    int rc = -1, copying = 0;
    PQclear(a->units_res);
    PQclear(a->regions_res);
    a->units_res = a->regions_res = NULL;
    if (!(a->units_res = query(c, SQL_LOAD_UNITS, err, errsize)) ||
        !(a->regions_res = query(c, SQL_LOAD_REGIONS, err, errsize)) ||
        !(wr = query(c, SQL_LOAD_WORKERS, err, errsize)))
        goto done;
    int nu = PQntuples(a->units_res), nr = PQntuples(a->regions_res);
    if (smap_reset(&a->units, (size_t)nu) || smap_reset(&a->regions, (size_t)nr)) {
        snprintf(err, errsize, "out of memory");
        goto done;
    }
    for (int i = 0; i < nu; i++)
        smap_put(&a->units, PQgetvalue(a->units_res, i, 0), i);
    for (int i = 0; i < nr; i++)
        smap_put(&a->regions, PQgetvalue(a->regions_res, i, 0), i);
    if (find_windows(a, c, set, wr, err, errsize) ||
        !(sr = with_windows(a, c, SQL_LOAD_SHIFTS, 1, err, errsize)) ||
        !(dr = query(c, SQL_LOAD_DEPLOYMENTS, err, errsize)))
        goto done;
    int ns = PQntuples(sr), nd = PQntuples(dr), nw = PQntuples(wr);
    if ((size_t)ns > a->cap_shifts) {
        cl_rule_shift_t *p = realloc(a->shifts, (size_t)ns * sizeof *p);
        if (!p)
            goto oom;
        a->shifts = p;
        a->cap_shifts = (size_t)ns;
    }
    if ((size_t)nd > a->cap_deps) {
        cl_rule_deployment_t *p = realloc(a->deps, (size_t)nd * sizeof *p);
        if (!p)
            goto oom;
        a->deps = p;
        a->cap_deps = (size_t)nd;
    }
    for (int i = 0; i < ns; i++)
        a->shifts[i] = (cl_rule_shift_t){
            PQgetvalue(sr, i, 1), PQgetvalue(sr, i, 2), strtoll(PQgetvalue(sr, i, 3), NULL, 10),
            strtoll(PQgetvalue(sr, i, 4), NULL, 10), PQgetvalue(sr, i, 5)[0] == 't'};
    for (int i = 0; i < nd; i++) {
        cl_rule_deployment_t *d = &a->deps[i];
        d->deployment_id = PQgetvalue(dr, i, 1);
        cl_date_parse(PQgetvalue(dr, i, 2), &d->from);
        d->to = CL_DATE_OPEN;
        if (!PQgetisnull(dr, i, 3))
            cl_date_parse(PQgetvalue(dr, i, 3), &d->to);
        d->direct = PQgetvalue(dr, i, 4)[0] == 't';
    }
    cl_buf_reset(&a->days);
    cl_buf_reset(&a->open);
    if (copy_begin(c, SQL_COPY_NEW, err, errsize))
        goto done;
    copying = 1;
    /* Workers, shifts and deployments are all ordered by worker_id: walk them together. */
    int si = 0, di = 0;
    for (int i = 0; i < nw; i++) {
        const char *wid = PQgetvalue(wr, i, 0);
        int whole = PQgetvalue(wr, i, 2)[0] == 't';
        int s0 = si, d0 = di;
        while (si < ns && strcmp(PQgetvalue(sr, si, 0), wid) == 0)
            si++;
        while (di < nd && strcmp(PQgetvalue(dr, di, 0), wid) == 0)
            di++;
        if (!whole && a->win_lo[i] > a->win_hi[i])
            continue; /* no date to rewrite */
        cl_rule_input_t in = {wid,
                              PQgetisnull(wr, i, 1) ? NULL : PQgetvalue(wr, i, 1),
                              a->shifts + s0,
                              (size_t)(si - s0),
                              a->deps + d0,
                              (size_t)(di - d0),
                              set,
                              parent_cb,
                              a,
                              unit_cb,
                              a};
        if (cl_rules_worker_days(&in, &a->out) != 0)
            goto oom;
        emit(a, wid, whole, a->win_lo[i], a->win_hi[i]);
        if (a->days.oom)
            goto oom;
        if (a->days.len >= COPY_CHUNK && copy_send(c, &a->days, err, errsize))
            goto done;
    }
    if (a->days.oom || a->open.oom)
        goto oom;
    copying = 0;
    if (copy_send(c, &a->days, err, errsize)) {
        copy_end(c, "client error", err, errsize);
        goto done;
    }
    if (copy_end(c, NULL, err, errsize) ||
        !(r = with_windows(a, c, SQL_CLEAR_DAYS, 0, err, errsize)) ||
        exec_ok(c, SQL_CLEAR_OPEN, err, errsize) || exec_ok(c, SQL_INSERT_DAYS, err, errsize) ||
        copy_rows(c, SQL_COPY_OPEN, &a->open, err, errsize) ||
        exec_ok(c, SQL_SUMMARIZE, err, errsize))
        goto done;
    *nworkers = nw;
    rc = 0;
    goto done;
oom:
    snprintf(err, errsize, "out of memory recomputing worker-days");
done:
    if (copying) /* ended unfinished, so that the connection takes the rollback */
        copy_end(c, "worker-days not computed", err, errsize);
    PQclear(r);
    PQclear(wr);
    PQclear(sr);
    PQclear(dr);
    return rc;
}

/** @brief The digest of @p set, computed once per set. */
static const char *digest_of(cl_agg_t *a, const cl_policy_set_t *set)
{
    if (a->digest_of != set) {
        if (cl_agg_policy_digest(set, a->digest) != 0)
            return NULL;
        a->digest_of = set;
    }
    return a->digest;
}

/** @brief Run one parameterised INSERT. */
static int put_row(PGconn *c, const char *sql, int n, const char *const *params, char *err,
                   size_t errsize)
{
    PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(err, errsize, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

/** @brief Format an int, or NULL when negative (not set). */
static const char *opt_int(char *buf, size_t size, long long v)
{
    if (v < 0)
        return NULL;
    snprintf(buf, size, "%lld", v);
    return buf;
}

/** @brief Store one track of a policy. */
static int put_track(PGconn *c, const cl_policy_t *p, const cl_track_t *t, char *err,
                     size_t errsize)
{
    static const char *const stages[] = {NULL, "recognition", "payment"};
    char cad[16], pay[16], grace[16], mina[24], mins[24], target[16];
    int g = t->grace_days >= 0              ? t->grace_days
            : t->kind == CL_TRACK_RECURRING ? t->cadence_days
                                            : 0;
    const char *params[15] = {
        t->id,
        p->id,
        t->measure->id,
        cl_track_kind_name(t->kind),
        t->kind == CL_TRACK_STATUS ? NULL : cl_scope_name(t->scope),
        t->eligible ? cl_eligible_name(t->eligible) : NULL,
        t->part ? cl_part_name(t->part) : NULL,
        t->kind == CL_TRACK_RECURRING ? opt_int(cad, sizeof cad, t->cadence_days) : NULL,
        stages[t->stage],
        opt_int(pay, sizeof pay, t->pay_within_days),
        opt_int(grace, sizeof grace, g),
        opt_int(mina, sizeof mina, t->min_amount_fen),
        opt_int(mins, sizeof mins, t->min_sum_insured_fen),
        t->line[0] ? t->line : NULL,
        opt_int(target, sizeof target, t->target)};
    return put_row(c, SQL_PUT_TRACK, 15, params, err, errsize);
}

/** @brief Store each policy's resolved settings (what verify derives figures from). */
static int put_settings(PGconn *c, const cl_policy_set_t *set, char *err, size_t errsize)
{
    if (exec_ok(c, SQL_CLEAR_SETTINGS, err, errsize))
        return -1;
    for (size_t i = 0; i < cl_policy_set_count(set); i++) {
        const cl_policy_t *p = cl_policy_set_at(set, i);
        cl_resolved_t r;
        if (cl_policy_set_resolve(set, p->region, p->effective_from, NULL, NULL, &r, err, errsize))
            return -1;
        const cl_settings_t *st = &r.settings;
        char from[CL_DATE_LEN], to[CL_DATE_LEN], direct[24], other[24], dv[24], rate[24];
        char smax[16], consec[16], due[16];
        snprintf(smax, sizeof smax, "%d", st->shift_max_hours);
        snprintf(consec, sizeof consec, "%d", st->max_consecutive_days);
        snprintf(due, sizeof due, "%d", st->payment_due_day);
        char levels[64] = "{";
        static const char *const names[] = {"province", "city", "county", "township"};
        for (int k = 0; k < 4; k++)
            if (st->unit_levels & (1u << k))
                snprintf(levels + strlen(levels), sizeof levels - strlen(levels), "%s%s",
                         levels[1] ? "," : "", names[k]);
        strcat(levels, "}");
        snprintf(direct, sizeof direct, "%lld", (long long)st->direct_fen);
        snprintf(other, sizeof other, "%lld", (long long)st->other_fen);
        snprintf(dv, sizeof dv, "%lld", (long long)st->deploy_value);
        snprintf(rate, sizeof rate, "%lld", (long long)st->perf_rate_fen);
        const char *params[17] = {
            p->id,
            p->region,
            cl_date_format(p->effective_from, from),
            p->effective_to == INT32_MAX ? NULL : cl_date_format(p->effective_to, to),
            st->timezone,
            st->frontline == CL_FRONTLINE_DIRECT ? "direct" : "any",
            direct,
            other,
            st->deploy_rule == CL_DEPLOY_FLAT         ? "flat"
            : st->deploy_rule == CL_DEPLOY_MULTIPLIER ? "multiplier"
                                                      : "none",
            dv,
            st->has_unit_levels ? levels : NULL,
            st->perf_basis == CL_PERF_FRONTLINE_DAY ? "frontline_day" : "subsidy",
            rate,
            st->shift_max_hours < 0 ? NULL : smax,
            st->max_consecutive_days < 0 ? NULL : consec,
            st->no_couples ? "t" : "f",
            due};
        if (put_row(c, SQL_PUT_SETTINGS, 17, params, err, errsize))
            return -1;
        for (size_t m = 0; m < p->n_measures; m++)
            for (size_t t = 0; t < p->measures[m].n_tracks; t++)
                if (put_track(c, p, &p->measures[m].tracks[t], err, errsize))
                    return -1;
    }
    return 0;
}

/* Facts that change everyone in a unit or region: a unit or region registered. A batch with
 * one takes the cross-partition lock exclusively (it waits for the batches in flight, which
 * it then sees committed, and the next ones wait for it and see it); every other batch takes
 * it shared, so ordinary batches run side by side. A cancellation or a return that names an
 * event of another partition needs no such wait: the writer's rendezvous on the named
 * event's key (SQL_RENDEZVOUS in writer.c, DECISIONS 148) makes this batch either see that
 * event or be seen by the batch that stores it, and the worker's own lock orders the batches
 * that recompute that worker; a batch whose rendezvous met a named event in flight (a lock
 * timeout or a deadlock) sets careledger.cross_exclusive (SQL_FALL_BACK) and takes the lock
 * exclusively. Taken before the affected workers are found, and before any worker lock, so
 * the lock order stays global. */
static const char SQL_CROSS_NEEDED[] =
    "SELECT coalesce(current_setting('careledger.cross_exclusive', true), '') = 'on' OR "
    "EXISTS (SELECT 1 FROM " SRC_BATCH " b WHERE b.type IN "
    "('unit.registered', 'region.registered'))";
static const char SQL_CROSS_EXCLUSIVE[] =
    "SELECT pg_advisory_xact_lock(hashtextextended('careledger.cross-partition', 0))";
static const char SQL_CROSS_SHARED[] =
    "SELECT pg_advisory_xact_lock_shared(hashtextextended('careledger.cross-partition', 0))";

/** @brief Take the cross-partition lock in the mode the batch needs; 0 or -1. */
static int cross_partition_lock(PGconn *c, char *err, size_t errsize)
{
    PGresult *r = query(c, SQL_CROSS_NEEDED, err, errsize);
    if (!r)
        return -1;
    int exclusive = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    r = query(c, exclusive ? SQL_CROSS_EXCLUSIVE : SQL_CROSS_SHARED, err, errsize);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/** @brief Apply a batch. */
int cl_agg_apply(cl_agg_t *a, PGconn *c, const cl_policy_set_t *set, char *err, size_t errsize)
{
    const char *digest = digest_of(a, set);
    if (!digest) {
        snprintf(err, errsize, "cannot digest the policy set");
        return -1;
    }
    if (cross_partition_lock(c, err, errsize) || exec_ok(c, SQL_AGG_SETUP, err, errsize))
        return -1;
    for (size_t i = 0; UPSERTS_BATCH[i]; i++)
        if (exec_ok(c, UPSERTS_BATCH[i], err, errsize))
            return -1;
    if (exec_ok(c, SQL_QUALITY_BATCH, err, errsize))
        return -1;
    if (exec_ok(c, SQL_AFFECTED, err, errsize))
        return -1;
    /* Figures computed under other policies are recomputed under these. */
    PGresult *r = query(c, SQL_DIGEST, err, errsize);
    if (!r)
        return -1;
    int changed = PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 0), digest) != 0;
    PQclear(r);
    if (changed) {
        const char *params[1] = {digest};
        r = PQexecParams(c, SQL_SET_DIGEST, 1, NULL, params, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            snprintf(err, errsize, "%s", PQresultErrorMessage(r));
        PQclear(r);
        if (!ok || put_settings(c, set, err, errsize) || exec_ok(c, SQL_MARK_ALL, err, errsize))
            return -1;
    }
    long n = 0;
    r = query(c, SQL_LOCK_WORKERS, err, errsize);
    if (!r)
        return -1;
    int affected = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (affected &&
        (exec_ok(c, SQL_WHOLE_DEPLOYED, err, errsize) || recompute(a, c, set, &n, err, errsize)))
        return -1;
    if (exec_ok(c, SQL_MARKS_BATCH, err, errsize) || exec_ok(c, SQL_MARKS_REFRESH, err, errsize))
        return -1;
    return exec_ok(c, SQL_MONEY_BATCH, err, errsize) ||
                   exec_ok(c, changed ? SQL_MONEY_RECOUNT : SQL_MONEY_REFRESH, err, errsize)
               ? -1
               : 0;
}

/** @brief Rebuild everything from raw facts in one transaction. */
long cl_agg_rebuild(cl_agg_t *a, PGconn *c, const cl_policy_set_t *set, char *err, size_t errsize)
{
    const char *digest = digest_of(a, set);
    long total = 0;
    PGresult *all = NULL;
    cl_buf_t arr = {0};
    if (!digest) {
        snprintf(err, errsize, "cannot digest the policy set");
        return -1;
    }
    if (exec_ok(c, "BEGIN", err, errsize))
        return -1;
    if (exec_ok(c, SQL_REBUILD_NO_JIT, err, errsize) ||
        exec_ok(c, SQL_REBUILD_LOCK, err, errsize) || exec_ok(c, SQL_AGG_SETUP, err, errsize) ||
        exec_ok(c, SQL_REBUILD_CLEAR, err, errsize))
        goto fail;
    /* The settings first: the summaries and marks below read the policies' tracks and spans
     * from them, and must read the set being rebuilt under. */
    const char *params[1] = {digest};
    PGresult *r = PQexecParams(c, SQL_SET_DIGEST, 1, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(err, errsize, "%s", PQresultErrorMessage(r));
    PQclear(r);
    if (!ok || put_settings(c, set, err, errsize))
        goto fail;
    for (size_t i = 0; UPSERTS_ALL[i]; i++)
        if (exec_ok(c, UPSERTS_ALL[i], err, errsize))
            goto fail;
    if (exec_ok(c, SQL_QUALITY_ALL, err, errsize))
        goto fail;
    if (!(all = query(c, SQL_ALL_WORKERS, err, errsize)))
        goto fail;
    int n = PQntuples(all);
    for (int start = 0; start < n; start += REBUILD_CHUNK) {
        cl_buf_reset(&arr);
        cl_buf_putc(&arr, '{');
        for (int i = start; i < n && i < start + REBUILD_CHUNK; i++) {
            if (i > start)
                cl_buf_putc(&arr, ',');
            cl_buf_putc(&arr, '"'); /* ids hold no quotes or backslashes (SPEC §3 pattern) */
            cl_buf_puts(&arr, PQgetvalue(all, i, 0));
            cl_buf_putc(&arr, '"');
        }
        cl_buf_putc(&arr, '}');
        const char *chunk[1] = {arr.p};
        r = PQexecParams(c, SQL_LOAD_CHUNK, 1, NULL, chunk, NULL, NULL, 0);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            snprintf(err, errsize, "%s", PQresultErrorMessage(r));
        PQclear(r);
        long k = 0;
        if (!ok || recompute(a, c, set, &k, err, errsize) ||
            exec_ok(c, SQL_MARKS_REFRESH, err, errsize) ||
            exec_ok(c, SQL_REBUILD_NEXT_CHUNK, err, errsize))
            goto fail;
        total += k;
    }
    /* Money last: a delivery's line is its track's in the settings stored above. */
    if (exec_ok(c, SQL_MONEY_REBUILD, err, errsize) || exec_ok(c, "COMMIT", err, errsize))
        goto fail;
    PQclear(all);
    cl_buf_free(&arr);
    return total;
fail:;
    char ignore[64];
    exec_ok(c, "ROLLBACK", ignore, sizeof ignore);
    PQclear(all);
    cl_buf_free(&arr);
    return -1;
}
