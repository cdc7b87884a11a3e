/**
 * @file pg.h
 * @brief PostgreSQL connection helpers (libpq).
 */
#ifndef CARELEDGER_PG_H
#define CARELEDGER_PG_H

#include <libpq-fe.h>
#include <stddef.h>

/**
 * @brief Connect with @p conninfo ("" = PG* environment variables only),
 * setting application_name and UTC session time zone.
 * @return a connection the caller closes with PQfinish(), or NULL with the
 * server's reason in @p err (never the password).
 */
PGconn *cl_pg_connect(const char *conninfo, const char *application_name, char *err,
                      size_t errsize);

/**
 * @brief Open another session to the same server, database and user as @p c
 * (borrowed), with the options it was opened with (application_name included),
 * and the session settings of cl_pg_connect().
 * @return a connection the caller closes with PQfinish(), or NULL with the
 * server's reason in @p err (never the password).
 */
PGconn *cl_pg_connect_like(PGconn *c, char *err, size_t errsize);

/**
 * @brief Copy @p conninfo into @p out (always NUL-terminated, cut at @p size)
 * with every password masked, for logs and status output. Handles the
 * key=value form (password, sslpassword; quoted and escaped values) and the
 * postgresql:// URI form (user:PASSWORD@, ?password=). Where the text does
 * not parse and names a password, everything from there on is masked.
 * @return the number of values masked (> 0: the conninfo holds a secret).
 */
int cl_pg_redact(const char *conninfo, char *out, size_t size);

/**
 * @brief Copy @p msg, a libpq message about connecting with @p conninfo,
 * into @p out with every password hidden: the conninfo's password values and
 * $PGPASSWORD wherever they appear, and, when libpq cannot parse @p conninfo
 * (its messages then quote pieces of it), every quoted fragment that the
 * redacted conninfo does not show. Pure: parses, never connects.
 */
void cl_pg_scrub(const char *msg, const char *conninfo, char *out, size_t size);

/** @brief Run a statement without results; 0, or -1 with the error in @p err. */
int cl_pg_exec(PGconn *conn, const char *sql, char *err, size_t errsize);

#endif
