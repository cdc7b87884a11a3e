/**
 * @file http.h
 * @brief The daemon's HTTP endpoint (libmicrohttpd): /healthz, /metrics, /reports/.
 */
#ifndef CARELEDGER_HTTP_H
#define CARELEDGER_HTTP_H

#include <stddef.h>

typedef struct cl_http cl_http_t;

/**
 * @brief Listen on @p listen ("HOST:PORT", "[v6]:PORT") and serve from an
 * internal thread. @p reports_dir (copied) is served under /reports/.
 * @return a server the caller stops with cl_http_destroy(), or NULL with the
 * reason in @p err.
 */
cl_http_t *cl_http_create(const char *listen, const char *reports_dir, char *err, size_t errsize);
/** @brief Replace the folder served under /reports/ (after a reload). */
void cl_http_set_reports_dir(cl_http_t *h, const char *reports_dir);
/** @brief Stop serving and free (NULL is fine). */
void cl_http_destroy(cl_http_t *h);

#endif
