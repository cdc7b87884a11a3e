/**
 * @file config.h
 * @brief The daemon's configuration file (SPEC §10), shared by the CLI.
 *
 * A table of key / type / default / reloadable drives parsing, so that an
 * unknown key is an error naming it and SIGHUP knows what it may change.
 * Relative paths (policies, reports.out_dir) are taken relative to the
 * directory of the configuration file.
 */
#ifndef CARELEDGER_CONFIG_H
#define CARELEDGER_CONFIG_H

#include <stddef.h>

#define CL_CONFIG_MAX_LIST 32

typedef struct cl_kv {
    char *key, *value;
} cl_kv_t;

typedef struct cl_config {
    char *path;     /* the file read */
    cl_kv_t *kafka; /* librdkafka properties, passed through */
    size_t n_kafka;
    char *topics[CL_CONFIG_MAX_LIST];
    size_t n_topics;
    char *pg_conninfo;  /* "" = PG* environment only */
    int ingest_workers; /* 0 = number of cores */
    int batch_max;
    int linger_ms;
    char *policies[CL_CONFIG_MAX_LIST]; /* absolute paths or globs */
    size_t n_policies;
    char *http_listen; /* "127.0.0.1:9187" */
    char *reports_out_dir;
    char *reports_daily_at; /* "HH:MM" local */
    char *jurisdictions[CL_CONFIG_MAX_LIST];
    size_t n_jurisdictions;
    char *formats[CL_CONFIG_MAX_LIST];
    size_t n_formats;
    char *lang; /* "zh" | "en" */
    char *log_level;
} cl_config_t;

/**
 * @brief Defaults for every key (the config of an empty file).
 * @return 0, or -1 on out of memory. Free with cl_config_clear().
 */
int cl_config_defaults(cl_config_t *cfg);

/**
 * @brief Read and validate @p path into @p cfg (which the caller then owns
 * and frees with cl_config_clear()). On failure @p cfg is left cleared and
 * @p err says "FILE: key: what is wrong".
 */
int cl_config_load(const char *path, cl_config_t *cfg, char *err, size_t errsize);

/** @brief Free everything @p cfg holds. */
void cl_config_clear(cl_config_t *cfg);

/**
 * @brief The keys whose values differ between @p a and @p b and may not
 * change without a restart, comma-separated into @p out ("" when none).
 */
void cl_config_restart_keys(const cl_config_t *a, const cl_config_t *b, char *out, size_t size);

/**
 * @brief After a SIGHUP: swap every reloadable key's value (policies,
 * reports.*, log.level) between @p running and @p fresh, so that @p running
 * holds the new ones and @p fresh, which the caller then clears, the old.
 * Restart-only keys are left as they are.
 */
void cl_config_take_reloadable(cl_config_t *running, cl_config_t *fresh);

/** @brief 1 if a librdkafka property holds a secret (never logged). */
int cl_config_kafka_secret(const char *key);

/**
 * @brief 1 if @p cfg holds a secret: a password in postgres.conninfo (either
 * form, see cl_pg_redact()) or a secret librdkafka property.
 */
int cl_config_has_secret(const cl_config_t *cfg);

/**
 * @brief 1 if @p cfg holds a secret and its file (cfg->path) is readable by
 * its group or by other users; @p mode (may be NULL) receives the file's
 * permission bits then. 0 otherwise, or when the file cannot be examined.
 */
int cl_config_exposed(const cl_config_t *cfg, unsigned *mode);

/**
 * @brief Split an http.listen value, "HOST:PORT" or "[V6]:PORT", into @p host
 * and @p port (both NUL-terminated). 0, or -1 when malformed or too long.
 */
int cl_config_listen_split(const char *listen, char *host, size_t hsize, char *port, size_t psize);

/**
 * @brief 1 if the address an http.listen value binds to (the first one its
 * host resolves to, as the daemon binds) is a loopback address; 0 for any
 * other address and for a host that does not resolve.
 */
int cl_config_listen_loopback(const char *listen);

#endif
