/**
 * @file test_render_pdf.c
 * @brief The PDF renderer, checked through poppler-utils: embedded CJK font,
 * extractable figures, repeated table headers, footers, page rendering,
 * reproducible bytes, and writing whole or not at all.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "careledger/doc.h"
#include "careledger/render.h"
#include "cltest.h"
#include "docsample.h"

/** @brief A fresh temporary directory (static buffer, one at a time). */
static const char *tmpdir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/cl-pdf-XXXXXX");
    return mkdtemp(dir);
}

/** @brief Remove a flat directory and the files in it. */
static void rmdir_all(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

/** @brief How many entries a directory holds whose name starts with @p prefix. */
static int count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

/** @brief Run a shell command and return its stdout (caller frees); NULL when it fails. */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *f = popen(cmd, "r");
    if (!f)
        return NULL;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 1024) {
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
    int st = pclose(f);
    if (!buf || st != 0) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/** @brief @p s without any whitespace (pdftotext spaces CJK text freely). Caller frees. */
static char *squash(const char *s)
{
    char *o = malloc(strlen(s) + 1), *q = o;
    for (; o && *s; s++)
        if (!strchr(" \t\r\n\f", *s))
            *q++ = *s;
    if (o)
        *q = '\0';
    return o;
}

/** @brief Whether @p text contains @p s once whitespace is ignored on both sides. */
static int has_squashed(const char *text, const char *s)
{
    char *a = squash(text), *b = squash(s);
    int r = a && b && strstr(a, b) != NULL;
    free(a);
    free(b);
    return r;
}

/** @brief Whether a byte may continue a figure (so "1,234" is not found inside "11,234"). */
static int figure_char(char c)
{
    return (c >= '0' && c <= '9') || c == ',' || c == '.' || c == '-' || c == '+';
}

/** @brief Whether @p text contains the figure @p s as a whole token. */
static int has_figure(const char *text, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = strstr(text, s); p; p = strstr(p + 1, s))
        if ((p == text || !figure_char(p[-1])) && !figure_char(p[n]))
            return 1;
    return 0;
}

/** @brief A small hand-written SVG standing in for gnuplot's output; malloc'd (NULL on failure). */
static char *fake_svg(const char *id)
{
    char *s = NULL;
    if (asprintf(
            &s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"360\" "
            "viewBox=\"0 0 600 360\"><rect x=\"0\" y=\"0\" width=\"600\" height=\"360\" "
            "fill=\"#ffffff\" stroke=\"#888888\"/><rect x=\"60\" y=\"120\" width=\"80\" "
            "height=\"200\" fill=\"#4e79a7\"/><rect x=\"180\" y=\"60\" width=\"80\" height=\"260\" "
            "fill=\"#f28e2b\"/><line x1=\"40\" y1=\"100\" x2=\"580\" y2=\"100\" stroke=\"#d62728\" "
            "stroke-dasharray=\"6 4\"/><text x=\"300\" y=\"30\" font-family=\"WenQuanYi Micro "
            "Hei\" "
            "font-size=\"16\">chart-%s</text></svg>",
            id) < 0)
        return NULL;
    return s;
}

/** @brief The sample document with every chart given a small SVG. */
static cl_doc_t *sample(size_t n_units, const char *lang)
{
    cl_doc_t *doc = cl_test_sample_doc(n_units, lang);
    if (!doc)
        return NULL;
    for (size_t i = 0; i < doc->n_charts; i++) {
        /* cl_doc_destroy() frees chart->svg. */
        doc->charts[i].svg = fake_svg(doc->charts[i].id);
        doc->charts[i].svg_len = doc->charts[i].svg ? strlen(doc->charts[i].svg) : 0;
    }
    return doc;
}

/** @brief Render @p doc to DIR/name and return the path (static buffer); NULL on failure. */
static const char *render(const cl_doc_t *doc, const char *dir, const char *name)
{
    static char path[4096];
    char err[512] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = cl_render_pdf(doc, path, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "cl_render_pdf: %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    return rc == 0 ? path : NULL;
}

/** @brief The page count pdfinfo reports; -1 when it cannot. */
static int pdf_pages(const char *path)
{
    char *info = run("pdfinfo '%s'", path);
    if (!info)
        return -1;
    const char *p = strstr(info, "Pages:");
    int n = p ? atoi(p + 6) : -1;
    free(info);
    return n;
}

/** @brief The footer's generated-at text for @p t. */
static void generated(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/** @brief The CJK font is embedded, and every font of the file is. */
static void test_fonts_embedded(void)
{
    const char *dir = tmpdir();
    cl_doc_t *doc = sample(20, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const char *path = render(doc, dir, "a.pdf");
    char *fonts = path ? run("pdffonts '%s'", path) : NULL;
    CU_ASSERT_PTR_NOT_NULL(fonts);
    int wqy = 0, lines = 0;
    for (char *line = fonts ? strtok(fonts, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        if (++lines <= 2) /* the column titles and the dashes */
            continue;
        /* The columns end: emb sub uni object-id generation. */
        char *tok[32];
        int n = 0;
        char *save;
        for (char *t = strtok_r(line, " ", &save); t && n < 32; t = strtok_r(NULL, " ", &save))
            tok[n++] = t;
        CU_ASSERT_FATAL(n >= 6);
        CU_ASSERT_STRING_EQUAL(tok[n - 5], "yes");
        if (strstr(tok[0], "WenQuanYi"))
            wqy++;
    }
    CU_ASSERT(wqy >= 1);
    free(fonts);
    char *info = path ? run("pdfinfo '%s'", path) : NULL;
    CU_ASSERT_PTR_NOT_NULL(info);
    if (info) {
        CU_ASSERT_PTR_NOT_NULL(strstr(info, "595.28 x 841.89 pts (A4)"));
        CU_ASSERT_PTR_NOT_NULL(strstr(info, "Creator:         careledger"));
        CU_ASSERT_PTR_NOT_NULL(strstr(info, "关于关心关爱疫情防控一线医务人员的若干措施"));
    }
    free(info);
    cl_doc_destroy(doc);
    rmdir_all(dir);
}

/** @brief Titles, CJK words, figures as people read them, totals and footers extract. */
static void test_text(void)
{
    const char *dir = tmpdir();
    cl_doc_t *doc = sample(20, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const char *path = render(doc, dir, "a.pdf");
    char *text = path ? run("pdftotext -layout '%s' -", path) : NULL;
    char *raw = path ? run("pdftotext -raw '%s' -", path) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "关于关心关爱疫情防控一线医务人员的若干措施"));
    CU_ASSERT(has_squashed(text, "每日覆盖台账 · 吉林省 · 2020-03-01"));
    CU_ASSERT(has_squashed(text, "地区：吉林省 (220000)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "覆盖率"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "落实一线医务人员带薪休假制度"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "子女入学"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "心理疏导"));
    /* The long title wraps inside its cell; in drawing order its lines follow each other. */
    CU_ASSERT(has_squashed(raw, "发放临时性工作补助，并在一线医务人员中按标准发放卫生防疫津贴"));
    CU_ASSERT(has_squashed(raw, "省卫生健康委、省人力资源社会保障厅"));
    /* KPIs and ledger figures, independently written out. */
    const char *fixed[] = {"12,345", "1,234,567.89", "85.7%", "91.7%", "50.0%",     "20.0%",
                           "1,200",  "1,100",        "—",     "-0.5",  "2020-03-01"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        CU_ASSERT(has_figure(text, fixed[i]));
        if (!has_figure(text, fixed[i]))
            fprintf(stderr, "missing %s\n", fixed[i]);
    }
    /* Every figure of the units table as cl_cell_format writes it for people. */
    const cl_table_t *t = &doc->tables[1];
    CU_ASSERT_STRING_EQUAL(t->id, "units");
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < t->n_cols; c++) {
            char buf[128];
            cl_cell_format(&t->rows[r].cells[c], CL_FMT_HUMAN, buf, sizeof buf);
            int ok = t->rows[r].cells[c].kind == CL_CELL_TEXT ? strstr(text, buf) != NULL
                                                              : has_figure(text, buf);
            CU_ASSERT(ok);
            if (!ok)
                fprintf(stderr, "missing %s (row %zu col %zu)\n", buf, r, c);
        }
    /* Totals: entitled 210 × 123,456 fen, paid 210 × 100,000 fen, 210 worker-days. */
    CU_ASSERT(has_figure(text, "259,257.60"));
    CU_ASSERT(has_figure(text, "210,000.00"));
    CU_ASSERT(has_figure(text, "210"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "合计"));
    /* Footer on every page. */
    int pages = pdf_pages(path);
    CU_ASSERT(pages >= 1);
    char when[64], want[128];
    generated(doc->generated_at, when, sizeof when);
    for (int pg = 1; pg <= pages; pg++) {
        char *pt = run("pdftotext -layout -f %d -l %d '%s' -", pg, pg, path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
        snprintf(want, sizeof want, "第 %d 页，共 %d 页", pg, pages);
        CU_ASSERT(has_squashed(pt, want));
        snprintf(want, sizeof want, "生成时间：%s", when);
        CU_ASSERT(has_squashed(pt, want));
        free(pt);
    }
    /* Charts are drawn as vectors: the SVG's own text is still text. */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "chart-coverage"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "chart-heatmap"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "各项措施覆盖率"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "数据截至上述日期。"));
    free(text);
    free(raw);
    cl_doc_destroy(doc);
    rmdir_all(dir);
}

/** @brief A long table spans pages with its header on each, every unit exactly once. */
static void test_long_table(void)
{
    const char *dir = tmpdir();
    cl_doc_t *doc = sample(300, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const char *path = render(doc, dir, "long.pdf");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    int pages = pdf_pages(path);
    CU_ASSERT(pages > 1);
    int seen[301] = {0};
    int first = 0, last = 0; /* the units table's first and last page */
    for (int pg = 1; pg <= pages; pg++) {
        char *pt = run("pdftotext -layout -f %d -l %d '%s' -", pg, pg, path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
        for (const char *s = strstr(pt, "单位"); s; s = strstr(s + 1, "单位")) {
            const char *d = s + strlen("单位");
            if (*d < '0' || *d > '9')
                continue;
            int k = atoi(d);
            CU_ASSERT(k >= 1 && k <= 300);
            if (k >= 1 && k <= 300)
                seen[k]++;
            if (!first)
                first = pg;
        }
        if (strstr(pt, "合计"))
            last = pg;
        free(pt);
    }
    for (int k = 1; k <= 300; k++) {
        CU_ASSERT_EQUAL(seen[k], 1);
        if (seen[k] != 1)
            fprintf(stderr, "单位%d seen %d times\n", k, seen[k]);
    }
    CU_ASSERT(first >= 1);
    CU_ASSERT(last > first);
    for (int pg = first + 1; pg <= last; pg++) {
        char *pt = run("pdftotext -layout -f %d -l %d '%s' -", pg, pg, path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
        CU_ASSERT_PTR_NOT_NULL(strstr(pt, "应发"));
        CU_ASSERT_PTR_NOT_NULL(strstr(pt, "已发"));
        CU_ASSERT_PTR_NOT_NULL(strstr(pt, "人天"));
        free(pt);
    }
    char *text = run("pdftotext -layout '%s' -", path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(has_figure(text, "370,368.00")); /* unit 300 entitled: 37,036,800 fen */
    CU_ASSERT(has_figure(text, "300,000.00")); /* unit 300 paid */
    /* Totals: 45,150 × 123,456 fen and 45,150 × 100,000 fen. */
    CU_ASSERT(has_figure(text, "55,740,384.00"));
    CU_ASSERT(has_figure(text, "45,150,000.00"));
    CU_ASSERT(has_figure(text, "45,150"));
    char want[64];
    snprintf(want, sizeof want, "第 %d 页，共 %d 页", pages, pages);
    CU_ASSERT(has_squashed(text, want));
    free(text);
    cl_doc_destroy(doc);
    rmdir_all(dir);
}

/** @brief Every page rasterises. */
static void test_pages_render(void)
{
    const char *dir = tmpdir();
    cl_doc_t *doc = sample(300, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const char *path = render(doc, dir, "long.pdf");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    int pages = pdf_pages(path);
    char *out = run("pdftoppm -r 40 -png '%s' '%s/pg' 2>&1", path, dir);
    CU_ASSERT_PTR_NOT_NULL(out);
    CU_ASSERT_STRING_EQUAL(out ? out : "(failed)", ""); /* no warning from poppler */
    free(out);
    CU_ASSERT(pages > 1);
    CU_ASSERT_EQUAL(count_files(dir, "pg-"), pages);
    cl_doc_destroy(doc);
    rmdir_all(dir);
}

/** @brief How many pixels of a binary PPM are within 3 of colour @p rgb. */
static long count_colour(const char *ppm, size_t len, unsigned rgb)
{
    int w, h, max, off = 0;
    if (sscanf(ppm, "P6 %d %d %d%n", &w, &h, &max, &off) != 3 || max != 255)
        return -1;
    const unsigned char *px = (const unsigned char *)ppm + off + 1;
    if ((size_t)(off + 1) + (size_t)w * (size_t)h * 3 > len)
        return -1;
    long n = 0;
    int want[3] = {(int)(rgb >> 16) & 0xff, (int)(rgb >> 8) & 0xff, (int)rgb & 0xff};
    for (long i = 0; i < (long)w * h; i++) {
        int ok = 1;
        for (int c = 0; c < 3; c++)
            ok &= abs(px[i * 3 + c] - want[c]) <= 3;
        n += ok;
    }
    return n;
}

/** @brief Legend colours are painted behind the coverage cells. */
static void test_bands(void)
{
    const char *dir = tmpdir();
    cl_doc_t *doc = sample(20, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const char *path = render(doc, dir, "a.pdf");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    char *out = run("pdftoppm -r 72 -f 1 -l 1 '%s' '%s/band'", path, dir);
    free(out);
    char ppm[4200];
    snprintf(ppm, sizeof ppm, "%s/band-1.ppm", dir);
    size_t len = 0;
    char *img = cl_test_slurp(ppm, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(img);
    unsigned bands[3] = {0xf8d0d0, 0xfbe5b6, 0xd4edda};
    for (int i = 0; i < 3; i++)
        CU_ASSERT(count_colour(img, len, bands[i]) > 100); /* a cell is ~60×15 px */
    free(img);
    cl_doc_destroy(doc);
    rmdir_all(dir);
}

/** @brief English labels come from the document. */
static void test_english(void)
{
    const char *dir = tmpdir();
    cl_doc_t *doc = sample(20, "en");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const char *path = render(doc, dir, "en.pdf");
    char *text = path ? run("pdftotext -layout '%s' -", path) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Entitled"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Worker-days"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Frontline workers"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Page 1 of"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Generated at"));
    CU_ASSERT(has_squashed(text, "Region: 吉林省 (220000)"));
    CU_ASSERT_PTR_NULL(strstr(text, "生成时间"));
    free(text);
    cl_doc_destroy(doc);
    rmdir_all(dir);
}

/** @brief The same document gives the same bytes; only generated_at changes them. */
static void test_reproducible(void)
{
    const char *dir = tmpdir();
    cl_doc_t *doc = sample(60, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char a[4096], b[4096], c[4096];
    const char *p = render(doc, dir, "a.pdf");
    snprintf(a, sizeof a, "%s", p ? p : "");
    sleep(1); /* a wall-clock date in the file would now differ */
    p = render(doc, dir, "b.pdf");
    snprintf(b, sizeof b, "%s", p ? p : "");
    doc->generated_at += 3600;
    p = render(doc, dir, "c.pdf");
    snprintf(c, sizeof c, "%s", p ? p : "");
    size_t la = 0, lb = 0, lc = 0;
    char *da = cl_test_slurp(a, &la), *db = cl_test_slurp(b, &lb), *dc = cl_test_slurp(c, &lc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(da);
    CU_ASSERT_PTR_NOT_NULL_FATAL(db);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dc);
    CU_ASSERT_EQUAL(la, lb);
    CU_ASSERT(la == lb && memcmp(da, db, la) == 0);
    CU_ASSERT(la != lc || memcmp(da, dc, la) != 0);
    char *info = run("pdfinfo -isodates '%s'", a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    char when[32];
    time_t t = (time_t)(doc->generated_at - 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    CU_ASSERT_PTR_NOT_NULL(strstr(info, when)); /* CreationDate and ModDate */
    free(info);
    free(da);
    free(db);
    free(dc);
    cl_doc_destroy(doc);
    rmdir_all(dir);
}

/** @brief An unwritable destination fails with a reason and leaves nothing behind. */
static void test_unwritable(void)
{
    const char *d = tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    char dir[64];
    snprintf(dir, sizeof dir, "%s", d);
    cl_doc_t *doc = sample(5, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/missing/x.pdf", dir);
    CU_ASSERT_EQUAL(cl_render_pdf(doc, path, err, sizeof err), -1);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file or directory"));
    CU_ASSERT_EQUAL(count_files(dir, ""), 0);
    /* The destination is a directory: the file is written, the rename fails. */
    snprintf(path, sizeof path, "%s/sub", dir);
    CU_ASSERT_EQUAL(mkdir(path, 0700), 0);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_render_pdf(doc, path, err, sizeof err), -1);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT_EQUAL(count_files(dir, ""), 1); /* only sub/ itself */
    CU_ASSERT_EQUAL(count_files(path, ""), 0);
    rmdir(path);
    cl_doc_destroy(doc);
    rmdir_all(dir);
}

/** @brief A chart without its SVG, or with a broken one, is an error and writes nothing. */
static void test_chart_errors(void)
{
    const char *d = tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    char dir[64];
    snprintf(dir, sizeof dir, "%s", d);
    cl_doc_t *doc = sample(5, "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    cl_chart_t *ch = &doc->charts[1];
    free(ch->svg);
    ch->svg = NULL;
    ch->svg_len = 0;
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/x.pdf", dir);
    CU_ASSERT_EQUAL(cl_render_pdf(doc, path, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "chart workers_per_day has not been rendered"));
    CU_ASSERT_EQUAL(count_files(dir, ""), 0);
    ch->svg = strdup("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect");
    ch->svg_len = strlen(ch->svg);
    err[0] = '\0';
    CU_ASSERT_EQUAL(cl_render_pdf(doc, path, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "workers_per_day"));
    CU_ASSERT_EQUAL(count_files(dir, ""), 0);
    cl_doc_destroy(doc);
    rmdir_all(dir);
}

/** @brief Edge documents: empty, long title, paragraph over a page, five KPIs, no rows. */
static void test_edge_documents(void)
{
    const char *dir = tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    cl_doc_t *doc = cl_doc_create("daily", "zh");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const char *path = render(doc, dir, "empty.pdf");
    CU_ASSERT_EQUAL(path ? pdf_pages(path) : 0, 1);

    static char title[1024], para[32768];
    title[0] = para[0] = '\0';
    for (int i = 0; i < 6; i++)
        strcat(title, "关于关心关爱疫情防控一线医务人员的若干措施");
    for (int i = 0; i < 400; i++) /* over 100 lines of 10 pt: more than a page */
        snprintf(para + strlen(para), sizeof para - strlen(para), "第%d句，落实带薪休假制度。", i);
    doc->title = cl_doc_str(doc, title);
    for (int i = 0; i < 5; i++)
        cl_doc_add_kpi(doc, cl_doc_fmt(doc, "指标%d", i + 1), cl_cell_money(100000000LL * (i + 1)));
    cl_doc_add_text(doc, para);
    cl_table_t *t = cl_doc_add_table(doc, "none", "空表", 2);
    cl_doc_set_col(doc, t, 0, "单位", CL_CELL_TEXT, 2);
    cl_doc_set_col(doc, t, 1, "应发", CL_CELL_MONEY, 1);
    path = render(doc, dir, "edge.pdf");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT(pdf_pages(path) >= 3);
    /* The footers sit between the pages' text: drop their lines, then the
     * paragraph must read on across the page break. */
    char *raw = run("pdftotext -raw '%s' - | grep -v '生成时间'", path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    CU_ASSERT(has_squashed(raw, title));
    CU_ASSERT(has_squashed(raw, para));
    CU_ASSERT(has_figure(raw, "5,000,000.00"));
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "空表"));
    free(raw);
    cl_doc_destroy(doc);
    rmdir_all(dir);
}

/** @brief Register the suite. */
int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"fonts embedded, A4, metadata", test_fonts_embedded},
        {"text, figures and footers extract", test_text},
        {"long table: pages, repeated header, every unit once", test_long_table},
        {"every page rasterises", test_pages_render},
        {"legend colours painted", test_bands},
        {"english labels", test_english},
        {"same document, same bytes", test_reproducible},
        {"unwritable path leaves nothing", test_unwritable},
        {"unrendered or broken chart", test_chart_errors},
        {"edge documents", test_edge_documents},
        {NULL, NULL},
    };
    return cl_test_add_suite("render_pdf", tests);
}
