/**
 * @file common.c
 * @brief What the database and broker commands share: --config, policies, connections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/log.h"
#include "common.h"

/** @brief Parse --config and collect the remaining arguments. */
int cl_cli_parse_common(int argc, char **argv, cl_cli_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->rest = calloc((size_t)argc + 1, sizeof *o->rest);
    if (!o->rest)
        return -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                cl_cli_fail("--config needs a FILE");
                return -1;
            }
            o->config_path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            o->config_path = argv[i] + 9;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            o->help = 1;
        } else {
            o->rest[o->nrest++] = argv[i];
        }
    }
    return 0;
}

/** @brief Load --config, $CARELEDGER_CONFIG, or defaults. */
int cl_cli_load_config(const cl_cli_opts_t *o, cl_config_t *cfg)
{
    char err[1024];
    const char *path = o->config_path ? o->config_path : getenv("CARELEDGER_CONFIG");
    if (!path || !*path) {
        /* No file: defaults, with the policies of the repository's layout. */
        char *pol = NULL;
        if (cl_config_defaults(cfg) != 0 || !(pol = strdup("config/policies"))) {
            cl_config_clear(cfg);
            cl_cli_fail("out of memory");
            return -1;
        }
        free(cfg->policies[0]);
        cfg->policies[0] = pol;
        return 0;
    }
    if (cl_config_load(path, cfg, err, sizeof err) != 0) {
        cl_cli_fail("%s", err);
        return -1;
    }
    cl_log_level_t lvl;
    if (cl_log_level_parse(cfg->log_level, &lvl) == 0)
        cl_log_set_level(lvl);
    return 0;
}

/** @brief Load the configured policy set. */
cl_policy_set_t *cl_cli_load_policies(const cl_config_t *cfg)
{
    char *err = malloc(16384);
    if (!err) {
        cl_cli_fail("out of memory");
        return NULL;
    }
    const char *const *pats = (const char *const *)cfg->policies;
    cl_policy_set_t *set = cl_policy_set_load(pats, cfg->n_policies, err, 16384);
    if (!set)
        cl_cli_fail("policies: %s", err);
    free(err);
    return set;
}

/** @brief Connect to PostgreSQL with the configured conninfo. */
PGconn *cl_cli_connect(const cl_config_t *cfg, const char *app)
{
    char err[1024];
    PGconn *c = cl_pg_connect(cfg->pg_conninfo, app, err, sizeof err);
    if (!c)
        cl_cli_fail("%s", err);
    return c;
}

/** @brief Parse, help, no extra arguments, configuration. */
int cl_cli_start(int argc, char **argv, const char *name, const char *usage, cl_cli_opts_t *o,
                 cl_config_t *cfg)
{
    if (cl_cli_parse_common(argc, argv, o))
        return 1;
    if (o->nrest && !o->help) {
        cl_cli_fail("%s: unexpected argument %s", name, o->rest[0]);
        cl_cli_opts_free(o);
        return 1;
    }
    return cl_cli_begin(o, usage, 0, cfg);
}

/** @brief Usage on request or misuse, else the configuration. */
int cl_cli_begin(cl_cli_opts_t *o, const char *usage, int bad_usage, cl_config_t *cfg)
{
    if (o->help) {
        fputs(usage, stdout);
        cl_cli_opts_free(o);
        return 0;
    }
    if (bad_usage) { /* one line: the usage line, not the whole help */
        const char *nl = strchr(usage, '\n');
        fprintf(stderr, "%.*s (--help explains)\n", nl ? (int)(nl - usage) : (int)strlen(usage),
                usage);
        cl_cli_opts_free(o);
        return 1;
    }
    if (cl_cli_load_config(o, cfg)) {
        cl_cli_opts_free(o);
        return 1;
    }
    return -1;
}

/** @brief Free what the options hold. */
void cl_cli_opts_free(cl_cli_opts_t *o)
{
    free(o->rest);
    o->rest = NULL;
}
