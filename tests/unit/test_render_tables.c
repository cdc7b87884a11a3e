/**
 * @file test_render_tables.c
 * @brief The csv and xlsx renderers on the sample document and on small
 * documents built by hand: exact fields, quoting, formula guards, numbers as
 * numbers, frozen headers, same bytes twice, and nothing left behind on failure.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "careledger/render.h"
#include "cltest.h"
#include "docsample.h"

#define BOM "\xEF\xBB\xBF"

/** @brief A fresh directory under /tmp (static per call site buffer supplied). */
static char *make_dir(char buf[64])
{
    snprintf(buf, 64, "/tmp/cl-tables-XXXXXX");
    return mkdtemp(buf);
}

/** @brief Remove a directory and everything directly in it (files or empty dirs). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4096];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                if (remove(p) != 0)
                    rmdir(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

/** @brief Number of entries in @p dir besides . and .. (-1 when unreadable). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/** @brief The whole output of a shell command (caller frees), or NULL. */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t n = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += k;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    pclose(p);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/** @brief One member of a zip file as text (caller frees). */
static char *unzip_member(const char *zip, const char *member)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "unzip -p '%s' '%s' 2>/dev/null", zip, member);
    return run(cmd);
}

/** @brief Free the paths returned by cl_render_csv. */
static void free_paths(char **p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free(p[i]);
    free(p);
}

/** @brief Whether the files @p a and @p b have the same bytes. */
static int same_bytes(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = cl_test_slurp(a, &na), *y = cl_test_slurp(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/** @brief The sample's csv files: names, BOM, header, a unit's row, totals, ratios. */
static void test_csv_sample(void)
{
    char dbuf[64], p[4096];
    const char *dir = make_dir(dbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    cl_doc_t *doc = cl_test_sample_doc(5, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char err[256] = "", **paths = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_render_csv(doc, dir, &paths, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    snprintf(p, sizeof p, "%s/sample-220000-2020-03-01-ledger.csv", dir);
    CU_ASSERT_STRING_EQUAL(paths[0], p);
    snprintf(p, sizeof p, "%s/sample-220000-2020-03-01-units.csv", dir);
    CU_ASSERT_STRING_EQUAL(paths[1], p);
    CU_ASSERT_EQUAL(count_entries(dir), 2);

    size_t len = 0;
    char *units = cl_test_slurp(paths[1], &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(units);
    /* Unit k: entitled k × 123,456 fen, paid k × 100,000 fen, k worker-days;
     * 5 units sum to 15 × those. */
    const char *want = BOM "单位,日期,应发,已发,人天\r\n"
                           "单位1,2020-03-01,1234.56,1000.00,1\r\n"
                           "单位2,2020-03-01,2469.12,2000.00,2\r\n"
                           "单位3,2020-03-01,3703.68,3000.00,3\r\n"
                           "单位4,2020-03-01,4938.24,4000.00,4\r\n"
                           "单位5,2020-03-01,6172.80,5000.00,5\r\n"
                           "合计,,18518.40,15000.00,15\r\n";
    CU_ASSERT_EQUAL(len, strlen(want));
    CU_ASSERT_STRING_EQUAL(units, want);
    free(units);

    char *ledger = cl_test_slurp(paths[0], &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ledger);
    CU_ASSERT_EQUAL(memcmp(ledger, BOM, 3), 0);
    CU_ASSERT_EQUAL(strncmp(ledger + 3, "序号,项目,牵头单位,应覆盖,已覆盖,覆盖率,较昨日\r\n",
                            strlen("序号,项目,牵头单位,应覆盖,已覆盖,覆盖率,较昨日\r\n")),
                    0);
    /* Ratios as fractions with six decimals, signed changes, no figure = empty;
     * the full-width comma "，" in a title needs no quotes. */
    CU_ASSERT_PTR_NOT_NULL(
        strstr(ledger, "\r\n1,发放临时性工作补助，并在一线医务人员中按标准发放卫生防疫津贴,"
                       "省卫生健康委、省人力资源社会保障厅,1200,1100,0.916667,+1.3\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ledger, ",300,150,0.500000,-0.5\r\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(ledger, "\r\n3,子女入学,省卫生健康委、省人力资源社会保障厅,0,0,,\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ledger, ",50,10,0.200000,-0.5\r\n"));
    free(ledger);
    free_paths(paths, n);
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief A hand-made document whose text needs quoting and formula guards. */
static cl_doc_t *tricky_doc(void)
{
    cl_doc_t *doc = cl_doc_create("daily", "en");
    if (!doc)
        return NULL;
    doc->basename = cl_doc_str(doc, "tricky");
    doc->title = cl_doc_str(doc, "Tricky");
    doc->created = 18322LL * 86400;
    cl_table_t *t = cl_doc_add_table(doc, "names", "Names", 3);
    cl_doc_set_col(doc, t, 0, "name, as given", CL_CELL_TEXT, 2);
    cl_doc_set_col(doc, t, 1, "note", CL_CELL_TEXT, 2);
    cl_doc_set_col(doc, t, 2, "paid", CL_CELL_MONEY, 1);
    const char *a[] = {"a,b", "line1\nline2", "=SUM(A1:A2)", "+1", "@x", "\tx", "=a,b", "plain"};
    const char *b[] = {"say \"hi\"", "cr\rhere", "-2", "ok", "", "'quoted'", "x", "y"};
    for (size_t i = 0; i < sizeof a / sizeof *a; i++) {
        cl_cell_t *c = cl_doc_add_row(doc, t, 0);
        c[0] = cl_cell_text(doc, a[i]);
        c[1] = cl_cell_text(doc, b[i]);
        c[2] = i == 4 ? (cl_cell_t){0} : cl_cell_money(-1250 * (int64_t)i);
    }
    if (doc->oom) {
        cl_doc_destroy(doc);
        return NULL;
    }
    return doc;
}

/** @brief RFC 4180 quoting and the formula-injection prefix; negative numbers untouched. */
static void test_csv_quoting(void)
{
    char dbuf[64];
    const char *dir = make_dir(dbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    cl_doc_t *doc = tricky_doc();
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char err[256] = "", **paths = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(cl_render_csv(doc, dir, &paths, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    char *s = cl_test_slurp(paths[0], NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *want = BOM "\"name, as given\",note,paid\r\n"
                           "\"a,b\",\"say \"\"hi\"\"\",0.00\r\n"
                           "\"line1\nline2\",\"cr\rhere\",-12.50\r\n"
                           "'=SUM(A1:A2),'-2,-25.00\r\n"
                           "'+1,ok,-37.50\r\n"
                           "'@x,,\r\n"
                           "'\tx,'quoted',-62.50\r\n"
                           "\"'=a,b\",x,-75.00\r\n"
                           "plain,y,-87.50\r\n";
    CU_ASSERT_STRING_EQUAL(s, want);
    free(s);
    free_paths(paths, n);
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief The same document twice gives the same bytes; paths may be left out. */
static void test_csv_identical(void)
{
    char d1[64], d2[64], a[4096], b[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(make_dir(d1));
    CU_ASSERT_PTR_NOT_NULL_FATAL(make_dir(d2));
    cl_doc_t *doc = cl_test_sample_doc(300, "en");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char err[256] = "";
    CU_ASSERT_EQUAL(cl_render_csv(doc, d1, NULL, NULL, err, sizeof err), 0);
    CU_ASSERT_EQUAL(cl_render_csv(doc, d2, NULL, NULL, err, sizeof err), 0);
    const char *ids[2] = {"ledger", "units"};
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/sample-220000-2020-03-01-%s.csv", d1, ids[i]);
        snprintf(b, sizeof b, "%s/sample-220000-2020-03-01-%s.csv", d2, ids[i]);
        CU_ASSERT(same_bytes(a, b));
    }
    /* 300 units and a totals row after the header. */
    char *s = cl_test_slurp(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    size_t lines = 0;
    for (char *q = s; (q = strstr(q, "\r\n")); q += 2)
        lines++;
    CU_ASSERT_EQUAL(lines, 302);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\r\nTotal,,55740384.00,45150000.00,45150\r\n"));
    free(s);
    cl_doc_destroy(doc);
    remove_dir(d1);
    remove_dir(d2);
}

/** @brief Unwritable output: -1 with a reason, and no file of the call left, temporary or not. */
static void test_csv_unwritable(void)
{
    char dbuf[64], p[4096];
    const char *dir = make_dir(dbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    cl_doc_t *doc = cl_test_sample_doc(3, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char err[256] = "", **paths = (char **)&paths;
    size_t n = 99;

    snprintf(p, sizeof p, "%s/missing", dir);
    CU_ASSERT_EQUAL(cl_render_csv(doc, p, &paths, &n, err, sizeof err), -1);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT_PTR_NULL(paths);
    CU_ASSERT_EQUAL(n, 0);

    /* The second table's temporary cannot be created (a directory holds its
     * name): the first table's finished temporary must go too, and nothing
     * may be renamed into place. Works as root, unlike a read-only directory. */
    char tmp[CL_TMP_PATH_MAX];
    snprintf(p, sizeof p, "%s/sample-220000-2020-03-01-units.csv", dir);
    cl_out_tmpname(p, tmp);
    CU_ASSERT_EQUAL_FATAL(mkdir(tmp, 0700), 0);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_render_csv(doc, dir, &paths, &n, err, sizeof err), -1);
    CU_ASSERT(err[0] != '\0' && !strchr(err, '\n'));
    CU_ASSERT_EQUAL(count_entries(dir), 1); /* only the blocking directory */
    rmdir(tmp);

    if (geteuid() != 0) { /* a read-only directory stops everyone but root */
        CU_ASSERT_EQUAL(chmod(dir, 0500), 0);
        err[0] = '\0';
        CU_ASSERT_EQUAL(cl_render_csv(doc, dir, NULL, NULL, err, sizeof err), -1);
        CU_ASSERT(err[0] != '\0');
        chmod(dir, 0700);
        CU_ASSERT_EQUAL(count_entries(dir), 0);
    }

    /* A table id that is not a safe file name is refused before anything is written. */
    cl_doc_t *bad = cl_doc_create("daily", "en");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    bad->basename = cl_doc_str(bad, "bad");
    cl_doc_add_table(bad, "../escape", "x", 1);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_render_csv(bad, dir, NULL, NULL, err, sizeof err), -1);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT_EQUAL(count_entries(dir), 0);
    cl_doc_destroy(bad);
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief Whether the cell holding @p v in a sheet's xml is a plain number (no t= attribute). */
static int numeric_cell(const char *xml, const char *v)
{
    char needle[128];
    snprintf(needle, sizeof needle, "<v>%s</v>", v);
    const char *at = strstr(xml, needle);
    if (!at)
        return 0;
    const char *c = at;
    while (c > xml && strncmp(c, "<c ", 3) != 0)
        c--;
    for (const char *q = c; q < at; q++)
        if (strncmp(q, " t=", 3) == 0)
            return 0;
    return 1;
}

/** @brief The sample as xlsx: sheets, numbers as numbers, frozen header, created time, formats. */
static void test_xlsx_sample(void)
{
    char dbuf[64], p[4096];
    const char *dir = make_dir(dbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    cl_doc_t *doc = cl_test_sample_doc(5, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char err[256] = "";
    snprintf(p, sizeof p, "%s/sample.xlsx", dir);
    CU_ASSERT_EQUAL_FATAL(cl_render_xlsx(doc, p, err, sizeof err), 0);
    CU_ASSERT_EQUAL(count_entries(dir), 1);

    char *wb = unzip_member(p, "xl/workbook.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(wb);
    const char *s1 = strstr(wb, "<sheet name=\"summary\"");
    const char *s2 = strstr(wb, "<sheet name=\"ledger\"");
    const char *s3 = strstr(wb, "<sheet name=\"units\"");
    CU_ASSERT(s1 && s2 && s3 && s1 < s2 && s2 < s3);
    free(wb);

    /* sheet1 = summary, sheet2 = ledger, sheet3 = units. */
    char *units = unzip_member(p, "xl/worksheets/sheet3.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(units);
    CU_ASSERT(numeric_cell(units, "3703.68")); /* unit 3's entitled, yuan */
    CU_ASSERT(numeric_cell(units, "3000"));    /* unit 3's paid */
    CU_ASSERT(numeric_cell(units, "43891"));   /* 2020-03-01 as an Excel date */
    CU_ASSERT(numeric_cell(units, "18518.4")); /* the total */
    CU_ASSERT_PTR_NOT_NULL(strstr(units, "<c r=\"C4\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(units, "<pane ySplit=\"1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(units, "state=\"frozen\""));
    free(units);

    char *ledger = unzip_member(p, "xl/worksheets/sheet2.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ledger);
    CU_ASSERT(numeric_cell(ledger, "1200"));
    CU_ASSERT(numeric_cell(ledger, "0.5")); /* 150 / 300 as a fraction */
    CU_ASSERT(numeric_cell(ledger, "-0.5"));
    CU_ASSERT(numeric_cell(ledger, "1.25"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ledger, "<pane ySplit=\"1\""));
    free(ledger);

    char *core = unzip_member(p, "docProps/core.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(core, "<dcterms:created xsi:type=\"dcterms:W3CDTF\">2020-03-01T00:00:00Z"));
    CU_ASSERT_PTR_NOT_NULL(strstr(core, "<dc:title>关于关心关爱疫情防控一线医务人员的若干措施"));
    CU_ASSERT_PTR_NOT_NULL(strstr(core, "<dc:creator>careledger</dc:creator>"));
    free(core);

    char *styles = unzip_member(p, "xl/styles.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(styles);
    const char *fmts[] = {"formatCode=\"#,##0\"",
                          "formatCode=\"#,##0.00\"",
                          "formatCode=\"0.0%\"",
                          "formatCode=\"yyyy-mm-dd\"",
                          "formatCode=\"+0.0;-0.0;0.0\"",
                          "FFF8D0D0",
                          "FFFBE5B6",
                          "FFD4EDDA"};
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(styles, fmts[i]));
    free(styles);
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief Two renders, seconds apart, give the same bytes; 300 units fit. */
static void test_xlsx_identical(void)
{
    char dbuf[64], a[4096], b[4096];
    const char *dir = make_dir(dbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    cl_doc_t *doc = cl_test_sample_doc(300, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char err[256] = "";
    snprintf(a, sizeof a, "%s/a.xlsx", dir);
    snprintf(b, sizeof b, "%s/b.xlsx", dir);
    CU_ASSERT_EQUAL_FATAL(cl_render_xlsx(doc, a, err, sizeof err), 0);
    sleep(2); /* zip times have a 2-second resolution: a clock would show */
    CU_ASSERT_EQUAL_FATAL(cl_render_xlsx(doc, b, err, sizeof err), 0);
    CU_ASSERT(same_bytes(a, b));

    char *units = unzip_member(a, "xl/worksheets/sheet3.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(units);
    CU_ASSERT_PTR_NOT_NULL(strstr(units, "<c r=\"A302\"")); /* the totals row */
    CU_ASSERT(numeric_cell(units, "370368"));               /* unit 300's entitled */
    CU_ASSERT(numeric_cell(units, "55740384"));             /* total entitled */
    free(units);
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief Text that looks like a formula stays text; odd ids still give valid sheet names. */
static void test_xlsx_text_and_names(void)
{
    char dbuf[64], p[4096];
    const char *dir = make_dir(dbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    cl_doc_t *doc = tricky_doc();
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    cl_doc_add_table(doc, "a/b:c*[d]?", "x", 1);
    cl_doc_add_table(doc, "NAMES", "dup", 1);
    cl_doc_add_table(doc, "a_very_long_table_identifier_beyond_31", "long", 1);
    cl_doc_add_table(doc, "summary", "clash", 1);
    char err[256] = "";
    snprintf(p, sizeof p, "%s/t.xlsx", dir);
    CU_ASSERT_EQUAL_FATAL(cl_render_xlsx(doc, p, err, sizeof err), 0);
    char *wb = unzip_member(p, "xl/workbook.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(wb);
    CU_ASSERT_PTR_NOT_NULL(strstr(wb, "name=\"a_b_c__d__\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(wb, "name=\"NAMES~2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(wb, "name=\"a_very_long_table_identifier_be\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(wb, "name=\"summary~2\""));
    free(wb);
    /* No formula anywhere: "=SUM(A1:A2)" is a shared string. */
    char *names = unzip_member(p, "xl/worksheets/sheet2.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(names);
    CU_ASSERT_PTR_NULL(strstr(names, "<f>"));
    free(names);
    char *sst = unzip_member(p, "xl/sharedStrings.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sst);
    CU_ASSERT_PTR_NOT_NULL(strstr(sst, "<t>=SUM(A1:A2)</t>"));
    free(sst);
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief Unwritable output: -1 with a reason, and no temporary left behind. */
static void test_xlsx_unwritable(void)
{
    char dbuf[64], p[4096], tmp[CL_TMP_PATH_MAX];
    const char *dir = make_dir(dbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    cl_doc_t *doc = cl_test_sample_doc(3, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char err[256] = "";
    snprintf(p, sizeof p, "%s/missing/out.xlsx", dir);
    CU_ASSERT_EQUAL(cl_render_xlsx(doc, p, err, sizeof err), -1);
    CU_ASSERT(err[0] != '\0' && !strchr(err, '\n'));
    CU_ASSERT_EQUAL(count_entries(dir), 0);

    /* The temporary's name is taken by a directory: the zip cannot be created. */
    snprintf(p, sizeof p, "%s/out.xlsx", dir);
    cl_out_tmpname(p, tmp);
    CU_ASSERT_EQUAL_FATAL(mkdir(tmp, 0700), 0);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_render_xlsx(doc, p, err, sizeof err), -1);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT_EQUAL(count_entries(dir), 1);
    rmdir(tmp);

    /* The final name is a non-empty directory: the rename fails and the temporary goes. */
    snprintf(tmp, sizeof tmp, "%s/out.xlsx/keep", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(p, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(tmp, 0700), 0);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_render_xlsx(doc, p, err, sizeof err), -1);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT_EQUAL(count_entries(dir), 1);
    rmdir(tmp);
    rmdir(p);

    if (geteuid() != 0) { /* a read-only directory stops everyone but root */
        CU_ASSERT_EQUAL(chmod(dir, 0500), 0);
        err[0] = '\0';
        CU_ASSERT_EQUAL(cl_render_xlsx(doc, p, err, sizeof err), -1);
        CU_ASSERT(err[0] != '\0');
        chmod(dir, 0700);
        CU_ASSERT_EQUAL(count_entries(dir), 0);
    }
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief Register the suites. */
int cl_test_register(void)
{
    static const cl_test_t csv[] = {
        {"sample: names, BOM, header, rows, totals", test_csv_sample},
        {"quoting and formula guards", test_csv_quoting},
        {"same document, same bytes", test_csv_identical},
        {"unwritable output leaves nothing", test_csv_unwritable},
        {NULL, NULL},
    };
    static const cl_test_t xlsx[] = {
        {"sample: sheets, numbers, frozen header, created", test_xlsx_sample},
        {"same document, same bytes; 300 units", test_xlsx_identical},
        {"formula-like text and sheet names", test_xlsx_text_and_names},
        {"unwritable output leaves nothing", test_xlsx_unwritable},
        {NULL, NULL},
    };
    if (cl_test_add_suite("csv", csv) != 0)
        return -1;
    return cl_test_add_suite("xlsx", xlsx);
}
