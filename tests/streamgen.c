/**
 * @file streamgen.c
 * @brief Deterministic test streams with known outcomes.
 */
#include "streamgen.h"

#include "careledger/gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cl_stream_topics[CL_STREAM_TOPICS] = {"careledger.reference", "careledger.shifts",
                                                        "careledger.assistance"};

typedef struct rng {
    unsigned long long s;
} rng_t;

/** @brief xorshift64*. */
static unsigned long long next(rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

/** @brief Uniform in [0, n). */
static long pick(rng_t *r, long n)
{
    return (long)(next(r) % (unsigned long long)n);
}

/** @brief Count one dead letter reason. */
static void expect_dead(cl_stream_expect_t *e, const char *reason)
{
    e->dead++;
    for (int i = 0; i < e->nreasons; i++)
        if (strcmp(e->reasons[i].reason, reason) == 0) {
            e->reasons[i].n++;
            return;
        }
    if (e->nreasons < CL_STREAM_MAX_REASONS) {
        snprintf(e->reasons[e->nreasons].reason, sizeof e->reasons[0].reason, "%s", reason);
        e->reasons[e->nreasons++].n = 1;
    }
}

/** @brief Expected dead letters of a reason. */
long cl_stream_expected_reason(const cl_stream_expect_t *e, const char *reason)
{
    for (int i = 0; i < e->nreasons; i++)
        if (strcmp(e->reasons[i].reason, reason) == 0)
            return e->reasons[i].n;
    return 0;
}

#define ENV "\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-%02dT%02d:00:00+08:00\""

/* The bad lines are the generator's (SPEC §11 rows and variants). */
#define NBAD cl_gen_bad_kinds()

/** @brief Write a valid event of a kind chosen by @p r; returns its topic. */
static int valid_line(rng_t *r, long i, char *buf, size_t size, int *keyed)
{
    int day = 1 + (int)pick(r, 28), hour = (int)pick(r, 24);
    long unit = pick(r, 40), worker = pick(r, 800);
    int kind = (int)pick(r, 100);
    *keyed = 1;
    if (kind < 5) {
        snprintf(
            buf, size,
            "{" ENV
            ",\"event_id\":\"u%ld\",\"type\":\"unit.registered\",\"unit_id\":\"U%ld\",\"name\":"
            "\"单位%ld\",\"region\":\"2201%02ld\",\"kind\":\"hospital\",\"level\":\"county\"}",
            day, hour, i, unit, unit, 1 + unit % 8);
        return 0;
    }
    if (kind < 15) {
        snprintf(buf, size,
                 "{" ENV ",\"event_id\":\"w%ld\",\"type\":\"worker.registered\",\"worker_id\":\"W%"
                 "ld\",\"unit_id\":\"U%ld\",\"role\":\"nurse\",\"staff\":\"contract\","
                 "\"children\":%ld,\"elders\":1}",
                 day, hour, i, worker, unit, pick(r, 3));
        return 0;
    }
    if (kind < 70) {
        int len = 4 + (int)pick(r, 9);
        snprintf(buf, size,
                 "{" ENV ",\"event_id\":\"s%ld\",\"type\":\"shift.completed\",\"worker_id\":\"W%"
                 "ld\",\"unit_id\":\"U%ld\",\"start\":\"2020-02-%02dT%02d:00:00+08:00\","
                 "\"end\":\"2020-02-%02dT%02d:00:00+08:00\",\"exposure\":\"%s\"}",
                 day, hour, i, worker, unit, day, hour % 12, day, hour % 12 + len,
                 pick(r, 2) ? "direct" : "other");
        return 1;
    }
    if (kind < 75) {
        *keyed = 0;
        snprintf(buf, size,
                 "{" ENV ",\"event_id\":\"d%ld\",\"type\":\"deployment.started\",\"deployment_id\":"
                 "\"D%ld\",\"worker_id\":\"W%ld\",\"team\":\"援鄂医疗队\",\"destination\":"
                 "\"武汉\",\"date\":\"2020-02-%02d\"}",
                 day, hour, i, i, worker, day);
        return 1;
    }
    if (kind < 85) {
        snprintf(buf, size,
                 "{" ENV ",\"event_id\":\"p%ld\",\"type\":\"subsidy.paid\",\"worker_id\":\"W%ld\","
                 "\"unit_id\":\"U%ld\",\"line\":\"temp_subsidy\",\"period\":\"2020-02\","
                 "\"amount_fen\":%ld,\"date\":\"2020-03-%02d\",\"funding\":\"provincial\"}",
                 day, hour, i, worker, unit, 100 * pick(r, 30000), 1 + (int)pick(r, 28));
        return 2;
    }
    *keyed = 0;
    if (kind < 95) {
        snprintf(buf, size,
                 "{" ENV
                 ",\"event_id\":\"b%ld\",\"type\":\"benefit.delivered\",\"measure\":\"JL-05\","
                 "\"worker_id\":\"W%ld\",\"date\":\"2020-02-%02d\",\"amount_fen\":500000}",
                 day, hour, i, worker, day);
        return 2;
    }
    snprintf(buf, size,
             "{" ENV
             ",\"event_id\":\"m%ld\",\"type\":\"measure.status\",\"region\":\"120106\",\"measure\":"
             "\"HQ-21\",\"status\":\"in_progress\",\"date\":\"2020-02-%02d\",\"note\":\"巡逻\"}",
             day, hour, i, day);
    return 2;
}

/** A keyed original that copies may follow. */
typedef struct original {
    int topic;
    char *line;
} original_t;

/** @brief Make a conflicting copy: same event_id, one field changed. */
static void conflict_of(const char *line, char *out, size_t size)
{
    const char *p = strstr(line, "\"elders\":1");
    if (!p)
        p = strstr(line, "\"exposure\":\"");
    if (!p)
        p = strstr(line, "\"amount_fen\":");
    if (!p)
        p = strstr(line, "\"level\":\"county\"");
    if (!p) {
        snprintf(out, size, "%s", line);
        return;
    }
    const char *repl = strncmp(p, "\"elders\"", 8) == 0      ? "\"elders\":2"
                       : strncmp(p, "\"exposure\"", 10) == 0 ? "\"exposure\":\"x"
                       : strncmp(p, "\"amount", 7) == 0      ? "\"amount_fen\":7"
                                                             : "\"level\":\"city\"";
    size_t keep = (size_t)(p - line);
    size_t skip = strncmp(p, "\"exposure\"", 10) == 0 ? 13
                  : strncmp(p, "\"amount", 7) == 0    ? 13
                  : strncmp(p, "\"elders\"", 8) == 0  ? 10
                                                      : 16;
    snprintf(out, size, "%.*s%s%s", (int)keep, line, repl, p + skip);
    if (strstr(out, "\"exposure\":\"x")) /* keep it valid: direct <-> other */
        snprintf(out, size, "%.*s\"exposure\":\"%s\"%s", (int)keep, line,
                 strncmp(p + 12, "direct", 6) == 0 ? "other" : "direct",
                 p + 12 + (strncmp(p + 12, "direct", 6) == 0 ? 7 : 6));
}

/** @brief Generate the stream. */
int cl_stream_generate(const char *dir, unsigned seed, long n, double dup_rate,
                       double conflict_rate, int bad_per_kind, cl_stream_expect_t *e)
{
    FILE *f[CL_STREAM_TOPICS];
    rng_t r = {0x9e3779b97f4a7c15ULL ^ seed};
    char line[1024], copy[1024];
    memset(e, 0, sizeof *e);
    static const char *const names[CL_STREAM_TOPICS] = {"reference", "shifts", "assistance"};
    for (int t = 0; t < CL_STREAM_TOPICS; t++) {
        snprintf(e->files[t], sizeof e->files[t], "%s/%s.jsonl", dir, names[t]);
        f[t] = fopen(e->files[t], "w");
        if (!f[t])
            return -1;
    }
    long n_dup = (long)(n * dup_rate), n_conf = (long)(n * conflict_rate);
    long n_bad = bad_per_kind * (long)NBAD;
    long n_valid = n - n_dup - n_conf - n_bad;
    original_t *orig = calloc((size_t)n_valid, sizeof *orig);
    long norig = 0;
    long pending_dup = n_dup, pending_conf = n_conf, pending_bad = n_bad;
    long total_steps = n;
    for (long i = 0; i < total_steps; i++) {
        long left = total_steps - i;
        long r_dup = norig ? pending_dup : 0, r_conf = norig ? pending_conf : 0;
        long roll = pick(&r, left);
        int t;
        if (roll < r_dup) {
            /* An exact copy of a keyed original, later in its own file. */
            original_t *o = &orig[pick(&r, norig)];
            fprintf(f[o->topic], "%s\n", o->line);
            e->lines[o->topic]++;
            e->duplicates++;
            pending_dup--;
        } else if (roll < r_dup + r_conf) {
            original_t *o = &orig[pick(&r, norig)];
            conflict_of(o->line, copy, sizeof copy);
            fprintf(f[o->topic], "%s\n", copy);
            e->lines[o->topic]++;
            expect_dead(e, "conflicting_duplicate");
            pending_conf--;
        } else if (roll < r_dup + r_conf + pending_bad) {
            size_t k = (size_t)(pending_bad % (long)NBAD);
            char id[32];
            snprintf(id, sizeof id, "bad%ld", pending_bad);
            const char *reason = cl_gen_bad_line(k, id, line, sizeof line, &t);
            fprintf(f[t], "%s\n", line);
            e->lines[t]++;
            expect_dead(e, reason);
            pending_bad--;
        } else {
            int keyed;
            t = valid_line(&r, i, line, sizeof line, &keyed);
            fprintf(f[t], "%s\n", line);
            e->lines[t]++;
            e->accepted++;
            if (keyed && norig < n_valid) {
                orig[norig].topic = t;
                orig[norig++].line = strdup(line);
            }
        }
    }
    /* Too large: 64 KiB + 1 of an otherwise valid event. */
    for (int k = 0; k < bad_per_kind; k++) {
        int pad = 65536; /* with the envelope: over 64 KiB */
        fprintf(f[2],
                "{\"schema\":\"careledger/"
                "1\",\"event_id\":\"big%d\",\"type\":\"injury.recognized\",\"occurred_at\":\"2020-"
                "02-01T00:00:00Z\",\"case_id\":\"K\",\"date\":\"2020-02-01\",\"pad\":\"%0*d\"}\n",
                k, pad, 0);
        e->lines[2]++;
        expect_dead(e, "too_large");
    }
    for (long i = 0; i < norig; i++)
        free(orig[i].line);
    free(orig);
    int rc = 0;
    for (int t = 0; t < CL_STREAM_TOPICS; t++)
        rc |= fclose(f[t]);
    e->total = e->lines[0] + e->lines[1] + e->lines[2];
    return rc ? -1 : 0;
}
