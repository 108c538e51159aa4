/* test_arena.c: the per-request pool: alignment, zeroing, large requests,
 * copies, cleanup hooks (newest first, at reset and at free) and reuse. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cu.h"
#include "core/arena.h"

static void test_arena__alloc_aligned_and_zeroed(void)
{
    struct arena *a = arena_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    for (size_t n = 1; n < 300; n += 7) {
        unsigned char *p = arena_alloc(a, n);
        CU_ASSERT_EQUAL((uintptr_t)p % alignof(max_align_t), 0);
        size_t zero = 0;
        while (zero < n && p[zero] == 0)
            zero++;
        CU_ASSERT_EQUAL(zero, n);
        memset(p, 0xAB, n);     /* the next allocation must not overlap */
    }
    CU_ASSERT(arena_used(a) >= 300);
    arena_free(a);
}

static void test_arena__large_blocks(void)
{
    struct arena *a = arena_new();
    /* larger than a block, and many blocks' worth in total */
    char *big = arena_alloc(a, 100000);
    memset(big, 1, 100000);
    char *small = arena_alloc(a, 16);
    CU_ASSERT(small < big || small >= big + 100000);
    for (int i = 0; i < 1000; i++)
        memset(arena_alloc(a, 100), 2, 100);
    CU_ASSERT_EQUAL(big[99999], 1);
    CU_ASSERT(arena_used(a) >= 100000 + 16 + 100000);
    arena_free(a);
}

static void test_arena__copies(void)
{
    struct arena *a = arena_new();
    char src[] = "hola mundo";
    char *c = arena_strdup(a, src);
    CU_ASSERT_STRING_EQUAL(c, "hola mundo");
    CU_ASSERT_PTR_NOT_EQUAL(c, src);
    CU_ASSERT_PTR_NULL(arena_strdup(a, NULL));
    CU_ASSERT_STRING_EQUAL(arena_strndup(a, src, 4), "hola");
    CU_ASSERT_STRING_EQUAL(arena_strndup(a, src, 0), "");
    CU_ASSERT_STRING_EQUAL(arena_printf(a, "%s-%d-%lld", "x", 7, 123456789012LL), "x-7-123456789012");
    /* a formatted string longer than a block */
    char *wide = arena_printf(a, "%20000d", 5);
    CU_ASSERT_EQUAL(strlen(wide), 20000);
    CU_ASSERT_EQUAL(wide[19999], '5');
    arena_free(a);
}

static char order[16];
static size_t norder;

static void hook(void *p)
{
    order[norder++] = *(const char *)p;
}

static void test_arena__hooks_newest_first(void)
{
    static const char one = '1', two = '2', three = '3';
    struct arena *a = arena_new();
    norder = 0;
    arena_defer(a, hook, (void *)&one);
    arena_defer(a, hook, (void *)&two);
    arena_defer(a, hook, (void *)&three);
    CU_ASSERT_EQUAL(norder, 0);
    arena_reset(a);
    CU_ASSERT_EQUAL(norder, 3);
    CU_ASSERT_NSTRING_EQUAL(order, "321", 3);
    /* each hook runs once: a second reset runs none */
    arena_reset(a);
    CU_ASSERT_EQUAL(norder, 3);
    /* free runs the pending ones */
    arena_defer(a, hook, (void *)&one);
    arena_free(a);
    CU_ASSERT_EQUAL(norder, 4);
    CU_ASSERT_EQUAL(order[3], '1');
}

static void test_arena__reset_reuses(void)
{
    struct arena *a = arena_new();
    char *first = arena_alloc(a, 32);
    arena_alloc(a, 50000);
    CU_ASSERT(arena_used(a) >= 50032);
    arena_reset(a);
    CU_ASSERT_EQUAL(arena_used(a), 0);
    /* the first block is kept: the same memory comes back, zeroed */
    unsigned char *again = arena_alloc(a, 32);
    CU_ASSERT_PTR_EQUAL(again, first);
    CU_ASSERT_EQUAL(again[0] | again[31], 0);
    arena_free(a);
    arena_free(NULL);   /* accepted */
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "alloc_aligned_and_zeroed", test_arena__alloc_aligned_and_zeroed },
        { "large_blocks", test_arena__large_blocks },
        { "copies", test_arena__copies },
        { "hooks_newest_first", test_arena__hooks_newest_first },
        { "reset_reuses", test_arena__reset_reuses },
        { NULL, NULL },
    };
    return cu_run("arena", tests);
}
