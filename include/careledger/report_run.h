/**
 * @file report_run.h
 * @brief One report, start to finish: read the model in one snapshot, lay it
 * out, draw its charts, write every requested format. Shared by
 * `careledger report` and the daemon's scheduler.
 */
#ifndef CARELEDGER_REPORT_RUN_H
#define CARELEDGER_REPORT_RUN_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "careledger/policy.h"

enum {
    CL_RPT_PDF = 1u << 0,
    CL_RPT_HTML = 1u << 1,
    CL_RPT_CSV = 1u << 2,
    CL_RPT_XLSX = 1u << 3,
    CL_RPT_JSON = 1u << 4,
    CL_RPT_ALL = (1u << 5) - 1,
};

typedef struct cl_rpt_request {
    const char *report;   /* "daily", "finance" or "compare" */
    const char *region;   /* the jurisdiction, or the parent region for compare */
    int32_t date;         /* as of this day */
    int32_t month;        /* finance: the month (cl_month_parse); ignored otherwise */
    unsigned formats;     /* CL_RPT_* bits */
    const char *lang;     /* "zh" or "en" */
    const char *out_dir;  /* created when missing */
    int64_t generated_at; /* Unix seconds for the pdf/html generated-at line */
} cl_rpt_request_t;

/**
 * @brief Parse a comma-separated format list ("pdf,html,csv,xlsx,json" or "all")
 * into CL_RPT_* bits; 0 or -1 with the reason in @p err.
 */
int cl_rpt_parse_formats(const char *list, unsigned *formats, char *err, size_t errsize);

/**
 * @brief Produce one report. Reads the model in one REPEATABLE READ snapshot on
 * @p conn (borrowed, left idle), renders charts with gnuplot only when pdf or
 * html is asked for, and writes each file whole or not at all.
 * @param paths when not NULL, receives the written paths (malloc'd array of
 * malloc'd strings, in format order; the caller frees them).
 * @param n_paths when not NULL, receives how many files were written.
 * @return 0, or -1 with a one-line reason in @p err.
 */
int cl_rpt_run(PGconn *conn, const cl_policy_set_t *set, const cl_rpt_request_t *req, char ***paths,
               size_t *n_paths, char *err, size_t errsize);

#endif
