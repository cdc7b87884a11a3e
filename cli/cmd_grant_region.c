/**
 * @file cmd_grant_region.c
 * @brief `careledger grant-region ROLE CODE | --revoke ROLE CODE | --list [ROLE]`:
 * which regions a region-bound report login may see (row-level security,
 * migration 007_region_access).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char USAGE[] =
    "usage: careledger grant-region ROLE CODE [--config FILE]\n"
    "       careledger grant-region --revoke ROLE CODE [--config FILE]\n"
    "       careledger grant-region --list [ROLE] [--config FILE]\n\n"
    "Records that ROLE (a login in careledger_report, or a role such logins inherit)\n"
    "may see region CODE (six digits, GB/T 2260) and every region under it. Row-level\n"
    "security then shows that login only the units, workers, figures and facts its\n"
    "regions' reports are computed from, and `careledger report` run as that login\n"
    "refuses any other region. A login in careledger_report sees nothing until it is\n"
    "granted a region; grant 000000 (the root) to let it see everything. The schema\n"
    "owner and careledger_ingest are never restricted.\n\n"
    "  --revoke  remove one grant\n"
    "  --list    print the grants, one per line: ROLE, CODE and the region's name\n"
    "            (a report login sees its own)\n\n"
    "Grants are recorded by the schema owner (the user that runs careledger migrate)\n"
    "or a superuser. A grant to a role that is later dropped is ignored and listed\n"
    "as its number; revoke it by that number.\n";

static const char SQL_ROLE[] =
    "SELECT r.oid, pg_has_role(r.oid, 'careledger_report', 'USAGE') FROM pg_roles r "
    "WHERE r.rolname = $1";
static const char SQL_GRANT[] =
    "INSERT INTO careledger.region_grants (role, region) VALUES ($1::oid::regrole, $2) "
    "ON CONFLICT DO NOTHING";
/* A dropped role's grants are named by its number. */
static const char SQL_REVOKE[] =
    "DELETE FROM careledger.region_grants WHERE region = $2 AND role::oid = "
    "coalesce((SELECT oid FROM pg_roles WHERE rolname = $1), "
    "CASE WHEN $1 ~ '^[0-9]{1,10}$' THEN $1::bigint::oid END)";
static const char SQL_LIST[] =
    "SELECT coalesce(p.rolname::text, g.role::oid::text), g.region, "
    "CASE WHEN g.region = '000000' THEN '(every region)' ELSE coalesce(r.name, '') END, "
    "p.oid IS NULL FROM careledger.region_grants g "
    "LEFT JOIN pg_roles p ON p.oid = g.role LEFT JOIN careledger.regions r ON r.code = g.region "
    "WHERE $1::text IS NULL OR p.rolname = $1 OR g.role::oid::text = $1 "
    "ORDER BY 1, 2";
static const char SQL_REGION_NAME[] = "SELECT name FROM careledger.regions WHERE code = $1";

/** @brief 1 when @p code is six digits. */
static int is_code(const char *code)
{
    size_t n = 0;
    for (; code[n]; n++)
        if (!isdigit((unsigned char)code[n]))
            return 0;
    return n == 6;
}

/** @brief Report a failed statement on one line, with what to do when it was refused. */
static int fail_result(const char *what, PGresult *r)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    int denied = state && strcmp(state, "42501") == 0;
    return cl_cli_fail("grant-region: %s: %s%s", what, msg ? msg : PQresultErrorMessage(r),
                       denied ? " (grants are recorded by the schema owner, the user that "
                                "runs careledger migrate, or a superuser)"
                              : "");
}

/** @brief Record one grant; the exit code. */
static int grant(PGconn *c, const char *role, const char *code)
{
    const char *p1[1] = {role};
    PGresult *r = PQexecParams(c, SQL_ROLE, 1, NULL, p1, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int rc = fail_result("cannot look up the role", r);
        PQclear(r);
        return rc;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return cl_cli_fail("grant-region: there is no role %s", role);
    }
    if (PQgetvalue(r, 0, 1)[0] != 't') {
        PQclear(r);
        return cl_cli_fail("grant-region: %s is not a member of careledger_report (an "
                           "administrator runs GRANT careledger_report TO %s first)",
                           role, role);
    }
    char oid[16];
    snprintf(oid, sizeof oid, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    const char *p2[2] = {oid, code};
    r = PQexecParams(c, SQL_GRANT, 2, NULL, p2, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        int rc = fail_result("cannot record the grant", r);
        PQclear(r);
        return rc;
    }
    int added = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    const char *p3[1] = {code};
    r = PQexecParams(c, SQL_REGION_NAME, 1, NULL, p3, NULL, NULL, 0);
    const char *name = strcmp(code, "000000") == 0 ? "every region"
                       : PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                           ? PQgetvalue(r, 0, 0)
                           : "not a registered region";
    printf("%s %s (%s) to %s\n", added ? "granted" : "already granted", code, name, role);
    PQclear(r);
    return 0;
}

/** @brief Remove one grant; the exit code. */
static int revoke(PGconn *c, const char *role, const char *code)
{
    const char *p[2] = {role, code};
    PGresult *r = PQexecParams(c, SQL_REVOKE, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        int rc = fail_result("cannot remove the grant", r);
        PQclear(r);
        return rc;
    }
    int removed = strcmp(PQcmdTuples(r), "0") != 0;
    PQclear(r);
    if (!removed)
        return cl_cli_fail("grant-region: %s has no grant of %s (see grant-region --list)", role,
                           code);
    printf("revoked %s from %s\n", code, role);
    return 0;
}

/** @brief Print the grants (of @p role, or all); the exit code. */
static int list(PGconn *c, const char *role)
{
    const char *p[1] = {role};
    PGresult *r = PQexecParams(c, SQL_LIST, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int rc = fail_result("cannot list the grants", r);
        PQclear(r);
        return rc;
    }
    for (int i = 0; i < PQntuples(r); i++)
        printf("%s\t%s\t%s%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
               PQgetvalue(r, i, 3)[0] == 't' ? "\t(dropped role)" : "");
    PQclear(r);
    return 0;
}

/** @brief careledger grant-region ROLE CODE | --revoke ROLE CODE | --list [ROLE] */
int cl_cli_grant_region(int argc, char **argv)
{
    cl_cli_opts_t o;
    cl_config_t cfg;
    int do_revoke = 0, do_list = 0;
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0;
    char bad[256] = "";
    if (cl_cli_parse_common(argc, argv, &o))
        return 1;
    for (int i = 0; i < o.nrest && !bad[0]; i++) {
        const char *a = o.rest[i];
        if (strcmp(a, "--revoke") == 0)
            do_revoke = 1;
        else if (strcmp(a, "--list") == 0)
            do_list = 1;
        else if (a[0] == '-' || npos == 2)
            snprintf(bad, sizeof bad, "unexpected argument %s", a);
        else
            pos[npos++] = a;
    }
    if (!bad[0] && do_list && (do_revoke || npos > 1))
        snprintf(bad, sizeof bad, "--list takes at most a ROLE");
    else if (!bad[0] && !do_list && npos != 2)
        snprintf(bad, sizeof bad, "ROLE and CODE are required");
    else if (!bad[0] && !do_list && !is_code(pos[1]))
        snprintf(bad, sizeof bad, "CODE %s is not a region code (six digits; 000000 is the root)",
                 pos[1]);
    if (bad[0] && !o.help) {
        cl_cli_opts_free(&o);
        return cl_cli_fail("grant-region: %s (see careledger grant-region --help)", bad);
    }
    int early = cl_cli_begin(&o, USAGE, 0, &cfg);
    if (early >= 0)
        return early;
    int rc = 1;
    PGconn *c = cl_cli_connect(&cfg, "careledger-grant-region");
    if (c)
        rc = do_list     ? list(c, pos[0])
             : do_revoke ? revoke(c, pos[0], pos[1])
                         : grant(c, pos[0], pos[1]);
    if (c)
        PQfinish(c);
    cl_config_clear(&cfg);
    cl_cli_opts_free(&o);
    return rc;
}
