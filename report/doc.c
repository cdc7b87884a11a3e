/**
 * @file doc.c
 * @brief The format-independent report document: building it, formatting
 * its cells, and writing files whole or not at all.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "careledger/doc.h"
#include "careledger/time.h"

/* Everything a document owns besides its arrays: one list of allocations, freed together. */
struct cl_doc_arena {
    struct cl_doc_arena *next;
    char data[];
};

/** @brief Allocate @p n bytes owned by the document; NULL (and oom set) on failure. */
static void *arena_alloc(cl_doc_t *doc, size_t n)
{
    cl_doc_arena_t *a = malloc(sizeof *a + n);
    if (!a) {
        doc->oom = 1;
        return NULL;
    }
    a->next = doc->arena;
    doc->arena = a;
    return a->data;
}

/** @brief Grow an array of @p size-byte elements to hold one more; 0 or -1. */
static int grow(cl_doc_t *doc, void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, nc * size);
    if (!p) {
        doc->oom = 1;
        return -1;
    }
    *arr = p;
    *cap = nc;
    return 0;
}

/** @brief Create a document. */
cl_doc_t *cl_doc_create(const char *report, const char *lang)
{
    cl_doc_t *doc = calloc(1, sizeof *doc);
    if (!doc)
        return NULL;
    doc->report = cl_doc_str(doc, report);
    doc->lang = cl_doc_str(doc, lang ? lang : "zh");
    doc->font = "WenQuanYi Micro Hei";
    int en = lang && strcmp(lang, "en") == 0;
    doc->generated_label = en ? "Generated at" : "生成时间";
    doc->page_label = en ? "Page %d of %d" : "第 %d 页，共 %d 页";
    if (doc->oom) {
        cl_doc_destroy(doc);
        return NULL;
    }
    return doc;
}

/** @brief Destroy a document. */
void cl_doc_destroy(cl_doc_t *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n_tables; i++) {
        cl_table_t *t = &doc->tables[i];
        for (size_t r = 0; r < t->n_rows; r++)
            free(t->rows[r].cells);
        free(t->rows);
        free(t->cols);
    }
    for (size_t i = 0; i < doc->n_charts; i++) {
        cl_chart_t *c = &doc->charts[i];
        for (size_t s = 0; s < c->n_series; s++)
            free(c->series[s].v);
        free(c->series);
        free(c->x);
        free(c->svg);
    }
    free(doc->tables);
    free(doc->charts);
    free(doc->facts);
    free(doc->kpis);
    free(doc->blocks);
    while (doc->arena) {
        cl_doc_arena_t *n = doc->arena->next;
        free(doc->arena);
        doc->arena = n;
    }
    free(doc);
}

/** @brief Copy a string into the document. */
const char *cl_doc_str(cl_doc_t *doc, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(doc, n);
    if (p)
        memcpy(p, s, n);
    return p ? p : "";
}

/** @brief Format a string into the document. */
const char *cl_doc_fmt(cl_doc_t *doc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return "";
    char *p = arena_alloc(doc, (size_t)n + 1);
    if (!p)
        return "";
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/** @brief Append a header fact. */
void cl_doc_add_fact(cl_doc_t *doc, const char *label, const char *value)
{
    if (grow(doc, (void **)&doc->facts, doc->n_facts, &doc->cap_facts, sizeof *doc->facts))
        return;
    doc->facts[doc->n_facts++] = (cl_fact_t){cl_doc_str(doc, label), cl_doc_str(doc, value)};
}

/** @brief Append a KPI. */
void cl_doc_add_kpi(cl_doc_t *doc, const char *label, cl_cell_t value)
{
    if (grow(doc, (void **)&doc->kpis, doc->n_kpis, &doc->cap_kpis, sizeof *doc->kpis))
        return;
    if (value.kind == CL_CELL_TEXT)
        value.s = cl_doc_str(doc, value.s);
    doc->kpis[doc->n_kpis++] = (cl_kpi_t){cl_doc_str(doc, label), value};
}

/** @brief Append a body block. */
static void add_block(cl_doc_t *doc, cl_block_kind_t kind, const char *text, size_t index)
{
    if (grow(doc, (void **)&doc->blocks, doc->n_blocks, &doc->cap_blocks, sizeof *doc->blocks))
        return;
    doc->blocks[doc->n_blocks++] = (cl_block_t){kind, cl_doc_str(doc, text), index};
}

/** @brief Append a heading. */
void cl_doc_add_heading(cl_doc_t *doc, const char *text)
{
    add_block(doc, CL_BLOCK_HEADING, text, 0);
}

/** @brief Append a paragraph. */
void cl_doc_add_text(cl_doc_t *doc, const char *text)
{
    add_block(doc, CL_BLOCK_TEXT, text, 0);
}

/** @brief Append a table. */
cl_table_t *cl_doc_add_table(cl_doc_t *doc, const char *id, const char *title, size_t n_cols)
{
    if (grow(doc, (void **)&doc->tables, doc->n_tables, &doc->cap_tables, sizeof *doc->tables))
        return NULL;
    cl_col_t *cols = calloc(n_cols ? n_cols : 1, sizeof *cols);
    if (!cols) {
        doc->oom = 1;
        return NULL;
    }
    cl_table_t *t = &doc->tables[doc->n_tables];
    memset(t, 0, sizeof *t);
    t->id = cl_doc_str(doc, id);
    t->title = cl_doc_str(doc, title);
    t->cols = cols;
    t->n_cols = n_cols;
    add_block(doc, CL_BLOCK_TABLE, NULL, doc->n_tables++);
    return t;
}

/** @brief Set a column. */
void cl_doc_set_col(cl_doc_t *doc, cl_table_t *t, size_t i, const char *label, cl_cell_kind_t kind,
                    double width)
{
    if (!t || i >= t->n_cols)
        return;
    t->cols[i] = (cl_col_t){cl_doc_str(doc, label), kind, width > 0 ? width : 1};
}

/** @brief Append a row. */
cl_cell_t *cl_doc_add_row(cl_doc_t *doc, cl_table_t *t, int flags)
{
    if (!t || grow(doc, (void **)&t->rows, t->n_rows, &t->cap, sizeof *t->rows))
        return NULL;
    cl_cell_t *cells = calloc(t->n_cols ? t->n_cols : 1, sizeof *cells);
    if (!cells) {
        doc->oom = 1;
        return NULL;
    }
    t->rows[t->n_rows++] = (cl_row_t){cells, flags};
    return cells;
}

/** @brief Append a chart. */
cl_chart_t *cl_doc_add_chart(cl_doc_t *doc, const char *id, const char *title, cl_chart_kind_t kind,
                             size_t n_x, size_t n_series)
{
    if (grow(doc, (void **)&doc->charts, doc->n_charts, &doc->cap_charts, sizeof *doc->charts))
        return NULL;
    cl_chart_t *c = &doc->charts[doc->n_charts];
    memset(c, 0, sizeof *c);
    c->x = calloc(n_x ? n_x : 1, sizeof *c->x);
    c->series = calloc(n_series ? n_series : 1, sizeof *c->series);
    if (!c->x || !c->series) {
        free(c->x);
        free(c->series);
        doc->oom = 1;
        return NULL;
    }
    c->n_x = n_x;
    for (size_t s = 0; s < n_series; s++) {
        c->series[s].v = malloc((n_x ? n_x : 1) * sizeof(double));
        if (!c->series[s].v) {
            for (size_t k = 0; k < s; k++)
                free(c->series[k].v);
            free(c->x);
            free(c->series);
            doc->oom = 1;
            return NULL;
        }
        for (size_t k = 0; k < n_x; k++)
            c->series[s].v[k] = NAN;
        c->series[s].name = "";
    }
    c->n_series = n_series;
    for (size_t k = 0; k < n_x; k++)
        c->x[k] = "";
    c->id = cl_doc_str(doc, id);
    c->title = cl_doc_str(doc, title);
    c->kind = kind;
    add_block(doc, CL_BLOCK_CHART, NULL, doc->n_charts++);
    return c;
}

/** @brief Whether a table's caption adds anything to the heading before it. */
int cl_doc_caption_shown(const cl_doc_t *doc, size_t block)
{
    if (block == 0 || block >= doc->n_blocks || doc->blocks[block].kind != CL_BLOCK_TABLE)
        return 1;
    const cl_block_t *prev = &doc->blocks[block - 1];
    const cl_table_t *t = &doc->tables[doc->blocks[block].index];
    return !(prev->kind == CL_BLOCK_HEADING && prev->text && t->title &&
             strcmp(prev->text, t->title) == 0);
}

/** @brief A text cell. */
cl_cell_t cl_cell_text(cl_doc_t *doc, const char *s)
{
    return (cl_cell_t){.kind = s ? CL_CELL_TEXT : CL_CELL_EMPTY, .s = cl_doc_str(doc, s)};
}

/** @brief A count cell. */
cl_cell_t cl_cell_int(int64_t v)
{
    return (cl_cell_t){.kind = CL_CELL_INT, .i = v};
}

/** @brief A money cell. */
cl_cell_t cl_cell_money(int64_t fen)
{
    return (cl_cell_t){.kind = CL_CELL_MONEY, .i = fen};
}

/** @brief A ratio cell. */
cl_cell_t cl_cell_ratio(int64_t num, int64_t den)
{
    if (den <= 0)
        return (cl_cell_t){.kind = CL_CELL_EMPTY};
    return (cl_cell_t){.kind = CL_CELL_RATIO, .i = num, .den = den};
}

/** @brief A number cell. */
cl_cell_t cl_cell_number(double v, int decimals, int sign)
{
    return (cl_cell_t){.kind = CL_CELL_NUMBER, .d = v, .decimals = decimals, .sign = sign};
}

/** @brief A date cell. */
cl_cell_t cl_cell_date(int32_t day)
{
    return (cl_cell_t){.kind = CL_CELL_DATE, .i = day};
}

/** @brief Digits of @p v with a comma every three when @p group. */
static void put_int(uint64_t v, int neg, int group, char *buf, size_t size)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    char out[48];
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (group && i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = '\0';
    snprintf(buf, size, "%s", out);
}

/** @brief Format a cell. */
char *cl_cell_format(const cl_cell_t *c, cl_fmt_style_t style, char *buf, size_t size)
{
    int human = style == CL_FMT_HUMAN;
    char d[CL_DATE_LEN];
    buf[0] = '\0';
    switch (c->kind) {
    case CL_CELL_EMPTY:
        snprintf(buf, size, "%s", human ? "—" : "");
        break;
    case CL_CELL_TEXT:
        snprintf(buf, size, "%s", c->s ? c->s : "");
        break;
    case CL_CELL_INT: {
        uint64_t m = c->i < 0 ? (uint64_t)0 - (uint64_t)c->i : (uint64_t)c->i;
        put_int(m, c->i < 0, human, buf, size);
        break;
    }
    case CL_CELL_MONEY: {
        /* Exact: yuan and fen from the integer, never through a double. */
        uint64_t m = c->i < 0 ? (uint64_t)0 - (uint64_t)c->i : (uint64_t)c->i;
        char y[48];
        put_int(m / 100, c->i < 0, human, y, sizeof y);
        snprintf(buf, size, "%s.%02u", y, (unsigned)(m % 100));
        break;
    }
    case CL_CELL_RATIO:
        if (human)
            snprintf(buf, size, "%.1f%%", 100.0 * (double)c->i / (double)c->den);
        else
            snprintf(buf, size, "%.6f", (double)c->i / (double)c->den);
        break;
    case CL_CELL_NUMBER: {
        /* Half away from zero, as spreadsheets round the same number for display. */
        double scale = pow(10.0, c->decimals);
        double v = round(c->d * scale) / scale;
        /* No "-0.0": a change that rounds to zero is zero. */
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.*f", c->decimals, v);
        if (tmp[0] == '-' && strspn(tmp + 1, "0.") == strlen(tmp + 1))
            memmove(tmp, tmp + 1, strlen(tmp));
        int plus = c->sign && tmp[0] != '-' && strspn(tmp, "0.") != strlen(tmp);
        snprintf(buf, size, "%s%s", plus ? "+" : "", tmp);
        break;
    }
    case CL_CELL_DATE:
        snprintf(buf, size, "%s", cl_date_format((int32_t)c->i, d));
        break;
    }
    return buf;
}

/** @brief The temporary name of a path. */
void cl_out_tmpname(const char *path, char tmp[CL_TMP_PATH_MAX])
{
    snprintf(tmp, CL_TMP_PATH_MAX, "%s.tmp%ld", path, (long)getpid());
}

/** @brief Rename a finished temporary over its path. */
int cl_out_commit(const char *tmp, const char *path, char *err, size_t errsize)
{
    if (rename(tmp, path) == 0)
        return 0;
    snprintf(err, errsize, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
}
