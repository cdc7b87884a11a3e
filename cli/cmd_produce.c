/**
 * @file cmd_produce.c
 * @brief `careledger produce FILE --topic T`: JSONL lines to Kafka, keyed by
 * unit_id when the line has one (a unit's events then keep their order), a
 * cancellation or a return like the shift or departure it names when this run
 * sent that, an event naming a worker or a family by their unit when this run
 * saw it, else by event_id (the copies of an event then keep theirs), else by
 * the line's first bytes: the same file always lands in the same partitions,
 * in order.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/json.h"
#include "careledger/kafka.h"
#include "common.h"

#define KEY_FALLBACK 64 /* bytes of a line that has neither unit_id nor event_id */

/* A cancellation names a shift and a return a departure, not a unit: keyed by their own
 * event_id they land in another partition than the event they name, another worker may
 * hold that event in a batch not yet committed, and the daemon must then make the batch
 * wait for that one, or for every batch in flight (DECISIONS 105, 148). A producer that
 * knows the named event keys them like it, so they follow it in its partition (DECISIONS
 * 145). This run remembers the keys of the shifts and departures it sent in a direct-mapped
 * table: memory does not grow with the file, and what a later line overwrites was sent long
 * before, so its event is long stored too. Keys too long for a slot are not remembered. */
#define TARGET_SLOTS   (1u << 20)
#define TARGET_KEY_MAX 23

typedef struct target_slot {
    uint64_t id; /* FNV-1a of the kind and the named id; 0: empty */
    uint8_t len; /* 0: the event was keyed by its own event_id */
    char key[TARGET_KEY_MAX];
} target_slot_t;

static target_slot_t *targets; /* TARGET_SLOTS, or NULL when there was no memory for them */

/* A delivery, a departure or an injury names a worker or a family, not a unit: keyed by its
 * own event_id, it lands in any partition, and every batch then recomputes people from
 * everywhere, each with all their stored history (DECISIONS 164). Keyed by the unit of the
 * worker (registered, else of their first shift) or of the family (its first registered
 * member's, else that of the worker whose id it is), it follows that unit's shifts. Workers
 * are remembered in a table of their own: the shifts' entries would push them out of the
 * first one long before their deliveries come. */
static target_slot_t *homes; /* TARGET_SLOTS, or NULL when there was no memory for them */
/* The keys of lines keyed through their worker or family, by event_id, so that a copy sent
 * after the worker was first seen follows an original keyed by its own id (R4's "accepted
 * first"): in a table of their own, where shifts cannot push them out. */
static target_slot_t *copies;

static long delivered, failed;

/** @brief Count delivery reports. */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        failed++;
    else
        delivered++;
}

/** @brief A string member @p name of the scanned line into @p key; its length, 0 when absent. */
static size_t member_key(cl_json_scanner_t *sc, const char *line, const char *name, char *key,
                         size_t cap)
{
    const cl_json_member_t *m = cl_json_get(sc, name);
    if (!m || m->type != 's' || m->has_nul)
        return 0;
    long n = cl_json_unescape(line + m->off, m->len, key, cap);
    return n > 0 ? (size_t)n : 0;
}

/** @brief FNV-1a of @p kind then @p s (never 0). */
static uint64_t target_hash(char kind, const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    h = (h ^ (unsigned char)kind) * 1099511628211ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ? h : 1;
}

/** @brief Remember in @p tab that @p kind:@p id was sent with @p key (NULL: its own id). */
static void target_put(target_slot_t *tab, char kind, const char *id, size_t n, const char *key,
                       size_t klen)
{
    if (!key)
        klen = 0;
    if (!tab || !n || klen > TARGET_KEY_MAX || (key && !klen))
        return;
    uint64_t h = target_hash(kind, id, n);
    target_slot_t *t = &tab[h & (TARGET_SLOTS - 1)];
    t->id = h;
    t->len = (uint8_t)klen;
    memcpy(t->key, key, klen);
}

/**
 * @brief The key of @p kind:@p id in table @p tab into @p key of @p cap bytes (its own id when
 * it was keyed by that).
 * @return the key's length, 0 if unknown or longer than @p cap.
 */
static size_t target_get(const target_slot_t *tab, char kind, const char *id, size_t n, char *key,
                         size_t cap)
{
    if (!tab || !n)
        return 0;
    uint64_t h = target_hash(kind, id, n);
    const target_slot_t *t = &tab[h & (TARGET_SLOTS - 1)];
    if (t->id != h)
        return 0;
    if (!t->len) {
        if (n > cap)
            return 0;
        memcpy(key, id, n);
        return n;
    }
    if (t->len > cap)
        return 0;
    memcpy(key, t->key, t->len);
    return t->len;
}

/**
 * @brief The unit key, when this run saw it, of the worker or family a line names into @p key.
 *
 * The worker's, else the family's, else that of the worker whose id the family's is (a
 * worker registered without a family is their own).
 * @return the key's length, 0 if unknown.
 */
static size_t home_key(cl_json_scanner_t *sc, const char *line, char *key, size_t cap)
{
    char id[128];
    size_t n = member_key(sc, line, "worker_id", id, sizeof id);
    if (n)
        return target_get(homes, 'w', id, n, key, cap);
    if (!(n = member_key(sc, line, "family_id", id, sizeof id)))
        return 0;
    size_t k = target_get(homes, 'f', id, n, key, cap);
    return k ? k : target_get(homes, 'w', id, n, key, cap);
}

/** @brief Remember the unit @p key of a registered worker and new family, or a first shift's. */
static void home_note(cl_json_scanner_t *sc, const char *line, int registered, const char *key,
                      size_t klen)
{
    char id[128], seen[128];
    size_t n = member_key(sc, line, "worker_id", id, sizeof id);
    if (registered || !target_get(homes, 'w', id, n, seen, sizeof seen))
        target_put(homes, 'w', id, n, key, klen);
    if (registered && (n = member_key(sc, line, "family_id", id, sizeof id)) &&
        !target_get(homes, 'f', id, n, seen, sizeof seen))
        target_put(homes, 'f', id, n, key, klen);
}

/**
 * @brief The message key of a line into @p key (at least KEY_FALLBACK bytes): its unit_id,
 * else for a cancellation or a return the key of the shift or departure it names when this
 * run sent it, else for a line naming a worker or a family their unit when this run saw it,
 * else its event_id, else its first bytes. A line without a key would go to a random
 * partition, and an event's copies could then be read before the event.
 * @return the key's length (0 only for an empty line).
 */
static size_t line_key(cl_json_scanner_t *sc, const char *line, size_t len, char *key, size_t cap)
{
    char why[8], type[32], id[128], eid[128];
    size_t n = 0;
    if (cl_json_scan(sc, line, len, why, sizeof why) == CL_JSON_OK) {
        size_t tlen = member_key(sc, line, "type", type, sizeof type);
        type[tlen] = '\0';
        size_t elen = member_key(sc, line, "event_id", eid, sizeof eid);
        int cancel = strcmp(type, "shift.cancelled") == 0;
        int named = cancel || strcmp(type, "deployment.ended") == 0;
        /* An earlier copy's key first, so that copies keep their order (one sent before its
         * shift or its worker was seen was keyed by its own id); else the named event's, or
         * the named worker's or family's. */
        if (named && !(n = target_get(targets, 'c', eid, elen, key, cap))) {
            size_t ilen = member_key(sc, line, cancel ? "cancels" : "deployment_id", id, sizeof id);
            n = target_get(targets, cancel ? 's' : 'd', id, ilen, key, cap);
            target_put(targets, 'c', eid, elen, n ? key : NULL, n);
        }
        int by_unit = !n && (n = member_key(sc, line, "unit_id", key, cap)) != 0;
        int names = cl_json_get(sc, "worker_id") || cl_json_get(sc, "family_id");
        if (!n && names && !(n = target_get(copies, 'c', eid, elen, key, cap))) {
            n = home_key(sc, line, key, cap);
            target_put(copies, 'c', eid, elen, n ? key : NULL, n);
        }
        if (!n)
            n = member_key(sc, line, "event_id", key, cap);
        if (n && strcmp(type, "shift.completed") == 0) {
            target_put(targets, 's', eid, elen, key, n);
            if (by_unit)
                home_note(sc, line, 0, key, n);
        } else if (by_unit && strcmp(type, "worker.registered") == 0)
            home_note(sc, line, 1, key, n);
        else if (n && strcmp(type, "deployment.started") == 0)
            target_put(targets, 'd', id, member_key(sc, line, "deployment_id", id, sizeof id), key,
                       n);
    }
    if (!n) {
        n = len < KEY_FALLBACK ? len : KEY_FALLBACK;
        memcpy(key, line, n);
    }
    return n;
}

static const char USAGE[] =
    "usage: careledger produce FILE --topic T [--config FILE]\n\n"
    "Sends each line of a JSONL file as one message to topic T of the configured\n"
    "brokers (kafka.bootstrap.servers), keyed by its unit_id, else its event_id, else\n"
    "its first bytes, so a unit's events and an event's copies keep their order and\n"
    "the same file always lands in the same partitions. A shift.cancelled or a\n"
    "deployment.ended is keyed like the shift or departure it names when this run\n"
    "sent that, so it follows it in its partition; a line that names a worker or a\n"
    "family but no unit is keyed by their unit when this run saw it (the worker's\n"
    "registration or first shift), so it follows that unit's events.\n"
    "Lines are sent as they are, bad ones included: the daemon judges them.\n"
    "FILE - reads standard input.\n";

/** @brief careledger produce FILE --topic T */
int cl_cli_produce(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    char err[1024];
    const char *file = NULL, *topic = NULL;
    if (cl_cli_parse_common(argc, argv, &o))
        return 1;
    for (int i = 0; i < o.nrest; i++) {
        if (strcmp(o.rest[i], "--topic") == 0 && i + 1 < o.nrest)
            topic = o.rest[++i];
        else if ((o.rest[i][0] != '-' || strcmp(o.rest[i], "-") == 0) && !file)
            file = o.rest[i]; /* "-": standard input */
        else {
            int rc = cl_cli_fail("produce: unexpected argument %s", o.rest[i]);
            cl_cli_opts_free(&o); /* after the message: it names one of the options */
            return rc;
        }
    }
    int early = cl_cli_begin(&o, USAGE, !file || !topic, &cfg);
    if (early >= 0)
        return early;
    int rc = 1;
    FILE *f = NULL;
    rd_kafka_t *rk = NULL;
    cl_json_scanner_t *sc = cl_json_scanner_create();
    /* Without all three tables, lines keep their own keys. */
    targets = calloc(TARGET_SLOTS, sizeof *targets);
    homes = calloc(TARGET_SLOTS, sizeof *homes);
    copies = calloc(TARGET_SLOTS, sizeof *copies);
    if (!targets || !homes || !copies) {
        free(targets);
        free(homes);
        free(copies);
        targets = homes = copies = NULL;
    }
    rd_kafka_conf_t *conf = cl_kafka_conf(&cfg, CL_KAFKA_PRODUCER, err, sizeof err);
    if (!conf || !sc) {
        cl_cli_fail("produce: %s", conf ? "out of memory" : err);
        goto done;
    }
    if (cl_kafka_set(conf, "compression.codec", "lz4", err, sizeof err) ||
        cl_kafka_set(conf, "linger.ms", "20", err, sizeof err) ||
        cl_kafka_set(conf, "enable.idempotence", "true", err, sizeof err)) {
        rd_kafka_conf_destroy(conf);
        cl_cli_fail("produce: %s", err);
        goto done;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf); /* not taken over on failure */
        cl_cli_fail("produce: %s", err);
        goto done;
    }
    f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!f) {
        cl_cli_fail("produce: %s: %s", file, strerror(errno));
        goto done;
    }
    char *line = NULL, key[128];
    size_t cap = 0;
    ssize_t n;
    long sent = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        size_t klen = line_key(sc, line, len, key, sizeof key);
        for (;;) {
            rd_kafka_resp_err_t e =
                rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(line, len),
                                  RD_KAFKA_V_KEY(klen ? key : NULL, klen),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 100); /* wait for room */
                continue;
            }
            if (e) {
                failed++;
                fprintf(stderr, "careledger: produce: %s\n", rd_kafka_err2str(e));
            }
            break;
        }
        sent++;
        rd_kafka_poll(rk, 0);
    }
    free(line);
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        cl_cli_fail("produce: %d messages still queued after 60 s", rd_kafka_outq_len(rk));
    else if (failed)
        cl_cli_fail("produce: %ld of %ld messages failed", failed, sent);
    else {
        printf("%s: %ld messages to %s\n", file, delivered, topic);
        rc = 0;
    }
done:
    if (f && f != stdin)
        fclose(f);
    if (rk)
        rd_kafka_destroy(rk);
    cl_json_scanner_destroy(sc);
    free(targets);
    free(homes);
    free(copies);
    targets = homes = copies = NULL;
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}
