/**
 * @file pdf.c
 * @brief The PDF renderer: an A4 document drawn with cairo and pango, charts
 * drawn from their SVG with librsvg so they stay vectors.
 *
 * The footer says "page N of M", and a PDF page cannot be revisited, so the
 * document is laid out twice with the same code: once onto a PDF surface that
 * discards its bytes, only to count pages, then for real. Both passes use the
 * same kind of surface so that pango measures text identically.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <librsvg/rsvg.h>
#include <pango/pangocairo.h>

#include "careledger/render.h"

/* A4 portrait in points; everything below is in points. */
#define PAGE_W    595.28
#define PAGE_H    841.89
#define MARGIN_X  45.0
#define TOP       50.0
#define BOTTOM    (PAGE_H - 62.0) /* the body ends here; the footer lives below */
#define FOOTER_Y  (PAGE_H - 40.0)
#define CONTENT_W (PAGE_W - 2 * MARGIN_X)
#define CELL_PX   3.5 /* table cell padding */
#define CELL_PY   2.5

/* Colours as 0xRRGGBB. */
#define C_TEXT     0x1f2328
#define C_MUTED    0x59636e
#define C_GRID     0xa8b1bb
#define C_HEADER   0xe3e8ee
#define C_TOTAL    0xf1f3f5
#define C_KPI_BG   0xf3f6f9
#define C_BAND_RED 0xf8d0d0
#define C_BAND_AMB 0xfbe5b6
#define C_BAND_GRN 0xd4edda

/** Where the PDF bytes go: a file, or nowhere (the counting pass). */
typedef struct sink {
    FILE *f;
    int err; /* errno of the first failed write */
} sink_t;

/** The state of one layout pass. */
typedef struct pdf {
    const cl_doc_t *doc;
    cairo_surface_t *surface;
    cairo_t *cr;
    PangoContext *pc;
    PangoFontDescription *font; /* the document's family; sizes set per layout */
    RsvgHandle **svg;           /* per chart; NULL when no block draws it */
    double *aspect;             /* per chart: height / width */
    int draw;                   /* 0 in the counting pass */
    int page, pages;            /* current page (1-based); total, known in the drawing pass */
    double y;                   /* the cursor: top of the next thing to draw */
    char *err;
    size_t errsize;
} pdf_t;

/** @brief Write PDF bytes to the sink's file, or drop them when it has none. */
static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int len)
{
    sink_t *s = closure;
    if (!s->f)
        return CAIRO_STATUS_SUCCESS;
    if (fwrite(data, 1, len, s->f) != len) {
        if (!s->err)
            s->err = errno ? errno : EIO;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

/** @brief Set the source colour from 0xRRGGBB. */
static void set_rgb(cairo_t *cr, unsigned rgb)
{
    cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                         (rgb & 0xff) / 255.0);
}

/** @brief Fill a rectangle (drawing pass only). */
static void fill_rect(pdf_t *p, double x, double y, double w, double h, unsigned rgb)
{
    if (!p->draw)
        return;
    set_rgb(p->cr, rgb);
    cairo_rectangle(p->cr, x, y, w, h);
    cairo_fill(p->cr);
}

/** @brief Stroke a thin rectangle outline (drawing pass only). */
static void stroke_rect(pdf_t *p, double x, double y, double w, double h, unsigned rgb)
{
    if (!p->draw)
        return;
    set_rgb(p->cr, rgb);
    cairo_set_line_width(p->cr, 0.5);
    cairo_rectangle(p->cr, x, y, w, h);
    cairo_stroke(p->cr);
}

/** @brief A wrapped layout of @p text in the document's font. Caller unrefs it. */
static PangoLayout *make_layout(pdf_t *p, const char *text, double size, int bold, double width,
                                PangoAlignment align)
{
    PangoLayout *l = pango_layout_new(p->pc);
    PangoFontDescription *fd = pango_font_description_copy(p->font);
    pango_font_description_set_size(fd, (gint)(size * PANGO_SCALE));
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    /* A column narrower than its padding still wraps, one glyph a line. */
    pango_layout_set_width(l, (int)((width > 1 ? width : 1) * PANGO_SCALE));
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_alignment(l, align);
    pango_layout_set_text(l, text ? text : "", -1);
    return l;
}

/** @brief Height of a layout in points. */
static double layout_h(PangoLayout *l)
{
    int w, h;
    pango_layout_get_size(l, &w, &h);
    return (double)h / PANGO_SCALE;
}

/** @brief Draw a layout with its top-left corner at (x, y) (drawing pass only). */
static void show_layout(pdf_t *p, PangoLayout *l, double x, double y, unsigned rgb)
{
    if (!p->draw)
        return;
    set_rgb(p->cr, rgb);
    cairo_move_to(p->cr, x, y);
    pango_cairo_show_layout(p->cr, l);
}

/** @brief Draw the footer of the current page: generated-at left, page number right. */
static void footer(pdf_t *p)
{
    if (!p->draw)
        return;
    const cl_doc_t *doc = p->doc;
    char when[64] = "", left[256], right[128];
    time_t t = (time_t)doc->generated_at;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    int zh = !doc->lang || strcmp(doc->lang, "en") != 0;
    snprintf(left, sizeof left, "%s%s%s", doc->generated_label ? doc->generated_label : "",
             zh ? "：" : " ", when);
    /* The document supplies the format: localised, with exactly two %d. */
    snprintf(right, sizeof right, doc->page_label ? doc->page_label : "%d / %d", p->page, p->pages);
    set_rgb(p->cr, C_GRID);
    cairo_set_line_width(p->cr, 0.5);
    cairo_move_to(p->cr, MARGIN_X, FOOTER_Y - 6);
    cairo_line_to(p->cr, MARGIN_X + CONTENT_W, FOOTER_Y - 6);
    cairo_stroke(p->cr);
    /* Each half gets half the width, so the two can never overlap. */
    PangoLayout *l = make_layout(p, left, 8, 0, CONTENT_W / 2, PANGO_ALIGN_LEFT);
    PangoLayout *r = make_layout(p, right, 8, 0, CONTENT_W / 2, PANGO_ALIGN_RIGHT);
    show_layout(p, l, MARGIN_X, FOOTER_Y, C_MUTED);
    show_layout(p, r, MARGIN_X + CONTENT_W / 2, FOOTER_Y, C_MUTED);
    g_object_unref(l);
    g_object_unref(r);
}

/** @brief Finish the current page and start the next. */
static void new_page(pdf_t *p)
{
    footer(p);
    if (p->draw)
        cairo_show_page(p->cr);
    p->page++;
    p->y = TOP;
}

/** @brief Start a new page unless @p h more points fit (or the page is still empty). */
static void ensure(pdf_t *p, double h)
{
    if (p->y + h > BOTTOM && p->y > TOP)
        new_page(p);
}

/** @brief Flow a wrapped paragraph line by line, breaking pages between lines. */
static void paragraph(pdf_t *p, const char *text, double size, int bold, unsigned rgb)
{
    PangoLayout *l = make_layout(p, text, size, bold, CONTENT_W, PANGO_ALIGN_LEFT);
    PangoLayoutIter *it = pango_layout_get_iter(l);
    do {
        PangoRectangle lr;
        pango_layout_iter_get_line_extents(it, NULL, &lr);
        double h = (double)lr.height / PANGO_SCALE;
        ensure(p, h);
        if (p->draw) {
            double base = (double)(pango_layout_iter_get_baseline(it) - lr.y) / PANGO_SCALE;
            set_rgb(p->cr, rgb);
            cairo_move_to(p->cr, MARGIN_X, p->y + base);
            pango_cairo_show_layout_line(p->cr, pango_layout_iter_get_line_readonly(it));
        }
        p->y += h;
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
    g_object_unref(l);
}

/** @brief The text a cell shows to people (a TEXT cell's own string, never truncated). */
static const char *cell_text(const cl_cell_t *c, char *buf, size_t size)
{
    if (c->kind == CL_CELL_TEXT)
        return c->s ? c->s : "";
    return cl_cell_format(c, CL_FMT_HUMAN, buf, size);
}

/** @brief Whether a kind holds a figure (right-aligned so digits line up). */
static int numeric(cl_cell_kind_t k)
{
    return k == CL_CELL_INT || k == CL_CELL_MONEY || k == CL_CELL_RATIO || k == CL_CELL_NUMBER ||
           k == CL_CELL_DATE;
}

/** @brief The title block: title, subtitle, facts, then the KPI boxes. */
static void header(pdf_t *p)
{
    const cl_doc_t *doc = p->doc;
    int zh = !doc->lang || strcmp(doc->lang, "en") != 0;
    if (doc->title)
        paragraph(p, doc->title, 18, 1, C_TEXT);
    if (doc->subtitle) {
        p->y += 3;
        paragraph(p, doc->subtitle, 11.5, 0, C_MUTED);
    }
    p->y += 6;
    for (size_t i = 0; i < doc->n_facts; i++) {
        char *line =
            g_strdup_printf("%s%s%s", doc->facts[i].label ? doc->facts[i].label : "",
                            zh ? "：" : ": ", doc->facts[i].value ? doc->facts[i].value : "");
        paragraph(p, line, 9.5, 0, C_TEXT);
        g_free(line);
        p->y += 1.5;
    }
    p->y += 8;
    /* KPIs: up to four boxes a row, each row as tall as its tallest box. */
    const size_t per = doc->n_kpis < 4 ? doc->n_kpis : 4;
    const double gap = 8, pad = 6;
    for (size_t start = 0; start < doc->n_kpis; start += per) {
        size_t n = doc->n_kpis - start < per ? doc->n_kpis - start : per;
        double bw = (CONTENT_W - gap * (double)(per - 1)) / (double)per;
        PangoLayout *lab[4], *val[4];
        double bh = 0;
        for (size_t k = 0; k < n; k++) {
            const cl_kpi_t *kp = &doc->kpis[start + k];
            char buf[128];
            lab[k] = make_layout(p, kp->label, 8.5, 0, bw - 2 * pad, PANGO_ALIGN_LEFT);
            val[k] = make_layout(p, cell_text(&kp->value, buf, sizeof buf), 15, 1, bw - 2 * pad,
                                 PANGO_ALIGN_LEFT);
            double h = layout_h(lab[k]) + 3 + layout_h(val[k]) + 2 * pad;
            bh = h > bh ? h : bh;
        }
        ensure(p, bh);
        for (size_t k = 0; k < n; k++) {
            double x = MARGIN_X + (double)k * (bw + gap);
            fill_rect(p, x, p->y, bw, bh, C_KPI_BG);
            stroke_rect(p, x, p->y, bw, bh, C_GRID);
            show_layout(p, lab[k], x + pad, p->y + pad, C_MUTED);
            show_layout(p, val[k], x + pad, p->y + pad + layout_h(lab[k]) + 3, C_TEXT);
            g_object_unref(lab[k]);
            g_object_unref(val[k]);
        }
        p->y += bh + gap;
    }
    p->y += 4;
}

/** @brief A heading, kept on the page of what follows it; also a PDF outline entry. */
static void heading(pdf_t *p, const char *text)
{
    PangoLayout *l = make_layout(p, text, 13, 1, CONTENT_W, PANGO_ALIGN_LEFT);
    double h = layout_h(l);
    g_object_unref(l);
    p->y += 8;
    /* A heading alone at the foot of a page reads as belonging to the page before. */
    ensure(p, h + 60);
    if (p->draw) {
        char *dest = g_strdup_printf("page=%d pos=[%.0f %.0f]", p->page, MARGIN_X, p->y);
        cairo_pdf_surface_add_outline(p->surface, CAIRO_PDF_OUTLINE_ROOT, text ? text : "", dest,
                                      0);
        g_free(dest);
    }
    paragraph(p, text, 13, 1, C_TEXT);
    p->y += 5;
}

/** @brief Lay out a row (the header when @p row is NULL), a layout per column; its height. */
static double row_layouts(pdf_t *p, const cl_table_t *t, const cl_row_t *row, const double *cw,
                          PangoLayout **out)
{
    double h = 0;
    for (size_t i = 0; i < t->n_cols; i++) {
        char buf[128];
        const char *s = row ? cell_text(&row->cells[i], buf, sizeof buf) : t->cols[i].label;
        int right = numeric(t->cols[i].kind) || (row && numeric(row->cells[i].kind));
        int bold = !row || (row->flags & CL_ROW_TOTAL);
        /* Wide tables (the finance statement's 11 columns) in a smaller size, so
         * that a yuan figure stays on one line. */
        double pt = t->n_cols <= 8 ? 8.5 : t->n_cols <= 10 ? 7.5 : 7;
        out[i] = make_layout(p, s, pt, bold, cw[i] - 2 * CELL_PX,
                             right ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
        double ch = layout_h(out[i]);
        h = ch > h ? ch : h;
    }
    return h + 2 * CELL_PY;
}

/** @brief Draw a laid-out row at the cursor and advance; frees its layouts unless @p keep. */
static void row_draw(pdf_t *p, const cl_table_t *t, const cl_row_t *row, const double *cw,
                     PangoLayout **ls, double h, int keep)
{
    static const unsigned band_rgb[] = {0, C_BAND_RED, C_BAND_AMB, C_BAND_GRN};
    double x = MARGIN_X;
    for (size_t i = 0; i < t->n_cols; i++) {
        unsigned bg = !row ? C_HEADER : (row->flags & CL_ROW_TOTAL) ? C_TOTAL : 0xffffff;
        if (row && row->cells[i].band > CL_BAND_NONE && row->cells[i].band <= CL_BAND_GREEN)
            bg = band_rgb[row->cells[i].band];
        if (bg != 0xffffff)
            fill_rect(p, x, p->y, cw[i], h, bg);
        show_layout(p, ls[i], x + CELL_PX, p->y + CELL_PY, C_TEXT);
        stroke_rect(p, x, p->y, cw[i], h, C_GRID);
        if (!keep)
            g_object_unref(ls[i]);
        x += cw[i];
    }
    p->y += h;
}

/** @brief A table: caption, header repeated on every page, rows never split. 0 or -1. */
static int table(pdf_t *p, const cl_table_t *t, int caption)
{
    if (t->n_cols == 0)
        return 0;
    double *cw = calloc(t->n_cols, sizeof *cw);
    PangoLayout **hl = calloc(t->n_cols, sizeof *hl);
    PangoLayout **rl = calloc(t->n_cols, sizeof *rl);
    if (!cw || !hl || !rl) {
        free(cw);
        free(hl);
        free(rl);
        snprintf(p->err, p->errsize, "out of memory laying out table %s", t->id ? t->id : "");
        return -1;
    }
    double total = 0;
    for (size_t i = 0; i < t->n_cols; i++)
        total += t->cols[i].width > 0 ? t->cols[i].width : 1;
    for (size_t i = 0; i < t->n_cols; i++)
        cw[i] = CONTENT_W * (t->cols[i].width > 0 ? t->cols[i].width : 1) / total;

    PangoLayout *cap = make_layout(p, t->title, 10, 1, CONTENT_W, PANGO_ALIGN_LEFT);
    double cap_h = caption && t->title && *t->title ? layout_h(cap) + 3 : 0;
    double hh = row_layouts(p, t, NULL, cw, hl);
    double first = 0;
    if (t->n_rows) {
        first = row_layouts(p, t, &t->rows[0], cw, rl);
        for (size_t i = 0; i < t->n_cols; i++)
            g_object_unref(rl[i]);
    }
    /* The caption, the header and the first row stay together. */
    ensure(p, cap_h + hh + first);
    if (cap_h > 0) /* muted: a caption under its own heading is not drawn at all */
        show_layout(p, cap, MARGIN_X, p->y, C_MUTED);
    g_object_unref(cap);
    p->y += cap_h;
    row_draw(p, t, NULL, cw, hl, hh, 1);
    size_t on_page = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        double rh = row_layouts(p, t, &t->rows[r], cw, rl);
        /* A row taller than a whole page is drawn anyway rather than looping. */
        if (p->y + rh > BOTTOM && on_page > 0) {
            new_page(p);
            row_draw(p, t, NULL, cw, hl, hh, 1);
            on_page = 0;
        }
        row_draw(p, t, &t->rows[r], cw, rl, rh, 0);
        on_page++;
    }
    for (size_t i = 0; i < t->n_cols; i++)
        g_object_unref(hl[i]);
    free(cw);
    free(hl);
    free(rl);
    p->y += 10;
    return 0;
}

/** @brief A chart: its title, then its SVG at content width, on a new page if needed. 0 or -1. */
static int chart(pdf_t *p, size_t idx)
{
    const cl_chart_t *c = &p->doc->charts[idx];
    PangoLayout *tl = make_layout(p, c->title, 10, 1, CONTENT_W, PANGO_ALIGN_LEFT);
    double th = c->title && *c->title ? layout_h(tl) + 4 : 0;
    double w = CONTENT_W, h = w * p->aspect[idx];
    double max = BOTTOM - TOP - th;
    if (h > max) { /* too tall for any page: shrink, keeping the aspect ratio */
        h = max;
        w = h / p->aspect[idx];
    }
    ensure(p, th + h);
    if (th > 0)
        show_layout(p, tl, MARGIN_X, p->y, C_TEXT);
    g_object_unref(tl);
    p->y += th;
    if (p->draw) {
        RsvgRectangle vp = {MARGIN_X + (CONTENT_W - w) / 2, p->y, w, h};
        GError *gerr = NULL;
        cairo_save(p->cr);
        gboolean ok = rsvg_handle_render_document(p->svg[idx], p->cr, &vp, &gerr);
        cairo_restore(p->cr);
        if (!ok) {
            snprintf(p->err, p->errsize, "chart %s: cannot draw its SVG: %s", c->id,
                     gerr ? gerr->message : "unknown error");
            g_clear_error(&gerr);
            return -1;
        }
    }
    p->y += h + 12;
    return 0;
}

/** @brief Lay out (and in the drawing pass draw) the whole document. 0 or -1. */
static int layout_doc(pdf_t *p)
{
    const cl_doc_t *doc = p->doc;
    p->page = 1;
    p->y = TOP;
    pango_cairo_update_context(p->cr, p->pc);
    header(p);
    for (size_t b = 0; b < doc->n_blocks; b++) {
        const cl_block_t *bl = &doc->blocks[b];
        switch (bl->kind) {
        case CL_BLOCK_HEADING:
            heading(p, bl->text);
            break;
        case CL_BLOCK_TEXT:
            p->y += 4;
            paragraph(p, bl->text, 10, 0, C_TEXT);
            p->y += 6;
            break;
        case CL_BLOCK_TABLE:
            if (table(p, &doc->tables[bl->index], cl_doc_caption_shown(doc, b)) != 0)
                return -1;
            break;
        case CL_BLOCK_CHART:
            if (chart(p, bl->index) != 0)
                return -1;
            break;
        }
    }
    footer(p);
    if (p->draw)
        cairo_show_page(p->cr);
    return 0;
}

/** @brief Parse every chart the body draws; an unrendered chart is an error. 0 or -1. */
static int load_charts(pdf_t *p)
{
    const cl_doc_t *doc = p->doc;
    for (size_t b = 0; b < doc->n_blocks; b++) {
        const cl_block_t *bl = &doc->blocks[b];
        if (bl->kind == CL_BLOCK_TABLE && bl->index >= doc->n_tables) {
            snprintf(p->err, p->errsize, "block %zu refers to a missing table", b);
            return -1;
        }
        if (bl->kind != CL_BLOCK_CHART)
            continue;
        if (bl->index >= doc->n_charts) {
            snprintf(p->err, p->errsize, "block %zu refers to a missing chart", b);
            return -1;
        }
        const cl_chart_t *c = &doc->charts[bl->index];
        if (!c->svg) {
            snprintf(p->err, p->errsize, "chart %s has not been rendered", c->id);
            return -1;
        }
        if (p->svg[bl->index])
            continue;
        GError *gerr = NULL;
        size_t len = c->svg_len ? c->svg_len : strlen(c->svg);
        RsvgHandle *h = rsvg_handle_new_from_data((const guint8 *)c->svg, len, &gerr);
        if (!h) {
            snprintf(p->err, p->errsize, "chart %s: invalid SVG: %s", c->id,
                     gerr ? gerr->message : "unknown error");
            g_clear_error(&gerr);
            return -1;
        }
        p->svg[bl->index] = h;
        double w = 0, hh = 0;
        gboolean has_w, has_h, has_vb;
        RsvgLength lw, lh;
        RsvgRectangle vb;
        /* Only the proportions matter: the chart is scaled to the content width. */
        if (!rsvg_handle_get_intrinsic_size_in_pixels(h, &w, &hh) || w <= 0 || hh <= 0) {
            rsvg_handle_get_intrinsic_dimensions(h, &has_w, &lw, &has_h, &lh, &has_vb, &vb);
            w = has_vb ? vb.width : 0;
            hh = has_vb ? vb.height : 0;
        }
        p->aspect[bl->index] = w > 0 && hh > 0 ? hh / w : 0.6;
    }
    return 0;
}

/** @brief One layout pass onto a PDF surface writing to @p s (no file: count only). 0 or -1. */
static int run_pass(pdf_t *p, sink_t *s)
{
    p->surface = cairo_pdf_surface_create_for_stream(sink_write, s, PAGE_W, PAGE_H);
    if (p->draw) {
        const cl_doc_t *doc = p->doc;
        char when[32] = "";
        time_t t = (time_t)doc->generated_at;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        /* Explicit dates: otherwise cairo stamps the wall clock into the file. */
        cairo_pdf_surface_set_metadata(p->surface, CAIRO_PDF_METADATA_TITLE,
                                       doc->title ? doc->title : "");
        cairo_pdf_surface_set_metadata(p->surface, CAIRO_PDF_METADATA_CREATOR, "careledger");
        cairo_pdf_surface_set_metadata(p->surface, CAIRO_PDF_METADATA_CREATE_DATE, when);
        cairo_pdf_surface_set_metadata(p->surface, CAIRO_PDF_METADATA_MOD_DATE, when);
    }
    p->cr = cairo_create(p->surface);
    int rc = layout_doc(p);
    cairo_status_t st = cairo_status(p->cr);
    cairo_destroy(p->cr);
    p->cr = NULL;
    cairo_surface_finish(p->surface);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(p->surface);
    cairo_surface_destroy(p->surface);
    p->surface = NULL;
    if (rc == 0 && st != CAIRO_STATUS_SUCCESS) {
        if (s->err)
            snprintf(p->err, p->errsize, "cannot write the PDF: %s", strerror(s->err));
        else
            snprintf(p->err, p->errsize, "cairo: %s", cairo_status_to_string(st));
        rc = -1;
    }
    return rc;
}

/** @brief Render the document as an A4 PDF at @p path, whole or not at all. */
int cl_render_pdf(const cl_doc_t *doc, const char *path, char *err, size_t errsize)
{
    if (!doc || !path) {
        snprintf(err, errsize, "no document or no path");
        return -1;
    }
    if (doc->oom) {
        snprintf(err, errsize, "the document is incomplete (out of memory)");
        return -1;
    }
    pdf_t p = {.doc = doc, .err = err, .errsize = errsize};
    size_t nc = doc->n_charts ? doc->n_charts : 1;
    p.svg = calloc(nc, sizeof *p.svg);
    p.aspect = calloc(nc, sizeof *p.aspect);
    if (!p.svg || !p.aspect) {
        free(p.svg);
        free(p.aspect);
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    int rc = load_charts(&p);
    /* A private font map, freed at the end, rather than pango's per-thread
     * default that would live as long as the thread. */
    PangoFontMap *fm = pango_cairo_font_map_new();
    pango_cairo_font_map_set_resolution(PANGO_CAIRO_FONT_MAP(fm), 72); /* 1 pt = 1 unit */
    p.pc = pango_font_map_create_context(fm);
    pango_context_set_round_glyph_positions(p.pc, FALSE);
    p.font = pango_font_description_new();
    pango_font_description_set_family(p.font, doc->font ? doc->font : "sans-serif");

    sink_t count = {0};
    if (rc == 0)
        rc = run_pass(&p, &count);
    char tmp[CL_TMP_PATH_MAX];
    cl_out_tmpname(path, tmp);
    sink_t out = {0};
    if (rc == 0) {
        p.pages = p.page;
        p.draw = 1;
        out.f = fopen(tmp, "wb");
        if (!out.f) {
            snprintf(err, errsize, "cannot create %s: %s", path, strerror(errno));
            rc = -1;
        } else {
            rc = run_pass(&p, &out);
            if (fclose(out.f) != 0 && rc == 0) {
                snprintf(err, errsize, "cannot write %s: %s", path, strerror(errno));
                rc = -1;
            }
            if (rc == 0 && p.page != p.pages) { /* the two passes must agree */
                snprintf(err, errsize, "pdf layout is unstable (%d pages, then %d)", p.pages,
                         p.page);
                rc = -1;
            }
            if (rc != 0)
                unlink(tmp);
        }
    }

    pango_font_description_free(p.font);
    g_object_unref(p.pc);
    g_object_unref(fm);
    for (size_t i = 0; i < doc->n_charts; i++)
        if (p.svg[i])
            g_object_unref(p.svg[i]);
    free(p.svg);
    free(p.aspect);
    if (rc != 0)
        return -1;
    return cl_out_commit(tmp, path, err, errsize);
}
