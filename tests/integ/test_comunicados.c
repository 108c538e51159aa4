/* test_comunicados.c: announcements (API.md §4.6) against the running
 * stack: permissions 567/568, targeting (users, departments, everyone),
 * recipients fixed at creation, read confirmations, the readers' report,
 * reactions, soft delete and the eventos rows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "domain/comunicado.h"
#include "cu.h"
#include "core/db.h"
#include "it.h"

static char *svc;

struct user {
    long long id;
    char *tok;
    char erp[64];
};

/* A user provisioned by the ERP (optionally in a department), logged in
 * once with permisos ("567,568" or NULL). */
static void user_new(struct user *u, const char *tag, const char *dep, const char *permisos)
{
    u->id = it_user_provisioned(tag, it_fmt("Com %s", tag), dep, permisos, &u->tok, u->erp);
}

static void user_free(struct user *u)
{
    free(u->tok);
    u->tok = NULL;
}

static void deactivate(const struct user *u)
{
    char path[256];
    snprintf(path, sizeof(path), "/interno/usuarios/%s/desactivar", u->erp);
    struct it_resp *r = it_req("POST", path, svc, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
}

/* Everything an announcement write may touch, as one fingerprint. */
static long long fingerprint(void)
{
    return it_db_ll("SELECT (SELECT count(*) FROM comunicados) * 1000003"
                    " + (SELECT count(*) FROM comunicado_destinatarios) * 1009"
                    " + (SELECT count(*) FROM comunicado_destinatarios WHERE leido_at IS NOT NULL) * 7"
                    " + (SELECT count(*) FROM reacciones_comunicados) * 13"
                    " + (SELECT count(*) FROM comunicados WHERE deleted_at IS NOT NULL) * 17"
                    " + (SELECT count(*) FROM eventos WHERE tipo LIKE 'comunicado:%')");
}

static struct it_resp *req(const char *method, const char *tok, const char *body,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static struct it_resp *req(const char *method, const char *tok, const char *body,
                           const char *fmt, ...)
{
    char path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return it_req(method, path, tok, body);
}

/* Creates an announcement by tok to destinatarios (JSON text); returns its
 * id, asserting 201. */
static long long create(const char *tok, const char *titulo, const char *dest)
{
    char body[4096];
    snprintf(body, sizeof(body), "{\"titulo\":\"%s\",\"contenido\":\"Texto de %s\","
             "\"destinatarios\":%s}", titulo, titulo, dest);
    struct it_resp *r = it_req("POST", "/comunicados", tok, body);
    it_must(r, 201);
    if (r->status != 201)
        fprintf(stderr, "create: %ld %s\n", r->status, r->body);
    long long id = it_get_ll(r, "id");
    it_free(r);
    return id;
}

static long get_status(const char *tok, long long id)
{
    struct it_resp *r = req("GET", tok, NULL, "/comunicados/%lld", id);
    long s = r->status;
    it_free(r);
    return s;
}

/* Whether id is in tok's list (first page of 200). */
static int in_list(const char *tok, long long id)
{
    struct it_resp *r = it_req("GET", "/comunicados?limite=200", tok, NULL);
    it_must(r, 200);
    json_object *arr = it_get(r, "comunicados");
    int found = 0;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *c = json_object_array_get_idx(arr, i), *v;
        if (json_object_object_get_ex(c, "id", &v) && json_object_get_int64(v) == id)
            found = 1;
    }
    it_free(r);
    return found;
}

/* Uploads a small PDF through POST /media as tok; returns its id. */
static long long upload_pdf(const char *tok, const char *filename)
{
    char body[1024];
    int n = snprintf(body, sizeof(body),
                     "--XyZzy42\r\nContent-Disposition: form-data; name=\"archivo\"; "
                     "filename=\"%s\"\r\nContent-Type: application/pdf\r\n\r\n"
                     "%%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                     "2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
                     "trailer << /Root 1 0 R >>\n%%%%EOF\n\r\n--XyZzy42--\r\n", filename);
    struct it_resp *r = it_req_ex("POST", "/media", tok, body, (size_t)n,
                                  "multipart/form-data; boundary=XyZzy42", NULL);
    it_must(r, 201);
    if (r->status != 201)
        fprintf(stderr, "upload_pdf: %ld %s\n", r->status, r->body);
    long long id = it_get_ll(r, "id");
    it_free(r);
    return id;
}

static void test_comunicados__create_requires_567(void)
{
    struct user a, b, lost;
    user_new(&a, "np_a", NULL, "568");
    user_new(&b, "np_b", NULL, NULL);
    /* had 567 once: the token is the authority, not what was stored */
    user_new(&lost, "np_lost", NULL, "567");
    free(lost.tok);
    lost.tok = it_token(lost.erp, NULL, NULL, 600);
    long long before = fingerprint();
    char body[256];
    snprintf(body, sizeof(body), "{\"titulo\":\"Hola\",\"destinatarios\":{\"usuario_ids\":[%lld]}}",
             b.id);
    const char *toks[] = { a.tok, b.tok, lost.tok };
    for (int i = 0; i < 3; i++) {
        struct it_resp *r = it_req("POST", "/comunicados", toks[i], body);
        CU_ASSERT_EQUAL(r->status, 403);
        CU_ASSERT_STRING_EQUAL(it_error_code(r), "prohibido");
        it_free(r);
        /* a bad body without the permission is still a 403 */
        r = it_req("POST", "/comunicados", toks[i], "{\"titulo\":5}");
        CU_ASSERT_EQUAL(r->status, 403);
        it_free(r);
    }
    CU_ASSERT_EQUAL(fingerprint(), before);
    user_free(&a);
    user_free(&b);
    user_free(&lost);
}

static void test_comunicados__create_validation(void)
{
    struct user a, b, other;
    char dep[64];
    snprintf(dep, sizeof(dep), "%s", it_uid("vacio"));
    user_new(&a, "val_a", NULL, "567");
    user_new(&b, "val_b", NULL, NULL);
    user_new(&other, "val_o", NULL, "567");
    long long foreign_media = upload_pdf(other.tok, "ajeno.pdf");
    char long_title[300];
    memset(long_title, 'x', 201);
    long_title[201] = '\0';
    char bodies[16][640];
    int n = 0;
#define B(...) snprintf(bodies[n++], sizeof(bodies[0]), __VA_ARGS__)
    B("{\"destinatarios\":{\"todos\":true}}");
    B("{\"titulo\":\"   \",\"destinatarios\":{\"todos\":true}}");
    B("{\"titulo\":\"%s\",\"destinatarios\":{\"todos\":true}}", long_title);
    B("{\"titulo\":\"T\"}");
    B("{\"titulo\":\"T\",\"destinatarios\":{\"todos\":false}}");
    B("{\"titulo\":\"T\",\"destinatarios\":{}}");
    B("{\"titulo\":\"T\",\"destinatarios\":{\"todos\":true,\"usuario_ids\":[%lld]}}", b.id);
    B("{\"titulo\":\"T\",\"destinatarios\":{\"usuario_ids\":[]}}");
    B("{\"titulo\":\"T\",\"destinatarios\":{\"usuario_ids\":[\"%lld\"]}}", b.id);
    B("{\"titulo\":\"T\",\"destinatarios\":{\"usuario_ids\":[%lld,999999999]}}", b.id);
    B("{\"titulo\":\"T\",\"destinatarios\":{\"departamentos\":[]}}");
    B("{\"titulo\":\"T\",\"destinatarios\":{\"departamentos\":[\"%s\"]}}", dep);
    B("{\"titulo\":\"T\",\"destinatarios\":{\"departamentos\":[7]}}");
    B("{\"titulo\":\"T\",\"media_id\":%lld,\"destinatarios\":{\"usuario_ids\":[%lld]}}",
      foreign_media, b.id);
    B("{\"titulo\":\"T\",\"destinatarios\":{\"usuario_ids\":[%lld]}}", a.id);  /* only the author */
    B("{\"titulo\":\"T\",\"contenido\":7,\"destinatarios\":{\"todos\":true}}");
#undef B
    long long before = fingerprint();
    for (int i = 0; i < n; i++) {
        struct it_resp *r = it_req("POST", "/comunicados", a.tok, bodies[i]);
        it_must(r, 400);
        CU_ASSERT_STRING_EQUAL(it_error_code(r), "solicitud_invalida");
        if (r->status != 400)
            fprintf(stderr, "body %d: %ld %s\n", i, r->status, r->body);
        it_free(r);
    }
    struct it_resp *r = it_req("POST", "/comunicados", a.tok, "{not json");
    CU_ASSERT_EQUAL(r->status, 400);
    it_free(r);
    CU_ASSERT_EQUAL(fingerprint(), before);

    user_free(&a);
    user_free(&b);
    user_free(&other);
}

/* An attached file: the author's own upload, once; recipients may fetch
 * it; deleting the announcement hides it. */
static void test_comunicados__media(void)
{
    struct user a, b, e, g;
    user_new(&a, "md_a", NULL, "567");
    user_new(&b, "md_b", NULL, NULL);
    user_new(&e, "md_e", NULL, NULL);
    user_new(&g, "md_g", NULL, "568");
    long long mine = upload_pdf(a.tok, "aviso.pdf");
    char body[256];
    snprintf(body, sizeof(body), "{\"titulo\":\"Con archivo\",\"media_id\":%lld,"
             "\"destinatarios\":{\"usuario_ids\":[%lld]}}", mine, b.id);
    struct it_resp *r = it_req("POST", "/comunicados", a.tok, body);
    it_must(r, 201);
    long long id = it_get_ll(r, "id");
    CU_ASSERT_EQUAL(it_get_ll(r, "media.id"), mine);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "media.mime"), "application/pdf");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "media.nombre"), "aviso.pdf");
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "media.url"));
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contenido"), "");
    it_free(r);
    /* a file goes with one thing only */
    long long before = fingerprint();
    r = it_req("POST", "/comunicados", a.tok, body);
    CU_ASSERT_EQUAL(r->status, 409);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "conflicto");
    it_free(r);
    CU_ASSERT_EQUAL(fingerprint(), before);
    /* the recipient may download it, a stranger may not */
    r = req("GET", b.tok, NULL, "/media/%lld", mine);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    r = req("GET", e.tok, NULL, "/media/%lld", mine);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    /* deleted: the file is hidden, and the audit view shows no media */
    r = req("DELETE", g.tok, NULL, "/comunicados/%lld", id);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    r = req("GET", b.tok, NULL, "/media/%lld", mine);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    r = req("GET", a.tok, NULL, "/comunicados/%lld", id);
    it_must(r, 200);
    CU_ASSERT_PTR_NULL(it_get(r, "media"));
    it_free(r);
    user_free(&a);
    user_free(&b);
    user_free(&e);
    user_free(&g);
}

static void test_comunicados__client_id_retry(void)
{
    struct user a, b;
    user_new(&a, "cid_a", NULL, "567");
    user_new(&b, "cid_b", NULL, NULL);
    char body[256];
    snprintf(body, sizeof(body), "{\"titulo\":\"Una vez\",\"client_id\":\"c-1\","
             "\"destinatarios\":{\"usuario_ids\":[%lld]}}", b.id);
    struct it_resp *r = it_req("POST", "/comunicados", a.tok, body);
    it_must(r, 201);
    long long id = it_get_ll(r, "id");
    it_free(r);
    long long before = fingerprint();
    r = it_req("POST", "/comunicados", a.tok, body);
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "id"), id);
    it_free(r);
    CU_ASSERT_EQUAL(fingerprint(), before);
    user_free(&a);
    user_free(&b);
}

static void test_comunicados__targeting_users(void)
{
    struct user a, b, c, d, e, f;
    user_new(&a, "tu_a", NULL, "567");
    user_new(&b, "tu_b", NULL, NULL);
    user_new(&c, "tu_c", NULL, NULL);
    user_new(&d, "tu_d", NULL, NULL);
    user_new(&e, "tu_e", NULL, NULL);
    user_new(&f, "tu_f", NULL, "567");
    deactivate(&d);
    char dest[256];
    /* the author listed, a deactivated user and a duplicate: neither counts */
    snprintf(dest, sizeof(dest), "{\"usuario_ids\":[%lld,%lld,%lld,%lld,%lld]}", b.id, c.id,
             a.id, d.id, b.id);
    long long id = create(a.tok, "Para algunos", dest);
    CU_ASSERT_EQUAL(it_db_llf("SELECT destinatarios_total FROM comunicados WHERE id = %lld", id), 2);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM comunicado_destinatarios WHERE comunicado_id = %lld"
                      " AND usuario_id IN (%lld, %lld)", id, b.id, c.id), 2);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM comunicado_destinatarios WHERE comunicado_id = %lld",
                      id), 2);
    /* comunicado:nuevo to each recipient's room and the author's */
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'comunicado:nuevo'"
                      " AND (payload->>'id')::bigint = %lld", id), 3);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'comunicado:nuevo'"
                      " AND (payload->>'id')::bigint = %lld AND sala IN ('user:%lld','user:%lld',"
                      "'user:%lld')", id, a.id, b.id, c.id), 3);

    struct it_resp *r = req("GET", b.tok, NULL, "/comunicados/%lld", id);
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "titulo"), "Para algunos");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contenido"), "Texto de Para algunos");
    CU_ASSERT_EQUAL(it_get_ll(r, "autor.id"), a.id);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "para_todos")), 0);
    CU_ASSERT_EQUAL(it_get_ll(r, "destinatarios_total"), 2);
    CU_ASSERT_EQUAL(it_get_ll(r, "leidos_total"), 0);
    CU_ASSERT_PTR_NULL(it_get(r, "leido_at"));
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "eliminado")), 0);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "reacciones")), 0);
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "created_at"));
    it_free(r);
    CU_ASSERT_EQUAL(get_status(c.tok, id), 200);
    CU_ASSERT_EQUAL(get_status(a.tok, id), 200);     /* author */
    CU_ASSERT_EQUAL(get_status(f.tok, id), 200);     /* 567 */
    CU_ASSERT_EQUAL(get_status(e.tok, id), 404);     /* nobody to it */
    r = it_req("GET", "/comunicados/999999999", a.tok, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "no_encontrado");
    it_free(r);
    CU_ASSERT(in_list(b.tok, id));
    CU_ASSERT(in_list(a.tok, id));                   /* sent */
    CU_ASSERT(!in_list(e.tok, id));
    CU_ASSERT(!in_list(f.tok, id));                  /* 567 lists only its own */
    user_free(&a);
    user_free(&b);
    user_free(&c);
    user_free(&d);
    user_free(&e);
    user_free(&f);
}

static void test_comunicados__targeting_departments(void)
{
    char x[64], y[64], z[64];
    snprintf(x, sizeof(x), "Ventas %s", it_uid("dx"));
    snprintf(y, sizeof(y), "Compras %s", it_uid("dy"));
    snprintf(z, sizeof(z), "Almacén %s", it_uid("dz"));
    struct user a, x1, x2, x3, y1, z1, xoff, late;
    user_new(&a, "dep_a", x, "567");     /* the author, in X: not a recipient */
    user_new(&x1, "dep_x1", x, NULL);
    user_new(&x2, "dep_x2", x, NULL);
    user_new(&x3, "dep_x3", x, NULL);
    user_new(&y1, "dep_y1", y, NULL);
    user_new(&z1, "dep_z1", z, NULL);
    user_new(&xoff, "dep_xoff", x, NULL);
    deactivate(&xoff);
    char dest[256];
    snprintf(dest, sizeof(dest), "{\"departamentos\":[\"%s\",\"%s\"]}", x, y);
    long long id = create(a.tok, "Por departamento", dest);
    CU_ASSERT_EQUAL(it_db_llf("SELECT destinatarios_total FROM comunicados WHERE id = %lld", id), 4);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM comunicado_destinatarios WHERE comunicado_id = %lld"
                      " AND usuario_id IN (%lld,%lld,%lld,%lld)", id, x1.id, x2.id, x3.id, y1.id), 4);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM comunicado_destinatarios WHERE comunicado_id = %lld",
                      id), 4);
    CU_ASSERT_EQUAL(get_status(x1.tok, id), 200);
    CU_ASSERT_EQUAL(get_status(y1.tok, id), 200);
    CU_ASSERT_EQUAL(get_status(z1.tok, id), 404);
    CU_ASSERT(!in_list(z1.tok, id));
    /* a user provisioned into X afterwards does not receive it */
    user_new(&late, "dep_late", x, NULL);
    CU_ASSERT_EQUAL(get_status(late.tok, id), 404);
    CU_ASSERT(!in_list(late.tok, id));
    struct it_resp *r = req("POST", late.tok, NULL, "/comunicados/%lld/leido", id);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT destinatarios_total FROM comunicados WHERE id = %lld", id), 4);
    struct user *all[] = { &a, &x1, &x2, &x3, &y1, &z1, &xoff, &late };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        user_free(all[i]);
}

static void test_comunicados__to_everyone(void)
{
    struct user a, b, off, late;
    user_new(&a, "all_a", NULL, "567");
    user_new(&b, "all_b", NULL, NULL);
    user_new(&off, "all_off", NULL, NULL);
    deactivate(&off);
    long long active = it_db_ll("SELECT count(*) FROM usuarios WHERE activo");
    long long id = create(a.tok, "Para todos", "{\"todos\":true}");
    CU_ASSERT_EQUAL(it_db_llf("SELECT destinatarios_total FROM comunicados WHERE id = %lld", id),
                    active - 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM comunicado_destinatarios WHERE comunicado_id = %lld",
                      id), active - 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM comunicado_destinatarios WHERE comunicado_id = %lld"
                      " AND usuario_id IN (%lld, %lld)", id, a.id, off.id), 0);
    /* one event for the whole company, in the room every socket joins */
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'comunicado:nuevo'"
                      " AND (payload->>'id')::bigint = %lld", id), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'comunicado:nuevo'"
                      " AND (payload->>'id')::bigint = %lld AND sala = 'todos'"
                      " AND (payload->>'para_todos')::boolean", id), 1);
    struct it_resp *r = req("GET", b.tok, NULL, "/comunicados/%lld", id);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "para_todos")), 1);
    it_free(r);
    user_new(&late, "all_late", NULL, NULL);
    CU_ASSERT_EQUAL(get_status(late.tok, id), 404);
    CU_ASSERT(!in_list(late.tok, id));
    user_free(&a);
    user_free(&b);
    user_free(&off);
    user_free(&late);
}

static void test_comunicados__read_confirmation(void)
{
    struct user a, b, c, e;
    user_new(&a, "rd_a", NULL, "567");
    user_new(&b, "rd_b", NULL, NULL);
    user_new(&c, "rd_c", NULL, NULL);
    user_new(&e, "rd_e", NULL, NULL);
    char dest[128];
    snprintf(dest, sizeof(dest), "{\"usuario_ids\":[%lld,%lld]}", b.id, c.id);
    long long id = create(a.tok, "Leer", dest);
    struct it_resp *r = req("POST", b.tok, NULL, "/comunicados/%lld/leido", id);
    it_must(r, 200);
    char first[64] = "";
    const char *at = it_get_str(r, "leido_at");
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    snprintf(first, sizeof(first), "%s", at);
    CU_ASSERT_EQUAL(it_get_ll(r, "leidos_total"), 1);
    it_free(r);
    long long ev = it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'comunicado:leido'"
                     " AND (payload->>'comunicado_id')::bigint = %lld", id);
    CU_ASSERT_EQUAL(ev, 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'comunicado:leido'"
                      " AND sala = 'user:%lld' AND (payload->>'usuario_id')::bigint = %lld"
                      " AND payload ? 'leido_at'", a.id, b.id), 1);
    /* again: 200, the first time kept, nothing written */
    long long before = fingerprint();
    r = req("POST", b.tok, "{}", "/comunicados/%lld/leido", id);
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "leido_at"), first);
    it_free(r);
    CU_ASSERT_EQUAL(fingerprint(), before);
    r = req("GET", b.tok, NULL, "/comunicados/%lld", id);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "leido_at"), first);
    it_free(r);
    /* mine only: c has not read it */
    r = req("GET", c.tok, NULL, "/comunicados/%lld", id);
    CU_ASSERT_PTR_NULL(it_get(r, "leido_at"));
    CU_ASSERT_EQUAL(it_get_ll(r, "leidos_total"), 1);
    it_free(r);
    /* the author is not a recipient; a stranger does not see it */
    r = req("POST", a.tok, NULL, "/comunicados/%lld/leido", id);
    CU_ASSERT_EQUAL(r->status, 403);
    it_free(r);
    r = req("POST", e.tok, NULL, "/comunicados/%lld/leido", id);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    r = it_req("POST", "/comunicados/999999999/leido", b.tok, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    CU_ASSERT_EQUAL(fingerprint(), before);
    user_free(&a);
    user_free(&b);
    user_free(&c);
    user_free(&e);
}

static void test_comunicados__report(void)
{
    struct user a, b, c, d, e, f;
    user_new(&a, "rp_a", NULL, "567");
    user_new(&b, "rp_b", NULL, NULL);
    user_new(&c, "rp_c", NULL, NULL);
    user_new(&d, "rp_d", NULL, "568");
    user_new(&e, "rp_e", NULL, NULL);
    user_new(&f, "rp_f", NULL, "567");
    char dest[128];
    snprintf(dest, sizeof(dest), "{\"usuario_ids\":[%lld,%lld,%lld]}", b.id, c.id, d.id);
    long long id = create(a.tok, "Informe", dest);
    struct it_resp *r = req("POST", c.tok, NULL, "/comunicados/%lld/leido", id);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    const char *ok[] = { a.tok, f.tok };
    for (int i = 0; i < 2; i++) {
        r = req("GET", ok[i], NULL, "/comunicados/%lld/lecturas", id);
        it_must(r, 200);
        CU_ASSERT_EQUAL(it_get_ll(r, "total"), 3);
        CU_ASSERT_EQUAL(it_get_ll(r, "leidos"), 1);
        CU_ASSERT_EQUAL(it_get_ll(r, "pendientes"), 2);
        CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "destinatarios")), 3);
        CU_ASSERT_EQUAL(it_get_ll(r, "destinatarios.0.usuario.id"), c.id);
        CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "destinatarios.0.leido_at"));
        CU_ASSERT_PTR_NULL(it_get(r, "destinatarios.1.leido_at"));
        CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "destinatarios.1.usuario.nombre"));
        it_free(r);
    }
    /* plain recipients (even one holding 568) get 403, strangers 404 */
    const char *no[] = { b.tok, c.tok, d.tok };
    for (int i = 0; i < 3; i++) {
        r = req("GET", no[i], NULL, "/comunicados/%lld/lecturas", id);
        CU_ASSERT_EQUAL(r->status, 403);
        CU_ASSERT_STRING_EQUAL(it_error_code(r), "prohibido");
        it_free(r);
    }
    r = req("GET", e.tok, NULL, "/comunicados/%lld/lecturas", id);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    /* a deactivated recipient is masked in the report */
    deactivate(&b);
    r = req("GET", a.tok, NULL, "/comunicados/%lld/lecturas", id);
    CU_ASSERT_EQUAL(it_get_ll(r, "total"), 3);
    int masked = 0;
    json_object *arr = it_get(r, "destinatarios");
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *u, *uid, *nombre;
        json_object_object_get_ex(json_object_array_get_idx(arr, i), "usuario", &u);
        json_object_object_get_ex(u, "id", &uid);
        json_object_object_get_ex(u, "nombre", &nombre);
        if (json_object_get_int64(uid) == b.id)
            masked = strcmp(json_object_get_string(nombre), "Usuario desactivado") == 0;
    }
    CU_ASSERT(masked);
    it_free(r);
    user_free(&a);
    user_free(&b);
    user_free(&c);
    user_free(&d);
    user_free(&e);
    user_free(&f);
}

static json_object *find_reaction(const struct it_resp *r, const char *emoji)
{
    json_object *arr = it_get(r, "reacciones");
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *x = json_object_array_get_idx(arr, i), *em;
        if (json_object_object_get_ex(x, "emoji", &em) &&
            strcmp(json_object_get_string(em), emoji) == 0)
            return x;
    }
    return NULL;
}

static long long field_ll(json_object *o, const char *k)
{
    json_object *v;
    return o && json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

static int field_bool(json_object *o, const char *k)
{
    json_object *v;
    return o && json_object_object_get_ex(o, k, &v) ? json_object_get_boolean(v) : -1;
}

static void test_comunicados__reactions(void)
{
    struct user a, b, c, e;
    user_new(&a, "re_a", NULL, "567");
    user_new(&b, "re_b", NULL, NULL);
    user_new(&c, "re_c", NULL, NULL);
    user_new(&e, "re_e", NULL, NULL);
    char dest[128];
    snprintf(dest, sizeof(dest), "{\"usuario_ids\":[%lld,%lld]}", b.id, c.id);
    long long id = create(a.tok, "Reacciones", dest);
    const char *thumb = "{\"emoji\":\"\xf0\x9f\x91\x8d\"}";
    struct it_resp *r = req("POST", b.tok, thumb, "/comunicados/%lld/reacciones", id);
    CU_ASSERT_EQUAL(r->status, 200);
    json_object *x = find_reaction(r, "\xf0\x9f\x91\x8d");
    CU_ASSERT_EQUAL(field_ll(x, "total"), 1);
    CU_ASSERT_EQUAL(field_bool(x, "mia"), 1);
    it_free(r);
    long long before = fingerprint();
    r = req("POST", b.tok, thumb, "/comunicados/%lld/reacciones", id);   /* idempotent */
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_EQUAL(field_ll(find_reaction(r, "\xf0\x9f\x91\x8d"), "total"), 1);
    it_free(r);
    CU_ASSERT_EQUAL(fingerprint(), before);
    r = req("POST", c.tok, thumb, "/comunicados/%lld/reacciones", id);
    x = find_reaction(r, "\xf0\x9f\x91\x8d");
    CU_ASSERT_EQUAL(field_ll(x, "total"), 2);
    json_object *users;
    CU_ASSERT_FATAL(json_object_object_get_ex(x, "usuarios", &users));
    CU_ASSERT_EQUAL(json_object_array_length(users), 2);
    CU_ASSERT_EQUAL(json_object_get_int64(json_object_array_get_idx(users, 0)), b.id);
    it_free(r);
    /* the author sees them, not as theirs */
    r = req("GET", a.tok, NULL, "/comunicados/%lld", id);
    CU_ASSERT_EQUAL(field_bool(find_reaction(r, "\xf0\x9f\x91\x8d"), "mia"), 0);
    it_free(r);
    /* remove mine (URL-encoded emoji), twice */
    r = req("DELETE", b.tok, NULL, "/comunicados/%lld/reacciones/%%F0%%9F%%91%%8D", id);
    CU_ASSERT_EQUAL(r->status, 200);
    x = find_reaction(r, "\xf0\x9f\x91\x8d");
    CU_ASSERT_EQUAL(field_ll(x, "total"), 1);
    CU_ASSERT_EQUAL(field_bool(x, "mia"), 0);
    it_free(r);
    before = fingerprint();
    r = req("DELETE", b.tok, NULL, "/comunicados/%lld/reacciones/%%F0%%9F%%91%%8D", id);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    CU_ASSERT_EQUAL(fingerprint(), before);
    /* the author, a stranger, bad emojis */
    r = req("POST", a.tok, thumb, "/comunicados/%lld/reacciones", id);
    CU_ASSERT_EQUAL(r->status, 403);
    it_free(r);
    r = req("POST", e.tok, thumb, "/comunicados/%lld/reacciones", id);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    const char *bad[] = { "{\"emoji\":\"a b\"}", "{\"emoji\":\"\"}", "{\"emoji\":5}", "{}",
                          "{\"emoji\":\"123456789012345678901234567890123\"}" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = req("POST", b.tok, bad[i], "/comunicados/%lld/reacciones", id);
        CU_ASSERT_EQUAL(r->status, 400);
        CU_ASSERT_STRING_EQUAL(it_error_code(r), "solicitud_invalida");
        it_free(r);
    }
    CU_ASSERT_EQUAL(fingerprint(), before);
    /* three changes, each to the two recipients and the author */
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'comunicado:reaccion'"
                      " AND (payload->>'comunicado_id')::bigint = %lld", id), 9);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'comunicado:reaccion'"
                      " AND (payload->>'comunicado_id')::bigint = %lld AND sala = 'user:%lld'"
                      " AND payload->>'accion' = 'quitar' AND (payload->>'usuario_id')::bigint = %lld",
                      id, a.id, b.id), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM reacciones_comunicados WHERE comunicado_id = %lld", id),
                    1);
    user_free(&a);
    user_free(&b);
    user_free(&c);
    user_free(&e);
}

static void test_comunicados__list_paging(void)
{
    struct user a, b;
    user_new(&a, "pg_a", NULL, "567");
    user_new(&b, "pg_b", NULL, NULL);
    char dest[64];
    snprintf(dest, sizeof(dest), "{\"usuario_ids\":[%lld]}", b.id);
    long long ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = create(a.tok, "Pagina", dest);
    struct it_resp *r = it_req("GET", "/comunicados?limite=2", b.tok, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "comunicados")), 2);
    CU_ASSERT_EQUAL(it_get_ll(r, "comunicados.0.id"), ids[2]);
    CU_ASSERT_EQUAL(it_get_ll(r, "comunicados.1.id"), ids[1]);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 1);
    it_free(r);
    char path[128];
    snprintf(path, sizeof(path), "/comunicados?limite=2&antes=%lld", ids[1]);
    r = it_req("GET", path, b.tok, NULL);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "comunicados")), 1);
    CU_ASSERT_EQUAL(it_get_ll(r, "comunicados.0.id"), ids[0]);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 0);
    it_free(r);
    r = it_req("GET", "/comunicados?limite=0", b.tok, NULL);
    CU_ASSERT_EQUAL(r->status, 400);
    it_free(r);
    /* the author's list holds what they sent */
    r = it_req("GET", "/comunicados?limite=3", a.tok, NULL);
    CU_ASSERT_EQUAL(it_get_ll(r, "comunicados.0.id"), ids[2]);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "comunicados")), 3);
    it_free(r);
    user_free(&a);
    user_free(&b);
}

static void test_comunicados__soft_delete(void)
{
    struct user a, b, g, f, e;
    user_new(&a, "del_a", NULL, "567");
    user_new(&b, "del_b", NULL, "567");
    user_new(&g, "del_g", NULL, "568");
    user_new(&f, "del_f", NULL, "567");
    user_new(&e, "del_e", NULL, NULL);
    char dest[64];
    snprintf(dest, sizeof(dest), "{\"usuario_ids\":[%lld]}", b.id);
    long long id = create(a.tok, "Borrar", dest);
    /* neither the author nor a 567 holder may delete without 568 */
    long long before = fingerprint();
    const char *no[] = { a.tok, b.tok, e.tok };
    for (int i = 0; i < 3; i++) {
        struct it_resp *r = req("DELETE", no[i], NULL, "/comunicados/%lld", id);
        CU_ASSERT_EQUAL(r->status, 403);
        CU_ASSERT_STRING_EQUAL(it_error_code(r), "prohibido");
        it_free(r);
    }
    CU_ASSERT_EQUAL(fingerprint(), before);
    struct it_resp *r = req("DELETE", g.tok, NULL, "/comunicados/%lld", id);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM comunicados WHERE id = %lld AND deleted_at IS NOT NULL"
                      " AND eliminado_por = %lld", id, g.id), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'comunicado:eliminado'"
                      " AND (payload->>'comunicado_id')::bigint = %lld", id), 2);
    before = fingerprint();
    r = req("DELETE", g.tok, NULL, "/comunicados/%lld", id);      /* again: nothing changes */
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    CU_ASSERT_EQUAL(fingerprint(), before);
    r = it_req("DELETE", "/comunicados/999999999", g.tok, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    /* the recipient (even with 567) and other 567 holders no longer see it */
    CU_ASSERT_EQUAL(get_status(b.tok, id), 404);
    CU_ASSERT_EQUAL(get_status(f.tok, id), 404);
    CU_ASSERT(!in_list(b.tok, id));
    r = req("POST", b.tok, NULL, "/comunicados/%lld/leido", id);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    r = req("POST", b.tok, "{\"emoji\":\"x\"}", "/comunicados/%lld/reacciones", id);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    /* the author and 568 do, marked eliminado */
    const char *yes[] = { a.tok, g.tok };
    for (int i = 0; i < 2; i++) {
        r = req("GET", yes[i], NULL, "/comunicados/%lld", id);
        it_must(r, 200);
        CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "eliminado")), 1);
        CU_ASSERT_STRING_EQUAL(it_get_str(r, "titulo"), "Borrar");
        it_free(r);
    }
    CU_ASSERT(in_list(a.tok, id));
    r = req("GET", a.tok, NULL, "/comunicados/%lld/lecturas", id);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    CU_ASSERT_EQUAL(fingerprint(), before);
    user_free(&a);
    user_free(&b);
    user_free(&g);
    user_free(&f);
    user_free(&e);
}

/* com_load_many, the function delta sync calls: recipients get a deleted
 * one as a stub, its author in full, others nothing. */
static void test_comunicados__load_many_for_sync(void)
{
    struct user a, b, g, e;
    user_new(&a, "lm_a", NULL, "567");
    user_new(&b, "lm_b", NULL, NULL);
    user_new(&g, "lm_g", NULL, "568");
    user_new(&e, "lm_e", NULL, NULL);
    char dest[64];
    snprintf(dest, sizeof(dest), "{\"usuario_ids\":[%lld]}", b.id);
    long long live = create(a.tok, "Vivo", dest);
    long long gone = create(a.tok, "Borrado", dest);
    struct it_resp *r = req("DELETE", g.tok, NULL, "/comunicados/%lld", gone);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    r = req("POST", b.tok, "{\"emoji\":\"ok\"}", "/comunicados/%lld/reacciones", live);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);

    char why[256];
    struct db *d = db_open(it_cfg()->db_conninfo, 0, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct arena *ar = arena_new();
    struct err err = { ERR_NONE, "" };
    long long ids[] = { gone, 999999999, live };
    json_object *arr;
    CU_ASSERT_EQUAL(com_load_many(d, ar, b.id, ids, 3, &arr, &err), 0);
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(arr), 2);
    json_object *stub = json_object_array_get_idx(arr, 0), *full = json_object_array_get_idx(arr, 1), *v;
    CU_ASSERT(json_object_object_get_ex(stub, "id", &v) && json_object_get_int64(v) == gone);
    CU_ASSERT(json_object_object_get_ex(stub, "eliminado", &v) && json_object_get_boolean(v));
    CU_ASSERT(json_object_object_get_ex(stub, "titulo", &v) && v == NULL);
    CU_ASSERT(json_object_object_get_ex(full, "id", &v) && json_object_get_int64(v) == live);
    CU_ASSERT(json_object_object_get_ex(full, "titulo", &v) &&
              strcmp(json_object_get_string(v), "Vivo") == 0);
    json_object *reac;
    CU_ASSERT_FATAL(json_object_object_get_ex(full, "reacciones", &reac));
    CU_ASSERT_EQUAL(json_object_array_length(reac), 1);
    CU_ASSERT(json_object_object_get_ex(json_object_array_get_idx(reac, 0), "mia", &v) &&
              json_object_get_boolean(v));
    arena_reset(ar);
    /* the author sees the deleted one in full; a stranger sees nothing */
    CU_ASSERT_EQUAL(com_load_many(d, ar, a.id, ids, 3, &arr, &err), 0);
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(arr), 2);
    CU_ASSERT(json_object_object_get_ex(json_object_array_get_idx(arr, 0), "titulo", &v) &&
              strcmp(json_object_get_string(v), "Borrado") == 0);
    arena_reset(ar);
    CU_ASSERT_EQUAL(com_load_many(d, ar, e.id, ids, 3, &arr, &err), 0);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 0);
    arena_free(ar);
    db_close(d);
    user_free(&a);
    user_free(&b);
    user_free(&g);
    user_free(&e);
}

int main(void)
{
    it_init();
    svc = it_service_token();
    static const struct cu_test tests[] = {
        { "create_requires_567", test_comunicados__create_requires_567 },
        { "create_validation", test_comunicados__create_validation },
        { "media", test_comunicados__media },
        { "client_id_retry", test_comunicados__client_id_retry },
        { "targeting_users", test_comunicados__targeting_users },
        { "targeting_departments", test_comunicados__targeting_departments },
        { "to_everyone", test_comunicados__to_everyone },
        { "read_confirmation", test_comunicados__read_confirmation },
        { "report", test_comunicados__report },
        { "reactions", test_comunicados__reactions },
        { "list_paging", test_comunicados__list_paging },
        { "soft_delete", test_comunicados__soft_delete },
        { "load_many_for_sync", test_comunicados__load_many_for_sync },
        { NULL, NULL },
    };
    int rc = cu_run("comunicados", tests);
    free(svc);
    return rc;
}
