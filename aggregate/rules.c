/**
 * @file rules.c
 * @brief R1 worker-days and R2 performance pay for one worker.
 */
#include "careledger/rules.h"

#include <stdlib.h>
#include <string.h>

/** @brief Free an output. */
void cl_rules_output_free(cl_rule_output_t *out)
{
    free(out->days);
    free(out->open);
    memset(out, 0, sizeof *out);
}

/** @brief Append a day slot. */
static cl_worker_day_t *push_day(cl_rule_output_t *out)
{
    if (out->n_days == out->cap_days) {
        size_t n = out->cap_days ? out->cap_days * 2 : 64;
        cl_worker_day_t *d = realloc(out->days, n * sizeof *d);
        if (!d)
            return NULL;
        out->days = d;
        out->cap_days = n;
    }
    cl_worker_day_t *d = &out->days[out->n_days++];
    memset(d, 0, sizeof *d);
    return d;
}

/** @brief The policy of @p region on @p date (0), or -1 when none is in force. */
static int resolve(const cl_rule_input_t *in, const char *region, int32_t date, cl_resolved_t *r)
{
    char err[160];
    return cl_policy_set_resolve(in->policies, region, date, in->parent_fn, in->parent_ctx, r, err,
                                 sizeof err);
}

/** @brief 1 when the day counts as frontline under @p s. */
static int is_frontline(const cl_settings_t *s, cl_day_kind_t kind)
{
    return s->frontline == CL_FRONTLINE_ANY || kind != CL_DAY_OTHER;
}

/** @brief Subsidy and performance pay of a day under @p s (R1, R2). */
static void price(cl_worker_day_t *d, const cl_settings_t *s, int direct_rate_for_deploy)
{
    int64_t base = direct_rate_for_deploy ? s->direct_fen : s->other_fen;
    if (d->kind == CL_DAY_DEPLOYED) {
        d->subsidy_fen = s->deploy_rule == CL_DEPLOY_FLAT         ? s->deploy_value
                         : s->deploy_rule == CL_DEPLOY_MULTIPLIER ? s->deploy_value * base
                                                                  : base;
    } else {
        d->subsidy_fen =
            d->admitted ? (d->kind == CL_DAY_DIRECT ? s->direct_fen : s->other_fen) : 0;
    }
    d->frontline = is_frontline(s, d->kind);
    if (s->perf_basis == CL_PERF_FRONTLINE_DAY)
        d->perf_fen = d->frontline ? s->perf_rate_fen : 0; /* every institution, any level */
    else
        d->perf_fen = d->subsidy_fen;
}

/** Deployment day candidate: which deployment credits a date. */
typedef struct dep_day {
    int32_t date;
    const cl_rule_deployment_t *dep;
} dep_day_t;

/** @brief Order deployment days by date, then earliest departure, then id. */
static int dep_day_cmp(const void *a, const void *b)
{
    const dep_day_t *x = a, *y = b;
    if (x->date != y->date)
        return x->date < y->date ? -1 : 1;
    if (x->dep->from != y->dep->from)
        return x->dep->from < y->dep->from ? -1 : 1;
    return strcmp(x->dep->deployment_id, y->dep->deployment_id);
}

/** A shift with its local date. */
typedef struct dated_shift {
    int32_t date;
    const cl_rule_shift_t *s;
    int admitted;
} dated_shift_t;

/** @brief Order shifts by date, then start, then event id. */
static int dated_cmp(const void *a, const void *b)
{
    const dated_shift_t *x = a, *y = b;
    if (x->date != y->date)
        return x->date < y->date ? -1 : 1;
    if (x->s->start != y->s->start)
        return x->s->start < y->s->start ? -1 : 1;
    return strcmp(x->s->event_id, y->s->event_id);
}

/** @brief Order days by date. */
static int day_cmp(const void *a, const void *b)
{
    const cl_worker_day_t *x = a, *y = b;
    return (x->date > y->date) - (x->date < y->date);
}

/** @brief 1 if @p date is in the sorted deployment days. */
static int is_dep_day(const dep_day_t *dd, size_t n, int32_t date)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (dd[mid].date < date)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && dd[lo].date == date;
}

/* An open deployment's days are priced at report time from one stored price a day, so its
 * open span starts where no policy starts or ends any more; the days before are deployment
 * days of their own, priced day by day like a closed deployment's (a departure before the
 * policies' first day earns nothing until that day, and the set's rates after). Beyond this
 * many days after the departure, a later boundary is not followed (DECISIONS 159). */
#define OPEN_PRICED_MAX_DAYS 1096

/** @brief The last policy boundary (a policy's first day, or the day after its last) after
 * @p from, at most OPEN_PRICED_MAX_DAYS later; @p from itself when there is none. */
static int32_t open_span_start(const cl_policy_set_t *set, int32_t from)
{
    int32_t last = from;
    for (size_t i = 0; i < cl_policy_set_count(set); i++) {
        const cl_policy_t *p = cl_policy_set_at(set, i);
        if (p->effective_from > last)
            last = p->effective_from;
        if (p->effective_to != INT32_MAX && p->effective_to + 1 > last)
            last = p->effective_to + 1;
    }
    return last - from > OPEN_PRICED_MAX_DAYS ? from + OPEN_PRICED_MAX_DAYS : last;
}

/** @brief The local date of a shift starting at @p start at @p unit (R1). */
static int32_t shift_date(const cl_rule_input_t *in, const cl_rule_unit_t *unit, int64_t start)
{
    cl_resolved_t r;
    /* The unit's zone dates the shift; an unknown unit is dated in the national zone. */
    int64_t t = start / 1000000;
    int32_t approx = (int32_t)(t / 86400);
    int have = resolve(in, unit->registered ? unit->region : "000000", approx, &r) == 0;
    if (!have)
        have = resolve(in, "000000", approx + 1, &r) == 0 ||
               resolve(in, "000000", approx - 1, &r) == 0;
    return have ? cl_tz_local_date(r.tz, start) : approx;
}

/** @brief The local date R1 gives a shift at @p unit_id starting at @p start. */
int32_t cl_rules_shift_date(const cl_rule_input_t *in, const char *unit_id, int64_t start)
{
    cl_rule_unit_t unit = {0};
    in->unit_fn(in->unit_ctx, unit_id, &unit);
    return shift_date(in, &unit, start);
}

/** @brief Add @p z to the distinct zones; -1 when there are too many. */
static int add_zone(const cl_tz_t **zones, size_t *n, size_t cap, const cl_tz_t *z)
{
    for (size_t i = 0; i < *n; i++)
        if (zones[i] == z)
            return 0;
    if (*n == cap)
        return -1;
    zones[(*n)++] = z;
    return 0;
}

/** @brief Bounds of the UTC offsets shifts starting on UTC dates [from, to] are dated with. */
void cl_rules_offset_bounds(const cl_rule_input_t *in, int32_t from, int32_t to, int32_t *min,
                            int32_t *max)
{
    const cl_tz_t *zones[64];
    size_t nz = 0;
    int fallback = 0, ok = to >= from && to - from <= 400;
    /* shift_date() resolves the unit's region (a policy's, or one inheriting from it) on the
     * UTC date, the national region on the days around it, and uses offset 0 without any. */
    for (int32_t d = from - 1; ok && d <= to + 1; d++) {
        cl_resolved_t r;
        if (resolve(in, "000000", d, &r) == 0)
            ok = add_zone(zones, &nz, 64, r.tz) == 0;
        else
            fallback = 1;
        for (size_t i = 0; ok && i < cl_policy_set_count(in->policies); i++)
            if (resolve(in, cl_policy_set_at(in->policies, i)->region, d, &r) == 0)
                ok = add_zone(zones, &nz, 64, r.tz) == 0;
    }
    if (!ok) { /* any zone: offsets stay under a day */
        *min = -86399;
        *max = 86399;
        return;
    }
    *min = fallback ? 0 : INT32_MAX;
    *max = fallback ? 0 : INT32_MIN;
    /* Every quarter of an hour of the dates: no zone keeps an offset for less. */
    for (size_t i = 0; i < nz; i++)
        for (int64_t t = (int64_t)from * 86400; t < ((int64_t)to + 1) * 86400; t += 900) {
            int32_t off = cl_tz_offset(zones[i], t);
            if (off < *min)
                *min = off;
            if (off > *max)
                *max = off;
        }
    if (*min > *max) {
        *min = -86399;
        *max = 86399;
    }
}

/** @brief Compute the worker's days. */
int cl_rules_worker_days(const cl_rule_input_t *in, cl_rule_output_t *out)
{
    out->n_days = out->n_open = 0;
    int rc = -1;
    dep_day_t *dd = NULL;
    dated_shift_t *ds = NULL;
    size_t ndd = 0;

    /* The registered unit: deployment days are credited there, whatever its level. */
    cl_rule_unit_t home = {0};
    if (in->unit_id)
        in->unit_fn(in->unit_ctx, in->unit_id, &home);

    /* Open deployments supersede every day from the earliest open departure on. */
    int32_t open_from = CL_DATE_OPEN;
    const cl_rule_deployment_t *open_dep = NULL;
    size_t need = 0;
    for (size_t i = 0; i < in->n_deployments; i++) {
        const cl_rule_deployment_t *d = &in->deployments[i];
        if (d->to == CL_DATE_OPEN) {
            if (d->from < open_from || (d->from == open_from && open_dep &&
                                        strcmp(d->deployment_id, open_dep->deployment_id) < 0)) {
                open_from = d->from;
                open_dep = d;
            }
        } else if (d->to >= d->from) {
            need += (size_t)(d->to - d->from + 1);
        }
    }
    int32_t span_from = open_dep ? open_span_start(in->policies, open_from) : open_from;
    need += (size_t)(span_from - open_from);
    dd = malloc((need ? need : 1) * sizeof *dd);
    if (!dd)
        goto done;
    for (size_t i = 0; i < in->n_deployments; i++) {
        const cl_rule_deployment_t *d = &in->deployments[i];
        if (d->to == CL_DATE_OPEN)
            continue;
        for (int32_t day = d->from; day <= d->to && day < open_from; day++)
            dd[ndd++] = (dep_day_t){day, d};
    }
    for (int32_t day = open_from; day < span_from; day++)
        dd[ndd++] = (dep_day_t){day, open_dep};
    qsort(dd, ndd, sizeof *dd, dep_day_cmp);
    /* One worker-day per date: the earliest-departing deployment credits it. */
    size_t u = 0;
    for (size_t i = 0; i < ndd; i++)
        if (u == 0 || dd[u - 1].date != dd[i].date)
            dd[u++] = dd[i];
    ndd = u;
    for (size_t i = 0; i < ndd; i++) {
        cl_worker_day_t *day = push_day(out);
        if (!day)
            goto done;
        day->date = dd[i].date;
        day->kind = CL_DAY_DEPLOYED;
        day->deployment_id = dd[i].dep->deployment_id;
        cl_resolved_t r;
        if (home.registered && resolve(in, home.region, day->date, &r) == 0) {
            snprintf(day->unit_id, sizeof day->unit_id, "%s", in->unit_id);
            day->policy = r.policy;
            day->admitted = 1; /* never restricted by unit level */
            day->designated = home.designated;
            price(day, &r.settings, dd[i].dep->direct);
        } else if (in->unit_id) {
            snprintf(day->unit_id, sizeof day->unit_id, "%s", in->unit_id);
        }
    }
    if (open_dep) {
        if (out->n_open == out->cap_open) {
            cl_open_span_t *o = realloc(out->open, 4 * sizeof *o);
            if (!o)
                goto done;
            out->open = o;
            out->cap_open = 4;
        }
        cl_open_span_t *o = &out->open[out->n_open++];
        memset(o, 0, sizeof *o);
        o->deployment_id = open_dep->deployment_id;
        o->from = span_from;
        cl_resolved_t r;
        if (in->unit_id)
            snprintf(o->unit_id, sizeof o->unit_id, "%s", in->unit_id);
        if (home.registered && resolve(in, home.region, span_from, &r) == 0) {
            cl_worker_day_t probe = {0};
            probe.kind = CL_DAY_DEPLOYED;
            probe.admitted = 1;
            price(&probe, &r.settings, open_dep->direct);
            o->policy = r.policy;
            o->subsidy_fen = probe.subsidy_fen;
            o->perf_fen = probe.perf_fen;
            o->frontline = probe.frontline;
        }
    }

    /* Local days: shifts grouped by the local date of their start. */
    ds = malloc((in->n_shifts ? in->n_shifts : 1) * sizeof *ds);
    if (!ds)
        goto done;
    size_t nds = 0;
    for (size_t i = 0; i < in->n_shifts; i++) {
        const cl_rule_shift_t *s = &in->shifts[i];
        cl_rule_unit_t unit = {0};
        in->unit_fn(in->unit_ctx, s->unit_id, &unit);
        cl_resolved_t r;
        int32_t date = shift_date(in, &unit, s->start);
        int admitted = 0;
        if (unit.registered && resolve(in, unit.region, date, &r) == 0)
            admitted = !r.settings.has_unit_levels || (r.settings.unit_levels & unit.level);
        ds[nds++] = (dated_shift_t){date, s, admitted};
    }
    qsort(ds, nds, sizeof *ds, dated_cmp);
    for (size_t i = 0; i < nds;) {
        size_t j = i;
        while (j < nds && ds[j].date == ds[i].date)
            j++;
        int32_t date = ds[i].date;
        if (date >= open_from || is_dep_day(dd, ndd, date)) {
            i = j; /* a deployment day, shift or not */
            continue;
        }
        /* Admitted shifts decide; direct first, then the earliest start. */
        const dated_shift_t *pick = NULL;
        for (size_t k = i; k < j; k++)
            if (ds[k].admitted && (!pick || (ds[k].s->direct && !pick->s->direct)))
                pick = &ds[k];
        int admitted = pick != NULL;
        if (!pick) /* none admitted: a worker-day earning nothing, at the highest exposure */
            for (size_t k = i; k < j; k++)
                if (!pick || (ds[k].s->direct && !pick->s->direct))
                    pick = &ds[k];
        cl_worker_day_t *day = push_day(out);
        if (!day)
            goto done;
        day->date = date;
        day->kind = pick->s->direct ? CL_DAY_DIRECT : CL_DAY_OTHER;
        day->shift_event_id = pick->s->event_id;
        snprintf(day->unit_id, sizeof day->unit_id, "%s", pick->s->unit_id);
        cl_rule_unit_t unit = {0};
        in->unit_fn(in->unit_ctx, pick->s->unit_id, &unit);
        cl_resolved_t r;
        if (unit.registered && resolve(in, unit.region, date, &r) == 0) {
            day->policy = r.policy;
            day->admitted = admitted;
            day->designated = unit.designated;
            price(day, &r.settings, 0);
        }
        i = j;
    }
    if (out->n_days > 1) /* days may still be NULL: qsort(NULL, 0) is undefined */
        qsort(out->days, out->n_days, sizeof *out->days, day_cmp);
    rc = 0;
done:
    free(dd);
    free(ds);
    return rc;
}

/** @brief Totals up to @p d. */
void cl_rules_totals(const cl_rule_output_t *out, int32_t d, long *days, int64_t *subsidy_fen,
                     int64_t *perf_fen)
{
    *days = 0;
    *subsidy_fen = *perf_fen = 0;
    for (size_t i = 0; i < out->n_days && out->days[i].date <= d; i++) {
        (*days)++;
        *subsidy_fen += out->days[i].subsidy_fen;
        *perf_fen += out->days[i].perf_fen;
    }
    for (size_t i = 0; i < out->n_open; i++) {
        if (out->open[i].from > d)
            continue;
        long n = (long)(d - out->open[i].from + 1);
        *days += n;
        *subsidy_fen += n * out->open[i].subsidy_fen;
        *perf_fen += n * out->open[i].perf_fen;
    }
}
