/**
 * @file report_par.h
 * @brief A report's statements on two sessions that read one snapshot.
 *
 * A report reads its model with a handful of independent statements, each of
 * which keeps one server process busy. A second session that imports the
 * first one's snapshot (pg_export_snapshot, as pg_dump's parallel workers do)
 * runs half of them at the same time and sees exactly the same data, so the
 * model stays as consistent as one transaction would make it.
 */
#ifndef CARELEDGER_REPORT_PAR_H
#define CARELEDGER_REPORT_PAR_H

#include <libpq-fe.h>
#include <stddef.h>

/** One statement of a report; text parameters, text results. */
typedef struct cl_rpt_query {
    const char *sql;
    int n_params;
    const char *params[4]; /* borrowed; must outlive cl_rpt_par_exec() */
    PGresult *res;         /* out: owned by the caller (PQclear), NULL before and on failure */
} cl_rpt_query_t;

/**
 * @brief Open a helper session in the snapshot of the REPEATABLE READ transaction
 * open on @p c (borrowed): exports the snapshot on @p c, connects like @p c, imports
 * the snapshot and runs @p setup_sql (the transaction's settings) after it.
 * @return the helper, which the caller ends with cl_rpt_par_close(); NULL when it
 * cannot be had (too many connections, an older server...), in which case every
 * statement runs on @p c alone, with @p err saying why.
 */
PGconn *cl_rpt_par_open(PGconn *c, const char *setup_sql, char *err, size_t errsize);

/** @brief End a helper's transaction and close it; NULL is a no-op. Takes @p aux. */
void cl_rpt_par_close(PGconn *aux);

/**
 * @brief Run @p n statements on @p c and, when not NULL, @p aux (both borrowed, each
 * in its transaction and idle): each statement goes to the first session free, in
 * list order, so the long ones should come first. Every result is read before this
 * returns, so both sessions are idle again whatever happened.
 * @return 0 with every q[i].res a PGRES_TUPLES_OK result, or -1 with the first
 * failure's reason in @p err and every result cleared.
 */
int cl_rpt_par_exec(PGconn *c, PGconn *aux, cl_rpt_query_t *q, size_t n, char *err, size_t errsize);

/** @brief PQclear every result of @p q and set it to NULL. */
void cl_rpt_par_clear(cl_rpt_query_t *q, size_t n);

#endif
