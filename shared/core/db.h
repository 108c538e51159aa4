/* db.h: one libpq connection: connect with retry, parameterized queries,
 * transactions, and reconnection after the server restarts. */
#ifndef CHAT_DB_H
#define CHAT_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/arena.h"
#include "core/err.h"

struct db {
    PGconn *conn;
    char *conninfo;
    int depth;          /* open transaction (1) or not (0) */
    bool broken;        /* the connection failed inside a transaction */
    char sqlstate[6];   /* of the last failed statement */
    char **notes;       /* NOTIFY payloads queued for after the commit */
    size_t nnotes, capnotes;
    unsigned long long wait_us; /* time spent waiting for the server, ever
                                   (for metrics: callers take differences) */
};

/* Connects to conninfo, retrying once a second up to retries times (0: one
 * try). Returns a new handle, or NULL with why (the server's message).
 * Free with db_close. */
struct db *db_open(const char *conninfo, int retries, char *why, unsigned whylen);

/* Closes the connection and frees d; NULL is accepted. */
void db_close(struct db *d);

/* Makes sure the connection is usable (resets it when the server went away
 * and no transaction is open). Returns 0, or -1 when the server is still
 * unreachable. */
int db_ensure(struct db *d);

/* Runs sql with n text parameters (NULL entries are SQL NULL). Returns the
 * result (PGRES_COMMAND_OK or PGRES_TUPLES_OK) registered for PQclear at the
 * arena's reset, or NULL after logging the server's error; then e is set to
 * ERR_CONFLICT for unique/exclusion/serialization failures, ERR_UNAVAILABLE
 * when the connection is lost, ERR_INTERNAL otherwise. Outside a
 * transaction a lost connection is reset and the statement retried once. */
PGresult *db_exec(struct db *d, struct arena *a, const char *sql, int n,
                  const char *const *params, struct err *e);

/* The SQLSTATE of the last failed db_exec ("" if none). */
const char *db_last_sqlstate(const struct db *d);

/* Transactions. db_begin opens one (READ COMMITTED); db_commit commits it;
 * db_rollback rolls back and never fails (a lost connection is marked for
 * reset). Each returns 0 or -1 with e. */
int db_begin(struct db *d, struct err *e);
int db_commit(struct db *d, struct err *e);
void db_rollback(struct db *d);

/* Queues a NOTIFY on channel chat_eventos with payload (copied) to be sent
 * after the current transaction commits, in a short transaction of its own
 * with synchronous_commit off: a NOTIFY inside the durable transaction would
 * serialise commits. Discarded on rollback. Listeners also poll, so a lost
 * wake-up only delays. */
void db_notify_after_commit(struct db *d, const char *payload);

/* Value helpers for a result row: NULL when the field is SQL NULL. */
const char *db_get(const PGresult *r, int row, int col);
long long db_get_ll(const PGresult *r, int row, int col);
bool db_get_bool(const PGresult *r, int row, int col);

/* Formats v as decimal text in the arena, for use as a parameter. */
const char *db_ll(struct arena *a, long long v);

/* The PostgreSQL bigint[] text of n ids ("{1,2,3}", "{}" for none), in the
 * arena, for use as a parameter ($1::bigint[]). */
const char *db_ll_array(struct arena *a, const long long *ids, size_t n);

#endif
