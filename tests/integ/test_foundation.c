/* test_foundation.c: migrations (order, rollback of a failing one, the
 * advisory lock under concurrency) and start-up refusals on bad config. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu.h"
#include "it.h"
#include "core/migrate.h"

/* This program's own migrations replace the compiled-in schema: the
 * library's migrate_apply runs them in a scratch schema. */
static const struct migration test_good[] = {
    { "001_uno", "CREATE TABLE t_uno (id int PRIMARY KEY);" },
    { "002_dos", "CREATE TABLE t_dos (id int); INSERT INTO t_dos VALUES (1), (2);" },
};
const struct migration migrations[] = {
    { "001_uno", "CREATE TABLE t_uno (id int PRIMARY KEY);" },
    { "002_dos", "CREATE TABLE t_dos (id int); INSERT INTO t_dos VALUES (1), (2);" },
    { "003_mala", "CREATE TABLE t_tres (id int); INSERT INTO t_tres VALUES ('no es número');" },
    { "004_nunca", "CREATE TABLE t_cuatro (id int);" },
    { NULL, NULL },
};

static PGconn *scratch(const char *schema, bool fresh)
{
    PGconn *c = PQconnectdb(it_cfg()->db_conninfo);
    CU_ASSERT_FATAL(PQstatus(c) == CONNECTION_OK);
    char sql[256];
    if (fresh) {
        snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
                 schema);
        PQclear(PQexec(c, sql));
    }
    snprintf(sql, sizeof(sql), "SET search_path = %s", schema);
    PQclear(PQexec(c, sql));
    return c;
}

static void test_foundation__failed_migration_rolls_back(void)
{
    (void)test_good;
    PGconn *c = scratch("mig_a", true);
    char why[512] = "";
    int applied = -1;
    CU_ASSERT_EQUAL(migrate_apply(c, &applied, why, sizeof(why)), -1);
    CU_ASSERT_EQUAL(applied, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "003_mala"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "rolled back"));
    CU_ASSERT_EQUAL(it_sql_ll(c, "%s", "SELECT count(*) FROM schema_migrations"), 2);
    CU_ASSERT_EQUAL(it_sql_ll(c, "%s", "SELECT count(*) FROM t_dos"), 2);
    CU_ASSERT_EQUAL(it_sql_ll(c, "%s", "SELECT count(*) FROM pg_tables WHERE schemaname = 'mig_a' "
                            "AND tablename IN ('t_tres', 't_cuatro')"), 0);
    char cur[64];
    CU_ASSERT_EQUAL(migrate_current(c, cur, sizeof(cur)), 0);
    CU_ASSERT_STRING_EQUAL(cur, "002_dos");
    /* a second run stops at the same place and applies nothing new */
    applied = -1;
    CU_ASSERT_EQUAL(migrate_apply(c, &applied, why, sizeof(why)), -1);
    CU_ASSERT_EQUAL(applied, 0);
    PQclear(PQexec(c, "DROP SCHEMA mig_a CASCADE"));
    PQfinish(c);
}

struct racer {
    int applied, rc;
};

static void *race(void *p)
{
    struct racer *r = p;
    PGconn *c = scratch("mig_b", false);
    char why[512];
    r->rc = migrate_apply(c, &r->applied, why, sizeof(why));
    PQfinish(c);
    return NULL;
}

static void test_foundation__concurrent_starts_apply_once(void)
{
    PGconn *c = scratch("mig_b", true);
    struct racer rs[4] = { { 0, 0 } };
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, race, &rs[i]);
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(rs[i].rc, -1);      /* every one stops at 003_mala */
        total += rs[i].applied;
    }
    CU_ASSERT_EQUAL(total, 2);
    CU_ASSERT_EQUAL(it_sql_ll(c, "%s", "SELECT count(*) FROM schema_migrations"), 2);
    CU_ASSERT_EQUAL(it_sql_ll(c, "%s", "SELECT count(*) FROM t_dos"), 2);
    PQclear(PQexec(c, "DROP SCHEMA mig_b CASCADE"));
    PQfinish(c);
}

/* Runs bin/<prog> args with extra environment; returns the exit status and
 * the first part of its stderr in err. */
static int run_prog(const char *prog, const char *const *env, const char *arg1, char *err,
                    size_t errlen)
{
    const char *path = it_bin(prog);
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        dup2(fds[1], 1);
        close(fds[0]);
        for (int i = 0; env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        execl(path, prog, arg1, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while ((r = read(fds[0], err + got, errlen - 1 - got)) > 0 && got < errlen - 1)
        got += (size_t)r;
    err[got] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_foundation__bad_config_stops_programs(void)
{
    char err[4096];
    const char *conf = getenv("CHAT_CONFIG");
    const char *const e1[] = { "CHAT_CONFIG", conf, "CHAT_FCGI_WORKERS", "257", NULL };
    CU_ASSERT_EQUAL(run_prog("chat-fcgi", e1, NULL, err, sizeof(err)), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "fcgi_workers"));
    const char *const e2[] = { "CHAT_CONFIG", conf, "CHAT_JWT_ALG", "none", NULL };
    CU_ASSERT_EQUAL(run_prog("chat-cron", e2, "migrate", err, sizeof(err)), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "jwt_alg"));
    const char *const e3[] = { "CHAT_CONFIG", "/nonexistent/chat.conf", NULL };
    CU_ASSERT_EQUAL(run_prog("chat-cron", e3, "migrate", err, sizeof(err)), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/chat.conf"));
    const char *const e4[] = { "CHAT_CONFIG", conf, "CHAT_DB_CONNINFO",
                               "host=/nonexistent-dir dbname=chat", "CHAT_DB_CONNECT_RETRIES", "0",
                               NULL };
    CU_ASSERT_EQUAL(run_prog("chat-cron", e4, "migrate", err, sizeof(err)), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "db_conninfo"));
    const char *const e5[] = { "CHAT_CONFIG", conf, "CHAT_JWT_SECRET", "short", NULL };
    CU_ASSERT_EQUAL(run_prog("chat-cron", e5, "config-check", err, sizeof(err)), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "jwt_secret"));
    const char *const ok[] = { "CHAT_CONFIG", conf, NULL };
    CU_ASSERT_EQUAL(run_prog("chat-cron", ok, "config-check", err, sizeof(err)), 0);
}

int main(void)
{
    it_init();
    static const struct cu_test tests[] = {
        { "failed_migration_rolls_back", test_foundation__failed_migration_rolls_back },
        { "concurrent_starts_apply_once", test_foundation__concurrent_starts_apply_once },
        { "bad_config_stops_programs", test_foundation__bad_config_stops_programs },
        { NULL, NULL },
    };
    return cu_run("foundation", tests);
}
