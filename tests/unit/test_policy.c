/**
 * @file test_policy.c
 * @brief Policies pin the seeds (SPEC §4); the loader's errors; inheritance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "careledger/policy.h"
#include "cltest.h"

static cl_policy_set_t *set;

/** @brief Load the repository's policies. */
static int setup(void)
{
    char err[4096];
    const char *pat[] = {cl_test_src("config/policies")};
    set = cl_policy_set_load(pat, 1, err, sizeof err);
    if (!set)
        fprintf(stderr, "%s\n", err);
    return set ? 0 : -1;
}

/** @brief Copy @p s without ASCII or ideographic white space. */
static char *strip_ws(const char *s)
{
    char *o = malloc(strlen(s) + 1), *q = o;
    while (*s) {
        if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') {
            s++;
        } else if ((unsigned char)s[0] == 0xe3 && (unsigned char)s[1] == 0x80 &&
                   (unsigned char)s[2] == 0x80) {
            s += 3; /* U+3000 ideographic space */
        } else if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0) {
            s += 2; /* U+00A0 */
        } else {
            *q++ = *s++;
        }
    }
    *q = '\0';
    return o;
}

/** @brief The seed file's text, white space removed. */
static char *seed(const char *file)
{
    char path[1024];
    const char *dir = getenv("CARELEDGER_SEEDS_DIR");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "../shared/seeds", file);
    char *raw = cl_test_slurp(path, NULL);
    if (!raw) {
        fprintf(stderr, "\n  cannot read seed %s\n", path);
        return NULL;
    }
    char *s = strip_ws(raw);
    free(raw);
    return s;
}

/** @brief Chinese numeral for 1..39 (一 … 三十九). */
static void cn_num(int n, char *out, size_t size)
{
    static const char *const d[] = {"", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
    if (n < 10)
        snprintf(out, size, "%s", d[n]);
    else
        snprintf(out, size, "%s十%s", n >= 20 ? d[n / 10] : "", d[n % 10]);
}

/**
 * @brief Check every measure's text is whole and verbatim: in the seed
 * (white space aside) it stands right after @p before(i) and right before
 * @p after(i).
 */
static void check_whole_text(const cl_policy_t *p, const char *seedfile,
                             void (*markers)(const cl_policy_t *, size_t, char *, char *, size_t))
{
    char *s = seed(seedfile);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (size_t i = 0; i < p->n_measures; i++) {
        char before[512], after[512];
        char *t = strip_ws(p->measures[i].text);
        markers(p, i, before, after, sizeof before);
        size_t bl = strlen(before), tl = strlen(t);
        char *want = malloc(bl + tl + strlen(after) + 1);
        sprintf(want, "%s%s%s", before, t, after);
        int found = strstr(s, want) != NULL;
        if (!found)
            fprintf(stderr, "\n  %s: text is not the whole item between \"%s\" and \"%s\"\n",
                    p->measures[i].id, before, after);
        CU_ASSERT_TRUE(found);
        CU_ASSERT_PTR_NOT_NULL(strstr(s, t)); /* verbatim, white space aside */
        free(want);
        free(t);
    }
    free(s);
}

/** 吉林: "N、" + text + "（…负责）". */
static void jl_markers(const cl_policy_t *p, size_t i, char *before, char *after, size_t size)
{
    snprintf(before, size, "%s、", p->measures[i].no);
    snprintf(after, size, "（");
}

/** 大连: "一、" + text, up to the next item or the page's footer. */
static void dl_markers(const cl_policy_t *p, size_t i, char *before, char *after, size_t size)
{
    char n[32];
    cn_num((int)i + 1, n, sizeof n);
    snprintf(before, size, "%s、", n);
    if (i + 1 < p->n_measures) {
        cn_num((int)i + 2, n, sizeof n);
        snprintf(after, size, "%s、", n);
    } else {
        snprintf(after, size, "国际在线版权");
    }
}

/** 广东: "（一）" + text + "（…牵头/负责）". */
static void gd_markers(const cl_policy_t *p, size_t i, char *before, char *after, size_t size)
{
    char n[32];
    (void)p;
    cn_num((int)i + 1, n, sizeof n);
    snprintf(before, size, "（%s）", n);
    snprintf(after, size, "（");
}

/** 红桥: "（一）" + heading + text + "责任单位". */
static void hq_markers(const cl_policy_t *p, size_t i, char *before, char *after, size_t size)
{
    char n[32];
    cn_num((int)i + 1, n, sizeof n);
    char *title = strip_ws(p->measures[i].title);
    snprintf(before, size, "（%s）%s", n, title);
    free(title);
    snprintf(after, size, "责任单位");
}

/** @brief Ids PREFIX-01.. in order and `no` 1.. */
static void check_ids(const cl_policy_t *p, const char *prefix, size_t n)
{
    CU_ASSERT_EQUAL_FATAL(p->n_measures, n);
    for (size_t i = 0; i < n; i++) {
        char id[48], no[48];
        snprintf(id, sizeof id, "%s-%02zu", prefix, i + 1);
        snprintf(no, sizeof no, "%zu", i + 1);
        CU_ASSERT_STRING_EQUAL(p->measures[i].id, id);
        CU_ASSERT_STRING_EQUAL(p->measures[i].no, no);
        CU_ASSERT_TRUE(p->measures[i].n_tracks >= 1);
        /* Where a seed names no lead, the first responsible unit leads. */
        if (p->measures[i].n_responsible > 0) {
            CU_ASSERT_TRUE(p->measures[i].n_lead >= 1);
        }
    }
}

static void test_hongqiao(void)
{
    const cl_policy_t *p = cl_policy_set_find(set, "tianjin-hongqiao-2020-03-13");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->region, "120106");
    check_ids(p, "HQ", 23);
    check_whole_text(p, "tianjin-hongqiao-2020-03-13.txt", hq_markers);
    CU_ASSERT_EQUAL(p->own.frontline, CL_FRONTLINE_DIRECT);
    CU_ASSERT_EQUAL(p->own.deploy_rule, CL_DEPLOY_MULTIPLIER);
    CU_ASSERT_EQUAL(p->own.deploy_value, 2);
    /* HQ-18: a family-scoped recurring money track of ≥ 1000 yuan every 30 days, supplies every 7.
     */
    const cl_measure_t *m18 = &p->measures[17];
    CU_ASSERT_EQUAL_FATAL(m18->n_tracks, 2);
    const cl_track_t *a = cl_policy_set_track(set, "HQ-18a"),
                     *b = cl_policy_set_track(set, "HQ-18b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(a->kind, CL_TRACK_RECURRING);
    CU_ASSERT_EQUAL(a->scope, CL_SCOPE_FAMILY);
    CU_ASSERT_EQUAL(a->cadence_days, 30);
    CU_ASSERT_TRUE(a->min_amount_fen >= 100000);
    CU_ASSERT_EQUAL(b->kind, CL_TRACK_RECURRING);
    CU_ASSERT_EQUAL(b->cadence_days, 7);
    CU_ASSERT_PTR_NULL(cl_policy_set_track(set, "HQ-18"));
    /* HQ-20: accident insurance of at least 500,000 yuan. */
    const cl_track_t *t20 = cl_policy_set_track(set, "HQ-20");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t20);
    CU_ASSERT_EQUAL(t20->kind, CL_TRACK_ONCE);
    CU_ASSERT_EQUAL(t20->min_sum_insured_fen, 50000000);
    /* HQ-11: injury recognised the same day, paid within 3 days. */
    const cl_track_t *r = cl_policy_set_track(set, "HQ-11a"),
                     *pay = cl_policy_set_track(set, "HQ-11b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pay);
    CU_ASSERT_EQUAL(r->stage, CL_STAGE_RECOGNITION);
    CU_ASSERT_TRUE(r->same_day);
    CU_ASSERT_EQUAL(pay->stage, CL_STAGE_PAYMENT);
    CU_ASSERT_EQUAL(pay->pay_within_days, 3);
    /* The ledger's people: 红桥 names a responsible person and a deadline for every item. */
    CU_ASSERT_STRING_EQUAL(p->measures[0].owner, "杨永祥");
    CU_ASSERT_STRING_EQUAL(p->measures[0].lead[0], "区卫生健康委");
    CU_ASSERT_STRING_EQUAL(p->measures[18].owner, "张镇");
    for (size_t i = 0; i < p->n_measures; i++) {
        CU_ASSERT_PTR_NOT_NULL(p->measures[i].owner);
        CU_ASSERT_PTR_NOT_NULL(p->measures[i].deadline);
        CU_ASSERT_STRING_EQUAL(p->measures[i].lead[0], p->measures[i].responsible[0]);
    }
}

static void test_jilin(void)
{
    const cl_policy_t *p = cl_policy_set_find(set, "jilin-2020-03-08");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->region, "220000");
    check_ids(p, "JL", 32);
    check_whole_text(p, "jilin-2020-03-08.txt", jl_markers);
    CU_ASSERT_EQUAL(p->own.deploy_rule, CL_DEPLOY_FLAT);
    CU_ASSERT_EQUAL(p->own.deploy_value, 60000);
    CU_ASSERT_TRUE(p->own.has_unit_levels);
    CU_ASSERT_EQUAL(p->own.unit_levels, CL_LEVEL_PROVINCE | CL_LEVEL_CITY | CL_LEVEL_COUNTY);
    CU_ASSERT_EQUAL(p->own.perf_basis, CL_PERF_FRONTLINE_DAY);
    CU_ASSERT_EQUAL(p->own.perf_rate_fen, 20000);
    CU_ASSERT_TRUE(p->own.no_couples);
    const cl_track_t *t5 = cl_policy_set_track(set, "JL-05");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t5);
    CU_ASSERT_EQUAL(t5->kind, CL_TRACK_ONCE);
    CU_ASSERT_EQUAL(t5->eligible, CL_ELIG_DESIGNATED_FRONTLINE);
    CU_ASSERT_EQUAL(t5->min_amount_fen, 500000);
    CU_ASSERT_STRING_EQUAL(p->measures[4].responsible[0], "省总工会");
}

static void test_dalian_guangdong(void)
{
    const cl_policy_t *dl = cl_policy_set_find(set, "dalian-2020-02-20");
    const cl_policy_t *gd = cl_policy_set_find(set, "guangdong-2020-02-18");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gd);
    check_ids(dl, "DL", 16);
    check_ids(gd, "GD", 16);
    check_whole_text(dl, "dalian-2020-02-20.txt", dl_markers);
    check_whole_text(gd, "guangdong-2020-02-18.txt", gd_markers);
    CU_ASSERT_EQUAL(dl->own.shift_max_hours, 8);
    CU_ASSERT_TRUE(dl->own.no_couples);
    CU_ASSERT_TRUE(gd->own.no_couples);
    /* 大连 10: accident and critical-illness insurance, two sub-rows. */
    CU_ASSERT_EQUAL(dl->measures[9].n_tracks, 2);
    CU_ASSERT_EQUAL(cl_policy_set_track(set, "DL-10a")->eligible, CL_ELIG_DIRECT_OR_DEPLOYED);
    CU_ASSERT_STRING_EQUAL(gd->measures[0].item, "加强生活保障");
}

/** @brief Write @p text to a temporary policy file and load it alone. */
static cl_policy_t *load_text(const char *text, char *err, size_t errsize)
{
    char path[] = "/tmp/cl-policy-XXXXXX.json";
    int fd = mkstemps(path, 5);
    if (fd < 0)
        return NULL;
    if (write(fd, text, strlen(text)) < 0) {
        close(fd);
        return NULL;
    }
    close(fd);
    cl_policy_t *p = cl_policy_load_file(path, err, errsize);
    unlink(path);
    return p;
}

#define HEAD                                                                                       \
    "{\"id\":\"t\",\"region\":\"120106\",\"title\":\"t\",\"issuer\":\"i\",\"effective_from\":"     \
    "\"2020-01-24\",\"effective_to\":null,"

static void test_loader_errors(void)
{
    char err[1024];
    cl_policy_t *p;
    p = load_text(HEAD "\"measures\":[],\"colour\":\"red\"}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.colour: unknown key"));
    p = load_text(
        HEAD "\"measures\":[{\"id\":\"HQ-01\",\"no\":\"1\",\"item\":null,\"title\":\"t\","
             "\"text\":\"x\",\"responsible\":[],\"lead\":[],\"owner\":null,\"deadline\":null}]}",
        err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.measures[0].track: missing"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "HQ-01") || strstr(err, "measures[0]"));
    p = load_text(HEAD
                  "\"measures\":[{\"id\":\"HQ-01\",\"no\":\"1\",\"item\":null,\"title\":\"t\","
                  "\"text\":\"x\",\"responsible\":[],\"lead\":[],\"owner\":null,\"deadline\":null,"
                  "\"track\":{\"kind\":\"once\",\"scope\":\"worker\",\"eligible\":\"frontline\","
                  "\"cadence_days\":7}}]}",
                  err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.measures[0].track.cadence_days: unknown key"));
    p = load_text(HEAD
                  "\"measures\":[{\"id\":\"HQ-02\",\"no\":\"1\",\"item\":null,\"title\":\"t\","
                  "\"text\":\"x\",\"responsible\":[],\"lead\":[],\"owner\":null,\"deadline\":null,"
                  "\"track\":{\"kind\":\"status\"}}]}",
                  err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.measures[0].id"));
    p = load_text(HEAD "\"subsidy\":{\"direct_fen\":\"300\"},\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.subsidy.direct_fen: wrong type (expected an integer)"));
    p = load_text(HEAD "\"frontline\":\"some\",\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected one of: any, direct"));
    p = load_text(HEAD "\"measures\":[],\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "a key given twice"));
    p = load_text(HEAD "\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(p);
    cl_policy_destroy(p);
}

static void test_loader_hostile(void)
{
    char err[1024];
    cl_policy_t *p;
    /* Found by fuzz_policy: a number beyond int64 was converted before its range was checked
     * (undefined behaviour; it read as "wrong type"). Now it is out of range, by name. */
    p = load_text(HEAD "\"payment_due_day\":"
                       "99999999999999999999999999999999999999999999999999999999999999999910,"
                       "\"measures\":[]}",
                  err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.payment_due_day: 1e+68 out of range (expected 1..28)"));
    p = load_text(HEAD "\"subsidy\":{\"direct_fen\":-1e400},\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.subsidy.direct_fen: -inf out of range"));
    p = load_text(HEAD "\"payment_due_day\":9223372036854775808,\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.payment_due_day: 9.22337e+18 out of range"));
    p = load_text(HEAD "\"payment_due_day\":2.5,\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.payment_due_day: wrong type (expected an integer)"));
    /* The legend's bounds, likewise, before its int conversion. */
    p = load_text(HEAD "\"legend\":[1e300,5],\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.legend: expected [a, b]"));
    p = load_text(HEAD "\"legend\":[-3e9,5],\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    p = load_text(HEAD "\"legend\":[10.5,20],\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    p = load_text(HEAD "\"legend\":[10,20],\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->own.legend[0], 10);
    CU_ASSERT_EQUAL(p->own.legend[1], 20);
    cl_policy_destroy(p);
    /* A million '[' is refused at the nesting limit, without deep recursion. */
    size_t n = 1000000;
    char *deep = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
    memset(deep, '[', n);
    deep[n] = '\0';
    p = cl_policy_load_mem("deep.json", deep, n, err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "deep.json: $: not strict JSON: nested too deeply"));
    free(deep);
    /* From memory, without a terminating NUL: the same policy as from a file. */
    static const char text[] = HEAD "\"measures\":[]}";
    char *copy = malloc(sizeof text - 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    memcpy(copy, text, sizeof text - 1);
    p = cl_policy_load_mem("mem.json", copy, sizeof text - 1, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(p);
    cl_policy_destroy(p);
    free(copy);
    /* Invalid UTF-8 in a key. */
    p = load_text(HEAD "\"no\xc3\x28tes\":\"x\",\"measures\":[]}", err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid UTF-8"));
}

/** @brief A registry that says 120106's parent is 120100 … as GB/T does, but 999901 → 220000. */
static int parent_cb(void *ctx, const char *code, char parent[CL_REGION_LEN])
{
    (void)ctx;
    if (strcmp(code, "999901") == 0) {
        memcpy(parent, "220000", CL_REGION_LEN);
        return 0;
    }
    return -1;
}

static void test_resolution(void)
{
    char err[256], parent[CL_REGION_LEN];
    cl_resolved_t r;
    int32_t d;
    cl_date_parse("2020-02-10", &d);
    CU_ASSERT_EQUAL(cl_region_struct_parent("120106", parent), 0);
    CU_ASSERT_STRING_EQUAL(parent, "120100");
    CU_ASSERT_EQUAL(cl_region_struct_parent("120100", parent), 0);
    CU_ASSERT_STRING_EQUAL(parent, "120000");
    CU_ASSERT_EQUAL(cl_region_struct_parent("120000", parent), 0);
    CU_ASSERT_STRING_EQUAL(parent, "000000");
    CU_ASSERT_EQUAL(cl_region_struct_parent("000000", parent), -1);

    /* A Changchun district inherits 吉林's policy, and national's defaults. */
    CU_ASSERT_EQUAL_FATAL(cl_policy_set_resolve(set, "220102", d, NULL, NULL, &r, err, sizeof err),
                          0);
    CU_ASSERT_STRING_EQUAL(r.policy->id, "jilin-2020-03-08");
    CU_ASSERT_EQUAL(r.settings.deploy_value, 60000);
    CU_ASSERT_EQUAL(r.settings.max_consecutive_days, 14); /* from national */
    CU_ASSERT_EQUAL(r.settings.payment_due_day, 15);
    CU_ASSERT_EQUAL(r.settings.shift_max_hours, -1);
    CU_ASSERT_PTR_NOT_NULL(r.tz);
    /* 红桥 itself; another Tianjin district falls to national. */
    CU_ASSERT_EQUAL(cl_policy_set_resolve(set, "120106", d, NULL, NULL, &r, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(r.policy->id, "tianjin-hongqiao-2020-03-13");
    CU_ASSERT_EQUAL(r.settings.legend[0], 60);
    CU_ASSERT_EQUAL(cl_policy_set_resolve(set, "120105", d, NULL, NULL, &r, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(r.policy->id, "national");
    CU_ASSERT_EQUAL(r.settings.deploy_rule, CL_DEPLOY_NONE);
    /* A registered parent wins over the code structure. */
    CU_ASSERT_EQUAL(cl_policy_set_resolve(set, "999901", d, parent_cb, NULL, &r, err, sizeof err),
                    0);
    CU_ASSERT_STRING_EQUAL(r.policy->id, "jilin-2020-03-08");
    /* Before any policy is in force. */
    cl_date_parse("2019-12-31", &d);
    CU_ASSERT_EQUAL(cl_policy_set_resolve(set, "220102", d, NULL, NULL, &r, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no policy in force"));
}

static void test_set_checks(void)
{
    char err[4096];
    /* A set without national.json cannot resolve defaults. */
    const char *pat[] = {cl_test_src("config/policies/jilin-2020-03-08.json")};
    cl_policy_set_t *s = cl_policy_set_load(pat, 1, err, sizeof err);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no national policy"));
    /* The same file twice is one file; the same ids in two files are an error. */
    const char *twice[] = {cl_test_src("config/policies"), cl_test_src("config/policies/*.json")};
    s = cl_policy_set_load(twice, 2, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(s);
    CU_ASSERT_EQUAL(cl_policy_set_count(s), 5);
    cl_policy_set_destroy(s);
    const char *missing[] = {"/nonexistent/policy.json"};
    s = cl_policy_set_load(missing, 1, err, sizeof err);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/policy.json"));
}

static void test_show_json(void)
{
    const cl_policy_t *p = cl_policy_set_find(set, "jilin-2020-03-08");
    char *buf = NULL;
    size_t len = 0;
    char err[256];
    FILE *f = open_memstream(&buf, &len);
    CU_ASSERT_EQUAL(cl_policy_write_json(set, p, f, err, sizeof err), 0);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"id\":\t\"JL-32\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"max_consecutive_days\":\t14"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"inherits\":\t[\"national\"]"));
    free(buf);
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"红桥 pins its seed", test_hongqiao},
        {"吉林 pins its seed", test_jilin},
        {"大连 and 广东 pin their seeds", test_dalian_guangdong},
        {"loader errors name the path", test_loader_errors},
        {"loader: hostile numbers, nesting, UTF-8 (fuzz)", test_loader_hostile},
        {"resolution and inheritance", test_resolution},
        {"set checks", test_set_checks},
        {"normalised JSON", test_show_json},
        {NULL, NULL}};
    if (setup() != 0)
        return -1;
    return cl_test_add_suite("policy", tests);
}
