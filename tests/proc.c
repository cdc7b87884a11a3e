/**
 * @file proc.c
 * @brief Child processes for integration tests.
 */
#include "proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/** @brief Milliseconds of a monotonic clock. */
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** @brief Start a child with a stdout pipe. */
int cl_proc_spawn(cl_proc_t *p, char *const argv[])
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* A test killed outright (ctest's timeout, kill -9) takes its brokers and daemons
         * with it: none is left holding ctest's output. Kept across exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) /* the test died before prctl() */
            _exit(127);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    p->pid = pid;
    p->out_fd = fds[0];
    return 0;
}

/** @brief Read a line byte by byte (tests read little). */
int cl_proc_readline(cl_proc_t *p, char *buf, size_t size, int timeout_ms)
{
    size_t n = 0;
    long long deadline = now_ms() + timeout_ms;
    while (n + 1 < size) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {p->out_fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)left);
        if (r <= 0)
            continue;
        char c;
        ssize_t k = read(p->out_fd, &c, 1);
        if (k <= 0)
            return -1;
        if (c == '\n')
            break;
        buf[n++] = c;
    }
    buf[n] = '\0';
    return 0;
}

/** @brief Signal and reap. */
int cl_proc_stop(cl_proc_t *p, int sig, int timeout_ms)
{
    int status;
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        if (now_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            p->pid = -1;
            if (p->out_fd >= 0)
                close(p->out_fd);
            p->out_fd = -1;
            return -1;
        }
        usleep(20000);
    }
    p->pid = -1;
    if (p->out_fd >= 0)
        close(p->out_fd);
    p->out_fd = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/** @brief Run a shell command with input. */
int cl_proc_run_input(const char *cmd, const char *input)
{
    FILE *f = popen(cmd, "w");
    if (!f)
        return -1;
    if (input)
        fputs(input, f);
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
