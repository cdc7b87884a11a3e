/**
 * @file harness.c
 * @brief Integration harness.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cltest.h"

/** @brief careledger binary. */
const char *cl_it_bin(void)
{
    const char *b = getenv("CARELEDGER_BIN");
    return b ? b : "careledger";
}

/** @brief careledgerd binary (same folder). */
const char *cl_it_daemon_bin(void)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s", cl_it_bin());
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0),
             "careledgerd");
    return path;
}

/** @brief Run one statement on the maintenance database. */
static int admin_exec(const char *sql)
{
    PGconn *c = PQconnectdb("dbname=postgres options='-c client_min_messages=warning'");
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "harness: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "harness: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

/** @brief Write the daemon configuration. */
int cl_it_write_config(cl_it_t *it, int workers, int batch_max, int linger_ms)
{
    FILE *f = fopen(it->config, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\"kafka\":{\"bootstrap.servers\":\"%s\",\"session.timeout.ms\":%d,"
            "\"heartbeat.interval.ms\":500,\"auto.offset.reset\":\"error\","
            "\"topic.metadata.refresh.interval.ms\":2000%s},"
            "\"postgres\":{\"conninfo\":\"dbname=%s\"},"
            "\"ingest\":{\"workers\":%d,\"batch_max\":%d,\"linger_ms\":%d},"
            "\"policies\":\"%s\",\"http\":{\"listen\":\"127.0.0.1:%d\"},"
            "\"reports\":{\"out_dir\":\"%s/reports\"%s},\"log\":{\"level\":\"info\"}}\n",
            it->bootstrap[0] ? it->bootstrap : "127.0.0.1:1",
            it->session_timeout_ms > 0 ? it->session_timeout_ms : 6000, it->kafka_extra, it->name,
            workers, batch_max, linger_ms,
            it->policies[0] ? it->policies : cl_test_src("config/policies"), it->http_port, it->dir,
            it->reports_extra);
    return fclose(f);
}

/** @brief Fresh database, folder, broker, config. */
int cl_it_setup(cl_it_t *it, const char *name, int partitions, int workers)
{
    char sql[256], line[200];
    memset(it, 0, sizeof *it);
    it->broker.pid = -1;
    it->broker.out_fd = -1;
    snprintf(it->name, sizeof it->name, "%s", name);
    /* A name no other process can derive (not from the pid): nothing else removes it. */
    snprintf(it->dir, sizeof it->dir, "/tmp/cl-it-%s-XXXXXX", name);
    if (!mkdtemp(it->dir))
        return -1;
    chmod(it->dir, 0755);
    snprintf(it->config, sizeof it->config, "%s/careledger.json", it->dir);
    it->http_port = 20000 + (int)(getpid() % 20000);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    if (admin_exec(sql))
        return -1;
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (admin_exec(sql))
        return -1;
    if (partitions > 0) {
        char parts[16];
        snprintf(parts, sizeof parts, "%d", partitions);
        char *argv[] = {(char *)cl_it_bin(), "mock-broker", "--partitions", parts, NULL};
        if (cl_proc_spawn(&it->broker, argv) ||
            cl_proc_readline(&it->broker, line, sizeof line, 15000) ||
            strncmp(line, "bootstrap=", 10) != 0)
            return -1;
        snprintf(it->bootstrap, sizeof it->bootstrap, "%s", line + 10);
    }
    if (cl_it_write_config(it, workers, 2000, 100))
        return -1;
    return cl_it_cli(it, "migrate") == 0 ? 0 : -1;
}

/** @brief Stop the broker, remove the folder. */
void cl_it_teardown(cl_it_t *it)
{
    char cmd[300];
    if (it->broker.pid > 0)
        cl_proc_stop(&it->broker, 15, 10000);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", it->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "harness: could not remove %s\n", it->dir);
}

/** @brief Run a CLI command quietly. */
int cl_it_cli(cl_it_t *it, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s --config '%s' >>'%s/cli.log' 2>&1", cl_it_bin(), args,
             it->config, it->dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/** @brief Start the daemon. */
int cl_it_daemon_start(cl_it_t *it, cl_proc_t *p, const char *env)
{
    static int n;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "exec env %s '%s' --config '%s' 2>>'%s/daemon-%d.log'",
             env ? env : "", cl_it_daemon_bin(), it->config, it->dir, n++);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return cl_proc_spawn(p, argv);
}

/** @brief Produce the three files. */
int cl_it_produce_stream(cl_it_t *it, const cl_stream_expect_t *exp)
{
    char args[1024];
    for (int t = 0; t < CL_STREAM_TOPICS; t++) {
        snprintf(args, sizeof args, "produce '%s' --topic %s", exp->files[t], cl_stream_topics[t]);
        if (cl_it_cli(it, args) != 0)
            return -1;
    }
    return 0;
}

/** @brief Parse status --json. */
int cl_it_status(cl_it_t *it, cl_it_status_t *st)
{
    char cmd[1024];
    memset(st, 0, sizeof *st);
    snprintf(cmd, sizeof cmd, "'%s' status --json --config '%s' 2>>'%s/cli.log'", cl_it_bin(),
             it->config, it->dir);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    if (pclose(f) != 0)
        return -1;
    cJSON *o = cJSON_Parse(buf);
    if (!o)
        return -1;
    st->accepted = (long)cJSON_GetObjectItem(o, "accepted")->valuedouble;
    st->duplicates = (long)cJSON_GetObjectItem(o, "duplicates")->valuedouble;
    st->consumed = (long)cJSON_GetObjectItem(o, "consumed")->valuedouble;
    const cJSON *d = cJSON_GetObjectItem(o, "dead_letters");
    for (const cJSON *it2 = d ? d->child : NULL; it2 && st->nreasons < 64; it2 = it2->next) {
        snprintf(st->reasons[st->nreasons].reason, sizeof st->reasons[0].reason, "%s", it2->string);
        st->reasons[st->nreasons++].n = (long)it2->valuedouble;
        st->dead += (long)it2->valuedouble;
    }
    cJSON_Delete(o);
    return 0;
}

/** @brief Poll until consumed reaches total. */
int cl_it_wait_consumed(cl_it_t *it, long total, int timeout_s)
{
    cl_it_status_t st;
    for (int i = 0; i < timeout_s * 2; i++) {
        if (cl_it_status(it, &st) == 0 && st.consumed >= total)
            return 0;
        usleep(500 * 1000);
    }
    fprintf(stderr, "\n  harness: consumed %ld of %ld after %d s\n", st.consumed, total, timeout_s);
    return -1;
}

/** @brief Compare with the stream's expectation. */
void cl_it_assert_expected(const cl_it_status_t *st, const cl_stream_expect_t *exp)
{
    if (st->accepted != exp->accepted || st->duplicates != exp->duplicates || st->dead != exp->dead)
        fprintf(stderr, "\n  got accepted %ld duplicates %ld dead %ld; expected %ld %ld %ld\n",
                st->accepted, st->duplicates, st->dead, exp->accepted, exp->duplicates, exp->dead);
    CU_ASSERT_EQUAL(st->accepted, exp->accepted);
    CU_ASSERT_EQUAL(st->duplicates, exp->duplicates);
    CU_ASSERT_EQUAL(st->dead, exp->dead);
    CU_ASSERT_EQUAL(st->consumed, exp->total);
    CU_ASSERT_EQUAL(st->nreasons, exp->nreasons);
    for (int i = 0; i < exp->nreasons; i++) {
        long got = 0;
        for (int k = 0; k < st->nreasons; k++)
            if (strcmp(st->reasons[k].reason, exp->reasons[i].reason) == 0)
                got = st->reasons[k].n;
        if (got != exp->reasons[i].n)
            fprintf(stderr, "\n  %s: got %ld, expected %ld\n", exp->reasons[i].reason, got,
                    exp->reasons[i].n);
        CU_ASSERT_EQUAL(got, exp->reasons[i].n);
    }
}

/** @brief First value of a query in the test database. */
const char *cl_it_sql(cl_it_t *it, const char *sql)
{
    return cl_it_sql_as(it, NULL, sql);
}

/** @brief First value of a query in the test database as @p login (NULL: the default). */
const char *cl_it_sql_as(cl_it_t *it, const char *login, const char *sql)
{
    static char out[4096];
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo, "dbname=%s%s%s", it->name, login ? " user=" : "",
             login ? login : "");
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        snprintf(out, sizeof out, "%s", PQgetvalue(r, 0, 0));
    else
        snprintf(out, sizeof out, "ERROR %s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return out;
}

/** @brief Run a statement without rows. */
int cl_it_exec(cl_it_t *it, const char *sql)
{
    char conninfo[128];
    snprintf(conninfo, sizeof conninfo, "dbname=%s", it->name);
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "harness: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

/** @brief Digest of what is stored, independent of arrival order. */
int cl_it_digest(cl_it_t *it, char *out)
{
    const char *v = cl_it_sql(
        it, "SELECT md5((SELECT coalesce(string_agg(event_id || ':' || encode(fingerprint, 'hex') "
            "|| ':' || md5(payload), ',' ORDER BY event_id), '') FROM careledger.events) || '|' || "
            "(SELECT coalesce(string_agg(reason || ':' || md5(payload), ',' ORDER BY reason, "
            "md5(payload)), '') FROM careledger.dead_letters))");
    snprintf(out, 33, "%s", v);
    return strncmp(v, "ERROR", 5) == 0 ? -1 : 0;
}

/** @brief A minimal HTTP/1.0 GET on loopback. */
int cl_it_http_get(int port, const char *path, char *body, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A stopped daemon's kernel still accepts the connection: never wait for ever. */
    struct timeval tv = {5, 0};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    static char resp[1 << 20];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof resp - 1 && (k = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)k;
    close(fd);
    resp[got] = '\0';
    int code = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
        return -1;
    const char *b = strstr(resp, "\r\n\r\n");
    snprintf(body, size, "%s", b ? b + 4 : "");
    return code;
}

/** @brief Count matching lines across the daemon logs of this scenario. */
int cl_it_log_count(cl_it_t *it, const char *needle)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cat '%s'/daemon-*.log 2>/dev/null | grep -cF -- '%s'", it->dir,
             needle);
    FILE *f = popen(cmd, "r");
    int n = 0;
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = 0;
        pclose(f);
    }
    return n;
}
