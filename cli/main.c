/**
 * @file main.c
 * @brief careledger: the command-line tool (SPEC §9).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CARELEDGER_VERSION "0.1.0"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t COMMANDS[] = {
    {"policy", cl_cli_policy, "check FILE… | show FILE [--json]: validate and print policies"},
    {"migrate", cl_cli_migrate, "[--config FILE]: create or upgrade the database schema and roles"},
    {"ingest-file", cl_cli_ingest_file, "FILE… [--config FILE]: load JSONL events like the daemon"},
    {"produce", cl_cli_produce, "FILE --topic T [--config FILE]: send JSONL events to Kafka"},
    {"rebuild", cl_cli_rebuild, "[--config FILE]: recompute every aggregate from raw facts"},
    {"verify", cl_cli_verify,
     "[--config FILE]: recompute from raw facts with independent SQL; exit 1 on a difference"},
    {"gen", cl_cli_gen,
     "--out DIR [--seed N] [--workers N] [--days N] [--bad-rate R]: a synthetic province"},
    {"report", cl_cli_report,
     "daily|finance|compare --region CODE --date D [--month M] [--format LIST] [--out DIR]"},
    {"grant-region", cl_cli_grant_region,
     "ROLE CODE | --revoke ROLE CODE | --list [ROLE]: regions a report login may see"},
    {"status", cl_cli_status,
     "[--json] [--config FILE]: accepted, duplicates, dead letters, offsets"},
    {"dead-letters", cl_cli_dead_letters,
     "[--reason R] [--limit N] [--config FILE]: list rejected messages"},
    {"seek", cl_cli_seek,
     "--topic T --partition P --offset N [--config FILE]: read a partition again from N"},
    {"mock-broker", cl_cli_mock_broker,
     "[--partitions N] [--topics a,b] [--brokers N]: run librdkafka's mock Kafka cluster"},
};

/** @brief Print "careledger: msg" on stderr. */
int cl_cli_fail(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line whatever the source: PostgreSQL's messages carry newlines and tabs. */
    size_t o = 0;
    for (size_t i = 0; msg[i]; i++) {
        int space = msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t';
        if (space && (o == 0 || msg[o - 1] == ' '))
            continue;
        msg[o++] = space ? ' ' : msg[i];
    }
    while (o > 0 && msg[o - 1] == ' ')
        o--;
    msg[o] = '\0';
    fprintf(stderr, "careledger: %s\n", msg);
    return 1;
}

/** @brief Top-level usage. */
static void usage(FILE *out)
{
    fprintf(out, "usage: careledger COMMAND [ARGS]\n\n"
                 "careledger keeps exact subsidy, budget and coverage figures for frontline\n"
                 "medical workers (SPEC §1). Commands:\n\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\n'careledger COMMAND --help' describes one command.\n");
}

/** @brief careledger COMMAND [ARGS]: dispatch to the subcommand; its exit status. */
int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("careledger %s\n", CARELEDGER_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    return cl_cli_fail("unknown command \"%s\" (see careledger --help)", argv[1]);
}
