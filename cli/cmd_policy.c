/**
 * @file cmd_policy.c
 * @brief `careledger policy check FILE…` and `careledger policy show FILE [--json]`.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/policy.h"
#include "cli.h"

#define ERRBUF 16384

/** @brief Usage of the policy command. */
static int policy_usage(FILE *out, int rc)
{
    fprintf(out, "usage: careledger policy check FILE…\n"
                 "       careledger policy show FILE [--json]\n\n"
                 "check  validates each file (unknown keys, types, ranges, measure ids, tracks),\n"
                 "       then the set they form with the other *.json files of their folders\n"
                 "       (unique ids, no overlapping policies, the national defaults).\n"
                 "show   prints the policy with inheritance resolved from the files alone\n"
                 "       (GB/T 2260 region structure); --json prints the normalised form.\n");
    return rc;
}

/** @brief Load FILE with the *.json files of the folders of @p files. */
static cl_policy_set_t *load_with_siblings(char **files, int n, char *err, size_t errsize)
{
    const char **patterns = calloc((size_t)n * 2, sizeof *patterns);
    char **dirs = calloc((size_t)n, sizeof *dirs);
    cl_policy_set_t *set = NULL;
    if (!patterns || !dirs) {
        snprintf(err, errsize, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        char *copy = strdup(files[i]);
        if (!copy)
            goto done;
        const char *dir = dirname(copy); /* may modify copy: call once */
        size_t len = strlen(dir) + 8;
        dirs[i] = malloc(len);
        if (dirs[i])
            snprintf(dirs[i], len, "%s/*.json", dir);
        free(copy);
        if (!dirs[i])
            goto done;
        patterns[2 * i] = files[i];
        patterns[2 * i + 1] = dirs[i];
    }
    set = cl_policy_set_load(patterns, (size_t)n * 2, err, errsize);
done:
    for (int i = 0; dirs && i < n; i++)
        free(dirs[i]);
    free(dirs);
    free(patterns);
    return set;
}

/** @brief policy check FILE… */
static int policy_check(int argc, char **argv)
{
    char *err = malloc(ERRBUF);
    int failed = 0;
    if (!err)
        return cl_cli_fail("out of memory");
    for (int i = 0; i < argc; i++) {
        cl_policy_t *p = cl_policy_load_file(argv[i], err, ERRBUF);
        if (!p) {
            fprintf(stderr, "%s\n", err);
            failed = 1;
            continue;
        }
        size_t tracks = 0;
        for (size_t m = 0; m < p->n_measures; m++)
            tracks += p->measures[m].n_tracks;
        printf("%s: ok (%s, region %s, %zu measures, %zu tracks)\n", argv[i], p->id, p->region,
               p->n_measures, tracks);
        cl_policy_destroy(p);
    }
    if (!failed) {
        cl_policy_set_t *set = load_with_siblings(argv, argc, err, ERRBUF);
        if (!set) {
            fprintf(stderr, "%s\n", err);
            failed = 1;
        }
        cl_policy_set_destroy(set);
    }
    free(err);
    return failed;
}

/** @brief Human-readable summary of a resolved policy. */
static void show_text(const cl_policy_set_t *set, const cl_policy_t *p)
{
    cl_resolved_t r;
    char err[256], d[CL_DATE_LEN];
    printf("%s  %s\n", p->id, p->title);
    printf("region %s, issuer %s, in force from %s", p->region, p->issuer,
           cl_date_format(p->effective_from, d));
    if (p->effective_to != INT32_MAX)
        printf(" to %s", cl_date_format(p->effective_to, d));
    printf("\n");
    if (cl_policy_set_resolve(set, p->region, p->effective_from, NULL, NULL, &r, err, sizeof err) ==
        0) {
        const cl_settings_t *s = &r.settings;
        printf("frontline %s; subsidy %lld/%lld fen per day", s->frontline ? "direct" : "any",
               (long long)s->direct_fen, (long long)s->other_fen);
        if (s->deploy_rule == CL_DEPLOY_FLAT)
            printf(", deployed %lld flat", (long long)s->deploy_value);
        else if (s->deploy_rule == CL_DEPLOY_MULTIPLIER)
            printf(", deployed x%lld", (long long)s->deploy_value);
        printf("; payment due day %d; legend %d/%d; time zone %s\n", s->payment_due_day,
               s->legend[0], s->legend[1], s->timezone);
    }
    for (size_t i = 0; i < p->n_measures; i++) {
        const cl_measure_t *m = &p->measures[i];
        printf("  %-6s %-3s %s\n", m->id, m->no, m->title);
        for (size_t t = 0; t < m->n_tracks; t++) {
            const cl_track_t *tr = &m->tracks[t];
            printf("         %-7s %-11s %s%s%s\n", tr->id, cl_track_kind_name(tr->kind),
                   tr->eligible ? cl_eligible_name(tr->eligible) : "",
                   tr->scope && tr->kind != CL_TRACK_ENTITLEMENT ? "/" : "",
                   tr->scope && tr->kind != CL_TRACK_ENTITLEMENT ? cl_scope_name(tr->scope) : "");
        }
    }
}

/** @brief policy show FILE [--json] */
static int policy_show(int argc, char **argv)
{
    const char *file = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-')
            return cl_cli_fail("policy show: unknown option %s", argv[i]);
        else if (!file)
            file = argv[i];
        else
            return cl_cli_fail("policy show: one FILE at a time");
    }
    if (!file)
        return cl_cli_fail("policy show: FILE is required");
    char *err = malloc(ERRBUF);
    if (!err)
        return cl_cli_fail("out of memory");
    cl_policy_t *own = cl_policy_load_file(file, err, ERRBUF);
    if (!own) {
        int rc = cl_cli_fail("%s", err);
        free(err);
        return rc;
    }
    char *files[1] = {(char *)file};
    cl_policy_set_t *set = load_with_siblings(files, 1, err, ERRBUF);
    int rc = 0;
    if (!set) {
        rc = cl_cli_fail("%s", err);
    } else {
        const cl_policy_t *p = cl_policy_set_find(set, own->id);
        if (json) {
            if (cl_policy_write_json(set, p, stdout, err, ERRBUF) != 0)
                rc = cl_cli_fail("%s", err);
        } else {
            show_text(set, p);
        }
    }
    cl_policy_set_destroy(set);
    cl_policy_destroy(own);
    free(err);
    return rc;
}

/** @brief Dispatch `policy` subcommands. */
int cl_cli_policy(int argc, char **argv)
{
    if (argc < 2)
        return cl_cli_fail("policy: a subcommand is needed: check FILE… or show FILE");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return policy_usage(stdout, 0);
    if (strcmp(argv[1], "check") == 0) {
        if (argc < 3)
            return cl_cli_fail("policy check: at least one FILE");
        return policy_check(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "show") == 0)
        return policy_show(argc - 2, argv + 2);
    return cl_cli_fail("policy: unknown subcommand \"%s\" (check or show)", argv[1]);
}
