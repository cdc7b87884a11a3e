/**
 * @file cmd_mock_broker.c
 * @brief `careledger mock-broker`: librdkafka's mock cluster as a process.
 *
 * First stdout line: `bootstrap=HOST:PORT`. Serves until SIGTERM or SIGINT
 * (exit 0). SIGUSR1 takes every broker down, SIGUSR2 brings them back up,
 * so tests can cut the broker without killing the process.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "careledger/mock.h"
#include "cli.h"

#define MAX_TOPICS 32

static volatile sig_atomic_t run = 1;
static volatile sig_atomic_t want_down = -1; /* -1 none, 1 down, 0 up */

/** @brief SIGTERM/SIGINT: stop. */
static void stop_cb(int sig)
{
    (void)sig;
    run = 0;
}

/** @brief SIGUSR1/SIGUSR2: brokers down/up. */
static void updown_cb(int sig)
{
    want_down = sig == SIGUSR1;
}

/** @brief Usage. */
static int mock_usage(FILE *out, int rc)
{
    fprintf(out, "usage: careledger mock-broker [--partitions N] [--topics a,b,c] [--brokers N]\n\n"
                 "Runs librdkafka's mock Kafka cluster on loopback, for tests and the demo.\n"
                 "Prints bootstrap=HOST:PORT first, then serves until SIGTERM or SIGINT.\n"
                 "SIGUSR1 takes the brokers down, SIGUSR2 brings them up again.\n"
                 "Defaults: 8 partitions; topics careledger.reference, careledger.shifts,\n"
                 "careledger.assistance; 1 broker.\n");
    return rc;
}

/** @brief Run the mock cluster until a stop signal. */
int cl_cli_mock_broker(int argc, char **argv)
{
    int partitions = 8, brokers = 1;
    char topics_buf[1024] = "careledger.reference,careledger.shifts,careledger.assistance";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return mock_usage(stdout, 0);
        if (i + 1 >= argc)
            return cl_cli_fail("mock-broker: %s needs a value", a);
        if (strcmp(a, "--partitions") == 0) {
            partitions = atoi(argv[++i]);
            if (partitions < 1 || partitions > 1000)
                return cl_cli_fail("mock-broker: --partitions must be 1..1000");
        } else if (strcmp(a, "--brokers") == 0) {
            brokers = atoi(argv[++i]);
            if (brokers < 1 || brokers > 9)
                return cl_cli_fail("mock-broker: --brokers must be 1..9");
        } else if (strcmp(a, "--topics") == 0) {
            snprintf(topics_buf, sizeof topics_buf, "%s", argv[++i]);
        } else {
            return cl_cli_fail("mock-broker: unknown option %s", a);
        }
    }
    const char *topics[MAX_TOPICS];
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(topics_buf, ",", &save); t && n < MAX_TOPICS;
         t = strtok_r(NULL, ",", &save))
        if (*t)
            topics[n++] = t;
    if (n == 0)
        return cl_cli_fail("mock-broker: --topics needs at least one name");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stop_cb;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = updown_cb;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    cl_mock_t *m = cl_mock_create(brokers, topics, n, partitions, err, sizeof err);
    if (!m)
        return cl_cli_fail("mock-broker: %s", err);
    printf("bootstrap=%s\n", cl_mock_bootstraps(m));
    fflush(stdout);
    fprintf(stderr, "mock-broker: %d broker(s), %zu topic(s) x %d partitions at %s\n", brokers, n,
            partitions, cl_mock_bootstraps(m));
    while (run) {
        if (want_down >= 0) {
            int down = want_down;
            want_down = -1;
            for (int b = 1; b <= brokers; b++)
                cl_mock_broker_set_down(m, b, down);
            fprintf(stderr, "mock-broker: brokers %s\n", down ? "down" : "up");
        }
        usleep(100 * 1000);
    }
    cl_mock_destroy(m);
    return 0;
}
