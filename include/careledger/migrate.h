/**
 * @file migrate.h
 * @brief Numbered migrations from sql/, embedded at build time, applied once
 * each and recorded in careledger.schema_migrations.
 */
#ifndef CARELEDGER_MIGRATE_H
#define CARELEDGER_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

typedef struct cl_migration {
    int version;
    const char *name;
    const char *sql;
} cl_migration_t;

extern const cl_migration_t cl_migrations[];
extern const size_t cl_migrations_count;
extern const char *const cl_migrate_roles_sql;
/** sql/verify.sql: recomputes the aggregates into temp tables and fills v_diff. */
extern const char *const cl_verify_sql;

/**
 * @brief Apply every migration not yet recorded, each in its own transaction,
 * under an advisory lock so concurrent runs serialise. Then create the roles
 * and grants when the user may (*roles_done = 1); otherwise *roles_done = 0
 * and the caller prints cl_migrate_roles_sql for an administrator.
 * @return the number applied (0 on a rerun), or -1 with the reason in @p err.
 */
int cl_migrate_run(PGconn *conn, int *roles_done, FILE *log, char *err, size_t errsize);

/** @brief The highest applied version, 0 when none, -1 on error. */
int cl_migrate_current(PGconn *conn);

#endif
