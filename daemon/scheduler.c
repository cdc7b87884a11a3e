/**
 * @file scheduler.c
 * @brief The daily report run (SPEC §7, reports.*): once a day, at daily_at in
 * each jurisdiction's own time zone, the daily ledger, the finance statement
 * and the district comparison as of the day before, into out_dir/DATE/.
 *
 * Yesterday, because a leading group reads the ledger in the morning and a
 * day's coverage is only complete once the day is over. The run is its own
 * thread so a slow report never delays ingest, reloads or a stop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "careledger/log.h"
#include "careledger/pg.h"
#include "careledger/report_run.h"
#include "careledger/time.h"
#include "daemon.h"

#define RETRY_SECONDS 600 /* after a failed run, try again this much later */

/* Settings copied under the lock at start and on each reload. */
typedef struct sched_conf {
    char out_dir[4096];
    int at_minutes; /* daily_at as minutes after local midnight */
    char *jurisdictions[CL_CONFIG_MAX_LIST];
    size_t n_jurisdictions;
    unsigned formats;
    char lang[4];
} sched_conf_t;

struct cl_sched {
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    sched_conf_t conf;                    /* guarded by mu */
    char *conninfo;                       /* restart-only: fixed for the life of the thread */
    volatile int done;                    /* the thread has returned */
    int32_t last_day[CL_CONFIG_MAX_LIST]; /* per jurisdiction: the last D written */
    int64_t retry_at[CL_CONFIG_MAX_LIST]; /* per jurisdiction: no attempt before (s) */
};

/** @brief Free a copied configuration's strings. */
static void conf_clear(sched_conf_t *c)
{
    for (size_t i = 0; i < c->n_jurisdictions; i++)
        free(c->jurisdictions[i]);
    c->n_jurisdictions = 0;
}

/** @brief Copy what the scheduler needs from @p cfg into @p c; 0 or -1. */
static int conf_copy(sched_conf_t *c, const cl_config_t *cfg)
{
    char err[256];
    int h = 0, m = 0;
    memset(c, 0, sizeof *c);
    snprintf(c->out_dir, sizeof c->out_dir, "%s", cfg->reports_out_dir);
    if (sscanf(cfg->reports_daily_at, "%d:%d", &h, &m) == 2)
        c->at_minutes = h * 60 + m;
    for (size_t i = 0; i < cfg->n_formats; i++) {
        unsigned f;
        if (cl_rpt_parse_formats(cfg->formats[i], &f, err, sizeof err) == 0)
            c->formats |= f;
    }
    snprintf(c->lang, sizeof c->lang, "%s", cfg->lang);
    for (size_t i = 0; i < cfg->n_jurisdictions; i++) {
        if (!(c->jurisdictions[i] = strdup(cfg->jurisdictions[i]))) {
            conf_clear(c);
            return -1;
        }
        c->n_jurisdictions = i + 1;
    }
    return 0;
}

/** @brief Copy @p src into @p dst (strings duplicated); 0 or -1. */
static int conf_dup(sched_conf_t *dst, const sched_conf_t *src)
{
    *dst = *src;
    for (size_t i = 0; i < src->n_jurisdictions; i++)
        if (!(dst->jurisdictions[i] = strdup(src->jurisdictions[i]))) {
            dst->n_jurisdictions = i;
            conf_clear(dst);
            return -1;
        }
    return 0;
}

/** @brief 1 when D's reports of @p region are already on disk (from an earlier run). */
static int already_written(const sched_conf_t *c, const char *region, int32_t day)
{
    char d[CL_DATE_LEN], path[4200];
    struct stat st;
    cl_date_format(day, d);
    /* The daily ledger is written last; its JSON (or PDF, or HTML) marks the day. */
    snprintf(path, sizeof path, "%s/%s/daily-%s-%s.%s", c->out_dir, d, region, d,
             (c->formats & CL_RPT_JSON)  ? "json"
             : (c->formats & CL_RPT_PDF) ? "pdf"
                                         : "html");
    return stat(path, &st) == 0;
}

/** @brief Sleep up to @p ms, returning early when the daemon stops. */
static void nap(int ms)
{
    for (int i = 0; i < ms / 100 && cl_daemon_run; i++)
        usleep(100 * 1000);
}

/** @brief Run the three reports of one jurisdiction as of @p day; 0 or -1 (logged). */
static int run_one(PGconn **conn, const char *conninfo, const cl_policy_set_t *set,
                   const sched_conf_t *c, const char *region, int32_t day)
{
    /* The daily ledger last: its file marks the day as done after a restart. */
    static const char *const kinds[] = {"finance", "compare", "daily"};
    char err[1024], q[1100], d[CL_DATE_LEN], dir[4200];
    cl_date_format(day, d);
    snprintf(dir, sizeof dir, "%s/%s", c->out_dir, d);
    if (!*conn || PQstatus(*conn) != CONNECTION_OK) {
        if (*conn)
            PQfinish(*conn);
        if (!(*conn = cl_pg_connect(conninfo, "careledgerd-reports", err, sizeof err))) {
            cl_log_error("scheduled reports: cannot connect", "region=%s error=%s", region,
                         cl_log_quote(q, sizeof q, err));
            return -1;
        }
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && cl_daemon_run; k++) {
        cl_rpt_request_t r = {.report = kinds[k],
                              .region = region,
                              .date = day,
                              .month = cl_month_of_date(day),
                              .formats = c->formats,
                              .lang = c->lang,
                              .out_dir = dir,
                              .generated_at = (int64_t)time(NULL)};
        size_t n = 0;
        if (cl_rpt_run(*conn, set, &r, NULL, &n, err, sizeof err)) {
            cl_log_error("scheduled report failed", "report=%s region=%s date=%s error=%s",
                         kinds[k], region, d, cl_log_quote(q, sizeof q, err));
            return -1;
        }
        cl_log_info("scheduled report written", "report=%s region=%s date=%s files=%zu dir=%s",
                    kinds[k], region, d, n, cl_log_quote(q, sizeof q, dir));
    }
    return cl_daemon_run ? 0 : -1;
}

/** @brief The local day and minute of now in @p region's policy time zone; 0 or -1. */
static int local_now(const cl_policy_set_t *set, const char *region, int32_t *day, int *minute)
{
    char err[256];
    int64_t now = (int64_t)time(NULL);
    cl_resolved_t res;
    if (cl_policy_set_resolve(set, region, (int32_t)(now / 86400), NULL, NULL, &res, err,
                              sizeof err))
        return -1;
    cl_tz_t *tz =
        cl_tz_create(res.settings.timezone[0] ? res.settings.timezone : "UTC", err, sizeof err);
    if (!tz)
        return -1;
    int64_t local = now + cl_tz_offset(tz, now);
    cl_tz_destroy(tz);
    *day = (int32_t)(local / 86400 - (local % 86400 < 0));
    *minute = (int)((local - (int64_t)*day * 86400) / 60);
    return 0;
}

/** @brief The scheduler thread: check once a minute; run what is due. */
static void *sched_main(void *arg)
{
    cl_sched_t *s = arg;
    PGconn *conn = NULL;
    while (cl_daemon_run) {
        sched_conf_t c;
        pthread_mutex_lock(&s->mu);
        int ok = conf_dup(&c, &s->conf) == 0;
        pthread_mutex_unlock(&s->mu);
        if (!ok) {
            nap(1000);
            continue;
        }
        unsigned long gen;
        const cl_policy_set_t *set = cl_daemon_policies_acquire(&gen);
        int64_t now = (int64_t)time(NULL);
        for (size_t i = 0; i < c.n_jurisdictions && cl_daemon_run; i++) {
            const char *j = c.jurisdictions[i];
            int32_t today;
            int minute;
            if (!j || local_now(set, j, &today, &minute) != 0)
                continue;
            int32_t day = today - 1;
            if (minute < c.at_minutes || s->last_day[i] >= day || now < s->retry_at[i])
                continue;
            if (already_written(&c, j, day) || run_one(&conn, s->conninfo, set, &c, j, day) == 0)
                s->last_day[i] = day;
            else
                s->retry_at[i] = now + RETRY_SECONDS;
        }
        cl_daemon_policies_release(set);
        conf_clear(&c);
        nap(cl_daemon_run ? 1000 : 0);
    }
    if (conn)
        PQfinish(conn);
    s->done = 1;
    return NULL;
}

/** @brief Create the scheduler. */
cl_sched_t *cl_sched_create(const cl_config_t *cfg, char *err, size_t errsize)
{
    cl_sched_t *s = calloc(1, sizeof *s);
    if (!s || !(s->conninfo = strdup(cfg->pg_conninfo)) || conf_copy(&s->conf, cfg) != 0) {
        if (s)
            free(s->conninfo);
        free(s);
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

/** @brief Take the reloadable report settings of @p cfg (after a SIGHUP). */
void cl_sched_configure(cl_sched_t *s, const cl_config_t *cfg)
{
    sched_conf_t c;
    if (conf_copy(&c, cfg) != 0)
        return;
    pthread_mutex_lock(&s->mu);
    /* A changed list restarts the bookkeeping: positions may now name other regions. */
    int same = c.n_jurisdictions == s->conf.n_jurisdictions;
    for (size_t i = 0; same && i < c.n_jurisdictions; i++)
        same = strcmp(c.jurisdictions[i], s->conf.jurisdictions[i]) == 0;
    if (!same) {
        memset(s->last_day, 0, sizeof s->last_day);
        memset(s->retry_at, 0, sizeof s->retry_at);
    }
    conf_clear(&s->conf);
    s->conf = c;
    pthread_mutex_unlock(&s->mu);
}

/** @brief Start the thread. */
int cl_sched_start(cl_sched_t *s)
{
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0)
        return -1;
    s->started = 1;
    return 0;
}

/** @brief Join by a deadline. */
int cl_sched_join_until(cl_sched_t *s, const struct timespec *deadline)
{
    if (!s || !s->started)
        return 0;
    if (pthread_timedjoin_np(s->thread, NULL, deadline) != 0)
        return -1;
    s->started = 0;
    return 0;
}

/** @brief Free a joined scheduler. */
void cl_sched_destroy(cl_sched_t *s)
{
    if (!s)
        return;
    conf_clear(&s->conf);
    pthread_mutex_destroy(&s->mu);
    free(s->conninfo);
    free(s);
}
