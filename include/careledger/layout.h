/**
 * @file layout.h
 * @brief The report models (report.h) laid out as documents (doc.h), with
 * every label in Chinese (the default) or English.
 */
#ifndef CARELEDGER_LAYOUT_H
#define CARELEDGER_LAYOUT_H

#include "careledger/doc.h"
#include "careledger/report.h"

/**
 * @brief Lay out the daily coverage ledger in @p lang ("zh" or "en").
 * Ownership: the document copies what it shows; @p d may be freed after. The
 * caller destroys the result with cl_doc_destroy(). NULL when out of memory.
 */
cl_doc_t *cl_layout_daily(const cl_rpt_daily_t *d, const char *lang);
/** @brief Lay out the finance statement; as cl_layout_daily(). */
cl_doc_t *cl_layout_finance(const cl_rpt_finance_t *f, const char *lang);
/** @brief Lay out the district comparison; as cl_layout_daily(). */
cl_doc_t *cl_layout_compare(const cl_rpt_compare_t *c, const char *lang);

#endif
