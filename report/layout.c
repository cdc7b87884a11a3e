/**
 * @file layout.c
 * @brief The three report models laid out as documents (doc.h) in Chinese or
 * English: what a reader sees, in which order, with which labels and colours.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/doc.h"
#include "careledger/layout.h"
#include "careledger/time.h"

/* Every label of the three reports: key, Chinese (default), English. */
static const struct label {
    const char *key, *zh, *en;
} LABELS[] = {
    {"daily", "每日覆盖台账", "Daily coverage ledger"},
    {"finance", "资金报表", "Finance statement"},
    {"compare", "地区对比", "District comparison"},
    {"region", "地区", "Region"},
    {"parent", "上级地区", "Parent region"},
    {"as_of", "截至日期", "As of"},
    {"month", "月份", "Month"},
    {"watermark", "数据截至", "Data up to"},
    {"no_data", "暂无数据", "no data yet"},
    {"policy", "政策", "Policy"},
    {"legend", "图例", "Legend"},
    {"legend_fmt", "低于 %d%% 红 · %d%%–%d%% 黄 · 不低于 %d%% 绿",
     "below %d%% red · %d%%–%d%% amber · %d%% and above green"},
    {"kpi_frontline", "一线人员（累计）", "Frontline workers to date"},
    {"kpi_active", "当日在岗", "Active on the day"},
    {"kpi_days", "人天", "Worker-days"},
    {"kpi_entitled", "临时性工作补助应发", "Subsidy entitled"},
    {"kpi_paid", "临时性工作补助已发", "Subsidy paid"},
    {"ledger", "工作台账", "Ledger"},
    {"c_no", "序号", "No."},
    {"c_item", "项目", "Item"},
    {"c_work", "工作内容", "Measure"},
    {"c_lead", "牵头单位", "Lead unit"},
    {"c_owner", "责任人", "Responsible"},
    {"c_deadline", "完成时限", "Deadline"},
    {"c_eligible", "应覆盖", "Eligible"},
    {"c_covered", "已覆盖", "Covered"},
    {"c_coverage", "覆盖率", "Coverage"},
    {"c_delta", "较昨日", "vs. yesterday"},
    {"c_status", "状态", "Status"},
    {"red", "滞后", "behind"},
    {"amber", "推进中", "in progress"},
    {"green", "达标", "on track"},
    {"planned", "计划中", "planned"},
    {"in_progress", "推进中", "in progress"},
    {"done", "已完成", "done"},
    {"ch_coverage", "各项措施覆盖率", "Coverage per measure"},
    {"target_fmt", "目标 %d%%", "Target %d%%"},
    {"ch_active", "近 30 天每日一线人员", "Frontline workers per day, last 30 days"},
    {"s_workers", "人数", "Workers"},
    {"lows", "覆盖率最低的单位（每项措施前 10 名）", "Lowest-coverage units (10 per measure)"},
    {"c_measure", "措施", "Measure"},
    {"c_unit", "单位", "Unit"},
    {"compliance", "合规情况", "Compliance"},
    {"c_rule", "规则", "Rule"},
    {"c_count", "次数", "Count"},
    {"long_fmt", "单班超过 %d 小时", "Shifts longer than %d hours"},
    {"consec_fmt", "连续工作超过 %d 天", "Runs longer than %d days"},
    {"couples", "夫妻同日在岗", "Couples on duty the same day"},
    {"no_limit", "政策未设限", "no limit in the policy"},
    {"quality", "数据质量（全库）", "Data quality (whole database)"},
    {"c_problem", "问题", "Problem"},
    {"c_ids", "编号数", "Ids"},
    {"c_events", "事件数", "Events"},
    {"c_first", "最早日期", "First seen"},
    {"unregistered_unit", "未登记的单位", "unregistered unit"},
    {"unregistered_worker", "未登记的人员", "unregistered worker"},
    {"unknown_family", "未知家庭", "unknown family"},
    {"unknown_unit_delivery", "发放给未登记单位", "delivery to an unregistered unit"},
    {"quality_none", "未发现数据质量问题。", "No data-quality problem found."},
    {"quality_note", "未登记的单位和人员无法归入地区，故按全库列出。",
     "Unregistered units and workers cannot be placed in a region, so this lists the whole "
     "database."},
    {"c_region_col", "地区", "Region"},
    {"c_days_direct", "人天（直接）", "Days direct"},
    {"c_days_other", "人天（其他）", "Days other"},
    {"c_days_deployed", "人天（支援）", "Days deployed"},
    {"c_entitled", "应发", "Entitled"},
    {"c_paid", "已发", "Paid"},
    {"c_arrears", "欠发", "Arrears"},
    {"c_overpaid", "多发", "Overpaid"},
    {"c_perf", "绩效工资应发", "Performance pay"},
    {"c_measures", "专项措施已发", "Measures paid"},
    {"total", "合计", "Total"},
    {"units", "各单位资金（元）", "Units (yuan)"},
    {"budgets", "预算执行", "Budgets"},
    {"c_budget_id", "预算编号", "Budget"},
    {"c_scope", "范围", "Scope"},
    {"c_line", "科目", "Line"},
    {"c_funding", "资金来源", "Funding"},
    {"c_budget", "预算", "Budget"},
    {"c_used", "已用", "Used"},
    {"c_remaining", "剩余", "Remaining"},
    {"c_used_pct", "使用率", "% used"},
    {"c_exhaustion", "预计用尽", "Runs out"},
    {"funding", "资金来源构成", "Funding sources"},
    {"c_paid_month", "本月已发", "Paid this month"},
    {"temp_subsidy", "临时性工作补助", "temporary subsidy"},
    {"condolence", "慰问金", "condolence"},
    {"family_condolence", "家属慰问金", "family condolence"},
    {"deployment_salary", "援派工资待遇", "deployment pay"},
    {"epidemic_allowance", "卫生防疫津贴", "epidemic allowance"},
    {"insurance", "保险", "insurance"},
    {"central", "中央", "central"},
    {"provincial", "省级", "provincial"},
    {"city", "市级", "city"},
    {"district", "区县级", "district"},
    {"performance_pay", "绩效工资", "performance pay"},
    {"kpi_arrears", "欠发", "Arrears"},
    {"kpi_overpaid", "多发", "Overpaid"},
    {"kpi_perf", "绩效工资应发", "Performance pay"},
    {"kpi_remaining", "预算剩余", "Budget remaining"},
    {"ch_cumulative", "累计应发、已发与预算（元）", "Cumulative entitled, paid and budget (yuan)"},
    {"s_entitled", "累计应发", "Entitled"},
    {"s_paid", "累计已发", "Paid"},
    {"s_budget", "补助预算", "Budget"},
    {"ch_arrears", "欠发最多的单位（元）", "Top units by arrears (yuan)"},
    {"s_arrears", "欠发", "Arrears"},
    {"no_arrears", "本月没有欠发。", "No arrears this month."},
    {"regions", "各地区对比", "Regions"},
    {"c_rank", "排名", "Rank"},
    {"c_code", "代码", "Code"},
    {"c_frontline", "一线人员", "Frontline workers"},
    {"c_days", "人天", "Worker-days"},
    {"c_ratio", "发放率", "Paid / entitled"},
    {"c_per_worker", "人均支出", "Spend per worker"},
    {"c_median", "支付中位天数", "Median days to pay"},
    {"c_long", "超时班次", "Long shifts"},
    {"c_consec", "连续超限", "Over-long runs"},
    {"c_couples", "夫妻同日", "Couples same day"},
    {"own_level", "本级", "own level"},
    {"kpi_regions", "地区数", "Regions"},
    {"coverage_by", "各地区各项措施覆盖率", "Coverage per measure and region"},
    {"ch_region_cov", "各地区覆盖率（全部可计数措施）",
     "Coverage by region (all countable measures)"},
    {"ch_heatmap", "措施 × 地区覆盖率", "Coverage, measure × region"},
    {"compare_note",
     "排名按已发与应发之比从高到低，无应发者列后，同值按代码；支付中位天数自当月最后一天起算。",
     "Ranked by paid / entitled, highest first; regions with nothing entitled last; ties by "
     "code. Days to pay count from the last day of the month worked."},
};

/** @brief The label of @p key in the document's language (the key itself if unknown). */
static const char *L(const cl_doc_t *doc, const char *key)
{
    int en = strcmp(doc->lang, "en") == 0;
    for (size_t i = 0; i < sizeof LABELS / sizeof LABELS[0]; i++)
        if (strcmp(LABELS[i].key, key) == 0)
            return en ? LABELS[i].en : LABELS[i].zh;
    return key;
}

/** @brief The legend band of covered / eligible, in exact integers. */
static cl_band_t band_of(long long covered, long long eligible, const int legend[2])
{
    if (eligible <= 0)
        return CL_BAND_NONE;
    if (covered * 100 < (long long)legend[0] * eligible)
        return CL_BAND_RED;
    if (covered * 100 < (long long)legend[1] * eligible)
        return CL_BAND_AMBER;
    return CL_BAND_GREEN;
}

/** @brief Strings joined by "、" into the document. */
static const char *joined(cl_doc_t *doc, char **v, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 3;
    char *s = malloc(len);
    if (!s) {
        doc->oom = 1;
        return "";
    }
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, "、");
        strcat(s, v[i]);
    }
    const char *r = cl_doc_str(doc, s);
    free(s);
    return r;
}

/** @brief The header facts every report starts with, and the created time. */
static void header(cl_doc_t *doc, const char *report, const char *name, const char *code,
                   int32_t date)
{
    char d[CL_DATE_LEN];
    cl_date_format(date, d);
    doc->subtitle = cl_doc_fmt(doc, "%s · %s · %s", L(doc, report), name, d);
    doc->created = (int64_t)date * 86400;
    cl_doc_add_fact(doc, L(doc, "region"),
                    strcmp(name, code) ? cl_doc_fmt(doc, "%s（%s）", name, code) : code);
}

/** @brief The ledger's label of a track: its measure's number, with the track's letter. */
static const char *track_no(cl_doc_t *doc, const cl_track_t *t)
{
    if (t->measure->n_tracks > 1)
        return cl_doc_fmt(doc, "%s%c", t->measure->no, 'a' + t->index);
    return t->measure->no;
}

/** @brief A track's title: its measure's, with the track's label when it has several. */
static const char *track_title(cl_doc_t *doc, const cl_track_t *t)
{
    if (t->measure->n_tracks > 1 && t->label)
        return cl_doc_fmt(doc, "%s（%s）", t->measure->title, t->label);
    return t->measure->title;
}

/** @brief The daily ledger table. */
static void daily_ledger(cl_doc_t *doc, const cl_rpt_daily_t *d)
{
    static const char *const keys[11] = {"c_no",       "c_item",     "c_work",     "c_lead",
                                         "c_owner",    "c_deadline", "c_eligible", "c_covered",
                                         "c_coverage", "c_delta",    "c_status"};
    static const cl_cell_kind_t kinds[11] = {
        CL_CELL_TEXT, CL_CELL_TEXT, CL_CELL_TEXT,  CL_CELL_TEXT,   CL_CELL_TEXT, CL_CELL_TEXT,
        CL_CELL_INT,  CL_CELL_INT,  CL_CELL_RATIO, CL_CELL_NUMBER, CL_CELL_TEXT};
    static const double widths[11] = {0.8, 1.3, 2.9, 1.6, 1.4, 1.1, 1, 1, 1, 1.1, 0.9};
    cl_doc_add_heading(doc, L(doc, "ledger"));
    cl_table_t *t = cl_doc_add_table(doc, "ledger", L(doc, "ledger"), 11);
    for (size_t i = 0; i < 11; i++)
        cl_doc_set_col(doc, t, i, L(doc, keys[i]), kinds[i], widths[i]);
    for (size_t i = 0; i < d->n_rows; i++) {
        const cl_rpt_row_t *r = &d->rows[i];
        const cl_measure_t *m = r->measure;
        cl_cell_t *c = cl_doc_add_row(doc, t, 0);
        if (!c)
            return;
        c[0] = cl_cell_text(doc, track_no(doc, r->track));
        c[1] = cl_cell_text(doc, m->item);
        c[2] = cl_cell_text(doc, track_title(doc, r->track));
        c[3] = cl_cell_text(doc, joined(doc, m->lead, m->n_lead));
        /* 责任人: the named owner (红桥's ledger), else the responsible units. */
        c[4] =
            cl_cell_text(doc, m->owner ? m->owner : joined(doc, m->responsible, m->n_responsible));
        c[5] = cl_cell_text(doc, m->deadline);
        if (r->track->kind == CL_TRACK_STATUS) {
            if (r->status[0])
                c[10] = cl_cell_text(doc, L(doc, r->status));
            c[10].band = strcmp(r->status, "done") == 0          ? CL_BAND_GREEN
                         : strcmp(r->status, "in_progress") == 0 ? CL_BAND_AMBER
                         : r->status[0]                          ? CL_BAND_RED
                                                                 : CL_BAND_NONE;
            continue;
        }
        c[6] = cl_cell_int(r->eligible);
        c[7] = cl_cell_int(r->covered);
        c[8] = cl_cell_ratio(r->covered, r->eligible);
        c[8].band = band_of(r->covered, r->eligible, d->legend);
        if (r->eligible > 0 && r->prev_eligible > 0)
            c[9] = cl_cell_number(100.0 * (double)r->covered / (double)r->eligible -
                                      100.0 * (double)r->prev_covered / (double)r->prev_eligible,
                                  1, 1);
        if (r->status[0]) {
            c[10] = cl_cell_text(doc, L(doc, r->status));
            c[10].band = c[8].band;
        }
    }
}

/** @brief The daily report's charts. */
static void daily_charts(cl_doc_t *doc, const cl_rpt_daily_t *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_rows; i++)
        n += cl_rpt_row_has_data(&d->rows[i]);
    cl_chart_t *ch =
        cl_doc_add_chart(doc, "coverage", L(doc, "ch_coverage"), CL_CHART_BARS, n ? n : 1, 1);
    if (!ch)
        return;
    size_t k = 0;
    for (size_t i = 0; i < d->n_rows; i++)
        if (cl_rpt_row_has_data(&d->rows[i])) {
            ch->x[k] = cl_doc_str(doc, d->rows[i].track->id);
            ch->series[0].v[k++] = (double)d->rows[i].covered / (double)d->rows[i].eligible;
        }
    if (!n)
        ch->x[0] = cl_doc_str(doc, L(doc, "no_data"));
    ch->series[0].name = L(doc, "c_coverage");
    ch->y_percent = 1;
    ch->has_target = 1;
    ch->target = d->legend[1] / 100.0;
    ch->target_label = cl_doc_fmt(doc, L(doc, "target_fmt"), d->legend[1]);

    ch =
        cl_doc_add_chart(doc, "active", L(doc, "ch_active"), CL_CHART_LINES, CL_RPT_SERIES_DAYS, 1);
    if (!ch)
        return;
    for (int i = 0; i < CL_RPT_SERIES_DAYS; i++) {
        char day[CL_DATE_LEN];
        ch->x[i] = cl_doc_str(doc, cl_date_format(d->date - (CL_RPT_SERIES_DAYS - 1) + i, day));
        ch->series[0].v[i] = (double)d->active_series[i];
    }
    ch->series[0].name = L(doc, "s_workers");
}

/** @brief The lowest-coverage units, the compliance counts and data quality. */
static void daily_sections(cl_doc_t *doc, const cl_rpt_daily_t *d)
{
    cl_doc_add_heading(doc, L(doc, "lows"));
    cl_table_t *t = cl_doc_add_table(doc, "lowest_units", L(doc, "lows"), 5);
    cl_doc_set_col(doc, t, 0, L(doc, "c_measure"), CL_CELL_TEXT, 1);
    cl_doc_set_col(doc, t, 1, L(doc, "c_unit"), CL_CELL_TEXT, 3);
    cl_doc_set_col(doc, t, 2, L(doc, "c_eligible"), CL_CELL_INT, 1);
    cl_doc_set_col(doc, t, 3, L(doc, "c_covered"), CL_CELL_INT, 1);
    cl_doc_set_col(doc, t, 4, L(doc, "c_coverage"), CL_CELL_RATIO, 1);
    for (size_t i = 0; i < d->n_lows; i++) {
        const cl_rpt_low_t *l = &d->lows[i];
        cl_cell_t *c = cl_doc_add_row(doc, t, 0);
        if (!c)
            return;
        c[0] = cl_cell_text(doc, l->row->track->id);
        c[1] = cl_cell_text(doc, l->name);
        c[2] = cl_cell_int(l->eligible);
        c[3] = cl_cell_int(l->covered);
        c[4] = cl_cell_ratio(l->covered, l->eligible);
        c[4].band = band_of(l->covered, l->eligible, d->legend);
    }

    cl_doc_add_heading(doc, L(doc, "compliance"));
    t = cl_doc_add_table(doc, "compliance", L(doc, "compliance"), 2);
    cl_doc_set_col(doc, t, 0, L(doc, "c_rule"), CL_CELL_TEXT, 4);
    cl_doc_set_col(doc, t, 1, L(doc, "c_count"), CL_CELL_INT, 1);
    struct {
        const char *label;
        int has;
        long long n;
    } rules[3] = {
        {d->has_long_shifts ? cl_doc_fmt(doc, L(doc, "long_fmt"), d->shift_max_hours)
                            : L(doc, "c_long"),
         d->has_long_shifts, d->long_shifts},
        {d->has_over_consecutive ? cl_doc_fmt(doc, L(doc, "consec_fmt"), d->max_consecutive_days)
                                 : L(doc, "c_consec"),
         d->has_over_consecutive, d->over_consecutive},
        {L(doc, "couples"), d->has_couples, d->couples_same_day},
    };
    for (int i = 0; i < 3; i++) {
        cl_cell_t *c = cl_doc_add_row(doc, t, 0);
        if (!c)
            return;
        if (!rules[i].has) {
            c[0] =
                cl_cell_text(doc, cl_doc_fmt(doc, "%s（%s）", rules[i].label, L(doc, "no_limit")));
            continue;
        }
        c[0] = cl_cell_text(doc, rules[i].label);
        c[1] = cl_cell_int(rules[i].n);
        c[1].band = rules[i].n > 0 ? CL_BAND_RED : CL_BAND_GREEN;
    }

    cl_doc_add_heading(doc, L(doc, "quality"));
    t = cl_doc_add_table(doc, "data_quality", L(doc, "quality"), 4);
    cl_doc_set_col(doc, t, 0, L(doc, "c_problem"), CL_CELL_TEXT, 3);
    cl_doc_set_col(doc, t, 1, L(doc, "c_ids"), CL_CELL_INT, 1);
    cl_doc_set_col(doc, t, 2, L(doc, "c_events"), CL_CELL_INT, 1);
    cl_doc_set_col(doc, t, 3, L(doc, "c_first"), CL_CELL_DATE, 1.3);
    for (size_t i = 0; i < d->n_quality; i++) {
        cl_cell_t *c = cl_doc_add_row(doc, t, 0);
        if (!c)
            return;
        c[0] = cl_cell_text(doc, L(doc, d->quality[i].problem));
        c[1] = cl_cell_int(d->quality[i].ids);
        c[2] = cl_cell_int(d->quality[i].events);
        if (d->quality[i].first_seen != CL_RPT_NO_DATE)
            c[3] = cl_cell_date(d->quality[i].first_seen);
    }
    cl_doc_add_text(doc, L(doc, d->n_quality ? "quality_note" : "quality_none"));
}

/** @brief Lay out the daily ledger. */
cl_doc_t *cl_layout_daily(const cl_rpt_daily_t *d, const char *lang)
{
    cl_doc_t *doc = cl_doc_create("daily", lang);
    if (!doc)
        return NULL;
    char day[CL_DATE_LEN];
    cl_date_format(d->date, day);
    doc->basename = cl_doc_fmt(doc, "daily-%s-%s", d->region, day);
    doc->title = cl_doc_str(doc, d->policy->title);
    header(doc, "daily", d->region_name, d->region, d->date);
    cl_doc_add_fact(doc, L(doc, "as_of"), day);
    cl_doc_add_fact(doc, L(doc, "watermark"), d->watermark[0] ? d->watermark : L(doc, "no_data"));
    cl_doc_add_fact(doc, L(doc, "policy"),
                    cl_doc_fmt(doc, "%s（%s）", d->policy->id, d->policy->issuer));
    cl_doc_add_fact(doc, L(doc, "legend"),
                    cl_doc_fmt(doc, L(doc, "legend_fmt"), d->legend[0], d->legend[0], d->legend[1],
                               d->legend[1]));
    cl_doc_add_kpi(doc, L(doc, "kpi_frontline"), cl_cell_int(d->frontline_workers));
    cl_doc_add_kpi(doc, L(doc, "kpi_active"), cl_cell_int(d->active_workers));
    cl_doc_add_kpi(doc, L(doc, "kpi_days"), cl_cell_int(d->worker_days));
    cl_doc_add_kpi(doc, L(doc, "kpi_entitled"), cl_cell_money(d->entitled_fen));
    cl_doc_add_kpi(doc, L(doc, "kpi_paid"), cl_cell_money(d->paid_fen));
    daily_ledger(doc, d);
    daily_charts(doc, d);
    daily_sections(doc, d);
    if (doc->oom) {
        cl_doc_destroy(doc);
        return NULL;
    }
    return doc;
}

/** @brief One money row of the finance units table. */
static void money_row(cl_doc_t *doc, cl_table_t *t, const cl_rpt_money_t *m, const char *name,
                      const char *region, int flags)
{
    cl_cell_t *c = cl_doc_add_row(doc, t, flags);
    if (!c)
        return;
    c[0] = cl_cell_text(doc, name);
    c[1] = cl_cell_text(doc, region);
    c[2] = cl_cell_int(m->days_direct);
    c[3] = cl_cell_int(m->days_other);
    c[4] = cl_cell_int(m->days_deployed);
    c[5] = cl_cell_money(m->entitled_fen);
    c[6] = cl_cell_money(m->paid_fen);
    c[7] = cl_cell_money(m->arrears_fen);
    if (m->arrears_fen > 0)
        c[7].band = CL_BAND_RED;
    c[8] = cl_cell_money(m->overpaid_fen);
    if (m->overpaid_fen > 0)
        c[8].band = CL_BAND_AMBER;
    c[9] = cl_cell_money(m->performance_pay_fen);
    c[10] = cl_cell_money(m->measures_fen);
}

/** @brief The finance budgets and funding tables. */
static void finance_budgets(cl_doc_t *doc, const cl_rpt_finance_t *f)
{
    static const char *const keys[9] = {"c_budget_id", "c_scope",    "c_line",
                                        "c_funding",   "c_budget",   "c_used",
                                        "c_remaining", "c_used_pct", "c_exhaustion"};
    static const cl_cell_kind_t kinds[9] = {CL_CELL_TEXT,  CL_CELL_TEXT,  CL_CELL_TEXT,
                                            CL_CELL_TEXT,  CL_CELL_MONEY, CL_CELL_MONEY,
                                            CL_CELL_MONEY, CL_CELL_RATIO, CL_CELL_DATE};
    static const double widths[9] = {1.9, 1.2, 1.5, 0.9, 1.4, 1.4, 1.4, 0.9, 1.3};
    cl_doc_add_heading(doc, L(doc, "budgets"));
    cl_table_t *t = cl_doc_add_table(doc, "budgets", L(doc, "budgets"), 9);
    for (size_t i = 0; i < 9; i++)
        cl_doc_set_col(doc, t, i, L(doc, keys[i]), kinds[i], widths[i]);
    for (size_t i = 0; i < f->totals.n_budgets; i++) {
        const cl_rpt_budget_t *b = &f->totals.budgets[i];
        cl_cell_t *c = cl_doc_add_row(doc, t, 0);
        if (!c)
            return;
        c[0] = cl_cell_text(doc, b->budget_id);
        c[1] = cl_cell_text(doc, b->scope);
        c[2] = cl_cell_text(doc, L(doc, b->line));
        c[3] = cl_cell_text(doc, L(doc, b->funding));
        c[4] = cl_cell_money(b->budget_fen);
        c[5] = cl_cell_money(b->paid_fen);
        c[6] = cl_cell_money(b->remaining_fen);
        if (b->over_budget)
            c[6].band = CL_BAND_RED;
        c[7] = cl_cell_ratio(b->paid_fen, b->budget_fen);
        /* Used share: green with room left, amber from 80%, red when over. */
        c[7].band = b->over_budget                            ? CL_BAND_RED
                    : b->paid_fen * 100 >= 80 * b->budget_fen ? CL_BAND_AMBER
                                                              : CL_BAND_GREEN;
        if (b->exhaustion != CL_RPT_NO_DATE)
            c[8] = cl_cell_date(b->exhaustion);
    }
    cl_doc_add_heading(doc, L(doc, "funding"));
    t = cl_doc_add_table(doc, "funding", L(doc, "funding"), 3);
    cl_doc_set_col(doc, t, 0, L(doc, "c_funding"), CL_CELL_TEXT, 2);
    cl_doc_set_col(doc, t, 1, L(doc, "c_paid_month"), CL_CELL_MONEY, 1.5);
    cl_doc_set_col(doc, t, 2, L(doc, "c_budget"), CL_CELL_MONEY, 1.5);
    for (size_t i = 0; i < f->n_funding; i++) {
        cl_cell_t *c = cl_doc_add_row(doc, t, 0);
        if (!c)
            return;
        c[0] = cl_cell_text(doc, L(doc, f->funding[i].funding));
        c[1] = cl_cell_money(f->funding[i].paid_fen);
        c[2] = cl_cell_money(f->funding[i].budget_fen);
    }
}

/** @brief Units in descending arrears order (then by id). */
static int by_arrears_cb(const void *a, const void *b)
{
    const cl_rpt_money_t *x = *(const cl_rpt_money_t *const *)a;
    const cl_rpt_money_t *y = *(const cl_rpt_money_t *const *)b;
    if (x->arrears_fen != y->arrears_fen)
        return x->arrears_fen > y->arrears_fen ? -1 : 1;
    return strcmp(x->unit_id, y->unit_id);
}

/** @brief The finance charts. */
static void finance_charts(cl_doc_t *doc, const cl_rpt_finance_t *f)
{
    cl_chart_t *ch = cl_doc_add_chart(doc, "cumulative", L(doc, "ch_cumulative"), CL_CHART_LINES,
                                      f->n_series ? f->n_series : 1, 3);
    if (!ch)
        return;
    for (size_t i = 0; i < f->n_series; i++) {
        char day[CL_DATE_LEN];
        ch->x[i] = cl_doc_str(doc, cl_date_format(f->series_from + (int32_t)i, day));
        ch->series[0].v[i] = (double)f->cum_entitled_fen[i] / 100.0;
        ch->series[1].v[i] = (double)f->cum_paid_fen[i] / 100.0;
        ch->series[2].v[i] = (double)f->subsidy_budget_fen / 100.0;
    }
    ch->series[0].name = L(doc, "s_entitled");
    ch->series[1].name = L(doc, "s_paid");
    ch->series[2].name = L(doc, "s_budget");
    ch->y_money = 1;

    const cl_rpt_money_t **order = calloc(f->n_units + 1, sizeof *order);
    if (!order) {
        doc->oom = 1;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < f->n_units; i++)
        if (f->units[i].arrears_fen > 0)
            order[n++] = &f->units[i];
    qsort(order, n, sizeof *order, by_arrears_cb);
    if (n > 10)
        n = 10;
    if (n) {
        ch = cl_doc_add_chart(doc, "arrears", L(doc, "ch_arrears"), CL_CHART_HBARS, n, 1);
        for (size_t i = 0; ch && i < n; i++) {
            ch->x[i] = cl_doc_str(doc, order[i]->name);
            ch->series[0].v[i] = (double)order[i]->arrears_fen / 100.0;
        }
        if (ch) {
            ch->series[0].name = L(doc, "s_arrears");
            ch->y_money = 1;
        }
    } else {
        cl_doc_add_text(doc, L(doc, "no_arrears"));
    }
    free(order);
}

/** @brief Lay out the finance statement. */
cl_doc_t *cl_layout_finance(const cl_rpt_finance_t *f, const char *lang)
{
    cl_doc_t *doc = cl_doc_create("finance", lang);
    if (!doc)
        return NULL;
    char day[CL_DATE_LEN], month[CL_MONTH_LEN];
    cl_date_format(f->date, day);
    cl_month_format(f->month, month);
    doc->basename = cl_doc_fmt(doc, "finance-%s-%s-%s", f->region, month, day);
    doc->title = cl_doc_fmt(doc, "%s %s %s", f->region_name, month, L(doc, "finance"));
    header(doc, "finance", f->region_name, f->region, f->date);
    cl_doc_add_fact(doc, L(doc, "month"), month);
    cl_doc_add_fact(doc, L(doc, "as_of"), day);
    const cl_rpt_money_t *tt = &f->totals;
    int64_t remaining = 0;
    for (size_t i = 0; i < tt->n_budgets; i++)
        remaining += tt->budgets[i].remaining_fen;
    cl_doc_add_kpi(doc, L(doc, "kpi_entitled"), cl_cell_money(tt->entitled_fen));
    cl_doc_add_kpi(doc, L(doc, "kpi_paid"), cl_cell_money(tt->paid_fen));
    cl_doc_add_kpi(doc, L(doc, "kpi_arrears"), cl_cell_money(tt->arrears_fen));
    cl_doc_add_kpi(doc, L(doc, "kpi_overpaid"), cl_cell_money(tt->overpaid_fen));
    cl_doc_add_kpi(doc, L(doc, "kpi_perf"), cl_cell_money(tt->performance_pay_fen));
    cl_doc_add_kpi(doc, L(doc, "kpi_remaining"), cl_cell_money(remaining));

    static const char *const keys[11] = {
        "c_unit", "c_region_col", "c_days_direct", "c_days_other", "c_days_deployed", "c_entitled",
        "c_paid", "c_arrears",    "c_overpaid",    "c_perf",       "c_measures"};
    static const cl_cell_kind_t kinds[11] = {
        CL_CELL_TEXT,  CL_CELL_TEXT,  CL_CELL_INT,   CL_CELL_INT,   CL_CELL_INT,  CL_CELL_MONEY,
        CL_CELL_MONEY, CL_CELL_MONEY, CL_CELL_MONEY, CL_CELL_MONEY, CL_CELL_MONEY};
    static const double widths[11] = {2.0, 1.05, 0.75, 0.75, 0.75, 1.4, 1.4, 1.35, 1.2, 1.35, 1.35};
    cl_doc_add_heading(doc, L(doc, "units"));
    cl_table_t *t = cl_doc_add_table(doc, "units", L(doc, "units"), 11);
    for (size_t i = 0; i < 11; i++)
        cl_doc_set_col(doc, t, i, L(doc, keys[i]), kinds[i], widths[i]);
    for (size_t i = 0; i < f->n_units; i++)
        money_row(doc, t, &f->units[i], f->units[i].name, f->units[i].region, 0);
    money_row(doc, t, tt, L(doc, "total"), f->region, CL_ROW_TOTAL);
    finance_budgets(doc, f);
    finance_charts(doc, f);
    if (doc->oom) {
        cl_doc_destroy(doc);
        return NULL;
    }
    return doc;
}

/** @brief A region's display name: "本级" for the parent's own units. */
static const char *region_label(cl_doc_t *doc, const cl_rpt_compare_t *c, const cl_rpt_region_t *g)
{
    if (g->own_level)
        return cl_doc_fmt(doc, "%s%s", c->parent_name, L(doc, "own_level"));
    return g->name;
}

/** @brief The comparison's regions table. */
static void compare_regions(cl_doc_t *doc, const cl_rpt_compare_t *c)
{
    static const char *const keys[13] = {
        "c_rank",  "c_region_col", "c_code",   "c_frontline", "c_days",   "c_entitled", "c_paid",
        "c_ratio", "c_per_worker", "c_median", "c_long",      "c_consec", "c_couples"};
    static const cl_cell_kind_t kinds[13] = {
        CL_CELL_INT,   CL_CELL_TEXT,  CL_CELL_TEXT,  CL_CELL_INT,   CL_CELL_INT,
        CL_CELL_MONEY, CL_CELL_MONEY, CL_CELL_RATIO, CL_CELL_MONEY, CL_CELL_NUMBER,
        CL_CELL_INT,   CL_CELL_INT,   CL_CELL_INT};
    static const double widths[13] = {0.6, 1.8, 1, 1, 1, 1.4, 1.4, 0.9, 1.1, 0.9, 0.8, 0.8, 0.8};
    cl_doc_add_heading(doc, L(doc, "regions"));
    cl_table_t *t = cl_doc_add_table(doc, "regions", L(doc, "regions"), 13);
    for (size_t i = 0; i < 13; i++)
        cl_doc_set_col(doc, t, i, L(doc, keys[i]), kinds[i], widths[i]);
    for (size_t i = 0; i < c->n_regions; i++) {
        const cl_rpt_region_t *g = &c->regions[i];
        cl_cell_t *x = cl_doc_add_row(doc, t, 0);
        if (!x)
            return;
        x[0] = cl_cell_int(g->rank);
        x[1] = cl_cell_text(doc, region_label(doc, c, g));
        x[2] = cl_cell_text(doc, g->code);
        x[3] = cl_cell_int(g->frontline_workers);
        x[4] = cl_cell_int(g->worker_days);
        x[5] = cl_cell_money(g->entitled_fen);
        x[6] = cl_cell_money(g->paid_fen);
        x[7] = cl_cell_ratio(g->paid_fen, g->entitled_fen);
        x[7].band = band_of(g->paid_fen, g->entitled_fen, c->legend);
        if (g->frontline_workers > 0) /* else "—": spend over no workers is no figure */
            x[8] = cl_cell_money(g->spend_per_worker_fen);
        if (g->has_median)
            x[9] = cl_cell_number(g->median_days, 1, 0);
        if (g->has_long_shifts)
            x[10] = cl_cell_int(g->long_shifts);
        if (g->has_over_consecutive)
            x[11] = cl_cell_int(g->over_consecutive);
        if (g->has_couples)
            x[12] = cl_cell_int(g->couples_same_day);
    }
}

/** @brief Lay out the district comparison. */
cl_doc_t *cl_layout_compare(const cl_rpt_compare_t *c, const char *lang)
{
    cl_doc_t *doc = cl_doc_create("compare", lang);
    if (!doc)
        return NULL;
    char day[CL_DATE_LEN];
    cl_date_format(c->date, day);
    doc->basename = cl_doc_fmt(doc, "compare-%s-%s", c->parent, day);
    doc->title = cl_doc_fmt(doc, "%s %s", c->parent_name, L(doc, "compare"));
    doc->subtitle = cl_doc_fmt(doc, "%s · %s · %s", L(doc, "compare"), c->parent_name, day);
    doc->created = (int64_t)c->date * 86400;
    cl_doc_add_fact(doc, L(doc, "parent"), cl_doc_fmt(doc, "%s（%s）", c->parent_name, c->parent));
    cl_doc_add_fact(doc, L(doc, "as_of"), day);
    cl_doc_add_fact(doc, L(doc, "policy"),
                    cl_doc_fmt(doc, "%s（%s）", c->policy->id, c->policy->issuer));
    long long fl = 0;
    int64_t ent = 0, paid = 0;
    for (size_t i = 0; i < c->n_regions; i++) {
        fl += c->regions[i].frontline_workers;
        ent += c->regions[i].entitled_fen;
        paid += c->regions[i].paid_fen;
    }
    cl_doc_add_kpi(doc, L(doc, "kpi_regions"), cl_cell_int((int64_t)c->n_regions));
    cl_doc_add_kpi(doc, L(doc, "c_frontline"), cl_cell_int(fl));
    cl_doc_add_kpi(doc, L(doc, "kpi_entitled"), cl_cell_money(ent));
    cl_doc_add_kpi(doc, L(doc, "kpi_paid"), cl_cell_money(paid));
    compare_regions(doc, c);
    cl_doc_add_text(doc, L(doc, "compare_note"));

    /* Coverage of all countable measures per region, then measure × region. */
    cl_chart_t *ch = cl_doc_add_chart(doc, "coverage_by_region", L(doc, "ch_region_cov"),
                                      CL_CHART_BARS, c->n_regions ? c->n_regions : 1, 1);
    for (size_t i = 0; ch && i < c->n_regions; i++) {
        long long e = 0, v = 0;
        for (size_t k = 0; k < c->n_tracks; k++) {
            e += c->regions[i].eligible[k];
            v += c->regions[i].covered[k];
        }
        ch->x[i] = region_label(doc, c, &c->regions[i]);
        ch->series[0].v[i] = e ? (double)v / (double)e : NAN;
    }
    if (ch) {
        if (!c->n_regions)
            ch->x[0] = L(doc, "no_data");
        ch->series[0].name = L(doc, "c_coverage");
        ch->y_percent = 1;
        ch->has_target = 1;
        ch->target = c->legend[1] / 100.0;
        ch->target_label = cl_doc_fmt(doc, L(doc, "target_fmt"), c->legend[1]);
    }
    ch = cl_doc_add_chart(doc, "heatmap", L(doc, "ch_heatmap"), CL_CHART_HEATMAP,
                          c->n_tracks ? c->n_tracks : 1, c->n_regions);
    for (size_t k = 0; ch && k < c->n_tracks; k++)
        ch->x[k] = cl_doc_str(doc, c->tracks[k]->id);
    for (size_t i = 0; ch && i < c->n_regions; i++) {
        ch->series[i].name = region_label(doc, c, &c->regions[i]);
        for (size_t k = 0; k < c->n_tracks; k++)
            if (c->regions[i].eligible[k] > 0)
                ch->series[i].v[k] =
                    (double)c->regions[i].covered[k] / (double)c->regions[i].eligible[k];
    }
    if (ch)
        ch->y_percent = 1;

    cl_doc_add_heading(doc, L(doc, "coverage_by"));
    cl_table_t *t = cl_doc_add_table(doc, "coverage", L(doc, "coverage_by"), 6);
    cl_doc_set_col(doc, t, 0, L(doc, "c_measure"), CL_CELL_TEXT, 1);
    cl_doc_set_col(doc, t, 1, L(doc, "c_work"), CL_CELL_TEXT, 3.5);
    cl_doc_set_col(doc, t, 2, L(doc, "c_region_col"), CL_CELL_TEXT, 1.8);
    cl_doc_set_col(doc, t, 3, L(doc, "c_eligible"), CL_CELL_INT, 1);
    cl_doc_set_col(doc, t, 4, L(doc, "c_covered"), CL_CELL_INT, 1);
    cl_doc_set_col(doc, t, 5, L(doc, "c_coverage"), CL_CELL_RATIO, 1);
    for (size_t k = 0; k < c->n_tracks; k++)
        for (size_t i = 0; i < c->n_regions; i++) {
            cl_cell_t *x = cl_doc_add_row(doc, t, 0);
            if (!x)
                break;
            const cl_rpt_region_t *g = &c->regions[i];
            x[0] = cl_cell_text(doc, c->tracks[k]->id);
            x[1] = cl_cell_text(doc, track_title(doc, c->tracks[k]));
            x[2] = cl_cell_text(doc, region_label(doc, c, g));
            x[3] = cl_cell_int(g->eligible[k]);
            x[4] = cl_cell_int(g->covered[k]);
            x[5] = cl_cell_ratio(g->covered[k], g->eligible[k]);
            x[5].band = band_of(g->covered[k], g->eligible[k], c->legend);
        }
    if (doc->oom) {
        cl_doc_destroy(doc);
        return NULL;
    }
    return doc;
}
