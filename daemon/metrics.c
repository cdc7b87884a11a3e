/**
 * @file metrics.c
 * @brief Counters (atomics), reasons and lags (a mutex), health states.
 */
#include "careledger/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WORKERS 64
#define MAX_REASONS 256
#define MAX_LAGS    2048

/* Upper bounds of the batch duration histogram, seconds. */
static const double BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

static atomic_llong consumed, accepted, duplicates, batches, reloads_ok, reloads_failed, focuses;
static atomic_llong bucket[NBUCKETS + 1];
static atomic_llong duration_us; /* sum of batch durations */
/* Wall-clock microseconds of the first message read and of the last batch committed: the
 * span over which a replay's events/s is measured (bench/ingest). */
static atomic_llong first_read_us, last_commit_us;
static atomic_int pg_up[MAX_WORKERS], kafka_up[MAX_WORKERS];
static int nworkers;
static time_t started;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char reason[96];
    long long n;
} reasons[MAX_REASONS];
static size_t nreasons;
typedef struct lag_row {
    char topic[256];
    int32_t partition;
    int64_t lag;
} lag_row_t;
static lag_row_t lags[MAX_LAGS];
static size_t nlags;

/** @brief Reset everything. */
void cl_metrics_init(int workers)
{
    nworkers = workers < MAX_WORKERS ? workers : MAX_WORKERS;
    for (int i = 0; i < MAX_WORKERS; i++) {
        atomic_store(&pg_up[i], 0);
        atomic_store(&kafka_up[i], 1);
    }
    nreasons = nlags = 0;
    started = time(NULL);
}

/** @brief Microseconds since the epoch. */
static long long wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/** @brief Note that a message was read (only the first one is kept). */
void cl_metrics_read(void)
{
    if (atomic_load_explicit(&first_read_us, memory_order_relaxed))
        return;
    long long zero = 0;
    atomic_compare_exchange_strong(&first_read_us, &zero, wall_us());
}

/** @brief Add a committed batch. */
void cl_metrics_batch(long c, long a, long d, double seconds)
{
    atomic_store(&last_commit_us, wall_us());
    atomic_fetch_add(&consumed, c);
    atomic_fetch_add(&accepted, a);
    atomic_fetch_add(&duplicates, d);
    atomic_fetch_add(&batches, 1);
    atomic_fetch_add(&duration_us, (long long)(seconds * 1e6));
    size_t b = 0;
    while (b < NBUCKETS && seconds > BUCKETS[b])
        b++;
    atomic_fetch_add(&bucket[b], 1);
}

/** @brief Count a dead letter. */
void cl_metrics_dead(const char *reason)
{
    pthread_mutex_lock(&mu);
    size_t i = 0;
    while (i < nreasons && strcmp(reasons[i].reason, reason) != 0)
        i++;
    if (i == nreasons && nreasons < MAX_REASONS) {
        snprintf(reasons[i].reason, sizeof reasons[i].reason, "%s", reason);
        reasons[i].n = 0;
        nreasons++;
    }
    if (i < nreasons)
        reasons[i].n++;
    pthread_mutex_unlock(&mu);
}

/** @brief Worker's PostgreSQL state. */
void cl_metrics_pg_state(int worker, int up)
{
    if (worker >= 0 && worker < MAX_WORKERS)
        atomic_store(&pg_up[worker], up);
}

/** @brief Worker's broker state. */
void cl_metrics_kafka_state(int worker, int up)
{
    if (worker >= 0 && worker < MAX_WORKERS)
        atomic_store(&kafka_up[worker], up);
}

/** @brief Set or remove a partition's lag. */
void cl_metrics_lag(const char *topic, int32_t partition, int64_t lag)
{
    pthread_mutex_lock(&mu);
    size_t i = 0;
    while (i < nlags && !(lags[i].partition == partition && strcmp(lags[i].topic, topic) == 0))
        i++;
    if (lag < 0) {
        if (i < nlags)
            lags[i] = lags[--nlags];
    } else {
        if (i == nlags && nlags < MAX_LAGS) {
            snprintf(lags[i].topic, sizeof lags[i].topic, "%s", topic);
            lags[i].partition = partition;
            nlags++;
        }
        if (i < nlags)
            lags[i].lag = lag;
    }
    pthread_mutex_unlock(&mu);
}

/** @brief Count a reload. */
void cl_metrics_reload(int ok)
{
    atomic_fetch_add(ok ? &reloads_ok : &reloads_failed, 1);
}

/** @brief Count a worker's turn to read one partition alone. */
void cl_metrics_focus(void)
{
    atomic_fetch_add(&focuses, 1);
}

/** @brief Every worker up on both sides. */
int cl_metrics_healthy(void)
{
    for (int i = 0; i < nworkers; i++)
        if (!atomic_load(&pg_up[i]) || !atomic_load(&kafka_up[i]))
            return 0;
    return 1;
}

/** @brief Count of workers up. */
static int count_up(atomic_int *a)
{
    int n = 0;
    for (int i = 0; i < nworkers; i++)
        n += atomic_load(&a[i]) != 0;
    return n;
}

/** @brief Compare lag rows for a stable exposition order. */
static int lag_cmp(const void *a, const void *b)
{
    const lag_row_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/** @brief Prometheus text format. */
void cl_metrics_prometheus(cl_buf_t *o)
{
    cl_buf_printf(
        o,
        "# HELP careledger_messages_consumed_total Messages read from Kafka and stored "
        "(accepted, duplicate or dead letter).\n# TYPE careledger_messages_consumed_total "
        "counter\ncareledger_messages_consumed_total %lld\n",
        (long long)atomic_load(&consumed));
    cl_buf_printf(o,
                  "# HELP careledger_events_accepted_total Events stored as new facts.\n"
                  "# TYPE careledger_events_accepted_total counter\n"
                  "careledger_events_accepted_total %lld\n",
                  (long long)atomic_load(&accepted));
    cl_buf_printf(o,
                  "# HELP careledger_events_duplicate_total Exact duplicates counted once.\n"
                  "# TYPE careledger_events_duplicate_total counter\n"
                  "careledger_events_duplicate_total %lld\n",
                  (long long)atomic_load(&duplicates));
    cl_buf_printf(o, "# HELP careledger_dead_letters_total Rejected messages by reason (SPEC 11).\n"
                     "# TYPE careledger_dead_letters_total counter\n");
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < nreasons; i++)
        cl_buf_printf(o, "careledger_dead_letters_total{reason=\"%s\"} %lld\n", reasons[i].reason,
                      reasons[i].n);
    cl_buf_printf(o, "# HELP careledger_consumer_lag Messages behind the partition's high "
                     "watermark.\n# TYPE careledger_consumer_lag gauge\n");
    qsort(lags, nlags, sizeof lags[0], lag_cmp);
    for (size_t i = 0; i < nlags; i++)
        cl_buf_printf(o, "careledger_consumer_lag{topic=\"%s\",partition=\"%d\"} %lld\n",
                      lags[i].topic, (int)lags[i].partition, (long long)lags[i].lag);
    pthread_mutex_unlock(&mu);
    cl_buf_printf(o, "# HELP careledger_batch_duration_seconds Time to store one batch.\n"
                     "# TYPE careledger_batch_duration_seconds histogram\n");
    long long cum = 0;
    for (size_t b = 0; b < NBUCKETS; b++) {
        cum += atomic_load(&bucket[b]);
        cl_buf_printf(o, "careledger_batch_duration_seconds_bucket{le=\"%g\"} %lld\n", BUCKETS[b],
                      cum);
    }
    cum += atomic_load(&bucket[NBUCKETS]);
    cl_buf_printf(o, "careledger_batch_duration_seconds_bucket{le=\"+Inf\"} %lld\n", cum);
    cl_buf_printf(o, "careledger_batch_duration_seconds_sum %.6f\n",
                  (double)atomic_load(&duration_us) / 1e6);
    cl_buf_printf(o, "careledger_batch_duration_seconds_count %lld\n",
                  (long long)atomic_load(&batches));
    cl_buf_printf(o,
                  "# HELP careledger_first_read_timestamp_seconds When the first message was "
                  "read (0: none yet).\n# TYPE careledger_first_read_timestamp_seconds gauge\n"
                  "careledger_first_read_timestamp_seconds %.6f\n"
                  "# HELP careledger_last_commit_timestamp_seconds When the last batch was "
                  "committed (0: none yet).\n# TYPE careledger_last_commit_timestamp_seconds "
                  "gauge\ncareledger_last_commit_timestamp_seconds %.6f\n",
                  (double)atomic_load(&first_read_us) / 1e6,
                  (double)atomic_load(&last_commit_us) / 1e6);
    cl_buf_printf(o,
                  "# HELP careledger_postgres_up Workers connected to PostgreSQL.\n"
                  "# TYPE careledger_postgres_up gauge\ncareledger_postgres_up %d\n",
                  count_up(pg_up));
    cl_buf_printf(o,
                  "# HELP careledger_kafka_up Workers reaching a broker.\n"
                  "# TYPE careledger_kafka_up gauge\ncareledger_kafka_up %d\n",
                  count_up(kafka_up));
    cl_buf_printf(o,
                  "# HELP careledger_workers Ingest workers.\n# TYPE careledger_workers gauge\n"
                  "careledger_workers %d\n",
                  nworkers);
    cl_buf_printf(o,
                  "# HELP careledger_policy_reloads_total SIGHUP reloads by result.\n"
                  "# TYPE careledger_policy_reloads_total counter\n"
                  "careledger_policy_reloads_total{result=\"ok\"} %lld\n"
                  "careledger_policy_reloads_total{result=\"rejected\"} %lld\n",
                  (long long)atomic_load(&reloads_ok), (long long)atomic_load(&reloads_failed));
    cl_buf_printf(o,
                  "# HELP careledger_partition_focus_total Times a worker began to read one "
                  "partition alone, its backlog the largest (a replay or a catch-up).\n"
                  "# TYPE careledger_partition_focus_total counter\n"
                  "careledger_partition_focus_total %lld\n",
                  (long long)atomic_load(&focuses));
}

/** @brief /healthz document. */
void cl_metrics_health_json(cl_buf_t *o)
{
    long long lag = 0;
    size_t parts;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < nlags; i++)
        lag += lags[i].lag;
    parts = nlags;
    pthread_mutex_unlock(&mu);
    int pg = count_up(pg_up), kafka = count_up(kafka_up);
    cl_buf_printf(o,
                  "{\"status\":\"%s\",\"postgres\":{\"state\":\"%s\",\"workers_up\":%d},"
                  "\"kafka\":{\"state\":\"%s\",\"workers_up\":%d},\"workers\":%d,"
                  "\"partitions\":%zu,\"lag\":%lld,\"consumed\":%lld,\"uptime_s\":%lld}\n",
                  cl_metrics_healthy() ? "ok" : "degraded", pg == nworkers ? "up" : "down", pg,
                  kafka == nworkers ? "up" : "down", kafka, nworkers, parts, lag,
                  (long long)atomic_load(&consumed), (long long)(time(NULL) - started));
}
