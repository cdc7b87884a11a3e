/**
 * @file policy.h
 * @brief Policy files (SPEC §4, docs/POLICY_FORMAT.md): load, validate,
 * inherit by region, resolve at a date.
 *
 * A policy set owns every policy, measure and track loaded from a list of
 * files, directories or globs. Lookups return pointers owned by the set;
 * they stay valid until cl_policy_set_destroy(). A set is immutable once
 * loaded, so threads share it without locks; SIGHUP builds a new set and
 * swaps it only when the whole set loaded cleanly.
 */
#ifndef CARELEDGER_POLICY_H
#define CARELEDGER_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "careledger/time.h"

#define CL_REGION_LEN 7 /* six digits + NUL */

typedef enum cl_track_kind {
    CL_TRACK_ENTITLEMENT = 0,
    CL_TRACK_ONCE,
    CL_TRACK_RECURRING,
    CL_TRACK_SLA,
    CL_TRACK_STATUS,
} cl_track_kind_t;

typedef enum cl_scope {
    CL_SCOPE_NONE = 0,
    CL_SCOPE_WORKER,
    CL_SCOPE_FAMILY,
    CL_SCOPE_UNIT
} cl_scope_t;

typedef enum cl_eligible {
    CL_ELIG_NONE = 0,
    CL_ELIG_FRONTLINE,
    CL_ELIG_DIRECT,
    CL_ELIG_DEPLOYED,
    CL_ELIG_DIRECT_OR_DEPLOYED,
    CL_ELIG_DESIGNATED_FRONTLINE,
    CL_ELIG_WITH_CHILDREN,
    CL_ELIG_INFECTED,
    CL_ELIG_ALL,
} cl_eligible_t;

typedef enum cl_part { CL_PART_NONE = 0, CL_PART_LOCAL, CL_PART_DEPLOYMENT, CL_PART_ALL } cl_part_t;
typedef enum cl_stage { CL_STAGE_NONE = 0, CL_STAGE_RECOGNITION, CL_STAGE_PAYMENT } cl_stage_t;
typedef enum cl_frontline { CL_FRONTLINE_ANY = 0, CL_FRONTLINE_DIRECT } cl_frontline_t;
typedef enum cl_deploy_rule {
    CL_DEPLOY_NONE = 0,
    CL_DEPLOY_FLAT,
    CL_DEPLOY_MULTIPLIER
} cl_deploy_rule_t;
typedef enum cl_perf_basis { CL_PERF_SUBSIDY = 0, CL_PERF_FRONTLINE_DAY } cl_perf_basis_t;

/** Unit levels as bits, for `subsidy.unit_levels`. */
#define CL_LEVEL_PROVINCE (1u << 0)
#define CL_LEVEL_CITY     (1u << 1)
#define CL_LEVEL_COUNTY   (1u << 2)
#define CL_LEVEL_TOWNSHIP (1u << 3)

struct cl_measure;
struct cl_policy;

/** How a measure (or one of its sub-rows) is counted. */
typedef struct cl_track {
    char id[16]; /* "JL-05", or "HQ-18b" when the measure has several tracks */
    const struct cl_measure *measure;
    int index;   /* 0-based position in the measure's tracks */
    char *label; /* NULL when not given */
    cl_track_kind_t kind;
    cl_scope_t scope;
    cl_eligible_t eligible;
    cl_part_t part;
    cl_stage_t stage;
    int cadence_days;       /* recurring */
    int same_day;           /* sla recognition */
    int pay_within_days;    /* sla payment; -1 when not set */
    int grace_days;         /* -1: the kind's default */
    int64_t min_amount_fen; /* -1 when not set */
    int64_t min_sum_insured_fen;
    char line[32]; /* "" when not set */
    int target;    /* -1 when not set */
} cl_track_t;

/** One measure of a policy, in the seed's order. */
typedef struct cl_measure {
    char id[8];
    char *no, *item, *title, *text, *owner, *deadline; /* item/owner/deadline may be NULL */
    char **responsible, **lead;
    size_t n_responsible, n_lead;
    cl_track_t *tracks;
    size_t n_tracks;
    const struct cl_policy *policy;
} cl_measure_t;

/** Keys that inherit (SPEC §4), as bits of cl_settings_t.set. */
enum {
    CL_SET_FRONTLINE = 1u << 0,
    CL_SET_DIRECT_FEN = 1u << 1,
    CL_SET_OTHER_FEN = 1u << 2,
    CL_SET_DEPLOYMENT = 1u << 3,
    CL_SET_UNIT_LEVELS = 1u << 4,
    CL_SET_PERF = 1u << 5,
    CL_SET_SHIFT_MAX = 1u << 6,
    CL_SET_MAX_CONSEC = 1u << 7,
    CL_SET_NO_COUPLES = 1u << 8,
    CL_SET_DUE_DAY = 1u << 9,
    CL_SET_LEGEND = 1u << 10,
    CL_SET_TIMEZONE = 1u << 11,
    CL_SET_FUNDING = 1u << 12,
    CL_SET_ALL = (1u << 13) - 1,
};

/** The inheritable settings of a policy (own, or resolved). */
typedef struct cl_settings {
    unsigned set; /* CL_SET_* given */
    cl_frontline_t frontline;
    int64_t direct_fen, other_fen;
    cl_deploy_rule_t deploy_rule;
    int64_t deploy_value; /* fen (flat) or factor (multiplier) */
    unsigned unit_levels; /* CL_LEVEL_* bits; 0 with has_unit_levels 0 = every level */
    int has_unit_levels;
    cl_perf_basis_t perf_basis;
    int64_t perf_rate_fen;
    int shift_max_hours;      /* -1 = no limit */
    int max_consecutive_days; /* -1 = no limit */
    int no_couples;
    int payment_due_day;
    int legend[2];
    char timezone[64];
    char funding_local[16], funding_deployment[16]; /* "" when not given */
} cl_settings_t;

/** One policy file. */
typedef struct cl_policy {
    char *path, *id, *title, *issuer, *seed, *notes;
    char region[CL_REGION_LEN];
    int32_t effective_from, effective_to; /* INT32_MAX when open */
    cl_settings_t own;
    cl_measure_t *measures;
    size_t n_measures;
} cl_policy_t;

typedef struct cl_policy_set cl_policy_set_t;

/**
 * @brief Load one policy file and validate it on its own.
 * @return a policy the caller frees with cl_policy_destroy(), or NULL with
 * "FILE: $.path: what is wrong (expected …)" in @p err.
 */
cl_policy_t *cl_policy_load_file(const char *path, char *err, size_t errsize);
/**
 * @brief Load one policy document from memory (@p buf of @p len bytes, not
 * necessarily NUL-terminated, borrowed); @p path names it in messages.
 * @return as cl_policy_load_file().
 */
cl_policy_t *cl_policy_load_mem(const char *path, const char *buf, size_t len, char *err,
                                size_t errsize);
/** @brief Free a policy loaded with cl_policy_load_file() or cl_policy_load_mem(). */
void cl_policy_destroy(cl_policy_t *p);

/**
 * @brief Load a set from @p n patterns (files, directories of *.json, or
 * globs). Checks every file, unique policy and measure ids, no two policies
 * of one region in force on the same day, a national policy (000000) giving
 * every inheritable key, and loads every time zone.
 * @return a set owned by the caller (cl_policy_set_destroy()), or NULL with
 * every problem found, one per line, in @p err.
 */
cl_policy_set_t *cl_policy_set_load(const char *const *patterns, size_t n, char *err,
                                    size_t errsize);
/** @brief Free a set (NULL is fine). */
void cl_policy_set_destroy(cl_policy_set_t *set);
/** @brief Number of policies in the set. */
size_t cl_policy_set_count(const cl_policy_set_t *set);
/** @brief Policy @p i, in load order (sorted by file name). */
const cl_policy_t *cl_policy_set_at(const cl_policy_set_t *set, size_t i);
/** @brief Policy by id, or NULL. */
const cl_policy_t *cl_policy_set_find(const cl_policy_set_t *set, const char *id);
/**
 * @brief The track a delivery names: "JL-05" (single-track measure) or
 * "HQ-18b" (one of several). The bare id of a multi-track measure is NULL.
 */
const cl_track_t *cl_policy_set_track(const cl_policy_set_t *set, const char *id);

/**
 * Parent lookup for region ancestry: returns the registered parent of
 * @p code (copied into @p parent) and 0, or -1 when @p code is not registered
 * (the GB/T 2260 structure is then used).
 */
typedef int (*cl_region_parent_fn)(void *ctx, const char *code, char parent[CL_REGION_LEN]);

/** @brief The GB/T 2260 structural parent of @p code; -1 for 000000 or a bad code. */
int cl_region_struct_parent(const char *code, char parent[CL_REGION_LEN]);
/** @brief 1 if @p code is six ASCII digits. */
int cl_region_code_valid(const char *code);

/** The policy in force for a region at a date, with inheritance resolved. */
typedef struct cl_resolved {
    const cl_policy_t *policy; /* nearest policy in force: its measures, title */
    cl_settings_t settings;    /* every key set */
    const cl_tz_t *tz;         /* owned by the set */
} cl_resolved_t;

/**
 * @brief Resolve the policy of @p region on @p date: the nearest ancestor
 * (itself included) with a policy in force, each key inherited from the
 * nearest one that gives it. @p parent_fn may be NULL (structure only).
 * @return 0, or -1 when no policy is in force (err says why).
 */
int cl_policy_set_resolve(const cl_policy_set_t *set, const char *region, int32_t date,
                          cl_region_parent_fn parent_fn, void *ctx, cl_resolved_t *out, char *err,
                          size_t errsize);

/**
 * @brief Write @p p as normalised JSON with inheritance resolved at its
 * effective_from date (every key present, tracks in full) to @p out.
 * @return 0, or -1 with the reason in @p err.
 */
int cl_policy_write_json(const cl_policy_set_t *set, const cl_policy_t *p, FILE *out, char *err,
                         size_t errsize);

/** @brief Names of enums, for messages and JSON output. */
const char *cl_track_kind_name(cl_track_kind_t k);
const char *cl_scope_name(cl_scope_t s);
const char *cl_eligible_name(cl_eligible_t e);
const char *cl_part_name(cl_part_t p);

#endif
