/* test_busq.c: search input checks, cursors and excerpt marks (the parts
 * of busq.c that need no database). */
#include <string.h>

#include "cu.h"
#include "domain/busq.h"
#include "domain/busq.c"

static struct arena *a;

static json_object *marks_of(const char *hl, const char **text)
{
    json_object *m;
    busq_marks(a, hl, text, &m);
    return m;
}

static long mark(json_object *m, size_t i, size_t k)
{
    return (long)json_object_get_int64(json_object_array_get_idx(json_object_array_get_idx(m, i), k));
}

static void test_busq__marks_code_points(void)
{
    const char *t;
    json_object *m = marks_of("😀 La \x02información\x03 del \x02pedido\x03", &t);
    CU_ASSERT_STRING_EQUAL(t, "😀 La información del pedido");
    CU_ASSERT_EQUAL(json_object_array_length(m), 2);
    /* 😀 is one code point (4 bytes), ó one (2 bytes) */
    CU_ASSERT_EQUAL(mark(m, 0, 0), 5);
    CU_ASSERT_EQUAL(mark(m, 0, 1), 16);
    CU_ASSERT_EQUAL(mark(m, 1, 0), 21);
    CU_ASSERT_EQUAL(mark(m, 1, 1), 27);
    json_object_put(m);
    /* no marks; unpaired and empty markers are dropped */
    m = marks_of("sin nada", &t);
    CU_ASSERT_STRING_EQUAL(t, "sin nada");
    CU_ASSERT_EQUAL(json_object_array_length(m), 0);
    json_object_put(m);
    m = marks_of("a\x03 b \x02\x03 c \x02" "d", &t);
    CU_ASSERT_STRING_EQUAL(t, "a b  c d");
    CU_ASSERT_EQUAL(json_object_array_length(m), 0);
    json_object_put(m);
    m = marks_of("", &t);
    CU_ASSERT_STRING_EQUAL(t, "");
    json_object_put(m);
}

static void test_busq__check(void)
{
    struct err e = { 0 };
    struct busq_in in = { .q = "hola", .con_archivos = -1, .limite = 50 };
    CU_ASSERT_EQUAL(busq_check(&in, &e), 0);
    in.desde = "2024-02-29";
    in.hasta = "2024-03-01";
    CU_ASSERT_EQUAL(busq_check(&in, &e), 0);
    static const char *bad_dates[] = { "2023-02-29", "2024-13-01", "2024-1-01", "20240101",
                                       "2024-01-01x", "abcd-ef-gh", "2024-01-32", NULL };
    for (int i = 0; bad_dates[i]; i++) {
        in.desde = bad_dates[i];
        in.hasta = NULL;
        CU_ASSERT_EQUAL(busq_check(&in, &e), -1);
    }
    in.desde = "2024-03-02";
    in.hasta = "2024-03-01";
    CU_ASSERT_EQUAL(busq_check(&in, &e), -1);
    in.desde = in.hasta = NULL;
    in.q = " \t ";
    CU_ASSERT_EQUAL(busq_check(&in, &e), -1);
    in.q = "\xff";
    CU_ASSERT_EQUAL(busq_check(&in, &e), -1);
    in.q = "hola";
    in.tipo = "sistema";
    CU_ASSERT_EQUAL(busq_check(&in, &e), -1);
    in.tipo = "comunicado";
    CU_ASSERT_EQUAL(busq_check(&in, &e), 0);
    in.tipo = NULL;
    in.cursor = "r~0.25_12~x";
    CU_ASSERT_EQUAL(busq_check(&in, &e), 0);
    in.cursor = "r~-~-";
    CU_ASSERT_EQUAL(busq_check(&in, &e), 0);
    static const char *bad_cursors[] = { "f~-~-", "r~-", "r~-~-~-", "r~0.25~-", "r~x_1~-",
                                         "r~0.5_-3~-", "r~0.5_1x~-", "", "r", NULL };
    for (int i = 0; bad_cursors[i]; i++) {
        in.cursor = bad_cursors[i];
        CU_ASSERT_EQUAL(busq_check(&in, &e), -1);
    }
}

static void test_busq__cursor_roundtrip(void)
{
    struct busq_pos p = { 1, 0.0607927f, 123456 }, m, c;
    const char *t = busq_pos_text(a, &p);
    const char *cur = arena_printf(a, "r~%s~x", t);
    CU_ASSERT_EQUAL(busq_cursor_parse(cur, false, &m, &c), 0);
    CU_ASSERT_EQUAL(m.state, 1);
    CU_ASSERT(m.rank == p.rank);    /* exact: %.9g round-trips a float */
    CU_ASSERT_EQUAL(m.id, 123456);
    CU_ASSERT_EQUAL(c.state, 2);
}

int main(void)
{
    a = arena_new();
    static const struct cu_test tests[] = {
        { "marks_code_points", test_busq__marks_code_points },
        { "check", test_busq__check },
        { "cursor_roundtrip", test_busq__cursor_roundtrip },
        { NULL, NULL },
    };
    int rc = cu_run("busq", tests);
    arena_free(a);
    return rc;
}
