/**
 * @file finance.c
 * @brief The finance statement's model (SPEC §8.2), from the "as of D" functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/report.h"
#include "careledger/report_par.h"
#include "careledger/time.h"

/* $1 region, $2 D, $3 the month's first day. Each part is summed for the region's units only
 * (units_under() resolves each distinct region once, not each unit); money measures from
 * money_days, kept at each delivery's counting unit by ingest. */
static const char SQL_UNITS[] =
    "WITH uu AS MATERIALIZED (SELECT x.unit_id FROM careledger.units_under($1) x), "
    "under AS (SELECT u.unit_id, u.name, u.region FROM careledger.units u "
    "  WHERE u.unit_id IN (SELECT uu.unit_id FROM uu)), "
    "days AS (SELECT * FROM careledger.unit_days_to($2) "
    "  WHERE date >= $3::date AND date < ($3::date + interval '1 month') "
    "  AND unit_id IN (SELECT uu.unit_id FROM uu)), "
    "wd AS (SELECT unit_id, sum(days) FILTER (WHERE kind = 'direct') AS direct, "
    "  sum(days) FILTER (WHERE kind = 'other') AS other, "
    "  sum(days) FILTER (WHERE kind = 'deployed') AS deployed, sum(subsidy_fen) AS entitled, "
    "  sum(perf_fen) AS perf FROM days GROUP BY unit_id), "
    "paid AS (SELECT unit_id, sum(amount_fen) AS fen FROM careledger.payments "
    "  WHERE line = 'temp_subsidy' AND period = $3::date AND date <= $2 "
    "  AND unit_id IN (SELECT uu.unit_id FROM uu) GROUP BY unit_id), "
    "mm AS (SELECT unit_id, sum(amount_fen) AS fen FROM careledger.money_days "
    "  WHERE src = 'delivered' AND date >= $3::date "
    "  AND date < ($3::date + interval '1 month') AND date <= $2 "
    "  AND unit_id IN (SELECT uu.unit_id FROM uu) GROUP BY 1) "
    "SELECT under.unit_id, under.name, under.region, coalesce(wd.direct, 0), "
    "coalesce(wd.other, 0), coalesce(wd.deployed, 0), coalesce(wd.entitled, 0), "
    "coalesce(paid.fen, 0), coalesce(wd.perf, 0), coalesce(mm.fen, 0) "
    "FROM under LEFT JOIN wd USING (unit_id) LEFT JOIN paid USING (unit_id) "
    "LEFT JOIN mm USING (unit_id) ORDER BY under.unit_id";

/* R7's arrears and overpayments of the month per unit of the region, worker-month by
 * worker-month ($1 region, $2 D, $3 the month's first day): the statement's longest part,
 * apart so that it runs beside the others (cl_rpt_par_exec). */
static const char SQL_ARREARS[] =
    "SELECT unit_id, sum(arrears_fen), sum(overpaid_fen) "
    "FROM careledger.worker_months($2) WHERE month = $3::date "
    "AND unit_id IN (SELECT x.unit_id FROM careledger.units_under($1) x) GROUP BY unit_id";
/* The same as of a day inside the month (DECISIONS 151): the units' earnings to D less what
 * the workers with a payment settled, rather than every worker's days to D one by one. */
static const char SQL_ARREARS_INSIDE[] =
    "SELECT unit_id, arrears_fen, overpaid_fen "
    "FROM careledger.month_arrears_inside($2, $3::date) "
    "WHERE unit_id IN (SELECT x.unit_id FROM careledger.units_under($1) x)";

/* Budgets under the jurisdiction: a unit's own, or a region's at or below it (budgets_under()
 * computes only those; the filter states which, as budgets_at() would be filtered). */
static const char SQL_BUDGETS[] =
    "SELECT b.budget_id, b.scope, b.line, b.budget_fen, b.paid_fen, b.remaining_fen, "
    "EXISTS (SELECT 1 FROM careledger.units u WHERE u.unit_id = b.scope), b.funding, b.burn_fen, "
    "b.exhaustion, b.over_budget "
    "FROM careledger.budgets_under($2, $1) b "
    "WHERE b.scope IN (SELECT x.unit_id FROM careledger.units_under($1) x) OR EXISTS (SELECT 1 "
    "FROM careledger.region_ancestors(b.scope) a WHERE b.scope ~ '^[0-9]{6}$' "
    "AND a.ancestor = $1) ORDER BY b.budget_id";

/* The region's units, each distinct region resolved once (not once per unit or payment). */
#define UNDER_IDS "(SELECT x.unit_id FROM careledger.units_under($1) x)"

/* Payments of the month by funding source ($1 region, $2 D, $3 month). */
static const char SQL_FUNDING[] =
    "SELECT funding, sum(amount_fen) FROM careledger.payments WHERE period = $3::date "
    "AND date <= $2 AND unit_id IN " UNDER_IDS " GROUP BY funding ORDER BY funding";

/* Temporary subsidy entitled (by day worked) and paid (by payment date) per day to D. */
static const char SQL_DAILY_MONEY[] =
    "WITH e AS (SELECT date, sum(subsidy_fen) AS fen FROM careledger.unit_days_to($2) "
    "  WHERE unit_id IN " UNDER_IDS " GROUP BY date), "
    "p AS (SELECT date, sum(amount_fen) AS fen FROM careledger.payments "
    "  WHERE line = 'temp_subsidy' AND date <= $2 AND unit_id IN " UNDER_IDS " GROUP BY date) "
    "SELECT date, coalesce(e.fen, 0), coalesce(p.fen, 0), $3::text FROM e FULL JOIN p USING (date) "
    "ORDER BY date";

/* The cumulative chart covers at most this many days up to D. */
#define SERIES_MAX_DAYS 120

/** @brief Append a budget to a money row. */
static int add_budget(cl_rpt_money_t *m, PGresult *r, int i)
{
    cl_rpt_budget_t *b = realloc(m->budgets, (m->n_budgets + 1) * sizeof *b);
    if (!b)
        return -1;
    m->budgets = b;
    b = &m->budgets[m->n_budgets++];
    snprintf(b->budget_id, sizeof b->budget_id, "%s", PQgetvalue(r, i, 0));
    snprintf(b->line, sizeof b->line, "%s", PQgetvalue(r, i, 2));
    b->budget_fen = atoll(PQgetvalue(r, i, 3));
    b->paid_fen = atoll(PQgetvalue(r, i, 4));
    b->remaining_fen = atoll(PQgetvalue(r, i, 5));
    snprintf(b->scope, sizeof b->scope, "%s", PQgetvalue(r, i, 1));
    snprintf(b->funding, sizeof b->funding, "%s", PQgetvalue(r, i, 7));
    b->burn_fen = atoll(PQgetvalue(r, i, 8));
    if (PQgetisnull(r, i, 9) || cl_date_parse(PQgetvalue(r, i, 9), &b->exhaustion))
        b->exhaustion = CL_RPT_NO_DATE;
    b->over_budget = PQgetvalue(r, i, 10)[0] == 't';
    return 0;
}

/** @brief Index of a funding source in the split, appended when new; -1 when out of memory. */
static int funding_slot(cl_rpt_finance_t *f, const char *funding)
{
    for (size_t i = 0; i < f->n_funding; i++)
        if (strcmp(f->funding[i].funding, funding) == 0)
            return (int)i;
    cl_rpt_funding_t *n = realloc(f->funding, (f->n_funding + 1) * sizeof *n);
    if (!n)
        return -1;
    f->funding = n;
    memset(&n[f->n_funding], 0, sizeof *n);
    snprintf(n[f->n_funding].funding, sizeof n->funding, "%s", funding);
    return (int)f->n_funding++;
}

/** @brief The funding split: the month's payments, and the budgets, per source; 0 or -1. */
static int funding_split(cl_rpt_finance_t *f, PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        int k = funding_slot(f, PQgetvalue(r, i, 0));
        if (k < 0)
            return -1;
        f->funding[k].paid_fen = atoll(PQgetvalue(r, i, 1));
    }
    for (size_t b = 0; b < f->totals.n_budgets; b++) {
        int k = funding_slot(f, f->totals.budgets[b].funding);
        if (k < 0)
            return -1;
        f->funding[k].budget_fen += f->totals.budgets[b].budget_fen;
        if (strcmp(f->totals.budgets[b].line, "temp_subsidy") == 0)
            f->subsidy_budget_fen += f->totals.budgets[b].budget_fen;
    }
    /* A stable order whatever order sources were met in. */
    for (size_t i = 1; i < f->n_funding; i++)
        for (size_t j = i; j > 0 && strcmp(f->funding[j - 1].funding, f->funding[j].funding) > 0;
             j--) {
            cl_rpt_funding_t t = f->funding[j];
            f->funding[j] = f->funding[j - 1];
            f->funding[j - 1] = t;
        }
    return 0;
}

/** @brief Cumulative entitled and paid per day from the first day with money, at most
 * SERIES_MAX_DAYS before D; 0 or -1. */
static int cumulate(cl_rpt_finance_t *f, PGresult *r)
{
    int n = PQntuples(r);
    int32_t first = f->date;
    if (n > 0 && cl_date_parse(PQgetvalue(r, 0, 0), &first))
        first = f->date;
    if (first < f->date - (SERIES_MAX_DAYS - 1))
        first = f->date - (SERIES_MAX_DAYS - 1);
    if (first > f->date)
        first = f->date;
    f->series_from = first;
    f->n_series = (size_t)(f->date - first + 1);
    f->cum_entitled_fen = calloc(f->n_series, sizeof *f->cum_entitled_fen);
    f->cum_paid_fen = calloc(f->n_series, sizeof *f->cum_paid_fen);
    if (!f->cum_entitled_fen || !f->cum_paid_fen)
        return -1;
    int64_t e = 0, p = 0;
    int i = 0;
    for (int32_t day = first; day <= f->date; day++) {
        int32_t rd;
        /* Days before the window fold into its first day. */
        while (i < n && !cl_date_parse(PQgetvalue(r, i, 0), &rd) && rd <= day) {
            e += atoll(PQgetvalue(r, i, 1));
            p += atoll(PQgetvalue(r, i, 2));
            i++;
        }
        f->cum_entitled_fen[day - first] = e;
        f->cum_paid_fen[day - first] = p;
    }
    return 0;
}

/** @brief Free a statement. */
void cl_rpt_finance_free(cl_rpt_finance_t *f)
{
    for (size_t i = 0; i < f->n_units; i++)
        free(f->units[i].budgets);
    free(f->units);
    free(f->totals.budgets);
    free(f->funding);
    free(f->cum_entitled_fen);
    free(f->cum_paid_fen);
    memset(f, 0, sizeof *f);
}

/* The statement's statements, longest first. */
enum { Q_ARREARS, Q_DAILY_MONEY, Q_UNITS, Q_BUDGETS, Q_FUNDING, Q_NAME, Q_COUNT };

/** @brief By unit id, for bsearch. */
static int by_unit_cb(const void *a, const void *b)
{
    return strcmp((*(cl_rpt_money_t *const *)a)->unit_id, (*(cl_rpt_money_t *const *)b)->unit_id);
}

/** @brief Add each unit's arrears and overpayments to its row and the totals; 0 or -1. */
static int add_arrears(cl_rpt_finance_t *out, PGresult *r)
{
    cl_rpt_money_t **by_id = calloc(out->n_units + 1, sizeof *by_id);
    if (!by_id)
        return -1;
    for (size_t i = 0; i < out->n_units; i++)
        by_id[i] = &out->units[i];
    qsort(by_id, out->n_units, sizeof *by_id, by_unit_cb);
    for (int i = 0; i < PQntuples(r); i++) {
        cl_rpt_money_t key, *k = &key, **u;
        snprintf(key.unit_id, sizeof key.unit_id, "%s", PQgetvalue(r, i, 0));
        if (!(u = bsearch(&k, by_id, out->n_units, sizeof *by_id, by_unit_cb)))
            continue; /* both statements read the region's units in one snapshot */
        (*u)->arrears_fen = atoll(PQgetvalue(r, i, 1));
        (*u)->overpaid_fen = atoll(PQgetvalue(r, i, 2));
        out->totals.arrears_fen += (*u)->arrears_fen;
        out->totals.overpaid_fen += (*u)->overpaid_fen;
    }
    free(by_id);
    return 0;
}

/** @brief Build the statement. */
int cl_rpt_finance_build(PGconn *c, cl_rpt_par_t *par, const char *region, int32_t month,
                         int32_t date, cl_rpt_finance_t *out, char *err, size_t errsize)
{
    char d[CL_DATE_LEN], m[CL_DATE_LEN];
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    snprintf(out->region, sizeof out->region, "%s", region);
    out->month = month;
    out->date = date;
    snprintf(out->totals.unit_id, sizeof out->totals.unit_id, "%s", region);
    /* D inside the month, not its last day: some of its days lie after D. */
    int inside = date >= cl_month_first_day(month) && date < cl_month_first_day(month + 1) - 1;
    cl_rpt_query_t q[Q_COUNT] = {
        [Q_ARREARS] = {.sql = inside ? SQL_ARREARS_INSIDE : SQL_ARREARS, .n_params = 3},
        [Q_DAILY_MONEY] = {.sql = SQL_DAILY_MONEY, .n_params = 3},
        [Q_UNITS] = {.sql = SQL_UNITS, .n_params = 3},
        [Q_BUDGETS] = {.sql = SQL_BUDGETS, .n_params = 2},
        [Q_FUNDING] = {.sql = SQL_FUNDING, .n_params = 3},
        [Q_NAME] = {.sql = CL_RPT_SQL_REGION_NAME, .n_params = 1}};
    for (int i = 0; i < Q_COUNT; i++) {
        q[i].params[0] = region;
        q[i].params[1] = cl_date_format(date, d);
        q[i].params[2] = cl_date_format(cl_month_first_day(month), m);
    }
    if (cl_rpt_par_exec(c, par, q, Q_COUNT, err, errsize))
        goto fail;
    r = q[Q_UNITS].res;
    out->n_units = (size_t)PQntuples(r);
    out->units = calloc(out->n_units ? out->n_units : 1, sizeof *out->units);
    if (!out->units)
        goto oom;
    cl_rpt_money_t *t = &out->totals;
    for (size_t i = 0; i < out->n_units; i++) {
        cl_rpt_money_t *u = &out->units[i];
        int k = (int)i;
        snprintf(u->unit_id, sizeof u->unit_id, "%s", PQgetvalue(r, k, 0));
        snprintf(u->name, sizeof u->name, "%s", PQgetvalue(r, k, 1));
        snprintf(u->region, sizeof u->region, "%s", PQgetvalue(r, k, 2));
        u->days_direct = atoll(PQgetvalue(r, k, 3));
        u->days_other = atoll(PQgetvalue(r, k, 4));
        u->days_deployed = atoll(PQgetvalue(r, k, 5));
        u->entitled_fen = atoll(PQgetvalue(r, k, 6));
        u->paid_fen = atoll(PQgetvalue(r, k, 7));
        u->performance_pay_fen = atoll(PQgetvalue(r, k, 8));
        u->measures_fen = atoll(PQgetvalue(r, k, 9));
        t->days_direct += u->days_direct;
        t->days_other += u->days_other;
        t->days_deployed += u->days_deployed;
        t->entitled_fen += u->entitled_fen;
        t->paid_fen += u->paid_fen;
        t->performance_pay_fen += u->performance_pay_fen;
        t->measures_fen += u->measures_fen;
    }
    if (add_arrears(out, q[Q_ARREARS].res))
        goto oom;
    r = q[Q_BUDGETS].res;
    for (int i = 0; i < PQntuples(r); i++) {
        /* Unit budgets appear in their unit's row; every budget counts in the totals. */
        if (PQgetvalue(r, i, 6)[0] == 't')
            for (size_t k = 0; k < out->n_units; k++)
                if (strcmp(out->units[k].unit_id, PQgetvalue(r, i, 1)) == 0 &&
                    add_budget(&out->units[k], r, i))
                    goto oom;
        if (add_budget(t, r, i))
            goto oom;
    }
    if (funding_split(out, q[Q_FUNDING].res) || cumulate(out, q[Q_DAILY_MONEY].res))
        goto oom;
    snprintf(out->region_name, sizeof out->region_name, "%s", PQgetvalue(q[Q_NAME].res, 0, 0));
    cl_rpt_par_clear(q, Q_COUNT);
    return 0;
oom:
    snprintf(err, errsize, "out of memory");
fail:
    cl_rpt_par_clear(q, Q_COUNT);
    cl_rpt_finance_free(out);
    return -1;
}
