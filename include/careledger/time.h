/**
 * @file time.h
 * @brief Dates, months, RFC 3339 instants and time zones (the system tz database).
 *
 * A date is a day number (days since 1970-01-01, proleptic Gregorian); a
 * month is year*12 + (month-1); an instant is microseconds since the Unix
 * epoch, UTC. Local dates come from TZif files under /usr/share/zoneinfo
 * (or $TZDIR), read once per zone and then used without locks.
 */
#ifndef CARELEDGER_TIME_H
#define CARELEDGER_TIME_H

#include <stddef.h>
#include <stdint.h>

#define CL_DATE_LEN    11 /* "YYYY-MM-DD" + NUL */
#define CL_MONTH_LEN   8  /* "YYYY-MM" + NUL */
#define CL_INSTANT_LEN 32 /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" + NUL */

/** @brief Day number of a civil date (no validation). */
int32_t cl_date_from_civil(int y, int m, int d);
/** @brief Civil date of a day number. */
void cl_date_to_civil(int32_t days, int *y, int *m, int *d);
/** @brief Parse a strict `YYYY-MM-DD` (years 1900..9999); 0 or -1. */
int cl_date_parse(const char *s, int32_t *days);
/** @brief Format a day number as `YYYY-MM-DD` into @p buf (CL_DATE_LEN). */
char *cl_date_format(int32_t days, char buf[CL_DATE_LEN]);
/** @brief Parse a strict `YYYY-MM`; 0 or -1. */
int cl_month_parse(const char *s, int32_t *month);
/** @brief Format a month index as `YYYY-MM`. */
char *cl_month_format(int32_t month, char buf[CL_MONTH_LEN]);
/** @brief Month index of a day number. */
int32_t cl_month_of_date(int32_t days);
/** @brief Day number of the first day of a month index. */
int32_t cl_month_first_day(int32_t month);

/**
 * @brief Parse an RFC 3339 date-time with a mandatory offset (`Z` or ±HH:MM)
 * into UTC microseconds. Fractions beyond microseconds are truncated.
 * @return 0, or -1 when malformed or not a real calendar time.
 */
int cl_instant_parse(const char *s, int64_t *us);
/** @brief Format UTC microseconds as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. */
char *cl_instant_format(int64_t us, char buf[CL_INSTANT_LEN]);

typedef struct cl_tz cl_tz_t;

/**
 * @brief Load zone @p name (e.g. "Asia/Shanghai") from the tz database.
 * @return a zone the caller frees with cl_tz_destroy(), or NULL with the
 * reason in @p err.
 */
cl_tz_t *cl_tz_create(const char *name, char *err, size_t errsize);
/** @brief Free a zone (NULL is fine). */
void cl_tz_destroy(cl_tz_t *tz);
/** @brief The zone's name, owned by the zone. */
const char *cl_tz_name(const cl_tz_t *tz);
/** @brief UTC offset in seconds at UTC second @p t. */
int32_t cl_tz_offset(const cl_tz_t *tz, int64_t t);
/** @brief The local date (day number) of instant @p us in the zone. */
int32_t cl_tz_local_date(const cl_tz_t *tz, int64_t us);

#endif
