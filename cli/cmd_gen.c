/**
 * @file cmd_gen.c
 * @brief `careledger gen`: write a deterministic synthetic province as JSONL per
 * topic, with the figures a correct ingest must end with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "careledger/gen.h"
#include "careledger/time.h"
#include "common.h"

static const char USAGE[] =
    "usage: careledger gen --out DIR [--seed N] [--workers N] [--units N] [--days N]\n"
    "                      [--start YYYY-MM-DD] [--bad-rate R] [--dup-rate R]\n"
    "                      [--conflict-rate R] [--config FILE]\n\n"
    "Writes DIR/careledger.reference.jsonl, careledger.shifts.jsonl and\n"
    "careledger.assistance.jsonl: 吉林省, 天津市红桥区, 大连市 and 广东省 with real GB/T 2260\n"
    "codes, units of every kind and level, workers with families, shifts (day, night,\n"
    "overnight, over-long, over-long runs), deployments, cancellations, late events, the\n"
    "configured policies' measures delivered to part of their population, monthly\n"
    "payments with arrears and overpayments, injuries, budgets and statuses; plus exact\n"
    "duplicates, conflicting duplicates and bad lines at the given rates. DIR/expected.json\n"
    "holds what ingest must end with (accepted, duplicates, dead letters by reason).\n"
    "The same arguments give the same bytes. Defaults: --seed 1 --workers 20000 --days 60\n"
    "--start 2020-01-24 --bad-rate 0.001 --dup-rate 0.005 --conflict-rate 0.001, and one\n"
    "unit per 40 workers (at least 12).\n";

/** @brief Parse a number argument; 0 or -1. */
static int num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/** @brief careledger gen … */
int cl_cli_gen(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    const char *dir = NULL, *start = "2020-01-24";
    double seed = 1, workers = 20000, days = 60, bad = 0.001, dup = 0.005, conf = 0.001, units = 0;
    char bad_arg[256] = "";
    if (cl_cli_parse_common(argc, argv, &o))
        return 1;
    static const struct {
        const char *flag;
        double lo, hi;
        size_t slot;
    } NUMS[] = {{"--seed", 0, 4294967295.0, 0}, {"--workers", 1, 5000000, 1},
                {"--days", 1, 1000, 2},         {"--bad-rate", 0, 0.5, 3},
                {"--dup-rate", 0, 0.5, 4},      {"--conflict-rate", 0, 0.5, 5},
                {"--units", 12, 1000000, 6}};
    double *slots[] = {&seed, &workers, &days, &bad, &dup, &conf, &units};
    for (int i = 0; i < o.nrest && !bad_arg[0]; i++) {
        const char *a = o.rest[i];
        int known = 0;
        if (i + 1 >= o.nrest) {
            snprintf(bad_arg, sizeof bad_arg, "%s needs a value", a);
            break;
        }
        for (size_t k = 0; k < sizeof NUMS / sizeof NUMS[0]; k++)
            if (strcmp(a, NUMS[k].flag) == 0) {
                known = 1;
                if (num(o.rest[++i], NUMS[k].lo, NUMS[k].hi, slots[NUMS[k].slot]))
                    snprintf(bad_arg, sizeof bad_arg, "%s wants a number in [%g, %g]", a,
                             NUMS[k].lo, NUMS[k].hi);
            }
        if (strcmp(a, "--out") == 0)
            dir = o.rest[++i], known = 1;
        else if (strcmp(a, "--start") == 0)
            start = o.rest[++i], known = 1;
        if (!known)
            snprintf(bad_arg, sizeof bad_arg, "unexpected argument %s", a);
    }
    if (!bad_arg[0] && !dir)
        snprintf(bad_arg, sizeof bad_arg, "--out DIR is required");
    if (bad_arg[0] && !o.help) {
        cl_cli_opts_free(&o);
        return cl_cli_fail("gen: %s (see careledger gen --help)", bad_arg);
    }
    int early = cl_cli_begin(&o, USAGE, 0, &cfg);
    if (early >= 0)
        return early;
    int rc = 1;
    char err[1024];
    cl_policy_set_t *set = NULL;
    cl_gen_opts_t g = {.seed = (uint64_t)seed,
                       .workers = (long)workers,
                       .units = (long)units,
                       .days = (int)days,
                       .bad_rate = bad,
                       .dup_rate = dup,
                       .conflict_rate = conf};
    if (cl_date_parse(start, &g.start)) {
        cl_cli_fail("gen: --start %s is not a date (YYYY-MM-DD)", start);
        goto done;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cl_cli_fail("gen: cannot create %s: %s", dir, strerror(errno));
        goto done;
    }
    if (!(set = cl_cli_load_policies(&cfg)))
        goto done;
    g.set = set;
    cl_gen_result_t res;
    if (cl_gen_run(&g, dir, &res, err, sizeof err)) {
        cl_cli_fail("gen: %s", err);
        goto done;
    }
    for (int t = 0; t < CL_GEN_TOPICS; t++)
        printf("%s\t%ld lines\t%s\n", cl_gen_topics[t], res.lines[t], res.files[t]);
    printf("expected: %ld accepted, %ld duplicates, %ld dead letters (%s/expected.json)\n",
           res.accepted, res.duplicates, res.dead, dir);
    printf("dataset: %ld regions, %ld units, %ld workers, %ld shifts, %ld deployments, "
           "%ld deliveries, %ld payments, %ld injuries\n",
           res.regions, res.units, res.workers, res.shifts, res.deployments, res.deliveries,
           res.payments, res.injuries);
    rc = 0;
done:
    cl_policy_set_destroy(set);
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}
