/**
 * @file docsample.h
 * @brief A report document built by hand for the renderers' tests: CJK text,
 * every cell kind and band, a long table, and one chart of each kind.
 */
#ifndef CARELEDGER_DOCSAMPLE_H
#define CARELEDGER_DOCSAMPLE_H

#include <stddef.h>

#include "careledger/doc.h"

/**
 * @brief A sample document in @p lang ("zh" or "en") whose "units" table has
 * @p n_units rows (300 spans several A4 pages). Ownership: the caller destroys
 * it with cl_doc_destroy(). Figures are predictable: unit k (1-based) is named
 * "单位K" and has entitled k × 123,456 fen and paid k × 100,000 fen; its totals
 * row sums them.
 */
cl_doc_t *cl_test_sample_doc(size_t n_units, const char *lang);

#endif
