/**
 * @file harness.h
 * @brief Integration harness: a fresh database, the mock broker and the
 * daemon as separate processes, the CLI as users run it.
 */
#ifndef CARELEDGER_TEST_HARNESS_H
#define CARELEDGER_TEST_HARNESS_H

#include <stddef.h>

#include "proc.h"
#include "streamgen.h"

typedef struct cl_it {
    char name[64];    /* database and file prefix */
    char dir[256];    /* scratch folder */
    char config[320]; /* config file path */
    char bootstrap[256];
    cl_proc_t broker;
    int http_port;
    char policies[300];      /* policy path for the config; "" = the repository's */
    char reports_extra[512]; /* more "reports" keys for the config, e.g. ",\"daily_at\":…" */
    int session_timeout_ms;  /* kafka session.timeout.ms of the config; 0 = 6000 */
    char kafka_extra[256];   /* more "kafka" keys for the config, e.g. ",\"debug\":\"cgrp\"" */
} cl_it_t;

typedef struct cl_it_status {
    long accepted, duplicates, dead, consumed;
    struct {
        char reason[64];
        long n;
    } reasons[64];
    int nreasons;
} cl_it_status_t;

/** @brief The careledger binary (from $CARELEDGER_BIN). */
const char *cl_it_bin(void);
/** @brief The careledgerd binary (beside careledger). */
const char *cl_it_daemon_bin(void);
/** @brief Fresh database NAME, scratch folder, config; with @p partitions a mock broker. 0/-1. */
int cl_it_setup(cl_it_t *it, const char *name, int partitions, int workers);
/** @brief Rewrite the config (e.g. another worker count or batch size). */
int cl_it_write_config(cl_it_t *it, int workers, int batch_max, int linger_ms);
/** @brief Stop the broker and remove the scratch folder (the database stays for inspection). */
void cl_it_teardown(cl_it_t *it);
/** @brief Run a careledger subcommand with --config; returns its exit status. */
int cl_it_cli(cl_it_t *it, const char *args);
/** @brief Start careledgerd (stderr to DIR/daemon-N.log); @p env may be NULL ("K=V"). */
int cl_it_daemon_start(cl_it_t *it, cl_proc_t *p, const char *env);
/** @brief Produce the stream's three files to their topics; 0/-1. */
int cl_it_produce_stream(cl_it_t *it, const cl_stream_expect_t *exp);
/** @brief Read `careledger status --json`; 0/-1. */
int cl_it_status(cl_it_t *it, cl_it_status_t *st);
/** @brief Wait until consumed == @p total (or @p timeout_s); 0 when reached. */
int cl_it_wait_consumed(cl_it_t *it, long total, int timeout_s);
/** @brief Assert the status equals the stream's expectation (CUnit asserts). */
void cl_it_assert_expected(const cl_it_status_t *st, const cl_stream_expect_t *exp);
/** @brief md5 over the stored events and dead letters (not ids/times), into @p out (33). */
int cl_it_digest(cl_it_t *it, char *out);
/**
 * @brief GET http://127.0.0.1:PORT@p path; the status code, with the body in
 * @p body (NUL-terminated, cut at @p size). -1 when it cannot connect or gets no
 * answer within 5 s.
 */
int cl_it_http_get(int port, const char *path, char *body, size_t size);
/** @brief Count the lines of a daemon log (DIR/daemon-*.log) containing @p needle. */
int cl_it_log_count(cl_it_t *it, const char *needle);
/** @brief Run a statement without rows in the test database; 0 or -1. */
int cl_it_exec(cl_it_t *it, const char *sql);
/** @brief Run SQL in the test database and return the first value (static buffer). */
const char *cl_it_sql(cl_it_t *it, const char *sql);
/** @brief cl_it_sql() as @p login (NULL: the default user); same static buffer. */
const char *cl_it_sql_as(cl_it_t *it, const char *login, const char *sql);

#endif
