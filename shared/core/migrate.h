/* migrate.h: the schema migrations compiled in from sql/, and applying them. */
#ifndef CHAT_MIGRATE_H
#define CHAT_MIGRATE_H

#include <libpq-fe.h>

struct migration {
    const char *name;   /* "001_schema": the file name without .sql */
    const char *sql;
};

/* Every migration in order, terminated by a NULL name (generated). */
extern const struct migration migrations[];

/* Applies the pending migrations on conn, each in its own transaction under
 * a session advisory lock, recording it in schema_migrations. On a failure
 * the migration is rolled back and -1 returned with why naming it and the
 * server's message. *applied (may be NULL) counts what was applied. */
int migrate_apply(PGconn *conn, int *applied, char *why, unsigned whylen);

/* The name of the newest applied migration into out (or "" when none);
 * returns 0 or -1. */
int migrate_current(PGconn *conn, char *out, unsigned outlen);

#endif
