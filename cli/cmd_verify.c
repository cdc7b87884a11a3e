/**
 * @file cmd_verify.c
 * @brief `careledger verify`: recompute the aggregates from raw facts with
 * SQL of its own (sql/verify.sql) and compare; exit 1 on any difference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/agg.h"
#include "careledger/migrate.h"
#include "common.h"

static const char SQL_DIFF_COUNT[] = "SELECT count(*) FROM v_diff";
static const char SQL_DIFF_FIRST[] =
    "SELECT what, key, detail FROM v_diff ORDER BY what, key, detail LIMIT 20";
static const char SQL_DIGEST[] = "SELECT digest FROM careledger.policy_state WHERE id = 1";

static const char USAGE[] =
    "usage: careledger verify [--config FILE]\n\n"
    "Recomputes every aggregate from the raw events with set-based SQL of its own\n"
    "(sql/verify.sql, not the incremental path) in one consistent snapshot, and\n"
    "compares. Prints the first differences and exits 1 if there is any; 0 when\n"
    "the stored figures are exactly what the raw facts give.\n";

/** @brief careledger verify [--config FILE] */
int cl_cli_verify(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    char err[1024], digest[65];
    int early = cl_cli_start(argc, argv, "verify", USAGE, &o, &cfg);
    if (early >= 0)
        return early;
    int rc = 1;
    PGresult *r = NULL;
    cl_policy_set_t *set = cl_cli_load_policies(&cfg);
    PGconn *c = set ? cl_cli_connect(&cfg, "careledger-verify") : NULL;
    if (!c)
        goto done;
    if (cl_agg_policy_digest(set, digest) != 0) {
        cl_cli_fail("verify: cannot digest the policies");
        goto done;
    }
    /* One snapshot, so ingest may go on meanwhile; it only writes temp tables and is
     * rolled back at the end. */
    if (cl_pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", err, sizeof err)) {
        cl_cli_fail("verify: %s", err);
        goto done;
    }
    r = PQexec(c, SQL_DIGEST);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
        strcmp(PQgetvalue(r, 0, 0), digest) != 0)
        printf("note: the stored figures were computed under other policies than the "
               "configured ones; `careledger rebuild` recomputes them under these\n");
    PQclear(r);
    if (cl_pg_exec(c, cl_verify_sql, err, sizeof err)) {
        cl_cli_fail("verify: %s", err);
        r = NULL;
        goto done;
    }
    r = PQexec(c, SQL_DIFF_COUNT);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        cl_cli_fail("verify: %s", PQresultErrorMessage(r));
        goto done;
    }
    long diffs = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    r = NULL;
    if (diffs == 0) {
        printf("verify: the aggregates equal a recomputation from raw facts\n");
        rc = 0;
        goto done;
    }
    printf("verify: %ld differences between the stored aggregates and raw facts; the first:\n",
           diffs);
    r = PQexec(c, SQL_DIFF_FIRST);
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
        printf("  %s %s: %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
    fprintf(stderr, "careledger: verify: %ld differences (run `careledger rebuild` to recompute)\n",
            diffs);
done:
    PQclear(r);
    if (c) {
        cl_pg_exec(c, "ROLLBACK", err, sizeof err);
        PQfinish(c);
    }
    cl_policy_set_destroy(set);
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}
