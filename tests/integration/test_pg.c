/**
 * @file test_pg.c
 * @brief A connection to the throwaway PostgreSQL of scripts/test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/migrate.h"
#include "careledger/pg.h"
#include "cltest.h"

static void test_connect(void)
{
    char err[512];
    PGconn *c = cl_pg_connect("", "careledger-test", err, sizeof err);
    if (!c)
        fprintf(stderr, "\n  %s (PGHOST=%s)\n", err, getenv("PGHOST") ? getenv("PGHOST") : "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_TRUE(PQserverVersion(c) >= 150000);
    PGresult *r =
        PQexec(c, "SELECT current_setting('TimeZone'), current_setting('application_name')");
    CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_TUPLES_OK);
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "UTC");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 1), "careledger-test");
    PQclear(r);
    CU_ASSERT_EQUAL(
        cl_pg_exec(c, "CREATE TEMP TABLE t (id text PRIMARY KEY, fen bigint)", err, sizeof err), 0);
    CU_ASSERT_EQUAL(cl_pg_exec(c, "INSERT INTO t VALUES ('a', 1000000000000)", err, sizeof err), 0);
    CU_ASSERT_EQUAL(cl_pg_exec(c, "INSERT INTO t VALUES ('a', 1)", err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "duplicate key"));
    PQfinish(c);
}

static void test_bad_conninfo(void)
{
    char err[512];
    PGconn *c =
        cl_pg_connect("host=/nonexistent-socket-dir password=topsecret", "t", err, sizeof err);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "PostgreSQL:"));
    CU_ASSERT_PTR_NULL(strstr(err, "topsecret"));
}

/** @brief Run a statement on the maintenance database. */
static void admin(const char *sql)
{
    char err[512];
    PGconn *c = cl_pg_connect("dbname=postgres", "careledger-test", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    if (cl_pg_exec(c, sql, err, sizeof err) != 0)
        fprintf(stderr, "\n  %s: %s\n", sql, err);
    PQfinish(c);
}

static void test_migrate(void)
{
    char err[512];
    int roles;
    admin("DROP DATABASE IF EXISTS it_migrate WITH (FORCE)");
    admin("CREATE DATABASE it_migrate");
    PGconn *c = cl_pg_connect("dbname=it_migrate", "careledger-test", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(cl_migrate_run(c, &roles, NULL, err, sizeof err), (int)cl_migrations_count);
    CU_ASSERT_EQUAL(roles, 1);
    CU_ASSERT_EQUAL(cl_migrate_current(c), cl_migrations[cl_migrations_count - 1].version);
    /* A rerun applies nothing. */
    CU_ASSERT_EQUAL(cl_migrate_run(c, &roles, NULL, err, sizeof err), 0);
    PGresult *r = PQexec(c, "SELECT count(*) FROM pg_roles WHERE rolname IN "
                            "('careledger_ingest', 'careledger_report')");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "2");
    PQclear(r);
    /* The report role reads but cannot write. */
    r = PQexec(c, "SELECT has_table_privilege('careledger_report', 'careledger.events', 'SELECT'), "
                  "has_table_privilege('careledger_report', 'careledger.events', 'INSERT'), "
                  "has_table_privilege('careledger_ingest', 'careledger.offsets', 'UPDATE')");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "t");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 1), "f");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 2), "t");
    PQclear(r);
    PQfinish(c);

    /* A user who may not create roles gets the statements to hand on. */
    admin("DROP DATABASE IF EXISTS it_migrate2 WITH (FORCE)");
    admin("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cl_plain') "
          "THEN CREATE ROLE cl_plain LOGIN; END IF; END $$");
    admin("CREATE DATABASE it_migrate2 OWNER cl_plain");
    c = cl_pg_connect("dbname=it_migrate2 user=cl_plain", "careledger-test", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(cl_migrate_run(c, &roles, NULL, err, sizeof err), (int)cl_migrations_count);
    CU_ASSERT_EQUAL(roles, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(cl_migrate_roles_sql, "CREATE ROLE careledger_report NOLOGIN"));
    PQfinish(c);
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {{"connect to the throwaway server", test_connect},
                                      {"a bad conninfo is a clear error", test_bad_conninfo},
                                      {"migrate: once, roles, or the statements", test_migrate},
                                      {NULL, NULL}};
    return cl_test_add_suite("postgres", tests);
}
