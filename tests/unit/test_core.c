/**
 * @file test_core.c
 * @brief Core pieces: dates, instants, time zones, the JSON scanner, SHA-256,
 * configuration, logging helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "careledger/config.h"
#include "careledger/json.h"
#include "careledger/log.h"
#include "careledger/pg.h"
#include "careledger/sha256.h"
#include "careledger/time.h"
#include "cltest.h"

static void test_dates(void)
{
    int32_t d;
    char buf[CL_DATE_LEN];
    CU_ASSERT_EQUAL(cl_date_parse("1970-01-01", &d), 0);
    CU_ASSERT_EQUAL(d, 0);
    CU_ASSERT_EQUAL(cl_date_parse("2020-02-29", &d), 0);
    CU_ASSERT_STRING_EQUAL(cl_date_format(d, buf), "2020-02-29");
    CU_ASSERT_EQUAL(cl_date_parse("2021-02-29", &d), -1);
    CU_ASSERT_EQUAL(cl_date_parse("1900-02-29", &d), -1); /* not a leap year */
    CU_ASSERT_EQUAL(cl_date_parse("2000-02-29", &d), 0);  /* a leap year */
    CU_ASSERT_EQUAL(cl_date_parse("2020-04-31", &d), -1);
    CU_ASSERT_EQUAL(cl_date_parse("2020-1-01", &d), -1);
    CU_ASSERT_EQUAL(cl_date_parse("2020-01-01 ", &d), -1);
    int32_t a, b;
    cl_date_parse("2020-02-16", &a);
    cl_date_parse("2020-02-29", &b);
    CU_ASSERT_EQUAL(b - a + 1, 14); /* 吉林's deployment: 14 calendar days */
    int32_t m;
    char mb[CL_MONTH_LEN];
    CU_ASSERT_EQUAL(cl_month_parse("2020-02", &m), 0);
    CU_ASSERT_STRING_EQUAL(cl_month_format(m, mb), "2020-02");
    CU_ASSERT_EQUAL(cl_month_of_date(b), m);
    CU_ASSERT_STRING_EQUAL(cl_date_format(cl_month_first_day(m + 1), buf), "2020-03-01");
    CU_ASSERT_EQUAL(cl_month_parse("2020-00", &m), -1);
}

static void test_instants(void)
{
    int64_t a, b;
    char buf[CL_INSTANT_LEN];
    CU_ASSERT_EQUAL(cl_instant_parse("2020-02-10T23:30:00+08:00", &a), 0);
    CU_ASSERT_EQUAL(cl_instant_parse("2020-02-10T15:30:00Z", &b), 0);
    CU_ASSERT_EQUAL(a, b);
    CU_ASSERT_STRING_EQUAL(cl_instant_format(a, buf), "2020-02-10T15:30:00Z");
    CU_ASSERT_EQUAL(cl_instant_parse("2020-02-10T15:30:00.123456789Z", &b), 0);
    CU_ASSERT_EQUAL(b - a, 123456);
    CU_ASSERT_STRING_EQUAL(cl_instant_format(b, buf), "2020-02-10T15:30:00.123456Z");
    CU_ASSERT_EQUAL(cl_instant_parse("2020-02-10T15:30:00-05:30", &b), 0);
    CU_ASSERT_EQUAL(b - a, (int64_t)(5 * 3600 + 1800) * 1000000);
    CU_ASSERT_EQUAL(cl_instant_parse("2020-02-10T15:30:00", &b), -1);  /* no offset */
    CU_ASSERT_EQUAL(cl_instant_parse("2020-02-10 15:30:00Z", &b), -1); /* space */
    CU_ASSERT_EQUAL(cl_instant_parse("2020-02-10T24:00:00Z", &b), -1);
    CU_ASSERT_EQUAL(cl_instant_parse("2020-02-10T23:59:60Z", &b), -1); /* leap second */
    CU_ASSERT_EQUAL(cl_instant_parse("2020-02-10T15:30:00+24:00", &b), -1);
    CU_ASSERT_EQUAL(cl_instant_parse("2020-02-10T15:30:00.Z", &b), -1);
    CU_ASSERT_EQUAL(cl_instant_parse("2021-02-29T00:00:00Z", &b), -1);
}

/* The formatters write digits by hand on ingest's hot path: each equals the printf form it
 * replaced, over instants spread across the years, fractions and days' ends. */
static void test_format_matches_printf(void)
{
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* 1900-01-01 .. 2200-01-01, half of them on whole seconds. */
        int64_t us = -2208988800LL * 1000000 + (int64_t)(x % (300ULL * 366 * 86400 * 1000000));
        if (i & 1)
            us -= ((us % 1000000) + 1000000) % 1000000;
        int64_t t = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
        int64_t frac = us - t * 1000000;
        int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
        int64_t sod = t - days * 86400;
        int y, m, d;
        cl_date_to_civil((int32_t)days, &y, &m, &d);
        char want[64], got[CL_INSTANT_LEN], wd[32], gd[CL_DATE_LEN];
        if (frac)
            snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (long)frac);
        else
            snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
        snprintf(wd, sizeof wd, "%04d-%02d-%02d", y, m, d);
        cl_instant_format(us, got);
        cl_date_format((int32_t)days, gd);
        if (strcmp(want, got) != 0 || strcmp(wd, gd) != 0) {
            CU_FAIL("a formatted instant or date differs from printf's");
            fprintf(stderr, "%lld: %s / %s, %s / %s\n", (long long)us, want, got, wd, gd);
            return;
        }
    }
    CU_PASS("200,000 instants and dates");
}

static void test_zones(void)
{
    char err[256], buf[CL_DATE_LEN];
    int64_t t;
    cl_tz_t *sh = cl_tz_create("Asia/Shanghai", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sh);
    CU_ASSERT_STRING_EQUAL(cl_tz_name(sh), "Asia/Shanghai");
    cl_instant_parse("2020-02-10T15:59:59Z", &t);
    CU_ASSERT_STRING_EQUAL(cl_date_format(cl_tz_local_date(sh, t), buf), "2020-02-10");
    cl_instant_parse("2020-02-10T16:00:00Z", &t);
    CU_ASSERT_STRING_EQUAL(cl_date_format(cl_tz_local_date(sh, t), buf), "2020-02-11");
    CU_ASSERT_EQUAL(cl_tz_offset(sh, t / 1000000), 8 * 3600);
    /* China observed DST in 1988: the database knows. */
    cl_instant_parse("1988-07-01T00:00:00Z", &t);
    CU_ASSERT_EQUAL(cl_tz_offset(sh, t / 1000000), 9 * 3600);
    cl_tz_destroy(sh);
    /* A zone with a DST rule after its last transition (the TZif footer). */
    cl_tz_t *ny = cl_tz_create("America/New_York", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ny);
    cl_instant_parse("2050-07-01T12:00:00Z", &t);
    CU_ASSERT_EQUAL(cl_tz_offset(ny, t / 1000000), -4 * 3600);
    cl_instant_parse("2050-01-01T12:00:00Z", &t);
    CU_ASSERT_EQUAL(cl_tz_offset(ny, t / 1000000), -5 * 3600);
    /* DST 2050 starts on the second Sunday of March (13th) at 02:00 local = 07:00Z. */
    cl_instant_parse("2050-03-13T06:59:59Z", &t);
    CU_ASSERT_EQUAL(cl_tz_offset(ny, t / 1000000), -5 * 3600);
    cl_instant_parse("2050-03-13T07:00:00Z", &t);
    CU_ASSERT_EQUAL(cl_tz_offset(ny, t / 1000000), -4 * 3600);
    cl_tz_destroy(ny);
    CU_ASSERT_PTR_NULL(cl_tz_create("Mars/Olympus", err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown time zone"));
    CU_ASSERT_PTR_NULL(cl_tz_create("../../etc/passwd", err, sizeof err));
}

/** @brief Scan a NUL-terminated document. */
static cl_json_status_t scan(cl_json_scanner_t *sc, const char *s)
{
    char why[160];
    return cl_json_scan(sc, s, strlen(s), why, sizeof why);
}

static void test_scanner(void)
{
    cl_json_scanner_t *sc = cl_json_scanner_create();
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":1,\"b\":\"x\",\"c\":[1,{\"d\":null}],\"e\":true}"),
                    CL_JSON_OK);
    CU_ASSERT_EQUAL(cl_json_count(sc), 4);
    CU_ASSERT_EQUAL(cl_json_get(sc, "c")->type, 'a');
    CU_ASSERT_EQUAL(cl_json_get(sc, "b")->type, 's');
    CU_ASSERT_PTR_NULL(cl_json_get(sc, "d")); /* only top-level members */
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":1,\"a\":2}"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":1,\"\\u0061\":2}"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, "{\"x\":{\"k\":1,\"k\":1}}"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, "{\"x\":{\"k\":1},\"y\":{\"k\":1}}"),
                    CL_JSON_OK); /* same key, two objects */
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":\"x\\u0000y\"}"), CL_JSON_OK);
    CU_ASSERT_TRUE(cl_json_get(sc, "a")->has_nul);
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":\"\\\\u0000\"}"), CL_JSON_OK); /* an escaped backslash */
    CU_ASSERT_FALSE(cl_json_get(sc, "a")->has_nul);
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":\"\\ud83d\\ude00\"}"), CL_JSON_OK); /* a surrogate pair */
    char out[16];
    const cl_json_member_t *m = cl_json_get(sc, "a");
    CU_ASSERT_EQUAL(cl_json_unescape("\"\\ud83d\\ude00\"", 14, out, sizeof out), 4);
    CU_ASSERT_EQUAL(memcmp(out, "\xf0\x9f\x98\x80", 4), 0);
    (void)m;
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":\"\\ude00\"}"), CL_JSON_BAD_UTF8);
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":\"\xed\xa0\x80\"}"), CL_JSON_BAD_UTF8); /* encoded surrogate */
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":\"\xc0\xaf\"}"), CL_JSON_BAD_UTF8);     /* overlong */
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":01}"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":1.}"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":1,}"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":1} x"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":\"tab\there\"}"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":tru}"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, "{\"a\":[1,2"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, "[]"), CL_JSON_INVALID);
    CU_ASSERT_EQUAL(scan(sc, " { } "), CL_JSON_OK);
    cl_json_scanner_destroy(sc);
    char why[64];
    CU_ASSERT_EQUAL(cl_json_check("[1,2,3]", 7, why, sizeof why), CL_JSON_OK);
    CU_ASSERT_EQUAL(cl_json_check("[{\"a\":1,\"a\":1}]", 15, why, sizeof why), CL_JSON_INVALID);
}

/** @brief Exact integer of a token. */
static cl_json_int_status_t jint(const char *s, int64_t *v)
{
    return cl_json_int(s, strlen(s), v);
}

static void test_exact_ints(void)
{
    int64_t v;
    CU_ASSERT_EQUAL(jint("0", &v), CL_JSON_INT_OK);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(jint("-0", &v), CL_JSON_INT_OK);
    CU_ASSERT_EQUAL(jint("9223372036854775807", &v), CL_JSON_INT_OK);
    CU_ASSERT_EQUAL(v, INT64_MAX);
    CU_ASSERT_EQUAL(jint("-9223372036854775808", &v), CL_JSON_INT_OK);
    CU_ASSERT_EQUAL(v, INT64_MIN);
    CU_ASSERT_EQUAL(jint("9223372036854775808", &v), CL_JSON_INT_RANGE);
    CU_ASSERT_EQUAL(jint("9007199254740993", &v), CL_JSON_INT_OK);
    CU_ASSERT_EQUAL(v, 9007199254740993LL); /* a double would say ...992 */
    CU_ASSERT_EQUAL(jint("1.5", &v), CL_JSON_INT_FRACTION);
    CU_ASSERT_EQUAL(jint("15e-1", &v), CL_JSON_INT_FRACTION);
    CU_ASSERT_EQUAL(jint("1.50e1", &v), CL_JSON_INT_OK);
    CU_ASSERT_EQUAL(v, 15);
    CU_ASSERT_EQUAL(jint("12000e-3", &v), CL_JSON_INT_OK);
    CU_ASSERT_EQUAL(v, 12);
    CU_ASSERT_EQUAL(jint("1e19", &v), CL_JSON_INT_RANGE);
    CU_ASSERT_EQUAL(jint("0.000", &v), CL_JSON_INT_OK);
    CU_ASSERT_EQUAL(v, 0);
}

static void test_sha256(void)
{
    static const char *const want[] = {
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"};
    static const char *const in[] = {"", "abc",
                                     "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"};
    for (int i = 0; i < 3; i++) {
        cl_sha256_t s;
        uint8_t out[32];
        char hex[65];
        cl_sha256_init(&s);
        cl_sha256_update(&s, in[i], strlen(in[i]));
        cl_sha256_final(&s, out);
        for (int k = 0; k < 32; k++)
            sprintf(hex + 2 * k, "%02x", out[k]);
        CU_ASSERT_STRING_EQUAL(hex, want[i]);
    }
}

/** @brief Write a config file into a temp dir; returns its path (static). */
static const char *write_config(const char *text)
{
    static char path[256];
    char dir[] = "/tmp/cl-config-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/careledger.json", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_config(void)
{
    cl_config_t c;
    char err[512];
    const char *p = write_config(
        "{\"kafka\":{\"bootstrap.servers\":\"127.0.0.1:9092\",\"session.timeout.ms\":6000,"
        "\"enable.idempotence\":true},\"postgres\":{\"conninfo\":\"dbname=x\"},"
        "\"ingest\":{\"workers\":2,\"batch_max\":1000},\"policies\":\"pol/*.json\","
        "\"reports\":{\"jurisdictions\":[\"220000\"],\"formats\":[\"json\",\"pdf\"]}}");
    CU_ASSERT_EQUAL_FATAL(cl_config_load(p, &c, err, sizeof err), 0);
    CU_ASSERT_EQUAL(c.n_kafka, 3);
    CU_ASSERT_STRING_EQUAL(c.kafka[1].value, "6000");
    CU_ASSERT_STRING_EQUAL(c.kafka[2].value, "true");
    CU_ASSERT_EQUAL(c.ingest_workers, 2);
    CU_ASSERT_EQUAL(c.batch_max, 1000);
    CU_ASSERT_EQUAL(c.linger_ms, 200); /* default */
    CU_ASSERT_EQUAL(c.n_topics, 3);
    CU_ASSERT_STRING_EQUAL(c.http_listen, "127.0.0.1:9187");
    CU_ASSERT_EQUAL(c.n_policies, 1);
    CU_ASSERT_EQUAL(c.policies[0][0], '/'); /* relative to the file's folder */
    CU_ASSERT_PTR_NOT_NULL(strstr(c.policies[0], "/pol/*.json"));
    CU_ASSERT_EQUAL(c.n_formats, 2);
    cl_config_t d;
    CU_ASSERT_EQUAL_FATAL(cl_config_load(p, &d, err, sizeof err), 0);
    char keys[256];
    cl_config_restart_keys(&c, &d, keys, sizeof keys);
    CU_ASSERT_STRING_EQUAL(keys, "");
    d.batch_max = 7;
    cl_config_restart_keys(&c, &d, keys, sizeof keys);
    CU_ASSERT_STRING_EQUAL(keys, "ingest.batch_max");
    cl_config_clear(&c);
    cl_config_clear(&d);

    p = write_config("{\"ingest\":{\"wrokers\":2}}");
    CU_ASSERT_EQUAL(cl_config_load(p, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ingest.wrokers: unknown key"));
    p = write_config("{\"colour\":1}");
    CU_ASSERT_EQUAL(cl_config_load(p, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "colour: unknown key"));
    p = write_config("{\"ingest\":{\"batch_max\":0}}");
    CU_ASSERT_EQUAL(cl_config_load(p, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ingest.batch_max: 0 out of range"));
    /* A number beyond long is out of range, not converted first (undefined behaviour). */
    p = write_config("{\"ingest\":{\"batch_max\":1e300}}");
    CU_ASSERT_EQUAL(cl_config_load(p, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ingest.batch_max: 1e+300 out of range"));
    p = write_config("{\"ingest\":{\"batch_max\":2.5}}");
    CU_ASSERT_EQUAL(cl_config_load(p, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ingest.batch_max: expected an integer"));
    p = write_config("{\"kafka\":{\"fetch.max.bytes\":1e300}}");
    CU_ASSERT_EQUAL(cl_config_load(p, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "fetch.max.bytes: expected a string, number or boolean"));
    p = write_config("{\"reports\":{\"daily_at\":\"25:00\"}}");
    CU_ASSERT_EQUAL(cl_config_load(p, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "reports.daily_at"));
    p = write_config("{\"log\":{\"level\":\"loud\"}}");
    CU_ASSERT_EQUAL(cl_config_load(p, &c, err, sizeof err), -1);
    p = write_config("{\"log\":{\"level\":\"info\"},\"log\":{\"level\":\"debug\"}}");
    CU_ASSERT_EQUAL(cl_config_load(p, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "twice"));
    CU_ASSERT_EQUAL(cl_config_load("/nonexistent.json", &c, err, sizeof err), -1);
    /* The example configuration is valid. */
    CU_ASSERT_EQUAL(
        cl_config_load(cl_test_src("config/careledger.example.json"), &c, err, sizeof err), 0);
    cl_config_clear(&c);
    CU_ASSERT_TRUE(cl_config_kafka_secret("sasl.password"));
    CU_ASSERT_FALSE(cl_config_kafka_secret("bootstrap.servers"));
}

/** @brief cl_pg_redact() of @p in equals @p want, and masks @p n values. */
static void redacts(const char *in, const char *want, int n)
{
    char out[512];
    int got = cl_pg_redact(in, out, sizeof out);
    if (strcmp(out, want) != 0 || got != n)
        fprintf(stderr, "\n  redact(%s) = %s (%d), expected %s (%d)\n", in, out, got, want, n);
    CU_ASSERT_STRING_EQUAL(out, want);
    CU_ASSERT_EQUAL(got, n);
}

static void test_redaction(void)
{
    redacts("host=db user=app password=s3cret dbname=x", "host=db user=app password=*** dbname=x",
            1);
    redacts("password = 'a b\\'c' host=db", "password=*** host=db", 1);
    redacts("postgresql://app:s3cret@db:5432/x?sslmode=require",
            "postgresql://app:***@db:5432/x?sslmode=require", 1);
    redacts("postgresql://db/x?password=s3cret&user=u", "postgresql://db/x?password=***&user=u", 1);
    /* No secret: unchanged, nothing counted. */
    redacts("dbname=careledger", "dbname=careledger", 0);
    redacts("", "", 0);
    redacts("postgres://app@db/x", "postgres://app@db/x", 0);
    /* Tabs separate like spaces; an unquoted value may escape a space. */
    redacts("host=db\tpassword=s3\\ cret\tdbname=x", "host=db\tpassword=***\tdbname=x", 1);
    redacts("sslpassword=k3y host=db", "sslpassword=*** host=db", 1);
    /* Unparsable text after a password: the rest is masked, the part before is kept. */
    redacts("dbname=x password=s3 cret", "dbname=x password=*** ***", 2);
    redacts("dbname=x password='s3cret", "dbname=x password=***", 1);
    /* A password holding '@' or '/' unencoded is hidden whole. */
    redacts("postgresql://app:s3@c/ret@db/x", "postgresql://app:***@db/x", 1);
    /* A URI libpq cannot parse hides everything after a password parameter. */
    redacts("postgresql://db/x?password=s3&cret", "postgresql://db/x?password=***", 1);
    redacts("postgresql://db/x?password=s3cret&user=u&x", "postgresql://db/x?password=***", 1);
    /* Never more than the buffer. */
    char small[8];
    cl_pg_redact("password=s3cret dbname=careledger", small, sizeof small);
    CU_ASSERT_EQUAL(strlen(small), 7);
    CU_ASSERT_PTR_NULL(strstr(small, "s3"));
    char q[64];
    CU_ASSERT_STRING_EQUAL(cl_log_quote(q, sizeof q, "a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
}

/** @brief cl_pg_scrub() of libpq's message @p msg about @p conninfo equals @p want. */
static void scrubs(const char *msg, const char *conninfo, const char *want)
{
    char out[512];
    cl_pg_scrub(msg, conninfo, out, sizeof out);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "\n  scrub(%s) = %s, expected %s\n", msg, out, want);
    CU_ASSERT_STRING_EQUAL(out, want);
}

static void test_scrub(void)
{
    unsetenv("PGPASSWORD");
    /* The messages are libpq 15's own, for these conninfo strings. */
    scrubs("invalid percent-encoded token: \"SEK%zzRIT\"\n", "postgresql://u:SEK%zzRIT@h/db",
           "invalid percent-encoded token: \"***\"\n");
    scrubs("end of string reached when looking for matching \"]\" in IPv6 host address in URI: "
           "\"postgresql://u:SEKRIT@[::1/db\"\n",
           "postgresql://u:SEKRIT@[::1/db",
           "end of string reached when looking for matching \"]\" in IPv6 host address in URI: "
           "\"***\"\n");
    scrubs("missing \"=\" after \"RIT\" in connection info string\n", "password=SEK RIT",
           "missing \"=\" after \"***\" in connection info string\n");
    /* What does not come from a password stays: an unknown key, a host. */
    scrubs("invalid connection option \"passwrd\"\n", "dbname=x passwrd=1",
           "invalid connection option \"passwrd\"\n");
    scrubs("connection to server on socket \"/x/.s.PGSQL.5432\" failed", "host=/x password=SEKRIT",
           "connection to server on socket \"/x/.s.PGSQL.5432\" failed");
    /* A parsed password, and $PGPASSWORD, are hidden wherever they appear. */
    scrubs("role \"SEKRIT\" does not exist", "user=SEKRIT password=SEKRIT",
           "role \"***\" does not exist");
    setenv("PGPASSWORD", "ENVSEKRIT", 1);
    scrubs("echo ENVSEKRIT and ENVSEKRIT", "", "echo *** and ***");
    unsetenv("PGPASSWORD");
    /* A short secret never overflows the buffer, nor loops on its own mask. */
    char out[8];
    cl_pg_scrub("a*b*c*d*e*f", "password=*", out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "a***b");
    cl_pg_scrub("xyxyxyxyxy", "password=y", out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "x***x");
}

/** @brief Set a file's permission bits. */
static void set_mode(const char *path, unsigned mode)
{
    CU_ASSERT_EQUAL(chmod(path, mode), 0);
}

static void test_exposure(void)
{
    cl_config_t c;
    char err[512];
    unsigned mode = 0;
    /* A password in the conninfo, in either form, or a secret Kafka property. */
    static const char *const secret[] = {
        "{\"postgres\":{\"conninfo\":\"dbname=x password=s3cret\"}}",
        "{\"postgres\":{\"conninfo\":\"postgresql://u:s3cret@db/x\"}}",
        "{\"kafka\":{\"sasl.password\":\"s3cret\"}}", NULL};
    for (int i = 0; secret[i]; i++) {
        const char *p = write_config(secret[i]);
        CU_ASSERT_EQUAL_FATAL(cl_config_load(p, &c, err, sizeof err), 0);
        CU_ASSERT_TRUE(cl_config_has_secret(&c));
        set_mode(p, 0644);
        CU_ASSERT_TRUE(cl_config_exposed(&c, &mode));
        CU_ASSERT_EQUAL(mode, 0644);
        set_mode(p, 0640);
        CU_ASSERT_TRUE(cl_config_exposed(&c, NULL));
        set_mode(p, 0600);
        CU_ASSERT_FALSE(cl_config_exposed(&c, NULL));
        cl_config_clear(&c);
    }
    /* No secret: readable by all is fine. */
    const char *p = write_config("{\"postgres\":{\"conninfo\":\"dbname=x\"}}");
    CU_ASSERT_EQUAL_FATAL(cl_config_load(p, &c, err, sizeof err), 0);
    set_mode(p, 0644);
    CU_ASSERT_FALSE(cl_config_has_secret(&c));
    CU_ASSERT_FALSE(cl_config_exposed(&c, NULL));
    cl_config_clear(&c);
}

static void test_take_reloadable(void)
{
    cl_config_t run, fresh;
    char err[512];
    const char *p = write_config("{\"postgres\":{\"conninfo\":\"dbname=a\"},\"reports\":{"
                                 "\"formats\":[\"pdf\",\"json\"],\"lang\":\"zh\"}}");
    CU_ASSERT_EQUAL_FATAL(cl_config_load(p, &run, err, sizeof err), 0);
    p = write_config("{\"postgres\":{\"conninfo\":\"dbname=b\"},\"reports\":{"
                     "\"formats\":[\"csv\"],\"jurisdictions\":[\"220000\"],\"lang\":\"en\"},"
                     "\"log\":{\"level\":\"warn\"}}");
    CU_ASSERT_EQUAL_FATAL(cl_config_load(p, &fresh, err, sizeof err), 0);
    cl_config_take_reloadable(&run, &fresh);
    /* Every reloadable key is the new one; restart-only keys stay as running. */
    CU_ASSERT_EQUAL(run.n_formats, 1);
    CU_ASSERT_STRING_EQUAL(run.formats[0], "csv");
    CU_ASSERT_EQUAL(run.n_jurisdictions, 1);
    CU_ASSERT_STRING_EQUAL(run.jurisdictions[0], "220000");
    CU_ASSERT_STRING_EQUAL(run.lang, "en");
    CU_ASSERT_STRING_EQUAL(run.log_level, "warn");
    CU_ASSERT_STRING_EQUAL(run.pg_conninfo, "dbname=a");
    CU_ASSERT_EQUAL(fresh.n_formats, 2);
    cl_config_clear(&fresh);
    cl_config_clear(&run);
}

static void test_listen(void)
{
    cl_config_t c;
    char host[64], port[16];
    /* Loopback unless configured otherwise. */
    CU_ASSERT_EQUAL_FATAL(cl_config_defaults(&c), 0);
    CU_ASSERT_STRING_EQUAL(c.http_listen, "127.0.0.1:9187");
    cl_config_clear(&c);
    CU_ASSERT_EQUAL(cl_config_listen_split("[::1]:9187", host, sizeof host, port, sizeof port), 0);
    CU_ASSERT_STRING_EQUAL(host, "::1");
    CU_ASSERT_STRING_EQUAL(port, "9187");
    CU_ASSERT_EQUAL(cl_config_listen_split(":9187", host, sizeof host, port, sizeof port), -1);
    CU_ASSERT_EQUAL(cl_config_listen_split("db:", host, sizeof host, port, sizeof port), -1);
    CU_ASSERT_TRUE(cl_config_listen_loopback("127.0.0.1:9187"));
    CU_ASSERT_TRUE(cl_config_listen_loopback("127.1.2.3:9187"));
    CU_ASSERT_TRUE(cl_config_listen_loopback("[::1]:9187"));
    CU_ASSERT_TRUE(cl_config_listen_loopback("localhost:9187"));
    CU_ASSERT_FALSE(cl_config_listen_loopback("0.0.0.0:9187"));
    CU_ASSERT_FALSE(cl_config_listen_loopback("[::]:9187"));
    CU_ASSERT_FALSE(cl_config_listen_loopback("10.1.2.3:9187"));
    /* A name is judged by what it resolves to, not by how it starts. */
    CU_ASSERT_FALSE(cl_config_listen_loopback("127.example.invalid:9187"));
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {{"dates and months", test_dates},
                                      {"RFC 3339 instants", test_instants},
                                      {"formatters equal printf", test_format_matches_printf},
                                      {"time zones from the tz database", test_zones},
                                      {"strict JSON scanner", test_scanner},
                                      {"exact integers", test_exact_ints},
                                      {"SHA-256 vectors", test_sha256},
                                      {"configuration table", test_config},
                                      {"secrets redacted", test_redaction},
                                      {"libpq messages scrubbed", test_scrub},
                                      {"a readable secret is exposed", test_exposure},
                                      {"HTTP on loopback by default", test_listen},
                                      {"SIGHUP takes the reloadable keys", test_take_reloadable},
                                      {NULL, NULL}};
    return cl_test_add_suite("core", tests);
}
