/**
 * @file xlsx.c
 * @brief A document as an xlsx workbook (libxlsxwriter): a summary sheet, then
 * one sheet per table with numbers as numbers, exact money as yuan, ratios as
 * fractions shown as percentages, dates as Excel dates and legend colours.
 *
 * The same document gives the same bytes: libxlsxwriter stamps every zip entry
 * 1980-01-01 00:00 (as Excel does), and core.xml's created and modified times
 * both come from the document's own `created`, never from the clock.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "careledger/render.h"

#define XLSX_STR_MAX     32767   /* Excel's limit on the characters of a cell */
#define XLSX_DAY_1970    25569.0 /* Excel's serial day of 1970-01-01 (1900 date system) */
#define XLSX_MAX_DECIMAL 10      /* NUMBER decimals beyond this are shown as this many */

/* Distinct cell formats, each created once per workbook. */
typedef struct fmt_key {
    cl_cell_kind_t kind; /* EMPTY and TEXT share the general number format */
    int decimals, sign;  /* NUMBER only */
    cl_band_t band;
    int bold;
} fmt_key_t;

typedef struct fmt_ent {
    fmt_key_t key;
    lxw_format *fmt;
} fmt_ent_t;

typedef struct xlsx {
    lxw_workbook *wb;
    fmt_ent_t *fmts;
    size_t n_fmts, cap_fmts;
    lxw_format *title, *header, *header_num;
    char (*names)[LXW_SHEETNAME_MAX + 1]; /* [0] the summary, [1 + i] table i */
    size_t n_names;
    int oom; /* a format could not be made: the workbook would be wrong */
} xlsx_t;

/** @brief The key of a cell's format, with kinds that format alike folded together. */
static fmt_key_t cell_key(const cl_cell_t *c, int bold)
{
    fmt_key_t k = {.kind = c->kind, .band = c->band, .bold = bold};
    if (k.kind == CL_CELL_EMPTY)
        k.kind = CL_CELL_TEXT;
    if (k.kind == CL_CELL_NUMBER) {
        k.decimals = c->decimals < 0                  ? 0
                     : c->decimals > XLSX_MAX_DECIMAL ? XLSX_MAX_DECIMAL
                                                      : c->decimals;
        k.sign = c->sign != 0;
    }
    return k;
}

/** @brief The fill of a legend band (0 = none). */
static lxw_color_t band_color(cl_band_t b)
{
    switch (b) {
    case CL_BAND_RED:
        return 0xF8D0D0;
    case CL_BAND_AMBER:
        return 0xFBE5B6;
    case CL_BAND_GREEN:
        return 0xD4EDDA;
    case CL_BAND_NONE:
        break;
    }
    return 0;
}

/** @brief The cached format of @p c (NULL: plain text needs none, or out of memory). */
static lxw_format *cell_format(xlsx_t *x, const cl_cell_t *c, int bold)
{
    fmt_key_t k = cell_key(c, bold);
    if (k.kind == CL_CELL_TEXT && !k.band && !k.bold)
        return NULL;
    for (size_t i = 0; i < x->n_fmts; i++) {
        const fmt_key_t *o = &x->fmts[i].key;
        if (o->kind == k.kind && o->decimals == k.decimals && o->sign == k.sign &&
            o->band == k.band && o->bold == k.bold)
            return x->fmts[i].fmt;
    }
    if (x->n_fmts == x->cap_fmts) {
        size_t nc = x->cap_fmts ? 2 * x->cap_fmts : 16;
        fmt_ent_t *p = realloc(x->fmts, nc * sizeof *p);
        if (!p) {
            x->oom = 1;
            return NULL;
        }
        x->fmts = p;
        x->cap_fmts = nc;
    }
    lxw_format *f = workbook_add_format(x->wb);
    if (!f) {
        x->oom = 1;
        return NULL;
    }
    char num[64];
    switch (k.kind) {
    case CL_CELL_INT:
        format_set_num_format(f, "#,##0");
        break;
    case CL_CELL_MONEY:
        format_set_num_format(f, "#,##0.00");
        break;
    case CL_CELL_RATIO:
        format_set_num_format(f, "0.0%");
        break;
    case CL_CELL_DATE:
        format_set_num_format(f, "yyyy-mm-dd");
        break;
    case CL_CELL_NUMBER: {
        char d[XLSX_MAX_DECIMAL + 3] = "0";
        if (k.decimals) {
            d[1] = '.';
            memset(d + 2, '0', (size_t)k.decimals);
            d[2 + k.decimals] = '\0';
        }
        /* Positive, negative and zero sections: "+" only on positive values. */
        if (k.sign)
            snprintf(num, sizeof num, "+%s;-%s;%s", d, d, d);
        else
            snprintf(num, sizeof num, "%s", d);
        format_set_num_format(f, num);
        break;
    }
    case CL_CELL_EMPTY:
    case CL_CELL_TEXT:
        break;
    }
    if (k.band)
        format_set_bg_color(f, band_color(k.band));
    if (k.bold)
        format_set_bold(f);
    x->fmts[x->n_fmts++] = (fmt_ent_t){k, f};
    return f;
}

/** @brief Write text, cut to Excel's 32,767 characters at a character boundary. */
static lxw_error put_text(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s, lxw_format *f)
{
    size_t chars = 0, i = 0;
    for (; s[i]; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80 && ++chars > XLSX_STR_MAX)
            break;
    if (!s[i])
        return worksheet_write_string(ws, r, c, s, f);
    char *cut = strndup(s, i);
    if (!cut)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    lxw_error e = worksheet_write_string(ws, r, c, cut, f);
    free(cut);
    return e;
}

/** @brief Write one cell as its Excel type: numbers as numbers, text as text. */
static lxw_error put_cell(xlsx_t *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t col,
                          const cl_cell_t *c, int bold)
{
    lxw_format *f = cell_format(x, c, bold);
    switch (c->kind) {
    case CL_CELL_TEXT:
        return put_text(ws, r, col, c->s ? c->s : "", f);
    case CL_CELL_INT:
        return worksheet_write_number(ws, r, col, (double)c->i, f);
    case CL_CELL_MONEY:
        /* Yuan: the double nearest to the exact fen / 100, e.g. 3703.68. */
        return worksheet_write_number(ws, r, col, (double)c->i / 100.0, f);
    case CL_CELL_RATIO:
        if (c->den > 0)
            return worksheet_write_number(ws, r, col, (double)c->i / (double)c->den, f);
        break;
    case CL_CELL_NUMBER:
        if (isfinite(c->d)) /* Excel has no NaN or infinity */
            return worksheet_write_number(ws, r, col, c->d, f);
        break;
    case CL_CELL_DATE:
        return worksheet_write_number(ws, r, col, (double)c->i + XLSX_DAY_1970, f);
    case CL_CELL_EMPTY:
        break;
    }
    /* A blank keeps a band's fill or a total's bold; without a format it is nothing. */
    return f ? worksheet_write_blank(ws, r, col, f) : LXW_NO_ERROR;
}

/** @brief Display width of UTF-8 text in Excel character units: CJK and full-width count 2. */
static double text_width(const char *s)
{
    double w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p) {
        unsigned cp = *p, n = 0;
        if (cp >= 0xF0)
            cp &= 0x07, n = 3;
        else if (cp >= 0xE0)
            cp &= 0x0F, n = 2;
        else if (cp >= 0xC0)
            cp &= 0x1F, n = 1;
        p++;
        for (; n && (*p & 0xC0) == 0x80; n--, p++)
            cp = (cp << 6) | (*p & 0x3F);
        int wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                   (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                   (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                   (cp >= 0xFFE0 && cp <= 0xFFE6) || cp >= 0x20000;
        w += wide ? 2 : 1;
    }
    return w;
}

/** @brief Clamp a column width (characters) to what reads well on screen. */
static double clamp_width(double w, double lo, double hi)
{
    return w < lo ? lo : w > hi ? hi : w;
}

/**
 * @brief Width in characters of column @p i of @p t.
 *
 * Its relative width scaled (1 = 10 characters), widened to fit the header and
 * the widest figure as people see it (CJK counted double), at most 60.
 */
static double col_width(const cl_table_t *t, size_t i)
{
    double rel = t->cols[i].width > 0 ? t->cols[i].width : 1;
    double w = rel * 10;
    double need = text_width(t->cols[i].label) + 3; /* bold header and filter button */
    char buf[128];
    for (size_t r = 0; r < t->n_rows; r++) {
        const cl_cell_t *c = &t->rows[r].cells[i];
        const char *s =
            c->kind == CL_CELL_TEXT ? c->s : cl_cell_format(c, CL_FMT_HUMAN, buf, sizeof buf);
        double cw = text_width(s) + 1;
        if (cw > need)
            need = cw;
    }
    return clamp_width(w > need ? w : need, 6, 60);
}

/**
 * @brief Name the next sheet (x->names[x->n_names]) after @p id, valid and unused.
 *
 * Excel's forbidden []:*?/\ become '_'; at most 31 bytes (so 31 characters)
 * cut between characters; no apostrophe at either end; not "History" (which
 * Excel reserves); unique ignoring case (Excel's rule) by a "~N" suffix.
 */
static void sheet_name(xlsx_t *x, const char *id, size_t index)
{
    char base[LXW_SHEETNAME_MAX + 1];
    const char *s = id ? id : "";
    size_t n = 0;
    while (s[n] && n < LXW_SHEETNAME_MAX)
        n++;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* the cut fell inside a character: leave all of it out */
    for (size_t i = 0; i < n; i++)
        base[i] = strchr("[]:*?/\\", s[i]) || (unsigned char)s[i] < 0x20 ? '_' : s[i];
    base[n] = '\0';
    if (n && base[0] == '\'')
        base[0] = '_';
    if (n && base[n - 1] == '\'')
        base[n - 1] = '_';
    if (!n)
        snprintf(base, sizeof base, "table%zu", index + 1);
    if (strcasecmp(base, "History") == 0)
        snprintf(base, sizeof base, "History_");
    char *out = x->names[x->n_names];
    snprintf(out, LXW_SHEETNAME_MAX + 1, "%s", base);
    for (unsigned k = 2;; k++) {
        size_t j = 0;
        while (j < x->n_names && strcasecmp(x->names[j], out) != 0)
            j++;
        if (j == x->n_names)
            break;
        char suffix[16];
        int sl = snprintf(suffix, sizeof suffix, "~%u", k);
        size_t keep = strlen(base);
        if (keep + (size_t)sl > LXW_SHEETNAME_MAX)
            keep = LXW_SHEETNAME_MAX - (size_t)sl;
        while (keep > 0 && ((unsigned char)base[keep] & 0xC0) == 0x80)
            keep--; /* keep whole characters */
        snprintf(out, LXW_SHEETNAME_MAX + 1, "%.*s%s", (int)keep, base, suffix);
    }
    x->n_names++;
}

/** @brief The summary sheet: title, subtitle, header facts, KPIs, and the table sheets. */
static lxw_error summary_sheet(xlsx_t *x, const cl_doc_t *doc)
{
    lxw_worksheet *ws = workbook_add_worksheet(x->wb, x->names[0]);
    if (!ws)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    lxw_error e = LXW_NO_ERROR;
    lxw_row_t r = 0;
    double wa = 10, wb = 12;
    cl_cell_t label = {.kind = CL_CELL_TEXT};
    if (doc->title && !e)
        e = put_text(ws, r++, 0, doc->title, x->title);
    if (doc->subtitle && !e)
        e = put_text(ws, r++, 0, doc->subtitle, NULL);
    r++;
    for (size_t i = 0; i < doc->n_facts && !e; i++, r++) {
        const cl_fact_t *f = &doc->facts[i];
        e = put_text(ws, r, 0, f->label ? f->label : "", cell_format(x, &label, 1));
        if (!e)
            e = put_text(ws, r, 1, f->value ? f->value : "", NULL);
        wa = fmax(wa, text_width(f->label) + 2);
        wb = fmax(wb, text_width(f->value) + 2);
    }
    if (doc->n_facts)
        r++;
    char buf[128];
    for (size_t i = 0; i < doc->n_kpis && !e; i++, r++) {
        const cl_kpi_t *k = &doc->kpis[i];
        e = put_text(ws, r, 0, k->label ? k->label : "", cell_format(x, &label, 1));
        if (!e)
            e = put_cell(x, ws, r, 1, &k->value, 0);
        wa = fmax(wa, text_width(k->label) + 2);
        const char *s = k->value.kind == CL_CELL_TEXT
                            ? k->value.s
                            : cl_cell_format(&k->value, CL_FMT_HUMAN, buf, sizeof buf);
        wb = fmax(wb, text_width(s) + 2);
    }
    if (doc->n_kpis)
        r++;
    /* Which sheet holds which table: sheet names are ASCII ids, titles are localised. */
    for (size_t i = 0; i < doc->n_tables && !e; i++, r++) {
        const cl_table_t *t = &doc->tables[i];
        e = put_text(ws, r, 0, t->title ? t->title : "", NULL);
        if (!e)
            e = put_text(ws, r, 1, x->names[i + 1], NULL);
        wa = fmax(wa, text_width(t->title) + 2);
    }
    if (!e)
        e = worksheet_set_column(ws, 0, 0, clamp_width(wa, 10, 60), NULL);
    if (!e)
        e = worksheet_set_column(ws, 1, 1, clamp_width(wb, 12, 60), NULL);
    return e;
}

/** @brief One table's sheet: frozen, filterable header row, then its rows. */
static lxw_error table_sheet(xlsx_t *x, const cl_table_t *t, const char *name)
{
    lxw_worksheet *ws = workbook_add_worksheet(x->wb, name);
    if (!ws)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    if (t->n_cols > LXW_COL_MAX || t->n_rows >= LXW_ROW_MAX)
        return LXW_ERROR_WORKSHEET_INDEX_OUT_OF_RANGE;
    lxw_error e = LXW_NO_ERROR;
    for (size_t i = 0; i < t->n_cols && !e; i++) {
        lxw_col_t c = (lxw_col_t)i;
        e = worksheet_set_column(ws, c, c, col_width(t, i), NULL);
        int num = t->cols[i].kind != CL_CELL_TEXT && t->cols[i].kind != CL_CELL_EMPTY;
        if (!e)
            e = put_text(ws, 0, c, t->cols[i].label ? t->cols[i].label : "",
                         num ? x->header_num : x->header);
    }
    size_t last_data = 0; /* the filter stops above the totals at the bottom */
    for (size_t r = 0; r < t->n_rows && !e; r++) {
        int total = (t->rows[r].flags & CL_ROW_TOTAL) != 0;
        if (!total)
            last_data = r + 1;
        for (size_t i = 0; i < t->n_cols && !e; i++)
            e = put_cell(x, ws, (lxw_row_t)(r + 1), (lxw_col_t)i, &t->rows[r].cells[i], total);
    }
    worksheet_freeze_panes(ws, 1, 0);
    if (!e && t->n_cols)
        e = worksheet_repeat_rows(ws, 0, 0); /* the header on every printed page */
    if (!e && t->n_cols && last_data)
        e = worksheet_autofilter(ws, 0, 0, (lxw_row_t)last_data, (lxw_col_t)(t->n_cols - 1));
    return e;
}

/** @brief The header and title formats, created once. */
static lxw_error base_formats(xlsx_t *x)
{
    x->title = workbook_add_format(x->wb);
    x->header = workbook_add_format(x->wb);
    x->header_num = workbook_add_format(x->wb);
    if (!x->title || !x->header || !x->header_num)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    format_set_bold(x->title);
    format_set_font_size(x->title, 14);
    lxw_format *h[2] = {x->header, x->header_num};
    for (int i = 0; i < 2; i++) {
        format_set_bold(h[i]);
        format_set_bg_color(h[i], 0xDCE6F1);
        format_set_bottom(h[i], LXW_BORDER_THIN);
        format_set_align(h[i], LXW_ALIGN_VERTICAL_CENTER);
    }
    format_set_align(x->header_num, LXW_ALIGN_RIGHT); /* over right-aligned figures */
    return LXW_NO_ERROR;
}

/** @brief Write the workbook. */
int cl_render_xlsx(const cl_doc_t *doc, const char *path, char *err, size_t errsize)
{
    if (!doc || !path || !*path) {
        snprintf(err, errsize, "xlsx: no document or no output path");
        return -1;
    }
    char tmp[CL_TMP_PATH_MAX];
    cl_out_tmpname(path, tmp);
    /* constant_memory stays off: reports are hundreds of rows, and shared
     * strings keep repeated names small; its row-order rule buys nothing here. */
    lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = NULL};
    xlsx_t x = {.wb = workbook_new_opt(tmp, &opt)};
    x.names = calloc(doc->n_tables + 1, sizeof *x.names);
    if (!x.wb || !x.names) {
        if (x.wb)
            lxw_workbook_free(x.wb); /* nothing written to disk yet */
        free(x.names);
        snprintf(err, errsize, "xlsx: out of memory");
        return -1;
    }
    /* 0 would mean "now" to libxlsxwriter: the epoch's first second keeps the bytes stable. */
    lxw_doc_properties props = {
        .title = (char *)(doc->title ? doc->title : ""),
        .subject = (char *)(doc->subtitle ? doc->subtitle : ""),
        .author = "careledger",
        .company = "careledger",
        .created = doc->created ? (time_t)doc->created : 1,
    };
    lxw_error e = workbook_set_properties(x.wb, &props);
    if (!e)
        e = base_formats(&x);
    /* Every sheet's name first: the summary lists the tables' sheets. */
    sheet_name(&x, "summary", 0);
    for (size_t i = 0; i < doc->n_tables; i++)
        sheet_name(&x, doc->tables[i].id, i);
    if (!e)
        e = summary_sheet(&x, doc);
    for (size_t i = 0; i < doc->n_tables && !e; i++)
        e = table_sheet(&x, &doc->tables[i], x.names[i + 1]);
    if (!e && x.oom)
        e = LXW_ERROR_MEMORY_MALLOC_FAILED;
    /* workbook_close writes the file (or fails) and frees the workbook either way. */
    lxw_error ce = workbook_close(x.wb);
    free(x.fmts);
    free(x.names);
    if (e || ce) {
        unlink(tmp);
        snprintf(err, errsize, "cannot write %s: %s", path, lxw_strerror(e ? e : ce));
        return -1;
    }
    return cl_out_commit(tmp, path, err, errsize);
}
