/* migrate.c: applies the compiled-in migrations under an advisory lock. */
#include "core/migrate.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

/* Any constant works as long as every program uses the same one. */
#define MIGRATE_LOCK_KEY "7263686174" /* "chat" */

static const char migrate_sql_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " name text PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

static int migrate_cmd(PGconn *conn, const char *sql, char *why, unsigned whylen,
                       const char *what)
{
    PGresult *r = PQexec(conn, sql);
    int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK ||
                   PQresultStatus(r) == PGRES_TUPLES_OK);
    if (!ok) {
        snprintf(why, whylen, "%s: %s", what, PQerrorMessage(conn));
        char *nl;
        while ((nl = strchr(why, '\n')))
            *nl = ' ';
    }
    PQclear(r);
    return ok ? 0 : -1;
}

static int migrate_is_applied(PGconn *conn, const char *name, int *applied)
{
    const char *params[1] = { name };
    PGresult *r = PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE name = $1",
                               1, NULL, params, NULL, NULL, 0);
    int ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    if (ok)
        *applied = PQntuples(r) > 0;
    PQclear(r);
    return ok ? 0 : -1;
}

int migrate_apply(PGconn *conn, int *applied, char *why, unsigned whylen)
{
    int ret = -1, count = 0;
    if (migrate_cmd(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", why, whylen,
                    "migration lock") < 0)
        return -1;
    /* a concurrent first start may race on CREATE TABLE: the lock orders it */
    if (migrate_cmd(conn, migrate_sql_table, why, whylen, "schema_migrations") < 0)
        goto cleanup;
    for (const struct migration *m = migrations; m->name; m++) {
        int done = 0;
        if (migrate_is_applied(conn, m->name, &done) < 0) {
            snprintf(why, whylen, "migration %s: cannot read schema_migrations: %s", m->name,
                     PQerrorMessage(conn));
            goto cleanup;
        }
        if (done)
            continue;
        char what[160];
        snprintf(what, sizeof(what), "migration %s failed and was rolled back", m->name);
        if (migrate_cmd(conn, "BEGIN", why, whylen, what) < 0)
            goto cleanup;
        if (migrate_cmd(conn, m->sql, why, whylen, what) < 0) {
            PQclear(PQexec(conn, "ROLLBACK"));
            goto cleanup;
        }
        const char *params[1] = { m->name };
        PGresult *r = PQexecParams(conn, "INSERT INTO schema_migrations (name) VALUES ($1)", 1,
                                   NULL, params, NULL, NULL, 0);
        int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok || migrate_cmd(conn, "COMMIT", why, whylen, what) < 0) {
            if (!ok)
                snprintf(why, whylen, "%s: %s", what, PQerrorMessage(conn));
            PQclear(PQexec(conn, "ROLLBACK"));
            goto cleanup;
        }
        log_info("event=migration_applied name=%s", m->name);
        count++;
    }
    ret = 0;
cleanup:
    PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    if (applied)
        *applied = count;
    return ret;
}

int migrate_current(PGconn *conn, char *out, unsigned outlen)
{
    PGresult *r = PQexec(conn, "SELECT max(name) FROM schema_migrations");
    int ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    if (ok)
        snprintf(out, outlen, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return ok ? 0 : -1;
}
