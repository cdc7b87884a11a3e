/**
 * @file par.c
 * @brief A report's statements on two sessions that read one snapshot.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/pg.h"
#include "careledger/report_par.h"

/** @brief Copy a libpq message without its trailing newline, unless one is kept already. */
static void keep_first(char *err, size_t errsize, int *failed, const char *msg)
{
    if (*failed)
        return;
    *failed = 1;
    if (!errsize)
        return;
    snprintf(err, errsize, "%s", msg && *msg ? msg : "the server closed the connection");
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

/* May this login export a snapshot? Asked first: a refused export would abort the report's
 * transaction (a subtransaction cannot export one). */
static const char SQL_MAY_EXPORT[] =
    "SELECT has_function_privilege('pg_catalog.pg_export_snapshot()', 'EXECUTE')";

/** @brief Open a helper session in @p c's snapshot. */
cl_rpt_par_t *cl_rpt_par_open(PGconn *c, const char *setup_sql, char *err, size_t errsize)
{
    PGresult *r = PQexec(c, SQL_MAY_EXPORT);
    int may = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
    if (!may)
        snprintf(err, errsize, "%s",
                 PQresultStatus(r) == PGRES_TUPLES_OK
                     ? "this login may not export a snapshot (pg_export_snapshot)"
                     : PQresultErrorMessage(r));
    PQclear(r);
    if (!may)
        return NULL;
    r = PQexec(c, "SELECT pg_export_snapshot()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errsize, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    cl_rpt_par_t *p = calloc(1, sizeof *p);
    if (!p || !(p->aux = cl_pg_connect_like(c, err, errsize))) {
        if (!p)
            snprintf(err, errsize, "out of memory");
        free(p);
        PQclear(r);
        return NULL;
    }
    /* The snapshot's name comes from the server, but it is quoted all the same: SET
     * TRANSACTION SNAPSHOT takes no parameters. It must follow BEGIN before any query. */
    char *name = PQescapeLiteral(p->aux, PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)));
    PQclear(r);
    char sql[320];
    int ok = name && snprintf(sql, sizeof sql,
                              "BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT %s; "
                              "%s",
                              name, CL_RPT_PAR_LOCK_TIMEOUT) < (int)sizeof sql;
    PQfreemem(name);
    if (!ok)
        snprintf(err, errsize, "out of memory");
    if (!ok || cl_pg_exec(p->aux, sql, err, errsize) ||
        cl_pg_exec(p->aux, setup_sql, err, errsize)) {
        PQfinish(p->aux);
        free(p);
        return NULL;
    }
    return p;
}

/** @brief End a helper's transaction, close it and free it. */
void cl_rpt_par_close(cl_rpt_par_t *p)
{
    if (!p)
        return;
    PQclear(PQexec(p->aux, "ROLLBACK"));
    PQfinish(p->aux);
    free(p);
}

/** @brief PQclear every result. */
void cl_rpt_par_clear(cl_rpt_query_t *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        PQclear(q[i].res);
        q[i].res = NULL;
    }
}

/** @brief Read what a session has ready of statement @p q; 1 when it has finished it. */
static int collect(PGconn *conn, cl_rpt_query_t *q, int block, cl_rpt_par_t *p, char *err,
                   size_t errsize, int *failed)
{
    if (!block && !PQconsumeInput(conn))
        block = 1; /* a broken session: PQgetResult reports it at once */
    while (block || !PQisBusy(conn)) {
        PGresult *r = PQgetResult(conn);
        if (!r)
            return 1;
        if (q->res) { /* one statement, one result: anything more is not ours to keep */
            PQclear(r);
            continue;
        }
        q->res = r;
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            continue;
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (p && state && strcmp(state, "55P03") == 0)
            p->lock_timed_out = 1;
        keep_first(err, errsize, failed, PQresultErrorMessage(r));
    }
    return 0;
}

/** @brief Run the statements on one or two sessions. */
int cl_rpt_par_exec(PGconn *c, cl_rpt_par_t *p, cl_rpt_query_t *q, size_t n, char *err,
                    size_t errsize)
{
    PGconn *conns[2] = {c, p ? p->aux : NULL};
    int nc = p ? 2 : 1, failed = 0;
    long busy[2] = {-1, -1};
    size_t next = 0;
    for (size_t i = 0; i < n; i++)
        q[i].res = NULL;
    for (;;) {
        for (int k = 0; k < nc; k++)
            if (busy[k] < 0 && next < n && !failed) {
                cl_rpt_query_t *s = &q[next];
                if (!PQsendQueryParams(conns[k], s->sql, s->n_params, NULL, s->params, NULL, NULL,
                                       0)) {
                    keep_first(err, errsize, &failed, PQerrorMessage(conns[k]));
                    break;
                }
                busy[k] = (long)next++;
            }
        if (busy[0] < 0 && busy[1] < 0)
            break;
        struct pollfd pf[2];
        int who[2], np = 0;
        for (int k = 0; k < nc; k++)
            if (busy[k] >= 0) {
                pf[np].fd = PQsocket(conns[k]);
                pf[np].events = POLLIN;
                pf[np].revents = 0;
                who[np++] = k;
            }
        int block = poll(pf, (nfds_t)np, -1) < 0 && errno != EINTR;
        for (int i = 0; i < np; i++) {
            int k = who[i];
            /* A failed poll() waits on the first busy session: slower, never wrong. */
            if (!(pf[i].revents || (block && i == 0)))
                continue;
            if (collect(conns[k], &q[busy[k]], block, p, err, errsize, &failed))
                busy[k] = -1;
        }
    }
    if (!failed && next < n)
        keep_first(err, errsize, &failed, "a statement was not sent");
    if (failed) {
        cl_rpt_par_clear(q, n);
        return -1;
    }
    return 0;
}
