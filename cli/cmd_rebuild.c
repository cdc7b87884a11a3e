/**
 * @file cmd_rebuild.c
 * @brief `careledger rebuild`: recompute every aggregate from raw facts.
 */
#include <stdio.h>

#include "careledger/agg.h"
#include "common.h"

static const char USAGE[] =
    "usage: careledger rebuild [--config FILE]\n\n"
    "Recomputes every keyed fact and aggregate from the raw events, in one\n"
    "transaction, under the configured policies. Ingest waits meanwhile (the\n"
    "offsets are locked) and resumes after. Use it after a policy change or a\n"
    "restore; `careledger verify` tells whether it is needed.\n";

/** @brief careledger rebuild [--config FILE] */
int cl_cli_rebuild(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    char err[1024];
    int early = cl_cli_start(argc, argv, "rebuild", USAGE, &o, &cfg);
    if (early >= 0)
        return early;
    int rc = 1;
    cl_policy_set_t *set = cl_cli_load_policies(&cfg);
    cl_agg_t *agg = set ? cl_agg_create() : NULL;
    PGconn *c = agg ? cl_cli_connect(&cfg, "careledger-rebuild") : NULL;
    if (c) {
        long n = cl_agg_rebuild(agg, c, set, err, sizeof err);
        if (n < 0) {
            cl_cli_fail("rebuild: %s", err);
        } else {
            printf("rebuilt the aggregates of %ld workers\n", n);
            rc = 0;
        }
        PQfinish(c);
    }
    cl_agg_destroy(agg);
    cl_policy_set_destroy(set);
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}
