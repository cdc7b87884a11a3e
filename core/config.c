/**
 * @file config.c
 * @brief Table-driven configuration (key, type, default, reloadable).
 */
#include "careledger/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "careledger/json.h"
#include "careledger/log.h"
#include "careledger/pg.h"

typedef enum opt_type { T_STR, T_INT, T_STRLIST, T_PATHLIST, T_PATH, T_KV } opt_type_t;

/** One configuration key. */
typedef struct opt {
    const char *key; /* dotted path */
    opt_type_t type;
    const char *def;  /* default, as text; lists are comma-separated */
    int reload;       /* may change on SIGHUP */
    size_t off;       /* member of cl_config_t */
    size_t count_off; /* list length member */
    long min, max;    /* T_INT */
} opt_t;

#define O(m)  offsetof(cl_config_t, m)
#define NOCNT ((size_t)-1)

static const opt_t OPTS[] = {
    {"kafka", T_KV, "", 0, O(kafka), O(n_kafka), 0, 0},
    {"topics", T_STRLIST, "careledger.reference,careledger.shifts,careledger.assistance", 0,
     O(topics), O(n_topics), 0, 0},
    {"postgres.conninfo", T_STR, "", 0, O(pg_conninfo), NOCNT, 0, 0},
    {"ingest.workers", T_INT, "0", 0, O(ingest_workers), NOCNT, 0, 64},
    {"ingest.batch_max", T_INT, "40000", 0, O(batch_max), NOCNT, 1, 1000000},
    {"ingest.linger_ms", T_INT, "200", 0, O(linger_ms), NOCNT, 1, 60000},
    {"policies", T_PATHLIST, "policies", 1, O(policies), O(n_policies), 0, 0},
    {"http.listen", T_STR, "127.0.0.1:9187", 0, O(http_listen), NOCNT, 0, 0},
    {"reports.out_dir", T_PATH, "reports", 1, O(reports_out_dir), NOCNT, 0, 0},
    {"reports.daily_at", T_STR, "06:00", 1, O(reports_daily_at), NOCNT, 0, 0},
    {"reports.jurisdictions", T_STRLIST, "", 1, O(jurisdictions), O(n_jurisdictions), 0, 0},
    {"reports.formats", T_STRLIST, "pdf,html,csv,xlsx,json", 1, O(formats), O(n_formats), 0, 0},
    {"reports.lang", T_STR, "zh", 1, O(lang), NOCNT, 0, 0},
    {"log.level", T_STR, "info", 1, O(log_level), NOCNT, 0, 0},
};
#define NOPTS (sizeof OPTS / sizeof OPTS[0])

/** Sections that hold keys (a key "ingest" alone is not a value). */
static const char *const SECTIONS[] = {"postgres", "ingest", "http", "reports", "log", NULL};

/** @brief Write "FILE: key: message" into err. */
static int cerr(char *err, size_t errsize, const char *file, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int cerr(char *err, size_t errsize, const char *file, const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errsize, "%s: %s: %s", file, key, msg);
    return -1;
}

/** @brief Free a string list member. */
static void free_list(char **list, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free(list[i]);
    *n = 0;
}

/** @brief Free everything. */
void cl_config_clear(cl_config_t *cfg)
{
    char *base = (char *)cfg;
    for (size_t i = 0; i < NOPTS; i++) {
        const opt_t *o = &OPTS[i];
        switch (o->type) {
        case T_STR:
        case T_PATH:
            free(*(char **)(base + o->off));
            break;
        case T_STRLIST:
        case T_PATHLIST:
            free_list((char **)(base + o->off), (size_t *)(base + o->count_off));
            break;
        case T_KV:
            for (size_t k = 0; k < cfg->n_kafka; k++) {
                free(cfg->kafka[k].key);
                free(cfg->kafka[k].value);
            }
            free(cfg->kafka);
            break;
        default:
            break;
        }
    }
    free(cfg->path);
    memset(cfg, 0, sizeof *cfg);
}

/** @brief Split a comma list into a string list member. */
static int set_list(char **list, size_t *n, const char *csv)
{
    *n = 0;
    const char *p = csv;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (*n == CL_CONFIG_MAX_LIST || !(list[*n] = strndup(p, len)))
            return -1;
        (*n)++;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

/** @brief Defaults for every key. */
int cl_config_defaults(cl_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    char *base = (char *)cfg;
    for (size_t i = 0; i < NOPTS; i++) {
        const opt_t *o = &OPTS[i];
        switch (o->type) {
        case T_STR:
        case T_PATH:
            if (!(*(char **)(base + o->off) = strdup(o->def)))
                goto oom;
            break;
        case T_INT:
            *(int *)(base + o->off) = atoi(o->def);
            break;
        case T_STRLIST:
        case T_PATHLIST:
            if (set_list((char **)(base + o->off), (size_t *)(base + o->count_off), o->def))
                goto oom;
            break;
        case T_KV:
            break;
        }
    }
    return 0;
oom:
    cl_config_clear(cfg);
    return -1;
}

/** @brief Make @p p absolute against @p dir (unless already absolute). */
static char *resolve_path(const char *dir, const char *p)
{
    if (p[0] == '/' || !dir)
        return strdup(p);
    size_t n = strlen(dir) + strlen(p) + 2;
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "%s/%s", dir, p);
    return r;
}

/** @brief The table entry of a dotted key. */
static const opt_t *find_opt(const char *key)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strcmp(OPTS[i].key, key) == 0)
            return &OPTS[i];
    return NULL;
}

/** @brief Store one JSON value into its option. */
static int set_opt(cl_config_t *cfg, const opt_t *o, const cJSON *v, const char *dir,
                   const char *file, char *err, size_t errsize)
{
    char *base = (char *)cfg;
    switch (o->type) {
    case T_STR:
    case T_PATH: {
        if (!cJSON_IsString(v))
            return cerr(err, errsize, file, o->key, "expected a string");
        char **dst = (char **)(base + o->off);
        free(*dst);
        *dst = o->type == T_PATH ? resolve_path(dir, v->valuestring) : strdup(v->valuestring);
        return *dst ? 0 : cerr(err, errsize, file, o->key, "out of memory");
    }
    case T_INT:
        if (!cJSON_IsNumber(v))
            return cerr(err, errsize, file, o->key, "expected an integer");
        /* Range as a double first: converting one beyond long is undefined behaviour. */
        if (v->valuedouble < (double)o->min || v->valuedouble > (double)o->max)
            return cerr(err, errsize, file, o->key, "%.15g out of range (%ld..%ld)", v->valuedouble,
                        o->min, o->max);
        if (v->valuedouble != (double)(long)v->valuedouble)
            return cerr(err, errsize, file, o->key, "expected an integer");
        *(int *)(base + o->off) = (int)v->valuedouble;
        return 0;
    case T_STRLIST:
    case T_PATHLIST: {
        char **list = (char **)(base + o->off);
        size_t *n = (size_t *)(base + o->count_off);
        free_list(list, n);
        if (cJSON_IsString(v)) {
            list[0] =
                o->type == T_PATHLIST ? resolve_path(dir, v->valuestring) : strdup(v->valuestring);
            if (!list[0])
                return cerr(err, errsize, file, o->key, "out of memory");
            *n = 1;
            return 0;
        }
        if (!cJSON_IsArray(v))
            return cerr(err, errsize, file, o->key, "expected a string or an array of strings");
        for (const cJSON *it = v->child; it; it = it->next) {
            if (!cJSON_IsString(it) || !*it->valuestring)
                return cerr(err, errsize, file, o->key, "expected non-empty strings");
            if (*n == CL_CONFIG_MAX_LIST)
                return cerr(err, errsize, file, o->key, "at most %d entries", CL_CONFIG_MAX_LIST);
            list[*n] = o->type == T_PATHLIST ? resolve_path(dir, it->valuestring)
                                             : strdup(it->valuestring);
            if (!list[*n])
                return cerr(err, errsize, file, o->key, "out of memory");
            (*n)++;
        }
        return 0;
    }
    case T_KV: {
        if (!cJSON_IsObject(v))
            return cerr(err, errsize, file, o->key, "expected an object of librdkafka properties");
        size_t cnt = (size_t)cJSON_GetArraySize(v);
        cfg->kafka = calloc(cnt ? cnt : 1, sizeof *cfg->kafka);
        if (!cfg->kafka)
            return cerr(err, errsize, file, o->key, "out of memory");
        for (const cJSON *it = v->child; it; it = it->next) {
            char num[64];
            const char *val;
            if (cJSON_IsString(it))
                val = it->valuestring;
            else if (cJSON_IsBool(it))
                val = cJSON_IsTrue(it) ? "true" : "false";
            else if (cJSON_IsNumber(it) && it->valuedouble > -9.0e18 && it->valuedouble < 9.0e18 &&
                     it->valuedouble == (double)(long long)it->valuedouble)
                val = (snprintf(num, sizeof num, "%lld", (long long)it->valuedouble), num);
            else
                return cerr(err, errsize, file, "kafka", "%s: expected a string, number or boolean",
                            it->string);
            cl_kv_t *kv = &cfg->kafka[cfg->n_kafka];
            kv->key = strdup(it->string);
            kv->value = strdup(val);
            if (!kv->key || !kv->value) {
                free(kv->key);
                free(kv->value);
                return cerr(err, errsize, file, "kafka", "out of memory");
            }
            cfg->n_kafka++;
        }
        return 0;
    }
    }
    return 0;
}

/** @brief Semantic checks after every key is read. */
static int validate(const cl_config_t *cfg, const char *file, char *err, size_t errsize)
{
    int h, m;
    char extra;
    if (sscanf(cfg->reports_daily_at, "%2d:%2d%c", &h, &m, &extra) != 2 || h < 0 || h > 23 ||
        m < 0 || m > 59 || strlen(cfg->reports_daily_at) != 5)
        return cerr(err, errsize, file, "reports.daily_at", "expected HH:MM, got \"%s\"",
                    cfg->reports_daily_at);
    if (strcmp(cfg->lang, "zh") != 0 && strcmp(cfg->lang, "en") != 0)
        return cerr(err, errsize, file, "reports.lang", "expected zh or en");
    static const char *const FORMATS[] = {"pdf", "html", "csv", "xlsx", "json", NULL};
    for (size_t i = 0; i < cfg->n_formats; i++) {
        int ok = 0;
        for (int j = 0; FORMATS[j]; j++)
            ok |= strcmp(FORMATS[j], cfg->formats[i]) == 0;
        if (!ok)
            return cerr(err, errsize, file, "reports.formats",
                        "\"%s\" (expected pdf, html, csv, xlsx or json)", cfg->formats[i]);
    }
    for (size_t i = 0; i < cfg->n_jurisdictions; i++) {
        const char *c = cfg->jurisdictions[i];
        int ok = strlen(c) == 6;
        for (int j = 0; ok && j < 6; j++)
            ok = c[j] >= '0' && c[j] <= '9';
        if (!ok)
            return cerr(err, errsize, file, "reports.jurisdictions",
                        "\"%s\" is not a six-digit region code", c);
    }
    cl_log_level_t lvl;
    if (cl_log_level_parse(cfg->log_level, &lvl) != 0)
        return cerr(err, errsize, file, "log.level", "expected debug, info, warn or error");
    char host[256], port[16];
    if (cl_config_listen_split(cfg->http_listen, host, sizeof host, port, sizeof port) != 0 ||
        atoi(port) < 1 || atoi(port) > 65535)
        return cerr(err, errsize, file, "http.listen", "expected HOST:PORT, got \"%s\"",
                    cfg->http_listen);
    if (cfg->n_topics == 0)
        return cerr(err, errsize, file, "topics", "at least one topic");
    if (cfg->n_policies == 0)
        return cerr(err, errsize, file, "policies", "at least one path");
    return 0;
}

/** @brief Walk one JSON object level, matching keys against the table. */
static int walk(cl_config_t *cfg, const cJSON *obj, const char *prefix, const char *dir,
                const char *file, char *err, size_t errsize)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        char key[128];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", it->string);
        const opt_t *o = find_opt(key);
        if (o) {
            if (set_opt(cfg, o, it, dir, file, err, errsize))
                return -1;
            continue;
        }
        int section = 0;
        for (int i = 0; SECTIONS[i] && !*prefix; i++)
            section |= strcmp(SECTIONS[i], key) == 0;
        if (!section)
            return cerr(err, errsize, file, key, "unknown key");
        if (!cJSON_IsObject(it))
            return cerr(err, errsize, file, key, "expected an object");
        if (walk(cfg, it, key, dir, file, err, errsize))
            return -1;
    }
    return 0;
}

/** @brief Read and validate a configuration file. */
int cl_config_load(const char *path, cl_config_t *cfg, char *err, size_t errsize)
{
    char why[160];
    char *buf = NULL, *dircopy = NULL;
    cJSON *root = NULL;
    if (cl_config_defaults(cfg)) {
        snprintf(err, errsize, "%s: out of memory", path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsize, "%s: %s", path, strerror(errno));
        goto error;
    }
    buf = malloc(1 << 20);
    size_t len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!buf) {
        snprintf(err, errsize, "%s: out of memory", path);
        goto error;
    }
    if (cl_json_check(buf, len, why, sizeof why) != CL_JSON_OK ||
        !(root = cJSON_ParseWithLength(buf, len)) || !cJSON_IsObject(root)) {
        snprintf(err, errsize, "%s: not a strict JSON object%s%s", path, why[0] ? ": " : "", why);
        goto error;
    }
    char *abs = realpath(path, NULL);
    cfg->path = abs ? abs : strdup(path);
    dircopy = strdup(cfg->path ? cfg->path : path);
    if (!cfg->path || !dircopy) {
        snprintf(err, errsize, "%s: out of memory", path);
        goto error;
    }
    /* Defaults of path keys are relative to the file's directory too. */
    const char *dir = dirname(dircopy);
    for (size_t i = 0; i < cfg->n_policies; i++) {
        char *r = resolve_path(dir, cfg->policies[i]);
        if (!r)
            goto error;
        free(cfg->policies[i]);
        cfg->policies[i] = r;
    }
    char *r = resolve_path(dir, cfg->reports_out_dir);
    if (!r)
        goto error;
    free(cfg->reports_out_dir);
    cfg->reports_out_dir = r;
    if (walk(cfg, root, "", dir, path, err, errsize) || validate(cfg, path, err, errsize))
        goto error;
    free(dircopy);
    free(buf);
    cJSON_Delete(root);
    return 0;
error:
    free(dircopy);
    free(buf);
    cJSON_Delete(root);
    cl_config_clear(cfg);
    return -1;
}

/** @brief Compare two string lists. */
static int lists_differ(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return 1;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 1;
    return 0;
}

/** @brief Keys that changed but need a restart. */
void cl_config_restart_keys(const cl_config_t *a, const cl_config_t *b, char *out, size_t size)
{
    const char *ba = (const char *)a, *bb = (const char *)b;
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < NOPTS; i++) {
        const opt_t *opt = &OPTS[i];
        int differ = 0;
        if (opt->reload)
            continue;
        switch (opt->type) {
        case T_STR:
        case T_PATH:
            differ = strcmp(*(char *const *)(ba + opt->off), *(char *const *)(bb + opt->off)) != 0;
            break;
        case T_INT:
            differ = *(const int *)(ba + opt->off) != *(const int *)(bb + opt->off);
            break;
        case T_STRLIST:
        case T_PATHLIST:
            differ = lists_differ(
                (char *const *)(ba + opt->off), *(const size_t *)(ba + opt->count_off),
                (char *const *)(bb + opt->off), *(const size_t *)(bb + opt->count_off));
            break;
        case T_KV:
            differ = a->n_kafka != b->n_kafka;
            for (size_t k = 0; !differ && k < a->n_kafka; k++)
                differ = strcmp(a->kafka[k].key, b->kafka[k].key) != 0 ||
                         strcmp(a->kafka[k].value, b->kafka[k].value) != 0;
            break;
        }
        if (differ && o + strlen(opt->key) + 3 < size)
            o += (size_t)snprintf(out + o, size - o, "%s%s", o ? ", " : "", opt->key);
    }
}

/** @brief Swap every reloadable member of @p a and @p b. */
void cl_config_take_reloadable(cl_config_t *a, cl_config_t *b)
{
    char *ba = (char *)a, *bb = (char *)b;
    for (size_t i = 0; i < NOPTS; i++) {
        const opt_t *o = &OPTS[i];
        if (!o->reload)
            continue;
        switch (o->type) {
        case T_STR:
        case T_PATH: {
            char *t = *(char **)(ba + o->off);
            *(char **)(ba + o->off) = *(char **)(bb + o->off);
            *(char **)(bb + o->off) = t;
            break;
        }
        case T_INT: {
            int t = *(int *)(ba + o->off);
            *(int *)(ba + o->off) = *(int *)(bb + o->off);
            *(int *)(bb + o->off) = t;
            break;
        }
        case T_STRLIST:
        case T_PATHLIST: {
            char **la = (char **)(ba + o->off), **lb = (char **)(bb + o->off);
            for (size_t k = 0; k < CL_CONFIG_MAX_LIST; k++) {
                char *t = la[k];
                la[k] = lb[k];
                lb[k] = t;
            }
            size_t t = *(size_t *)(ba + o->count_off);
            *(size_t *)(ba + o->count_off) = *(size_t *)(bb + o->count_off);
            *(size_t *)(bb + o->count_off) = t;
            break;
        }
        case T_KV: /* the Kafka properties are restart-only */
            break;
        }
    }
}

/** @brief Secret-bearing librdkafka properties. */
int cl_config_kafka_secret(const char *key)
{
    return strstr(key, "password") || strstr(key, "secret") || strstr(key, "sasl.oauthbearer") ||
           strstr(key, "ssl.key.pem") || strstr(key, "ssl_key");
}

/** @brief Whether the configuration holds a password or another secret. */
int cl_config_has_secret(const cl_config_t *cfg)
{
    char redacted[2048];
    if (cl_pg_redact(cfg->pg_conninfo, redacted, sizeof redacted) > 0)
        return 1;
    for (size_t i = 0; i < cfg->n_kafka; i++)
        if (cl_config_kafka_secret(cfg->kafka[i].key))
            return 1;
    return 0;
}

/** @brief A secret in a file that group or other users may read. */
int cl_config_exposed(const cl_config_t *cfg, unsigned *mode)
{
    struct stat st;
    if (!cfg->path || !cl_config_has_secret(cfg) || stat(cfg->path, &st) != 0)
        return 0;
    if (mode)
        *mode = (unsigned)(st.st_mode & 07777);
    return (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
}

/** @brief Split HOST:PORT or [V6]:PORT. */
int cl_config_listen_split(const char *listen, char *host, size_t hsize, char *port, size_t psize)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return -1;
    size_t hl = (size_t)(colon - listen);
    const char *h = listen;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hsize || !colon[1] || strlen(colon + 1) >= psize)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

/** @brief Whether the address HTTP binds to (the first that HOST resolves to) is loopback. */
int cl_config_listen_loopback(const char *listen)
{
    char host[256], port[16];
    struct addrinfo hints, *ai = NULL;
    if (cl_config_listen_split(listen, host, sizeof host, port, sizeof port) != 0)
        return 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return 0;
    int loop = 0;
    if (ai->ai_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ai->ai_addr;
        loop = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else if (ai->ai_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        loop = IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    freeaddrinfo(ai);
    return loop;
}
