/**
 * @file cmd_rebuild.c
 * @brief `careledger rebuild`: recompute every aggregate from raw facts.
 */
#include <stdio.h>

#include "careledger/agg.h"
#include "common.h"

/** @brief careledger rebuild [--config FILE] */
int cl_cli_rebuild(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    char err[1024];
    if (cl_cli_parse_common(argc, argv, &o))
        return 1;
    if (o.help) {
        printf("usage: careledger rebuild [--config FILE]\n\n"
               "Recomputes every keyed fact and aggregate from the raw events, in one\n"
               "transaction, under the configured policies. Ingest waits meanwhile (the\n"
               "offsets are locked) and resumes after. Use it after a policy change or a\n"
               "restore; `careledger verify` tells whether it is needed.\n");
        cl_cli_opts_free(&o);
        return 0;
    }
    if (o.nrest) {
        cl_cli_opts_free(&o);
        return cl_cli_fail("rebuild: unexpected argument %s", o.rest[0]);
    }
    if (cl_cli_load_config(&o, &cfg)) {
        cl_cli_opts_free(&o);
        return 1;
    }
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
