/**
 * @file rules.h
 * @brief SPEC §5 R1/R2: one worker's worker-days from their shifts and
 * deployments, as pure functions over facts already gathered (latest-wins
 * and cancellations applied by the caller).
 *
 * The result does not depend on the report date: local days and the days of
 * closed deployments are listed; an open deployment is returned as a span
 * whose days run to whatever D a report asks for (cl_rules_totals() in C,
 * careledger.days_to(D) in SQL).
 * Local days on or after an open deployment's departure are superseded by
 * it for every D that reaches them, so they are left out here.
 */
#ifndef CARELEDGER_RULES_H
#define CARELEDGER_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "careledger/policy.h"

#define CL_DATE_OPEN INT32_MAX

/** A non-cancelled shift of the worker. */
typedef struct cl_rule_shift {
    const char *event_id;
    const char *unit_id;
    int64_t start, end; /* UTC microseconds */
    int direct;         /* exposure direct (1) or other (0) */
} cl_rule_shift_t;

/** A deployment of the worker (start and end merged by deployment_id). */
typedef struct cl_rule_deployment {
    const char *deployment_id;
    int32_t from, to; /* local dates; to = CL_DATE_OPEN while not returned */
    int direct;       /* the deployment's exposure (default direct) */
} cl_rule_deployment_t;

/** What the rules need of a unit; registered = 0 when no unit.registered was seen. */
typedef struct cl_rule_unit {
    int registered;
    unsigned level; /* CL_LEVEL_* bit */
    int designated; /* kind designated_hospital */
    char region[CL_REGION_LEN];
} cl_rule_unit_t;

/** Looks a unit up; fills @p out (registered = 0 when unknown). */
typedef void (*cl_rule_unit_fn)(void *ctx, const char *unit_id, cl_rule_unit_t *out);

/** Everything the rules read, for one worker. */
typedef struct cl_rule_input {
    const char *worker_id;
    const char *unit_id; /* registered unit, or NULL until registered */
    const cl_rule_shift_t *shifts;
    size_t n_shifts;
    const cl_rule_deployment_t *deployments;
    size_t n_deployments;
    const cl_policy_set_t *policies;
    cl_region_parent_fn parent_fn; /* registered region parents, may be NULL */
    void *parent_ctx;
    cl_rule_unit_fn unit_fn;
    void *unit_ctx;
} cl_rule_input_t;

typedef enum cl_day_kind { CL_DAY_DIRECT = 0, CL_DAY_OTHER, CL_DAY_DEPLOYED } cl_day_kind_t;

/** One worker-day (R1) with its money (R2). */
typedef struct cl_worker_day {
    int32_t date;
    cl_day_kind_t kind;
    char unit_id[65];           /* the unit R1 credits; "" when unknown */
    const cl_policy_t *policy;  /* of the credited unit on that date; NULL when none */
    int admitted;               /* earns the subsidy (level admitted, policy in force) */
    int frontline;              /* a frontline day under that policy */
    int designated;             /* credited to a designated hospital */
    int64_t subsidy_fen;        /* temporary subsidy entitlement */
    int64_t perf_fen;           /* performance pay entitlement */
    const char *shift_event_id; /* the credited shift (local days) */
    const char *deployment_id;  /* the deployment (deployed days) */
} cl_worker_day_t;

/** An open deployment: every day from @p from to D is a deployed worker-day at one price.
 * @p from is the departure, or the last policy boundary after it: the days before that are
 * in the output's days, each priced by its own date. */
typedef struct cl_open_span {
    const char *deployment_id;
    int32_t from;
    char unit_id[65];
    const cl_policy_t *policy;     /* in force on @p from */
    int64_t subsidy_fen, perf_fen; /* per day */
    int frontline;
} cl_open_span_t;

typedef struct cl_rule_output {
    cl_worker_day_t *days; /* sorted by date; owned, grown as needed */
    size_t n_days, cap_days;
    cl_open_span_t *open;
    size_t n_open, cap_open;
} cl_rule_output_t;

/**
 * @brief Compute one worker's worker-days. @p out is reset and reused (its
 * arrays grow on demand; free with cl_rules_output_free()).
 * @return 0, or -1 on out of memory.
 */
int cl_rules_worker_days(const cl_rule_input_t *in, cl_rule_output_t *out);

/**
 * @brief The local date R1 gives a shift at @p unit_id starting at @p start
 * (UTC microseconds): its date in the zone of the unit's policy, the national
 * zone while the unit is unknown. Reads only @p in's policies and look-ups.
 * It lies within a day of the start's UTC date (zone offsets are under 24 h).
 */
int32_t cl_rules_shift_date(const cl_rule_input_t *in, const char *unit_id, int64_t start);

/**
 * @brief Bounds, in seconds, of the UTC offsets cl_rules_shift_date() dates
 * shifts with whose starts fall on UTC dates @p from .. @p to: those of every
 * zone a policy of @p in resolves to around then, and 0 where no national
 * policy is in force. A shift dated d then starts in
 * [d * 86400 - max, (d + 1) * 86400 - min) (seconds since the epoch). Over
 * more than 400 days, ±86399 (any zone).
 */
void cl_rules_offset_bounds(const cl_rule_input_t *in, int32_t from, int32_t to, int32_t *min,
                            int32_t *max);

/** @brief Free an output's arrays. */
void cl_rules_output_free(cl_rule_output_t *out);

/**
 * @brief Totals of one worker's days up to and including @p d, open spans
 * expanded to @p d: worker-days, subsidy and performance pay (fen).
 */
void cl_rules_totals(const cl_rule_output_t *out, int32_t d, long *days, int64_t *subsidy_fen,
                     int64_t *perf_fen);

#endif
