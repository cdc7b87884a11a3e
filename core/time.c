/**
 * @file time.c
 * @brief Civil dates, RFC 3339 instants and a TZif reader for local dates.
 */
#include "careledger/time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- civil dates (H. Hinnant's algorithms) ---- */

/** @brief Day number of y-m-d. */
int32_t cl_date_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

/** @brief y-m-d of a day number. */
void cl_date_to_civil(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = (int)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

/** @brief Days in month m of year y. */
static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

/** @brief Read exactly @p n decimal digits. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/** @brief Parse the `YYYY-MM-DD` prefix of @p s. */
static int parse_ymd(const char *s, int *y, int *m, int *d)
{
    if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' || digits(s + 8, 2, d))
        return -1;
    if (*y < 1900 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

/** @brief Parse a strict date. */
int cl_date_parse(const char *s, int32_t *days)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || parse_ymd(s, &y, &m, &d))
        return -1;
    *days = cl_date_from_civil(y, m, d);
    return 0;
}

/** @brief Write @p v (0 <= v < 10^n) as exactly @p n digits. */
static void put_digits(char *o, int v, int n)
{
    for (int k = n - 1; k >= 0; k--) {
        o[k] = (char)('0' + v % 10);
        v /= 10;
    }
}

/** @brief Write YYYY-MM-DD (10 bytes, no terminator). */
static void put_ymd(char *o, int y, int m, int d)
{
    put_digits(o, y, 4);
    o[4] = '-';
    put_digits(o + 5, m, 2);
    o[7] = '-';
    put_digits(o + 8, d, 2);
}

/** @brief Format a date. */
char *cl_date_format(int32_t days, char buf[CL_DATE_LEN])
{
    int y, m, d;
    cl_date_to_civil(days, &y, &m, &d);
    if (y < 0) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y % 10000, m, d);
        memcpy(buf, tmp, CL_DATE_LEN - 1);
        buf[CL_DATE_LEN - 1] = '\0';
        return buf;
    }
    put_ymd(buf, y % 10000, m, d);
    buf[10] = '\0';
    return buf;
}

/** @brief Parse a strict month. */
int cl_month_parse(const char *s, int32_t *month)
{
    int y, m;
    if (!s || strlen(s) != 7 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &m) ||
        y < 1900 || m < 1 || m > 12)
        return -1;
    *month = y * 12 + (m - 1);
    return 0;
}

/** @brief Format a month. */
char *cl_month_format(int32_t month, char buf[CL_MONTH_LEN])
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%04d-%02d", (month / 12) % 10000, month % 12 + 1);
    memcpy(buf, tmp, CL_MONTH_LEN - 1);
    buf[CL_MONTH_LEN - 1] = '\0';
    return buf;
}

/** @brief Month of a date. */
int32_t cl_month_of_date(int32_t days)
{
    int y, m, d;
    cl_date_to_civil(days, &y, &m, &d);
    return y * 12 + (m - 1);
}

/** @brief First day of a month. */
int32_t cl_month_first_day(int32_t month)
{
    return cl_date_from_civil(month / 12, month % 12 + 1, 1);
}

/* ---- RFC 3339 ---- */

/** @brief Parse an RFC 3339 date-time with offset into UTC microseconds. */
int cl_instant_parse(const char *s, int64_t *us)
{
    int y, mo, d, h, mi, sec;
    if (!s || strlen(s) < 20 || parse_ymd(s, &y, &mo, &d))
        return -1;
    if ((s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) || s[13] != ':' ||
        digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    /* Leap seconds (:60) are not representable in the rules' day arithmetic. */
    if (h > 23 || mi > 59 || sec > 59)
        return -1;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        int n = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (n < 6)
                frac = frac * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return -1;
        for (int i = n; i < 6; i++)
            frac *= 10;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    int64_t t = (int64_t)cl_date_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    /* The instant itself, in UTC, must stay within the years 1900..9999 that dates allow
     * (9999-12-31T23:59:59-01:00 is in year 10000). */
    if (t < (int64_t)cl_date_from_civil(1900, 1, 1) * 86400 ||
        t >= (int64_t)cl_date_from_civil(10000, 1, 1) * 86400)
        return -1;
    *us = t * 1000000 + frac;
    return 0;
}

/** @brief Format UTC microseconds as RFC 3339 with `Z`. */
char *cl_instant_format(int64_t us, char buf[CL_INSTANT_LEN])
{
    int64_t t = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - t * 1000000;
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t sod = t - days * 86400;
    int y, m, d;
    char tmp[64];
    cl_date_to_civil((int32_t)days, &y, &m, &d);
    if (y >= 0) {
        /* Digits by hand: every stored event has two or three instants (ingest's hot path). */
        put_ymd(buf, y % 10000, m, d);
        buf[10] = 'T';
        put_digits(buf + 11, (int)(sod / 3600), 2);
        buf[13] = ':';
        put_digits(buf + 14, (int)(sod / 60 % 60), 2);
        buf[16] = ':';
        put_digits(buf + 17, (int)(sod % 60), 2);
        size_t n = 19;
        if (frac) {
            buf[n++] = '.';
            put_digits(buf + n, (int)frac, 6);
            n += 6;
        }
        buf[n++] = 'Z';
        buf[n] = '\0';
        return buf;
    }
    if (frac)
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", y % 10000, m, d,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (long)frac);
    else
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02dZ", y % 10000, m, d,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    snprintf(buf, CL_INSTANT_LEN, "%.31s", tmp);
    return buf;
}

/* ---- time zones: TZif (RFC 8536) ---- */

/** A POSIX TZ rule date: Mm.w.d, Jn or n, plus the time of day it applies. */
typedef struct tz_rule_date {
    char form; /* 'M', 'J' or 'N' */
    int m, w, d, n;
    int32_t secs;
} tz_rule_date_t;

struct cl_tz {
    char name[64];
    int64_t *trans;     /* transition times, UTC seconds */
    uint8_t *trans_idx; /* ttinfo index per transition */
    int32_t *utoff;     /* per ttinfo */
    uint8_t *isdst;
    uint32_t timecnt, typecnt;
    /* The footer rule, for instants after the last transition. */
    int has_rule;
    int32_t std_off, dst_off; /* UTC offsets, seconds */
    int has_dst;
    tz_rule_date_t start, end;
};

/** @brief Big-endian 32-bit read. */
static int32_t be32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/** @brief Big-endian 64-bit read. */
static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)(uint32_t)be32(p) << 32 | (uint32_t)be32(p + 4));
}

/** @brief Parse a POSIX TZ name (alpha or <quoted>). */
static const char *tzs_name(const char *p)
{
    if (*p == '<') {
        while (*p && *p != '>')
            p++;
        return *p ? p + 1 : NULL;
    }
    const char *q = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - q >= 3 ? p : NULL;
}

/** @brief Parse [+-]hh[:mm[:ss]] into seconds (sign as written). */
static const char *tzs_time(const char *p, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int32_t v = 0, part = 0, n = 0;
    for (int field = 0; field < 3; field++) {
        part = 0;
        n = 0;
        while (*p >= '0' && *p <= '9' && n < 3) {
            part = part * 10 + (*p++ - '0');
            n++;
        }
        if (n == 0)
            return NULL;
        v += part * (field == 0 ? 3600 : field == 1 ? 60 : 1);
        if (*p != ':')
            break;
        p++;
    }
    *out = sign * v;
    return p;
}

/** @brief Parse one rule date of a POSIX TZ string. */
static const char *tzs_date(const char *p, tz_rule_date_t *r)
{
    r->secs = 7200;
    if (*p == 'M') {
        r->form = 'M';
        if (sscanf(p + 1, "%d.%d.%d", &r->m, &r->w, &r->d) != 3 || r->m < 1 || r->m > 12 ||
            r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6)
            return NULL;
        p++;
        while (*p == '.' || (*p >= '0' && *p <= '9'))
            p++;
    } else {
        r->form = 'N';
        if (*p == 'J') {
            r->form = 'J';
            p++;
        }
        char *e;
        r->n = (int)strtol(p, &e, 10);
        if (e == p)
            return NULL;
        p = e;
    }
    if (*p == '/') {
        p = tzs_time(p + 1, &r->secs);
        if (!p)
            return NULL;
    }
    return p;
}

/** @brief Parse a TZif footer (POSIX TZ string) into @p tz. */
static int tz_parse_rule(cl_tz_t *tz, const char *s)
{
    int32_t off;
    const char *p = tzs_name(s);
    if (!p || !(p = tzs_time(p, &off)))
        return -1;
    tz->std_off = -off;
    tz->has_rule = 1;
    if (*p == '\0')
        return 0;
    if (!(p = tzs_name(p)))
        return -1;
    tz->dst_off = tz->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = tzs_time(p, &off)))
            return -1;
        tz->dst_off = -off;
    }
    if (*p != ',' || !(p = tzs_date(p + 1, &tz->start)) || *p != ',' ||
        !(p = tzs_date(p + 1, &tz->end)) || *p != '\0')
        return -1;
    tz->has_dst = 1;
    return 0;
}

/** @brief Local second of the year @p y at which rule date @p r applies. */
static int64_t tz_rule_local(int y, const tz_rule_date_t *r)
{
    int32_t day;
    if (r->form == 'M') {
        int32_t first = cl_date_from_civil(y, r->m, 1);
        int wd_first = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int delta = (r->d - wd_first + 7) % 7;
        int32_t dd = first + delta + (r->w - 1) * 7;
        if (r->w == 5)
            while (dd >= first + days_in_month(y, r->m))
                dd -= 7;
        day = dd;
    } else if (r->form == 'J') {
        int n = r->n; /* 1..365, Feb 29 never counted */
        int leap = days_in_month(y, 2) == 29;
        day = cl_date_from_civil(y, 1, 1) + n - 1 + (leap && n >= 60);
    } else {
        day = cl_date_from_civil(y, 1, 1) + r->n;
    }
    return (int64_t)day * 86400 + r->secs;
}

/** @brief Offset under the footer rule at UTC second @p t. */
static int32_t tz_rule_offset(const cl_tz_t *tz, int64_t t)
{
    if (!tz->has_dst)
        return tz->std_off;
    int y, m, d;
    int64_t days = (t + tz->std_off) / 86400;
    cl_date_to_civil((int32_t)days, &y, &m, &d);
    /* Start is given in standard local time, end in daylight local time. */
    int64_t start = tz_rule_local(y, &tz->start) - tz->std_off;
    int64_t end = tz_rule_local(y, &tz->end) - tz->dst_off;
    if (start < end)
        return (t >= start && t < end) ? tz->dst_off : tz->std_off;
    return (t >= end && t < start) ? tz->std_off : tz->dst_off; /* southern hemisphere */
}

/** @brief Load a zone from the tz database. */
cl_tz_t *cl_tz_create(const char *name, char *err, size_t errsize)
{
    cl_tz_t *tz = NULL;
    uint8_t *data = NULL;
    FILE *f = NULL;
    char path[512];
    const char *dir = getenv("TZDIR");
    if (!name || !*name || strstr(name, "..") || name[0] == '/' || strlen(name) >= 64) {
        snprintf(err, errsize, "invalid time zone name");
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsize, "unknown time zone %s (%s: %s)", name, path, strerror(errno));
        goto error;
    }
    data = malloc(1 << 20);
    if (!data) {
        snprintf(err, errsize, "out of memory");
        goto error;
    }
    size_t len = fread(data, 1, 1 << 20, f);
    fclose(f);
    f = NULL;
    if (len < 44 || memcmp(data, "TZif", 4) != 0 || data[4] < '2') {
        snprintf(err, errsize, "time zone %s: not a TZif version 2+ file", name);
        goto error;
    }
    /* Skip the 32-bit block to reach the 64-bit one. */
    const uint8_t *h = data;
    /* v1 block: header, then timecnt*5 + typecnt*6 + charcnt + leapcnt*8 + isstdcnt + isutcnt. */
    size_t v1 = 44 + (size_t)be32(h + 32) * 5 + (size_t)be32(h + 36) * 6 + (size_t)be32(h + 40) +
                (size_t)be32(h + 28) * 8 + (size_t)be32(h + 24) + (size_t)be32(h + 20);
    if (v1 + 44 > len || memcmp(data + v1, "TZif", 4) != 0) {
        snprintf(err, errsize, "time zone %s: truncated TZif file", name);
        goto error;
    }
    h = data + v1;
    uint32_t isutcnt = (uint32_t)be32(h + 20), isstdcnt = (uint32_t)be32(h + 24);
    uint32_t leapcnt = (uint32_t)be32(h + 28), timecnt = (uint32_t)be32(h + 32);
    uint32_t typecnt = (uint32_t)be32(h + 36), charcnt = (uint32_t)be32(h + 40);
    const uint8_t *p = h + 44;
    size_t need = (size_t)timecnt * 9 + (size_t)typecnt * 6 + charcnt + (size_t)leapcnt * 12 +
                  isstdcnt + isutcnt;
    if (typecnt == 0 || (size_t)(p - data) + need > len) {
        snprintf(err, errsize, "time zone %s: malformed TZif data", name);
        goto error;
    }
    tz = calloc(1, sizeof *tz);
    if (!tz)
        goto oom;
    snprintf(tz->name, sizeof tz->name, "%s", name);
    tz->timecnt = timecnt;
    tz->typecnt = typecnt;
    tz->trans = calloc(timecnt ? timecnt : 1, sizeof *tz->trans);
    tz->trans_idx = calloc(timecnt ? timecnt : 1, 1);
    tz->utoff = calloc(typecnt, sizeof *tz->utoff);
    tz->isdst = calloc(typecnt, 1);
    if (!tz->trans || !tz->trans_idx || !tz->utoff || !tz->isdst)
        goto oom;
    for (uint32_t i = 0; i < timecnt; i++)
        tz->trans[i] = be64(p + 8 * i);
    p += 8 * timecnt;
    for (uint32_t i = 0; i < timecnt; i++) {
        tz->trans_idx[i] = p[i];
        if (p[i] >= typecnt) {
            snprintf(err, errsize, "time zone %s: bad transition type", name);
            goto error;
        }
    }
    p += timecnt;
    for (uint32_t i = 0; i < typecnt; i++) {
        tz->utoff[i] = be32(p + 6 * i);
        tz->isdst[i] = p[6 * i + 4];
    }
    p += 6 * typecnt + charcnt + leapcnt * 12 + isstdcnt + isutcnt;
    /* Footer: "\n<POSIX TZ>\n". */
    if ((size_t)(p - data) < len && *p == '\n') {
        const uint8_t *q = p + 1;
        const uint8_t *e = memchr(q, '\n', len - (size_t)(q - data));
        if (e && e > q) {
            char rule[128];
            size_t n = (size_t)(e - q) < sizeof rule - 1 ? (size_t)(e - q) : sizeof rule - 1;
            memcpy(rule, q, n);
            rule[n] = '\0';
            if (tz_parse_rule(tz, rule) != 0) {
                snprintf(err, errsize, "time zone %s: unsupported TZ rule \"%s\"", name, rule);
                goto error;
            }
        }
    }
    free(data);
    return tz;
oom:
    snprintf(err, errsize, "out of memory");
error:
    if (f)
        fclose(f);
    free(data);
    cl_tz_destroy(tz);
    return NULL;
}

/** @brief Free a zone. */
void cl_tz_destroy(cl_tz_t *tz)
{
    if (!tz)
        return;
    free(tz->trans);
    free(tz->trans_idx);
    free(tz->utoff);
    free(tz->isdst);
    free(tz);
}

/** @brief The zone's name. */
const char *cl_tz_name(const cl_tz_t *tz)
{
    return tz->name;
}

/** @brief UTC offset at UTC second t. */
int32_t cl_tz_offset(const cl_tz_t *tz, int64_t t)
{
    if (tz->timecnt == 0 || t < tz->trans[0]) {
        if (tz->timecnt == 0 && tz->has_rule)
            return tz_rule_offset(tz, t);
        /* Before the first transition: the first standard-time type (RFC 8536 §3.2). */
        for (uint32_t i = 0; i < tz->typecnt; i++)
            if (!tz->isdst[i])
                return tz->utoff[i];
        return tz->utoff[0];
    }
    if (t >= tz->trans[tz->timecnt - 1] && tz->has_rule)
        return tz_rule_offset(tz, t);
    uint32_t lo = 0, hi = tz->timecnt; /* last transition <= t */
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->utoff[tz->trans_idx[lo]];
}

/** @brief Local date of an instant. */
int32_t cl_tz_local_date(const cl_tz_t *tz, int64_t us)
{
    int64_t t = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t local = t + cl_tz_offset(tz, t);
    return (int32_t)(local >= 0 ? local / 86400 : -((-local + 86399) / 86400));
}
