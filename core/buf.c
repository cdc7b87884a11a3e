/**
 * @file buf.c
 * @brief Growable byte buffer.
 */
#include "careledger/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** @brief Ensure room for n more bytes plus a NUL. */
int cl_buf_reserve(cl_buf_t *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/** @brief Append bytes. */
void cl_buf_add(cl_buf_t *b, const void *p, size_t n)
{
    if (cl_buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/** @brief Append a string. */
void cl_buf_puts(cl_buf_t *b, const char *s)
{
    cl_buf_add(b, s, strlen(s));
}

/** @brief Append a byte. */
void cl_buf_putc(cl_buf_t *b, char c)
{
    if (cl_buf_reserve(b, 1))
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

/** @brief Append formatted text. */
void cl_buf_printf(cl_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        cl_buf_add(b, small, (size_t)n);
        return;
    }
    if (cl_buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/** @brief Empty, keep storage. */
void cl_buf_reset(cl_buf_t *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->p)
        b->p[0] = '\0';
}

/** @brief Free storage. */
void cl_buf_free(cl_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
