/**
 * @file test_aggregates.c
 * @brief Aggregates through the real ingest path (issue 4): hand-worked
 * figures with facts arriving in any order and in small batches; shuffled
 * orders give identical aggregates; a rebuild gives the same again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "careledger/pg.h"
#include "careledger/report.h"
#include "cltest.h"
#include "harness.h"

#define ENV "\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-01T08:00:00+08:00\""

/** @brief Write lines to DIR/NAME in the given order. */
static void write_lines(cl_it_t *it, const char *name, char **lines, const int *order, int n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", it->dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", lines[order ? order[i] : i]);
    fclose(f);
}

/** @brief ingest-file DIR/NAME. */
static int ingest(cl_it_t *it, const char *name)
{
    char args[700];
    snprintf(args, sizeof args, "ingest-file '%s/%s'", it->dir, name);
    return cl_it_cli(it, args);
}

/** @brief Append a formatted line to a growing list. */
static void add(char **lines, int *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char **lines, int *n, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lines[(*n)++] = strdup(buf);
}

/** @brief The 吉林 nurse's events at @p unit for worker @p w (shifts, deployment). */
static void jilin_nurse(char **l, int *n, const char *w, const char *unit)
{
    for (int d = 1; d <= 15; d++)
        add(l, n,
            "{" ENV ",\"event_id\":\"%s-s%d\",\"type\":\"shift.completed\",\"worker_id\":\"%s\","
            "\"unit_id\":\"%s\",\"start\":\"2020-02-%02dT08:00:00+08:00\",\"end\":\"2020-02-%"
            "02dT16:00:00+08:00\","
            "\"exposure\":\"%s\"}",
            w, d, w, unit, d, d, d <= 10 ? "direct" : "other");
    add(l, n,
        "{" ENV ",\"event_id\":\"%s-s3b\",\"type\":\"shift.completed\",\"worker_id\":\"%s\",\"unit_"
        "id\":\"%s\","
        "\"start\":\"2020-02-03T17:00:00+08:00\",\"end\":\"2020-02-03T20:00:00+08:00\","
        "\"exposure\":\"other\"}",
        w, w, unit);
    add(l, n,
        "{" ENV ",\"event_id\":\"%s-s20\",\"type\":\"shift.completed\",\"worker_id\":\"%s\",\"unit_"
        "id\":\"%s\","
        "\"start\":\"2020-02-20T08:00:00+08:00\",\"end\":\"2020-02-20T16:00:00+08:00\","
        "\"exposure\":\"direct\"}",
        w, w, unit);
    add(l, n,
        "{" ENV
        ",\"event_id\":\"%s-d1\",\"type\":\"deployment.started\",\"deployment_id\":\"%s-D\","
        "\"worker_id\":\"%s\",\"team\":\"吉林援鄂医疗队\",\"destination\":\"武汉\",\"date\":\"2020-"
        "02-16\"}",
        w, w, w);
    add(l, n,
        "{" ENV ",\"event_id\":\"%s-d2\",\"type\":\"deployment.ended\",\"deployment_id\":\"%s-D\","
        "\"date\":\"2020-02-29\"}",
        w, w);
}

static void test_hand_worked(void)
{
    cl_it_t it;
    char *l[128];
    int n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_agg_hand", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 3, 50), 0); /* batches of 3 */
    /* Shifts first; the registrations arrive batches later. */
    jilin_nurse(l, &n, "W1", "U-COUNTY");
    jilin_nurse(l, &n, "W2", "U-TOWN");
    /* 红桥: departure 2020-02-10, no return; the same with exposure other. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"h1\",\"type\":\"deployment.started\",\"deployment_id\":\"HD1\","
        "\"worker_id\":\"H1\","
        "\"team\":\"天津援鄂医疗队\",\"destination\":\"武汉\",\"date\":\"2020-02-10\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"h2\",\"type\":\"deployment.started\",\"deployment_id\":\"HD2\","
        "\"worker_id\":\"H2\","
        "\"team\":\"天津援鄂医疗队\",\"destination\":\"武汉\",\"date\":\"2020-02-10\",\"exposure\":"
        "\"other\"}");
    /* 吉林: departed 01-23, the day before every seed policy starts, and not returned. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"j3\",\"type\":\"deployment.started\",\"deployment_id\":\"JD3\","
        "\"worker_id\":\"J3\",\"team\":\"吉林援鄂医疗队\",\"destination\":\"武汉\","
        "\"date\":\"2020-01-23\"}");
    /* A cancellation that arrives before its shift: the direct shift of 02-06 is cancelled,
     * the day's other shift remains: 200 yuan. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"c1\",\"type\":\"shift.cancelled\",\"cancels\":\"x-direct\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"x-direct\",\"type\":\"shift.completed\",\"worker_id\":\"X1\","
        "\"unit_id\":\"U-COUNTY\","
        "\"start\":\"2020-02-06T13:00:00+08:00\",\"end\":\"2020-02-06T18:00:00+08:00\","
        "\"exposure\":\"direct\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"x-other\",\"type\":\"shift.completed\",\"worker_id\":\"X1\","
        "\"unit_id\":\"U-COUNTY\","
        "\"start\":\"2020-02-06T08:00:00+08:00\",\"end\":\"2020-02-06T12:00:00+08:00\","
        "\"exposure\":\"other\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"u1\",\"type\":\"unit.registered\",\"unit_id\":\"U-COUNTY\","
        "\"name\":\"县医院\","
        "\"region\":\"220102\",\"kind\":\"hospital\",\"level\":\"county\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"u2\",\"type\":\"unit.registered\",\"unit_id\":\"U-TOWN\",\"name\":"
        "\"乡镇卫生院\","
        "\"region\":\"220102\",\"kind\":\"community_health\",\"level\":\"township\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"u3\",\"type\":\"unit.registered\",\"unit_id\":\"U-HQ\",\"name\":"
        "\"红桥医院\","
        "\"region\":\"120106\",\"kind\":\"hospital\",\"level\":\"county\"}");
    const char *regs[][2] = {{"W1", "U-COUNTY"}, {"W2", "U-TOWN"},   {"H1", "U-HQ"},
                             {"H2", "U-HQ"},     {"X1", "U-COUNTY"}, {"J3", "U-COUNTY"}};
    for (int i = 0; i < 6; i++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"reg-%s\",\"type\":\"worker.registered\",\"worker_id\":\"%s\","
            "\"unit_id\":\"%s\","
            "\"role\":\"nurse\",\"staff\":\"contract\",\"children\":0,\"elders\":0}",
            regs[i][0], regs[i][0], regs[i][1]);
    write_lines(&it, "hand.jsonl", l, NULL, n);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "hand.jsonl"), 0);

    /* 吉林 county: 10×300 + 5×200 + 14×600 = 12,400 yuan; 29 × 200 = 5,800 performance pay. */
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT count(*) || '/' || sum(subsidy_fen) || '/' || sum(perf_fen) "
                       "FROM careledger.worker_days WHERE worker_id = 'W1'"),
        "29/1240000/580000");
    /* Township: local days earn nothing, the deployment still 8,400; performance pay 5,800. */
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT count(*) || '/' || sum(subsidy_fen) || '/' || sum(perf_fen) "
                       "FROM careledger.worker_days WHERE worker_id = 'W2'"),
        "29/840000/580000");
    /* 红桥 open deployment as of 2020-02-21: 12 days × 600 = 7,200; exposure other: 4,800. */
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT string_agg(worker_id || '=' || "
                       "(DATE '2020-02-21' - from_date + 1) * subsidy_fen, ',' ORDER BY worker_id) "
                       "FROM careledger.open_deployments"),
        "H1=720000,H2=480000,J3=1740000");
    /* J3: 01-23 is a deployment day earning nothing (no policy in force); the open span runs
     * from 01-24 at 600 yuan a day: 29 days to 02-21, 17,400 yuan. */
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT string_agg(date || '/' || kind || '/' || subsidy_fen, ',') "
                       "FROM careledger.worker_days WHERE worker_id = 'J3'"),
        "2020-01-23/deployed/0");
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT kind || '/' || subsidy_fen FROM careledger.worker_days "
                       "WHERE worker_id = 'X1'"),
        "other/20000");
    /* A rebuild from raw facts gives the same figures. */
    char before[33], after[33];
    snprintf(before, sizeof before, "%s",
             cl_it_sql(&it, "SELECT md5(string_agg(d::text, ',' ORDER BY worker_id, date)) FROM "
                            "careledger.worker_days d"));
    CU_ASSERT_EQUAL(cl_it_cli(&it, "rebuild"), 0);
    snprintf(after, sizeof after, "%s",
             cl_it_sql(&it, "SELECT md5(string_agg(d::text, ',' ORDER BY worker_id, date)) FROM "
                            "careledger.worker_days d"));
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    /* One corrupted aggregate row: verify exits 1; a rebuild repairs it. */
    CU_ASSERT_EQUAL(cl_it_exec(&it,
                               "UPDATE careledger.worker_days SET subsidy_fen = subsidy_fen + 1 "
                               "WHERE worker_id = 'W1' AND date = '2020-02-05'"),
                    0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 1);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "rebuild"), 0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    /* A summary row corrupted (schema 8): verify exits 1; a rebuild repairs it. */
    CU_ASSERT_EQUAL(cl_it_exec(&it, "UPDATE careledger.unit_days SET subsidy_fen = subsidy_fen + 1 "
                                    "WHERE unit_id = 'U-COUNTY' AND date = '2020-02-05'"),
                    0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 1);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "rebuild"), 0);
    CU_ASSERT_EQUAL(cl_it_exec(&it, "UPDATE careledger.worker_sets SET days = days - "
                                    "'{[2020-02-05,2020-02-06)}' WHERE worker_id = 'W1'"),
                    0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 1);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "rebuild"), 0);
    CU_ASSERT_EQUAL(cl_it_exec(&it, "UPDATE careledger.home_days SET workers = workers + 1 "
                                    "WHERE unit_id = 'U-TOWN' AND date = '2020-02-05'"),
                    0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 1);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "rebuild"), 0);
    CU_ASSERT_EQUAL(cl_it_exec(&it, "UPDATE careledger.coverage_days SET eligible = eligible + 1 "
                                    "WHERE track_id = '#frontline' AND date = 'infinity'"),
                    0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 1);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "rebuild"), 0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    /* A keyed fact corrupted: verify says so too. */
    CU_ASSERT_EQUAL(
        cl_it_exec(&it, "UPDATE careledger.workers SET unit_id = 'U-TOWN' WHERE worker_id = 'W1'"),
        0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 1);
    for (int i = 0; i < n; i++)
        free(l[i]);
    cl_it_teardown(&it);
}

/** @brief A generated stream: units, workers, shifts, deployments, cancellations. */
static int property_stream(char **l, unsigned seed)
{
    int n = 0;
    srand(seed);
    static const char *const units[][3] = {{"PU1", "220102", "county"},
                                           {"PU2", "220102", "township"},
                                           {"PU3", "120106", "county"},
                                           {"PU4", "210202", "city"}};
    for (int u = 0; u < 4; u++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"pu%d\",\"type\":\"unit.registered\",\"unit_id\":\"%s\","
            "\"name\":\"单位\","
            "\"region\":\"%s\",\"kind\":\"%s\",\"level\":\"%s\"}",
            u, units[u][0], units[u][1], u == 3 ? "designated_hospital" : "hospital", units[u][2]);
    for (int w = 0; w < 12; w++) {
        add(l, &n,
            "{\"schema\":\"careledger/"
            "1\",\"occurred_at\":\"2020-02-0%dT08:00:00+08:00\",\"event_id\":\"pw%d-%d\","
            "\"type\":\"worker.registered\",\"worker_id\":\"PW%d\",\"unit_id\":\"%s\",\"role\":"
            "\"doctor\","
            "\"staff\":\"establishment\",\"children\":1,\"elders\":1}",
            1 + w % 2, w, 0, w, units[w % 4][0]);
        /* A re-registration at another unit, later: latest occurred_at wins in any order. */
        if (w % 3 == 0)
            add(l, &n,
                "{\"schema\":\"careledger/"
                "1\",\"occurred_at\":\"2020-02-09T08:00:00+08:00\",\"event_id\":\"pw%d-1\","
                "\"type\":\"worker.registered\",\"worker_id\":\"PW%d\",\"unit_id\":\"%s\",\"role\":"
                "\"doctor\","
                "\"staff\":\"establishment\",\"children\":1,\"elders\":1}",
                w, w, units[(w + 1) % 4][0]);
        for (int d = 1; d <= 20; d++) {
            if (rand() % 3 == 0)
                continue;
            int u = rand() % 4;
            add(l, &n,
                "{" ENV ",\"event_id\":\"ps%d-%d\",\"type\":\"shift.completed\",\"worker_id\":\"PW%"
                "d\",\"unit_id\":\"%s\","
                "\"start\":\"2020-02-%02dT%02d:00:00+08:00\",\"end\":\"2020-02-%02dT%02d:00:00+08:"
                "00\",\"exposure\":\"%s\"}",
                w, d, w, units[u][0], d, 6 + rand() % 10, d, 17 + rand() % 6,
                rand() % 2 ? "direct" : "other");
            if (rand() % 10 == 0)
                add(l, &n,
                    "{" ENV ",\"event_id\":\"pc%d-%d\",\"type\":\"shift.cancelled\",\"cancels\":"
                    "\"ps%d-%d\"}",
                    w, d, w, d);
        }
        if (w % 4 == 1) {
            add(l, &n,
                "{" ENV
                ",\"event_id\":\"pd%d\",\"type\":\"deployment.started\",\"deployment_id\":\"PD%d\","
                "\"worker_id\":\"PW%d\",\"team\":\"t\",\"destination\":\"武汉\",\"date\":\"2020-02-"
                "%02d\"}",
                w, w, w, 5 + w);
            if (w % 8 == 1)
                add(l, &n,
                    "{" ENV ",\"event_id\":\"pe%d\",\"type\":\"deployment.ended\",\"deployment_"
                    "id\":\"PD%d\",\"date\":\"2020-02-%02d\"}",
                    w, w, 15 + w);
        }
    }
    /* Money (schema 9): payments, money deliveries to workers (one moved by a re-registration),
     * to an unregistered worker (counted at their first credited unit, which cancellations
     * may move) and to families (at their smallest registered member's unit). */
    for (int w = 0; w < 12; w += 2) {
        add(l, &n,
            "{" ENV ",\"event_id\":\"pp%d\",\"type\":\"subsidy.paid\",\"worker_id\":\"PW%d\","
            "\"unit_id\":\"%s\",\"line\":\"temp_subsidy\",\"period\":\"2020-02\","
            "\"amount_fen\":%d,\"date\":\"2020-02-%02d\",\"funding\":\"provincial\"}",
            w, w, units[w % 4][0], 10000 * (1 + w), 10 + w);
        add(l, &n,
            "{" ENV ",\"event_id\":\"pm%d\",\"type\":\"benefit.delivered\",\"measure\":\"JL-04\","
            "\"worker_id\":\"PW%d\",\"date\":\"2020-02-%02d\",\"amount_fen\":%d}",
            w, w, 5 + w, 20000 + w);
        add(l, &n,
            "{" ENV ",\"event_id\":\"pf%d\",\"type\":\"benefit.delivered\",\"measure\":\"HQ-18a\","
            "\"family_id\":\"PW%d\",\"date\":\"2020-02-%02d\",\"amount_fen\":100000}",
            w, w + 3 - 3 * (w % 4 == 2), 3 + w);
    }
    for (int d = 3; d <= 6; d++) {
        add(l, &n,
            "{" ENV ",\"event_id\":\"px%d\",\"type\":\"shift.completed\",\"worker_id\":\"PX1\","
            "\"unit_id\":\"%s\",\"start\":\"2020-02-%02dT08:00:00+08:00\",\"end\":"
            "\"2020-02-%02dT16:00:00+08:00\",\"exposure\":\"direct\"}",
            d, units[d % 4][0], d, d);
        if (d == 3)
            add(l, &n,
                "{" ENV ",\"event_id\":\"pxc%d\",\"type\":\"shift.cancelled\",\"cancels\":"
                "\"px%d\"}",
                d, d);
    }
    add(l, &n,
        "{" ENV ",\"event_id\":\"pxm\",\"type\":\"benefit.delivered\",\"measure\":\"JL-04\","
        "\"worker_id\":\"PX1\",\"date\":\"2020-02-08\",\"amount_fen\":30000}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"pr1\",\"type\":\"region.registered\",\"code\":\"220102\",\"name\":"
        "\"南关区\","
        "\"parent\":\"220100\",\"level\":\"district\"}");
    return n;
}

/** @brief Digest of every aggregate table. */
static void aggregate_digest(cl_it_t *it, char out[33])
{
    snprintf(
        out, 33, "%s",
        cl_it_sql(
            it,
            "SELECT md5((SELECT coalesce(string_agg(d::text, ',' ORDER BY worker_id, date), '') "
            "FROM careledger.worker_days d) || '|' || (SELECT coalesce(string_agg(o::text, ',' "
            "ORDER BY worker_id), '') FROM careledger.open_deployments o) || '|' || "
            "(SELECT coalesce(string_agg(worker_id || unit_id, ',' ORDER BY worker_id), '') "
            "FROM careledger.workers))"));
}

/** @brief Digest of the summaries and coverage marks of schemas 8 and 9 (rows left at zero by
 * ingest excluded). */
static void summary_digest(cl_it_t *it, char out[33])
{
    snprintf(out, 33, "%s",
             cl_it_sql(
                 it,
                 "SELECT md5((SELECT coalesce(string_agg(u::text, ',' ORDER BY u::text), '') "
                 "FROM careledger.unit_days u WHERE days <> 0 OR subsidy_fen <> 0 OR perf_fen <> 0 "
                 "OR frontline <> 0) || '|' || (SELECT coalesce(string_agg(h::text, ',' ORDER BY "
                 "h::text), '') FROM careledger.home_days h WHERE workers <> 0) || '|' || "
                 "(SELECT coalesce(string_agg(m::text, ',' ORDER BY m::text), '') FROM "
                 "careledger.month_sums m WHERE days <> 0 OR subsidy_fen <> 0 OR earning <> 0) || "
                 "'|' || (SELECT coalesce(string_agg(w::text, ',' ORDER BY worker_id), '') FROM "
                 "careledger.worker_sets w WHERE NOT isempty(days)) || '|' || (SELECT "
                 "coalesce(string_agg(q::text, ',' ORDER BY q::text), '') FROM "
                 "careledger.data_quality() q) || '|' || (SELECT coalesce(string_agg(c::text, ',' "
                 "ORDER BY c::text), '') FROM careledger.coverage_marks c) || '|' || (SELECT "
                 "coalesce(string_agg(c::text, ',' ORDER BY c::text), '') FROM "
                 "careledger.coverage_days c WHERE eligible <> 0 OR covered <> 0) || '|' || "
                 "(SELECT coalesce(string_agg(m::text, ',' ORDER BY m::text), '') FROM "
                 "careledger.money_days m WHERE amount_fen <> 0) || '|' || (SELECT "
                 "coalesce(string_agg(m::text, ',' ORDER BY m::text), '') FROM "
                 "careledger.delivery_money m))"));
}

static void test_shuffled_orders(void)
{
    char *l[2048];
    int n = property_stream(l, 42);
    int *order = malloc((size_t)n * 2 * sizeof *order);
    char first[33] = "", first_summary[33] = "";
    cl_it_t it;
    for (int round = 0; round < 20; round++) {
        char name[32];
        snprintf(name, sizeof name, "it_agg_p%d", round);
        CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, name, 0, 1), 0);
        CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 5 + round % 7, 50), 0);
        /* A shuffled order with exact duplicates sprinkled in. */
        srand(1000 + (unsigned)round);
        int m = 0;
        for (int i = 0; i < n; i++)
            order[m++] = i;
        for (int i = m - 1; i > 0; i--) {
            int j = rand() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < n / 20; k++)
            order[m++] = order[rand() % n];
        write_lines(&it, "p.jsonl", l, order, m);
        CU_ASSERT_EQUAL_FATAL(ingest(&it, "p.jsonl"), 0);
        char d[33], sd[33];
        aggregate_digest(&it, d);
        summary_digest(&it, sd);
        if (round == 0) {
            memcpy(first, d, sizeof first);
            memcpy(first_summary, sd, sizeof first_summary);
            CU_ASSERT_TRUE(atoi(cl_it_sql(&it, "SELECT count(*) FROM careledger.unit_days")) > 10);
            CU_ASSERT_TRUE(atoi(cl_it_sql(&it, "SELECT count(*) FROM careledger.worker_days")) >
                           100);
        }
        CU_ASSERT_STRING_EQUAL(d, first);
        /* The summaries too: any order, any batch size, the same rows. */
        CU_ASSERT_STRING_EQUAL(sd, first_summary);
        CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
        /* Rebuild equals incremental. */
        CU_ASSERT_EQUAL(cl_it_cli(&it, "rebuild"), 0);
        aggregate_digest(&it, d);
        CU_ASSERT_STRING_EQUAL(d, first);
        summary_digest(&it, sd);
        CU_ASSERT_STRING_EQUAL(sd, first_summary);
        cl_it_teardown(&it);
    }
    free(order);
    for (int i = 0; i < n; i++)
        free(l[i]);
}

static void test_money_and_compliance(void)
{
    cl_it_t it;
    char *l[128];
    int n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_agg_money", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 4, 50), 0);
    add(l, &n,
        "{" ENV ",\"event_id\":\"mu1\",\"type\":\"unit.registered\",\"unit_id\":\"JL-U\",\"name\":"
        "\"县医院\","
        "\"region\":\"220102\",\"kind\":\"hospital\",\"level\":\"county\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"mu2\",\"type\":\"unit.registered\",\"unit_id\":\"DL-U\",\"name\":"
        "\"市医院\","
        "\"region\":\"210202\",\"kind\":\"hospital\",\"level\":\"city\"}");
    /* Budget: 1,000,000 yuan; 660,000 paid on 03-01 and 140,000 on 03-20 (in the 14 days to
     * 03-25): 200,000 remaining, exhausted ceil(200,000 × 14 / 140,000) = 20 days later.
     * An older allocation of the same budget_id arrives later and loses (R5). */
    add(l, &n,
        "{\"schema\":\"careledger/"
        "1\",\"occurred_at\":\"2020-02-02T08:00:00+08:00\",\"event_id\":\"b-new\","
        "\"type\":\"budget.allocated\",\"budget_id\":\"B1\",\"scope\":\"JL-U\",\"line\":\"temp_"
        "subsidy\","
        "\"amount_fen\":100000000,\"from\":\"2020-01-24\",\"to\":\"2020-12-31\",\"funding\":"
        "\"provincial\"}");
    add(l, &n,
        "{\"schema\":\"careledger/"
        "1\",\"occurred_at\":\"2020-02-01T08:00:00+08:00\",\"event_id\":\"b-old\","
        "\"type\":\"budget.allocated\",\"budget_id\":\"B1\",\"scope\":\"JL-U\",\"line\":\"temp_"
        "subsidy\","
        "\"amount_fen\":50000000,\"from\":\"2020-01-24\",\"to\":\"2020-12-31\",\"funding\":"
        "\"provincial\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"pay1\",\"type\":\"subsidy.paid\",\"worker_id\":\"Z1\",\"unit_id\":"
        "\"JL-U\","
        "\"line\":\"temp_subsidy\",\"period\":\"2020-02\",\"amount_fen\":66000000,\"date\":\"2020-"
        "03-01\","
        "\"funding\":\"provincial\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"pay2\",\"type\":\"subsidy.paid\",\"worker_id\":\"Z2\",\"unit_id\":"
        "\"JL-U\","
        "\"line\":\"temp_subsidy\",\"period\":\"2020-02\",\"amount_fen\":14000000,\"date\":\"2020-"
        "03-20\","
        "\"funding\":\"provincial\"}");
    /* A worker across the end of February (2020 is a leap year) and into March, at a unit
     * outside 吉林's statement: R7's worker-months as of a month's last day, and early and
     * late in the next month (DECISIONS 143). */
    add(l, &n,
        "{" ENV ",\"event_id\":\"mu3\",\"type\":\"unit.registered\",\"unit_id\":\"ME-U\",\"name\":"
        "\"月末医院\",\"region\":\"210202\",\"kind\":\"hospital\",\"level\":\"city\"}");
    {
        static const char *const me_days[] = {"02-27", "02-28", "02-29", "03-02", "03-20"};
        for (int i = 0; i < 5; i++)
            add(l, &n,
                "{" ENV ",\"event_id\":\"me%d\",\"type\":\"shift.completed\",\"worker_id\":"
                "\"ME\",\"unit_id\":\"ME-U\",\"start\":\"2020-%sT08:00:00+08:00\","
                "\"end\":\"2020-%sT16:00:00+08:00\",\"exposure\":\"direct\"}",
                i, me_days[i], me_days[i]);
    }
    /* A worker entitled to 2,800 yuan in February (8 × 300 + 2 × 200) and paid 3,000, by
     * another paying unit (outside budget B1's scope). */
    for (int d = 1; d <= 10; d++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"ow%d\",\"type\":\"shift.completed\",\"worker_id\":\"OW\","
            "\"unit_id\":\"JL-U\","
            "\"start\":\"2020-02-%02dT08:00:00+08:00\",\"end\":\"2020-02-%02dT16:00:00+08:00\","
            "\"exposure\":\"%s\"}",
            d, d, d, d <= 8 ? "direct" : "other");
    add(l, &n,
        "{" ENV ",\"event_id\":\"owr\",\"type\":\"worker.registered\",\"worker_id\":\"OW\",\"unit_"
        "id\":\"JL-U\","
        "\"role\":\"nurse\",\"staff\":\"contract\",\"children\":0,\"elders\":0}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"owp\",\"type\":\"subsidy.paid\",\"worker_id\":\"OW\",\"unit_id\":"
        "\"JL-U2\","
        "\"line\":\"temp_subsidy\",\"period\":\"2020-02\",\"amount_fen\":300000,\"date\":\"2020-03-"
        "10\","
        "\"funding\":\"provincial\"}");
    /* 大连: a 9-hour shift counts, an 8-hour one does not. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"long9\",\"type\":\"shift.completed\",\"worker_id\":\"DA\",\"unit_"
        "id\":\"DL-U\","
        "\"start\":\"2020-02-03T08:00:00+08:00\",\"end\":\"2020-02-03T17:00:00+08:00\","
        "\"exposure\":\"direct\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"long8\",\"type\":\"shift.completed\",\"worker_id\":\"DA\",\"unit_"
        "id\":\"DL-U\","
        "\"start\":\"2020-02-05T08:00:00+08:00\",\"end\":\"2020-02-05T16:00:00+08:00\","
        "\"exposure\":\"direct\"}");
    /* 15 consecutive frontline days with a limit of 14: one run. */
    for (int d = 1; d <= 15; d++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"run%d\",\"type\":\"shift.completed\",\"worker_id\":\"DB\","
            "\"unit_id\":\"DL-U\","
            "\"start\":\"2020-02-%02dT08:00:00+08:00\",\"end\":\"2020-02-%02dT12:00:00+08:00\","
            "\"exposure\":\"other\"}",
            d, d, d);
    /* Spouses (each names the other) both on shift on 02-10: one (couple, date); on 02-11
     * only one of them works. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"c1r\",\"type\":\"worker.registered\",\"worker_id\":\"DC1\",\"unit_"
        "id\":\"DL-U\","
        "\"role\":\"doctor\",\"staff\":\"establishment\",\"spouse_worker_id\":\"DC2\",\"children\":"
        "1,\"elders\":0}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"c2r\",\"type\":\"worker.registered\",\"worker_id\":\"DC2\",\"unit_"
        "id\":\"DL-U\","
        "\"role\":\"nurse\",\"staff\":\"establishment\",\"spouse_worker_id\":\"DC1\",\"children\":"
        "1,\"elders\":0}");
    const char *cs[][3] = {{"DC1", "10", "a"}, {"DC2", "10", "b"}, {"DC1", "11", "c"}};
    for (int i = 0; i < 3; i++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"cs%s\",\"type\":\"shift.completed\",\"worker_id\":\"%s\","
            "\"unit_id\":\"DL-U\","
            "\"start\":\"2020-02-%sT08:00:00+08:00\",\"end\":\"2020-02-%sT12:00:00+08:00\","
            "\"exposure\":\"direct\"}",
            cs[i][2], cs[i][0], cs[i][1], cs[i][1]);
    write_lines(&it, "money.jsonl", l, NULL, n);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "money.jsonl"), 0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);

    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT budget_fen || '/' || paid_fen || '/' || remaining_fen || '/' || "
                       "burn_fen || '/' || exhaustion || '/' || over_budget "
                       "FROM careledger.budgets_at('2020-03-25')"),
        "100000000/80000000/20000000/14000000/2020-04-14/false");
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(
            &it, "SELECT entitled_fen || '/' || paid_fen || '/' || arrears_fen || '/' || "
                 "overpaid_fen FROM careledger.worker_months('2020-03-31') WHERE worker_id = 'OW'"),
        "280000/300000/0/20000");
    /* As of February's last day, with days after it: February once, not twice. */
    {
        char feb[32], feb_later[32], mar2[32], mar20[32];
        snprintf(feb, sizeof feb, "%s",
                 cl_it_sql(&it, "SELECT sum(subsidy_fen) FROM careledger.worker_days "
                                "WHERE worker_id = 'ME' AND date < '2020-03-01'"));
        snprintf(mar2, sizeof mar2, "%s",
                 cl_it_sql(&it, "SELECT subsidy_fen FROM careledger.worker_days "
                                "WHERE worker_id = 'ME' AND date = '2020-03-02'"));
        snprintf(mar20, sizeof mar20, "%s",
                 cl_it_sql(&it, "SELECT sum(subsidy_fen) FROM careledger.worker_days "
                                "WHERE worker_id = 'ME' AND date >= '2020-03-01'"));
        CU_ASSERT_TRUE(atol(feb) > 0);
        CU_ASSERT_STRING_EQUAL(
            cl_it_sql(&it, "SELECT entitled_fen FROM careledger.worker_months('2020-02-29') "
                           "WHERE worker_id = 'ME' AND month = '2020-02-01'"),
            feb);
        snprintf(feb_later, sizeof feb_later, "%s",
                 cl_it_sql(&it, "SELECT entitled_fen FROM careledger.worker_months('2020-03-31') "
                                "WHERE worker_id = 'ME' AND month = '2020-02-01'"));
        CU_ASSERT_STRING_EQUAL(feb_later, feb);
        /* March: nothing to D on its first day; then the 2nd's day, early (the 10th) and late
         * (the 19th) in the month; both days from the 20th. */
        CU_ASSERT_STRING_EQUAL(
            cl_it_sql(&it, "SELECT count(*) FROM careledger.worker_months('2020-03-01') "
                           "WHERE worker_id = 'ME' AND month = '2020-03-01'"),
            "0");
        CU_ASSERT_STRING_EQUAL(
            cl_it_sql(&it, "SELECT entitled_fen FROM careledger.worker_months('2020-03-10') "
                           "WHERE worker_id = 'ME' AND month = '2020-03-01'"),
            mar2);
        CU_ASSERT_STRING_EQUAL(
            cl_it_sql(&it, "SELECT entitled_fen FROM careledger.worker_months('2020-03-19') "
                           "WHERE worker_id = 'ME' AND month = '2020-03-01'"),
            mar2);
        CU_ASSERT_STRING_EQUAL(
            cl_it_sql(&it, "SELECT entitled_fen FROM careledger.worker_months('2020-03-20') "
                           "WHERE worker_id = 'ME' AND month = '2020-03-01'"),
            mar20);
        /* Every worker-month of this database, at each kind of D, equals R7 read straight from
         * the worker-days to D (days_to, as schema 6 computed it) and the payments to D. */
        static const char *const ds[] = {"2020-02-29", "2020-03-01", "2020-03-10",
                                         "2020-03-19", "2020-03-20", "2020-03-31"};
        for (int i = 0; i < 6; i++) {
            char sql[1400];
            snprintf(
                sql, sizeof sql,
                "WITH ref AS (SELECT x.worker_id, x.month, sum(x.ent)::bigint AS e, "
                "sum(x.paid)::bigint AS p FROM (SELECT y.worker_id, "
                "date_trunc('month', y.date::timestamp)::date AS month, y.subsidy_fen AS ent, "
                "0 AS paid FROM careledger.days_to('%s') y UNION ALL SELECT q.worker_id, "
                "q.period, 0, q.amount_fen FROM careledger.payments q WHERE q.line = "
                "'temp_subsidy' AND q.date <= '%s') x GROUP BY 1, 2), "
                "got AS (SELECT worker_id, month, entitled_fen AS e, paid_fen AS p "
                "FROM careledger.worker_months('%s')) "
                "SELECT (SELECT count(*) FROM (SELECT * FROM ref EXCEPT ALL SELECT * FROM got) "
                "a) || '/' || (SELECT count(*) FROM (SELECT * FROM got EXCEPT ALL SELECT * "
                "FROM ref) b) || '/' || (SELECT count(*) > 0 FROM ref)",
                ds[i], ds[i], ds[i]);
            CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, sql), "0/0/true");
        }
    }
    /* Before the payment date: all in arrears. */
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT arrears_fen || '/' || overpaid_fen FROM "
                       "careledger.worker_months('2020-03-09') WHERE worker_id = 'OW'"),
        "280000/0");
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT long_shifts || '/' || over_consecutive || '/' || couples_same_day "
                       "FROM careledger.compliance_at('2020-02-29') WHERE unit_id = 'DL-U'"),
        "1/1/1");
    /* The finance statement of 吉林 for February as of 03-25, through its JSON contract. */
    {
        char err[512], conninfo[96];
        snprintf(conninfo, sizeof conninfo, "dbname=%s", it.name);
        PGconn *c = cl_pg_connect(conninfo, "careledger-test", err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        cl_rpt_finance_t fin;
        int32_t month, day;
        cl_month_parse("2020-02", &month);
        cl_date_parse("2020-03-25", &day);
        CU_ASSERT_EQUAL_FATAL(
            cl_rpt_finance_build(c, NULL, "220000", month, day, &fin, err, sizeof err), 0);
        char *json = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&json, &len);
        CU_ASSERT_EQUAL(cl_rpt_finance_json(&fin, f), 0);
        fclose(f);
        static const char *const want[] = {
            "{\"report\":\"finance\",\"jurisdiction\":\"220000\",\"month\":\"2020-02\",\"date\":"
            "\"2020-03-25\","
            "\"units\":[{\"unit_id\":\"JL-U\",\"name\":\"县医院\",\"region\":\"220102\","
            "\"worker_days\":{\"direct\":8,\"other\":2,\"deployed\":0},\"entitled_fen\":280000,"
            "\"paid_fen\":80000000,\"arrears_fen\":0,\"overpaid_fen\":20000,"
            "\"performance_pay_fen\":200000,\"money_measures_fen\":0,\"budget\":[{\"budget_id\":"
            "\"B1\","
            "\"line\":\"temp_subsidy\",\"budget_fen\":100000000,\"paid_fen\":80000000,"
            "\"remaining_fen\":20000000,\"scope\":\"JL-U\",\"funding\":\"provincial\","
            "\"burn_14d_fen\":14000000,\"over_budget\":false,\"exhaustion\":\"2020-04-14\"}]}]",
            "\"totals\":{\"worker_days\":{\"direct\":8,\"other\":2,\"deployed\":0},\"entitled_"
            "fen\":280000"};
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            if (!strstr(json, want[i]))
                fprintf(stderr, "\n  finance JSON lacks %s\n  got %s\n", want[i], json);
            CU_ASSERT_PTR_NOT_NULL(strstr(json, want[i]));
        }
        CU_ASSERT_EQUAL(fin.n_units, 1); /* 大连's unit is not under 吉林 */
        free(json);
        cl_rpt_finance_free(&fin);
        PQfinish(c);
    }
    /* Money per counting unit (schema 9): B1's payments at JL-U on their dates; a corrupted
     * row or counted unit is found by verify and repaired by a rebuild. */
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT string_agg(date || ':' || amount_fen, ',' "
                                          "ORDER BY date) FROM careledger.money_days "
                                          "WHERE unit_id = 'JL-U' AND src = 'paid'"),
                           "2020-03-01:66000000,2020-03-20:14000000");
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    CU_ASSERT_EQUAL(cl_it_exec(&it, "UPDATE careledger.money_days SET amount_fen = amount_fen + 1 "
                                    "WHERE unit_id = 'JL-U' AND date = '2020-03-20'"),
                    0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 1);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "rebuild"), 0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    /* 吉林 sets no shift limit: NULL, not 0. */
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT coalesce(long_shifts::text, 'null') FROM "
                       "careledger.compliance_at('2020-02-29') WHERE unit_id = 'JL-U'"),
        "null");
    for (int i = 0; i < n; i++)
        free(l[i]);
    n = 0;

    /* R7 as of a day inside its month by home unit (DECISIONS 151). OW (8 direct days at 300
     * yuan, then 2 other at 200, from 02-01) is paid 1,000 yuan for February on 02-06 and
     * 2,000 on 02-07. As of 02-05: 1,500 owed, nothing paid; 02-06: 1,800 earned less 1,000;
     * 02-08: 2,400 earned, 3,000 paid, 600 overpaid. MV works at JL-U unregistered (home: the
     * first unit credited), then registers at DL-U: the home, and the earnings, move. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"owq1\",\"type\":\"subsidy.paid\",\"worker_id\":\"OW\","
        "\"unit_id\":\"JL-U2\",\"line\":\"temp_subsidy\",\"period\":\"2020-02\","
        "\"amount_fen\":100000,\"date\":\"2020-02-06\",\"funding\":\"provincial\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"owq2\",\"type\":\"subsidy.paid\",\"worker_id\":\"OW\","
        "\"unit_id\":\"JL-U2\",\"line\":\"temp_subsidy\",\"period\":\"2020-02\","
        "\"amount_fen\":200000,\"date\":\"2020-02-07\",\"funding\":\"provincial\"}");
    for (int d = 3; d <= 4; d++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"mv%d\",\"type\":\"shift.completed\",\"worker_id\":\"MV\","
            "\"unit_id\":\"JL-U\",\"start\":\"2020-02-%02dT08:00:00+08:00\","
            "\"end\":\"2020-02-%02dT16:00:00+08:00\",\"exposure\":\"direct\"}",
            d, d, d);
    write_lines(&it, "inside.jsonl", l, NULL, n);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "inside.jsonl"), 0);
    static const char *const inside[][2] = {
        {"2020-02-05", "150000/0"}, {"2020-02-06", "80000/0"}, {"2020-02-08", "0/60000"}};
    for (int i = 0; i < 3; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT arrears_fen || '/' || overpaid_fen FROM careledger.worker_months('%s') "
                 "WHERE worker_id = 'OW' AND month = '2020-02-01'",
                 inside[i][0]);
        CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, sql), inside[i][1]);
    }
    const char *mv_at_jl =
        cl_it_sql(&it, "SELECT (SELECT sum(subsidy_fen) FROM careledger.home_days WHERE unit_id = "
                       "'JL-U' AND date = '2020-02-03') = (SELECT sum(subsidy_fen) FROM "
                       "careledger.worker_days WHERE date = '2020-02-03' AND worker_id IN "
                       "('OW', 'MV'))");
    CU_ASSERT_STRING_EQUAL(mv_at_jl, "t");
    for (int i = 0; i < n; i++)
        free(l[i]);
    n = 0;
    add(l, &n,
        "{" ENV ",\"event_id\":\"mvr\",\"type\":\"worker.registered\",\"worker_id\":\"MV\","
        "\"unit_id\":\"DL-U\",\"role\":\"nurse\",\"staff\":\"contract\",\"children\":0,"
        "\"elders\":0}");
    write_lines(&it, "moved.jsonl", l, NULL, n);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "moved.jsonl"), 0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT (SELECT coalesce(sum(subsidy_fen), 0) FROM careledger.home_days "
                       "WHERE unit_id = 'DL-U' AND date BETWEEN '2020-02-03' AND '2020-02-04') "
                       "> 0 AND (SELECT sum(subsidy_fen) FROM careledger.home_days WHERE unit_id = "
                       "'JL-U' AND date = '2020-02-03') = (SELECT subsidy_fen FROM "
                       "careledger.worker_days WHERE date = '2020-02-03' AND worker_id = 'OW')"),
        "t");
    /* Through the statement: JL-U as of 02-08 (OW, and MV now at DL-U) and 02-06. */
    {
        char err[512], conninfo[96];
        snprintf(conninfo, sizeof conninfo, "dbname=%s", it.name);
        PGconn *c = cl_pg_connect(conninfo, "careledger-test", err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        static const char *const ds[][3] = {{"2020-02-08", "0", "60000"},
                                            {"2020-02-06", "80000", "0"}};
        for (int i = 0; i < 2; i++) {
            cl_rpt_finance_t fin;
            int32_t month, day;
            cl_month_parse("2020-02", &month);
            cl_date_parse(ds[i][0], &day);
            CU_ASSERT_EQUAL_FATAL(
                cl_rpt_finance_build(c, NULL, "220000", month, day, &fin, err, sizeof err), 0);
            CU_ASSERT_EQUAL(fin.n_units, 1);
            CU_ASSERT_EQUAL(fin.units[0].arrears_fen, atoll(ds[i][1]));
            CU_ASSERT_EQUAL(fin.units[0].overpaid_fen, atoll(ds[i][2]));
            cl_rpt_finance_free(&fin);
        }
        PQfinish(c);
    }
    /* Every unit, at each kind of day inside a month, as worker_months() reads it. */
    static const char *const days_in[] = {"2020-02-01", "2020-02-05", "2020-02-06", "2020-02-08",
                                          "2020-02-15", "2020-02-28", "2020-03-10", "2020-03-19",
                                          "2020-03-20", "2020-03-30"};
    for (size_t i = 0; i < sizeof days_in / sizeof days_in[0]; i++) {
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "WITH m AS (SELECT date_trunc('month', '%s'::date::timestamp)::date AS m), "
                 "ref AS (SELECT unit_id, sum(arrears_fen)::bigint AS a, sum(overpaid_fen)::bigint "
                 "AS o FROM careledger.worker_months('%s') WHERE month = (SELECT m FROM m) "
                 "AND unit_id IS NOT NULL GROUP BY 1 HAVING sum(arrears_fen) <> 0 OR "
                 "sum(overpaid_fen) <> 0), got AS (SELECT unit_id, arrears_fen AS a, "
                 "overpaid_fen AS o FROM careledger.month_arrears_inside('%s', (SELECT m FROM m)) "
                 "WHERE arrears_fen <> 0 OR overpaid_fen <> 0) "
                 "SELECT (SELECT count(*) FROM (SELECT * FROM ref EXCEPT ALL SELECT * FROM got) a) "
                 "|| '/' || (SELECT count(*) FROM (SELECT * FROM got EXCEPT ALL SELECT * FROM ref) "
                 "b) || '/' || (SELECT count(*) > 0 FROM ref)",
                 days_in[i], days_in[i], days_in[i]);
        const char *got = cl_it_sql(&it, sql);
        if (strcmp(got, "0/0/true") != 0)
            fprintf(stderr, "\n  month_arrears_inside as of %s: %s\n", days_in[i], got);
        CU_ASSERT_STRING_EQUAL(got, "0/0/true");
    }
    for (int i = 0; i < n; i++)
        free(l[i]);
    cl_it_teardown(&it);
}

/** @brief "eligible/covered" of a track at a unit on a day, or "none" when no row. */
static const char *cov(cl_it_t *it, const char *track, const char *unit, const char *day)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT coalesce((SELECT eligible || '/' || covered FROM careledger.coverage_at('%s') "
             "WHERE track_id = '%s' AND unit_id = '%s'), 'none')",
             day, track, unit);
    return cl_it_sql(it, sql);
}

static void test_coverage(void)
{
    cl_it_t it;
    char *l[256];
    int n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_agg_cov", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 6, 50), 0);
    const char *units[] = {"HQ-U1", "HQ-U2"};
    for (int u = 0; u < 2; u++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"cu%d\",\"type\":\"unit.registered\",\"unit_id\":\"%s\","
            "\"name\":\"红桥医院\","
            "\"region\":\"120106\",\"kind\":\"hospital\",\"level\":\"county\"}",
            u, units[u]);
    const char *ws[][2] = {{"H1", "HQ-U1"}, {"H2", "HQ-U1"}, {"H3", "HQ-U2"}};
    for (int i = 0; i < 3; i++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"cw%d\",\"type\":\"worker.registered\",\"worker_id\":\"%s\","
            "\"unit_id\":\"%s\","
            "\"role\":\"nurse\",\"staff\":\"contract\",\"family_id\":\"F%s\",\"children\":0,"
            "\"elders\":0}",
            i, ws[i][0], ws[i][1], ws[i][0]);
    /* H1 and H2: a direct shift on 02-01 (frontline under 红桥's direct definition). */
    for (int i = 0; i < 2; i++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"ch%d\",\"type\":\"shift.completed\",\"worker_id\":\"%s\","
            "\"unit_id\":\"HQ-U1\","
            "\"start\":\"2020-02-01T08:00:00+08:00\",\"end\":\"2020-02-01T16:00:00+08:00\","
            "\"exposure\":\"direct\"}",
            i, ws[i][0]);
    /* H3's family: frontline every day from day 1 (02-01) to day 75 (04-15). */
    for (int k = 0; k < 75; k++) {
        int month = k < 29 ? 2 : k < 60 ? 3 : 4, day = k < 29 ? k + 1 : k < 60 ? k - 28 : k - 59;
        add(l, &n,
            "{" ENV ",\"event_id\":\"h3-%d\",\"type\":\"shift.completed\",\"worker_id\":\"H3\","
            "\"unit_id\":\"HQ-U2\","
            "\"start\":\"2020-%02d-%02dT08:00:00+08:00\",\"end\":\"2020-%02d-%02dT16:00:00+08:00\","
            "\"exposure\":\"direct\"}",
            k, month, day, month, day);
    }
    /* HQ-18a: the monthly 1000-yuan payment to the family on days 1 and 40. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"f1\",\"type\":\"benefit.delivered\",\"measure\":\"HQ-18a\","
        "\"family_id\":\"FH3\","
        "\"date\":\"2020-02-01\",\"amount_fen\":100000}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"f40\",\"type\":\"benefit.delivered\",\"measure\":\"HQ-18a\","
        "\"family_id\":\"FH3\","
        "\"date\":\"2020-03-11\",\"amount_fen\":100000}");
    /* HQ-20: sum insured 400,000 yuan does not count, 500,000 does. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"i1\",\"type\":\"benefit.delivered\",\"measure\":\"HQ-20\","
        "\"worker_id\":\"H1\","
        "\"date\":\"2020-02-05\",\"sum_insured_fen\":40000000}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"i2\",\"type\":\"benefit.delivered\",\"measure\":\"HQ-20\","
        "\"worker_id\":\"H2\","
        "\"date\":\"2020-02-05\",\"sum_insured_fen\":50000000}");
    /* HQ-11: K1 recognised the next day (late), paid within 3 days of it; K2 recognised the
     * same day, never paid. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"k1r\",\"type\":\"injury.reported\",\"case_id\":\"K1\",\"worker_"
        "id\":\"H1\",\"date\":\"2020-02-10\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"k1g\",\"type\":\"injury.recognized\",\"case_id\":\"K1\",\"date\":"
        "\"2020-02-11\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"k1p\",\"type\":\"injury.paid\",\"case_id\":\"K1\",\"date\":\"2020-"
        "02-13\",\"amount_fen\":100000}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"k2r\",\"type\":\"injury.reported\",\"case_id\":\"K2\",\"worker_"
        "id\":\"H2\",\"date\":\"2020-02-12\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"k2g\",\"type\":\"injury.recognized\",\"case_id\":\"K2\",\"date\":"
        "\"2020-02-12\"}");
    write_lines(&it, "cov.jsonl", l, NULL, n);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "cov.jsonl"), 0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);

    CU_ASSERT_STRING_EQUAL(cov(&it, "HQ-20", "HQ-U1", "2020-02-20"), "2/1");
    /* Day 20: not yet due; 31: due, not covered; 40 and 69: covered; 70: not covered. */
    CU_ASSERT_STRING_EQUAL(cov(&it, "HQ-18a", "HQ-U2", "2020-02-20"), "none");
    CU_ASSERT_STRING_EQUAL(cov(&it, "HQ-18a", "HQ-U2", "2020-03-02"), "1/0");
    CU_ASSERT_STRING_EQUAL(cov(&it, "HQ-18a", "HQ-U2", "2020-03-11"), "1/1");
    CU_ASSERT_STRING_EQUAL(cov(&it, "HQ-18a", "HQ-U2", "2020-04-09"), "1/1");
    CU_ASSERT_STRING_EQUAL(cov(&it, "HQ-18a", "HQ-U2", "2020-04-10"), "1/0");
    /* Families of workers who left the front line stop being due: H1's and H2's families
     * worked only on 02-01. */
    CU_ASSERT_STRING_EQUAL(cov(&it, "HQ-18a", "HQ-U1", "2020-03-02"), "none");
    CU_ASSERT_STRING_EQUAL(cov(&it, "HQ-11a", "HQ-U1", "2020-02-20"), "2/1");
    CU_ASSERT_STRING_EQUAL(cov(&it, "HQ-11b", "HQ-U1", "2020-02-20"), "2/1");
    /* Before K1's recognition its payment deadline runs from the report: 02-10 + 3. */
    CU_ASSERT_STRING_EQUAL(cov(&it, "HQ-11b", "HQ-U1", "2020-02-10"), "none");
    /* Data quality: a shift at a unit nobody registered, a delivery to an unknown family. */
    char extra[700];
    snprintf(extra, sizeof extra, "%s/dq.jsonl", it.dir);
    FILE *f = fopen(extra, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f,
            "{" ENV ",\"event_id\":\"dq1\",\"type\":\"shift.completed\",\"worker_id\":\"H1\","
            "\"unit_id\":\"GHOST\",\"start\":\"2020-02-03T08:00:00+08:00\","
            "\"end\":\"2020-02-03T16:00:00+08:00\",\"exposure\":\"direct\"}\n"
            "{" ENV ",\"event_id\":\"dq2\",\"type\":\"benefit.delivered\",\"measure\":\"HQ-18b\","
            "\"family_id\":\"NOBODY\",\"date\":\"2020-02-03\"}\n");
    fclose(f);
    CU_ASSERT_EQUAL(ingest(&it, "dq.jsonl"), 0);
    CU_ASSERT_STRING_EQUAL(
        cl_it_sql(&it, "SELECT string_agg(problem || ':' || id, ',' ORDER BY problem) "
                       "FROM careledger.data_quality()"),
        "unknown_family:NOBODY,unregistered_unit:GHOST");
    /* The shift at the unknown unit is a worker-day of H1 that earns nothing. */
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT subsidy_fen FROM careledger.worker_days "
                                          "WHERE worker_id = 'H1' AND date = '2020-02-03'"),
                           "0");
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    /* No eligible population (nobody has children): no data, never 100%. */
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it,
                                     "SELECT count(*) FROM careledger.coverage_at('2020-03-31') "
                                     "WHERE track_id = 'HQ-17'"),
                           "0");
    /* The daily ledger of 红桥 on 2020-03-11, through its JSON contract. */
    char err[512];
    char conninfo[96];
    snprintf(conninfo, sizeof conninfo, "dbname=%s", it.name);
    PGconn *c = cl_pg_connect(conninfo, "careledger-test", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const char *pat[] = {cl_test_src("config/policies")};
    cl_policy_set_t *set = cl_policy_set_load(pat, 1, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    cl_rpt_daily_t d;
    int32_t day;
    cl_date_parse("2020-03-11", &day);
    CU_ASSERT_EQUAL_FATAL(cl_rpt_daily_build(c, NULL, set, "120106", day, &d, err, sizeof err), 0);
    char *json = NULL;
    size_t len = 0;
    FILE *f2 = open_memstream(&json, &len);
    CU_ASSERT_EQUAL(cl_rpt_daily_json(&d, f2), 0);
    fclose(f2);
    static const char *const want[] = {
        "\"report\":\"daily\",\"jurisdiction\":\"120106\",\"date\":\"2020-03-11\","
        "\"policy\":\"tianjin-hongqiao-2020-03-13\"",
        /* H1, H2, H3 frontline; H3 active; 1 + 1 + 40 worker-days x 300 yuan; nothing paid. */
        "\"kpi\":{\"frontline_workers\":3,\"active_workers\":1,\"worker_days\":42,"
        "\"entitled_fen\":1260000,\"paid_fen\":0}",
        "{\"id\":\"HQ-18a\",\"no\":\"18\",\"title\":\"开展慰问帮扶活动\",\"kind\":\"recurring\","
        "\"eligible\":1,\"covered\":1,\"coverage\":1.000000,\"status\":\"green\"}",
        /* H2 insured for 500,000, H1 only 400,000, H3 (HQ-U2) not at all: 1 of 3, red. */
        "{\"id\":\"HQ-20\",\"no\":\"20\",\"title\":\"办理商业保险\",\"kind\":\"once\","
        "\"eligible\":3,\"covered\":1,\"coverage\":0.333333,\"status\":\"red\"}",
        /* No eligible population: no data, never 100%. */
        "{\"id\":\"HQ-17\",\"no\":\"17\",\"title\":\"给予各级各类学校招生入学照顾政策\",\"kind\":"
        "\"once\","
        "\"eligible\":0,\"covered\":0,\"coverage\":null,\"status\":null}",
        "{\"id\":\"HQ-01\",\"no\":\"1\"",
        /* 红桥 sets no shift limit and no couple rule; H3 worked 40 days in a row. */
        "\"compliance\":{\"long_shifts\":null,\"over_consecutive\":1,\"couples_same_day\":null}"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(json, want[i]))
            fprintf(stderr, "\n  daily JSON lacks %s\n", want[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(json, want[i]));
    }
    CU_ASSERT_EQUAL(d.n_rows, 28); /* 23 measures, 5 of them with two tracks */
    /* The same state and D give the same bytes. */
    cl_rpt_daily_t d2;
    CU_ASSERT_EQUAL_FATAL(cl_rpt_daily_build(c, NULL, set, "120106", day, &d2, err, sizeof err), 0);
    char *json2 = NULL;
    size_t len2 = 0;
    f2 = open_memstream(&json2, &len2);
    cl_rpt_daily_json(&d2, f2);
    fclose(f2);
    CU_ASSERT_STRING_EQUAL(json, json2);
    free(json);
    free(json2);
    cl_rpt_daily_free(&d);
    cl_rpt_daily_free(&d2);
    cl_policy_set_destroy(set);
    PQfinish(c);
    for (int i = 0; i < n; i++)
        free(l[i]);
    cl_it_teardown(&it);
}

/** @brief Ingest the lines as file @p name (its own batches) and run verify; 0 when clean. */
static int step(cl_it_t *it, const char *name, char **lines, int n)
{
    write_lines(it, name, lines, NULL, n);
    int rc = ingest(it, name);
    for (int i = 0; i < n; i++)
        free(lines[i]);
    return rc ? rc : cl_it_cli(it, "verify");
}

/** @brief The distinct units, or covered sets, of a person's coverage marks. */
static const char *mark_of(cl_it_t *it, const char *what, const char *who)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(string_agg(DISTINCT %s::text, ','), 'none') "
             "FROM careledger.coverage_marks WHERE who = '%s'",
             what, who);
    return cl_it_sql(it, sql);
}

#define SHIFT(id, w, u, day)                                                                       \
    "{" ENV ",\"event_id\":\"" id "\",\"type\":\"shift.completed\",\"worker_id\":\"" w             \
    "\",\"unit_id\":\"" u "\",\"start\":\"2020-" day "T08:00:00+08:00\",\"end\":\"2020-" day       \
    "T16:00:00+08:00\",\"exposure\":\"direct\"}"
#define PAID(id, w, fen, day)                                                                      \
    "{" ENV ",\"event_id\":\"" id "\",\"type\":\"subsidy.paid\",\"worker_id\":\"" w                \
    "\",\"unit_id\":\"HQ-A\",\"line\":\"temp_subsidy\",\"period\":\"2020-02\",\"amount_fen\":" fen \
    ",\"date\":\"2020-" day "\",\"funding\":\"district\"}"
#define REG(id, w, u, fam)                                                                         \
    "{" ENV ",\"event_id\":\"" id "\",\"type\":\"worker.registered\",\"worker_id\":\"" w           \
    "\",\"unit_id\":\"" u "\",\"role\":\"nurse\",\"staff\":\"contract\",\"family_id\":\"" fam      \
    "\",\"children\":1,\"elders\":0}"

/** @brief Units HQ-A and HQ-B in 红桥区 (120106), registered by events PREFIX0 and PREFIX1. */
static void add_hq_units(char **l, int *n, const char *prefix)
{
    for (int u = 0; u < 2; u++)
        add(l, n,
            "{" ENV ",\"event_id\":\"%s%d\",\"type\":\"unit.registered\",\"unit_id\":\"HQ-%c\","
            "\"name\":\"红桥医院\",\"region\":\"120106\",\"kind\":\"hospital\",\"level\":"
            "\"county\"}",
            prefix, u, 'A' + u);
}

/** @brief A family's money delivery counted at its smallest registered member's unit while no
 * member qualifies for its measure (nobody has worked), as the members register, leave and
 * move, each step in its own batch and verified. */
static void test_family_money(void)
{
    cl_it_t it;
    char *l[16];
    int n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_agg_fammoney", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 3, 50), 0);
    add_hq_units(l, &n, "fu");
    add(l, &n,
        "{" ENV ",\"event_id\":\"fv1\",\"type\":\"benefit.delivered\",\"measure\":\"HQ-18a\","
        "\"family_id\":\"FM\",\"date\":\"2020-02-10\",\"amount_fen\":100000}");
    const char *unit = "SELECT coalesce(unit_id, 'none') FROM careledger.delivery_money "
                       "WHERE event_id = 'fv1'";
    CU_ASSERT_EQUAL(step(&it, "fam0.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, unit), "none");
    /* M2 joins at HQ-B; M1 (the smaller id) at HQ-A; M1 moves to family FN (a later
     * registration: a larger event id on the same instant); M2 moves to HQ-A. */
    static const char *const steps[][5] = {
        {"fr2", "M2", "HQ-B", "FM", "HQ-B"},
        {"fr1", "M1", "HQ-A", "FM", "HQ-A"},
        {"fr1b", "M1", "HQ-A", "FN", "HQ-B"},
        {"fr2b", "M2", "HQ-A", "FM", "HQ-A"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        n = 0;
        add(l, &n, REG("%s", "%s", "%s", "%s"), steps[i][0], steps[i][1], steps[i][2], steps[i][3]);
        char file[32];
        snprintf(file, sizeof file, "fam%zu.jsonl", i + 1);
        CU_ASSERT_EQUAL(step(&it, file, l, n), 0);
        CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, unit), steps[i][4]);
    }
    cl_it_teardown(&it);
}

/** @brief A family's money counted at the unit of the member who qualified first (SPEC R7,
 * R9; DECISIONS 163) as late shifts and a cancellation move who that is, each step verified:
 * 红桥's 慰问金 (HQ-18, 1,000 yuan a month per family of a frontline worker, line
 * family_condolence; qualifying: a direct day). */
static void test_family_money_first(void)
{
    cl_it_t it;
    char *l[16];
    int n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_agg_famfirst", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 3, 50), 0);
    add_hq_units(l, &n, "qu");
    /* Q1 (the smaller id) at HQ-A works from 02-10, Q2 at HQ-B from 02-05: Q2 qualified
     * first, so both of the family's 1,000 yuan count at HQ-B (the interim rule of
     * DECISIONS 50 put them at HQ-A). */
    add(l, &n, REG("q1", "Q1", "HQ-A", "FQ"));
    add(l, &n, REG("q2", "Q2", "HQ-B", "FQ"));
    add(l, &n, SHIFT("qs1", "Q1", "HQ-A", "02-10"));
    add(l, &n, SHIFT("qs2", "Q2", "HQ-B", "02-05"));
    for (int m = 2; m <= 3; m++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"qv%d\",\"type\":\"benefit.delivered\",\"measure\":"
            "\"HQ-18a\",\"family_id\":\"FQ\",\"date\":\"2020-0%d-20\",\"amount_fen\":100000}",
            m, m);
    const char *money = "SELECT coalesce(string_agg(unit_id || ':' || amount_fen, ',' "
                        "ORDER BY unit_id, date), 'none') FROM careledger.money_days "
                        "WHERE line = 'family_condolence' AND src = 'delivered' "
                        "AND amount_fen <> 0";
    CU_ASSERT_EQUAL(step(&it, "famq1.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, money), "HQ-B:100000,HQ-B:100000");
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "f:FQ"), "HQ-B");
    /* A late shift of Q1 on 02-03: Q1 qualified first, and the money moves to HQ-A. */
    n = 0;
    add(l, &n, SHIFT("qs3", "Q1", "HQ-A", "02-03"));
    CU_ASSERT_EQUAL(step(&it, "famq2.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, money), "HQ-A:100000,HQ-A:100000");
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "f:FQ"), "HQ-A");
    /* Q2 on 02-03 too: a tie, which the smaller worker_id (Q1) takes. */
    n = 0;
    add(l, &n, SHIFT("qs4", "Q2", "HQ-B", "02-03"));
    CU_ASSERT_EQUAL(step(&it, "famq3.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, money), "HQ-A:100000,HQ-A:100000");
    /* Q1's 02-03 cancelled: Q2 (02-03) is first again, and the money returns to HQ-B. */
    n = 0;
    add(l, &n, "{" ENV ",\"event_id\":\"qc3\",\"type\":\"shift.cancelled\",\"cancels\":\"qs3\"}");
    CU_ASSERT_EQUAL(step(&it, "famq4.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, money), "HQ-B:100000,HQ-B:100000");
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "f:FQ"), "HQ-B");
    cl_it_teardown(&it);
}

/** @brief An injury case moved to another worker by a later report: the first worker's
 * 感染医务人员医疗救治 (HQ-08, once, eligible when infected) goes with it, verified. */
static void test_injury_moved(void)
{
    cl_it_t it;
    char *l[8];
    int n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_agg_injmove", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 3, 50), 0);
    add_hq_units(l, &n, "iu");
    add(l, &n, REG("ia", "IA", "HQ-A", "FIA"));
    add(l, &n, REG("ib", "IB", "HQ-B", "FIB"));
    add(l, &n,
        "{" ENV ",\"event_id\":\"kx1\",\"type\":\"injury.reported\",\"case_id\":\"KX\","
        "\"worker_id\":\"IA\",\"date\":\"2020-02-10\"}");
    CU_ASSERT_EQUAL(step(&it, "inj1.jsonl", l, n), 0);
    const char *hq08 = "SELECT coalesce(string_agg(who, ',' ORDER BY who), 'none') "
                       "FROM careledger.coverage_marks WHERE track_id = 'HQ-08'";
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, hq08), "w:IA");
    /* A later report of the same case names IB: the case is IB's alone. */
    n = 0;
    add(l, &n,
        "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-12T08:00:00+08:00\","
        "\"event_id\":\"kx2\",\"type\":\"injury.reported\",\"case_id\":\"KX\","
        "\"worker_id\":\"IB\",\"date\":\"2020-02-10\"}");
    CU_ASSERT_EQUAL(step(&it, "inj2.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, hq08), "w:IB");
    cl_it_teardown(&it);
}

/** @brief A deployment started again under another worker (R5: the later start holds) leaves
 * the first worker's days: 02-10 to 02-14, five deployed days, move from DA to DB. */
static void test_deployment_moved(void)
{
    cl_it_t it;
    char *l[8];
    int n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_agg_depmove", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 3, 50), 0);
    add_hq_units(l, &n, "du");
    add(l, &n, REG("da", "DA", "HQ-A", "FDA"));
    add(l, &n, REG("db", "DB", "HQ-B", "FDB"));
    add(l, &n,
        "{" ENV ",\"event_id\":\"dx1\",\"type\":\"deployment.started\",\"deployment_id\":\"DX\","
        "\"worker_id\":\"DA\",\"team\":\"天津援鄂医疗队\",\"destination\":\"武汉\","
        "\"date\":\"2020-02-10\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"dx9\",\"type\":\"deployment.ended\",\"deployment_id\":\"DX\","
        "\"date\":\"2020-02-14\"}");
    CU_ASSERT_EQUAL(step(&it, "dep1.jsonl", l, n), 0);
    const char *deployed = "SELECT coalesce(string_agg(worker_id || '=' || n, ',' ORDER BY "
                           "worker_id), 'none') FROM (SELECT worker_id, count(*) AS n FROM "
                           "careledger.worker_days WHERE kind = 'deployed' GROUP BY 1) x";
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, deployed), "DA=5");
    n = 0;
    add(l, &n,
        "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-12T08:00:00+08:00\","
        "\"event_id\":\"dx2\",\"type\":\"deployment.started\",\"deployment_id\":\"DX\","
        "\"worker_id\":\"DB\",\"team\":\"天津援鄂医疗队\",\"destination\":\"武汉\","
        "\"date\":\"2020-02-10\"}");
    CU_ASSERT_EQUAL(step(&it, "dep2.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, deployed), "DB=5");
    cl_it_teardown(&it);
}

/** @brief Facts arriving in later batches than the marks they move, each step verified (a
 * recompute skipped wrongly shows). */
static void test_marks_late_facts(void)
{
    cl_it_t it;
    char *l[64];
    int n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_agg_late", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 3, 50), 0);
    add_hq_units(l, &n, "lu");
    /* Family FX: R1 at HQ-A from 02-10, R2 at HQ-B from 02-05 (the family counts at HQ-B).
     * U1, unregistered, works at HQ-A in March (its home). R1 is paid 600 of 900 yuan. */
    add(l, &n, REG("r1", "R1", "HQ-A", "FX"));
    add(l, &n, REG("r2", "R2", "HQ-B", "FX"));
    add(l, &n, SHIFT("s1", "R1", "HQ-A", "02-10"));
    add(l, &n, SHIFT("s2", "R1", "HQ-A", "02-11"));
    add(l, &n, SHIFT("s3", "R1", "HQ-A", "02-12"));
    add(l, &n, SHIFT("s4", "R2", "HQ-B", "02-05"));
    add(l, &n, SHIFT("s5", "U1", "HQ-A", "03-02"));
    add(l, &n, SHIFT("s6", "U1", "HQ-A", "03-03"));
    add(l, &n, PAID("p1", "R1", "60000", "03-05"));
    /* Family FD in 大连 (no recurring track: only first days move families): D1 at DL-A from
     * 02-10, D2 at DL-B from 02-05. */
    for (int u = 0; u < 2; u++)
        add(l, &n,
            "{" ENV ",\"event_id\":\"ld%d\",\"type\":\"unit.registered\",\"unit_id\":\"DL-%c\","
            "\"name\":\"大连医院\",\"region\":\"210202\",\"kind\":\"hospital\",\"level\":"
            "\"city\"}",
            u, 'A' + u);
    add(l, &n, REG("d1", "D1", "DL-A", "FD"));
    add(l, &n, REG("d2", "D2", "DL-B", "FD"));
    add(l, &n, SHIFT("t1", "D1", "DL-A", "02-10"));
    add(l, &n, SHIFT("t2", "D2", "DL-B", "02-05"));
    CU_ASSERT_EQUAL(step(&it, "late1.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "f:FX"), "HQ-B");
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "f:FD"), "DL-B");
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "covered", "m:R1:2020-02-01"), "{}");
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "m:U1:2020-03-01"), "HQ-A");
    /* A payment that completes R1's February. */
    n = 0;
    add(l, &n, PAID("p2", "R1", "30000", "03-08"));
    /* A delivery to D1 and a later day of D2: their family's marks cannot move. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"v1\",\"type\":\"benefit.delivered\",\"measure\":\"DL-11a\","
        "\"worker_id\":\"D1\",\"date\":\"2020-02-15\"}");
    add(l, &n, SHIFT("t3", "D2", "DL-B", "02-06"));
    CU_ASSERT_EQUAL(step(&it, "late2.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "covered", "m:R1:2020-02-01"), "{[2020-03-15,)}");
    /* A late shift: R1's first day moves before R2's (the family moves to HQ-A) and R1's
     * February entitlement grows past what was paid (no longer covered). */
    n = 0;
    add(l, &n, SHIFT("s7", "R1", "HQ-A", "02-03"));
    add(l, &n, SHIFT("t4", "D1", "DL-A", "02-03"));
    CU_ASSERT_EQUAL(step(&it, "late3.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "f:FD"), "DL-A");
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "f:FX"), "HQ-A");
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "covered", "m:R1:2020-02-01"), "{}");
    /* A late shift elsewhere moves unregistered U1's home, and its March month with it. */
    n = 0;
    add(l, &n, SHIFT("s8", "U1", "HQ-B", "02-20"));
    CU_ASSERT_EQUAL(step(&it, "late4.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "m:U1:2020-03-01"), "HQ-B");
    /* R2 registered again in another family at another unit; a shift in a new month. */
    n = 0;
    add(l, &n, REG("r2b", "R2", "HQ-A", "FY"));
    add(l, &n, SHIFT("s9", "R2", "HQ-A", "04-01"));
    add(l, &n, SHIFT("s10", "R1", "HQ-A", "02-13"));
    add(l, &n, PAID("p3", "R1", "60000", "03-20"));
    CU_ASSERT_EQUAL(step(&it, "late5.jsonl", l, n), 0);
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "f:FY"), "HQ-A");
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "unit_id", "m:R2:2020-02-01"), "HQ-A");
    CU_ASSERT_STRING_EQUAL(mark_of(&it, "covered", "m:R1:2020-02-01"), "{[2020-03-20,)}");
    /* R1's February (5 days, 1,500 yuan) is paid 600, 900 and 1,500 yuan in total by 03-05,
     * 03-08 and 03-20. Its entitlement moves without payments in the batch: its mark moves
     * only where a total lies between the entitlement before and after (DECISIONS 155), and
     * verify after each step recomputes it from scratch. */
    static const char *const cuts[][2] = {
        {"s10", "{[2020-03-20,)}"}, /* 1,200: the 1,500 total still first reaches it */
        {"s7", "{[2020-03-15,)}"},  /* 900: reached on 03-08, covered from the due date */
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        n = 0;
        add(l, &n,
            "{" ENV ",\"event_id\":\"cx-%s\",\"type\":\"shift.cancelled\",\"cancels\":\"%s\"}",
            cuts[i][0], cuts[i][0]);
        char file[32];
        snprintf(file, sizeof file, "late6-%zu.jsonl", i);
        CU_ASSERT_EQUAL(step(&it, file, l, n), 0);
        CU_ASSERT_STRING_EQUAL(mark_of(&it, "covered", "m:R1:2020-02-01"), cuts[i][1]);
    }
    /* Late shifts one at a time: 1,200 (reached on 03-20 by the 1,500 total), 1,500 (the
     * same date: no total between, the stored mark is left as it is), 1,800 (short) and
     * 2,100 (short still, left as it is). */
    static const char *const adds[][3] = {
        {"s11", "02-14", "{[2020-03-20,)}"},
        {"s12", "02-15", "{[2020-03-20,)}"},
        {"s13", "02-16", "{}"},
        {"s14", "02-17", "{}"},
    };
    for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++) {
        n = 0;
        add(l, &n, SHIFT("%s", "R1", "HQ-A", "%s"), adds[i][0], adds[i][1], adds[i][1]);
        char file[32];
        snprintf(file, sizeof file, "late7-%zu.jsonl", i);
        CU_ASSERT_EQUAL(step(&it, file, l, n), 0);
        CU_ASSERT_STRING_EQUAL(mark_of(&it, "covered", "m:R1:2020-02-01"), adds[i][2]);
    }
    /* Rebuild equals incremental. */
    char sd[33], sd2[33];
    summary_digest(&it, sd);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "rebuild"), 0);
    summary_digest(&it, sd2);
    CU_ASSERT_STRING_EQUAL(sd, sd2);
    cl_it_teardown(&it);
}

static void test_policy_change(void)
{
    /* Figures computed under one policy set are recomputed under a changed one. */
    cl_it_t it;
    char *l[128];
    int n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_agg_policy", 0, 1), 0);
    jilin_nurse(l, &n, "W1", "U-COUNTY");
    add(l, &n,
        "{" ENV ",\"event_id\":\"u1\",\"type\":\"unit.registered\",\"unit_id\":\"U-COUNTY\","
        "\"name\":\"县医院\","
        "\"region\":\"220102\",\"kind\":\"hospital\",\"level\":\"county\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"w1\",\"type\":\"worker.registered\",\"worker_id\":\"W1\",\"unit_"
        "id\":\"U-COUNTY\","
        "\"role\":\"nurse\",\"staff\":\"contract\",\"children\":0,\"elders\":0}");
    write_lines(&it, "a.jsonl", l, NULL, n);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "a.jsonl"), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT sum(subsidy_fen) FROM careledger.worker_days"),
                           "1240000");
    /* A copy of the policies with 吉林's deployment rate at 700 yuan. */
    snprintf(it.policies, sizeof it.policies, "%s/policies", it.dir);
    char cmd[1600];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && cp '%s'/*.json '%s'/ && sed -i 's/\"flat_fen\": 60000/\"flat_fen\": "
             "70000/' '%s/jilin-2020-03-08.json'",
             it.policies, cl_test_src("config/policies"), it.policies, it.policies);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 100, 50), 0);
    /* The next batch, about anybody, recomputes every worker under the new set. */
    char *one[1] = {"{" ENV
                    ",\"event_id\":\"other\",\"type\":\"measure.status\",\"region\":\"120106\","
                    "\"measure\":\"HQ-21\",\"status\":\"done\",\"date\":\"2020-02-10\"}"};
    write_lines(&it, "b.jsonl", one, NULL, 1);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "b.jsonl"), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT sum(subsidy_fen) FROM careledger.worker_days"),
                           "1380000");
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);

    /* A rebuild under a changed set computes the marks under it: JL-04 (once, worker) with a
     * grace of 5 days moves W1's eligibility 5 days later (its tracks were stored only after
     * the marks once, and verify, reading the stored tracks, then found the old marks). */
    const char *mark = "SELECT lower(eligible) FROM careledger.coverage_marks "
                       "WHERE who = 'w:W1' AND track_id = 'JL-04'";
    char before[32];
    snprintf(before, sizeof before, "%s", cl_it_sql(&it, mark));
    CU_ASSERT_STRING_EQUAL(before, "2020-02-01");
    snprintf(cmd, sizeof cmd,
             "sed -i 's/\"line\": \"epidemic_allowance\"/\"line\": \"epidemic_allowance\", "
             "\"grace_days\": 5/' '%s/jilin-2020-03-08.json'",
             it.policies);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "rebuild"), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, mark), "2020-02-06");
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    for (int i = 0; i < n; i++)
        free(l[i]);
    cl_it_teardown(&it);
}

/** @brief M1's worker-days as "subsidy/perf", and the rows' xmin: who last wrote them. */
static void m1_days(cl_it_t *it, char *figures, size_t fsize, char *xmin, size_t xsize)
{
    snprintf(figures, fsize, "%s",
             cl_it_sql(it, "SELECT string_agg(subsidy_fen || '/' || perf_fen, ',' ORDER BY date) "
                           "FROM careledger.worker_days WHERE worker_id = 'M1'"));
    snprintf(xmin, xsize, "%s",
             cl_it_sql(it, "SELECT string_agg(xmin::text, ',' ORDER BY date) "
                           "FROM careledger.worker_days WHERE worker_id = 'M1'"));
}

/* A region's registration changes a unit's figures only through the parent that policy
 * resolution follows (DECISIONS 160): one that moves it recomputes the region's workers,
 * one that names the parent its code already implies rewrites nobody. */
static void test_region_parent(void)
{
    cl_it_t it;
    char *l[8];
    int n = 0;
    char figures[256], xmin[256], xmin0[256];
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_agg_region", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 100, 50), 0);
    /* A township hospital in 990101, a code no policy names: the national policy (direct 300
     * yuan, any level, performance pay equal to the subsidy). */
    add(l, &n,
        "{" ENV ",\"event_id\":\"mu\",\"type\":\"unit.registered\",\"unit_id\":\"U-M\","
        "\"name\":\"卫生院\",\"region\":\"990101\",\"kind\":\"hospital\",\"level\":\"township\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"mw\",\"type\":\"worker.registered\",\"worker_id\":\"M1\","
        "\"unit_id\":\"U-M\",\"role\":\"nurse\",\"staff\":\"contract\",\"children\":0,"
        "\"elders\":0}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"ms\",\"type\":\"shift.completed\",\"worker_id\":\"M1\","
        "\"unit_id\":\"U-M\",\"start\":\"2020-02-05T08:00:00+08:00\","
        "\"end\":\"2020-02-05T16:00:00+08:00\",\"exposure\":\"direct\"}");
    write_lines(&it, "m0.jsonl", l, NULL, n);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "m0.jsonl"), 0);
    m1_days(&it, figures, sizeof figures, xmin0, sizeof xmin0);
    CU_ASSERT_STRING_EQUAL(figures, "30000/30000");
    /* 990101 and 990100 registered with the parents their codes imply: nobody rewritten. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"rg1\",\"type\":\"region.registered\",\"code\":\"990101\","
        "\"name\":\"某区\",\"parent\":\"990100\",\"level\":\"district\"}");
    add(l, &n,
        "{" ENV ",\"event_id\":\"rg1c\",\"type\":\"region.registered\",\"code\":\"990100\","
        "\"name\":\"某市\",\"parent\":\"990000\",\"level\":\"city\"}");
    write_lines(&it, "m1.jsonl", l + 3, NULL, 2);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "m1.jsonl"), 0);
    m1_days(&it, figures, sizeof figures, xmin, sizeof xmin);
    CU_ASSERT_STRING_EQUAL(figures, "30000/30000");
    CU_ASSERT_STRING_EQUAL(xmin, xmin0);
    /* Moved under 长春 (吉林): township days earn no subsidy there; performance pay is 200
     * yuan a frontline day at any level (吉林 item 3). */
    add(l, &n,
        "{" ENV ",\"event_id\":\"rg2\",\"type\":\"region.registered\",\"code\":\"990101\","
        "\"name\":\"某区\",\"parent\":\"220100\",\"level\":\"district\"}");
    write_lines(&it, "m2.jsonl", l + 5, NULL, 1);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "m2.jsonl"), 0);
    m1_days(&it, figures, sizeof figures, xmin, sizeof xmin);
    CU_ASSERT_STRING_EQUAL(figures, "0/20000");
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    /* Back to its code's parent, written as null this time: the national figures again. */
    add(l, &n,
        "{" ENV ",\"event_id\":\"rg3\",\"type\":\"region.registered\",\"code\":\"990101\","
        "\"name\":\"某区\",\"parent\":null,\"level\":\"district\"}");
    write_lines(&it, "m3.jsonl", l + 6, NULL, 1);
    CU_ASSERT_EQUAL_FATAL(ingest(&it, "m3.jsonl"), 0);
    m1_days(&it, figures, sizeof figures, xmin, sizeof xmin);
    CU_ASSERT_STRING_EQUAL(figures, "30000/30000");
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    for (int i = 0; i < n; i++)
        free(l[i]);
    cl_it_teardown(&it);
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"hand-worked figures through ingest, facts in any batch", test_hand_worked},
        {"20 shuffled orders with duplicates: identical aggregates; rebuild equal",
         test_shuffled_orders},
        {"budgets, arrears and overpayment, compliance by hand", test_money_and_compliance},
        {"coverage by hand: insurance minimum, monthly family payment, injury channel",
         test_coverage},
        {"a changed policy recomputes the figures it affects", test_policy_change},
        {"late facts in later batches move the marks they change", test_marks_late_facts},
        {"a family's money without a qualifier follows its smallest registered member",
         test_family_money},
        {"a family's money follows the member who qualified first", test_family_money_first},
        {"an injury case moved to another worker takes its marks along", test_injury_moved},
        {"a deployment started again under another worker takes its days along",
         test_deployment_moved},
        {"a region's registration recomputes only when it moves the parent policies follow",
         test_region_parent},
        {NULL, NULL}};
    return cl_test_add_suite("aggregates", tests);
}
