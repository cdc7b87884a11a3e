/**
 * @file main.c
 * @brief careledgerd: consumes Kafka into PostgreSQL exactly once (SPEC §7).
 *
 * Signal handlers only set flags; the main thread acts on them. SIGHUP
 * reloads the configuration's reloadable keys and the policies: a bad file
 * keeps the old ones in force and says why.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "careledger/config.h"
#include "careledger/http.h"
#include "careledger/log.h"
#include "careledger/metrics.h"
#include "careledger/pg.h"
#include "daemon.h"

#define MAX_WORKERS 64

volatile sig_atomic_t cl_daemon_run = 1;
static volatile sig_atomic_t reload_requested = 0;

/* ---- the policy set in force, shared by reference ---- */

typedef struct policy_slot {
    const cl_policy_set_t *set;
    int refs;
} policy_slot_t;

static pthread_mutex_t pol_mu = PTHREAD_MUTEX_INITIALIZER;
static policy_slot_t slots[16]; /* the current set and replaced ones still in use */
static const cl_policy_set_t *current_set;
static unsigned long current_gen;

/** @brief Take a reference to the current set. */
const cl_policy_set_t *cl_daemon_policies_acquire(unsigned long *gen)
{
    pthread_mutex_lock(&pol_mu);
    const cl_policy_set_t *s = current_set;
    for (size_t i = 0; i < 16; i++)
        if (slots[i].set == s) {
            slots[i].refs++;
            break;
        }
    *gen = current_gen;
    pthread_mutex_unlock(&pol_mu);
    return s;
}

/** @brief Drop a reference; free a replaced set nobody uses. */
void cl_daemon_policies_release(const cl_policy_set_t *set)
{
    if (!set)
        return;
    pthread_mutex_lock(&pol_mu);
    for (size_t i = 0; i < 16; i++)
        if (slots[i].set == set) {
            if (--slots[i].refs == 0 && set != current_set) {
                cl_policy_set_destroy((cl_policy_set_t *)set);
                slots[i].set = NULL;
            }
            break;
        }
    pthread_mutex_unlock(&pol_mu);
}

/** @brief Current generation. */
unsigned long cl_daemon_policies_generation(void)
{
    pthread_mutex_lock(&pol_mu);
    unsigned long g = current_gen;
    pthread_mutex_unlock(&pol_mu);
    return g;
}

/** @brief Make @p set current (the slot table owns it). 0, or -1 when full. */
static int policies_install(cl_policy_set_t *set)
{
    pthread_mutex_lock(&pol_mu);
    size_t free_slot = 16;
    for (size_t i = 0; i < 16; i++)
        if (!slots[i].set) {
            free_slot = i;
            break;
        }
    if (free_slot == 16) {
        pthread_mutex_unlock(&pol_mu);
        return -1;
    }
    const cl_policy_set_t *old = current_set;
    slots[free_slot].set = set;
    slots[free_slot].refs = 1; /* the "current" reference */
    current_set = set;
    current_gen++;
    for (size_t i = 0; i < 16; i++)
        if (old && slots[i].set == old) {
            if (--slots[i].refs == 0) {
                cl_policy_set_destroy((cl_policy_set_t *)old);
                slots[i].set = NULL;
            }
            break;
        }
    pthread_mutex_unlock(&pol_mu);
    return 0;
}

/** @brief Free the current set at exit (workers are gone). */
static void policies_clear(void)
{
    for (size_t i = 0; i < 16; i++) {
        if (slots[i].set)
            cl_policy_set_destroy((cl_policy_set_t *)slots[i].set);
        slots[i].set = NULL;
    }
    current_set = NULL;
}

/* ---- signals ---- */

/** @brief SIGTERM/SIGINT. */
static void stop_cb(int sig)
{
    (void)sig;
    cl_daemon_run = 0;
}

/** @brief SIGHUP. */
static void reload_cb(int sig)
{
    (void)sig;
    reload_requested = 1;
}

/** @brief Load the policies of @p cfg; NULL with every problem logged. */
static cl_policy_set_t *load_policies(const cl_config_t *cfg)
{
    char *err = malloc(16384);
    if (!err)
        return NULL;
    cl_policy_set_t *set =
        cl_policy_set_load((const char *const *)cfg->policies, cfg->n_policies, err, 16384);
    if (!set) {
        char q[16400];
        cl_log_error("policies rejected", "error=%s", cl_log_quote(q, sizeof q, err));
    }
    free(err);
    return set;
}

/** @brief Warn when the configuration holds a secret that other users may read. */
static void check_config_secrets(const cl_config_t *cfg)
{
    unsigned mode = 0;
    char q[1100];
    if (cl_config_exposed(cfg, &mode))
        cl_log_warn("the configuration holds a secret and other users may read it",
                    "path=%s mode=%04o hint=%s", cl_log_quote(q, sizeof q, cfg->path), mode,
                    "\"chmod 600 the file (owner: the daemon's user)\"");
}

/** @brief SIGHUP: reload reloadable keys and policies, keeping the old ones when bad. */
static void reload(cl_config_t *cfg, cl_http_t *http, cl_sched_t *sched)
{
    char err[1024], keys[512], q[1100];
    cl_config_t fresh;
    if (cl_config_load(cfg->path, &fresh, err, sizeof err) != 0) {
        cl_metrics_reload(0);
        cl_log_error("reload rejected: configuration kept", "error=%s",
                     cl_log_quote(q, sizeof q, err));
        return;
    }
    check_config_secrets(&fresh);
    cl_policy_set_t *set = load_policies(&fresh);
    if (!set) {
        cl_metrics_reload(0);
        cl_log_error("reload rejected: the policies in force are kept", NULL);
        cl_config_clear(&fresh);
        return;
    }
    if (policies_install(set) != 0) {
        cl_policy_set_destroy(set);
        cl_metrics_reload(0);
        cl_log_error("reload rejected: too many policy sets still in use", NULL);
        cl_config_clear(&fresh);
        return;
    }
    cl_config_restart_keys(cfg, &fresh, keys, sizeof keys);
    if (keys[0])
        cl_log_warn("changed keys need a restart to apply", "keys=\"%s\"", keys);
    cl_log_level_t lvl;
    if (cl_log_level_parse(fresh.log_level, &lvl) == 0)
        cl_log_set_level(lvl);
    if (http)
        cl_http_set_reports_dir(http, fresh.reports_out_dir);
    /* Reloadable keys take the new values; restart-only keys stay as running. */
    cl_config_take_reloadable(cfg, &fresh);
    if (sched)
        cl_sched_configure(sched, cfg);
    cl_metrics_reload(1);
    cl_log_info("reloaded", "policies=%zu jurisdictions=%zu formats=%zu", cl_policy_set_count(set),
                cfg->n_jurisdictions, cfg->n_formats);
    cl_config_clear(&fresh);
}

/** @brief Usage. */
static void usage(FILE *out)
{
    fprintf(out,
            "usage: careledgerd --config FILE\n\n"
            "Consumes careledger events from Kafka into PostgreSQL exactly once (SPEC §7):\n"
            "ingest.workers consumers in one group, one transaction per batch holding the\n"
            "events, dead letters and offsets. Logs logfmt lines on stderr. SIGTERM/SIGINT:\n"
            "finish the batch, leave the group, exit 0. SIGHUP: reload policies and report\n"
            "settings (a bad file keeps the old ones). HTTP: /healthz, /metrics, /reports/.\n");
}

/** @brief careledgerd --config FILE: run until SIGTERM/SIGINT; 0 on a clean stop. */
int main(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 1;
        }
    }
    if (!path) {
        fprintf(stderr, "careledgerd: --config FILE is required\n");
        return 1;
    }
    cl_config_t cfg;
    char err[1024], q[1100];
    if (cl_config_load(path, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "careledgerd: %s\n", err);
        return 1;
    }
    cl_log_level_t lvl;
    if (cl_log_level_parse(cfg.log_level, &lvl) == 0)
        cl_log_set_level(lvl);
    cl_policy_set_t *set = load_policies(&cfg);
    if (!set) {
        cl_config_clear(&cfg);
        return 1;
    }
    policies_install(set);
    check_config_secrets(&cfg);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stop_cb;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = reload_cb;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int nworkers = cfg.ingest_workers > 0 ? cfg.ingest_workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nworkers < 1)
        nworkers = 1;
    if (nworkers > MAX_WORKERS)
        nworkers = MAX_WORKERS;
    cl_metrics_init(nworkers);

    /* Test-only: CARELEDGER_TEST_CRASH=after_copy|before_commit|after_commit|
     * stop_before_commit:N. */
    cl_crash_point_t crash = CL_CRASH_NONE;
    long crash_nth = 0;
    const char *crash_env = getenv("CARELEDGER_TEST_CRASH");
    if (crash_env && *crash_env) {
        char point[32] = "";
        if (sscanf(crash_env, "%31[a-z_]:%ld", point, &crash_nth) == 2)
            crash = cl_writer_crash_parse(point);
        if (crash == CL_CRASH_NONE) {
            fprintf(stderr, "careledgerd: CARELEDGER_TEST_CRASH: expected POINT:N\n");
            return 1;
        }
    }

    char redacted[1024];
    cl_pg_redact(cfg.pg_conninfo, redacted, sizeof redacted);
    cl_log_info("starting", "workers=%d topics=%zu policies=%zu postgres=%s http=%s", nworkers,
                cfg.n_topics, cl_policy_set_count(set), cl_log_quote(q, sizeof q, redacted),
                cfg.http_listen);
    if (!cl_config_listen_loopback(cfg.http_listen))
        cl_log_warn("the HTTP endpoint listens beyond loopback: /metrics and /reports/ are "
                    "open to the network",
                    "listen=%s", cl_log_quote(q, sizeof q, cfg.http_listen));
    cl_http_t *http = cl_http_create(cfg.http_listen, cfg.reports_out_dir, err, sizeof err);
    if (!http) {
        cl_log_error("http endpoint failed", "error=%s", cl_log_quote(q, sizeof q, err));
        policies_clear();
        cl_config_clear(&cfg);
        return 1;
    }

    cl_worker_t *workers[MAX_WORKERS] = {0};
    int rc = 0;
    cl_sched_t *sched = cl_sched_create(&cfg, err, sizeof err);
    if (!sched || cl_sched_start(sched) != 0) {
        cl_log_error("report scheduler failed to start", NULL);
        cl_daemon_run = 0;
        rc = 1;
    }
    for (int i = 0; i < nworkers && cl_daemon_run; i++) {
        workers[i] = cl_worker_create(i, &cfg, crash, crash_nth, err, sizeof err);
        if (!workers[i] || cl_worker_start(workers[i]) != 0) {
            cl_log_error("worker failed to start", "worker=%d error=%s", i,
                         cl_log_quote(q, sizeof q, workers[i] ? "thread" : err));
            cl_daemon_run = 0;
            rc = 1;
            break;
        }
    }
    while (cl_daemon_run) {
        usleep(100 * 1000);
        if (reload_requested) {
            reload_requested = 0;
            reload(&cfg, http, sched);
        }
    }
    cl_log_info("stopping: finishing batches and leaving the group", NULL);
    /* SIGTERM promises an exit within 10 s. A worker stuck on a silent server is left
     * behind: its transaction never committed, so its batch is read again next time. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 9;
    for (int i = 0; i < nworkers; i++) {
        if (workers[i] && cl_worker_join_until(workers[i], &deadline) != 0) {
            cl_log_warn("a worker did not stop in time; exiting without it", "worker=%d", i);
            _exit(0);
        }
    }
    /* A report still rendering is abandoned like a stuck batch: its files are written
     * whole or not at all, and the day is run again after the restart. */
    if (cl_sched_join_until(sched, &deadline) != 0) {
        cl_log_warn("a scheduled report did not finish in time; exiting without it", NULL);
        _exit(0);
    }
    cl_sched_destroy(sched);
    for (int i = 0; i < nworkers; i++)
        cl_worker_destroy(workers[i]);
    cl_http_destroy(http);
    policies_clear();
    cl_config_clear(&cfg);
    cl_log_info("stopped", NULL);
    return rc;
}
