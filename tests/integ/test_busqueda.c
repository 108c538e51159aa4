/* test_busqueda.c: GET /buscar (API.md §9) against the running stack:
 * Spanish stemming without accents, phrases and exclusions, excerpts with
 * code-point marks, filters, cursor paging in both orders, announcements,
 * and who may find what (members only, removed members, deleted messages,
 * edits, masked authors); GET /chats/{id}/mensajes?alrededor=. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu.h"
#include "it.h"

static char *svc;

/* A word no other test run uses: letters only, so the stemmer keeps it
 * whole ("qz" + the pid and a counter spelled in letters + tag). */
static const char *word(const char *tag)
{
    static int n;
    char buf[64];
    snprintf(buf, sizeof(buf), "%d%02d", (int)getpid(), n++);
    char *w = malloc(96);
    size_t k = 0;
    w[k++] = 'q';
    w[k++] = 'z';
    for (char *s = buf; *s; s++)
        w[k++] = (char)('b' + (*s - '0'));
    w[k] = '\0';
    strcat(w, tag);
    return w;
}

static struct it_resp *buscar(const char *tok, const char *query)
{
    return it_req("GET", it_fmt("/buscar?%s", query), tok, NULL);
}

static size_t nres(const struct it_resp *r)
{
    json_object *a = it_get(r, "resultados");
    return a ? json_object_array_length(a) : (size_t)-1;
}

static json_object *res(const struct it_resp *r, size_t i)
{
    return json_object_array_get_idx(it_get(r, "resultados"), i);
}

static long long res_msg_id(const struct it_resp *r, size_t i)
{
    json_object *m, *id;
    if (!json_object_object_get_ex(res(r, i), "mensaje", &m) || !m ||
        !json_object_object_get_ex(m, "id", &id))
        return -1;
    return json_object_get_int64(id);
}

/* Does the answer hold message id? */
static bool has_msg(const struct it_resp *r, long long id)
{
    for (size_t i = 0; i < nres(r) && nres(r) != (size_t)-1; i++)
        if (res_msg_id(r, i) == id)
            return true;
    return false;
}

/* The text of mark k of hit i, cut from extracto by code points. */
static char *mark_text(const struct it_resp *r, size_t i, size_t k)
{
    json_object *x, *marcas;
    if (!json_object_object_get_ex(res(r, i), "extracto", &x) ||
        !json_object_object_get_ex(res(r, i), "marcas", &marcas) ||
        k >= json_object_array_length(marcas))
        return strdup("");
    json_object *m = json_object_array_get_idx(marcas, k);
    long from = (long)json_object_get_int64(json_object_array_get_idx(m, 0));
    long to = (long)json_object_get_int64(json_object_array_get_idx(m, 1));
    const unsigned char *s = (const unsigned char *)json_object_get_string(x);
    long cp = -1;
    const unsigned char *b = NULL, *e = NULL;
    for (const unsigned char *p = s;; p++) {
        if (!*p || (*p & 0xC0) != 0x80) {
            cp++;
            if (cp == from)
                b = p;
            if (cp == to) {
                e = p;
                break;
            }
        }
        if (!*p)
            break;
    }
    if (!b || !e)
        return strdup("");
    return strndup((const char *)b, (size_t)(e - b));
}

static void test_busqueda__stemming_accents_phrases(void)
{
    char *ta, *tb;
    long long a = it_user("ba", "Berta Busca", NULL, &ta);
    long long b = it_user("bb", "Bruno Busca", NULL, &tb);
    long long g = it_group(ta, "Búsquedas", &b, 1);
    const char *w = word("x");
    long long m1 = it_send_text(ta, g, it_fmt("😀 La información del pedido %s está lista", w));
    long long m2 = it_send_text(tb, g, it_fmt("Enviamos los pedidos %s ayer", w));
    long long m3 = it_send_text(tb, g, it_fmt("Nada que ver con %s", w));

    /* no accent finds the accented word; the mark covers it exactly */
    struct it_resp *r = buscar(tb, it_fmt("q=informacion+%s", w));
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_EQUAL(nres(r), 1);
    CU_ASSERT_EQUAL(res_msg_id(r, 0), m1);
    char *t = mark_text(r, 0, 0);
    CU_ASSERT_STRING_EQUAL(t, "información");
    free(t);
    json_object *chat;
    CU_ASSERT(json_object_object_get_ex(res(r, 0), "chat", &chat));
    CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(chat, "id")), g);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(chat, "tipo")), "grupo");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(chat, "nombre")), "Búsquedas");
    CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(
                        json_object_object_get(json_object_object_get(res(r, 0), "mensaje"), "autor"), "id")), a);
    CU_ASSERT_PTR_NULL(it_get(r, "cursor"));
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 0);
    it_free(r);

    /* plural finds singular (stemming), upper case and accents ignored */
    r = buscar(ta, it_fmt("q=PEDIDOS+%s", w));
    CU_ASSERT_EQUAL(nres(r), 2);
    CU_ASSERT(has_msg(r, m1) && has_msg(r, m2) && !has_msg(r, m3));
    it_free(r);
    /* a phrase */
    r = buscar(ta, it_fmt("q=%%22pedidos+%s+ayer%%22", w));
    CU_ASSERT_EQUAL(nres(r), 1);
    CU_ASSERT(has_msg(r, m2));
    it_free(r);
    /* -word excludes */
    r = buscar(ta, it_fmt("q=pedido+%s+-ayer", w));
    CU_ASSERT_EQUAL(nres(r), 1);
    CU_ASSERT(has_msg(r, m1));
    it_free(r);
    /* only stop words: nothing, not an error */
    r = buscar(ta, "q=de+la+los");
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_EQUAL(nres(r), 0);
    it_free(r);
    free(ta);
    free(tb);
    free((void *)w);
}

static void test_busqueda__who_finds_what(void)
{
    char *ta, *tb, *tc, *td;
    long long a = it_user("wa", "Wanda Admin", NULL, &ta);
    long long b = it_user("wb", "Walter Miembro", NULL, &tb);
    it_user("wc", "Wendy Ajena", NULL, &tc);
    long long dd = it_user("wd", "Wilma Baja", NULL, &td);
    long long ids[2] = { b, dd };
    long long g = it_group(ta, "Privado", ids, 2);
    const char *w = word("w");
    long long m1 = it_send_text(ta, g, it_fmt("secreto %s uno", w));
    long long m2 = it_send_text(td, g, it_fmt("secreto %s dos", w));
    long long m3 = it_send_text(ta, g, it_fmt("borrador %s tres", w));

    struct it_resp *r = buscar(tb, it_fmt("q=%s", w));
    CU_ASSERT_EQUAL(nres(r), 3);
    it_free(r);
    /* a non-member finds nothing, and cannot name the chat */
    r = buscar(tc, it_fmt("q=%s", w));
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_EQUAL(nres(r), 0);
    it_free(r);
    it_expect(buscar(tc, it_fmt("q=%s&chat_id=%lld", w, g)), 404, "no_encontrado");

    /* a deleted message is gone at once */
    it_expect(it_req("DELETE", it_fmt("/mensajes/%lld", m3), ta, NULL), 204, NULL);
    r = buscar(tb, it_fmt("q=borrador+%s", w));
    CU_ASSERT_EQUAL(nres(r), 0);
    it_free(r);
    /* an edit: the old word is gone, the new one found */
    it_expect(it_req("PATCH", it_fmt("/mensajes/%lld", m1), ta,
                     it_fmt("{\"contenido\":\"confidencial %s uno\"}", w)), 200, NULL);
    r = buscar(tb, it_fmt("q=secreto+%s", w));
    CU_ASSERT_EQUAL(nres(r), 1);
    CU_ASSERT(has_msg(r, m2));
    it_free(r);
    r = buscar(tb, it_fmt("q=confidencial+%s", w));
    CU_ASSERT_EQUAL(nres(r), 1);
    CU_ASSERT(has_msg(r, m1));
    it_free(r);

    /* a deactivated author is masked in the hit */
    it_expect(it_req("POST", it_fmt("/interno/usuarios/%s/desactivar", it_erp_of(dd)), svc, NULL),
              200, NULL);
    r = buscar(tb, it_fmt("q=secreto+%s", w));
    CU_ASSERT_EQUAL(nres(r), 1);
    json_object *autor = json_object_object_get(json_object_object_get(res(r, 0), "mensaje"), "autor");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(autor, "nombre")),
                           "Usuario desactivado");
    CU_ASSERT_PTR_NULL(json_object_object_get(autor, "imagen_url"));
    CU_ASSERT(strstr(r->body, "Wilma") == NULL);
    it_free(r);

    /* sistema messages (who was added, with names) are never found */
    r = buscar(tb, "q=Walter+Miembro");
    for (size_t i = 0; i < nres(r); i++)
        CU_ASSERT_STRING_NOT_EQUAL(json_object_get_string(json_object_object_get(
                                       json_object_object_get(res(r, i), "mensaje"), "tipo")), "sistema");
    it_free(r);

    /* a member who is removed stops finding the chat's messages */
    it_expect(it_req("DELETE", it_fmt("/chats/%lld/miembros/%lld", g, b), ta, NULL), 204, NULL);
    r = buscar(tb, it_fmt("q=%s", w));
    CU_ASSERT_EQUAL(nres(r), 0);
    it_free(r);
    /* a deleted chat: nobody finds it */
    it_expect(it_req("DELETE", it_fmt("/chats/%lld", g), ta, NULL), 204, NULL);
    r = buscar(ta, it_fmt("q=%s", w));
    CU_ASSERT_EQUAL(nres(r), 0);
    it_free(r);
    (void)a;
    free(ta);
    free(tb);
    free(tc);
    free(td);
    free((void *)w);
}

static void test_busqueda__filters(void)
{
    char *ta, *tb;
    long long a = it_user("fa", "Fabio Filtra", NULL, &ta);
    long long b = it_user("fb", "Flor Filtra", NULL, &tb);
    long long g1 = it_group(ta, "Uno", &b, 1);
    long long g2 = it_group(ta, "Dos", &b, 1);
    const char *w = word("f");
    long long m1 = it_send_text(ta, g1, it_fmt("%s de Fabio en uno", w));
    long long m2 = it_send_text(tb, g1, it_fmt("%s de Flor en uno", w));
    long long m3 = it_send_text(tb, g2, it_fmt("%s de Flor en dos", w));
    /* a file whose name holds the word, no caption */
    long long doc = it_db_llf("INSERT INTO media (uploader_id, storage_key, nombre, mime, tamano)"
                              " VALUES (%lld, 'busq-doc-%lld', 'informe_%s-final.pdf',"
                              " 'application/pdf', 1000) RETURNING id", a, a, w);
    struct it_resp *r = it_req("POST", it_fmt("/chats/%lld/mensajes", g2), ta,
                               it_fmt("{\"tipo\":\"documento\",\"media_id\":%lld}", doc));
    CU_ASSERT_EQUAL(r->status, 201);
    long long m4 = it_get_ll(r, "id");
    it_free(r);
    /* a poll whose question holds the word */
    r = it_req("POST", it_fmt("/chats/%lld/encuestas", g1), tb,
               it_fmt("{\"pregunta\":\"¿Cuándo revisamos %s?\",\"opciones\":[\"hoy\",\"mañana\"]}", w));
    CU_ASSERT_EQUAL(r->status, 201);
    long long m5 = it_get_ll(r, "id");
    it_free(r);

    r = buscar(ta, it_fmt("q=%s", w));
    CU_ASSERT_EQUAL(nres(r), 5);
    it_free(r);
    r = buscar(ta, it_fmt("q=%s&chat_id=%lld", w, g2));
    CU_ASSERT_EQUAL(nres(r), 2);
    CU_ASSERT(has_msg(r, m3) && has_msg(r, m4));
    it_free(r);
    r = buscar(ta, it_fmt("q=%s&autor_id=%lld", w, b));
    CU_ASSERT_EQUAL(nres(r), 3);
    CU_ASSERT(has_msg(r, m2) && has_msg(r, m3) && has_msg(r, m5));
    it_free(r);
    r = buscar(ta, it_fmt("q=%s&tipo=encuesta", w));
    CU_ASSERT_EQUAL(nres(r), 1);
    CU_ASSERT(has_msg(r, m5));
    CU_ASSERT_PTR_NOT_NULL(json_object_object_get(json_object_object_get(res(r, 0), "mensaje"), "encuesta"));
    it_free(r);
    /* the file name is searchable, and con_archivos keeps only files */
    r = buscar(ta, it_fmt("q=informe+%s&con_archivos=true", w));
    CU_ASSERT_EQUAL(nres(r), 1);
    CU_ASSERT(has_msg(r, m4));
    char *t = mark_text(r, 0, 0);
    CU_ASSERT(strcmp(t, "informe") == 0 || strcmp(t, w) == 0);
    free(t);
    it_free(r);
    r = buscar(ta, it_fmt("q=%s&con_archivos=false", w));
    CU_ASSERT_EQUAL(nres(r), 4);
    CU_ASSERT(!has_msg(r, m4));
    it_free(r);
    /* dates: move m1 back a month */
    it_db_llf("UPDATE mensajes SET created_at = now() - interval '40 days' WHERE id = %lld"
              " RETURNING id", m1);
    char today[16], old[16];
    PGresult *pr = PQexec(it_db(), "SELECT current_date::text, (current_date - 40)::text");
    snprintf(today, sizeof(today), "%s", PQgetvalue(pr, 0, 0));
    snprintf(old, sizeof(old), "%s", PQgetvalue(pr, 0, 1));
    PQclear(pr);
    r = buscar(ta, it_fmt("q=%s&desde=%s", w, today));
    CU_ASSERT_EQUAL(nres(r), 4);
    CU_ASSERT(!has_msg(r, m1));
    it_free(r);
    r = buscar(ta, it_fmt("q=%s&desde=%s&hasta=%s", w, old, old));
    CU_ASSERT_EQUAL(nres(r), 1);
    CU_ASSERT(has_msg(r, m1));
    it_free(r);
    free(ta);
    free(tb);
    free((void *)w);
}

static void test_busqueda__paging_and_order(void)
{
    char *ta, *tb;
    it_user("pa", "Paula Pagina", NULL, &ta);
    long long b = it_user("pb", "Pedro Pagina", NULL, &tb);
    long long g = it_group(ta, "Páginas", &b, 1);
    const char *w = word("p");
    long long ids[7];
    for (int i = 0; i < 7; i++)
        ids[i] = it_send_text(ta, g, i == 3 ? it_fmt("%s %s %s repetido", w, w, w)
                                            : it_fmt("mensaje %d con %s y bastante texto alrededor", i, w));
    /* relevance: the message with the word three times comes first */
    struct it_resp *r = buscar(tb, it_fmt("q=%s&limite=3", w));
    CU_ASSERT_EQUAL(nres(r), 3);
    CU_ASSERT_EQUAL(res_msg_id(r, 0), ids[3]);
    CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(res(r, 0), "marcas")), 3);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 1);
    /* every page once, none twice */
    int seen[7] = { 0 }, pages = 0;
    char *cur = NULL;
    for (;;) {
        for (size_t i = 0; i < nres(r); i++)
            for (int k = 0; k < 7; k++)
                if (res_msg_id(r, i) == ids[k])
                    seen[k]++;
        pages++;
        free(cur);
        cur = it_get_str(r, "cursor") ? strdup(it_get_str(r, "cursor")) : NULL;
        bool more = json_object_get_boolean(it_get(r, "hay_mas"));
        it_free(r);
        if (!more || pages > 5)
            break;
        CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
        r = buscar(tb, it_fmt("q=%s&limite=3&cursor=%s", w, cur));
        CU_ASSERT_EQUAL(r->status, 200);
    }
    CU_ASSERT_EQUAL(pages, 3);
    for (int k = 0; k < 7; k++)
        CU_ASSERT_EQUAL(seen[k], 1);
    free(cur);
    /* date order: newest first, paged the same way */
    r = buscar(tb, it_fmt("q=%s&orden=fecha&limite=4", w));
    CU_ASSERT_EQUAL(nres(r), 4);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(res_msg_id(r, (size_t)i), ids[6 - i]);
    cur = strdup(it_get_str(r, "cursor"));
    it_free(r);
    r = buscar(tb, it_fmt("q=%s&orden=fecha&limite=4&cursor=%s", w, cur));
    CU_ASSERT_EQUAL(nres(r), 3);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(res_msg_id(r, (size_t)i), ids[2 - i]);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 0);
    it_free(r);
    /* a relevance cursor is refused for date order */
    it_expect(buscar(tb, it_fmt("q=%s&orden=fecha&cursor=r~-~-", w)), 400, "solicitud_invalida");
    free(cur);
    free(ta);
    free(tb);
    free((void *)w);
}

static void test_busqueda__announcements(void)
{
    char *tj, *tb, *tc;
    it_user("aj", "Jefa Anuncia", "567", &tj);
    long long b = it_user("ab", "Beto Recibe", NULL, &tb);
    it_user("ac", "Carla Otra", NULL, &tc);
    const char *w = word("a");
    struct it_resp *r = it_req("POST", "/comunicados", tj,
                               it_fmt("{\"titulo\":\"Vacaciones %s\",\"contenido\":\"Las oficinas cierran"
                                      " en diciembre\",\"destinatarios\":{\"usuario_ids\":[%lld]}}", w, b));
    CU_ASSERT_EQUAL(r->status, 201);
    long long cid = it_get_ll(r, "id");
    it_free(r);
    r = buscar(tb, it_fmt("q=oficina+%s", w));
    CU_ASSERT_EQUAL(nres(r), 1);
    json_object *c = json_object_object_get(res(r, 0), "comunicado");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(c, "id")), cid);
    CU_ASSERT_PTR_NULL(json_object_object_get(res(r, 0), "mensaje"));
    char *t = mark_text(r, 0, 0);
    CU_ASSERT_STRING_EQUAL(t, w);
    free(t);
    it_free(r);
    /* the author finds it too; someone else does not; tipo=texto leaves it out */
    r = buscar(tj, it_fmt("q=%s", w));
    CU_ASSERT_EQUAL(nres(r), 1);
    it_free(r);
    r = buscar(tc, it_fmt("q=%s", w));
    CU_ASSERT_EQUAL(nres(r), 0);
    it_free(r);
    r = buscar(tb, it_fmt("q=%s&tipo=texto", w));
    CU_ASSERT_EQUAL(nres(r), 0);
    it_free(r);
    r = buscar(tb, it_fmt("q=%s&tipo=comunicado", w));
    CU_ASSERT_EQUAL(nres(r), 1);
    it_free(r);
    /* deleted: gone */
    char *tdel;
    it_user("ad", "Dora Borra", "568", &tdel);
    it_expect(it_req("DELETE", it_fmt("/comunicados/%lld", cid), tdel, NULL), 204, NULL);
    r = buscar(tb, it_fmt("q=%s", w));
    CU_ASSERT_EQUAL(nres(r), 0);
    it_free(r);
    free(tdel);
    free(tj);
    free(tb);
    free(tc);
    free((void *)w);
}

static void test_busqueda__bad_input(void)
{
    char *ta;
    it_user("xa", "Xavi Malo", NULL, &ta);
    char *fp = it_db_fingerprint();
    it_expect(buscar(ta, "limite=3"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=+++"), 400, "solicitud_invalida");
    char longq[700] = "q=";
    for (int i = 0; i < 201; i++)
        strcat(longq, "a");
    it_expect(buscar(ta, longq), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&desde=2026-02-30"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&hasta=ayer"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&desde=2026-05-02&hasta=2026-05-01"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&tipo=sistema"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&orden=azar"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&cursor=zzz"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&cursor=r~1_x~-"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&limite=0"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&limite=201"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&chat_id=abc"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=hola&con_archivos=quizas"), 400, "solicitud_invalida");
    it_expect(buscar(ta, "q=%ZZ"), 400, "solicitud_invalida");
    it_expect(buscar(NULL, "q=hola"), 401, "token_invalido");
    /* websearch syntax never errors: odd quotes and operators are text */
    struct it_resp *r = buscar(ta, "q=%22abierta+-+%7C+%26+!+(x");
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    free(ta);
}

static void test_busqueda__around(void)
{
    char *ta, *tb, *tc;
    it_user("ra", "Rita Alrededor", NULL, &ta);
    long long b = it_user("rb", "Raúl Alrededor", NULL, &tb);
    it_user("rc", "Rosa Fuera", NULL, &tc);
    long long g = it_group(ta, "Alrededor", &b, 1);
    long long ids[30];
    for (int i = 0; i < 30; i++)
        ids[i] = it_send_text(i % 2 ? ta : tb, g, it_fmt("línea %d", i));
    struct it_resp *r = it_req("GET", it_fmt("/chats/%lld/mensajes?alrededor=%lld&limite=10", g, ids[15]),
                               tb, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    json_object *arr = it_get(r, "mensajes");
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(arr), 10);
    /* newest first, contiguous, the message inside */
    bool found = false;
    for (size_t i = 0; i < 10; i++) {
        long long id = json_object_get_int64(json_object_object_get(json_object_array_get_idx(arr, i), "id"));
        found = found || id == ids[15];
        if (i > 0)
            CU_ASSERT(id < json_object_get_int64(json_object_object_get(json_object_array_get_idx(arr, i - 1), "id")));
    }
    CU_ASSERT(found);
    CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(json_object_array_get_idx(arr, 0), "id")), ids[20]);
    CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(json_object_array_get_idx(arr, 9), "id")), ids[11]);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 1);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas_despues")), 1);
    it_free(r);
    /* at the newest end: nothing newer */
    r = it_req("GET", it_fmt("/chats/%lld/mensajes?alrededor=%lld&limite=10", g, ids[29]), tb, NULL);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "mensajes")), 5);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas_despues")), 0);
    it_free(r);
    /* not a member, another chat's message, bad id */
    it_expect(it_req("GET", it_fmt("/chats/%lld/mensajes?alrededor=%lld", g, ids[3]), tc, NULL),
              404, "no_encontrado");
    long long other = it_group(tb, "Otro", NULL, 0);
    it_expect(it_req("GET", it_fmt("/chats/%lld/mensajes?alrededor=%lld", other, ids[3]), tb, NULL),
              404, "no_encontrado");
    it_expect(it_req("GET", it_fmt("/chats/%lld/mensajes?alrededor=x", g), tb, NULL),
              400, "solicitud_invalida");
    it_expect(it_req("GET", it_fmt("/chats/%lld/mensajes?alrededor=%lld&antes=5", g, ids[3]), tb, NULL),
              400, "solicitud_invalida");
    free(ta);
    free(tb);
    free(tc);
}

int main(void)
{
    it_init();
    svc = it_service_token();
    static const struct cu_test tests[] = {
        { "stemming_accents_phrases", test_busqueda__stemming_accents_phrases },
        { "who_finds_what", test_busqueda__who_finds_what },
        { "filters", test_busqueda__filters },
        { "paging_and_order", test_busqueda__paging_and_order },
        { "announcements", test_busqueda__announcements },
        { "bad_input", test_busqueda__bad_input },
        { "around", test_busqueda__around },
        { NULL, NULL },
    };
    int rc = cu_run("busqueda", tests);
    free(svc);
    return rc;
}
