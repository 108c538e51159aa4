/* test_contextos.c: chats tied to ERP records (API.md §9) against the
 * running stack: PUT /interno/contextos/{tipo}/{clave} creates, is
 * idempotent, renames and matches members (also when several first PUTs
 * race), GET /contextos/{tipo}/{clave} for members only, the Chat's
 * contexto field, and bad input that changes nothing. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu.h"
#include "it.h"

static char *svc;

/* A record key no other run uses. */
static const char *clave(const char *tag)
{
    return it_fmt("%d-%s", (int)getpid(), tag);
}

static void test_contextos__create_get_idempotent(void)
{
    char *ta, *tb, *tc;
    long long a = it_user("ca", "Carmen Compras", NULL, &ta);
    long long b = it_user("cb", "César Almacén", NULL, &tb);
    it_user("cc", "Clara Ajena", NULL, &tc);
    const char *k = clave("1001");
    const char *path = it_fmt("/interno/contextos/pedido/%s", k);
    char body[512];
    snprintf(body, sizeof(body), "{\"titulo\":\"Pedido %s\",\"url\":\"/erp/pedidos/%s\","
             "\"miembros\":[\"%s\",\"%s\"]}", k, k, it_erp_of(a), it_erp_of(b));
    struct it_resp *r = it_req("PUT", path, svc, body);
    CU_ASSERT_EQUAL(r->status, 201);
    long long chat = it_get_ll(r, "id");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "tipo"), "grupo");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), it_fmt("Pedido %s", k));
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contexto.tipo"), "pedido");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contexto.clave"), k);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contexto.titulo"), it_fmt("Pedido %s", k));
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contexto.url"), it_fmt("/erp/pedidos/%s", k));
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat WHERE chat_id = %lld", chat), 2);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat WHERE chat_id = %lld AND rol = 'admin'", chat), 0);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'chat:nuevo' AND chat_id = %lld", chat), 2);

    /* the same PUT again: 200, same chat, nothing written */
    char *fp = it_db_fingerprint();
    r = it_req("PUT", path, svc, body);
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "id"), chat);
    it_free(r);
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);

    /* members get it (with their own view), others 404 like any chat */
    r = it_req("GET", it_fmt("/contextos/pedido/%s", k), tb, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "id"), chat);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "mi_rol"), "miembro");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contexto.clave"), k);
    it_free(r);
    it_expect(it_req("GET", it_fmt("/contextos/pedido/%s", k), tc, NULL), 404, "no_encontrado");
    it_expect(it_req("GET", it_fmt("/contextos/pedido/%s-no", k), ta, NULL), 404, "no_encontrado");
    it_expect(it_req("GET", it_fmt("/contextos/cliente/%s", k), ta, NULL), 404, "no_encontrado");
    /* the chat list carries contexto; an ordinary group has it null */
    long long g = it_group(ta, "Normal", &b, 1);
    r = it_req("GET", "/chats", ta, NULL);
    json_object *arr = it_get(r, "chats");
    int seen = 0;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *c = json_object_array_get_idx(arr, i), *id, *ctx;
        json_object_object_get_ex(c, "id", &id);
        CU_ASSERT(json_object_object_get_ex(c, "contexto", &ctx));
        if (json_object_get_int64(id) == chat) {
            seen++;
            CU_ASSERT_PTR_NOT_NULL(ctx);
        } else if (json_object_get_int64(id) == g) {
            seen++;
            CU_ASSERT_PTR_NULL(ctx);
        }
    }
    CU_ASSERT_EQUAL(seen, 2);
    it_free(r);
    /* they can talk there */
    it_send_text(tb, chat, "¿Ya salió el pedido?");
    free(ta);
    free(tb);
    free(tc);
}

static void test_contextos__update_members_and_title(void)
{
    char *ta, *tb, *tc;
    long long a = it_user("ua", "Ulises Uno", NULL, &ta);
    long long b = it_user("ub", "Úrsula Dos", NULL, &tb);
    long long c = it_user("uc", "Uriel Tres", NULL, &tc);
    const char *k = clave("77");
    char path[256];
    snprintf(path, sizeof(path), "/interno/contextos/cliente/%s", k);
    struct it_resp *r = it_req("PUT", path, svc,
                               it_fmt("{\"titulo\":\"Cliente Acme\",\"miembros\":[\"%s\",\"%s\"]}",
                                      it_erp_of(a), it_erp_of(b)));
    CU_ASSERT_EQUAL(r->status, 201);
    long long chat = it_get_ll(r, "id");
    CU_ASSERT_PTR_NULL(it_get(r, "contexto.url"));
    it_free(r);
    long long ev = it_db_llf("SELECT count(*) FROM eventos WHERE chat_id = %lld", chat);
    /* titulo only: members stay, the chat is renamed, chat:actualizado */
    r = it_req("PUT", path, svc, "{\"titulo\":\"Cliente Acme S.A.\",\"url\":\"https://erp.example/c/77\"}");
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), "Cliente Acme S.A.");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contexto.url"), "https://erp.example/c/77");
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat WHERE chat_id = %lld", chat), 2);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE chat_id = %lld AND tipo = 'chat:actualizado'"
                              " AND id > 0", chat), 1);
    /* members [a, c]: b leaves (chat:eliminado to b), c joins (chat:nuevo),
     * then the members list to the room (which b has left by then) */
    long long mark = it_db_ll("SELECT coalesce(max(id), 0) FROM eventos");
    r = it_req("PUT", path, svc, it_fmt("{\"miembros\":[\"%s\",\"%s\",\"%s\"]}", it_erp_of(a),
                                        it_erp_of(c), it_erp_of(a)));
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    char *order = it_sql_str(NULL, "SELECT string_agg(tipo || ' ' || sala, ', ' ORDER BY id)"
                                   " FROM eventos WHERE chat_id = %lld AND id > %lld", chat, mark);
    CU_ASSERT_STRING_EQUAL(order, it_fmt("mensaje:nuevo chat:%lld, chat:eliminado user:%lld, "
                                         "chat:nuevo user:%lld, mensaje:nuevo chat:%lld, "
                                         "chat:miembros chat:%lld", chat, b, c, chat, chat));
    free(order);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat WHERE chat_id = %lld", chat), 2);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat WHERE chat_id = %lld AND usuario_id = %lld", chat, c), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE chat_id = %lld AND tipo = 'chat:eliminado'"
                              " AND sala = 'user:%lld'", chat, b), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE chat_id = %lld AND tipo = 'chat:nuevo'"
                              " AND sala = 'user:%lld'", chat, c), 1);
    CU_ASSERT(it_db_llf("SELECT count(*) FROM eventos WHERE chat_id = %lld", chat) > ev + 3);
    it_expect(it_req("GET", it_fmt("/contextos/cliente/%s", k), tb, NULL), 404, "no_encontrado");
    it_expect(it_req("GET", it_fmt("/contextos/cliente/%s", k), tc, NULL), 200, NULL);
    /* a deactivated user named in miembros is left out */
    it_expect(it_req("POST", it_fmt("/interno/usuarios/%s/desactivar", it_erp_of(b)), svc, NULL), 200, NULL);
    r = it_req("PUT", path, svc, it_fmt("{\"miembros\":[\"%s\",\"%s\",\"%s\"]}", it_erp_of(a),
                                        it_erp_of(b), it_erp_of(c)));
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat WHERE chat_id = %lld AND usuario_id = %lld", chat, b), 0);
    /* once the chat is deleted, the record gets a new one */
    char *tdel;
    it_user("ud", "Dalia Borra", "565", &tdel);
    it_expect(it_req("DELETE", it_fmt("/chats/%lld", chat), tdel, NULL), 204, NULL);
    it_expect(it_req("GET", it_fmt("/contextos/cliente/%s", k), ta, NULL), 404, "no_encontrado");
    r = it_req("PUT", path, svc, it_fmt("{\"titulo\":\"Cliente Acme\",\"miembros\":[\"%s\"]}", it_erp_of(a)));
    CU_ASSERT_EQUAL(r->status, 201);
    CU_ASSERT(it_get_ll(r, "id") != chat);
    it_free(r);
    free(tdel);
    free(ta);
    free(tb);
    free(tc);
}

static void test_contextos__concurrent_first_put(void)
{
    char *ta;
    long long a = it_user("pa", "Paco Paralelo", NULL, &ta);
    const char *k = clave("race");
    char path[256], body[256];
    snprintf(path, sizeof(path), "/interno/contextos/solicitud/%s", k);
    snprintf(body, sizeof(body), "{\"titulo\":\"Solicitud\",\"miembros\":[\"%s\"]}", it_erp_of(a));
    struct it_job jobs[6];
    for (int i = 0; i < 6; i++)
        jobs[i] = (struct it_job){ "PUT", path, svc, body, 0, -1, NULL };
    it_parallel(jobs, 6);
    int created = 0;
    for (int i = 0; i < 6; i++) {
        CU_ASSERT(jobs[i].status == 201 || jobs[i].status == 200);
        created += jobs[i].status == 201;
        CU_ASSERT_EQUAL(jobs[i].id, jobs[0].id);
        free(jobs[i].out);
    }
    CU_ASSERT_EQUAL(created, 1);
    free(ta);
}

static void test_contextos__bad_input(void)
{
    char *ta;
    long long a = it_user("xa", "Ximena Mala", NULL, &ta);
    const char *ea = it_erp_of(a);
    char *fp = it_db_fingerprint();
    const char *k = clave("bad");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/pedido/%s", k), ta,
                     it_fmt("{\"titulo\":\"x\",\"miembros\":[\"%s\"]}", ea)), 403, "prohibido");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/Pedido/%s", k), svc,
                     it_fmt("{\"titulo\":\"x\",\"miembros\":[\"%s\"]}", ea)), 400, "solicitud_invalida");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/pedido/%s", k), svc,
                     it_fmt("{\"miembros\":[\"%s\"]}", ea)), 400, "solicitud_invalida");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/pedido/%s", k), svc,
                     "{\"titulo\":\"x\",\"miembros\":[]}"), 400, "solicitud_invalida");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/pedido/%s", k), svc,
                     it_fmt("{\"titulo\":\"x\",\"miembros\":[\"%s\",\"nadie-%d\"]}", ea, (int)getpid())),
              400, "solicitud_invalida");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/pedido/%s", k), svc,
                     it_fmt("{\"titulo\":\"x\",\"url\":\"javascript:alert(1)\",\"miembros\":[\"%s\"]}", ea)),
              400, "solicitud_invalida");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/pedido/%s", k), svc,
                     it_fmt("{\"titulo\":\"x\",\"url\":\"//evil.example/\",\"miembros\":[\"%s\"]}", ea)),
              400, "solicitud_invalida");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/pedido/%s", k), svc,
                     it_fmt("{\"titulo\":\"\",\"miembros\":[\"%s\"]}", ea)), 400, "solicitud_invalida");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/pedido/%s", k), svc,
                     it_fmt("{\"titulo\":\"x\",\"miembros\":\"%s\"}", ea)), 400, "solicitud_invalida");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/pedido/%s", k), svc,
                     "{\"titulo\":\"x\",\"miembros\":[{}]}"), 400, "solicitud_invalida");
    char longk[200] = "";
    for (int i = 0; i < 101; i++)
        strcat(longk, "k");
    it_expect(it_req("PUT", it_fmt("/interno/contextos/pedido/%s", longk), svc,
                     it_fmt("{\"titulo\":\"x\",\"miembros\":[\"%s\"]}", ea)), 400, "solicitud_invalida");
    it_expect(it_req("GET", it_fmt("/contextos/pedido/%s", k), svc, NULL), 403, "prohibido");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    free(ta);
}

int main(void)
{
    it_init();
    svc = it_service_token();
    static const struct cu_test tests[] = {
        { "create_get_idempotent", test_contextos__create_get_idempotent },
        { "update_members_and_title", test_contextos__update_members_and_title },
        { "concurrent_first_put", test_contextos__concurrent_first_put },
        { "bad_input", test_contextos__bad_input },
        { NULL, NULL },
    };
    int rc = cu_run("contextos", tests);
    free(svc);
    return rc;
}
