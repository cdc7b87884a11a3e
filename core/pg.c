/**
 * @file pg.c
 * @brief PostgreSQL connection helpers.
 */
#include "careledger/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** @brief Copy a libpq message without its trailing newline. */
static void copy_msg(char *err, size_t errsize, const char *prefix, const char *msg)
{
    snprintf(err, errsize, "%s%s", prefix, msg ? msg : "unknown error");
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

/* Instants are exchanged in UTC; notices would only clutter a terminal. */
static const char SQL_SESSION[] = "SET TimeZone = 'UTC'; SET client_min_messages = warning";

/** @brief Connect and prepare the session. */
PGconn *cl_pg_connect(const char *conninfo, const char *application_name, char *err, size_t errsize)
{
    /* Defaults first: the expanded conninfo (dbname) and PG* variables override them.
     * Timeouts and keepalives keep a silent server from hanging a worker, and with it a
     * shutdown, for minutes. */
    const char *keys[] = {"connect_timeout",     "keepalives",       "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                          "application_name",    "dbname",           NULL};
    const char *vals[] = {
        "10", "1", "30", "10", "3", "30000", application_name, conninfo ? conninfo : "", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        /* libpq may quote the conninfo back, password included (a bad %-escape in a URI). */
        char scrubbed[1024];
        cl_pg_scrub(PQerrorMessage(conn), conninfo, scrubbed, sizeof scrubbed);
        copy_msg(err, errsize, "PostgreSQL: ", scrubbed);
        PQfinish(conn);
        return NULL;
    }
    if (cl_pg_exec(conn, SQL_SESSION, err, errsize) != 0) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/** @brief A second session with the options @p c was opened with. */
PGconn *cl_pg_connect_like(PGconn *c, char *err, size_t errsize)
{
    PQconninfoOption *opts = PQconninfo(c);
    if (!opts) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        n += o->val != NULL;
    const char **keys = calloc(n + 1, sizeof *keys), **vals = calloc(n + 1, sizeof *vals);
    PGconn *conn = NULL;
    if (!keys || !vals) {
        snprintf(err, errsize, "out of memory");
        goto done;
    }
    n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val) {
            keys[n] = o->keyword;
            vals[n++] = o->val;
        }
    /* The options as used (password included), not a conninfo string: nothing to expand. */
    conn = PQconnectdbParams(keys, vals, 0);
    if (!conn) {
        snprintf(err, errsize, "out of memory");
        goto done;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        /* Only the server's reason: the options are never quoted into it. */
        copy_msg(err, errsize, "PostgreSQL: ", PQerrorMessage(conn));
        PQfinish(conn);
        conn = NULL;
        goto done;
    }
    if (cl_pg_exec(conn, SQL_SESSION, err, errsize)) {
        PQfinish(conn);
        conn = NULL;
    }
done:
    free(keys);
    free(vals);
    PQconninfoFree(opts);
    return conn;
}

/** @brief 1 if @p c separates conninfo tokens (libpq's isspace()). */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/** @brief 1 if @p conninfo is a postgresql:// or postgres:// URI. */
static int is_uri(const char *conninfo)
{
    return strncmp(conninfo, "postgresql://", 13) == 0 || strncmp(conninfo, "postgres://", 11) == 0;
}

/** @brief Append @p n bytes of @p s to out[*o] while room is left (keeps a NUL's room). */
static void put(char *out, size_t size, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *o + 1 < size; i++)
        out[(*o)++] = s[i];
}

/** @brief 1 if the keyword [k, k + n) names a secret (password, sslpassword). */
static int secret_key(const char *k, size_t n)
{
    return n >= 8 && strncmp(k + n - 8, "password", 8) == 0;
}

/**
 * @brief The URI form: user:***@, ?password=*** and &sslpassword=***; the count of masks.
 * When libpq cannot parse the URI (@p broken), a password parameter hides the rest: where
 * its value ends is then unknowable.
 */
static int redact_uri(const char *p, int broken, char *out, size_t size)
{
    size_t o = 0;
    int masked = 0;
    const char *auth = strstr(p, "//") + 2;
    /* libpq ends the user info at the first '@'; the last one is masked up to, so that a
     * password holding an unencoded '@' or '/' is never shown in part. */
    const char *at = strrchr(auth, '@');
    const char *colon = strchr(auth, ':');
    if (at && colon && colon < at) {
        put(out, size, &o, p, (size_t)(colon - p));
        put(out, size, &o, ":***", 4);
        masked++;
        p = at;
    }
    while (*p) {
        const char *eq = (*p == '?' || *p == '&') ? strchr(p, '=') : NULL;
        const char *amp = eq ? strchr(p + 1, '&') : NULL;
        if (eq && (!amp || eq < amp) && secret_key(p + 1, (size_t)(eq - p - 1))) {
            put(out, size, &o, p, (size_t)(eq - p + 1));
            put(out, size, &o, "***", 3);
            masked++;
            p = amp && !broken ? amp : eq + strlen(eq);
            continue;
        }
        put(out, size, &o, p, 1);
        p++;
    }
    out[o] = '\0';
    return masked;
}

/** @brief Mask passwords in a conninfo string or URI. */
int cl_pg_redact(const char *conninfo, char *out, size_t size)
{
    const char *p = conninfo ? conninfo : "", *all = p;
    if (size == 0)
        return 0;
    if (is_uri(p)) {
        char *why = NULL;
        PQconninfoOption *opts = PQconninfoParse(p, &why);
        int n = redact_uri(p, opts == NULL, out, size);
        PQconninfoFree(opts);
        PQfreemem(why);
        return n;
    }
    /* key = value pairs, read as libpq reads them: values quoted ('…', with \' and \\) or
     * up to the next space, backslash escapes included. Where the text stops making sense
     * and a password is named anywhere, the rest is masked: where it ends is unknowable. */
    size_t o = 0;
    int masked = 0;
    while (*p) {
        if (is_space(*p)) {
            put(out, size, &o, p++, 1);
            continue;
        }
        const char *k = p;
        while (*p && *p != '=' && !is_space(*p))
            p++;
        size_t klen = (size_t)(p - k);
        const char *q = p;
        while (is_space(*q))
            q++;
        if (*q != '=') {
            if (strstr(all, "password")) {
                put(out, size, &o, "***", 3);
                masked++;
                break;
            }
            put(out, size, &o, k, (size_t)(q - k));
            p = q;
            continue;
        }
        q++;
        while (is_space(*q))
            q++;
        const char *v = q;
        int quoted = *q == '\'';
        if (quoted) {
            for (q++; *q && *q != '\''; q++)
                if (*q == '\\' && q[1])
                    q++;
            if (!*q) { /* unterminated: the rest is the value */
                put(out, size, &o, k, klen);
                put(out, size, &o, "=***", 4);
                masked += secret_key(k, klen) || strstr(all, "password");
                break;
            }
            q++;
        } else {
            for (; *q && !is_space(*q); q++)
                if (*q == '\\' && q[1])
                    q++;
        }
        put(out, size, &o, k, klen);
        if (secret_key(k, klen)) {
            put(out, size, &o, "=***", 4);
            masked++;
        } else {
            put(out, size, &o, "=", 1);
            put(out, size, &o, v, (size_t)(q - v));
        }
        p = q;
    }
    out[o] = '\0';
    return masked;
}

/** @brief Replace every occurrence of @p secret in @p s (NUL-terminated, in a @p size buffer)
 * with "***", cutting the end when a shorter secret leaves no room. */
static void mask_all(char *s, size_t size, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    char *from = s, *hit;
    if (n == 0)
        return;
    while ((hit = strstr(from, secret))) {
        size_t at = (size_t)(hit - s), tail = strlen(hit + n);
        if (at + 4 > size) {
            *hit = '\0';
            return;
        }
        if (at + 3 + tail + 1 > size)
            tail = size - at - 4;
        memmove(hit + 3, hit + n, tail);
        hit[3 + tail] = '\0';
        memcpy(hit, "***", 3);
        from = hit + 3;
    }
}

/** @brief Mask what a libpq message may quote of a password. */
void cl_pg_scrub(const char *msg, const char *conninfo, char *out, size_t size)
{
    if (size == 0)
        return;
    const char *ci = conninfo ? conninfo : "";
    char redacted[2048];
    cl_pg_redact(ci, redacted, sizeof redacted);
    /* Only a conninfo libpq could not parse is quoted back: then every quoted fragment that
     * the redacted form does not show whole is hidden (one character tells nothing). */
    char *why = NULL;
    PQconninfoOption *opts = NULL;
    int expanded = is_uri(ci) || strchr(ci, '=');
    int broken = expanded && !(opts = PQconninfoParse(ci, &why));
    PQfreemem(why);
    size_t o = 0;
    const char *m = msg ? msg : "";
    while (*m && o + 1 < size) {
        const char *close = *m == '"' ? strchr(m + 1, '"') : NULL;
        if (broken && close) {
            size_t len = (size_t)(close - m - 1);
            char frag[1024];
            int shown = len < sizeof frag;
            if (shown && len > 1) {
                memcpy(frag, m + 1, len);
                frag[len] = '\0';
                shown = strstr(redacted, frag) != NULL;
            }
            put(out, size, &o, "\"", 1);
            if (shown)
                put(out, size, &o, m + 1, len);
            else
                put(out, size, &o, "***", 3);
            put(out, size, &o, "\"", 1);
            m = close + 1;
            continue;
        }
        put(out, size, &o, m++, 1);
    }
    out[o] = '\0';
    /* Passwords libpq parsed, and the environment's, wherever they appear. */
    for (PQconninfoOption *it = opts; it && it->keyword; it++)
        if (it->val && secret_key(it->keyword, strlen(it->keyword)))
            mask_all(out, size, it->val);
    mask_all(out, size, getenv("PGPASSWORD"));
    PQconninfoFree(opts);
}

/** @brief Run a statement that returns no rows. */
int cl_pg_exec(PGconn *conn, const char *sql, char *err, size_t errsize)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        copy_msg(err, errsize, "", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}
