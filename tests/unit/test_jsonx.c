/* test_jsonx.c: strict JSON parsing, typed access, timestamps, UTF-8. */
#include <string.h>

#include "cu.h"
#include "core/jsonx.h"

static struct arena *a;

static json_object *parse(const char *s, struct err *e)
{
    return jsonx_parse_object(a, s, strlen(s), e);
}

static void test_jsonx__parse_object(void)
{
    struct err e = { 0 };
    CU_ASSERT_PTR_NOT_NULL(parse("{\"a\":1}", &e));
    CU_ASSERT_PTR_NOT_NULL(parse("  {\"a\":1}  \n", &e));
    static const char *bad[] = { "", "[1]", "1", "\"x\"", "{\"a\":1", "{\"a\":1} x",
                                 "{\"a\":1}{}", "{a:1}", "{\"a\":'x'}", "{\"a\":\"\xff\"}", NULL };
    for (int i = 0; bad[i]; i++) {
        e.code = ERR_NONE;
        CU_ASSERT_PTR_NULL(parse(bad[i], &e));
        CU_ASSERT_EQUAL(e.code, ERR_INVALID);
    }
    char deep[200];
    memset(deep, '[', 100);
    deep[0] = '{';
    strcpy(deep + 100, "");
    CU_ASSERT_PTR_NULL(jsonx_parse_object(a, deep, strlen(deep), &e));
    arena_reset(a);
}

static void test_jsonx__typed_fields(void)
{
    struct err e = { 0 };
    json_object *o = parse("{\"s\":\"x\",\"i\":5,\"b\":true,\"n\":null,\"neg\":-1,\"f\":1.5,"
                           "\"arr\":[1],\"nul\":\"a\\u0000b\"}", &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const char *s = NULL;
    long long id = 0;
    bool b = false;
    json_object *arr;
    CU_ASSERT_EQUAL(jsonx_get_str(o, "s", &s, &e), 0);
    CU_ASSERT_STRING_EQUAL(s, "x");
    CU_ASSERT_EQUAL(jsonx_get_str(o, "missing", &s, &e), 1);
    CU_ASSERT_EQUAL(jsonx_get_str(o, "n", &s, &e), 1);
    CU_ASSERT_EQUAL(jsonx_get_str(o, "i", &s, &e), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "i"));
    CU_ASSERT_EQUAL(jsonx_get_str(o, "nul", &s, &e), -1);
    CU_ASSERT_EQUAL(jsonx_get_id(o, "i", &id, &e), 0);
    CU_ASSERT_EQUAL(id, 5);
    CU_ASSERT_EQUAL(jsonx_get_id(o, "neg", &id, &e), -1);
    CU_ASSERT_EQUAL(jsonx_get_id(o, "f", &id, &e), -1);
    CU_ASSERT_EQUAL(jsonx_get_id(o, "s", &id, &e), -1);
    CU_ASSERT_EQUAL(jsonx_get_bool(o, "b", &b, &e), 0);
    CU_ASSERT_TRUE(b);
    CU_ASSERT_EQUAL(jsonx_get_bool(o, "i", &b, &e), -1);
    CU_ASSERT_EQUAL(jsonx_get_array(o, "arr", &arr, &e), 0);
    CU_ASSERT_EQUAL(jsonx_get_array(o, "s", &arr, &e), -1);
    arena_reset(a);
}

static void test_jsonx__timestamps(void)
{
    json_object *t = jsonx_ts("2026-11-20 15:04:05.123456+00");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(t), "2026-11-20T15:04:05.123Z");
    json_object_put(t);
    t = jsonx_ts("2026-11-20 15:04:05+00");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(t), "2026-11-20T15:04:05.000Z");
    json_object_put(t);
    t = jsonx_ts("2026-11-20 15:04:05.1+00");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(t), "2026-11-20T15:04:05.100Z");
    json_object_put(t);
    CU_ASSERT_PTR_NULL(jsonx_ts(NULL));
}

static void test_jsonx__utf8_chars(void)
{
    CU_ASSERT_EQUAL(jsonx_utf8_chars(""), 0);
    CU_ASSERT_EQUAL(jsonx_utf8_chars("abc"), 3);
    CU_ASSERT_EQUAL(jsonx_utf8_chars("ñandú"), 5);
    CU_ASSERT_EQUAL(jsonx_utf8_chars("👍🏽"), 2);
    CU_ASSERT_EQUAL(jsonx_utf8_chars("a\nb\tc"), 5);
    CU_ASSERT_EQUAL(jsonx_utf8_chars("\xff"), -1);
    CU_ASSERT_EQUAL(jsonx_utf8_chars("\xc3"), -1);
    CU_ASSERT_EQUAL(jsonx_utf8_chars("\xc0\xaf"), -1);
    CU_ASSERT_EQUAL(jsonx_utf8_chars("a\x01"), -1);
}

static void test_jsonx__text_keeps_slashes(void)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "url", json_object_new_string("/chat/api/v1"));
    CU_ASSERT_STRING_EQUAL(jsonx_text(a, o), "{\"url\":\"/chat/api/v1\"}");
    json_object_put(o);
    arena_reset(a);
}

int main(void)
{
    a = arena_new();
    static const struct cu_test tests[] = {
        { "parse_object", test_jsonx__parse_object },
        { "typed_fields", test_jsonx__typed_fields },
        { "timestamps", test_jsonx__timestamps },
        { "utf8_chars", test_jsonx__utf8_chars },
        { "text_keeps_slashes", test_jsonx__text_keeps_slashes },
        { NULL, NULL },
    };
    int rc = cu_run("jsonx", tests);
    arena_free(a);
    return rc;
}
