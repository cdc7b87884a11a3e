/**
 * @file cli.h
 * @brief careledger subcommands (SPEC §9). Each returns the process exit
 * code: 0 on success, 1 on failure after one clear line on stderr.
 */
#ifndef CARELEDGER_CLI_H
#define CARELEDGER_CLI_H

/** @brief `careledger policy check|show …`. */
int cl_cli_policy(int argc, char **argv);
/** @brief `careledger mock-broker [--partitions N] [--topics a,b] [--brokers N]`. */
int cl_cli_mock_broker(int argc, char **argv);

/** @brief `careledger migrate`. */
int cl_cli_migrate(int argc, char **argv);
/** @brief `careledger ingest-file FILE…`. */
int cl_cli_ingest_file(int argc, char **argv);
/** @brief `careledger produce FILE --topic T`. */
int cl_cli_produce(int argc, char **argv);
/** @brief `careledger rebuild`. */
int cl_cli_rebuild(int argc, char **argv);
/** @brief `careledger verify`. */
int cl_cli_verify(int argc, char **argv);
/** @brief `careledger gen --out DIR …`. */
int cl_cli_gen(int argc, char **argv);
/** @brief `careledger report daily|finance|compare …`. */
int cl_cli_report(int argc, char **argv);
/** @brief `careledger grant-region ROLE CODE | --revoke ROLE CODE | --list [ROLE]`. */
int cl_cli_grant_region(int argc, char **argv);
/** @brief `careledger status [--json]`. */
int cl_cli_status(int argc, char **argv);
/** @brief `careledger dead-letters [--reason R] [--limit N]`. */
int cl_cli_dead_letters(int argc, char **argv);
/** @brief `careledger seek --topic T --partition P --offset N`: move a stored offset back. */
int cl_cli_seek(int argc, char **argv);

/** @brief Print "careledger: <msg>" on stderr; returns 1. */
int cl_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
