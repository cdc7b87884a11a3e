/**
 * @file json.c
 * @brief Strict JSON scanner: UTF-8, grammar, duplicate keys, depth; exact integers.
 */
#include "careledger/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct key_ref {
    const char *p;
    size_t len;
} key_ref_t;

struct cl_json_scanner {
    cl_json_member_t *members;
    size_t nmembers, cap_members;
    char *keybuf; /* decoded keys, NUL-separated */
    size_t keyused, keycap;
    key_ref_t *keys; /* stack of keys of the open objects */
    size_t nkeys, cap_keys;
    /* Per scan. */
    const char *buf, *end;
    const char *p;
    int record; /* record top-level members */
    char *why;
    size_t whysize;
    cl_json_status_t status;
};

/** @brief Create a scanner. */
cl_json_scanner_t *cl_json_scanner_create(void)
{
    return calloc(1, sizeof(cl_json_scanner_t));
}

/** @brief Free a scanner. */
void cl_json_scanner_destroy(cl_json_scanner_t *sc)
{
    if (!sc)
        return;
    free(sc->members);
    free(sc->keybuf);
    free(sc->keys);
    free(sc);
}

/** @brief Record a failure (the first one wins). */
static int fail(cl_json_scanner_t *sc, cl_json_status_t st, const char *what)
{
    if (sc->status == CL_JSON_OK) {
        sc->status = st;
        if (sc->why && sc->whysize)
            snprintf(sc->why, sc->whysize, "%s at byte %zu", what, (size_t)(sc->p - sc->buf));
    }
    return -1;
}

/** @brief Length of a valid UTF-8 sequence at p, or 0 when invalid. */
size_t cl_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    unsigned cp = c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/** @brief Whole-buffer UTF-8 check. */
static int utf8_valid(const char *buf, size_t len, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)buf, *end = p + len;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t n = cl_utf8_seq(p, end);
        if (!n) {
            *bad = (size_t)(p - (const unsigned char *)buf);
            return 0;
        }
        p += n;
    }
    return 1;
}

/** @brief Skip JSON white space. */
static void skip_ws(cl_json_scanner_t *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

/** @brief Value of a hex digit, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/** @brief Read 4 hex digits at p. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/** @brief Scan a string token; sets *has_nul. */
static int scan_string(cl_json_scanner_t *sc, int *has_nul)
{
    sc->p++; /* opening quote */
    while (sc->p < sc->end) {
        unsigned char c = (unsigned char)*sc->p;
        if (c == '"') {
            sc->p++;
            return 0;
        }
        if (c < 0x20)
            return fail(sc, CL_JSON_INVALID, "control character in string");
        if (c == '\\') {
            if (sc->end - sc->p < 2)
                break;
            char e = sc->p[1];
            if (e == 'u') {
                if (sc->end - sc->p < 6)
                    break;
                long u = hex4(sc->p + 2);
                if (u < 0)
                    return fail(sc, CL_JSON_INVALID, "bad \\u escape");
                sc->p += 6;
                if (u == 0)
                    *has_nul = 1;
                if (u >= 0xdc00 && u <= 0xdfff)
                    return fail(sc, CL_JSON_BAD_UTF8, "unpaired surrogate escape");
                if (u >= 0xd800 && u <= 0xdbff) {
                    long lo = (sc->end - sc->p >= 6 && sc->p[0] == '\\' && sc->p[1] == 'u')
                                  ? hex4(sc->p + 2)
                                  : -1;
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return fail(sc, CL_JSON_BAD_UTF8, "unpaired surrogate escape");
                    sc->p += 6;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0')
                return fail(sc, CL_JSON_INVALID, "bad escape");
            sc->p += 2;
            continue;
        }
        sc->p++;
    }
    return fail(sc, CL_JSON_INVALID, "unterminated string");
}

/** @brief Scan a number token. */
static int scan_number(cl_json_scanner_t *sc)
{
    const char *p = sc->p, *end = sc->end;
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        goto bad;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        goto bad;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            goto bad;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            goto bad;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    sc->p = p;
    return 0;
bad:
    sc->p = p;
    return fail(sc, CL_JSON_INVALID, "bad number");
}

/** @brief Compare two key refs for qsort. */
static int key_cmp(const void *a, const void *b)
{
    const key_ref_t *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->p, y->p, x->len);
}

/** @brief Decode a key token into the key buffer and push it. */
static int push_key(cl_json_scanner_t *sc, const char *tok, size_t toklen, key_ref_t *out)
{
    if (sc->nkeys == sc->cap_keys) {
        size_t n = sc->cap_keys ? sc->cap_keys * 2 : 64;
        key_ref_t *k = realloc(sc->keys, n * sizeof *k);
        if (!k)
            return fail(sc, CL_JSON_INVALID, "out of memory");
        sc->keys = k;
        sc->cap_keys = n;
    }
    /* The key buffer was sized for the whole document before the scan. */
    long n = cl_json_unescape(tok, toklen, sc->keybuf + sc->keyused, sc->keycap - sc->keyused);
    if (n < 0)
        return fail(sc, CL_JSON_INVALID, "key too long");
    out->p = sc->keybuf + sc->keyused;
    out->len = (size_t)n;
    sc->keyused += (size_t)n + 1;
    sc->keys[sc->nkeys++] = *out;
    return 0;
}

static int scan_value(cl_json_scanner_t *sc, int depth, int *has_nul);

/** @brief Check the keys pushed since @p start for duplicates, then pop them. */
static int check_dups(cl_json_scanner_t *sc, size_t start)
{
    size_t n = sc->nkeys - start;
    key_ref_t *k = sc->keys + start;
    int dup = 0;
    if (n > 1 && n <= 16) {
        for (size_t i = 0; i < n && !dup; i++)
            for (size_t j = i + 1; j < n && !dup; j++)
                dup = key_cmp(&k[i], &k[j]) == 0;
    } else if (n > 16) {
        qsort(k, n, sizeof *k, key_cmp);
        for (size_t i = 1; i < n && !dup; i++)
            dup = key_cmp(&k[i - 1], &k[i]) == 0;
    }
    sc->nkeys = start;
    return dup ? fail(sc, CL_JSON_INVALID, "a key given twice in one object") : 0;
}

/** @brief Append a top-level member record. */
static int record_member(cl_json_scanner_t *sc, const key_ref_t *key, const char *val, size_t vlen,
                         int has_nul)
{
    if (sc->nmembers == sc->cap_members) {
        size_t n = sc->cap_members ? sc->cap_members * 2 : 32;
        cl_json_member_t *m = realloc(sc->members, n * sizeof *m);
        if (!m)
            return fail(sc, CL_JSON_INVALID, "out of memory");
        sc->members = m;
        sc->cap_members = n;
    }
    cl_json_member_t *m = &sc->members[sc->nmembers++];
    m->key = key->p;
    m->key_len = key->len;
    m->off = (size_t)(val - sc->buf);
    m->len = vlen;
    char c = *val;
    m->type = c == '"'   ? 's'
              : c == '{' ? 'o'
              : c == '[' ? 'a'
              : c == 't' ? 't'
              : c == 'f' ? 'f'
              : c == 'n' ? 'z'
                         : 'n';
    m->has_nul = has_nul;
    return 0;
}

/** @brief Scan an object. */
static int scan_object(cl_json_scanner_t *sc, int depth, int *has_nul)
{
    size_t start = sc->nkeys;
    sc->p++;
    skip_ws(sc);
    if (sc->p < sc->end && *sc->p == '}') {
        sc->p++;
        return 0;
    }
    for (;;) {
        skip_ws(sc);
        if (sc->p >= sc->end || *sc->p != '"')
            return fail(sc, CL_JSON_INVALID, sc->p >= sc->end ? "truncated" : "expected a key");
        const char *kt = sc->p;
        int key_nul = 0;
        if (scan_string(sc, &key_nul))
            return -1;
        if (key_nul)
            *has_nul = 1;
        key_ref_t key;
        if (push_key(sc, kt, (size_t)(sc->p - kt), &key))
            return -1;
        skip_ws(sc);
        if (sc->p >= sc->end || *sc->p != ':')
            return fail(sc, CL_JSON_INVALID, sc->p >= sc->end ? "truncated" : "expected ':'");
        sc->p++;
        skip_ws(sc);
        const char *v = sc->p;
        int vnul = 0;
        if (scan_value(sc, depth + 1, &vnul))
            return -1;
        if (vnul)
            *has_nul = 1;
        if (depth == 0 && sc->record &&
            record_member(sc, &key, v, (size_t)(sc->p - v), vnul || key_nul))
            return -1;
        skip_ws(sc);
        if (sc->p >= sc->end)
            return fail(sc, CL_JSON_INVALID, "truncated");
        if (*sc->p == ',') {
            sc->p++;
            continue;
        }
        if (*sc->p == '}') {
            sc->p++;
            return check_dups(sc, start);
        }
        return fail(sc, CL_JSON_INVALID, "expected ',' or '}'");
    }
}

/** @brief Scan an array. */
static int scan_array(cl_json_scanner_t *sc, int depth, int *has_nul)
{
    sc->p++;
    skip_ws(sc);
    if (sc->p < sc->end && *sc->p == ']') {
        sc->p++;
        return 0;
    }
    for (;;) {
        skip_ws(sc);
        if (scan_value(sc, depth + 1, has_nul))
            return -1;
        skip_ws(sc);
        if (sc->p >= sc->end)
            return fail(sc, CL_JSON_INVALID, "truncated");
        if (*sc->p == ',') {
            sc->p++;
            continue;
        }
        if (*sc->p == ']') {
            sc->p++;
            return 0;
        }
        return fail(sc, CL_JSON_INVALID, "expected ',' or ']'");
    }
}

/** @brief Match a literal. */
static int scan_literal(cl_json_scanner_t *sc, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, lit, n) != 0)
        return fail(sc, CL_JSON_INVALID,
                    (size_t)(sc->end - sc->p) < n ? "truncated" : "bad literal");
    sc->p += n;
    return 0;
}

/** @brief Scan any value. */
static int scan_value(cl_json_scanner_t *sc, int depth, int *has_nul)
{
    if (depth > CL_JSON_MAX_DEPTH)
        return fail(sc, CL_JSON_INVALID, "nested too deeply");
    skip_ws(sc);
    if (sc->p >= sc->end)
        return fail(sc, CL_JSON_INVALID, "truncated");
    switch (*sc->p) {
    case '{':
        return scan_object(sc, depth, has_nul);
    case '[':
        return scan_array(sc, depth, has_nul);
    case '"':
        return scan_string(sc, has_nul);
    case 't':
        return scan_literal(sc, "true");
    case 'f':
        return scan_literal(sc, "false");
    case 'n':
        return scan_literal(sc, "null");
    default:
        return scan_number(sc);
    }
}

/** @brief Shared driver of cl_json_scan and cl_json_check. */
static cl_json_status_t scan_doc(cl_json_scanner_t *sc, const char *buf, size_t len, int object,
                                 char *why, size_t whysize)
{
    sc->buf = buf;
    sc->p = buf;
    sc->end = buf + len;
    sc->why = why;
    sc->whysize = whysize;
    sc->status = CL_JSON_OK;
    sc->nmembers = 0;
    sc->nkeys = 0;
    sc->keyused = 0;
    sc->record = object;
    if (why && whysize)
        why[0] = '\0';
    size_t bad;
    if (!utf8_valid(buf, len, &bad)) {
        if (why && whysize)
            snprintf(why, whysize, "invalid UTF-8 at byte %zu", bad);
        return sc->status = CL_JSON_BAD_UTF8;
    }
    if (sc->keycap < len + 16) {
        char *k = realloc(sc->keybuf, len + 16);
        if (!k) {
            fail(sc, CL_JSON_INVALID, "out of memory");
            return sc->status;
        }
        sc->keybuf = k;
        sc->keycap = len + 16;
    }
    skip_ws(sc);
    if (object && (sc->p >= sc->end || *sc->p != '{')) {
        fail(sc, CL_JSON_INVALID, sc->p >= sc->end ? "empty" : "not an object");
        return sc->status;
    }
    int has_nul = 0;
    if (scan_value(sc, 0, &has_nul) == 0) {
        skip_ws(sc);
        if (sc->p != sc->end)
            fail(sc, CL_JSON_INVALID, "trailing data after the value");
    }
    return sc->status;
}

/** @brief Scan a document that must be an object, recording its members. */
cl_json_status_t cl_json_scan(cl_json_scanner_t *sc, const char *buf, size_t len, char *why,
                              size_t whysize)
{
    return scan_doc(sc, buf, len, 1, why, whysize);
}

/** @brief Strictness check of any document. */
cl_json_status_t cl_json_check(const char *buf, size_t len, char *why, size_t whysize)
{
    cl_json_scanner_t *sc = cl_json_scanner_create();
    if (!sc) {
        snprintf(why, whysize, "out of memory");
        return CL_JSON_INVALID;
    }
    cl_json_status_t st = scan_doc(sc, buf, len, 0, why, whysize);
    cl_json_scanner_destroy(sc);
    return st;
}

/** @brief Member count. */
size_t cl_json_count(const cl_json_scanner_t *sc)
{
    return sc->nmembers;
}

/** @brief Member by key (linear: events have a dozen keys). */
const cl_json_member_t *cl_json_get(const cl_json_scanner_t *sc, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < sc->nmembers; i++)
        if (sc->members[i].key_len == n && memcmp(sc->members[i].key, key, n) == 0)
            return &sc->members[i];
    return NULL;
}

/** @brief Put code point cp as UTF-8. */
static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/** @brief Decode a scanned string token. */
long cl_json_unescape(const char *p, size_t len, char *out, size_t cap)
{
    if (len < 2 || cap == 0)
        return -1;
    const char *end = p + len - 1; /* closing quote */
    size_t o = 0;
    for (p++; p < end;) {
        if (o + 5 > cap)
            return -1;
        if (*p != '\\') {
            out[o++] = *p++;
            continue;
        }
        char e = p[1];
        p += 2;
        switch (e) {
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            unsigned long cp = (unsigned long)hex4(p);
            p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned long lo = (unsigned long)hex4(p + 2);
                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            o += put_utf8(out + o, cp);
            break;
        }
        default:
            out[o++] = e;
        }
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return (long)o;
}

/** @brief Read a number token exactly as int64. */
cl_json_int_status_t cl_json_int(const char *p, size_t len, int64_t *out)
{
    const char *end = p + len;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    /* Collect significant digits and the decimal exponent. */
    char dig[64];
    size_t nd = 0;
    long exp10 = 0;
    int seen_nonzero = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (*p != '0' || seen_nonzero) {
            seen_nonzero = 1;
            if (nd < sizeof dig)
                dig[nd++] = *p;
            else
                exp10++;
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            if (*p != '0' || seen_nonzero) {
                seen_nonzero = 1;
                if (nd < sizeof dig) {
                    dig[nd++] = *p;
                    exp10--;
                } else if (*p != '0') {
                    return CL_JSON_INT_FRACTION; /* too many digits to be an int64 anyway */
                }
            } else {
                exp10--;
            }
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        long e = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (e < 100000)
                e = e * 10 + (*p - '0');
        exp10 += eneg ? -e : e;
    }
    /* Drop trailing zeros into the exponent. */
    while (nd > 0 && dig[nd - 1] == '0') {
        nd--;
        exp10++;
    }
    if (nd == 0) {
        *out = 0;
        return CL_JSON_INT_OK;
    }
    if (exp10 < 0)
        return CL_JSON_INT_FRACTION;
    if ((long)nd + exp10 > 19)
        return CL_JSON_INT_RANGE;
    unsigned long long v = 0;
    for (size_t i = 0; i < nd; i++)
        v = v * 10 + (unsigned long long)(dig[i] - '0');
    for (long i = 0; i < exp10; i++) {
        if (v > 1844674407370955161ULL)
            return CL_JSON_INT_RANGE;
        v *= 10;
    }
    if (neg) {
        if (v > 9223372036854775808ULL)
            return CL_JSON_INT_RANGE;
        *out = v == 9223372036854775808ULL ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > 9223372036854775807ULL)
            return CL_JSON_INT_RANGE;
        *out = (int64_t)v;
    }
    return CL_JSON_INT_OK;
}

/** @brief Replace invalid UTF-8 bytes with '?'. */
void cl_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s, *end = p + strlen(s);
    while (p < end) {
        size_t n = cl_utf8_seq(p, end);
        if (n == 0) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}
