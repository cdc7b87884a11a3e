/**
 * @file test_chaos.c
 * @brief Faults while careledgerd ingests a `careledger gen` province (issue 8):
 * kill -9 at 20 random moments, PostgreSQL restarted twice, the brokers down
 * and up twice, daemons joining the group mid-batch and leaving it (SIGTERM, a
 * crash inside a batch, and one frozen inside a batch past its session timeout
 * that comes back as a zombie). The daemons under test never exit on these.
 *
 * Every scenario ends equal to a clean run of the same stream into another
 * database: each report's JSON byte for byte, `status --json` byte for byte
 * (counts, dead letters by reason, offsets, watermark), every aggregate
 * table, the stored events and dead letters; and `verify` passes. Only the
 * timing of the faults is random: the seed is printed, and
 * CARELEDGER_CHAOS_SEED=N repeats a run's choices.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cltest.h"
#include "harness.h"

#define GEN_ARGS                                                                                   \
    "--workers 500 --days 15 --seed 8 --bad-rate 0.01 --dup-rate 0.01 --conflict-rate 0.005"
#define LAST_DAY   "2020-02-07" /* 15 days from 2020-01-24 */
#define MID_DAY    "2020-02-01"
#define PARTITIONS 4
#define WORKERS    2
#define BATCH      50 /* small batches: many transactions to land in */
#define LINGER_MS  50
#define SESSION_MS 3500 /* a killed member leaves the group in seconds (scenario_setup) */
#define KILLS      20
#define NPARTS     4 /* the stream is produced in parts, so faults meet work in hand */
#define CATCH_UP_S 240

static const char *const TOPICS[] = {"careledger.reference", "careledger.shifts",
                                     "careledger.assistance"};
#define NTOPICS 3

/* The reports compared (scripts/demo's, plus a mid-stream date and a second region). */
static const char *const REPORTS[] = {
    "daily --region 220000 --date " LAST_DAY,
    "daily --region 120106 --date " MID_DAY,
    "finance --region 220000 --month 2020-01 --date " LAST_DAY,
    "compare --region 440000 --date " LAST_DAY,
};
#define NREPORTS (sizeof REPORTS / sizeof REPORTS[0])

/* Aggregate tables compared row for row (events and dead letters: cl_it_digest). */
static const char *const TABLES[] = {
    "regions",         "units",         "workers",       "budgets",        "deployment_starts",
    "deployment_ends", "injury_stages", "statuses",      "worker_days",    "open_deployments",
    "payments",        "deliveries",    "policy_tracks", "policy_settings"};
#define NTABLES (sizeof TABLES / sizeof TABLES[0])

static char data_dir[256]; /* the generated stream and its parts */
static char ref_dir[300];  /* the clean run's snapshot */
static long total, part_lines[NPARTS];
static int have_ref;
static double it_t0;     /* when the scenario under way started */
static cl_it_t *open_it; /* the scenario under way, torn down at exit if a fatal assert left it */
static unsigned seed, rng;

/** @brief The next number of the seeded generator, in [0, @p n). */
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return n ? rng % n : 0;
}

/** @brief Seconds of a monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** @brief Sleep @p ms milliseconds. */
static void sleep_ms(unsigned ms)
{
    usleep((useconds_t)ms * 1000);
}

/** @brief The process has not exited (it is not reaped here). */
static int alive(const cl_proc_t *p)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    /* WNOWAIT: an exited child stays to be reaped by cl_proc_stop(), with its status. */
    return p->pid > 0 && waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == 0;
}

/** @brief The process is stopped (SIGSTOP): state T in /proc/PID/stat. */
static int is_stopped(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* the command name may hold spaces */
    return paren && paren[1] == ' ' && paren[2] == 'T';
}

/** @brief Messages stored by one daemon (its /metrics), or -1 when it does not answer. */
static long daemon_stored(int port)
{
    static char body[1 << 16];
    if (cl_it_http_get(port, "/metrics", body, sizeof body) != 200)
        return -1;
    const char *p = strstr(body, "\ncareledger_messages_consumed_total ");
    return p ? atol(p + strlen("\ncareledger_messages_consumed_total ")) : -1;
}

/** @brief The daemon's /metrics lists a partition's lag: it holds an assignment. */
static int daemon_assigned(int port)
{
    static char body[1 << 16];
    return cl_it_http_get(port, "/metrics", body, sizeof body) == 200 &&
           strstr(body, "\ncareledger_consumer_lag{") != NULL;
}

/** @brief Wait until the daemon on @p port stored @p n messages; 0, or -1 at the timeout. */
static int wait_daemon_stored(const cl_proc_t *d, int port, long n, int timeout_ms)
{
    for (double end = now_s() + timeout_ms / 1000.0; now_s() < end && alive(d); sleep_ms(20))
        if (daemon_stored(port) >= n)
            return 0;
    return -1;
}

/**
 * @brief Wait until the daemon on @p port holds partitions, or has stopped or exited
 * (a test crash point); 0, or -1 at the timeout.
 */
static int wait_daemon_assigned(const cl_proc_t *d, int port, int timeout_ms)
{
    for (double end = now_s() + timeout_ms / 1000.0; now_s() < end; sleep_ms(50))
        if (!alive(d) || is_stopped(d->pid) || daemon_assigned(port))
            return 0;
    return -1;
}

/** @brief Messages consumed according to the database (-1 when it does not answer). */
static long db_consumed(cl_it_t *it)
{
    cl_it_status_t st;
    return cl_it_status(it, &st) == 0 ? st.consumed : -1;
}

/** @brief Wait until the database holds @p n consumed messages; 0, or -1 at the timeout. */
static int wait_db_consumed(cl_it_t *it, long n, int timeout_s)
{
    for (int i = 0; i < timeout_s * 5; i++) {
        if (db_consumed(it) >= n)
            return 0;
        sleep_ms(200);
    }
    return -1;
}

/** @brief Lines of the parts before @p k. */
static long lines_before(int k)
{
    long n = 0;
    for (int i = 0; i < k; i++)
        n += part_lines[i];
    return n;
}

/** @brief A random point inside part @p k (between 1/8 and 5/8 of it), in messages. */
static long mid_part(int k)
{
    return lines_before(k) + part_lines[k] / 8 + (long)rnd((unsigned)part_lines[k] / 2 + 1);
}

/** @brief Produce parts @p from .. @p to - 1 of the stream, in order; 0 or -1. */
static int produce_parts(cl_it_t *it, int from, int to)
{
    char args[1024];
    for (int k = from; k < to; k++)
        for (int t = 0; t < NTOPICS; t++) {
            snprintf(args, sizeof args, "produce '%s/part%d/%s.jsonl' --topic %s", data_dir, k,
                     TOPICS[t], TOPICS[t]);
            if (cl_it_cli(it, args) != 0)
                return -1;
        }
    return 0;
}

/** @brief Split each topic's file into NPARTS consecutive parts (order kept); 0 or -1. */
static int split_stream(void)
{
    char path[600];
    for (int t = 0; t < NTOPICS; t++) {
        snprintf(path, sizeof path, "%s/%s.jsonl", data_dir, TOPICS[t]);
        size_t len;
        char *text = cl_test_slurp(path, &len);
        if (!text)
            return -1;
        long lines = 0;
        for (size_t i = 0; i < len; i++)
            lines += text[i] == '\n';
        const char *p = text;
        for (int k = 0; k < NPARTS; k++) {
            snprintf(path, sizeof path, "%s/part%d", data_dir, k);
            mkdir(path, 0755);
            snprintf(path, sizeof path, "%s/part%d/%s.jsonl", data_dir, k, TOPICS[t]);
            FILE *f = fopen(path, "wb");
            if (!f) {
                free(text);
                return -1;
            }
            long want = lines * (k + 1) / NPARTS - lines * k / NPARTS;
            for (long n = 0; n < want; n++) {
                const char *nl = memchr(p, '\n', len - (size_t)(p - text));
                size_t l = (size_t)(nl - p) + 1;
                fwrite(p, 1, l, f);
                p += l;
            }
            part_lines[k] += want;
            fclose(f);
        }
        total += lines;
        free(text);
    }
    return 0;
}

/**
 * @brief Fresh database and broker for scenario @p name, the chaos configuration with
 * session.timeout.ms @p session_ms; 0/-1.
 *
 * The mock (librdkafka 2.0.2) elects the first members of an empty group after a fixed 3 s,
 * and its once-a-second session check drops a member whose session is shorter before that:
 * its JoinGroup is never answered and the consumer waits max.poll.interval.ms + 3 s, then
 * fails the same way. Sessions of 3.5 s are the shortest that always let a group form, and
 * a killed daemon's members still leave it within seconds; max.poll.interval.ms of 20 s
 * bounds any stall of that kind.
 */
static int scenario_setup(cl_it_t *it, const char *name, int session_ms)
{
    if (cl_it_setup(it, name, PARTITIONS, WORKERS) != 0)
        return -1;
    open_it = it;
    it_t0 = now_s();
    it->session_timeout_ms = session_ms;
    snprintf(it->kafka_extra, sizeof it->kafka_extra, ",\"max.poll.interval.ms\":20000");
    return cl_it_write_config(it, WORKERS, BATCH, LINGER_MS);
}

/** @brief After a scenario: on a failure, the end of its daemons' logs; then teardown. */
static void scenario_end(cl_it_t *it, unsigned failures_before)
{
    fprintf(stderr, "\n  %s: %.0f s ", it->name, now_s() - it_t0);
    if (CU_get_number_of_failures() > failures_before) {
        char cmd[600];
        snprintf(cmd, sizeof cmd,
                 "for f in '%s'/daemon-*.log; do echo \"== $f\"; grep -v level=debug \"$f\" | "
                 "tail -n 12; done >&2",
                 it->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not show the daemon logs of %s\n", it->dir);
    }
    cl_it_teardown(it);
    open_it = NULL;
}

/** @brief A second daemon's configuration in the same group (its own HTTP port). */
static int second_config(const cl_it_t *it, cl_it_t *other, const char *name, int port_offset)
{
    *other = *it;
    snprintf(other->config, sizeof other->config, "%s/careledger-%s.json", it->dir, name);
    other->http_port = it->http_port + port_offset;
    return cl_it_write_config(other, WORKERS, BATCH, LINGER_MS);
}

/** @brief Run a careledger command with stdout to @p out; its exit status. */
static int cli_to_file(cl_it_t *it, const char *args, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s --config '%s' >'%s' 2>>'%s/cli.log'", cl_it_bin(), args,
             it->config, out, it->dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/**
 * @brief Write what a run ended with into @p dir: each report's JSON,
 * `status --json`, and a digest per aggregate table and of the stored events
 * and dead letters (tables.txt); 0 or -1.
 */
static int snapshot(cl_it_t *it, const char *dir)
{
    char args[1024], path[600];
    mkdir(dir, 0755);
    /* Statistics first: on a fresh database the reports' plans take seconds (same results). */
    if (cl_it_exec(it, "ANALYZE") != 0)
        return -1;
    for (size_t r = 0; r < NREPORTS; r++) {
        snprintf(args, sizeof args, "report %s --format json --out '%s'", REPORTS[r], dir);
        if (cl_it_cli(it, args) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/status.json", dir);
    if (cli_to_file(it, "status --json", path) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/tables.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    char digest[33], sql[512];
    int rc = cl_it_digest(it, digest);
    fprintf(f, "events+dead_letters %s\n", digest);
    for (size_t t = 0; t < NTABLES; t++) {
        snprintf(sql, sizeof sql,
                 "SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) "
                 "FROM careledger.%s r",
                 TABLES[t]);
        fprintf(f, "%s %s\n", TABLES[t], cl_it_sql(it, sql));
    }
    fprintf(f, "offsets %s\n",
            cl_it_sql(it, "SELECT md5(coalesce(string_agg(concat_ws(' ', topic, partition, "
                          "next_offset, accepted, duplicates, dead_letters), E'\\n' ORDER BY "
                          "topic, partition), '')) FROM careledger.offsets"));
    return fclose(f) == 0 && rc == 0 ? 0 : -1;
}

/** @brief Compare one file of the clean run's snapshot with its twin; 1 when equal. */
static int same_file(const char *name, const char *dir)
{
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/%s", ref_dir, name);
    snprintf(b, sizeof b, "%s/%s", dir, name);
    size_t la = 0, lb = 0;
    char *x = cl_test_slurp(a, &la), *y = cl_test_slurp(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    if (!same) {
        size_t i = 0;
        while (x && y && i < la && i < lb && x[i] == y[i])
            i++;
        size_t from = i > 80 ? i - 80 : 0;
        fprintf(stderr,
                "\n  %s differs from the clean run at byte %zu\n    clean: %.160s\n"
                "    here:  %.160s\n",
                name, i, x ? x + from : "(missing)", y ? y + from : "(missing)");
    }
    free(x);
    free(y);
    return same;
}

/** @brief The run ended exactly as the clean one did, and verify passes (CUnit asserts). */
static void assert_same_as_clean(cl_it_t *it)
{
    char dir[400];
    CU_ASSERT_TRUE_FATAL(have_ref);
    snprintf(dir, sizeof dir, "%s/end", it->dir);
    CU_ASSERT_EQUAL_FATAL(snapshot(it, dir), 0);
    DIR *d = opendir(ref_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    size_t files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        files++;
        CU_ASSERT_TRUE(same_file(e->d_name, dir));
    }
    closedir(d);
    CU_ASSERT_EQUAL(files, NREPORTS + 2);
    CU_ASSERT_EQUAL(cl_it_cli(it, "verify"), 0);
}

/** @brief A number from a cJSON object, 0 when absent. */
static long num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

/** @brief The clean run: the stream in one go, big batches, no fault; the reference. */
static void test_clean(void)
{
    static cl_it_t it; /* static: open_it outlives a fatal assert */
    cl_proc_t d;
    char args[600], path[600];
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_chaos_clean", PARTITIONS, WORKERS), 0);
    open_it = &it;
    snprintf(args, sizeof args, "gen --out '%s' " GEN_ARGS, data_dir);
    CU_ASSERT_EQUAL_FATAL(cl_it_cli(&it, args), 0);
    CU_ASSERT_EQUAL_FATAL(split_stream(), 0);
    /* Other batch sizes than the faulty runs': the figures must not depend on them. */
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, WORKERS, 500, 100), 0);
    CU_ASSERT_EQUAL_FATAL(produce_parts(&it, 0, NPARTS), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_wait_consumed(&it, total, CATCH_UP_S), 0);
    CU_ASSERT_EQUAL(cl_proc_stop(&d, SIGTERM, 10000), 0);

    /* The clean run itself ends with what the generator says. */
    snprintf(path, sizeof path, "%s/expected.json", data_dir);
    char *s = cl_test_slurp(path, NULL);
    cJSON *exp = s ? cJSON_Parse(s) : NULL;
    free(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(exp);
    cl_it_status_t st;
    CU_ASSERT_EQUAL_FATAL(cl_it_status(&it, &st), 0);
    CU_ASSERT_EQUAL(st.consumed, total);
    CU_ASSERT_EQUAL(st.accepted, num(exp, "accepted"));
    CU_ASSERT_EQUAL(st.duplicates, num(exp, "duplicates"));
    const cJSON *dead = cJSON_GetObjectItem(exp, "dead_letters");
    CU_ASSERT_EQUAL(st.nreasons, cJSON_GetArraySize(dead));
    for (int i = 0; i < st.nreasons; i++)
        CU_ASSERT_EQUAL(st.reasons[i].n, num(dead, st.reasons[i].reason));
    cJSON_Delete(exp);
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);
    CU_ASSERT_EQUAL_FATAL(snapshot(&it, ref_dir), 0);
    have_ref = 1;
    cl_it_teardown(&it);
    open_it = NULL;
}

static void test_kill_loop(void)
{
    unsigned failures = CU_get_number_of_failures();
    static cl_it_t it; /* static: open_it outlives a fatal assert */
    cl_proc_t d;
    CU_ASSERT_TRUE_FATAL(have_ref);
    CU_ASSERT_EQUAL_FATAL(scenario_setup(&it, "it_chaos_kill", SESSION_MS), 0);
    CU_ASSERT_EQUAL_FATAL(produce_parts(&it, 0, NPARTS), 0);
    char trace[2048];
    int n = 0, in_flight = 0;
    for (int k = 0; k < KILLS; k++) {
        CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
        if (rnd(3) == 0) {
            /* Anywhere in the first seconds: connecting, joining, seeking, first batches. */
            unsigned ms = rnd(5000);
            sleep_ms(ms);
            n += snprintf(trace + n, sizeof trace - (size_t)n, " @%ums", ms);
        } else {
            /* Once this daemon stored a few messages: most likely inside a transaction. */
            long want = 1 + (long)rnd(100);
            if (wait_daemon_stored(&d, it.http_port, want, 30000) == 0)
                in_flight++;
            sleep_ms(rnd(60));
            n += snprintf(trace + n, sizeof trace - (size_t)n, " +%ld", want);
        }
        int rc = cl_proc_stop(&d, SIGKILL, 5000);
        if (rc != 128 + SIGKILL)
            fprintf(stderr, "\n  kill %d: the daemon had exited by itself (status %d)\n", k, rc);
        CU_ASSERT_EQUAL(rc, 128 + SIGKILL); /* alive until killed */
    }
    long at = db_consumed(&it);
    fprintf(stderr, "\n  seed %u: %d kills (%d after a stored batch):%s; %ld of %ld stored\n", seed,
            KILLS, in_flight, trace, at, total);
    /* Catch up in big batches (faster; the figures must not depend on the batching). */
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&it, WORKERS, 500, LINGER_MS), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, total, CATCH_UP_S), 0);
    CU_ASSERT_EQUAL(cl_proc_stop(&d, SIGTERM, 10000), 0);
    assert_same_as_clean(&it);
    scenario_end(&it, failures);
}

/** @brief Run scripts/lib/pgctl @p verb; its exit status. */
static int pgctl(const char *verb)
{
    const char *bin = getenv("CARELEDGER_PGCTL");
    char cmd[1024];
    if (!bin)
        return -1;
    snprintf(cmd, sizeof cmd, "'%s' %s", bin, verb);
    return system(cmd);
}

static void test_postgres_restarts(void)
{
    unsigned failures = CU_get_number_of_failures();
    static cl_it_t it; /* static: open_it outlives a fatal assert */
    cl_proc_t d;
    CU_ASSERT_TRUE_FATAL(have_ref);
    CU_ASSERT_PTR_NOT_NULL_FATAL(getenv("CARELEDGER_PGCTL"));
    CU_ASSERT_EQUAL_FATAL(scenario_setup(&it, "it_chaos_pg", SESSION_MS), 0);
    CU_ASSERT_EQUAL_FATAL(produce_parts(&it, 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
    for (int k = 0; k < 2; k++) {
        /* Mid-part: then the next part arrives while PostgreSQL is away. */
        long at = mid_part(k);
        CU_ASSERT_EQUAL(wait_db_consumed(&it, at, CATCH_UP_S), 0);
        CU_ASSERT_EQUAL(pgctl("stop"), 0);
        CU_ASSERT_EQUAL(produce_parts(&it, k + 1, k + 2), 0);
        unsigned ms = 300 + rnd(1700);
        sleep_ms(ms);
        CU_ASSERT_EQUAL(pgctl("start"), 0);
        fprintf(stderr, "\n  seed %u: PostgreSQL stopped after %ld messages, for %u ms", seed, at,
                ms);
        CU_ASSERT_TRUE(alive(&d));
    }
    CU_ASSERT_EQUAL(produce_parts(&it, 3, NPARTS), 0);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, total, CATCH_UP_S), 0);
    CU_ASSERT_TRUE(alive(&d)); /* paused and resumed, never exited */
    CU_ASSERT_TRUE(cl_it_log_count(&it, "postgres unreachable: consumption paused") >= 1);
    CU_ASSERT_EQUAL(cl_proc_stop(&d, SIGTERM, 10000), 0);
    assert_same_as_clean(&it);
    scenario_end(&it, failures);
}

static void test_broker_down_up(void)
{
    unsigned failures = CU_get_number_of_failures();
    static cl_it_t it; /* static: open_it outlives a fatal assert */
    cl_proc_t d;
    CU_ASSERT_TRUE_FATAL(have_ref);
    CU_ASSERT_EQUAL_FATAL(scenario_setup(&it, "it_chaos_broker", SESSION_MS), 0);
    CU_ASSERT_EQUAL_FATAL(produce_parts(&it, 0, 2), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d, NULL), 0);
    for (int k = 0; k < 2; k++) {
        long at = mid_part(k);
        CU_ASSERT_EQUAL(wait_db_consumed(&it, at, CATCH_UP_S), 0);
        CU_ASSERT_EQUAL(kill(it.broker.pid, SIGUSR1), 0); /* every broker down */
        unsigned ms = 1500 + rnd(2500);
        sleep_ms(ms);
        CU_ASSERT_TRUE(alive(&d));
        CU_ASSERT_EQUAL(kill(it.broker.pid, SIGUSR2), 0); /* up again */
        fprintf(stderr, "\n  seed %u: brokers down after %ld messages, for %u ms", seed, at, ms);
        CU_ASSERT_EQUAL(produce_parts(&it, k + 2, k + 3), 0);
    }
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, total, CATCH_UP_S), 0);
    CU_ASSERT_TRUE(alive(&d));
    CU_ASSERT_TRUE(cl_it_log_count(&it, "broker unreachable: retrying") >= 1);
    CU_ASSERT_EQUAL(cl_proc_stop(&d, SIGTERM, 10000), 0);
    assert_same_as_clean(&it);
    scenario_end(&it, failures);
}

/**
 * @brief Start a second daemon in the group (environment @p env, may be NULL) once the
 * database holds @p at messages, and produce part @p part once it holds partitions.
 */
static void join_group(cl_it_t *it, cl_it_t *other, cl_proc_t *p, long at, int part,
                       const char *env)
{
    CU_ASSERT_EQUAL(wait_db_consumed(it, at, CATCH_UP_S), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(other, p, env), 0);
    CU_ASSERT_EQUAL(wait_daemon_assigned(p, other->http_port, 60000), 0);
    CU_ASSERT_EQUAL(produce_parts(it, part, part + 1), 0);
}

static void test_rebalance(void)
{
    unsigned failures = CU_get_number_of_failures();
    static cl_it_t it; /* static: open_it outlives a fatal assert */
    cl_it_t b, c, z;
    cl_proc_t pa, pb, pc, pz;
    char env[128];
    CU_ASSERT_TRUE_FATAL(have_ref);
    CU_ASSERT_EQUAL_FATAL(scenario_setup(&it, "it_chaos_group", SESSION_MS), 0);
    CU_ASSERT_EQUAL_FATAL(second_config(&it, &b, "b", 1), 0);
    CU_ASSERT_EQUAL_FATAL(second_config(&it, &c, "c", 2), 0);
    CU_ASSERT_EQUAL_FATAL(second_config(&it, &z, "z", 3), 0);
    CU_ASSERT_EQUAL_FATAL(produce_parts(&it, 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &pa, NULL), 0);

    /* B joins while A stores part 0 (A's batches in flight are revoked), takes
     * partitions, stores, and leaves cleanly at a random moment. */
    join_group(&it, &b, &pb, mid_part(0), 1, NULL);
    if (wait_daemon_stored(&pb, b.http_port, 1, 20000) != 0)
        fprintf(stderr, "\n  note: B stored nothing before it left");
    sleep_ms(rnd(300));
    CU_ASSERT_EQUAL(cl_proc_stop(&pb, SIGTERM, 10000), 0);
    CU_ASSERT_TRUE(alive(&pa));

    /* C joins and dies inside one of its first batches (a crash point): A takes its
     * partitions after the session timeout and reads the batch again. */
    static const char *const points[] = {"after_copy", "before_commit", "after_commit"};
    const char *point = points[rnd(3)];
    unsigned nth = 1 + rnd(2);
    snprintf(env, sizeof env, "CARELEDGER_TEST_CRASH=%s:%u", point, nth);
    join_group(&it, &c, &pc, mid_part(1), 2, env);
    CU_ASSERT_EQUAL(cl_proc_stop(&pc, 0, 60000), 128 + SIGKILL);
    CU_ASSERT_TRUE(alive(&pa));

    /* Z joins and freezes inside a batch, its offset rows locked (a paused VM, a stalled
     * host). The group goes on without it: A takes Z's partitions, and its transaction
     * may not wait on Z's locks for ever. Everything is stored while Z is still frozen;
     * then Z wakes up as a zombie, its batch is fenced, and it rejoins. */
    unsigned znth = 1 + rnd(2);
    snprintf(env, sizeof env, "CARELEDGER_TEST_CRASH=stop_before_commit:%u", znth);
    join_group(&it, &z, &pz, mid_part(2), 3, env);
    int frozen = 0;
    for (int t = 0; t < 600 && !(frozen = is_stopped(pz.pid)); t++)
        sleep_ms(100);
    CU_ASSERT_TRUE(frozen);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, total, 120), 0);
    CU_ASSERT_TRUE(is_stopped(pz.pid)); /* all of it stored while Z was frozen */
    CU_ASSERT_EQUAL(kill(pz.pid, SIGCONT), 0);
    int fenced = 0;
    for (int t = 0; t < 300 && !(fenced = cl_it_log_count(&it, "batch fenced")); t++)
        sleep_ms(100);
    CU_ASSERT_TRUE(fenced >= 1); /* the zombie's batch */
    fprintf(stderr, "\n  seed %u: C crashed %s:%u, Z froze at batch %u; %d revocations", seed,
            point, nth, znth, cl_it_log_count(&it, "partitions revoked"));
    CU_ASSERT_TRUE(alive(&pa));
    CU_ASSERT_TRUE(alive(&pz));
    CU_ASSERT_EQUAL(cl_proc_stop(&pz, SIGTERM, 10000), 0);
    CU_ASSERT_EQUAL(cl_proc_stop(&pa, SIGTERM, 10000), 0);
    assert_same_as_clean(&it);
    scenario_end(&it, failures);
}

/** @brief At exit: stop what a fatal assert left running, remove the generated stream. */
static void remove_stream(void)
{
    if (open_it)
        cl_it_teardown(open_it);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", data_dir);
}

int cl_test_register(void)
{
    static const cl_test_t all[] = {
        {"clean run of a generated province (the reference)", test_clean},
        {"kill -9 at 20 random moments, then catch up", test_kill_loop},
        {"PostgreSQL restarted twice mid-ingest", test_postgres_restarts},
        {"brokers down and up twice mid-ingest", test_broker_down_up},
        {"daemons join mid-batch and leave: SIGTERM, a crash, a frozen zombie", test_rebalance},
        {NULL, NULL}};
    static cl_test_t tests[sizeof all / sizeof all[0]];
    /* CARELEDGER_CHAOS_ONLY=WORD: the clean run and the scenarios whose name holds WORD. */
    const char *only = getenv("CARELEDGER_CHAOS_ONLY");
    size_t n = 0;
    for (size_t i = 0; all[i].name; i++)
        if (i == 0 || !only || strstr(all[i].name, only))
            tests[n++] = all[i];
    const char *s = getenv("CARELEDGER_CHAOS_SEED");
    seed = s && *s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
    rng = seed ? seed : 1;
    fprintf(stderr, "chaos seed %u (CARELEDGER_CHAOS_SEED=%u repeats its choices)\n", seed, seed);
    snprintf(data_dir, sizeof data_dir, "/tmp/cl-chaos-%d", (int)getpid());
    snprintf(ref_dir, sizeof ref_dir, "%s/clean", data_dir);
    if (mkdir(data_dir, 0755) != 0)
        return -1;
    atexit(remove_stream);
    return cl_test_add_suite("chaos", tests);
}
