/* test_privacidad.c: presence privacy (API.md §9): ultima_conexion only for
 * users who share a live chat with the caller, and for the caller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "it.h"

/* ultima_conexion of id in GET /presencia?ids=id as tok: 1 when a
 * timestamp, 0 when null; -1 when the user is missing from the answer. */
static int seen(const char *tok, long long id)
{
    struct it_resp *r = it_req("GET", it_fmt("/presencia?ids=%lld", id), tok, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    int out = -1;
    if (it_get_ll(r, "presencia.0.usuario_id") == id) {
        json_object *v = it_get(r, "presencia.0.ultima_conexion");
        out = v && json_object_is_type(v, json_type_string) ? 1 : 0;
        /* estatus is shown either way */
        CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "presencia.0.estatus"));
    }
    it_free(r);
    return out;
}

static void test_privacidad__ultima_conexion_only_for_shared_chats(void)
{
    char *ta, *tb, *tc;
    long long a = it_user("pa", "Paula Privada", NULL, &ta);
    long long b = it_user("pb", "Pablo Privado", NULL, &tb);
    long long c = it_user("pc", "Pilar Ajena", NULL, &tc);
    /* everybody was last seen a minute ago */
    it_db_llf("WITH x AS (UPDATE usuarios SET ultima_conexion = now() - interval '1 minute'"
              " WHERE id IN (%lld, %lld, %lld) RETURNING 1) SELECT count(*) FROM x", a, b, c);
    /* no chat in common: null; oneself: shown */
    CU_ASSERT_EQUAL(seen(ta, b), 0);
    CU_ASSERT_EQUAL(seen(ta, a), 1);
    /* a group in common: shown, both ways */
    long long g = it_group(ta, "Privacidad", &b, 1);
    CU_ASSERT_EQUAL(seen(ta, b), 1);
    CU_ASSERT_EQUAL(seen(tb, a), 1);
    CU_ASSERT_EQUAL(seen(tc, a), 0);
    /* several ids at once: each on its own merits */
    struct it_resp *r = it_req("GET", it_fmt("/presencia?ids=%lld,%lld,%lld", a, b, c), tb, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "presencia")), 3);
    for (int i = 0; i < 3; i++) {
        long long id = it_get_ll(r, it_fmt("presencia.%d.usuario_id", i));
        json_object *v = it_get(r, it_fmt("presencia.%d.ultima_conexion", i));
        CU_ASSERT_EQUAL(v != NULL, id != c);
    }
    it_free(r);
    /* a deleted chat no longer counts */
    r = it_req("DELETE", it_fmt("/chats/%lld", g), ta, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    CU_ASSERT_EQUAL(seen(ta, b), 0);
    free(ta);
    free(tb);
    free(tc);
}

int main(void)
{
    it_init();
    static const struct cu_test tests[] = {
        { "ultima_conexion_only_for_shared_chats",
          test_privacidad__ultima_conexion_only_for_shared_chats },
        { NULL, NULL },
    };
    return cu_run("privacidad", tests);
}
