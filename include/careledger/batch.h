/**
 * @file batch.h
 * @brief A batch of consumed messages, decoded as they are added, with the
 * offset range of each partition it covers.
 *
 * Message slots, their payload buffers and rendered stage rows are reused
 * from one batch to the next: no allocation per message once the batch has
 * reached its working size.
 */
#ifndef CARELEDGER_BATCH_H
#define CARELEDGER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "careledger/buf.h"
#include "careledger/event.h"

#define CL_BATCH_MAX_PARTS  1024 /* also the partitions one worker may own */
#define CL_BATCH_KEEP_BYTES 4096 /* slot buffers above this are freed after a batch */

/** The outcome of one message, known after decoding (ok/rejected) and after commit. */
typedef enum cl_msg_state {
    CL_MSG_ACCEPTED = 0,
    CL_MSG_DUPLICATE,
    CL_MSG_DEAD, /* rejected by the decoder, or a conflicting duplicate */
} cl_msg_state_t;

typedef struct cl_batch_msg {
    int part; /* index into the batch's parts */
    int64_t offset;
    char *key; /* owned, reused; NULL-free when key_len is 0 */
    size_t key_len, key_cap;
    char *payload; /* owned, reused */
    size_t len, cap;
    /* The decoded event as its stage row's columns up to the message's own text (COPY
     * text, cl_writer_event_cols order less its last column), rendered once at decoding:
     * a decoded cl_event_t and its strings cost twice as much held (DECISIONS 154). */
    char *row; /* owned, reused */
    size_t row_len, row_cap;
    size_t id_len;       /* the event_id: the row's first id_len bytes (ids need no escape) */
    int64_t occurred_at; /* UTC µs */
    int decoded;         /* 1: row is valid; 0: rej says why */
    cl_msg_state_t state;
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
    cl_event_t ev; /* each message is decoded here, then rendered into its slot's row */
    cl_buf_t render;
} cl_batch_t;

/** @brief Initialise an empty batch (storage grows on demand). */
void cl_batch_init(cl_batch_t *b);
/**
 * @brief Tell the batch that it is closed at @p max messages: its slots (480 bytes each)
 * grow to exactly that many instead of doubling past it (20,000 would take 32,768).
 */
void cl_batch_set_max(cl_batch_t *b, size_t max);
/** @brief Forget the messages; keep buffers for reuse, except large ones (bounded memory). */
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

/**
 * @brief The event_id of decoded message @p m, copied NUL-terminated into @p buf (the
 * caller's); returns @p buf.
 */
const char *cl_batch_msg_id(const cl_batch_msg_t *m, char buf[CL_ID_MAX + 1]);

/** @brief The part of (topic, partition), or NULL. */
cl_batch_part_t *cl_batch_part(cl_batch_t *b, const char *topic, int32_t partition);

/** @brief Drop every message of one partition (its assignment was revoked). */
void cl_batch_drop_partition(cl_batch_t *b, const char *topic, int32_t partition);

#endif
