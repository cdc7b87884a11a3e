/**
 * @file html.c
 * @brief The html renderer: one self-contained file (inline CSS, charts as
 * inline SVG, no external reference) with a print stylesheet for A4.
 *
 * The file is built in memory and written whole (cl_out_tmpname /
 * cl_out_commit). Only the generated-at line depends on the run, so two
 * renders of the same document differ on that line alone.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "careledger/buf.h"
#include "careledger/render.h"

/* Screen and print styles, after the body's font family. No url(), no @import: nothing to
 * fetch. */
static const char CSS[] =
    "  color: #1a1a1a; background: #fff; margin: 0 auto; max-width: 1200px; padding: 24px;\n"
    "  line-height: 1.45; font-size: 14px; }\n"
    "h1 { font-size: 1.6em; margin: 0 0 .2em; }\n"
    ".subtitle { color: #555; margin: 0 0 1em; font-size: 1.1em; }\n"
    "dl.facts { margin: 0 0 1em; }\n"
    "dl.facts div { display: flex; gap: .8em; }\n"
    "dl.facts dt { color: #555; min-width: 7em; }\n"
    "dl.facts dd { margin: 0; }\n"
    ".kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 1em 0 1.5em; }\n"
    ".kpi { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 14px;\n"
    "  min-width: 150px; background: #f6f8fa; }\n"
    ".kpi-label { color: #555; font-size: .9em; }\n"
    ".kpi-value { font-size: 1.5em; font-weight: 600; font-variant-numeric: tabular-nums; }\n"
    "h2 { font-size: 1.25em; border-bottom: 2px solid #d0d7de; padding-bottom: .2em;\n"
    "  margin: 1.6em 0 .6em; }\n"
    "p.text { white-space: pre-line; }\n"
    "table { border-collapse: collapse; width: 100%; margin: 0 0 1.2em; font-size: .92em; }\n"
    "caption { caption-side: top; text-align: left; font-weight: 600; padding: .3em 0; }\n"
    "th, td { border: 1px solid #d0d7de; padding: 4px 6px; vertical-align: top; }\n"
    "thead th { background: #eef1f4; text-align: left; }\n"
    "th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; "
    "white-space: nowrap; }\n"
    "td.date { white-space: nowrap; }\n"
    "tr.total td { font-weight: 700; border-top: 2px solid #8c959f; }\n"
    ".band-red { background: #f8d7da; }\n"
    ".band-amber { background: #fff3cd; }\n"
    ".band-green { background: #d4edda; }\n"
    "figure { margin: 0 0 1.5em; }\n"
    "figcaption { font-weight: 600; margin-bottom: .4em; }\n"
    "figure svg { display: block; width: 100%; max-width: 800px; height: auto; }\n"
    "footer { margin-top: 2em; color: #555; font-size: .85em; border-top: 1px solid #d0d7de;\n"
    "  padding-top: .5em; }\n"
    "@media print {\n"
    "  @page { size: A4; margin: 15mm; }\n"
    "  body { max-width: none; padding: 0; font-size: 10pt; }\n"
    "  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
    "  thead { display: table-header-group; }\n"
    "  tr, figure, .kpi { break-inside: avoid; }\n"
    "  h2, caption { break-after: avoid; }\n"
    "  figure svg { max-width: 100%; }\n"
    "}\n";

/** @brief Length of the valid UTF-8 sequence at @p s (1..4), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80)
        return 1;
    else if ((c & 0xe0) == 0xc0)
        n = 2, v = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        n = 3, v = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        n = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    return v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? 0 : n;
}

/**
 * @brief Append @p s escaped for html text and attribute values; control
 * characters (other than tab and newline) become spaces and invalid UTF-8
 * U+FFFD, so the file stays well-formed whatever the data holds.
 */
static void esc(cl_buf_t *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        size_t n = utf8_seq(p);
        if (n == 0) {
            cl_buf_puts(b, "\xef\xbf\xbd");
            p++;
            continue;
        }
        switch (*p) {
        case '&':
            cl_buf_puts(b, "&amp;");
            break;
        case '<':
            cl_buf_puts(b, "&lt;");
            break;
        case '>':
            cl_buf_puts(b, "&gt;");
            break;
        case '"':
            cl_buf_puts(b, "&quot;");
            break;
        case '\'':
            cl_buf_puts(b, "&#39;");
            break;
        case '\t':
        case '\n':
            cl_buf_putc(b, (char)*p);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] < 0xa0))
                cl_buf_putc(b, ' '); /* C0 and C1 controls */
            else
                cl_buf_add(b, p, n);
        }
        p += n;
    }
}

/** @brief Append a cell's human text, escaped (a text cell whole, never cut to a buffer). */
static void put_cell_text(cl_buf_t *b, const cl_cell_t *c)
{
    if (c->kind == CL_CELL_TEXT) {
        esc(b, c->s);
        return;
    }
    char buf[128];
    esc(b, cl_cell_format(c, CL_FMT_HUMAN, buf, sizeof buf));
}

/** @brief The CSS class of a legend band, or NULL. */
static const char *band_class(cl_band_t band)
{
    switch (band) {
    case CL_BAND_RED:
        return "band-red";
    case CL_BAND_AMBER:
        return "band-amber";
    case CL_BAND_GREEN:
        return "band-green";
    default:
        return NULL;
    }
}

/** @brief Whether a column of @p kind holds figures (right-aligned). */
static int numeric(cl_cell_kind_t kind)
{
    return kind == CL_CELL_INT || kind == CL_CELL_MONEY || kind == CL_CELL_RATIO ||
           kind == CL_CELL_NUMBER;
}

/** @brief Append ` class="..."` for a column of @p kind and a band, when either applies. */
static void put_class(cl_buf_t *b, cl_cell_kind_t kind, cl_band_t band)
{
    const char *k = numeric(kind) ? "num" : kind == CL_CELL_DATE ? "date" : NULL;
    const char *bc = band_class(band);
    if (k && bc)
        cl_buf_printf(b, " class=\"%s %s\"", k, bc);
    else if (k || bc)
        cl_buf_printf(b, " class=\"%s\"", k ? k : bc);
}

/** @brief A table: caption, column widths, a header repeated on each printed page, rows. */
static void put_table(cl_buf_t *b, const cl_table_t *t, int caption)
{
    cl_buf_puts(b, "<table>\n");
    if (caption) {
        cl_buf_puts(b, "<caption>");
        esc(b, t->title);
        cl_buf_puts(b, "</caption>\n");
    }
    cl_buf_puts(b, "<colgroup>");
    double total = 0;
    for (size_t i = 0; i < t->n_cols; i++)
        total += t->cols[i].width > 0 ? t->cols[i].width : 1;
    for (size_t i = 0; i < t->n_cols; i++)
        cl_buf_printf(b, "<col style=\"width: %.1f%%\"/>",
                      100 * (t->cols[i].width > 0 ? t->cols[i].width : 1) / total);
    cl_buf_puts(b, "</colgroup>\n<thead>\n<tr>");
    for (size_t i = 0; i < t->n_cols; i++) {
        cl_buf_puts(b, "<th");
        put_class(b, t->cols[i].kind, CL_BAND_NONE);
        cl_buf_puts(b, ">");
        esc(b, t->cols[i].label);
        cl_buf_puts(b, "</th>");
    }
    cl_buf_puts(b, "</tr>\n</thead>\n<tbody>\n");
    for (size_t r = 0; r < t->n_rows; r++) {
        const cl_row_t *row = &t->rows[r];
        cl_buf_puts(b, row->flags & CL_ROW_TOTAL ? "<tr class=\"total\">" : "<tr>");
        for (size_t i = 0; i < t->n_cols; i++) {
            cl_buf_puts(b, "<td");
            put_class(b, t->cols[i].kind, row->cells[i].band);
            cl_buf_puts(b, ">");
            put_cell_text(b, &row->cells[i]);
            cl_buf_puts(b, "</td>");
        }
        cl_buf_puts(b, "</tr>\n");
    }
    cl_buf_puts(b, "</tbody>\n</table>\n");
}

/** @brief Find @p needle in the @p n bytes at @p hay; NULL when absent. */
static const char *find(const char *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle));
}

/**
 * @brief Append the @p n bytes of SVG at @p p with every id, and every
 * reference to one, prefixed "cINDEX-": each gnuplot SVG defines the same ids
 * (gpPt0, gnuplot_canvas, ...), which must be unique in one html document.
 * gnuplot's generic <title> becomes the chart's. Only markup is rewritten:
 * label text has '<' escaped, so text never looks like a tag.
 */
static void put_svg(cl_buf_t *b, const char *p, size_t n, const char *title, size_t index)
{
    static const char *const refs[] = {" id='", " id=\"", "href='#", "href=\"#", "url(#"};
    char prefix[32];
    snprintf(prefix, sizeof prefix, "c%zu-", index);
    const char *end = p + n, *done = p;
    int in_tag = 0, titled = 0;
    for (const char *q = p; q < end; q++) {
        if (!in_tag) {
            if (*q != '<')
                continue;
            in_tag = 1;
            const char *gt = "<title>Gnuplot</title>";
            if (!titled && (size_t)(end - q) >= strlen(gt) && memcmp(q, gt, strlen(gt)) == 0) {
                cl_buf_add(b, done, (size_t)(q - done));
                cl_buf_puts(b, "<title>");
                esc(b, title);
                cl_buf_puts(b, "</title>");
                done = q + strlen(gt);
                q = done - 1;
                in_tag = 0;
                titled = 1;
            }
            continue;
        }
        if (*q == '>') {
            in_tag = 0;
            continue;
        }
        for (size_t r = 0; r < sizeof refs / sizeof refs[0]; r++) {
            size_t len = strlen(refs[r]);
            if ((size_t)(end - q) > len && memcmp(q, refs[r], len) == 0) {
                cl_buf_add(b, done, (size_t)(q + len - done));
                cl_buf_puts(b, prefix);
                done = q + len;
                q = done - 1;
                break;
            }
        }
    }
    cl_buf_add(b, done, (size_t)(end - done));
}

/**
 * @brief A chart as a figure with its SVG inline: the XML declaration,
 * DOCTYPE and comments before <svg> dropped. Refuses SVG that could run or
 * fetch anything.
 * @return 0, or -1 with the reason in @p err.
 */
static int put_chart(cl_buf_t *b, const cl_chart_t *c, size_t index, char *err, size_t errsize)
{
    const char *id = c->id ? c->id : "?";
    if (!c->svg) {
        snprintf(err, errsize, "chart %s has not been rendered", id);
        return -1;
    }
    const char *p = c->svg, *end = c->svg + c->svg_len;
    for (;;) {
        while (p < end && strchr(" \t\r\n", *p) && *p)
            p++;
        const char *token;
        if (end - p >= 2 && memcmp(p, "<?", 2) == 0)
            token = "?>";
        else if (end - p >= 4 && memcmp(p, "<!--", 4) == 0)
            token = "-->";
        else if (end - p >= 2 && memcmp(p, "<!", 2) == 0)
            token = ">";
        else
            break;
        const char *close = find(p, (size_t)(end - p), token);
        if (!close)
            break;
        p = close + strlen(token);
    }
    const char *stop = NULL;
    for (const char *q = p; (q = find(q, (size_t)(end - q), "</svg>")) != NULL; q++)
        stop = q + 6;
    if (end - p < 5 || memcmp(p, "<svg", 4) != 0 || !strchr(" \t\r\n>", p[4]) || !stop) {
        snprintf(err, errsize, "chart %s is not an SVG document", id);
        return -1;
    }
    size_t n = (size_t)(stop - p);
    /* gnuplot's SVG holds neither; a chart that does is not ours to inline. */
    if (find(p, n, "<script") || find(p, n, "<foreignObject") || find(p, n, "href=\"http") ||
        find(p, n, "href='http")) {
        snprintf(err, errsize, "chart %s holds a script or an external reference", id);
        return -1;
    }
    cl_buf_puts(b, "<figure class=\"chart\">\n<figcaption>");
    esc(b, c->title);
    cl_buf_puts(b, "</figcaption>\n");
    put_svg(b, p, n, c->title, index);
    cl_buf_puts(b, "\n</figure>\n");
    return 0;
}

/** @brief The font name reduced to characters that cannot end a CSS string. */
static void safe_font(const char *font, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(font ? font : ""); *p && o + 1 < size;
         p++)
        if (*p >= 0x80 || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
            strchr(" -_.", *p))
            out[o++] = (char)*p;
    out[o] = '\0';
}

/** @brief The whole page into @p b; 0, or -1 with the reason in @p err. */
static int build(cl_buf_t *b, const cl_doc_t *doc, char *err, size_t errsize)
{
    int en = doc->lang && strcmp(doc->lang, "en") == 0;
    cl_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n", en ? "en" : "zh-CN");
    cl_buf_puts(b, "<meta charset=\"utf-8\"/>\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
                   "<title>");
    esc(b, doc->title);
    if (doc->title && doc->subtitle)
        cl_buf_puts(b, " — ");
    esc(b, doc->subtitle);
    char font[128];
    safe_font(doc->font, font, sizeof font);
    cl_buf_puts(b, "</title>\n<style>\n");
    cl_buf_printf(b, "body { font-family: \"%s\", \"Noto Sans CJK SC\", sans-serif;\n",
                  font[0] ? font : "sans-serif");
    cl_buf_puts(b, CSS);
    cl_buf_puts(b, "</style>\n</head>\n<body>\n<header>\n");
    if (doc->title) {
        cl_buf_puts(b, "<h1>");
        esc(b, doc->title);
        cl_buf_puts(b, "</h1>\n");
    }
    if (doc->subtitle) {
        cl_buf_puts(b, "<p class=\"subtitle\">");
        esc(b, doc->subtitle);
        cl_buf_puts(b, "</p>\n");
    }
    if (doc->n_facts) {
        cl_buf_puts(b, "<dl class=\"facts\">\n");
        for (size_t i = 0; i < doc->n_facts; i++) {
            cl_buf_puts(b, "<div><dt>");
            esc(b, doc->facts[i].label);
            cl_buf_puts(b, "</dt><dd>");
            esc(b, doc->facts[i].value);
            cl_buf_puts(b, "</dd></div>\n");
        }
        cl_buf_puts(b, "</dl>\n");
    }
    cl_buf_puts(b, "</header>\n");
    if (doc->n_kpis) {
        cl_buf_puts(b, "<section class=\"kpis\">\n");
        for (size_t i = 0; i < doc->n_kpis; i++) {
            const char *bc = band_class(doc->kpis[i].value.band);
            cl_buf_puts(b, "<div class=\"kpi\"><div class=\"kpi-label\">");
            esc(b, doc->kpis[i].label);
            cl_buf_printf(b, "</div><div class=\"kpi-value%s%s\">", bc ? " " : "", bc ? bc : "");
            put_cell_text(b, &doc->kpis[i].value);
            cl_buf_puts(b, "</div></div>\n");
        }
        cl_buf_puts(b, "</section>\n");
    }
    cl_buf_puts(b, "<main>\n");
    for (size_t i = 0; i < doc->n_blocks; i++) {
        const cl_block_t *bl = &doc->blocks[i];
        switch (bl->kind) {
        case CL_BLOCK_HEADING:
            cl_buf_puts(b, "<h2>");
            esc(b, bl->text);
            cl_buf_puts(b, "</h2>\n");
            break;
        case CL_BLOCK_TEXT:
            cl_buf_puts(b, "<p class=\"text\">");
            esc(b, bl->text);
            cl_buf_puts(b, "</p>\n");
            break;
        case CL_BLOCK_TABLE:
            if (bl->index < doc->n_tables)
                put_table(b, &doc->tables[bl->index], cl_doc_caption_shown(doc, i));
            break;
        case CL_BLOCK_CHART:
            if (bl->index < doc->n_charts &&
                put_chart(b, &doc->charts[bl->index], bl->index, err, errsize) != 0)
                return -1;
            break;
        }
    }
    cl_buf_puts(b, "</main>\n<footer>\n");
    /* The one line that depends on the run: keep it alone on its line. */
    time_t t = (time_t)doc->generated_at;
    struct tm tm;
    char when[64] = "";
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    cl_buf_puts(b, "<p class=\"generated\">");
    esc(b, doc->generated_label);
    cl_buf_printf(b, " %s</p>\n", when);
    cl_buf_puts(b, "</footer>\n</body>\n</html>\n");
    if (b->oom) {
        snprintf(err, errsize, "out of memory writing html");
        return -1;
    }
    return 0;
}

/** @brief Write the html file whole or not at all. */
int cl_render_html(const cl_doc_t *doc, const char *path, char *err, size_t errsize)
{
    cl_buf_t b = {0};
    if (build(&b, doc, err, errsize) != 0) {
        cl_buf_free(&b);
        return -1;
    }
    char tmp[CL_TMP_PATH_MAX];
    cl_out_tmpname(path, tmp);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errsize, "cannot write %s: %s", path, strerror(errno));
        cl_buf_free(&b);
        return -1;
    }
    int ok = fwrite(b.p, 1, b.len, f) == b.len && fflush(f) == 0;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    cl_buf_free(&b);
    if (!ok) {
        snprintf(err, errsize, "cannot write %s: %s", path, strerror(saved ? saved : EIO));
        unlink(tmp);
        return -1;
    }
    return cl_out_commit(tmp, path, err, errsize);
}
