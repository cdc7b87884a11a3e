/**
 * @file pg.c
 * @brief PostgreSQL connection helpers.
 */
#include "careledger/pg.h"

#include <stdio.h>
#include <string.h>

/** @brief Copy a libpq message without its trailing newline. */
static void copy_msg(char *err, size_t errsize, const char *prefix, const char *msg)
{
    snprintf(err, errsize, "%s%s", prefix, msg ? msg : "unknown error");
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

/** @brief Connect and prepare the session. */
PGconn *cl_pg_connect(const char *conninfo, const char *application_name, char *err, size_t errsize)
{
    /* Defaults first: the expanded conninfo (dbname) and PG* variables override them.
     * Timeouts and keepalives keep a silent server from hanging a worker, and with it a
     * shutdown, for minutes. */
    const char *keys[] = {"connect_timeout",     "keepalives",       "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                          "application_name",    "dbname",           NULL};
    const char *vals[] = {
        "10", "1", "30", "10", "3", "30000", application_name, conninfo ? conninfo : "", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        copy_msg(err, errsize, "PostgreSQL: ", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    /* Instants are exchanged in UTC; notices would only clutter a terminal. */
    if (cl_pg_exec(conn, "SET TimeZone = 'UTC'; SET client_min_messages = warning", err, errsize) !=
        0) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/** @brief Mask passwords in a conninfo string or URI. */
void cl_pg_redact(const char *conninfo, char *out, size_t size)
{
    size_t o = 0;
    const char *p = conninfo ? conninfo : "";
    if (size == 0)
        return;
    if (strncmp(p, "postgresql://", 13) == 0 || strncmp(p, "postgres://", 11) == 0) {
        /* scheme://user:password@host → scheme://user:***@host; ?password=… too. */
        const char *at = strchr(p, '@');
        const char *colon = strchr(strstr(p, "//") + 2, ':');
        for (; *p && o + 4 < size; p++) {
            if (at && colon && colon < at && p == colon) {
                o += (size_t)snprintf(out + o, size - o, ":***");
                p = at - 1;
                continue;
            }
            if (strncmp(p, "password=", 9) == 0) {
                o += (size_t)snprintf(out + o, size - o, "password=***");
                p += 9;
                while (*p && *p != '&')
                    p++;
                p--;
                continue;
            }
            out[o++] = *p;
        }
        out[o] = '\0';
        return;
    }
    while (*p && o + 4 < size) {
        if (strncmp(p, "password", 8) == 0) {
            const char *q = p + 8;
            while (*q == ' ')
                q++;
            if (*q == '=') {
                q++;
                while (*q == ' ')
                    q++;
                o += (size_t)snprintf(out + o, size - o, "password=***");
                if (*q == '\'') {
                    for (q++; *q && *q != '\''; q++)
                        if (*q == '\\' && q[1])
                            q++;
                    if (*q)
                        q++;
                } else {
                    while (*q && *q != ' ')
                        q++;
                }
                p = q;
                continue;
            }
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}

/** @brief Run a statement that returns no rows. */
int cl_pg_exec(PGconn *conn, const char *sql, char *err, size_t errsize)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        copy_msg(err, errsize, "", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}
