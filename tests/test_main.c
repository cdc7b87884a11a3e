/**
 * @file test_main.c
 * @brief main() of every CUnit test executable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cltest.h"

/** @brief Add a suite; CARELEDGER_TEST_ONLY=TEXT keeps only the tests whose name holds TEXT. */
int cl_test_add_suite(const char *name, const cl_test_t *tests)
{
    const char *only = getenv("CARELEDGER_TEST_ONLY");
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s)
        return -1;
    for (const cl_test_t *t = tests; t->name; t++)
        if ((!only || strstr(t->name, only)) && !CU_add_test(s, t->name, t->fn))
            return -1;
    return 0;
}

/** @brief Path under the source tree. */
const char *cl_test_src(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("CARELEDGER_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : ".", rel);
    return buf;
}

/** @brief Read a file. */
char *cl_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (cl_test_register() != 0) {
        fprintf(stderr, "test registration failed: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
