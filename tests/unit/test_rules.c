/**
 * @file test_rules.c
 * @brief R1/R2 with figures worked by hand from the seeds (issue 4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/rules.h"
#include "cltest.h"

static cl_policy_set_t *set;

/** Units of the scenarios. */
static const struct {
    const char *id;
    unsigned level;
    int designated;
    const char *region;
} UNITS[] = {
    {"JL-COUNTY", CL_LEVEL_COUNTY, 0, "220102"}, /* 长春市南关区, a county-level hospital */
    {"JL-TOWN", CL_LEVEL_TOWNSHIP, 0, "220102"}, /* a township health centre */
    {"JL-DESIG", CL_LEVEL_CITY, 1, "220102"},    /* a designated hospital */
    {"HQ-HOSP", CL_LEVEL_COUNTY, 0, "120106"},   /* 红桥区 */
    {"DL-HOSP", CL_LEVEL_CITY, 0, "210202"},     /* 大连市中山区 */
};

/** @brief Unit lookup over UNITS. */
static void unit_cb(void *ctx, const char *id, cl_rule_unit_t *out)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++)
        if (strcmp(UNITS[i].id, id) == 0) {
            out->registered = 1;
            out->level = UNITS[i].level;
            out->designated = UNITS[i].designated;
            snprintf(out->region, sizeof out->region, "%s", UNITS[i].region);
        }
}

/** @brief A date. */
static int32_t day(const char *s)
{
    int32_t d;
    CU_ASSERT_EQUAL_FATAL(cl_date_parse(s, &d), 0);
    return d;
}

/** @brief A shift on local (+08:00) date @p date from @p from to @p to hours. */
static cl_rule_shift_t shift(const char *id, const char *unit, const char *date, int from, int to,
                             int direct)
{
    char a[40], b[40];
    int64_t s, e;
    snprintf(a, sizeof a, "%sT%02d:00:00+08:00", date, from);
    snprintf(b, sizeof b, "%sT%02d:00:00+08:00", date, to);
    cl_instant_parse(a, &s);
    cl_instant_parse(b, &e);
    return (cl_rule_shift_t){id, unit, s, e, direct};
}

/** @brief An input for one worker. */
static cl_rule_input_t input(const char *unit, const cl_rule_shift_t *sh, size_t ns,
                             const cl_rule_deployment_t *dep, size_t nd)
{
    cl_rule_input_t in = {"W1", unit, sh, ns, dep, nd, set, NULL, NULL, unit_cb, NULL};
    return in;
}

/** The 吉林 nurse of issue 4: direct 02-01..10 (+ an other shift on 02-03), other
 * 02-11..15, deployed 02-16..29 with a local shift recorded on 02-20. */
static size_t jilin_nurse(const char *unit, cl_rule_shift_t *sh, char ids[][16])
{
    size_t n = 0;
    char date[16];
    for (int d = 1; d <= 15; d++) {
        snprintf(date, sizeof date, "2020-02-%02d", d);
        snprintf(ids[n], 16, "s%02d", d);
        sh[n] = shift(ids[n], unit, date, 8, 16, d <= 10);
        n++;
    }
    snprintf(ids[n], 16, "s03b");
    sh[n] = shift(ids[n], unit, "2020-02-03", 17, 20, 0);
    n++;
    snprintf(ids[n], 16, "s20");
    sh[n] = shift(ids[n], unit, "2020-02-20", 8, 16, 1);
    n++;
    return n;
}

static void test_jilin_county(void)
{
    cl_rule_shift_t sh[32];
    char ids[32][16];
    size_t n = jilin_nurse("JL-COUNTY", sh, ids);
    cl_rule_deployment_t dep = {"D1", day("2020-02-16"), day("2020-02-29"), 1};
    cl_rule_input_t in = input("JL-COUNTY", sh, n, &dep, 1);
    cl_rule_output_t out = {0};
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    long days;
    int64_t sub, perf;
    cl_rules_totals(&out, day("2020-02-29"), &days, &sub, &perf);
    /* 10×300 + 5×200 + 14×600 = 12,400 yuan; 29 worker-days × 200 = 5,800 yuan. */
    CU_ASSERT_EQUAL(days, 29);
    CU_ASSERT_EQUAL(sub, 1240000);
    CU_ASSERT_EQUAL(perf, 580000);
    /* 02-03: two shifts, one worker-day at the direct rate; 02-20 is a deployment day. */
    for (size_t i = 0; i < out.n_days; i++) {
        if (out.days[i].date == day("2020-02-03")) {
            CU_ASSERT_EQUAL(out.days[i].kind, CL_DAY_DIRECT);
            CU_ASSERT_EQUAL(out.days[i].subsidy_fen, 30000);
        }
        if (out.days[i].date == day("2020-02-20")) {
            CU_ASSERT_EQUAL(out.days[i].kind, CL_DAY_DEPLOYED);
            CU_ASSERT_EQUAL(out.days[i].subsidy_fen, 60000);
            CU_ASSERT_STRING_EQUAL(out.days[i].deployment_id, "D1");
        }
        CU_ASSERT_STRING_EQUAL(out.days[i].unit_id, "JL-COUNTY");
        CU_ASSERT_STRING_EQUAL(out.days[i].policy->id, "jilin-2020-03-08");
    }
    cl_rules_output_free(&out);
}

static void test_jilin_township(void)
{
    cl_rule_shift_t sh[32];
    char ids[32][16];
    size_t n = jilin_nurse("JL-TOWN", sh, ids);
    cl_rule_deployment_t dep = {"D1", day("2020-02-16"), day("2020-02-29"), 1};
    cl_rule_input_t in = input("JL-TOWN", sh, n, &dep, 1);
    cl_rule_output_t out = {0};
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    long days;
    int64_t sub, perf;
    cl_rules_totals(&out, day("2020-02-29"), &days, &sub, &perf);
    /* Local days earn nothing below county level; the deployment still 14×600 (item 2
     * has no level condition); performance pay still 29×200 (item 3: every institution). */
    CU_ASSERT_EQUAL(days, 29);
    CU_ASSERT_EQUAL(sub, 840000);
    CU_ASSERT_EQUAL(perf, 580000);
    cl_rules_output_free(&out);
}

static void test_hongqiao_open_deployment(void)
{
    cl_rule_deployment_t dep = {"D9", day("2020-02-10"), CL_DATE_OPEN, 1};
    cl_rule_input_t in = input("HQ-HOSP", NULL, 0, &dep, 1);
    cl_rule_output_t out = {0};
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL(out.n_days, 0);
    CU_ASSERT_EQUAL_FATAL(out.n_open, 1);
    long days;
    int64_t sub, perf;
    cl_rules_totals(&out, day("2020-02-21"), &days, &sub, &perf);
    CU_ASSERT_EQUAL(days, 12);
    CU_ASSERT_EQUAL(sub, 720000);  /* 12 × 2 × 300 = 7,200 yuan */
    CU_ASSERT_EQUAL(perf, 720000); /* 红桥 10: performance pay follows the subsidy */
    /* The same with "exposure": "other": 12 × 2 × 200 = 4,800 yuan. */
    dep.direct = 0;
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    cl_rules_totals(&out, day("2020-02-21"), &days, &sub, &perf);
    CU_ASSERT_EQUAL(sub, 480000);
    /* Before departure nothing; a local shift after departure is superseded. */
    cl_rules_totals(&out, day("2020-02-09"), &days, &sub, &perf);
    CU_ASSERT_EQUAL(days, 0);
    cl_rule_shift_t sh = shift("s1", "HQ-HOSP", "2020-02-12", 8, 16, 1);
    in = input("HQ-HOSP", &sh, 1, &dep, 1);
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL(out.n_days, 0);
    cl_rules_output_free(&out);
}

/* Found by an audit (session 17): an open deployment that departed before any policy was in
 * force was priced as of its departure, so it earned nothing on every day after. */
static void test_open_deployment_before_policies(void)
{
    /* 吉林, departed 01-23 (every seed policy starts 01-24), not returned. */
    cl_rule_deployment_t dep = {"D8", day("2020-01-23"), CL_DATE_OPEN, 1};
    cl_rule_input_t in = input("JL-COUNTY", NULL, 0, &dep, 1);
    cl_rule_output_t out = {0};
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    /* 01-23 is a deployment day of its own, under no policy: it earns nothing. */
    CU_ASSERT_EQUAL_FATAL(out.n_days, 1);
    CU_ASSERT_EQUAL(out.days[0].date, day("2020-01-23"));
    CU_ASSERT_EQUAL(out.days[0].kind, CL_DAY_DEPLOYED);
    CU_ASSERT_PTR_NULL(out.days[0].policy);
    CU_ASSERT_EQUAL(out.days[0].subsidy_fen, 0);
    /* The open span from 01-24 at 吉林's flat 600 yuan a day, performance pay 200 a day. */
    CU_ASSERT_EQUAL_FATAL(out.n_open, 1);
    CU_ASSERT_EQUAL(out.open[0].from, day("2020-01-24"));
    CU_ASSERT_EQUAL(out.open[0].subsidy_fen, 60000);
    long days;
    int64_t sub, perf;
    /* As of 02-29: 38 deployment days (01-23 .. 02-29), 37 of them paid: 37 × 600 = 22,200
     * yuan; performance pay 37 × 200 = 7,400 yuan. */
    cl_rules_totals(&out, day("2020-02-29"), &days, &sub, &perf);
    CU_ASSERT_EQUAL(days, 38);
    CU_ASSERT_EQUAL(sub, 2220000);
    CU_ASSERT_EQUAL(perf, 740000);
    /* A local shift on 01-23 is superseded by the deployment day, as after it. */
    cl_rule_shift_t sh = shift("s1", "JL-COUNTY", "2020-01-23", 8, 16, 1);
    in = input("JL-COUNTY", &sh, 1, &dep, 1);
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL(out.n_days, 1);
    CU_ASSERT_EQUAL(out.days[0].kind, CL_DAY_DEPLOYED);
    /* Departed on or after the policies' first day: one open span from the departure. */
    dep.from = day("2020-02-10");
    in = input("JL-COUNTY", NULL, 0, &dep, 1);
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL(out.n_days, 0);
    CU_ASSERT_EQUAL_FATAL(out.n_open, 1);
    CU_ASSERT_EQUAL(out.open[0].from, day("2020-02-10"));
    cl_rules_output_free(&out);
}

static void test_level_filter_first(void)
{
    /* One day: a direct shift at a township centre and an other shift at a county
     * hospital: 200 yuan, credited to the county hospital. */
    cl_rule_shift_t sh[2] = {shift("a", "JL-TOWN", "2020-02-05", 8, 12, 1),
                             shift("b", "JL-COUNTY", "2020-02-05", 13, 18, 0)};
    cl_rule_input_t in = input("JL-TOWN", sh, 2, NULL, 0);
    cl_rule_output_t out = {0};
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n_days, 1);
    CU_ASSERT_EQUAL(out.days[0].subsidy_fen, 20000);
    CU_ASSERT_STRING_EQUAL(out.days[0].unit_id, "JL-COUNTY");
    CU_ASSERT_EQUAL(out.days[0].kind, CL_DAY_OTHER);
    /* Only the township shift: a worker-day that earns nothing, at the township. */
    in = input("JL-TOWN", sh, 1, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n_days, 1);
    CU_ASSERT_EQUAL(out.days[0].subsidy_fen, 0);
    CU_ASSERT_FALSE(out.days[0].admitted);
    CU_ASSERT_STRING_EQUAL(out.days[0].unit_id, "JL-TOWN");
    CU_ASSERT_EQUAL(out.days[0].kind, CL_DAY_DIRECT);
    CU_ASSERT_EQUAL(out.days[0].perf_fen, 20000); /* 吉林 3 covers every institution */
    cl_rules_output_free(&out);
}

static void test_cancellation_and_ties(void)
{
    /* Direct and other the same day: 300; without the (cancelled) direct one: 200. */
    cl_rule_shift_t sh[2] = {shift("o", "JL-COUNTY", "2020-02-06", 8, 12, 0),
                             shift("d", "JL-COUNTY", "2020-02-06", 13, 18, 1)};
    cl_rule_input_t in = input("JL-COUNTY", sh, 2, NULL, 0);
    cl_rule_output_t out = {0};
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL(out.days[0].subsidy_fen, 30000);
    CU_ASSERT_STRING_EQUAL(out.days[0].shift_event_id, "d");
    in = input("JL-COUNTY", sh, 1, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL(out.days[0].subsidy_fen, 20000);
    /* Two direct shifts at two admitted units: the earliest start is credited. */
    cl_rule_shift_t two[2] = {shift("late", "JL-COUNTY", "2020-02-07", 14, 18, 1),
                              shift("early", "JL-DESIG", "2020-02-07", 6, 10, 1)};
    in = input("JL-COUNTY", two, 2, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_STRING_EQUAL(out.days[0].unit_id, "JL-DESIG");
    CU_ASSERT_TRUE(out.days[0].designated);
    /* A shift starting 23:30 local belongs to that day. */
    cl_rule_shift_t night = shift("n", "JL-COUNTY", "2020-02-08", 23, 23, 1);
    night.end = night.start + 8LL * 3600 * 1000000;
    night.start += 30LL * 60 * 1000000;
    in = input("JL-COUNTY", &night, 1, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL(out.days[0].date, day("2020-02-08"));
    cl_rules_output_free(&out);
}

static void test_unregistered_and_overlaps(void)
{
    /* A unit not (yet) registered: its level is unknown and not admitted. */
    cl_rule_shift_t sh = shift("x", "NOWHERE", "2020-02-05", 8, 16, 1);
    cl_rule_input_t in = input(NULL, &sh, 1, NULL, 0);
    cl_rule_output_t out = {0};
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n_days, 1);
    CU_ASSERT_EQUAL(out.days[0].subsidy_fen, 0);
    CU_ASSERT_PTR_NULL(out.days[0].policy);
    CU_ASSERT_STRING_EQUAL(out.days[0].unit_id, "NOWHERE");
    /* Overlapping deployments: one worker-day per date, the earlier departure credits. */
    cl_rule_deployment_t deps[2] = {{"A", day("2020-02-10"), day("2020-02-14"), 1},
                                    {"B", day("2020-02-12"), day("2020-02-16"), 0}};
    in = input("JL-COUNTY", NULL, 0, deps, 2);
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL(out.n_days, 7);                         /* 02-10 .. 02-16 */
    CU_ASSERT_STRING_EQUAL(out.days[3].deployment_id, "A"); /* 02-13 */
    CU_ASSERT_STRING_EQUAL(out.days[6].deployment_id, "B"); /* 02-16 */
    /* 大连 has no deployment uplift: a deployed day earns its exposure's rate. */
    cl_rule_deployment_t dl = {"DL", day("2020-02-10"), day("2020-02-11"), 0};
    in = input("DL-HOSP", NULL, 0, &dl, 1);
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL(out.days[0].subsidy_fen, 20000);
    CU_ASSERT_STRING_EQUAL(out.days[0].policy->id, "dalian-2020-02-20");
    /* A deployment of a worker not yet registered: a worker-day, unattributed. */
    in = input(NULL, NULL, 0, &dl, 1);
    CU_ASSERT_EQUAL_FATAL(cl_rules_worker_days(&in, &out), 0);
    CU_ASSERT_EQUAL(out.n_days, 2);
    CU_ASSERT_EQUAL(out.days[0].subsidy_fen, 0);
    CU_ASSERT_STRING_EQUAL(out.days[0].unit_id, "");
    cl_rules_output_free(&out);
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"吉林 county nurse: 12,400 yuan, performance pay 5,800", test_jilin_county},
        {"吉林 township nurse: 8,400 yuan, performance pay 5,800", test_jilin_township},
        {"红桥 open deployment: 7,200 / 4,800 yuan to D", test_hongqiao_open_deployment},
        {"open deployment departed before the policies: priced from their first day",
         test_open_deployment_before_policies},
        {"level filter first: 200 to the county hospital", test_level_filter_first},
        {"cancellation, ties, late-night shifts", test_cancellation_and_ties},
        {"unregistered units, overlapping deployments", test_unregistered_and_overlaps},
        {NULL, NULL}};
    char err[4096];
    const char *pat[] = {cl_test_src("config/policies")};
    set = cl_policy_set_load(pat, 1, err, sizeof err);
    if (!set) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return cl_test_add_suite("rules", tests);
}
