/**
 * @file test_hostile.c
 * @brief Hostile messages through the mock broker to a running careledgerd
 * (issue 8): each is a dead letter with its SPEC §11 reason or inert stored
 * data, the raw bytes are kept, the tables survive SQL text, the daemon
 * keeps running and its memory stays bounded.
 *
 * Messages are produced with librdkafka directly (not JSONL through the
 * CLI), so that values and keys are exactly the bytes under test: NUL
 * bytes, invalid UTF-8, 100,000 '['.
 */
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "careledger/event.h"
#include "cltest.h"
#include "harness.h"

#define TOPIC "careledger.assistance"
#define OCC   "\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-10T08:00:00+08:00\""

/* SQL and COPY text: quotes, a statement, a comment, a tab, \N, a newline, backslashes. The
 * JSON form and the text it decodes to. */
#define SQLI_JSON "'); DROP TABLE careledger.events; --\\t\\\\N\\n\\\\\\\"x"
#define SQLI_TEXT "'); DROP TABLE careledger.events; --\t\\N\n\\\"x"

/* Peak resident memory the daemon may reach (about 30 MB measured; SPEC §11 allows 150 MB
 * while ingesting 5 million events), and how much its resident memory may grow from the first
 * round of hostile messages to the last: the later rounds carry about 12 MiB, so keeping even
 * a third of it would show. */
#define HWM_BOUND_KB    (64 * 1024)
#define GROWTH_BOUND_KB (4 * 1024)

static cl_it_t it;
static cl_proc_t daemon_proc;
static rd_kafka_t *producer;
static long produced; /* messages sent so far */
static char body[1 << 16];

/** Dead letters expected so far, by reason. */
static struct {
    char reason[64];
    long n;
} expected[32];
static int nexpected;
static long expected_accepted;

/** @brief Count one more dead letter expected with @p reason. */
static void expect_dead(const char *reason)
{
    for (int i = 0; i < nexpected; i++)
        if (strcmp(expected[i].reason, reason) == 0) {
            expected[i].n++;
            return;
        }
    CU_ASSERT_FATAL(nexpected < 32);
    snprintf(expected[nexpected].reason, sizeof expected[0].reason, "%s", reason);
    expected[nexpected++].n = 1;
}

/** @brief Send one message of exactly these bytes (key may be NULL). */
static void send_raw(const void *key, size_t key_len, const void *val, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t e =
            rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_VALUE((void *)val, len),
                              RD_KAFKA_V_KEY((void *)key, key ? key_len : 0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(producer, 100);
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(e, RD_KAFKA_RESP_ERR_NO_ERROR);
        break;
    }
    produced++;
    rd_kafka_poll(producer, 0);
}

/** @brief Send a message expected to become a dead letter with @p reason. */
static void send_dead(const void *val, size_t len, const char *reason)
{
    send_raw(NULL, 0, val, len);
    expect_dead(reason);
}

/** @brief Send a NUL-terminated message expected to be stored. */
static void send_ok(const char *val)
{
    send_raw(NULL, 0, val, strlen(val));
    expected_accepted++;
}

/**
 * @brief Deliver what is queued and wait until the daemon has consumed all of it. The mock
 * broker keeps 5 MiB per partition: callers send at most a few MiB between two of these.
 */
static void settle(void)
{
    CU_ASSERT_EQUAL_FATAL(rd_kafka_flush(producer, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL_FATAL(cl_it_wait_consumed(&it, produced, 120), 0);
}

/** @brief Compare stored counts with what was sent: accepted, each reason, nothing else. */
static void check_counts(void)
{
    cl_it_status_t st;
    CU_ASSERT_EQUAL_FATAL(cl_it_status(&it, &st), 0);
    CU_ASSERT_EQUAL(st.consumed, produced);
    CU_ASSERT_EQUAL(st.accepted, expected_accepted);
    CU_ASSERT_EQUAL(st.duplicates, 0);
    CU_ASSERT_EQUAL(st.nreasons, nexpected);
    for (int i = 0; i < nexpected; i++) {
        long got = 0;
        for (int k = 0; k < st.nreasons; k++)
            if (strcmp(st.reasons[k].reason, expected[i].reason) == 0)
                got = st.reasons[k].n;
        if (got != expected[i].n)
            fprintf(stderr, "\n  %s: %ld dead letters, expected %ld\n", expected[i].reason, got,
                    expected[i].n);
        CU_ASSERT_EQUAL(got, expected[i].n);
    }
    for (int k = 0; k < st.nreasons; k++) /* PostgreSQL never refused content */
        CU_ASSERT_PTR_NULL(strstr(st.reasons[k].reason, "storage_rejected"));
}

/** @brief First value of @p sql with up to two text parameters (never spliced into SQL). */
static const char *sql1(const char *sql, const char *p1, const char *p2)
{
    static char out[1024];
    char conninfo[128];
    snprintf(conninfo, sizeof conninfo, "dbname=%s", it.name);
    PGconn *c = PQconnectdb(conninfo);
    const char *params[2] = {p1, p2};
    PGresult *r = PQexecParams(c, sql, p2 ? 2 : p1 ? 1 : 0, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        snprintf(out, sizeof out, "%s", PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
    else
        snprintf(out, sizeof out, "ERROR %s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return out;
}

/** @brief Lower-case hex of @p n bytes into @p out (2n + 1 bytes). */
static const char *to_hex(const void *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", ((const unsigned char *)p)[i]);
    out[2 * n] = '\0';
    return out;
}

/** @brief A kB figure of /proc/PID/status (VmHWM, VmRSS); -1 when unreadable. */
static long proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return kb;
}

/** @brief The daemon still runs and says it is healthy. */
static void assert_alive(void)
{
    int status;
    CU_ASSERT_EQUAL_FATAL(waitpid(daemon_proc.pid, &status, WNOHANG), 0);
    CU_ASSERT_EQUAL(cl_it_http_get(it.http_port, "/healthz", body, sizeof body), 200);
}

/** @brief A valid injury.recognized of @p id padded with an unknown field to @p len bytes. */
static char *padded(const char *id, size_t len)
{
    char *m = malloc(len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int n = snprintf(m, len + 1,
                     "{" OCC ",\"event_id\":\"%s\",\"type\":\"injury.recognized\",\"case_id\":"
                     "\"K\",\"date\":\"2020-02-01\",\"pad\":\"",
                     id);
    memset(m + n, 'a', len - (size_t)n);
    memcpy(m + len - 2, "\"}", 3);
    return m;
}

/** @brief An injury.recognized of @p id whose field "n" is @p depth '[' (unclosed). */
static char *nested(const char *id, size_t depth, size_t *len)
{
    char *m = malloc(depth + 256);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int n = snprintf(m, 256,
                     "{" OCC ",\"event_id\":\"%s\",\"type\":\"injury.recognized\",\"case_id\":"
                     "\"K\",\"date\":\"2020-02-01\",\"n\":",
                     id);
    memset(m + n, '[', depth);
    *len = (size_t)n + depth;
    return m;
}

/** @brief An injury.recognized of @p id with an unknown field of @p count numbers. */
static char *wide(const char *id, int count)
{
    size_t cap = 16 * (size_t)count + 256;
    char *m = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int n = snprintf(m, cap,
                     "{" OCC ",\"event_id\":\"%s\",\"type\":\"injury.recognized\",\"case_id\":"
                     "\"K\",\"date\":\"2020-02-01\",\"a\":[",
                     id);
    for (int i = 0; i < count; i++)
        n += snprintf(m + n, cap - (size_t)n, "%s%d", i ? "," : "", i % 10);
    snprintf(m + n, cap - (size_t)n, "]}");
    return m;
}

static void test_sizes(void)
{
    /* 64 KiB + 1 byte. */
    char *m = padded("big1", CL_EVENT_MAX_BYTES + 1);
    send_dead(m, CL_EVENT_MAX_BYTES + 1, "too_large");
    free(m);
    /* Exactly 64 KiB is an event like any other. */
    m = padded("max1", CL_EVENT_MAX_BYTES);
    send_ok(m);
    free(m);
    /* 100,000 '[' alone: over 64 KiB. */
    char *deep = malloc(100000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
    memset(deep, '[', 100000);
    send_dead(deep, 100000, "too_large");
    free(deep);
    /* 60,000 '[' inside an event, within 64 KiB: refused at the nesting limit. */
    size_t len;
    m = nested("deep1", 60000, &len);
    send_dead(m, len, "invalid_json");
    free(m);
    /* 10,000 array elements within 64 KiB: inert data in an unknown field. */
    m = wide("wide1", 10000);
    CU_ASSERT_TRUE(strlen(m) <= CL_EVENT_MAX_BYTES);
    send_ok(m);
    free(m);
    settle();
    check_counts();
    /* Dead letters keep the raw bytes, whatever their size; events keep the payload. */
    CU_ASSERT_STRING_EQUAL(sql1("SELECT string_agg(length(payload)::text, ',' ORDER BY src_offset) "
                                "FROM careledger.dead_letters WHERE reason = 'too_large'",
                                NULL, NULL),
                           "65537,100000");
    CU_ASSERT_STRING_EQUAL(
        sql1("SELECT octet_length(payload) FROM careledger.events WHERE event_id = 'max1'", NULL,
             NULL),
        "65536");
    CU_ASSERT_STRING_EQUAL(sql1("SELECT message LIKE 'nested too deeply at byte %' FROM "
                                "careledger.dead_letters WHERE reason = 'invalid_json' AND "
                                "octet_length(payload) > 60000",
                                NULL, NULL),
                           "t");
    m = wide("wide1", 10000);
    CU_ASSERT_STRING_EQUAL(
        sql1("SELECT payload = $1 FROM careledger.events WHERE event_id = 'wide1'", m, NULL), "t");
    free(m);
    assert_alive();
}

static void test_nul(void)
{
    /* U+0000 in a field the decoder reads: bad_value by name. */
    const char *m = "{" OCC ",\"event_id\":\"nul1\",\"type\":\"unit.registered\",\"unit_id\":"
                    "\"U-N\",\"name\":\"a\\u0000b\",\"region\":\"220102\",\"kind\":\"hospital\","
                    "\"level\":\"county\"}";
    send_dead(m, strlen(m), "bad_value:name");
    m = "{" OCC ",\"event_id\":\"nul2\\u0000\",\"type\":\"injury.recognized\",\"case_id\":\"K\","
        "\"date\":\"2020-02-01\"}";
    send_dead(m, strlen(m), "bad_value:event_id");
    /* In an unknown field or key: stored, the escape kept as text. */
    const char *inert =
        "{" OCC ",\"event_id\":\"nul3\",\"type\":\"injury.recognized\",\"case_id\":\"K\","
        "\"date\":\"2020-02-01\",\"x\\u0000\":\"a\\u0000b\"}";
    send_ok(inert);
    /* Raw NUL bytes: not JSON; the dead letter keeps every byte. */
    static const char raw[] = "{\"schema\":\"careledger/1\",\0\"event_id\":\"nul4\"}";
    send_dead(raw, sizeof raw - 1, "invalid_json");
    static const char zeros[64] = {0};
    send_dead(zeros, sizeof zeros, "invalid_json");
    settle();
    check_counts();
    CU_ASSERT_STRING_EQUAL(
        sql1("SELECT payload = $1 FROM careledger.events WHERE event_id = 'nul3'", inert, NULL),
        "t");
    const char *by_hex = "SELECT count(*) FROM careledger.dead_letters WHERE reason = "
                         "'invalid_json' AND encode(payload, 'hex') = $1";
    char hex[256];
    CU_ASSERT_STRING_EQUAL(sql1(by_hex, to_hex(raw, sizeof raw - 1, hex), NULL), "1");
    CU_ASSERT_STRING_EQUAL(sql1(by_hex, to_hex(zeros, sizeof zeros, hex), NULL), "1");
    assert_alive();
}

/** Free-text fields: SQL text in each, and in the source of every type, is stored verbatim. */
static const char *const SQL_EVENTS[] = {
    "\"event_id\":\"q-region\",\"type\":\"region.registered\",\"code\":\"990000\",\"name\":"
    "\"" SQLI_JSON "\",\"parent\":null,\"level\":\"province\"",
    "\"event_id\":\"q-unit\",\"type\":\"unit.registered\",\"unit_id\":\"U-Q\",\"name\":\"" SQLI_JSON
    "\",\"region\":\"220102\",\"kind\":\"hospital\",\"level\":\"county\"",
    "\"event_id\":\"q-worker\",\"type\":\"worker.registered\",\"worker_id\":\"W-Q\",\"unit_id\":"
    "\"U-Q\",\"role\":\"nurse\",\"staff\":\"contract\",\"children\":0,\"elders\":0",
    "\"event_id\":\"q-shift\",\"type\":\"shift.completed\",\"worker_id\":\"W-Q\",\"unit_id\":"
    "\"U-Q\",\"start\":\"2020-02-10T08:00:00+08:00\",\"end\":\"2020-02-10T16:00:00+08:00\","
    "\"exposure\":\"direct\",\"post\":\"" SQLI_JSON "\"",
    "\"event_id\":\"q-cancel\",\"type\":\"shift.cancelled\",\"cancels\":\"q-none\",\"reason\":"
    "\"" SQLI_JSON "\"",
    "\"event_id\":\"q-dep\",\"type\":\"deployment.started\",\"deployment_id\":\"D-Q\",\"worker_"
    "id\":"
    "\"W-Q\",\"team\":\"" SQLI_JSON "\",\"destination\":\"" SQLI_JSON "\",\"date\":\"2020-02-16\"",
    "\"event_id\":\"q-dep-end\",\"type\":\"deployment.ended\",\"deployment_id\":\"D-Q\",\"date\":"
    "\"2020-02-29\"",
    "\"event_id\":\"q-benefit\",\"type\":\"benefit.delivered\",\"measure\":\"JL-05\",\"worker_id\":"
    "\"W-Q\",\"date\":\"2020-02-20\",\"amount_fen\":500000,\"reference\":\"" SQLI_JSON "\"",
    "\"event_id\":\"q-paid\",\"type\":\"subsidy.paid\",\"worker_id\":\"W-Q\",\"unit_id\":\"U-Q\","
    "\"line\":\"temp_subsidy\",\"period\":\"2020-02\",\"amount_fen\":1240000,\"date\":"
    "\"2020-03-10\",\"funding\":\"provincial\"",
    "\"event_id\":\"q-inj1\",\"type\":\"injury.reported\",\"case_id\":\"K-Q\",\"worker_id\":\"W-"
    "Q\","
    "\"date\":\"2020-02-21\"",
    "\"event_id\":\"q-inj2\",\"type\":\"injury.recognized\",\"case_id\":\"K-Q\",\"date\":"
    "\"2020-02-21\"",
    "\"event_id\":\"q-inj3\",\"type\":\"injury.paid\",\"case_id\":\"K-Q\",\"date\":\"2020-02-23\","
    "\"amount_fen\":100000",
    "\"event_id\":\"q-status\",\"type\":\"measure.status\",\"region\":\"120106\",\"measure\":"
    "\"HQ-21\",\"status\":\"in_progress\",\"date\":\"2020-02-21\",\"note\":\"" SQLI_JSON "\"",
    "\"event_id\":\"q-budget\",\"type\":\"budget.allocated\",\"budget_id\":\"B-Q\",\"scope\":"
    "\"U-Q\",\"line\":\"temp_subsidy\",\"amount_fen\":100000000,\"from\":\"2020-01-24\",\"to\":"
    "\"2020-12-31\",\"funding\":\"district\"",
};

/** SQL text where the SPEC allows none: refused by name. */
static const struct {
    const char *fields, *reason;
} SQL_REFUSED[] = {
    {"\"event_id\":\"" SQLI_JSON "\",\"type\":\"injury.recognized\",\"case_id\":\"K\",\"date\":"
     "\"2020-02-01\"",
     "bad_value:event_id"},
    {"\"event_id\":\"q-r2\",\"type\":\"" SQLI_JSON "\"", "unknown_type"},
    {"\"event_id\":\"q-r3\",\"type\":\"shift.completed\",\"worker_id\":\"" SQLI_JSON "\","
     "\"unit_id\":\"U-Q\",\"start\":\"2020-02-10T08:00:00+08:00\",\"end\":"
     "\"2020-02-10T16:00:00+08:00\",\"exposure\":\"direct\"",
     "bad_value:worker_id"},
    {"\"event_id\":\"q-r4\",\"type\":\"shift.completed\",\"worker_id\":\"W-Q\",\"unit_id\":"
     "\"U-Q\",\"start\":\"2020-02-10T08:00:00+08:00\",\"end\":\"2020-02-10T16:00:00+08:00\","
     "\"exposure\":\"" SQLI_JSON "\"",
     "bad_value:exposure"},
    {"\"event_id\":\"q-r5\",\"type\":\"injury.recognized\",\"case_id\":\"K\",\"date\":"
     "\"" SQLI_JSON "\"",
     "bad_time:date"},
    {"\"event_id\":\"q-r6\",\"type\":\"benefit.delivered\",\"measure\":\"" SQLI_JSON "\","
     "\"worker_id\":\"W-Q\",\"date\":\"2020-02-20\"",
     "unknown_measure"},
    {"\"event_id\":\"q-r7\",\"type\":\"unit.registered\",\"unit_id\":\"U-Q\",\"name\":\"n\","
     "\"region\":\"" SQLI_JSON "\",\"kind\":\"hospital\",\"level\":\"county\"",
     "bad_value:region"},
    {"\"event_id\":\"q-r8\",\"type\":\"budget.allocated\",\"budget_id\":\"B-Q\",\"scope\":"
     "\"" SQLI_JSON "\",\"line\":\"temp_subsidy\",\"amount_fen\":1,\"from\":\"2020-01-24\","
     "\"to\":\"2020-12-31\",\"funding\":\"district\"",
     "bad_value:scope"},
    {"\"event_id\":\"q-r9\",\"type\":\"injury.paid\",\"case_id\":\"K\",\"date\":\"2020-02-01\","
     "\"amount_fen\":\"" SQLI_JSON "\"",
     "bad_type:amount_fen"},
};

static void test_sql_text(void)
{
    const char *tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'careledger'";
    char before[32];
    snprintf(before, sizeof before, "%s", sql1(tables, NULL, NULL));
    char m[4096];
    for (size_t i = 0; i < sizeof SQL_EVENTS / sizeof SQL_EVENTS[0]; i++) {
        snprintf(m, sizeof m,
                 "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-10T08:00:00+08:00\","
                 "\"source\":\"" SQLI_JSON "\",%s}",
                 SQL_EVENTS[i]);
        /* The key is free: SQL text there too. */
        send_raw(SQLI_TEXT, strlen(SQLI_TEXT), m, strlen(m));
        expected_accepted++;
    }
    for (size_t i = 0; i < sizeof SQL_REFUSED / sizeof SQL_REFUSED[0]; i++) {
        snprintf(m, sizeof m, "{" OCC ",%s}", SQL_REFUSED[i].fields);
        send_raw(SQLI_TEXT, strlen(SQLI_TEXT), m, strlen(m));
        expect_dead(SQL_REFUSED[i].reason);
    }
    snprintf(m, sizeof m,
             "{\"schema\":\"careledger/1\",\"occurred_at\":\"" SQLI_JSON "\",\"event_id\":"
             "\"q-r10\",\"type\":\"injury.recognized\",\"case_id\":\"K\",\"date\":\"2020-02-01\"}");
    send_dead(m, strlen(m), "bad_time:occurred_at");
    snprintf(m, sizeof m,
             "{\"schema\":\"" SQLI_JSON "\",\"occurred_at\":\"2020-02-10T08:00:00+08:00\","
             "\"event_id\":\"q-r11\",\"type\":\"injury.recognized\",\"case_id\":\"K\",\"date\":"
             "\"2020-02-01\"}");
    send_dead(m, strlen(m), "unsupported_schema");
    settle();
    check_counts();
    /* Every table is still there, events first. */
    CU_ASSERT_STRING_EQUAL(sql1(tables, NULL, NULL), before);
    CU_ASSERT_STRING_EQUAL(sql1("SELECT to_regclass('careledger.events') IS NOT NULL", NULL, NULL),
                           "t");
    /* Stored verbatim, column by column, and in the aggregates' copies. */
    const char *q = "SELECT count(*) FROM careledger.events WHERE event_id LIKE 'q-%' AND ";
    static const struct {
        const char *cond;
        const char *n;
    } COLS[] = {{"source = $1", "14"},   {"name = $1", "2"}, {"post = $1", "1"},
                {"reason = $1", "1"},    {"team = $1", "1"}, {"destination = $1", "1"},
                {"reference = $1", "1"}, {"note = $1", "1"}};
    for (size_t i = 0; i < sizeof COLS / sizeof COLS[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "%s%s", q, COLS[i].cond);
        const char *got = sql1(sql, SQLI_TEXT, NULL);
        if (strcmp(got, COLS[i].n) != 0)
            fprintf(stderr, "\n  %s: %s, expected %s\n", COLS[i].cond, got, COLS[i].n);
        CU_ASSERT_STRING_EQUAL(got, COLS[i].n);
    }
    CU_ASSERT_STRING_EQUAL(
        sql1("SELECT name = $1 FROM careledger.regions WHERE code = '990000'", SQLI_TEXT, NULL),
        "t");
    CU_ASSERT_STRING_EQUAL(
        sql1("SELECT name = $1 FROM careledger.units WHERE unit_id = 'U-Q'", SQLI_TEXT, NULL), "t");
    snprintf(m, sizeof m,
             "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-10T08:00:00+08:00\","
             "\"source\":\"" SQLI_JSON "\",%s}",
             SQL_EVENTS[0]);
    CU_ASSERT_STRING_EQUAL(
        sql1("SELECT payload = $1 FROM careledger.events WHERE event_id = 'q-region'", m, NULL),
        "t");
    /* Refused ones keep their key and payload bytes; the reason's detail quotes SQL text as
     * text. */
    CU_ASSERT_STRING_EQUAL(sql1("SELECT count(*) FROM careledger.dead_letters WHERE msg_key = "
                                "convert_to($1, 'UTF8')",
                                SQLI_TEXT, NULL),
                           "9");
    CU_ASSERT_STRING_EQUAL(sql1("SELECT count(*) FROM careledger.dead_letters WHERE reason = "
                                "'bad_value:exposure' AND strpos(message, 'DROP TABLE') > 0",
                                NULL, NULL),
                           "1");
    assert_alive();
}

static void test_utf8_keys(void)
{
    static const char *const BAD[] = {"\xff",         "\xc3\x28",         "\xc0\xaf",
                                      "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe5\x90"};
    char m[512];
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        int n =
            snprintf(m, sizeof m,
                     "{" OCC ",\"event_id\":\"u%zu\",\"type\":\"injury.recognized\",\"case_id\":"
                     "\"K\",\"date\":\"2020-02-01\",\"k%s\":1}",
                     i, BAD[i]);
        send_dead(m, (size_t)n, "invalid_utf8");
        n = snprintf(m, sizeof m,
                     "{" OCC ",\"event_id\":\"v%zu\",\"type\":\"injury.recognized\",\"case_id%s\":"
                     "\"K\",\"date\":\"2020-02-01\",\"x\":{\"%s\":[]}}",
                     i, BAD[i], BAD[i]);
        send_dead(m, (size_t)n, "invalid_utf8");
    }
    /* Invalid UTF-8 in the Kafka key of a valid event: the key is free, the event stored. */
    const char *ok = "{" OCC ",\"event_id\":\"u-key\",\"type\":\"injury.recognized\",\"case_id\":"
                     "\"K\",\"date\":\"2020-02-01\"}";
    send_raw("\xff\xfe", 2, ok, strlen(ok));
    expected_accepted++;
    settle();
    check_counts();
    CU_ASSERT_STRING_EQUAL(sql1("SELECT count(*) FROM careledger.dead_letters WHERE reason = "
                                "'invalid_utf8' AND position('\\xff'::bytea IN payload) > 0",
                                NULL, NULL),
                           "2");
    assert_alive();
}

static void test_memory_bounded(void)
{
    /* Rounds of every hostile kind: the first round's resident memory is the plateau; the last
     * must not have grown past it by more than GROWTH_BOUND_KB, nor the peak past HWM_BOUND_KB. */
    long rss_first = -1, rss_last = -1;
    const int rounds = 6, per_kind = 12;
    char id[32];
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < per_kind; k++) {
            snprintf(id, sizeof id, "mb%d-%d", r, k);
            char *m = padded(id, CL_EVENT_MAX_BYTES + 1);
            send_dead(m, CL_EVENT_MAX_BYTES + 1, "too_large");
            free(m);
            size_t len;
            m = nested(id, 60000, &len);
            send_dead(m, len, "invalid_json");
            free(m);
            snprintf(id, sizeof id, "mw%d-%d", r, k);
            m = wide(id, 10000);
            send_ok(m);
            free(m);
            snprintf(id, sizeof id, "mx%d-%d", r, k);
            m = padded(id, CL_EVENT_MAX_BYTES);
            send_ok(m);
            free(m);
            if (k % 6 == 5)
                settle(); /* a few MiB at a time: the mock keeps 5 MiB per partition */
        }
        settle();
        long rss = proc_kb(daemon_proc.pid, "VmRSS");
        CU_ASSERT_TRUE_FATAL(rss > 0);
        if (r == 0)
            rss_first = rss;
        rss_last = rss;
    }
    check_counts();
    long hwm = proc_kb(daemon_proc.pid, "VmHWM");
    fprintf(stderr, "\n  careledgerd: VmHWM %ld kB, VmRSS %ld kB after round 1, %ld kB after %d\n",
            hwm, rss_first, rss_last, rounds);
    CU_ASSERT_TRUE(hwm > 0 && hwm < HWM_BOUND_KB);
    CU_ASSERT_TRUE(rss_last - rss_first < GROWTH_BOUND_KB);
    assert_alive();
    /* And it still stops cleanly. */
    CU_ASSERT_EQUAL(cl_proc_stop(&daemon_proc, SIGTERM, 10000), 0);
    daemon_proc.pid = -1;
}

/** @brief Broker, database, daemon (one worker), and a producer of raw bytes. */
static int setup(void)
{
    char err[512];
    if (cl_it_setup(&it, "it_hostile", 1, 1) != 0 || cl_it_write_config(&it, 1, 100, 50) != 0 ||
        cl_it_daemon_start(&it, &daemon_proc, NULL) != 0)
        return -1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", it.bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "compression.codec", "lz4", err, sizeof err) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err)) {
        fprintf(stderr, "test_hostile: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!producer) {
        fprintf(stderr, "test_hostile: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    return 0;
}

/** @brief Stop what is left. */
static void teardown(void)
{
    if (producer)
        rd_kafka_destroy(producer);
    if (daemon_proc.pid > 0)
        cl_proc_stop(&daemon_proc, SIGKILL, 5000);
    cl_it_teardown(&it);
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"64 KiB + 1, 100,000 '[', 10,000 elements", test_sizes},
        {"U+0000 in strings and keys, raw NUL bytes", test_nul},
        {"SQL text in every string field: verbatim or refused", test_sql_text},
        {"invalid UTF-8 in keys", test_utf8_keys},
        {"memory stays bounded, the daemon keeps running", test_memory_bounded},
        {NULL, NULL}};
    if (setup() != 0)
        return -1;
    atexit(teardown);
    return cl_test_add_suite("hostile", tests);
}
