/**
 * @file cmd_status.c
 * @brief `careledger status [--json]` and `careledger dead-letters`.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/kafka.h"
#include "common.h"

static const char SQL_TOTALS[] =
    "SELECT coalesce(sum(accepted), 0), coalesce(sum(duplicates), 0), "
    "to_char(max(watermark) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
    "FROM careledger.offsets WHERE consumer_group = $1";
static const char SQL_DEAD_BY_REASON[] =
    "SELECT reason, count(*) FROM careledger.dead_letters GROUP BY reason ORDER BY reason";
static const char SQL_OFFSETS[] =
    "SELECT topic, partition, next_offset FROM careledger.offsets WHERE consumer_group = $1 "
    "ORDER BY topic, partition";
static const char SQL_DEAD_LIST[] =
    "SELECT id, src_topic, src_partition, src_offset, reason, message, payload, received_at "
    "FROM careledger.dead_letters WHERE ($1::text IS NULL OR reason = $1) ORDER BY id LIMIT $2";

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
            cl_cli_opts_free(&o);
            return cl_cli_fail("status: unexpected argument %s", o.rest[i]);
        }
        json = 1;
    }
    if (o.help) {
        printf("usage: careledger status [--json] [--config FILE]\n\n"
               "Events accepted, exact duplicates, dead letters by reason, the stored offset\n"
               "of every topic and partition, and the data watermark (the latest occurred_at\n"
               "accepted). accepted + duplicates + dead letters = messages consumed.\n");
        cl_cli_opts_free(&o);
        return 0;
    }
    if (cl_cli_load_config(&o, &cfg)) {
        cl_cli_opts_free(&o);
        return 1;
    }
    int rc = 1;
    PGresult *tot = NULL, *dead = NULL, *offs = NULL;
    PGconn *c = cl_cli_connect(&cfg, "careledger-status");
    const char *group = cl_kafka_group(&cfg);
    if (!c || !(tot = query(c, SQL_TOTALS, 1, &group)) ||
        !(dead = query(c, SQL_DEAD_BY_REASON, 0, NULL)) ||
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

/** @brief Print a payload safely: printable UTF-8 as is, the rest as \xNN, cut at @p max. */
static void print_safe(const unsigned char *p, size_t n, size_t max)
{
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = p[i];
        if (c == '\\')
            fputs("\\\\", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else if (c < 0x80)
            putchar(c);
        else {
            /* Keep valid multi-byte sequences (Chinese names), escape stray bytes. */
            size_t len = (c & 0xe0) == 0xc0   ? 2
                         : (c & 0xf0) == 0xe0 ? 3
                         : (c & 0xf8) == 0xf0 ? 4
                                              : 0;
            int ok = len && i + len <= n;
            for (size_t k = 1; ok && k < len; k++)
                ok = (p[i + k] & 0xc0) == 0x80;
            if (ok) {
                fwrite(p + i, 1, len, stdout);
                i += len - 1;
            } else {
                printf("\\x%02x", c);
            }
        }
    }
    if (n > max)
        printf("… (%zu bytes)", n);
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
            cl_cli_opts_free(&o);
            return cl_cli_fail("dead-letters: unexpected argument %s", o.rest[i]);
        }
    }
    if (atol(limit) < 1) {
        cl_cli_opts_free(&o);
        return cl_cli_fail("dead-letters: --limit must be a positive number");
    }
    if (o.help) {
        printf("usage: careledger dead-letters [--reason R] [--limit N] [--config FILE]\n\n"
               "Lists rejected messages, oldest first (default 50): where each was read, its\n"
               "reason code (SPEC §11) and message, and its payload shown safely (control\n"
               "and invalid bytes as \\xNN, long payloads cut at 400 bytes).\n");
        cl_cli_opts_free(&o);
        return 0;
    }
    if (cl_cli_load_config(&o, &cfg)) {
        cl_cli_opts_free(&o);
        return 1;
    }
    int rc = 1;
    PGconn *c = cl_cli_connect(&cfg, "careledger-dead-letters");
    const char *params[2] = {reason, limit};
    PGresult *r = NULL;
    if (c) {
        r = PQexecParams(c, SQL_DEAD_LIST, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            cl_cli_fail("%s", PQresultErrorMessage(r));
        } else {
            for (int i = 0; i < PQntuples(r); i++) {
                printf("#%s %s[%s]@%s %s: %s\n  ", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
                       PQgetvalue(r, i, 5));
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
