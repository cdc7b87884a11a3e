/**
 * @file test_render_html.c
 * @brief Charts through gnuplot (every kind, missing or failing gnuplot,
 * hostile labels) and the self-contained html renderer.
 */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "careledger/chart.h"
#include "careledger/render.h"
#include "cltest.h"
#include "docsample.h"

/** @brief Create a fresh empty directory under /tmp; its path into @p out. */
static void make_dir(char *out, size_t size)
{
    snprintf(out, size, "/tmp/cl-test-html-XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(out) != NULL);
}

/** @brief Number of entries (besides . and ..) in @p dir; -1 when unreadable. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/** @brief Remove @p dir and what the tests put in it (files and empty subdirectories). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(dir);
}

/** @brief An environment variable saved to be put back. */
typedef struct saved_env {
    const char *name;
    char *value; /* NULL: was unset */
} saved_env_t;

/** @brief Remember @p name's value. */
static saved_env_t env_save(const char *name)
{
    const char *v = getenv(name);
    return (saved_env_t){name, v ? strdup(v) : NULL};
}

/** @brief Put a saved variable back. */
static void env_restore(saved_env_t *s)
{
    if (s->value)
        setenv(s->name, s->value, 1);
    else
        unsetenv(s->name);
    free(s->value);
    s->value = NULL;
}

/** @brief Write @p text to @p path with mode @p mode. */
static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

/** @brief Whether an executable named @p name is on PATH. */
static int have_tool(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/**
 * @brief Run xmllint on @p path; 0 when it reports nothing and succeeds. The html
 * is written as well-formed XML, so the strict XML parser checks every tag,
 * attribute and escape (the html parser of libxml2 does not know html5 tags).
 */
static int xmllint_ok(const char *path, char *out, size_t size)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "xmllint --noout --nonet '%s' 2>&1", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return st == 0 && n == 0 ? 0 : -1;
}

/**
 * @brief Parse @p path with libxml2's html parser; 0 when its only complaints
 * are the html5 and SVG tags its html4 tag list lacks ("Tag figure invalid").
 * Anything else (a duplicate id, a bad entity, a stray end tag) fails.
 */
static int xmllint_html_ok(const char *path, char *out, size_t size)
{
    char cmd[4200], line[4096];
    snprintf(cmd, sizeof cmd, "xmllint --html --noout --nonet '%s' 2>&1", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int bad = 0;
    out[0] = '\0';
    while (fgets(line, sizeof line, p)) {
        const char *e = strstr(line, " error : ");
        if (!e)
            e = strstr(line, " warning : ");
        if (!e)
            continue; /* the quoted source line and its caret */
        char tag[64], rest[64];
        if (sscanf(strchr(e, ':') + 2, "Tag %63[a-zA-Z] %63s", tag, rest) == 2 &&
            strcmp(rest, "invalid") == 0)
            continue;
        if (!bad++)
            snprintf(out, size, "%s", line);
    }
    pclose(p);
    return bad ? -1 : 0;
}

/** @brief Whether @p s holds no newline (a one-line reason). */
static int one_line(const char *s)
{
    return s[0] && !strchr(s, '\n') && !strchr(s, '\r');
}

/** @brief Render @p c twice and check the SVG: complete, inert, and the same bytes. */
static void check_chart(cl_chart_t *c, const char *font, const char *lang)
{
    char err[512] = "";
    int rc = cl_chart_render(c, font, lang, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "\nchart %s: %s\n", c->id, err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->svg);
    CU_ASSERT(c->svg_len == strlen(c->svg));
    CU_ASSERT(strstr(c->svg, "<svg") != NULL);
    CU_ASSERT(strstr(c->svg, "</svg>") != NULL);
    CU_ASSERT(strstr(c->svg, "<script") == NULL);
    CU_ASSERT(strstr(c->svg, "href=\"http") == NULL);
    CU_ASSERT(strstr(c->svg, "href='http") == NULL);
    CU_ASSERT(strstr(c->svg, "onload") == NULL);
    char *first = strdup(c->svg);
    size_t first_len = c->svg_len;
    CU_ASSERT_EQUAL_FATAL(cl_chart_render(c, font, lang, err, sizeof err), 0);
    CU_ASSERT(first_len == c->svg_len && memcmp(first, c->svg, first_len) == 0);
    free(first);
}

/** @brief Every chart kind of the sample renders to the same inert SVG twice. */
static void test_chart_kinds(void)
{
    CU_ASSERT_FATAL(cl_chart_available());
    cl_doc_t *doc = cl_test_sample_doc(3, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL_FATAL(doc->n_charts, 4);
    int kinds = 0;
    for (size_t i = 0; i < doc->n_charts; i++) {
        check_chart(&doc->charts[i], doc->font, doc->lang);
        kinds |= 1 << doc->charts[i].kind;
    }
    CU_ASSERT_EQUAL(kinds, 0xf); /* bars, hbars, lines, heatmap */
    /* The labels arrive as text: CJK names, percentages, the target in the key. */
    const char *cov = doc->charts[0].svg, *hbars = doc->charts[2].svg;
    const char *heat = doc->charts[3].svg;
    CU_ASSERT(strstr(cov, ">覆盖率<") != NULL);
    CU_ASSERT(strstr(cov, ">目标 90%<") != NULL);
    CU_ASSERT(strstr(cov, ">JL-04<") != NULL);
    CU_ASSERT(strstr(cov, ">100%<") != NULL);
    CU_ASSERT(strstr(hbars, ">单位1<") != NULL);
    CU_ASSERT(strstr(hbars, ">3,000.50<") != NULL); /* value at the end of the bar */
    CU_ASSERT(strstr(hbars, ">元<") != NULL);       /* the money axis */
    CU_ASSERT(strstr(heat, ">长春市<") != NULL);
    CU_ASSERT(strstr(heat, ">95%<") != NULL);
    CU_ASSERT(strstr(heat, ">NaN<") == NULL); /* the cell without a value stays blank */
    CU_ASSERT(strstr(doc->charts[1].svg, ">2020-03-01<") != NULL); /* the last date shown */
    CU_ASSERT(cl_chart_render_all(doc, (char[256]){0}, 256) == 0);
    cl_doc_destroy(doc);
}

/** @brief Charts with nothing to show, many categories or a large heatmap still render. */
static void test_chart_shapes(void)
{
    cl_doc_t *doc = cl_doc_create("compare", "en");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    cl_chart_kind_t kinds[4] = {CL_CHART_BARS, CL_CHART_HBARS, CL_CHART_LINES, CL_CHART_HEATMAP};
    for (int k = 0; k < 4; k++) {
        cl_chart_t *c = cl_doc_add_chart(doc, "empty", "all NaN", kinds[k], 3, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        check_chart(c, doc->font, doc->lang);
        c = cl_doc_add_chart(doc, "none", "no categories", kinds[k], 0, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        check_chart(c, doc->font, doc->lang);
    }
    /* 20 regions × 35 measures, some cells empty; 3 series of 40 bars with negatives. */
    cl_chart_t *c = cl_doc_add_chart(doc, "big_heatmap", "Coverage", CL_CHART_HEATMAP, 35, 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (size_t s = 0; s < 20; s++) {
        c->series[s].name = cl_doc_fmt(doc, "Region %zu", s + 1);
        for (size_t i = 0; i < 35; i++)
            c->series[s].v[i] =
                (s * 7 + i * 3) % 11 == 0 ? NAN : (double)((s * 13 + i * 29) % 101) / 100;
    }
    for (size_t i = 0; i < 35; i++)
        c->x[i] = cl_doc_fmt(doc, "HQ-%02zu", i + 1);
    c->y_percent = 1;
    check_chart(c, doc->font, doc->lang);
    CU_ASSERT(strstr(c->svg, ">Region 20<") != NULL);
    c = cl_doc_add_chart(doc, "many_bars", "Spend", CL_CHART_BARS, 40, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (size_t i = 0; i < 40; i++) {
        c->x[i] = cl_doc_fmt(doc, "Unit number %zu", i + 1);
        for (size_t s = 0; s < 3; s++)
            c->series[s].v[i] = (double)i * 1000.5 - 5000 * (double)s;
    }
    c->y_money = 1;
    c->x_label = "Unit";
    c->y_label = "Paid (yuan)";
    check_chart(c, doc->font, doc->lang);
    CU_ASSERT(strstr(c->svg, ">Paid (yuan)<") != NULL);
    CU_ASSERT(strstr(c->svg, ">Unit<") != NULL);
    CU_ASSERT(strstr(c->svg, ">-10,000<") != NULL); /* grouped money tics, negatives */
    c = cl_doc_add_chart(doc, "ranking", "Top", CL_CHART_HBARS, 15, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (size_t i = 0; i < 15; i++) {
        c->x[i] = cl_doc_fmt(doc, "U%zu", i + 1);
        c->series[0].v[i] = 0.05 * (double)i;
        c->series[1].v[i] = i == 3 ? NAN : 0.9;
    }
    c->y_percent = 1;
    check_chart(c, doc->font, doc->lang);
    cl_doc_destroy(doc);
}

/** @brief Without gnuplot: -1, one line naming gnuplot, nothing left in TMPDIR. */
static void test_gnuplot_absent(void)
{
    char dir[64], empty[128];
    make_dir(dir, sizeof dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    CU_ASSERT_FATAL(mkdir(empty, 0700) == 0);
    saved_env_t path = env_save("PATH"), gp = env_save("CARELEDGER_GNUPLOT"),
                tmp = env_save("TMPDIR");
    setenv("TMPDIR", dir, 1);
    cl_doc_t *doc = cl_test_sample_doc(2, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char err[512];

    /* Nothing on PATH. */
    unsetenv("CARELEDGER_GNUPLOT");
    setenv("PATH", empty, 1);
    CU_ASSERT_EQUAL(cl_chart_available(), 0);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_chart_render(&doc->charts[0], doc->font, doc->lang, err, sizeof err), -1);
    CU_ASSERT(one_line(err));
    CU_ASSERT(strstr(err, "gnuplot not found on PATH") != NULL);
    CU_ASSERT(strstr(err, "gnuplot-nox") != NULL);
    CU_ASSERT_PTR_NULL(doc->charts[0].svg);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_chart_render_all(doc, err, sizeof err), -1);
    CU_ASSERT(one_line(err) && strstr(err, "gnuplot") != NULL);

    /* An override naming nothing wins over a PATH that has gnuplot. */
    env_restore(&path);
    path = env_save("PATH");
    setenv("CARELEDGER_GNUPLOT", "/nonexistent/careledger/gnuplot", 1);
    CU_ASSERT_EQUAL(cl_chart_available(), 0);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_chart_render(&doc->charts[3], doc->font, doc->lang, err, sizeof err), -1);
    CU_ASSERT(one_line(err) && strstr(err, "gnuplot") != NULL);
    CU_ASSERT_PTR_NULL(doc->charts[3].svg);

    CU_ASSERT_EQUAL(count_entries(dir), 1); /* only "empty": no temporary left */
    CU_ASSERT_EQUAL(count_entries(empty), 0);
    env_restore(&path);
    env_restore(&gp);
    env_restore(&tmp);
    CU_ASSERT_EQUAL(cl_chart_available(), 1);
    cl_doc_destroy(doc);
    remove_dir(empty);
    remove_dir(dir);
}

/** @brief Render the first sample chart with a fake gnuplot @p script; the result and err. */
static int render_with_fake(const char *dir, const char *script, char *err, size_t errsize)
{
    char fake[256];
    snprintf(fake, sizeof fake, "%s/fake-gnuplot", dir);
    write_file(fake, script, 0755);
    saved_env_t gp = env_save("CARELEDGER_GNUPLOT"), tmp = env_save("TMPDIR");
    setenv("CARELEDGER_GNUPLOT", fake, 1);
    setenv("TMPDIR", dir, 1);
    cl_doc_t *doc = cl_test_sample_doc(2, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    err[0] = '\0';
    int rc = cl_chart_render(&doc->charts[0], doc->font, doc->lang, err, errsize);
    CU_ASSERT(rc != 0 || doc->charts[0].svg != NULL);
    CU_ASSERT(rc == 0 || doc->charts[0].svg == NULL);
    cl_doc_destroy(doc);
    env_restore(&gp);
    env_restore(&tmp);
    CU_ASSERT_EQUAL(count_entries(dir), 1); /* only the fake: temporaries removed */
    unlink(fake);
    return rc;
}

/** @brief gnuplot failing, dying early, hanging or writing nothing: -1 with its first line. */
static void test_gnuplot_error(void)
{
    char dir[64], err[512];
    make_dir(dir, sizeof dir);

    /* Reads the script, then fails: the message of the failure is the reason. */
    CU_ASSERT_EQUAL(render_with_fake(dir,
                                     "#!/bin/sh\ncat >/dev/null\n"
                                     "echo '' >&2\necho 'gnuplot> plot $d' >&2\n"
                                     "echo '         line 7: broken font table' >&2\nexit 1\n",
                                     err, sizeof err),
                    -1);
    CU_ASSERT(one_line(err));
    CU_ASSERT_STRING_EQUAL(err, "gnuplot failed on chart coverage: line 7: broken font table");

    /* Exits before reading: EPIPE on our side, still the one line of its stderr. */
    CU_ASSERT_EQUAL(render_with_fake(dir, "#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n",
                                     err, sizeof err),
                    -1);
    CU_ASSERT_STRING_EQUAL(err, "gnuplot failed on chart coverage: cannot open display");

    /* Exits 0 without an SVG. */
    CU_ASSERT_EQUAL(render_with_fake(dir, "#!/bin/sh\ncat >/dev/null\nexit 0\n", err, sizeof err),
                    -1);
    CU_ASSERT(one_line(err) && strstr(err, "coverage") && strstr(err, "SVG"));

    /* Hangs: stopped after the timeout, never waited on forever. */
    if (have_tool("timeout")) {
        saved_env_t to = env_save("CARELEDGER_GNUPLOT_TIMEOUT");
        setenv("CARELEDGER_GNUPLOT_TIMEOUT", "1", 1);
        time_t t0 = time(NULL);
        CU_ASSERT_EQUAL(render_with_fake(dir, "#!/bin/sh\nexec sleep 60\n", err, sizeof err), -1);
        CU_ASSERT(time(NULL) - t0 < 20);
        CU_ASSERT(one_line(err) && strstr(err, "no result after 1 s") != NULL);
        env_restore(&to);
    }
    remove_dir(dir);
}

/* Labels that would run commands if gnuplot expanded them; MARK is the directory. */
static const char *const HOSTILE[] = {
    "`touch MARK/bq`",
    "'; system('touch MARK/sq'); '",
    "\"; system(\"touch MARK/dq\"); \"",
    "@evil x",
    "system(\"touch MARK/sys\")",
    "line\nbreak\r\tset output 'MARK/out'",
    "%s%n%d%%",
    "ends with backslash \\",
    "]]> <script>alert(1)</script> &amp;",
    "{/Bold x}^2_1",
    "'' leading, doubled '''' and trailing quotes''",
    "'",
};
#define N_HOSTILE (sizeof HOSTILE / sizeof HOSTILE[0])

/** @brief @p tpl with MARK replaced by @p dir, owned by @p doc. */
static const char *hostile(cl_doc_t *doc, const char *tpl, const char *dir)
{
    char out[512];
    size_t o = 0;
    for (const char *p = tpl; *p && o + 64 < sizeof out;) {
        if (strncmp(p, "MARK", 4) == 0) {
            o += (size_t)snprintf(out + o, sizeof out - o, "%s", dir);
            p += 4;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return cl_doc_str(doc, out);
}

/** @brief Labels holding quotes, backquotes, macros and system() are drawn, never run. */
static void test_hostile_labels(void)
{
    char dir[64], svgdir[64], out[4096];
    make_dir(dir, sizeof dir);
    make_dir(svgdir, sizeof svgdir);
    /* gnuplot defines no @evil: expanding it would fail the render, not only the check. */
    cl_doc_t *doc = cl_doc_create("compare", "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    cl_chart_kind_t kinds[4] = {CL_CHART_BARS, CL_CHART_HBARS, CL_CHART_LINES, CL_CHART_HEATMAP};
    for (int k = 0; k < 4; k++) {
        cl_chart_t *c = cl_doc_add_chart(doc, "hostile", "`touch x`", kinds[k], N_HOSTILE, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        for (size_t i = 0; i < N_HOSTILE; i++) {
            c->x[i] = hostile(doc, HOSTILE[i], dir);
            c->series[0].v[i] = 0.1 * (double)i;
            c->series[1].v[i] = 0.5;
        }
        c->series[0].name = hostile(doc, HOSTILE[1], dir);
        c->series[1].name = hostile(doc, HOSTILE[5], dir);
        c->x_label = hostile(doc, HOSTILE[0], dir);
        c->y_label = hostile(doc, HOSTILE[4], dir);
        c->has_target = 1;
        c->target = 0.8;
        c->target_label = hostile(doc, HOSTILE[2], dir);
        c->y_percent = 1;
        check_chart(c, doc->font, doc->lang);
        /* The label is there, literally; the file it names is not. */
        CU_ASSERT(strstr(c->svg, "system(\"touch ") != NULL);
        if (kinds[k] != CL_CHART_LINES) { /* lines label every other date only */
            CU_ASSERT(strstr(c->svg, ">%s%n%d%%<") != NULL);
            CU_ASSERT(strstr(c->svg, ">@evil x<") != NULL);
            CU_ASSERT(strstr(c->svg, ">'' leading, doubled '''' and trailing quotes''<") != NULL);
            CU_ASSERT(strstr(c->svg, ">'<") != NULL);
        }
        CU_ASSERT(strstr(c->svg, "<script>") == NULL);
        CU_ASSERT(strstr(c->svg, "]]>") == NULL);
        /* The SVG is well-formed XML whatever the labels (librsvg reads it for the PDF). */
        char path[128];
        snprintf(path, sizeof path, "%s/chart%d.svg", svgdir, k);
        write_file(path, c->svg, 0644);
        if (xmllint_ok(path, out, sizeof out) != 0) {
            fprintf(stderr, "\nxmllint %s: %s\n", path, out);
            CU_FAIL("hostile chart SVG is not well-formed");
        }
    }
    CU_ASSERT_EQUAL(count_entries(dir), 0);
    cl_doc_destroy(doc);
    remove_dir(dir);
    remove_dir(svgdir);
}

/** @brief Render the html of @p doc into DIR/NAME; the file's contents (caller frees). */
static char *render_to(const cl_doc_t *doc, const char *dir, const char *name, size_t *len)
{
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = cl_render_html(doc, path, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "\nhtml: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    char *html = cl_test_slurp(path, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    return html;
}

/** @brief Occurrences of @p needle in @p s. */
static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/** @brief The sample as html: well-formed, self-contained, every figure and chart. */
static void test_html_sample(void)
{
    char dir[64], out[4096], err[512];
    make_dir(dir, sizeof dir);
    cl_doc_t *doc = cl_test_sample_doc(300, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL_FATAL(cl_chart_render_all(doc, err, sizeof err), 0);
    char *html = render_to(doc, dir, "sample.html", NULL);
    CU_ASSERT_EQUAL(count_entries(dir), 1); /* no temporary beside it */

    if (!have_tool("xmllint")) {
        CU_FAIL("xmllint missing: install libxml2-utils (scripts/setup does)");
    } else {
        char path[128];
        snprintf(path, sizeof path, "%s/sample.html", dir);
        if (xmllint_ok(path, out, sizeof out) != 0) {
            fprintf(stderr, "\nxmllint: %.2000s\n", out);
            CU_FAIL("html is not well-formed");
        }
        if (xmllint_html_ok(path, out, sizeof out) != 0) {
            fprintf(stderr, "\nxmllint --html: %.2000s\n", out);
            CU_FAIL("html parser complains");
        }
    }
    CU_ASSERT(strncmp(html, "<!DOCTYPE html>\n<html lang=\"zh-CN\">", 35) == 0);
    CU_ASSERT(strstr(html, "<meta charset=\"utf-8\"/>") != NULL);
    CU_ASSERT(strstr(html, "<title>关于关心关爱疫情防控一线医务人员的若干措施") != NULL);
    CU_ASSERT(strstr(html, "<h1>关于关心关爱疫情防控一线医务人员的若干措施</h1>") != NULL);
    CU_ASSERT_EQUAL(count(html, "<style>"), 1);
    CU_ASSERT(strstr(html, "@page { size: A4; margin: 15mm; }") != NULL);
    CU_ASSERT(strstr(html, "thead { display: table-header-group; }") != NULL);
    CU_ASSERT(strstr(html, "\"WenQuanYi Micro Hei\", \"Noto Sans CJK SC\", sans-serif") != NULL);
    /* One inline SVG per chart, without its XML prolog, inside a captioned figure. */
    CU_ASSERT_EQUAL(count(html, "<svg"), (int)doc->n_charts);
    CU_ASSERT_EQUAL(count(html, "</svg>"), (int)doc->n_charts);
    CU_ASSERT_EQUAL(count(html, "<?xml"), 0);
    CU_ASSERT_EQUAL(count(html, "<figure"), (int)doc->n_charts);
    CU_ASSERT(strstr(html, "<figcaption>各项措施覆盖率</figcaption>\n<svg") != NULL);
    CU_ASSERT(strstr(html, "<title>Gnuplot</title>") == NULL);
    CU_ASSERT(strstr(html, "<title>各项措施覆盖率</title>") != NULL); /* the SVG's own title */
    /* Each chart's ids are its own: gnuplot gives every SVG the same ones. */
    CU_ASSERT_EQUAL(count(html, " id='c0-gpPt0'"), 1);
    CU_ASSERT_EQUAL(count(html, " id='c3-gpPt0'"), 1);
    CU_ASSERT_EQUAL(count(html, " id='gpPt0'"), 0);
    CU_ASSERT(strstr(html, "href='#c3-gpPt5'") != NULL);
    /* Nothing to fetch, nothing to run. */
    CU_ASSERT(strstr(html, "src=") == NULL);
    CU_ASSERT(strstr(html, "<link") == NULL);
    CU_ASSERT(strstr(html, "<script") == NULL);
    CU_ASSERT(strstr(html, "url(") == NULL);
    CU_ASSERT(strstr(html, "@import") == NULL);
    for (const char *p = html; (p = strstr(p, "href=")) != NULL; p += 5)
        CU_ASSERT((p[5] == '"' || p[5] == '\'') && p[6] == '#');
    /* Facts, KPIs, tables and their figures. */
    CU_ASSERT(strstr(html, "<dt>地区</dt><dd>吉林省 (220000)</dd>") != NULL);
    CU_ASSERT(strstr(html, "<div class=\"kpi-value\">1,234,567.89</div>") != NULL);
    CU_ASSERT(strstr(html, "<div class=\"kpi-value\">85.7%</div>") != NULL);
    CU_ASSERT(strstr(html, "覆盖率") != NULL);
    CU_ASSERT(strstr(html, "<h2>工作台账</h2>") != NULL);
    CU_ASSERT(strstr(html, "<caption>各单位资金</caption>") != NULL);
    CU_ASSERT_EQUAL(count(html, "<thead>"), 2);
    CU_ASSERT(strstr(html, "<th class=\"num\">应发</th>") != NULL);
    char unit[64];
    for (int k = 1; k <= 300; k++) {
        snprintf(unit, sizeof unit, "<td>单位%d</td>", k);
        CU_ASSERT(strstr(html, unit) != NULL);
    }
    /* Unit 300: 300 × 123,456 fen entitled; the totals row sums the 300 units. */
    CU_ASSERT(strstr(html, "<td class=\"num\">370,368.00</td>") != NULL);
    CU_ASSERT(strstr(html, "<tr class=\"total\"><td>合计</td><td class=\"date\">—</td>"
                           "<td class=\"num\">55,740,384.00</td>"
                           "<td class=\"num\">45,150,000.00</td>"
                           "<td class=\"num\">45,150</td></tr>") != NULL);
    CU_ASSERT(strstr(html, "<td class=\"date\">2020-03-01</td>") != NULL);
    /* The ledger's coverage cells carry their legend band. */
    CU_ASSERT(strstr(html, "<td class=\"num band-green\">91.7%</td>") != NULL);
    CU_ASSERT(strstr(html, "<td class=\"num band-amber\">50.0%</td>") != NULL);
    CU_ASSERT(strstr(html, "<td class=\"num band-red\">20.0%</td>") != NULL);
    /* 1.25 points, rounded half away from zero as a spreadsheet shows it. */
    CU_ASSERT(strstr(html, "<td class=\"num\">+1.3</td>") != NULL);
    CU_ASSERT(strstr(html, "<p class=\"text\">数据截至上述日期。</p>") != NULL);
    CU_ASSERT(strstr(html, "<p class=\"generated\">生成时间 2026-11-18") != NULL);
    free(html);
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief Two renders at different times differ in the generated-at line only. */
static void test_html_generated_at(void)
{
    char dir[64], err[512];
    make_dir(dir, sizeof dir);
    cl_doc_t *doc = cl_test_sample_doc(20, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL_FATAL(cl_chart_render_all(doc, err, sizeof err), 0);
    size_t la, lb;
    char *a = render_to(doc, dir, "a.html", &la);
    doc->generated_at += 86400 + 3661;
    CU_ASSERT_EQUAL_FATAL(cl_chart_render_all(doc, err, sizeof err), 0);
    char *b = render_to(doc, dir, "b.html", &lb);
    int lines = 0, diff = 0;
    char *sa, *sb;
    char *pa = strtok_r(a, "\n", &sa), *pb = strtok_r(b, "\n", &sb);
    while (pa && pb) {
        lines++;
        if (strcmp(pa, pb) != 0) {
            diff++;
            CU_ASSERT(strncmp(pa, "<p class=\"generated\">生成时间 ", 32) == 0);
            CU_ASSERT(strncmp(pb, "<p class=\"generated\">生成时间 ", 32) == 0);
        }
        pa = strtok_r(NULL, "\n", &sa);
        pb = strtok_r(NULL, "\n", &sb);
    }
    CU_ASSERT(pa == NULL && pb == NULL); /* as many lines */
    CU_ASSERT(lines > 100);
    CU_ASSERT_EQUAL(diff, 1);
    free(a);
    free(b);
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief English labels and lang; every text of the document escaped. */
static void test_html_en_and_escaping(void)
{
    char dir[64], err[512], out[4096];
    make_dir(dir, sizeof dir);
    cl_doc_t *doc = cl_test_sample_doc(5, "en");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL_FATAL(cl_chart_render_all(doc, err, sizeof err), 0);
    char *html = render_to(doc, dir, "en.html", NULL);
    CU_ASSERT(strstr(html, "<html lang=\"en\">") != NULL);
    CU_ASSERT(strstr(html, "<figcaption>Coverage per measure</figcaption>") != NULL);
    /* The heading "Units" is right above the table: no caption repeating it. */
    CU_ASSERT(strstr(html, "<h2>Units</h2>") != NULL);
    CU_ASSERT(strstr(html, "<caption>Units</caption>") == NULL);
    CU_ASSERT(strstr(html, "<th class=\"num\">Entitled</th>") != NULL);
    CU_ASSERT(strstr(html, "<dt>Region</dt>") != NULL);
    CU_ASSERT(strstr(html, "<p class=\"generated\">Generated at 2026-11-18 ") != NULL);
    CU_ASSERT(strstr(html, "Target 90%") != NULL);
    free(html);
    cl_doc_destroy(doc);

    const char *evil = "<script>alert(1)</script> & \"dq\" 'sq' \x01";
    const char *escaped =
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;dq&quot; &#39;sq&#39;  ";
    doc = cl_doc_create("daily", "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    doc->title = evil;
    doc->subtitle = evil;
    doc->font = "Evil\"; } body { background: red";
    doc->generated_label = evil;
    cl_doc_add_fact(doc, evil, evil);
    cl_doc_add_kpi(doc, evil, cl_cell_text(doc, evil));
    cl_doc_add_heading(doc, evil);
    cl_doc_add_text(doc, evil);
    cl_table_t *t = cl_doc_add_table(doc, "evil", evil, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    cl_doc_set_col(doc, t, 0, evil, CL_CELL_TEXT, 1);
    cl_doc_set_col(doc, t, 1, evil, CL_CELL_MONEY, 1);
    cl_cell_t *c = cl_doc_add_row(doc, t, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    c[0] = cl_cell_text(doc, evil);
    c[1] = cl_cell_money(-12345);
    cl_chart_t *ch = cl_doc_add_chart(doc, "evil", evil, CL_CHART_BARS, 1, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ch);
    ch->x[0] = evil;
    ch->series[0].name = " id='fake' href='#x' url(#y)"; /* text, not markup */
    ch->series[0].v[0] = 3;

    /* A chart not yet drawn: refused, nothing written. */
    char path[128];
    snprintf(path, sizeof path, "%s/evil.html", dir);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_render_html(doc, path, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "chart evil has not been rendered");
    CU_ASSERT_EQUAL(count_entries(dir), 1); /* en.html only */

    CU_ASSERT_EQUAL_FATAL(cl_chart_render_all(doc, err, sizeof err), 0);
    html = render_to(doc, dir, "evil.html", NULL);
    CU_ASSERT(strstr(html, "<script") == NULL);
    CU_ASSERT(strstr(html, "\x01") == NULL);
    CU_ASSERT(count(html, escaped) >= 10); /* title ×3, fact ×2, KPI ×2, h2, p, caption, … */
    CU_ASSERT(strstr(html, "<td class=\"num\">-123.45</td>") != NULL);
    CU_ASSERT(strstr(html, "> id='fake' href='#x' url(#y)<") != NULL); /* left as text */
    CU_ASSERT(strstr(html, "font-family: \"Evil  body  background red\", ") != NULL);
    if (xmllint_ok(path, out, sizeof out) != 0) {
        fprintf(stderr, "\nxmllint: %.2000s\n", out);
        CU_FAIL("escaped html is not well-formed");
    }
    if (xmllint_html_ok(path, out, sizeof out) != 0) {
        fprintf(stderr, "\nxmllint --html: %.2000s\n", out);
        CU_FAIL("html parser complains about the escaped html");
    }
    free(html);
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief A path that cannot be written: -1, one line, no temporary left. */
static void test_html_unwritable(void)
{
    char dir[64], err[512], path[256];
    make_dir(dir, sizeof dir);
    cl_doc_t *doc = cl_test_sample_doc(3, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL_FATAL(cl_chart_render_all(doc, err, sizeof err), 0);

    /* The directory does not exist. */
    snprintf(path, sizeof path, "%s/missing/report.html", dir);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_render_html(doc, path, err, sizeof err), -1);
    CU_ASSERT(one_line(err) && strstr(err, path) != NULL);

    /* The path is a directory: written in full, then the rename fails. */
    snprintf(path, sizeof path, "%s/taken", dir);
    CU_ASSERT_FATAL(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/taken/x", dir);
    write_file(path, "x", 0644); /* a non-empty directory cannot be replaced */
    snprintf(path, sizeof path, "%s/taken", dir);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_render_html(doc, path, err, sizeof err), -1);
    CU_ASSERT(one_line(err) && strstr(err, path) != NULL);
    CU_ASSERT_EQUAL(count_entries(dir), 1); /* "taken" only */
    snprintf(path, sizeof path, "%s/taken/x", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/taken", dir);
    rmdir(path);
    cl_doc_destroy(doc);
    remove_dir(dir);
}

/** @brief Register the suites. */
int cl_test_register(void)
{
    /* As the daemon and the CLI do: a gnuplot that dies early is an EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    static const cl_test_t charts[] = {
        {"chart_kinds", test_chart_kinds},       {"chart_shapes", test_chart_shapes},
        {"gnuplot_absent", test_gnuplot_absent}, {"gnuplot_error", test_gnuplot_error},
        {"hostile_labels", test_hostile_labels}, {NULL, NULL},
    };
    static const cl_test_t html[] = {
        {"html_sample", test_html_sample},
        {"html_generated_at", test_html_generated_at},
        {"html_en_and_escaping", test_html_en_and_escaping},
        {"html_unwritable", test_html_unwritable},
        {NULL, NULL},
    };
    return cl_test_add_suite("chart", charts) || cl_test_add_suite("html", html) ? -1 : 0;
}
