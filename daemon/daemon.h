/**
 * @file daemon.h
 * @brief careledgerd internals shared by its main loop and its ingest workers.
 */
#ifndef CARELEDGER_DAEMON_H
#define CARELEDGER_DAEMON_H

#include <signal.h>
#include <time.h>

#include "careledger/config.h"
#include "careledger/policy.h"
#include "careledger/writer.h"

/** Cleared by SIGTERM/SIGINT: workers finish their batch and leave the group. */
extern volatile sig_atomic_t cl_daemon_run;

/**
 * @brief The policy set in force, with a reference taken (release it with
 * cl_daemon_policies_release()). @p gen receives its generation, so a worker
 * can tell cheaply whether a SIGHUP replaced it.
 */
const cl_policy_set_t *cl_daemon_policies_acquire(unsigned long *gen);
/** @brief Drop a reference; the last one frees a replaced set. */
void cl_daemon_policies_release(const cl_policy_set_t *set);
/** @brief The current generation (changes when a reload succeeds). */
unsigned long cl_daemon_policies_generation(void);

typedef struct cl_worker cl_worker_t;

/**
 * @brief Create ingest worker @p id: a consumer in the configured group with
 * its own PostgreSQL writer. @p cfg is borrowed and must outlive the worker.
 * @return the worker, or NULL with the reason in @p err.
 */
cl_worker_t *cl_worker_create(int id, const cl_config_t *cfg, cl_crash_point_t crash,
                              long crash_nth, char *err, size_t errsize);
/** @brief Start the worker's thread; 0 or -1. */
int cl_worker_start(cl_worker_t *w);
/** @brief Join by an absolute CLOCK_REALTIME deadline; 0 when joined, -1 on timeout. */
int cl_worker_join_until(cl_worker_t *w, const struct timespec *deadline);
/** @brief Free a joined worker (NULL is fine). */
void cl_worker_destroy(cl_worker_t *w);

typedef struct cl_sched cl_sched_t;

/**
 * @brief Create the report scheduler from @p cfg (copied; @p cfg may change after).
 * @return the scheduler, or NULL with the reason in @p err.
 */
cl_sched_t *cl_sched_create(const cl_config_t *cfg, char *err, size_t errsize);
/** @brief Take the reloadable reports.* settings of @p cfg after a SIGHUP. */
void cl_sched_configure(cl_sched_t *s, const cl_config_t *cfg);
/** @brief Start its thread; 0 or -1. */
int cl_sched_start(cl_sched_t *s);
/** @brief Join by an absolute CLOCK_REALTIME deadline; 0 when joined, -1 on timeout. */
int cl_sched_join_until(cl_sched_t *s, const struct timespec *deadline);
/** @brief Free a joined scheduler (NULL is fine). */
void cl_sched_destroy(cl_sched_t *s);

#endif
