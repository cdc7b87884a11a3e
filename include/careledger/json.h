/**
 * @file json.h
 * @brief Strict single-pass JSON scanner (RFC 8259) and exact value readers.
 *
 * cJSON keeps the first of duplicate keys, stops strings at \u0000, passes
 * invalid UTF-8 through and saturates integers. The scanner checks all of
 * that before anything trusts the document: UTF-8 (surrogates included),
 * grammar, duplicate keys in every object (compared after unescaping),
 * nesting depth. For a top-level object it records each member's key and
 * value span, so events are read straight from the bytes, without a tree.
 */
#ifndef CARELEDGER_JSON_H
#define CARELEDGER_JSON_H

#include <stddef.h>
#include <stdint.h>

#define CL_JSON_MAX_DEPTH 32

typedef enum cl_json_status {
    CL_JSON_OK = 0,
    CL_JSON_INVALID = 1,  /* grammar, truncation, duplicate key, depth, not an object */
    CL_JSON_BAD_UTF8 = 2, /* invalid UTF-8 bytes or an unpaired surrogate escape */
} cl_json_status_t;

/** One member of the top-level object. Offsets are into the scanned buffer. */
typedef struct cl_json_member {
    const char *key; /* decoded key, NUL-terminated, owned by the scanner */
    size_t key_len;
    size_t off, len; /* the value's bytes */
    char type;       /* 's' string, 'n' number, 'o' object, 'a' array, 't', 'f', 'z' null */
    int has_nul;     /* the value holds U+0000 somewhere */
} cl_json_member_t;

typedef struct cl_json_scanner cl_json_scanner_t;

/** @brief Create a reusable scanner; free with cl_json_scanner_destroy(). */
cl_json_scanner_t *cl_json_scanner_create(void);
/** @brief Free a scanner (NULL is fine). */
void cl_json_scanner_destroy(cl_json_scanner_t *sc);

/**
 * @brief Scan @p buf as one JSON document that must be an object.
 * @param why receives a short human reason when not CL_JSON_OK.
 * Members stay valid until the next scan on this scanner.
 */
cl_json_status_t cl_json_scan(cl_json_scanner_t *sc, const char *buf, size_t len, char *why,
                              size_t whysize);
/** @brief Number of top-level members after a successful scan. */
size_t cl_json_count(const cl_json_scanner_t *sc);
/** @brief The top-level member named @p key, or NULL. */
const cl_json_member_t *cl_json_get(const cl_json_scanner_t *sc, const char *key);

/**
 * @brief Decode a JSON string token (quotes included) at @p p/@p len into
 * @p out (capacity @p cap, NUL-terminated). The token must have passed a scan.
 * @return decoded length, or -1 if it does not fit.
 */
long cl_json_unescape(const char *p, size_t len, char *out, size_t cap);

typedef enum cl_json_int_status {
    CL_JSON_INT_OK = 0,
    CL_JSON_INT_FRACTION = 1, /* a number, but not an integer */
    CL_JSON_INT_RANGE = 2,    /* an integer outside int64 */
} cl_json_int_status_t;

/**
 * @brief Read a JSON number token exactly as an int64. Integral values in any
 * JSON form are accepted (1e3, 15.0); 1.5 is CL_JSON_INT_FRACTION.
 */
cl_json_int_status_t cl_json_int(const char *p, size_t len, int64_t *out);

/**
 * @brief Length of the valid UTF-8 sequence at @p p (before @p end): 1..4, or
 * 0 when invalid (overlong, surrogate, truncated, beyond U+10FFFF).
 */
size_t cl_utf8_seq(const unsigned char *p, const unsigned char *end);

/**
 * @brief Make a NUL-terminated string valid UTF-8 in place: every invalid
 * byte (a multi-byte character cut by a truncation, say) becomes '?'.
 */
void cl_utf8_sanitize(char *s);

/**
 * @brief Check a whole document (any top-level value) for strictness:
 * the same rules as cl_json_scan but no top-level-object requirement.
 * Used before cJSON parses configuration and policy files.
 */
cl_json_status_t cl_json_check(const char *buf, size_t len, char *why, size_t whysize);

#endif
