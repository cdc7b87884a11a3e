/**
 * @file batch.c
 * @brief Batches of consumed messages with reusable slots.
 */
#include "careledger/batch.h"

#include "careledger/json.h"
#include "careledger/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/** @brief Forget messages, keep small buffers. */
void cl_batch_clear(cl_batch_t *b)
{
    /* A slot that once held a large message would keep its memory for good. */
    for (size_t i = 0; i < b->n; i++) {
        cl_batch_msg_t *m = &b->msgs[i];
        if (m->cap > CL_BATCH_KEEP_BYTES) {
            free(m->payload);
            m->payload = NULL;
            m->cap = 0;
        }
        if (m->key_cap > CL_BATCH_KEEP_BYTES) {
            free(m->key);
            m->key = NULL;
            m->key_cap = 0;
        }
        if (m->row_cap > CL_BATCH_KEEP_BYTES) {
            free(m->row);
            m->row = NULL;
            m->row_cap = 0;
        }
    }
    if (b->ev.arena_cap > CL_BATCH_KEEP_BYTES + 64)
        cl_event_release(&b->ev);
    if (b->render.cap > CL_BATCH_KEEP_BYTES * 4)
        cl_buf_free(&b->render);
    b->n = 0;
    b->nparts = 0;
    b->bytes = 0;
}

/** @brief Free everything. */
void cl_batch_free(cl_batch_t *b)
{
    for (size_t i = 0; i < b->cap; i++) {
        free(b->msgs[i].key);
        free(b->msgs[i].payload);
        free(b->msgs[i].rej);
        free(b->msgs[i].row);
    }
    free(b->msgs);
    cl_event_release(&b->ev);
    cl_buf_free(&b->render);
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

/** @brief Copy bytes into a reusable buffer. */
static int copy_into(char **buf, size_t *cap, const void *src, size_t len)
{
    if (*cap < len + 1) {
        /* Rounded up so that a slot rarely grows again; keys are short ids. */
        size_t n = (len + 64) & ~(size_t)63;
        char *p = realloc(*buf, n);
        if (!p)
            return -1;
        *buf = p;
        *cap = n;
    }
    if (len)
        memcpy(*buf, src, len);
    (*buf)[len] = '\0';
    return 0;
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
    cl_batch_msg_t *m = &b->msgs[b->n];
    if (copy_into(&m->payload, &m->cap, payload, len) ||
        copy_into(&m->key, &m->key_cap, key, key ? key_len : 0))
        return -1;
    cl_batch_part_t *p = cl_batch_part(b, topic, partition);
    if (!p) {
        if (b->nparts == CL_BATCH_MAX_PARTS || strlen(topic) >= sizeof p->topic)
            return -1;
        p = &b->parts[b->nparts++];
        memset(p, 0, sizeof *p);
        strcpy(p->topic, topic);
        p->partition = partition;
        p->start = start;
        p->watermark = INT64_MIN;
    }
    m->len = len;
    m->key_len = key ? key_len : 0;
    m->part = (int)(p - b->parts);
    m->offset = offset;
    cl_reject_t rej;
    m->decoded = cl_event_decode(dec, m->payload, len, &b->ev, &rej) == 0;
    if (m->decoded) {
        cl_buf_reset(&b->render);
        cl_writer_render_row(&b->render, p->topic, partition, offset, &b->ev);
        if (b->render.oom || copy_into(&m->row, &m->row_cap, b->render.p, b->render.len))
            return -1;
        m->row_len = b->render.len;
        m->id_len = strlen(b->ev.event_id);
        m->occurred_at = b->ev.occurred_at;
    } else {
        if (!m->rej && !(m->rej = malloc(sizeof *m->rej)))
            return -1;
        *m->rej = rej;
    }
    m->state = m->decoded ? CL_MSG_ACCEPTED : CL_MSG_DEAD;
    p->end = offset + 1;
    b->bytes += len;
    b->n++;
    return 0;
}

/** @brief A decoded message's event_id: its row's first id_len bytes. */
const char *cl_batch_msg_id(const cl_batch_msg_t *m, char buf[CL_ID_MAX + 1])
{
    snprintf(buf, CL_ID_MAX + 1, "%.*s", (int)m->id_len, m->row);
    return buf;
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

/** @brief Drop a revoked partition's messages, keeping slot buffers for reuse. */
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
            /* Swap so the dropped slot's buffers stay owned by the batch. */
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
