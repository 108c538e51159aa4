/* test_sync.c: delta sync (API.md §4.4) against the running stack: the
 * starting cursor, every kind of change since a cursor (one entry per
 * message, latest state), visibility, chats left or deleted, paging, the
 * seed form, bad input, and a transaction that commits after a later one
 * (its change must not be skipped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "domain/evt.h"
#include "it.h"

/* A fresh cursor for tok (malloc'd). */
static char *cursor_now(const char *tok)
{
    struct it_resp *r = it_req("GET", "/sync/cursor", tok, NULL);
    it_must(r, 200);
    char *c = strdup(it_get_str(r, "cursor") ? it_get_str(r, "cursor") : "");
    it_free(r);
    return c;
}

static struct it_resp *sync_from(const char *tok, const char *cursor)
{
    struct it_resp *r = it_req("POST", "/sync", tok, it_fmt("{\"cursor\":\"%s\"}", cursor));
    CU_ASSERT_EQUAL(r->status, 200);
    return r;
}

/* The entry of list whose key equals id, or NULL; *count how many match. */
static json_object *find(const struct it_resp *r, const char *list, const char *key, long long id,
                         int *count)
{
    json_object *arr = it_get(r, list), *hit = NULL;
    int n = 0;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *x = json_object_array_get_idx(arr, i), *v = x;
        if (key && !json_object_object_get_ex(x, key, &v))
            continue;
        if (json_object_get_int64(v) == id) {
            hit = x;
            n++;
        }
    }
    if (count)
        *count = n;
    return hit;
}

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static void test_sync__cursor_and_empty(void)
{
    char *ta;
    it_user("ea", "Eva Vacía", NULL, &ta);
    char *c = cursor_now(ta);
    long long x, i;
    char tail;
    CU_ASSERT_EQUAL(sscanf(c, "%lld.%lld%c", &x, &i, &tail), 2);
    CU_ASSERT(x > 0);
    CU_ASSERT_EQUAL(i, 0);
    struct it_resp *r = sync_from(ta, c);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 0);
    static const char *lists[] = { "mensajes", "chats", "chats_eliminados", "lecturas", "comunicados", NULL };
    for (int k = 0; lists[k]; k++)
        CU_ASSERT_EQUAL(json_object_array_length(it_get(r, lists[k])), 0);
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "cursor"));
    it_free(r);
    free(c);
    free(ta);
}

static void test_sync__changes_since_cursor(void)
{
    char *ta, *tb, *tc;
    long long a = it_user("ca", "Ana Sync", NULL, &ta);
    long long b = it_user("cb", "Bea Sync", NULL, &tb);
    it_user("cc", "Ciro Fuera", NULL, &tc);
    long long g = it_group(ta, "Sincronía", &b, 1);
    long long m1 = it_send_text(ta, g, "uno");
    long long m2 = it_send_text(ta, g, "dos");
    long long hidden = it_group(tc, "Ajeno", NULL, 0);
    char *c0 = cursor_now(tb);

    /* several changes to m1: one entry, its latest state */
    struct it_resp *r = it_req("PATCH", it_fmt("/mensajes/%lld", m1), ta, "{\"contenido\":\"uno editado\"}");
    it_free(r);
    r = it_req("POST", it_fmt("/mensajes/%lld/reacciones", m1), ta, "{\"emoji\":\"🔥\"}");
    it_free(r);
    r = it_req("DELETE", it_fmt("/mensajes/%lld", m2), ta, NULL);
    it_free(r);
    long long m3 = it_send_text(ta, g, "tres");
    r = it_req("POST", it_fmt("/chats/%lld/leido", g), ta, it_fmt("{\"mensaje_id\":%lld}", m3));
    it_free(r);
    long long g2 = it_group(ta, "Nuevo", &b, 1);
    it_send_text(tc, hidden, "no lo ves");

    r = sync_from(tb, c0);
    int n;
    json_object *e1 = find(r, "mensajes", "id", m1, &n);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_EQUAL(str_of(e1, "contenido"), "uno editado");
    CU_ASSERT_PTR_NOT_NULL(str_of(e1, "editado_at"));
    json_object *reac;
    CU_ASSERT(json_object_object_get_ex(e1, "reacciones", &reac) && json_object_array_length(reac) == 1);
    json_object *e2 = find(r, "mensajes", "id", m2, &n);
    CU_ASSERT_EQUAL(n, 1);
    json_object *del;
    CU_ASSERT(json_object_object_get_ex(e2, "eliminado", &del) && json_object_get_boolean(del));
    CU_ASSERT_PTR_NULL(str_of(e2, "contenido"));
    CU_ASSERT_PTR_NOT_NULL(find(r, "mensajes", "id", m3, NULL));
    /* ordered by id, nothing from the chat b is not in */
    json_object *arr = it_get(r, "mensajes");
    long long prev = 0;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *m = json_object_array_get_idx(arr, i), *cid, *id;
        json_object_object_get_ex(m, "chat_id", &cid);
        json_object_object_get_ex(m, "id", &id);
        CU_ASSERT(json_object_get_int64(cid) == g || json_object_get_int64(cid) == g2);
        CU_ASSERT(json_object_get_int64(id) > prev);
        prev = json_object_get_int64(id);
    }
    json_object *lec = find(r, "lecturas", "usuario_id", a, &n);
    CU_ASSERT_EQUAL(n, 1);
    json_object *lm;
    CU_ASSERT(json_object_object_get_ex(lec, "mensaje_id", &lm) && json_object_get_int64(lm) == m3);
    CU_ASSERT_PTR_NOT_NULL(str_of(lec, "leido_at"));
    json_object *ch = find(r, "chats", "id", g2, &n);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_EQUAL(str_of(ch, "mi_rol"), "miembro");
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "chats_eliminados")), 0);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 0);
    char *c1 = strdup(it_get_str(r, "cursor"));
    it_free(r);

    /* from the new cursor: nothing again */
    r = sync_from(tb, c1);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "mensajes")), 0);
    it_free(r);

    /* b is removed from g, and g2 is deleted: both in chats_eliminados, and
     * g's later messages are not shown */
    r = it_req("DELETE", it_fmt("/chats/%lld/miembros/%lld", g, b), ta, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    long long after = it_send_text(ta, g, "ya no estás");
    r = it_req("DELETE", it_fmt("/chats/%lld", g2), ta, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    r = sync_from(tb, c1);
    CU_ASSERT_PTR_NOT_NULL(find(r, "chats_eliminados", NULL, g, NULL));
    CU_ASSERT_PTR_NOT_NULL(find(r, "chats_eliminados", NULL, g2, NULL));
    CU_ASSERT_PTR_NULL(find(r, "chats", "id", g, NULL));
    CU_ASSERT_PTR_NULL(find(r, "mensajes", "id", after, NULL));
    it_free(r);
    /* ...but a member is told about the membership change */
    r = sync_from(ta, c1);
    ch = find(r, "chats", "id", g, &n);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_PTR_NOT_NULL(find(r, "mensajes", "id", after, NULL));
    CU_ASSERT_PTR_NOT_NULL(find(r, "chats_eliminados", NULL, g2, NULL));
    it_free(r);
    free(c0);
    free(c1);
    free(ta);
    free(tb);
    free(tc);
}

static void test_sync__paging(void)
{
    enum { N = 520 };
    char *ta, *tb;
    it_user("pa", "Pía Páginas", NULL, &ta);
    long long b = it_user("pb", "Pepe Páginas", NULL, &tb);
    long long g = it_group(ta, "Muchos", &b, 1);
    char *c = cursor_now(tb);
    long long first = 0, last = 0;
    for (int i = 0; i < N; i++) {
        last = it_send_text(ta, g, it_fmt("m%d", i));
        if (!first)
            first = last;
    }
    struct it_resp *r = sync_from(tb, c);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 1);
    size_t n1 = json_object_array_length(it_get(r, "mensajes"));
    CU_ASSERT_EQUAL(n1, 500);
    CU_ASSERT_EQUAL(it_get_ll(r, "mensajes.0.id"), first);
    char *c2 = strdup(it_get_str(r, "cursor"));
    it_free(r);
    r = sync_from(tb, c2);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 0);
    size_t n2 = json_object_array_length(it_get(r, "mensajes"));
    CU_ASSERT_EQUAL(n1 + n2, N);
    CU_ASSERT_EQUAL(it_get_ll(r, it_fmt("mensajes.%zu.id", n2 - 1)), last);
    it_free(r);
    free(c);
    free(c2);
    free(ta);
    free(tb);
}

/* The invariant: T1 writes an event and stays open; T2 writes a later event
 * and commits; a sync now must not move its cursor past T1's event, so that
 * once T1 commits the next sync returns it. */
static void test_sync__out_of_order_commit(void)
{
    char *ta, *tb;
    long long a = it_user("oa", "Olga Orden", NULL, &ta);
    long long b = it_user("ob", "Omar Orden", NULL, &tb);
    long long g = it_group(ta, "Orden", &b, 1);
    char *c0 = cursor_now(tb);

    PGconn *held = PQconnectdb(it_cfg()->db_conninfo);
    CU_ASSERT_EQUAL_FATAL(PQstatus(held), CONNECTION_OK);
    PQclear(PQexec(held, "BEGIN"));
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO mensajes (chat_id, autor_id, tipo, contenido)"
             " VALUES (%lld, %lld, 'texto', 'llegué tarde') RETURNING id, pg_current_xact_id()::text", g, a);
    PGresult *res = PQexec(held, sql);
    CU_ASSERT_EQUAL_FATAL(PQresultStatus(res), PGRES_TUPLES_OK);
    long long late = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    long long held_xid = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    snprintf(sql, sizeof(sql),
             "INSERT INTO eventos (tipo, sala, payload, chat_id, usuario_id)"
             " VALUES ('mensaje:nuevo', 'chat:%lld', jsonb_build_object('id', %lld, 'chat_id', %lld), %lld, %lld)"
             " RETURNING id", g, late, g, g, a);
    res = PQexec(held, sql);
    CU_ASSERT_EQUAL_FATAL(PQresultStatus(res), PGRES_TUPLES_OK);
    long long late_ev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    /* a later id commits first */
    long long early = it_send_text(ta, g, "llegué antes");
    CU_ASSERT(early > late);
    CU_ASSERT(it_db_llf("SELECT max(id) FROM eventos WHERE sala = 'chat:%lld'", g) > late_ev);

    struct it_resp *r = sync_from(tb, c0);
    CU_ASSERT_PTR_NULL(find(r, "mensajes", "id", late, NULL));
    const char *c1s = it_get_str(r, "cursor");
    long long cx = 0, ci = 0;
    CU_ASSERT_FATAL(c1s && sscanf(c1s, "%lld.%lld", &cx, &ci) == 2);
    /* the cursor stays at or below the open transaction */
    CU_ASSERT(cx <= held_xid);
    char *c1 = strdup(c1s);
    it_free(r);

    res = PQexec(held, "COMMIT");
    CU_ASSERT_EQUAL(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(held);

    r = sync_from(tb, c1);
    CU_ASSERT_PTR_NOT_NULL(find(r, "mensajes", "id", late, NULL));
    CU_ASSERT_PTR_NOT_NULL(find(r, "mensajes", "id", early, NULL));
    char *c2 = strdup(it_get_str(r, "cursor"));
    it_free(r);
    /* and once past, neither comes again */
    r = sync_from(tb, c2);
    CU_ASSERT_PTR_NULL(find(r, "mensajes", "id", late, NULL));
    CU_ASSERT_PTR_NULL(find(r, "mensajes", "id", early, NULL));
    it_free(r);
    free(c0);
    free(c1);
    free(c2);
    free(ta);
    free(tb);
}

static void test_sync__seed_form(void)
{
    char *ta, *tb, *tc;
    it_user("sa", "Sol Semilla", NULL, &ta);
    long long b = it_user("sb", "Saúl Semilla", NULL, &tb);
    it_user("sc", "Sixto Ajeno", NULL, &tc);
    long long g = it_group(ta, "Semilla", &b, 1);
    long long m1 = it_send_text(ta, g, "uno");
    long long m2 = it_send_text(ta, g, "dos");
    long long m3 = it_send_text(ta, g, "tres");
    long long other = it_group(tc, "Ajeno", NULL, 0);
    it_send_text(tc, other, "no");
    struct it_resp *r = it_req("POST", "/sync", tb,
                               it_fmt("{\"chats\":{\"%lld\":%lld,\"%lld\":0}}", g, m1, other));
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "mensajes")), 2);
    CU_ASSERT_EQUAL(it_get_ll(r, "mensajes.0.id"), m2);
    CU_ASSERT_EQUAL(it_get_ll(r, "mensajes.1.id"), m3);
    CU_ASSERT_PTR_NOT_NULL(find(r, "chats_eliminados", NULL, other, NULL));
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 0);
    char *c = strdup(it_get_str(r, "cursor"));
    it_free(r);
    /* its cursor continues with the cursor form */
    long long m4 = it_send_text(ta, g, "cuatro");
    r = sync_from(tb, c);
    CU_ASSERT_PTR_NOT_NULL(find(r, "mensajes", "id", m4, NULL));
    it_free(r);
    free(c);
    free(ta);
    free(tb);
    free(tc);
}

static void test_sync__comunicados(void)
{
    char *tj, *tb, *tc;
    it_user("cj", "Jefa Comunica", "567,568", &tj);
    long long b = it_user("cb", "Beto Lee", NULL, &tb);
    it_user("cc", "Caro No", NULL, &tc);
    char *cb0 = cursor_now(tb), *cc0 = cursor_now(tc);
    struct it_resp *r = it_req("POST", "/comunicados", tj,
                               it_fmt("{\"titulo\":\"Para Beto\",\"contenido\":\"hola\","
                                      "\"destinatarios\":{\"usuario_ids\":[%lld]}}", b));
    it_must(r, 201);
    long long c1 = it_get_ll(r, "id");
    it_free(r);
    r = it_req("POST", "/comunicados", tj,
               "{\"titulo\":\"Para todos\",\"contenido\":\"aviso\",\"destinatarios\":{\"todos\":true}}");
    it_must(r, 201);
    long long c2 = it_get_ll(r, "id");
    it_free(r);
    r = sync_from(tb, cb0);
    CU_ASSERT_PTR_NOT_NULL(find(r, "comunicados", "id", c1, NULL));
    CU_ASSERT_PTR_NOT_NULL(find(r, "comunicados", "id", c2, NULL));
    char *cb1 = strdup(it_get_str(r, "cursor"));
    it_free(r);
    r = sync_from(tc, cc0);   /* not addressed to c */
    CU_ASSERT_PTR_NULL(find(r, "comunicados", "id", c1, NULL));
    CU_ASSERT_PTR_NOT_NULL(find(r, "comunicados", "id", c2, NULL));
    it_free(r);
    /* deleted: a stub that tells the client to drop it */
    r = it_req("DELETE", it_fmt("/comunicados/%lld", c1), tj, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    r = sync_from(tb, cb1);
    json_object *x = find(r, "comunicados", "id", c1, NULL), *del;
    CU_ASSERT_PTR_NOT_NULL(x);
    CU_ASSERT(x && json_object_object_get_ex(x, "eliminado", &del) && json_object_get_boolean(del));
    it_free(r);
    free(cb0);
    free(cc0);
    free(cb1);
    free(tj);
    free(tb);
    free(tc);
}

static void test_sync__bad_input(void)
{
    char *ta;
    it_user("ba", "Bruno Sync", NULL, &ta);
    char *fp = it_db_fingerprint();
    const char *bad[] = {
        "{}", "{\"cursor\":5}", "{\"cursor\":\"\"}", "{\"cursor\":\"abc\"}", "{\"cursor\":\"12\"}",
        "{\"cursor\":\"12.x\"}", "{\"cursor\":\"-1.0\"}", "{\"cursor\":\"1.2.3\"}",
        "{\"cursor\":\"99999999999999999999.0\"}", "{\"chats\":[]}", "{\"chats\":{\"x\":1}}",
        "{\"chats\":{\"1\":\"a\"}}", "{\"chats\":{\"1\":-1}}", "{\"chats\":{\"0\":1}}", "{\"cursor\":",
        "[]", NULL,
    };
    for (int i = 0; bad[i]; i++)
        it_expect(it_req("POST", "/sync", ta, bad[i]), 400, "solicitud_invalida");
    it_expect(it_req("GET", "/sync", ta, NULL), 405, "solicitud_invalida");
    it_expect(it_req("GET", "/sync/cursor", NULL, NULL), 401, "token_invalido");
    char *fp2 = it_db_fingerprint();
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    free(fp);
    free(fp2);
    free(ta);
}

/* Once prune has deleted events after a cursor, that cursor would miss
 * them: /sync refuses it (409) so the client reloads; a newer one works. */
static void test_sync__stale_cursor_after_prune(void)
{
    char *ta;
    long long a = it_user("pa", "Pedro Podado", NULL, &ta);
    char *old = cursor_now(ta);
    long long chat = it_group(ta, "Podado", &a, 0);
    it_send_text(ta, chat, "esto se va a podar");
    char *fresh = cursor_now(ta);
    /* make this chat's events older than eventos_retention_days */
    CU_ASSERT_EQUAL(it_db_llf("WITH u AS (UPDATE eventos SET created_at = now() - interval '10 years'"
                              " WHERE chat_id = %lld RETURNING 1) SELECT count(*) FROM u", chat) > 0, 1);
    char cmd[4400];
    snprintf(cmd, sizeof(cmd), "'%s' prune >/dev/null 2>&1", it_bin("chat-cron"));
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE chat_id = %lld", chat), 0);
    CU_ASSERT_EQUAL(it_db_ll("SELECT count(*) FROM eventos_poda"), 1);

    struct it_resp *r = it_req("POST", "/sync", ta, it_fmt("{\"cursor\":\"%s\"}", old));
    it_expect(r, 409, "conflicto");
    r = sync_from(ta, fresh);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "hay_mas")), 0);
    it_free(r);
    free(old);
    free(fresh);
    free(ta);
}

/* The plan of a prepared statement, as PostgreSQL caches it after five
 * executions (the generic plan: parameters unknown), one line per node. */
static char *generic_plan(const struct db_stmt *st, const char *args)
{
    PGresult *r = PQprepare(it_db(), st->name, st->sql, 0, NULL);
    CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    r = PQexec(it_db(), it_fmt("EXPLAIN EXECUTE %s(%s)", st->name, args));
    CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_TUPLES_OK);
    size_t cap = 1, n = 0;
    for (int i = 0; i < PQntuples(r); i++)
        cap += strlen(PQgetvalue(r, i, 0)) + 1;
    char *plan = calloc(1, cap);
    for (int i = 0; plan && i < PQntuples(r); i++)
        n += (size_t)sprintf(plan + n, "%s\n", PQgetvalue(r, i, 0));
    PQclear(r);
    PQclear(PQexec(it_db(), it_fmt("DEALLOCATE %s", st->name)));
    return plan;
}

/* rtd's feed reads eventos on every NOTIFY; its statements are prepared
 * once, so what runs is their generic plan. With eventos at a size a
 * company reaches in days (60,000 rows here, left uncommitted so nothing
 * is delivered) the cursor read must stay a walk of the (xid, id) index
 * that stops after its batch: no sort of the table's estimate, no parallel
 * workers (a generic plan that did both cost 22-41 ms a read). */
static void test_sync__feed_plans(void)
{
    PQclear(PQexec(it_db(), "BEGIN"));
    long long n = it_db_ll("WITH i AS (INSERT INTO eventos (tipo, sala, payload)"
                           " SELECT 'mensaje:nuevo', 'chat:0',"
                           "  jsonb_build_object('relleno', repeat('x', 200), 'n', g)"
                           " FROM generate_series(1, 60000) g RETURNING 1) SELECT count(*) FROM i");
    CU_ASSERT_EQUAL(n, 60000);
    PQclear(PQexec(it_db(), "SET LOCAL plan_cache_mode = force_generic_plan"));
    char *read = generic_plan(&evt_st_feed_read, "1, 0");
    char *ahead = generic_plan(&evt_st_feed_ahead, "'{1,2,3}', '1', 0");
    PQclear(PQexec(it_db(), "ROLLBACK"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(read);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ahead);
    if (strstr(read, "Sort") || strstr(read, "Gather") || !strstr(read, "eventos_xid_idx"))
        fprintf(stderr, "feed_read's generic plan:\n%s", read);
    CU_ASSERT_PTR_NOT_NULL(strstr(read, "Index Scan using eventos_xid_idx"));
    CU_ASSERT_PTR_NULL(strstr(read, "Sort"));
    CU_ASSERT_PTR_NULL(strstr(read, "Gather"));
    CU_ASSERT_PTR_NOT_NULL(strstr(read, "Limit"));
    /* the announced rows: found by primary key, a handful at a time */
    if (!strstr(ahead, "eventos_pkey") || strstr(ahead, "Gather"))
        fprintf(stderr, "feed_ahead's generic plan:\n%s", ahead);
    CU_ASSERT_PTR_NOT_NULL(strstr(ahead, "eventos_pkey"));
    CU_ASSERT_PTR_NULL(strstr(ahead, "Gather"));
    free(read);
    free(ahead);
}

int main(void)
{
    it_init();
    static const struct cu_test tests[] = {
        { "cursor_and_empty", test_sync__cursor_and_empty },
        { "changes_since_cursor", test_sync__changes_since_cursor },
        { "paging", test_sync__paging },
        { "out_of_order_commit", test_sync__out_of_order_commit },
        { "seed_form", test_sync__seed_form },
        { "comunicados", test_sync__comunicados },
        { "bad_input", test_sync__bad_input },
        { "stale_cursor_after_prune", test_sync__stale_cursor_after_prune },
        { "feed_plans", test_sync__feed_plans },
        { NULL, NULL },
    };
    return cu_run("sync", tests);
}
