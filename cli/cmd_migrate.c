/**
 * @file cmd_migrate.c
 * @brief `careledger migrate [--config FILE]`.
 */
#include <stdio.h>

#include "careledger/migrate.h"
#include "common.h"

static const char USAGE[] =
    "usage: careledger migrate [--config FILE]\n\n"
    "Applies the numbered migrations of sql/ that the database does not have yet,\n"
    "each in its own transaction, recorded in careledger.schema_migrations (a\n"
    "rerun applies nothing). Then creates the roles careledger_ingest (writes)\n"
    "and careledger_report (reads) with their grants when the connected user may\n"
    "create roles; otherwise prints the statements an administrator must run.\n"
    "Needs: CREATE on the database (for the schema). PG* variables work.\n";

/** @brief Apply migrations; create roles or print what an administrator must run. */
int cl_cli_migrate(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    char err[1024];
    int early = cl_cli_start(argc, argv, "migrate", USAGE, &o, &cfg);
    if (early >= 0)
        return early;
    int rc = 1;
    PGconn *c = cl_cli_connect(&cfg, "careledger-migrate");
    if (c) {
        int roles;
        int n = cl_migrate_run(c, &roles, stdout, err, sizeof err);
        if (n < 0) {
            cl_cli_fail("migrate: %s", err);
        } else {
            printf("schema at version %d (%d applied now)\n", cl_migrate_current(c), n);
            if (roles)
                printf("roles careledger_ingest and careledger_report are in place\n");
            else
                printf("this user may not create roles; an administrator must run:\n\n%s\n",
                       cl_migrate_roles_sql);
            rc = 0;
        }
        PQfinish(c);
    }
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}
