/* test_jsonw.c: the JSON writer prints what json-c prints for the same
 * values (strings with every byte, numbers, nesting, PostgreSQL's json text). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "core/jsonw.h"

static struct arena *a;

/* json-c's text of o (the form http_json prints), then o released. */
static const char *jc(json_object *o)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = arena_strdup(a, s);
    json_object_put(o);
    return copy;
}

/* The writer's text of one string value. */
static const char *w_str(const char *s, size_t n)
{
    struct jsonw w;
    jsonw_init(&w, a, 0);
    jsonw_strn(&w, s, n);
    CU_ASSERT_TRUE(jsonw_ok(&w));
    return w.buf;
}

static void test_jsonw__every_byte(void)
{
    /* each byte alone, between two letters: escapes, DEL, bytes of UTF-8
     * sequences and bytes that are no UTF-8 at all, copied as json-c does */
    for (int c = 0; c < 256; c++) {
        char s[3] = { 'a', (char)c, 'b' };
        const char *want = jc(json_object_new_string_len(s, 3));
        CU_ASSERT_STRING_EQUAL(w_str(s, 3), want);
    }
    char all[256];
    for (int c = 0; c < 256; c++)
        all[c] = (char)c;
    CU_ASSERT_STRING_EQUAL(w_str(all, 256), jc(json_object_new_string_len(all, 256)));
    CU_ASSERT_STRING_EQUAL(w_str("", 0), "\"\"");
    CU_ASSERT_STRING_EQUAL(w_str("\x1f", 1), "\"\\u001f\"");
    CU_ASSERT_STRING_EQUAL(w_str("/chat/api", 9), "\"/chat/api\"");
    const char *utf8 = "ñandú 😀 \xe2\x80\x8b €";
    CU_ASSERT_STRING_EQUAL(w_str(utf8, strlen(utf8)), jc(json_object_new_string(utf8)));
    arena_reset(a);
}

static void test_jsonw__random_strings(void)
{
    srand(7);
    for (int i = 0; i < 2000; i++) {
        char s[64];
        size_t n = (size_t)(rand() % (int)sizeof(s));
        for (size_t k = 0; k < n; k++)
            s[k] = (char)(rand() % 3 ? 0x20 + rand() % 0x60 : rand() % 256);
        CU_ASSERT_STRING_EQUAL(w_str(s, n), jc(json_object_new_string_len(s, (int)n)));
        if (i % 200 == 0)
            arena_reset(a);
    }
    arena_reset(a);
}

static void test_jsonw__numbers(void)
{
    static const long long ints[] = { 0, 1, -1, 9, 10, 999999, -1000000, 1LL << 53,
                                      LLONG_MAX, LLONG_MIN, LLONG_MIN + 1 };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        struct jsonw w;
        jsonw_init(&w, a, 0);
        jsonw_int(&w, ints[i]);
        CU_ASSERT_STRING_EQUAL(w.buf, jc(json_object_new_int64(ints[i])));
    }
    /* bigint columns: strtoll's clamp, as jsonx_id does */
    static const char *texts[] = { "42", "-7", "9223372036854775807", "99999999999999999999",
                                   "0" };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct jsonw w;
        jsonw_init(&w, a, 0);
        jsonw_int_text(&w, texts[i]);
        CU_ASSERT_STRING_EQUAL(w.buf, jc(json_object_new_int64(strtoll(texts[i], NULL, 10))));
    }
    static const double dbl[] = { 0, 1, -3, 2.5, 0.1, 12.345, 1e300, 1e-7, 123456789.123,
                                  -0.0, 3600, 1.0 / 3, NAN, INFINITY, -INFINITY };
    for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++) {
        struct jsonw w;
        jsonw_init(&w, a, 0);
        jsonw_double(&w, dbl[i]);
        CU_ASSERT_STRING_EQUAL(w.buf, jc(json_object_new_double(dbl[i])));
    }
    struct jsonw w;
    jsonw_init(&w, a, 0);
    jsonw_arr_begin(&w);
    jsonw_bool(&w, true);
    jsonw_bool(&w, false);
    jsonw_null(&w);
    jsonw_str(&w, NULL);
    jsonw_int_text(&w, NULL);
    jsonw_json(&w, NULL);
    jsonw_arr_end(&w);
    CU_ASSERT_STRING_EQUAL(w.buf, "[true,false,null,null,null,null]");
    arena_reset(a);
}

static void test_jsonw__nesting(void)
{
    /* the same document both ways: objects in arrays in objects, empty
     * containers, escaped keys, a json-c value printed in place */
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    json_object *inner = json_object_new_object(), *poll = json_object_new_object();
    json_object_object_add(poll, "opciones", json_object_new_array());
    json_object_object_add(poll, "pregunta", json_object_new_string("¿sí/no?"));
    json_object_object_add(inner, "id", json_object_new_int64(5));
    json_object_object_add(inner, "vacio", json_object_new_object());
    json_object_object_add(inner, "encuesta", json_object_get(poll));
    json_object_array_add(arr, inner);
    json_object_array_add(arr, json_object_new_array());
    json_object_array_add(arr, NULL);
    json_object_object_add(o, "mensajes", arr);
    json_object_object_add(o, "k\"ey", json_object_new_boolean(true));
    json_object_object_add(o, "hay_mas", json_object_new_boolean(false));

    struct jsonw w;
    jsonw_init(&w, a, 1);  /* tiny: the buffer grows many times */
    jsonw_obj_begin(&w);
    jsonw_key(&w, "mensajes");
    jsonw_arr_begin(&w);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "id");
    jsonw_int(&w, 5);
    jsonw_key(&w, "vacio");
    jsonw_obj_begin(&w);
    jsonw_obj_end(&w);
    jsonw_key(&w, "encuesta");
    jsonw_json(&w, poll);
    jsonw_obj_end(&w);
    jsonw_arr_begin(&w);
    jsonw_arr_end(&w);
    jsonw_null(&w);
    jsonw_arr_end(&w);
    jsonw_key(&w, "k\"ey");
    jsonw_bool(&w, true);
    jsonw_key(&w, "hay_mas");
    jsonw_bool(&w, false);
    jsonw_obj_end(&w);
    CU_ASSERT_TRUE(jsonw_ok(&w));
    CU_ASSERT_EQUAL(strlen(w.buf), w.len);
    CU_ASSERT_STRING_EQUAL(w.buf, jc(o));
    json_object_put(poll);
    arena_reset(a);
}

static void test_jsonw__unbalanced(void)
{
    struct jsonw w;
    jsonw_init(&w, a, 0);
    jsonw_obj_begin(&w);
    CU_ASSERT_FALSE(jsonw_ok(&w));
    jsonw_key(&w, "x");
    CU_ASSERT_FALSE(jsonw_ok(&w));  /* a key without its value */
    jsonw_obj_end(&w);
    CU_ASSERT_FALSE(jsonw_ok(&w));
    jsonw_init(&w, a, 0);
    jsonw_arr_end(&w);
    CU_ASSERT_FALSE(jsonw_ok(&w));
    jsonw_init(&w, a, 0);
    for (int i = 0; i < JSONW_MAX_DEPTH + 1; i++)
        jsonw_arr_begin(&w);
    for (int i = 0; i < JSONW_MAX_DEPTH + 1; i++)
        jsonw_arr_end(&w);
    CU_ASSERT_FALSE(jsonw_ok(&w));
    jsonw_init(&w, a, 0);
    for (int i = 0; i < JSONW_MAX_DEPTH; i++)
        jsonw_arr_begin(&w);
    for (int i = 0; i < JSONW_MAX_DEPTH; i++)
        jsonw_arr_end(&w);
    CU_ASSERT_TRUE(jsonw_ok(&w));
    arena_reset(a);
}

static void test_jsonw__postgres_json_text(void)
{
    /* json_agg(json_build_object(...))::text, as PostgreSQL prints it:
     * spaces after ':' and ',', strings escaped by PostgreSQL */
    static const char *pg[] = {
        "[{\"emoji\" : \"👍\", \"total\" : 2, \"usuarios\" : [30001,30101], \"mia\" : true}, "
        "{\"emoji\" : \"a \\\" , b\\\\\", \"total\" : 1, \"usuarios\" : [7], \"mia\" : false}]",
        "[{\"emoji\" : \"\\n\\t\\u0001 : ,\", \"total\" : 1, \"usuarios\" : [1], \"mia\" : false}]",
        "[]",
        "{\"a\" : {\"b\" : [1, 2, null, \"x y\"]}, \"c\" : -1.5}",
    };
    for (size_t i = 0; i < sizeof(pg) / sizeof(pg[0]); i++) {
        struct jsonw w;
        jsonw_init(&w, a, 0);
        jsonw_arr_begin(&w);
        jsonw_json_text(&w, pg[i]);
        jsonw_json_text(&w, pg[i]);
        jsonw_arr_end(&w);
        json_object *parsed = json_tokener_parse(pg[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(parsed);
        const char *one = jc(parsed);
        char *want = arena_printf(a, "[%s,%s]", one, one);
        CU_ASSERT_STRING_EQUAL(w.buf, want);
    }
    arena_reset(a);
}

int main(void)
{
    a = arena_new();
    static const struct cu_test tests[] = {
        { "every_byte", test_jsonw__every_byte },
        { "random_strings", test_jsonw__random_strings },
        { "numbers", test_jsonw__numbers },
        { "nesting", test_jsonw__nesting },
        { "unbalanced", test_jsonw__unbalanced },
        { "postgres_json_text", test_jsonw__postgres_json_text },
        { NULL, NULL },
    };
    int rc = cu_run("jsonw", tests);
    arena_free(a);
    return rc;
}
