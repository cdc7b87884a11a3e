/**
 * @file cmd_status.c
 * @brief `careledger status [--json]` and `careledger dead-letters`.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/json.h"
#include "careledger/kafka.h"
#include "common.h"

static const char SQL_TOTALS[] =
    "SELECT coalesce(sum(accepted), 0), coalesce(sum(duplicates), 0), "
    "to_char(max(watermark) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
    "FROM careledger.offsets WHERE consumer_group = $1";
static const char SQL_DEAD_BY_REASON[] =
    "SELECT reason, count(*) FROM careledger.dead_letters WHERE consumer_group = $1 "
    "GROUP BY reason ORDER BY reason";
static const char SQL_OFFSETS[] =
    "SELECT topic, partition, next_offset FROM careledger.offsets WHERE consumer_group = $1 "
    "ORDER BY topic, partition";
static const char SQL_DEAD_LIST[] =
    "SELECT id, src_topic, src_partition, src_offset, reason, message, payload, received_at "
    "FROM careledger.dead_letters WHERE consumer_group = $3 AND ($1::text IS NULL OR reason = $1) "
    "ORDER BY id LIMIT $2";

static const char STATUS_USAGE[] =
    "usage: careledger status [--json] [--config FILE]\n\n"
    "Events accepted, exact duplicates, dead letters by reason, the stored offset\n"
    "of every topic and partition, and the data watermark (the latest occurred_at\n"
    "accepted). accepted + duplicates + dead letters = messages consumed.\n";
static const char DEAD_USAGE[] =
    "usage: careledger dead-letters [--reason R] [--limit N] [--config FILE]\n\n"
    "Lists rejected messages, oldest first (default 50): where each was read, its\n"
    "reason code (SPEC §11) and message, and its payload shown safely (control\n"
    "and invalid bytes as \\xNN, long payloads cut at 400 bytes).\n";

/** @brief Run a parameterised query expecting rows; NULL after reporting. */
static PGresult *query(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    cl_cli_fail("%s", PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

/** @brief careledger status [--json] */
int cl_cli_status(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    int json = 0;
    if (cl_cli_parse_common(argc, argv, &o))
        return 1;
    for (int i = 0; i < o.nrest; i++) {
        if (strcmp(o.rest[i], "--json") != 0) {
            int rc = cl_cli_fail("status: unexpected argument %s", o.rest[i]);
            cl_cli_opts_free(&o);
            return rc;
        }
        json = 1;
    }
    int early = cl_cli_begin(&o, STATUS_USAGE, 0, &cfg);
    if (early >= 0)
        return early;
    int rc = 1;
    PGresult *tot = NULL, *dead = NULL, *offs = NULL;
    PGconn *c = cl_cli_connect(&cfg, "careledger-status");
    const char *group = cl_kafka_group(&cfg);
    /* One snapshot, so accepted + duplicates + dead letters = consumed holds exactly. */
    char err[256];
    if (!c || cl_pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, sizeof err) ||
        !(tot = query(c, SQL_TOTALS, 1, &group)) ||
        !(dead = query(c, SQL_DEAD_BY_REASON, 1, &group)) ||
        !(offs = query(c, SQL_OFFSETS, 1, &group)))
        goto done;
    long long accepted = atoll(PQgetvalue(tot, 0, 0)), dups = atoll(PQgetvalue(tot, 0, 1));
    long long dead_total = 0;
    for (int i = 0; i < PQntuples(dead); i++)
        dead_total += atoll(PQgetvalue(dead, i, 1));
    const char *wm = PQgetisnull(tot, 0, 2) ? NULL : PQgetvalue(tot, 0, 2);
    if (json) {
        cJSON *o_ = cJSON_CreateObject();
        cJSON_AddStringToObject(o_, "consumer_group", group);
        cJSON_AddNumberToObject(o_, "accepted", (double)accepted);
        cJSON_AddNumberToObject(o_, "duplicates", (double)dups);
        cJSON *d = cJSON_AddObjectToObject(o_, "dead_letters");
        for (int i = 0; i < PQntuples(dead); i++)
            cJSON_AddNumberToObject(d, PQgetvalue(dead, i, 0),
                                    (double)atoll(PQgetvalue(dead, i, 1)));
        cJSON_AddNumberToObject(o_, "dead_letters_total", (double)dead_total);
        cJSON_AddNumberToObject(o_, "consumed", (double)(accepted + dups + dead_total));
        if (wm)
            cJSON_AddStringToObject(o_, "watermark", wm);
        else
            cJSON_AddNullToObject(o_, "watermark");
        cJSON *a = cJSON_AddArrayToObject(o_, "offsets");
        for (int i = 0; i < PQntuples(offs); i++) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "topic", PQgetvalue(offs, i, 0));
            cJSON_AddNumberToObject(r, "partition", atoi(PQgetvalue(offs, i, 1)));
            cJSON_AddNumberToObject(r, "next_offset", (double)atoll(PQgetvalue(offs, i, 2)));
            cJSON_AddItemToArray(a, r);
        }
        char *s = cJSON_Print(o_);
        if (s)
            puts(s);
        free(s);
        cJSON_Delete(o_);
    } else {
        printf("consumer group  %s\n", group);
        printf("accepted        %lld\nduplicates      %lld\ndead letters    %lld\n", accepted, dups,
               dead_total);
        for (int i = 0; i < PQntuples(dead); i++)
            printf("  %-36s %s\n", PQgetvalue(dead, i, 0), PQgetvalue(dead, i, 1));
        printf("consumed        %lld\nwatermark       %s\noffsets\n", accepted + dups + dead_total,
               wm ? wm : "(none)");
        for (int i = 0; i < PQntuples(offs); i++)
            printf("  %-36s [%s] %s\n", PQgetvalue(offs, i, 0), PQgetvalue(offs, i, 1),
                   PQgetvalue(offs, i, 2));
    }
    rc = 0;
done:
    PQclear(tot);
    PQclear(dead);
    PQclear(offs);
    if (c)
        PQfinish(c);
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}

/**
 * @brief Print bytes safely on a terminal: printable UTF-8 as is, everything
 * else (C0 and C1 controls, DEL, invalid or overlong bytes) as \xNN; cut at @p max.
 */
static void print_safe(const unsigned char *p, size_t n, size_t max)
{
    const unsigned char *end = p + n;
    for (size_t i = 0; i < n && i < max;) {
        unsigned char c = p[i];
        size_t len = cl_utf8_seq(p + i, end);
        int c1 = len == 2 && c == 0xc2 && p[i + 1] < 0xa0; /* U+0080..U+009F */
        if (c == '\\') {
            fputs("\\\\", stdout);
            i++;
        } else if (len == 0 || c < 0x20 || c == 0x7f || c1) {
            printf("\\x%02x", c);
            i++;
        } else {
            fwrite(p + i, 1, len, stdout);
            i += len;
        }
    }
    if (n > max)
        printf("… (%zu bytes)", n);
}

/** @brief print_safe of a NUL-terminated string. */
static void print_safe_str(const char *s)
{
    print_safe((const unsigned char *)s, strlen(s), 1000);
}

/** @brief careledger dead-letters [--reason R] [--limit N] */
int cl_cli_dead_letters(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    const char *reason = NULL, *limit = "50";
    if (cl_cli_parse_common(argc, argv, &o))
        return 1;
    for (int i = 0; i < o.nrest; i++) {
        if (strcmp(o.rest[i], "--reason") == 0 && i + 1 < o.nrest)
            reason = o.rest[++i];
        else if (strcmp(o.rest[i], "--limit") == 0 && i + 1 < o.nrest)
            limit = o.rest[++i];
        else {
            int rc = cl_cli_fail("dead-letters: unexpected argument %s", o.rest[i]);
            cl_cli_opts_free(&o);
            return rc;
        }
    }
    if (atol(limit) < 1) {
        cl_cli_opts_free(&o);
        return cl_cli_fail("dead-letters: --limit must be a positive number");
    }
    int early = cl_cli_begin(&o, DEAD_USAGE, 0, &cfg);
    if (early >= 0)
        return early;
    int rc = 1;
    PGconn *c = cl_cli_connect(&cfg, "careledger-dead-letters");
    const char *params[3] = {reason, limit, cl_kafka_group(&cfg)};
    PGresult *r = NULL;
    if (c) {
        r = PQexecParams(c, SQL_DEAD_LIST, 3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            cl_cli_fail("%s", PQresultErrorMessage(r));
        } else {
            for (int i = 0; i < PQntuples(r); i++) {
                /* Topics, reasons and messages quote input too: all printed safely. */
                printf("#%s ", PQgetvalue(r, i, 0));
                print_safe_str(PQgetvalue(r, i, 1));
                printf("[%s]@%s ", PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
                print_safe_str(PQgetvalue(r, i, 4));
                fputs(": ", stdout);
                print_safe_str(PQgetvalue(r, i, 5));
                fputs("\n  ", stdout);
                size_t n = 0;
                unsigned char *raw =
                    PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 6), &n);
                print_safe(raw, n, 400);
                PQfreemem(raw);
                putchar('\n');
            }
            printf("%d dead letter(s)%s%s\n", PQntuples(r), reason ? " with reason " : "",
                   reason ? reason : "");
            rc = 0;
        }
        PQclear(r);
        PQfinish(c);
    }
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}
