/* test_users.c: health, auth, me, users, presence and the ERP's internal
 * endpoints against the running stack. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "it.h"
#include "wire/token.h"

static char *svc;

static void test_users__salud(void)
{
    struct it_resp *r = it_req("GET", "/salud", NULL, NULL);
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "estado"), "ok");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "db"), "ok");
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "migracion"));
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "version"));
    it_free(r);
}

static void test_users__me_requires_token(void)
{
    struct it_resp *r = it_req("GET", "/me", NULL, NULL);
    CU_ASSERT_EQUAL(r->status, 401);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "token_invalido");
    it_free(r);
    r = it_req("GET", "/me", "not.a.token", NULL);
    CU_ASSERT_EQUAL(r->status, 401);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "token_invalido");
    it_free(r);
    r = it_req_ex("GET", "/me", NULL, NULL, 0, NULL, "Authorization: Basic Zm9vOmJhcg==");
    CU_ASSERT_EQUAL(r->status, 401);
    it_free(r);
}

static void test_users__me_expired_token(void)
{
    /* exp two minutes ago: past the default 30 s leeway */
    char claims[256], why[256];
    snprintf(claims, sizeof(claims), "{\"%s\":\"%s\",\"exp\":%lld}", it_cfg()->jwt_claim_id,
             it_uid("exp"), (long long)time(NULL) - 120);
    char *t = token_mint(it_cfg(), claims, 600, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    struct it_resp *r = it_req("GET", "/me", t, NULL);
    CU_ASSERT_EQUAL(r->status, 401);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "token_invalido");
    it_free(r);
    free(t);
    CU_ASSERT_EQUAL(it_db_ll("SELECT count(*) FROM usuarios WHERE id_erp LIKE '%_exp'"), 0);
}

static void test_users__me_tampered_token(void)
{
    const char *id = it_uid("tamper");
    char *t = it_token(id, "Alterado", NULL, 600);
    char *dot1 = strchr(t, '.');
    CU_ASSERT_PTR_NOT_NULL_FATAL(dot1);
    /* tampering with the payload breaks the signature: also a 401 */
    dot1[2] = dot1[2] == 'A' ? 'B' : 'A';
    struct it_resp *r = it_req("GET", "/me", t, NULL);
    CU_ASSERT_EQUAL(r->status, 401);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "token_invalido");
    it_free(r);
    free(t);
    CU_ASSERT_EQUAL(it_db_ll("SELECT count(*) FROM usuarios WHERE id_erp LIKE '%_tamper'"), 0);
}

/* GET /me hands the client the record mentions it turns into links
 * (enlaces_registros, set by the test stack). */
static void test_users__me_record_links(void)
{
    char *t = it_token(it_uid("enlaces"), "Elena Enlaces", NULL, 600);
    struct it_resp *r = it_req("GET", "/me", t, NULL);
    CU_ASSERT_EQUAL_FATAL(r->status, 200);
    json_object *l = it_get(r, "enlaces_registros");
    CU_ASSERT_FATAL(l && json_object_is_type(l, json_type_array));
    CU_ASSERT_EQUAL(json_object_array_length(l), 2);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "enlaces_registros.0.tipo"), "pedido");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "enlaces_registros.0.url"), "/erp/pedidos.html?id={clave}");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "enlaces_registros.1.tipo"), "cliente");
    it_free(r);
    free(t);
}

static void test_users__me_upserts_lazily(void)
{
    const char *id = it_uid("lazy");
    char *t = it_token(id, "Lucía Pérez", "565,567", 600);
    struct it_resp *r = it_req("GET", "/me", t, NULL);
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "usuario.id_erp"), id);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "usuario.nombre"), "Lucía Pérez");
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "usuario.activo")), 1);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "usuario.estatus"), "desconectado");
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "permisos")), 2);
    CU_ASSERT_EQUAL(it_get_ll(r, "permisos.0"), 565);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "rtd.path"), "/chat/socket.io");
    long long uid = it_get_ll(r, "usuario.id");
    CU_ASSERT(uid > 0);
    it_free(r);
    free(t);
    /* a later token refreshes the name; the id stays */
    t = it_token(id, "Lucía Pérez Gómez", NULL, 600);
    r = it_req("GET", "/me", t, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "usuario.id"), uid);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "usuario.nombre"), "Lucía Pérez Gómez");
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "permisos")), 0);
    it_free(r);
    free(t);
}

/* another cookie than jwt_cookie is never read */
static void test_users__cookie_is_ignored_when_not_configured(void)
{
    const char *id = it_uid("cookie");
    char *t = it_token(id, NULL, NULL, 600);
    char hdr[4096];
    snprintf(hdr, sizeof(hdr), "Cookie: erp_session=%s", t);
    struct it_resp *r = it_req_ex("GET", "/me", NULL, NULL, 0, NULL, hdr);
    CU_ASSERT_EQUAL(r->status, 401);
    it_free(r);
    free(t);
}

static void test_users__cookie_accepted_when_configured(void)
{
    const char *name = it_cfg()->jwt_cookie;
    CU_ASSERT_FATAL(name[0] != '\0');     /* the test stack sets jwt_cookie */
    const char *id = it_uid("cookieok");
    char *t = it_token(id, "Galleta", NULL, 600);
    char hdr[4096];
    snprintf(hdr, sizeof(hdr), "Cookie: otra=1; %s=%s; ultima=2", name, t);
    struct it_resp *r = it_req_ex("GET", "/me", NULL, NULL, 0, NULL, hdr);
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "usuario.id_erp"), id);
    it_free(r);
    /* a bad cookie is a bad token */
    snprintf(hdr, sizeof(hdr), "Cookie: %s=basura", name);
    r = it_req_ex("GET", "/me", NULL, NULL, 0, NULL, hdr);
    CU_ASSERT_EQUAL(r->status, 401);
    it_free(r);
    free(t);
}

static void test_users__get_and_search(void)
{
    char *ta, *tb;
    /* a word of this run only, so the test also passes on a used database */
    char word[32], na[64], nb[64];
    snprintf(word, sizeof(word), "buscable%d", (int)getpid());
    snprintf(na, sizeof(na), "Zacarías %s", word);
    snprintf(nb, sizeof(nb), "Zoe %s", word);
    long long a = it_user("srcha", na, NULL, &ta);
    long long b = it_user("srchb", nb, NULL, &tb);
    char path[256];
    snprintf(path, sizeof(path), "/usuarios/%lld", b);
    struct it_resp *r = it_req("GET", path, ta, NULL);
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), nb);
    it_free(r);

    r = it_req("GET", "/usuarios/999999999", ta, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "no_encontrado");
    it_free(r);
    r = it_req("GET", "/usuarios/abc", ta, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);

    snprintf(path, sizeof(path), "/usuarios?q=%s&limite=1", word);
    r = it_req("GET", path, ta, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "usuarios")), 1);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 1);
    CU_ASSERT_EQUAL(it_get_ll(r, "usuarios.0.id"), a);
    it_free(r);
    snprintf(path, sizeof(path), "/usuarios?q=%s&limite=1&antes=%lld", word, a);
    r = it_req("GET", path, ta, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "usuarios.0.id"), b);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 0);
    it_free(r);
    /* words in any order, accents and case ignored */
    snprintf(path, sizeof(path), "/usuarios?q=%s%%20ZACARIAS", word);
    r = it_req("GET", path, ta, NULL);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "usuarios")), 1);
    CU_ASSERT_EQUAL(it_get_ll(r, "usuarios.0.id"), a);
    it_free(r);
    /* LIKE wildcards in q are literal */
    r = it_req("GET", "/usuarios?q=%25_%25", ta, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "usuarios")), 0);
    it_free(r);
    static const char *bad[] = { "/usuarios?limite=0", "/usuarios?limite=201",
                                 "/usuarios?limite=x", "/usuarios?antes=-1",
                                 "/usuarios?q=%ZZ", NULL };
    for (int i = 0; bad[i]; i++) {
        r = it_req("GET", bad[i], ta, NULL);
        CU_ASSERT_EQUAL(r->status, 400);
        CU_ASSERT_STRING_EQUAL(it_error_code(r), "solicitud_invalida");
        it_free(r);
    }
    free(ta);
    free(tb);
}

static void test_users__presencia(void)
{
    char *ta;
    long long a = it_user("pres", "Presente", NULL, &ta);
    char path[256];
    snprintf(path, sizeof(path), "/presencia?ids=%lld,999999999", a);
    struct it_resp *r = it_req("GET", path, ta, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "presencia")), 1);
    CU_ASSERT_EQUAL(it_get_ll(r, "presencia.0.usuario_id"), a);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "presencia.0.estatus"), "desconectado");
    it_free(r);
    static const char *bad[] = { "/presencia", "/presencia?ids=", "/presencia?ids=1,x",
                                 "/presencia?ids=1,,2", NULL };
    for (int i = 0; bad[i]; i++) {
        r = it_req("GET", bad[i], ta, NULL);
        CU_ASSERT_EQUAL(r->status, 400);
        it_free(r);
    }
    free(ta);
}

static void test_users__interno_requires_service_token(void)
{
    char *ta;
    it_user("svc", "Sin Servicio", NULL, &ta);
    struct it_resp *r = it_req("PUT", "/interno/usuarios/x1", ta, "{\"nombre\":\"X\"}");
    CU_ASSERT_EQUAL(r->status, 403);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "prohibido");
    it_free(r);
    r = it_req("PUT", "/interno/usuarios/x1", NULL, "{\"nombre\":\"X\"}");
    CU_ASSERT_EQUAL(r->status, 401);
    it_free(r);
    /* and a service token cannot act as a user */
    r = it_req("GET", "/me", svc, NULL);
    CU_ASSERT_EQUAL(r->status, 403);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_ll("SELECT count(*) FROM usuarios WHERE id_erp = 'x1'"), 0);
    free(ta);
}

static void test_users__provision_deactivate_reactivate(void)
{
    const char *id = it_uid("life");
    char path[256];
    snprintf(path, sizeof(path), "/interno/usuarios/%s", id);
    struct it_resp *r = it_req("PUT", path, svc,
                               it_fmt("{\"nombre\":\"Provisto\",\"email\":\"%s@example.com\","
                               "\"puesto\":\"Contador\",\"departamento\":\"Finanzas\"}", id));
    it_must(r, 201);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "departamento"), "Finanzas");
    long long uid = it_get_ll(r, "id");
    it_free(r);
    r = it_req("PUT", path, svc, "{\"puesto\":\"Gerente\"}");
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "puesto"), "Gerente");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), "Provisto");
    it_free(r);

    /* the first login finds the provisioned row */
    char *t = it_token(id, "Provisto", NULL, 600);
    r = it_req("GET", "/me", t, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "usuario.id"), uid);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "usuario.departamento"), "Finanzas");
    it_free(r);

    char *tv;
    it_user("viewer", "Observador", NULL, &tv);
    long long before = it_db_ll("SELECT count(*) FROM eventos");
    snprintf(path, sizeof(path), "/interno/usuarios/%s/desactivar", id);
    r = it_req("POST", path, svc, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "activo")), 0);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "id_erp"), id);   /* service view */
    it_free(r);
    CU_ASSERT(it_db_ll("SELECT count(*) FROM eventos") >= before + 1);

    r = it_req("GET", "/me", t, NULL);
    CU_ASSERT_EQUAL(r->status, 403);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "usuario_desactivado");
    it_free(r);

    snprintf(path, sizeof(path), "/usuarios/%lld", uid);
    r = it_req("GET", path, tv, NULL);
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), "Usuario desactivado");
    CU_ASSERT_PTR_NULL(it_get(r, "id_erp"));
    CU_ASSERT_PTR_NULL(it_get(r, "email"));
    CU_ASSERT_PTR_NULL(it_get(r, "puesto"));
    CU_ASSERT_PTR_NULL(it_get(r, "departamento"));
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "activo")), 0);
    it_free(r);

    snprintf(path, sizeof(path), "/usuarios?q=%s", id);   /* its email, unique to the run */
    r = it_req("GET", path, tv, NULL);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "usuarios")), 0);
    it_free(r);

    snprintf(path, sizeof(path), "/interno/usuarios/%s/reactivar", id);
    r = it_req("POST", path, svc, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "activo")), 1);
    it_free(r);
    r = it_req("GET", "/me", t, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);

    r = it_req("POST", "/interno/usuarios/nadie_existe/desactivar", svc, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    free(t);
    free(tv);
}

/* chat_fcgi_logins_total{how="gated"}: logins whose check went with the
 * request's first statement. */
static long long gated_logins(void)
{
    struct it_resp *r = it_req("GET", "/interno/metricas", svc, NULL);
    const char *k = "chat_fcgi_logins_total{how=\"gated\"} ";
    const char *p = r->body ? strstr(r->body, k) : NULL;
    long long n = p ? strtoll(p + strlen(k), NULL, 10) : -1;
    it_free(r);
    return n;
}

/* n copies of one request at once (spread over the workers); returns how
 * many answered status (and, for an error, with codigo). */
static int burst(const char *method, const char *path, const char *tok, const char *body, int n,
                 long status, const char *codigo)
{
    struct it_job jobs[32];
    int hit = 0;
    if (n > 32)
        n = 32;
    for (int i = 0; i < n; i++)
        jobs[i] = (struct it_job){ .method = method, .path = path, .token = tok, .body = body };
    it_parallel(jobs, (size_t)n);
    for (int i = 0; i < n; i++) {
        if (jobs[i].status == status &&
            (!codigo || (jobs[i].out && strstr(jobs[i].out, it_fmt("\"%s\"", codigo)))))
            hit++;
        free(jobs[i].out);
    }
    return hit;
}

/* A worker that has logged a user in checks the login along with the
 * request's first statement: the hot routes behave exactly as with the
 * check run first. Claims that changed are written; a deactivated user is
 * refused on every route at once, and nothing of the request happens. */
static void test_users__gated_login_same_answers(void)
{
    char *ta, *tb;
    long long a = it_user("gate", "Gina Gate", NULL, &ta);
    long long b = it_user("gateb", "Gus Gate", NULL, &tb);
    long long g = it_group(ta, "Puerta", &b, 1);
    long long m = it_send_text(tb, g, "hola");
    /* every worker meets the user */
    CU_ASSERT_EQUAL(burst("GET", "/chats", ta, NULL, 32, 200, NULL), 32);
    const char *stamp_sql = "SELECT (extract(epoch FROM updated_at) * 1000000)::bigint"
                            " FROM usuarios WHERE id = %lld";
    long long stamp = it_db_llf(stamp_sql, a);
    long long g0 = gated_logins();
    CU_ASSERT_EQUAL(burst("POST", it_fmt("/chats/%lld/mensajes", g), ta, "{\"contenido\":\"rápido\"}",
                          32, 201, NULL), 32);
    CU_ASSERT(gated_logins() > g0);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld AND autor_id = %lld",
                              g, a), 32);
    /* the same claims: the user's row is not written */
    CU_ASSERT_EQUAL(it_db_llf(stamp_sql, a), stamp);

    /* a new token with another name: the row follows, on any worker */
    char *erp = strdup(it_erp_of(a));
    char *t2 = it_token(erp, "Gina Renombrada", "565", 600);
    CU_ASSERT_EQUAL(burst("GET", it_fmt("/chats/%lld/mensajes", g), t2, NULL, 16, 200, NULL), 16);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios WHERE id = %lld AND nombre = 'Gina Renombrada'"
                              " AND permisos = '{565}'", a), 1);

    /* deactivated: refused at once on every gated route, nothing written */
    struct it_resp *r = it_req("POST", it_fmt("/interno/usuarios/%s/desactivar", erp), svc, NULL);
    it_must(r, 200);
    it_free(r);
    char *before = it_db_fingerprint();
    long long reads = it_db_llf("SELECT ultimo_leido_id FROM usuarios_chat WHERE chat_id = %lld AND usuario_id = %lld", g, a);
    const char *d = "usuario_desactivado";
    CU_ASSERT_EQUAL(burst("POST", it_fmt("/chats/%lld/mensajes", g), t2, "{\"contenido\":\"no\"}", 16, 403, d), 16);
    CU_ASSERT_EQUAL(burst("GET", it_fmt("/chats/%lld/mensajes", g), t2, NULL, 8, 403, d), 8);
    CU_ASSERT_EQUAL(burst("GET", "/chats", t2, NULL, 8, 403, d), 8);
    CU_ASSERT_EQUAL(burst("POST", it_fmt("/mensajes/%lld/reacciones", m), t2, "{\"emoji\":\"👍\"}", 8, 403, d), 8);
    CU_ASSERT_EQUAL(burst("POST", it_fmt("/chats/%lld/leido", g), t2, it_fmt("{\"mensaje_id\":%lld}", m + 40), 8, 403, d), 8);
    CU_ASSERT_EQUAL(burst("POST", "/sync", t2, "{\"chats\":{}}", 8, 403, d), 8);
    /* the check decides before the body is looked at */
    CU_ASSERT_EQUAL(burst("POST", it_fmt("/chats/%lld/mensajes", g), t2, "{\"contenido\":", 8, 403, d), 8);
    /* new claims take the look-up's way: refused before they are written */
    char *t3 = it_token(erp, "Gina Otra", "565", 600);
    CU_ASSERT_EQUAL(burst("GET", it_fmt("/chats/%lld/mensajes", g), t3, NULL, 8, 403, d), 8);
    CU_ASSERT_EQUAL(burst("POST", it_fmt("/chats/%lld/mensajes", g), t3, "{\"contenido\":\"no\"}", 8, 403, d), 8);
    free(t3);
    char *after = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(it_db_llf("SELECT ultimo_leido_id FROM usuarios_chat WHERE chat_id = %lld AND usuario_id = %lld", g, a), reads);
    free(before);
    free(after);

    /* back again: answered as before */
    r = it_req("POST", it_fmt("/interno/usuarios/%s/reactivar", erp), svc, NULL);
    it_must(r, 200);
    it_free(r);
    CU_ASSERT_EQUAL(burst("POST", it_fmt("/chats/%lld/mensajes", g), t2, "{\"contenido\":\"volví\"}", 16, 201, NULL), 16);
    /* bad input from an active user is still bad input */
    CU_ASSERT_EQUAL(burst("POST", it_fmt("/chats/%lld/mensajes", g), t2, "{\"contenido\":", 8, 400, NULL), 8);
    free(t2);
    free(erp);
    free(ta);
    free(tb);
}

static void test_users__vacaciones(void)
{
    char *ta;
    long long a = it_user("vac", "Vacacionista", NULL, &ta);
    char path[256], q[256];
    PGresult *res = PQexecParams(it_db(), "SELECT id_erp FROM usuarios WHERE id = $1::bigint", 1,
                                 NULL, (const char *[]){ (snprintf(q, sizeof(q), "%lld", a), q) },
                                 NULL, NULL, 0);
    snprintf(path, sizeof(path), "/interno/usuarios/%s/vacaciones", PQgetvalue(res, 0, 0));
    PQclear(res);
    struct it_resp *r = it_req("PUT", path, svc, "{\"activo\":true,\"hasta\":\"2999-12-31\"}");
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "estatus"), "vacaciones");
    it_free(r);
    snprintf(q, sizeof(q), "/presencia?ids=%lld", a);
    r = it_req("GET", q, ta, NULL);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "presencia.0.estatus"), "vacaciones");
    it_free(r);
    /* a past end date means it is over */
    r = it_req("PUT", path, svc, "{\"activo\":true,\"hasta\":\"2000-01-01\"}");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "estatus"), "desconectado");
    it_free(r);
    r = it_req("PUT", path, svc, "{\"activo\":false}");
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "estatus"), "desconectado");
    it_free(r);
    static const char *bad[] = { "{}", "{\"activo\":\"si\"}", "{\"activo\":true,\"hasta\":\"2026-02-30\"}",
                                 "{\"activo\":true,\"hasta\":\"mañana\"}", "{\"activo\":true,\"hasta\":5}",
                                 "[1]", "{\"activo\":true", NULL };
    for (int i = 0; bad[i]; i++) {
        r = it_req("PUT", path, svc, bad[i]);
        CU_ASSERT_EQUAL(r->status, 400);
        CU_ASSERT_STRING_EQUAL(it_error_code(r), "solicitud_invalida");
        it_free(r);
    }
    CU_ASSERT_EQUAL(it_db_ll("SELECT count(*) FROM usuarios WHERE vacaciones"), 0);
    free(ta);
}

/* The day after `hasta` the vacation ends by itself, and the users who
 * share a chat hear it (usuario:estatus from chat-rtd's heartbeat). */
static void test_users__vacation_ends_by_itself(void)
{
    char *ta;
    long long a = it_user("vacfin", "Regresa", NULL, &ta);
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) FROM eventos");
    long long before = it_db_ll(sql);
    snprintf(sql, sizeof(sql), "UPDATE usuarios SET vacaciones = true, "
             "vacaciones_hasta = current_date - 1 WHERE id = %lld", a);
    PQclear(PQexec(it_db(), sql));
    long long ended = 0;
    for (int i = 0; i < 100 && !ended; i++) {
        usleep(100 * 1000);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM usuarios WHERE id = %lld AND NOT vacaciones", a);
        ended = it_db_ll(sql);
    }
    CU_ASSERT_EQUAL(ended, 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM eventos WHERE id > %lld AND tipo = 'usuario:estatus'"
             " AND sala = 'presencia:%lld' AND payload->>'estatus' = 'desconectado'", before, a);
    CU_ASSERT_EQUAL(it_db_ll(sql), 1);
    free(ta);
}

static void test_users__unknown_route_and_method(void)
{
    char *ta;
    it_user("route", "Ruta", NULL, &ta);
    struct it_resp *r = it_req("GET", "/no/existe", ta, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "no_encontrado");
    it_free(r);
    r = it_req("DELETE", "/me", ta, NULL);
    CU_ASSERT_EQUAL(r->status, 405);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "solicitud_invalida");
    it_free(r);
    free(ta);
}

static void test_users__body_limits(void)
{
    /* past body_max_bytes: 413 with the API's shape */
    size_t n = (size_t)it_cfg()->body_max_bytes + 10;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    struct it_resp *r = it_req_ex("PUT", "/interno/usuarios/grande", svc, big, n, NULL, NULL);
    CU_ASSERT_EQUAL(r->status, 413);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "demasiado_grande");
    it_free(r);
    free(big);
    r = it_req_ex("PUT", "/interno/usuarios/ct", svc, "{}", 2, "text/plain", NULL);
    CU_ASSERT_EQUAL(r->status, 400);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_ll("SELECT count(*) FROM usuarios WHERE id_erp IN ('grande','ct')"), 0);
}

int main(void)
{
    it_init();
    svc = it_service_token();
    static const struct cu_test tests[] = {
        { "salud", test_users__salud },
        { "me_requires_token", test_users__me_requires_token },
        { "me_expired_token", test_users__me_expired_token },
        { "me_tampered_token", test_users__me_tampered_token },
        { "me_record_links", test_users__me_record_links },
        { "me_upserts_lazily", test_users__me_upserts_lazily },
        { "cookie_ignored_when_not_configured", test_users__cookie_is_ignored_when_not_configured },
        { "cookie_accepted_when_configured", test_users__cookie_accepted_when_configured },
        { "get_and_search", test_users__get_and_search },
        { "presencia", test_users__presencia },
        { "interno_requires_service_token", test_users__interno_requires_service_token },
        { "provision_deactivate_reactivate", test_users__provision_deactivate_reactivate },
        { "gated_login_same_answers", test_users__gated_login_same_answers },
        { "vacaciones", test_users__vacaciones },
        { "vacation_ends_by_itself", test_users__vacation_ends_by_itself },
        { "unknown_route_and_method", test_users__unknown_route_and_method },
        { "body_limits", test_users__body_limits },
        { NULL, NULL },
    };
    int rc = cu_run("users", tests);
    free(svc);
    return rc;
}
