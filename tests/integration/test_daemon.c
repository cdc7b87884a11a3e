/**
 * @file test_daemon.c
 * @brief careledgerd as operators meet it: /healthz and /metrics, SIGHUP
 * reloads (a bad policy file keeps the old set), a broker that goes down
 * and comes back (each state change logged once), dead-letters output.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cltest.h"
#include "harness.h"

static cl_it_t it;
static cl_proc_t daemon_proc;
static char body[1 << 20];

/** @brief Write @p text to DIR/@p name. */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/** @brief Produce JSONL text to a topic through the CLI. */
static void produce(const char *name, const char *jsonl)
{
    char args[700];
    write_file(it.dir, name, jsonl);
    snprintf(args, sizeof args, "produce '%s/%s' --topic careledger.assistance", it.dir, name);
    CU_ASSERT_EQUAL(cl_it_cli(&it, args), 0);
}

/** @brief A delivery of measure @p m with event id @p id. */
static const char *delivery(const char *id, const char *m)
{
    static char line[512];
    snprintf(
        line, sizeof line,
        "{\"schema\":\"careledger/1\",\"event_id\":\"%s\",\"type\":\"benefit.delivered\","
        "\"occurred_at\":\"2020-02-10T08:00:00+08:00\",\"measure\":\"%s\",\"worker_id\":\"W1\","
        "\"date\":\"2020-02-10\",\"amount_fen\":500000}\n",
        id, m);
    return line;
}

/** @brief Wait until the stored dead letters of @p reason reach @p n. */
static long wait_reason(const char *reason, long n)
{
    cl_it_status_t st;
    long got = 0;
    for (int i = 0; i < 120; i++) {
        got = 0;
        if (cl_it_status(&it, &st) == 0)
            for (int k = 0; k < st.nreasons; k++)
                if (strcmp(st.reasons[k].reason, reason) == 0)
                    got = st.reasons[k].n;
        if (got >= n)
            break;
        usleep(250 * 1000);
    }
    return got;
}

/** @brief Poll /metrics until it shows @p line (metrics follow the commit by a moment). */
static int wait_metric(const char *line)
{
    for (int i = 0; i < 50; i++) {
        if (cl_it_http_get(it.http_port, "/metrics", body, sizeof body) == 200 &&
            strstr(body, line))
            return 1;
        usleep(100 * 1000);
    }
    fprintf(stderr, "\n  /metrics never showed: %s\n", line);
    return 0;
}

static void test_http(void)
{
    produce("a.jsonl", "not json\n");
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, 1, 60), 0);
    int code = cl_it_http_get(it.http_port, "/healthz", body, sizeof body);
    CU_ASSERT_EQUAL(code, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"status\":\"ok\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"postgres\":{\"state\":\"up\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"lag\":"));
    CU_ASSERT_TRUE(wait_metric("careledger_messages_consumed_total 1\n"));
    CU_ASSERT_TRUE(wait_metric("careledger_dead_letters_total{reason=\"invalid_json\"} 1\n"));
    CU_ASSERT_TRUE(wait_metric("careledger_batch_duration_seconds_bucket{le=\"+Inf\"} 1\n"));
    CU_ASSERT_TRUE(wait_metric(
        "careledger_consumer_lag{topic=\"careledger.assistance\",partition=\"0\"} 0\n"));
    CU_ASSERT_TRUE(wait_metric("careledger_postgres_up 1\n"));
    /* Secrets never appear (the conninfo here has none; the redaction is unit-tested). */
    CU_ASSERT_PTR_NULL(strstr(body, "password"));
    CU_ASSERT_EQUAL(cl_it_http_get(it.http_port, "/nope", body, sizeof body), 404);
    CU_ASSERT_EQUAL(cl_it_http_get(it.http_port, "/reports/", body, sizeof body),
                    404); /* none yet */
}

static void test_sighup(void)
{
    /* ZZ-01 is unknown: a dead letter. */
    produce("b.jsonl", delivery("zz1", "ZZ-01"));
    CU_ASSERT_EQUAL(wait_reason("unknown_measure", 1), 1);
    /* A broken file: the reload is rejected and the old set stays in force. */
    write_file(it.policies, "broken.json", "{\"id\": \"broken\", \"colour\": 1}");
    CU_ASSERT_EQUAL(kill(daemon_proc.pid, SIGHUP), 0);
    sleep(2);
    CU_ASSERT_TRUE(cl_it_log_count(&it, "reload rejected") >= 1);
    CU_ASSERT_TRUE(cl_it_log_count(&it, "$.colour: unknown key") >= 1);
    produce("c.jsonl", delivery("jl1", "JL-05")); /* still accepted under the old set */
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, 3, 60), 0);
    /* A good file with a new measure: accepted after the reload. */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -f '%s/broken.json'", it.policies);
    CU_ASSERT_EQUAL(system(cmd), 0);
    write_file(
        it.policies, "test-zz.json",
        "{\"id\":\"test-zz\",\"region\":\"330000\",\"title\":\"t\",\"issuer\":\"i\","
        "\"effective_from\":\"2020-01-24\",\"effective_to\":null,\"measures\":[{\"id\":\"ZZ-01\","
        "\"no\":\"1\",\"item\":null,\"title\":\"t\",\"text\":\"x\",\"responsible\":[],\"lead\":[],"
        "\"owner\":null,\"deadline\":null,\"track\":{\"kind\":\"once\",\"scope\":\"worker\","
        "\"eligible\":\"frontline\"}}]}");
    /* Report settings reload with them (reports.formats: all five → json). */
    snprintf(it.reports_extra, sizeof it.reports_extra, ",\"formats\":[\"json\"]");
    CU_ASSERT_EQUAL(cl_it_write_config(&it, 1, 100, 50), 0);
    CU_ASSERT_EQUAL(kill(daemon_proc.pid, SIGHUP), 0);
    sleep(2);
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "msg=\"reloaded\" policies=6 jurisdictions=0 formats=1"),
                    1);
    produce("d.jsonl", delivery("zz2", "ZZ-01"));
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, 4, 60), 0);
    cl_it_status_t st;
    CU_ASSERT_EQUAL(cl_it_status(&it, &st), 0);
    CU_ASSERT_EQUAL(st.accepted, 2); /* jl1, zz2 */
    CU_ASSERT_EQUAL(cl_it_http_get(it.http_port, "/metrics", body, sizeof body), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "careledger_policy_reloads_total{result=\"ok\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(body, "careledger_policy_reloads_total{result=\"rejected\"} 1\n"));
    int status;
    CU_ASSERT_EQUAL(waitpid(daemon_proc.pid, &status, WNOHANG), 0); /* never exited */
}

static void test_broker_down_up(void)
{
    CU_ASSERT_EQUAL(kill(it.broker.pid, SIGUSR1), 0); /* brokers down */
    sleep(8);
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "msg=\"broker unreachable: retrying\" worker=0"), 1);
    CU_ASSERT_EQUAL(cl_it_http_get(it.http_port, "/healthz", body, sizeof body), 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"status\":\"degraded\""));
    CU_ASSERT_EQUAL(kill(it.broker.pid, SIGUSR2), 0); /* up again */
    sleep(2);
    produce("e.jsonl", delivery("jl2", "JL-05"));
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, 5, 90), 0);
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "msg=\"broker unreachable: retrying\" worker=0"), 1);
    CU_ASSERT_TRUE(cl_it_log_count(&it, "msg=\"broker reachable\" worker=0") >= 1);
    int status;
    CU_ASSERT_EQUAL(waitpid(daemon_proc.pid, &status, WNOHANG), 0);
}

static void test_refused_content_is_isolated(void)
{
    /* Make PostgreSQL refuse one message's content (a careledger bug in real life): the
     * batch is split until that message is found; it becomes a dead letter and the rest
     * of its batch is stored; the partition moves on. */
    CU_ASSERT_EQUAL_FATAL(cl_it_exec(&it, "ALTER TABLE careledger.events ADD CONSTRAINT poison "
                                          "CHECK (reference IS DISTINCT FROM 'POISON') NOT VALID"),
                          0);
    char lines[4096];
    int n = 0;
    for (int i = 0; i < 6; i++)
        n += snprintf(
            lines + n, sizeof lines - (size_t)n,
            "{\"schema\":\"careledger/1\",\"event_id\":\"iso%d\",\"type\":\"benefit.delivered\","
            "\"occurred_at\":\"2020-02-10T08:00:00+08:00\",\"measure\":\"JL-05\",\"worker_id\":"
            "\"W1\","
            "\"date\":\"2020-02-10\",\"amount_fen\":500000,\"reference\":\"%s\"}\n",
            i, i == 3 ? "POISON" : "ok");
    cl_it_status_t before;
    CU_ASSERT_EQUAL(cl_it_status(&it, &before), 0);
    produce("iso.jsonl", lines);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, before.consumed + 6, 60), 0);
    cl_it_status_t st;
    CU_ASSERT_EQUAL(cl_it_status(&it, &st), 0);
    CU_ASSERT_EQUAL(st.accepted, before.accepted + 5);
    CU_ASSERT_EQUAL(wait_reason("storage_rejected:23514", 1), 1);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM "
                                          "careledger.events WHERE event_id LIKE 'iso%'"),
                           "iso0,iso1,iso2,iso4,iso5");
    CU_ASSERT_EQUAL(cl_it_exec(&it, "ALTER TABLE careledger.events DROP CONSTRAINT poison"), 0);
    int status;
    CU_ASSERT_EQUAL(waitpid(daemon_proc.pid, &status, WNOHANG), 0);
}

static void test_dead_letters_cli(void)
{
    /* Control characters in what a dead letter quotes never reach the terminal raw. */
    produce(
        "esc.jsonl",
        "{\"schema\":\"careledger/1\",\"event_id\":\"esc\",\"type\":\"x\\u001b]0;owned\\u0007\","
        "\"occurred_at\":\"2020-02-10T08:00:00+08:00\"}\n");
    CU_ASSERT_EQUAL(wait_reason("unknown_type", 1), 1);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' dead-letters --reason unknown_measure --config '%s'",
             cl_it_bin(), it.config);
    FILE *f = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(body, 1, sizeof body - 1, f);
    body[n] = '\0';
    CU_ASSERT_EQUAL(pclose(f), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "unknown_measure: no loaded policy has measure \"ZZ-01\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"event_id\":\"zz1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "1 dead letter(s) with reason unknown_measure"));
    snprintf(cmd, sizeof cmd, "'%s' dead-letters --reason unknown_type --config '%s'", cl_it_bin(),
             it.config);
    f = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    n = fread(body, 1, sizeof body - 1, f);
    body[n] = '\0';
    pclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\\x1b]0;owned\\x07"));
    CU_ASSERT_PTR_NULL(strchr(body, 0x1b));
    CU_ASSERT_PTR_NULL(strchr(body, 0x07));
    /* SIGTERM: exit 0. */
    CU_ASSERT_EQUAL(cl_proc_stop(&daemon_proc, SIGTERM, 10000), 0);
}

/** @brief Run `careledger seek ARGS`; its exit code, its output in body. */
static int seek(const char *args)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' seek %s --config '%s' 2>&1", cl_it_bin(), args, it.config);
    FILE *f = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(body, 1, sizeof body - 1, f);
    body[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_seek_replay(void)
{
    /* The daemon is stopped. careledger.assistance [0] holds 12 messages; zz1 (offset 1) was
     * a dead letter before ZZ-01's policy was loaded, iso3 (offset 8) was refused by a
     * constraint dropped since: reading again from offset 1 re-drives both. */
    cl_it_status_t before, st;
    CU_ASSERT_EQUAL(cl_it_status(&it, &before), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT next_offset FROM careledger.offsets WHERE "
                                          "topic = 'careledger.assistance' AND partition = 0"),
                           "12");
    CU_ASSERT_EQUAL(seek("--topic careledger.assistance --partition 0 --offset 13"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "would skip messages never stored"));
    CU_ASSERT_EQUAL(seek("--topic careledger.assistance --partition 5 --offset 0"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "no stored offset"));
    CU_ASSERT_EQUAL(seek("--topic careledger.assistance --partition 0 --offset -1"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "usage: careledger seek"));
    CU_ASSERT_EQUAL(seek("--topic careledger.assistance --partition 0 --offset 1"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "next offset 12 -> 1 (11 message(s)"));
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &daemon_proc, NULL), 0);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, before.consumed + 11, 60), 0);
    CU_ASSERT_EQUAL(cl_it_status(&it, &st), 0);
    CU_ASSERT_EQUAL(st.accepted, before.accepted + 2);     /* zz1, iso3 */
    CU_ASSERT_EQUAL(st.duplicates, before.duplicates + 8); /* counted once, figures unchanged */
    CU_ASSERT_EQUAL(st.dead, before.dead + 1);             /* esc: still an unknown type */
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT count(*) FROM careledger.events WHERE "
                                          "event_id IN ('zz1', 'iso3')"),
                           "2");
    /* Never under a running daemon. */
    CU_ASSERT_EQUAL(seek("--topic careledger.assistance --partition 0 --offset 0"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "careledgerd or ingest-file is connected"));
    CU_ASSERT_EQUAL(cl_proc_stop(&daemon_proc, SIGTERM, 10000), 0);
}

/** @brief Broker, database, a private copy of the policies, one worker. */
static int setup(void)
{
    if (cl_it_setup(&it, "it_daemon", 1, 1) != 0)
        return -1;
    snprintf(it.policies, sizeof it.policies, "%s/policies", it.dir);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s'/*.json '%s'/", it.policies,
             cl_test_src("config/policies"), it.policies);
    if (system(cmd) != 0 || cl_it_write_config(&it, 1, 100, 50) != 0)
        return -1;
    return cl_it_daemon_start(&it, &daemon_proc, NULL);
}

/** @brief Stop what is left. */
static void teardown(void)
{
    if (daemon_proc.pid > 0)
        cl_proc_stop(&daemon_proc, SIGKILL, 5000);
    cl_it_teardown(&it);
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"/healthz and /metrics", test_http},
        {"SIGHUP: a bad policy file keeps the old set", test_sighup},
        {"broker down and up: each change logged once", test_broker_down_up},
        {"refused content is isolated, not retried forever", test_refused_content_is_isolated},
        {"dead-letters lists payloads safely", test_dead_letters_cli},
        {"seek: replay from a stored offset re-drives dead letters", test_seek_replay},
        {NULL, NULL}};
    if (setup() != 0)
        return -1;
    atexit(teardown);
    return cl_test_add_suite("daemon", tests);
}
