/**
 * @file test_event.c
 * @brief Event decoding: every row of SPEC §11, every type's valid form,
 * time and money rules, and the R4 fingerprint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/batch.h"
#include "careledger/buf.h"
#include "careledger/event.h"
#include "careledger/json.h"
#include "careledger/time.h"
#include "careledger/writer.h"
#include "cltest.h"

static cl_policy_set_t *policies;
static cl_decoder_t *dec;
static cl_event_t ev;
static cl_reject_t rej;

#define ENV "\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-10T08:00:00+08:00\","

/** One valid event of every type (SPEC §3). */
static const char *const VALID[] = {
    "{" ENV "\"event_id\":\"r1\",\"type\":\"region.registered\",\"code\":\"220000\",\"name\":"
    "\"吉林省\",\"parent\":null,\"level\":\"province\"}",
    "{" ENV "\"event_id\":\"u1\",\"type\":\"unit.registered\",\"unit_id\":\"U1\",\"name\":"
    "\"县医院\",\"region\":\"220102\",\"kind\":\"hospital\",\"level\":\"county\"}",
    "{" ENV "\"event_id\":\"w1\",\"type\":\"worker.registered\",\"worker_id\":\"W1\",\"unit_id\":"
    "\"U1\",\"role\":\"nurse\",\"staff\":\"contract\",\"spouse_worker_id\":\"W2\","
    "\"children\":1,\"elders\":2}",
    "{" ENV "\"event_id\":\"s1\",\"type\":\"shift.completed\",\"worker_id\":\"W1\",\"unit_id\":"
    "\"U1\",\"start\":\"2020-02-10T08:00:00+08:00\",\"end\":\"2020-02-10T16:00:00+08:00\","
    "\"exposure\":\"direct\",\"post\":\"发热门诊\"}",
    "{" ENV "\"event_id\":\"c1\",\"type\":\"shift.cancelled\",\"cancels\":\"s1\",\"reason\":"
    "\"entered twice\"}",
    "{" ENV
    "\"event_id\":\"d1\",\"type\":\"deployment.started\",\"deployment_id\":\"D1\",\"worker_id\":"
    "\"W1\",\"team\":\"吉林援鄂医疗队\",\"destination\":\"武汉\",\"date\":\"2020-02-16\"}",
    "{" ENV "\"event_id\":\"d2\",\"type\":\"deployment.ended\",\"deployment_id\":\"D1\",\"date\":"
    "\"2020-02-29\"}",
    "{" ENV "\"event_id\":\"b1\",\"type\":\"benefit.delivered\",\"measure\":\"JL-05\",\"worker_"
    "id\":\"W1\",\"date\":\"2020-02-20\",\"amount_fen\":500000,\"reference\":\"慰问金\"}",
    "{" ENV "\"event_id\":\"p1\",\"type\":\"subsidy.paid\",\"worker_id\":\"W1\",\"unit_id\":\"U1\","
    "\"line\":\"temp_subsidy\",\"period\":\"2020-02\",\"amount_fen\":1240000,\"date\":"
    "\"2020-03-10\",\"funding\":\"provincial\"}",
    "{" ENV "\"event_id\":\"i1\",\"type\":\"injury.reported\",\"case_id\":\"K1\",\"worker_id\":"
    "\"W1\",\"date\":\"2020-02-21\"}",
    "{" ENV "\"event_id\":\"i2\",\"type\":\"injury.recognized\",\"case_id\":\"K1\",\"date\":\"2020-"
    "02-21\"}",
    "{" ENV "\"event_id\":\"i3\",\"type\":\"injury.paid\",\"case_id\":\"K1\",\"date\":\"2020-02-"
    "23\",\"amount_fen\":100000}",
    "{" ENV "\"event_id\":\"m1\",\"type\":\"measure.status\",\"region\":\"120106\",\"measure\":"
    "\"HQ-21\",\"status\":\"in_progress\",\"date\":\"2020-02-21\",\"note\":\"巡逻\"}",
    "{" ENV "\"event_id\":\"g1\",\"type\":\"budget.allocated\",\"budget_id\":\"B1\",\"scope\":"
    "\"U1\",\"line\":\"temp_subsidy\",\"amount_fen\":100000000,\"from\":\"2020-01-24\","
    "\"to\":\"2020-12-31\",\"funding\":\"district\"}",
};

/** @brief Load the repository's policies once. */
static int setup(void)
{
    char err[4096];
    const char *pat[] = {cl_test_src("config/policies")};
    policies = cl_policy_set_load(pat, 1, err, sizeof err);
    if (!policies) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    dec = cl_decoder_create(policies);
    return dec ? 0 : -1;
}

/** @brief Decode a NUL-terminated message. */
static int decode(const char *json)
{
    return cl_event_decode(dec, json, strlen(json), &ev, &rej);
}

/** @brief Assert a message is rejected with exactly @p code. */
static void expect(const char *json, const char *code)
{
    int rc = decode(json);
    CU_ASSERT_EQUAL(rc, -1);
    if (rc != -1 || strcmp(rej.code, code) != 0)
        fprintf(stderr, "\n  expected %s, got %s (%s) for %.200s\n", code,
                rc ? rej.code : "accepted", rej.detail, json);
    CU_ASSERT_STRING_EQUAL(rej.code, code);
}

/** @brief Assert acceptance. */
static void accept(const char *json)
{
    int rc = decode(json);
    if (rc != 0)
        fprintf(stderr, "\n  rejected %s (%s): %.200s\n", rej.code, rej.detail, json);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/** @brief Replace the first occurrence of @p from in VALID[i] with @p to. */
static char *variant(int i, const char *from, const char *to)
{
    static char buf[CL_EVENT_MAX_BYTES * 2];
    const char *base = VALID[i];
    const char *p = strstr(base, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - base), base, to, p + strlen(from));
    return buf;
}

static void test_valid_every_type(void)
{
    for (size_t i = 0; i < sizeof VALID / sizeof VALID[0]; i++) {
        accept(VALID[i]);
        CU_ASSERT_EQUAL(ev.type, (cl_event_type_t)i);
    }
    accept(VALID[2]);
    CU_ASSERT_STRING_EQUAL(ev.family_id, "W1"); /* family_id defaults to worker_id */
    CU_ASSERT_EQUAL(ev.children, 1);
    CU_ASSERT_EQUAL(ev.elders, 2);
    accept(VALID[5]);
    CU_ASSERT_STRING_EQUAL(ev.exposure, "direct"); /* deployment exposure default */
    accept(VALID[0]);
    CU_ASSERT_PTR_NULL(ev.parent);
    accept(VALID[7]);
    CU_ASSERT_STRING_EQUAL(ev.track->id, "JL-05");
    CU_ASSERT_EQUAL(ev.amount_fen, 500000);
    accept(VALID[8]);
    char m[CL_MONTH_LEN];
    CU_ASSERT_STRING_EQUAL(cl_month_format(ev.period, m), "2020-02");
    /* Unknown fields are ignored. */
    accept(variant(9, "\"date\"", "\"extra\":{\"deep\":[1,2,{\"x\":null}]},\"date\""));
    /* A minor schema version is the same major. */
    accept(variant(9, "careledger/1", "careledger/1.3"));
}

static void test_envelope_rejections(void)
{
    char big[CL_EVENT_MAX_BYTES + 64];
    int n = snprintf(big, sizeof big,
                     "{" ENV "\"event_id\":\"x\",\"type\":\"injury.recognized\",\"case_id\":\"K\","
                     "\"date\":\"2020-02-01\",\"pad\":\"");
    memset(big + n, 'a', sizeof big - (size_t)n);
    memcpy(big + CL_EVENT_MAX_BYTES - 1, "\"}", 3); /* 64 KiB + 1 byte */
    expect(big, "too_large");
    /* Exactly 64 KiB is accepted. */
    memcpy(big + CL_EVENT_MAX_BYTES - 2, "\"}", 3);
    accept(big);

    expect("not json", "invalid_json");
    expect("{\"schema\":\"careledger/1\",\"event_id\":\"x\"", "invalid_json"); /* truncated */
    expect("[1,2,3]", "invalid_json");                                         /* not an object */
    expect("\"string\"", "invalid_json");
    expect("", "invalid_json");
    expect(variant(9, "\"case_id\":\"K1\"", "\"case_id\":\"K1\",\"case_id\":\"K2\""),
           "invalid_json"); /* a key given twice */
    expect(variant(9, "\"case_id\":\"K1\"", "\"case_id\":\"K1\",\"case\\u005fid\":\"K2\""),
           "invalid_json"); /* the same key, escaped */
    expect(variant(9, "\"date\"", "\"x\":{\"a\":1,\"a\":2},\"date\""), "invalid_json");
    expect(variant(9, "K1", "K\xff"), "invalid_utf8");
    expect(variant(9, "K1", "\\ud800"), "invalid_utf8");
    expect(variant(9, "careledger/1", "careledger/2"), "unsupported_schema");
    expect(variant(9, "\"careledger/1\"", "\"other/1\""), "unsupported_schema");
    expect(variant(9, "injury.reported", "injury.forgotten"), "unknown_type");
    expect(variant(9, "\"schema\":\"careledger/1\",", ""), "missing_field:schema");
    expect(variant(9, "\"type\":\"injury.reported\",", ""), "missing_field:type");
    expect(variant(9, "\"event_id\":\"i1\",", ""), "missing_field:event_id");
    expect(variant(9, "\"event_id\":\"i1\"", "\"event_id\":7"), "bad_type:event_id");
    expect(variant(9, "\"event_id\":\"i1\"", "\"event_id\":\"has space\""), "bad_value:event_id");
    expect(variant(9, "\"event_id\":\"i1\"", "\"event_id\":\"i\\u00001\""), "bad_value:event_id");
    expect(variant(9, "+08:00\",", "\","), "bad_time:occurred_at"); /* no offset */
    expect(variant(9, "\"occurred_at\":\"2020-02-10T08:00:00+08:00\",", ""),
           "missing_field:occurred_at");
}

static void test_field_rejections(void)
{
    /* missing_field / bad_type / bad_value for each kind of field. */
    expect(variant(3, "\"worker_id\":\"W1\",", ""), "missing_field:worker_id");
    expect(variant(3, "\"worker_id\":\"W1\"", "\"worker_id\":null"), "bad_type:worker_id");
    expect(variant(3, "\"worker_id\":\"W1\"", "\"worker_id\":[\"W1\"]"), "bad_type:worker_id");
    expect(variant(3, "\"exposure\":\"direct\"", "\"exposure\":\"sometimes\""),
           "bad_value:exposure");
    expect(variant(3, "发热门诊", "发热\\u0000门诊"), "bad_value:post");
    expect(variant(1, "\"region\":\"220102\"", "\"region\":\"22010\""), "bad_value:region");
    expect(variant(1, "\"kind\":\"hospital\"", "\"kind\":\"spa\""), "bad_value:kind");
    expect(variant(2, "\"role\":\"nurse\"", "\"role\":\"pilot\""), "bad_value:role");
    expect(variant(2, "\"children\":1", "\"children\":-1"), "bad_value:children");
    expect(variant(2, "\"children\":1", "\"children\":\"1\""), "bad_type:children");
    expect(variant(2, "\"children\":1,", ""), "missing_field:children");
    expect(variant(0, "\"parent\":null,", ""), "missing_field:parent");
    expect(variant(0, "\"name\":\"吉林省\"", "\"name\":\"\""), "bad_value:name");
    expect(variant(8, "\"line\":\"temp_subsidy\"", "\"line\":\"bonus\""), "bad_value:line");
    expect(variant(8, "\"funding\":\"provincial\"", "\"funding\":\"donor\""), "bad_value:funding");
    expect(variant(12, "\"status\":\"in_progress\"", "\"status\":\"maybe\""), "bad_value:status");
    expect(variant(13, "\"line\":\"temp_subsidy\"", "\"line\":\"Temp Subsidy\""), "bad_value:line");
    /* Times. */
    expect(variant(3, "\"end\":\"2020-02-10T16:00:00+08:00\"",
                   "\"end\":\"2020-02-10T08:00:00+08:00\""),
           "bad_time:end"); /* end == start */
    expect(variant(3, "\"end\":\"2020-02-10T16:00:00+08:00\"",
                   "\"end\":\"2020-02-11T08:00:01+08:00\""),
           "bad_time:end"); /* longer than 24 h */
    accept(variant(3, "\"end\":\"2020-02-10T16:00:00+08:00\"",
                   "\"end\":\"2020-02-11T08:00:00+08:00\""));
    expect(variant(3, "\"start\":\"2020-02-10T08:00:00+08:00\"",
                   "\"start\":\"2020-02-30T08:00:00+08:00\""),
           "bad_time:start");
    expect(variant(5, "2020-02-16", "2020/02/16"), "bad_time:date");
    expect(variant(8, "\"period\":\"2020-02\"", "\"period\":\"2020-13\""), "bad_time:period");
    expect(variant(13, "\"to\":\"2020-12-31\"", "\"to\":\"2020-01-01\""), "bad_time:to");
    /* Measures. */
    expect(variant(7, "JL-05", "JL-99"), "unknown_measure");
    expect(variant(7, "JL-05", "ZZ-01"), "unknown_measure");
    expect(variant(12, "HQ-21", "HQ-18"), "unknown_measure"); /* bare id of a multi-track measure */
    expect(variant(7, "\"worker_id\":\"W1\"", "\"family_id\":\"F1\""), "missing_field:worker_id");
    expect(variant(7, "\"worker_id\":\"W1\"", "\"worker_id\":\"W1\",\"unit_id\":\"U1\""),
           "bad_value:unit_id");
    expect(variant(7, "JL-05", "JL-01"), "bad_value:measure");  /* entitlement: via subsidy.paid */
    expect(variant(12, "HQ-21", "HQ-20"), "bad_value:measure"); /* not a status track */
    /* HQ-18b is the family-scoped supplies track. */
    accept("{" ENV "\"event_id\":\"b2\",\"type\":\"benefit.delivered\",\"measure\":\"HQ-18b\","
           "\"family_id\":\"F1\",\"date\":\"2020-02-20\"}");
    CU_ASSERT_STRING_EQUAL(ev.track->id, "HQ-18b");
}

static void test_money(void)
{
    accept(variant(11, "100000", "0"));
    CU_ASSERT_EQUAL(ev.amount_fen, 0);
    accept(variant(11, "100000", "1000000000000"));
    CU_ASSERT_EQUAL(ev.amount_fen, 1000000000000LL);
    expect(variant(11, "100000", "1000000000001"), "bad_amount:amount_fen");
    expect(variant(11, "100000", "-1"), "bad_amount:amount_fen");
    expect(variant(11, "100000", "1.5"), "bad_amount:amount_fen");
    expect(variant(11, "100000", "\"300\""), "bad_type:amount_fen");
    expect(variant(11, "100000", "99999999999999999999999"), "bad_amount:amount_fen");
    expect(variant(11, "100000", "1e400"), "bad_amount:amount_fen");
    /* Integral values in other JSON forms are exact. */
    accept(variant(11, "100000", "1e5"));
    CU_ASSERT_EQUAL(ev.amount_fen, 100000);
    accept(variant(11, "100000", "300.00"));
    CU_ASSERT_EQUAL(ev.amount_fen, 300);
    /* Beyond 2^53, where a double would round: still rejected exactly by range. */
    expect(variant(11, "100000", "9007199254740993"), "bad_amount:amount_fen");
    expect(variant(7, "\"amount_fen\":500000", "\"amount_fen\":500000,\"sum_insured_fen\":-5"),
           "bad_amount:sum_insured_fen");
}

static void test_time_rules(void)
{
    char err[256];
    cl_tz_t *sh = cl_tz_create("Asia/Shanghai", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sh);
    char d[CL_DATE_LEN];
    /* A shift starting 23:30 local is dated that day. */
    accept(
        variant(3, "\"start\":\"2020-02-10T08:00:00+08:00\",\"end\":\"2020-02-10T16:00:00+08:00\"",
                "\"start\":\"2020-02-10T23:30:00+08:00\",\"end\":\"2020-02-11T07:30:00+08:00\""));
    int64_t local_start = ev.start;
    CU_ASSERT_STRING_EQUAL(cl_date_format(cl_tz_local_date(sh, ev.start), d), "2020-02-10");
    uint8_t fp_local[32];
    memcpy(fp_local, ev.fingerprint, 32);
    /* The same instant in UTC dates the same and fingerprints the same. */
    accept(variant(3,
                   "\"start\":\"2020-02-10T08:00:00+08:00\",\"end\":\"2020-02-10T16:00:00+08:00\"",
                   "\"start\":\"2020-02-10T15:30:00Z\",\"end\":\"2020-02-10T23:30:00Z\""));
    CU_ASSERT_EQUAL(ev.start, local_start);
    CU_ASSERT_STRING_EQUAL(cl_date_format(cl_tz_local_date(sh, ev.start), d), "2020-02-10");
    CU_ASSERT_EQUAL(memcmp(fp_local, ev.fingerprint, 32), 0);
    /* 2020-02-29 exists; 2021-02-29 does not. */
    accept(variant(10, "2020-02-21", "2020-02-29"));
    expect(variant(10, "2020-02-21", "2021-02-29"), "bad_time:date");
    cl_tz_destroy(sh);
}

static void test_fingerprint(void)
{
    uint8_t a[32];
    accept(VALID[2]);
    memcpy(a, ev.fingerprint, 32);
    /* Defaults applied: family_id given as the worker's own id is the same content. */
    accept(variant(2, "\"spouse_worker_id\"", "\"family_id\":\"W1\",\"spouse_worker_id\""));
    CU_ASSERT_EQUAL(memcmp(a, ev.fingerprint, 32), 0);
    /* Key order, white space and unknown fields do not matter. */
    accept("{ \"elders\":2, \"children\":1, \"spouse_worker_id\":\"W2\", \"staff\":\"contract\", "
           "\"role\":\"nurse\", \"unit_id\":\"U1\", \"worker_id\":\"W1\", "
           "\"type\":\"worker.registered\", "
           "\"event_id\":\"w1\", \"occurred_at\":\"2020-02-10T00:00:00Z\", "
           "\"schema\":\"careledger/1\", \"x\":1 }");
    CU_ASSERT_EQUAL(memcmp(a, ev.fingerprint, 32), 0);
    /* Any content change changes it. */
    accept(variant(2, "\"children\":1", "\"children\":2"));
    CU_ASSERT_NOT_EQUAL(memcmp(a, ev.fingerprint, 32), 0);
    accept(variant(2, "2020-02-10T08:00:00+08:00", "2020-02-10T08:00:01+08:00"));
    CU_ASSERT_NOT_EQUAL(memcmp(a, ev.fingerprint, 32), 0);
    /* A deployment's exposure default. */
    accept(VALID[5]);
    memcpy(a, ev.fingerprint, 32);
    accept(variant(5, "\"date\"", "\"exposure\":\"direct\",\"date\""));
    CU_ASSERT_EQUAL(memcmp(a, ev.fingerprint, 32), 0);
    accept(variant(5, "\"date\"", "\"exposure\":\"other\",\"date\""));
    CU_ASSERT_NOT_EQUAL(memcmp(a, ev.fingerprint, 32), 0);
    /* An optional amount given as 0 differs from one not given. */
    accept(VALID[7]);
    memcpy(a, ev.fingerprint, 32);
    accept(variant(7, "\"amount_fen\":500000,", ""));
    CU_ASSERT_NOT_EQUAL(memcmp(a, ev.fingerprint, 32), 0);
    char hex[65];
    CU_ASSERT_EQUAL(strlen(cl_event_fingerprint_hex(&ev, hex)), 64);
}

static void test_hostile(void)
{
    /* Nested deeper than the scanner allows. */
    char deep[4096];
    int n = snprintf(deep, sizeof deep,
                     "{" ENV "\"event_id\":\"x\",\"type\":\"injury.recognized\",\"case_id\":\"K\","
                     "\"date\":\"2020-02-01\",\"n\":");
    for (int i = 0; i < 200; i++)
        deep[n++] = '[';
    for (int i = 0; i < 200; i++)
        deep[n++] = ']';
    snprintf(deep + n, sizeof deep - (size_t)n, "}");
    expect(deep, "invalid_json");
    /* SQL text is inert data. */
    accept(variant(0, "吉林省", "'); DROP TABLE events; --"));
    CU_ASSERT_STRING_EQUAL(ev.name, "'); DROP TABLE events; --");
    /* Invalid UTF-8 inside a key. */
    expect(variant(9, "\"date\"", "\"k\xc3\x28\":1,\"date\""), "invalid_utf8");
    /* An array of 10,000 elements inside 64 KiB is fine as an unknown field. */
    static char arr[CL_EVENT_MAX_BYTES];
    n = snprintf(arr, sizeof arr,
                 "{" ENV "\"event_id\":\"x\",\"type\":\"injury.recognized\",\"case_id\":\"K\","
                 "\"date\":\"2020-02-01\",\"a\":[");
    for (int i = 0; i < 10000; i++)
        n += snprintf(arr + n, sizeof arr - (size_t)n, "%s1", i ? "," : "");
    snprintf(arr + n, sizeof arr - (size_t)n, "]}");
    accept(arr);
}

/** @brief A message of @p len bytes (at least 200): a valid event padded by an unknown field. */
static char *padded(size_t len)
{
    char *m = malloc(len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int n =
        snprintf(m, len + 1,
                 "{" ENV "\"event_id\":\"pad\",\"type\":\"injury.recognized\",\"case_id\":\"K\","
                 "\"date\":\"2020-02-01\",\"pad\":\"");
    memset(m + n, 'a', len - (size_t)n);
    memcpy(m + len - 2, "\"}", 3);
    return m;
}

/** @brief Decode @p len bytes (not NUL-terminated: an exact heap copy) and expect @p code. */
static void expect_bytes(const char *buf, size_t len, const char *code)
{
    char *copy = malloc(len ? len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    memcpy(copy, buf, len);
    int rc = cl_event_decode(dec, copy, len, &ev, &rej);
    free(copy);
    CU_ASSERT_EQUAL(rc, -1);
    if (rc != -1 || strcmp(rej.code, code) != 0)
        fprintf(stderr, "\n  expected %s, got %s (%s)\n", code, rc ? rej.code : "accepted",
                rej.detail);
    CU_ASSERT_STRING_EQUAL(rej.code, code);
}

static void test_hostile_size(void)
{
    /* 64 KiB + 1 byte: too large, whatever it holds; 64 KiB exactly is read. */
    char *m = padded(CL_EVENT_MAX_BYTES + 1);
    CU_ASSERT_EQUAL(strlen(m), CL_EVENT_MAX_BYTES + 1);
    expect(m, "too_large");
    CU_ASSERT_STRING_EQUAL(rej.detail, "65537 bytes, at most 65536");
    free(m);
    m = padded(CL_EVENT_MAX_BYTES);
    accept(m);
    free(m);
    /* Size is judged before anything else: 64 KiB + 1 of garbage, 1 MiB of NUL bytes. */
    size_t big = 1 << 20;
    char *junk = calloc(big, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(junk);
    expect_bytes(junk, big, "too_large");
    memset(junk, 0xff, CL_EVENT_MAX_BYTES + 1);
    expect_bytes(junk, CL_EVENT_MAX_BYTES + 1, "too_large");
    free(junk);
    /* After a large message the next small one decodes in the same event. */
    accept(VALID[9]);
}

static void test_hostile_nesting(void)
{
    /* 100,000 '[' are over 64 KiB: too large before any parsing. */
    size_t n = 100000;
    char *deep = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
    memset(deep, '[', n);
    expect_bytes(deep, n, "too_large");
    /* 60,000 '[' (within 64 KiB), alone or as a member's value: refused at depth 32, no deep
     * recursion. */
    expect_bytes(deep, 60000, "invalid_json");
    char *m = malloc(70000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int k = snprintf(m, 70000,
                     "{" ENV "\"event_id\":\"x\",\"type\":\"injury.recognized\",\"case_id\":\"K\","
                     "\"date\":\"2020-02-01\",\"n\":");
    memset(m + k, '[', 60000);
    m[k + 60000] = '\0';
    expect(m, "invalid_json");
    CU_ASSERT_PTR_NOT_NULL(strstr(rej.detail, "nested too deeply"));
    /* Objects nest the same way. */
    size_t o = (size_t)k;
    while (o + 6 < 65000) {
        memcpy(m + o, "{\"a\":", 5);
        o += 5;
    }
    m[o] = '\0';
    expect(m, "invalid_json");
    CU_ASSERT_PTR_NOT_NULL(strstr(rej.detail, "nested too deeply"));
    /* Depth 32 in an unknown field is still fine. */
    o = (size_t)k;
    for (int i = 0; i < 31; i++)
        m[o++] = '[';
    for (int i = 0; i < 31; i++)
        m[o++] = ']';
    memcpy(m + o, "}", 2);
    accept(m);
    free(m);
    free(deep);
}

static void test_hostile_wide(void)
{
    /* An array of 10,000 elements within 64 KiB: inert as an unknown field, a wrong type as a
     * known one. */
    static char arr[CL_EVENT_MAX_BYTES];
    const char *head =
        "{" ENV "\"event_id\":\"x\",\"type\":\"injury.recognized\",\"case_id\":\"K\","
        "\"date\":\"2020-02-01\",\"a\":[";
    int n = snprintf(arr, sizeof arr, "%s", head);
    for (int i = 0; i < 10000; i++)
        n += snprintf(arr + n, sizeof arr - (size_t)n, "%s%d", i ? "," : "", i % 10);
    snprintf(arr + n, sizeof arr - (size_t)n, "]}");
    CU_ASSERT_TRUE(strlen(arr) <= CL_EVENT_MAX_BYTES);
    accept(arr);
    CU_ASSERT_STRING_EQUAL(ev.case_id, "K");
    /* case_id given as the 10,000-element array. */
    n = snprintf(arr, sizeof arr,
                 "{" ENV
                 "\"event_id\":\"x\",\"type\":\"injury.recognized\",\"date\":\"2020-02-01\","
                 "\"case_id\":[");
    for (int i = 0; i < 10000; i++)
        n += snprintf(arr + n, sizeof arr - (size_t)n, "%s%d", i ? "," : "", i % 10);
    snprintf(arr + n, sizeof arr - (size_t)n, "]}");
    expect(arr, "bad_type:case_id");
    /* 4,000 distinct keys are fine; one repeated among them is not. */
    n = snprintf(arr, sizeof arr,
                 "{" ENV "\"event_id\":\"x\",\"type\":\"injury.recognized\",\"case_id\":\"K\","
                 "\"date\":\"2020-02-01\"");
    for (int i = 0; i < 4000; i++)
        n += snprintf(arr + n, sizeof arr - (size_t)n, ",\"k%d\":%d", i, i);
    snprintf(arr + n, sizeof arr - (size_t)n, "}");
    accept(arr);
    snprintf(arr + n, sizeof arr - (size_t)n, ",\"k1234\":0}");
    expect(arr, "invalid_json");
    CU_ASSERT_PTR_NOT_NULL(strstr(rej.detail, "a key given twice"));
}

static void test_hostile_nul(void)
{
    /* U+0000 in any string the decoder reads is a bad value, by name; raw NUL is not JSON. */
    static const struct {
        int valid;
        const char *from, *to, *code;
    } NUL[] = {
        {0, "吉林省", "吉林\\u0000省", "bad_value:name"},
        {0, "\"220000\"", "\"220000\\u0000\"", "bad_value:code"},
        {3, "发热门诊", "\\u0000", "bad_value:post"},
        {3, "\"W1\"", "\"W1\\u0000\"", "bad_value:worker_id"},
        {3, "\"direct\"", "\"direct\\u0000\"", "bad_value:exposure"},
        {4, "entered twice", "entered\\u0000twice", "bad_value:reason"},
        {5, "武汉", "武\\u0000汉", "bad_value:destination"},
        {7, "JL-05", "JL-05\\u0000", "bad_value:measure"},
        {7, "慰问金", "\\u0000", "bad_value:reference"},
        {9, "\"i1\"", "\"i1\\u0000\"", "bad_value:event_id"},
        {9, "careledger/1", "careledger/1\\u0000", "bad_value:schema"},
        {9, "injury.reported", "injury.reported\\u0000", "bad_value:type"},
        {9, "+08:00\"", "+08:00\\u0000\"", "bad_value:occurred_at"},
        {9, "2020-02-21", "2020-02-21\\u0000", "bad_value:date"},
        {12, "巡逻", "巡逻\\u0000", "bad_value:note"},
    };
    for (size_t i = 0; i < sizeof NUL / sizeof NUL[0]; i++)
        expect(variant(NUL[i].valid, NUL[i].from, NUL[i].to), NUL[i].code);
    expect(variant(9, "\"date\"", "\"source\":\"a\\u0000b\",\"date\""), "bad_value:source");
    /* In an unknown field, or a key nobody reads, it is inert data (the payload keeps the
     * escape as six ASCII characters). */
    accept(variant(9, "\"date\"", "\"extra\":\"a\\u0000b\",\"date\""));
    accept(variant(9, "\"date\"", "\"ex\\u0000tra\":1,\"date\""));
    /* A key with U+0000 is not the field of that name. */
    expect(variant(9, "\"case_id\"", "\"case_id\\u0000\""), "missing_field:case_id");
    /* A raw NUL byte inside a string or between tokens. */
    const char *v = VALID[9];
    size_t len = strlen(v);
    char *raw = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    memcpy(raw, v, len);
    raw[strstr(v, "K1") - v + 1] = '\0';
    expect_bytes(raw, len, "invalid_json");
    memcpy(raw, v, len);
    raw[1] = '\0';
    expect_bytes(raw, len, "invalid_json");
    raw[1] = v[1];
    raw[len - 1] = '\0'; /* the closing brace */
    expect_bytes(raw, len, "invalid_json");
    free(raw);
}

/** Where each string field is in cl_event_t, by its SPEC §3 name. */
static const struct {
    const char *name;
    size_t off;
} FIELDS[] = {
    {"schema", offsetof(cl_event_t, schema)},
    {"event_id", offsetof(cl_event_t, event_id)},
    {"source", offsetof(cl_event_t, source)},
    {"code", offsetof(cl_event_t, code)},
    {"name", offsetof(cl_event_t, name)},
    {"parent", offsetof(cl_event_t, parent)},
    {"level", offsetof(cl_event_t, level)},
    {"unit_id", offsetof(cl_event_t, unit_id)},
    {"region", offsetof(cl_event_t, region)},
    {"kind", offsetof(cl_event_t, kind)},
    {"worker_id", offsetof(cl_event_t, worker_id)},
    {"role", offsetof(cl_event_t, role)},
    {"staff", offsetof(cl_event_t, staff)},
    {"family_id", offsetof(cl_event_t, family_id)},
    {"spouse_worker_id", offsetof(cl_event_t, spouse_worker_id)},
    {"exposure", offsetof(cl_event_t, exposure)},
    {"post", offsetof(cl_event_t, post)},
    {"cancels", offsetof(cl_event_t, cancels)},
    {"reason", offsetof(cl_event_t, reason)},
    {"deployment_id", offsetof(cl_event_t, deployment_id)},
    {"team", offsetof(cl_event_t, team)},
    {"destination", offsetof(cl_event_t, destination)},
    {"measure", offsetof(cl_event_t, measure)},
    {"reference", offsetof(cl_event_t, reference)},
    {"line", offsetof(cl_event_t, line)},
    {"funding", offsetof(cl_event_t, funding)},
    {"case_id", offsetof(cl_event_t, case_id)},
    {"status", offsetof(cl_event_t, status)},
    {"note", offsetof(cl_event_t, note)},
    {"budget_id", offsetof(cl_event_t, budget_id)},
    {"scope", offsetof(cl_event_t, scope)},
};

/* SQL and COPY text: quotes, a statement, a comment, a tab, \N, a newline, backslashes. */
#define SQLI_JSON "'); DROP TABLE careledger.events; --\\t\\\\N\\n\\\\\\\"x"
#define SQLI_TEXT "'); DROP TABLE careledger.events; --\t\\N\n\\\"x"

static void test_hostile_sql_text(void)
{
    /* Every string field of every type given SQL text: free text is accepted verbatim; an id,
     * code, enum, time or measure refuses it by name. Nothing else can happen. */
    static const char *const FREE_TEXT[] = {"name",      "post", "reason", "team", "destination",
                                            "reference", "note", "source", NULL};
    int accepted = 0, refused = 0;
    for (size_t i = 0; i < sizeof VALID / sizeof VALID[0]; i++) {
        char base[2048];
        /* Add a source so that the envelope's free-text field is covered too. */
        snprintf(base, sizeof base, "{\"source\":\"s\",%s", VALID[i] + 1);
        for (size_t f = 0; f < sizeof FIELDS / sizeof FIELDS[0]; f++) {
            char key[64];
            snprintf(key, sizeof key, "\"%s\":\"", FIELDS[f].name);
            const char *at = strstr(base, key);
            if (!at)
                continue;
            const char *val = at + strlen(key), *end = strchr(val, '"');
            char msg[4096];
            snprintf(msg, sizeof msg, "%.*s" SQLI_JSON "%s", (int)(val - base), base, end);
            int rc = decode(msg);
            int free_text = 0;
            for (size_t t = 0; FREE_TEXT[t]; t++)
                free_text |= strcmp(FREE_TEXT[t], FIELDS[f].name) == 0;
            if (free_text) {
                if (rc != 0)
                    fprintf(stderr, "\n  %s of %zu refused: %s\n", FIELDS[f].name, i, rej.code);
                CU_ASSERT_EQUAL_FATAL(rc, 0);
                const char *got = *(const char *const *)((const char *)&ev + FIELDS[f].off);
                CU_ASSERT_STRING_EQUAL(got, SQLI_TEXT);
                accepted++;
                continue;
            }
            CU_ASSERT_EQUAL(rc, -1);
            char want[3][96];
            snprintf(want[0], sizeof want[0], "bad_value:%s", FIELDS[f].name);
            snprintf(want[1], sizeof want[1], "bad_time:%s", FIELDS[f].name);
            snprintf(want[2], sizeof want[2], "%s",
                     strcmp(FIELDS[f].name, "measure") == 0  ? "unknown_measure"
                     : strcmp(FIELDS[f].name, "schema") == 0 ? "unsupported_schema"
                                                             : "-");
            int ok = rc == -1 && (strcmp(rej.code, want[0]) == 0 ||
                                  strcmp(rej.code, want[1]) == 0 || strcmp(rej.code, want[2]) == 0);
            if (!ok)
                fprintf(stderr, "\n  %s of %zu: %s\n", FIELDS[f].name, i, rej.code);
            CU_ASSERT_TRUE(ok);
            refused++;
        }
        /* The type and the occurred_at are envelope fields outside FIELDS. */
        expect(variant((int)i, "\"type\":\"", "\"type\":\"';--"), "unknown_type");
    }
    CU_ASSERT_EQUAL(accepted, 8 + 14); /* each free-text field of a type, source on all 14 */
    CU_ASSERT_TRUE(refused > 50);
    expect(variant(9, "\"occurred_at\":\"", "\"occurred_at\":\"'); DROP TABLE x; --"),
           "bad_time:occurred_at");
}

static void test_hostile_utf8_keys(void)
{
    /* Invalid UTF-8 anywhere, keys included, top level or nested: invalid_utf8, whatever else
     * is wrong with the message. */
    static const char *const BAD[] = {
        "\xff",
        "\xc3\x28",
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* beyond U+10FFFF */
        "\xe5\x90",         /* cut short */
        "\x80",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "\"k%s\":1,\"date\"", BAD[i]);
        expect(variant(9, "\"date\"", key), "invalid_utf8");
        snprintf(key, sizeof key, "\"x\":{\"%s\":1},\"date\"", BAD[i]);
        expect(variant(9, "\"date\"", key), "invalid_utf8");
        snprintf(key, sizeof key, "\"case_id%s\"", BAD[i]);
        expect(variant(9, "\"case_id\"", key), "invalid_utf8");
        /* Even before a size or grammar problem later in the message. */
        snprintf(key, sizeof key, "{\"%s\":", BAD[i]);
        expect(key, "invalid_utf8");
    }
    /* Escaped surrogates that do not pair are invalid UTF-8 too; a pair is fine. */
    expect(variant(9, "\"date\"", "\"k\\udc00\":1,\"date\""), "invalid_utf8");
    expect(variant(9, "\"date\"", "\"k\\ud800x\":1,\"date\""), "invalid_utf8");
    accept(variant(9, "\"date\"", "\"k\\ud83d\\ude00\":1,\"date\""));
    /* The detail says where, and is itself valid UTF-8. */
    expect(variant(9, "\"date\"", "\"k\xff\":1,\"date\""), "invalid_utf8");
    CU_ASSERT_PTR_NOT_NULL(strstr(rej.detail, "invalid UTF-8 at byte"));
}

static void test_storable_rejections(void)
{
    /* A cut multi-byte character in the detail would make PostgreSQL refuse the dead letter. */
    expect(variant(9, "injury.reported", "一二三四五六七八九十一二三四"), "unknown_type");
    const unsigned char *p = (const unsigned char *)rej.detail, *end = p + strlen(rej.detail);
    int valid = 1;
    while (p < end && valid) {
        size_t n = cl_utf8_seq(p, end);
        valid = n > 0;
        p += n;
    }
    CU_ASSERT_TRUE(valid);
    expect(variant(7, "JL-05", "吉吉吉吉吉吉吉吉吉吉"), "unknown_measure");
    /* An instant whose UTC form leaves the years dates allow is a bad time, not a
     * value PostgreSQL would refuse. */
    expect(variant(9, "2020-02-10T08:00:00+08:00", "9999-12-31T23:59:59-01:00"),
           "bad_time:occurred_at");
    accept(variant(9, "2020-02-10T08:00:00+08:00", "9999-12-31T22:59:59-01:00"));
    expect(variant(9, "2020-02-10T08:00:00+08:00", "1900-01-01T00:30:00+01:00"),
           "bad_time:occurred_at");
}

static void test_reuse_and_ids(void)
{
    /* One event struct decodes many messages without leaking strings across. */
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof VALID / sizeof VALID[0]; i++)
            accept(VALID[i]);
    CU_ASSERT_TRUE(cl_event_id_valid("abc.DEF_123:-"));
    CU_ASSERT_FALSE(cl_event_id_valid(""));
    CU_ASSERT_FALSE(cl_event_id_valid("a/b"));
    char id[70];
    memset(id, 'a', 65);
    id[65] = '\0';
    CU_ASSERT_FALSE(cl_event_id_valid(id));
    id[64] = '\0';
    CU_ASSERT_TRUE(cl_event_id_valid(id));
}

/** @brief Column @p k (0-based) of a tab-separated COPY line into @p out. */
static void column(const char *line, size_t len, int k, char *out, size_t outsize)
{
    const char *p = line, *end = line + len;
    for (; k > 0 && p < end; p++)
        if (*p == '\t')
            k--;
    const char *q = p;
    while (q < end && *q != '\t' && *q != '\n')
        q++;
    snprintf(out, outsize, "%.*s", (int)(q - p), p);
}

static void test_batch_rows(void)
{
    /* A slot keeps its message's text (and key) in the batch's arena, with the decoded id,
     * fingerprint and time; the stage rows are rendered from the text decoded again: id,
     * type, fingerprint, source and free text escaped as the first decoding gave them, the
     * text itself last, a rejected message without a row. A slot reused for a shorter
     * message holds only that one. */
    cl_batch_t b;
    cl_batch_init(&b);
    cl_batch_set_max(&b, 64);
    size_t n = sizeof VALID / sizeof VALID[0];
    char sqli[2048];
    snprintf(sqli, sizeof sqli,
             "{" ENV "\"event_id\":\"q1\",\"type\":\"shift.cancelled\",\"cancels\":\"s1\","
             "\"reason\":\"" SQLI_JSON "\"}");
    for (int round = 0; round < 2; round++) {
        cl_batch_clear(&b);
        for (size_t i = 0; i < n; i++) {
            const char *msg = VALID[round ? n - 1 - i : i];
            CU_ASSERT_EQUAL_FATAL(
                cl_batch_add(&b, dec, "topic.a", 3, 90, 100 + (int64_t)i, "k", 1, msg, strlen(msg)),
                0);
        }
        CU_ASSERT_EQUAL_FATAL(cl_batch_add(&b, dec, "topic.a", 3, 90, 200, NULL, 0, "{}", 2), 0);
        CU_ASSERT_EQUAL_FATAL(
            cl_batch_add(&b, dec, "topic.a", 3, 90, 201, NULL, 0, sqli, strlen(sqli)), 0);
        CU_ASSERT_EQUAL(b.n, n + 2);
        CU_ASSERT_FALSE(b.msgs[n].decoded);
        CU_ASSERT_PTR_NULL(b.msgs[n].key);
        cl_buf_t out = {0};
        CU_ASSERT_EQUAL(cl_writer_copy_rows(&out, &b), 0);
        CU_ASSERT_FALSE(out.oom);
        const char *line = out.p;
        size_t lines = 0;
        for (size_t i = 0; i < b.n; i++) {
            const cl_batch_msg_t *m = &b.msgs[i];
            if (!m->decoded)
                continue;
            CU_ASSERT_EQUAL(m->len, strlen(m->payload));
            CU_ASSERT_EQUAL_FATAL(decode(m->payload), 0);
            CU_ASSERT_STRING_EQUAL(m->id, ev.event_id);
            CU_ASSERT_EQUAL(m->id_len, strlen(ev.event_id));
            CU_ASSERT_EQUAL(m->occurred_at, ev.occurred_at);
            CU_ASSERT_EQUAL(memcmp(m->fingerprint, ev.fingerprint, 32), 0);
            if (i < n) {
                CU_ASSERT_EQUAL(m->key_len, 1);
                CU_ASSERT_EQUAL(memcmp(m->key, "k", 1), 0);
            }
            /* This message's line: 46 columns and the text, 46 tabs. */
            const char *end = strchr(line, '\n');
            CU_ASSERT_PTR_NOT_NULL_FATAL(end);
            size_t len = (size_t)(end - line), tabs = 0;
            lines++;
            for (size_t k = 0; k < len; k++)
                tabs += line[k] == '\t';
            CU_ASSERT_EQUAL(tabs, 46);
            char got[1024], want[1024];
            column(line, len, 0, got, sizeof got);
            CU_ASSERT_STRING_EQUAL(got, ev.event_id);
            column(line, len, 1, got, sizeof got);
            CU_ASSERT_STRING_EQUAL(got, cl_event_type_name(ev.type));
            column(line, len, 2, got, sizeof got);
            char hex[65];
            snprintf(want, sizeof want, "\\\\x%s", cl_event_fingerprint_hex(&ev, hex));
            CU_ASSERT_STRING_EQUAL(got, want);
            column(line, len, 5, got, sizeof got);
            CU_ASSERT_STRING_EQUAL(got, "topic.a");
            column(line, len, 6, got, sizeof got);
            CU_ASSERT_STRING_EQUAL(got, "3");
            column(line, len, 7, got, sizeof got);
            snprintf(want, sizeof want, "%lld", (long long)m->offset);
            CU_ASSERT_STRING_EQUAL(got, want);
            column(line, len, 15, got, sizeof got);
            CU_ASSERT_STRING_EQUAL(got, ev.worker_id ? ev.worker_id : "\\N");
            if (i == n + 1) {
                column(line, len, 27, got, sizeof got);
                CU_ASSERT_STRING_EQUAL(got,
                                       "'); DROP TABLE careledger.events; --\\t\\\\N\\n\\\\\"x");
            } else {
                column(line, len, 46, got, sizeof got);
                CU_ASSERT_STRING_EQUAL(got, m->payload); /* VALID holds nothing to escape */
            }
            line = end + 1;
        }
        CU_ASSERT_EQUAL(lines, n + 1);
        CU_ASSERT_EQUAL((size_t)(line - out.p), out.len);
        cl_buf_free(&out);
    }
    /* A message larger than an arena block (kept raw for its dead letter) gets a block of its
     * own; the messages around it stay intact, and the next batch reuses the usual blocks. */
    cl_batch_clear(&b);
    size_t big = CL_BATCH_BLOCK_BYTES + 100;
    char *huge = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    memset(huge, 'x', big);
    CU_ASSERT_EQUAL(cl_batch_add(&b, dec, "t", 0, 0, 0, NULL, 0, VALID[0], strlen(VALID[0])), 0);
    CU_ASSERT_EQUAL(cl_batch_add(&b, dec, "t", 0, 0, 1, NULL, 0, huge, big), 0);
    CU_ASSERT_EQUAL(cl_batch_add(&b, dec, "t", 0, 0, 2, NULL, 0, VALID[1], strlen(VALID[1])), 0);
    CU_ASSERT_STRING_EQUAL(b.msgs[0].payload, VALID[0]);
    CU_ASSERT_EQUAL(b.msgs[1].len, big);
    CU_ASSERT_EQUAL(memcmp(b.msgs[1].payload, huge, big), 0);
    CU_ASSERT_STRING_EQUAL(b.msgs[1].rej->code, "too_large");
    CU_ASSERT_STRING_EQUAL(b.msgs[2].payload, VALID[1]);
    cl_batch_clear(&b);
    CU_ASSERT_PTR_NULL(b.blocks);
    CU_ASSERT_PTR_NOT_NULL(b.spare);
    CU_ASSERT_EQUAL(cl_batch_add(&b, dec, "t", 0, 0, 3, NULL, 0, VALID[2], strlen(VALID[2])), 0);
    CU_ASSERT_STRING_EQUAL(b.msgs[0].payload, VALID[2]);
    /* All or nothing: a message of one partition too many leaves the batch as it was, its
     * arena too. */
    cl_batch_clear(&b);
    for (int32_t k = 0; k < CL_BATCH_MAX_PARTS; k++)
        CU_ASSERT_EQUAL_FATAL(
            cl_batch_add(&b, dec, "t", k, 0, 0, NULL, 0, VALID[0], strlen(VALID[0])), 0);
    size_t used = cl_batch_arena_used(&b);
    CU_ASSERT_EQUAL(cl_batch_add(&b, dec, "t", CL_BATCH_MAX_PARTS, 0, 0, NULL, 0, "{}", 2), -1);
    CU_ASSERT_EQUAL(b.n, CL_BATCH_MAX_PARTS);
    CU_ASSERT_EQUAL(b.nparts, CL_BATCH_MAX_PARTS);
    CU_ASSERT_EQUAL(cl_batch_arena_used(&b), used);
    /* Each decoded message takes its text, its NUL and its id's, exactly. */
    CU_ASSERT_EQUAL(used, (strlen(VALID[0]) + 1 + strlen(b.msgs[0].id) + 1) * CL_BATCH_MAX_PARTS);
    free(huge);
    cl_batch_free(&b);
}

static void test_redecode(void)
{
    /* Decoding again what was accepted renders the same fields without the policies: a
     * reload that dropped a measure mid-batch cannot make a staged message fail. */
    cl_decoder_t *bare = cl_decoder_create(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bare);
    cl_event_t again = {0};
    int measures = 0;
    for (size_t i = 0; i < sizeof VALID / sizeof VALID[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(decode(VALID[i]), 0);
        CU_ASSERT_EQUAL_FATAL(cl_event_redecode(bare, VALID[i], strlen(VALID[i]), &again), 0);
        measures += ev.measure != NULL;
        CU_ASSERT_EQUAL(again.type, ev.type);
        CU_ASSERT_STRING_EQUAL(again.event_id, ev.event_id);
        CU_ASSERT_EQUAL(again.occurred_at, ev.occurred_at);
        CU_ASSERT_EQUAL(again.start, ev.start);
        CU_ASSERT_EQUAL(again.date, ev.date);
        CU_ASSERT_EQUAL(again.amount_fen, ev.amount_fen);
        CU_ASSERT_EQUAL(!again.measure, !ev.measure);
        if (ev.measure)
            CU_ASSERT_STRING_EQUAL(again.measure, ev.measure);
        CU_ASSERT_PTR_NULL(again.track);
        cl_buf_t r1 = {0}, r2 = {0};
        memcpy(again.fingerprint, ev.fingerprint, 32);
        cl_writer_render_row(&r1, "t", 1, 2, &ev);
        cl_writer_render_row(&r2, "t", 1, 2, &again);
        CU_ASSERT_EQUAL(r1.len, r2.len);
        CU_ASSERT(r1.len == r2.len && memcmp(r1.p, r2.p, r1.len) == 0);
        cl_buf_free(&r1);
        cl_buf_free(&r2);
    }
    CU_ASSERT(measures >= 2);
    /* The decoder checks measures again once redecoding is over. */
    cl_reject_t rej;
    for (size_t i = 0; i < sizeof VALID / sizeof VALID[0]; i++)
        if (strstr(VALID[i], "\"measure\"")) {
            CU_ASSERT_EQUAL(cl_event_decode(bare, VALID[i], strlen(VALID[i]), &again, &rej), -1);
            CU_ASSERT_STRING_EQUAL(rej.code, "unknown_measure");
        }
    cl_event_release(&again);
    cl_decoder_destroy(bare);
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"valid form of every type", test_valid_every_type},
        {"envelope rejections (SPEC 11)", test_envelope_rejections},
        {"field rejections (SPEC 11)", test_field_rejections},
        {"money: 0, 10^12, -1, 1.5, strings", test_money},
        {"time: local dates, UTC, leap days", test_time_rules},
        {"fingerprint: canonical form (R4)", test_fingerprint},
        {"hostile input", test_hostile},
        {"hostile: 64 KiB + 1 byte, 1 MiB of NULs", test_hostile_size},
        {"hostile: 100,000 '[' and deep objects", test_hostile_nesting},
        {"hostile: 10,000 elements, 4,000 keys", test_hostile_wide},
        {"hostile: U+0000 in strings and keys", test_hostile_nul},
        {"hostile: SQL text in every string field", test_hostile_sql_text},
        {"hostile: invalid UTF-8 in keys", test_hostile_utf8_keys},
        {"rejections are storable: UTF-8 details, year range", test_storable_rejections},
        {"arena reuse and id pattern", test_reuse_and_ids},
        {"batch slots: the text in the arena, the stage row rendered again", test_batch_rows},
        {"decoded again without the policies, the same row", test_redecode},
        {NULL, NULL}};
    if (setup() != 0)
        return -1;
    return cl_test_add_suite("event", tests);
}
