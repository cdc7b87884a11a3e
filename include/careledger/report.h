/**
 * @file report.h
 * @brief Report models (SPEC §8): plain structures built from the aggregates'
 * "as of D" functions, shared by every renderer.
 */
#ifndef CARELEDGER_REPORT_H
#define CARELEDGER_REPORT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "careledger/policy.h"

/** One row of the ledger: a measure, or one track (sub-row) of it. */
typedef struct cl_rpt_row {
    const cl_measure_t *measure; /* owned by the policy set */
    const cl_track_t *track;
    long long eligible, covered;           /* on D; countable tracks only */
    long long prev_eligible, prev_covered; /* on D − 1, for 较昨日 */
    char status[16]; /* status tracks: the latest reported; countable: red/amber/green; "" */
} cl_rpt_row_t;

/** The daily coverage ledger of a jurisdiction (SPEC §8.1). */
typedef struct cl_rpt_daily {
    char region[CL_REGION_LEN];
    int32_t date;
    const cl_policy_t *policy; /* the jurisdiction's policy in force on D */
    int legend[2];
    char watermark[40]; /* latest occurred_at accepted, "" when none */
    long long frontline_workers, active_workers, worker_days;
    int64_t entitled_fen, paid_fen;
    cl_rpt_row_t *rows; /* owned; the policy's order, one per track */
    size_t n_rows;
    long long long_shifts, over_consecutive, couples_same_day;
    int has_long_shifts, has_over_consecutive, has_couples; /* 0: the policy sets no limit */
} cl_rpt_daily_t;

/**
 * @brief Build the daily ledger of @p region as of @p date from the aggregates.
 * @p set (borrowed) must outlive @p out. Free with cl_rpt_daily_free().
 * @return 0, or -1 with the reason in @p err.
 */
int cl_rpt_daily_build(PGconn *conn, const cl_policy_set_t *set, const char *region, int32_t date,
                       cl_rpt_daily_t *out, char *err, size_t errsize);
/** @brief Free what a model holds. */
void cl_rpt_daily_free(cl_rpt_daily_t *d);

/** @brief 1 when a row has an eligible population (coverage is defined). */
int cl_rpt_row_has_data(const cl_rpt_row_t *r);

/** A budget line of a unit (or, in the totals, of a region). */
typedef struct cl_rpt_budget {
    char budget_id[65], line[32];
    int64_t budget_fen, paid_fen, remaining_fen;
} cl_rpt_budget_t;

/** One unit's money for the month (SPEC §8.2). */
typedef struct cl_rpt_money {
    char unit_id[65], name[256], region[CL_REGION_LEN];
    long long days_direct, days_other, days_deployed;
    int64_t entitled_fen, paid_fen, arrears_fen, overpaid_fen, performance_pay_fen, measures_fen;
    cl_rpt_budget_t *budgets; /* owned */
    size_t n_budgets;
} cl_rpt_money_t;

/** The finance statement of a jurisdiction for a month, as of a date. */
typedef struct cl_rpt_finance {
    char region[CL_REGION_LEN];
    int32_t month, date;
    cl_rpt_money_t *units; /* owned, by unit_id */
    size_t n_units;
    cl_rpt_money_t totals; /* its budgets: every budget under the jurisdiction, regions too */
} cl_rpt_finance_t;

/**
 * @brief Build the finance statement of @p region for @p month as of @p date.
 * Free with cl_rpt_finance_free(). @return 0, or -1 with the reason in @p err.
 */
int cl_rpt_finance_build(PGconn *conn, const char *region, int32_t month, int32_t date,
                         cl_rpt_finance_t *out, char *err, size_t errsize);
/** @brief Free what a statement holds. */
void cl_rpt_finance_free(cl_rpt_finance_t *f);
/** @brief Write the finance report's JSON contract (SPEC §8); 0 or -1. */
int cl_rpt_finance_json(const cl_rpt_finance_t *f, FILE *out);

/** @brief Write the daily report's JSON contract (SPEC §8); 0 or -1. */
int cl_rpt_daily_json(const cl_rpt_daily_t *d, FILE *out);

#endif
