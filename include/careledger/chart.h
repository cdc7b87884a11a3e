/**
 * @file chart.h
 * @brief Charts drawn by gnuplot through a pipe (SPEC §8): the data is sent
 * inline, the SVG comes back into the chart.
 */
#ifndef CARELEDGER_CHART_H
#define CARELEDGER_CHART_H

#include <stddef.h>

#include "careledger/doc.h"

/**
 * @brief 1 when a gnuplot executable is on PATH (or $CARELEDGER_GNUPLOT names one).
 */
int cl_chart_available(void);

/**
 * @brief Render one chart to SVG with gnuplot (popen), in @p font, with
 * labels in @p lang. On success chart->svg (owned by the chart, freed with its
 * document) holds the SVG. A missing gnuplot, a gnuplot error or a timeout
 * is a one-line reason in @p err, never a hang.
 * @return 0, or -1.
 */
int cl_chart_render(cl_chart_t *chart, const char *font, const char *lang, char *err,
                    size_t errsize);

/** @brief Render every chart of @p doc; stops at the first failure. 0 or -1. */
int cl_chart_render_all(cl_doc_t *doc, char *err, size_t errsize);

#endif
