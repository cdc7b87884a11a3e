/**
 * @file common.h
 * @brief Shared pieces of the commands that touch the database or the broker.
 */
#ifndef CARELEDGER_CLI_COMMON_H
#define CARELEDGER_CLI_COMMON_H

#include "careledger/config.h"
#include "careledger/pg.h"
#include "careledger/policy.h"
#include "cli.h"

typedef struct cl_cli_opts {
    const char *config_path; /* --config FILE, or NULL */
    int help;
    char **rest; /* the other arguments, owned (the strings are argv's) */
    int nrest;
} cl_cli_opts_t;

/** @brief Split --config/--help from the rest (argv[0] is the command); 0 or -1. */
int cl_cli_parse_common(int argc, char **argv, cl_cli_opts_t *o);
/**
 * @brief The end of a command's preamble, after it parsed its own arguments:
 * print @p usage and stop on --help (exit 0) or when @p bad_usage (on stderr,
 * exit 1); else load the configuration.
 * @return -1 to go on (@p o and @p cfg are then the caller's to free), or the
 * exit code to return at once (everything freed).
 */
int cl_cli_begin(cl_cli_opts_t *o, const char *usage, int bad_usage, cl_config_t *cfg);
/**
 * @brief The preamble of a command without arguments of its own: parse,
 * print @p usage on --help, refuse extra arguments, load the configuration.
 * @return -1 to go on (@p o and @p cfg are then the caller's to free), or the
 * exit code to return at once (everything freed).
 */
int cl_cli_start(int argc, char **argv, const char *name, const char *usage, cl_cli_opts_t *o,
                 cl_config_t *cfg);
/** @brief Free the options. */
void cl_cli_opts_free(cl_cli_opts_t *o);
/**
 * @brief Load --config, else $CARELEDGER_CONFIG, else defaults with policies from
 * ./config/policies; PG* variables apply in every case. 0 or -1 (reported).
 */
int cl_cli_load_config(const cl_cli_opts_t *o, cl_config_t *cfg);
/** @brief The configured policies, or NULL (reported). The caller destroys the set. */
cl_policy_set_t *cl_cli_load_policies(const cl_config_t *cfg);
/** @brief A connection, or NULL (reported). The caller PQfinish()es it. */
PGconn *cl_cli_connect(const cl_config_t *cfg, const char *app);

#endif
