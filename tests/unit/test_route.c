/* test_route.c: path patterns, captures, decoding, ids; and the arena. */
#include <string.h>

#include "cu.h"
#include "core/err.h"
#include "core/route.h"

static struct arena *a;

static void test_route__literal_and_captures(void)
{
    struct route_captures c;
    CU_ASSERT_TRUE(route_match("/me", "/me", a, &c));
    CU_ASSERT_TRUE(route_match("/me", "/me/", a, &c));
    CU_ASSERT_FALSE(route_match("/me", "/mex", a, &c));
    CU_ASSERT_FALSE(route_match("/me", "/me/x", a, &c));
    CU_ASSERT_FALSE(route_match("/chats/{id}", "/chats", a, &c));
    CU_ASSERT_FALSE(route_match("/chats/{id}", "/chats/", a, &c));
    CU_ASSERT_TRUE(route_match("/chats/{id}/mensajes", "/chats/12/mensajes", a, &c));
    CU_ASSERT_EQUAL(c.n, 1);
    CU_ASSERT_STRING_EQUAL(route_capture(&c, "id"), "12");
    CU_ASSERT_PTR_NULL(route_capture(&c, "other"));
    CU_ASSERT_FALSE(route_match("/chats/{id}/mensajes", "/chats/12/miembros", a, &c));
    CU_ASSERT_FALSE(route_match("/chats/{id}/mensajes", "/chats//mensajes", a, &c));
    CU_ASSERT_TRUE(route_match("/chats/{id}/miembros/{usuario_id}", "/chats/1/miembros/2", a, &c));
    CU_ASSERT_EQUAL(c.n, 2);
    CU_ASSERT_STRING_EQUAL(route_capture(&c, "usuario_id"), "2");
    arena_reset(a);
}

static void test_route__decoding(void)
{
    struct route_captures c;
    /* 👍 is F0 9F 91 8D */
    CU_ASSERT_TRUE(route_match("/m/{id}/r/{emoji}", "/m/1/r/%F0%9F%91%8D", a, &c));
    CU_ASSERT_STRING_EQUAL(route_capture(&c, "emoji"), "\xF0\x9F\x91\x8D");
    /* an encoded slash stays inside its segment */
    CU_ASSERT_TRUE(route_match("/u/{id_erp}", "/u/a%2Fb", a, &c));
    CU_ASSERT_STRING_EQUAL(route_capture(&c, "id_erp"), "a/b");
    CU_ASSERT_FALSE(route_match("/u/{id_erp}", "/u/a%2", a, &c));
    CU_ASSERT_FALSE(route_match("/u/{id_erp}", "/u/a%zz", a, &c));
    CU_ASSERT_FALSE(route_match("/u/{id_erp}", "/u/a%00b", a, &c));
    arena_reset(a);
}

static void test_route__parse_id(void)
{
    long long v = 0;
    CU_ASSERT_EQUAL(route_parse_id("42", &v), 0);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(route_parse_id("0", &v), -1);
    CU_ASSERT_EQUAL(route_parse_id("-1", &v), -1);
    CU_ASSERT_EQUAL(route_parse_id("+1", &v), -1);
    CU_ASSERT_EQUAL(route_parse_id("1x", &v), -1);
    CU_ASSERT_EQUAL(route_parse_id("", &v), -1);
    CU_ASSERT_EQUAL(route_parse_id(NULL, &v), -1);
    CU_ASSERT_EQUAL(route_parse_id("9999999999999999999", &v), -1);
}

static int hook_runs;
static void hook(void *p)
{
    hook_runs += *(int *)p;
}

static void test_route__arena_hooks_and_growth(void)
{
    struct arena *b = arena_new();
    static int one = 1, ten = 10;
    arena_defer(b, hook, &one);
    arena_defer(b, hook, &ten);
    char *big = arena_alloc(b, 100000);     /* larger than a block */
    memset(big, 'x', 100000);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_PTR_NOT_NULL(arena_printf(b, "%d-%s", i, "abc"));
    CU_ASSERT(arena_used(b) >= 100000);
    arena_reset(b);
    CU_ASSERT_EQUAL(hook_runs, 11);
    CU_ASSERT_EQUAL(arena_used(b), 0);
    arena_defer(b, hook, &one);
    arena_free(b);
    CU_ASSERT_EQUAL(hook_runs, 12);
    arena_free(NULL);
}

static void test_route__err_table(void)
{
    CU_ASSERT_EQUAL(err_status(ERR_INVALID), 400);
    CU_ASSERT_STRING_EQUAL(err_codigo(ERR_INVALID), "solicitud_invalida");
    CU_ASSERT_EQUAL(err_status(ERR_TOKEN), 401);
    CU_ASSERT_EQUAL(err_status(ERR_DEACTIVATED), 403);
    CU_ASSERT_STRING_EQUAL(err_codigo(ERR_DEACTIVATED), "usuario_desactivado");
    CU_ASSERT_EQUAL(err_status(ERR_TOO_BIG), 413);
    CU_ASSERT_EQUAL(err_status(ERR_MEDIA_TYPE), 415);
    CU_ASSERT_EQUAL(err_status(ERR_RATE), 429);
    CU_ASSERT_STRING_EQUAL(err_codigo(ERR_UNAVAILABLE), "error_interno");
    struct err e;
    CU_ASSERT_EQUAL(err_set(&e, ERR_CONFLICT, "x %d", 5), -1);
    CU_ASSERT_STRING_EQUAL(e.msg, "x 5");
    CU_ASSERT_EQUAL(err_set(&e, ERR_NOT_FOUND, NULL), -1);
    CU_ASSERT_STRING_EQUAL(e.msg, "No encontrado");
}

int main(void)
{
    a = arena_new();
    static const struct cu_test tests[] = {
        { "literal_and_captures", test_route__literal_and_captures },
        { "decoding", test_route__decoding },
        { "parse_id", test_route__parse_id },
        { "arena_hooks_and_growth", test_route__arena_hooks_and_growth },
        { "err_table", test_route__err_table },
        { NULL, NULL },
    };
    int rc = cu_run("route", tests);
    arena_free(a);
    return rc;
}
