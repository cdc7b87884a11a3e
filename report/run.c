/**
 * @file run.c
 * @brief One report from snapshot to files, for the CLI and the daemon alike.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "careledger/chart.h"
#include "careledger/layout.h"
#include "careledger/log.h"
#include "careledger/pg.h"
#include "careledger/render.h"
#include "careledger/report.h"
#include "careledger/report_par.h"
#include "careledger/report_run.h"
#include "careledger/time.h"

static const struct {
    const char *name;
    unsigned bit;
} FORMATS[] = {{"pdf", CL_RPT_PDF},
               {"html", CL_RPT_HTML},
               {"csv", CL_RPT_CSV},
               {"xlsx", CL_RPT_XLSX},
               {"json", CL_RPT_JSON}};

/** @brief Parse a format list. */
int cl_rpt_parse_formats(const char *list, unsigned *formats, char *err, size_t errsize)
{
    *formats = 0;
    const char *p = list;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        unsigned bit = 0;
        if (n == 3 && strncmp(p, "all", 3) == 0)
            bit = CL_RPT_ALL;
        for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++)
            if (strlen(FORMATS[i].name) == n && strncmp(p, FORMATS[i].name, n) == 0)
                bit = FORMATS[i].bit;
        if (!bit) {
            snprintf(err, errsize, "unknown format \"%.*s\" (expected pdf, html, csv, xlsx, json)",
                     (int)n, p);
            return -1;
        }
        *formats |= bit;
        p += n;
        if (*p == ',')
            p++;
    }
    if (!*formats) {
        snprintf(err, errsize, "no format given (expected pdf, html, csv, xlsx, json)");
        return -1;
    }
    return 0;
}

/** @brief mkdir -p; 0 or -1 with the reason. */
static int make_dirs(const char *dir, char *err, size_t errsize)
{
    char path[CL_TMP_PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errsize, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
        *p = c;
        if (!c)
            break;
    }
    return 0;
}

/** @brief Append a path to the list; 0 or -1. */
static int add_path(char ***paths, size_t *n, const char *path)
{
    if (!paths) { /* counted all the same: the scheduler logs how many files it wrote */
        (*n)++;
        return 0;
    }
    char **p = realloc(*paths, (*n + 1) * sizeof *p);
    if (!p)
        return -1;
    *paths = p;
    if (!(p[*n] = strdup(path)))
        return -1;
    (*n)++;
    return 0;
}

/** The three models, of which one is in use. */
typedef struct models {
    cl_rpt_daily_t daily;
    cl_rpt_finance_t finance;
    cl_rpt_compare_t compare;
} models_t;

/* One snapshot for the whole model, read-only once a region-bound login's scope is
 * kept for it (acl_prepare, 007: else every table a query reads computes it again).
 * JIT off: the report functions run many short queries (some per row) whose
 * compilation costs more than they do, the more so under row-level security, whose
 * policies add sub-plans to every table read. work_mem as the heavy functions set it:
 * the finance statement groups a month's worker-months (some 150,000 at province size)
 * in the report's own query. */
#define SQL_SETUP                                                                                  \
    "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; "                                           \
    "SELECT careledger.acl_prepare(current_user); SET TRANSACTION READ ONLY"
static const char SQL_BEGIN[] = "BEGIN ISOLATION LEVEL REPEATABLE READ; " SQL_SETUP;

/* May the current user report on region $1 (007_region_access)? With its login and
 * its grants, for the refusal; and whether anything is known of $1: a registered region,
 * a unit under it, a status or a budget of it. A mistyped code otherwise gave an empty
 * report under the national policy, which reads like a region with nothing to report. */
static const char SQL_MAY_REPORT[] =
    "SELECT careledger.acl_may_report($1), current_user, "
    "nullif(array_to_string(careledger.acl_grants(current_user), ', '), ''), "
    "EXISTS (SELECT 1 FROM careledger.regions r WHERE r.code = $1) "
    "OR EXISTS (SELECT 1 FROM (SELECT DISTINCT u.region FROM careledger.units u) u "
    "  WHERE EXISTS (SELECT 1 FROM careledger.region_ancestors(u.region) a "
    "  WHERE a.ancestor = $1)) "
    "OR EXISTS (SELECT 1 FROM careledger.statuses s WHERE s.region = $1) "
    "OR EXISTS (SELECT 1 FROM careledger.budgets b WHERE b.scope = $1)";

/** @brief Whether a policy of @p set is the policy of @p region itself. */
static int policy_region(const cl_policy_set_t *set, const char *region)
{
    for (size_t i = 0; i < cl_policy_set_count(set); i++)
        if (strcmp(cl_policy_set_at(set, i)->region, region) == 0)
            return 1;
    return 0;
}

/**
 * @brief 0 when the connected user may report on @p region and it is known (@p named: a policy
 * is its own, so a jurisdiction gets its "no data" report before its first event), else -1
 * with the reason.
 */
static int may_report(PGconn *c, const char *region, int named, char *err, size_t errsize)
{
    const char *params[1] = {region};
    PGresult *r = PQexecParams(c, SQL_MAY_REPORT, 1, NULL, params, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        snprintf(err, errsize, "%s", PQresultErrorMessage(r));
    else if (PQgetvalue(r, 0, 0)[0] == 't' && (named || PQgetvalue(r, 0, 3)[0] == 't'))
        rc = 0;
    else if (PQgetvalue(r, 0, 0)[0] == 't')
        snprintf(err, errsize,
                 "region %s is unknown: not registered, no policy's own, and no unit, status "
                 "or budget lies under it",
                 region);
    else if (PQgetisnull(r, 0, 2))
        snprintf(err, errsize,
                 "login %s is granted no region (careledger grant-region %s CODE, by the "
                 "schema owner)",
                 PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 1));
    else
        snprintf(err, errsize, "region %s is outside the regions login %s is granted (%s)", region,
                 PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
    PQclear(r);
    return rc;
}

/** @brief Begin the report's transaction and check the login may report; 0 or -1. */
static int begin(PGconn *c, const char *region, int named, char *err, size_t errsize)
{
    PGresult *r = PQexec(c, SQL_BEGIN);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(err, errsize, "%s", PQresultErrorMessage(r));
    PQclear(r);
    if (ok && may_report(c, region, named, err, errsize) == 0)
        return 0;
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

/** @brief Read the requested model in one snapshot on one or two sessions; 0 or -1. */
static int read_model(PGconn *c, cl_rpt_par_t *par, const cl_policy_set_t *set,
                      const cl_rpt_request_t *q, models_t *m, char *err, size_t errsize)
{
    if (strcmp(q->report, "daily") == 0)
        return cl_rpt_daily_build(c, par, set, q->region, q->date, &m->daily, err, errsize);
    if (strcmp(q->report, "finance") == 0)
        return cl_rpt_finance_build(c, par, q->region, q->month, q->date, &m->finance, err,
                                    errsize);
    if (strcmp(q->report, "compare") == 0)
        return cl_rpt_compare_build(c, par, set, q->region, q->date, &m->compare, err, errsize);
    snprintf(err, errsize, "unknown report \"%s\" (expected daily, finance or compare)", q->report);
    return -1;
}

/** @brief Read the requested model in one snapshot and lay it out; the document or NULL. */
static cl_doc_t *build(PGconn *c, const cl_policy_set_t *set, const cl_rpt_request_t *q,
                       models_t *m, char *err, size_t errsize)
{
    /* A second session in the same snapshot runs half the statements (report_par.h). Without
     * one (too many connections, no right to export a snapshot) they all run here, only
     * slower; and when the two gave up waiting for a lock (an exclusive lock queued between
     * them, which no deadlock detector sees) the report is read again on one session. */
    int rc = -1;
    for (int attempt = 0; attempt < 2 && rc; attempt++) {
        if (begin(c, q->region, policy_region(set, q->region), err, errsize))
            return NULL;
        char why[256] = "";
        cl_rpt_par_t *par = attempt == 0 ? cl_rpt_par_open(c, SQL_SETUP, why, sizeof why) : NULL;
        if (par && cl_pg_exec(c, CL_RPT_PAR_LOCK_TIMEOUT, why, sizeof why)) {
            cl_rpt_par_close(par);
            par = NULL;
        }
        if (attempt == 0 && !par) {
            cl_log_info("report read on one session", "report=%s reason=\"%s\"", q->report, why);
            if (PQtransactionStatus(c) == PQTRANS_INERROR) { /* the export failed: begin again */
                PQclear(PQexec(c, "ROLLBACK"));
                continue;
            }
        }
        rc = read_model(c, par, set, q, m, err, errsize);
        int again = rc && par && par->lock_timed_out;
        cl_rpt_par_close(par);
        PQclear(PQexec(c, "ROLLBACK"));
        if (again)
            cl_log_warn("report read again on one session", "report=%s reason=\"%s\"", q->report,
                        err);
        else if (rc)
            return NULL;
    }
    if (rc)
        return NULL;
    cl_doc_t *doc = NULL;
    if (strcmp(q->report, "daily") == 0)
        doc = cl_layout_daily(&m->daily, q->lang);
    else if (strcmp(q->report, "finance") == 0)
        doc = cl_layout_finance(&m->finance, q->lang);
    else
        doc = cl_layout_compare(&m->compare, q->lang);
    if (!doc)
        snprintf(err, errsize, "out of memory laying out the report");
    return doc;
}

/** @brief Write the model's JSON to @p path whole or not at all; 0 or -1. */
static int write_json(const cl_rpt_request_t *q, const models_t *m, const char *path, char *err,
                      size_t errsize)
{
    char tmp[CL_TMP_PATH_MAX];
    cl_out_tmpname(path, tmp);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errsize, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = strcmp(q->report, "daily") == 0     ? cl_rpt_daily_json(&m->daily, f)
             : strcmp(q->report, "finance") == 0 ? cl_rpt_finance_json(&m->finance, f)
                                                 : cl_rpt_compare_json(&m->compare, f);
    if (fclose(f) != 0 || rc != 0) {
        snprintf(err, errsize, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return cl_out_commit(tmp, path, err, errsize);
}

/** @brief Produce one report. */
int cl_rpt_run(PGconn *c, const cl_policy_set_t *set, const cl_rpt_request_t *q, char ***paths,
               size_t *n_paths, char *err, size_t errsize)
{
    models_t m;
    memset(&m, 0, sizeof m);
    size_t n_local = 0;
    if (!n_paths)
        n_paths = &n_local;
    *n_paths = 0;
    if (paths)
        *paths = NULL;
    int rc = -1;
    char path[CL_TMP_PATH_MAX];
    cl_doc_t *doc = build(c, set, q, &m, err, errsize);
    if (!doc)
        goto done;
    doc->generated_at = q->generated_at;
    if ((q->formats & (CL_RPT_PDF | CL_RPT_HTML)) && cl_chart_render_all(doc, err, errsize))
        goto done;
    if (make_dirs(q->out_dir, err, errsize))
        goto done;
    for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++) {
        unsigned bit = FORMATS[i].bit;
        if (!(q->formats & bit))
            continue;
        if (bit == CL_RPT_CSV) {
            char **csv = NULL;
            size_t n_csv = 0;
            int bad = cl_render_csv(doc, q->out_dir, &csv, &n_csv, err, errsize);
            for (size_t k = 0; k < n_csv; k++) {
                if (!bad && add_path(paths, n_paths, csv[k]))
                    bad = -1;
                free(csv[k]);
            }
            free(csv);
            if (bad)
                goto done;
            continue;
        }
        snprintf(path, sizeof path, "%s/%s.%s", q->out_dir, doc->basename, FORMATS[i].name);
        int bad = bit == CL_RPT_PDF    ? cl_render_pdf(doc, path, err, errsize)
                  : bit == CL_RPT_HTML ? cl_render_html(doc, path, err, errsize)
                  : bit == CL_RPT_XLSX ? cl_render_xlsx(doc, path, err, errsize)
                                       : write_json(q, &m, path, err, errsize);
        if (bad)
            goto done;
        if (add_path(paths, n_paths, path)) {
            snprintf(err, errsize, "out of memory");
            goto done;
        }
    }
    rc = 0;
done:
    if (rc) {
        /* One line: PostgreSQL's messages end in (and may contain) newlines. */
        for (char *p = err; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        for (size_t n = strlen(err); n > 0 && err[n - 1] == ' '; n--)
            err[n - 1] = '\0';
    }
    cl_doc_destroy(doc);
    cl_rpt_daily_free(&m.daily);
    cl_rpt_finance_free(&m.finance);
    cl_rpt_compare_free(&m.compare);
    return rc;
}
