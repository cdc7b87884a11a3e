/**
 * @file event.h
 * @brief Decoding and validation of careledger/1 events (SPEC §3, §11) and
 * their canonical fingerprint (SPEC R4).
 *
 * One table per event type lists its fields in SPEC order; decoding,
 * validation and the fingerprint all walk that table, so the reason codes
 * and the canonical form cannot drift apart. Strings are decoded into the
 * event's own arena, which is reused by the next decode into the same event:
 * no allocation per event once the arena has grown.
 */
#ifndef CARELEDGER_EVENT_H
#define CARELEDGER_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "careledger/policy.h"

#define CL_EVENT_MAX_BYTES (64 * 1024)
#define CL_ID_MAX          64

typedef enum cl_event_type {
    CL_EV_REGION_REGISTERED = 0,
    CL_EV_UNIT_REGISTERED,
    CL_EV_WORKER_REGISTERED,
    CL_EV_SHIFT_COMPLETED,
    CL_EV_SHIFT_CANCELLED,
    CL_EV_DEPLOYMENT_STARTED,
    CL_EV_DEPLOYMENT_ENDED,
    CL_EV_BENEFIT_DELIVERED,
    CL_EV_SUBSIDY_PAID,
    CL_EV_INJURY_REPORTED,
    CL_EV_INJURY_RECOGNIZED,
    CL_EV_INJURY_PAID,
    CL_EV_MEASURE_STATUS,
    CL_EV_BUDGET_ALLOCATED,
    CL_EV__COUNT
} cl_event_type_t;

/** Presence bits of the optional members of cl_event_t. */
#define CL_EVF_AMOUNT      (1u << 0)
#define CL_EVF_SUM_INSURED (1u << 1)

/**
 * A decoded event. The union of every type's fields: a string member is NULL
 * when the type does not have it or an optional field was absent; defaults
 * (family_id = worker_id, deployment exposure = direct) are applied.
 */
typedef struct cl_event {
    cl_event_type_t type;
    const char *schema, *event_id, *source;
    int64_t occurred_at; /* UTC microseconds */
    /* Strings, by SPEC §3 name. */
    const char *code, *name, *parent, *level, *unit_id, *region, *kind, *worker_id, *role, *staff,
        *family_id, *spouse_worker_id, *exposure, *post, *cancels, *reason, *deployment_id, *team,
        *destination, *measure, *reference, *line, *funding, *case_id, *status, *note, *budget_id,
        *scope;
    int64_t children, elders, amount_fen, sum_insured_fen;
    int64_t start, end;      /* UTC microseconds (shift.completed) */
    int32_t date, from, to;  /* day numbers */
    int32_t period;          /* month index (subsidy.paid) */
    unsigned present;        /* CL_EVF_* */
    const cl_track_t *track; /* benefit.delivered / measure.status: the track named */
    uint8_t fingerprint[32]; /* SHA-256 of the canonical form */
    /* Arena for decoded strings, owned by the event. */
    char *arena;
    size_t arena_used, arena_cap;
} cl_event_t;

/** Why an event was rejected: the SPEC §11 reason code and a human detail. */
typedef struct cl_reject {
    char code[96];    /* e.g. "missing_field:worker_id" */
    char detail[256]; /* e.g. "worker_id is required for shift.completed" */
} cl_reject_t;

typedef struct cl_decoder cl_decoder_t;

/**
 * @brief Create a decoder. @p policies (borrowed, may be NULL: no measure is
 * then known) resolves measure ids; it must outlive the decoder or be
 * replaced with cl_decoder_set_policies().
 */
cl_decoder_t *cl_decoder_create(const cl_policy_set_t *policies);
/** @brief Swap the policy set (borrowed), e.g. after SIGHUP. */
void cl_decoder_set_policies(cl_decoder_t *dec, const cl_policy_set_t *policies);
/** @brief Free a decoder (NULL is fine). */
void cl_decoder_destroy(cl_decoder_t *dec);

/**
 * @brief Decode and validate one message.
 * @return 0 with @p ev filled (valid until the next decode into @p ev), or -1
 * with @p rej filled.
 */
int cl_event_decode(cl_decoder_t *dec, const char *buf, size_t len, cl_event_t *ev,
                    cl_reject_t *rej);

/**
 * @brief Decode again a message that cl_event_decode() accepted, to render it: its fields
 * as before, but measure ids are not looked up (ev->track is NULL, so a policy reload since
 * cannot turn it away) and the fingerprint is not computed (left zero: the caller kept it).
 * @return 0, -1 if the bytes are not such a message, or -2 out of memory.
 */
int cl_event_redecode(cl_decoder_t *dec, const char *buf, size_t len, cl_event_t *ev);

/** @brief Free an event's arena (the struct itself is the caller's). */
void cl_event_release(cl_event_t *ev);

/** @brief The type's SPEC name ("shift.completed"). */
const char *cl_event_type_name(cl_event_type_t type);

/** @brief Hex form of a fingerprint into @p out (65 bytes). */
char *cl_event_fingerprint_hex(const cl_event_t *ev, char out[65]);

/** @brief 1 if @p s is a valid id (1..64 of [A-Za-z0-9._:-]). */
int cl_event_id_valid(const char *s);

#endif
