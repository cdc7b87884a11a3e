/**
 * @file metrics.h
 * @brief The daemon's counters, health states and per-partition lag, shared
 * by the ingest workers and the HTTP endpoint (SPEC §7).
 *
 * Counters are process-local (since the daemon started), as Prometheus
 * expects; `careledger status` reports the durable totals from PostgreSQL.
 */
#ifndef CARELEDGER_METRICS_H
#define CARELEDGER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "careledger/buf.h"

/** @brief Reset everything (call once at start). */
void cl_metrics_init(int workers);
/** @brief Note that a message was read (only the first one is kept). */
void cl_metrics_read(void);
/** @brief Add a committed batch's outcome and its duration in seconds. */
void cl_metrics_batch(long consumed, long accepted, long duplicates, double seconds);
/** @brief Count one dead letter with its reason code. */
void cl_metrics_dead(const char *reason);
/** @brief Record PostgreSQL reachability of one worker (1 up, 0 down). */
void cl_metrics_pg_state(int worker, int up);
/** @brief Record broker reachability of one worker. */
void cl_metrics_kafka_state(int worker, int up);
/** @brief Set the lag of a partition (-1 removes it: revoked). */
void cl_metrics_lag(const char *topic, int32_t partition, int64_t lag);
/** @brief Count a policy reload (ok = 1) or a rejected one. */
void cl_metrics_reload(int ok);
/** @brief Count a worker's turn to read one partition alone (its backlog the largest). */
void cl_metrics_focus(void);
/** @brief 1 when every worker reaches PostgreSQL and the broker. */
int cl_metrics_healthy(void);
/** @brief Append the Prometheus text exposition to @p out. */
void cl_metrics_prometheus(cl_buf_t *out);
/** @brief Append the /healthz JSON document to @p out. */
void cl_metrics_health_json(cl_buf_t *out);

#endif
