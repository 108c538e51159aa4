/* test_zz_restart.c: the FastCGI workers survive a PostgreSQL restart:
 * /salud answers 503 while the server is down, and every endpoint works
 * again once it is back, with no restart of chat-fcgi. Named to run last. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "cu.h"
#include "it.h"

/* The options the stack started PostgreSQL with: its port and the real
 * folder of its socket (found through the socket while it runs). */
static char pg_opts[PATH_MAX + 128];

static void pg_remember_opts(void)
{
    const char *var = getenv("CHAT_TEST_VAR"), *port = getenv("CHAT_PG_PORT");
    char sock[PATH_MAX], real[PATH_MAX];
    snprintf(sock, sizeof(sock), "%s/run/.s.PGSQL.%s", var, port ? port : "");
    CU_ASSERT_FATAL(port && realpath(sock, real));
    *strrchr(real, '/') = '\0';
    snprintf(pg_opts, sizeof(pg_opts), "-c listen_addresses=127.0.0.1 -p %s -k %s", port, real);
}

static int pg_ctl(const char *action)
{
    const char *var = getenv("CHAT_TEST_VAR");
    char data[PATH_MAX], cmd[PATH_MAX * 3 + 512];
    snprintf(cmd, sizeof(cmd), "%s/pg", var);
    if (!realpath(cmd, data))
        return -1;
    const char *as = getuid() == 0 ? "runuser -u postgres -- " : "";
    snprintf(cmd, sizeof(cmd),
             "cd / && %s/usr/lib/postgresql/15/bin/pg_ctl -D '%s' -w -t 30 -m fast "
             "-o '%s' %s >/dev/null 2>&1",
             as, data, pg_opts, action);
    return system(cmd);
}

static void test_restart__workers_reconnect(void)
{
    const char *id_erp = it_uid("restart");
    char *t = it_token(id_erp, "Reinicio", NULL, 600);
    struct it_resp *r = it_req("GET", "/me", t, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);

    pg_remember_opts();
    CU_ASSERT_EQUAL_FATAL(pg_ctl("stop"), 0);
    r = it_req("GET", "/salud", NULL, NULL);
    it_must(r, 503);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "db"), "inaccesible");
    it_free(r);
    r = it_req("GET", "/me", t, NULL);
    CU_ASSERT_EQUAL(r->status, 503);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "error_interno");
    it_free(r);

    CU_ASSERT_EQUAL_FATAL(pg_ctl("start"), 0);
    /* a write opens a transaction first: it too must find its way back,
     * on every worker (more requests than there are workers) */
    char *svc = it_service_token(), path[256];
    snprintf(path, sizeof(path), "/interno/usuarios/%s/vacaciones", id_erp);
    int ok = 0;
    for (int i = 0; i < 40; i++) {
        r = it_req("PUT", path, svc, "{\"activo\":false}");
        ok += r->status == 200;
        it_free(r);
    }
    CU_ASSERT_EQUAL(ok, 40);
    free(svc);
    ok = 0;
    for (int i = 0; i < 40; i++) {
        r = it_req("GET", "/me", t, NULL);
        ok += r->status == 200;
        it_free(r);
    }
    CU_ASSERT_EQUAL(ok, 40);
    r = it_req("GET", "/salud", NULL, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    free(t);
}

#define ROUNDS 40

/* One round of the hot requests; returns how many failed. */
static int hot_round(const char *t, long long chat, int i)
{
    int bad = 0;
    struct it_resp *r = it_req("POST", it_fmt("/chats/%lld/mensajes", chat), t,
                               it_fmt("{\"contenido\":\"vuelta %d\"}", i));
    bad += r->status != 201;
    long long mid = r->status == 201 ? it_get_ll(r, "id") : 0;
    it_free(r);
    r = it_req("GET", it_fmt("/chats/%lld/mensajes?limite=20", chat), t, NULL);
    bad += r->status != 200;
    it_free(r);
    r = it_req("GET", "/me", t, NULL);
    bad += r->status != 200;
    it_free(r);
    if (mid) {
        r = it_req("POST", it_fmt("/mensajes/%lld/reacciones", mid), t, "{\"emoji\":\"👍\"}");
        bad += r->status != 200;
        it_free(r);
        r = it_req("POST", it_fmt("/chats/%lld/leido", chat), t,
                   it_fmt("{\"mensaje_id\":%lld}", mid));
        bad += r->status != 200;
        it_free(r);
    }
    /* a poll loads its Mensaje after the insert, inside the transaction:
     * a stale plan there is past the point of a statement retry */
    r = it_req("POST", it_fmt("/chats/%lld/encuestas", chat), t,
               it_fmt("{\"pregunta\":\"¿Vuelta %d?\",\"opciones\":[\"sí\",\"no\"]}", i));
    bad += r->status != 201;
    it_free(r);
    return bad;
}

/* Statements are prepared once per connection: after a PostgreSQL restart
 * every worker's new session prepares them again, and after a migration
 * that changes a result type ("cached plan must not change result type")
 * they are prepared afresh; neither shows as a failed request. */
static void test_restart__prepared_statements(void)
{
    char *ta, *tb;
    long long a = it_user("prep-a", "Ana Prep", NULL, &ta);
    long long b = it_user("prep-b", "Beto Prep", NULL, &tb);
    long long ids[1] = { b };
    long long chat = it_group(ta, "Preparadas", ids, 1);
    CU_ASSERT(a > 0 && chat > 0);
    /* several rounds per worker (4 to 64 of them): every worker prepares
     * the hot statements */
    int bad = 0;
    for (int i = 0; i < ROUNDS; i++)
        bad += hot_round(i % 2 ? ta : tb, chat, i);
    CU_ASSERT_EQUAL(bad, 0);

    pg_remember_opts();
    CU_ASSERT_EQUAL_FATAL(pg_ctl("restart"), 0);
    bad = 0;
    for (int i = 0; i < ROUNDS; i++)
        bad += hot_round(i % 2 ? ta : tb, chat, 100 + i);
    CU_ASSERT_EQUAL(bad, 0);

    /* a column of the Mensaje and the user look-up changes type */
    it_db_exec("ALTER TABLE usuarios ALTER COLUMN imagen_url TYPE varchar(2000)");
    bad = 0;
    for (int i = 0; i < ROUNDS; i++)
        bad += hot_round(i % 2 ? ta : tb, chat, 200 + i);
    CU_ASSERT_EQUAL(bad, 0);
    it_db_exec("ALTER TABLE usuarios ALTER COLUMN imagen_url TYPE text");
    bad = 0;
    for (int i = 0; i < ROUNDS; i++)
        bad += hot_round(i % 2 ? ta : tb, chat, 300 + i);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld AND tipo = 'texto'", chat),
                    4 * ROUNDS);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld AND tipo = 'encuesta'", chat),
                    4 * ROUNDS);
    free(ta);
    free(tb);
}

static const struct db_stmt st_probe_user = {
    "probe_user", "SELECT id, imagen_url FROM usuarios WHERE id = $1"
};

/* The database layer, below the handlers: a stale plan met after the
 * transaction did work fails that transaction with ERR_UNAVAILABLE and
 * says so once (db_take_replanned), every statement is prepared afresh,
 * and the same transaction run again succeeds; met as the first statement
 * it is retried on the spot. */
static void test_restart__replan_inside_transaction(void)
{
    char why[256];
    struct db *d = db_open(it_conninfo(), 0, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct arena *a = arena_new();
    struct err e = { ERR_NONE, "" };
    char *tok;
    long long u = it_user("replan", "Rita Plan", NULL, &tok);
    free(tok);
    char idbuf[24];
    snprintf(idbuf, sizeof(idbuf), "%lld", u);
    const char *p[1] = { idbuf };
    CU_ASSERT_PTR_NOT_NULL(db_run(d, a, &st_probe_user, 1, p, &e));

    it_db_exec("ALTER TABLE usuarios ALTER COLUMN imagen_url TYPE varchar(1000)");
    CU_ASSERT_EQUAL(db_begin(d, &e), 0);
    CU_ASSERT_PTR_NOT_NULL(db_exec(d, a, "SELECT 1", 0, NULL, &e));
    CU_ASSERT_PTR_NULL(db_run(d, a, &st_probe_user, 1, p, &e));
    CU_ASSERT_EQUAL(e.code, ERR_UNAVAILABLE);
    CU_ASSERT_TRUE(db_take_replanned(d));
    CU_ASSERT_FALSE(db_take_replanned(d));
    db_rollback(d);
    e = (struct err){ ERR_NONE, "" };
    CU_ASSERT_EQUAL(db_begin(d, &e), 0);
    CU_ASSERT_PTR_NOT_NULL(db_exec(d, a, "SELECT 1", 0, NULL, &e));
    CU_ASSERT_PTR_NOT_NULL(db_run(d, a, &st_probe_user, 1, p, &e));
    CU_ASSERT_EQUAL(db_commit(d, &e), 0);

    /* first statement of a transaction: retried at once, no failure */
    it_db_exec("ALTER TABLE usuarios ALTER COLUMN imagen_url TYPE text");
    CU_ASSERT_EQUAL(db_begin(d, &e), 0);
    CU_ASSERT_PTR_NOT_NULL(db_run(d, a, &st_probe_user, 1, p, &e));
    CU_ASSERT_EQUAL(db_commit(d, &e), 0);
    CU_ASSERT_FALSE(db_take_replanned(d));
    CU_ASSERT_EQUAL(e.code, ERR_NONE);
    arena_free(a);
    db_close(d);
}

int main(void)
{
    it_init();
    if (!getenv("CHAT_TEST_VAR")) {
        fprintf(stderr, "test_zz_restart needs CHAT_TEST_VAR (the stack's var folder)\n");
        return 2;
    }
    static const struct cu_test tests[] = {
        { "workers_reconnect", test_restart__workers_reconnect },
        { "prepared_statements", test_restart__prepared_statements },
        { "replan_inside_transaction", test_restart__replan_inside_transaction },
        { NULL, NULL },
    };
    return cu_run("restart", tests);
}
