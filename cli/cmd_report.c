/**
 * @file cmd_report.c
 * @brief `careledger report daily|finance|compare`: one report in the asked
 * formats, its file paths printed one per line.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "careledger/report_run.h"
#include "careledger/time.h"
#include "common.h"

static const char USAGE[] =
    "usage: careledger report daily|finance|compare --region CODE --date YYYY-MM-DD\n"
    "                         [--month YYYY-MM] [--format LIST] [--out DIR] [--lang zh|en]\n"
    "                         [--config FILE]\n\n"
    "  daily    the coverage ledger of jurisdiction CODE as of the date\n"
    "  finance  the finance statement of CODE for --month (default: the date's month)\n"
    "  compare  the child regions of CODE side by side as of the date\n\n"
    "--format is a comma-separated list of pdf, html, csv, xlsx, json, or all\n"
    "(default: reports.formats of the configuration); --out defaults to the current\n"
    "directory, --lang to reports.lang (zh). Files are named REPORT-CODE-DATE.EXT\n"
    "(csv: one file per table), written whole or not at all, and printed one per\n"
    "line. pdf and html need gnuplot on PATH for their charts. Reports read the\n"
    "aggregates in one snapshot.\n";

/** @brief careledger report KIND --region CODE --date D … */
int cl_cli_report(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    const char *kind = NULL, *region = NULL, *date = NULL, *month = NULL, *format = NULL;
    const char *out = ".", *lang = NULL;
    char bad[256] = "";
    if (cl_cli_parse_common(argc, argv, &o))
        return 1;
    for (int i = 0; i < o.nrest; i++) {
        const char *a = o.rest[i];
        const char **slot = strcmp(a, "--region") == 0   ? &region
                            : strcmp(a, "--date") == 0   ? &date
                            : strcmp(a, "--month") == 0  ? &month
                            : strcmp(a, "--format") == 0 ? &format
                            : strcmp(a, "--out") == 0    ? &out
                            : strcmp(a, "--lang") == 0   ? &lang
                                                         : NULL;
        if (slot) {
            if (i + 1 >= o.nrest) {
                snprintf(bad, sizeof bad, "%s needs a value", a);
                break;
            }
            *slot = o.rest[++i];
        } else if (!kind && a[0] != '-') {
            kind = a;
        } else {
            snprintf(bad, sizeof bad, "unexpected argument %s", a);
            break;
        }
    }
    if (!bad[0] && !o.help) {
        if (!kind)
            snprintf(bad, sizeof bad, "which report? daily, finance or compare");
        else if (strcmp(kind, "daily") && strcmp(kind, "finance") && strcmp(kind, "compare"))
            snprintf(bad, sizeof bad, "unknown report %s (expected daily, finance or compare)",
                     kind);
        else if (!region || !date)
            snprintf(bad, sizeof bad, "--region and --date are required");
        else if (lang && strcmp(lang, "zh") && strcmp(lang, "en"))
            snprintf(bad, sizeof bad, "--lang must be zh or en");
    }
    if (bad[0] && !o.help) {
        cl_cli_opts_free(&o);
        cl_cli_fail("report: %s (see careledger report --help)", bad);
        return 1;
    }
    int early = cl_cli_begin(&o, USAGE, 0, &cfg);
    if (early >= 0)
        return early;

    int rc = 1;
    char err[1024];
    char **paths = NULL;
    size_t n_paths = 0;
    PGconn *c = NULL;
    cl_policy_set_t *set = NULL;
    cl_rpt_request_t q = {.report = kind,
                          .region = region,
                          .out_dir = out,
                          .lang = lang ? lang : cfg.lang,
                          .generated_at = (int64_t)time(NULL)};
    if (cl_date_parse(date, &q.date)) {
        cl_cli_fail("report: --date %s is not a date (YYYY-MM-DD)", date);
        goto done;
    }
    q.month = cl_month_of_date(q.date);
    if (month && cl_month_parse(month, &q.month)) {
        cl_cli_fail("report: --month %s is not a month (YYYY-MM)", month);
        goto done;
    }
    if (q.month > cl_month_of_date(q.date)) {
        cl_cli_fail("report: --month %s is after --date %s", month, date);
        goto done;
    }
    if (format) {
        if (cl_rpt_parse_formats(format, &q.formats, err, sizeof err)) {
            cl_cli_fail("report: --format: %s", err);
            goto done;
        }
    } else {
        for (size_t i = 0; i < cfg.n_formats; i++) {
            unsigned f;
            if (cl_rpt_parse_formats(cfg.formats[i], &f, err, sizeof err) == 0)
                q.formats |= f;
        }
    }
    /* A reader closing our stdout early must not kill us between files; gnuplot's
     * pipe likewise reports EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    if (!(set = cl_cli_load_policies(&cfg)) || !(c = cl_cli_connect(&cfg, "careledger-report")))
        goto done;
    if (cl_rpt_run(c, set, &q, &paths, &n_paths, err, sizeof err)) {
        cl_cli_fail("report: %s", err);
        goto done;
    }
    for (size_t i = 0; i < n_paths; i++)
        printf("%s\n", paths[i]);
    rc = 0;
done:
    for (size_t i = 0; i < n_paths; i++)
        free(paths[i]);
    free(paths);
    if (c)
        PQfinish(c);
    cl_policy_set_destroy(set);
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}
