/**
 * @file csv.c
 * @brief One RFC 4180 csv per table of a document: UTF-8 with a BOM (so that
 * spreadsheets read the Chinese text as UTF-8), CRLF line ends, machine-style
 * figures (cl_cell_format), and every file of a call written or none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "careledger/buf.h"
#include "careledger/render.h"

/** @brief Whether @p s is a safe file-name part: [A-Za-z0-9._-]+, not starting with '.'. */
static int safe_name(const char *s)
{
    if (!s || !*s || *s == '.')
        return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *s))
            return 0;
    return 1;
}

/**
 * @brief Append a text field, guarded and quoted.
 *
 * Formula injection: unit and region names come from outside, and a
 * spreadsheet opening the csv runs a field beginning with '=', '+', '-' or '@'
 * (or TAB / CR, which some strip before looking) as a formula. Such text gets
 * a leading apostrophe so it shows as text. Only TEXT cells and header labels
 * pass here: numbers such as "-12.00" are written as they are.
 */
static void put_text(cl_buf_t *b, const char *s)
{
    const char *guard = s[0] && strchr("=+-@\t\r", s[0]) ? "'" : "";
    if (!strpbrk(s, ",\"\r\n")) {
        cl_buf_puts(b, guard);
        cl_buf_puts(b, s);
        return;
    }
    cl_buf_putc(b, '"');
    cl_buf_puts(b, guard);
    for (; *s; s++) {
        if (*s == '"')
            cl_buf_putc(b, '"');
        cl_buf_putc(b, *s);
    }
    cl_buf_putc(b, '"');
}

/** @brief Append one cell: text guarded and quoted, figures in machine style (never quoted). */
static void put_cell(cl_buf_t *b, const cl_cell_t *c)
{
    if (c->kind == CL_CELL_TEXT) {
        put_text(b, c->s ? c->s : "");
        return;
    }
    char tmp[128];
    cl_buf_puts(b, cl_cell_format(c, CL_FMT_MACHINE, tmp, sizeof tmp));
}

/** @brief The whole csv of @p t: BOM, header row, then every row. */
static void table_csv(cl_buf_t *b, const cl_table_t *t)
{
    cl_buf_puts(b, "\xEF\xBB\xBF");
    for (size_t i = 0; i < t->n_cols; i++) {
        if (i)
            cl_buf_putc(b, ',');
        put_text(b, t->cols[i].label ? t->cols[i].label : "");
    }
    cl_buf_puts(b, "\r\n");
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t i = 0; i < t->n_cols; i++) {
            if (i)
                cl_buf_putc(b, ',');
            put_cell(b, &t->rows[r].cells[i]);
        }
        cl_buf_puts(b, "\r\n");
    }
}

/** @brief Write @p n bytes to a new file @p tmp; 0, or -1 with the reason in @p err. */
static int write_file(const char *tmp, const char *path, const void *p, size_t n, char *err,
                      size_t errsize)
{
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errsize, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    int bad = fwrite(p, 1, n, f) != n;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad)
        snprintf(err, errsize, "cannot write %s: %s", path, strerror(e));
    return bad ? -1 : 0;
}

/** @brief Free @p n paths and their array. */
static void free_paths(char **p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free(p[i]);
    free(p);
}

/** @brief Write every table's csv. */
int cl_render_csv(const cl_doc_t *doc, const char *dir, char ***paths, size_t *n_paths, char *err,
                  size_t errsize)
{
    if (paths)
        *paths = NULL;
    if (n_paths)
        *n_paths = 0;
    if (!doc || !dir || !*dir || !safe_name(doc->basename)) {
        snprintf(err, errsize, "csv: no output directory or no safe file name stem");
        return -1;
    }
    size_t n = doc->n_tables;
    /* One table id per file: a repeated one would overwrite its twin. */
    for (size_t i = 0; i < n; i++) {
        if (!safe_name(doc->tables[i].id)) {
            snprintf(err, errsize, "csv: table id \"%s\" is not a safe file name",
                     doc->tables[i].id ? doc->tables[i].id : "");
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(doc->tables[i].id, doc->tables[j].id) == 0) {
                snprintf(err, errsize, "csv: table id \"%s\" appears twice", doc->tables[i].id);
                return -1;
            }
    }
    char **out = calloc(n ? n : 1, sizeof *out);
    char(*tmp)[CL_TMP_PATH_MAX] = calloc(n ? n : 1, sizeof *tmp);
    cl_buf_t b = {0};
    size_t written = 0; /* temporaries that may exist */
    int rc = -1;
    if (!out || !tmp) {
        snprintf(err, errsize, "csv: out of memory");
        goto done;
    }
    const char *sep = dir[strlen(dir) - 1] == '/' ? "" : "/";
    /* Every temporary first; they are renamed only once all are complete, so
     * a failure leaves neither half a file nor half a set of files. */
    for (size_t i = 0; i < n; i++) {
        const cl_table_t *t = &doc->tables[i];
        int len = snprintf(NULL, 0, "%s%s%s-%s.csv", dir, sep, doc->basename, t->id);
        /* Room for the temporary's suffix (".tmp" and a pid) too. */
        if (len < 0 || (size_t)len + 32 >= CL_TMP_PATH_MAX) {
            snprintf(err, errsize, "csv: output path too long");
            goto done;
        }
        out[i] = malloc((size_t)len + 1);
        if (!out[i]) {
            snprintf(err, errsize, "csv: out of memory");
            goto done;
        }
        snprintf(out[i], (size_t)len + 1, "%s%s%s-%s.csv", dir, sep, doc->basename, t->id);
        cl_out_tmpname(out[i], tmp[i]);
        cl_buf_reset(&b);
        table_csv(&b, t);
        if (b.oom) {
            snprintf(err, errsize, "csv: out of memory");
            goto done;
        }
        written = i + 1;
        if (write_file(tmp[i], out[i], b.p, b.len, err, errsize) != 0)
            goto done;
    }
    for (size_t i = 0; i < n; i++) {
        /* cl_out_commit removes its own temporary on failure; the rest go below. */
        if (cl_out_commit(tmp[i], out[i], err, errsize) != 0) {
            for (size_t j = i + 1; j < n; j++)
                unlink(tmp[j]);
            written = 0;
            goto done;
        }
    }
    written = 0;
    rc = 0;
    if (paths) {
        *paths = out;
        out = NULL;
    }
    if (n_paths)
        *n_paths = n;
done:
    for (size_t i = 0; i < written; i++)
        unlink(tmp[i]);
    free_paths(out, n);
    free(tmp);
    cl_buf_free(&b);
    return rc;
}
