/* test_zz_restart.c: the FastCGI workers survive a PostgreSQL restart:
 * /salud answers 503 while the server is down, and every endpoint works
 * again once it is back, with no restart of chat-fcgi. Named to run last. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int main(void)
{
    it_init();
    if (!getenv("CHAT_TEST_VAR")) {
        fprintf(stderr, "test_zz_restart needs CHAT_TEST_VAR (the stack's var folder)\n");
        return 2;
    }
    static const struct cu_test tests[] = {
        { "workers_reconnect", test_restart__workers_reconnect },
        { NULL, NULL },
    };
    return cu_run("restart", tests);
}
