/**
 * @file test_demo.c
 * @brief The demo's pipeline at a small size: `gen` (same seed, same bytes),
 * published while careledgerd consumes, dead letters by reason equal to the
 * generator's own count, `verify` clean, every report written and non-empty.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cltest.h"
#include "harness.h"

/** @brief `gen` twice with the same seed gives identical files; another seed does not. */
static void test_gen_deterministic(void)
{
    cl_it_t it;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_gen", 0, 1), 0);
    const char *topics[] = {"careledger.reference", "careledger.shifts", "careledger.assistance"};
    char args[800], a[700], b[700];
    for (int run = 0; run < 3; run++) {
        snprintf(args, sizeof args, "gen --out '%s/g%d' --workers 300 --days 12 --seed %d", it.dir,
                 run, run == 2 ? 8 : 7);
        CU_ASSERT_EQUAL_FATAL(cl_it_cli(&it, args), 0);
    }
    for (int t = 0; t < 3; t++) {
        size_t la, lb, lc;
        snprintf(a, sizeof a, "%s/g0/%s.jsonl", it.dir, topics[t]);
        snprintf(b, sizeof b, "%s/g1/%s.jsonl", it.dir, topics[t]);
        char *x = cl_test_slurp(a, &la), *y = cl_test_slurp(b, &lb);
        snprintf(b, sizeof b, "%s/g2/%s.jsonl", it.dir, topics[t]);
        char *z = cl_test_slurp(b, &lc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        CU_ASSERT_PTR_NOT_NULL_FATAL(z);
        CU_ASSERT(la > 0 && la == lb && memcmp(x, y, la) == 0);
        CU_ASSERT(la != lc || memcmp(x, z, la) != 0);
        free(x);
        free(y);
        free(z);
    }
    cl_it_teardown(&it);
}

/** @brief A number from a cJSON object, 0 when absent. */
static long num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

/** @brief gen → produce while the daemon consumes → status, verify, every report. */
static void test_pipeline(void)
{
    cl_it_t it;
    CU_ASSERT_EQUAL_FATAL(cl_it_setup(&it, "it_demo", 4, 2), 0);
    char args[1200], path[800];
    cl_proc_t daemon;
    CU_ASSERT_EQUAL_FATAL(cl_it_daemon_start(&it, &daemon, NULL), 0);
    snprintf(args, sizeof args, "gen --out '%s/data' --workers 500 --days 10 --bad-rate 0.01",
             it.dir);
    CU_ASSERT_EQUAL_FATAL(cl_it_cli(&it, args), 0);
    snprintf(path, sizeof path, "%s/data/expected.json", it.dir);
    char *s = cl_test_slurp(path, NULL);
    cJSON *exp = s ? cJSON_Parse(s) : NULL;
    free(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(exp);
    long total = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(exp, "lines")) total += (long)l->valuedouble;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(exp, "lines"))
    {
        snprintf(args, sizeof args, "produce '%s/data/%s.jsonl' --topic %s", it.dir, l->string,
                 l->string);
        CU_ASSERT_EQUAL(cl_it_cli(&it, args), 0);
    }
    CU_ASSERT_EQUAL_FATAL(cl_it_wait_consumed(&it, total, 240), 0);
    CU_ASSERT_EQUAL(cl_proc_stop(&daemon, 15, 15000), 0);

    /* Dead letters by reason are exactly the generator's bad lines by kind. */
    cl_it_status_t st;
    CU_ASSERT_EQUAL_FATAL(cl_it_status(&it, &st), 0);
    CU_ASSERT_EQUAL(st.accepted, num(exp, "accepted"));
    CU_ASSERT_EQUAL(st.duplicates, num(exp, "duplicates"));
    const cJSON *dead = cJSON_GetObjectItem(exp, "dead_letters");
    CU_ASSERT_EQUAL(st.nreasons, cJSON_GetArraySize(dead));
    for (int i = 0; i < st.nreasons; i++) {
        long want = num(dead, st.reasons[i].reason);
        if (want != st.reasons[i].n)
            fprintf(stderr, "\n  %s: %ld dead letters, the generator wrote %ld\n",
                    st.reasons[i].reason, st.reasons[i].n, want);
        CU_ASSERT_EQUAL(st.reasons[i].n, want);
    }
    CU_ASSERT(st.nreasons >= 10); /* every kind of bad line at this rate */
    CU_ASSERT_EQUAL(cl_it_cli(&it, "verify"), 0);

    /* The demo's reports, every format, each file non-empty. */
    const char *reports[] = {"daily --region 220000", "daily --region 120106",
                             "finance --region 220000 --month 2020-01", "compare --region 440000"};
    for (size_t r = 0; r < sizeof reports / sizeof reports[0]; r++) {
        snprintf(args, sizeof args,
                 "report %s --date 2020-02-02 --format all --out '%s/reports' >'%s/paths-%zu'",
                 reports[r], it.dir, it.dir, r);
        char cmd[2000];
        snprintf(cmd, sizeof cmd, "'%s' %s --config '%s'", cl_it_bin(), args, it.config);
        CU_ASSERT_EQUAL(system(cmd), 0);
        snprintf(path, sizeof path, "%s/paths-%zu", it.dir, r);
        FILE *f = fopen(path, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        char line[1024];
        int files = 0, exts = 0;
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            struct stat sb;
            CU_ASSERT(stat(line, &sb) == 0 && sb.st_size > 0);
            files++;
            for (const char *e = ".pdf\0.html\0.xlsx\0.json\0"; *e; e += strlen(e) + 1)
                exts += strlen(line) > strlen(e) && strcmp(line + strlen(line) - strlen(e), e) == 0;
        }
        fclose(f);
        CU_ASSERT(files >= 6); /* pdf, html, xlsx, json and at least two csv */
        CU_ASSERT_EQUAL(exts, 4);
    }
    cJSON_Delete(exp);
    cl_it_teardown(&it);
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {{"gen: same seed, same bytes", test_gen_deterministic},
                                      {"demo pipeline at 500 workers × 10 days", test_pipeline},
                                      {NULL, NULL}};
    return cl_test_add_suite("demo", tests);
}
