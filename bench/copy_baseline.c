/**
 * @file copy_baseline.c
 * @brief bench/ingest's baseline: the same JSONL lines decoded by careledger's
 * own decoder and stored with a plain COPY through libpq into a table with the
 * raw facts' columns and only the unique event_id index, one transaction per
 * batch, under the server's own durability settings. What ingest does beyond
 * this (offsets, duplicates, dead letters, aggregates) is what the ratio
 * prices.
 *
 *   bench_copy --config FILE [--batch N] FILE.jsonl...
 *
 * Prints one line: "copy: N events in S s = R events/s".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "careledger/buf.h"
#include "careledger/config.h"
#include "careledger/event.h"
#include "careledger/policy.h"
#include "careledger/writer.h"

/* The baseline table: events' columns, no other index, dropped first so each run starts empty. */
static const char SQL_PREPARE[] =
    "SET client_min_messages = warning; DROP TABLE IF EXISTS careledger.bench_copy; "
    "CREATE TABLE careledger.bench_copy (LIKE careledger.events INCLUDING DEFAULTS); "
    "CREATE UNIQUE INDEX bench_copy_event_id ON careledger.bench_copy (event_id)";
static const char SQL_DROP[] = "DROP TABLE careledger.bench_copy";

/** @brief Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** @brief Run a statement that returns no rows; 0 or -1 (reason on stderr). */
static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "bench_copy: %s", PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

/* The event_ids copied so far: the stream holds duplicates, and the baseline stores each event
 * once, as ingest does (open addressing, doubled at half full). */
typedef struct idset {
    char **slot;
    size_t cap, n;
} idset_t;

/** @brief FNV-1a of an id. */
static size_t id_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/** @brief Add @p id (copied); 1 if new, 0 if present, -1 out of memory. */
static int idset_add(idset_t *set, const char *id)
{
    if (2 * (set->n + 1) > set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 1u << 16;
        char **slot = calloc(cap, sizeof *slot);
        if (!slot)
            return -1;
        for (size_t i = 0; i < set->cap; i++)
            if (set->slot[i]) {
                size_t j = id_hash(set->slot[i]) & (cap - 1);
                while (slot[j])
                    j = (j + 1) & (cap - 1);
                slot[j] = set->slot[i];
            }
        free(set->slot);
        set->slot = slot;
        set->cap = cap;
    }
    size_t j = id_hash(id) & (set->cap - 1);
    for (; set->slot[j]; j = (j + 1) & (set->cap - 1))
        if (strcmp(set->slot[j], id) == 0)
            return 0;
    if (!(set->slot[j] = strdup(id)))
        return -1;
    set->n++;
    return 1;
}

/** @brief Free the set and its ids. */
static void idset_free(idset_t *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free(set->slot[i]);
    free(set->slot);
}

/** @brief COPY @p rows (@p k events) in one transaction; 0 or -1. */
static int copy_batch(PGconn *c, const char *copy_sql, const cl_buf_t *rows, long k, long *n)
{
    if (rows->oom) {
        fprintf(stderr, "bench_copy: out of memory\n");
        return -1;
    }
    *n += k;
    if (exec_ok(c, "BEGIN"))
        return -1;
    PGresult *r = PQexec(c, copy_sql);
    int ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    ok = ok && PQputCopyData(c, rows->p, (int)rows->len) == 1 && PQputCopyEnd(c, NULL) == 1;
    while ((r = PQgetResult(c)) != NULL) {
        ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok) {
        fprintf(stderr, "bench_copy: COPY failed: %s", PQerrorMessage(c));
        return -1;
    }
    return exec_ok(c, "COMMIT");
}

/**
 * @brief Decode and COPY every line of @p path in batches of @p batch_max lines; 0 or -1.
 * Each line is decoded once and its COPY line rendered at once, as cheaply as a plain
 * loader would: the daemon's second decoding of what it stages is part of what the ratio
 * prices.
 */
static int copy_file(PGconn *c, const char *copy_sql, cl_decoder_t *dec, const char *path,
                     long batch_max, idset_t *seen, cl_buf_t *rows, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t off = 0;
    int rc = 0;
    long lines = 0, k = 0;
    cl_event_t ev = {0};
    cl_reject_t rej;
    cl_buf_reset(rows);
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        size_t l = (size_t)len;
        if (l && line[l - 1] == '\n')
            line[--l] = '\0';
        if (cl_event_decode(dec, line, l, &ev, &rej) == 0) {
            int fresh = idset_add(seen, ev.event_id);
            if (fresh < 0) {
                fprintf(stderr, "bench_copy: out of memory\n");
                rc = -1;
            } else if (fresh) { /* not a duplicate */
                cl_writer_render_line(rows, path, 0, off, &ev, line);
                k++;
            }
        }
        off++;
        if (rc == 0 && ++lines >= batch_max) {
            rc = copy_batch(c, copy_sql, rows, k, n);
            cl_buf_reset(rows);
            lines = k = 0;
        }
    }
    if (rc == 0 && lines)
        rc = copy_batch(c, copy_sql, rows, k, n);
    cl_event_release(&ev);
    free(line);
    fclose(f);
    return rc;
}

/** @brief Entry point; exit status 0 when every file was copied. */
int main(int argc, char **argv)
{
    const char *config = NULL;
    long batch_max = 5000;
    int first_file = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            batch_max = atol(argv[++i]);
        } else {
            first_file = i;
            break;
        }
    }
    if (!config || first_file >= argc || batch_max < 1) {
        fprintf(stderr, "usage: bench_copy --config FILE [--batch N] FILE.jsonl...\n");
        return 2;
    }
    char err[16384];
    cl_config_t cfg;
    if (cl_config_load(config, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "bench_copy: %s\n", err);
        return 1;
    }
    int rc = 1;
    cl_policy_set_t *pol =
        cl_policy_set_load((const char *const *)cfg.policies, cfg.n_policies, err, sizeof err);
    cl_decoder_t *dec = pol ? cl_decoder_create(pol) : NULL;
    PGconn *c = dec ? PQconnectdb(cfg.pg_conninfo) : NULL;
    char *copy_sql = malloc(strlen(cl_writer_event_cols) + 64);
    cl_buf_t rows = {0};
    idset_t seen = {NULL, 0, 0};
    if (!pol)
        fprintf(stderr, "bench_copy: policies: %s\n", err);
    else if (!dec || !copy_sql)
        fprintf(stderr, "bench_copy: out of memory\n");
    else if (PQstatus(c) != CONNECTION_OK)
        fprintf(stderr, "bench_copy: %s", PQerrorMessage(c));
    else if (exec_ok(c, SQL_PREPARE) == 0) {
        sprintf(copy_sql, "COPY careledger.bench_copy (%s) FROM STDIN", cl_writer_event_cols);
        long n = 0;
        double t0 = now_s();
        rc = 0;
        for (int i = first_file; i < argc && rc == 0; i++)
            rc = copy_file(c, copy_sql, dec, argv[i], batch_max, &seen, &rows, &n) ? 1 : 0;
        double s = now_s() - t0;
        if (rc == 0)
            printf("copy: %ld events in %.2f s = %.0f events/s\n", n, s, s > 0 ? n / s : 0.0);
        if (exec_ok(c, SQL_DROP))
            rc = 1;
    }
    idset_free(&seen);
    cl_buf_free(&rows);
    free(copy_sql);
    PQfinish(c);
    cl_decoder_destroy(dec);
    cl_policy_set_destroy(pol);
    cl_config_clear(&cfg);
    return rc;
}
