/* test_expo.c: reading Expo's tickets and receipts, sorting replies, and a
 * network error as a reply. */
#include <string.h>

#include "cu.h"
#include "wire/expo.h"

static struct arena *a;

static int tickets(const char *body, size_t n, struct expo_ticket *t, char *why)
{
    return expo_parse_tickets(a, body, strlen(body), n, t, why, 200);
}

static void test_expo__tickets(void)
{
    struct expo_ticket t[3];
    char why[200];
    const char *body =
        "{\"data\":[{\"status\":\"ok\",\"id\":\"XXXXXXXX-1\"},"
        "{\"status\":\"error\",\"message\":\"\\\"ExponentPushToken[x]\\\" is not a registered push "
        "notification recipient\",\"details\":{\"error\":\"DeviceNotRegistered\"}},"
        "{\"status\":\"error\",\"message\":\"odd\"}]}";
    CU_ASSERT_EQUAL_FATAL(tickets(body, 3, t, why), 0);
    CU_ASSERT_TRUE(t[0].ok);
    CU_ASSERT_STRING_EQUAL(t[0].id, "XXXXXXXX-1");
    CU_ASSERT_PTR_NULL(t[0].error);
    CU_ASSERT_FALSE(t[1].ok);
    CU_ASSERT_STRING_EQUAL(t[1].error, "DeviceNotRegistered");
    CU_ASSERT_PTR_NOT_NULL(strstr(t[1].message, "not a registered"));
    CU_ASSERT_FALSE(t[2].ok);
    CU_ASSERT_PTR_NULL(t[2].error);
    CU_ASSERT_STRING_EQUAL(t[2].message, "odd");
    /* one message may be answered with one ticket object */
    CU_ASSERT_EQUAL(tickets("{\"data\":{\"status\":\"ok\",\"id\":\"abc\"}}", 1, t, why), 0);
    CU_ASSERT_STRING_EQUAL(t[0].id, "abc");
    /* what is not a full answer */
    CU_ASSERT_EQUAL(tickets("{\"data\":[{\"status\":\"ok\",\"id\":\"a\"}]}", 2, t, why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "1 tickets for 2 messages"));
    CU_ASSERT_EQUAL(tickets("{\"data\":[{\"status\":\"ok\"}]}", 1, t, why), -1);
    CU_ASSERT_EQUAL(tickets("{\"data\":[{\"status\":\"maybe\",\"id\":\"a\"}]}", 1, t, why), -1);
    CU_ASSERT_EQUAL(tickets("{\"data\":[5]}", 1, t, why), -1);
    CU_ASSERT_EQUAL(tickets("{\"errors\":[{\"code\":\"X\",\"message\":\"y\"}]}", 1, t, why), -1);
    CU_ASSERT_EQUAL(tickets("{\"data\":[{\"status\":\"ok\",\"id\":\"a\"}]", 1, t, why), -1);
    CU_ASSERT_EQUAL(tickets("<html>", 1, t, why), -1);
    CU_ASSERT_EQUAL(tickets("", 1, t, why), -1);
    CU_ASSERT_EQUAL(tickets("[1]", 1, t, why), -1);
    arena_reset(a);
}

static void test_expo__receipts(void)
{
    struct expo_receipt r[4] = {
        { .id = "a" }, { .id = "b" }, { .id = "c" }, { .id = "d" },
    };
    char why[200];
    const char *body = "{\"data\":{\"a\":{\"status\":\"ok\"},"
                       "\"b\":{\"status\":\"error\",\"message\":\"gone\","
                       "\"details\":{\"error\":\"DeviceNotRegistered\"}},"
                       "\"d\":{\"nonsense\":true},\"zz\":{\"status\":\"ok\"}}}";
    CU_ASSERT_EQUAL_FATAL(expo_parse_receipts(a, body, strlen(body), r, 4, why, sizeof(why)), 0);
    CU_ASSERT_TRUE(r[0].found);
    CU_ASSERT_TRUE(r[0].ok);
    CU_ASSERT_TRUE(r[1].found);
    CU_ASSERT_FALSE(r[1].ok);
    CU_ASSERT_STRING_EQUAL(r[1].error, "DeviceNotRegistered");
    CU_ASSERT_STRING_EQUAL(r[1].message, "gone");
    CU_ASSERT_FALSE(r[2].found);   /* not there yet */
    CU_ASSERT_FALSE(r[3].found);   /* unreadable: as if not there */
    const char *bad = "{\"data\":[]}";
    CU_ASSERT_EQUAL(expo_parse_receipts(a, bad, strlen(bad), r, 4, why, sizeof(why)), -1);
    bad = "nope";
    CU_ASSERT_EQUAL(expo_parse_receipts(a, bad, strlen(bad), r, 4, why, sizeof(why)), -1);
    arena_reset(a);
}

static void test_expo__classify(void)
{
    struct expo_reply r = { 0 };
    static const struct {
        long status;
        enum expo_class c;
    } cases[] = {
        { 200, EXPO_OK },     { 0, EXPO_RETRY },      { 429, EXPO_RETRY },   { 500, EXPO_RETRY },
        { 502, EXPO_RETRY },  { 503, EXPO_RETRY },    { 401, EXPO_RETRY },   { 404, EXPO_RETRY },
        { 400, EXPO_REJECTED }, { 413, EXPO_REJECTED },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r.status = cases[i].status;
        CU_ASSERT_EQUAL(expo_classify(&r), cases[i].c);
    }
}

static void test_expo__network_error_is_a_reply(void)
{
    /* the discard port: nothing listens there */
    struct expo *x = expo_new("http://127.0.0.1:9/", "", 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    struct expo_reply r;
    CU_ASSERT_EQUAL(expo_post(x, a, EXPO_PATH_SEND, "[]", 2, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_NOT_EQUAL(r.why[0], '\0');
    CU_ASSERT_STRING_EQUAL(r.body, "");
    CU_ASSERT_EQUAL(expo_classify(&r), EXPO_RETRY);
    expo_free(x);
    expo_free(NULL);
    arena_reset(a);
}

int main(void)
{
    a = arena_new();
    static const struct cu_test tests[] = {
        { "tickets", test_expo__tickets },
        { "receipts", test_expo__receipts },
        { "classify", test_expo__classify },
        { "network_error_is_a_reply", test_expo__network_error_is_a_reply },
        { NULL, NULL },
    };
    int rc = cu_run("expo", tests);
    arena_free(a);
    return rc;
}
