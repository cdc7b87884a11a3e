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
 * @brief Copy @p conninfo into @p out with every password masked, for logs
 * and status output. Handles key=value and postgresql:// URI forms.
 */
void cl_pg_redact(const char *conninfo, char *out, size_t size);

/** @brief Run a statement without results; 0, or -1 with the error in @p err. */
int cl_pg_exec(PGconn *conn, const char *sql, char *err, size_t errsize);

#endif
