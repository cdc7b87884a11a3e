/**
 * @file batch.c
 * @brief Batches of consumed messages with reusable slots.
 */
#include "careledger/batch.h"

#include "careledger/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The decoding event's arena above this is freed after a batch (bounded memory). */
#define EV_KEEP_BYTES (4096 + 64)

/* A block of the batch's arena: messages' bytes, carved in order. */
struct cl_batch_block {
    struct cl_batch_block *next;
    size_t used, cap;
    char data[];
};

/** @brief Initialise an empty batch. */
void cl_batch_init(cl_batch_t *b)
{
    memset(b, 0, sizeof *b);
}

/** @brief Set the size a batch is closed at. */
void cl_batch_set_max(cl_batch_t *b, size_t max)
{
    b->max = max;
}

/** @brief Free a list of blocks. */
static void blocks_free(struct cl_batch_block *k)
{
    while (k) {
        struct cl_batch_block *next = k->next;
        free(k);
        k = next;
    }
}

/**
 * @brief @p n bytes of the arena, valid until the batch is cleared; NULL on out of memory.
 * A message larger than a block gets a block of its own, freed when the batch is cleared.
 */
static char *arena_alloc(cl_batch_t *b, size_t n)
{
    struct cl_batch_block *k = b->blocks;
    if (!k || k->cap - k->used < n) {
        if (n <= CL_BATCH_BLOCK_BYTES && b->spare) {
            k = b->spare;
            b->spare = k->next;
        } else {
            size_t cap = n > CL_BATCH_BLOCK_BYTES ? n : CL_BATCH_BLOCK_BYTES;
            if (!(k = malloc(sizeof *k + cap)))
                return NULL;
            k->cap = cap;
        }
        k->used = 0;
        k->next = b->blocks;
        b->blocks = k;
    }
    char *p = k->data + k->used;
    k->used += n;
    return p;
}

/** @brief Forget messages, keep the slots and the arena's usual blocks. */
void cl_batch_clear(cl_batch_t *b)
{
    /* The blocks a batch used are what the next one needs; one made for a single large
     * message would keep its memory for good. */
    while (b->blocks) {
        struct cl_batch_block *k = b->blocks;
        b->blocks = k->next;
        if (k->cap > CL_BATCH_BLOCK_BYTES) {
            free(k);
        } else {
            k->next = b->spare;
            b->spare = k;
        }
    }
    if (b->ev.arena_cap > EV_KEEP_BYTES)
        cl_event_release(&b->ev);
    b->n = 0;
    b->nparts = 0;
    b->bytes = 0;
}

/** @brief Free everything. */
void cl_batch_free(cl_batch_t *b)
{
    for (size_t i = 0; i < b->cap; i++)
        free(b->msgs[i].rej);
    free(b->msgs);
    blocks_free(b->blocks);
    blocks_free(b->spare);
    cl_event_release(&b->ev);
    size_t max = b->max;
    memset(b, 0, sizeof *b);
    b->max = max;
}

/** @brief Find a part. */
cl_batch_part_t *cl_batch_part(cl_batch_t *b, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < b->nparts; i++)
        if (b->parts[i].partition == partition && strcmp(b->parts[i].topic, topic) == 0)
            return &b->parts[i];
    return NULL;
}

/** @brief Add and decode one message, all or nothing. */
int cl_batch_add(cl_batch_t *b, cl_decoder_t *dec, const char *topic, int32_t partition,
                 int64_t start, int64_t offset, const void *key, size_t key_len,
                 const void *payload, size_t len)
{
    if (b->n == b->cap) {
        size_t n = b->cap ? b->cap * 2 : 1024;
        if (b->cap < b->max && n > b->max)
            n = b->max; /* a batch rarely holds more; past it, doubling again */
        cl_batch_msg_t *m = realloc(b->msgs, n * sizeof *m);
        if (!m)
            return -1;
        memset(m + b->cap, 0, (n - b->cap) * sizeof *m);
        b->msgs = m;
        b->cap = n;
    }
    /* One piece of the arena for the text, the key and room for the id, trimmed to what the
     * id takes (it is the newest piece of the newest block), or given back whole on failure:
     * nothing else can fail once the partition is known, so the batch is unchanged then. */
    size_t kl = key ? key_len : 0, room = len + 1 + kl + CL_ID_MAX + 1;
    char *text = arena_alloc(b, room);
    if (!text)
        return -1;
    if (len)
        memcpy(text, payload, len);
    text[len] = '\0';
    if (kl)
        memcpy(text + len + 1, key, kl);
    cl_batch_msg_t *m = &b->msgs[b->n];
    cl_reject_t rej;
    int decoded = cl_event_decode(dec, text, len, &b->ev, &rej) == 0;
    cl_batch_part_t *p = cl_batch_part(b, topic, partition);
    if ((!decoded && !m->rej && !(m->rej = malloc(sizeof *m->rej))) ||
        (!p && (b->nparts == CL_BATCH_MAX_PARTS || strlen(topic) >= sizeof p->topic))) {
        b->blocks->used -= room;
        return -1;
    }
    if (!p) {
        p = &b->parts[b->nparts++];
        memset(p, 0, sizeof *p);
        strcpy(p->topic, topic);
        p->partition = partition;
        p->start = start;
        p->watermark = INT64_MIN;
    }
    m->payload = text;
    m->len = len;
    m->key = kl ? text + len + 1 : NULL;
    m->key_len = kl;
    m->part = (int)(p - b->parts);
    m->offset = offset;
    m->decoded = decoded;
    size_t id_len = 0;
    if (decoded) {
        id_len = strlen(b->ev.event_id); /* at most CL_ID_MAX: the decoder checks the pattern */
        char *id = text + len + 1 + kl;
        memcpy(id, b->ev.event_id, id_len + 1);
        m->id = id;
        m->id_len = id_len;
        m->occurred_at = b->ev.occurred_at;
        memcpy(m->fingerprint, b->ev.fingerprint, sizeof m->fingerprint);
    } else {
        *m->rej = rej;
    }
    b->blocks->used -= room - (len + 1 + kl + (decoded ? id_len + 1 : 0));
    m->state = decoded ? CL_MSG_ACCEPTED : CL_MSG_DEAD;
    p->end = offset + 1;
    b->bytes += len;
    b->n++;
    return 0;
}

/** @brief Bytes of the arena the batch's messages take. */
size_t cl_batch_arena_used(const cl_batch_t *b)
{
    size_t n = 0;
    for (const struct cl_batch_block *k = b->blocks; k; k = k->next)
        n += k->used;
    return n;
}

/** @brief Mark message @p i a dead letter with @p code (content PostgreSQL refused). */
int cl_batch_reject(cl_batch_t *b, size_t i, const char *code, const char *detail)
{
    cl_batch_msg_t *m = &b->msgs[i];
    if (!m->rej && !(m->rej = malloc(sizeof *m->rej)))
        return -1;
    m->decoded = 0;
    m->state = CL_MSG_DEAD;
    snprintf(m->rej->code, sizeof m->rej->code, "%s", code);
    snprintf(m->rej->detail, sizeof m->rej->detail, "%s", detail);
    cl_utf8_sanitize(m->rej->detail);
    return 0;
}

/** @brief Drop a revoked partition's messages (their bytes stay in the arena until cleared). */
void cl_batch_drop_partition(cl_batch_t *b, const char *topic, int32_t partition)
{
    cl_batch_part_t *p = cl_batch_part(b, topic, partition);
    if (!p)
        return;
    int gone = (int)(p - b->parts);
    size_t w = 0;
    for (size_t r = 0; r < b->n; r++) {
        if (b->msgs[r].part == gone) {
            b->bytes -= b->msgs[r].len;
            continue;
        }
        if (w != r) {
            /* Swap so the dropped slot's rejection buffer stays owned by the batch. */
            cl_batch_msg_t tmp = b->msgs[w];
            b->msgs[w] = b->msgs[r];
            b->msgs[r] = tmp;
        }
        w++;
    }
    b->n = w;
    /* Remove the part and renumber the messages' part indexes. */
    for (size_t i = (size_t)gone + 1; i < b->nparts; i++)
        b->parts[i - 1] = b->parts[i];
    b->nparts--;
    for (size_t i = 0; i < b->n; i++)
        if (b->msgs[i].part > gone)
            b->msgs[i].part--;
}
