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
 *
 * Built to pass on a loaded machine: every wait is for a condition, bounded
 * by a generous deadline, and says what it awaited and what it saw when the
 * deadline passes. Whatever fails, every process the test started is stopped
 * (at the next scenario and at exit) and a stopped PostgreSQL is started
 * again, so no child outlives the test holding ctest's output.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* Deadlines: generous, so that a loaded machine is slow but not failed; each one only
 * bounds a wait for a condition that a healthy run meets in seconds. */
#define CATCH_UP_S   300   /* a whole stream, or the rest of it, stored */
#define WAIT_S       240   /* a point inside the stream stored, a daemon assigned or crashed */
#define STOP_MS      30000 /* a daemon's exit after SIGTERM (it promises 10 s of its own time) */
#define KILL_WAIT_MS 30000 /* a daemon to store its first messages before a kill */

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

static char data_dir[256]; /* the generated stream and its parts (mkdtemp) */
static char ref_dir[300];  /* the clean run's snapshot */
static long total, part_lines[NPARTS];
static int have_ref;
static unsigned seed, rng;
static pid_t main_pid; /* the test process (only it cleans up at exit) */

/* What is under way: one scenario (its database, folder and broker) and its daemons. All
 * static, so that a fatal assert, which leaves the test function, leaves them reachable:
 * finish_scenario() stops them at the next scenario and at exit. */
static cl_it_t scen;
static int scen_open;
static unsigned scen_failures; /* CUnit failures before the scenario began */
static double scen_t0;
enum { DA, DB, DC, DZ, NDAEMONS }; /* daemon A (the scenario's own), and B, C, Z who join */
static cl_proc_t daemons[NDAEMONS] = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
static int pg_stopped; /* the test stopped the shared PostgreSQL and has not started it yet */

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

/** @brief Seconds since the scenario began (for the messages of waits that gave up). */
static double scen_s(void)
{
    return now_s() - scen_t0;
}

/** @brief Send @p sig to a child of this test; -1 (and nothing sent) without a child. */
static int signal_child(const cl_proc_t *p, int sig)
{
    /* Never kill(-1) or kill(0): those would signal every process we may signal. */
    return p->pid > 0 ? kill(p->pid, sig) : -1;
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
    if (pid <= 0)
        return 0;
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

/** @brief A short description of a child's state, for the messages of waits. */
static const char *proc_state(const cl_proc_t *p)
{
    return p->pid <= 0          ? "not running"
           : !alive(p)          ? "exited"
           : is_stopped(p->pid) ? "stopped"
                                : "running";
}

/** @brief A loopback TCP port nothing listens on now, chosen by the kernel; -1 on error. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
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

/** @brief Wait until the daemon on @p port stored @p n messages (or exited); 0, or -1. */
static int wait_daemon_stored(const cl_proc_t *d, int port, long n, int timeout_ms)
{
    for (double end = now_s() + timeout_ms / 1000.0; now_s() < end && alive(d); sleep_ms(20))
        if (daemon_stored(port) >= n)
            return 0;
    return -1;
}

/**
 * @brief Wait until daemon @p who holds partitions (or stopped or exited); 0, or -1 saying so.
 *
 * A daemon with a test crash point may stop or die before its /metrics list a partition.
 */
static int wait_daemon_assigned(const char *who, const cl_proc_t *d, int port, int timeout_s)
{
    for (double end = now_s() + timeout_s;; sleep_ms(50)) {
        if (!alive(d) || is_stopped(d->pid) || daemon_assigned(port))
            return 0;
        if (now_s() >= end)
            break;
    }
    fprintf(stderr,
            "\n  timeout at %.0f s: waited %d s for daemon %s to hold partitions; it is %s and "
            "its /metrics (port %d) %s\n",
            scen_s(), timeout_s, who, proc_state(d), port,
            daemon_stored(port) < 0 ? "does not answer" : "lists no partition");
    return -1;
}

/** @brief Messages consumed according to the database (-1 when it does not answer). */
static long db_consumed(cl_it_t *it)
{
    cl_it_status_t st;
    return cl_it_status(it, &st) == 0 ? st.consumed : -1;
}

/** @brief Wait until the database holds @p n consumed messages; 0, or -1 saying so. */
static int wait_db_consumed(cl_it_t *it, long n, int timeout_s)
{
    long seen = -1;
    for (double end = now_s() + timeout_s;; sleep_ms(200)) {
        if ((seen = db_consumed(it)) >= n)
            return 0;
        if (now_s() >= end)
            break;
    }
    fprintf(stderr,
            "\n  timeout at %.0f s: waited %d s for %ld messages stored; the database holds %ld "
            "(-1: status failed)\n",
            scen_s(), timeout_s, n, seen);
    return -1;
}

/** @brief Wait until the whole stream is stored; 0, or -1 saying what is stored. */
static int wait_all_stored(cl_it_t *it, int timeout_s)
{
    return wait_db_consumed(it, total, timeout_s);
}

/** @brief Wait for more than @p above daemon log lines with @p needle; their count, or 0. */
static int wait_log(cl_it_t *it, const char *needle, int above, int timeout_s)
{
    int n = 0;
    for (double end = now_s() + timeout_s;; sleep_ms(100)) {
        if ((n = cl_it_log_count(it, needle)) > above)
            return n;
        if (now_s() >= end)
            break;
    }
    fprintf(stderr,
            "\n  timeout at %.0f s: waited %d s for more than %d log lines \"%s\"; there are "
            "%d\n",
            scen_s(), timeout_s, above, needle, n);
    return 0;
}

/** @brief Wait until daemon @p who is stopped (SIGSTOP); 1, or 0 saying what it is. */
static int wait_stopped(const char *who, const cl_proc_t *d, int timeout_s)
{
    for (double end = now_s() + timeout_s;; sleep_ms(100)) {
        if (is_stopped(d->pid))
            return 1;
        if (!alive(d) || now_s() >= end)
            break;
    }
    fprintf(stderr, "\n  at %.0f s: waited up to %d s for daemon %s to freeze; it is %s\n",
            scen_s(), timeout_s, who, proc_state(d));
    return 0;
}

/**
 * @brief Stop daemon @p who with @p sig within @p timeout_ms; its exit status, or -1.
 *
 * @p sig 0 only waits for it to end by itself. A daemon killed by a signal ends with 128 +
 * the signal; one still there at the deadline is killed, and -1 comes with a message.
 */
static int stop_daemon(const char *who, cl_proc_t *d, int sig, int timeout_ms)
{
    if (d->pid <= 0) {
        fprintf(stderr, "\n  daemon %s: not running, nothing to stop\n", who);
        return -1;
    }
    double t0 = now_s();
    int rc = cl_proc_stop(d, sig, timeout_ms);
    double took = now_s() - t0;
    if (rc < 0)
        fprintf(stderr, "\n  timeout at %.0f s: daemon %s did not end within %d ms of %s; killed\n",
                scen_s(), who, timeout_ms, sig ? strsignal(sig) : "its crash point");
    else if (sig == SIGTERM && took > 10.0)
        fprintf(stderr, "\n  note: daemon %s took %.1f s to stop after SIGTERM (a loaded host)\n",
                who, took);
    return rc;
}

/** @brief Start daemon slot @p k on configuration @p it (environment @p env, may be NULL). */
static int start_daemon(cl_it_t *it, int k, const char *env)
{
    if (daemons[k].pid > 0) /* a slot is used once at a time */
        return -1;
    daemons[k].pid = -1;
    daemons[k].out_fd = -1;
    return cl_it_daemon_start(it, &daemons[k], env);
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

/** @brief Produce parts @p from .. @p to - 1 of the stream, in order; 0 or -1 saying which. */
static int produce_parts(cl_it_t *it, int from, int to)
{
    char args[1024], path[600];
    for (int k = from; k < to; k++)
        for (int t = 0; t < NTOPICS; t++) {
            snprintf(path, sizeof path, "%s/part%d/%s.jsonl", data_dir, k, TOPICS[t]);
            snprintf(args, sizeof args, "produce '%s' --topic %s", path, TOPICS[t]);
            int rc = cl_it_cli(it, args);
            if (rc != 0) {
                fprintf(stderr, "\n  at %.0f s: produce of %s exited %d%s (cli.log below)\n",
                        scen_s(), path, rc, access(path, R_OK) != 0 ? "; the file is gone" : "");
                return -1;
            }
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

/** @brief Run scripts/lib/pgctl @p verb; its exit status. */
static int pgctl(const char *verb)
{
    const char *bin = getenv("CARELEDGER_PGCTL");
    char cmd[1024];
    if (!bin)
        return -1;
    snprintf(cmd, sizeof cmd, "'%s' %s", bin, verb);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/** @brief Show the end of a scenario's daemon logs and CLI log on stderr. */
static void show_logs(const cl_it_t *it)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "for f in '%s'/daemon-*.log; do [ -f \"$f\" ] && echo \"== $f\" && "
             "grep -v level=debug \"$f\" | tail -n 12; done >&2; "
             "[ -f '%s/cli.log' ] && echo '== %s/cli.log' >&2 && tail -n 8 '%s/cli.log' >&2",
             it->dir, it->dir, it->dir, it->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "(no logs left in %s)\n", it->dir);
}

/**
 * @brief End the scenario under way, however it ended, and stop everything it started.
 *
 * Prints its time and, on a failure, the end of its logs; kills every daemon, tears down the
 * broker and folder, and starts PostgreSQL again if the test stopped it. Called at the
 * scenario's end, and with @p abandoned at the next one's start and at exit, when a fatal
 * assert left it.
 */
static void finish_scenario(int abandoned)
{
    static const char *const names[NDAEMONS] = {"A", "B", "C", "Z"};
    if (!scen_open)
        return;
    int failed = abandoned || CU_get_number_of_failures() > scen_failures;
    fprintf(stderr, "\n  %s: %.0f s%s%s ", scen.name, scen_s(), failed ? ", failed" : "",
            abandoned ? " (left by a fatal assert; its logs and children follow)" : "");
    if (failed)
        show_logs(&scen);
    for (int k = 0; k < NDAEMONS; k++)
        if (daemons[k].pid > 0) {
            /* SIGKILL also ends a stopped process. */
            fprintf(stderr, "\n  stopping daemon %s left %s\n", names[k], proc_state(&daemons[k]));
            cl_proc_stop(&daemons[k], SIGKILL, 10000);
        }
    if (pg_stopped) {
        fprintf(stderr, "\n  starting PostgreSQL again\n");
        if (pgctl("start") == 0)
            pg_stopped = 0;
    }
    cl_it_teardown(&scen);
    scen.broker.pid = -1;
    scen_open = 0;
}

/**
 * @brief Begin scenario @p name: a fresh database and broker, the chaos configuration; 0/-1.
 *
 * Whatever an earlier scenario left is stopped first.
 * The mock (librdkafka 2.0.2) elects the first members of an empty group after a fixed 3 s,
 * and its once-a-second session check drops a member whose session is shorter before that:
 * its JoinGroup is never answered and the consumer waits max.poll.interval.ms + 3 s, then
 * fails the same way. Sessions of 3.5 s are the shortest that always let a group form, and
 * a killed daemon's members still leave it within seconds; max.poll.interval.ms of 20 s
 * bounds any stall of that kind. The daemon's HTTP port is one the kernel found free, not
 * one derived from the test's pid, which another suite on the machine may hold.
 */
static int scenario_begin(const char *name)
{
    finish_scenario(1);
    if (access(data_dir, R_OK) != 0) {
        fprintf(stderr, "\n  %s: the stream folder %s is gone\n", name, data_dir);
        return -1;
    }
    scen_failures = CU_get_number_of_failures();
    scen_t0 = now_s();
    scen_open = 1; /* before the setup: a half-made scenario is torn down too */
    if (cl_it_setup(&scen, name, PARTITIONS, WORKERS) != 0)
        return -1;
    scen.session_timeout_ms = SESSION_MS;
    snprintf(scen.kafka_extra, sizeof scen.kafka_extra, ",\"max.poll.interval.ms\":20000");
    if ((scen.http_port = free_port()) < 0)
        return -1;
    return cl_it_write_config(&scen, WORKERS, BATCH, LINGER_MS);
}

/** @brief A second daemon's configuration in the same group: its own file and HTTP port. */
static int second_config(cl_it_t *other, const char *name, int workers)
{
    *other = scen;
    other->broker.pid = -1; /* the scenario's broker: never this copy's to stop */
    other->broker.out_fd = -1;
    snprintf(other->config, sizeof other->config, "%s/careledger-%s.json", scen.dir, name);
    if ((other->http_port = free_port()) < 0)
        return -1;
    return cl_it_write_config(other, workers, BATCH, LINGER_MS);
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
 * @brief Write what a run ended with into @p dir; 0, or -1 saying which step failed.
 *
 * Each report's JSON, `status --json`, and a digest per aggregate table and of the stored
 * events and dead letters (tables.txt).
 */
static int snapshot(cl_it_t *it, const char *dir)
{
    char args[1024], path[600];
    if (mkdir(dir, 0755) != 0) {
        fprintf(stderr, "\n  snapshot: cannot create %s\n", dir);
        return -1;
    }
    /* Statistics first: on a fresh database the reports' plans take seconds (same results). */
    if (cl_it_exec(it, "ANALYZE") != 0) {
        fprintf(stderr, "\n  snapshot: ANALYZE failed\n");
        return -1;
    }
    for (size_t r = 0; r < NREPORTS; r++) {
        snprintf(args, sizeof args, "report %s --format json --out '%s'", REPORTS[r], dir);
        int rc = cl_it_cli(it, args);
        if (rc != 0) {
            fprintf(stderr, "\n  snapshot: report %s exited %d (cli.log below)\n", REPORTS[r], rc);
            return -1;
        }
    }
    snprintf(path, sizeof path, "%s/status.json", dir);
    if (cli_to_file(it, "status --json", path) != 0) {
        fprintf(stderr, "\n  snapshot: status --json failed (cli.log below)\n");
        return -1;
    }
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
    if (rc != 0)
        fprintf(stderr, "\n  snapshot: the digest of events and dead letters failed\n");
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
    if (!d)
        fprintf(stderr, "\n  the clean run's snapshot %s is gone\n", ref_dir);
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
    char args[600], path[600];
    CU_ASSERT_EQUAL_FATAL(scenario_begin("it_chaos_clean"), 0);
    snprintf(args, sizeof args, "gen --out '%s' " GEN_ARGS, data_dir);
    CU_ASSERT_EQUAL_FATAL(cl_it_cli(&scen, args), 0);
    CU_ASSERT_EQUAL_FATAL(split_stream(), 0);
    /* Other batch sizes than the faulty runs': the figures must not depend on them. */
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&scen, WORKERS, 500, 100), 0);
    CU_ASSERT_EQUAL_FATAL(produce_parts(&scen, 0, NPARTS), 0);
    CU_ASSERT_EQUAL_FATAL(start_daemon(&scen, DA, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(wait_all_stored(&scen, CATCH_UP_S), 0);
    CU_ASSERT_EQUAL(stop_daemon("A", &daemons[DA], SIGTERM, STOP_MS), 0);

    /* The clean run itself ends with what the generator says. */
    snprintf(path, sizeof path, "%s/expected.json", data_dir);
    char *s = cl_test_slurp(path, NULL);
    cJSON *exp = s ? cJSON_Parse(s) : NULL;
    free(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(exp);
    cl_it_status_t st;
    CU_ASSERT_EQUAL_FATAL(cl_it_status(&scen, &st), 0);
    CU_ASSERT_EQUAL(st.consumed, total);
    CU_ASSERT_EQUAL(st.accepted, num(exp, "accepted"));
    CU_ASSERT_EQUAL(st.duplicates, num(exp, "duplicates"));
    const cJSON *dead = cJSON_GetObjectItem(exp, "dead_letters");
    CU_ASSERT_EQUAL(st.nreasons, cJSON_GetArraySize(dead));
    for (int i = 0; i < st.nreasons; i++)
        CU_ASSERT_EQUAL(st.reasons[i].n, num(dead, st.reasons[i].reason));
    cJSON_Delete(exp);
    CU_ASSERT_EQUAL(cl_it_cli(&scen, "verify"), 0);
    CU_ASSERT_EQUAL_FATAL(snapshot(&scen, ref_dir), 0);
    have_ref = 1;
    finish_scenario(0);
}

/** @brief kill -9 at 20 random moments, a restart after each; then the same as clean. */
static void test_kill_loop(void)
{
    CU_ASSERT_TRUE_FATAL(have_ref);
    CU_ASSERT_EQUAL_FATAL(scenario_begin("it_chaos_kill"), 0);
    CU_ASSERT_EQUAL_FATAL(produce_parts(&scen, 0, NPARTS), 0);
    char trace[2048];
    int n = 0, in_flight = 0, killed = 0;
    for (int k = 0; k < KILLS; k++) {
        CU_ASSERT_EQUAL_FATAL(start_daemon(&scen, DA, NULL), 0);
        if (rnd(3) == 0) {
            /* Anywhere in the first seconds: connecting, joining, seeking, first batches. */
            unsigned ms = rnd(5000);
            sleep_ms(ms);
            n += snprintf(trace + n, sizeof trace - (size_t)n, " @%ums", ms);
        } else {
            /* Once this daemon stored a few messages: most likely inside a transaction. */
            long want = 1 + (long)rnd(100);
            if (wait_daemon_stored(&daemons[DA], scen.http_port, want, KILL_WAIT_MS) == 0)
                in_flight++;
            sleep_ms(rnd(60));
            n += snprintf(trace + n, sizeof trace - (size_t)n, " +%ld", want);
        }
        int rc = stop_daemon("A", &daemons[DA], SIGKILL, STOP_MS);
        if (rc != 128 + SIGKILL)
            fprintf(stderr, "\n  kill %d: the daemon had exited by itself (status %d)\n", k, rc);
        CU_ASSERT_EQUAL(rc, 128 + SIGKILL); /* alive until killed */
        killed += rc == 128 + SIGKILL;
    }
    long at = db_consumed(&scen);
    fprintf(stderr, "\n  seed %u: %d kills (%d after a stored batch):%s; %ld of %ld stored\n", seed,
            killed, in_flight, trace, at, total);
    CU_ASSERT_TRUE(killed >= 20);
    /* Catch up in big batches (faster; the figures must not depend on the batching). */
    CU_ASSERT_EQUAL_FATAL(cl_it_write_config(&scen, WORKERS, 500, LINGER_MS), 0);
    CU_ASSERT_EQUAL_FATAL(start_daemon(&scen, DA, NULL), 0);
    CU_ASSERT_EQUAL(wait_all_stored(&scen, CATCH_UP_S), 0);
    CU_ASSERT_TRUE(alive(&daemons[DA]));
    CU_ASSERT_EQUAL(stop_daemon("A", &daemons[DA], SIGTERM, STOP_MS), 0);
    assert_same_as_clean(&scen);
    finish_scenario(0);
}

/** @brief Stop (@p up 0) or start (1) the shared PostgreSQL; 0, or -1 saying so. */
static int postgres_set(int up)
{
    if (!up)
        pg_stopped = 1; /* before: a half-done stop is started again at the end too */
    int rc = pgctl(up ? "start" : "stop");
    if (rc != 0)
        fprintf(stderr, "\n  at %.0f s: pgctl %s exited %d\n", scen_s(), up ? "start" : "stop", rc);
    else if (up)
        pg_stopped = 0;
    return rc == 0 ? 0 : -1;
}

/** @brief PostgreSQL stopped and started twice mid-ingest; the daemon pauses, never exits. */
static void test_postgres_restarts(void)
{
    CU_ASSERT_TRUE_FATAL(have_ref);
    CU_ASSERT_PTR_NOT_NULL_FATAL(getenv("CARELEDGER_PGCTL"));
    CU_ASSERT_EQUAL_FATAL(scenario_begin("it_chaos_pg"), 0);
    CU_ASSERT_EQUAL_FATAL(produce_parts(&scen, 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(start_daemon(&scen, DA, NULL), 0);
    int restarts = 0;
    for (int k = 0; k < 2; k++) {
        /* Mid-part: then the next part arrives while PostgreSQL is away. */
        long at = mid_part(k);
        CU_ASSERT_EQUAL_FATAL(wait_db_consumed(&scen, at, WAIT_S), 0);
        CU_ASSERT_EQUAL(postgres_set(0), 0);
        CU_ASSERT_EQUAL(produce_parts(&scen, k + 1, k + 2), 0);
        unsigned ms = 300 + rnd(1700);
        sleep_ms(ms); /* the outage itself: its length is the random fault */
        CU_ASSERT_EQUAL_FATAL(postgres_set(1), 0);
        restarts++;
        fprintf(stderr, "\n  seed %u: PostgreSQL stopped after %ld messages, for %u ms", seed, at,
                ms);
        CU_ASSERT_TRUE(alive(&daemons[DA]));
    }
    CU_ASSERT_EQUAL(restarts, 2);
    CU_ASSERT_EQUAL(produce_parts(&scen, 3, NPARTS), 0);
    CU_ASSERT_EQUAL(wait_all_stored(&scen, CATCH_UP_S), 0);
    CU_ASSERT_TRUE(alive(&daemons[DA])); /* paused and resumed, never exited */
    CU_ASSERT_TRUE(cl_it_log_count(&scen, "postgres unreachable: consumption paused") >= 1);
    CU_ASSERT_EQUAL(stop_daemon("A", &daemons[DA], SIGTERM, STOP_MS), 0);
    assert_same_as_clean(&scen);
    finish_scenario(0);
}

/** @brief Every broker down and up twice mid-ingest; the daemon retries, never exits. */
static void test_broker_down_up(void)
{
    CU_ASSERT_TRUE_FATAL(have_ref);
    CU_ASSERT_EQUAL_FATAL(scenario_begin("it_chaos_broker"), 0);
    CU_ASSERT_EQUAL_FATAL(produce_parts(&scen, 0, 2), 0);
    CU_ASSERT_EQUAL_FATAL(start_daemon(&scen, DA, NULL), 0);
    for (int k = 0; k < 2; k++) {
        long at = mid_part(k);
        CU_ASSERT_EQUAL_FATAL(wait_db_consumed(&scen, at, WAIT_S), 0);
        CU_ASSERT_EQUAL_FATAL(signal_child(&scen.broker, SIGUSR1), 0); /* every broker down */
        unsigned ms = 1500 + rnd(2500);
        sleep_ms(ms); /* the outage itself: its length is the random fault */
        CU_ASSERT_TRUE(alive(&daemons[DA]));
        CU_ASSERT_EQUAL_FATAL(signal_child(&scen.broker, SIGUSR2), 0); /* up again */
        fprintf(stderr, "\n  seed %u: brokers down after %ld messages, for %u ms", seed, at, ms);
        CU_ASSERT_EQUAL(produce_parts(&scen, k + 2, k + 3), 0);
    }
    CU_ASSERT_EQUAL(wait_all_stored(&scen, CATCH_UP_S), 0);
    CU_ASSERT_TRUE(alive(&daemons[DA]));
    CU_ASSERT_TRUE(cl_it_log_count(&scen, "broker unreachable: retrying") >= 1);
    CU_ASSERT_EQUAL(stop_daemon("A", &daemons[DA], SIGTERM, STOP_MS), 0);
    assert_same_as_clean(&scen);
    finish_scenario(0);
}

/**
 * @brief Daemon @p who joins the group at @p at messages stored; part @p part follows.
 *
 * It runs in slot @p k on configuration @p cfg with environment @p env (may be NULL); the
 * part is produced once it holds partitions.
 */
static void join_group(const char *who, int k, cl_it_t *cfg, long at, int part, const char *env)
{
    CU_ASSERT_EQUAL_FATAL(wait_db_consumed(&scen, at, WAIT_S), 0);
    CU_ASSERT_EQUAL_FATAL(start_daemon(cfg, k, env), 0);
    CU_ASSERT_EQUAL(wait_daemon_assigned(who, &daemons[k], cfg->http_port, WAIT_S), 0);
    CU_ASSERT_EQUAL(produce_parts(&scen, part, part + 1), 0);
}

/** @brief Daemons join mid-batch and leave: SIGTERM, a crash point, a frozen zombie. */
static void test_rebalance(void)
{
    static cl_it_t b, c, z; /* copies of the scenario's configuration: no broker of their own */
    char env[128];
    CU_ASSERT_TRUE_FATAL(have_ref);
    CU_ASSERT_EQUAL_FATAL(scenario_begin("it_chaos_group"), 0);
    CU_ASSERT_EQUAL_FATAL(second_config(&b, "b", WORKERS), 0);
    CU_ASSERT_EQUAL_FATAL(second_config(&c, "c", WORKERS), 0);
    /* Z runs one worker: the one that freezes itself idle in its transaction, where
     * PostgreSQL ends it after 10 s. A second worker frozen while sending COPY data
     * would keep its rows locked for as long as Z stays frozen (DECISIONS 102). */
    CU_ASSERT_EQUAL_FATAL(second_config(&z, "z", 1), 0);
    CU_ASSERT_EQUAL_FATAL(produce_parts(&scen, 0, 1), 0);
    CU_ASSERT_EQUAL_FATAL(start_daemon(&scen, DA, NULL), 0);

    /* B joins while A stores part 0 (A's batches in flight are revoked), takes
     * partitions, stores, and leaves cleanly at a random moment. */
    join_group("B", DB, &b, mid_part(0), 1, NULL);
    if (wait_daemon_stored(&daemons[DB], b.http_port, 1, 20000) != 0)
        fprintf(stderr, "\n  note: B stored nothing before it left");
    sleep_ms(rnd(300));
    CU_ASSERT_EQUAL(stop_daemon("B", &daemons[DB], SIGTERM, STOP_MS), 0);
    CU_ASSERT_TRUE(alive(&daemons[DA]));

    /* C joins and dies inside one of its first batches (a crash point): A takes its
     * partitions after the session timeout and reads the batch again. */
    static const char *const points[] = {"after_copy", "before_commit", "after_commit"};
    const char *point = points[rnd(3)];
    unsigned nth = 1 + rnd(2);
    snprintf(env, sizeof env, "CARELEDGER_TEST_CRASH=%s:%u", point, nth);
    join_group("C", DC, &c, mid_part(1), 2, env);
    CU_ASSERT_EQUAL(stop_daemon("C", &daemons[DC], 0, WAIT_S * 1000), 128 + SIGKILL);
    CU_ASSERT_TRUE(alive(&daemons[DA]));

    /* Z joins and freezes inside a batch, its offset rows locked (a paused VM, a stalled
     * host). The group goes on without it: A takes Z's partitions, and its transaction
     * may not wait on Z's locks for ever. Everything is stored while Z is still frozen;
     * then Z wakes up as a zombie, its batch is fenced, and it rejoins. */
    unsigned znth = 1 + rnd(2);
    snprintf(env, sizeof env, "CARELEDGER_TEST_CRASH=stop_before_commit:%u", znth);
    join_group("Z", DZ, &z, mid_part(2), 3, env);
    CU_ASSERT_TRUE_FATAL(wait_stopped("Z", &daemons[DZ], WAIT_S));
    CU_ASSERT_EQUAL(wait_all_stored(&scen, CATCH_UP_S), 0);
    CU_ASSERT_TRUE(is_stopped(daemons[DZ].pid)); /* all of it stored while Z was frozen */
    /* Z's batch is fenced when it wakes: one more such line than A logged meanwhile. */
    int fenced_before = cl_it_log_count(&scen, "batch fenced");
    CU_ASSERT_EQUAL(signal_child(&daemons[DZ], SIGCONT), 0);
    CU_ASSERT_TRUE(wait_log(&scen, "batch fenced", fenced_before, WAIT_S) > fenced_before);
    fprintf(stderr, "\n  seed %u: C crashed %s:%u, Z froze at batch %u; %d revocations", seed,
            point, nth, znth, cl_it_log_count(&scen, "partitions revoked"));
    CU_ASSERT_TRUE(alive(&daemons[DA]));
    CU_ASSERT_TRUE(alive(&daemons[DZ]));
    CU_ASSERT_EQUAL(stop_daemon("Z", &daemons[DZ], SIGTERM, STOP_MS), 0);
    CU_ASSERT_EQUAL(stop_daemon("A", &daemons[DA], SIGTERM, STOP_MS), 0);
    assert_same_as_clean(&scen);
    finish_scenario(0);
}

/** @brief At exit: stop whatever a failure left running, remove the generated stream. */
static void at_exit(void)
{
    if (getpid() != main_pid) /* only the test process itself cleans up */
        return;
    finish_scenario(1);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
    if (data_dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", data_dir);
}

/** @brief The chaos suite (CARELEDGER_CHAOS_ONLY, CARELEDGER_CHAOS_SEED) and its stream folder. */
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
    main_pid = getpid();
    snprintf(data_dir, sizeof data_dir, "/tmp/cl-chaos-XXXXXX");
    if (!mkdtemp(data_dir))
        return -1;
    snprintf(ref_dir, sizeof ref_dir, "%s/clean", data_dir);
    atexit(at_exit);
    return cl_test_add_suite("chaos", tests);
}
