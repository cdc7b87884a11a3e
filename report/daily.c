/**
 * @file daily.c
 * @brief The daily coverage ledger's model, from the "as of D" functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/report.h"
#include "careledger/report_par.h"
#include "careledger/time.h"

/* Units under the jurisdiction: the region itself or any ancestor of theirs is it (each
 * distinct region resolved once, not once per unit). */
#define UNDER "(SELECT x.unit_id FROM careledger.units_under($1) x)"

/* The KPIs from the summaries kept by ingest (schema 8): frontline workers from their
 * coverage marks, active workers from the home units' days, worker-days and entitlement
 * from the credited units' days, temp_subsidy paid from the payments summed per unit and
 * date (money_days, schema 9: a third of the rows of payments, half the pages). */
static const char SQL_KPI[] =
    "WITH under AS " UNDER " "
    "SELECT "
    "(SELECT coalesce(sum(f.workers), 0) FROM careledger.frontline_under($2, $1) f), "
    "(SELECT coalesce(sum(h.workers), 0) FROM careledger.home_days_to($2) h "
    "  WHERE h.date = $2 AND h.unit_id IN (SELECT unit_id FROM under)), "
    "w.n, w.fen, "
    "(SELECT coalesce(sum(p.amount_fen), 0) FROM careledger.money_days p "
    "  WHERE p.line = 'temp_subsidy' AND p.src = 'paid' AND p.date <= $2 "
    "  AND p.unit_id IN (SELECT unit_id FROM under)), "
    "(SELECT to_char(max(watermark) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
    "  FROM careledger.offsets) "
    "FROM (SELECT coalesce(sum(x.days), 0) AS n, coalesce(sum(x.subsidy_fen), 0) AS fen "
    "  FROM careledger.unit_totals_to($2) x WHERE x.unit_id IN (SELECT unit_id FROM under)) w";

/* Coverage per track, summed over the jurisdiction's units, on D (tag 0) and on D − 1 (tag 1),
 * and the ten lowest-coverage units per track on D (tag 2: lowest share, then most eligible,
 * then id), in that order: one statement, so coverage as of D is computed once. */
static const char SQL_COVERAGE[] =
    "WITH now AS MATERIALIZED (SELECT c.* FROM careledger.coverage_under($2, $1) c), "
    "low AS (SELECT c.track_id, c.unit_id, c.eligible, c.covered, "
    "  row_number() OVER (PARTITION BY c.track_id ORDER BY c.covered::numeric / c.eligible, "
    "  c.eligible DESC, c.unit_id) AS k "
    "  FROM now c WHERE c.eligible > 0) "
    "SELECT 0, c.track_id, sum(c.eligible), sum(c.covered), NULL, NULL, 0 FROM now c "
    "GROUP BY c.track_id "
    "UNION ALL "
    "SELECT 1, c.track_id, sum(c.eligible), sum(c.covered), NULL, NULL, 0 "
    "FROM careledger.coverage_under($2 - 1, $1) c GROUP BY c.track_id "
    "UNION ALL "
    "SELECT 2, c.track_id, c.eligible, c.covered, c.unit_id, coalesce(u.name, c.unit_id), c.k "
    "FROM low c LEFT JOIN careledger.units u USING (unit_id) WHERE c.k <= 10 "
    "ORDER BY 1, 2, 7";

static const char SQL_STATUSES[] =
    "SELECT measure, status FROM careledger.statuses_at($2) WHERE region = $1";

static const char SQL_COMPLIANCE[] =
    "SELECT sum(long_shifts), sum(over_consecutive), sum(couples_same_day) "
    "FROM careledger.compliance_under($2, $1)";

/* Frontline workers active per day over the 30 days to D, by their home unit. */
static const char SQL_SERIES[] =
    "WITH under AS " UNDER " "
    "SELECT $2::date - h.date, sum(h.workers) FROM careledger.home_days_to($2) h "
    "WHERE h.date > $2::date - 30 AND h.unit_id IN (SELECT unit_id FROM under) GROUP BY h.date";

/* Data quality of the whole database: unregistered ids cannot be placed in a region. */
static const char SQL_QUALITY[] =
    "SELECT problem, count(*), sum(events), min(first_seen) FROM careledger.data_quality() "
    "WHERE $1::text IS NOT NULL AND first_seen <= $2 GROUP BY problem ORDER BY problem";

/* The model's statements, longest first (cl_rpt_par_exec hands them out in this order). */
enum { Q_COVERAGE, Q_KPI, Q_COMPLIANCE, Q_QUALITY, Q_SERIES, Q_STATUSES, Q_NAME, Q_COUNT };

/** @brief Row of a track id, or NULL. */
static cl_rpt_row_t *row_of(cl_rpt_daily_t *d, const char *track_id)
{
    for (size_t i = 0; i < d->n_rows; i++)
        if (strcmp(d->rows[i].track->id, track_id) == 0)
            return &d->rows[i];
    return NULL;
}

/** @brief 1 when a row has data. */
int cl_rpt_row_has_data(const cl_rpt_row_t *r)
{
    return r->track->kind != CL_TRACK_STATUS && r->eligible > 0;
}

/** @brief Free a model. */
void cl_rpt_daily_free(cl_rpt_daily_t *d)
{
    free(d->rows);
    free(d->lows);
    free(d->quality);
    memset(d, 0, sizeof *d);
}

/** @brief Build the model. */
int cl_rpt_daily_build(PGconn *c, cl_rpt_par_t *par, const cl_policy_set_t *set, const char *region,
                       int32_t date, cl_rpt_daily_t *out, char *err, size_t errsize)
{
    cl_resolved_t res;
    PGresult *r = NULL;
    char d[CL_DATE_LEN];
    cl_rpt_query_t q[Q_COUNT] = {
        [Q_COVERAGE] = {.sql = SQL_COVERAGE},      [Q_KPI] = {.sql = SQL_KPI},
        [Q_COMPLIANCE] = {.sql = SQL_COMPLIANCE},  [Q_QUALITY] = {.sql = SQL_QUALITY},
        [Q_SERIES] = {.sql = SQL_SERIES},          [Q_STATUSES] = {.sql = SQL_STATUSES},
        [Q_NAME] = {.sql = CL_RPT_SQL_REGION_NAME}};
    for (int i = 0; i < Q_COUNT; i++) {
        q[i].n_params = i == Q_NAME ? 1 : 2;
        q[i].params[0] = region;
        q[i].params[1] = cl_date_format(date, d);
    }
    memset(out, 0, sizeof *out);
    if (cl_policy_set_resolve(set, region, date, NULL, NULL, &res, err, errsize))
        return -1;
    snprintf(out->region, sizeof out->region, "%s", region);
    out->date = date;
    out->policy = res.policy;
    memcpy(out->legend, res.settings.legend, sizeof out->legend);
    out->shift_max_hours = res.settings.shift_max_hours;
    out->max_consecutive_days = res.settings.max_consecutive_days;
    size_t n = 0;
    for (size_t m = 0; m < res.policy->n_measures; m++)
        n += res.policy->measures[m].n_tracks;
    out->rows = calloc(n ? n : 1, sizeof *out->rows);
    if (!out->rows) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    for (size_t m = 0; m < res.policy->n_measures; m++)
        for (size_t t = 0; t < res.policy->measures[m].n_tracks; t++) {
            out->rows[out->n_rows].measure = &res.policy->measures[m];
            out->rows[out->n_rows++].track = &res.policy->measures[m].tracks[t];
        }
    if (cl_rpt_par_exec(c, par, q, Q_COUNT, err, errsize))
        goto fail;

    r = q[Q_KPI].res;
    out->frontline_workers = atoll(PQgetvalue(r, 0, 0));
    out->active_workers = atoll(PQgetvalue(r, 0, 1));
    out->worker_days = atoll(PQgetvalue(r, 0, 2));
    out->entitled_fen = atoll(PQgetvalue(r, 0, 3));
    out->paid_fen = atoll(PQgetvalue(r, 0, 4));
    snprintf(out->watermark, sizeof out->watermark, "%s", PQgetvalue(r, 0, 5));

    r = q[Q_COVERAGE].res;
    for (int i = 0; i < PQntuples(r); i++) {
        cl_rpt_row_t *row = row_of(out, PQgetvalue(r, i, 1));
        char tag = PQgetvalue(r, i, 0)[0];
        if (!row || tag == '2')
            continue; /* a track of another policy, or a low (below) */
        long long e = atoll(PQgetvalue(r, i, 2)), cv = atoll(PQgetvalue(r, i, 3));
        if (tag == '0') {
            row->eligible = e;
            row->covered = cv;
        } else {
            row->prev_eligible = e;
            row->prev_covered = cv;
        }
    }
    out->lows = calloc((size_t)PQntuples(r) + 1, sizeof *out->lows);
    if (!out->lows)
        goto oom;
    /* In ledger order: a track's lows follow each other, lowest first. */
    for (size_t k = 0; k < out->n_rows; k++)
        for (int i = 0; i < PQntuples(r); i++) {
            if (PQgetvalue(r, i, 0)[0] != '2' ||
                strcmp(PQgetvalue(r, i, 1), out->rows[k].track->id) != 0)
                continue;
            cl_rpt_low_t *l = &out->lows[out->n_lows++];
            l->row = &out->rows[k];
            snprintf(l->unit_id, sizeof l->unit_id, "%s", PQgetvalue(r, i, 4));
            snprintf(l->name, sizeof l->name, "%s", PQgetvalue(r, i, 5));
            l->eligible = atoll(PQgetvalue(r, i, 2));
            l->covered = atoll(PQgetvalue(r, i, 3));
        }
    /* The legend band, in exact integer arithmetic: red below a%, amber below b%. */
    for (size_t i = 0; i < out->n_rows; i++) {
        cl_rpt_row_t *row = &out->rows[i];
        if (!cl_rpt_row_has_data(row))
            continue;
        const char *band = row->covered * 100 < (long long)out->legend[0] * row->eligible ? "red"
                           : row->covered * 100 < (long long)out->legend[1] * row->eligible
                               ? "amber"
                               : "green";
        snprintf(row->status, sizeof row->status, "%s", band);
    }

    r = q[Q_STATUSES].res;
    for (int i = 0; i < PQntuples(r); i++) {
        cl_rpt_row_t *row = row_of(out, PQgetvalue(r, i, 0));
        if (row && row->track->kind == CL_TRACK_STATUS)
            snprintf(row->status, sizeof row->status, "%s", PQgetvalue(r, i, 1));
    }

    r = q[Q_COMPLIANCE].res;
    out->has_long_shifts = !PQgetisnull(r, 0, 0);
    out->has_over_consecutive = !PQgetisnull(r, 0, 1);
    out->has_couples = !PQgetisnull(r, 0, 2);
    out->long_shifts = atoll(PQgetvalue(r, 0, 0));
    out->over_consecutive = atoll(PQgetvalue(r, 0, 1));
    out->couples_same_day = atoll(PQgetvalue(r, 0, 2));

    r = q[Q_SERIES].res;
    for (int i = 0; i < PQntuples(r); i++) {
        int back = atoi(PQgetvalue(r, i, 0));
        if (back >= 0 && back < CL_RPT_SERIES_DAYS)
            out->active_series[CL_RPT_SERIES_DAYS - 1 - back] = atoll(PQgetvalue(r, i, 1));
    }

    r = q[Q_QUALITY].res;
    out->quality = calloc((size_t)PQntuples(r) + 1, sizeof *out->quality);
    if (!out->quality)
        goto oom;
    for (int i = 0; i < PQntuples(r); i++) {
        cl_rpt_quality_t *qi = &out->quality[out->n_quality++];
        snprintf(qi->problem, sizeof qi->problem, "%s", PQgetvalue(r, i, 0));
        qi->ids = atoll(PQgetvalue(r, i, 1));
        qi->events = atoll(PQgetvalue(r, i, 2));
        if (cl_date_parse(PQgetvalue(r, i, 3), &qi->first_seen))
            qi->first_seen = CL_RPT_NO_DATE;
    }
    snprintf(out->region_name, sizeof out->region_name, "%s", PQgetvalue(q[Q_NAME].res, 0, 0));
    cl_rpt_par_clear(q, Q_COUNT);
    return 0;
oom:
    snprintf(err, errsize, "out of memory");
fail:
    cl_rpt_par_clear(q, Q_COUNT);
    cl_rpt_daily_free(out);
    return -1;
}
