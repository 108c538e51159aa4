/* test_chats.c: chats and members (API.md §4.2) against the running stack:
 * 1:1 get-or-create (and its race), groups, PATCH, soft delete, members,
 * roles, leaving, mute, restricted groups, bad input that changes nothing,
 * and the non-member 404 over every chat- and message-scoped route. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu.h"
#include "it.h"

static char *svc;

static long long events(const char *tipo, const char *sala)
{
    PGresult *res = PQexecParams(it_db(), "SELECT count(*) FROM eventos WHERE tipo = $1 AND sala = $2",
                                 2, NULL, (const char *[]){ tipo, sala }, NULL, NULL, 0);
    long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

static void test_chats__directo_get_or_create(void)
{
    char *ta, *tb;
    long long a = it_user("da", "Dora Directo", NULL, &ta);
    long long b = it_user("db", "Diego Directo", NULL, &tb);
    long long ev_a = events("chat:nuevo", it_fmt("user:%lld", a));
    struct it_resp *r = it_req("POST", "/chats/directo", ta, it_fmt("{\"usuario_id\":%lld}", b));
    it_must(r, 201);
    long long chat = it_get_ll(r, "id");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "tipo"), "directo");
    CU_ASSERT_EQUAL(it_get_ll(r, "otro_usuario.id"), b);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), "Diego Directo");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "mi_rol"), "miembro");
    CU_ASSERT_PTR_NULL(it_get(r, "ultimo_mensaje"));
    CU_ASSERT_EQUAL(it_get_ll(r, "no_leidos"), 0);
    it_free(r);
    CU_ASSERT_EQUAL(events("chat:nuevo", it_fmt("user:%lld", a)), ev_a + 1);
    CU_ASSERT_EQUAL(events("chat:nuevo", it_fmt("user:%lld", b)), 1);
    /* the other side, by id_erp: the same chat, 200 */
    const char *erp_a = NULL;
    r = it_req("GET", "/me", ta, NULL);
    erp_a = strdup(it_get_str(r, "usuario.id_erp"));
    it_free(r);
    r = it_req("POST", "/chats/directo", tb, it_fmt("{\"id_erp\":\"%s\"}", erp_a));
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "id"), chat);
    CU_ASSERT_EQUAL(it_get_ll(r, "otro_usuario.id"), a);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat WHERE chat_id = %lld", chat), 2);

    /* bad input changes nothing */
    char *fp = it_db_fingerprint();
    const char *bad[][3] = {
        { "{}", "400", "solicitud_invalida" },
        { "{\"usuario_id\":\"x\"}", "400", "solicitud_invalida" },
        { "{\"usuario_id\":-4}", "400", "solicitud_invalida" },
        { "{\"usuario_id\":1.5}", "400", "solicitud_invalida" },
        { "{\"id_erp\":5}", "400", "solicitud_invalida" },
        { "{\"id_erp\":\"\"}", "400", "solicitud_invalida" },
        { "{\"usuario_id\":", "400", "solicitud_invalida" },
        { "[1]", "400", "solicitud_invalida" },
        { "{\"usuario_id\":999999999}", "404", "no_encontrado" },
        { "{\"id_erp\":\"nadie-con-este-id\"}", "404", "no_encontrado" },
        { NULL, NULL, NULL },
    };
    for (int i = 0; bad[i][0]; i++)
        it_expect(it_req("POST", "/chats/directo", ta, bad[i][0]), atol(bad[i][1]), bad[i][2]);
    /* no chat with oneself: the ordered pair has a < b */
    it_expect(it_req("POST", "/chats/directo", ta, it_fmt("{\"usuario_id\":%lld}", a)), 400,
           "solicitud_invalida");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    free((char *)erp_a);
    free(ta);
    free(tb);
}

static void test_chats__directo_race(void)
{
    enum { N = 20 };
    char *ta, *tb;
    long long a = it_user("ra", "Rita Carrera", NULL, &ta);
    long long b = it_user("rb", "Raúl Carrera", NULL, &tb);
    struct it_job jobs[N];
    const char *ba = strdup(it_fmt("{\"usuario_id\":%lld}", b));
    const char *bb = strdup(it_fmt("{\"usuario_id\":%lld}", a));
    for (int i = 0; i < N; i++)
        jobs[i] = (struct it_job){ "POST", "/chats/directo", i % 2 ? tb : ta, i % 2 ? bb : ba, 0, 0, NULL };
    it_parallel(jobs, N);
    int created = 0, existing = 0;
    for (int i = 0; i < N; i++) {
        if (jobs[i].status == 201)
            created++;
        else if (jobs[i].status == 200)
            existing++;
        else
            fprintf(stderr, "\n  race: %ld %s\n", jobs[i].status, jobs[i].out);
        CU_ASSERT_EQUAL(jobs[i].id, jobs[0].id);
        free(jobs[i].out);
    }
    CU_ASSERT_EQUAL(created, 1);
    CU_ASSERT_EQUAL(existing, N - 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM chats WHERE directo_a = %lld AND directo_b = %lld",
                              a < b ? a : b, a < b ? b : a), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat WHERE chat_id = %lld", jobs[0].id), 2);
    /* and one chat:nuevo for each of the two */
    CU_ASSERT_EQUAL(events("chat:nuevo", it_fmt("user:%lld", a)), 1);
    CU_ASSERT_EQUAL(events("chat:nuevo", it_fmt("user:%lld", b)), 1);
    free((char *)ba);
    free((char *)bb);
    free(ta);
    free(tb);
}

static void test_chats__group_create_and_list(void)
{
    char *ta, *tb, *tc;
    long long a = it_user("ga", "Gala Grupo", NULL, &ta);
    long long b = it_user("gb", "Gil Grupo", NULL, &tb);
    long long c = it_user("gc", "Gus Grupo", NULL, &tc);
    long long ids[] = { b, c, b, a };   /* duplicates and the creator are fine */
    struct it_resp *r = it_req("POST", "/chats", ta,
                               it_fmt("{\"nombre\":\"Compras\",\"descripcion\":\"Área de compras\","
                                      "\"miembros\":[%lld,%lld,%lld,%lld],\"restringido\":false}",
                                      ids[0], ids[1], ids[2], ids[3]));
    it_must(r, 201);
    long long g = it_get_ll(r, "id");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "tipo"), "grupo");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), "Compras");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "descripcion"), "Área de compras");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "mi_rol"), "admin");
    CU_ASSERT_EQUAL(it_get_ll(r, "creado_por"), a);
    CU_ASSERT_PTR_NULL(it_get(r, "otro_usuario"));
    /* the sistema message is the last message */
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "ultimo_mensaje.tipo"), "sistema");
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat WHERE chat_id = %lld", g), 3);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat WHERE chat_id = %lld AND rol = 'admin'", g), 1);
    CU_ASSERT_EQUAL(events("chat:nuevo", it_fmt("user:%lld", c)), 1);

    /* b sees it, as a member, unread: the sistema message does not count */
    r = it_req("GET", it_fmt("/chats/%lld", g), tb, NULL);
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "mi_rol"), "miembro");
    CU_ASSERT_EQUAL(it_get_ll(r, "no_leidos"), 0);
    it_free(r);

    /* newest activity first; no_leidos counts others' messages after my mark */
    long long g2 = it_group(ta, "Ventas", &b, 1);
    it_send_text(ta, g, "primero");
    long long m2 = it_send_text(ta, g, "segundo");
    r = it_req("GET", "/chats", tb, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 0);
    CU_ASSERT_EQUAL(it_get_ll(r, "chats.0.id"), g);
    CU_ASSERT_EQUAL(it_get_ll(r, "chats.1.id"), g2);
    CU_ASSERT_EQUAL(it_get_ll(r, "chats.0.no_leidos"), 2);
    CU_ASSERT_EQUAL(it_get_ll(r, "chats.0.ultimo_mensaje.id"), m2);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "chats.0.ultimo_mensaje.contenido"), "segundo");
    it_free(r);
    it_send_text(tb, g2, "hola ventas");
    r = it_req("GET", "/chats", tb, NULL);
    CU_ASSERT_EQUAL(it_get_ll(r, "chats.0.id"), g2);
    CU_ASSERT_EQUAL(it_get_ll(r, "chats.0.no_leidos"), 0);   /* my own message */
    it_free(r);
    r = it_req("POST", it_fmt("/chats/%lld/leido", g), tb, it_fmt("{\"mensaje_id\":%lld}", m2));
    it_must(r, 200);
    it_free(r);
    r = it_req("GET", it_fmt("/chats/%lld", g), tb, NULL);
    CU_ASSERT_EQUAL(it_get_ll(r, "no_leidos"), 0);
    it_free(r);
    /* a stranger's list does not hold them */
    char *ts;
    it_user("gs", "Sergio Ajeno", NULL, &ts);
    r = it_req("GET", "/chats", ts, NULL);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "chats")), 0);
    it_free(r);
    free(ta);
    free(tb);
    free(tc);
    free(ts);
}

static void test_chats__group_bad_input(void)
{
    char *ta;
    it_user("gbad", "Berta Mala", NULL, &ta);
    char long_name[260];
    memset(long_name, 'n', 201);
    long_name[201] = '\0';
    char *fp = it_db_fingerprint();
    const char *bad[] = {
        "{}", "{\"nombre\":\"\"}", "{\"nombre\":\"   \"}", "{\"nombre\":5}", "{\"nombre\":null}",
        "{\"nombre\":\"X\",\"miembros\":\"1\"}", "{\"nombre\":\"X\",\"miembros\":[0]}",
        "{\"nombre\":\"X\",\"miembros\":[\"1\"]}", "{\"nombre\":\"X\",\"miembros\":[999999999]}",
        "{\"nombre\":\"X\",\"restringido\":\"si\"}", "{\"nombre\":\"X\",\"descripcion\":7}",
        "{\"nombre\":\"X\"", "nombre=X", "[]", NULL,
    };
    for (int i = 0; bad[i]; i++)
        it_expect(it_req("POST", "/chats", ta, bad[i]), 400, "solicitud_invalida");
    it_expect(it_req("POST", "/chats", ta, it_fmt("{\"nombre\":\"%s\"}", long_name)), 400,
           "solicitud_invalida");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    free(ta);
}

static void test_chats__patch(void)
{
    char *ta, *tb;
    long long a = it_user("pa", "Paula Patch", NULL, &ta);
    long long b = it_user("pb", "Pablo Patch", NULL, &tb);
    long long g = it_group(ta, "Antes", &b, 1);
    const char *sala = it_fmt("chat:%lld", g);
    long long ev = events("chat:actualizado", sala);
    struct it_resp *r = it_req("PATCH", it_fmt("/chats/%lld", g), ta,
                               "{\"nombre\":\"Después\",\"descripcion\":\"nueva\",\"restringido\":true}");
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), "Después");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "descripcion"), "nueva");
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "restringido")), 1);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "mi_rol"), "admin");
    it_free(r);
    CU_ASSERT_EQUAL(events("chat:actualizado", sala), ev + 1);
    /* the same values again: 200, no event */
    r = it_req("PATCH", it_fmt("/chats/%lld", g), ta, "{\"nombre\":\"Después\"}");
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    CU_ASSERT_EQUAL(events("chat:actualizado", sala), ev + 1);
    /* clear descripcion */
    r = it_req("PATCH", it_fmt("/chats/%lld", g), ta, "{\"descripcion\":null}");
    it_must(r, 200);
    CU_ASSERT_PTR_NULL(it_get(r, "descripcion"));
    it_free(r);

    /* imagen_media_id: an image the caller uploaded */
    long long mine = it_db_llf("INSERT INTO media (uploader_id, storage_key, nombre, mime, tamano)"
                               " VALUES (%lld, 'k-%lld-%d', 'logo.png', 'image/png', 10) RETURNING id",
                               a, a, getpid());
    long long theirs = it_db_llf("INSERT INTO media (uploader_id, storage_key, nombre, mime, tamano)"
                                 " VALUES (%lld, 'k-%lld-%d', 'x.png', 'image/png', 10) RETURNING id",
                                 b, b, getpid());
    long long pdf = it_db_llf("INSERT INTO media (uploader_id, storage_key, nombre, mime, tamano)"
                              " VALUES (%lld, 'k-%lld-%d-pdf', 'x.pdf', 'application/pdf', 10) RETURNING id",
                              a, a, getpid());
    r = it_req("PATCH", it_fmt("/chats/%lld", g), ta, it_fmt("{\"imagen_media_id\":%lld}", mine));
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "imagen_url"), it_fmt("/chat/api/v1/media/%lld", mine));
    it_free(r);

    char *fp = it_db_fingerprint();
    const char *bad[] = {
        "{\"nombre\":\"\"}", "{\"nombre\":null}", "{\"nombre\":3}", "{\"restringido\":\"no\"}",
        "{\"restringido\":null}", "{\"descripcion\":[]}", "{\"imagen_media_id\":\"1\"}",
        "{\"imagen_media_id\":999999999}", "{\"nombre\":", NULL,
    };
    for (int i = 0; bad[i]; i++)
        it_expect(it_req("PATCH", it_fmt("/chats/%lld", g), ta, bad[i]), 400, "solicitud_invalida");
    it_expect(it_req("PATCH", it_fmt("/chats/%lld", g), ta, it_fmt("{\"imagen_media_id\":%lld}", theirs)),
           400, "solicitud_invalida");
    it_expect(it_req("PATCH", it_fmt("/chats/%lld", g), ta, it_fmt("{\"imagen_media_id\":%lld}", pdf)),
           400, "solicitud_invalida");
    /* a plain member may not; nor may anyone on a 1:1 chat */
    it_expect(it_req("PATCH", it_fmt("/chats/%lld", g), tb, "{\"nombre\":\"Mío\"}"), 403, "prohibido");
    r = it_req("POST", "/chats/directo", ta, it_fmt("{\"usuario_id\":%lld}", b));
    long long d = it_get_ll(r, "id");
    it_free(r);
    free(fp);
    fp = it_db_fingerprint();
    it_expect(it_req("PATCH", it_fmt("/chats/%lld", d), ta, "{\"nombre\":\"Dúo\"}"), 403, "prohibido");
    it_expect(it_req("PATCH", "/chats/999999999", ta, "{\"nombre\":\"X\"}"), 404, "no_encontrado");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    free(ta);
    free(tb);
}

static void test_chats__delete(void)
{
    char *ta, *tb, *tadmin;
    long long a = it_user("xa", "Ximena Borra", NULL, &ta);
    long long b = it_user("xb", "Xavier Borra", NULL, &tb);
    it_user("x565", "Supervisor", "565", &tadmin);
    long long g = it_group(ta, "Efímero", &b, 1);
    it_expect(it_req("DELETE", it_fmt("/chats/%lld", g), tb, NULL), 403, "prohibido");
    struct it_resp *r = it_req("DELETE", it_fmt("/chats/%lld", g), ta, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    CU_ASSERT_EQUAL(r->len, 0);
    it_free(r);
    CU_ASSERT_EQUAL(events("chat:eliminado", it_fmt("chat:%lld", g)), 1);
    it_expect(it_req("GET", it_fmt("/chats/%lld", g), tb, NULL), 404, "no_encontrado");
    it_expect(it_req("DELETE", it_fmt("/chats/%lld", g), ta, NULL), 404, "no_encontrado");
    r = it_req("GET", "/chats", tb, NULL);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "chats")), 0);
    it_free(r);
    CU_ASSERT(it_db_llf("SELECT count(*) FROM chats WHERE id = %lld AND deleted_at IS NOT NULL", g) == 1);

    /* a 1:1 chat: members cannot, 565 can (not a member), and the pair is
     * released so get-or-create makes a new one */
    r = it_req("POST", "/chats/directo", ta, it_fmt("{\"usuario_id\":%lld}", b));
    long long d = it_get_ll(r, "id");
    it_free(r);
    it_expect(it_req("DELETE", it_fmt("/chats/%lld", d), ta, NULL), 403, "prohibido");
    r = it_req("GET", it_fmt("/chats/%lld", d), tadmin, NULL);   /* nothing hidden from 565 */
    it_must(r, 200);
    CU_ASSERT_PTR_NULL(it_get(r, "mi_rol"));
    it_free(r);
    r = it_req("DELETE", it_fmt("/chats/%lld", d), tadmin, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    r = it_req("POST", "/chats/directo", tb, it_fmt("{\"usuario_id\":%lld}", a));
    it_must(r, 201);
    CU_ASSERT(it_get_ll(r, "id") != d);
    it_free(r);
    free(ta);
    free(tb);
    free(tadmin);
}

static void test_chats__members(void)
{
    char *ta, *tb, *tc, *td;
    long long a = it_user("ma", "Mara Miembro", NULL, &ta);
    long long b = it_user("mb", "Mario Miembro", NULL, &tb);
    long long c = it_user("mc", "Marta Miembro", NULL, &tc);
    long long d = it_user("md", "Mateo Miembro", NULL, &td);
    long long g = it_group(ta, "Equipo", &b, 1);
    const char *path = strdup(it_fmt("/chats/%lld/miembros", g));
    long long msgs0 = it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld AND tipo = 'sistema'", g);

    struct it_resp *r = it_req("GET", path, tb, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "miembros")), 2);
    CU_ASSERT_EQUAL(it_get_ll(r, "miembros.0.usuario.id"), a);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "miembros.0.rol"), "admin");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "miembros.1.rol"), "miembro");
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "miembros.1.joined_at"));
    CU_ASSERT_EQUAL(it_get_ll(r, "miembros.1.ultimo_leido_id"), 0);
    it_free(r);

    /* add: admins only; 201 with the list; again: 200 */
    it_expect(it_req("POST", path, tb, it_fmt("{\"usuario_ids\":[%lld]}", c)), 403, "prohibido");
    r = it_req("POST", path, ta, it_fmt("{\"usuario_ids\":[%lld,%lld,%lld]}", c, d, b));
    it_must(r, 201);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "miembros")), 4);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld AND tipo = 'sistema'", g),
                    msgs0 + 1);
    CU_ASSERT_EQUAL(events("chat:nuevo", it_fmt("user:%lld", c)), 1);
    CU_ASSERT_EQUAL(events("chat:miembros", it_fmt("chat:%lld", g)), 1);
    r = it_req("POST", path, ta, it_fmt("{\"usuario_ids\":[%lld]}", c));
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    CU_ASSERT_EQUAL(events("chat:miembros", it_fmt("chat:%lld", g)), 1);
    r = it_req("GET", it_fmt("/chats/%lld", g), tc, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);

    char *fp = it_db_fingerprint();
    const char *bad[] = { "{}", "{\"usuario_ids\":[]}", "{\"usuario_ids\":\"5\"}",
                          "{\"usuario_ids\":[999999999]}", "{\"usuario_ids\":[-1]}",
                          "{\"usuario_ids\":[", NULL };
    for (int i = 0; bad[i]; i++)
        it_expect(it_req("POST", path, ta, bad[i]), 400, "solicitud_invalida");
    /* roles: bad input, unknown member, demoting the last admin */
    const char *bad_rol[] = { "{}", "{\"rol\":\"jefe\"}", "{\"rol\":1}", NULL };
    for (int i = 0; bad_rol[i]; i++)
        it_expect(it_req("PATCH", it_fmt("%s/%lld", path, b), ta, bad_rol[i]), 400, "solicitud_invalida");
    it_expect(it_req("PATCH", it_fmt("%s/999999999", path), ta, "{\"rol\":\"admin\"}"), 404, "no_encontrado");
    it_expect(it_req("PATCH", it_fmt("%s/%lld", path, a), ta, "{\"rol\":\"miembro\"}"), 409, "conflicto");
    it_expect(it_req("PATCH", it_fmt("%s/%lld", path, a), tb, "{\"rol\":\"miembro\"}"), 403, "prohibido");
    it_expect(it_req("DELETE", it_fmt("%s/%lld", path, c), tb, NULL), 403, "prohibido");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);

    /* promote b, then a may step down */
    r = it_req("PATCH", it_fmt("%s/%lld", path, b), ta, "{\"rol\":\"admin\"}");
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "rol"), "admin");
    CU_ASSERT_EQUAL(it_get_ll(r, "usuario.id"), b);
    it_free(r);
    r = it_req("PATCH", it_fmt("%s/%lld", path, a), ta, "{\"rol\":\"miembro\"}");
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "rol"), "miembro");
    it_free(r);

    /* remove: b (admin) removes c; c gets chat:eliminado in its user room,
     * after the new members list (which c, still in the room, hears) */
    long long mark = it_db_ll("SELECT coalesce(max(id), 0) FROM eventos");
    r = it_req("DELETE", it_fmt("%s/%lld", path, c), tb, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    CU_ASSERT_EQUAL(events("chat:eliminado", it_fmt("user:%lld", c)), 1);
    char *order = it_sql_str(NULL, "SELECT string_agg(tipo || ' ' || sala, ', ' ORDER BY id)"
                                   " FROM eventos WHERE chat_id = %lld AND id > %lld", g, mark);
    CU_ASSERT_STRING_EQUAL(order, it_fmt("mensaje:nuevo chat:%lld, chat:miembros chat:%lld, "
                                         "chat:eliminado user:%lld", g, g, c));
    free(order);
    it_expect(it_req("GET", it_fmt("/chats/%lld", g), tc, NULL), 404, "no_encontrado");
    it_expect(it_req("DELETE", it_fmt("%s/%lld", path, c), tb, NULL), 404, "no_encontrado");

    /* leave: d (a plain member) leaves */
    r = it_req("DELETE", it_fmt("%s/%lld", path, d), td, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    /* the last admin (b) leaves: the longest-standing member (a) becomes
     * admin, announced before the members list and b's chat:eliminado */
    mark = it_db_ll("SELECT coalesce(max(id), 0) FROM eventos");
    r = it_req("DELETE", it_fmt("%s/%lld", path, b), tb, NULL);
    it_must(r, 204);
    it_free(r);
    order = it_sql_str(NULL, "SELECT string_agg(tipo || ' ' || sala, ', ' ORDER BY id)"
                             " FROM eventos WHERE chat_id = %lld AND id > %lld", g, mark);
    CU_ASSERT_STRING_EQUAL(order, it_fmt("mensaje:nuevo chat:%lld, mensaje:nuevo chat:%lld, "
                                         "chat:miembros chat:%lld, chat:eliminado user:%lld",
                                         g, g, g, b));
    free(order);
    r = it_req("GET", path, ta, NULL);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "miembros")), 1);
    CU_ASSERT_EQUAL(it_get_ll(r, "miembros.0.usuario.id"), a);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "miembros.0.rol"), "admin");
    it_free(r);
    /* history keeps the periods */
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM usuarios_chat_historial WHERE chat_id = %lld"
                              " AND left_at IS NOT NULL", g), 3);
    /* sistema messages: created, added, 2 roles, removed, left, left, promoted */
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld AND tipo = 'sistema'", g),
                    msgs0 + 7);

    /* a 1:1 chat has no members to add or leave */
    r = it_req("POST", "/chats/directo", ta, it_fmt("{\"usuario_id\":%lld}", b));
    long long dm = it_get_ll(r, "id");
    it_free(r);
    it_expect(it_req("POST", it_fmt("/chats/%lld/miembros", dm), ta, it_fmt("{\"usuario_ids\":[%lld]}", c)),
           403, "prohibido");
    it_expect(it_req("DELETE", it_fmt("/chats/%lld/miembros/%lld", dm, a), ta, NULL), 403, "prohibido");
    free((char *)path);
    free(ta);
    free(tb);
    free(tc);
    free(td);
}

static void test_chats__restricted_and_mute(void)
{
    char *ta, *tb;
    it_user("ka", "Karla Admin", NULL, &ta);
    long long b = it_user("kb", "Kevin Lector", NULL, &tb);
    struct it_resp *r = it_req("POST", "/chats", ta,
                               it_fmt("{\"nombre\":\"Avisos\",\"miembros\":[%lld],\"restringido\":true}", b));
    it_must(r, 201);
    long long g = it_get_ll(r, "id");
    it_free(r);
    char *fp = it_db_fingerprint();
    it_expect(it_req("POST", it_fmt("/chats/%lld/mensajes", g), tb, "{\"contenido\":\"hola\"}"), 403,
           "prohibido");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    it_send_text(ta, g, "Aviso importante");

    r = it_req("PUT", it_fmt("/chats/%lld/silenciar", g), tb, "{\"silenciado\":true}");
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "silenciado")), 1);
    CU_ASSERT_EQUAL(it_get_ll(r, "id"), g);
    it_free(r);
    CU_ASSERT_EQUAL(events("chat:actualizado", it_fmt("user:%lld", b)), 1);
    r = it_req("GET", it_fmt("/chats/%lld", g), ta, NULL);   /* only for b */
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "silenciado")), 0);
    it_free(r);
    fp = it_db_fingerprint();
    const char *bad[] = { "{}", "{\"silenciado\":\"si\"}", "{\"silenciado\":null}", "x", NULL };
    for (int i = 0; bad[i]; i++)
        it_expect(it_req("PUT", it_fmt("/chats/%lld/silenciar", g), tb, bad[i]), 400, "solicitud_invalida");
    fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    r = it_req("PUT", it_fmt("/chats/%lld/silenciar", g), tb, "{\"silenciado\":false}");
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "silenciado")), 0);
    it_free(r);
    free(ta);
    free(tb);
}

/* Every chat- and message-scoped route, for someone who is not a member:
 * 404 no_encontrado, and nothing changes. */
static void non_member_table(const char *tok, long long chat, long long msg, long long member,
                             long long me)
{
    const char *rows[][3] = {
        { "GET", it_fmt("/chats/%lld", chat), NULL },
        { "PATCH", it_fmt("/chats/%lld", chat), "{\"nombre\":\"Intruso\"}" },
        { "DELETE", it_fmt("/chats/%lld", chat), NULL },
        { "GET", it_fmt("/chats/%lld/miembros", chat), NULL },
        { "POST", it_fmt("/chats/%lld/miembros", chat), it_fmt("{\"usuario_ids\":[%lld]}", me) },
        { "PATCH", it_fmt("/chats/%lld/miembros/%lld", chat, member), "{\"rol\":\"miembro\"}" },
        { "DELETE", it_fmt("/chats/%lld/miembros/%lld", chat, member), NULL },
        { "DELETE", it_fmt("/chats/%lld/miembros/%lld", chat, me), NULL },
        { "PUT", it_fmt("/chats/%lld/silenciar", chat), "{\"silenciado\":true}" },
        { "GET", it_fmt("/chats/%lld/mensajes", chat), NULL },
        { "GET", it_fmt("/chats/%lld/mensajes?antes=%lld", chat, msg + 1), NULL },
        { "POST", it_fmt("/chats/%lld/mensajes", chat), "{\"contenido\":\"hola\"}" },
        { "POST", it_fmt("/chats/%lld/leido", chat), it_fmt("{\"mensaje_id\":%lld}", msg) },
        { "PATCH", it_fmt("/mensajes/%lld", msg), "{\"contenido\":\"cambio\"}" },
        { "DELETE", it_fmt("/mensajes/%lld", msg), NULL },
        { "POST", it_fmt("/mensajes/%lld/reacciones", msg), "{\"emoji\":\"👍\"}" },
        { "DELETE", it_fmt("/mensajes/%lld/reacciones/%%F0%%9F%%91%%8D", msg), NULL },
        { "GET", it_fmt("/mensajes/%lld/lecturas", msg), NULL },
        { NULL, NULL, NULL },
    };
    char *fp = it_db_fingerprint();
    for (int i = 0; rows[i][0]; i++) {
        struct it_resp *r = it_req(rows[i][0], rows[i][1], tok, rows[i][2]);
        if (r->status != 404)
            fprintf(stderr, "\n  %s %s: %ld %s\n", rows[i][0], rows[i][1], r->status, r->body);
        it_expect(r, 404, "no_encontrado");
    }
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
}

static void test_chats__non_member_404_every_route(void)
{
    char *ta, *tb, *ts;
    long long a = it_user("na", "Nora Dentro", NULL, &ta);
    long long b = it_user("nb", "Nico Dentro", NULL, &tb);
    long long s = it_user("ns", "Nadia Fuera", NULL, &ts);
    long long g = it_group(ta, "Privado", &b, 1);
    long long m = it_send_text(tb, g, "secreto");
    non_member_table(ts, g, m, a, s);
    struct it_resp *r = it_req("POST", "/chats/directo", ta, it_fmt("{\"usuario_id\":%lld}", b));
    long long d = it_get_ll(r, "id");
    it_free(r);
    long long dm = it_send_text(ta, d, "entre dos");
    non_member_table(ts, d, dm, a, s);
    /* ids that do not exist at all look the same */
    non_member_table(ts, 999999999, 999999999, a, s);
    /* a former member too */
    r = it_req("POST", it_fmt("/chats/%lld/miembros", g), ta, it_fmt("{\"usuario_ids\":[%lld]}", s));
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    r = it_req("DELETE", it_fmt("/chats/%lld/miembros/%lld", g, s), ts, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    non_member_table(ts, g, m, a, s);
    free(ta);
    free(tb);
    free(ts);
}

int main(void)
{
    it_init();
    svc = it_service_token();
    static const struct cu_test tests[] = {
        { "directo_get_or_create", test_chats__directo_get_or_create },
        { "directo_race", test_chats__directo_race },
        { "group_create_and_list", test_chats__group_create_and_list },
        { "group_bad_input", test_chats__group_bad_input },
        { "patch", test_chats__patch },
        { "delete", test_chats__delete },
        { "members", test_chats__members },
        { "restricted_and_mute", test_chats__restricted_and_mute },
        { "non_member_404_every_route", test_chats__non_member_404_every_route },
        { NULL, NULL },
    };
    int rc = cu_run("chats", tests);
    free(svc);
    return rc;
}
