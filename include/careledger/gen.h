/**
 * @file gen.h
 * @brief A deterministic synthetic province (SPEC §9 `gen`): the four
 * jurisdictions of the seeds with real GB/T 2260 codes, units, workers and
 * families, shifts, deployments, deliveries of every countable measure,
 * payments, injuries, budgets and statuses, plus duplicates and bad lines at
 * given rates, written as JSONL per topic with the counts a correct ingest
 * must end with.
 */
#ifndef CARELEDGER_GEN_H
#define CARELEDGER_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "careledger/policy.h"

#define CL_GEN_TOPICS      3
#define CL_GEN_MAX_REASONS 32

/** Topic names of the three files (the daemon's default topics). */
extern const char *const cl_gen_topics[CL_GEN_TOPICS];

typedef struct cl_gen_opts {
    uint64_t seed;
    long workers;               /* about this many workers */
    long units;                 /* units (0: one per 40 workers, at least 12) */
    int days;                   /* shifts over this many days from `start` */
    int32_t start;              /* first day (2020-01-24 by default: the first-level response) */
    double bad_rate;            /* share of bad lines among all lines */
    double dup_rate;            /* share of valid events sent twice, byte for byte */
    double conflict_rate;       /* share of valid events sent again with other content */
    const cl_policy_set_t *set; /* borrowed: the policies whose measures are delivered */
} cl_gen_opts_t;

/** What the generated stream must give once ingested (accepted + duplicates + dead = lines). */
typedef struct cl_gen_result {
    char files[CL_GEN_TOPICS][4096];
    long lines[CL_GEN_TOPICS];
    long accepted, duplicates, dead;
    struct {
        char reason[64];
        long n;
    } reasons[CL_GEN_MAX_REASONS]; /* dead letters by reason, sorted */
    int n_reasons;
    long regions, units, workers, shifts, deployments, deliveries, payments, injuries;
} cl_gen_result_t;

/**
 * @brief Write the dataset as DIR/<topic>.jsonl and DIR/expected.json.
 * The same options give the same bytes.
 * @return 0, or -1 with the reason in @p err.
 */
int cl_gen_run(const cl_gen_opts_t *opts, const char *dir, cl_gen_result_t *out, char *err,
               size_t errsize);

/** @brief The number of kinds of bad line (SPEC §11 rows and variants). */
size_t cl_gen_bad_kinds(void);
/**
 * @brief Bad line of kind @p k with unique id @p id into @p buf (truncated to @p size).
 * @return its expected dead-letter reason (static), with @p topic its topic index.
 */
const char *cl_gen_bad_line(size_t k, const char *id, char *buf, size_t size, int *topic);

#endif
