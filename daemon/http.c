/**
 * @file http.c
 * @brief /healthz (JSON), /metrics (Prometheus text), /reports/ (files of reports.out_dir).
 */
#include "careledger/http.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "careledger/buf.h"
#include "careledger/config.h"
#include "careledger/log.h"
#include "careledger/metrics.h"

struct cl_http {
    struct MHD_Daemon *mhd;
    pthread_mutex_t mu;
    char *reports_dir;
};

/** @brief Queue a response from a buffer. */
static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type,
                                const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/** @brief Content type of a report file by its extension. */
static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    static const char *const map[][2] = {
        {".pdf", "application/pdf"},
        {".html", "text/html; charset=utf-8"},
        {".csv", "text/csv; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}};
    for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(dot, map[i][0]) == 0)
            return map[i][1];
    return "application/octet-stream";
}

/** @brief A path below /reports/ is safe: no "..", no empty or hidden parts. */
static int safe_rel(const char *rel)
{
    if (strstr(rel, "..") || strchr(rel, '\\'))
        return 0;
    for (const char *p = rel; *p; p++)
        if ((unsigned char)*p < 0x20)
            return 0;
    return 1;
}

/** @brief Compare strings for qsort (newest date folders first). */
static int rev_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

/** @brief The newest YYYY-MM-DD folder of @p dir into @p out; 0, or -1 when none. */
static int newest_day(const char *dir, char out[16])
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    out[0] = '\0';
    struct dirent *e;
    while ((e = readdir(d))) {
        int y, m, dd;
        char extra;
        if (strlen(e->d_name) == 10 &&
            sscanf(e->d_name, "%4d-%2d-%2d%c", &y, &m, &dd, &extra) == 3 &&
            strcmp(e->d_name, out) > 0)
            memcpy(out, e->d_name, 11); /* 10 characters and the NUL, checked above */
    }
    closedir(d);
    return out[0] ? 0 : -1;
}

/** @brief Serve /reports/…: a folder listing (newest first) or a file; /reports/latest/
 * is the newest day's folder written by the scheduler. */
static enum MHD_Result serve_reports(cl_http_t *h, struct MHD_Connection *c, const char *rel)
{
    char path[4096], day[16], latest[4096];
    pthread_mutex_lock(&h->mu);
    if (strncmp(rel, "latest", 6) == 0 && (rel[6] == '\0' || rel[6] == '/') &&
        newest_day(h->reports_dir, day) == 0) {
        snprintf(latest, sizeof latest, "%s%s", day, rel + 6);
        rel = latest;
    }
    int n = snprintf(path, sizeof path, "%s/%s", h->reports_dir, rel);
    pthread_mutex_unlock(&h->mu);
    if (n < 0 || (size_t)n >= sizeof path || !safe_rel(rel))
        return send_buf(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
    struct stat st;
    if (stat(path, &st) != 0)
        return send_buf(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
    if (S_ISREG(st.st_mode)) {
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            return send_buf(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
        struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
        if (!r) {
            close(fd);
            return MHD_NO;
        }
        MHD_add_response_header(r, "Content-Type", content_type(path));
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    DIR *d = opendir(path);
    if (!d)
        return send_buf(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
    char *names[1024];
    size_t k = 0;
    struct dirent *e;
    while ((e = readdir(d)) && k < 1024)
        if (e->d_name[0] != '.')
            names[k] = strdup(e->d_name), k += names[k] != NULL;
    closedir(d);
    qsort(names, k, sizeof *names, rev_cmp);
    cl_buf_t b = {0};
    cl_buf_printf(&b,
                  "<!doctype html><meta charset=utf-8><title>careledger reports</title>"
                  "<h1>/reports/%s</h1><ul>",
                  rel);
    for (size_t i = 0; i < k; i++) {
        cl_buf_printf(&b, "<li><a href=\"/reports/%s%s%s\">%s</a></li>", rel,
                      *rel && rel[strlen(rel) - 1] != '/' ? "/" : "", names[i], names[i]);
        free(names[i]);
    }
    cl_buf_puts(&b, "</ul>\n");
    enum MHD_Result ret =
        b.oom ? MHD_NO : send_buf(c, MHD_HTTP_OK, "text/html; charset=utf-8", b.p, b.len);
    cl_buf_free(&b);
    return ret;
}

/** @brief The request handler. */
static enum MHD_Result request_cb(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    cl_http_t *h = cls;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_buf(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
    cl_buf_t b = {0};
    enum MHD_Result ret;
    if (strcmp(url, "/healthz") == 0) {
        cl_metrics_health_json(&b);
        ret = send_buf(c, cl_metrics_healthy() ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                       "application/json", b.p, b.len);
    } else if (strcmp(url, "/metrics") == 0) {
        cl_metrics_prometheus(&b);
        ret = send_buf(c, MHD_HTTP_OK, "text/plain; version=0.0.4", b.p, b.len);
    } else if (strncmp(url, "/reports/", 9) == 0 || strcmp(url, "/reports") == 0) {
        ret = serve_reports(h, c, url[8] ? url + 9 : "");
    } else {
        ret = send_buf(c, MHD_HTTP_NOT_FOUND, "text/plain",
                       "not found: /healthz, /metrics, /reports/\n", 41);
    }
    cl_buf_free(&b);
    return ret;
}

/** @brief Start serving. */
cl_http_t *cl_http_create(const char *listen, const char *reports_dir, char *err, size_t errsize)
{
    char host[256], port[16];
    struct addrinfo hints, *ai = NULL;
    if (cl_config_listen_split(listen, host, sizeof host, port, sizeof port)) {
        snprintf(err, errsize, "http.listen: expected HOST:PORT, got \"%s\"", listen);
        return NULL;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errsize, "http.listen %s: %s", listen, gai_strerror(rc));
        return NULL;
    }
    cl_http_t *h = calloc(1, sizeof *h);
    if (!h || !(h->reports_dir = strdup(reports_dir))) {
        free(h);
        freeaddrinfo(ai);
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->mhd = MHD_start_daemon(flags, (uint16_t)atoi(port), NULL, NULL, request_cb, h,
                              MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT,
                              (unsigned)10, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->mhd) {
        snprintf(err, errsize, "http.listen %s: cannot listen (in use?)", listen);
        cl_http_destroy(h);
        return NULL;
    }
    return h;
}

/** @brief Replace the reports folder. */
void cl_http_set_reports_dir(cl_http_t *h, const char *reports_dir)
{
    char *d = strdup(reports_dir);
    if (!d)
        return;
    pthread_mutex_lock(&h->mu);
    free(h->reports_dir);
    h->reports_dir = d;
    pthread_mutex_unlock(&h->mu);
}

/** @brief Stop and free. */
void cl_http_destroy(cl_http_t *h)
{
    if (!h)
        return;
    if (h->mhd)
        MHD_stop_daemon(h->mhd);
    pthread_mutex_destroy(&h->mu);
    free(h->reports_dir);
    free(h);
}
