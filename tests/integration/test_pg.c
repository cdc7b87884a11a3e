/**
 * @file test_pg.c
 * @brief A connection to the throwaway PostgreSQL of scripts/test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cl_test_register(void)
{
    static const cl_test_t tests[] = {{"connect to the throwaway server", test_connect},
                                      {"a bad conninfo is a clear error", test_bad_conninfo},
                                      {NULL, NULL}};
    return cl_test_add_suite("postgres", tests);
}
