/* test_origin.c: origin parsing and the cookie-session Origin rule. */
#include <string.h>

#include "cu.h"
#include "core/origin.h"

static const char *norm(const char *s)
{
    static char out[ORIGIN_MAX];
    return origin_normalize(s, strlen(s), out) == 0 ? out : NULL;
}

static void test_origin__normalize(void)
{
    CU_ASSERT_STRING_EQUAL(norm("https://ERP.Example.com"), "https://erp.example.com");
    CU_ASSERT_STRING_EQUAL(norm("https://erp.example.com:443"), "https://erp.example.com");
    CU_ASSERT_STRING_EQUAL(norm("http://erp:80"), "http://erp");
    CU_ASSERT_STRING_EQUAL(norm("http://erp:0080"), "http://erp");
    CU_ASSERT_STRING_EQUAL(norm("http://erp:443"), "http://erp:443");
    CU_ASSERT_STRING_EQUAL(norm("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    CU_ASSERT_STRING_EQUAL(norm("http://[::1]:8080"), "http://[::1]:8080");
    static const char *bad[] = { "null", "", "ftp://x", "https://", "https://x/", "https://x/p",
                                 "https://u@x", "https://x:", "https://x:0", "https://x:65536",
                                 "https://x:123456", "https://x?y", "https://[]", "https://[zz]",
                                 "https://x y", "//x", "https:x", NULL };
    for (int i = 0; bad[i]; i++)
        CU_ASSERT_PTR_NULL(norm(bad[i]));
    char longer[400];
    memset(longer, 'a', sizeof(longer));
    memcpy(longer, "http://", 7);
    char out[ORIGIN_MAX];
    CU_ASSERT_EQUAL(origin_normalize(longer, sizeof(longer), out), -1);
}

static void test_origin__url_and_own(void)
{
    char o[ORIGIN_MAX];
    CU_ASSERT_EQUAL(origin_of_url("https://erp.example.com/chat/?a=b", o), 0);
    CU_ASSERT_STRING_EQUAL(o, "https://erp.example.com");
    CU_ASSERT_EQUAL(origin_of_url("https://erp.example.com", o), 0);
    CU_ASSERT_EQUAL(origin_of_url("https://erp.example.com?x", o), 0);
    CU_ASSERT_EQUAL(origin_of_url("https://erp.example.com@evil.example/", o), -1);
    CU_ASSERT_EQUAL(origin_of_url("/relative", o), -1);
    CU_ASSERT_EQUAL(origin_of_url(NULL, o), -1);
    CU_ASSERT_EQUAL(origin_own("https", "erp.example.com", "443", o), 0);
    CU_ASSERT_STRING_EQUAL(o, "https://erp.example.com");
    CU_ASSERT_EQUAL(origin_own(NULL, "127.0.0.1", "8080", o), 0);
    CU_ASSERT_STRING_EQUAL(o, "http://127.0.0.1:8080");
    /* a port in Host wins over the server's */
    CU_ASSERT_EQUAL(origin_own("http", "erp:9000", "8080", o), 0);
    CU_ASSERT_STRING_EQUAL(o, "http://erp:9000");
    CU_ASSERT_EQUAL(origin_own("http", "[::1]", "8080", o), 0);
    CU_ASSERT_STRING_EQUAL(o, "http://[::1]:8080");
    CU_ASSERT_EQUAL(origin_own("http", "", "80", o), -1);
    CU_ASSERT_EQUAL(origin_own("http", NULL, "80", o), -1);
    CU_ASSERT_EQUAL(origin_own("http", "a/b", "80", o), -1);
}

static void test_origin__list(void)
{
    char why[256];
    CU_ASSERT_EQUAL(origin_list_check("", why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(origin_list_check("https://a.example, https://b.example:8443  http://c",
                                      why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(origin_list_check("https://a.example,https://b.example/ruta", why, sizeof(why)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "origenes_permitidos"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "https://b.example/ruta"));
    CU_ASSERT_EQUAL(origin_list_check("*", why, sizeof(why)), -1);
    CU_ASSERT_TRUE(origin_in("https://b.example:8443", NULL, "https://a.example, HTTPS://B.example:8443"));
    CU_ASSERT_FALSE(origin_in("https://b.example", NULL, "https://a.example, https://b.example:8443"));
    CU_ASSERT_TRUE(origin_in("http://own", "http://own", ""));
    CU_ASSERT_FALSE(origin_in("", "", ""));
}

static void test_origin__rule(void)
{
    const char *own = "https://erp.example.com", *list = "https://portal.example.com";
    /* Origin decides when present */
    CU_ASSERT_TRUE(origin_request_allowed("https://erp.example.com", NULL, NULL, own, list));
    CU_ASSERT_TRUE(origin_request_allowed("https://erp.example.com:443", "cross-site", NULL, own, list));
    CU_ASSERT_TRUE(origin_request_allowed("https://portal.example.com", NULL, NULL, own, list));
    CU_ASSERT_FALSE(origin_request_allowed("https://evil.example", "same-origin",
                                           "https://erp.example.com/", own, list));
    CU_ASSERT_FALSE(origin_request_allowed("null", NULL, NULL, own, list));
    CU_ASSERT_FALSE(origin_request_allowed("http://erp.example.com", NULL, NULL, own, list));
    /* else Sec-Fetch-Site */
    CU_ASSERT_TRUE(origin_request_allowed(NULL, "same-origin", NULL, own, list));
    CU_ASSERT_FALSE(origin_request_allowed(NULL, "same-site", "https://erp.example.com/", own, list));
    CU_ASSERT_FALSE(origin_request_allowed(NULL, "none", NULL, own, list));
    /* else the Referer */
    CU_ASSERT_TRUE(origin_request_allowed(NULL, NULL, "https://erp.example.com/chat/", own, list));
    CU_ASSERT_FALSE(origin_request_allowed(NULL, NULL, "https://evil.example/https://erp.example.com/",
                                           own, list));
    /* nothing at all: refused */
    CU_ASSERT_FALSE(origin_request_allowed(NULL, NULL, NULL, own, list));
    /* own unknown: only the list */
    CU_ASSERT_FALSE(origin_request_allowed("https://erp.example.com", NULL, NULL, NULL, list));
    CU_ASSERT_TRUE(origin_request_allowed("https://portal.example.com", NULL, NULL, NULL, list));
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "normalize", test_origin__normalize },
        { "url_and_own", test_origin__url_and_own },
        { "list", test_origin__list },
        { "rule", test_origin__rule },
        { NULL, NULL },
    };
    return cu_run("origin", tests);
}
