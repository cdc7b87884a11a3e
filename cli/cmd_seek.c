/**
 * @file cmd_seek.c
 * @brief `careledger seek`: move a stored offset back, so that the daemon reads
 * a partition again from there (a replay, or a re-drive of dead letters).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/kafka.h"
#include "common.h"

static const char USAGE[] =
    "usage: careledger seek --topic T --partition P --offset N [--config FILE]\n\n"
    "Moves the offset stored in PostgreSQL for the configured consumer group back\n"
    "to N, so that careledgerd reads the partition again from N when it next starts\n"
    "(the daemon seeks to the stored offsets on assignment; Kafka's own committed\n"
    "offsets are not used). Events stored already count once more as duplicates and\n"
    "change no figure; a message that was a dead letter is decoded again under the\n"
    "policies in force: accepted now if its cause is gone, else a new dead letter.\n"
    "Refuses to move forward (that would skip messages never stored), and refuses\n"
    "while careledgerd or ingest-file is connected to the database: stop it first.\n"
    "A topic file:NAME is the position of `careledger ingest-file` in file NAME.\n";

static const char SQL_INGESTING[] =
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = 'careledger-ingest' AND pid <> pg_backend_pid()";
static const char SQL_LOCK[] =
    "SELECT next_offset FROM careledger.offsets WHERE consumer_group = $1 AND topic = $2 "
    "AND partition = $3 FOR UPDATE";
static const char SQL_SET[] = "UPDATE careledger.offsets SET next_offset = $4, updated_at = now() "
                              "WHERE consumer_group = $1 AND topic = $2 AND partition = $3";

/** @brief Parse a non-negative integer argument; 0, or -1 when it is not one. */
static int parse_nonneg(const char *s, long long max, long long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    long long v = strtoll(s, &end, 10);
    if (*end || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

/** @brief Run @p sql with @p n parameters; the result, or NULL after reporting. */
static PGresult *exec(PGconn *c, const char *sql, int n, const char *const *params,
                      ExecStatusType want)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) == want)
        return r;
    cl_cli_fail("seek: %s", PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

/** @brief careledger seek --topic T --partition P --offset N */
int cl_cli_seek(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    const char *topic = NULL, *part_s = NULL, *off_s = NULL;
    long long part = 0, off = 0;
    if (cl_cli_parse_common(argc, argv, &o))
        return 1;
    int bad = 0;
    for (int i = 0; i < o.nrest && !bad; i++) {
        const char **dst = strcmp(o.rest[i], "--topic") == 0       ? &topic
                           : strcmp(o.rest[i], "--partition") == 0 ? &part_s
                           : strcmp(o.rest[i], "--offset") == 0    ? &off_s
                                                                   : NULL;
        if (!dst || i + 1 >= o.nrest)
            bad = 1;
        else
            *dst = o.rest[++i];
    }
    if (!o.help && !bad &&
        (!topic || !*topic || parse_nonneg(part_s, 0x7fffffffLL, &part) != 0 ||
         parse_nonneg(off_s, 0x7fffffffffffffffLL, &off) != 0))
        bad = 1;
    int early = cl_cli_begin(&o, USAGE, bad, &cfg);
    if (early >= 0)
        return early;
    int rc = 1;
    PGresult *r = NULL;
    PGconn *c = cl_cli_connect(&cfg, "careledger-seek");
    const char *group = cl_kafka_group(&cfg);
    char part_txt[24], off_txt[24], err[256];
    snprintf(part_txt, sizeof part_txt, "%lld", part);
    snprintf(off_txt, sizeof off_txt, "%lld", off);
    const char *params[4] = {group, topic, part_txt, off_txt};
    if (!c || !(r = exec(c, SQL_INGESTING, 0, NULL, PGRES_TUPLES_OK)))
        goto done;
    if (atol(PQgetvalue(r, 0, 0)) > 0) {
        cl_cli_fail("seek: careledgerd or ingest-file is connected to this database (%s "
                    "session(s)); stop it first, seek, then start it again",
                    PQgetvalue(r, 0, 0));
        goto done;
    }
    PQclear(r);
    r = NULL;
    if (cl_pg_exec(c, "BEGIN", err, sizeof err) != 0) {
        cl_cli_fail("seek: %s", err);
        goto done;
    }
    if (!(r = exec(c, SQL_LOCK, 3, params, PGRES_TUPLES_OK)))
        goto done;
    if (PQntuples(r) == 0) {
        cl_cli_fail("seek: group %s has no stored offset for %s [%lld]; the daemon reads it "
                    "from the beginning already",
                    group, topic, part);
        goto done;
    }
    long long cur = atoll(PQgetvalue(r, 0, 0));
    if (off > cur) {
        cl_cli_fail("seek: %s [%lld] has its next offset at %lld; moving forward to %lld would "
                    "skip messages never stored",
                    topic, part, cur, off);
        goto done;
    }
    PQclear(r);
    if (!(r = exec(c, SQL_SET, 4, params, PGRES_COMMAND_OK)) ||
        cl_pg_exec(c, "COMMIT", err, sizeof err) != 0) {
        if (r)
            cl_cli_fail("seek: %s", err);
        goto done;
    }
    printf("%s [%lld] group %s: next offset %lld -> %lld (%lld message(s) to read again when "
           "careledgerd starts)\n",
           topic, part, group, cur, off, cur - off);
    rc = 0;
done:
    PQclear(r);
    if (c)
        PQfinish(c);
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}
