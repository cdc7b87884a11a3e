/**
 * @file chart.c
 * @brief Charts drawn by gnuplot through a pipe (SPEC §8).
 *
 * The script goes to gnuplot's stdin; gnuplot writes the SVG to a temporary
 * file and its messages to another. The shell command holds only our own
 * paths. Labels come from event data, so they only ever appear inside
 * single-quoted gnuplot strings, which gnuplot never expands (no backquote
 * command substitution, no @macros, unlike double-quoted ones); numbers go in
 * an inline datablock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "careledger/buf.h"
#include "careledger/chart.h"

#define CHART_W         800
#define CHART_H         400
#define TIMEOUT_DEFAULT 60         /* seconds before gnuplot is killed */
#define SVG_MAX         (64 << 20) /* a chart's SVG is a few hundred KiB at most */
#define LABEL_MAX_CP    48         /* longer labels are cut with "…" so the plot stays readable */

/* One colour per series, cycling: distinguishable and printable. */
static const char *const COLOURS[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                      "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};
#define N_COLOURS (sizeof COLOURS / sizeof COLOURS[0])

/** @brief Length of the valid UTF-8 sequence at @p s (1..4) with its code point, or 0. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/**
 * @brief Append @p s as a gnuplot string expression of single-quoted parts:
 * control characters become spaces, invalid UTF-8 '?', and it is cut after
 * @p max_cp code points. An apostrophe is its own part, "'", joined with '.':
 * gnuplot 5.4 reads a doubled '' as an empty string at the start of a string
 * or after another doubled one, which breaks the script. @p tic doubles '%'
 * too: gnuplot formats explicit tic labels with gprintf.
 */
static void put_str(cl_buf_t *b, const char *s, int tic, size_t max_cp)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    int parts = 0, open = 0;
    for (size_t cps = 0; *p; cps++) {
        uint32_t cp = 0;
        size_t n = cps == max_cp ? 0 : utf8_seq(p, &cp);
        if (n && cp == '\'') {
            cl_buf_puts(b, open ? "'.\"'\"" : parts ? ".\"'\"" : "\"'\"");
            open = 0;
            parts++;
            p++;
            continue;
        }
        if (!open) {
            cl_buf_puts(b, parts ? ".'" : "'");
            open = 1;
            parts++;
        }
        if (cps == max_cp) {
            cl_buf_puts(b, "…");
            break;
        }
        if (n == 0) {
            cl_buf_putc(b, '?');
            p++;
        } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029) {
            cl_buf_putc(b, ' ');
            p += n;
        } else if (cp == '%' && tic) {
            cl_buf_puts(b, "%%");
            p++;
        } else {
            cl_buf_add(b, p, n);
            p += n;
        }
    }
    if (open)
        cl_buf_putc(b, '\'');
    else if (!parts)
        cl_buf_puts(b, "''");
}

/** @brief Append a number for gnuplot's data; anything not finite is NaN. */
static void put_num(cl_buf_t *b, double v)
{
    if (isfinite(v))
        cl_buf_printf(b, " %.10g", v);
    else
        cl_buf_puts(b, " NaN");
}

/** @brief Display width of a label in character cells (CJK counts two). */
static size_t label_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        uint32_t cp;
        size_t n = utf8_seq(p, &cp);
        if (n == 0)
            n = 1, cp = '?';
        w += cp >= 0x1100 ? 2 : 1;
        p += n;
    }
    return w > LABEL_MAX_CP * 2 ? LABEL_MAX_CP * 2 : w;
}

/** @brief @p v with thousands separators and @p decimals decimals, into @p out. */
static void fmt_grouped(double v, int decimals, char *out, size_t size)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*f", decimals, fabs(v));
    if (strspn(tmp, "0.") == strlen(tmp))
        v = 0; /* no "-0" */
    const char *dot = strchr(tmp, '.');
    size_t int_len = dot ? (size_t)(dot - tmp) : strlen(tmp);
    char res[96];
    size_t o = 0;
    if (v < 0)
        res[o++] = '-';
    for (size_t i = 0; i < int_len; i++) {
        if (i > 0 && (int_len - i) % 3 == 0)
            res[o++] = ',';
        res[o++] = tmp[i];
    }
    res[o] = '\0';
    snprintf(out, size, "%s%s", res, dot ? dot : "");
}

/** @brief A "nice" tic step (1, 2 or 5 × 10^k) for about five intervals over @p span. */
static double nice_step(double span)
{
    double raw = span / 5;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/** @brief How values are shown on the value axis. */
typedef struct axis {
    double lo, hi, step, scale; /* scale: ×100 for percentages */
} axis_t;

/**
 * @brief The value axis of @p c: from 0 (or below, for negatives) to a nice
 * bound above every value and the target; percentages go to 100% at least.
 * @p headroom widens the top for value labels. @return 0, or -1 when no value is finite.
 */
static int value_axis(const cl_chart_t *c, double headroom, axis_t *ax)
{
    ax->scale = c->y_percent ? 100 : 1;
    double lo = 0, hi = c->y_percent ? 100 : 0;
    int any = 0;
    for (size_t s = 0; s < c->n_series; s++)
        for (size_t i = 0; i < c->n_x; i++) {
            double v = c->series[s].v[i] * ax->scale;
            if (!isfinite(v))
                continue;
            any = 1;
            lo = v < lo ? v : lo;
            hi = v * headroom > hi ? v * headroom : hi;
        }
    if (c->has_target && isfinite(c->target))
        hi = c->target * ax->scale > hi ? c->target * ax->scale : hi;
    if (hi <= lo)
        hi = lo + 1;
    ax->step = nice_step(hi - lo);
    ax->lo = floor(lo / ax->step) * ax->step;
    ax->hi = ceil(hi / ax->step) * ax->step;
    /* Values beyond any real figure (1e300) would give gnuplot an infinite range. */
    return any && isfinite(ax->lo) && isfinite(ax->hi) && ax->step > 0 ? 0 : -1;
}

/** @brief Append "set Xtics (...)" for the value axis @p name with grouped money labels. */
static void money_tics(cl_buf_t *b, const char *name, const axis_t *ax)
{
    cl_buf_printf(b, "set %stics (", name);
    int decimals = ax->step < 1 ? 2 : 0;
    int first = 1;
    for (double v = ax->lo; v <= ax->hi + ax->step / 1e6; v += ax->step) {
        char lab[64];
        fmt_grouped(v, decimals, lab, sizeof lab);
        cl_buf_printf(b, "%s'%s' %.10g", first ? "" : ", ", lab, v);
        first = 0;
    }
    cl_buf_puts(b, ") nomirror\n");
}

/** @brief "set xlabel '...'" (or y) when @p label is set. */
static void put_axis_label(cl_buf_t *b, const char *name, const char *label)
{
    if (!label)
        return;
    cl_buf_printf(b, "set %slabel ", name);
    put_str(b, label, 0, LABEL_MAX_CP);
    cl_buf_putc(b, '\n');
}

/** @brief Tics, range and label of the value axis @p name ("x" or "y"). */
static void put_value_axis(cl_buf_t *b, const cl_chart_t *c, const char *name, const axis_t *ax,
                           const char *lang)
{
    int en = lang && strcmp(lang, "en") == 0;
    cl_buf_printf(b, "set %srange [%.10g:%.10g]\n", name, ax->lo, ax->hi);
    if (c->y_money)
        money_tics(b, name, ax);
    else if (c->y_percent)
        cl_buf_printf(b, "set format %s '%%g%%%%'\nset %stics nomirror\n", name, name);
    else
        cl_buf_printf(b, "set %stics nomirror\n", name);
    put_axis_label(b, name, c->y_label ? c->y_label : c->y_money ? (en ? "yuan" : "元") : NULL);
    cl_buf_printf(b, "set grid %stics lc rgb '#d0d0d0' dt 3\n", name);
}

/** @brief A value as a label at the end of a bar: grouped money, a percentage or a count. */
static void fmt_value(const cl_chart_t *c, double v, char *out, size_t size)
{
    if (c->y_percent)
        snprintf(out, size, "%.1f%%", v * 100);
    else
        fmt_grouped(v, c->y_money || v != floor(v) ? 2 : 0, out, size);
}

/**
 * @brief "set xtics (...)" (or y) for the categories of @p c at positions
 * @p pos0 + i × @p dir, every @p every-th label.
 */
static void category_tics(cl_buf_t *b, const cl_chart_t *c, const char *name, double pos0,
                          double dir, size_t every)
{
    cl_buf_printf(b, "set %stics (", name);
    int first = 1;
    for (size_t i = 0; i < c->n_x; i++) {
        /* Counted back from the last category: the latest date is the one people look for. */
        if ((c->n_x - 1 - i) % every != 0)
            continue;
        cl_buf_puts(b, first ? "" : ", ");
        put_str(b, c->x[i], 1, LABEL_MAX_CP);
        cl_buf_printf(b, " %.10g", pos0 + dir * (double)i);
        first = 0;
    }
    cl_buf_puts(b, ") nomirror scale 0");
}

/** @brief Whether @p n labels of the widest category would collide when written level. */
static int crowded(const cl_chart_t *c, size_t n, double room)
{
    size_t w = 0;
    for (size_t i = 0; i < c->n_x; i++) {
        size_t lw = label_width(c->x[i]);
        w = lw > w ? lw : w;
    }
    /* About 6 px per character cell at 10 pt, plus a gap. */
    return (double)n * ((double)w * 6 + 10) > room;
}

/** @brief The key entry of series @p s (its name) after the plot element. */
static void put_title(cl_buf_t *b, const char *name)
{
    cl_buf_puts(b, " title ");
    put_str(b, name, 0, LABEL_MAX_CP);
}

/** @brief The datablock: one row per category, the index then each series' value × @p scale. */
static void put_data(cl_buf_t *b, const cl_chart_t *c, double scale)
{
    cl_buf_puts(b, "$d << EOD\n");
    for (size_t i = 0; i < c->n_x; i++) {
        cl_buf_printf(b, "%zu", i);
        for (size_t s = 0; s < c->n_series; s++)
            put_num(b, c->series[s].v[i] * scale);
        cl_buf_putc(b, '\n');
    }
    cl_buf_puts(b, "EOD\n");
}

/** @brief A chart with nothing to plot: a frame saying so, rather than a gnuplot error. */
static void script_empty(cl_buf_t *b, const char *lang)
{
    int en = lang && strcmp(lang, "en") == 0;
    cl_buf_printf(b,
                  "unset key\nunset tics\nunset border\n"
                  "set label 1 '%s' at graph 0.5, graph 0.5 center\n"
                  "plot [0:1] [0:1] 2 notitle\n",
                  en ? "No data" : "无数据");
}

/** @brief Vertical bars: a group per category, a colour per series, an optional target line. */
static void script_bars(cl_buf_t *b, const cl_chart_t *c, const char *lang)
{
    axis_t ax;
    if (value_axis(c, 1, &ax) != 0) {
        script_empty(b, lang);
        return;
    }
    int en = lang && strcmp(lang, "en") == 0;
    put_data(b, c, ax.scale);
    double bw = 0.8 / (double)c->n_series;
    cl_buf_printf(b, "set xrange [-0.6:%.10g]\n", (double)c->n_x - 0.4);
    category_tics(b, c, "x", 0, 1, 1);
    cl_buf_puts(b, crowded(c, c->n_x, 700) ? " rotate by 45 right\n" : "\n");
    put_axis_label(b, "x", c->x_label);
    put_value_axis(b, c, "y", &ax, lang);
    cl_buf_printf(b, "set boxwidth %.10g absolute\nset style fill solid 0.9 noborder\n", bw);
    cl_buf_puts(b, "set key outside top center horizontal\nset samples 2\nplot ");
    for (size_t s = 0; s < c->n_series; s++) {
        double off = ((double)s - ((double)c->n_series - 1) / 2) * bw;
        cl_buf_printf(b, "%s$d using ($1%+.10g):%zu with boxes lc rgb '%s'", s ? ", " : "", off,
                      s + 2, COLOURS[s % N_COLOURS]);
        put_title(b, c->series[s].name);
    }
    if (c->has_target && isfinite(c->target)) {
        cl_buf_printf(b, ", %.10g with lines dt 2 lw 2 lc rgb '#c00000'", c->target * ax.scale);
        put_title(b, c->target_label ? c->target_label : en ? "Target" : "目标");
    }
    cl_buf_putc(b, '\n');
}

/** @brief Horizontal bars, first category on top, the value at the end of each bar. */
static void script_hbars(cl_buf_t *b, const cl_chart_t *c, const char *lang)
{
    axis_t ax;
    /* Room on the right for the value labels. */
    if (value_axis(c, 1.18, &ax) != 0) {
        script_empty(b, lang);
        return;
    }
    put_data(b, c, ax.scale);
    double n = (double)c->n_x;
    double bh = 0.8 / (double)c->n_series;
    cl_buf_printf(b, "set yrange [-0.6:%.10g]\n", n - 0.4);
    category_tics(b, c, "y", n - 1, -1, 1);
    cl_buf_putc(b, '\n');
    put_axis_label(b, "y", c->x_label);
    put_value_axis(b, c, "x", &ax, lang);
    cl_buf_puts(b, "set style fill solid 0.9 noborder\n");
    if (c->n_x * c->n_series <= 40) {
        int tag = 1;
        for (size_t s = 0; s < c->n_series; s++)
            for (size_t i = 0; i < c->n_x; i++) {
                double v = c->series[s].v[i];
                if (!isfinite(v * ax.scale))
                    continue;
                char lab[64];
                fmt_value(c, v, lab, sizeof lab);
                double y = n - 1 - (double)i + (((double)c->n_series - 1) / 2 - (double)s) * bh;
                cl_buf_printf(b, "set label %d '%s' at %.10g, %.10g left offset 0.5,0 font ',9'\n",
                              tag++, lab, v * ax.scale > 0 ? v * ax.scale : 0, y);
            }
    }
    cl_buf_puts(b, "set key outside top center horizontal\nplot ");
    for (size_t s = 0; s < c->n_series; s++) {
        double off = (((double)c->n_series - 1) / 2 - (double)s) * bh;
        /* Column 1 is the index; category i sits at n-1-i so that the first is on top. */
        cl_buf_printf(b,
                      "%s$d using (column(%zu)/2):(%.10g-$1%+.10g):(abs(column(%zu))/2):(%.10g) "
                      "with boxxyerror lc rgb '%s'",
                      s ? ", " : "", s + 2, n - 1, off, s + 2, bh / 2, COLOURS[s % N_COLOURS]);
        put_title(b, c->series[s].name);
    }
    cl_buf_putc(b, '\n');
}

/** @brief Lines over dates: at most about eight labels on the x axis, slanted. */
static void script_lines(cl_buf_t *b, const cl_chart_t *c, const char *lang)
{
    axis_t ax;
    if (value_axis(c, 1, &ax) != 0) {
        script_empty(b, lang);
        return;
    }
    put_data(b, c, ax.scale);
    size_t every = (c->n_x + 7) / 8;
    every = every ? every : 1;
    double hi = c->n_x > 1 ? (double)c->n_x - 1 : 0.5;
    cl_buf_printf(b, "set xrange [%.10g:%.10g]\n", c->n_x > 1 ? 0.0 : -0.5, hi);
    category_tics(b, c, "x", 0, 1, every);
    cl_buf_puts(b, " rotate by 30 right\n");
    put_axis_label(b, "x", c->x_label);
    put_value_axis(b, c, "y", &ax, lang);
    cl_buf_puts(b, "set key outside top center horizontal\nplot ");
    for (size_t s = 0; s < c->n_series; s++) {
        cl_buf_printf(b, "%s$d using 1:%zu with linespoints pt 7 ps 0.4 lw 2 lc rgb '%s'",
                      s ? ", " : "", s + 2, COLOURS[s % N_COLOURS]);
        put_title(b, c->series[s].name);
    }
    cl_buf_putc(b, '\n');
}

/**
 * @brief Heatmap: a row per series (first on top), a column per category,
 * cells coloured red → amber → green over 0..1 with the value as a
 * percentage; cells without a value are grey and blank.
 */
static void script_heatmap(cl_buf_t *b, const cl_chart_t *c, int width, const char *lang)
{
    size_t rows = c->n_series, cols = c->n_x;
    if (!rows || !cols) {
        script_empty(b, lang);
        return;
    }
    /* Rows: x, y, value, and whether there is one (numbers only in the data). */
    cl_buf_puts(b, "$d << EOD\n");
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < cols; i++) {
            double v = c->series[r].v[i];
            int has = isfinite(v);
            cl_buf_printf(b, "%zu %zu", i, rows - 1 - r);
            put_num(b, has ? v : 0);
            cl_buf_printf(b, " %d\n", has);
        }
    cl_buf_puts(b, "EOD\n");
    cl_buf_printf(b, "set xrange [-0.5:%.10g]\nset yrange [-0.5:%.10g]\n", (double)cols - 0.5,
                  (double)rows - 0.5);
    category_tics(b, c, "x", 0, 1, 1);
    cl_buf_puts(b, crowded(c, cols, width - 260) ? " rotate by 90 right\n" : "\n");
    cl_buf_puts(b, "set ytics (");
    for (size_t r = 0; r < rows; r++) {
        cl_buf_puts(b, r ? ", " : "");
        put_str(b, c->series[r].name, 1, LABEL_MAX_CP);
        cl_buf_printf(b, " %zu", rows - 1 - r);
    }
    cl_buf_puts(b, ") nomirror scale 0\n");
    put_axis_label(b, "x", c->x_label);
    put_axis_label(b, "y", c->y_label);
    /* Narrow cells drop the "%" and the font shrinks, so that "100" still fits. */
    double cell = (double)(width - 260) / (double)cols;
    const char *fmt = cell >= 30 ? "%.0f%%" : "%.0f";
    int font = cell >= 40 ? 9 : cell >= 22 ? 8 : 7;
    cl_buf_puts(b, "set palette defined (0 '#e06666', 0.5 '#f6c26b', 1 '#6aa84f')\n"
                   "set cbrange [0:1]\nset cbtics ('0%%' 0, '50%%' 0.5, '100%%' 1) scale 0\n"
                   "set colorbox user origin graph 1.03, graph 0 size character 1.5, graph 1\n"
                   "set rmargin 12\nset border 0\nunset key\n"
                   "set style fill solid 1.0 border lc rgb '#ffffff'\n");
    cl_buf_printf(
        b,
        "plot $d using 1:($4 > 0 ? 1/0 : $2):(0.5):(0.5) with boxxyerror fc rgb '#e4e4e4', "
        "$d using 1:($4 > 0 ? $2 : 1/0):(0.5):(0.5):3 with boxxyerror fc palette z, "
        "$d using 1:($4 > 0 ? $2 : 1/0):(sprintf('%s', $3*100)) with labels font ',%d'\n",
        fmt, font);
}

/** @brief The whole gnuplot script for @p c, writing SVG to @p out. */
static void script(cl_buf_t *b, const cl_chart_t *c, const char *font, const char *lang,
                   const char *out)
{
    int w = CHART_W, h = CHART_H;
    if (c->kind == CL_CHART_HEATMAP) {
        h = 110 + 24 * (int)(c->n_series < 100 ? c->n_series : 100) +
            (crowded(c, c->n_x, w - 260) ? 60 : 0);
        h = h < 220 ? 220 : h;
    } else if (c->kind == CL_CHART_HBARS && c->n_x * c->n_series > 12)
        h = 120 + 22 * (int)(c->n_x * c->n_series < 100 ? c->n_x * c->n_series : 100);
    cl_buf_puts(b, "set encoding utf8\n");
    cl_buf_printf(b, "set terminal svg size %d,%d font ", w, h);
    /* The font name is configuration, not data; still only name characters pass. */
    char fs[128];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(font ? font : ""); *p && o < 100; p++)
        if (*p >= 0x80 || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
            strchr(" -_.", *p))
            fs[o++] = (char)*p;
    fs[o] = '\0';
    cl_buf_printf(b, "'%s,10' noenhanced background '#ffffff'\n", o ? fs : "sans");
    cl_buf_puts(b, "set output ");
    put_str(b, out, 0, SIZE_MAX);
    cl_buf_puts(b, "\n");
    switch (c->kind) {
    case CL_CHART_BARS:
        if (c->n_x && c->n_series)
            script_bars(b, c, lang);
        else
            script_empty(b, lang);
        break;
    case CL_CHART_HBARS:
        if (c->n_x && c->n_series)
            script_hbars(b, c, lang);
        else
            script_empty(b, lang);
        break;
    case CL_CHART_LINES:
        if (c->n_x && c->n_series)
            script_lines(b, c, lang);
        else
            script_empty(b, lang);
        break;
    case CL_CHART_HEATMAP:
        script_heatmap(b, c, w, lang);
        break;
    default:
        script_empty(b, lang);
    }
    cl_buf_puts(b, "set output\nexit\n");
}

/** @brief Whether @p path is a regular file we may execute. */
static int executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/** @brief Search $PATH for @p name into @p out; 0 or -1. */
static int search_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        /* An empty entry means the current directory. */
        int len = snprintf(out, size, "%.*s/%s", (int)(n ? n : 1), n ? p : ".", name);
        if (len > 0 && (size_t)len < size && executable(out))
            return 0;
        if (!end)
            break;
        p = end + 1;
    }
    return -1;
}

/**
 * @brief The gnuplot to run into @p out: $CARELEDGER_GNUPLOT when set (and
 * only it), else the first on $PATH. 0, or -1 with the reason in @p err.
 */
static int find_gnuplot(char *out, size_t size, char *err, size_t errsize)
{
    const char *env = getenv("CARELEDGER_GNUPLOT");
    if (env && *env) {
        if (strlen(env) < size && executable(env)) {
            snprintf(out, size, "%s", env);
            return 0;
        }
        snprintf(err, errsize, "gnuplot not found: CARELEDGER_GNUPLOT is not an executable file");
        return -1;
    }
    if (search_path("gnuplot", out, size) == 0)
        return 0;
    snprintf(err, errsize, "gnuplot not found on PATH (install gnuplot-nox; scripts/setup does)");
    return -1;
}

/** @brief Whether gnuplot can be run. */
int cl_chart_available(void)
{
    char path[PATH_MAX], err[256];
    return find_gnuplot(path, sizeof path, err, sizeof err) == 0;
}

/** @brief Append @p s to @p b quoted for sh. */
static void sh_quote(cl_buf_t *b, const char *s)
{
    cl_buf_putc(b, '\'');
    for (; *s; s++)
        if (*s == '\'')
            cl_buf_puts(b, "'\\''");
        else
            cl_buf_putc(b, *s);
    cl_buf_putc(b, '\'');
}

/** @brief Read up to @p max bytes of the open file @p fd from its start; NULL on failure. */
static char *read_fd(int fd, size_t max, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 0 || (size_t)st.st_size > max)
        return NULL;
    size_t n = (size_t)st.st_size;
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    p[got] = '\0';
    *len = got;
    return p;
}

/**
 * @brief The line of gnuplot's messages that says what went wrong, into @p out:
 * the first "line N: ..." message (gnuplot first echoes the command, which
 * may hold data), else the first non-blank line; control characters as spaces.
 */
static void first_error_line(int fd, char *out, size_t size)
{
    size_t len = 0;
    char *text = read_fd(fd, 1 << 20, &len);
    out[0] = '\0';
    if (!text)
        return;
    const char *pick = NULL, *pick_end = NULL;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        char *s = line;
        while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        unsigned nr;
        char colon;
        int msg = sscanf(s, "line %u%c", &nr, &colon) == 2 && colon == ':';
        if (s < end && (msg || !pick)) {
            pick = s, pick_end = end;
            if (msg)
                break;
        }
        line = *end ? end + 1 : end;
    }
    if (pick) {
        size_t n = (size_t)(pick_end - pick);
        while (n && (pick[n - 1] == ' ' || pick[n - 1] == '\r'))
            n--;
        n = n < size - 1 ? n : size - 1;
        for (size_t i = 0; i < n; i++)
            out[i] = (unsigned char)pick[i] < 0x20 || pick[i] == 0x7f ? ' ' : pick[i];
        out[n] = '\0';
    }
    free(text);
}

/** @brief Replace every "]]>" in the SVG @p *svg by "]]&gt;"; 0, or -1 when out of memory. */
static int escape_cdata_end(char **svg, size_t *len)
{
    cl_buf_t b = {0};
    const char *p = *svg, *q;
    while ((q = strstr(p, "]]>")) != NULL) {
        cl_buf_add(&b, p, (size_t)(q - p));
        cl_buf_puts(&b, "]]&gt;");
        p = q + 3;
    }
    cl_buf_puts(&b, p);
    if (b.oom) {
        cl_buf_free(&b);
        return -1;
    }
    free(*svg);
    *svg = b.p;
    *len = b.len;
    return 0;
}

/** @brief The directory for temporary files: $TMPDIR when usable, else /tmp. */
static const char *tmp_dir(void)
{
    const char *d = getenv("TMPDIR");
    if (!d || d[0] != '/' || strlen(d) > 3000)
        return "/tmp";
    for (const char *p = d; *p; p++)
        if ((unsigned char)*p < 0x20)
            return "/tmp";
    return d;
}

/** @brief Seconds before gnuplot is stopped ($CARELEDGER_GNUPLOT_TIMEOUT, default 60). */
static unsigned timeout_seconds(void)
{
    const char *e = getenv("CARELEDGER_GNUPLOT_TIMEOUT");
    char *end;
    unsigned long v = e && *e ? strtoul(e, &end, 10) : 0;
    return e && *e && !*end && v > 0 && v < 86400 ? (unsigned)v : TIMEOUT_DEFAULT;
}

/** @brief Render one chart with gnuplot. */
int cl_chart_render(cl_chart_t *chart, const char *font, const char *lang, char *err,
                    size_t errsize)
{
    char gnuplot[PATH_MAX], timeout[PATH_MAX];
    if (find_gnuplot(gnuplot, sizeof gnuplot, err, errsize) != 0)
        return -1;
    const char *id = chart->id ? chart->id : "?";
    /* coreutils' timeout stops a gnuplot that hangs; without it we rely on gnuplot exiting. */
    int have_timeout = search_path("timeout", timeout, sizeof timeout) == 0;

    char out_path[4096], err_path[4096];
    snprintf(out_path, sizeof out_path, "%s/careledger-chart-XXXXXX", tmp_dir());
    snprintf(err_path, sizeof err_path, "%s/careledger-gnuplot-XXXXXX", tmp_dir());
    int out_fd = mkostemp(out_path, O_CLOEXEC);
    if (out_fd < 0) {
        snprintf(err, errsize, "cannot create a temporary file in %s: %s", tmp_dir(),
                 strerror(errno));
        return -1;
    }
    int err_fd = mkostemp(err_path, O_CLOEXEC);
    if (err_fd < 0) {
        snprintf(err, errsize, "cannot create a temporary file in %s: %s", tmp_dir(),
                 strerror(errno));
        close(out_fd);
        unlink(out_path);
        return -1;
    }

    int rc = -1;
    cl_buf_t cmd = {0}, gp = {0};
    cl_buf_puts(&cmd, "exec ");
    if (have_timeout) {
        sh_quote(&cmd, timeout);
        cl_buf_printf(&cmd, " -k 5 %u ", timeout_seconds());
    }
    sh_quote(&cmd, gnuplot);
    cl_buf_puts(&cmd, " >/dev/null 2>");
    sh_quote(&cmd, err_path);
    script(&gp, chart, font, lang, out_path);
    if (cmd.oom || gp.oom) {
        snprintf(err, errsize, "out of memory drawing chart %s", id);
        goto done;
    }

    /* "e": no other child started meanwhile keeps the pipe open, so gnuplot sees EOF. */
    FILE *pipe = popen(cmd.p, "we");
    if (!pipe) {
        snprintf(err, errsize, "cannot start gnuplot for chart %s: %s", id, strerror(errno));
        goto done;
    }
    /* Write errors (EPIPE when gnuplot died early) are reported after its exit status,
     * which says more. */
    int write_errno = 0;
    errno = 0;
    if (fwrite(gp.p, 1, gp.len, pipe) != gp.len || fflush(pipe) != 0)
        write_errno = errno ? errno : EIO;
    int status = pclose(pipe);
    if (status == -1) {
        snprintf(err, errsize, "gnuplot failed on chart %s: %s", id, strerror(errno));
        goto done;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 124 && have_timeout) {
        snprintf(err, errsize, "gnuplot failed on chart %s: no result after %u s", id,
                 timeout_seconds());
        goto done;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char line[512];
        first_error_line(err_fd, line, sizeof line);
        if (!line[0])
            snprintf(line, sizeof line, "exit status %d", WEXITSTATUS(status));
        if (WIFSIGNALED(status))
            snprintf(err, errsize, "gnuplot failed on chart %s: killed by signal %d", id,
                     WTERMSIG(status));
        else
            snprintf(err, errsize, "gnuplot failed on chart %s: %s", id, line);
        goto done;
    }
    if (write_errno) {
        snprintf(err, errsize, "gnuplot failed on chart %s: cannot send the script: %s", id,
                 strerror(write_errno));
        goto done;
    }
    size_t len = 0;
    char *svg = read_fd(out_fd, SVG_MAX, &len);
    if (!svg || !strstr(svg, "</svg>")) {
        free(svg);
        snprintf(err, errsize, "gnuplot failed on chart %s: no complete SVG written", id);
        goto done;
    }
    /* gnuplot escapes '&' and '<' in text but not '>': a label holding "]]>" would make
     * the SVG ill-formed XML (librsvg refuses it), so escape that sequence. */
    if (strstr(svg, "]]>") && escape_cdata_end(&svg, &len) != 0) {
        free(svg);
        snprintf(err, errsize, "out of memory drawing chart %s", id);
        goto done;
    }
    free(chart->svg);
    chart->svg = svg;
    chart->svg_len = len;
    rc = 0;
done:
    cl_buf_free(&cmd);
    cl_buf_free(&gp);
    close(out_fd);
    close(err_fd);
    unlink(out_path);
    unlink(err_path);
    return rc;
}

/** @brief Render every chart of a document. */
int cl_chart_render_all(cl_doc_t *doc, char *err, size_t errsize)
{
    for (size_t i = 0; i < doc->n_charts; i++)
        if (cl_chart_render(&doc->charts[i], doc->font, doc->lang, err, errsize) != 0)
            return -1;
    return 0;
}
