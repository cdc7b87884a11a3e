/**
 * @file test_ingest.c
 * @brief careledgerd consumes Kafka into PostgreSQL exactly once (issue 3):
 * the broker, the daemon and the CLI run as separate processes; expected
 * numbers come from the test's own generator, never from the database.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "cltest.h"
#include "harness.h"

#define N_MAIN     50000
#define CATCH_UP_S 240

static char clean_digest[33];
static cl_stream_expect_t main_stream;
static char stream_dir[256];

/** @brief Monotonic seconds. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/** @brief Produce the stream from a background process. */
static int produce_async(cl_it_t *it, const cl_stream_expect_t *e, cl_proc_t *p)
{
    char cmd[4096];
    int n = snprintf(cmd, sizeof cmd, "exec >>'%s/produce.log' 2>&1; ", it->dir);
    for (int t = 0; t < CL_STREAM_TOPICS; t++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n,
                      "'%s' produce '%s' --topic %s --config '%s' && ", cl_it_bin(), e->files[t],
                      cl_stream_topics[t], it->config);
    snprintf(cmd + n, sizeof cmd - (size_t)n, "true");
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return cl_proc_spawn(p, argv);
}

/** @brief Wait for a background process to exit; its status. */
static int wait_exit(cl_proc_t *p, int timeout_s)
{
    return cl_proc_stop(p, 0, timeout_s * 1000);
}

/** @brief Wait until at least @p n messages are consumed. */
static void wait_at_least(cl_it_t *it, long n, int timeout_s)
{
    cl_it_status_t st;
    for (int i = 0; i < timeout_s * 5; i++) {
        if (cl_it_status(it, &st) == 0 && st.consumed >= n)
            return;
        usleep(200 * 1000);
    }
}

/** @brief The daemon process is still alive. */
static int alive(const cl_proc_t *p)
{
    int status;
    return waitpid(p->pid, &status, WNOHANG) == 0;
}

/** @brief Counter @p name from the daemon's /metrics; -1 when it cannot be read. */
static long metric(cl_it_t *it, const char *name)
{
    static char body[1 << 16];
    if (cl_it_http_get(it->http_port, "/metrics", body, sizeof body) != 200)
        return -1;
    size_t n = strlen(name);
    for (const char *p = body; (p = strstr(p, name)) != NULL; p += n)
        if ((p == body || p[-1] == '\n') && p[n] == ' ')
            return strtol(p + n + 1, NULL, 10);
    return -1;
}

/** @brief After catch-up: the generator's counts, a clean run's digest, and verify. */
static void assert_clean_run(cl_it_t *it)
{
    cl_it_status_t st;
    char digest[33];
    CU_ASSERT_EQUAL_FATAL(cl_it_status(it, &st), 0);
    cl_it_assert_expected(&st, &main_stream);
    CU_ASSERT_EQUAL(cl_it_digest(it, digest), 0);
    CU_ASSERT_STRING_EQUAL(digest, clean_digest);
    CU_ASSERT_EQUAL(cl_it_cli(it, "verify"), 0); /* aggregates equal raw facts */
}

static void test_main_stream(void)
{
    cl_it_t it;
    cl_proc_t d, prod;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_main", 8, 2), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(produce_async(&it, &main_stream, &prod), 0); /* while it consumes */
    CU_ASSERT_EQUAL(wait_exit(&prod, 120), 0);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, main_stream.total, CATCH_UP_S), 0);
    cl_it_status_t st;
    CU_ASSERT_EQUAL_FATAL(cl_it_status(&it, &st), 0);
    cl_it_assert_expected(&st, &main_stream);
    /* Every row of SPEC §11's table is there with its reason. */
    static const char *const reasons[] = {
        "invalid_json",        "invalid_utf8",         "too_large",
        "unsupported_schema",  "unknown_type",         "missing_field:worker_id",
        "bad_type:amount_fen", "bad_value:exposure",   "bad_value:name",
        "bad_time:date",       "bad_time:end",         "bad_amount:amount_fen",
        "unknown_measure",     "conflicting_duplicate"};
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        CU_ASSERT_TRUE(cl_stream_expected_reason(&main_stream, reasons[i]) > 0);
    CU_ASSERT_EQUAL(cl_it_digest(&it, clean_digest), 0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0); /* aggregates equal raw facts */
    CU_ASSERT_EQUAL(cl_proc_stop(&d, SIGTERM, 10000), 0);
    cl_it_teardown(&it);
}

static void test_stop_restart(void)
{
    cl_it_t it;
    cl_proc_t d, prod;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_restart", 8, 2), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 2, 500, 50), 0);
    CU_ASSERT_EQUAL_FATAL(produce_async(&it, &main_stream, &prod), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
    wait_at_least(&it, main_stream.total / 3, 120);
    /* SIGTERM: finish the batch, commit, leave the group, exit 0 within 10 s. */
    double t0 = now_s();
    CU_ASSERT_EQUAL(cl_proc_stop(&d, SIGTERM, 10000), 0);
    CU_ASSERT_TRUE(now_s() - t0 < 10.0);
    cl_it_status_t mid;
    CU_ASSERT_EQUAL(cl_it_status(&it, &mid), 0);
    CU_ASSERT_TRUE(mid.consumed > 0);
    CU_ASSERT_EQUAL(wait_exit(&prod, 120), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, main_stream.total, CATCH_UP_S), 0);
    assert_clean_run(&it); /* nothing read twice, nothing missed */
    /* The restart met thousands of messages in each partition, more than 1,000: the
     * workers read them one partition at a time (DECISIONS 161). */
    CU_ASSERT_TRUE(metric(&it, "careledger_partition_focus_total") > 0);
    CU_ASSERT_EQUAL(cl_proc_stop(&d, SIGTERM, 10000), 0);
    cl_it_teardown(&it);
}

static void test_crashes(void)
{
    cl_it_t it;
    cl_proc_t d;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_crash", 8, 2), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 2, 400, 50), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_produce_stream(&it, &main_stream), 0);
    /* A crash forced at each of three points inside a batch. */
    static const char *const points[] = {"after_copy", "before_commit", "after_commit"};
    for (int i = 0; i < 3; i++) {
        char env[64];
        snprintf(env, sizeof env, "CARELEDGER_TEST_CRASH=%s:3", points[i]);
        CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, env), 0);
        int status = wait_exit(&d, 120);
        if (status != 128 + SIGKILL)
            fprintf(stderr, "\n  %s: daemon exit status %d\n", points[i], status);
        CU_ASSERT_EQUAL(status, 128 + SIGKILL);
    }
    /* kill -9 at 5 random moments, restarting each time. */
    srand(7);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
        usleep((useconds_t)(1500 + rand() % 2500) * 1000);
        CU_ASSERT_EQUAL(cl_proc_stop(&d, SIGKILL, 5000), 128 + SIGKILL);
    }
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, main_stream.total, CATCH_UP_S), 0);
    assert_clean_run(&it);
    CU_ASSERT_EQUAL(cl_proc_stop(&d, SIGTERM, 10000), 0);
    cl_it_teardown(&it);
}

static void test_postgres_outage(void)
{
    cl_it_t it;
    cl_proc_t d, prod;
    const char *pgctl = getenv("CARELEDGER_PGCTL");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pgctl);
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_pgdown", 8, 2), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 2, 500, 50), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(produce_async(&it, &main_stream, &prod), 0);
    wait_at_least(&it, main_stream.total / 5, 120);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s' stop", pgctl);
    CU_ASSERT_EQUAL(system(cmd), 0);
    sleep(5);
    CU_ASSERT_TRUE(alive(&d)); /* paused, not exited */
    snprintf(cmd, sizeof cmd, "'%s' start", pgctl);
    CU_ASSERT_EQUAL(system(cmd), 0);
    CU_ASSERT_EQUAL(wait_exit(&prod, 120), 0);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, main_stream.total, CATCH_UP_S), 0);
    CU_ASSERT_TRUE(alive(&d));
    assert_clean_run(&it);
    CU_ASSERT_EQUAL(cl_proc_stop(&d, SIGTERM, 10000), 0);
    cl_it_teardown(&it);
}

static void test_two_daemons(void)
{
    cl_it_t it;
    cl_proc_t a, b, prod;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_two", 8, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 500, 50), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &a, NULL), 0);
    /* The second daemon's HTTP port differs: a second config beside the first. */
    cl_it_t it_b = it;
    snprintf(it_b.config, sizeof it_b.config, "%s/careledger-b.json", it.dir);
    it_b.http_port = it.http_port + 1;
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it_b, 1, 500, 50), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it_b, &b, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(produce_async(&it, &main_stream, &prod), 0);
    wait_at_least(&it, main_stream.total / 3, 120);
    CU_ASSERT_EQUAL(cl_proc_stop(&a, SIGTERM, 10000), 0); /* b takes a's partitions */
    CU_ASSERT_EQUAL(wait_exit(&prod, 120), 0);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, main_stream.total, CATCH_UP_S), 0);
    assert_clean_run(&it);
    CU_ASSERT_EQUAL(cl_proc_stop(&b, SIGTERM, 10000), 0);
    cl_it_teardown(&it);
}

static void test_ingest_file_twice(void)
{
    cl_it_t it;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_file", 0, 1), 0);
    char args[1700];
    snprintf(args, sizeof args, "ingest-file '%s' '%s' '%s'", main_stream.files[0],
             main_stream.files[1], main_stream.files[2]);
    CU_ASSERT_EQUAL(cl_it_cli(&it, args), 0);
    CU_ASSERT_EQUAL(cl_it_cli(&it, args), 0); /* the second run adds nothing */
    assert_clean_run(&it);
    /* Each file's position is its line count: topic file:PATH, partition 0. */
    char want[1024];
    snprintf(want, sizeof want,
             "file:%s/assistance.jsonl=%ld,file:%s/reference.jsonl=%ld,file:%s/shifts.jsonl=%ld",
             stream_dir, main_stream.lines[2], stream_dir, main_stream.lines[0], stream_dir,
             main_stream.lines[1]);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT string_agg(topic || '=' || next_offset, ',' "
                                          "ORDER BY topic) FROM careledger.offsets"),
                           want);
    cl_it_teardown(&it);
}

/* A region's registration as one line of a file: its event id, code and name. */
#define DUP_LINE(id, code, name)                                                                   \
    "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-01-24T00:00:00+08:00\","                  \
    "\"event_id\":\"" id "\",\"type\":\"region.registered\",\"code\":\"" code "\","                \
    "\"name\":\"" name "\",\"parent\":null,\"level\":\"province\"}\n"

/* Each dead letter as id:offset:reason, and each file's counts as
 * accepted/duplicates/dead/next offset, in topic order. */
static const char SQL_DEAD_BY_OFFSET[] =
    "SELECT string_agg(event_id || ':' || src_offset || ':' || reason, ',' ORDER BY src_offset) "
    "FROM careledger.dead_letters";
static const char SQL_FILE_COUNTS[] =
    "SELECT string_agg(accepted || '/' || duplicates || '/' || dead_letters || '/' || "
    "next_offset, ',' ORDER BY topic) FROM careledger.offsets";

/** @brief Write @p text to DIR/@p name; the path into @p path. */
static void write_file(const cl_it_t *it, const char *name, const char *text, char *path,
                       size_t size)
{
    snprintf(path, size, "%s/%s", it->dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* The writer classifies a batch's copies itself from one probe of the stored ids
 * (DECISIONS 166): a copy is an exact duplicate of its id's original (the stored event, else
 * the batch's first copy) or a conflicting one, whichever came first in the batch. */
static void test_duplicates_classified(void)
{
    cl_it_t it;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_dups", 0, 1), 0);
    char first[400], second[400], args[900];
    write_file(&it, "first.jsonl",
               DUP_LINE("x-a", "110000", "北京市") DUP_LINE("x-e", "310000", "上海市"), first,
               sizeof first);
    write_file(&it, "second.jsonl",
               DUP_LINE("x-a", "110000", "北京市") /* stored, same: duplicate */
               DUP_LINE("x-a", "110000", "北平")   /* stored, other: conflicting */
               DUP_LINE("x-b", "120000", "天津市") /* new: accepted */
               DUP_LINE("x-b", "120000", "天津市") /* its copy: duplicate */
               DUP_LINE("x-c", "130000", "河北省") /* new: accepted */
               DUP_LINE("x-c", "130000", "冀")     /* its other copy: conflicting */
               DUP_LINE("x-e", "310000", "沪")     /* stored, other: conflicting */
               DUP_LINE("x-e", "310000", "上海市") /* the stored one again: duplicate */
               DUP_LINE("x-e", "310000", "沪"),    /* that other again: conflicting */
               second, sizeof second);
    snprintf(args, sizeof args, "ingest-file '%s'", first);
    CU_ASSERT_EQUAL(cl_it_cli(&it, args), 0);
    snprintf(args, sizeof args, "ingest-file '%s'", second);
    CU_ASSERT_EQUAL(cl_it_cli(&it, args), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT string_agg(event_id || ':' || name || ':' || "
                                          "src_offset, ',' ORDER BY event_id) "
                                          "FROM careledger.events"),
                           "x-a:北京市:0,x-b:天津市:2,x-c:河北省:4,x-e:上海市:1");
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, SQL_DEAD_BY_OFFSET),
                           "x-a:1:conflicting_duplicate,x-c:5:conflicting_duplicate,"
                           "x-e:6:conflicting_duplicate,x-e:8:conflicting_duplicate");
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, SQL_FILE_COUNTS), "2/0/0/2,2/3/4/9");
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT string_agg(code || ':' || name, ',' "
                                          "ORDER BY code) FROM careledger.regions"),
                           "110000:北京市,120000:天津市,130000:河北省,310000:上海市");
    cl_it_teardown(&it);
}

/* Two events and two copies of the second; x-race-1 is also being stored, with other content,
 * by another session. The batch is stored again guarded, every copy classified there. */
static const char RACE_FILE[] =
    "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-01-24T00:00:00+08:00\",\"event_id\":"
    "\"x-race-1\",\"type\":\"region.registered\",\"code\":\"220000\",\"name\":\"吉林省\","
    "\"parent\":null,\"level\":\"province\"}\n"
    "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-01-24T00:00:00+08:00\",\"event_id\":"
    "\"x-race-2\",\"type\":\"region.registered\",\"code\":\"220100\",\"name\":\"长春市\","
    "\"parent\":\"220000\",\"level\":\"city\"}\n" DUP_LINE(
        "x-race-2", "220100", "长春") /* a conflicting copy, then an exact one */
    "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-01-24T00:00:00+08:00\",\"event_id\":"
    "\"x-race-2\",\"type\":\"region.registered\",\"code\":\"220100\",\"name\":\"长春市\","
    "\"parent\":\"220000\",\"level\":\"city\"}\n";

/** @brief Run @p sql on @p c; 0 when it succeeded. */
static int exec_on(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

/* The batch probes stored ids, then inserts without ON CONFLICT (DECISIONS 106): a session
 * that stores one of its ids in between makes the insert fail; the batch is stored again
 * guarded, and the id is a conflicting duplicate of what the other stored, nothing lost. */
static void test_id_race(void)
{
    cl_it_t it;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_race", 0, 1), 0);
    char path[400], conninfo[128];
    write_file(&it, "race.jsonl", RACE_FILE, path, sizeof path);
    snprintf(conninfo, sizeof conninfo, "dbname=%s", it.name);
    PGconn *other = PQconnectdb(conninfo);
    CU_ASSERT_EQUAL_FATAL(PQstatus(other), CONNECTION_OK);
    CU_ASSERT_EQUAL(exec_on(other, "BEGIN"), 0);
    CU_ASSERT_EQUAL(exec_on(other, "INSERT INTO careledger.events (event_id, type, fingerprint, "
                                   "occurred_at, src_topic, src_partition, src_offset, payload) "
                                   "VALUES ('x-race-1', 'region.registered', '\\x00', now(), "
                                   "'elsewhere', 0, 0, '{}')"),
                    0);
    cl_proc_t ing;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "exec '%s' ingest-file '%s' --config '%s' >>'%s/race.log' 2>&1",
             cl_it_bin(), path, it.config, it.dir);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    CU_ASSERT_EQUAL_FATAL(cl_proc_spawn(&ing, argv), 0);
    /* The batch's insert waits on the other session's uncommitted id. */
    int waiting = 0;
    for (int i = 0; i < 300 && !waiting; i++) {
        waiting = strcmp(cl_it_sql(&it, "SELECT count(*) FROM pg_stat_activity WHERE "
                                        "application_name = 'careledger-ingest' AND "
                                        "wait_event_type = 'Lock'"),
                         "1") == 0;
        if (!waiting)
            usleep(100 * 1000);
    }
    CU_ASSERT_TRUE(waiting);
    if (!waiting) {
        snprintf(cmd, sizeof cmd, "cat '%s/race.log' >&2", it.dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
    CU_ASSERT_EQUAL(exec_on(other, "COMMIT"), 0);
    PQfinish(other);
    CU_ASSERT_EQUAL(wait_exit(&ing, 60), 0);
    char want[600];
    snprintf(want, sizeof want, "x-race-1:elsewhere,x-race-2:file:%s", path);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT string_agg(event_id || ':' || src_topic, ',' "
                                          "ORDER BY event_id) FROM careledger.events"),
                           want);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, SQL_DEAD_BY_OFFSET),
                           "x-race-1:0:conflicting_duplicate,x-race-2:2:conflicting_duplicate");
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, SQL_FILE_COUNTS), "1/1/2/4");
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT string_agg(code, ',' ORDER BY code) FROM "
                                          "careledger.regions"),
                           "220100");
    snprintf(cmd, sizeof cmd, "grep -q 'storing the batch again' '%s/race.log'", it.dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    cl_it_teardown(&it);
}

/* One batch of 30,000 workers' shifts: more workers than the server's lock table has slots
 * (64 per connection, 200 connections here). Locked one by one they failed the batch with
 * "out of shared memory" on every attempt; by bucket the batch holds at most 1,024
 * (DECISIONS 107). */
static void test_many_workers(void)
{
    cl_it_t it;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_wide", 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, 1, 30000, 100), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/wide.jsonl", it.dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < 30000; i++)
        fprintf(f,
                "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-01T16:00:00+08:00\","
                "\"event_id\":\"wide-%d\",\"type\":\"shift.completed\",\"worker_id\":"
                "\"WL%05d\",\"unit_id\":\"U-WIDE\",\"start\":\"2020-02-01T08:00:00+08:00\","
                "\"end\":\"2020-02-01T16:00:00+08:00\",\"exposure\":\"direct\"}\n",
                i, i);
    fclose(f);
    char args[500];
    snprintf(args, sizeof args, "ingest-file '%s'", path);
    CU_ASSERT_EQUAL(cl_it_cli(&it, args), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT accepted || '/' || next_offset FROM "
                                          "careledger.offsets"),
                           "30000/30000");
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT count(DISTINCT worker_id) FROM "
                                          "careledger.worker_days"),
                           "30000");
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    cl_it_teardown(&it);
}

#define MEET_ENV   "\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-01T08:00:00+08:00\""
#define MEET_CROSS "pg_advisory_xact_lock(hashtextextended('careledger.cross-partition', 0))"

/* A Jilin hospital and two of its nurses: M1 works one shift that is cancelled; M2 leaves
 * for Wuhan on 02-16 and comes back on 02-20 (five deployment days). */
static const char MEET_REGS[] =
    "{" MEET_ENV ",\"event_id\":\"m-u\",\"type\":\"unit.registered\",\"unit_id\":\"U-M\","
    "\"name\":\"县医院\",\"region\":\"220102\",\"kind\":\"hospital\",\"level\":\"county\"}\n"
    "{" MEET_ENV ",\"event_id\":\"m-r1\",\"type\":\"worker.registered\",\"worker_id\":\"M1\","
    "\"unit_id\":\"U-M\",\"role\":\"nurse\",\"staff\":\"contract\",\"children\":0,\"elders\":0}\n"
    "{" MEET_ENV ",\"event_id\":\"m-r2\",\"type\":\"worker.registered\",\"worker_id\":\"M2\","
    "\"unit_id\":\"U-M\",\"role\":\"nurse\",\"staff\":\"contract\",\"children\":0,\"elders\":0}\n";
static const char MEET_SHIFT[] =
    "{" MEET_ENV ",\"event_id\":\"m-s1\",\"type\":\"shift.completed\",\"worker_id\":\"M1\","
    "\"unit_id\":\"U-M\",\"start\":\"2020-02-03T08:00:00+08:00\","
    "\"end\":\"2020-02-03T16:00:00+08:00\",\"exposure\":\"direct\"}\n";
static const char MEET_CANCEL[] =
    "{" MEET_ENV ",\"event_id\":\"m-c1\",\"type\":\"shift.cancelled\",\"cancels\":\"m-s1\"}\n";
static const char MEET_START[] =
    "{" MEET_ENV ",\"event_id\":\"m-d1\",\"type\":\"deployment.started\",\"deployment_id\":"
    "\"M-D\",\"worker_id\":\"M2\",\"team\":\"吉林援鄂医疗队\",\"destination\":\"武汉\","
    "\"date\":\"2020-02-16\"}\n";
static const char MEET_END[] =
    "{" MEET_ENV ",\"event_id\":\"m-d2\",\"type\":\"deployment.ended\",\"deployment_id\":\"M-D\","
    "\"date\":\"2020-02-20\"}\n";

/** @brief Write @p text to DIR/NAME.jsonl and ingest it in the background into @p p. */
static int ingest_async(cl_it_t *it, const char *name, const char *text, cl_proc_t *p)
{
    char path[400], cmd[1200];
    snprintf(path, sizeof path, "%s/%s.jsonl", it->dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    if (fclose(f) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "exec '%s' ingest-file '%s' --config '%s' >>'%s/%s.log' 2>&1",
             cl_it_bin(), path, it->config, it->dir, name);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return cl_proc_spawn(p, argv);
}

/** @brief Wait up to 30 s until @p n ingest sessions wait on a lock of kind @p event. */
static int ingest_waiting(cl_it_t *it, const char *event, int n)
{
    char sql[300], want[16];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
             "'careledger-ingest' AND wait_event_type = 'Lock' AND wait_event = '%s'",
             event);
    snprintf(want, sizeof want, "%d", n);
    for (int i = 0; i < 300; i++) {
        if (strcmp(cl_it_sql(it, sql), want) == 0)
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

/* Two batches in flight at once, one storing an event and the other naming it (a shift and
 * its cancellation, a departure and its return), which neither sees uncommitted
 * (DECISIONS 148). A session holding the cross-partition lock exclusively stops the batch
 * @p first right before its aggregates; the batch @p second then starts and must wait on it
 * (@p wait: on its transaction, "transactionid", or on the cross-partition lock after giving
 * up the rendezvous, "advisory"). Released, both finish, and the figures count the
 * cancellation or the return whichever order they committed in. */
static void meet(const char *name, const char *first, const char *second, const char *wait,
                 const char *sql, const char *want)
{
    cl_it_t it;
    cl_proc_t a, b;
    char conninfo[128], path[400], args[500];
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, name, 0, 1), 0);
    snprintf(path, sizeof path, "%s/regs.jsonl", it.dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(MEET_REGS, f);
    fclose(f);
    snprintf(args, sizeof args, "ingest-file '%s'", path);
    CU_ASSERT_EQUAL_FATAL(cl_it_cli(&it, args), 0);
    snprintf(conninfo, sizeof conninfo, "dbname=%s", it.name);
    PGconn *other = PQconnectdb(conninfo);
    CU_ASSERT_EQUAL_FATAL(PQstatus(other), CONNECTION_OK);
    CU_ASSERT_EQUAL(exec_on(other, "BEGIN"), 0);
    PGresult *r = PQexec(other, "SELECT " MEET_CROSS);
    CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    CU_ASSERT_EQUAL_FATAL(ingest_async(&it, "first", first, &a), 0);
    CU_ASSERT_TRUE(ingest_waiting(&it, "advisory", 1));
    CU_ASSERT_EQUAL_FATAL(ingest_async(&it, "second", second, &b), 0);
    CU_ASSERT_TRUE(strcmp(wait, "advisory") == 0
                       ? ingest_waiting(&it, "advisory", 2)
                       : ingest_waiting(&it, wait, 1) && ingest_waiting(&it, "advisory", 1));
    CU_ASSERT_EQUAL(exec_on(other, "COMMIT"), 0);
    PQfinish(other);
    CU_ASSERT_EQUAL(wait_exit(&a, 60), 0);
    CU_ASSERT_EQUAL(wait_exit(&b, 60), 0);
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, "SELECT sum(accepted) FROM careledger.offsets"), "5");
    CU_ASSERT_STRING_EQUAL(cl_it_sql(&it, sql), want);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    if (strcmp(wait, "advisory") == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd,
                 "grep -q 'waits for every batch in flight instead' '%s/second.log'", it.dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
    cl_it_teardown(&it);
}

#define M1_DAYS "SELECT count(*) FROM careledger.worker_days WHERE worker_id = 'M1'"
#define M2_DAYS                                                                                    \
    "SELECT count(*) FROM careledger.worker_days WHERE worker_id = 'M2' AND kind = 'deployed'"

/* The cancelling batch holds a placeholder under the shift's id: the shift's insert waits
 * for it, then sees the cancellation. */
static void test_meet_cancel_first(void)
{
    meet("it_meet_c1", MEET_CANCEL, MEET_SHIFT, "transactionid", M1_DAYS, "0");
}

/* The shift is in flight: the cancelling batch gives up waiting on it after 50 ms and takes
 * the cross-partition lock exclusively, after the shift's batch. */
static void test_meet_shift_first(void)
{
    meet("it_meet_s1", MEET_SHIFT, MEET_CANCEL, "advisory", M1_DAYS, "0");
}

/* A departure and its return meet on the deployment's key, in either order. */
static void test_meet_deployment(void)
{
    meet("it_meet_e1", MEET_END, MEET_START, "advisory", M2_DAYS, "5");
    meet("it_meet_d1", MEET_START, MEET_END, "advisory", M2_DAYS, "5");
}

/** @brief Remove the generated stream at exit. */
static void remove_stream(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", stream_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", stream_dir);
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"50,000 events, 3 topics x 8 partitions, produced while consuming", test_main_stream},
        {"clean stop (SIGTERM within 10 s) and restart", test_stop_restart},
        {"crash points and kill -9 at 5 random moments", test_crashes},
        {"PostgreSQL stopped for 5 s mid-ingest", test_postgres_outage},
        {"two daemons in one group, one stopped", test_two_daemons},
        {"ingest-file twice adds nothing", test_ingest_file_twice},
        {"an event id stored by another session during the batch", test_id_race},
        {"copies in a batch and of stored events, exact and conflicting",
         test_duplicates_classified},
        {"one batch of 30,000 workers", test_many_workers},
        {"a cancellation in flight before its shift's batch", test_meet_cancel_first},
        {"a shift in flight before its cancellation's batch", test_meet_shift_first},
        {"a departure and its return in flight together", test_meet_deployment},
        {NULL, NULL}};
    snprintf(stream_dir, sizeof stream_dir, "/tmp/cl-stream-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", stream_dir);
    if (system(cmd) != 0 ||
        cl_stream_generate(stream_dir, 1, N_MAIN, 0.01, 0.005, 2, &main_stream) != 0)
        return -1;
    atexit(remove_stream);
    return cl_test_add_suite("ingest", tests);
}
