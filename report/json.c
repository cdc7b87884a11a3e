/**
 * @file json.c
 * @brief The JSON contract of SPEC §8, written by hand so that the same model
 * always gives the same bytes (money as integer fen, coverage to 6 decimals).
 */
#include <stdio.h>

#include "careledger/buf.h"
#include "careledger/report.h"
#include "careledger/time.h"

/** @brief Append a JSON string. */
static void jstr(cl_buf_t *b, const char *s)
{
    cl_buf_putc(b, '"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            cl_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            cl_buf_printf(b, "\\u%04x", c);
        else
            cl_buf_putc(b, (char)c);
    }
    cl_buf_putc(b, '"');
}

/** @brief Append a number, or null when there is none (no limit set, no workers). */
static void jcount(cl_buf_t *b, int has, long long v)
{
    if (has)
        cl_buf_printf(b, "%lld", v);
    else
        cl_buf_puts(b, "null");
}

/** @brief Write the daily report's JSON. */
int cl_rpt_daily_json(const cl_rpt_daily_t *d, FILE *out)
{
    cl_buf_t b = {0};
    char date[CL_DATE_LEN];
    cl_buf_puts(&b, "{\"report\":\"daily\",\"jurisdiction\":");
    jstr(&b, d->region);
    cl_buf_puts(&b, ",\"date\":");
    jstr(&b, cl_date_format(d->date, date));
    cl_buf_puts(&b, ",\"policy\":");
    jstr(&b, d->policy->id);
    cl_buf_puts(&b, ",\"policy_title\":");
    jstr(&b, d->policy->title);
    cl_buf_puts(&b, ",\"watermark\":");
    if (d->watermark[0])
        jstr(&b, d->watermark);
    else
        cl_buf_puts(&b, "null");
    cl_buf_printf(&b,
                  ",\"kpi\":{\"frontline_workers\":%lld,\"active_workers\":%lld,"
                  "\"worker_days\":%lld,\"entitled_fen\":%lld,\"paid_fen\":%lld}",
                  d->frontline_workers, d->active_workers, d->worker_days,
                  (long long)d->entitled_fen, (long long)d->paid_fen);
    cl_buf_puts(&b, ",\"measures\":[");
    for (size_t i = 0; i < d->n_rows; i++) {
        const cl_rpt_row_t *r = &d->rows[i];
        cl_buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
        jstr(&b, r->track->id);
        cl_buf_puts(&b, ",\"no\":");
        jstr(&b, r->measure->no);
        cl_buf_puts(&b, ",\"title\":");
        jstr(&b, r->measure->title);
        cl_buf_puts(&b, ",\"kind\":");
        jstr(&b, cl_track_kind_name(r->track->kind));
        if (r->track->kind == CL_TRACK_STATUS) {
            cl_buf_puts(&b, ",\"eligible\":null,\"covered\":null,\"coverage\":null");
        } else {
            cl_buf_printf(&b, ",\"eligible\":%lld,\"covered\":%lld,\"coverage\":", r->eligible,
                          r->covered);
            if (cl_rpt_row_has_data(r))
                cl_buf_printf(&b, "%.6f", (double)r->covered / (double)r->eligible);
            else
                cl_buf_puts(&b, "null");
        }
        cl_buf_puts(&b, ",\"status\":");
        if (r->status[0])
            jstr(&b, r->status);
        else
            cl_buf_puts(&b, "null");
        cl_buf_putc(&b, '}');
    }
    cl_buf_puts(&b, "],\"compliance\":{\"long_shifts\":");
    jcount(&b, d->has_long_shifts, d->long_shifts);
    cl_buf_puts(&b, ",\"over_consecutive\":");
    jcount(&b, d->has_over_consecutive, d->over_consecutive);
    cl_buf_puts(&b, ",\"couples_same_day\":");
    jcount(&b, d->has_couples, d->couples_same_day);
    cl_buf_puts(&b, "},\"region_name\":");
    jstr(&b, d->region_name);
    cl_buf_printf(&b, ",\"legend\":[%d,%d],\"active_per_day\":[", d->legend[0], d->legend[1]);
    for (int i = 0; i < CL_RPT_SERIES_DAYS; i++) {
        cl_buf_puts(&b, i ? ",{\"date\":" : "{\"date\":");
        jstr(&b, cl_date_format(d->date - (CL_RPT_SERIES_DAYS - 1) + i, date));
        cl_buf_printf(&b, ",\"workers\":%lld}", d->active_series[i]);
    }
    cl_buf_puts(&b, "],\"lowest_units\":[");
    for (size_t i = 0; i < d->n_lows; i++) {
        const cl_rpt_low_t *l = &d->lows[i];
        cl_buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
        jstr(&b, l->row->track->id);
        cl_buf_puts(&b, ",\"unit_id\":");
        jstr(&b, l->unit_id);
        cl_buf_puts(&b, ",\"name\":");
        jstr(&b, l->name);
        cl_buf_printf(&b, ",\"eligible\":%lld,\"covered\":%lld,\"coverage\":%.6f}", l->eligible,
                      l->covered, (double)l->covered / (double)l->eligible);
    }
    cl_buf_puts(&b, "],\"data_quality\":[");
    for (size_t i = 0; i < d->n_quality; i++) {
        const cl_rpt_quality_t *q = &d->quality[i];
        cl_buf_puts(&b, i ? ",{\"problem\":" : "{\"problem\":");
        jstr(&b, q->problem);
        cl_buf_printf(&b, ",\"ids\":%lld,\"events\":%lld,\"first_seen\":", q->ids, q->events);
        if (q->first_seen != CL_RPT_NO_DATE)
            jstr(&b, cl_date_format(q->first_seen, date));
        else
            cl_buf_puts(&b, "null");
        cl_buf_putc(&b, '}');
    }
    cl_buf_puts(&b, "]}\n");
    int rc = b.oom || fwrite(b.p, 1, b.len, out) != b.len ? -1 : 0;
    cl_buf_free(&b);
    return rc;
}

/** @brief The money keys shared by a unit row and the totals. */
static void money_keys(cl_buf_t *b, const cl_rpt_money_t *m)
{
    cl_buf_printf(b,
                  "\"worker_days\":{\"direct\":%lld,\"other\":%lld,\"deployed\":%lld},"
                  "\"entitled_fen\":%lld,\"paid_fen\":%lld,\"arrears_fen\":%lld,"
                  "\"overpaid_fen\":%lld,\"performance_pay_fen\":%lld,"
                  "\"money_measures_fen\":%lld,\"budget\":[",
                  m->days_direct, m->days_other, m->days_deployed, (long long)m->entitled_fen,
                  (long long)m->paid_fen, (long long)m->arrears_fen, (long long)m->overpaid_fen,
                  (long long)m->performance_pay_fen, (long long)m->measures_fen);
    for (size_t i = 0; i < m->n_budgets; i++) {
        const cl_rpt_budget_t *bd = &m->budgets[i];
        cl_buf_puts(b, i ? ",{\"budget_id\":" : "{\"budget_id\":");
        jstr(b, bd->budget_id);
        cl_buf_puts(b, ",\"line\":");
        jstr(b, bd->line);
        cl_buf_printf(b, ",\"budget_fen\":%lld,\"paid_fen\":%lld,\"remaining_fen\":%lld",
                      (long long)bd->budget_fen, (long long)bd->paid_fen,
                      (long long)bd->remaining_fen);
        cl_buf_puts(b, ",\"scope\":");
        jstr(b, bd->scope);
        cl_buf_puts(b, ",\"funding\":");
        jstr(b, bd->funding);
        cl_buf_printf(b, ",\"burn_14d_fen\":%lld,\"over_budget\":%s,\"exhaustion\":",
                      (long long)bd->burn_fen, bd->over_budget ? "true" : "false");
        if (bd->exhaustion != CL_RPT_NO_DATE) {
            char day[CL_DATE_LEN];
            jstr(b, cl_date_format(bd->exhaustion, day));
        } else {
            cl_buf_puts(b, "null");
        }
        cl_buf_putc(b, '}');
    }
    cl_buf_putc(b, ']');
}

/** @brief Write the finance report's JSON. */
int cl_rpt_finance_json(const cl_rpt_finance_t *f, FILE *out)
{
    cl_buf_t b = {0};
    char month[CL_MONTH_LEN], date[CL_DATE_LEN];
    cl_buf_puts(&b, "{\"report\":\"finance\",\"jurisdiction\":");
    jstr(&b, f->region);
    cl_buf_puts(&b, ",\"month\":");
    jstr(&b, cl_month_format(f->month, month));
    cl_buf_puts(&b, ",\"date\":");
    jstr(&b, cl_date_format(f->date, date));
    cl_buf_puts(&b, ",\"units\":[");
    for (size_t i = 0; i < f->n_units; i++) {
        const cl_rpt_money_t *u = &f->units[i];
        cl_buf_puts(&b, i ? ",{\"unit_id\":" : "{\"unit_id\":");
        jstr(&b, u->unit_id);
        cl_buf_puts(&b, ",\"name\":");
        jstr(&b, u->name);
        cl_buf_puts(&b, ",\"region\":");
        jstr(&b, u->region);
        cl_buf_putc(&b, ',');
        money_keys(&b, u);
        cl_buf_putc(&b, '}');
    }
    cl_buf_puts(&b, "],\"totals\":{");
    money_keys(&b, &f->totals);
    cl_buf_puts(&b, "},\"region_name\":");
    jstr(&b, f->region_name);
    cl_buf_puts(&b, ",\"funding\":[");
    for (size_t i = 0; i < f->n_funding; i++) {
        cl_buf_puts(&b, i ? ",{\"funding\":" : "{\"funding\":");
        jstr(&b, f->funding[i].funding);
        cl_buf_printf(&b, ",\"paid_fen\":%lld,\"budget_fen\":%lld}",
                      (long long)f->funding[i].paid_fen, (long long)f->funding[i].budget_fen);
    }
    cl_buf_printf(&b, "],\"subsidy_budget_fen\":%lld,\"cumulative\":[",
                  (long long)f->subsidy_budget_fen);
    for (size_t i = 0; i < f->n_series; i++) {
        cl_buf_puts(&b, i ? ",{\"date\":" : "{\"date\":");
        jstr(&b, cl_date_format(f->series_from + (int32_t)i, date));
        cl_buf_printf(&b, ",\"entitled_fen\":%lld,\"paid_fen\":%lld}",
                      (long long)f->cum_entitled_fen[i], (long long)f->cum_paid_fen[i]);
    }
    cl_buf_puts(&b, "]}\n");
    int rc = b.oom || fwrite(b.p, 1, b.len, out) != b.len ? -1 : 0;
    cl_buf_free(&b);
    return rc;
}

/** @brief Write the comparison's JSON. */
int cl_rpt_compare_json(const cl_rpt_compare_t *c, FILE *out)
{
    cl_buf_t b = {0};
    char date[CL_DATE_LEN];
    cl_buf_puts(&b, "{\"report\":\"compare\",\"parent\":");
    jstr(&b, c->parent);
    cl_buf_puts(&b, ",\"parent_name\":");
    jstr(&b, c->parent_name);
    cl_buf_puts(&b, ",\"date\":");
    jstr(&b, cl_date_format(c->date, date));
    cl_buf_puts(&b, ",\"policy\":");
    jstr(&b, c->policy->id);
    cl_buf_puts(&b, ",\"regions\":[");
    for (size_t i = 0; i < c->n_regions; i++) {
        const cl_rpt_region_t *g = &c->regions[i];
        cl_buf_puts(&b, i ? ",{\"code\":" : "{\"code\":");
        jstr(&b, g->code);
        cl_buf_puts(&b, ",\"name\":");
        jstr(&b, g->name);
        cl_buf_printf(&b,
                      ",\"own_level\":%s,\"frontline_workers\":%lld,\"worker_days\":%lld,"
                      "\"entitled_fen\":%lld,\"paid_fen\":%lld,\"spend_fen\":%lld,"
                      "\"spend_per_worker_fen\":",
                      g->own_level ? "true" : "false", g->frontline_workers, g->worker_days,
                      (long long)g->entitled_fen, (long long)g->paid_fen, (long long)g->spend_fen);
        /* Spend over no workers is no figure, like 0 / 0 coverage (R6). */
        jcount(&b, g->frontline_workers > 0, (long long)g->spend_per_worker_fen);
        cl_buf_puts(&b, ",\"coverage\":{");
        for (size_t t = 0; t < c->n_tracks; t++) {
            if (t)
                cl_buf_putc(&b, ',');
            jstr(&b, c->tracks[t]->id);
            cl_buf_printf(&b, ":{\"eligible\":%lld,\"covered\":%lld}", g->eligible[t],
                          g->covered[t]);
        }
        cl_buf_puts(&b, "},\"median_days_to_pay\":");
        if (g->has_median)
            cl_buf_printf(&b, "%.1f", g->median_days);
        else
            cl_buf_puts(&b, "null");
        cl_buf_puts(&b, ",\"compliance\":{\"long_shifts\":");
        jcount(&b, g->has_long_shifts, g->long_shifts);
        cl_buf_puts(&b, ",\"over_consecutive\":");
        jcount(&b, g->has_over_consecutive, g->over_consecutive);
        cl_buf_puts(&b, ",\"couples_same_day\":");
        jcount(&b, g->has_couples, g->couples_same_day);
        cl_buf_printf(&b, "},\"rank\":%d}", g->rank);
    }
    cl_buf_puts(&b, "]}\n");
    int rc = b.oom || fwrite(b.p, 1, b.len, out) != b.len ? -1 : 0;
    cl_buf_free(&b);
    return rc;
}
