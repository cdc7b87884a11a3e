/**
 * @file docsample.c
 * @brief The renderers' sample document.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "docsample.h"

/** @brief Build the sample. */
cl_doc_t *cl_test_sample_doc(size_t n_units, const char *lang)
{
    int en = strcmp(lang, "en") == 0;
    cl_doc_t *doc = cl_doc_create("daily", lang);
    if (!doc)
        return NULL;
    doc->basename = cl_doc_str(doc, "sample-220000-2020-03-01");
    doc->title = cl_doc_str(doc, "关于关心关爱疫情防控一线医务人员的若干措施");
    doc->subtitle = cl_doc_str(doc, en ? "Daily coverage ledger · 吉林省 · 2020-03-01"
                                       : "每日覆盖台账 · 吉林省 · 2020-03-01");
    doc->created = 18322LL * 86400; /* 2020-03-01T00:00:00Z */
    doc->generated_at = 1795000000;
    cl_doc_add_fact(doc, en ? "Region" : "地区", "吉林省 (220000)");
    cl_doc_add_fact(doc, en ? "As of" : "截至", "2020-03-01");
    cl_doc_add_fact(doc, en ? "Data up to" : "数据截至", "2020-03-01T23:10:00Z");
    cl_doc_add_kpi(doc, en ? "Frontline workers" : "一线人员", cl_cell_int(12345));
    cl_doc_add_kpi(doc, en ? "Entitled" : "应发补助", cl_cell_money(123456789));
    cl_doc_add_kpi(doc, en ? "Coverage" : "覆盖率", cl_cell_ratio(857, 1000));

    cl_doc_add_heading(doc, en ? "Ledger" : "工作台账");
    cl_table_t *t = cl_doc_add_table(doc, "ledger", en ? "Ledger" : "工作台账", 7);
    const char *h[7] = {"序号", "项目", "牵头单位", "应覆盖", "已覆盖", "覆盖率", "较昨日"};
    cl_cell_kind_t k[7] = {CL_CELL_TEXT, CL_CELL_TEXT,  CL_CELL_TEXT,  CL_CELL_INT,
                           CL_CELL_INT,  CL_CELL_RATIO, CL_CELL_NUMBER};
    double w[7] = {0.6, 4, 2, 1, 1, 1, 1};
    for (size_t i = 0; i < 7; i++)
        cl_doc_set_col(doc, t, i, h[i], k[i], w[i]);
    const char *titles[4] = {"发放临时性工作补助，并在一线医务人员中按标准发放卫生防疫津贴",
                             "落实一线医务人员带薪休假制度", "子女入学", "心理疏导"};
    long long el[4] = {1200, 300, 0, 50}, cv[4] = {1100, 150, 0, 10};
    cl_band_t bands[4] = {CL_BAND_GREEN, CL_BAND_AMBER, CL_BAND_NONE, CL_BAND_RED};
    for (int i = 0; i < 4; i++) {
        cl_cell_t *c = cl_doc_add_row(doc, t, 0);
        c[0] = cl_cell_text(doc, i == 1 ? "2a" : (char[]){(char)('1' + i), 0});
        c[1] = cl_cell_text(doc, titles[i]);
        c[2] = cl_cell_text(doc, "省卫生健康委、省人力资源社会保障厅");
        c[3] = cl_cell_int(el[i]);
        c[4] = cl_cell_int(cv[i]);
        c[5] = cl_cell_ratio(cv[i], el[i]);
        c[5].band = bands[i];
        c[6] = el[i] ? cl_cell_number(i == 0 ? 1.25 : -0.5, 1, 1) : (cl_cell_t){0};
    }

    cl_doc_add_heading(doc, en ? "Units" : "各单位");
    t = cl_doc_add_table(doc, "units", en ? "Units" : "各单位资金", 5);
    cl_doc_set_col(doc, t, 0, en ? "Unit" : "单位", CL_CELL_TEXT, 3);
    cl_doc_set_col(doc, t, 1, en ? "Date" : "日期", CL_CELL_DATE, 1.2);
    cl_doc_set_col(doc, t, 2, en ? "Entitled" : "应发", CL_CELL_MONEY, 1.5);
    cl_doc_set_col(doc, t, 3, en ? "Paid" : "已发", CL_CELL_MONEY, 1.5);
    cl_doc_set_col(doc, t, 4, en ? "Worker-days" : "人天", CL_CELL_INT, 1);
    long long te = 0, tp = 0, td = 0;
    for (size_t i = 1; i <= n_units; i++) {
        cl_cell_t *c = cl_doc_add_row(doc, t, 0);
        char name[32];
        snprintf(name, sizeof name, "单位%zu", i);
        c[0] = cl_cell_text(doc, name);
        c[1] = cl_cell_date(18322);
        c[2] = cl_cell_money((long long)i * 123456);
        c[3] = cl_cell_money((long long)i * 100000);
        c[4] = cl_cell_int((long long)i);
        te += (long long)i * 123456;
        tp += (long long)i * 100000;
        td += (long long)i;
    }
    cl_cell_t *c = cl_doc_add_row(doc, t, CL_ROW_TOTAL);
    c[0] = cl_cell_text(doc, en ? "Total" : "合计");
    c[2] = cl_cell_money(te);
    c[3] = cl_cell_money(tp);
    c[4] = cl_cell_int(td);

    cl_chart_t *ch = cl_doc_add_chart(
        doc, "coverage", en ? "Coverage per measure" : "各项措施覆盖率", CL_CHART_BARS, 4, 1);
    for (int i = 0; i < 4; i++) {
        ch->x[i] = cl_doc_fmt(doc, "JL-%02d", i + 1);
        ch->series[0].v[i] = el[i] ? (double)cv[i] / (double)el[i] : NAN;
    }
    ch->series[0].name = cl_doc_str(doc, en ? "Coverage" : "覆盖率");
    ch->y_percent = 1;
    ch->has_target = 1;
    ch->target = 0.9;
    ch->target_label = cl_doc_str(doc, en ? "Target 90%" : "目标 90%");

    ch = cl_doc_add_chart(doc, "workers_per_day", en ? "Frontline workers per day" : "每日一线人员",
                          CL_CHART_LINES, 30, 1);
    for (int i = 0; i < 30; i++) {
        ch->x[i] = cl_doc_fmt(doc, "2020-02-%02d", i + 1 > 29 ? 29 : i + 1);
        ch->series[0].v[i] = 100 + 10 * i;
    }
    ch->x[29] = cl_doc_str(doc, "2020-03-01");
    ch->series[0].name = cl_doc_str(doc, en ? "Workers" : "人数");

    ch = cl_doc_add_chart(doc, "arrears", en ? "Top units by arrears" : "欠发最多的单位",
                          CL_CHART_HBARS, 3, 1);
    for (int i = 0; i < 3; i++) {
        ch->x[i] = cl_doc_fmt(doc, "单位%d", i + 1);
        ch->series[0].v[i] = 3000.5 - 1000 * i;
    }
    ch->y_money = 1;
    ch->series[0].name = cl_doc_str(doc, en ? "Arrears (yuan)" : "欠发（元）");

    ch = cl_doc_add_chart(doc, "heatmap", en ? "Coverage by region" : "各地区覆盖率",
                          CL_CHART_HEATMAP, 3, 2);
    for (int i = 0; i < 3; i++)
        ch->x[i] = cl_doc_fmt(doc, "JL-%02d", i + 1);
    ch->series[0].name = cl_doc_str(doc, "长春市");
    ch->series[1].name = cl_doc_str(doc, "吉林市");
    double hv[2][3] = {{0.95, 0.5, NAN}, {0.2, 1.0, 0.75}};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 3; i++)
            ch->series[s].v[i] = hv[s][i];
    ch->y_percent = 1;
    cl_doc_add_text(doc, en ? "Figures as of the date above." : "数据截至上述日期。");
    if (doc->oom) {
        cl_doc_destroy(doc);
        return NULL;
    }
    return doc;
}
