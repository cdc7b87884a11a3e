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
    if (*failed || !errsize)
        return;
    *failed = 1;
    snprintf(err, errsize, "%s", msg && *msg ? msg : "the server closed the connection");
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

/** @brief Open a helper session in @p c's snapshot. */
PGconn *cl_rpt_par_open(PGconn *c, const char *setup_sql, char *err, size_t errsize)
{
    PGresult *r = PQexec(c, "SELECT pg_export_snapshot()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errsize, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    PGconn *aux = cl_pg_connect_like(c, err, errsize);
    if (!aux) {
        PQclear(r);
        return NULL;
    }
    /* The snapshot's name comes from the server, but it is quoted all the same: SET
     * TRANSACTION SNAPSHOT takes no parameters. It must follow BEGIN before any query. */
    char *name = PQescapeLiteral(aux, PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)));
    PQclear(r);
    char sql[256];
    int ok = name && snprintf(sql, sizeof sql,
                              "BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT %s",
                              name) < (int)sizeof sql;
    PQfreemem(name);
    if (!ok) {
        snprintf(err, errsize, "out of memory");
        PQfinish(aux);
        return NULL;
    }
    if (cl_pg_exec(aux, sql, err, errsize) || cl_pg_exec(aux, setup_sql, err, errsize)) {
        PQfinish(aux);
        return NULL;
    }
    return aux;
}

/** @brief End a helper's transaction and close it. */
void cl_rpt_par_close(PGconn *aux)
{
    if (!aux)
        return;
    PQclear(PQexec(aux, "ROLLBACK"));
    PQfinish(aux);
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
static int collect(PGconn *conn, cl_rpt_query_t *q, int block, char *err, size_t errsize,
                   int *failed)
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
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            keep_first(err, errsize, failed, PQresultErrorMessage(r));
    }
    return 0;
}

/** @brief Run the statements on one or two sessions. */
int cl_rpt_par_exec(PGconn *c, PGconn *aux, cl_rpt_query_t *q, size_t n, char *err, size_t errsize)
{
    PGconn *conns[2] = {c, aux};
    int nc = aux ? 2 : 1, failed = 0;
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
            if (collect(conns[k], &q[busy[k]], block, err, errsize, &failed))
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
