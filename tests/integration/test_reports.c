/**
 * @file test_reports.c
 * @brief `careledger report` end to end over a real database: every format,
 * the PDF read back with poppler (fonts, text, pages, rendering), figures of
 * the PDF equal to the JSON's, reproducible bytes, English labels, gnuplot
 * missing, the district comparison, the daemon's scheduled run, and a report's
 * statements on two sessions in one snapshot.
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "careledger/doc.h"
#include "careledger/pg.h"
#include "careledger/report_par.h"
#include "careledger/time.h"
#include "cltest.h"
#include "harness.h"

#define N_UNITS 300
#define ENV     "\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-01T08:00:00+08:00\""

static cl_it_t it;
static int ready;

/** @brief Run a shell command and return its stdout (malloc'd, NUL-terminated) or NULL. */
static char *run_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run_out(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 4096) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    int st = pclose(p);
    if (!buf)
        return NULL;
    buf[len] = '\0';
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/** @brief @p s with every whitespace byte removed, in place. */
static char *squeeze(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++)
        if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && *p != '\f')
            *o++ = *p;
    *o = '\0';
    return s;
}

/** @brief Run `careledger report ARGS --out DIR`; the exit status. */
static int report(const char *dir, const char *args)
{
    char a[1024];
    snprintf(a, sizeof a, "report %s --out '%s'", args, dir);
    return cl_it_cli(&it, a);
}

/** @brief Money in fen as the people formats show it ("12,400.00"). */
static const char *yuan(long long fen, char buf[48])
{
    cl_cell_t c = cl_cell_money(fen);
    return cl_cell_format(&c, CL_FMT_HUMAN, buf, 48);
}

/** @brief 1 when the two files have identical bytes. */
static int same_bytes(const char *a, const char *b)
{
    size_t la, lb;
    char *x = cl_test_slurp(a, &la), *y = cl_test_slurp(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/** @brief The province: two cities registered, 300 units, one worker each (two in city
 * 220200), shifts in February and a payment. */
static int build_province(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/province.jsonl", it.dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{" ENV ",\"event_id\":\"r1\",\"type\":\"region.registered\",\"code\":\"220100\","
               "\"name\":\"长春市\",\"parent\":\"220000\",\"level\":\"city\"}\n"
               "{" ENV ",\"event_id\":\"r2\",\"type\":\"region.registered\",\"code\":\"220200\","
               "\"name\":\"吉林市\",\"parent\":\"220000\",\"level\":\"city\"}\n"
               "{" ENV ",\"event_id\":\"r3\",\"type\":\"region.registered\",\"code\":\"220300\","
               "\"name\":\"四平市\",\"parent\":\"220000\",\"level\":\"city\"}\n");
    for (int u = 1; u <= N_UNITS; u++) {
        /* Units 1–200 in 长春 (220102), 201–300 in 吉林市 (220202); 四平 has none. */
        const char *region = u <= 200 ? "220102" : "220202";
        fprintf(f,
                "{" ENV ",\"event_id\":\"u%d\",\"type\":\"unit.registered\",\"unit_id\":\"U%03d\","
                "\"name\":\"吉林测试医院%03d\",\"region\":\"%s\",\"kind\":\"hospital\","
                "\"level\":\"county\"}\n",
                u, u, u, region);
        fprintf(f,
                "{" ENV ",\"event_id\":\"w%d\",\"type\":\"worker.registered\",\"worker_id\":"
                "\"W%03d\",\"unit_id\":\"U%03d\",\"role\":\"nurse\",\"staff\":\"contract\","
                "\"children\":0,\"elders\":0}\n",
                u, u, u);
        /* u direct days from 02-01 (at most 10): u × 300 yuan up to 3,000. */
        int days = u % 10 + 1;
        for (int d = 1; d <= days; d++)
            fprintf(f,
                    "{" ENV ",\"event_id\":\"s%d-%d\",\"type\":\"shift.completed\",\"worker_id\":"
                    "\"W%03d\",\"unit_id\":\"U%03d\",\"start\":\"2020-02-%02dT08:00:00+08:00\","
                    "\"end\":\"2020-02-%02dT16:00:00+08:00\",\"exposure\":\"direct\"}\n",
                    u, d, u, u, d, d);
        /* Units of 长春 pay February in full on 03-05; 吉林市 pays half, later. */
        long long fen = (long long)days * 30000;
        if (u > 200)
            fen /= 2;
        fprintf(f,
                "{" ENV ",\"event_id\":\"p%d\",\"type\":\"subsidy.paid\",\"worker_id\":\"W%03d\","
                "\"unit_id\":\"U%03d\",\"line\":\"temp_subsidy\",\"period\":\"2020-02\","
                "\"amount_fen\":%lld,\"date\":\"2020-03-%s\",\"funding\":\"provincial\"}\n",
                u, u, u, fen, u <= 200 ? "05" : "12");
    }
    fprintf(f, "{" ENV ",\"event_id\":\"b1\",\"type\":\"budget.allocated\",\"budget_id\":\"JL-B\","
               "\"scope\":\"220000\",\"line\":\"temp_subsidy\",\"amount_fen\":100000000,"
               "\"from\":\"2020-01-24\",\"to\":\"2020-12-31\",\"funding\":\"provincial\"}\n");
    fclose(f);
    char args[700];
    snprintf(args, sizeof args, "ingest-file '%s'", path);
    return cl_it_cli(&it, args);
}

/** @brief Set up the database once for every test of this file. */
static void setup_once(void)
{
    if (ready)
        return;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_reports", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(build_province(), 0);
    ready = 1;
}

/** @brief A JSON file parsed; NULL when it cannot be read or parsed. Owned by the caller
 * (cJSON_Delete). */
static cJSON *json_file(const char *path)
{
    char *s = cl_test_slurp(path, NULL);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    free(s);
    return j;
}

/** @brief A unit's figures from the finance JSON: name, entitled and paid. */
typedef struct unit_fig {
    char name[64];
    long long entitled, paid, arrears;
} unit_fig_t;

/** @brief Parse the finance JSON's units; the count, or -1. */
static int finance_units(const char *path, unit_fig_t *out, int max, long long *tot_ent,
                         long long *tot_paid, long long *tot_arrears)
{
    cJSON *j = json_file(path);
    if (!j)
        return -1;
    int n = 0;
    const cJSON *u;
    cJSON_ArrayForEach(u, cJSON_GetObjectItem(j, "units"))
    {
        if (n >= max)
            break;
        snprintf(out[n].name, sizeof out[n].name, "%s",
                 cJSON_GetObjectItem(u, "name")->valuestring);
        out[n].entitled = (long long)cJSON_GetObjectItem(u, "entitled_fen")->valuedouble;
        out[n].paid = (long long)cJSON_GetObjectItem(u, "paid_fen")->valuedouble;
        out[n].arrears = (long long)cJSON_GetObjectItem(u, "arrears_fen")->valuedouble;
        n++;
    }
    const cJSON *t = cJSON_GetObjectItem(j, "totals");
    *tot_ent = (long long)cJSON_GetObjectItem(t, "entitled_fen")->valuedouble;
    *tot_paid = (long long)cJSON_GetObjectItem(t, "paid_fen")->valuedouble;
    *tot_arrears = (long long)cJSON_GetObjectItem(t, "arrears_fen")->valuedouble;
    cJSON_Delete(j);
    return n;
}

/** @brief The finance statement in every format: files, bytes, PDF pages and figures. */
static void test_finance_all_formats(void)
{
    setup_once();
    char a[400], b[400], p[600], q[600];
    snprintf(a, sizeof a, "%s/fa", it.dir);
    snprintf(b, sizeof b, "%s/fb", it.dir);
    const char *args = "finance --region 220000 --date 2020-03-31 --month 2020-02 --format all";
    CU_ASSERT_EQUAL_FATAL(report(a, args), 0);
    CU_ASSERT_EQUAL_FATAL(report(b, args), 0);
    const char *base = "finance-220000-2020-02-2020-03-31";
    const char *same[] = {".json", ".xlsx", "-units.csv", "-budgets.csv", "-funding.csv"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        snprintf(p, sizeof p, "%s/%s%s", a, base, same[i]);
        snprintf(q, sizeof q, "%s/%s%s", b, base, same[i]);
        if (!same_bytes(p, q))
            fprintf(stderr, "\n  %s differs between two runs\n", same[i]);
        CU_ASSERT(same_bytes(p, q));
    }
    /* The HTML of two runs differs only in its generated-at line. */
    snprintf(p, sizeof p, "%s/%s.html", a, base);
    snprintf(q, sizeof q, "%s/%s.html", b, base);
    char *diff = run_out("diff '%s' '%s' | grep -c '^[<>]' || true", p, q);
    CU_ASSERT_PTR_NOT_NULL_FATAL(diff);
    CU_ASSERT(atoi(diff) <= 2);
    free(diff);

    /* The JSON: 300 units; totals = Σ days × 300 yuan entitled. */
    static unit_fig_t u[N_UNITS + 5];
    long long te, tp, ta, want_e = 0, want_p = 0, sum_a = 0;
    snprintf(p, sizeof p, "%s/%s.json", a, base);
    CU_ASSERT_EQUAL_FATAL(finance_units(p, u, N_UNITS + 5, &te, &tp, &ta), N_UNITS);
    /* Arrears (their own statement, merged by unit id): each unit's unpaid entitlement, in
     * its own row, a third of the units paid half. */
    int short_paid = 0;
    for (int k = 0; k < N_UNITS; k++) {
        CU_ASSERT_EQUAL(u[k].arrears, u[k].entitled - u[k].paid);
        short_paid += u[k].arrears > 0;
        sum_a += u[k].arrears;
    }
    CU_ASSERT_EQUAL(short_paid, N_UNITS - 200);
    CU_ASSERT_EQUAL(ta, sum_a);
    for (int k = 1; k <= N_UNITS; k++) {
        long long fen = (long long)(k % 10 + 1) * 30000;
        want_e += fen;
        want_p += k > 200 ? fen / 2 : fen;
    }
    CU_ASSERT_EQUAL(te, want_e);
    CU_ASSERT_EQUAL(tp, want_p);

    /* The PDF: the CJK font embedded, several pages, all rendered. */
    snprintf(p, sizeof p, "%s/%s.pdf", a, base);
    char *fonts = run_out("pdffonts '%s'", p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fonts);
    CU_ASSERT_PTR_NOT_NULL(strstr(fonts, "WenQuanYi"));
    int embedded = 0;
    for (char *line = strtok(fonts, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, "WenQuanYi") && strstr(line, " yes "))
            embedded = 1;
    CU_ASSERT(embedded);
    free(fonts);
    char *info = run_out("pdfinfo '%s' | sed -n 's/^Pages: *//p'", p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    int pages = atoi(info);
    free(info);
    CU_ASSERT(pages >= 5);
    char *pngs = run_out("cd '%s' && pdftoppm -r 30 -png '%s' pg && ls pg*.png | wc -l", a, p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pngs);
    CU_ASSERT_EQUAL(atoi(pngs), pages);
    free(pngs);

    /* Every unit's figures in the PDF's text equal the JSON's; the table header repeats
     * on every page the units table runs over. */
    char *text = run_out("pdftotext -raw '%s' -", p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    squeeze(text);
    char m1[48], m2[48];
    for (int k = 0; k < N_UNITS; k++) {
        char *at = strstr(text, u[k].name);
        CU_ASSERT_PTR_NOT_NULL(at);
        /* The row's money follows its name (arrears and other columns in between). */
        if (at) {
            CU_ASSERT_PTR_NOT_NULL(strstr(at, yuan(u[k].entitled, m1)));
            CU_ASSERT_PTR_NOT_NULL(strstr(at, yuan(u[k].paid, m2)));
        }
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(text, yuan(te, m1)));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, yuan(tp, m2)));
    free(text);
    int header_pages = 0, unit_pages = 0;
    for (int pg = 1; pg <= pages; pg++) {
        char *t = run_out("pdftotext -raw -f %d -l %d '%s' -", pg, pg, p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        squeeze(t);
        /* A page with unit rows (the arrears chart names units too, but has no region). */
        if (strstr(t, "吉林测试医院") && (strstr(t, "220102") || strstr(t, "220202"))) {
            unit_pages++;
            header_pages += strstr(t, "人天（直接）") && strstr(t, "应发") && strstr(t, "已发");
        }
        char foot[64];
        snprintf(foot, sizeof foot, "第%d页，共%d页", pg, pages);
        CU_ASSERT_PTR_NOT_NULL(strstr(t, foot));
        CU_ASSERT_PTR_NOT_NULL(strstr(t, "生成时间"));
        free(t);
    }
    CU_ASSERT(unit_pages >= 4);
    CU_ASSERT_EQUAL(header_pages, unit_pages);

    /* XLSX: the units sheet holds numbers, not strings, and a frozen header. */
    snprintf(p, sizeof p, "%s/%s.xlsx", a, base);
    char *sheets = run_out("unzip -p '%s' xl/workbook.xml", p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sheets);
    CU_ASSERT_PTR_NOT_NULL(strstr(sheets, "name=\"units\""));
    free(sheets);
    char *xml = run_out("unzip -p '%s' xl/worksheets/sheet2.xml", p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "ySplit=\"1\""));
    /* Unit 1: 2 days, 600.00 yuan entitled, as a number cell. */
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<v>600</v>"));
    free(xml);

    /* HTML: self-contained, with its charts inline. */
    snprintf(p, sizeof p, "%s/%s.html", a, base);
    char *html = cl_test_slurp(p, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<svg"));
    CU_ASSERT_PTR_NULL(strstr(html, "src="));
    CU_ASSERT_PTR_NULL(strstr(html, "<link"));
    CU_ASSERT_PTR_NULL(strstr(html, "<script"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "吉林测试医院300"));
    free(html);

    /* CSV: BOM, money in yuan with two decimals. */
    snprintf(p, sizeof p, "%s/%s-units.csv", a, base);
    char *csv = cl_test_slurp(p, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    CU_ASSERT_EQUAL(memcmp(csv, "\xEF\xBB\xBF", 3), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, "吉林测试医院001,220102,2,0,0,600.00,600.00,0.00,0.00,"));
    free(csv);
}

/** @brief The daily ledger: the PDF names the policy, 覆盖率 and every measure, and its
 * figures equal the JSON's; English labels with --lang en. */
static void test_daily_pdf_matches_json(void)
{
    setup_once();
    char dir[400], p[600];
    snprintf(dir, sizeof dir, "%s/daily", it.dir);
    CU_ASSERT_EQUAL_FATAL(
        report(dir, "daily --region 220000 --date 2020-03-01 --format pdf,json,html"), 0);
    snprintf(p, sizeof p, "%s/daily-220000-2020-03-01.json", dir);
    cJSON *j = json_file(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    snprintf(p, sizeof p, "%s/daily-220000-2020-03-01.pdf", dir);
    char *text = run_out("pdftotext -raw '%s' -", p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    squeeze(text);
    char want[1024];
    snprintf(want, sizeof want, "%s", cJSON_GetObjectItem(j, "policy_title")->valuestring);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, squeeze(want)));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "覆盖率"));
    const cJSON *kpi = cJSON_GetObjectItem(j, "kpi");
    char m[48];
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, yuan((long long)cJSON_GetObjectItem(kpi, "entitled_fen")->valuedouble, m)));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, yuan((long long)cJSON_GetObjectItem(kpi, "paid_fen")->valuedouble, m)));
    /* 300 frontline workers to date; the ledger's 300 eligible for JL-04. */
    CU_ASSERT_EQUAL((int)cJSON_GetObjectItem(kpi, "frontline_workers")->valuedouble, N_UNITS);
    const cJSON *ms;
    int rows = 0;
    cJSON_ArrayForEach(ms, cJSON_GetObjectItem(j, "measures"))
    {
        snprintf(want, sizeof want, "%s", cJSON_GetObjectItem(ms, "title")->valuestring);
        if (!strstr(text, squeeze(want)))
            fprintf(stderr, "\n  the PDF lacks the title %s\n", want);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
        const cJSON *cov = cJSON_GetObjectItem(ms, "coverage");
        if (cJSON_IsNumber(cov)) {
            /* The coverage, as the PDF rounds it, follows the measure's title. */
            cl_cell_t c = cl_cell_ratio((int64_t)cJSON_GetObjectItem(ms, "covered")->valuedouble,
                                        (int64_t)cJSON_GetObjectItem(ms, "eligible")->valuedouble);
            char pct[32];
            cl_cell_format(&c, CL_FMT_HUMAN, pct, sizeof pct);
            CU_ASSERT_PTR_NOT_NULL(strstr(strstr(text, want), pct));
        }
        rows++;
    }
    CU_ASSERT_EQUAL(rows, 35); /* 吉林: 32 measures, 3 with two tracks */
    free(text);

    /* English: labels change, figures do not. */
    char en[400];
    snprintf(en, sizeof en, "%s/daily-en", it.dir);
    CU_ASSERT_EQUAL_FATAL(
        report(en, "daily --region 220000 --date 2020-03-01 --format pdf,json,csv --lang en"), 0);
    snprintf(p, sizeof p, "%s/daily-220000-2020-03-01.pdf", en);
    text = run_out("pdftotext -raw '%s' -", p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Coverage"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Page 1 of"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Daily coverage ledger"));
    CU_ASSERT_PTR_NULL(strstr(text, "覆盖率"));
    free(text);
    char q[600];
    snprintf(p, sizeof p, "%s/daily-220000-2020-03-01.json", dir);
    snprintf(q, sizeof q, "%s/daily-220000-2020-03-01.json", en);
    CU_ASSERT(same_bytes(p, q));
    snprintf(p, sizeof p, "%s/daily-220000-2020-03-01-ledger.csv", en);
    char *csv = cl_test_slurp(p, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, "No.,Item,Measure,"));
    free(csv);
    cJSON_Delete(j);
}

/** @brief The daily ledger's temp_subsidy paid to D, worked by hand: 长春's 200 units pay
 * February in full on 03-05, 吉林市's 100 half on 03-12. */
static void test_daily_paid_to_date(void)
{
    setup_once();
    /* Unit u worked u % 10 + 1 days at 300 yuan; each residue comes 20 times in 1..200 and
     * 10 times in 201..300, and 1 + ... + 10 = 55. */
    const struct {
        const char *region, *date;
        long long fen;
    } want[] = {
        {"220000", "2020-03-04", 0},
        {"220000", "2020-03-05", 55LL * 20 * 30000},
        {"220000", "2020-03-11", 55LL * 20 * 30000},
        {"220000", "2020-03-12", 55LL * 20 * 30000 + 55LL * 10 * 15000},
        {"220200", "2020-03-31", 55LL * 10 * 15000},
        {"220300", "2020-03-31", 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char dir[400], args[160], p[600];
        snprintf(dir, sizeof dir, "%s/daily-paid-%zu", it.dir, i);
        snprintf(args, sizeof args, "daily --region %s --date %s --format json", want[i].region,
                 want[i].date);
        CU_ASSERT_EQUAL_FATAL(report(dir, args), 0);
        snprintf(p, sizeof p, "%s/daily-%s-%s.json", dir, want[i].region, want[i].date);
        cJSON *j = json_file(p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        const cJSON *paid = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "kpi"), "paid_fen");
        CU_ASSERT_PTR_NOT_NULL_FATAL(paid);
        if ((long long)paid->valuedouble != want[i].fen)
            fprintf(stderr, "\n  %s as of %s: paid %lld, want %lld\n", want[i].region, want[i].date,
                    (long long)paid->valuedouble, want[i].fen);
        CU_ASSERT_EQUAL((long long)paid->valuedouble, want[i].fen);
        cJSON_Delete(j);
    }
}

/** @brief The comparison: a row per city (四平 with nothing), ranked by paid/entitled. */
static void test_compare(void)
{
    setup_once();
    char dir[400], p[600];
    snprintf(dir, sizeof dir, "%s/cmp", it.dir);
    CU_ASSERT_EQUAL_FATAL(report(dir, "compare --region 220000 --date 2020-03-31 --format "
                                      "json,html,pdf,csv"),
                          0);
    snprintf(p, sizeof p, "%s/compare-220000-2020-03-31.json", dir);
    cJSON *j = json_file(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    const cJSON *regions = cJSON_GetObjectItem(j, "regions");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(regions), 3);
    /* 长春 paid in full (ratio 1) ranks first, 吉林市 paid half second, 四平 (nothing
     * entitled) last. */
    const char *codes[3] = {"220100", "220200", "220300"};
    const char *names[3] = {"长春市", "吉林市", "四平市"};
    for (int i = 0; i < 3; i++) {
        const cJSON *g = cJSON_GetArrayItem(regions, i);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(g, "code")->valuestring, codes[i]);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(g, "name")->valuestring, names[i]);
        CU_ASSERT_EQUAL((int)cJSON_GetObjectItem(g, "rank")->valuedouble, i + 1);
    }
    long long ent = 0, paid = 0;
    for (int k = 1; k <= 200; k++)
        ent += (long long)(k % 10 + 1) * 30000;
    paid = ent;
    const cJSON *g0 = cJSON_GetArrayItem(regions, 0);
    CU_ASSERT_EQUAL((long long)cJSON_GetObjectItem(g0, "entitled_fen")->valuedouble, ent);
    CU_ASSERT_EQUAL((long long)cJSON_GetObjectItem(g0, "paid_fen")->valuedouble, paid);
    CU_ASSERT_EQUAL((int)cJSON_GetObjectItem(g0, "frontline_workers")->valuedouble, 200);
    /* Paid 5 days after February closed (02-29 → 03-05). */
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(g0, "median_days_to_pay")->valuedouble, 5.0, 1e-9);
    const cJSON *g2 = cJSON_GetArrayItem(regions, 2);
    CU_ASSERT_EQUAL((long long)cJSON_GetObjectItem(g2, "entitled_fen")->valuedouble, 0);
    CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(g2, "median_days_to_pay")));
    cJSON_Delete(j);
    snprintf(p, sizeof p, "%s/compare-220000-2020-03-31.html", dir);
    char *html = cl_test_slurp(p, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    /* Two charts: coverage by region and the measure × region heatmap. */
    int svgs = 0;
    for (char *x = html; (x = strstr(x, "<svg")); x++)
        svgs++;
    CU_ASSERT_EQUAL(svgs, 2);
    free(html);
}

/** @brief Without gnuplot, pdf and html fail with one clear line and write nothing;
 * json alone still works. */
static void test_gnuplot_missing(void)
{
    setup_once();
    char dir[400], empty[400], errf[500];
    snprintf(dir, sizeof dir, "%s/nognuplot", it.dir);
    snprintf(empty, sizeof empty, "%s/emptybin", it.dir);
    snprintf(errf, sizeof errf, "%s/nognuplot.err", it.dir);
    mkdir(empty, 0755);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "env -u CARELEDGER_GNUPLOT PATH='%s' '%s' report daily --region 220000 "
             "--date 2020-03-01 --format pdf,json --out '%s' --config '%s' 2>'%s'",
             empty, cl_it_bin(), dir, it.config, errf);
    int st = system(cmd);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    char *err = cl_test_slurp(errf, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "gnuplot"));
    int lines = 0;
    for (const char *x = err; *x; x++)
        lines += *x == '\n';
    CU_ASSERT_EQUAL(lines, 1); /* one line, ending in a newline */
    free(err);
    char *files = run_out("ls -A '%s' 2>/dev/null | wc -l", dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(files);
    CU_ASSERT_EQUAL(atoi(files), 0);
    free(files);
    snprintf(cmd, sizeof cmd,
             "env -u CARELEDGER_GNUPLOT PATH='%s' '%s' report daily --region 220000 "
             "--date 2020-03-01 --format json,csv,xlsx --out '%s' --config '%s' >/dev/null 2>&1",
             empty, cl_it_bin(), dir, it.config);
    st = system(cmd);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/** @brief Usage errors are one line and exit 1. */
static void test_usage_errors(void)
{
    setup_once();
    char dir[400];
    snprintf(dir, sizeof dir, "%s/usage", it.dir);
    CU_ASSERT_EQUAL(report(dir, "weekly --region 220000 --date 2020-03-01"), 1);
    CU_ASSERT_EQUAL(report(dir, "daily --date 2020-03-01"), 1);
    CU_ASSERT_EQUAL(report(dir, "daily --region 220000 --date 2020-02-30"), 1);
    CU_ASSERT_EQUAL(report(dir, "daily --region 220000 --date 2020-03-01 --format docx"), 1);
    CU_ASSERT_EQUAL(report(dir, "finance --region 220000 --date 2020-03-01 --month 2020-04"), 1);
    CU_ASSERT_EQUAL(report(dir, "daily --region 220000 --date 2020-03-01 --lang fr"), 1);
    /* Codes nothing is known of (DECISIONS 162): mistyped, or a province with no data and no
     * policy of its own; an empty report under the national policy would read as "nothing
     * to report". */
    CU_ASSERT_EQUAL(report(dir, "daily --region 999999 --date 2020-03-01"), 1);
    CU_ASSERT_EQUAL(report(dir, "compare --region 110000 --date 2020-03-01"), 1);
}

/** @brief The daemon writes yesterday's reports into out_dir/DATE/ and serves them. */
static void test_scheduler(void)
{
    setup_once();
    cl_it_t d;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&d, "it_reports_sched", 1, 1), 0);
    snprintf(d.reports_extra, sizeof d.reports_extra,
             ",\"daily_at\":\"00:00\",\"jurisdictions\":[\"220000\"],"
             "\"formats\":[\"json\",\"csv\"]");
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&d, 1, 500, 50), 0);
    cl_proc_t daemon;
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&d, &daemon, NULL), 0);
    /* Yesterday in 吉林's time zone (UTC+8). */
    time_t now = time(NULL) + 8 * 3600;
    char day[CL_DATE_LEN], path[700], url[200];
    cl_date_format((int32_t)(now / 86400) - 1, day);
    snprintf(path, sizeof path, "%s/reports/%s/daily-220000-%s.json", d.dir, day, day);
    struct stat st;
    int found = 0;
    for (int i = 0; i < 600 && !found; i++) {
        found = stat(path, &st) == 0;
        if (!found)
            usleep(100 * 1000);
    }
    CU_ASSERT(found);
    snprintf(path, sizeof path, "%s/reports/%s/finance-220000-%.7s-%s.json", d.dir, day, day, day);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/reports/%s/compare-220000-%s-regions.csv", d.dir, day, day);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    static char body[1 << 16];
    CU_ASSERT_EQUAL(cl_it_http_get(d.http_port, "/reports/latest/", body, sizeof body), 200);
    snprintf(url, sizeof url, "daily-220000-%s.json", day);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, url));
    snprintf(url, sizeof url, "/reports/latest/daily-220000-%s.json", day);
    CU_ASSERT_EQUAL(cl_it_http_get(d.http_port, url, body, sizeof body), 200);
    CU_ASSERT_EQUAL(strncmp(body, "{\"report\":\"daily\"", 17), 0);
    /* Written once: a restart finds the day done and does not write it again. */
    CU_ASSERT_EQUAL(cl_proc_stop(&daemon, 15, 15000), 0);
    CU_ASSERT_EQUAL(cl_it_log_count(&d, "scheduled report written"), 3);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&d, &daemon, NULL), 0);
    sleep(3);
    CU_ASSERT_EQUAL(cl_proc_stop(&daemon, 15, 15000), 0);
    CU_ASSERT_EQUAL(cl_it_log_count(&d, "scheduled report written"), 3);
    cl_it_teardown(&d);
}

/** @brief A helper session reads the report's snapshot, runs beside it, and fails cleanly. */
static void test_two_sessions(void)
{
    setup_once();
    char err[512], conninfo[96];
    snprintf(conninfo, sizeof conninfo, "dbname=%s", it.name);
    PGconn *c = cl_pg_connect(conninfo, "careledger-test", err, sizeof err);
    PGconn *w = cl_pg_connect(conninfo, "careledger-test", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_EQUAL_FATAL(
        cl_pg_exec(w, "CREATE TABLE par_t (n int); INSERT INTO par_t VALUES (1)", err, sizeof err),
        0);
    /* Outside a transaction the exported snapshot dies with its statement: no helper. */
    CU_ASSERT_PTR_NULL(cl_rpt_par_open(c, "SET LOCAL jit = off", err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "snapshot"));

    CU_ASSERT_EQUAL_FATAL(cl_pg_exec(c,
                                     "BEGIN ISOLATION LEVEL REPEATABLE READ; "
                                     "SELECT count(*) FROM par_t",
                                     err, sizeof err),
                          0);
    /* Committed after the report's snapshot: neither session may see it. */
    CU_ASSERT_EQUAL_FATAL(cl_pg_exec(w, "INSERT INTO par_t VALUES (2)", err, sizeof err), 0);
    cl_rpt_par_t *par = cl_rpt_par_open(c, "SET LOCAL work_mem = '8MB'; SET TRANSACTION READ ONLY",
                                        err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(par);
    cl_rpt_query_t q[5];
    memset(q, 0, sizeof q);
    q[0].sql = q[1].sql = "SELECT pg_backend_pid(), (SELECT count(*) FROM par_t), pg_sleep(0.2)";
    q[2].sql = q[3].sql = "SELECT pg_backend_pid(), sum(n) FROM par_t WHERE n > $1::int";
    q[2].n_params = q[3].n_params = 1;
    q[2].params[0] = q[3].params[0] = "0";
    q[4].sql =
        "SELECT current_setting('work_mem') = '8MB', current_setting('transaction_read_only'), "
        "current_setting('lock_timeout')";
    for (int pass = 0; pass < 2; pass++) {
        CU_ASSERT_EQUAL_FATAL(cl_rpt_par_exec(c, pass ? NULL : par, q, 5, err, sizeof err), 0);
        /* The first two start at once, one on each session; with one session, on that one. */
        CU_ASSERT_EQUAL(strcmp(PQgetvalue(q[0].res, 0, 0), PQgetvalue(q[1].res, 0, 0)) != 0, !pass);
        for (int i = 0; i < 4; i++)
            CU_ASSERT_STRING_EQUAL(PQgetvalue(q[i].res, 0, 1), "1");
        cl_rpt_par_clear(q, 5);
        CU_ASSERT_PTR_NULL(q[0].res);
    }
    /* The helper ran its setup after importing: its settings, read-only, bounded lock waits. */
    PGconn *aux = par->aux;
    CU_ASSERT_EQUAL_FATAL(cl_rpt_par_exec(aux, NULL, &q[4], 1, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(PQgetvalue(q[4].res, 0, 0), "t");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(q[4].res, 0, 1), "on");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(q[4].res, 0, 2), "2s");
    cl_rpt_par_clear(&q[4], 1);

    /* A failing statement: -1 with its reason, nothing kept, both sessions idle again. */
    q[1].sql = "SELECT 1 / (count(*) - count(*)) FROM par_t";
    CU_ASSERT_EQUAL(cl_rpt_par_exec(c, par, q, 4, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "division by zero"));
    CU_ASSERT_EQUAL(par->lock_timed_out, 0);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_PTR_NULL(q[i].res);
    CU_ASSERT_NOT_EQUAL(PQtransactionStatus(c), PQTRANS_ACTIVE);
    CU_ASSERT_NOT_EQUAL(PQtransactionStatus(aux), PQTRANS_ACTIVE);
    cl_rpt_par_close(par);
    PQclear(PQexec(c, "ROLLBACK"));

    /* An exclusive lock queued behind the report's first session (a rebuild's TRUNCATE, a
     * migration) would hold the helper's read of the same table forever, a wait no deadlock
     * detector sees: the helper gives up after its lock timeout instead, and says so. */
    CU_ASSERT_EQUAL_FATAL(cl_pg_exec(c,
                                     "BEGIN ISOLATION LEVEL REPEATABLE READ; "
                                     "SELECT count(*) FROM par_t",
                                     err, sizeof err),
                          0);
    par = cl_rpt_par_open(c, "SET TRANSACTION READ ONLY", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(par);
    CU_ASSERT_EQUAL_FATAL(PQsendQuery(w, "BEGIN; LOCK TABLE par_t IN ACCESS EXCLUSIVE MODE"), 1);
    PGconn *watch = cl_pg_connect(conninfo, "careledger-test", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(watch);
    int queued = 0;
    for (int i = 0; i < 100 && !queued; i++) {
        PGresult *r = PQexec(watch, "SELECT count(*) FROM pg_locks l JOIN pg_class k "
                                    "ON k.oid = l.relation WHERE k.relname = 'par_t' "
                                    "AND NOT l.granted");
        queued = PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) > 0;
        PQclear(r);
        if (!queued)
            usleep(50000);
    }
    CU_ASSERT_TRUE_FATAL(queued);
    memset(q, 0, sizeof q);
    q[0].sql = "SELECT 1";                   /* the first session, free at once */
    q[1].sql = "SELECT count(*) FROM par_t"; /* the helper, behind the queued lock */
    time_t t0 = time(NULL);
    CU_ASSERT_EQUAL(cl_rpt_par_exec(c, par, q, 2, err, sizeof err), -1);
    CU_ASSERT_TRUE(time(NULL) - t0 < 30);
    CU_ASSERT_EQUAL(par->lock_timed_out, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "lock timeout"));
    cl_rpt_par_close(par);
    PQclear(PQexec(c, "ROLLBACK"));
    /* The report gone, the lock is granted. */
    PGresult *r;
    int locked = 1;
    while ((r = PQgetResult(w))) {
        locked &= PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    CU_ASSERT_TRUE(locked);
    CU_ASSERT_EQUAL(cl_pg_exec(w, "ROLLBACK; DROP TABLE par_t", err, sizeof err), 0);
    PQfinish(watch);
    PQfinish(c);
    PQfinish(w);
}

/** @brief Tear down the shared database. */
static void test_teardown(void)
{
    if (ready)
        cl_it_teardown(&it);
    ready = 0;
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"finance in every format, 300 units over pages", test_finance_all_formats},
        {"daily PDF figures equal the JSON; --lang en", test_daily_pdf_matches_json},
        {"daily temp_subsidy paid to a date, by hand", test_daily_paid_to_date},
        {"district comparison", test_compare},
        {"gnuplot missing", test_gnuplot_missing},
        {"usage errors", test_usage_errors},
        {"scheduled daily run", test_scheduler},
        {"a report's statements on two sessions in one snapshot", test_two_sessions},
        {"teardown", test_teardown},
        {NULL, NULL}};
    return cl_test_add_suite("reports", tests);
}
