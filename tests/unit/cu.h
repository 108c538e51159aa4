/* cu.h: the CUnit runner every unit test program ends with. */
#ifndef CHAT_TEST_CU_H
#define CHAT_TEST_CU_H

#include <CUnit/Basic.h>
#include <stdio.h>

struct cu_test {
    const char *name;
    void (*fn)(void);
};

/* Registers one suite of tests (NULL-terminated by name), runs it verbose,
 * and returns the process exit code: 0 only when every test passed.
 * CUnit's basic runner does not set one itself. */
static inline int cu_run(const char *suite, const struct cu_test *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    if (!s)
        return 2;
    for (const struct cu_test *t = tests; t->name; t++)
        if (!CU_add_test(s, t->name, t->fn))
            return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    unsigned ran = CU_get_number_of_tests_run();
    int err = CU_get_error();
    CU_cleanup_registry();
    if (err != CUE_SUCCESS)
        return 2;
    if (ran == 0) {
        fprintf(stderr, "%s: no test ran\n", suite);
        return 2;
    }
    return fails ? 1 : 0;
}

#endif
