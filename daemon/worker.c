/**
 * @file worker.c
 * @brief An ingest worker: Kafka consumer → decoder → batch → PostgreSQL.
 *
 * Offsets live in PostgreSQL only: on assignment the worker seeks to the
 * stored next_offset (the beginning when none is stored). Kafka's own
 * auto-commit and offset store are off; after each PostgreSQL commit the
 * worker commits the same offsets to Kafka asynchronously, for tools only.
 */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "careledger/agg.h"
#include "careledger/batch.h"
#include "careledger/event.h"
#include "careledger/kafka.h"
#include "careledger/log.h"
#include "careledger/metrics.h"
#include "daemon.h"

#define MAX_ASSIGNED    CL_BATCH_MAX_PARTS
#define BATCH_MAX_BYTES (16u << 20)
#define BACKOFF_MAX_MS  30000
#define STOP_BUDGET_MS  7000 /* of the 10 s a SIGTERM allows */
/* A batch closes at batch_max messages or BATCH_MAX_BYTES. Otherwise it closes linger_ms after
 * its first message once a poll finds nothing more and the partitions hold nothing unread, or
 * after BATCH_FILL_MS whatever comes: a backlog (a replay, a restart after downtime) fills
 * batches to batch_max, and each batch's work per worker it touches is then shared by more
 * events (DECISIONS 140, 146), while a live stream's batches still close about linger_ms after
 * their first message. */
#define BATCH_FILL_MS 2000
/* While one assigned partition holds at least FOCUS_MIN unread messages, a worker reads it
 * alone (the others paused) until it holds fewer, then the one with the most. A producer keys
 * a unit's events to one partition, so such a batch holds a few units' workers over many days
 * instead of every unit over a few hours, and a batch's work, which is per worker it touches,
 * is shared by more events (PERFORMANCE.md, session 17; DECISIONS 161). A live stream's
 * partitions hold a few messages each and are read together as before. */
#define FOCUS_MIN      1000
#define FOCUS_CHECK_MS 100

typedef struct assigned {
    char topic[256];
    int32_t partition;
    int64_t stored; /* next offset stored in PostgreSQL; -1: none yet */
} assigned_t;

struct cl_worker {
    int id;
    pthread_t thread;
    int started;
    const cl_config_t *cfg;
    rd_kafka_t *rk;
    cl_writer_t *writer;
    cl_decoder_t *dec;
    const cl_policy_set_t *pol;
    unsigned long pol_gen;
    cl_agg_t *agg;
    cl_batch_t batch;
    cl_batch_t spare; /* the batch being isolated after a data error */
    long long batch_first_ms;
    assigned_t parts[MAX_ASSIGNED];
    size_t nparts;
    int focused;         /* every assigned partition but focus_* is paused by us */
    int unfocus_pending; /* a rebalance came while focused: resume what is left */
    char focus_topic[256];
    int32_t focus_partition;
    long long focus_checked_ms;
    int pg_up, kafka_up; /* pg_up -1: not tried yet, so the first outcome is logged */
    int backoff_ms;
    char last_err[1024];
};

/** @brief Monotonic milliseconds. */
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** @brief The assignment entry of a partition, or NULL. */
static assigned_t *find_part(cl_worker_t *w, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < w->nparts; i++)
        if (w->parts[i].partition == partition && strcmp(w->parts[i].topic, topic) == 0)
            return &w->parts[i];
    return NULL;
}

/** @brief The writer's hook: aggregates under this worker's policy set. */
static int agg_hook(void *ctx, PGconn *conn, char *err, size_t errsize)
{
#ifdef CL_BENCH_RAW_FACTS
    /* bench_rawd only (bench/ingest --raw-facts-only): what storing the raw facts costs
     * alone, the bound of their form (DECISIONS 174). careledgerd is never built so. */
    (void)ctx, (void)conn, (void)err, (void)errsize;
    return 0;
#else
    cl_worker_t *w = ctx;
    return cl_agg_apply(w->agg, conn, w->pol, err, errsize);
#endif
}

/** @brief Log PostgreSQL state changes once. */
static void set_pg_state(cl_worker_t *w, int up, const char *why)
{
    if (w->pg_up == up)
        return;
    w->pg_up = up;
    cl_metrics_pg_state(w->id, up);
    char q[512];
    if (up)
        cl_log_info("postgres reachable", "worker=%d", w->id);
    else
        cl_log_warn("postgres unreachable: consumption paused", "worker=%d error=%s", w->id,
                    cl_log_quote(q, sizeof q, why));
}

/** @brief Log broker state changes once. */
static void set_kafka_state(cl_worker_t *w, int up, const char *why)
{
    if (w->kafka_up == up)
        return;
    w->kafka_up = up;
    cl_metrics_kafka_state(w->id, up);
    char q[512];
    if (up)
        cl_log_info("broker reachable", "worker=%d", w->id);
    else
        cl_log_warn("broker unreachable: retrying", "worker=%d error=%s", w->id,
                    cl_log_quote(q, sizeof q, why));
}

/** @brief Sleep up to @p ms in small steps, returning early on stop. */
static void nap(int ms)
{
    for (int t = 0; t < ms && cl_daemon_run; t += 100)
        usleep(100 * 1000);
}

/** @brief Connect to PostgreSQL, backing off up to 30 s while it is down. */
static int ensure_pg(cl_worker_t *w, int forever)
{
    char err[512];
    while (!cl_writer_connected(w->writer)) {
        if (cl_writer_connect(w->writer, err, sizeof err) == 0) {
            w->backoff_ms = 0;
            set_pg_state(w, 1, NULL);
            return 0;
        }
        set_pg_state(w, 0, err);
        if (!forever || !cl_daemon_run)
            return -1;
        w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : 500;
        if (w->backoff_ms > BACKOFF_MAX_MS)
            w->backoff_ms = BACKOFF_MAX_MS;
        nap(w->backoff_ms);
    }
    return 0;
}

/** @brief The stored offset of a partition, waiting for PostgreSQL when needed. */
static int stored_offset(cl_worker_t *w, const char *topic, int32_t partition, int64_t *out)
{
    char err[512];
    for (;;) {
        if (ensure_pg(w, 1) != 0)
            return -1;
        int64_t next;
        int rc = cl_writer_stored_offset(w->writer, topic, partition, &next, err, sizeof err);
        if (rc >= 0) {
            *out = rc == 0 ? next : -1;
            return 0;
        }
        set_pg_state(w, 0, err);
        if (!cl_daemon_run)
            return -1;
        cl_writer_connect(w->writer, err, sizeof err); /* drop the broken session */
        nap(1000);
    }
}

/** @brief Seek a list of partitions to where this worker must read next. */
static void seek_to_stored(cl_worker_t *w, rd_kafka_topic_partition_list_t *list)
{
    for (int i = 0; i < list->cnt; i++) {
        assigned_t *a = find_part(w, list->elems[i].topic, list->elems[i].partition);
        list->elems[i].offset = a && a->stored >= 0 ? a->stored : RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_error_t *e = rd_kafka_seek_partitions(w->rk, list, 5000);
    if (e) {
        cl_log_warn("seek failed", "worker=%d error=\"%s\"", w->id, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/** @brief Count the dead letters of a committed batch by reason. */
static void count_dead(const cl_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->msgs[i].state == CL_MSG_DEAD)
            cl_metrics_dead(b->msgs[i].decoded ? "conflicting_duplicate" : b->msgs[i].rej->code);
}

/** @brief After a commit: new stored offsets, informational Kafka offsets, metrics. */
static void committed(cl_worker_t *w, double seconds)
{
    cl_batch_t *b = &w->batch;
    long acc = 0, dup = 0;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)b->nparts);
    for (size_t i = 0; i < b->nparts; i++) {
        cl_batch_part_t *p = &b->parts[i];
        acc += (long)p->accepted;
        dup += (long)p->duplicates;
        assigned_t *a = find_part(w, p->topic, p->partition);
        if (a) {
            a->stored = p->end;
            rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = p->end;
        }
    }
    if (list->cnt) /* informational only (SPEC §6): PostgreSQL holds the real offsets */
        rd_kafka_commit(w->rk, list, 1);
    rd_kafka_topic_partition_list_destroy(list);
    count_dead(b);
    cl_metrics_batch((long)b->n, acc, dup, seconds);
    cl_log_debug("batch stored", "worker=%d events=%zu accepted=%ld duplicates=%ld ms=%.1f", w->id,
                 b->n, acc, dup, seconds * 1000);
    cl_batch_clear(b);
}

/** @brief A fenced batch: drop it and re-read the partitions' stored offsets. */
static void fenced(cl_worker_t *w, const char *why)
{
    char q[512];
    cl_log_warn("batch fenced: another consumer owns a partition; re-reading stored offsets",
                "worker=%d reason=%s", w->id, cl_log_quote(q, sizeof q, why));
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)w->batch.nparts);
    for (size_t i = 0; i < w->batch.nparts; i++) {
        cl_batch_part_t *p = &w->batch.parts[i];
        assigned_t *a = find_part(w, p->topic, p->partition);
        if (!a)
            continue;
        if (stored_offset(w, p->topic, p->partition, &a->stored) != 0)
            break;
        rd_kafka_topic_partition_list_add(list, p->topic, p->partition);
    }
    cl_batch_clear(&w->batch);
    if (list->cnt)
        seek_to_stored(w, list);
    rd_kafka_topic_partition_list_destroy(list);
}

/** @brief One commit attempt; the caller decides about retries. */
static cl_write_status_t try_commit(cl_worker_t *w)
{
    char err[1024];
    if (!w->batch.n)
        return CL_WRITE_OK;
    if (!cl_writer_connected(w->writer) && ensure_pg(w, 0) != 0)
        return CL_WRITE_RETRY;
    long long t0 = now_ms();
    cl_write_status_t st = cl_writer_commit(w->writer, &w->batch, err, sizeof err);
    if (st == CL_WRITE_OK) {
        set_pg_state(w, 1, NULL);
        committed(w, (double)(now_ms() - t0) / 1000.0);
    } else if (st == CL_WRITE_FENCED) {
        fenced(w, err);
    } else if (st == CL_WRITE_DATA) {
        char q[1100];
        cl_log_error("postgres refused a batch's content; isolating the message",
                     "worker=%d sqlstate=%s error=%s", w->id, cl_writer_last_sqlstate(w->writer),
                     cl_log_quote(q, sizeof q, err));
        snprintf(w->last_err, sizeof w->last_err, "%s", err);
    } else {
        if (cl_writer_connected(w->writer)) {
            /* The session is alive: PostgreSQL refused a statement (out of shared memory, a
             * lock timeout, a missing migration), which "unreachable" alone would hide. */
            char q[1100];
            cl_log_warn("postgres refused the batch on a live session: retrying on a new one",
                        "worker=%d error=%s", w->id, cl_log_quote(q, sizeof q, err));
        }
        set_pg_state(w, 0, err);
        if (!cl_writer_connected(w->writer))
            return st;
        /* A transient error on a live session: start over with a fresh one. */
        cl_writer_connect(w->writer, err, sizeof err);
    }
    return st;
}

static void handle_message(cl_worker_t *w, rd_kafka_message_t *m);

/** @brief Read every assigned partition again from its stored offset. */
static void reseek_all(cl_worker_t *w)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    if (rd_kafka_assignment(w->rk, &list) == RD_KAFKA_RESP_ERR_NO_ERROR && list) {
        seek_to_stored(w, list);
        rd_kafka_topic_partition_list_destroy(list);
    }
}

/**
 * @brief Commit; when PostgreSQL refuses the content, commit prefixes of the
 * batch, halving until the one message is found, and store it as a dead
 * letter `storage_rejected:SQLSTATE` so its partition moves on.
 */
static cl_write_status_t commit_isolating(cl_worker_t *w)
{
    cl_write_status_t st = try_commit(w);
    if (st != CL_WRITE_DATA)
        return st;
    cl_batch_t tmp = w->spare;
    w->spare = w->batch;
    w->batch = tmp;
    cl_batch_clear(&w->batch);
    cl_batch_t *src = &w->spare;
    size_t i = 0, step = src->n > 1 ? src->n / 2 : 1;
    while (i < src->n) {
        size_t k = step < src->n - i ? step : src->n - i;
        cl_batch_clear(&w->batch);
        for (size_t j = i; j < i + k; j++) {
            const cl_batch_msg_t *m = &src->msgs[j];
            const cl_batch_part_t *p = &src->parts[m->part];
            assigned_t *a = find_part(w, p->topic, p->partition);
            if (!a) /* revoked meanwhile: its next owner reads it */
                continue;
            if (cl_batch_add(&w->batch, w->dec, p->topic, p->partition, a->stored, m->offset,
                             m->key, m->key_len, m->payload, m->len) != 0) {
                st = CL_WRITE_RETRY;
                goto abandon;
            }
        }
        st = try_commit(w);
        if (st == CL_WRITE_DATA && w->batch.n == 1) {
            char code[64];
            snprintf(code, sizeof code, "storage_rejected:%s", cl_writer_last_sqlstate(w->writer));
            st = cl_batch_reject(&w->batch, 0, code, w->last_err) ? CL_WRITE_RETRY : try_commit(w);
        }
        if (st == CL_WRITE_OK) {
            i += k;
        } else if (st == CL_WRITE_DATA && k > 1) {
            step = k / 2;
        } else {
            goto abandon;
        }
    }
    cl_batch_clear(src);
    cl_batch_clear(&w->batch);
    return CL_WRITE_OK;
abandon:
    /* Whatever is not stored is read again from the stored offsets. */
    cl_batch_clear(src);
    cl_batch_clear(&w->batch);
    reseek_all(w);
    return st;
}

/**
 * @brief Resume @p list and seek each of its partitions to where this worker reads next: past
 * the batch, else the stored offset, else the beginning. A paused partition's prefetched
 * messages may have been dropped, so its fetch position is not to be trusted.
 */
static void resume_at_position(cl_worker_t *w, rd_kafka_topic_partition_list_t *list)
{
    if (!list->cnt)
        return;
    for (int i = 0; i < list->cnt; i++) {
        cl_batch_part_t *p =
            cl_batch_part(&w->batch, list->elems[i].topic, list->elems[i].partition);
        assigned_t *a = find_part(w, list->elems[i].topic, list->elems[i].partition);
        list->elems[i].offset = p                     ? p->end
                                : a && a->stored >= 0 ? a->stored
                                                      : RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resume_partitions(w->rk, list);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(w->rk, list, 5000);
    if (e) {
        cl_log_warn("seek failed", "worker=%d error=\"%s\"", w->id, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/** @brief Pause, back off, reconnect and retry until the batch is stored or we stop. */
static void commit_until_stored(cl_worker_t *w, long long deadline_ms)
{
    if (commit_isolating(w) != CL_WRITE_RETRY)
        return;
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(w->rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR && assigned)
        rd_kafka_pause_partitions(w->rk, assigned);
    int backoff = 500;
    for (;;) {
        if (deadline_ms && now_ms() >= deadline_ms)
            break;
        /* Keep serving the group (rebalances, heartbeats) while paused. */
        long long until = now_ms() + backoff;
        while (now_ms() < until && (cl_daemon_run || deadline_ms)) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(w->rk, 100);
            if (m)
                handle_message(w, m);
            if (deadline_ms && now_ms() >= deadline_ms)
                break;
        }
        if (!cl_daemon_run && !deadline_ms)
            break;
        cl_write_status_t st = commit_isolating(w);
        if (st != CL_WRITE_RETRY)
            break;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    if (assigned) {
        /* Every assigned partition resumes, a focus's paused ones too: the next batch chooses
         * again. */
        rd_kafka_topic_partition_list_t *now = NULL;
        if (rd_kafka_assignment(w->rk, &now) == RD_KAFKA_RESP_ERR_NO_ERROR && now) {
            resume_at_position(w, now);
            rd_kafka_topic_partition_list_destroy(now);
        }
        w->focused = 0;
        rd_kafka_topic_partition_list_destroy(assigned);
    }
}

/** @brief Add a consumed message to the batch (or note a consumer error). */
static void handle_message(cl_worker_t *w, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            return;
        }
        const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
        if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
            cl_log_error("offset out of range: messages are gone from the broker before they "
                         "were stored (auto.offset.reset=error stops this partition)",
                         "worker=%d topic=%s partition=%d error=\"%s\"", w->id, topic,
                         (int)m->partition, rd_kafka_message_errstr(m));
        else
            cl_log_warn("consumer error", "worker=%d topic=%s partition=%d error=\"%s\"", w->id,
                        topic, (int)m->partition, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return;
    }
    set_kafka_state(w, 1, NULL);
    const char *topic = rd_kafka_topic_name(m->rkt);
    assigned_t *a = find_part(w, topic, m->partition);
    if (!a) { /* a late message of a partition no longer ours */
        rd_kafka_message_destroy(m);
        return;
    }
    cl_metrics_read();
    if (!w->batch.n)
        w->batch_first_ms = now_ms();
    if (cl_batch_add(&w->batch, w->dec, topic, m->partition, a->stored, m->offset, m->key,
                     m->key_len, m->payload, m->len) != 0) {
        /* Store what is held, then try once more; failing that, read it again later. */
        commit_until_stored(w, 0);
        if (!w->batch.n)
            w->batch_first_ms = now_ms();
        if (cl_batch_add(&w->batch, w->dec, topic, m->partition, a->stored, m->offset, m->key,
                         m->key_len, m->payload, m->len) != 0) {
            cl_log_error("cannot hold a message (out of memory); seeking back to read it again",
                         "worker=%d topic=%s partition=%d offset=%lld", w->id, topic,
                         (int)m->partition, (long long)m->offset);
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(l, topic, m->partition)->offset = m->offset;
            rd_kafka_error_t *e = rd_kafka_seek_partitions(w->rk, l, 5000);
            if (e)
                rd_kafka_error_destroy(e);
            rd_kafka_topic_partition_list_destroy(l);
        }
    }
    rd_kafka_message_destroy(m);
}

/** @brief Assignment: seek every partition to its stored offset; revocation: commit, forget. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    cl_worker_t *w = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        set_kafka_state(w, 1, NULL);
        if (!cooperative)
            w->nparts = 0;
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *p = &parts->elems[i];
            int64_t stored = -1;
            if (stored_offset(w, p->topic, p->partition, &stored) != 0)
                stored = -1; /* stopping: the offset does not matter */
            p->offset = stored >= 0 ? stored : RD_KAFKA_OFFSET_BEGINNING;
            if (w->nparts == MAX_ASSIGNED)
                cl_log_error("more partitions than one worker can hold; add workers",
                             "worker=%d limit=%d", w->id, MAX_ASSIGNED);
            if (w->nparts < MAX_ASSIGNED && !find_part(w, p->topic, p->partition)) {
                assigned_t *a = &w->parts[w->nparts++];
                snprintf(a->topic, sizeof a->topic, "%s", p->topic);
                a->partition = p->partition;
                a->stored = stored;
            }
        }
        cl_log_info("partitions assigned", "worker=%d count=%d", w->id, parts->cnt);
        if (cooperative) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e)
                rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, parts);
        }
        /* A partition paused by a focus before it was revoked must not stay paused. */
        rd_kafka_resume_partitions(rk, parts);
        if (w->focused)
            w->unfocus_pending = 1;
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        /* Still ours until unassigned: store what we hold, once; else drop it. */
        if (w->batch.n && try_commit(w) != CL_WRITE_OK)
            for (int i = 0; i < parts->cnt; i++)
                cl_batch_drop_partition(&w->batch, parts->elems[i].topic,
                                        parts->elems[i].partition);
        for (int i = 0; i < parts->cnt; i++) {
            assigned_t *a = find_part(w, parts->elems[i].topic, parts->elems[i].partition);
            cl_metrics_lag(parts->elems[i].topic, parts->elems[i].partition, -1);
            if (a)
                *a = w->parts[--w->nparts];
        }
        if (w->focused)
            w->unfocus_pending = 1;
        cl_log_info("partitions revoked", "worker=%d count=%d", w->id, parts->cnt);
        if (cooperative) {
            rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
            if (e)
                rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, NULL);
        }
        return;
    }
    cl_log_error("rebalance error", "worker=%d error=\"%s\"", w->id, rd_kafka_err2str(err));
    rd_kafka_assign(rk, NULL);
    w->nparts = 0;
}

/** @brief Broker-level errors: log state changes once. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    cl_worker_t *w = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
        err == RD_KAFKA_RESP_ERR__RESOLVE)
        set_kafka_state(w, 0, reason);
    else if (err == RD_KAFKA_RESP_ERR__FATAL)
        cl_log_error("fatal Kafka client error", "worker=%d error=\"%s\"", w->id, reason);
}

/** @brief librdkafka's own log lines: debug only (state changes are logged once above). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    char q[600];
    cl_log_debug("librdkafka", "facility=%s line=%s", fac, cl_log_quote(q, sizeof q, buf));
}

/**
 * @brief Assigned partition @p i's cached watermarks (librdkafka's, from its fetches: this
 * asks the broker nothing) into @p lo and @p hi.
 * @return 0, or -1 while the high watermark is not known yet.
 */
static int part_watermarks(cl_worker_t *w, size_t i, int64_t *lo, int64_t *hi)
{
    if (rd_kafka_get_watermark_offsets(w->rk, w->parts[i].topic, w->parts[i].partition, lo, hi) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    return *hi >= 0 ? 0 : -1;
}

/**
 * @brief Messages of assigned partition @p i past what the batch and PostgreSQL hold: from the
 * batch's end, else the stored offset, else the partition's first offset (when librdkafka
 * does not know that either, or its watermarks, nothing counts as unread).
 */
static int64_t part_unread(cl_worker_t *w, size_t i)
{
    int64_t lo, hi;
    if (part_watermarks(w, i, &lo, &hi))
        return 0;
    const cl_batch_part_t *p = cl_batch_part(&w->batch, w->parts[i].topic, w->parts[i].partition);
    int64_t pos = p ? p->end : w->parts[i].stored >= 0 ? w->parts[i].stored : lo >= 0 ? lo : hi;
    return hi > pos ? hi - pos : 0;
}

/** @brief Publish each assigned partition's lag (high watermark − stored offset). */
static void update_lags(cl_worker_t *w)
{
    for (size_t i = 0; i < w->nparts; i++) {
        int64_t lo, hi;
        if (part_watermarks(w, i, &lo, &hi))
            continue;
        int64_t pos = w->parts[i].stored >= 0 ? w->parts[i].stored : lo;
        cl_metrics_lag(w->parts[i].topic, w->parts[i].partition, hi > pos ? hi - pos : 0);
    }
}

/**
 * @brief Whether an assigned partition holds messages past what the batch and PostgreSQL have:
 * an empty poll then means that the prefetch queue (bounded in bytes, it may hold less than a
 * batch) ran dry while the fetcher refills it, not that the stream is drained (DECISIONS 146).
 * One offset more is not a backlog: a transactional producer's commit marker follows its last
 * message.
 */
static int unread_behind(cl_worker_t *w)
{
    for (size_t i = 0; i < w->nparts; i++)
        if (part_unread(w, i) > 1)
            return 1;
    return 0;
}

/** @brief The index in parts[] of the partition read alone; SIZE_MAX when none is (or no
 * longer ours). */
static size_t focus_index(const cl_worker_t *w)
{
    for (size_t i = 0; w->focused && i < w->nparts; i++)
        if (w->parts[i].partition == w->focus_partition &&
            strcmp(w->parts[i].topic, w->focus_topic) == 0)
            return i;
    return SIZE_MAX;
}

/** @brief The assigned partitions, all but @p skip (SIZE_MAX: none skipped), as a new list. */
static rd_kafka_topic_partition_list_t *parts_but(const cl_worker_t *w, size_t skip)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)w->nparts);
    for (size_t i = 0; i < w->nparts; i++)
        if (i != skip)
            rd_kafka_topic_partition_list_add(l, w->parts[i].topic, w->parts[i].partition);
    return l;
}

/**
 * @brief Read one partition alone while it holds at least FOCUS_MIN unread messages, then the
 * one with the most, else every partition together. Called before a batch's first message
 * and when the partition read alone runs dry. A partition paused here resumes at the exact
 * next offset (resume_at_position()).
 */
static void choose_focus(cl_worker_t *w)
{
    if (w->unfocus_pending) {
        /* The assignment changed under a focus: every partition still ours resumes. */
        rd_kafka_topic_partition_list_t *l = parts_but(w, SIZE_MAX);
        resume_at_position(w, l);
        rd_kafka_topic_partition_list_destroy(l);
        w->unfocus_pending = w->focused = 0;
    }
    size_t best = SIZE_MAX;
    int64_t most = FOCUS_MIN - 1;
    /* A partition read alone stays so while it holds enough: each switch lets the messages
     * the others had prefetched into the queue into the batch. */
    size_t focus = focus_index(w);
    if (focus != SIZE_MAX && part_unread(w, focus) > most)
        return;
    for (size_t i = 0; w->nparts > 1 && i < w->nparts; i++) {
        int64_t n = part_unread(w, i);
        if (n > most) {
            most = n;
            best = i;
        }
    }
    if (best == SIZE_MAX) {
        if (!w->focused)
            return;
        /* Back to every partition: the paused ones resume where they stopped. */
        rd_kafka_topic_partition_list_t *l = parts_but(w, focus);
        resume_at_position(w, l);
        rd_kafka_topic_partition_list_destroy(l);
        w->focused = 0;
        cl_log_debug("reading every partition", "worker=%d", w->id);
        return;
    }
    rd_kafka_topic_partition_list_t *pause = parts_but(w, best);
    rd_kafka_pause_partitions(w->rk, pause);
    rd_kafka_topic_partition_list_destroy(pause);
    if (w->focused) { /* it was paused as one of the others */
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, w->parts[best].topic, w->parts[best].partition);
        resume_at_position(w, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
    snprintf(w->focus_topic, sizeof w->focus_topic, "%s", w->parts[best].topic);
    w->focus_partition = w->parts[best].partition;
    w->focused = 1;
    cl_metrics_focus();
    cl_log_debug("reading one partition alone", "worker=%d topic=%s partition=%d unread=%lld",
                 w->id, w->focus_topic, (int)w->focus_partition, (long long)most);
}

/** @brief Whether the partition read alone has nothing more to read now. */
static int focus_dry(cl_worker_t *w)
{
    size_t focus = focus_index(w);
    return focus == SIZE_MAX || part_unread(w, focus) <= 1;
}

/** @brief Use the newest policy set from the next message on. */
static void refresh_policies(cl_worker_t *w)
{
    /* Also in the middle of a batch: a message is decoded under the set loaded when it arrives,
     * so that a measure a reload adds is known to the messages after it, and the batch is
     * aggregated under the set of its commit, the newest. Slots hold the message's text, and the
     * writer renders it again without looking up measures: nothing read after this points into
     * the set released here. */
    if (cl_daemon_policies_generation() == w->pol_gen)
        return;
    const cl_policy_set_t *old = w->pol;
    w->pol = cl_daemon_policies_acquire(&w->pol_gen);
    cl_decoder_set_policies(w->dec, w->pol);
    cl_daemon_policies_release(old);
}

/** @brief Leave the group within the stop budget, even with the broker down. */
static void close_consumer(cl_worker_t *w, long long deadline_ms)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(w->rk);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(w->rk, q);
    if (e) {
        rd_kafka_error_destroy(e);
    } else {
        while (!rd_kafka_consumer_closed(w->rk) && now_ms() < deadline_ms) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
            if (!ev)
                continue;
            if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
                rd_kafka_topic_partition_list_t *parts = rd_kafka_event_topic_partition_list(ev);
                rebalance_cb(w->rk, rd_kafka_event_error(ev), parts, w);
            }
            rd_kafka_event_destroy(ev);
        }
    }
    rd_kafka_queue_destroy(q);
    int closed = rd_kafka_consumer_closed(w->rk);
    rd_kafka_destroy_flags(w->rk, closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    w->rk = NULL;
}

/** @brief The worker thread. */
static void *worker_main(void *arg)
{
    cl_worker_t *w = arg;
    ensure_pg(w, 1);
    rd_kafka_topic_partition_list_t *topics =
        rd_kafka_topic_partition_list_new((int)w->cfg->n_topics);
    for (size_t i = 0; i < w->cfg->n_topics; i++)
        rd_kafka_topic_partition_list_add(topics, w->cfg->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(w->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e)
        cl_log_error("subscribe failed", "worker=%d error=\"%s\"", w->id, rd_kafka_err2str(e));
    long long last_lag = 0;
    while (cl_daemon_run) {
        refresh_policies(w);
        /* Before a batch, and every FOCUS_CHECK_MS while not focused: a worker's first
         * batch starts before librdkafka knows any partition's high watermark. */
        if (!w->batch.n || w->unfocus_pending ||
            (!w->focused && now_ms() - w->focus_checked_ms >= FOCUS_CHECK_MS)) {
            choose_focus(w);
            w->focus_checked_ms = now_ms();
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(w->rk, 50);
        int drained = !m;
        if (m)
            handle_message(w, m);
        if (drained && w->focused && w->batch.n && focus_dry(w))
            choose_focus(w);
        if (w->batch.n) {
            long long age = now_ms() - w->batch_first_ms;
            if (w->batch.n >= (size_t)w->cfg->batch_max || w->batch.bytes >= BATCH_MAX_BYTES ||
                (age >= w->cfg->linger_ms &&
                 ((drained && !unread_behind(w)) || age >= BATCH_FILL_MS)))
                commit_until_stored(w, 0);
        }
        if (now_ms() - last_lag >= 1000) {
            update_lags(w);
            last_lag = now_ms();
        }
    }
    /* Stop: finish the batch (bounded), then leave the group. */
    long long deadline = now_ms() + STOP_BUDGET_MS;
    if (w->batch.n)
        commit_until_stored(w, deadline);
    if (w->batch.n)
        cl_log_warn("stopping with a batch not stored; it will be read again",
                    "worker=%d events=%zu", w->id, w->batch.n);
    cl_batch_clear(&w->batch);
    close_consumer(w, deadline + 2000);
    return NULL;
}

/** @brief Create a worker with its consumer and writer. */
cl_worker_t *cl_worker_create(int id, const cl_config_t *cfg, cl_crash_point_t crash,
                              long crash_nth, char *err, size_t errsize)
{
    cl_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    w->id = id;
    w->cfg = cfg;
    w->kafka_up = 1;
    w->pg_up = -1;
    cl_batch_init(&w->batch);
    cl_batch_init(&w->spare);
    cl_batch_set_max(&w->batch, (size_t)cfg->batch_max);
    cl_batch_set_max(&w->spare, (size_t)cfg->batch_max);
    w->pol = cl_daemon_policies_acquire(&w->pol_gen);
    w->dec = cl_decoder_create(w->pol);
    w->writer = cl_writer_create(cfg->pg_conninfo, cl_kafka_group(cfg));
    w->agg = cl_agg_create();
    if (!w->dec || !w->writer || !w->agg) {
        snprintf(err, errsize, "out of memory");
        goto error;
    }
    cl_writer_set_hook(w->writer, agg_hook, w);
    if (crash != CL_CRASH_NONE)
        cl_writer_set_crash(w->writer, crash, crash_nth);
    rd_kafka_conf_t *conf = cl_kafka_conf(cfg, CL_KAFKA_CONSUMER, err, errsize);
    if (!conf)
        goto error;
    /* Defaults careledger needs unless the operator set them. Prefetch is bounded in bytes:
     * 8 MiB of queue, most of a batch of the usual 250-byte events (DECISIONS 172), so that
     * the next batch is fetched while this one is stored: librdkafka 2.0.2 stops fetching a
     * partition for a second once its queue reaches the bound, and a queue smaller than a
     * batch left each batch waiting for those seconds while the database idled (DECISIONS 170,
     * amending 146).
     * A fetch response, which may overshoot the queue, is at most 256 KiB per partition and
     * 1 MiB in all, whatever the partition count (librdkafka's defaults, 1 MB per partition
     * and 50 MB a response, let memory grow with the partitions: DECISIONS 85). The queue is
     * not bounded in messages per partition: at 2,000 (DECISIONS 85) the fetcher stopped each
     * partition at that depth and came back to it a second later, which capped a replay's
     * reading at about 2,000 messages per partition a second (DECISIONS 146). */
    static const char *const defaults[][2] = {{"group.id", "careledger"},
                                              {"auto.offset.reset", "error"},
                                              {"queued.max.messages.kbytes", "8192"},
                                              {"fetch.message.max.bytes", "262144"},
                                              {"fetch.max.bytes", "1048576"},
                                              {"client.id", "careledgerd"}};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        int given = 0;
        for (size_t k = 0; k < cfg->n_kafka; k++)
            given |= strcmp(cfg->kafka[k].key, defaults[i][0]) == 0;
        if (!given && cl_kafka_set(conf, defaults[i][0], defaults[i][1], err, errsize))
            goto conf_error;
    }
    /* Offsets are PostgreSQL's: Kafka's commits are informational only. */
    if (cl_kafka_set(conf, "enable.auto.offset.store", "false", err, errsize) ||
        cl_kafka_set(conf, "enable.auto.commit", "false", err, errsize) ||
        cl_kafka_set(conf, "enable.partition.eof", "false", err, errsize))
        goto conf_error;
    rd_kafka_conf_set_opaque(conf, w);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    char why[512];
    w->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (!w->rk) {
        snprintf(err, errsize, "kafka: %s", why);
        goto conf_error; /* rd_kafka_new() failed: the conf is still ours */
    }
    rd_kafka_poll_set_consumer(w->rk);
    return w;
conf_error:
    rd_kafka_conf_destroy(conf);
error:
    cl_worker_destroy(w);
    return NULL;
}

/** @brief Start the thread. */
int cl_worker_start(cl_worker_t *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    w->started = 1;
    return 0;
}

/** @brief Join with a deadline. */
int cl_worker_join_until(cl_worker_t *w, const struct timespec *deadline)
{
    if (!w->started)
        return 0;
    if (pthread_timedjoin_np(w->thread, NULL, deadline) != 0)
        return -1;
    w->started = 0;
    return 0;
}

/** @brief Free a worker. */
void cl_worker_destroy(cl_worker_t *w)
{
    if (!w)
        return;
    if (w->rk)
        rd_kafka_destroy(w->rk);
    cl_writer_destroy(w->writer);
    cl_agg_destroy(w->agg);
    cl_decoder_destroy(w->dec);
    cl_batch_free(&w->batch);
    cl_batch_free(&w->spare);
    cl_daemon_policies_release(w->pol);
    free(w);
}
