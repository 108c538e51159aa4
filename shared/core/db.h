/* db.h: one libpq connection: connect with retry, parameterized queries,
 * prepared statements, transactions sent with their first statement,
 * statements deferred to the commit, a per-request round-trip trace, and
 * reconnection after the server restarts. */
#ifndef CHAT_DB_H
#define CHAT_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/arena.h"
#include "core/err.h"

/* A statement run often: prepared on a connection the first time it is
 * used there (server-side name = name), then executed by name, so
 * PostgreSQL parses and plans it once per connection instead of once per
 * call. Declare each one as a static const object next to its SQL; name is
 * unique in the program, [a-z0-9_], at most 63 bytes. */
struct db_stmt {
    const char *name;
    const char *sql;
};

#define DB_TRACE_MAX 16

/* What one request spent in the database: each round trip (its label:
 * the statement names sent together, "begin", "commit", "wake"...) and how
 * long it took. Filled only while on is true. */
struct db_trace {
    bool on;
    int n;                          /* round trips (may exceed DB_TRACE_MAX) */
    long long total_us;             /* all round trips */
    long long commit_us;            /* the round trips that carried a COMMIT */
    long long wake_us;              /* the post-commit wake-up */
    char label[DB_TRACE_MAX][48];
    int us[DB_TRACE_MAX];
};

struct db_deferred;

/* A check queued by db_gate: one statement that raises an error (SQLSTATE
 * class CH, sql/021_entrada.sql) when the request must not go on. */
struct db_gate {
    const struct db_stmt *st;
    int n;
    const char *params[12];
    bool pending;           /* queued, not answered yet */
    bool failed;            /* it raised: nothing more is sent */
    char sqlstate[6];       /* what it raised */
    char detail[64];        /* its DETAIL ("" if none) */
};

struct db {
    PGconn *conn;
    char *conninfo;
    int depth;          /* open transaction (1) or not (0) */
    bool begin_pending; /* BEGIN not sent yet: it goes with the first statement */
    bool broken;        /* the connection failed inside a transaction */
    bool hold_wake;     /* wake-ups wait for db_wake_flush instead of going at commit */
    char sqlstate[6];   /* of the last failed statement */
    char **notes;       /* NOTIFY payloads queued for after the commit */
    size_t nnotes, capnotes;
    const struct db_stmt **prep;    /* prepared on this connection */
    size_t nprep, capprep;
    const char *stale[8];           /* prepared names to DEALLOCATE when idle */
    int nstale;
    bool dealloc_all;               /* DEALLOCATE ALL when idle (overrides stale) */
    unsigned long commits;          /* transactions committed, ever */
    bool replanned;                 /* a plan went stale inside a transaction
                                       that had done work (db_take_replanned) */
    struct db_deferred *defer;      /* statements queued by db_defer */
    size_t ndefer, capdefer;
    struct db_gate gate;            /* the request's check (db_gate) */
    struct db_trace trace;
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
 * and no transaction is open; statements are prepared again on the new
 * session as they are used). Returns 0, or -1 when the server is still
 * unreachable. */
int db_ensure(struct db *d);

/* Runs sql with n text parameters (NULL entries are SQL NULL) as an
 * unnamed statement (parsed and planned at every call: for statements run
 * rarely). Returns the result (PGRES_COMMAND_OK or PGRES_TUPLES_OK)
 * registered for PQclear at the arena's reset, or NULL after logging the
 * server's error; then e is set to ERR_CONFLICT for unique/exclusion/
 * serialization failures, ERR_UNAVAILABLE when the connection is lost,
 * ERR_INTERNAL otherwise. When nothing of a transaction has reached the
 * server yet (outside one, or its first statement), a lost connection is
 * reset and the statement retried once. Statements queued by db_defer and a
 * pending BEGIN go out in the same round trip, before sql. */
PGresult *db_exec(struct db *d, struct arena *a, const char *sql, int n,
                  const char *const *params, struct err *e);

/* As db_exec, for a registered statement: prepared on this connection the
 * first time (in the same round trip), executed by name after. A statement
 * the server no longer knows (after a reconnect, or a pooler's DISCARD) or
 * whose plan changed result type under a migration ("cached plan must not
 * change result type") is prepared again and, when nothing of the
 * transaction has reached the server yet, retried at once; inside a
 * transaction that already did work the call fails with ERR_UNAVAILABLE and
 * the next use prepares it afresh. */
PGresult *db_run(struct db *d, struct arena *a, const struct db_stmt *st, int n,
                 const char *const *params, struct err *e);

/* True (once) when the last failure was a statement whose plan went stale
 * (a migration changed a result type, or the server forgot it) inside a
 * transaction that had already done work: the transaction is lost, every
 * statement will be prepared afresh, and running the whole transaction
 * again is expected to succeed. Cleared by the call. */
bool db_take_replanned(struct db *d);

/* Called by db_defer with the statement's result (tuples or command ok). */
typedef void (*db_done_fn)(struct db *d, const PGresult *r, void *ctx);

/* Queues a statement whose result the caller does not need yet: it is
 * sent in the same round trip as the next db_exec/db_run or the COMMIT
 * (ahead of it, in order), and done (may be NULL) is called with its result
 * then. A failure of it is the failure of that later call (a transaction is
 * rolled back as usual). Inside a transaction: a write that must commit
 * with it. Outside one: a read sent along with the next statement (the
 * caller must run one; a rollback or the next transaction's end discards
 * what is queued). params (the array is copied), their strings and ctx
 * must stay valid until then. Returns 0, or -1 with e (out of memory). */
int db_defer(struct db *d, struct arena *a, const struct db_stmt *st, int n,
             const char *const *params, db_done_fn done, void *ctx, struct err *e);

/* Queues a check that must pass before the request does anything: it goes
 * out at the head of the next round trip (after a pending BEGIN, before
 * the deferred statements and the statement run), so it costs no round
 * trip of its own. st must raise an error when the check fails; PostgreSQL
 * then skips what follows it in that round trip (a transaction is aborted,
 * statements outside one are one implicit transaction), the call that
 * carried it fails, and every later call fails at once without reaching
 * the server until db_gate_reset: whatever the caller does with the
 * failure, nothing runs after a failed check. A check that passes inside a
 * transaction that is rolled back is undone with it. params (at most 12;
 * the array is copied, the strings must outlive the request) stay queued
 * across db_rollback. Returns 0, or -1 with e (too many parameters). */
int db_gate(struct db *d, const struct db_stmt *st, int n, const char *const *params,
            struct err *e);

/* Sends a check still queued, alone (rolling back a transaction whose
 * statements never reached the server; call it before anything of the
 * request committed). Returns 0 when none was queued or it passed; -1 when
 * it failed (db_gate_failed tells how) or the server could not be reached
 * (e set). */
int db_gate_flush(struct db *d, struct err *e);

/* The check raised: its SQLSTATE and DETAIL, else NULL. */
const struct db_gate *db_gate_failed(const struct db *d);

/* Forgets the check, passed, failed or queued (at the start of a request). */
void db_gate_reset(struct db *d);

/* The SQLSTATE of the last failed statement ("" if none). */
const char *db_last_sqlstate(const struct db *d);

/* Transactions. db_begin opens one (READ COMMITTED): the BEGIN goes with
 * the transaction's first statement, so it costs no round trip of its own.
 * db_commit sends the deferred statements and COMMIT together; db_rollback
 * rolls back and never fails (a lost connection is marked for reset). Each
 * returns 0 or -1 with e. */
int db_begin(struct db *d, struct err *e);
int db_commit(struct db *d, struct err *e);
void db_rollback(struct db *d);

/* db_commit with st run just before the COMMIT, in the same round trip: a
 * read of what the transaction wrote, for the answer, without a round trip
 * after the commit. Its result (registered in a) is returned only when the
 * COMMIT succeeded; NULL with e otherwise (rolled back as db_commit does). */
PGresult *db_commit_read(struct db *d, struct arena *a, const struct db_stmt *st, int n,
                         const char *const *params, struct err *e);

/* Queues a NOTIFY on channel chat_eventos with payload (copied) to be sent
 * after the current transaction commits, in a short transaction of its own
 * with synchronous_commit off: a NOTIFY inside the durable transaction would
 * serialise commits. Discarded on rollback. Listeners also poll, so a lost
 * wake-up only delays. Sent at the commit, or, with hold_wake set, at
 * db_wake_flush (chat-fcgi sends it once the response is written). */
void db_notify_after_commit(struct db *d, const char *payload);

/* Sends the queued wake-ups of committed transactions now (one round
 * trip); nothing when none is queued. Failures are logged only. */
void db_wake_flush(struct db *d);

/* Starts (clears and switches on) or stops the round-trip trace. */
void db_trace_start(struct db *d, bool on);

/* Writes the trace as "label:ms,label:ms..." into buf (always terminated). */
void db_trace_format(const struct db *d, char *buf, size_t len);

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
