/**
 * @file batch.h
 * @brief A batch of consumed messages, decoded as they are added, with the
 * offset range of each partition it covers.
 *
 * Message slots and the arena blocks that hold their bytes are reused from
 * one batch to the next: no allocation per message once the batch has
 * reached its working size.
 */
#ifndef CARELEDGER_BATCH_H
#define CARELEDGER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "careledger/buf.h"
#include "careledger/event.h"

#define CL_BATCH_MAX_PARTS   1024       /* also the partitions one worker may own */
#define CL_BATCH_BLOCK_BYTES (1u << 20) /* the arena grows by blocks of this size */

/** The outcome of one message, known after decoding (ok/rejected) and after commit. */
typedef enum cl_msg_state {
    CL_MSG_ACCEPTED = 0,
    CL_MSG_DUPLICATE,
    CL_MSG_DEAD, /* rejected by the decoder, or a conflicting duplicate */
} cl_msg_state_t;

/* A message's bytes live in its batch's arena of ARENA blocks (batch.c) until the batch is
 * cleared: a batch holds each message's text once, and renders its stage row only while
 * streaming it to PostgreSQL (DECISIONS 171). */
typedef struct cl_batch_msg {
    int part;    /* index into the batch's parts */
    int decoded; /* 1: id, fingerprint and occurred_at are valid; 0: rej says why */
    cl_msg_state_t state;
    int64_t offset;
    const char *key; /* in the arena; NULL when key_len is 0 */
    size_t key_len;
    const char *payload; /* in the arena, NUL-terminated */
    size_t len;
    const char *id; /* decoded: the event_id, NUL-terminated, in the arena */
    size_t id_len;
    int64_t occurred_at; /* UTC µs */
    uint8_t fingerprint[32];
    cl_reject_t *rej; /* why it was rejected when decoded is 0; owned, made on the slot's
                         first rejection and reused (rejections are rare: 352 bytes a slot) */
} cl_batch_msg_t;

/** One (topic, partition) of the batch and the offsets it advances. */
typedef struct cl_batch_part {
    char topic[256];
    int32_t partition;
    int64_t start; /* stored next_offset when the batch began; -1: no row stored yet */
    int64_t end;   /* next offset after the batch's last message */
    int64_t accepted, duplicates, dead;
    int64_t watermark; /* latest occurred_at accepted (UTC µs), INT64_MIN when none */
} cl_batch_part_t;

typedef struct cl_batch {
    cl_batch_msg_t *msgs;
    size_t n, cap;
    cl_batch_part_t parts[CL_BATCH_MAX_PARTS];
    size_t nparts;
    size_t bytes;  /* payload bytes held */
    size_t max;    /* messages a batch is closed at (0: unknown): slots stop doubling there */
    cl_event_t ev; /* each message is decoded here */
    struct cl_batch_block *blocks; /* the arena's blocks in use, newest first */
    struct cl_batch_block *spare;  /* blocks of earlier batches, for reuse */
} cl_batch_t;

/** @brief Initialise an empty batch (storage grows on demand). */
void cl_batch_init(cl_batch_t *b);
/**
 * @brief Tell the batch that it is closed at @p max messages: its slots (128 bytes each)
 * grow to exactly that many instead of doubling past it (20,000 would take 32,768).
 */
void cl_batch_set_max(cl_batch_t *b, size_t max);
/** @brief Forget the messages; keep the slots and arena blocks for reuse, except blocks made
 * for one large message (bounded memory). */
void cl_batch_clear(cl_batch_t *b);
/** @brief Free every buffer. */
void cl_batch_free(cl_batch_t *b);

/**
 * @brief Add a message (copied) and decode it with @p dec. @p start is the
 * partition's stored next_offset, used when the batch first meets it.
 * All or nothing: on failure the batch is unchanged.
 * @return 0, or -1 on out of memory or too many partitions.
 */
int cl_batch_add(cl_batch_t *b, cl_decoder_t *dec, const char *topic, int32_t partition,
                 int64_t start, int64_t offset, const void *key, size_t key_len,
                 const void *payload, size_t len);

/**
 * @brief Turn message @p i into a dead letter with reason @p code: PostgreSQL
 * refused its content although the decoder accepted it (a careledger bug, kept
 * visible instead of blocking the partition).
 * @return 0, or -1 on out of memory (the message is then unchanged).
 */
int cl_batch_reject(cl_batch_t *b, size_t i, const char *code, const char *detail);

/** @brief Bytes of the batch's arena its messages take (texts, keys and ids). */
size_t cl_batch_arena_used(const cl_batch_t *b);

/** @brief The part of (topic, partition), or NULL. */
cl_batch_part_t *cl_batch_part(cl_batch_t *b, const char *topic, int32_t partition);

/** @brief Drop every message of one partition (its assignment was revoked). */
void cl_batch_drop_partition(cl_batch_t *b, const char *topic, int32_t partition);

#endif
