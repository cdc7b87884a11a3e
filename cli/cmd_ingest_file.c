/**
 * @file cmd_ingest_file.c
 * @brief `careledger ingest-file FILE…`: JSONL through the daemon's decoder
 * and batch writer; the position is stored like an offset (topic
 * `file:NAME`, partition 0, next line), so a rerun adds nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "careledger/agg.h"
#include "careledger/kafka.h"
#include "careledger/writer.h"
#include "common.h"

typedef struct totals {
    long long lines, accepted, duplicates, dead;
} totals_t;

/** @brief Seconds of a monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/** @brief Redraw the progress bar on a terminal. */
static void progress(const char *name, long long done_bytes, long long size, long long events,
                     double t0)
{
    double el = now_s() - t0;
    int pct = size > 0 ? (int)(done_bytes * 100 / size) : 100;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : ' ';
    bar[30] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%% %lld events, %.0f events/s ", name, bar, pct, events,
            el > 0 ? events / el : 0.0);
    fflush(stderr);
}

/** @brief Commit one batch, reconnecting on transient failures. */
static int commit_batch(cl_writer_t *w, cl_batch_t *b, const char *file, totals_t *t)
{
    char err[1024];
    for (int attempt = 0;; attempt++) {
        cl_write_status_t st = cl_writer_commit(w, b, err, sizeof err);
        if (st == CL_WRITE_OK)
            break;
        if (st == CL_WRITE_FENCED) {
            /* A COMMIT whose reply was lost looks fenced on the retry: check. */
            int64_t stored = -1;
            char e2[256];
            if (cl_writer_stored_offset(w, b->parts[0].topic, 0, &stored, e2, sizeof e2) == 0 &&
                stored == b->parts[0].end) {
                b->parts[0].start = stored;
                return 0; /* stored by the attempt whose reply was lost */
            }
            cl_cli_fail("ingest-file: %s: another process is ingesting this file (%s)", file, err);
            return -1;
        }
        if (st == CL_WRITE_DATA || attempt == 5) {
            cl_cli_fail("ingest-file: %s: %s", file, err);
            return -1;
        }
        sleep(1u << attempt > 8 ? 8 : 1u << attempt);
        if (!cl_writer_connected(w) && cl_writer_connect(w, err, sizeof err) != 0)
            continue;
    }
    t->accepted += b->parts[0].accepted;
    t->duplicates += b->parts[0].duplicates;
    t->dead += b->parts[0].dead;
    return 0;
}

/** @brief Ingest one file from its stored line on. */
static int ingest_one(const char *path, cl_writer_t *w, cl_decoder_t *dec, const cl_config_t *cfg,
                      cl_batch_t *b, totals_t *t)
{
    char err[1024], topic[256];
    /* The file's absolute path names its position: two files of one name stay apart. */
    char *abs = realpath(path, NULL);
    if (!abs) {
        cl_cli_fail("ingest-file: %s: %s", path, strerror(errno));
        return -1;
    }
    if (snprintf(topic, sizeof topic, "file:%s", abs) >= (int)sizeof topic) {
        cl_cli_fail("ingest-file: %s: path longer than %zu bytes", abs, sizeof topic - 6);
        free(abs);
        return -1;
    }
    free(abs);
    FILE *f = fopen(path, "rb");
    if (!f) {
        cl_cli_fail("ingest-file: %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    long long size = fstat(fileno(f), &st) == 0 ? (long long)st.st_size : 0;
    int64_t next = 0;
    int found = cl_writer_stored_offset(w, topic, 0, &next, err, sizeof err);
    if (found < 0) {
        fclose(f);
        {
            cl_cli_fail("ingest-file: %s", err);
            return -1;
        }
    }
    int64_t start = found == 0 ? next : -1;
    if (found == 1)
        next = 0;
    int tty = isatty(STDERR_FILENO);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t lineno = 0;
    long long before = t->accepted + t->duplicates + t->dead;
    double t0 = now_s();
    int rc = 0;
    cl_batch_clear(b);
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (lineno <= next)
            continue; /* stored already */
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        if (cl_batch_add(b, dec, topic, 0, start, lineno - 1, NULL, 0, line, len) != 0) {
            rc = cl_cli_fail("ingest-file: out of memory");
            break;
        }
        t->lines++;
        if (b->n >= (size_t)cfg->batch_max || b->bytes >= 8u << 20) {
            if (commit_batch(w, b, path, t)) {
                rc = 1;
                break;
            }
            start = b->parts[0].end;
            cl_batch_clear(b);
            if (tty)
                progress(path, (long long)ftell(f), size,
                         t->accepted + t->duplicates + t->dead - before, t0);
        }
    }
    if (!rc && b->n && commit_batch(w, b, path, t))
        rc = 1;
    if (tty) {
        progress(path, size, size, t->accepted + t->duplicates + t->dead - before, t0);
        fputc('\n', stderr);
    }
    free(line);
    fclose(f);
    return rc ? -1 : 0;
}

/** Aggregates of ingest-file batches: the one policy set of the run. */
typedef struct file_agg {
    cl_agg_t *agg;
    const cl_policy_set_t *set;
} file_agg_t;

/** @brief The writer's hook. */
static int agg_hook(void *ctx, PGconn *conn, char *err, size_t errsize)
{
    file_agg_t *f = ctx;
    return cl_agg_apply(f->agg, conn, f->set, err, errsize);
}

static const char USAGE[] =
    "usage: careledger ingest-file FILE… [--config FILE]\n\n"
    "Reads JSONL files (one event per line) through the daemon's decoder and\n"
    "batch writer: the same validation, dead letters and transactions. Each\n"
    "file's position is stored as topic file:PATH (its absolute path), partition 0,\n"
    "next line, so a rerun adds nothing and an interrupted run resumes where it stopped.\n";

/** @brief careledger ingest-file FILE… */
int cl_cli_ingest_file(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    char err[1024];
    if (cl_cli_parse_common(argc, argv, &o))
        return 1;
    int early = cl_cli_begin(&o, USAGE, o.nrest == 0, &cfg);
    if (early >= 0)
        return early;
    int rc = 1;
    cl_policy_set_t *pol = cl_cli_load_policies(&cfg);
    cl_decoder_t *dec = pol ? cl_decoder_create(pol) : NULL;
    cl_writer_t *w = dec ? cl_writer_create(cfg.pg_conninfo, cl_kafka_group(&cfg)) : NULL;
    file_agg_t fa = {cl_agg_create(), pol};
    if (w && fa.agg)
        cl_writer_set_hook(w, agg_hook, &fa);
    cl_batch_t b;
    cl_batch_init(&b);
    cl_batch_set_max(&b, (size_t)cfg.batch_max);
    if (w && cl_writer_connect(w, err, sizeof err) != 0) {
        cl_cli_fail("%s", err);
    } else if (w) {
        rc = 0;
        for (int i = 0; i < o.nrest && rc == 0; i++) {
            totals_t t = {0, 0, 0, 0};
            if (ingest_one(o.rest[i], w, dec, &cfg, &b, &t) != 0)
                rc = 1;
            else
                printf("%s: %lld new lines: %lld accepted, %lld duplicates, %lld dead letters\n",
                       o.rest[i], t.lines, t.accepted, t.duplicates, t.dead);
        }
    }
    cl_batch_free(&b);
    cl_writer_destroy(w);
    cl_agg_destroy(fa.agg);
    cl_decoder_destroy(dec);
    cl_policy_set_destroy(pol);
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}
