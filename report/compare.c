/**
 * @file compare.c
 * @brief The district comparison's model (SPEC §8.3): a parent region's children
 * side by side on coverage, spend and timeliness, from the "as of D" functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/report.h"
#include "careledger/report_par.h"
#include "careledger/time.h"

/* Each unit under $1 mapped to the child of $1 it lies in: the ancestor one level
 * below $1 in its chain (registered parents, else GB/T 2260), or $1 itself for the
 * parent's own units. */
#define UNIT_CHILD                                                                                 \
    "uc AS (SELECT u.unit_id, x.ancestor AS code FROM careledger.units u "                         \
    "  JOIN LATERAL careledger.region_ancestors(u.region) p ON p.ancestor = $1 "                   \
    "  JOIN LATERAL careledger.region_ancestors(u.region) x ON x.depth = greatest(p.depth - 1, "   \
    "0))"

/* $1 parent, $2 D. Money and days are counted at units as the other reports do (R9). Money
 * measures are summed per unit before they meet the regions (a join on the computed unit
 * could become a nested loop over every delivery). */
static const char SQL_REGIONS[] =
    "WITH " UNIT_CHILD ", "
    "kids AS (SELECT code FROM careledger.regions WHERE parent = $1 AND code <> $1 "
    "  UNION SELECT code FROM uc), "
    "wd AS (SELECT uc.code, sum(x.days) AS n, sum(x.subsidy_fen) AS fen "
    "  FROM careledger.unit_totals_to($2) x JOIN uc USING (unit_id) GROUP BY uc.code), "
    "fl AS (SELECT uc.code, sum(f.workers) AS n FROM careledger.frontline_under($2, $1) f "
    "  JOIN uc USING (unit_id) GROUP BY uc.code), "
    "pay AS (SELECT uc.code, sum(p.amount_fen) FILTER (WHERE p.line = 'temp_subsidy') AS paid, "
    "  sum(p.amount_fen) AS spend, percentile_cont(0.5) WITHIN GROUP (ORDER BY "
    "  p.date - ((p.period + interval '1 month')::date - 1)) FILTER (WHERE p.line = "
    "  'temp_subsidy') AS med FROM careledger.payments p JOIN uc USING (unit_id) "
    "  WHERE p.date <= $2 GROUP BY uc.code), "
    "mm AS (SELECT uc.code, sum(d.fen) AS fen FROM (SELECT m.unit_id, sum(m.amount_fen) AS fen "
    "  FROM careledger.money_days m WHERE m.src = 'delivered' AND m.date <= $2 "
    "  GROUP BY m.unit_id) d JOIN uc USING (unit_id) GROUP BY uc.code) "
    "SELECT k.code, coalesce(r.name, k.code), coalesce(fl.n, 0), coalesce(wd.n, 0), "
    "coalesce(wd.fen, 0), coalesce(pay.paid, 0), coalesce(pay.spend, 0) + coalesce(mm.fen, 0), "
    "pay.med, (SELECT count(*) FROM uc WHERE uc.code = k.code) "
    "FROM kids k LEFT JOIN careledger.regions r USING (code) LEFT JOIN wd USING (code) "
    "LEFT JOIN fl USING (code) LEFT JOIN pay USING (code) LEFT JOIN mm USING (code) "
    "ORDER BY k.code";

/* The compliance flags per child ($1 parent, $2 D): a third of the regions' work, apart so
 * that it runs beside them (cl_rpt_par_exec). */
static const char SQL_COMPLIANCE[] =
    "WITH " UNIT_CHILD " "
    "SELECT uc.code, sum(c.long_shifts), sum(c.over_consecutive), sum(c.couples_same_day) "
    "FROM careledger.compliance_under($2, $1) c JOIN uc USING (unit_id) GROUP BY uc.code";

static const char SQL_COVERAGE[] = "WITH " UNIT_CHILD " "
                                   "SELECT uc.code, c.track_id, sum(c.eligible), sum(c.covered) "
                                   "FROM careledger.coverage_under($2, $1) c "
                                   "JOIN uc USING (unit_id) GROUP BY uc.code, c.track_id";

/** @brief Free a comparison. */
void cl_rpt_compare_free(cl_rpt_compare_t *c)
{
    for (size_t i = 0; i < c->n_regions; i++) {
        free(c->regions[i].eligible);
        free(c->regions[i].covered);
    }
    free(c->regions);
    free((void *)c->tracks);
    memset(c, 0, sizeof *c);
}

/**
 * @brief Rank order: paid/entitled descending (compared exactly by cross
 * multiplication), regions with nothing entitled last, ties by code.
 */
static int by_rank_cb(const void *a, const void *b)
{
    const cl_rpt_region_t *x = a, *y = b;
    int xe = x->entitled_fen > 0, ye = y->entitled_fen > 0;
    if (xe != ye)
        return ye - xe;
    if (xe) {
        __int128 l = (__int128)x->paid_fen * y->entitled_fen;
        __int128 r = (__int128)y->paid_fen * x->entitled_fen;
        if (l != r)
            return l > r ? -1 : 1;
    }
    return strcmp(x->code, y->code);
}

/* The comparison's statements, longest first. */
enum { Q_REGIONS, Q_COMPLIANCE, Q_COVERAGE, Q_NAME, Q_COUNT };

/** @brief Copy one result row into a region; 0 or -1 when out of memory. */
static int fill_region(cl_rpt_region_t *g, PGresult *r, int i, const char *parent, size_t n_tracks)
{
    snprintf(g->code, sizeof g->code, "%s", PQgetvalue(r, i, 0));
    snprintf(g->name, sizeof g->name, "%s", PQgetvalue(r, i, 1));
    g->own_level = strcmp(g->code, parent) == 0;
    g->frontline_workers = atoll(PQgetvalue(r, i, 2));
    g->worker_days = atoll(PQgetvalue(r, i, 3));
    g->entitled_fen = atoll(PQgetvalue(r, i, 4));
    g->paid_fen = atoll(PQgetvalue(r, i, 5));
    g->spend_fen = atoll(PQgetvalue(r, i, 6));
    if (g->frontline_workers > 0)
        g->spend_per_worker_fen =
            (g->spend_fen + g->frontline_workers / 2) / (int64_t)g->frontline_workers;
    g->has_median = !PQgetisnull(r, i, 7);
    g->median_days = g->has_median ? atof(PQgetvalue(r, i, 7)) : 0;
    g->eligible = calloc(n_tracks + 1, sizeof *g->eligible);
    g->covered = calloc(n_tracks + 1, sizeof *g->covered);
    return g->eligible && g->covered ? 0 : -1;
}

/** @brief Build the comparison. */
int cl_rpt_compare_build(PGconn *c, cl_rpt_par_t *par, const cl_policy_set_t *set,
                         const char *parent, int32_t date, cl_rpt_compare_t *out, char *err,
                         size_t errsize)
{
    cl_resolved_t res;
    PGresult *r = NULL;
    char d[CL_DATE_LEN];
    cl_rpt_query_t q[Q_COUNT] = {[Q_REGIONS] = {.sql = SQL_REGIONS},
                                 [Q_COMPLIANCE] = {.sql = SQL_COMPLIANCE},
                                 [Q_COVERAGE] = {.sql = SQL_COVERAGE},
                                 [Q_NAME] = {.sql = CL_RPT_SQL_REGION_NAME}};
    for (int i = 0; i < Q_COUNT; i++) {
        q[i].n_params = i == Q_NAME ? 1 : 2;
        q[i].params[0] = parent;
        q[i].params[1] = cl_date_format(date, d);
    }
    memset(out, 0, sizeof *out);
    if (cl_policy_set_resolve(set, parent, date, NULL, NULL, &res, err, errsize))
        return -1;
    snprintf(out->parent, sizeof out->parent, "%s", parent);
    out->date = date;
    out->policy = res.policy;
    memcpy(out->legend, res.settings.legend, sizeof out->legend);
    size_t n = 0;
    for (size_t m = 0; m < res.policy->n_measures; m++)
        n += res.policy->measures[m].n_tracks;
    out->tracks = calloc(n + 1, sizeof *out->tracks);
    if (!out->tracks)
        goto oom;
    for (size_t m = 0; m < res.policy->n_measures; m++)
        for (size_t t = 0; t < res.policy->measures[m].n_tracks; t++)
            if (res.policy->measures[m].tracks[t].kind != CL_TRACK_STATUS)
                out->tracks[out->n_tracks++] = &res.policy->measures[m].tracks[t];

    if (cl_rpt_par_exec(c, par, q, Q_COUNT, err, errsize))
        goto fail;
    r = q[Q_REGIONS].res;
    out->regions = calloc((size_t)PQntuples(r) + 1, sizeof *out->regions);
    if (!out->regions)
        goto oom;
    for (int i = 0; i < PQntuples(r); i++) {
        /* The parent's own level is a row only when it has units of its own. */
        if (strcmp(PQgetvalue(r, i, 0), parent) == 0 && atoll(PQgetvalue(r, i, 8)) == 0)
            continue;
        if (fill_region(&out->regions[out->n_regions++], r, i, parent, out->n_tracks))
            goto oom;
    }

    r = q[Q_COMPLIANCE].res;
    for (int i = 0; i < PQntuples(r); i++)
        for (size_t g = 0; g < out->n_regions; g++) {
            cl_rpt_region_t *x = &out->regions[g];
            if (strcmp(x->code, PQgetvalue(r, i, 0)) != 0)
                continue;
            x->has_long_shifts = !PQgetisnull(r, i, 1);
            x->has_over_consecutive = !PQgetisnull(r, i, 2);
            x->has_couples = !PQgetisnull(r, i, 3);
            x->long_shifts = atoll(PQgetvalue(r, i, 1));
            x->over_consecutive = atoll(PQgetvalue(r, i, 2));
            x->couples_same_day = atoll(PQgetvalue(r, i, 3));
        }

    r = q[Q_COVERAGE].res;
    for (int i = 0; i < PQntuples(r); i++)
        for (size_t g = 0; g < out->n_regions; g++) {
            if (strcmp(out->regions[g].code, PQgetvalue(r, i, 0)) != 0)
                continue;
            for (size_t t = 0; t < out->n_tracks; t++)
                if (strcmp(out->tracks[t]->id, PQgetvalue(r, i, 1)) == 0) {
                    out->regions[g].eligible[t] = atoll(PQgetvalue(r, i, 2));
                    out->regions[g].covered[t] = atoll(PQgetvalue(r, i, 3));
                }
        }

    qsort(out->regions, out->n_regions, sizeof *out->regions, by_rank_cb);
    for (size_t g = 0; g < out->n_regions; g++)
        out->regions[g].rank = (int)g + 1;
    snprintf(out->parent_name, sizeof out->parent_name, "%s", PQgetvalue(q[Q_NAME].res, 0, 0));
    cl_rpt_par_clear(q, Q_COUNT);
    return 0;
oom:
    snprintf(err, errsize, "out of memory");
fail:
    cl_rpt_par_clear(q, Q_COUNT);
    cl_rpt_compare_free(out);
    return -1;
}
