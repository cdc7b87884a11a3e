/**
 * @file cmd_migrate.c
 * @brief `careledger migrate [--config FILE]`.
 */
#include <stdio.h>
#include <string.h>

#include "careledger/migrate.h"
#include "common.h"

static const char USAGE[] =
    "usage: careledger migrate [--config FILE]\n\n"
    "Applies the numbered migrations of sql/ that the database does not have yet,\n"
    "each in its own transaction, recorded in careledger.schema_migrations (a\n"
    "rerun applies nothing). Creates the roles careledger_ingest (writes) and\n"
    "careledger_report (reads, only the regions granted: see grant-region) with\n"
    "their grants, before the migrations (which name them) and after.\n\n"
    "Privileges it needs:\n"
    "  - CREATE on the database, the first time (it creates the schema careledger);\n"
    "  - to own the schema's tables, functions and views whenever a migration is\n"
    "    pending (run it as the user that first did, or a superuser);\n"
    "  - CREATEROLE (or superuser) for the roles and their grants. Without it,\n"
    "    migrate applies the migrations and prints the statements an administrator\n"
    "    must run; migration 007 needs the roles to exist and stops, printing them,\n"
    "    until they do.\n"
    "A missing privilege ends migrate with exit 1 and one line naming it, e.g.\n"
    "\"careledger: migrate: permission denied for database careledger (migrate needs\n"
    "CREATE on the database ...)\". PG* variables work.\n";

/* The guard of migration 007 when the roles are missing. */
#define NO_ROLES "roles careledger_ingest and careledger_report do not exist"

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
            int denied = strstr(err, "permission denied") || strstr(err, "must be owner");
            char *context = denied ? strstr(err, "\nCONTEXT:") : NULL;
            if (context) /* which statement is plain from the hint */
                *context = '\0';
            cl_cli_fail("migrate: %s%s", err,
                        denied ? " (migrate needs CREATE on the database the first time and "
                                 "ownership of the careledger schema's objects whenever a "
                                 "migration is pending: run it as the user that first did, or "
                                 "a superuser; see careledger migrate --help)"
                               : "");
            if (strstr(err, NO_ROLES))
                printf("an administrator (CREATEROLE) must run:\n\n%s\n", cl_migrate_roles_sql);
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
