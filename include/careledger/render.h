/**
 * @file render.h
 * @brief Renderers of a laid-out report (doc.h) into files: csv, xlsx, html, pdf.
 *
 * Every renderer writes its file whole or not at all (cl_out_tmpname /
 * cl_out_commit): a failure leaves no half-written report behind. Charts must
 * have been rendered to SVG first (chart.h) for html and pdf.
 */
#ifndef CARELEDGER_RENDER_H
#define CARELEDGER_RENDER_H

#include <stddef.h>

#include "careledger/doc.h"

/**
 * @brief Write one csv per table as DIR/<basename>-<table id>.csv: UTF-8 with a
 * BOM, a header row, money in yuan with two decimals, ratios as fractions.
 * The same document gives the same bytes.
 * @param paths when not NULL, receives a malloc'd array of malloc'd paths (caller
 * frees each and the array) and @p n_paths their count.
 * @return 0, or -1 with the reason in @p err.
 */
int cl_render_csv(const cl_doc_t *doc, const char *dir, char ***paths, size_t *n_paths, char *err,
                  size_t errsize);

/**
 * @brief Write an xlsx workbook to @p path: a sheet per table (named by its id),
 * numbers as numbers, money formatted, the header row frozen, the document's
 * `created` time as its created time (same document, same bytes).
 * @return 0, or -1 with the reason in @p err.
 */
int cl_render_xlsx(const cl_doc_t *doc, const char *path, char *err, size_t errsize);

/**
 * @brief Write one self-contained html file to @p path: inline CSS, charts as
 * inline SVG, no external reference, a print stylesheet (A4, repeated table
 * headers). Differs between runs only in the generated-at line.
 * @return 0, or -1 with the reason in @p err.
 */
int cl_render_html(const cl_doc_t *doc, const char *path, char *err, size_t errsize);

/**
 * @brief Write an A4 PDF to @p path with cairo and pango: the document's CJK font
 * embedded, tables broken across pages with their header repeated, legend
 * colours, charts drawn from their SVG as vectors (librsvg), page numbers and a
 * generated-at footer on every page.
 * @return 0, or -1 with the reason in @p err.
 */
int cl_render_pdf(const cl_doc_t *doc, const char *path, char *err, size_t errsize);

#endif
