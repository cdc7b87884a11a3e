/**
 * @file buf.h
 * @brief A growable byte buffer, reused across batches and reports.
 */
#ifndef CARELEDGER_BUF_H
#define CARELEDGER_BUF_H

#include <stddef.h>

typedef struct cl_buf {
    char *p; /* NUL-terminated when len < cap */
    size_t len, cap;
    int oom; /* set once an append failed; the content is then incomplete */
} cl_buf_t;

/** @brief Make room for @p n more bytes; 0 or -1 (and oom set). */
int cl_buf_reserve(cl_buf_t *b, size_t n);
/** @brief Append bytes. */
void cl_buf_add(cl_buf_t *b, const void *p, size_t n);
/** @brief Append a NUL-terminated string. */
void cl_buf_puts(cl_buf_t *b, const char *s);
/** @brief Append one byte. */
void cl_buf_putc(cl_buf_t *b, char c);
/** @brief Append printf-style. */
void cl_buf_printf(cl_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** @brief Empty the buffer, keeping its storage. */
void cl_buf_reset(cl_buf_t *b);
/** @brief Free the storage. */
void cl_buf_free(cl_buf_t *b);

#endif
