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

/** A report's helper session and what became of it. */
typedef struct cl_rpt_par {
    PGconn *aux;        /* owned: the helper, in the report's snapshot */
    int lock_timed_out; /* a statement gave up waiting for a lock (SQLSTATE 55P03) */
} cl_rpt_par_t;

/* How long either session waits for a lock before the report gives up its helper. Two
 * sessions of one client can wait on each other through a third's queued exclusive lock
 * (rebuild's TRUNCATE, a migration), a cycle the server's deadlock detector cannot see. */
#define CL_RPT_PAR_LOCK_TIMEOUT "SET LOCAL lock_timeout = '2s'"

/**
 * @brief Open a helper session in the snapshot of the REPEATABLE READ transaction
 * open on @p c (borrowed): exports the snapshot on @p c, connects like @p c, imports
 * the snapshot, bounds its lock waits (CL_RPT_PAR_LOCK_TIMEOUT) and runs @p setup_sql
 * (the transaction's settings) after it.
 * @return the helper, which the caller ends with cl_rpt_par_close(); NULL when it
 * cannot be had (too many connections, no right to export a snapshot...), with
 * @p err saying why. When the export itself failed, @p c's transaction is aborted
 * (PQtransactionStatus() says PQTRANS_INERROR) and must be begun again.
 */
cl_rpt_par_t *cl_rpt_par_open(PGconn *c, const char *setup_sql, char *err, size_t errsize);

/** @brief End a helper's transaction, close it and free @p p; NULL is a no-op. */
void cl_rpt_par_close(cl_rpt_par_t *p);

/**
 * @brief Run @p n statements on @p c and, when @p p is not NULL, on its helper too (all
 * borrowed, each session in its transaction and idle): each statement goes to the first
 * session free, in list order, so the long ones should come first. Every result is read
 * before this returns, so both sessions are idle again whatever happened.
 * @return 0 with every q[i].res a PGRES_TUPLES_OK result, or -1 with the first
 * failure's reason in @p err and every result cleared; p->lock_timed_out is set when a
 * statement gave up waiting for a lock.
 */
int cl_rpt_par_exec(PGconn *c, cl_rpt_par_t *p, cl_rpt_query_t *q, size_t n, char *err,
                    size_t errsize);

/** @brief PQclear every result of @p q and set it to NULL. */
void cl_rpt_par_clear(cl_rpt_query_t *q, size_t n);

#endif
