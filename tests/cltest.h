/**
 * @file cltest.h
 * @brief Shared CUnit harness: each test executable defines cl_test_register().
 */
#ifndef CARELEDGER_CLTEST_H
#define CARELEDGER_CLTEST_H

#include <CUnit/Basic.h>
#include <stddef.h>

typedef struct cl_test {
    const char *name;
    void (*fn)(void);
} cl_test_t;

/** @brief Register every suite of this executable; 0 or -1. */
int cl_test_register(void);

/** @brief Add a suite of NULL-terminated tests; 0 or -1. */
int cl_test_add_suite(const char *name, const cl_test_t *tests);

/** @brief Path under the source tree (static buffer). */
const char *cl_test_src(const char *rel);

/** @brief Read a whole file; caller frees. NULL when unreadable. */
char *cl_test_slurp(const char *path, size_t *len);

#endif
