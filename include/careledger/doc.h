/**
 * @file doc.h
 * @brief A report laid out for people, independent of format: a title, header
 * facts, KPIs, then headings, tables, charts and notes in reading order.
 *
 * Report models (report.h) become a document in report/layout.c; the csv,
 * xlsx, html and pdf renderers (render.h) read only this, so the three
 * reports share one implementation of each format. Figures stay exact here
 * (money in fen, ratios as numerator/denominator); each format decides how to
 * show them (cl_cell_format).
 */
#ifndef CARELEDGER_DOC_H
#define CARELEDGER_DOC_H

#include <stddef.h>
#include <stdint.h>

/** What a cell holds. */
typedef enum cl_cell_kind {
    CL_CELL_EMPTY = 0, /* no figure: "—" for people, empty for machines */
    CL_CELL_TEXT,      /* s */
    CL_CELL_INT,       /* i: a count */
    CL_CELL_MONEY,     /* i: fen, shown as yuan with two decimals */
    CL_CELL_RATIO,     /* i / den (den > 0), shown as a percentage */
    CL_CELL_NUMBER,    /* d with `decimals` decimals (medians, percentage points) */
    CL_CELL_DATE,      /* i: days since 1970-01-01 */
} cl_cell_kind_t;

/** A legend colour (SPEC §4 `legend`): red below a%, amber below b%, else green. */
typedef enum cl_band { CL_BAND_NONE = 0, CL_BAND_RED, CL_BAND_AMBER, CL_BAND_GREEN } cl_band_t;

typedef struct cl_cell {
    cl_cell_kind_t kind;
    cl_band_t band; /* colours the cell's background in pdf/html/xlsx */
    int64_t i;      /* INT, MONEY, DATE, RATIO's numerator */
    int64_t den;    /* RATIO's denominator */
    double d;       /* NUMBER */
    int decimals;   /* NUMBER */
    int sign;       /* NUMBER: 1 shows a leading "+" on positive values */
    const char *s;  /* TEXT; owned by the document */
} cl_cell_t;

typedef struct cl_col {
    const char *label;   /* localised header; owned by the document */
    cl_cell_kind_t kind; /* the kind of most cells: alignment and number format */
    double width;        /* relative width for pdf/html; 0 = 1 */
} cl_col_t;

#define CL_ROW_TOTAL 0x1 /* a totals row: bold, and no data row in machine formats' sums */

typedef struct cl_row {
    cl_cell_t *cells; /* n_cols of them; owned */
    int flags;
} cl_row_t;

typedef struct cl_table {
    const char *id;    /* ASCII slug: the csv file's suffix and the xlsx sheet name */
    const char *title; /* localised caption */
    cl_col_t *cols;
    size_t n_cols;
    cl_row_t *rows;
    size_t n_rows, cap;
} cl_table_t;

typedef enum cl_chart_kind {
    CL_CHART_BARS,    /* one bar per category and series; optional target line */
    CL_CHART_HBARS,   /* horizontal bars, first category on top (rankings) */
    CL_CHART_LINES,   /* one line per series over the categories (dates) */
    CL_CHART_HEATMAP, /* series = rows, categories = columns, values 0..1 */
} cl_chart_kind_t;

typedef struct cl_series {
    const char *name; /* legend entry; owned by the document */
    double *v;        /* n_x values; NAN = no value; owned */
} cl_series_t;

typedef struct cl_chart {
    const char *id, *title; /* id: ASCII slug */
    cl_chart_kind_t kind;
    const char *x_label, *y_label; /* may be NULL */
    const char **x;                /* n_x category labels; owned */
    size_t n_x;
    cl_series_t *series;
    size_t n_series;
    int y_percent;  /* values are fractions 0..1, shown as percentages */
    int y_money;    /* values are yuan */
    int has_target; /* a horizontal target line at `target` (BARS) */
    double target;
    const char *target_label;
    char *svg; /* set by cl_chart_render_all(): the chart as SVG, owned */
    size_t svg_len;
} cl_chart_t;

typedef enum cl_block_kind {
    CL_BLOCK_HEADING,
    CL_BLOCK_TEXT,
    CL_BLOCK_TABLE,
    CL_BLOCK_CHART
} cl_block_kind_t;

typedef struct cl_block {
    cl_block_kind_t kind;
    const char *text; /* HEADING, TEXT */
    size_t index;     /* TABLE: into tables; CHART: into charts */
} cl_block_t;

typedef struct cl_fact {
    const char *label, *value;
} cl_fact_t;

typedef struct cl_kpi {
    const char *label;
    cl_cell_t value;
} cl_kpi_t;

typedef struct cl_doc_arena cl_doc_arena_t;

typedef struct cl_doc {
    const char *report;   /* "daily", "finance", "compare" */
    const char *lang;     /* "zh" or "en" */
    const char *basename; /* file name stem, e.g. "daily-220000-2020-03-01" */
    const char *title;    /* the first line, e.g. the policy's title */
    const char *subtitle; /* e.g. "每日覆盖台账 · 吉林省 · 2020-03-01" */
    cl_fact_t *facts;     /* header lines */
    size_t n_facts;
    cl_kpi_t *kpis;
    size_t n_kpis;
    cl_block_t *blocks; /* the body in reading order */
    size_t n_blocks;
    cl_table_t *tables;
    size_t n_tables;
    cl_chart_t *charts;
    size_t n_charts;
    /* Unix seconds of the report's own time (its date, 00:00 UTC): the xlsx
     * document's created time, so that the same state gives the same bytes. */
    int64_t created;
    /* Unix seconds when rendered: the generated-at line of pdf/html only. */
    int64_t generated_at;
    const char *generated_label; /* "生成时间" / "Generated at" */
    const char *page_label;      /* printf format with two %d: page, pages */
    const char *font;            /* font family for pdf and charts */
    int oom;                     /* an allocation failed; the document is incomplete */
    cl_doc_arena_t *arena;
    size_t cap_facts, cap_kpis, cap_blocks, cap_tables, cap_charts;
} cl_doc_t;

/**
 * @brief Create an empty document. @p report and @p lang are copied.
 * Ownership: the caller frees it with cl_doc_destroy(). NULL when out of memory.
 */
cl_doc_t *cl_doc_create(const char *report, const char *lang);
/** @brief Free a document and everything it owns. NULL is allowed. */
void cl_doc_destroy(cl_doc_t *doc);

/** @brief A copy of @p s owned by the document (NULL stays NULL). */
const char *cl_doc_str(cl_doc_t *doc, const char *s);
/** @brief A printf-formatted string owned by the document. */
const char *cl_doc_fmt(cl_doc_t *doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** @brief Append a header fact; both strings are copied. */
void cl_doc_add_fact(cl_doc_t *doc, const char *label, const char *value);
/** @brief Append a KPI; the label (and a TEXT value's string) are copied. */
void cl_doc_add_kpi(cl_doc_t *doc, const char *label, cl_cell_t value);
/** @brief Append a heading to the body; copied. */
void cl_doc_add_heading(cl_doc_t *doc, const char *text);
/** @brief Append a paragraph to the body; copied. */
void cl_doc_add_text(cl_doc_t *doc, const char *text);

/**
 * @brief Append a table of @p n_cols columns to the body; @p id and @p title are copied.
 * @return the table (owned by the document, valid until the next add_table), or NULL.
 */
cl_table_t *cl_doc_add_table(cl_doc_t *doc, const char *id, const char *title, size_t n_cols);
/** @brief Set column @p i of @p t; the label is copied. */
void cl_doc_set_col(cl_doc_t *doc, cl_table_t *t, size_t i, const char *label, cl_cell_kind_t kind,
                    double width);
/**
 * @brief Append a row of empty cells to @p t.
 * @return its n_cols cells (owned by the table), or NULL when out of memory.
 */
cl_cell_t *cl_doc_add_row(cl_doc_t *doc, cl_table_t *t, int flags);

/**
 * @brief Append a chart with @p n_x categories and @p n_series series (values NAN)
 * to the body; strings are copied. @return the chart (owned by the document, valid
 * until the next add_chart), or NULL.
 */
cl_chart_t *cl_doc_add_chart(cl_doc_t *doc, const char *id, const char *title, cl_chart_kind_t kind,
                             size_t n_x, size_t n_series);

/**
 * @brief 1 when table block @p block should show its caption: not when the block
 * before it is a heading with the same text (the caption would repeat it).
 */
int cl_doc_caption_shown(const cl_doc_t *doc, size_t block);

/* Cell constructors; a TEXT cell's string is copied into @p doc. */
cl_cell_t cl_cell_text(cl_doc_t *doc, const char *s);
cl_cell_t cl_cell_int(int64_t v);
cl_cell_t cl_cell_money(int64_t fen);
/** @brief A ratio; EMPTY when @p den is 0. */
cl_cell_t cl_cell_ratio(int64_t num, int64_t den);
cl_cell_t cl_cell_number(double v, int decimals, int sign);
cl_cell_t cl_cell_date(int32_t day);

/** How a cell is written: for people (pdf, html) or for machines (csv). */
typedef enum cl_fmt_style {
    CL_FMT_HUMAN,  /* 12,400.00 · 85.7% · 1,234 · — */
    CL_FMT_MACHINE /* 12400.00 · 0.857143 · 1234 · (empty) */
} cl_fmt_style_t;

/**
 * @brief Write a cell as text into @p buf (always NUL-terminated).
 * Money is yuan with two decimals from exact fen; a ratio is a percentage with
 * one decimal for people and the fraction with six decimals for machines (the
 * JSON contract's precision). @return buf.
 */
char *cl_cell_format(const cl_cell_t *c, cl_fmt_style_t style, char *buf, size_t size);

/* Writing a file whole or not at all: output goes to a temporary name beside
 * @p path and is renamed over it only when complete. */
#define CL_TMP_PATH_MAX 4096

/** @brief The temporary name used for @p path (same directory). */
void cl_out_tmpname(const char *path, char tmp[CL_TMP_PATH_MAX]);
/** @brief Rename @p tmp over @p path; on failure the temporary is removed. 0 or -1. */
int cl_out_commit(const char *tmp, const char *path, char *err, size_t errsize);

#endif
