/**
 * @file test_access.c
 * @brief Roles and region-bound report logins (SPEC §6, §9 grant-region;
 * migration 007): careledger_report reads but never writes; a login bound to
 * a district reads only what that district's figures are computed from, its
 * reports equal the owner's byte for byte and name no other district, a
 * region outside its grant is refused; grant-region itself; the schema's
 * guards (views as invoker, no table readable without a policy); what
 * migrate says without the privileges it needs.
 */
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cltest.h"
#include "harness.h"

#define DATE  "2020-02-12"
#define ENV   "\"schema\":\"careledger/1\",\"occurred_at\":\"2020-01-25T08:00:00+08:00\""
#define SHIFT "\"type\":\"shift.completed\",\"exposure\":\"direct\""

/* Logins (roles are cluster-wide: the names carry the suite's prefix). */
#define L_ROOT   "cl_it_access_root"   /* granted 000000 */
#define L_NONE   "cl_it_access_none"   /* in careledger_report, no grant */
#define L_XG     "cl_it_access_xg"     /* 210203 西岗区 (大连: couples rule, families) */
#define L_SHK    "cl_it_access_shk"    /* 210204 沙河口区, its neighbour */
#define L_DL     "cl_it_access_dl"     /* 210200 大连市 */
#define L_HQ     "cl_it_access_hq"     /* 120106 红桥区 */
#define L_GZ     "cl_it_access_gz"     /* 440105 海珠区 */
#define L_PLAIN  "cl_it_access_plain"  /* a login in no careledger role */
#define L_INGEST "cl_it_access_ingest" /* in careledger_ingest */

static cl_it_t it;
static int ready;

/** @brief A command's exit status; its stdout into @p out (NULL: the CLI log), its
 * stderr in @p err (may be NULL). */
static int run(const char *out, char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int run(const char *out, char *err, size_t errsize, const char *fmt, ...)
{
    char cmd[4096], path[400], full[5200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/stderr.txt", it.dir);
    if (out)
        snprintf(full, sizeof full, "%s >'%s' 2>'%s'", cmd, out, path);
    else
        snprintf(full, sizeof full, "%s >>'%s/cli.log' 2>'%s'", cmd, it.dir, path);
    int st = system(full);
    if (err) {
        char *e = cl_test_slurp(path, NULL);
        snprintf(err, errsize, "%s", e ? e : "");
        free(e);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/** @brief `careledger ARGS` as @p login (NULL: the owner); exit status, stderr in @p err. */
static int cli_as(const char *login, char *err, size_t errsize, const char *args)
{
    return run(NULL, err, errsize, "env %s%s '%s' %s --config '%s'", login ? "PGUSER=" : "",
               login ? login : "", cl_it_bin(), args, it.config);
}

/** @brief Connect to the test database as @p login (NULL: the owner). */
static PGconn *connect_as(const char *login)
{
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo, "dbname=%s%s%s", it.name, login ? " user=" : "",
             login ? login : "");
    return PQconnectdb(conninfo);
}

/** @brief Run @p sql as @p login; its SQLSTATE ("00000" when it succeeded). */
static const char *state_as(const char *login, const char *sql)
{
    static char state[8];
    PGconn *c = connect_as(login);
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(state, sizeof state, "%s",
             s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? "00000"
             : st                                          ? st
                                                           : "?????");
    PQclear(r);
    PQfinish(c);
    return state;
}

/** @brief The first value of @p sql as @p login (static buffer), "ERROR …" on failure. */
static const char *value_as(const char *login, const char *sql)
{
    return cl_it_sql_as(&it, login, sql);
}

/** @brief The first value of @p sql as @p login, as a number (no shared buffer). */
static long count_as(const char *login, const char *sql)
{
    return atol(value_as(login, sql));
}

/** @brief The number of lines of @p s (each ending in a newline). */
static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/** @brief Write @p text to DIR/@p name and ingest it; 0 or -1. */
static int ingest_text(const char *name, const char *text)
{
    char path[400], args[500];
    snprintf(path, sizeof path, "%s/%s", it.dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    fclose(f);
    snprintf(args, sizeof args, "ingest-file '%s'", path);
    return cl_it_cli(&it, args) == 0 ? 0 : -1;
}

/* Facts that cross the line between 西岗区 (210203) and 沙河口区 (210204): a couple
 * and family across it (the spouse in 沙河口 qualified first), a worker of 沙河口 lent
 * for a day to 西岗, an unregistered worker first seen in 沙河口, a payment to a
 * 西岗 worker by a 沙河口 unit, a long and a cancelled shift, an injury. */
static const char CROSS[] =
    "{" ENV ",\"event_id\":\"x-ua\",\"type\":\"unit.registered\",\"unit_id\":\"XA1\","
    "\"name\":\"西岗区交叉测试医院\",\"region\":\"210203\",\"kind\":\"hospital\",\"level\":"
    "\"county\"}\n"
    "{" ENV ",\"event_id\":\"x-ub\",\"type\":\"unit.registered\",\"unit_id\":\"XB1\","
    "\"name\":\"沙河口区交叉测试医院\",\"region\":\"210204\",\"kind\":\"hospital\",\"level\":"
    "\"county\"}\n"
    "{" ENV ",\"event_id\":\"x-w1\",\"type\":\"worker.registered\",\"worker_id\":\"XA-W1\","
    "\"unit_id\":\"XA1\",\"role\":\"nurse\",\"staff\":\"contract\",\"family_id\":\"XF1\","
    "\"spouse_worker_id\":\"XB-W1\",\"children\":1,\"elders\":0}\n"
    "{" ENV ",\"event_id\":\"x-w2\",\"type\":\"worker.registered\",\"worker_id\":\"XB-W1\","
    "\"unit_id\":\"XB1\",\"role\":\"doctor\",\"staff\":\"contract\",\"family_id\":\"XF1\","
    "\"spouse_worker_id\":\"XA-W1\",\"children\":1,\"elders\":0}\n"
    "{" ENV ",\"event_id\":\"x-w3\",\"type\":\"worker.registered\",\"worker_id\":\"XB-W2\","
    "\"unit_id\":\"XB1\",\"role\":\"nurse\",\"staff\":\"contract\",\"children\":0,\"elders\":0}\n"
    "{" ENV ",\"event_id\":\"x-s1\"," SHIFT ",\"worker_id\":\"XB-W1\",\"unit_id\":\"XB1\","
    "\"start\":\"2020-02-01T08:00:00+08:00\",\"end\":\"2020-02-01T16:00:00+08:00\"}\n"
    "{" ENV ",\"event_id\":\"x-s2\"," SHIFT ",\"worker_id\":\"XB-W1\",\"unit_id\":\"XB1\","
    "\"start\":\"2020-02-03T08:00:00+08:00\",\"end\":\"2020-02-03T16:00:00+08:00\"}\n"
    "{" ENV ",\"event_id\":\"x-s3\"," SHIFT ",\"worker_id\":\"XB-W1\",\"unit_id\":\"XB1\","
    "\"start\":\"2020-02-04T08:00:00+08:00\",\"end\":\"2020-02-04T16:00:00+08:00\"}\n"
    "{" ENV ",\"event_id\":\"x-s4\"," SHIFT ",\"worker_id\":\"XA-W1\",\"unit_id\":\"XA1\","
    "\"start\":\"2020-02-03T08:00:00+08:00\",\"end\":\"2020-02-03T16:00:00+08:00\"}\n"
    "{" ENV ",\"event_id\":\"x-s5\"," SHIFT ",\"worker_id\":\"XA-W1\",\"unit_id\":\"XA1\","
    "\"start\":\"2020-02-04T08:00:00+08:00\",\"end\":\"2020-02-04T20:00:00+08:00\"}\n"
    "{" ENV ",\"event_id\":\"x-s6\"," SHIFT ",\"worker_id\":\"XA-W1\",\"unit_id\":\"XA1\","
    "\"start\":\"2020-02-06T08:00:00+08:00\",\"end\":\"2020-02-06T20:00:00+08:00\"}\n"
    "{" ENV ",\"event_id\":\"x-c6\",\"type\":\"shift.cancelled\",\"cancels\":\"x-s6\"}\n"
    "{" ENV ",\"event_id\":\"x-s7\"," SHIFT ",\"worker_id\":\"XB-W2\",\"unit_id\":\"XA1\","
    "\"start\":\"2020-02-04T08:00:00+08:00\",\"end\":\"2020-02-04T16:00:00+08:00\"}\n"
    "{" ENV ",\"event_id\":\"x-s8\"," SHIFT ",\"worker_id\":\"XB-W2\",\"unit_id\":\"XB1\","
    "\"start\":\"2020-02-05T08:00:00+08:00\",\"end\":\"2020-02-05T16:00:00+08:00\"}\n"
    "{" ENV ",\"event_id\":\"x-d1\",\"type\":\"benefit.delivered\",\"measure\":\"DL-12a\","
    "\"family_id\":\"XF1\",\"date\":\"2020-02-10\"}\n"
    "{" ENV ",\"event_id\":\"x-p1\",\"type\":\"subsidy.paid\",\"worker_id\":\"XA-W1\","
    "\"unit_id\":\"XB1\",\"line\":\"temp_subsidy\",\"period\":\"2020-02\",\"amount_fen\":30000,"
    "\"date\":\"2020-02-10\",\"funding\":\"city\"}\n"
    "{" ENV ",\"event_id\":\"x-p2\",\"type\":\"subsidy.paid\",\"worker_id\":\"XB-W2\","
    "\"unit_id\":\"XB1\",\"line\":\"temp_subsidy\",\"period\":\"2020-02\",\"amount_fen\":60000,"
    "\"date\":\"2020-02-10\",\"funding\":\"city\"}\n"
    "{" ENV ",\"event_id\":\"x-i1\",\"type\":\"injury.reported\",\"case_id\":\"XC1\","
    "\"worker_id\":\"XB-W1\",\"date\":\"2020-02-06\"}\n";

/* Facts no region can own wholly: a worker never registered, first seen in 沙河口 and
 * then in 西岗 (R9 places him in 沙河口 by his first day), and a shift of 沙河口's lent
 * worker at a unit never registered. */
static const char QUALITY[] =
    "{" ENV ",\"event_id\":\"x-s9\"," SHIFT ",\"worker_id\":\"XU-W3\",\"unit_id\":\"XB1\","
    "\"start\":\"2020-02-02T08:00:00+08:00\",\"end\":\"2020-02-02T16:00:00+08:00\"}\n"
    "{" ENV ",\"event_id\":\"x-s10\"," SHIFT ",\"worker_id\":\"XU-W3\",\"unit_id\":\"XA1\","
    "\"start\":\"2020-02-06T08:00:00+08:00\",\"end\":\"2020-02-06T16:00:00+08:00\"}\n"
    "{" ENV ",\"event_id\":\"x-q1\"," SHIFT ",\"worker_id\":\"XB-W2\",\"unit_id\":\"XQ9\","
    "\"start\":\"2020-02-09T08:00:00+08:00\",\"end\":\"2020-02-09T16:00:00+08:00\"}\n";

/** @brief Create a login in @p role (NULL: none), dropping a leftover one first; 0/-1. */
static int make_login(const char *login, const char *role)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "DO $$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN "
             "DROP ROLE %s; END IF; END$$",
             login, login);
    if (cl_it_exec(&it, sql))
        return -1;
    snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN%s%s", login, role ? " IN ROLE " : "",
             role ? role : "");
    return cl_it_exec(&it, sql);
}

/** @brief `grant-region LOGIN CODE` as the owner; 0/-1. */
static int grant(const char *login, const char *code)
{
    char args[256];
    snprintf(args, sizeof args, "grant-region %s %s", login, code);
    return cli_as(NULL, NULL, 0, args) == 0 ? 0 : -1;
}

/** @brief The generated province (600 workers, 20 days) plus CROSS, the logins, the grants. */
static void setup_once(void)
{
    if (ready)
        return;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_access", 0, 1), 0);
    char args[800];
    snprintf(args, sizeof args, "gen --out '%s/gen' --workers 600 --days 20", it.dir);
    CU_ASSERT_EQUAL_FATAL(cl_it_cli(&it, args), 0);
    const char *topics[] = {"reference", "shifts", "assistance"};
    for (int t = 0; t < 3; t++) {
        snprintf(args, sizeof args, "ingest-file '%s/gen/careledger.%s.jsonl'", it.dir, topics[t]);
        CU_ASSERT_EQUAL_FATAL(cl_it_cli(&it, args), 0);
    }
    CU_ASSERT_EQUAL_FATAL(ingest_text("cross.jsonl", CROSS), 0);
    const char *report_logins[] = {L_ROOT, L_NONE, L_XG, L_SHK, L_DL, L_HQ, L_GZ};
    for (size_t i = 0; i < sizeof report_logins / sizeof report_logins[0]; i++)
        CU_ASSERT_EQUAL_FATAL(make_login(report_logins[i], "careledger_report"), 0);
    CU_ASSERT_EQUAL_FATAL(make_login(L_PLAIN, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(grant(L_ROOT, "000000"), 0);
    CU_ASSERT_EQUAL_FATAL(grant(L_XG, "210203"), 0);
    CU_ASSERT_EQUAL_FATAL(grant(L_SHK, "210204"), 0);
    CU_ASSERT_EQUAL_FATAL(grant(L_DL, "210200"), 0);
    CU_ASSERT_EQUAL_FATAL(grant(L_HQ, "120106"), 0);
    CU_ASSERT_EQUAL_FATAL(grant(L_GZ, "440105"), 0);
    ready = 1;
}

/* The tables with row-level security. */
static const char *const GUARDED[] = {
    "units",           "workers",    "worker_days",   "open_deployments",
    "payments",        "deliveries", "injury_stages", "deployment_starts",
    "deployment_ends", "statuses",   "budgets",       "events"};
#define N_GUARDED (sizeof GUARDED / sizeof GUARDED[0])

/** @brief careledger_report reads everything a root grant allows and writes nothing. */
static void test_report_role_read_only(void)
{
    setup_once();
    char sql[512], want[64];
    /* Reads: the root login sees every row the owner does. */
    for (size_t i = 0; i < N_GUARDED; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM careledger.%s", GUARDED[i]);
        snprintf(want, sizeof want, "%s", value_as(NULL, sql));
        CU_ASSERT_STRING_EQUAL(value_as(L_ROOT, sql), want);
        CU_ASSERT(atol(want) > 0 || strcmp(GUARDED[i], "deployment_ends") == 0);
    }
    /* Writes: every table refuses every kind, whatever the grant. */
    static const char *const writes[] = {
        "INSERT INTO careledger.events (event_id, type, fingerprint, occurred_at, src_topic, "
        "src_partition, src_offset, payload) VALUES ('w', 'x', '\\x00', now(), 't', 0, 0, '{}')",
        "UPDATE careledger.events SET note = 'x'",
        "DELETE FROM careledger.events",
        "TRUNCATE careledger.events",
        "INSERT INTO careledger.units VALUES ('W1', 'n', '210203', 'hospital', 'county', now(), "
        "'e')",
        "UPDATE careledger.worker_days SET subsidy_fen = 0",
        "DELETE FROM careledger.payments",
        "TRUNCATE careledger.worker_days",
        "UPDATE careledger.budgets SET amount_fen = 0",
        "DELETE FROM careledger.offsets",
        "UPDATE careledger.policy_settings SET direct_fen = 0",
        "INSERT INTO careledger.region_grants (role, region) VALUES ('" L_ROOT "', '210203')",
        "DELETE FROM careledger.region_grants",
        "DELETE FROM careledger.schema_migrations",
        "CREATE TABLE careledger.x (a int)",
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        const char *st = state_as(L_ROOT, writes[i]);
        if (strcmp(st, "42501") != 0)
            fprintf(stderr, "\n  %s: SQLSTATE %s\n", writes[i], st);
        CU_ASSERT_STRING_EQUAL(st, "42501");
    }
    /* No function it may call can write: none is VOLATILE (PostgreSQL refuses
     * INSERT/UPDATE/DELETE in the others) but acl_prepare, which fills a temporary
     * table of the session for the transaction, and nothing else. */
    CU_ASSERT_STRING_EQUAL(
        value_as(L_ROOT, "SELECT string_agg(p.proname, ',') FROM pg_proc p WHERE "
                         "p.pronamespace = 'careledger'::regnamespace AND p.provolatile = 'v' "
                         "AND has_function_privilege(p.oid, 'EXECUTE')"),
        "acl_prepare");
    /* Nor does row-level security turn off on request. */
    PGconn *c = connect_as(L_XG);
    PGresult *r = PQexec(c, "SET row_security = off; SELECT count(*) FROM careledger.units");
    CU_ASSERT_STRING_EQUAL(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
    PQclear(r);
    PQfinish(c);
    /* The commands that write fail, and nothing changed. */
    char err[2048], path[400], args[600];
    snprintf(want, sizeof want, "%s", value_as(NULL, "SELECT count(*) FROM careledger.events"));
    CU_ASSERT_EQUAL(cli_as(L_ROOT, err, sizeof err, "rebuild"), 1);
    CU_ASSERT_EQUAL(cli_as(L_ROOT, err, sizeof err, "grant-region " L_ROOT " 210203"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "schema owner"));
    snprintf(path, sizeof path, "%s/more.jsonl", it.dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{" ENV ",\"event_id\":\"x-more\"," SHIFT ",\"worker_id\":\"XA-W1\",\"unit_id\":"
          "\"XA1\",\"start\":\"2020-02-09T08:00:00+08:00\",\"end\":"
          "\"2020-02-09T16:00:00+08:00\"}\n",
          f);
    fclose(f);
    snprintf(args, sizeof args, "ingest-file '%s'", path);
    CU_ASSERT_EQUAL(cli_as(L_ROOT, err, sizeof err, args), 1);
    CU_ASSERT_STRING_EQUAL(value_as(NULL, "SELECT count(*) FROM careledger.events"), want);
    /* Every report works for it. */
    static const char *const kinds[] = {"daily", "finance", "compare"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(args, sizeof args,
                 "report %s --region 210200 --date " DATE " --format json --out '%s/ro'", kinds[i],
                 it.dir);
        CU_ASSERT_EQUAL(cli_as(L_ROOT, err, sizeof err, args), 0);
    }
}

/** @brief A login in careledger_ingest ingests under row-level security when it has
 * BYPASSRLS (PostgreSQL refuses COPY, which writes the aggregates, to anyone subject to
 * it): raw facts, aggregates, dead letters and offsets; reports work for it too.
 * Without BYPASSRLS ingest stops at once, in one line saying what to do. */
static void test_ingest_login_writes(void)
{
    setup_once();
    CU_ASSERT_EQUAL_FATAL(make_login(L_INGEST, "careledger_ingest"), 0);
    char path[400], args[600], err[2048];
    snprintf(args, sizeof args, "ingest-file '%s/cross.jsonl'", it.dir);
    CU_ASSERT_EQUAL(cli_as(L_INGEST, err, sizeof err, args), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ALTER ROLE " L_INGEST " BYPASSRLS"));
    CU_ASSERT_EQUAL(lines(err), 1);
    CU_ASSERT_EQUAL_FATAL(cl_it_exec(&it, "ALTER ROLE " L_INGEST " BYPASSRLS"), 0);
    snprintf(path, sizeof path, "%s/ingest-login.jsonl", it.dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{" ENV ",\"event_id\":\"x-il1\"," SHIFT ",\"worker_id\":\"XA-W1\",\"unit_id\":"
          "\"XA1\",\"start\":\"2020-02-10T08:00:00+08:00\",\"end\":"
          "\"2020-02-10T16:00:00+08:00\"}\n"
          "not json\n",
          f);
    fclose(f);
    long dead = atol(value_as(NULL, "SELECT count(*) FROM careledger.dead_letters"));
    snprintf(args, sizeof args, "ingest-file '%s'", path);
    CU_ASSERT_EQUAL(cli_as(L_INGEST, err, sizeof err, args), 0);
    if (err[0])
        fprintf(stderr, "\n  ingest-file as %s: %s", L_INGEST, err);
    CU_ASSERT_STRING_EQUAL(value_as(NULL, "SELECT count(*) FROM careledger.worker_days WHERE "
                                          "worker_id = 'XA-W1' AND date = '2020-02-10'"),
                           "1");
    CU_ASSERT_EQUAL(atol(value_as(NULL, "SELECT count(*) FROM careledger.dead_letters")), dead + 1);
    snprintf(args, sizeof args,
             "report daily --region 210203 --date " DATE " --format json --out '%s/ingest-login'",
             it.dir);
    CU_ASSERT_EQUAL(cli_as(L_INGEST, err, sizeof err, args), 0);
}

/** @brief In careledger_report without a grant: no row of any guarded table, no report. */
static void test_no_grant_sees_nothing(void)
{
    setup_once();
    char sql[256], err[2048];
    for (size_t i = 0; i < N_GUARDED; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM careledger.%s", GUARDED[i]);
        CU_ASSERT_STRING_EQUAL(value_as(L_NONE, sql), "0");
    }
    /* Reference data stays readable. */
    CU_ASSERT(atol(value_as(L_NONE, "SELECT count(*) FROM careledger.regions")) > 30);
    CU_ASSERT_EQUAL(cli_as(L_NONE, err, sizeof err,
                           "report daily --region 210203 --date " DATE " --format json --out /tmp"),
                    1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "granted no region"));
    /* A login outside careledger_report reads nothing at all. */
    CU_ASSERT_STRING_EQUAL(state_as(L_PLAIN, "SELECT count(*) FROM careledger.units"), "42501");
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

/**
 * @brief Every unit id and name, and every region code and name, that lies outside
 * @p granted (by the owner's reading), as one NUL-separated list of needles: ids
 * quoted as JSON strings, names bare.
 */
static char *foreign_needles(const char *granted, size_t *n)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(x, chr(1)) FROM ("
             "SELECT '\"' || u.unit_id || '\"' AS x FROM careledger.units u WHERE NOT EXISTS "
             "(SELECT 1 FROM careledger.region_ancestors(u.region) a WHERE a.ancestor = '%s') "
             "UNION SELECT u.name FROM careledger.units u WHERE NOT EXISTS "
             "(SELECT 1 FROM careledger.region_ancestors(u.region) a WHERE a.ancestor = '%s') "
             "UNION SELECT '\"' || r.code || '\"' FROM careledger.regions r WHERE r.code <> '%s' "
             "AND NOT EXISTS (SELECT 1 FROM careledger.region_ancestors(r.code) a "
             "WHERE a.ancestor = '%s') "
             "UNION SELECT r.name FROM careledger.regions r WHERE r.code <> '%s' AND NOT EXISTS "
             "(SELECT 1 FROM careledger.region_ancestors(r.code) a WHERE a.ancestor = '%s')) n",
             granted, granted, granted, granted, granted, granted);
    PGconn *c = connect_as(NULL);
    PGresult *r = PQexec(c, sql);
    char *list = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                     ? strdup(PQgetvalue(r, 0, 0))
                     : NULL;
    PQclear(r);
    PQfinish(c);
    *n = 0;
    for (char *p = list; p && *p; p++)
        if (*p == 1) {
            *p = '\0';
            (*n)++;
        }
    if (list && *list)
        (*n)++;
    return list;
}

/** @brief Render one report as the owner and as @p login and compare; no foreign names. */
static void same_as_owner(const char *login, const char *granted, const char *kind,
                          const char *region)
{
    char args[1000], dir[2][400], err[2048];
    for (int k = 0; k < 2; k++) {
        snprintf(dir[k], sizeof dir[k], "%s/%s-%s-%s-%s", it.dir, k ? login : "owner", kind, region,
                 granted);
        snprintf(args, sizeof args,
                 "report %s --region %s --date " DATE " --format json,csv --out '%s'", kind, region,
                 dir[k]);
        int rc = cli_as(k ? login : NULL, err, sizeof err, args);
        if (rc != 0)
            fprintf(stderr, "\n  %s %s as %s: %s", kind, region, k ? login : "owner", err);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
    }
    size_t n_needles;
    char *needles = foreign_needles(granted, &n_needles);
    CU_ASSERT_PTR_NOT_NULL_FATAL(needles);
    CU_ASSERT(strcmp(granted, "000000") == 0 ? n_needles == 0 : n_needles > 10);
    char cmd[900];
    snprintf(cmd, sizeof cmd, "ls '%s'", dir[0]);
    FILE *ls = popen(cmd, "r");
    char name[256];
    int files = 0;
    while (ls && fgets(name, sizeof name, ls)) {
        name[strcspn(name, "\n")] = '\0';
        char a[700], b[700];
        snprintf(a, sizeof a, "%s/%s", dir[0], name);
        snprintf(b, sizeof b, "%s/%s", dir[1], name);
        if (!same_bytes(a, b))
            fprintf(stderr, "\n  %s differs between the owner and %s\n", name, login);
        CU_ASSERT(same_bytes(a, b));
        char *text = cl_test_slurp(b, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        const char *needle = needles;
        for (size_t i = 0; i < n_needles; i++, needle += strlen(needle) + 1)
            if (*needle && strstr(text, needle)) {
                fprintf(stderr, "\n  %s as %s names %s\n", name, login, needle);
                CU_FAIL("a report of a bound login names another region's unit or region");
            }
        free(text);
        files++;
    }
    if (ls)
        pclose(ls);
    CU_ASSERT(files >= 2);
    free(needles);
}

/** @brief Bound logins' reports of their own regions equal the owner's, byte for byte. */
static void test_bound_reports_equal_owner(void)
{
    setup_once();
    /* The cross facts are there to be got right: a couple across the line, a family
     * counted in 沙河口, a lent worker, a cancelled shift. */
    CU_ASSERT_STRING_EQUAL(value_as(NULL, "SELECT count(*) FROM careledger.worker_days "
                                          "WHERE worker_id IN ('XA-W1', 'XB-W1', 'XB-W2')"),
                           "7");
    same_as_owner(L_XG, "210203", "daily", "210203");
    same_as_owner(L_XG, "210203", "finance", "210203");
    same_as_owner(L_XG, "210203", "compare", "210203");
    same_as_owner(L_SHK, "210204", "daily", "210204");
    same_as_owner(L_SHK, "210204", "finance", "210204");
    same_as_owner(L_DL, "210200", "compare", "210200");
    same_as_owner(L_DL, "210200", "daily", "210200");
    same_as_owner(L_HQ, "120106", "daily", "120106");
    same_as_owner(L_HQ, "120106", "finance", "120106");
    same_as_owner(L_GZ, "440105", "daily", "440105");
    same_as_owner(L_ROOT, "000000", "compare", "440000");
    /* A login whose transactions are read-only (as on a replica) cannot keep its scope
     * for the snapshot and computes it as it goes: same bytes. */
    CU_ASSERT_EQUAL(cl_it_exec(&it, "ALTER ROLE " L_SHK " SET default_transaction_read_only = on"),
                    0);
    same_as_owner(L_SHK, "210204", "finance", "210204");
    CU_ASSERT_EQUAL(cl_it_exec(&it, "ALTER ROLE " L_SHK " RESET default_transaction_read_only"), 0);
    /* A login held to one connection, and one that may not export a snapshot, read their
     * reports on one session (DECISIONS 142): the same bytes as the owner's two. */
    CU_ASSERT_EQUAL(cl_it_exec(&it, "ALTER ROLE " L_XG " CONNECTION LIMIT 1"), 0);
    same_as_owner(L_XG, "210203", "finance", "210203");
    same_as_owner(L_XG, "210203", "daily", "210203");
    CU_ASSERT_EQUAL(cl_it_exec(&it, "ALTER ROLE " L_XG " CONNECTION LIMIT -1"), 0);
    CU_ASSERT_EQUAL(
        cl_it_exec(&it, "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_export_snapshot() FROM PUBLIC"),
        0);
    same_as_owner(L_SHK, "210204", "daily", "210204");
    same_as_owner(L_DL, "210200", "compare", "210200");
    CU_ASSERT_EQUAL(
        cl_it_exec(&it, "GRANT EXECUTE ON FUNCTION pg_catalog.pg_export_snapshot() TO PUBLIC"), 0);
}

/** @brief What a 西岗 login reads of the facts across the line, row by row. */
static void test_bound_rows(void)
{
    setup_once();
    /* Its units, and the units where its workers' spouses and family members are
     * registered (which unit a family counts at needs them), derived here
     * independently as the owner; nothing else. */
    char seen[4096];
    snprintf(
        seen, sizeof seen, "%s",
        value_as(L_XG, "SELECT string_agg(unit_id, ',' ORDER BY unit_id) FROM careledger.units"));
    CU_ASSERT_STRING_EQUAL(
        seen,
        value_as(NULL,
                 "WITH own AS (SELECT w.* FROM careledger.workers w JOIN careledger.units u "
                 "USING (unit_id) WHERE u.region = '210203'), "
                 "kin AS (SELECT w.unit_id FROM careledger.workers w WHERE w.family_id IN "
                 "(SELECT family_id FROM own) OR w.spouse_worker_id IN (SELECT worker_id FROM "
                 "own) OR w.worker_id IN (SELECT spouse_worker_id FROM own)) "
                 "SELECT string_agg(unit_id, ',' ORDER BY unit_id) FROM (SELECT unit_id FROM "
                 "careledger.units WHERE region = '210203' UNION SELECT unit_id FROM kin) x"));
    CU_ASSERT(count_as(L_XG, "SELECT count(*) FROM careledger.units") <
              count_as(NULL, "SELECT count(*) FROM careledger.units WHERE region LIKE '2102%'"));
    /* The spouse's days (couples, R8); of the lent worker only his day in 西岗. */
    CU_ASSERT_STRING_EQUAL(
        value_as(L_XG, "SELECT string_agg(worker_id || '@' || unit_id || ':' || date, ',' "
                       "ORDER BY worker_id, date) FROM careledger.worker_days "
                       "WHERE worker_id IN ('XB-W1', 'XB-W2')"),
        "XB-W1@XB1:2020-02-01,XB-W1@XB1:2020-02-03,XB-W1@XB1:2020-02-04,"
        "XB-W2@XA1:2020-02-04");
    /* His registration says he belongs to 沙河口, so he is not counted as 西岗's. */
    CU_ASSERT_STRING_EQUAL(value_as(L_XG, "SELECT unit_id FROM careledger.workers "
                                          "WHERE worker_id = 'XB-W2'"),
                           "XB1");
    /* Payments: its worker's (whoever paid), not 沙河口's to its own. */
    CU_ASSERT_STRING_EQUAL(value_as(L_XG, "SELECT string_agg(event_id, ',' ORDER BY event_id) "
                                          "FROM careledger.payments WHERE event_id LIKE 'x-%'"),
                           "x-p1");
    CU_ASSERT_STRING_EQUAL(value_as(L_XG, "SELECT count(*) FROM careledger.deliveries "
                                          "WHERE family_id = 'XF1'"),
                           "1");
    CU_ASSERT_STRING_EQUAL(value_as(L_XG, "SELECT count(*) FROM careledger.injury_stages "
                                          "WHERE case_id = 'XC1'"),
                           "1");
    /* Raw events follow the rows they key into: the cancellation of its shift too. */
    CU_ASSERT_STRING_EQUAL(value_as(L_XG, "SELECT string_agg(event_id, ',' ORDER BY event_id) "
                                          "FROM careledger.events WHERE event_id IN "
                                          "('x-c6', 'x-s6', 'x-s8', 'x-p2', 'x-w3', 'x-ub')"),
                           "x-c6,x-s6,x-ub,x-w3");
    /* The lent worker's own district sees all of him; 西岗's couple it sees too. */
    CU_ASSERT_STRING_EQUAL(value_as(L_SHK, "SELECT count(*) FROM careledger.worker_days "
                                           "WHERE worker_id = 'XB-W2'"),
                           "2");
    /* Dead letters cannot be placed and no report reads them: not even the root. */
    CU_ASSERT_STRING_EQUAL(state_as(L_XG, "SELECT count(*) FROM careledger.dead_letters"), "42501");
    CU_ASSERT_STRING_EQUAL(state_as(L_ROOT, "SELECT count(*) FROM careledger.dead_letters"),
                           "42501");
    /* The scope kept for a report's snapshot (acl_prepare) reads the same as the one
     * computed per statement; a temporary acl_cache the login makes itself to forge a
     * scope is not trusted. */
    const char *units = "SELECT string_agg(unit_id, ',' ORDER BY unit_id) FROM careledger.units";
    char plain[4096];
    snprintf(plain, sizeof plain, "%s", value_as(L_XG, units));
    PGconn *c = connect_as(L_XG);
    PGresult *r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ; "
                            "SELECT careledger.acl_prepare(current_user)");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    r = PQexec(c, units);
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), plain);
    PQclear(r);
    PQclear(PQexec(c, "COMMIT"));
    PQfinish(c);
    c = connect_as(L_XG);
    PQclear(PQexec(c, "CREATE TEMP TABLE acl_cache (who name, what text, id text); "
                      "INSERT INTO acl_cache SELECT current_user, w, 'U' || lpad(g::text, 5, '0') "
                      "FROM generate_series(1, 300) g, unnest(ARRAY['units', 'units0']) w "
                      "UNION ALL SELECT current_user, '*', NULL"));
    r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ; "
                  "SELECT careledger.acl_prepare(current_user)");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "f");
    PQclear(r);
    r = PQexec(c, units);
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), plain);
    PQclear(r);
    PQfinish(c);
    /* Nor can a login read another's scope through the functions behind the policies. */
    CU_ASSERT_STRING_EQUAL(
        value_as(L_XG, "SELECT count(*) FROM careledger.acl_ids('" L_SHK "', 'units0')"), "0");
    CU_ASSERT_EQUAL(
        count_as(L_XG, "SELECT count(*) FROM careledger.acl_ids(current_user, 'units0')"),
        count_as(NULL, "SELECT count(*) FROM careledger.units WHERE region = '210203'"));
}

/** @brief A region outside the grant is refused in one line, and nothing is written. */
static void test_outside_grant_refused(void)
{
    setup_once();
    static const char *const cases[][2] = {
        {"daily", "210204"},   /* the neighbour */
        {"compare", "210200"}, /* its own city: a part of it would mislead */
        {"finance", "220000"}, /* another province */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[700], dir[400], err[2048];
        snprintf(dir, sizeof dir, "%s/refused-%zu", it.dir, i);
        snprintf(args, sizeof args,
                 "report %s --region %s --date " DATE " --format json --out '%s'", cases[i][0],
                 cases[i][1], dir);
        CU_ASSERT_EQUAL(cli_as(L_XG, err, sizeof err, args), 1);
        CU_ASSERT_PTR_NOT_NULL(
            strstr(err, "outside the regions login " L_XG " is granted (210203)"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i][1]));
        CU_ASSERT_EQUAL(lines(err), 1);
        struct stat st;
        CU_ASSERT(stat(dir, &st) != 0);
    }
}

/** @brief grant-region: grants, duplicates, list, revoke, and its refusals. */
static void test_grant_region_cli(void)
{
    setup_once();
    char err[2048];
    CU_ASSERT_EQUAL(cli_as(NULL, err, sizeof err, "grant-region " L_NONE " 210204"), 0);
    CU_ASSERT_EQUAL(cli_as(NULL, err, sizeof err, "grant-region " L_NONE " 210204"), 0);
    CU_ASSERT_EQUAL(count_as(L_NONE, "SELECT count(*) FROM careledger.units"),
                    count_as(L_SHK, "SELECT count(*) FROM careledger.units"));
    /* --list: every grant as the owner, its own as a report login. */
    char path[400];
    snprintf(path, sizeof path, "%s/list.txt", it.dir);
    CU_ASSERT_EQUAL(run(path, err, sizeof err, "'%s' grant-region --list --config '%s'",
                        cl_it_bin(), it.config),
                    0);
    char *list = cl_test_slurp(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    CU_ASSERT_PTR_NOT_NULL(strstr(list, L_NONE "\t210204\t沙河口区\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(list, L_ROOT "\t000000\t"));
    CU_ASSERT_PTR_NOT_NULL(strstr(list, L_XG "\t210203\t西岗区\n"));
    free(list);
    CU_ASSERT_EQUAL(run(path, err, sizeof err,
                        "env PGUSER=" L_XG " '%s' grant-region --list "
                        "--config '%s'",
                        cl_it_bin(), it.config),
                    0);
    list = cl_test_slurp(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    CU_ASSERT_STRING_EQUAL(list, L_XG "\t210203\t西岗区\n");
    free(list);
    /* Revoked: nothing again; a second revoke is an error. */
    CU_ASSERT_EQUAL(cli_as(NULL, err, sizeof err, "grant-region --revoke " L_NONE " 210204"), 0);
    CU_ASSERT_STRING_EQUAL(value_as(L_NONE, "SELECT count(*) FROM careledger.units"), "0");
    CU_ASSERT_EQUAL(cli_as(NULL, err, sizeof err, "grant-region --revoke " L_NONE " 210204"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "has no grant of 210204"));
    /* Refusals, one line each. */
    CU_ASSERT_EQUAL(cli_as(NULL, err, sizeof err, "grant-region cl_it_access_nobody 210204"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "there is no role"));
    CU_ASSERT_EQUAL(cli_as(NULL, err, sizeof err, "grant-region " L_PLAIN " 210204"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a member of careledger_report"));
    CU_ASSERT_EQUAL(cli_as(NULL, err, sizeof err, "grant-region " L_NONE " 2102"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a region code"));
    CU_ASSERT_EQUAL(cli_as(NULL, err, sizeof err, "grant-region " L_NONE), 1);
    CU_ASSERT_EQUAL(cli_as(NULL, err, sizeof err, "grant-region --help"), 0);
}

/** @brief The problems of a daily JSON's data-quality section as "problem:ids,…". */
static void quality_of(const char *path, char *out, size_t size)
{
    char *s = cl_test_slurp(path, NULL);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    free(s);
    out[0] = '\0';
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(j, "data_quality"))
    {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s:%d", n ? "," : "",
                 cJSON_GetObjectItem(q, "problem")->valuestring,
                 (int)cJSON_GetObjectItem(q, "ids")->valuedouble);
    }
    cJSON_Delete(j);
}

/** @brief Unplaceable facts: the owner's data-quality section counts the whole database,
 * a bound login's what it can see (decision); every figure still equals the owner's. */
static void test_data_quality_own(void)
{
    setup_once();
    CU_ASSERT_EQUAL_FATAL(ingest_text("quality.jsonl", QUALITY), 0);
    /* The unregistered worker worked in 西岗: 西岗 sees all of him, and his first day
     * places him in 沙河口 for 西岗 as for the owner. */
    CU_ASSERT_STRING_EQUAL(
        value_as(L_XG, "SELECT string_agg(unit_id || ':' || date, ',' ORDER BY date) FROM "
                       "careledger.worker_days WHERE worker_id = 'XU-W3'"),
        "XB1:2020-02-02,XA1:2020-02-06");
    same_as_owner(L_XG, "210203", "finance", "210203");
    same_as_owner(L_DL, "210200", "compare", "210200");
    static const struct {
        const char *login, *region, *owner, *bound;
    } cases[] = {
        /* The unit nobody registered was 沙河口's worker's: not 西岗's business. */
        {L_XG, "210203", "unregistered_unit:1,unregistered_worker:1", "unregistered_worker:1"},
        {L_SHK, "210204", "unregistered_unit:1,unregistered_worker:1",
         "unregistered_unit:1,unregistered_worker:1"},
        {L_HQ, "120106", "unregistered_unit:1,unregistered_worker:1", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[700], path[2][700], err[2048], got[2][256];
        for (int k = 0; k < 2; k++) {
            snprintf(args, sizeof args,
                     "report daily --region %s --date " DATE " --format json --out '%s/dq%zu-%d'",
                     cases[i].region, it.dir, i, k);
            CU_ASSERT_EQUAL_FATAL(cli_as(k ? cases[i].login : NULL, err, sizeof err, args), 0);
            snprintf(path[k], sizeof path[k], "%s/dq%zu-%d/daily-%s-" DATE ".json", it.dir, i, k,
                     cases[i].region);
            quality_of(path[k], got[k], sizeof got[k]);
        }
        CU_ASSERT_STRING_EQUAL(got[0], cases[i].owner);
        CU_ASSERT_STRING_EQUAL(got[1], cases[i].bound);
        /* Everything before the data-quality section is the same bytes. */
        char *a = cl_test_slurp(path[0], NULL), *b = cl_test_slurp(path[1], NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        char *qa = strstr(a, ",\"data_quality\":"), *qb = strstr(b, ",\"data_quality\":");
        CU_ASSERT_FATAL(qa && qb);
        CU_ASSERT(qa - a == qb - b && memcmp(a, b, (size_t)(qa - a)) == 0);
        free(a);
        free(b);
    }
}

/** @brief The schema's guards: views read as their caller; the report role reads no
 * table that lacks row-level security unless it is reference data; ingest has a policy
 * of true on every guarded table. */
static void test_schema_guards(void)
{
    setup_once();
    CU_ASSERT_STRING_EQUAL(
        value_as(NULL, "SELECT count(*) FROM pg_class c WHERE c.relnamespace = "
                       "'careledger'::regnamespace AND c.relkind = 'v' AND NOT coalesce("
                       "'security_invoker=true' = ANY (c.reloptions), false)"),
        "0");
    CU_ASSERT_STRING_EQUAL(
        value_as(NULL, "SELECT coalesce(string_agg(c.relname, ','), '') FROM pg_class c "
                       "WHERE c.relnamespace = 'careledger'::regnamespace AND c.relkind = 'r' "
                       "AND NOT c.relrowsecurity AND has_table_privilege('careledger_report', "
                       "c.oid, 'SELECT') AND c.relname NOT IN ('regions', 'policy_settings', "
                       "'policy_tracks', 'policy_state', 'offsets', 'schema_migrations')"),
        "");
    char sql[512];
    for (size_t i = 0; i < N_GUARDED; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM pg_policies WHERE schemaname = 'careledger' AND "
                 "tablename = '%s' AND roles = '{careledger_ingest}' AND qual = 'true' "
                 "AND with_check = 'true'",
                 GUARDED[i]);
        CU_ASSERT_STRING_EQUAL(value_as(NULL, sql), "1");
    }
    /* A view a later migration replaces (which resets the option) reads as its owner,
     * who sees everything, until migrate makes it read as its caller again. */
    long all = atol(value_as(NULL, "SELECT count(*) FROM careledger.worker_home"));
    char own[32];
    snprintf(own, sizeof own, "%s", value_as(L_XG, "SELECT count(*) FROM careledger.worker_home"));
    CU_ASSERT(atol(own) > 0 && atol(own) < all);
    CU_ASSERT_EQUAL(cl_it_exec(&it, "DO $$BEGIN EXECUTE 'CREATE OR REPLACE VIEW "
                                    "careledger.worker_home AS ' || "
                                    "pg_get_viewdef('careledger.worker_home'); END$$"),
                    0);
    CU_ASSERT_STRING_EQUAL(value_as(L_XG, "SELECT count(*) FROM careledger.worker_home"),
                           value_as(NULL, "SELECT count(*) FROM careledger.worker_home"));
    CU_ASSERT_EQUAL(cli_as(NULL, NULL, 0, "migrate"), 0);
    CU_ASSERT_STRING_EQUAL(value_as(L_XG, "SELECT count(*) FROM careledger.worker_home"), own);
    /* A table a later migration adds without a policy is refused, not read whole. */
    CU_ASSERT_EQUAL(cl_it_exec(&it, "CREATE TABLE careledger.later (region text)"), 0);
    CU_ASSERT_EQUAL(cl_it_exec(&it, "GRANT SELECT ON careledger.later TO careledger_report"), 0);
    CU_ASSERT_EQUAL(cli_as(NULL, NULL, 0, "migrate"), 0);
    CU_ASSERT_STRING_EQUAL(state_as(L_ROOT, "SELECT * FROM careledger.later"), "42501");
    CU_ASSERT_EQUAL(cl_it_exec(&it, "DROP TABLE careledger.later"), 0);
}

/** @brief Run @p sql on database @p db as the owner; 0 or -1. */
static int exec_on(const char *db, const char *sql)
{
    char conninfo[128];
    snprintf(conninfo, sizeof conninfo, "dbname=%s options='-c client_min_messages=warning'", db);
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "\n  %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

/** @brief migrate says what it lacks, in one line, and --help names what it needs. */
static void test_migrate_privileges(void)
{
    setup_once();
    char err[4096], cfg[400], out[400], cmd[1200];
    /* A fresh database where the login may not create the schema. */
    CU_ASSERT_EQUAL_FATAL(exec_on("postgres", "DROP DATABASE IF EXISTS it_access_fresh"), 0);
    CU_ASSERT_EQUAL_FATAL(exec_on("postgres", "CREATE DATABASE it_access_fresh"), 0);
    snprintf(cfg, sizeof cfg, "%s/fresh.json", it.dir);
    snprintf(cmd, sizeof cmd, "sed 's/dbname=it_access/dbname=it_access_fresh/' '%s' >'%s'",
             it.config, cfg);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    CU_ASSERT_EQUAL(run(NULL, err, sizeof err, "env PGUSER=" L_PLAIN " '%s' migrate --config '%s'",
                        cl_it_bin(), cfg),
                    1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "permission denied for database it_access_fresh"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "migrate needs CREATE on the database"));
    CU_ASSERT_EQUAL(lines(err), 1);
    exec_on("postgres", "DROP DATABASE IF EXISTS it_access_fresh");
    /* On an up-to-date schema it applies nothing, needs nothing, and prints what an
     * administrator must run for the roles it may not create. */
    snprintf(out, sizeof out, "%s/migrate.out", it.dir);
    CU_ASSERT_EQUAL(run(out, err, sizeof err, "env PGUSER=" L_XG " '%s' migrate --config '%s'",
                        cl_it_bin(), it.config),
                    0);
    char *text = cl_test_slurp(out, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "(0 applied now)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "an administrator must run"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "CREATE ROLE careledger_report"));
    free(text);
    snprintf(out, sizeof out, "%s/help.out", it.dir);
    CU_ASSERT_EQUAL(run(out, NULL, 0, "'%s' migrate --help", cl_it_bin()), 0);
    text = cl_test_slurp(out, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "CREATEROLE"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "CREATE on the database"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "to own the schema"));
    free(text);
}

/** @brief Drop the logins; the database stays for inspection. */
static void test_teardown(void)
{
    if (!ready)
        return;
    cl_it_teardown(&it);
    ready = 0;
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"careledger_report reads and never writes", test_report_role_read_only},
        {"no grant, no rows and no report", test_no_grant_sees_nothing},
        {"bound reports equal the owner's, byte for byte", test_bound_reports_equal_owner},
        {"what a bound login reads across the line", test_bound_rows},
        {"a region outside the grant is refused", test_outside_grant_refused},
        {"grant-region", test_grant_region_cli},
        {"data quality of what one sees", test_data_quality_own},
        {"an ingest login writes under row-level security", test_ingest_login_writes},
        {"schema guards", test_schema_guards},
        {"migrate names the privileges it lacks", test_migrate_privileges},
        {"teardown", test_teardown},
        {NULL, NULL}};
    return cl_test_add_suite("access", tests);
}
