/**
 * @file agg.h
 * @brief Aggregates maintained in the ingest transaction (SPEC §5, §6).
 *
 * After a batch's events are inserted (staging table `stage` holds the
 * accepted ones), cl_agg_apply() upserts the keyed facts (R5), finds
 * every worker the batch affects, takes their advisory locks in one global
 * order (so concurrent batches never deadlock and never overwrite each
 * other's newer figures), reloads their facts and rewrites their worker-days
 * with the rules engine (R1, R2). A worker the batch touches only by shifts
 * and cancellations of shifts is rewritten over the local dates of those
 * shifts alone (each local day depends on that day's shifts and on the
 * deployments), so a batch costs what it brings, not the workers' whole
 * history. cl_agg_rebuild() rewrites every worker whole from raw facts.
 */
#ifndef CARELEDGER_AGG_H
#define CARELEDGER_AGG_H

#include <libpq-fe.h>
#include <stddef.h>

#include "careledger/policy.h"

typedef struct cl_agg cl_agg_t;

/** @brief A context reusing its buffers across batches; NULL on out of memory. */
cl_agg_t *cl_agg_create(void);
/** @brief Free (NULL is fine). */
void cl_agg_destroy(cl_agg_t *agg);

/**
 * @brief Apply the accepted rows of `stage` inside the caller's
 * open transaction, under @p set (borrowed). When the stored policy digest
 * differs from @p set's, every worker is recomputed and the digest replaced.
 * @return 0, or -1 with the reason in @p err (the caller rolls back).
 */
int cl_agg_apply(cl_agg_t *agg, PGconn *conn, const cl_policy_set_t *set, char *err,
                 size_t errsize);

/**
 * @brief Recompute every keyed fact and derived row from raw facts, in one
 * transaction of its own (ingest waits on the offsets lock meanwhile).
 * @return the number of workers recomputed, or -1 with the reason in @p err.
 */
long cl_agg_rebuild(cl_agg_t *agg, PGconn *conn, const cl_policy_set_t *set, char *err,
                    size_t errsize);

/** @brief SHA-256 hex of a policy set's normalised content (65 bytes). */
int cl_agg_policy_digest(const cl_policy_set_t *set, char out[65]);

#endif
