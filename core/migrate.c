/**
 * @file migrate.c
 * @brief Apply embedded migrations once each.
 */
#include "careledger/migrate.h"

#include <stdlib.h>
#include <string.h>

#include "careledger/pg.h"

/* Creates only what is missing, so that a rerun needs no CREATE on the database. */
static const char SQL_BOOTSTRAP[] =
    "DO $$ BEGIN "
    "IF to_regnamespace('careledger') IS NULL THEN CREATE SCHEMA careledger; END IF; "
    "IF to_regclass('careledger.schema_migrations') IS NULL THEN "
    "CREATE TABLE careledger.schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now()); END IF; END $$";
/* Every view of the schema reads as the one who queries it, so that row-level
 * security applies through it (a view runs as its owner otherwise, and the owner
 * bypasses it: 007). Run in each migration's transaction, because CREATE OR REPLACE
 * VIEW resets the option, and after them all; it touches only views that lack it,
 * so a rerun by a user who owns nothing does nothing. */
static const char SQL_VIEWS_AS_INVOKER[] =
    "DO $$ DECLARE v regclass; BEGIN "
    "FOR v IN SELECT c.oid::regclass FROM pg_class c "
    "WHERE c.relnamespace = 'careledger'::regnamespace AND c.relkind = 'v' "
    "AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false) LOOP "
    "EXECUTE format('ALTER VIEW %s SET (security_invoker = true)', v); END LOOP; END $$";
/* One lock id for every careledger migrate run: "CARELEDG". */
static const char SQL_LOCK[] = "SELECT pg_advisory_lock(4850221174093735495)";
static const char SQL_UNLOCK[] = "SELECT pg_advisory_unlock(4850221174093735495)";
static const char SQL_APPLIED[] = "SELECT 1 FROM careledger.schema_migrations WHERE version = $1";
static const char SQL_RECORD[] =
    "INSERT INTO careledger.schema_migrations (version, name) VALUES ($1, $2)";
static const char SQL_CAN_CREATE_ROLES[] =
    "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user";
static const char SQL_CURRENT[] =
    "SELECT coalesce(max(version), 0) FROM careledger.schema_migrations";

/** @brief Highest applied version. */
int cl_migrate_current(PGconn *conn)
{
    PGresult *r = PQexec(conn, SQL_CURRENT);
    int v = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

/** @brief Apply one migration in its own transaction. */
static int apply_one(PGconn *conn, const cl_migration_t *m, char *err, size_t errsize)
{
    char ver[16];
    snprintf(ver, sizeof ver, "%d", m->version);
    const char *params[2] = {ver, m->name};
    if (cl_pg_exec(conn, "BEGIN", err, errsize))
        return -1;
    if (cl_pg_exec(conn, m->sql, err, errsize) ||
        cl_pg_exec(conn, SQL_VIEWS_AS_INVOKER, err, errsize))
        goto rollback;
    PGresult *r = PQexecParams(conn, SQL_RECORD, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(err, errsize, "%s", PQresultErrorMessage(r));
        PQclear(r);
        goto rollback;
    }
    PQclear(r);
    return cl_pg_exec(conn, "COMMIT", err, errsize);
rollback:;
    char ignore[64];
    cl_pg_exec(conn, "ROLLBACK", ignore, sizeof ignore);
    return -1;
}

/** @brief Roles (when allowed), what is missing, then the roles' grants again. */
int cl_migrate_run(PGconn *conn, int *roles_done, FILE *log, char *err, size_t errsize)
{
    int applied = 0;
    *roles_done = 0;
    if (cl_pg_exec(conn, SQL_LOCK, err, errsize))
        return -1;
    if (cl_pg_exec(conn, SQL_BOOTSTRAP, err, errsize))
        goto fail;
    PGresult *r = PQexec(conn, SQL_CAN_CREATE_ROLES);
    int can =
        PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    /* The roles first: migrations may name them (007's policies). */
    if (can && cl_pg_exec(conn, cl_migrate_roles_sql, err, errsize))
        goto fail;
    for (size_t i = 0; i < cl_migrations_count; i++) {
        const cl_migration_t *m = &cl_migrations[i];
        char ver[16];
        snprintf(ver, sizeof ver, "%d", m->version);
        const char *params[1] = {ver};
        r = PQexecParams(conn, SQL_APPLIED, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            snprintf(err, errsize, "%s", PQresultErrorMessage(r));
            PQclear(r);
            goto fail;
        }
        int done = PQntuples(r) > 0;
        PQclear(r);
        if (done)
            continue;
        if (apply_one(conn, m, err, errsize)) {
            char msg[1024];
            snprintf(msg, sizeof msg, "migration %s: %s", m->name, err);
            snprintf(err, errsize, "%s", msg);
            goto fail;
        }
        if (log)
            fprintf(log, "applied %s\n", m->name);
        applied++;
    }
    if (cl_pg_exec(conn, SQL_VIEWS_AS_INVOKER, err, errsize))
        goto fail;
    if (can) {
        if (cl_pg_exec(conn, cl_migrate_roles_sql, err, errsize))
            goto fail;
        *roles_done = 1;
    }
    cl_pg_exec(conn, SQL_UNLOCK, err, errsize);
    return applied;
fail:;
    char ignore[64];
    cl_pg_exec(conn, SQL_UNLOCK, ignore, sizeof ignore);
    return -1;
}
