/* test_mensajes.c: messages (API.md §4.3) against the running stack: send,
 * client_id retries (also concurrent), two senders at once, history paging,
 * edit, delete, reactions (also toggled concurrently), read marks, read
 * receipts, the Mensaje shape, and bad input that changes nothing. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu.h"
#include "it.h"

static char *svc;

static long long events_of(const char *tipo, long long chat)
{
    return it_db_llf("SELECT count(*) FROM eventos WHERE sala = 'chat:%lld' AND tipo = '%s'", chat, tipo);
}

static void test_mensajes__send_shape_and_reply(void)
{
    char *ta, *tb;
    long long a = it_user("sa", "Sara Envía", NULL, &ta);
    long long b = it_user("sb", "Saúl Recibe", NULL, &tb);
    long long g = it_group(ta, "Envíos", &b, 1);
    long long ev = events_of("mensaje:nuevo", g);
    struct it_resp *r = it_req("POST", it_fmt("/chats/%lld/mensajes", g), ta,
                               "{\"tipo\":\"texto\",\"contenido\":\"Hola 👋 equipo\",\"client_id\":\"c-1\"}");
    it_must(r, 201);
    long long m1 = it_get_ll(r, "id");
    CU_ASSERT_EQUAL(it_get_ll(r, "chat_id"), g);
    CU_ASSERT_EQUAL(it_get_ll(r, "autor.id"), a);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "autor.nombre"), "Sara Envía");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "tipo"), "texto");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contenido"), "Hola 👋 equipo");
    CU_ASSERT_PTR_NULL(it_get(r, "respuesta_a"));
    CU_ASSERT_PTR_NULL(it_get(r, "media"));
    CU_ASSERT_PTR_NULL(it_get(r, "encuesta"));
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "reacciones")), 0);
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "created_at"));
    CU_ASSERT(strlen(it_get_str(r, "created_at")) == 24 && it_get_str(r, "created_at")[23] == 'Z');
    CU_ASSERT_PTR_NULL(it_get(r, "editado_at"));
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "eliminado")), 0);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "client_id"), "c-1");
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "leido_por_todos")), 0);
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:nuevo", g), ev + 1);
    /* the event carries the Mensaje */
    CU_ASSERT_EQUAL(it_db_llf("SELECT (payload->>'id')::bigint FROM eventos WHERE sala = 'chat:%lld'"
                              " AND tipo = 'mensaje:nuevo' ORDER BY id DESC LIMIT 1", g), m1);

    /* a reply */
    r = it_req("POST", it_fmt("/chats/%lld/mensajes", g), tb,
               it_fmt("{\"contenido\":\"Respuesta\",\"respuesta_a\":%lld}", m1));
    it_must(r, 201);
    CU_ASSERT_EQUAL(it_get_ll(r, "respuesta_a.id"), m1);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "respuesta_a.autor_nombre"), "Sara Envía");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "respuesta_a.extracto"), "Hola 👋 equipo");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "respuesta_a.tipo"), "texto");
    it_free(r);
    /* a long message: the extracto is its first 100 characters */
    char big[400] = "";
    for (int i = 0; i < 120; i++)
        strcat(big, "ñ");
    long long ml = it_send_text(ta, g, big);
    r = it_req("POST", it_fmt("/chats/%lld/mensajes", g), tb,
               it_fmt("{\"contenido\":\"ok\",\"respuesta_a\":%lld}", ml));
    it_must(r, 201);
    CU_ASSERT_EQUAL(strlen(it_get_str(r, "respuesta_a.extracto")), 200);   /* 100 × 2 bytes */
    it_free(r);

    /* a media message: the caller's upload, of the right type */
    long long img = it_db_llf("INSERT INTO media (uploader_id, storage_key, nombre, mime, tamano, ancho, alto)"
                              " VALUES (%lld, 'msg-img-%lld', 'foto.jpg', 'image/jpeg', 2048, 640, 480)"
                              " RETURNING id", a, a);
    r = it_req("POST", it_fmt("/chats/%lld/mensajes", g), ta,
               it_fmt("{\"tipo\":\"imagen\",\"media_id\":%lld,\"contenido\":\"la foto\"}", img));
    it_must(r, 201);
    CU_ASSERT_EQUAL(it_get_ll(r, "media.id"), img);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "media.url"), it_fmt("/chat/api/v1/media/%lld", img));
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "media.mime"), "image/jpeg");
    CU_ASSERT_EQUAL(it_get_ll(r, "media.tamano"), 2048);
    CU_ASSERT_EQUAL(it_get_ll(r, "media.ancho"), 640);
    it_free(r);
    free(ta);
    free(tb);
}

static void test_mensajes__send_bad_input(void)
{
    char *ta, *tb, *tc;
    long long a = it_user("ba", "Blanca Mala", NULL, &ta);
    long long b = it_user("bb", "Bruno Malo", NULL, &tb);
    it_user("bc", "Celia Otra", NULL, &tc);
    long long g = it_group(ta, "Validación", &b, 1);
    long long other = it_group(tc, "Otro", NULL, 0);
    long long foreign = it_send_text(tc, other, "ajeno");
    long long mine = it_send_text(ta, g, "propio");
    long long theirs_media = it_db_llf("INSERT INTO media (uploader_id, storage_key, mime, tamano)"
                                       " VALUES (%lld, 'bad-m-%lld', 'image/png', 1) RETURNING id", b, b);
    long long pdf = it_db_llf("INSERT INTO media (uploader_id, storage_key, mime, tamano)"
                              " VALUES (%lld, 'bad-pdf-%lld', 'application/pdf', 1) RETURNING id", a, a);
    (void)mine;
    long max = it_cfg()->mensaje_max_chars;
    /* exactly max characters (2 bytes each) is fine; one more is not */
    size_t cap = (size_t)max * 2 + 64;
    char *okbody = malloc(cap), *toolong = malloc(cap + 8);
    strcpy(okbody, "{\"contenido\":\"");
    char *w = okbody + strlen(okbody);
    for (long i = 0; i < max; i++)
        w += sprintf(w, "é");
    strcpy(toolong, okbody);
    strcat(okbody, "\"}");
    strcat(toolong, "x\"}");

    const char *path = strdup(it_fmt("/chats/%lld/mensajes", g));
    char *fp = it_db_fingerprint();
    const char *bad[] = {
        "{}", "{\"contenido\":\"\"}", "{\"contenido\":\"   \\n\\t \"}", "{\"contenido\":\"\\u00a0\"}",
        "{\"contenido\":5}", "{\"contenido\":null}", "{\"contenido\":[\"a\"]}",
        "{\"contenido\":\"a\\u0000b\"}", "{\"contenido\":\"bell\\u0007\"}",
        "{\"contenido\":\"x\",\"tipo\":\"sistema\"}", "{\"contenido\":\"x\",\"tipo\":\"encuesta\"}",
        "{\"contenido\":\"x\",\"tipo\":\"gif\"}", "{\"contenido\":\"x\",\"tipo\":1}",
        "{\"contenido\":\"x\",\"respuesta_a\":\"1\"}", "{\"contenido\":\"x\",\"respuesta_a\":0}",
        "{\"contenido\":\"x\",\"respuesta_a\":999999999}",
        it_fmt("{\"contenido\":\"x\",\"respuesta_a\":%lld}", foreign),
        "{\"contenido\":\"x\",\"client_id\":\"\"}", "{\"contenido\":\"x\",\"client_id\":7}",
        "{\"contenido\":\"x\",\"media_id\":1}", "{\"tipo\":\"imagen\",\"contenido\":\"x\"}",
        it_fmt("{\"tipo\":\"imagen\",\"media_id\":%lld}", theirs_media),
        it_fmt("{\"tipo\":\"imagen\",\"media_id\":%lld}", pdf),
        "{\"tipo\":\"imagen\",\"media_id\":999999999}",
        "{\"contenido\":\"x\"", "{\"contenido\":\"x\"} {}", "contenido=x", "[\"x\"]", "\"x\"",
        toolong, NULL,
    };
    for (int i = 0; bad[i]; i++) {
        struct it_resp *r = it_req("POST", path, ta, bad[i]);
        if (r->status != 400)
            fprintf(stderr, "\n  bad[%d] %.60s\n", i, bad[i]);
        it_expect(r, 400, "solicitud_invalida");
    }
    char long_cid[260];
    memset(long_cid, 'c', 201);
    long_cid[201] = '\0';
    it_expect(it_req("POST", path, ta, it_fmt("{\"contenido\":\"x\",\"client_id\":\"%s\"}", long_cid)), 400,
           "solicitud_invalida");
    /* not JSON at all */
    it_expect(it_req_ex("POST", path, ta, "{\"contenido\":\"x\"}", 17, "text/plain", NULL), 400,
           "solicitud_invalida");
    it_expect(it_req("POST", "/chats/999999999/mensajes", ta, "{\"contenido\":\"x\"}"), 404, "no_encontrado");
    it_expect(it_req("POST", "/chats/abc/mensajes", ta, "{\"contenido\":\"x\"}"), 404, "no_encontrado");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    struct it_resp *r = it_req("POST", path, ta, okbody);
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    free(okbody);
    free(toolong);
    free((char *)path);
    free(ta);
    free(tb);
    free(tc);
    (void)a;
}

static void test_mensajes__client_id_retry(void)
{
    char *ta, *tb;
    long long a = it_user("ca", "Clara Reintenta", NULL, &ta);
    long long b = it_user("cb", "Carlos", NULL, &tb);
    long long g = it_group(ta, "Reintentos", &b, 1);
    const char *path = strdup(it_fmt("/chats/%lld/mensajes", g));
    struct it_resp *r = it_req("POST", path, ta, "{\"contenido\":\"uno\",\"client_id\":\"k1\"}");
    it_must(r, 201);
    long long m = it_get_ll(r, "id");
    it_free(r);
    long long ev = events_of("mensaje:nuevo", g);
    r = it_req("POST", path, ta, "{\"contenido\":\"uno\",\"client_id\":\"k1\"}");
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "id"), m);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contenido"), "uno");
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:nuevo", g), ev);
    /* another author may use the same client_id */
    r = it_req("POST", path, tb, "{\"contenido\":\"dos\",\"client_id\":\"k1\"}");
    it_must(r, 201);
    CU_ASSERT(it_get_ll(r, "id") != m);
    it_free(r);
    /* the same client_id in another chat of mine: a conflict, not a copy */
    long long g2 = it_group(ta, "Otro", NULL, 0);
    it_expect(it_req("POST", it_fmt("/chats/%lld/mensajes", g2), ta, "{\"contenido\":\"uno\",\"client_id\":\"k1\"}"),
           409, "conflicto");

    /* concurrent retries: one 201, the rest 200, one row */
    enum { N = 12 };
    struct it_job jobs[N];
    for (int i = 0; i < N; i++)
        jobs[i] = (struct it_job){ "POST", path, ta, "{\"contenido\":\"carrera\",\"client_id\":\"k-race\"}",
                                   0, 0, NULL };
    it_parallel(jobs, N);
    int created = 0, same = 0;
    for (int i = 0; i < N; i++) {
        if (jobs[i].status == 201)
            created++;
        else if (jobs[i].status == 200)
            same++;
        else
            fprintf(stderr, "\n  retry race: %ld %s\n", jobs[i].status, jobs[i].out);
        CU_ASSERT_EQUAL(jobs[i].id, jobs[0].id);
        free(jobs[i].out);
    }
    CU_ASSERT_EQUAL(created, 1);
    CU_ASSERT_EQUAL(same, N - 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM mensajes WHERE autor_id = %lld AND client_id = 'k-race'", a), 1);
    free((char *)path);
    free(ta);
    free(tb);
}

static void test_mensajes__two_senders_and_history(void)
{
    char *ta, *tb;
    it_user("ha", "Hugo Historia", NULL, &ta);
    long long b = it_user("hb", "Hilda Historia", NULL, &tb);
    long long g = it_group(ta, "Historia", &b, 1);
    const char *path = strdup(it_fmt("/chats/%lld/mensajes", g));
    /* two senders at once, 15 messages each, in rounds */
    enum { R = 15 };
    char bodies[2 * R][64];
    for (int round = 0; round < R; round++) {
        struct it_job jobs[2];
        for (int k = 0; k < 2; k++) {
            snprintf(bodies[round * 2 + k], 64, "{\"contenido\":\"%c%d\"}", k ? 'b' : 'a', round);
            jobs[k] = (struct it_job){ "POST", path, k ? tb : ta, bodies[round * 2 + k], 0, 0, NULL };
        }
        it_parallel(jobs, 2);
        for (int k = 0; k < 2; k++) {
            CU_ASSERT_EQUAL(jobs[k].status, 201);
            free(jobs[k].out);
        }
    }
    long long total = it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld", g);
    CU_ASSERT_EQUAL(total, 2 * R + 1);   /* and the sistema message */
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(DISTINCT contenido) FROM mensajes WHERE chat_id = %lld"
                              " AND tipo = 'texto'", g), 2 * R);

    /* newest first, paging back with antes until the start */
    long long seen = 0, antes = 0, prev = 0;
    int pages = 0;
    for (;;) {
        struct it_resp *r = it_req("GET", antes ? it_fmt("%s?limite=7&antes=%lld", path, antes)
                                                : it_fmt("%s?limite=7", path), tb, NULL);
        CU_ASSERT_EQUAL_FATAL(r->status, 200);
        json_object *arr = it_get(r, "mensajes");
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
            long long id = json_object_get_int64(json_object_object_get(json_object_array_get_idx(arr, i), "id"));
            if (prev)
                CU_ASSERT(id < prev);
            prev = id;
            seen++;
        }
        bool more = json_object_get_boolean(it_get(r, "hay_mas"));
        it_free(r);
        pages++;
        if (!more || pages > 20)
            break;
        antes = prev;
    }
    CU_ASSERT_EQUAL(seen, total);
    CU_ASSERT_EQUAL(pages, 5);   /* 31 messages by 7 */
    /* forward from the start with despues: oldest first, no gap */
    long long despues = 0, count = 0;
    prev = 0;
    for (int guard = 0; guard < 20; guard++) {
        struct it_resp *r = it_req("GET", it_fmt("%s?limite=10&despues=%lld", path, despues ? despues : 1), ta,
                                   NULL);
        json_object *arr = it_get(r, "mensajes");
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
            long long id = json_object_get_int64(json_object_object_get(json_object_array_get_idx(arr, i), "id"));
            CU_ASSERT(id > prev);
            prev = id;
            count++;
        }
        bool more = json_object_get_boolean(it_get(r, "hay_mas"));
        it_free(r);
        despues = prev;
        if (!more)
            break;
    }
    CU_ASSERT_EQUAL(count, total);
    char *fp = it_db_fingerprint();
    const char *bad[] = { "?limite=0", "?limite=201", "?limite=x", "?antes=-1", "?antes=abc",
                          "?antes=5&despues=3", "?despues=1.5", NULL };
    for (int i = 0; bad[i]; i++)
        it_expect(it_req("GET", it_fmt("%s%s", path, bad[i]), ta, NULL), 400, "solicitud_invalida");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    /* the history query is answered by walking the (chat_id, id DESC) index
     * in order, with no sort, at any depth (tables this small would tempt
     * the planner into other plans, so those are switched off here) */
    PQclear(PQexec(it_db(), "SET enable_seqscan = off"));
    PQclear(PQexec(it_db(), "SET enable_bitmapscan = off"));
    PGresult *res = PQexec(it_db(), it_fmt("EXPLAIN SELECT id FROM mensajes WHERE chat_id = %lld"
                                           " AND id < %lld ORDER BY id DESC LIMIT 51", g, prev));
    char plan[4096] = "";
    for (int i = 0; i < PQntuples(res); i++) {
        strncat(plan, PQgetvalue(res, i, 0), sizeof(plan) - strlen(plan) - 2);
        strcat(plan, "\n");
    }
    PQclear(res);
    PQclear(PQexec(it_db(), "RESET enable_seqscan"));
    PQclear(PQexec(it_db(), "RESET enable_bitmapscan"));
    CU_ASSERT_PTR_NOT_NULL(strstr(plan, "mensajes_chat_id_idx"));
    CU_ASSERT_PTR_NULL(strstr(plan, "Sort"));
    free((char *)path);
    free(ta);
    free(tb);
}

static void test_mensajes__edit_and_delete(void)
{
    char *ta, *tb, *tdel;
    long long a = it_user("ea", "Elena Edita", NULL, &ta);
    long long b = it_user("eb", "Emilio", NULL, &tb);
    it_user("e566", "Moderador", "566", &tdel);
    long long g = it_group(ta, "Ediciones", &b, 1);
    long long m = it_send_text(ta, g, "original");
    const char *mp = strdup(it_fmt("/mensajes/%lld", m));
    struct it_resp *r = it_req("PATCH", mp, ta, "{\"contenido\":\"corregido\"}");
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contenido"), "corregido");
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "editado_at"));
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:editado", g), 1);
    /* the same text: 200, no event */
    r = it_req("PATCH", mp, ta, "{\"contenido\":\"corregido\"}");
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:editado", g), 1);

    char *fp = it_db_fingerprint();
    const char *bad[] = { "{}", "{\"contenido\":\"\"}", "{\"contenido\":\"  \"}", "{\"contenido\":1}",
                          "{\"contenido\":null}", "{\"contenido\":", NULL };
    for (int i = 0; bad[i]; i++)
        it_expect(it_req("PATCH", mp, ta, bad[i]), 400, "solicitud_invalida");
    it_expect(it_req("PATCH", mp, tb, "{\"contenido\":\"mío\"}"), 403, "prohibido");
    it_expect(it_req("DELETE", mp, tb, NULL), 403, "prohibido");
    it_expect(it_req("PATCH", "/mensajes/999999999", ta, "{\"contenido\":\"x\"}"), 404, "no_encontrado");
    it_expect(it_req("DELETE", "/mensajes/999999999", ta, NULL), 404, "no_encontrado");
    /* a sistema message is nobody's to edit */
    long long sys = it_db_llf("SELECT id FROM mensajes WHERE chat_id = %lld AND tipo = 'sistema'", g);
    it_expect(it_req("PATCH", it_fmt("/mensajes/%lld", sys), ta, "{\"contenido\":\"x\"}"), 403, "prohibido");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);

    /* delete by the author: keeps its place, content gone */
    long long after = it_send_text(tb, g, "después");
    r = it_req("DELETE", mp, ta, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:eliminado", g), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM mensajes WHERE id = %lld AND contenido IS NULL"
                              " AND deleted_at IS NOT NULL AND eliminado_por = %lld", m, a), 1);
    r = it_req("GET", it_fmt("/chats/%lld/mensajes", g), tb, NULL);
    CU_ASSERT_EQUAL(it_get_ll(r, "mensajes.0.id"), after);
    CU_ASSERT_EQUAL(it_get_ll(r, "mensajes.1.id"), m);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "mensajes.1.eliminado")), 1);
    CU_ASSERT_PTR_NULL(it_get(r, "mensajes.1.contenido"));
    CU_ASSERT_PTR_NULL(it_get(r, "mensajes.1.media"));
    it_free(r);
    /* deleting again changes nothing; editing or reacting to it is a conflict */
    r = it_req("DELETE", mp, ta, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:eliminado", g), 1);
    it_expect(it_req("PATCH", mp, ta, "{\"contenido\":\"revive\"}"), 409, "conflicto");
    it_expect(it_req("POST", it_fmt("%s/reacciones", mp), ta, "{\"emoji\":\"👍\"}"), 409, "conflicto");
    /* a reply to it shows no extract */
    it_expect(it_req("POST", it_fmt("/chats/%lld/mensajes", g), tb, it_fmt("{\"contenido\":\"x\",\"respuesta_a\":%lld}", m)),
           400, "solicitud_invalida");
    /* 566 deletes anyone's message, member or not */
    r = it_req("DELETE", it_fmt("/mensajes/%lld", after), tdel, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:eliminado", g), 2);
    free((char *)mp);
    free(ta);
    free(tb);
    free(tdel);
}

static void test_mensajes__reactions(void)
{
    char *ta, *tb;
    long long a = it_user("ra", "Rosa Reacciona", NULL, &ta);
    long long b = it_user("rb", "Rubén", NULL, &tb);
    long long g = it_group(ta, "Reacciones", &b, 1);
    long long m = it_send_text(ta, g, "¿Qué opinan?");
    const char *rp = strdup(it_fmt("/mensajes/%lld/reacciones", m));
    struct it_resp *r = it_req("POST", rp, tb, "{\"emoji\":\"👍\"}");
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "id"), m);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "reacciones.0.emoji"), "👍");
    CU_ASSERT_EQUAL(it_get_ll(r, "reacciones.0.total"), 1);
    CU_ASSERT_EQUAL(it_get_ll(r, "reacciones.0.usuarios.0"), b);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "reacciones.0.mia")), 1);
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:reaccion", g), 1);
    /* idempotent: again is 200 and no event */
    r = it_req("POST", rp, tb, "{\"emoji\":\"👍\"}");
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "reacciones.0.total"), 1);
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:reaccion", g), 1);
    r = it_req("POST", rp, ta, "{\"emoji\":\"👍\"}");
    CU_ASSERT_EQUAL(it_get_ll(r, "reacciones.0.total"), 2);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "reacciones.0.mia")), 1);
    it_free(r);
    r = it_req("POST", rp, ta, "{\"emoji\":\"🎉\"}");
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "reacciones")), 2);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "reacciones.1.emoji"), "🎉");
    it_free(r);
    /* b's view: 🎉 is not b's */
    r = it_req("GET", it_fmt("/chats/%lld/mensajes?limite=1", g), tb, NULL);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "mensajes.0.reacciones.0.mia")), 1);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "mensajes.0.reacciones.1.mia")), 0);
    it_free(r);
    /* remove (URL-encoded emoji), twice */
    r = it_req("DELETE", it_fmt("%s/%%F0%%9F%%91%%8D", rp), tb, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "reacciones.0.total"), 1);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "reacciones.0.mia")), 0);
    it_free(r);
    r = it_req("DELETE", it_fmt("%s/%%F0%%9F%%91%%8D", rp), tb, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:reaccion", g), 4);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE sala = 'chat:%lld' AND tipo = 'mensaje:reaccion'"
                              " AND payload->>'accion' = 'quitar' AND (payload->>'usuario_id')::bigint = %lld",
                              g, b), 1);

    char *fp = it_db_fingerprint();
    const char *bad[] = { "{}", "{\"emoji\":\"\"}", "{\"emoji\":\"a b\"}", "{\"emoji\":5}",
                          "{\"emoji\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "{\"emoji\":\" \"}",
                          "{\"emoji\":", NULL };
    for (int i = 0; bad[i]; i++)
        it_expect(it_req("POST", rp, tb, bad[i]), 400, "solicitud_invalida");
    it_expect(it_req("DELETE", it_fmt("%s/a%%20b", rp), tb, NULL), 400, "solicitud_invalida");
    it_expect(it_req("POST", "/mensajes/999999999/reacciones", tb, "{\"emoji\":\"👍\"}"), 404, "no_encontrado");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    (void)a;
    free((char *)rp);
    free(ta);
    free(tb);
}

static void test_mensajes__reactions_concurrent(void)
{
    enum { U = 6, N = 24 };
    char *tok[U];
    long long uid[U];
    for (int i = 0; i < U; i++)
        uid[i] = it_user("rc", "Concurrente", NULL, &tok[i]);
    long long g = it_group(tok[0], "Carrera de emojis", uid + 1, U - 1);
    long long m = it_send_text(tok[0], g, "reaccionen");
    const char *rp = strdup(it_fmt("/mensajes/%lld/reacciones", m));
    const char *rd = strdup(it_fmt("/mensajes/%lld/reacciones/%%E2%%9D%%A4", m));
    long long ev0 = events_of("mensaje:reaccion", g);
    /* each user adds and removes the same emoji several times at once */
    struct it_job jobs[N];
    for (int i = 0; i < N; i++) {
        bool add = (i / U) % 2 == 0;
        jobs[i] = (struct it_job){ add ? "POST" : "DELETE", add ? rp : rd, tok[i % U],
                                   add ? "{\"emoji\":\"❤\"}" : NULL, 0, 0, NULL };
    }
    it_parallel(jobs, N);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(jobs[i].status, 200);
        if (jobs[i].status != 200)
            fprintf(stderr, "\n  react race: %ld %s\n", jobs[i].status, jobs[i].out);
        free(jobs[i].out);
    }
    /* the Mensaje agrees with the table, and the events with the changes:
     * per user, adds and removes alternate, ending in the table's state */
    long long rows = it_db_llf("SELECT count(*) FROM reacciones_mensajes WHERE mensaje_id = %lld", m);
    struct it_resp *r = it_req("GET", it_fmt("/chats/%lld/mensajes?limite=1", g), tok[0], NULL);
    long long total = rows ? it_get_ll(r, "mensajes.0.reacciones.0.total") : 0;
    CU_ASSERT_EQUAL(total, rows);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "mensajes.0.reacciones")), rows ? 1 : 0);
    it_free(r);
    long long adds = it_db_llf("SELECT count(*) FROM eventos WHERE sala = 'chat:%lld' AND tipo = 'mensaje:reaccion'"
                               " AND payload->>'accion' = 'agregar'", g);
    long long dels = it_db_llf("SELECT count(*) FROM eventos WHERE sala = 'chat:%lld' AND tipo = 'mensaje:reaccion'"
                               " AND payload->>'accion' = 'quitar'", g);
    CU_ASSERT_EQUAL(adds - dels, rows);
    CU_ASSERT(adds + dels <= N);
    CU_ASSERT_EQUAL(events_of("mensaje:reaccion", g) - ev0, adds + dels);
    /* per user: at most one row, consistent with their last event */
    for (int i = 0; i < U; i++) {
        long long have = it_db_llf("SELECT count(*) FROM reacciones_mensajes WHERE mensaje_id = %lld"
                                   " AND usuario_id = %lld", m, uid[i]);
        long long last_add = it_db_llf("SELECT count(*) FROM (SELECT payload->>'accion' AS x FROM eventos"
                                       " WHERE sala = 'chat:%lld' AND tipo = 'mensaje:reaccion'"
                                       " AND (payload->>'usuario_id')::bigint = %lld ORDER BY id DESC LIMIT 1) t"
                                       " WHERE x = 'agregar'", g, uid[i]);
        CU_ASSERT_EQUAL(have, last_add);
    }
    free((char *)rp);
    free((char *)rd);
    for (int i = 0; i < U; i++)
        free(tok[i]);
}

static void test_mensajes__read_marks_and_receipts(void)
{
    char *ta, *tb, *tc, *td;
    long long a = it_user("la", "Lola Lee", NULL, &ta);
    long long b = it_user("lb", "Luis Lee", NULL, &tb);
    long long c = it_user("lc", "Lía Lee", NULL, &tc);
    long long d = it_user("ld", "Leo Tarde", NULL, &td);
    long long ids[] = { b, c };
    long long g = it_group(ta, "Lecturas", ids, 2);
    long long m1 = it_send_text(ta, g, "uno");
    long long m2 = it_send_text(ta, g, "dos");
    const char *lp = strdup(it_fmt("/chats/%lld/leido", g));
    struct it_resp *r = it_req("POST", lp, tb, it_fmt("{\"mensaje_id\":%lld}", m2));
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "chat_id"), g);
    CU_ASSERT_EQUAL(it_get_ll(r, "ultimo_leido_id"), m2);
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:leido", g), 1);
    /* only forward: an older id leaves it (200), no event */
    r = it_req("POST", lp, tb, it_fmt("{\"mensaje_id\":%lld}", m1));
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "ultimo_leido_id"), m2);
    it_free(r);
    CU_ASSERT_EQUAL(events_of("mensaje:leido", g), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT ultimo_leido_id FROM usuarios_chat WHERE chat_id = %lld AND usuario_id = %lld",
                              g, b), m2);

    long long other = it_group(td, "Ajeno", NULL, 0);
    long long foreign = it_send_text(td, other, "fuera");
    char *fp = it_db_fingerprint();
    const char *bad[] = { "{}", "{\"mensaje_id\":\"1\"}", "{\"mensaje_id\":0}", "{\"mensaje_id\":999999999}",
                          it_fmt("{\"mensaje_id\":%lld}", foreign), "{\"mensaje_id\":", NULL };
    for (int i = 0; bad[i]; i++)
        it_expect(it_req("POST", lp, tb, bad[i]), 400, "solicitud_invalida");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);

    /* d joins after the messages: not counted for them */
    r = it_req("POST", it_fmt("/chats/%lld/miembros", g), ta, it_fmt("{\"usuario_ids\":[%lld]}", d));
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    r = it_req("GET", it_fmt("/mensajes/%lld/lecturas", m2), ta, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "leido_por")), 1);
    CU_ASSERT_EQUAL(it_get_ll(r, "leido_por.0.usuario.id"), b);
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "leido_por.0.leido_at"));
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "pendientes")), 1);
    CU_ASSERT_EQUAL(it_get_ll(r, "pendientes.0.id"), c);
    it_free(r);
    /* a plain member who is not the author may not look; the author may */
    it_expect(it_req("GET", it_fmt("/mensajes/%lld/lecturas", m2), tc, NULL), 403, "prohibido");
    long long mb = it_send_text(tb, g, "de Luis");
    r = it_req("GET", it_fmt("/mensajes/%lld/lecturas", mb), tb, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "pendientes")), 3);   /* a, c, d */
    it_free(r);
    /* ...and so may a group admin */
    r = it_req("GET", it_fmt("/mensajes/%lld/lecturas", mb), ta, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);

    /* leido_por_todos: every member at send time, still a member, read it */
    r = it_req("GET", it_fmt("/chats/%lld/mensajes?despues=%lld&limite=1", g, m1), ta, NULL);
    CU_ASSERT_EQUAL(it_get_ll(r, "mensajes.0.id"), m2);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "mensajes.0.leido_por_todos")), 0);
    it_free(r);
    /* c leaves without reading: m2 is read by everyone left */
    r = it_req("DELETE", it_fmt("/chats/%lld/miembros/%lld", g, c), tc, NULL);
    it_must(r, 204);
    it_free(r);
    r = it_req("GET", it_fmt("/chats/%lld/mensajes?despues=%lld&limite=1", g, m1), ta, NULL);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "mensajes.0.leido_por_todos")), 1);
    it_free(r);
    r = it_req("GET", it_fmt("/mensajes/%lld/lecturas", m2), ta, NULL);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "pendientes")), 0);   /* c left */
    it_free(r);
    (void)a;
    free((char *)lp);
    free(ta);
    free(tb);
    free(tc);
    free(td);
}

static void test_mensajes__deactivated_author_masked(void)
{
    char *ta, *tb;
    it_user("za", "Zoila Activa", NULL, &ta);
    long long b = it_user("zb", "Zenón Se Va", NULL, &tb);
    long long g = it_group(ta, "Máscaras", &b, 1);
    long long m = it_send_text(tb, g, "me despido");
    struct it_resp *r = it_req("POST", it_fmt("/chats/%lld/mensajes", g), ta,
                               it_fmt("{\"contenido\":\"adiós\",\"respuesta_a\":%lld}", m));
    it_free(r);
    PGresult *res = PQexecParams(it_db(), "SELECT id_erp FROM usuarios WHERE id = $1::bigint", 1, NULL,
                                 (const char *[]){ it_fmt("%lld", b) }, NULL, NULL, 0);
    r = it_req("POST", it_fmt("/interno/usuarios/%s/desactivar", PQgetvalue(res, 0, 0)), svc, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    PQclear(res);
    r = it_req("GET", it_fmt("/chats/%lld/mensajes?limite=2", g), ta, NULL);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "mensajes.0.respuesta_a.autor_nombre"), "Usuario desactivado");
    CU_ASSERT_EQUAL(it_get_ll(r, "mensajes.1.autor.id"), b);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "mensajes.1.autor.nombre"), "Usuario desactivado");
    CU_ASSERT_PTR_NULL(it_get(r, "mensajes.1.autor.imagen_url"));
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "mensajes.1.contenido"), "me despido");
    it_free(r);
    free(ta);
    free(tb);
}

/* The history page is printed straight from the rows (jsonw) while every
 * other Mensaje goes through json-c (msg_load): for messages of every
 * kind, the page's text is exactly json-c's print of the same value, and
 * each Mensaje equals the one msg_load gives (here through ?alrededor=). */
static void test_mensajes__history_text_is_the_mensaje(void)
{
    char *ta, *tb;
    it_user("ha", "Hilda \"Comillas\" \\ Ñ", NULL, &ta);
    long long b = it_user("hb", "Hugo Se Va", NULL, &tb);
    long long g = it_group(ta, "Historia exacta", &b, 1);
    long long m1 = it_send_text(ta, g, "texto \\\"citado\\\" \\\\ barra / tab\\t nl\\n ñ 😀 \\u2028 fin");
    it_free(it_must(it_req("POST", it_fmt("/chats/%lld/mensajes", g), tb,
                           it_fmt("{\"contenido\":\"respuesta\",\"respuesta_a\":%lld,"
                                  "\"client_id\":\"k/\\\"1\"}", m1)), 201));
    it_free(it_must(it_req("POST", it_fmt("/mensajes/%lld/reacciones", m1), ta, "{\"emoji\":\"👍\"}"), 200));
    it_free(it_must(it_req("POST", it_fmt("/mensajes/%lld/reacciones", m1), tb, "{\"emoji\":\"👍\"}"), 200));
    it_free(it_must(it_req("POST", it_fmt("/mensajes/%lld/reacciones", m1), tb, "{\"emoji\":\"\\\"x\\\"\"}"), 200));
    struct it_resp *r = it_must(it_req("POST", it_fmt("/chats/%lld/encuestas", g), ta,
                                       "{\"pregunta\":\"¿A o B?\",\"opciones\":[\"A\",\"B\"]}"), 201);
    long long enc = it_get_ll(r, "encuesta.id"), op = it_get_ll(r, "encuesta.opciones.0.id");
    it_free(r);
    it_free(it_must(it_req("PUT", it_fmt("/encuestas/%lld/voto", enc), tb,
                           it_fmt("{\"opciones\":[%lld]}", op)), 200));
    long long gone = it_send_text(tb, g, "será borrado");
    it_free(it_must(it_req("POST", it_fmt("/chats/%lld/mensajes", g), ta,
                           it_fmt("{\"contenido\":\"a lo borrado\",\"respuesta_a\":%lld}", gone)), 201));
    it_free(it_must(it_req("DELETE", it_fmt("/mensajes/%lld", gone), tb, NULL), 204));
    /* what the API refuses but a row may hold (an import, a sistema text):
     * control characters, DEL; and media with and without a duration */
    it_db_exec(it_fmt("INSERT INTO mensajes (chat_id, autor_id, tipo, contenido)"
                      " VALUES (%lld, %lld, 'texto', 'c' || chr(1) || chr(31) || chr(127)"
                      " || chr(8) || chr(12) || 'd')", g, b));
    it_db_exec(it_fmt("WITH md AS (INSERT INTO media (uploader_id, storage_key, nombre, mime,"
                      " tamano, ancho, alto, duracion) VALUES (%lld, 'k-hist-1', 'a\"b.mp3',"
                      " 'audio/mpeg', 1234, NULL, NULL, 12.345) RETURNING id)"
                      " INSERT INTO mensajes (chat_id, autor_id, tipo, media_id)"
                      " SELECT %lld, %lld, 'audio', id FROM md", b, g, b));
    it_db_exec(it_fmt("WITH md AS (INSERT INTO media (uploader_id, storage_key, nombre, mime,"
                      " tamano, ancho, alto) VALUES (%lld, 'k-hist-2', 'f.png', 'image/png',"
                      " 99, 640, 480) RETURNING id)"
                      " INSERT INTO mensajes (chat_id, autor_id, tipo, contenido, media_id)"
                      " SELECT %lld, %lld, 'imagen', 'pie', id FROM md", b, g, b));
    it_db_exec(it_fmt("UPDATE usuarios SET activo = false WHERE id = %lld", b));

    r = it_must(it_req("GET", it_fmt("/chats/%lld/mensajes?limite=50", g), ta, NULL), 200);
    const char *plain = json_object_to_json_string_ext(
        r->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    CU_ASSERT_STRING_EQUAL(r->body, plain);
    json_object *page = it_get(r, "mensajes");
    size_t n = json_object_array_length(page);
    CU_ASSERT(n >= 9);  /* 6 sent, 3 inserted, and the group's sistema messages */
    CU_ASSERT_PTR_NOT_NULL(strstr(r->body, "\"contenido\":\"c\\u0001\\u001f\x7f\\b\\fd\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r->body, "\"duracion\":12.345"));
    int polls = 0, media = 0, reac = 0, masked = 0, deleted = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(page, i), *x;
        long long id = json_object_get_int64(json_object_object_get(m, "id"));
        struct it_resp *one = it_must(
            it_req("GET", it_fmt("/chats/%lld/mensajes?alrededor=%lld&limite=1", g, id), ta, NULL), 200);
        json_object *same = NULL;
        json_object *arr = it_get(one, "mensajes");
        for (size_t k = 0; k < json_object_array_length(arr); k++) {
            json_object *o = json_object_array_get_idx(arr, k);
            if (json_object_get_int64(json_object_object_get(o, "id")) == id)
                same = o;
        }
        CU_ASSERT_PTR_NOT_NULL(same);
        CU_ASSERT_TRUE(same && json_object_equal(m, same));
        polls += json_object_object_get_ex(m, "encuesta", &x) && x;
        media += json_object_object_get_ex(m, "media", &x) && x;
        reac += json_object_array_length(json_object_object_get(m, "reacciones")) > 0;
        masked += json_object_object_get_ex(m, "autor", &x) && x &&
                  strcmp(json_object_get_string(json_object_object_get(x, "nombre")),
                         "Usuario desactivado") == 0;
        deleted += json_object_get_boolean(json_object_object_get(m, "eliminado"));
        it_free(one);
    }
    CU_ASSERT_EQUAL(polls, 1);
    CU_ASSERT_EQUAL(media, 2);
    CU_ASSERT_EQUAL(reac, 1);
    CU_ASSERT(masked >= 4);
    CU_ASSERT_EQUAL(deleted, 1);
    it_free(r);
    free(ta);
    free(tb);
}

static void test_mensajes__push_queued(void)
{
    char *ta, *tb, *tc;
    long long a = it_user("qa", "Quique Push", NULL, &ta);
    long long b = it_user("qb", "Quela Push", NULL, &tb);
    long long c = it_user("qc", "Quino Silencio", NULL, &tc);
    long long ids[] = { b, c };
    long long g = it_group(ta, "Avisos push", ids, 2);
    const char *toks[] = { ta, tb, tc };
    for (int i = 0; i < 3; i++) {
        struct it_resp *r = it_req("POST", "/dispositivos", toks[i],
                                   it_fmt("{\"token\":\"ExponentPushToken[q%d-%d]\",\"plataforma\":\"ios\"}",
                                          getpid(), i));
        CU_ASSERT(r->status == 201 || r->status == 200);
        it_free(r);
    }
    struct it_resp *r = it_req("PUT", it_fmt("/chats/%lld/silenciar", g), tc, "{\"silenciado\":true}");
    it_free(r);
    long long m = it_send_text(ta, g, "¿me llega?");
    /* b gets it; the author and the muted member do not; same transaction */
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM queue_mensajes WHERE item_tipo = 'mensaje'"
                              " AND item_id = %lld AND usuario_id = %lld", m, b), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM queue_mensajes WHERE item_tipo = 'mensaje'"
                              " AND item_id = %lld AND usuario_id IN (%lld, %lld)", m, a, c), 0);
    /* a reaction reaches the author */
    r = it_req("POST", it_fmt("/mensajes/%lld/reacciones", m), tb, "{\"emoji\":\"👏\"}");
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM queue_mensajes WHERE item_tipo = 'reaccion'"
                              " AND usuario_id = %lld AND payload->'data'->>'mensaje_id' = '%lld'", a, m), 1);
    /* a client_id retry queues nothing more */
    r = it_req("POST", it_fmt("/chats/%lld/mensajes", g), ta, "{\"contenido\":\"x\",\"client_id\":\"qp\"}");
    long long m2 = it_get_ll(r, "id");
    it_free(r);
    r = it_req("POST", it_fmt("/chats/%lld/mensajes", g), ta, "{\"contenido\":\"x\",\"client_id\":\"qp\"}");
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM queue_mensajes WHERE item_tipo = 'mensaje'"
                              " AND item_id = %lld", m2), 1);
    free(ta);
    free(tb);
    free(tc);
}

/* What a DBA's `LISTEN chat_eventos` sees: one small notification per
 * change as it commits, {"id","tipo","sala"}, naming the eventos row. */
static void test_mensajes__listen_sees_each_change(void)
{
    PGconn *l = PQconnectdb(it_cfg()->db_conninfo);
    CU_ASSERT_FATAL(PQstatus(l) == CONNECTION_OK);
    PQclear(PQexec(l, "LISTEN chat_eventos"));
    char *ta;
    long long a = it_user("lis", "Lis Escucha", NULL, &ta);
    long long chat = it_group(ta, "Escuchado", &a, 0);
    long long m = it_send_text(ta, chat, "¿me oyen?");
    char sala[64];
    snprintf(sala, sizeof(sala), "chat:%lld", chat);
    bool seen = false;
    /* up to 5 s: on a loaded machine the notification has taken over a
     * second to arrive (the loop ends as soon as it is seen) */
    for (int i = 0; i < 250 && !seen; i++) {
        usleep(20 * 1000);
        PQconsumeInput(l);
        PGnotify *n;
        while ((n = PQnotifies(l)) != NULL) {
            json_object *o = json_tokener_parse(n->extra), *id, *tipo, *sl;
            CU_ASSERT_PTR_NOT_NULL(o);
            if (o && json_object_object_get_ex(o, "id", &id) &&
                json_object_object_get_ex(o, "tipo", &tipo) &&
                json_object_object_get_ex(o, "sala", &sl) &&
                strcmp(json_object_get_string(tipo), "mensaje:nuevo") == 0 &&
                strcmp(json_object_get_string(sl), sala) == 0) {
                /* the truth is the eventos row it names (the group's own
                 * sistema message comes first) */
                CU_ASSERT(strlen(n->extra) < 200);
                CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE id = %lld AND "
                                          "tipo = 'mensaje:nuevo' AND sala = '%s'",
                                          (long long)json_object_get_int64(id), sala), 1);
                seen = it_db_llf("SELECT count(*) FROM eventos WHERE id = %lld AND "
                                 "(payload->>'id')::bigint = %lld",
                                 (long long)json_object_get_int64(id), m) == 1;
            }
            json_object_put(o);
            PQfreemem(n);
        }
    }
    CU_ASSERT_TRUE(seen);
    PQfinish(l);
    free(ta);
}

int main(void)
{
    it_init();
    svc = it_service_token();
    static const struct cu_test tests[] = {
        { "send_shape_and_reply", test_mensajes__send_shape_and_reply },
        { "send_bad_input", test_mensajes__send_bad_input },
        { "client_id_retry", test_mensajes__client_id_retry },
        { "two_senders_and_history", test_mensajes__two_senders_and_history },
        { "edit_and_delete", test_mensajes__edit_and_delete },
        { "reactions", test_mensajes__reactions },
        { "reactions_concurrent", test_mensajes__reactions_concurrent },
        { "read_marks_and_receipts", test_mensajes__read_marks_and_receipts },
        { "deactivated_author_masked", test_mensajes__deactivated_author_masked },
        { "history_text_is_the_mensaje", test_mensajes__history_text_is_the_mensaje },
        { "push_queued", test_mensajes__push_queued },
        { "listen_sees_each_change", test_mensajes__listen_sees_each_change },
        { NULL, NULL },
    };
    int rc = cu_run("mensajes", tests);
    free(svc);
    return rc;
}
