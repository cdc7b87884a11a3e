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
#include "careledger/report_par.h"

/** One row of the ledger: a measure, or one track (sub-row) of it. */
typedef struct cl_rpt_row {
    const cl_measure_t *measure; /* owned by the policy set */
    const cl_track_t *track;
    long long eligible, covered;           /* on D; countable tracks only */
    long long prev_eligible, prev_covered; /* on D − 1, for 较昨日 */
    char status[16]; /* status tracks: the latest reported; countable: red/amber/green; "" */
} cl_rpt_row_t;

/** A unit's coverage of one track: the lowest ten per countable track (SPEC §8.1). */
typedef struct cl_rpt_low {
    const cl_rpt_row_t *row; /* the track's row of the ledger */
    char unit_id[65], name[256];
    long long eligible, covered;
} cl_rpt_low_t;

/** A kind of data-quality problem (data_quality()): how many ids, events, since when. */
typedef struct cl_rpt_quality {
    char problem[32];
    long long ids, events;
    int32_t first_seen;
} cl_rpt_quality_t;

#define CL_RPT_SERIES_DAYS 30

/** The daily coverage ledger of a jurisdiction (SPEC §8.1). */
typedef struct cl_rpt_daily {
    char region[CL_REGION_LEN];
    char region_name[256]; /* the registered name, or the code */
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
    int shift_max_hours, max_consecutive_days; /* the jurisdiction's limits; -1 = none */
    /* Frontline workers active per day, D − 29 … D (index 29 is D). */
    long long active_series[CL_RPT_SERIES_DAYS];
    cl_rpt_low_t *lows; /* owned; by row order, then lowest coverage first */
    size_t n_lows;
    cl_rpt_quality_t *quality; /* owned; the whole database's problems, by kind */
    size_t n_quality;
} cl_rpt_daily_t;

/**
 * @brief Build the daily ledger of @p region as of @p date from the aggregates.
 * @p set (borrowed) must outlive @p out. Free with cl_rpt_daily_free().
 * Reads on @p conn (borrowed, in its transaction) and, when not NULL, on @p par's helper
 * too (borrowed, in the same snapshot: cl_rpt_par_open()), half of the statements each.
 * @return 0, or -1 with the reason in @p err.
 */
int cl_rpt_daily_build(PGconn *conn, cl_rpt_par_t *par, const cl_policy_set_t *set,
                       const char *region, int32_t date, cl_rpt_daily_t *out, char *err,
                       size_t errsize);
/** @brief Free what a model holds. */
void cl_rpt_daily_free(cl_rpt_daily_t *d);

/** @brief 1 when a row has an eligible population (coverage is defined). */
int cl_rpt_row_has_data(const cl_rpt_row_t *r);

/** A budget line of a unit (or, in the totals, of a region). */
typedef struct cl_rpt_budget {
    char budget_id[65], line[32], scope[65], funding[32];
    int64_t budget_fen, paid_fen, remaining_fen, burn_fen; /* burn: paid in D − 13 … D */
    int32_t exhaustion; /* projected day the budget runs out; CL_RPT_NO_DATE when not burning */
    int over_budget;
} cl_rpt_budget_t;

#define CL_RPT_NO_DATE INT32_MIN

/** Money of a funding source (SPEC §8.2 funding-source split). */
typedef struct cl_rpt_funding {
    char funding[32];
    int64_t paid_fen;   /* payments of the month, every line */
    int64_t budget_fen; /* budgets with this funding under the jurisdiction */
} cl_rpt_funding_t;

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
    char region_name[256];
    cl_rpt_funding_t *funding; /* owned, by funding */
    size_t n_funding;
    /* Cumulative temporary subsidy entitled and paid per day, series_from … date. */
    int32_t series_from;
    int64_t *cum_entitled_fen, *cum_paid_fen; /* owned; n_series each */
    size_t n_series;
    int64_t subsidy_budget_fen; /* temp_subsidy budgets under the jurisdiction */
} cl_rpt_finance_t;

/**
 * @brief Build the finance statement of @p region for @p month as of @p date.
 * Free with cl_rpt_finance_free(). @return 0, or -1 with the reason in @p err.
 * Reads on @p conn (borrowed, in its transaction) and, when not NULL, on @p par's helper
 * too (borrowed, in the same snapshot: cl_rpt_par_open()), half of the statements each.
 */
int cl_rpt_finance_build(PGconn *conn, cl_rpt_par_t *par, const char *region, int32_t month,
                         int32_t date, cl_rpt_finance_t *out, char *err, size_t errsize);
/** @brief Free what a statement holds. */
void cl_rpt_finance_free(cl_rpt_finance_t *f);
/** @brief Write the finance report's JSON contract (SPEC §8); 0 or -1. */
int cl_rpt_finance_json(const cl_rpt_finance_t *f, FILE *out);

/** @brief Write the daily report's JSON contract (SPEC §8); 0 or -1. */
int cl_rpt_daily_json(const cl_rpt_daily_t *d, FILE *out);

/** One region of the district comparison (SPEC §8.3). */
typedef struct cl_rpt_region {
    char code[CL_REGION_LEN], name[256];
    int own_level; /* 1: the parent's own units (本级), not a child region */
    long long frontline_workers, worker_days;
    int64_t entitled_fen, paid_fen; /* temporary subsidy */
    int64_t spend_fen;              /* every payment and money measure, dated ≤ D */
    int64_t spend_per_worker_fen;   /* spend / frontline workers, rounded; no figure (null,
                                       "—") without workers */
    long long *eligible, *covered;  /* owned; one per cl_rpt_compare_t track */
    double median_days;             /* month close → payment, temporary subsidy payments */
    int has_median;
    long long long_shifts, over_consecutive, couples_same_day;
    int has_long_shifts, has_over_consecutive, has_couples;
    int rank; /* 1 = highest paid/entitled; nothing entitled ranks last; ties by code */
} cl_rpt_region_t;

/** The district comparison of a parent region's children as of a date. */
typedef struct cl_rpt_compare {
    char parent[CL_REGION_LEN], parent_name[256];
    int32_t date;
    const cl_policy_t *policy; /* the parent's policy in force on D */
    int legend[2];
    const cl_track_t **tracks; /* owned array; the policy's countable tracks, in order */
    size_t n_tracks;
    cl_rpt_region_t *regions; /* owned; in rank order */
    size_t n_regions;
} cl_rpt_compare_t;

/**
 * @brief Build the comparison of @p parent's child regions as of @p date: a row per
 * child (registered, or found above a unit) and one for the parent's own units.
 * @p set (borrowed) must outlive @p out. Free with cl_rpt_compare_free().
 * Reads on @p conn (borrowed, in its transaction) and, when not NULL, on @p par's helper
 * too (borrowed, in the same snapshot: cl_rpt_par_open()), half of the statements each.
 * @return 0, or -1 with the reason in @p err.
 */
int cl_rpt_compare_build(PGconn *conn, cl_rpt_par_t *par, const cl_policy_set_t *set,
                         const char *parent, int32_t date, cl_rpt_compare_t *out, char *err,
                         size_t errsize);
/** @brief Free what a comparison holds. */
void cl_rpt_compare_free(cl_rpt_compare_t *c);
/** @brief Write the comparison's JSON contract (SPEC §8); 0 or -1. */
int cl_rpt_compare_json(const cl_rpt_compare_t *c, FILE *out);

/* The registered name of region $1, or its code: one row, one column. */
#define CL_RPT_SQL_REGION_NAME                                                                     \
    "SELECT coalesce((SELECT name FROM careledger.regions WHERE code = $1), $1)"

#endif
