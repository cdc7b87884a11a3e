/**
 * @file policy.c
 * @brief Policy files: strict loading with JSON-path errors, sets, inheritance.
 */
#include "careledger/policy.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "careledger/json.h"

#define MAX_FILE_BYTES (4 * 1024 * 1024)
#define MAX_CHAIN      8

/* ---- enum names ---- */

static const char *const KIND_NAMES[] = {"entitlement", "once", "recurring", "sla", "status", NULL};
static const char *const SCOPE_NAMES[] = {"none", "worker", "family", "unit", NULL};
static const char *const ELIG_NAMES[] = {"none",
                                         "frontline",
                                         "direct",
                                         "deployed",
                                         "direct_or_deployed",
                                         "designated_frontline",
                                         "with_children",
                                         "infected",
                                         "all",
                                         NULL};
static const char *const PART_NAMES[] = {"none", "local", "deployment", "all", NULL};
static const char *const STAGE_NAMES[] = {"none", "recognition", "payment", NULL};
static const char *const LEVEL_NAMES[] = {"province", "city", "county", "township", NULL};
static const char *const FUNDING_NAMES[] = {"central", "provincial", "city", "district", NULL};

/** @brief Track kind name. */
const char *cl_track_kind_name(cl_track_kind_t k)
{
    return (unsigned)k <= CL_TRACK_STATUS ? KIND_NAMES[k] : "?";
}
/** @brief Scope name. */
const char *cl_scope_name(cl_scope_t s)
{
    return (unsigned)s <= CL_SCOPE_UNIT ? SCOPE_NAMES[s] : "?";
}
/** @brief Eligibility key name. */
const char *cl_eligible_name(cl_eligible_t e)
{
    return (unsigned)e <= CL_ELIG_ALL ? ELIG_NAMES[e] : "?";
}
/** @brief Entitlement part name. */
const char *cl_part_name(cl_part_t p)
{
    return (unsigned)p <= CL_PART_ALL ? PART_NAMES[p] : "?";
}

/* ---- region codes ---- */

/** @brief Six ASCII digits. */
int cl_region_code_valid(const char *code)
{
    if (!code)
        return 0;
    for (int i = 0; i < 6; i++)
        if (code[i] < '0' || code[i] > '9')
            return 0;
    return code[6] == '\0';
}

/** @brief GB/T 2260 structural parent: XXYYZZ → XXYY00 → XX0000 → 000000. */
int cl_region_struct_parent(const char *code, char parent[CL_REGION_LEN])
{
    if (!cl_region_code_valid(code) || strcmp(code, "000000") == 0)
        return -1;
    memcpy(parent, code, CL_REGION_LEN);
    if (memcmp(code + 4, "00", 2) != 0)
        memcpy(parent + 4, "00", 2);
    else if (memcmp(code + 2, "00", 2) != 0)
        memcpy(parent + 2, "0000", 4);
    else
        memcpy(parent, "000000", 6);
    return 0;
}

/* ---- loading one file ---- */

typedef struct load_ctx {
    const char *file;
    char *err;
    size_t errsize;
    int failed;
} load_ctx_t;

/** @brief Record the first error as "FILE: PATH: message". */
static int perr(load_ctx_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(load_ctx_t *c, const char *path, const char *fmt, ...)
{
    if (c->failed)
        return -1;
    c->failed = 1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errsize, "%s: %s: %s", c->file, path, msg);
    return -1;
}

/** @brief Join "a" + ".b" into a path buffer (a long path is cut; it is only for messages). */
static const char *subpath(char *buf, size_t size, const char *path, const char *key)
{
    if (snprintf(buf, size, "%s.%s", path, key) >= (int)size && size > 4)
        memcpy(buf + size - 4, "...", 4);
    return buf;
}

/** @brief Reject keys of @p obj not in @p allowed (NULL-terminated). */
static int check_keys(load_ctx_t *c, const cJSON *obj, const char *path, const char *const *allowed)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        int ok = 0;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], it->string) == 0;
        if (!ok) {
            char list[512] = "";
            size_t o = 0;
            for (size_t i = 0; allowed[i] && o < sizeof list - 40; i++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", allowed[i]);
            char p[256];
            return perr(c, subpath(p, sizeof p, path, it->string),
                        "unknown key (expected one of: %s)", list);
        }
    }
    return 0;
}

/** @brief strdup that records out-of-memory. */
static char *xstrdup(load_ctx_t *c, const char *s)
{
    char *d = strdup(s);
    if (!d)
        perr(c, "$", "out of memory");
    return d;
}

/** @brief Required or optional string (or null when @p nullable). */
static int get_str(load_ctx_t *c, const cJSON *obj, const char *path, const char *key, int required,
                   int nullable, char **out)
{
    char p[256];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v)
        return required ? perr(c, subpath(p, sizeof p, path, key), "missing (expected %s)",
                               nullable ? "a string or null" : "a string")
                        : 0;
    if (cJSON_IsNull(v)) {
        if (nullable)
            return 0;
        return perr(c, subpath(p, sizeof p, path, key), "null (expected a string)");
    }
    if (!cJSON_IsString(v))
        return perr(c, subpath(p, sizeof p, path, key), "wrong type (expected a string)");
    if (!*v->valuestring)
        return perr(c, subpath(p, sizeof p, path, key), "empty (expected a non-empty string)");
    *out = xstrdup(c, v->valuestring);
    return *out ? 0 : -1;
}

/** @brief Integer in [lo, hi]; *present says whether it was given (null = not given when nullable).
 */
static int get_int(load_ctx_t *c, const cJSON *obj, const char *path, const char *key, int required,
                   int64_t lo, int64_t hi, int64_t *out, int *present)
{
    char p[256];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (present)
        *present = 0;
    if (!v)
        return required ? perr(c, subpath(p, sizeof p, path, key), "missing (expected an integer)")
                        : 0;
    if (!cJSON_IsNumber(v))
        return perr(c, subpath(p, sizeof p, path, key), "wrong type (expected an integer)");
    /* Compare as a double first: converting one beyond int64 is undefined behaviour. */
    double d = v->valuedouble;
    if (d < -9.0e15 || d > 9.0e15)
        return perr(c, subpath(p, sizeof p, path, key), "%g out of range (expected %lld..%lld)", d,
                    (long long)lo, (long long)hi);
    if (d != (double)(int64_t)d)
        return perr(c, subpath(p, sizeof p, path, key), "wrong type (expected an integer)");
    if ((int64_t)d < lo || (int64_t)d > hi)
        return perr(c, subpath(p, sizeof p, path, key), "%.0f out of range (expected %lld..%lld)",
                    d, (long long)lo, (long long)hi);
    *out = (int64_t)d;
    if (present)
        *present = 1;
    return 0;
}

/** @brief Enum from a string list; *out is the index. */
static int get_enum(load_ctx_t *c, const cJSON *obj, const char *path, const char *key,
                    int required, const char *const *names, int first, int *out, int *present)
{
    char p[256];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (present)
        *present = 0;
    if (!v)
        return required ? perr(c, subpath(p, sizeof p, path, key), "missing") : 0;
    char list[256] = "";
    size_t o = 0;
    for (int i = first; names[i]; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i > first ? ", " : "", names[i]);
    if (!cJSON_IsString(v))
        return perr(c, subpath(p, sizeof p, path, key), "wrong type (expected one of: %s)", list);
    for (int i = first; names[i]; i++) {
        if (strcmp(names[i], v->valuestring) == 0) {
            *out = i;
            if (present)
                *present = 1;
            return 0;
        }
    }
    return perr(c, subpath(p, sizeof p, path, key), "\"%s\" is not allowed (expected one of: %s)",
                v->valuestring, list);
}

/** @brief Array of non-empty strings. */
static int get_str_array(load_ctx_t *c, const cJSON *obj, const char *path, const char *key,
                         char ***out, size_t *n)
{
    char p[256];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    *n = 0;
    subpath(p, sizeof p, path, key);
    if (!v)
        return perr(c, p, "missing (expected an array of strings)");
    if (!cJSON_IsArray(v))
        return perr(c, p, "wrong type (expected an array of strings)");
    size_t cnt = (size_t)cJSON_GetArraySize(v);
    *out = calloc(cnt ? cnt : 1, sizeof(char *));
    if (!*out)
        return perr(c, p, "out of memory");
    size_t i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        if (!cJSON_IsString(it) || !*it->valuestring) {
            char q[280];
            snprintf(q, sizeof q, "%s[%zu]", p, i);
            return perr(c, q, "expected a non-empty string");
        }
        (*out)[i] = xstrdup(c, it->valuestring);
        if (!(*out)[i])
            return -1;
        *n = i + 1;
    }
    return 0;
}

/** @brief A date "YYYY-MM-DD" (or null → INT32_MAX when @p nullable). */
static int get_date(load_ctx_t *c, const cJSON *obj, const char *path, const char *key,
                    int nullable, int32_t *out)
{
    char p[256];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    subpath(p, sizeof p, path, key);
    if (!v)
        return perr(c, p, "missing (expected a date YYYY-MM-DD%s)", nullable ? " or null" : "");
    if (nullable && cJSON_IsNull(v)) {
        *out = INT32_MAX;
        return 0;
    }
    if (!cJSON_IsString(v) || cl_date_parse(v->valuestring, out) != 0)
        return perr(c, p, "not a date (expected YYYY-MM-DD%s)", nullable ? " or null" : "");
    return 0;
}

static const char *const TRACK_KEYS[CL_TRACK_STATUS + 1][12] = {
    [CL_TRACK_ENTITLEMENT] = {"kind", "label", "part", "line", "target", NULL},
    [CL_TRACK_ONCE] = {"kind", "label", "scope", "eligible", "grace_days", "min_amount_fen",
                       "min_sum_insured_fen", "line", "target", NULL},
    [CL_TRACK_RECURRING] = {"kind", "label", "scope", "eligible", "cadence_days", "grace_days",
                            "min_amount_fen", "min_sum_insured_fen", "line", "target", NULL},
    [CL_TRACK_SLA] = {"kind", "label", "scope", "eligible", "stage", "same_day", "pay_within_days",
                      "grace_days", "target", NULL},
    [CL_TRACK_STATUS] = {"kind", "label", "target", NULL},
};

/** @brief 1 if s is [a-z_]{1,31}. */
static int line_name_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || s[n] == '_'))
            return 0;
    return n >= 1 && n < 32;
}

/** @brief Parse and check one track object. */
static int parse_track(load_ctx_t *c, const cJSON *o, const char *path, cl_track_t *t)
{
    char p[256];
    int k, present;
    int64_t v;
    if (!cJSON_IsObject(o))
        return perr(c, path, "wrong type (expected a track object)");
    if (get_enum(c, o, path, "kind", 1, KIND_NAMES, 0, &k, NULL))
        return -1;
    t->kind = (cl_track_kind_t)k;
    if (check_keys(c, o, path, TRACK_KEYS[t->kind]))
        return -1;
    t->pay_within_days = t->grace_days = t->target = -1;
    t->min_amount_fen = t->min_sum_insured_fen = -1;
    if (get_str(c, o, path, "label", 0, 0, &t->label))
        return -1;
    if (t->kind == CL_TRACK_ONCE || t->kind == CL_TRACK_RECURRING || t->kind == CL_TRACK_SLA) {
        if (get_enum(c, o, path, "scope", 1, SCOPE_NAMES, 1, &k, NULL))
            return -1;
        t->scope = (cl_scope_t)k;
        if (get_enum(c, o, path, "eligible", 1, ELIG_NAMES, 1, &k, NULL))
            return -1;
        t->eligible = (cl_eligible_t)k;
        if (t->scope == CL_SCOPE_UNIT && t->eligible != CL_ELIG_ALL &&
            t->eligible != CL_ELIG_FRONTLINE)
            return perr(c, subpath(p, sizeof p, path, "eligible"),
                        "\"%s\" does not apply to units (expected all or frontline)",
                        ELIG_NAMES[t->eligible]);
    }
    if (t->kind == CL_TRACK_ENTITLEMENT) {
        if (get_enum(c, o, path, "part", 1, PART_NAMES, 1, &k, NULL))
            return -1;
        t->part = (cl_part_t)k;
        t->scope = CL_SCOPE_WORKER;
    }
    if (t->kind == CL_TRACK_RECURRING) {
        if (get_int(c, o, path, "cadence_days", 1, 1, 3660, &v, NULL))
            return -1;
        t->cadence_days = (int)v;
    }
    if (t->kind == CL_TRACK_SLA) {
        if (t->scope != CL_SCOPE_WORKER || t->eligible != CL_ELIG_INFECTED)
            return perr(c, path,
                        "an sla track is the work-injury channel (expected scope worker "
                        "and eligible infected)");
        if (get_enum(c, o, path, "stage", 1, STAGE_NAMES, 1, &k, NULL))
            return -1;
        t->stage = (cl_stage_t)k;
        const cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "same_day");
        if (sd && !cJSON_IsBool(sd))
            return perr(c, subpath(p, sizeof p, path, "same_day"),
                        "wrong type (expected true or false)");
        t->same_day = sd && cJSON_IsTrue(sd);
        if (get_int(c, o, path, "pay_within_days", 0, 0, 3660, &v, &present))
            return -1;
        if (present)
            t->pay_within_days = (int)v;
        if (t->stage == CL_STAGE_RECOGNITION && (!t->same_day || present))
            return perr(c, path,
                        "a recognition track is due the reported day (expected "
                        "\"same_day\": true and no pay_within_days)");
        if (t->stage == CL_STAGE_PAYMENT && (!present || t->same_day))
            return perr(c, path, "a payment track needs pay_within_days (and no same_day)");
    }
    if (get_int(c, o, path, "grace_days", 0, 0, 3660, &v, &present))
        return -1;
    if (present)
        t->grace_days = (int)v;
    if (get_int(c, o, path, "min_amount_fen", 0, 0, 1000000000000LL, &v, &present))
        return -1;
    if (present)
        t->min_amount_fen = v;
    if (get_int(c, o, path, "min_sum_insured_fen", 0, 0, 1000000000000LL, &v, &present))
        return -1;
    if (present)
        t->min_sum_insured_fen = v;
    if (get_int(c, o, path, "target", 0, 0, 100, &v, &present))
        return -1;
    if (present)
        t->target = (int)v;
    char *line = NULL;
    if (get_str(c, o, path, "line", 0, 0, &line))
        return -1;
    if (line) {
        int ok = line_name_valid(line);
        if (ok)
            snprintf(t->line, sizeof t->line, "%s", line);
        free(line);
        if (!ok)
            return perr(c, subpath(p, sizeof p, path, "line"), "expected [a-z_]{1,31}");
    }
    return 0;
}

static const char *const MEASURE_KEYS[] = {
    "id", "no", "item", "title", "text", "responsible", "lead", "owner", "deadline", "track", NULL};

/** @brief Parse one measure at position @p idx. */
static int parse_measure(load_ctx_t *c, const cJSON *o, const char *path, cl_policy_t *pol,
                         size_t idx, cl_measure_t *m)
{
    char p[256];
    char *s = NULL;
    m->policy = pol;
    if (!cJSON_IsObject(o))
        return perr(c, path, "wrong type (expected a measure object)");
    if (check_keys(c, o, path, MEASURE_KEYS))
        return -1;
    if (get_str(c, o, path, "id", 1, 0, &s))
        return -1;
    /* Ids are PREFIX-NN, numbered 01.. in the seed's order. */
    int ok = strlen(s) == 5 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
             s[2] == '-' && s[3] >= '0' && s[3] <= '9' && s[4] >= '0' && s[4] <= '9';
    if (ok) {
        snprintf(m->id, sizeof m->id, "%s", s);
        ok = (size_t)((s[3] - '0') * 10 + (s[4] - '0')) == idx + 1;
    }
    free(s);
    if (!ok)
        return perr(c, subpath(p, sizeof p, path, "id"),
                    "expected XX-%02zu (two capital letters, the position in the seed's order)",
                    idx + 1);
    if (idx > 0 && memcmp(pol->measures[0].id, m->id, 2) != 0)
        return perr(c, subpath(p, sizeof p, path, "id"),
                    "prefix differs from the first measure's (%.2s)", pol->measures[0].id);
    if (get_str(c, o, path, "no", 1, 0, &m->no))
        return -1;
    for (const char *q = m->no; *q; q++)
        if (*q < '0' || *q > '9')
            return perr(c, subpath(p, sizeof p, path, "no"),
                        "expected the seed's number as Arabic numerals");
    if (get_str(c, o, path, "item", 1, 1, &m->item) ||
        get_str(c, o, path, "title", 1, 0, &m->title) ||
        get_str(c, o, path, "text", 1, 0, &m->text) ||
        get_str_array(c, o, path, "responsible", &m->responsible, &m->n_responsible) ||
        get_str_array(c, o, path, "lead", &m->lead, &m->n_lead) ||
        get_str(c, o, path, "owner", 1, 1, &m->owner) ||
        get_str(c, o, path, "deadline", 1, 1, &m->deadline))
        return -1;
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(o, "track");
    subpath(p, sizeof p, path, "track");
    if (!tr)
        return perr(c, p, "missing: every measure needs a track saying how it is counted");
    size_t n = cJSON_IsArray(tr) ? (size_t)cJSON_GetArraySize(tr) : 1;
    if (n == 0 || n > 26)
        return perr(c, p, "expected a track object or an array of 1..26 tracks");
    m->tracks = calloc(n, sizeof *m->tracks);
    if (!m->tracks)
        return perr(c, p, "out of memory");
    m->n_tracks = n;
    for (size_t i = 0; i < n; i++) {
        cl_track_t *t = &m->tracks[i];
        char tp[280];
        const cJSON *to = tr;
        if (cJSON_IsArray(tr)) {
            to = cJSON_GetArrayItem(tr, (int)i);
            snprintf(tp, sizeof tp, "%s[%zu]", p, i);
        } else {
            snprintf(tp, sizeof tp, "%s", p);
        }
        t->measure = m;
        t->index = (int)i;
        if (n == 1)
            snprintf(t->id, sizeof t->id, "%s", m->id);
        else
            snprintf(t->id, sizeof t->id, "%s%c", m->id, (char)('a' + i));
        if (parse_track(c, to, tp, t))
            return -1;
    }
    return 0;
}

static const char *const POLICY_KEYS[] = {"id",
                                          "region",
                                          "timezone",
                                          "title",
                                          "issuer",
                                          "seed",
                                          "effective_from",
                                          "effective_to",
                                          "frontline",
                                          "subsidy",
                                          "performance_pay",
                                          "limits",
                                          "payment_due_day",
                                          "legend",
                                          "funding",
                                          "notes",
                                          "measures",
                                          NULL};
static const char *const SUBSIDY_KEYS[] = {"direct_fen", "other_fen", "deployment", "unit_levels",
                                           NULL};
static const char *const LIMIT_KEYS[] = {"shift_max_hours", "max_consecutive_days", "no_couples",
                                         NULL};
static const char *const PERF_KEYS[] = {"basis", "rate_fen", NULL};
static const char *const FUNDING_KEYS[] = {"local", "deployment", NULL};

/** @brief An int-or-null limit member: sets the bit, -1 for null. */
static int get_limit(load_ctx_t *c, const cJSON *o, const char *path, const char *key, int bit,
                     int *out, cl_settings_t *s)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return 0;
    s->set |= (unsigned)bit;
    if (cJSON_IsNull(v)) {
        *out = -1;
        return 0;
    }
    int64_t x;
    if (get_int(c, o, path, key, 1, 1, 366, &x, NULL))
        return -1;
    *out = (int)x;
    return 0;
}

/** @brief The inheritable settings a file gives. */
static int parse_settings(load_ctx_t *c, const cJSON *root, cl_settings_t *s)
{
    char p[256];
    int k, present;
    int64_t v;
    char *tz = NULL;
    if (get_str(c, root, "$", "timezone", 0, 0, &tz))
        return -1;
    if (tz) {
        if (strlen(tz) >= sizeof s->timezone) {
            free(tz);
            return perr(c, "$.timezone", "too long");
        }
        snprintf(s->timezone, sizeof s->timezone, "%s", tz);
        s->set |= CL_SET_TIMEZONE;
        free(tz);
    }
    static const char *const FRONTLINE[] = {"any", "direct", NULL};
    if (get_enum(c, root, "$", "frontline", 0, FRONTLINE, 0, &k, &present))
        return -1;
    if (present) {
        s->frontline = (cl_frontline_t)k;
        s->set |= CL_SET_FRONTLINE;
    }
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(root, "subsidy");
    if (sub) {
        if (!cJSON_IsObject(sub))
            return perr(c, "$.subsidy", "wrong type (expected an object)");
        if (check_keys(c, sub, "$.subsidy", SUBSIDY_KEYS))
            return -1;
        if (get_int(c, sub, "$.subsidy", "direct_fen", 0, 0, 100000000, &v, &present))
            return -1;
        if (present) {
            s->direct_fen = v;
            s->set |= CL_SET_DIRECT_FEN;
        }
        if (get_int(c, sub, "$.subsidy", "other_fen", 0, 0, 100000000, &v, &present))
            return -1;
        if (present) {
            s->other_fen = v;
            s->set |= CL_SET_OTHER_FEN;
        }
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(sub, "deployment");
        if (d) {
            s->set |= CL_SET_DEPLOYMENT;
            s->deploy_rule = CL_DEPLOY_NONE;
            if (!cJSON_IsNull(d)) {
                static const char *const DKEYS[] = {"flat_fen", "multiplier", NULL};
                if (!cJSON_IsObject(d) || cJSON_GetArraySize(d) != 1)
                    return perr(c, "$.subsidy.deployment",
                                "expected null, {\"flat_fen\": N} or {\"multiplier\": N}");
                if (check_keys(c, d, "$.subsidy.deployment", DKEYS))
                    return -1;
                if (cJSON_GetObjectItemCaseSensitive(d, "flat_fen")) {
                    if (get_int(c, d, "$.subsidy.deployment", "flat_fen", 1, 0, 100000000,
                                &s->deploy_value, NULL))
                        return -1;
                    s->deploy_rule = CL_DEPLOY_FLAT;
                } else {
                    if (get_int(c, d, "$.subsidy.deployment", "multiplier", 1, 1, 10,
                                &s->deploy_value, NULL))
                        return -1;
                    s->deploy_rule = CL_DEPLOY_MULTIPLIER;
                }
            }
        }
        const cJSON *ul = cJSON_GetObjectItemCaseSensitive(sub, "unit_levels");
        if (ul) {
            s->set |= CL_SET_UNIT_LEVELS;
            s->has_unit_levels = 0;
            s->unit_levels = 0;
            if (!cJSON_IsNull(ul)) {
                if (!cJSON_IsArray(ul) || cJSON_GetArraySize(ul) == 0)
                    return perr(c, "$.subsidy.unit_levels",
                                "expected null or a non-empty array of province, city, county, "
                                "township");
                int i = 0;
                for (const cJSON *it = ul->child; it; it = it->next, i++) {
                    int found = -1;
                    for (int j = 0; LEVEL_NAMES[j] && cJSON_IsString(it); j++)
                        if (strcmp(LEVEL_NAMES[j], it->valuestring) == 0)
                            found = j;
                    if (found < 0) {
                        snprintf(p, sizeof p, "$.subsidy.unit_levels[%d]", i);
                        return perr(c, p, "expected one of: province, city, county, township");
                    }
                    s->unit_levels |= 1u << found;
                }
                s->has_unit_levels = 1;
            }
        }
    }
    const cJSON *perf = cJSON_GetObjectItemCaseSensitive(root, "performance_pay");
    if (perf) {
        static const char *const BASIS[] = {"subsidy", "frontline_day", NULL};
        if (!cJSON_IsObject(perf))
            return perr(c, "$.performance_pay", "wrong type (expected an object)");
        if (check_keys(c, perf, "$.performance_pay", PERF_KEYS) ||
            get_enum(c, perf, "$.performance_pay", "basis", 1, BASIS, 0, &k, NULL))
            return -1;
        s->perf_basis = (cl_perf_basis_t)k;
        s->set |= CL_SET_PERF;
        if (get_int(c, perf, "$.performance_pay", "rate_fen",
                    s->perf_basis == CL_PERF_FRONTLINE_DAY, 0, 100000000, &s->perf_rate_fen,
                    &present))
            return -1;
        if (s->perf_basis == CL_PERF_SUBSIDY && present)
            return perr(
                c, "$.performance_pay.rate_fen",
                "only with \"basis\": \"frontline_day\" (basis subsidy follows the subsidy)");
    }
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(root, "limits");
    if (lim) {
        if (!cJSON_IsObject(lim))
            return perr(c, "$.limits", "wrong type (expected an object)");
        if (check_keys(c, lim, "$.limits", LIMIT_KEYS) ||
            get_limit(c, lim, "$.limits", "shift_max_hours", CL_SET_SHIFT_MAX, &s->shift_max_hours,
                      s) ||
            get_limit(c, lim, "$.limits", "max_consecutive_days", CL_SET_MAX_CONSEC,
                      &s->max_consecutive_days, s))
            return -1;
        if (s->shift_max_hours > 24)
            return perr(c, "$.limits.shift_max_hours", "expected 1..24 or null");
        const cJSON *nc = cJSON_GetObjectItemCaseSensitive(lim, "no_couples");
        if (nc) {
            if (!cJSON_IsBool(nc))
                return perr(c, "$.limits.no_couples", "wrong type (expected true or false)");
            s->no_couples = cJSON_IsTrue(nc);
            s->set |= CL_SET_NO_COUPLES;
        }
    }
    if (get_int(c, root, "$", "payment_due_day", 0, 1, 28, &v, &present))
        return -1;
    if (present) {
        s->payment_due_day = (int)v;
        s->set |= CL_SET_DUE_DAY;
    }
    const cJSON *leg = cJSON_GetObjectItemCaseSensitive(root, "legend");
    if (leg) {
        const cJSON *a = cJSON_GetArrayItem(leg, 0), *b = cJSON_GetArrayItem(leg, 1);
        /* Range before the int conversion, which is undefined beyond int. */
        if (!cJSON_IsArray(leg) || cJSON_GetArraySize(leg) != 2 || !cJSON_IsNumber(a) ||
            !cJSON_IsNumber(b) ||
            !(a->valuedouble >= 0 && a->valuedouble <= b->valuedouble && b->valuedouble <= 100) ||
            a->valuedouble != (int)a->valuedouble || b->valuedouble != (int)b->valuedouble)
            return perr(c, "$.legend", "expected [a, b], integers with 0 <= a <= b <= 100");
        s->legend[0] = (int)a->valuedouble;
        s->legend[1] = (int)b->valuedouble;
        s->set |= CL_SET_LEGEND;
    }
    const cJSON *fund = cJSON_GetObjectItemCaseSensitive(root, "funding");
    if (fund) {
        if (!cJSON_IsObject(fund))
            return perr(c, "$.funding", "wrong type (expected an object)");
        if (check_keys(c, fund, "$.funding", FUNDING_KEYS))
            return -1;
        if (get_enum(c, fund, "$.funding", "local", 0, FUNDING_NAMES, 0, &k, &present))
            return -1;
        if (present)
            snprintf(s->funding_local, sizeof s->funding_local, "%s", FUNDING_NAMES[k]);
        if (get_enum(c, fund, "$.funding", "deployment", 0, FUNDING_NAMES, 0, &k, &present))
            return -1;
        if (present)
            snprintf(s->funding_deployment, sizeof s->funding_deployment, "%s", FUNDING_NAMES[k]);
        s->set |= CL_SET_FUNDING;
    }
    return 0;
}

/** @brief Read a whole file (at most MAX_FILE_BYTES). */
static char *read_file(const char *path, size_t *len, char *err, size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsize, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(MAX_FILE_BYTES + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errsize, "%s: out of memory", path);
        return NULL;
    }
    *len = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || *len > MAX_FILE_BYTES) {
        free(buf);
        snprintf(err, errsize, "%s: %s", path, bad ? "read error" : "larger than 4 MiB");
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}

/** @brief Free one policy. */
void cl_policy_destroy(cl_policy_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_measures; i++) {
        cl_measure_t *m = &p->measures[i];
        free(m->no);
        free(m->item);
        free(m->title);
        free(m->text);
        free(m->owner);
        free(m->deadline);
        for (size_t j = 0; j < m->n_responsible; j++)
            free(m->responsible[j]);
        for (size_t j = 0; j < m->n_lead; j++)
            free(m->lead[j]);
        free(m->responsible);
        free(m->lead);
        for (size_t j = 0; j < m->n_tracks; j++)
            free(m->tracks[j].label);
        free(m->tracks);
    }
    free(p->measures);
    free(p->path);
    free(p->id);
    free(p->title);
    free(p->issuer);
    free(p->seed);
    free(p->notes);
    free(p);
}

/** @brief Load and validate one file. */
cl_policy_t *cl_policy_load_file(const char *path, char *err, size_t errsize)
{
    size_t len;
    char *buf = read_file(path, &len, err, errsize);
    if (!buf)
        return NULL;
    cl_policy_t *pol = cl_policy_load_mem(path, buf, len, err, errsize);
    free(buf);
    return pol;
}

/** @brief Load and validate one policy document held in memory. */
cl_policy_t *cl_policy_load_mem(const char *path, const char *buf, size_t len, char *err,
                                size_t errsize)
{
    load_ctx_t c = {path, err, errsize, 0};
    cl_policy_t *pol = NULL;
    cJSON *root = NULL;
    char why[160];
    char *region = NULL;
    if (len > MAX_FILE_BYTES) {
        snprintf(err, errsize, "%s: larger than 4 MiB", path);
        return NULL;
    }
    if (cl_json_check(buf, len, why, sizeof why) != CL_JSON_OK) {
        perr(&c, "$", "not strict JSON: %s", why);
        goto error;
    }
    root = cJSON_ParseWithLength(buf, len);
    if (!root) {
        perr(&c, "$", "not JSON");
        goto error;
    }
    if (!cJSON_IsObject(root)) {
        perr(&c, "$", "expected an object");
        goto error;
    }
    if (check_keys(&c, root, "$", POLICY_KEYS))
        goto error;
    pol = calloc(1, sizeof *pol);
    if (!pol || !(pol->path = strdup(path))) {
        perr(&c, "$", "out of memory");
        goto error;
    }
    if (get_str(&c, root, "$", "id", 1, 0, &pol->id))
        goto error;
    for (const char *q = pol->id; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-')) {
            perr(&c, "$.id", "expected [a-z0-9-]+");
            goto error;
        }
    if (get_str(&c, root, "$", "region", 1, 0, &region))
        goto error;
    if (!cl_region_code_valid(region)) {
        perr(&c, "$.region", "\"%s\" is not a six-digit GB/T 2260 code", region);
        goto error;
    }
    memcpy(pol->region, region, CL_REGION_LEN);
    if (get_str(&c, root, "$", "title", 1, 0, &pol->title) ||
        get_str(&c, root, "$", "issuer", 1, 0, &pol->issuer) ||
        get_str(&c, root, "$", "seed", 0, 0, &pol->seed) ||
        get_str(&c, root, "$", "notes", 0, 0, &pol->notes) ||
        get_date(&c, root, "$", "effective_from", 0, &pol->effective_from) ||
        get_date(&c, root, "$", "effective_to", 1, &pol->effective_to))
        goto error;
    if (pol->effective_to < pol->effective_from) {
        perr(&c, "$.effective_to", "before effective_from");
        goto error;
    }
    if (parse_settings(&c, root, &pol->own))
        goto error;
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "measures");
    if (!ms || !cJSON_IsArray(ms)) {
        perr(&c, "$.measures",
             ms ? "wrong type (expected an array)" : "missing (expected an array)");
        goto error;
    }
    pol->n_measures = (size_t)cJSON_GetArraySize(ms);
    if (pol->n_measures) {
        pol->measures = calloc(pol->n_measures, sizeof *pol->measures);
        if (!pol->measures) {
            pol->n_measures = 0;
            perr(&c, "$.measures", "out of memory");
            goto error;
        }
    }
    size_t i = 0;
    for (const cJSON *it = ms->child; it; it = it->next, i++) {
        char mp[64];
        snprintf(mp, sizeof mp, "$.measures[%zu]", i);
        if (parse_measure(&c, it, mp, pol, i, &pol->measures[i]))
            goto error;
    }
    free(region);
    cJSON_Delete(root);
    return pol;
error:
    free(region);
    cJSON_Delete(root);
    cl_policy_destroy(pol);
    return NULL;
}

/* ---- sets ---- */

typedef struct track_ref {
    const char *id;
    const cl_track_t *track;
} track_ref_t;

typedef struct tz_entry {
    char name[64];
    cl_tz_t *tz;
} tz_entry_t;

struct cl_policy_set {
    cl_policy_t **policies;
    size_t n;
    track_ref_t *tracks; /* sorted by id */
    size_t n_tracks;
    tz_entry_t *zones;
    size_t n_zones;
};

/** @brief Free a set. */
void cl_policy_set_destroy(cl_policy_set_t *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        cl_policy_destroy(set->policies[i]);
    for (size_t i = 0; i < set->n_zones; i++)
        cl_tz_destroy(set->zones[i].tz);
    free(set->policies);
    free(set->tracks);
    free(set->zones);
    free(set);
}

/** @brief Count. */
size_t cl_policy_set_count(const cl_policy_set_t *set)
{
    return set->n;
}

/** @brief Policy i. */
const cl_policy_t *cl_policy_set_at(const cl_policy_set_t *set, size_t i)
{
    return i < set->n ? set->policies[i] : NULL;
}

/** @brief Policy by id. */
const cl_policy_t *cl_policy_set_find(const cl_policy_set_t *set, const char *id)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->policies[i]->id, id) == 0)
            return set->policies[i];
    return NULL;
}

/** @brief Compare track refs by id. */
static int track_ref_cmp(const void *a, const void *b)
{
    return strcmp(((const track_ref_t *)a)->id, ((const track_ref_t *)b)->id);
}

/** @brief Track by the id a delivery names. */
const cl_track_t *cl_policy_set_track(const cl_policy_set_t *set, const char *id)
{
    track_ref_t key = {id, NULL};
    const track_ref_t *r = bsearch(&key, set->tracks, set->n_tracks, sizeof key, track_ref_cmp);
    return r ? r->track : NULL;
}

/** @brief Append a line to the set's error buffer. */
static void set_err(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errsize, const char *fmt, ...)
{
    size_t o = strlen(err);
    if (o + 2 >= errsize)
        return;
    if (o)
        err[o++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + o, errsize - o, fmt, ap);
    va_end(ap);
}

/** @brief Compare strings for qsort. */
static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/** @brief Expand patterns into a sorted, de-duplicated list of files. */
static int expand_patterns(const char *const *patterns, size_t n, char ***out, size_t *nout,
                           char *err, size_t errsize)
{
    glob_t g;
    int flags = 0;
    memset(&g, 0, sizeof g);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        char pat[1024];
        if (stat(patterns[i], &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(pat, sizeof pat, "%s/*.json", patterns[i]);
        else
            snprintf(pat, sizeof pat, "%s", patterns[i]);
        /* A plain path that does not exist must stay, so that loading it says why. */
        int plain = !strpbrk(pat, "*?[");
        int rc = glob(pat, flags | (plain ? GLOB_NOCHECK : 0), NULL, &g);
        if (rc != 0 && rc != GLOB_NOMATCH) {
            set_err(err, errsize, "%s: cannot expand", patterns[i]);
            globfree(&g);
            return -1;
        }
        flags = GLOB_APPEND;
    }
    char **files = calloc(g.gl_pathc ? g.gl_pathc : 1, sizeof *files);
    if (!files) {
        globfree(&g);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < g.gl_pathc; i++)
        if (!(files[k++] = strdup(g.gl_pathv[i]))) {
            k--;
            break;
        }
    globfree(&g);
    qsort(files, k, sizeof *files, str_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u && strcmp(files[u - 1], files[i]) == 0)
            free(files[i]);
        else
            files[u++] = files[i];
    }
    *out = files;
    *nout = u;
    return 0;
}

/** @brief The loaded zone of a name (loading it once). */
static const cl_tz_t *set_zone(cl_policy_set_t *set, const char *name, char *why, size_t whysize)
{
    for (size_t i = 0; i < set->n_zones; i++)
        if (strcmp(set->zones[i].name, name) == 0)
            return set->zones[i].tz;
    cl_tz_t *tz = cl_tz_create(name, why, whysize);
    if (!tz)
        return NULL;
    tz_entry_t *z = realloc(set->zones, (set->n_zones + 1) * sizeof *z);
    if (!z) {
        cl_tz_destroy(tz);
        snprintf(why, whysize, "out of memory");
        return NULL;
    }
    set->zones = z;
    snprintf(z[set->n_zones].name, sizeof z[set->n_zones].name, "%s", name);
    z[set->n_zones++].tz = tz;
    return tz;
}

/** @brief Load and cross-check a set. */
cl_policy_set_t *cl_policy_set_load(const char *const *patterns, size_t n, char *err,
                                    size_t errsize)
{
    char **files = NULL;
    size_t nfiles = 0;
    err[0] = '\0';
    cl_policy_set_t *set = calloc(1, sizeof *set);
    if (!set) {
        set_err(err, errsize, "out of memory");
        return NULL;
    }
    if (expand_patterns(patterns, n, &files, &nfiles, err, errsize) != 0)
        goto error;
    if (nfiles == 0) {
        set_err(err, errsize, "no policy files found");
        goto error;
    }
    set->policies = calloc(nfiles, sizeof *set->policies);
    if (!set->policies)
        goto error;
    for (size_t i = 0; i < nfiles; i++) {
        char e[1024];
        cl_policy_t *p = cl_policy_load_file(files[i], e, sizeof e);
        if (!p)
            set_err(err, errsize, "%s", e);
        else
            set->policies[set->n++] = p;
    }
    if (err[0])
        goto error;

    /* Unique ids; no two policies of one region in force on the same day. */
    const cl_policy_t *national = NULL;
    size_t total_tracks = 0;
    for (size_t i = 0; i < set->n; i++) {
        const cl_policy_t *a = set->policies[i];
        if (strcmp(a->region, "000000") == 0 &&
            (!national || a->effective_from < national->effective_from))
            national = a;
        for (size_t m = 0; m < a->n_measures; m++)
            total_tracks += a->measures[m].n_tracks + (a->measures[m].n_tracks > 1);
        for (size_t j = i + 1; j < set->n; j++) {
            const cl_policy_t *b = set->policies[j];
            if (strcmp(a->id, b->id) == 0)
                set_err(err, errsize, "%s: $.id: \"%s\" is also the id of %s", b->path, b->id,
                        a->path);
            if (strcmp(a->region, b->region) == 0 && a->effective_from <= b->effective_to &&
                b->effective_from <= a->effective_to)
                set_err(err, errsize,
                        "%s: $.region: %s already has policy %s in force on overlapping dates",
                        b->path, b->region, a->id);
        }
    }
    if (!national) {
        set_err(err, errsize, "no national policy (region 000000): it holds every default");
    } else if ((national->own.set & (CL_SET_ALL & ~(unsigned)CL_SET_FUNDING)) !=
               (CL_SET_ALL & ~(unsigned)CL_SET_FUNDING)) {
        set_err(err, errsize,
                "%s: the national policy must give timezone, frontline, subsidy.direct_fen, "
                "other_fen, deployment, unit_levels, performance_pay, limits.shift_max_hours, "
                "max_consecutive_days, no_couples, payment_due_day and legend",
                national->path);
    }
    set->tracks = calloc(total_tracks ? total_tracks : 1, sizeof *set->tracks);
    if (!set->tracks)
        goto error;
    for (size_t i = 0; i < set->n; i++)
        for (size_t m = 0; m < set->policies[i]->n_measures; m++) {
            const cl_measure_t *me = &set->policies[i]->measures[m];
            for (size_t t = 0; t < me->n_tracks; t++)
                set->tracks[set->n_tracks++] = (track_ref_t){me->tracks[t].id, &me->tracks[t]};
        }
    qsort(set->tracks, set->n_tracks, sizeof *set->tracks, track_ref_cmp);
    for (size_t i = 1; i < set->n_tracks; i++)
        if (strcmp(set->tracks[i - 1].id, set->tracks[i].id) == 0)
            set_err(err, errsize, "%s: measure %s is also defined in %s",
                    set->tracks[i].track->measure->policy->path, set->tracks[i].id,
                    set->tracks[i - 1].track->measure->policy->path);
    /* Every zone named must load. */
    for (size_t i = 0; i < set->n; i++) {
        const cl_policy_t *p = set->policies[i];
        if (p->own.set & CL_SET_TIMEZONE) {
            char why[256];
            if (!set_zone(set, p->own.timezone, why, sizeof why))
                set_err(err, errsize, "%s: $.timezone: %s", p->path, why);
        }
    }
    if (err[0])
        goto error;
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    return set;
error:
    if (!err[0])
        set_err(err, errsize, "out of memory");
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    cl_policy_set_destroy(set);
    return NULL;
}

/** @brief The policy of exactly @p region in force on @p date. */
static const cl_policy_t *policy_at(const cl_policy_set_t *set, const char *region, int32_t date)
{
    for (size_t i = 0; i < set->n; i++) {
        const cl_policy_t *p = set->policies[i];
        if (strcmp(p->region, region) == 0 && p->effective_from <= date && date <= p->effective_to)
            return p;
    }
    return NULL;
}

/** @brief Copy the keys of @p from that @p into has not set yet. */
static void inherit(cl_settings_t *into, const cl_settings_t *from)
{
    unsigned take = from->set & ~into->set;
    if (take & CL_SET_FRONTLINE)
        into->frontline = from->frontline;
    if (take & CL_SET_DIRECT_FEN)
        into->direct_fen = from->direct_fen;
    if (take & CL_SET_OTHER_FEN)
        into->other_fen = from->other_fen;
    if (take & CL_SET_DEPLOYMENT) {
        into->deploy_rule = from->deploy_rule;
        into->deploy_value = from->deploy_value;
    }
    if (take & CL_SET_UNIT_LEVELS) {
        into->unit_levels = from->unit_levels;
        into->has_unit_levels = from->has_unit_levels;
    }
    if (take & CL_SET_PERF) {
        into->perf_basis = from->perf_basis;
        into->perf_rate_fen = from->perf_rate_fen;
    }
    if (take & CL_SET_SHIFT_MAX)
        into->shift_max_hours = from->shift_max_hours;
    if (take & CL_SET_MAX_CONSEC)
        into->max_consecutive_days = from->max_consecutive_days;
    if (take & CL_SET_NO_COUPLES)
        into->no_couples = from->no_couples;
    if (take & CL_SET_DUE_DAY)
        into->payment_due_day = from->payment_due_day;
    if (take & CL_SET_LEGEND)
        memcpy(into->legend, from->legend, sizeof into->legend);
    if (take & CL_SET_TIMEZONE)
        memcpy(into->timezone, from->timezone, sizeof into->timezone);
    if (take & CL_SET_FUNDING) {
        memcpy(into->funding_local, from->funding_local, sizeof into->funding_local);
        memcpy(into->funding_deployment, from->funding_deployment, sizeof into->funding_deployment);
    }
    into->set |= take;
}

/** @brief Resolve the policy of a region at a date. */
int cl_policy_set_resolve(const cl_policy_set_t *set, const char *region, int32_t date,
                          cl_region_parent_fn parent_fn, void *ctx, cl_resolved_t *out, char *err,
                          size_t errsize)
{
    char code[CL_REGION_LEN], next[CL_REGION_LEN];
    memset(out, 0, sizeof *out);
    if (!cl_region_code_valid(region)) {
        snprintf(err, errsize, "\"%s\" is not a region code", region);
        return -1;
    }
    memcpy(code, region, CL_REGION_LEN);
    for (int depth = 0; depth < 16; depth++) {
        const cl_policy_t *p = policy_at(set, code, date);
        if (p) {
            if (!out->policy)
                out->policy = p;
            inherit(&out->settings, &p->own);
        }
        if (strcmp(code, "000000") == 0)
            break;
        /* A registered parent wins; a code not registered follows GB/T 2260. */
        if (!parent_fn || parent_fn(ctx, code, next) != 0 || !cl_region_code_valid(next) ||
            strcmp(next, code) == 0)
            if (cl_region_struct_parent(code, next) != 0)
                break;
        memcpy(code, next, CL_REGION_LEN);
    }
    if (!out->policy) {
        char d[CL_DATE_LEN];
        snprintf(err, errsize, "no policy in force for region %s on %s", region,
                 cl_date_format(date, d));
        return -1;
    }
    if ((out->settings.set & (CL_SET_ALL & ~(unsigned)CL_SET_FUNDING)) !=
        (CL_SET_ALL & ~(unsigned)CL_SET_FUNDING)) {
        snprintf(err, errsize,
                 "policy %s: settings missing after inheritance (no national policy "
                 "in force?)",
                 out->policy->id);
        return -1;
    }
    for (size_t i = 0; i < set->n_zones; i++)
        if (strcmp(set->zones[i].name, out->settings.timezone) == 0)
            out->tz = set->zones[i].tz;
    if (!out->tz) {
        snprintf(err, errsize, "time zone %s not loaded", out->settings.timezone);
        return -1;
    }
    return 0;
}

/* ---- normalised JSON ---- */

/** @brief Add a string or null. */
static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

/** @brief Add an array of strings. */
static void add_strs(cJSON *o, const char *k, char *const *v, size_t n)
{
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

/** @brief Add an int or null (negative = null). */
static void add_int_or_null(cJSON *o, const char *k, int64_t v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, (double)v);
}

/** @brief One track in normalised form. */
static cJSON *track_json(const cl_track_t *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", t->id);
    cJSON_AddStringToObject(o, "kind", cl_track_kind_name(t->kind));
    add_str(o, "label", t->label);
    if (t->kind != CL_TRACK_STATUS)
        cJSON_AddStringToObject(o, "scope", cl_scope_name(t->scope));
    if (t->eligible)
        cJSON_AddStringToObject(o, "eligible", cl_eligible_name(t->eligible));
    if (t->kind == CL_TRACK_ENTITLEMENT)
        cJSON_AddStringToObject(o, "part", cl_part_name(t->part));
    if (t->kind == CL_TRACK_RECURRING)
        cJSON_AddNumberToObject(o, "cadence_days", t->cadence_days);
    if (t->kind == CL_TRACK_SLA) {
        cJSON_AddStringToObject(o, "stage", STAGE_NAMES[t->stage]);
        if (t->stage == CL_STAGE_RECOGNITION)
            cJSON_AddBoolToObject(o, "same_day", 1);
        else
            cJSON_AddNumberToObject(o, "pay_within_days", t->pay_within_days);
    }
    if (t->kind != CL_TRACK_STATUS && t->kind != CL_TRACK_ENTITLEMENT)
        cJSON_AddNumberToObject(o, "grace_days",
                                t->grace_days >= 0              ? t->grace_days
                                : t->kind == CL_TRACK_RECURRING ? t->cadence_days
                                                                : 0);
    if (t->kind == CL_TRACK_ONCE || t->kind == CL_TRACK_RECURRING) {
        add_int_or_null(o, "min_amount_fen", t->min_amount_fen);
        add_int_or_null(o, "min_sum_insured_fen", t->min_sum_insured_fen);
    }
    add_str(o, "line", t->line[0] ? t->line : NULL);
    add_int_or_null(o, "target", t->target);
    return o;
}

/** @brief Write a policy as normalised JSON with inheritance resolved. */
int cl_policy_write_json(const cl_policy_set_t *set, const cl_policy_t *p, FILE *out, char *err,
                         size_t errsize)
{
    cl_resolved_t r;
    char d[CL_DATE_LEN];
    if (cl_policy_set_resolve(set, p->region, p->effective_from, NULL, NULL, &r, err, errsize))
        return -1;
    const cl_settings_t *s = &r.settings;
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    cJSON_AddStringToObject(o, "id", p->id);
    cJSON_AddStringToObject(o, "region", p->region);
    cJSON_AddStringToObject(o, "timezone", s->timezone);
    cJSON_AddStringToObject(o, "title", p->title);
    cJSON_AddStringToObject(o, "issuer", p->issuer);
    add_str(o, "seed", p->seed);
    cJSON_AddStringToObject(o, "effective_from", cl_date_format(p->effective_from, d));
    add_str(o, "effective_to",
            p->effective_to == INT32_MAX ? NULL : cl_date_format(p->effective_to, d));
    /* Which policies the settings came from, nearest first. */
    cJSON *chain = cJSON_AddArrayToObject(o, "inherits");
    char code[CL_REGION_LEN], next[CL_REGION_LEN];
    memcpy(code, p->region, CL_REGION_LEN);
    while (cl_region_struct_parent(code, next) == 0) {
        const cl_policy_t *a = policy_at(set, next, p->effective_from);
        if (a)
            cJSON_AddItemToArray(chain, cJSON_CreateString(a->id));
        memcpy(code, next, CL_REGION_LEN);
    }
    cJSON_AddStringToObject(o, "frontline", s->frontline == CL_FRONTLINE_DIRECT ? "direct" : "any");
    cJSON *sub = cJSON_AddObjectToObject(o, "subsidy");
    cJSON_AddNumberToObject(sub, "direct_fen", (double)s->direct_fen);
    cJSON_AddNumberToObject(sub, "other_fen", (double)s->other_fen);
    if (s->deploy_rule == CL_DEPLOY_NONE) {
        cJSON_AddNullToObject(sub, "deployment");
    } else {
        cJSON *dep = cJSON_AddObjectToObject(sub, "deployment");
        cJSON_AddNumberToObject(dep, s->deploy_rule == CL_DEPLOY_FLAT ? "flat_fen" : "multiplier",
                                (double)s->deploy_value);
    }
    if (!s->has_unit_levels) {
        cJSON_AddNullToObject(sub, "unit_levels");
    } else {
        cJSON *ul = cJSON_AddArrayToObject(sub, "unit_levels");
        for (int i = 0; LEVEL_NAMES[i]; i++)
            if (s->unit_levels & (1u << i))
                cJSON_AddItemToArray(ul, cJSON_CreateString(LEVEL_NAMES[i]));
    }
    cJSON *perf = cJSON_AddObjectToObject(o, "performance_pay");
    cJSON_AddStringToObject(perf, "basis",
                            s->perf_basis == CL_PERF_SUBSIDY ? "subsidy" : "frontline_day");
    if (s->perf_basis == CL_PERF_FRONTLINE_DAY)
        cJSON_AddNumberToObject(perf, "rate_fen", (double)s->perf_rate_fen);
    cJSON *lim = cJSON_AddObjectToObject(o, "limits");
    add_int_or_null(lim, "shift_max_hours", s->shift_max_hours);
    add_int_or_null(lim, "max_consecutive_days", s->max_consecutive_days);
    cJSON_AddBoolToObject(lim, "no_couples", s->no_couples);
    cJSON_AddNumberToObject(o, "payment_due_day", s->payment_due_day);
    cJSON *leg = cJSON_AddArrayToObject(o, "legend");
    cJSON_AddItemToArray(leg, cJSON_CreateNumber(s->legend[0]));
    cJSON_AddItemToArray(leg, cJSON_CreateNumber(s->legend[1]));
    cJSON *fund = cJSON_AddObjectToObject(o, "funding");
    add_str(fund, "local", s->funding_local[0] ? s->funding_local : NULL);
    add_str(fund, "deployment", s->funding_deployment[0] ? s->funding_deployment : NULL);
    add_str(o, "notes", p->notes);
    cJSON *ms = cJSON_AddArrayToObject(o, "measures");
    for (size_t i = 0; i < p->n_measures; i++) {
        const cl_measure_t *m = &p->measures[i];
        cJSON *mo = cJSON_CreateObject();
        cJSON_AddStringToObject(mo, "id", m->id);
        cJSON_AddStringToObject(mo, "no", m->no);
        add_str(mo, "item", m->item);
        cJSON_AddStringToObject(mo, "title", m->title);
        cJSON_AddStringToObject(mo, "text", m->text);
        add_strs(mo, "responsible", m->responsible, m->n_responsible);
        add_strs(mo, "lead", m->lead, m->n_lead);
        add_str(mo, "owner", m->owner);
        add_str(mo, "deadline", m->deadline);
        cJSON *tr = cJSON_AddArrayToObject(mo, "track");
        for (size_t t = 0; t < m->n_tracks; t++)
            cJSON_AddItemToArray(tr, track_json(&m->tracks[t]));
        cJSON_AddItemToArray(ms, mo);
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    int rc = fputs(text, out) < 0 || fputc('\n', out) == EOF ? -1 : 0;
    free(text);
    if (rc)
        snprintf(err, errsize, "write error");
    return rc;
}
