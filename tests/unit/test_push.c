/* test_push.c: push token and platform validation, and the retry delay. */
#include <string.h>

#include "cu.h"
#include "domain/push.h"

static void test_push__token_valid(void)
{
    CU_ASSERT_TRUE(push_token_valid("ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]"));
    CU_ASSERT_TRUE(push_token_valid("ExpoPushToken[aB3_-x]"));
    CU_ASSERT_TRUE(push_token_valid("ExponentPushToken[a]"));
    CU_ASSERT_FALSE(push_token_valid(NULL));
    CU_ASSERT_FALSE(push_token_valid(""));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken[]"));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken["));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken[abc"));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushTokenabc]"));
    CU_ASSERT_FALSE(push_token_valid("exponentpushtoken[abc]"));
    CU_ASSERT_FALSE(push_token_valid("OtherToken[abc]"));
    CU_ASSERT_FALSE(push_token_valid(" ExponentPushToken[abc]"));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken[abc] "));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken[a b]"));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken[a]b]"));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken[a[b]"));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken[a\"b]"));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken[a\\b]"));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken[a\tb]"));
    CU_ASSERT_FALSE(push_token_valid("ExponentPushToken[\xc3\xb1]"));
    /* the length cap */
    char t[PUSH_TOKEN_MAX + 8];
    strcpy(t, "ExponentPushToken[");
    size_t n = strlen(t);
    memset(t + n, 'a', PUSH_TOKEN_MAX - n - 1);
    t[PUSH_TOKEN_MAX - 1] = ']';
    t[PUSH_TOKEN_MAX] = '\0';
    CU_ASSERT_TRUE(push_token_valid(t));
    t[PUSH_TOKEN_MAX - 1] = 'a';
    t[PUSH_TOKEN_MAX] = ']';
    t[PUSH_TOKEN_MAX + 1] = '\0';
    CU_ASSERT_FALSE(push_token_valid(t));
}

static void test_push__platform_valid(void)
{
    CU_ASSERT_TRUE(push_platform_valid("ios"));
    CU_ASSERT_TRUE(push_platform_valid("android"));
    CU_ASSERT_TRUE(push_platform_valid("web"));
    CU_ASSERT_FALSE(push_platform_valid("IOS"));
    CU_ASSERT_FALSE(push_platform_valid("windows"));
    CU_ASSERT_FALSE(push_platform_valid(""));
    CU_ASSERT_FALSE(push_platform_valid(NULL));
}

static void test_push__retry_delay(void)
{
    /* attempt n waits 2^(n-1) s, jittered within its upper half */
    CU_ASSERT_EQUAL(push_retry_delay_ms(1, 0, 0), 500);
    CU_ASSERT_EQUAL(push_retry_delay_ms(1, 0, 500), 1000);
    CU_ASSERT_EQUAL(push_retry_delay_ms(1, 0, 501), 500);
    CU_ASSERT_EQUAL(push_retry_delay_ms(3, 0, 0), 2000);
    CU_ASSERT_EQUAL(push_retry_delay_ms(3, 0, 2000), 4000);
    for (unsigned r = 0; r < 5000; r += 37) {
        long long d = push_retry_delay_ms(4, 0, r * 2654435761u);
        CU_ASSERT(d >= 4000 && d <= 8000);
    }
    /* capped at an hour, however many attempts */
    CU_ASSERT_EQUAL(push_retry_delay_ms(13, 0, 0), 1800000);
    CU_ASSERT(push_retry_delay_ms(100, 0, 12345) <= 3600000);
    CU_ASSERT(push_retry_delay_ms(100, 0, 12345) >= 1800000);
    CU_ASSERT_EQUAL(push_retry_delay_ms(0, 0, 0), 500);
    /* Retry-After is a floor */
    CU_ASSERT_EQUAL(push_retry_delay_ms(1, 30, 0), 30000);
    CU_ASSERT_EQUAL(push_retry_delay_ms(3, 1, 0), 2000);
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "token_valid", test_push__token_valid },
        { "platform_valid", test_push__platform_valid },
        { "retry_delay", test_push__retry_delay },
        { NULL, NULL },
    };
    return cu_run("push", tests);
}
