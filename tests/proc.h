/**
 * @file proc.h
 * @brief Child processes for integration tests: spawn with a stdout pipe,
 * read lines with a deadline, signal and reap.
 */
#ifndef CARELEDGER_TEST_PROC_H
#define CARELEDGER_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct cl_proc {
    pid_t pid;
    int out_fd; /* the child's stdout, or -1 */
} cl_proc_t;

/** @brief Start argv[0] (searched in PATH) with stdout piped; 0 or -1. */
int cl_proc_spawn(cl_proc_t *p, char *const argv[]);
/** @brief Read one line of the child's stdout within @p timeout_ms; 0 or -1. */
int cl_proc_readline(cl_proc_t *p, char *buf, size_t size, int timeout_ms);
/** @brief Send @p sig and wait up to @p timeout_ms; returns the exit status, or -1. */
int cl_proc_stop(cl_proc_t *p, int sig, int timeout_ms);
/** @brief Run a shell command with @p input on stdin; returns its exit status. */
int cl_proc_run_input(const char *cmd, const char *input);

#endif
