/**
 * @file log.h
 * @brief logfmt logging on stderr: `ts=… level=… msg="…" key=value …`.
 *
 * Thread-safe (one write(2) per line). Values that may hold spaces or quotes
 * go through cl_log_quote(). Secrets never reach a log line: callers log
 * redacted forms (see cl_pg_redact()).
 */
#ifndef CARELEDGER_LOG_H
#define CARELEDGER_LOG_H

#include <stddef.h>

typedef enum cl_log_level {
    CL_LOG_DEBUG = 0,
    CL_LOG_INFO = 1,
    CL_LOG_WARN = 2,
    CL_LOG_ERROR = 3,
} cl_log_level_t;

/** @brief Set the lowest level written (default info). */
void cl_log_set_level(cl_log_level_t level);

/** @brief Parse "debug|info|warn|error"; 0 on success, -1 if unknown. */
int cl_log_level_parse(const char *name, cl_log_level_t *out);

/**
 * @brief Write one logfmt line: ts, level, msg (quoted), then the optional
 * key=value pairs of @p fmt (printf-style; may be NULL).
 */
void cl_log(cl_log_level_t level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * @brief Quote @p s as a logfmt value into @p buf (always NUL-terminated,
 * truncated to @p size). Returns @p buf, so it can be used inline.
 */
const char *cl_log_quote(char *buf, size_t size, const char *s);

#define cl_log_debug(msg, ...) cl_log(CL_LOG_DEBUG, msg, __VA_ARGS__)
#define cl_log_info(msg, ...)  cl_log(CL_LOG_INFO, msg, __VA_ARGS__)
#define cl_log_warn(msg, ...)  cl_log(CL_LOG_WARN, msg, __VA_ARGS__)
#define cl_log_error(msg, ...) cl_log(CL_LOG_ERROR, msg, __VA_ARGS__)

#endif
