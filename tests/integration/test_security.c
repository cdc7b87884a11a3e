/**
 * @file test_security.c
 * @brief Secrets and exposure (issue 8): a password given in the conninfo, in
 * the environment and as a Kafka property never shows in the daemon's log,
 * `careledger status` (text and JSON), /healthz, /metrics, the messages of
 * failed connections or of reloads; a configuration holding a secret that
 * other users may read is warned about at start and at reload; the HTTP
 * endpoint warns when it listens beyond loopback.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cltest.h"
#include "harness.h"

/* Distinctive enough that any occurrence is a leak. */
#define PW      "CLpw-7f3a9c2e"
#define PW2     "CLpwtail-0d4b"
#define ENVPW   "CLenv-51d0b7"
#define KAFKAPW "CLkafka-93e1f"

static cl_it_t it;
static cl_proc_t daemon_proc;
static char body[1 << 20];
static char good_config[600];

/** @brief Write a daemon configuration with @p conninfo, listening on HOST:PORT; 0 or -1. */
static int write_config(const char *path, const char *conninfo, const char *host, int port,
                        unsigned mode)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\"kafka\":{\"bootstrap.servers\":\"%s\",\"session.timeout.ms\":6000,"
            "\"heartbeat.interval.ms\":500,\"auto.offset.reset\":\"error\","
            "\"sasl.password\":\"" KAFKAPW "\"},"
            "\"postgres\":{\"conninfo\":\"%s\"},"
            "\"ingest\":{\"workers\":1,\"batch_max\":100,\"linger_ms\":50},"
            "\"policies\":\"%s\",\"http\":{\"listen\":\"%s:%d\"},"
            "\"reports\":{\"out_dir\":\"%s/reports\"},\"log\":{\"level\":\"debug\"}}\n",
            it.bootstrap, conninfo, cl_test_src("config/policies"), host, port, it.dir);
    return fclose(f) || chmod(path, mode) ? -1 : 0;
}

/** @brief Write @p text to DIR/@p name (an output kept for the final sweep). */
static void save(const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", it.dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/** @brief Run a careledger command (stdout and stderr) with $PGPASSWORD set; its exit code. */
static int run(const char *args, const char *config, const char *save_as)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "PGPASSWORD=" ENVPW " '%s' %s --config '%s' 2>&1", cl_it_bin(), args,
             config);
    FILE *f = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(body, 1, sizeof body - 1, f);
    body[n] = '\0';
    int st = pclose(f);
    save(save_as, body);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/** @brief 1 if @p text holds none of the secrets (reported). */
static int clean(const char *what, const char *text)
{
    static const char *const secrets[] = {PW, PW2, ENVPW, KAFKAPW, NULL};
    for (int i = 0; secrets[i]; i++)
        if (strstr(text, secrets[i])) {
            fprintf(stderr, "\n  %s shows a secret: %s\n", what, text);
            return 0;
        }
    return 1;
}

/** @brief Wait until the daemon logs hold @p n lines with @p needle. */
static int wait_log(const char *needle, int n)
{
    for (int i = 0; i < 100; i++) {
        if (cl_it_log_count(&it, needle) >= n)
            return 1;
        usleep(100 * 1000);
    }
    fprintf(stderr, "\n  the daemon never logged %d x %s\n", n, needle);
    return 0;
}

static void test_running_daemon(void)
{
    char args[700];
    snprintf(args, sizeof args, "produce '%s/a.jsonl' --topic careledger.assistance", it.dir);
    save("a.jsonl", "not json\n");
    CU_ASSERT_EQUAL(run(args, good_config, "produce.out"), 0);
    CU_ASSERT_EQUAL(cl_it_wait_consumed(&it, 1, 60), 0);
    /* The start line shows the conninfo, redacted; the readable file is warned about. */
    CU_ASSERT_TRUE(wait_log("postgres=\"dbname=it_security password=***\"", 1));
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "the configuration holds a secret and other users may "
                                         "read it"),
                    1);
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "mode=0644"), 1);
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "listens beyond loopback"), 0);

    CU_ASSERT_EQUAL(cl_it_http_get(it.http_port, "/healthz", body, sizeof body), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"status\":\"ok\""));
    CU_ASSERT_TRUE(clean("/healthz", body));
    save("healthz.out", body);
    CU_ASSERT_EQUAL(cl_it_http_get(it.http_port, "/metrics", body, sizeof body), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "careledger_messages_consumed_total 1\n"));
    CU_ASSERT_TRUE(clean("/metrics", body));
    save("metrics.out", body);

    CU_ASSERT_EQUAL(run("status", good_config, "status.out"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "dead letters    1"));
    CU_ASSERT_TRUE(clean("status", body));
    CU_ASSERT_EQUAL(run("status --json", good_config, "status-json.out"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"invalid_json\":\t1"));
    CU_ASSERT_TRUE(clean("status --json", body));
    CU_ASSERT_EQUAL(run("dead-letters", good_config, "dead-letters.out"), 0);
    CU_ASSERT_TRUE(clean("dead-letters", body));
}

static void test_reload(void)
{
    /* 0600: a reload says nothing more about the file. */
    CU_ASSERT_EQUAL(chmod(good_config, 0600), 0);
    CU_ASSERT_EQUAL(kill(daemon_proc.pid, SIGHUP), 0);
    CU_ASSERT_TRUE(wait_log("msg=\"reloaded\"", 1));
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "other users may read it"), 1);
    /* Another password (a restart-only key) in a readable file: both said, neither shown. */
    CU_ASSERT_EQUAL(write_config(good_config, "dbname=it_security password=" PW2, "127.0.0.1",
                                 it.http_port, 0640),
                    0);
    CU_ASSERT_EQUAL(kill(daemon_proc.pid, SIGHUP), 0);
    CU_ASSERT_TRUE(wait_log("msg=\"reloaded\"", 2));
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "other users may read it"), 2);
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "mode=0640"), 1);
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "keys=\"postgres.conninfo\""), 1);
    /* A broken file, cut just after a password: rejected, the password not quoted. */
    FILE *f = fopen(good_config, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"postgres\":{\"conninfo\":\"password=" PW "\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(kill(daemon_proc.pid, SIGHUP), 0);
    CU_ASSERT_TRUE(wait_log("reload rejected", 1));
    /* An unknown key next to the password: named, the value not shown. */
    f = fopen(good_config, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"postgres\":{\"conninfo\":\"password=" PW "\",\"pasword\":\"" PW "\"}}\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(kill(daemon_proc.pid, SIGHUP), 0);
    CU_ASSERT_TRUE(wait_log("reload rejected", 2));
    CU_ASSERT_TRUE(wait_log("postgres.pasword: unknown key", 1));
    CU_ASSERT_EQUAL(write_config(good_config, "dbname=it_security password=" PW, "127.0.0.1",
                                 it.http_port, 0600),
                    0);
    int status;
    CU_ASSERT_EQUAL(waitpid(daemon_proc.pid, &status, WNOHANG), 0); /* still running */
}

static void test_failed_connections(void)
{
    char bad[sizeof it.config];
    snprintf(bad, sizeof bad, "%.*s/bad.json", (int)sizeof it.dir, it.dir);
    /* libpq quotes these conninfo strings back in its errors, password and all. */
    static const char *const cases[][2] = {
        {"postgresql://careledger:" PW "%zz@localhost/x", "invalid percent-encoded token"},
        {"postgresql://careledger:" PW "@[::1/x", "IPv6 host address"},
        {"dbname=x password=" PW " " PW2, "missing \"=\" after"},
        {"host=/nonexistent-cl-socket password=" PW, "No such file or directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        CU_ASSERT_EQUAL(write_config(bad, cases[i][0], "127.0.0.1", it.http_port + 1, 0600), 0);
        snprintf(name, sizeof name, "failed-status-%zu.out", i);
        CU_ASSERT_EQUAL(run("status", bad, name), 1);
        if (!strstr(body, cases[i][1]))
            fprintf(stderr, "\n  case %zu: %s\n", i, body);
        CU_ASSERT_PTR_NOT_NULL(strstr(body, cases[i][1]));
        CU_ASSERT_TRUE(clean("a failed connection", body));
    }
    /* A daemon that cannot connect: it logs why, listening beyond loopback is warned about,
     * /healthz says degraded; the password is nowhere. It never joins the group. */
    char path[sizeof it.config];
    snprintf(path, sizeof path, "%s", it.config);
    snprintf(it.config, sizeof it.config, "%s", bad);
    CU_ASSERT_EQUAL(write_config(bad, "postgresql://careledger:" PW "%zz@localhost/x", "0.0.0.0",
                                 it.http_port + 1, 0600),
                    0);
    cl_proc_t d2;
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &d2, "PGPASSWORD=" ENVPW), 0);
    snprintf(it.config, sizeof it.config, "%s", path);
    CU_ASSERT_TRUE(wait_log("postgres unreachable: consumption paused", 1));
    CU_ASSERT_TRUE(wait_log("invalid percent-encoded token: \\\"***\\\"", 1));
    CU_ASSERT_TRUE(wait_log("postgres=\"postgresql://careledger:***@localhost/x\"", 1));
    CU_ASSERT_TRUE(wait_log("listens beyond loopback", 1));
    CU_ASSERT_EQUAL(cl_it_log_count(&it, "listens beyond loopback"), 1);
    CU_ASSERT_EQUAL(cl_it_http_get(it.http_port + 1, "/healthz", body, sizeof body), 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"postgres\":{\"state\":\"down\""));
    CU_ASSERT_TRUE(clean("/healthz (down)", body));
    save("healthz-down.out", body);
    CU_ASSERT_EQUAL(cl_proc_stop(&d2, SIGTERM, 10000), 0);
}

static void test_loopback_only(void)
{
    /* The main daemon listens on 127.0.0.1: no other local address answers. */
    struct ifaddrs *ifs = NULL, *i;
    int tried = 0;
    CU_ASSERT_EQUAL_FATAL(getifaddrs(&ifs), 0);
    for (i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        struct sockaddr_in a = *(struct sockaddr_in *)i->ifa_addr;
        if ((ntohl(a.sin_addr.s_addr) >> 24) == 127)
            continue;
        a.sin_port = htons((uint16_t)it.http_port);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        CU_ASSERT_TRUE(fd >= 0);
        CU_ASSERT_NOT_EQUAL(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
        close(fd);
        tried++;
    }
    freeifaddrs(ifs);
    if (!tried)
        fprintf(stderr, "(no non-loopback IPv4 address here) ");
    CU_ASSERT_EQUAL(cl_it_http_get(it.http_port, "/healthz", body, sizeof body), 200);
}

static void test_sweep(void)
{
    /* Stop the daemon, then: no file this suite wrote, logs included, holds a secret. */
    CU_ASSERT_EQUAL(cl_proc_stop(&daemon_proc, SIGTERM, 10000), 0);
    daemon_proc.pid = -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "grep -rlF -e '" PW "' -e '" PW2 "' -e '" ENVPW "' -e '" KAFKAPW
             "' --exclude='*.json' '%s'",
             it.dir);
    FILE *f = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(body, 1, sizeof body - 1, f);
    body[n] = '\0';
    pclose(f);
    if (n)
        fprintf(stderr, "\n  files with a secret:\n%s", body);
    CU_ASSERT_EQUAL(n, 0);
    /* and the sweep is not vacuous: the logs and outputs are there */
    CU_ASSERT_TRUE(cl_it_log_count(&it, "msg=\"starting\"") >= 2);
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '\\.out$'", it.dir);
    f = popen(cmd, "r");
    int outs = 0;
    CU_ASSERT_EQUAL(fscanf(f, "%d", &outs), 1);
    pclose(f);
    CU_ASSERT_TRUE(outs >= 11);
}

/** @brief Broker, database, a readable configuration with a password, the daemon. */
static int setup(void)
{
    if (cl_it_setup(&it, "it_security", 1, 1) != 0)
        return -1;
    snprintf(good_config, sizeof good_config, "%s", it.config);
    if (write_config(good_config, "dbname=it_security password=" PW, "127.0.0.1", it.http_port,
                     0644))
        return -1;
    return cl_it_daemon_start(&it, &daemon_proc, "PGPASSWORD=" ENVPW);
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
        {"a running daemon: log, status, /healthz, /metrics", test_running_daemon},
        {"SIGHUP: readable file warned, passwords never quoted", test_reload},
        {"failed connections: libpq's echo scrubbed", test_failed_connections},
        {"HTTP answers on loopback only", test_loopback_only},
        {"no output holds a secret", test_sweep},
        {NULL, NULL}};
    if (setup() != 0)
        return -1;
    atexit(teardown);
    return cl_test_add_suite("security", tests);
}
