/* test_origen.c: the Origin rule for cookie sessions (API.md §9) through
 * the real nginx: a cross-site request carrying the ERP cookie is refused
 * with 403 origen_no_permitido and writes nothing; a same-site one works;
 * JSON endpoints want application/json from a cookie session (415); bearer
 * requests are not affected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "it.h"

static const char *base;            /* http://127.0.0.1:PORT, our own origin */

/* Everything a refused request could have written: the kit's fingerprint
 * plus the tables it does not cover. malloc'd. */
static char *fingerprint(void)
{
    char *fp = it_db_fingerprint();
    long long extra = it_db_ll("SELECT count(*) + coalesce(sum(hashtext(d::text)), 0) "
                               "FROM dispositivos_usuario d");
    long long users = it_db_ll("SELECT coalesce(sum(hashtext(u::text)), 0) FROM usuarios u");
    size_t n = strlen(fp) + 64;
    char *out = malloc(n);
    snprintf(out, n, "%s/%lld/%lld", fp, extra, users);
    free(fp);
    return out;
}

static const char *cookie_hdr(const char *token)
{
    return it_fmt("Cookie: %s=%s", it_cfg()->jwt_cookie, token);
}

/* A cookie-session request with up to three more headers. */
static struct it_resp *cookie_req(const char *method, const char *path, const char *token,
                                  const char *body, const char *ctype, const char *h1,
                                  const char *h2)
{
    char ck[8192];
    snprintf(ck, sizeof(ck), "%s", cookie_hdr(token));
    const char *hs[] = { ck, h1, h2, NULL };
    if (!h1)
        hs[1] = NULL;
    else if (!h2)
        hs[2] = NULL;
    return it_req_hdrs(method, path, NULL, body, body ? strlen(body) : 0, ctype, hs);
}

static void test_origen__cross_site_cookie_post_is_refused_and_writes_nothing(void)
{
    CU_ASSERT_FATAL(it_cfg()->jwt_cookie[0] != '\0');
    char *ta, *tb;
    long long a = it_user("oa", "Olga Origen", NULL, &ta);
    long long b = it_user("ob", "Omar Origen", NULL, &tb);
    long long g = it_group(ta, "Origen", &b, 1);
    const char *send = it_fmt("/chats/%lld/mensajes", g);
    char sendp[128];
    snprintf(sendp, sizeof(sendp), "%s", send);
    const char *evil = "Origin: https://evil.example";
    char *fp = fingerprint();
    struct {
        const char *method, *path, *body, *ctype, *h1, *h2;
    } cases[] = {
        /* a foreign Origin, whatever else the request says */
        { "POST", sendp, "{\"contenido\":\"x\"}", NULL, evil, NULL },
        { "POST", sendp, "{\"contenido\":\"x\"}", NULL, evil, "Sec-Fetch-Site: same-origin" },
        { "POST", "/dispositivos", "{\"token\":\"ExponentPushToken[ataque]\",\"plataforma\":\"android\"}",
          NULL, evil, NULL },
        { "POST", it_fmt("/chats/%lld/miembros", g), "{\"usuario_ids\":[1]}", NULL, evil, NULL },
        { "DELETE", it_fmt("/chats/%lld", g), NULL, NULL, evil, NULL },
        { "PATCH", it_fmt("/chats/%lld", g), "{\"nombre\":\"robado\"}", NULL, evil, NULL },
        /* sendBeacon-like: text/plain, cross-site */
        { "POST", sendp, "{\"contenido\":\"x\"}", "text/plain", evil, NULL },
        /* the opaque origin of a sandboxed frame */
        { "POST", sendp, "{\"contenido\":\"x\"}", NULL, "Origin: null", NULL },
        /* an origin that only starts like ours */
        { "POST", sendp, "{\"contenido\":\"x\"}", NULL, it_fmt("Origin: %s.evil.example", base), NULL },
        /* no Origin: Sec-Fetch-Site decides */
        { "POST", sendp, "{\"contenido\":\"x\"}", NULL, "Sec-Fetch-Site: cross-site", NULL },
        { "POST", sendp, "{\"contenido\":\"x\"}", NULL, "Sec-Fetch-Site: same-site", NULL },
        /* then the Referer */
        { "POST", sendp, "{\"contenido\":\"x\"}", NULL, "Referer: https://evil.example/page", NULL },
        { "POST", sendp, "{\"contenido\":\"x\"}", NULL,
          it_fmt("Referer: https://evil.example/?%s/chat/", base), NULL },
        /* and with nothing at all, refused */
        { "POST", sendp, "{\"contenido\":\"x\"}", NULL, NULL, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char h1[1024] = "", h2[1024] = "";
        if (cases[i].h1)
            snprintf(h1, sizeof(h1), "%s", cases[i].h1);
        if (cases[i].h2)
            snprintf(h2, sizeof(h2), "%s", cases[i].h2);
        struct it_resp *r = cookie_req(cases[i].method, cases[i].path, ta, cases[i].body,
                                       cases[i].ctype, cases[i].h1 ? h1 : NULL,
                                       cases[i].h2 ? h2 : NULL);
        if (r->status != 403 || strcmp(it_error_code(r), "origen_no_permitido") != 0)
            fprintf(stderr, "case %zu (%s %s %s): %ld %s\n", i, cases[i].method, cases[i].path,
                    h1, r->status, r->body);
        CU_ASSERT_EQUAL(r->status, 403);
        CU_ASSERT_STRING_EQUAL(it_error_code(r), "origen_no_permitido");
        it_free(r);
    }
    char *fp2 = fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM dispositivos_usuario WHERE usuario_id = %lld", a), 0);
    /* reading with the cookie from anywhere is still allowed (GET is safe) */
    struct it_resp *r = cookie_req("GET", "/me", ta, NULL, NULL, evil, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    free(fp);
    free(fp2);
    free(ta);
    free(tb);
}

static void test_origen__same_site_cookie_post_works(void)
{
    char *ta, *tb;
    it_user("sa", "Sara Mismo", NULL, &ta);
    long long b = it_user("sb", "Saúl Mismo", NULL, &tb);
    long long g = it_group(ta, "Mismo sitio", &b, 1);
    char send[128], own[512], ref[512];
    snprintf(send, sizeof(send), "/chats/%lld/mensajes", g);
    snprintf(own, sizeof(own), "Origin: %s", base);
    snprintf(ref, sizeof(ref), "Referer: %s/chat/?x=1", base);
    const char *ok[][2] = {
        { own, NULL },
        { "Sec-Fetch-Site: same-origin", NULL },
        { ref, NULL },
        { own, "Sec-Fetch-Site: same-origin" },
    };
    long long before = it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld", g);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct it_resp *r = cookie_req("POST", send, ta, it_fmt("{\"contenido\":\"hola %zu\"}", i),
                                       "application/json; charset=utf-8", ok[i][0], ok[i][1]);
        CU_ASSERT_EQUAL(r->status, 201);
        it_free(r);
    }
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld", g), before + 4);
    /* an origin from origenes_permitidos */
    const char *list = it_cfg()->origenes_permitidos;
    CU_ASSERT_FATAL(list[0] != '\0');       /* the test stack sets one */
    char listed[512];
    snprintf(listed, sizeof(listed), "Origin: %.*s", (int)strcspn(list, ", "), list);
    struct it_resp *r = cookie_req("POST", send, ta, "{\"contenido\":\"desde el ERP\"}", NULL,
                                   listed, NULL);
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    /* a DELETE from our own page */
    r = cookie_req("DELETE", it_fmt("/chats/%lld", g), ta, NULL, NULL, own, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    free(ta);
    free(tb);
}

static void test_origen__cookie_json_endpoints_want_json(void)
{
    char *ta, *tb;
    it_user("ja", "Julia Tipo", NULL, &ta);
    long long b = it_user("jb", "Jaime Tipo", NULL, &tb);
    long long g = it_group(ta, "Tipos", &b, 1);
    char send[128], own[512];
    snprintf(send, sizeof(send), "/chats/%lld/mensajes", g);
    snprintf(own, sizeof(own), "Origin: %s", base);
    char *fp = fingerprint();
    /* a body with another type, or none, from our own origin: 415 */
    const char *types[] = { "text/plain", "application/x-www-form-urlencoded",
                            "application/jsonp", "", NULL };
    for (int i = 0; types[i]; i++) {
        struct it_resp *r = cookie_req("POST", send, ta, "{\"contenido\":\"x\"}", types[i], own, NULL);
        CU_ASSERT_EQUAL(r->status, 415);
        CU_ASSERT_STRING_EQUAL(it_error_code(r), "tipo_no_permitido");
        it_free(r);
    }
    /* an empty POST to an endpoint whose body is optional: the type is still needed */
    struct it_resp *r = cookie_req("POST", it_fmt("/comunicados/%d/leido", 1), ta, NULL, NULL, own, NULL);
    CU_ASSERT_EQUAL(r->status, 415);
    it_free(r);
    char *fp2 = fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    free(ta);
    free(tb);
}

static void test_origen__bearer_is_not_affected(void)
{
    char *ta, *tb;
    long long a = it_user("ba", "Bruno Portador", NULL, &ta);
    long long b = it_user("bb", "Berta Portador", NULL, &tb);
    long long g = it_group(ta, "Portador", &b, 1);
    char send[128];
    snprintf(send, sizeof(send), "/chats/%lld/mensajes", g);
    const char *hs[] = { "Origin: https://evil.example", "Sec-Fetch-Site: cross-site", NULL };
    const char *body = "{\"contenido\":\"con bearer\"}";
    struct it_resp *r = it_req_hdrs("POST", send, ta, body, strlen(body), NULL, hs);
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    /* no Content-Type, as before */
    r = it_req_hdrs("POST", send, ta, body, strlen(body), "", hs);
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    /* a bearer token wins over a cookie, so the cookie rule does not apply */
    const char *hs2[] = { "Origin: https://evil.example", cookie_hdr(tb), NULL };
    r = it_req_hdrs("POST", send, ta, body, strlen(body), NULL, hs2);
    CU_ASSERT_EQUAL(r->status, 201);
    CU_ASSERT_EQUAL(it_get_ll(r, "autor.id"), a);
    it_free(r);
    free(ta);
    free(tb);
}

int main(void)
{
    it_init();
    base = getenv("CHAT_TEST_BASE");
    if (!base) {
        fprintf(stderr, "CHAT_TEST_BASE is not set (run with scripts/run-tests.sh)\n");
        return 2;
    }
    static const struct cu_test tests[] = {
        { "cross_site_cookie_post_is_refused_and_writes_nothing",
          test_origen__cross_site_cookie_post_is_refused_and_writes_nothing },
        { "same_site_cookie_post_works", test_origen__same_site_cookie_post_works },
        { "cookie_json_endpoints_want_json", test_origen__cookie_json_endpoints_want_json },
        { "bearer_is_not_affected", test_origen__bearer_is_not_affected },
        { NULL, NULL },
    };
    return cu_run("origen", tests);
}
