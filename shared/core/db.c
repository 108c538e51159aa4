/* db.c: libpq wrapper: retry and reconnection, arena-owned results,
 * prepared statements, and pipelines that put a transaction's BEGIN, its
 * deferred statements and its COMMIT in the round trips it needs anyway. */
#include "core/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

struct db_deferred {
    const struct db_stmt *st;
    int n;
    const char **params;
    db_done_fn done;
    void *ctx;
};

static void db_notes_clear(struct db *d);
static void db_notes_flush(struct db *d);
static bool db_res_ok(const PGresult *r);

/* Timestamps leave the server in UTC so jsonx_ts can reformat them as
 * text without parsing zones. */
static void db_session_init(struct db *d)
{
    PQsetClientEncoding(d->conn, "UTF8");
    PQclear(PQexec(d->conn, "SET TimeZone = 'UTC'"));
    d->nprep = 0;     /* a new session knows no prepared statement */
    d->nstale = 0;
    d->dealloc_all = false;
}

struct db *db_open(const char *conninfo, int retries, char *why, unsigned whylen)
{
    struct db *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    d->conninfo = strdup(conninfo);
    for (int attempt = 0;; attempt++) {
        d->conn = PQconnectdb(conninfo);
        if (PQstatus(d->conn) == CONNECTION_OK)
            break;
        snprintf(why, whylen, "cannot connect to the database (db_conninfo): %s",
                 PQerrorMessage(d->conn));
        char *nl = strchr(why, '\n');
        if (nl)
            *nl = '\0';
        PQfinish(d->conn);
        d->conn = NULL;
        if (attempt >= retries) {
            free(d->conninfo);
            free(d);
            return NULL;
        }
        if (attempt == 0)
            log_warn("event=db_wait reason=\"%s\" retries=%d", why, retries);
        sleep(1);
    }
    db_session_init(d);
    return d;
}

void db_close(struct db *d)
{
    if (!d)
        return;
    if (d->conn)
        PQfinish(d->conn);
    db_notes_clear(d);
    free(d->notes);
    free(d->prep);
    free(d->defer);
    free(d->conninfo);
    free(d);
}

int db_ensure(struct db *d)
{
    if (PQstatus(d->conn) == CONNECTION_OK && !d->broken)
        return 0;
    if (d->depth && !d->begin_pending)
        return -1;
    PQreset(d->conn);
    d->broken = false;
    if (PQstatus(d->conn) != CONNECTION_OK) {
        log_warn("event=db_reset ok=0 reason=\"%s\"", PQerrorMessage(d->conn));
        return -1;
    }
    db_session_init(d);
    log_info("event=db_reset ok=1");
    return 0;
}

static void db_clear_hook(void *p)
{
    PQclear(p);
}

bool db_take_replanned(struct db *d)
{
    bool r = d->replanned;
    d->replanned = false;
    return r;
}

const char *db_last_sqlstate(const struct db *d)
{
    return d->sqlstate;
}

static int db_is_conflict(const char *state)
{
    return strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0 ||
           strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0;
}

/* ---- trace ------------------------------------------------------------- */

static long long db_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

void db_trace_start(struct db *d, bool on)
{
    memset(&d->trace, 0, sizeof(d->trace));
    d->trace.on = on;
}

static void db_trace_add(struct db *d, const char *label, long long us)
{
    struct db_trace *t = &d->trace;
    if (!t->on)
        return;
    if (t->n < DB_TRACE_MAX) {
        snprintf(t->label[t->n], sizeof(t->label[0]), "%s", label);
        t->us[t->n] = (int)us;
    }
    t->n++;
    t->total_us += us;
}

void db_trace_format(const struct db *d, char *buf, size_t len)
{
    size_t w = 0;
    buf[0] = '\0';
    const struct db_trace *t = &d->trace;
    for (int i = 0; i < t->n && i < DB_TRACE_MAX && w < len; i++) {
        int k = snprintf(buf + w, len - w, "%s%s:%.2f", i ? "," : "", t->label[i],
                         (double)t->us[i] / 1000.0);
        if (k < 0)
            break;
        w += (size_t)k;
    }
    if (t->n > DB_TRACE_MAX && w < len)
        snprintf(buf + w, len - w, ",+%d", t->n - DB_TRACE_MAX);
}

/* ---- prepared statements ----------------------------------------------- */

static bool db_is_prepared(const struct db *d, const struct db_stmt *st)
{
    for (size_t i = 0; i < d->nprep; i++)
        if (d->prep[i] == st)
            return true;
    return false;
}

/* Records st as prepared; -1 (logged) when another statement already holds
 * its name on this connection, or its name is not [a-z0-9_]. */
static int db_mark_prepared(struct db *d, const struct db_stmt *st)
{
    for (size_t i = 0; i < d->nprep; i++)
        if (strcmp(d->prep[i]->name, st->name) == 0) {
            log_error("event=db_error msg=\"two statements named %s\"", st->name);
            return -1;
        }
    if (d->nprep == d->capprep) {
        size_t cap = d->capprep ? d->capprep * 2 : 64;
        const struct db_stmt **p = realloc(d->prep, cap * sizeof(*p));
        if (!p)
            return -1;
        d->prep = p;
        d->capprep = cap;
    }
    d->prep[d->nprep++] = st;
    return 0;
}

static bool db_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n < 64 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Forgets st (NULL: every statement) so that its next use prepares it
 * again; a statement the server still holds is deallocated when the
 * connection is next idle. */
static void db_forget(struct db *d, const struct db_stmt *st, bool server_has_it)
{
    if (!st) {
        /* all of them: one DEALLOCATE ALL rather than a bounded list */
        if (server_has_it && d->nprep) {
            d->dealloc_all = true;
            d->nstale = 0;
        }
        d->nprep = 0;
        return;
    }
    for (size_t i = 0; i < d->nprep;) {
        if (st && d->prep[i] != st) {
            i++;
            continue;
        }
        if (server_has_it && d->nstale < (int)(sizeof(d->stale) / sizeof(d->stale[0])))
            d->stale[d->nstale++] = d->prep[i]->name;
        d->prep[i] = d->prep[--d->nprep];
    }
}

/* DEALLOCATE the statements forgotten while the server still had them
 * (only when no transaction is open). */
static void db_dealloc_stale(struct db *d)
{
    if ((!d->nstale && !d->dealloc_all) || PQtransactionStatus(d->conn) != PQTRANS_IDLE)
        return;
    if (d->dealloc_all) {
        PQclear(PQexec(d->conn, "DEALLOCATE ALL"));
        d->dealloc_all = false;
        d->nstale = 0;
        return;
    }
    for (int i = 0; i < d->nstale; i++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "DEALLOCATE %s", d->stale[i]);
        PQclear(PQexec(d->conn, sql));
    }
    d->nstale = 0;
}

/* ---- pipelines ----------------------------------------------------------- */

/* One statement of a pipeline: a registered one (st) or unnamed SQL. */
struct db_op {
    const struct db_stmt *st;
    const char *sql;
    int n;
    const char *const *params;
    const char *label;  /* in the trace, for unnamed SQL ("commit"...) */
    bool sync_after;    /* a sync point after it: what follows runs even if it fails */
    bool gate;          /* the request's check (db_gate) */
    bool prepare;       /* (set by db_pipe) a Parse went first */
    bool sent;          /* (set by db_pipe) the statement went out */
    PGresult *res;      /* its result (a failed Parse's when that failed), or NULL */
};

/* Sends ops as one pipeline (one round trip), preparing the registered
 * statements this connection does not have yet, and collects each one's
 * result; the caller checks each res. Leaves the connection out of
 * pipeline mode (or marked broken). */
static void db_pipe(struct db *d, struct db_op *ops, int nops, const char *label)
{
    PGconn *c = d->conn;
    long long t0 = db_now_us();
    for (int i = 0; i < nops; i++) {
        ops[i].res = NULL;
        ops[i].prepare = ops[i].sent = false;
    }
    if (!PQenterPipelineMode(c)) {
        d->broken = true;
        return;
    }
    bool send_ok = true;
    for (int i = 0; i < nops && send_ok; i++) {
        struct db_op *o = &ops[i];
        bool parse = o->st && !db_is_prepared(d, o->st);
        for (int j = 0; parse && j < i; j++)
            if (ops[j].prepare && ops[j].st == o->st)
                parse = false;  /* an earlier op of this pipeline prepares it */
        if (parse) {
            if (!db_name_ok(o->st->name)) {
                log_error("event=db_error msg=\"bad statement name %s\"", o->st->name);
                send_ok = false;
                break;
            }
            if (!PQsendPrepare(c, o->st->name, o->st->sql, o->n, NULL)) {
                send_ok = false;
                break;
            }
            o->prepare = true;
        }
        send_ok = o->st ? PQsendQueryPrepared(c, o->st->name, o->n, o->params, NULL, NULL, 0)
                        : PQsendQueryParams(c, o->sql, o->n, NULL, o->params, NULL, NULL, 0);
        if (!send_ok)
            break;
        o->sent = true;
        if (o->sync_after && i + 1 < nops && !PQpipelineSync(c))
            send_ok = false;
    }
    bool synced = PQpipelineSync(c) != 0;
    /* each Parse and each query has its results then a NULL; each sync
     * point one PGRES_PIPELINE_SYNC */
    for (int i = 0; i < nops; i++) {
        struct db_op *o = &ops[i];
        PGresult *r;
        if (o->prepare) {
            while ((r = PQgetResult(c)) != NULL) {
                if (PQresultStatus(r) == PGRES_COMMAND_OK || o->res) {
                    PQclear(r);
                } else {
                    o->res = r;     /* the Parse failed: that is the error */
                }
            }
            if (!o->res && db_mark_prepared(d, o->st) < 0)
                db_forget(d, NULL, true);
        }
        if (!o->sent)
            break;
        while ((r = PQgetResult(c)) != NULL) {
            if (o->prepare && o->res && !db_res_ok(o->res)) {
                PQclear(r);     /* skipped after the failed Parse */
                continue;
            }
            PQclear(o->res);
            o->res = r;
        }
        if (o->sync_after && i + 1 < nops)
            PQclear(PQgetResult(c));
    }
    if (synced && PQpipelineStatus(c) != PQ_PIPELINE_OFF)
        PQclear(PQgetResult(c));
    if (!PQexitPipelineMode(c) || !send_ok || !synced)
        d->broken = true;   /* results still pending or the send failed: start afresh */
    long long spent = db_now_us() - t0;
    d->wait_us += (unsigned long long)spent;
    if (d->trace.on)
        db_trace_add(d, label, spent);
}

static bool db_res_ok(const PGresult *r)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* The first op that failed for a reason of its own (not one skipped after
 * an earlier failure), else the first skipped, or -1 when all ran. */
static int db_first_failure(const struct db_op *ops, int nops)
{
    int skipped = -1;
    for (int i = 0; i < nops; i++) {
        if (db_res_ok(ops[i].res))
            continue;
        if (ops[i].res && PQresultStatus(ops[i].res) == PGRES_PIPELINE_ABORTED) {
            if (skipped < 0)
                skipped = i;
            continue;
        }
        return i;
    }
    return skipped;
}

static bool db_stale_plan(const PGresult *r, const char *state)
{
    if (strcmp(state, "26000") == 0)
        return true;    /* the server does not know the statement (any more) */
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    return strcmp(state, "0A000") == 0 && msg &&
           strstr(msg, "cached plan must not change result type") != NULL;
}

static void db_label(char *buf, size_t len, bool begin, const char *gate, const struct db *d,
                     const char *last)
{
    size_t w = 0;
    buf[0] = '\0';
    if (begin)
        w += (size_t)snprintf(buf, len, "begin");
    if (gate && w < len)
        w += (size_t)snprintf(buf + w, len - w, "%s%s", w ? "+" : "", gate);
    for (size_t i = 0; i < d->ndefer && w < len; i++)
        w += (size_t)snprintf(buf + w, len - w, "%s%s", w ? "+" : "", d->defer[i].st->name);
    if (last && w < len)
        snprintf(buf + w, len - w, "%s%s", w ? "+" : "", last);
}

static void db_defer_clear(struct db *d)
{
    for (size_t i = 0; i < d->ndefer; i++)
        free(d->defer[i].params);
    d->ndefer = 0;
}

#define DB_OPS_MAX 40

/* Runs the pending BEGIN, the queued check, the deferred statements, pre
 * (may be NULL) and then last as one round trip, retrying once on a fresh
 * connection (or after preparing afresh) while nothing of the transaction
 * has reached the server. Returns 0 with *out = last's result and, with
 * pre, *pre_out = pre's (the caller's to PQclear), or -1 with e. */
static int db_call_pre(struct db *d, struct db_op *pre, PGresult **pre_out, struct db_op *last,
                       PGresult **out, struct err *e)
{
    char *state = d->sqlstate;
    state[0] = '\0';
    *out = NULL;
    if (d->gate.failed) {
        /* the request's check refused it: nothing more reaches the server */
        snprintf(state, 6, "%s", d->gate.sqlstate);
        d->begin_pending = false;
        return err_set(e, ERR_INTERNAL, NULL);
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (db_ensure(d) < 0)
            return err_set(e, ERR_UNAVAILABLE, NULL);
        db_dealloc_stale(d);
        /* nothing of the transaction (or of this statement outside one)
         * has reached the server: safe to start again */
        bool fresh = !d->depth || d->begin_pending;
        struct db_op ops[DB_OPS_MAX];
        int nops = 0;
        bool begin = d->begin_pending;
        if (d->ndefer + 4 > DB_OPS_MAX) {
            log_error("event=db_error msg=\"too many deferred statements\"");
            return err_set(e, ERR_INTERNAL, NULL);
        }
        if (begin)
            ops[nops++] = (struct db_op){ .sql = "BEGIN" };
        int idx_gate = -1;
        if (d->gate.pending && !last->gate) {
            idx_gate = nops;
            ops[nops++] = (struct db_op){ .st = d->gate.st, .n = d->gate.n,
                                          .params = d->gate.params, .gate = true };
        }
        int first_defer = nops;
        for (size_t i = 0; i < d->ndefer; i++)
            ops[nops++] = (struct db_op){ .st = d->defer[i].st, .n = d->defer[i].n,
                                          .params = (const char *const *)d->defer[i].params };
        int idx_pre = -1;
        if (pre) {
            idx_pre = nops;
            ops[nops++] = *pre;
        }
        int idx_last = nops;
        ops[nops++] = *last;
        char label[48] = "";
        if (d->trace.on) {
            char tail[32];
            snprintf(tail, sizeof(tail), "%s%s%s", pre && pre->st ? pre->st->name : "",
                     pre && pre->st ? "+" : "",
                     last->st ? last->st->name : last->label ? last->label : "sql");
            db_label(label, sizeof(label), begin, idx_gate >= 0 ? d->gate.st->name : NULL, d, tail);
        }
        db_pipe(d, ops, nops, label);
        int bad = db_first_failure(ops, nops);
        if (idx_gate >= 0 && !d->broken && db_res_ok(ops[idx_gate].res))
            d->gate.pending = false;    /* it ran and passed */
        if (bad < 0 && !d->broken) {
            d->begin_pending = false;
            for (size_t i = 0; i < d->ndefer; i++)
                if (d->defer[i].done)
                    d->defer[i].done(d, ops[first_defer + (int)i].res, d->defer[i].ctx);
            db_defer_clear(d);
            for (int i = 0; i < nops; i++)
                if (i != idx_last && i != idx_pre)
                    PQclear(ops[i].res);
            *out = ops[idx_last].res;
            if (pre)
                *pre_out = ops[idx_pre].res;
            return 0;
        }
        PGresult *br = bad >= 0 ? ops[bad].res : NULL;
        const char *ss = br ? PQresultErrorField(br, PG_DIAG_SQLSTATE) : NULL;
        snprintf(state, 6, "%s", ss ? ss : "");
        bool lost = d->broken || PQstatus(d->conn) != CONNECTION_OK;
        const struct db_stmt *bst = bad >= 0 ? ops[bad].st : NULL;
        bool stale = !lost && bst && db_stale_plan(br, state);
        char msg[512];
        snprintf(msg, sizeof(msg), "%s",
                 br && PQresultErrorMessage(br)[0] ? PQresultErrorMessage(br)
                                                   : PQerrorMessage(d->conn));
        const char *what = bst ? bst->name : bad >= 0 && ops[bad].label ? ops[bad].label : "sql";
        if (!lost && bad >= 0 && ops[bad].gate && state[0] == 'C' && state[1] == 'H') {
            /* the check refused the request: a refusal, not a fault */
            const char *det = PQresultErrorField(br, PG_DIAG_MESSAGE_DETAIL);
            d->gate.pending = false;
            d->gate.failed = true;
            snprintf(d->gate.sqlstate, sizeof(d->gate.sqlstate), "%s", state);
            snprintf(d->gate.detail, sizeof(d->gate.detail), "%s", det ? det : "");
            for (int i = 0; i < nops; i++)
                PQclear(ops[i].res);
            d->begin_pending = false;
            log_info("event=db_gate sqlstate=%s stmt=%s", state, what);
            return err_set(e, ERR_INTERNAL, NULL);
        }
        for (int i = 0; i < nops; i++)
            PQclear(ops[i].res);
        if (stale) {
            /* a statement the server forgot means it forgot them all (a
             * new session, a pooler's DISCARD); a result type changed by a
             * migration usually touches other statements on the same
             * table: prepare everything afresh either way */
            bool gone = strcmp(state, "26000") == 0;
            db_forget(d, NULL, !gone);
        }
        if (lost || stale) {
            if (fresh && attempt == 0) {
                if (!lost && PQtransactionStatus(d->conn) != PQTRANS_IDLE)
                    PQclear(PQexec(d->conn, "ROLLBACK"));
                log_info("event=db_retry stmt=%s reason=%s", what, lost ? "reconnect" : "replan");
                continue;
            }
            if (d->depth && lost)
                d->broken = true;
            if (stale)
                d->replanned = true;
            d->begin_pending = false;
            log_warn("event=db_unavailable stmt=%s reason=%s", what, lost ? "connection" : "replan");
            return err_set(e, ERR_UNAVAILABLE, NULL);
        }
        d->begin_pending = false;
        if (db_is_conflict(state)) {
            log_info("event=db_conflict sqlstate=%s stmt=%s", state, what);
            err_set(e, ERR_CONFLICT, NULL);
        } else {
            log_error("event=db_error sqlstate=%s stmt=%s msg=\"%s\"", state, what, msg);
            err_set(e, ERR_INTERNAL, NULL);
        }
        return -1;
    }
    d->begin_pending = false;
    return err_set(e, ERR_UNAVAILABLE, NULL);
}

static int db_call(struct db *d, struct db_op *last, PGresult **out, struct err *e)
{
    return db_call_pre(d, NULL, NULL, last, out, e);
}

PGresult *db_exec(struct db *d, struct arena *a, const char *sql, int n,
                  const char *const *params, struct err *e)
{
    struct db_op op = { .sql = sql, .n = n, .params = params };
    PGresult *r;
    if (db_call(d, &op, &r, e) < 0)
        return NULL;
    arena_defer(a, db_clear_hook, r);
    return r;
}

PGresult *db_run(struct db *d, struct arena *a, const struct db_stmt *st, int n,
                 const char *const *params, struct err *e)
{
    struct db_op op = { .st = st, .n = n, .params = params };
    PGresult *r;
    if (db_call(d, &op, &r, e) < 0)
        return NULL;
    arena_defer(a, db_clear_hook, r);
    return r;
}

int db_defer(struct db *d, struct arena *a, const struct db_stmt *st, int n,
             const char *const *params, db_done_fn done, void *ctx, struct err *e)
{
    (void)a;
    if (d->ndefer == d->capdefer) {
        size_t cap = d->capdefer ? d->capdefer * 2 : 8;
        struct db_deferred *p = realloc(d->defer, cap * sizeof(*p));
        if (!p)
            return err_set(e, ERR_INTERNAL, NULL);
        d->defer = p;
        d->capdefer = cap;
    }
    const char **pp = malloc(sizeof(*pp) * (size_t)(n ? n : 1));
    if (!pp)
        return err_set(e, ERR_INTERNAL, NULL);
    for (int i = 0; i < n; i++)
        pp[i] = params[i];
    d->defer[d->ndefer++] = (struct db_deferred){ st, n, pp, done, ctx };
    return 0;
}

int db_gate(struct db *d, const struct db_stmt *st, int n, const char *const *params,
            struct err *e)
{
    if (n < 0 || n > (int)(sizeof(d->gate.params) / sizeof(d->gate.params[0]))) {
        log_error("event=db_error msg=\"check %s: %d parameters\"", st->name, n);
        return err_set(e, ERR_INTERNAL, NULL);
    }
    d->gate = (struct db_gate){ .st = st, .n = n, .pending = true };
    for (int i = 0; i < n; i++)
        d->gate.params[i] = params[i];
    return 0;
}

int db_gate_flush(struct db *d, struct err *e)
{
    if (d->gate.failed)
        return -1;
    if (!d->gate.pending)
        return 0;
    /* the check goes with the first statement, so a transaction still
     * holding it has sent nothing: dropping it loses nothing */
    db_rollback(d);
    struct db_op op = { .st = d->gate.st, .n = d->gate.n, .params = d->gate.params,
                        .gate = true };
    PGresult *r;
    int ret = db_call(d, &op, &r, e);
    if (ret == 0) {
        d->gate.pending = false;
        PQclear(r);
    }
    return ret;
}

const struct db_gate *db_gate_failed(const struct db *d)
{
    return d->gate.failed ? &d->gate : NULL;
}

void db_gate_reset(struct db *d)
{
    d->gate = (struct db_gate){ 0 };
}

int db_begin(struct db *d, struct err *e)
{
    if (d->depth) {
        log_error("event=db_error msg=\"nested transaction\"");
        return err_set(e, ERR_INTERNAL, NULL);
    }
    /* nothing is sent: the BEGIN goes with the first statement, and a
     * connection the server dropped is reset and the pair tried again */
    d->depth = 1;
    d->begin_pending = true;
    return 0;
}

static void db_notes_clear(struct db *d)
{
    for (size_t i = 0; i < d->nnotes; i++)
        free(d->notes[i]);
    d->nnotes = 0;
}

void db_notify_after_commit(struct db *d, const char *payload)
{
    if (d->nnotes == d->capnotes) {
        size_t cap = d->capnotes ? d->capnotes * 2 : 8;
        char **n = realloc(d->notes, cap * sizeof(*n));
        if (!n)
            return;     /* the listeners' timer read delivers it anyway */
        d->notes = n;
        d->capnotes = cap;
    }
    char *p = strdup(payload);
    if (p)
        d->notes[d->nnotes++] = p;
    if (!d->depth && !d->hold_wake)
        db_notes_flush(d);
}

/* The NOTIFYs of a wake-up, prepared like the hot statements (it runs
 * after every write). */
static const struct db_stmt db_st_notify = {
    "db_notify", "SELECT pg_notify('chat_eventos', x) FROM unnest($1::text[]) x"
};

/* The wake-up transaction in one round trip: BEGIN, SET LOCAL
 * synchronous_commit = off, the pg_notify()s and COMMIT go out together as
 * a libpq pipeline. Returns 0, or -1 with nothing left open. */
static int db_notes_send(struct db *d, const char *arr)
{
    const char *params[1] = { arr };
    struct db_op ops[4] = {
        { .sql = "BEGIN" },
        { .sql = "SET LOCAL synchronous_commit = off" },
        { .st = &db_st_notify, .n = 1, .params = params },
        { .sql = "COMMIT" },
    };
    long long t0 = db_now_us();
    bool on = d->trace.on;
    d->trace.on = false;
    db_pipe(d, ops, 4, "wake");
    d->trace.on = on;
    if (on) {
        long long us = db_now_us() - t0;
        db_trace_add(d, "wake", us);
        d->trace.wake_us += us;
    }
    bool ok = !d->broken;
    for (int i = 0; i < 4; i++) {
        if (!db_res_ok(ops[i].res))
            ok = false;
        PQclear(ops[i].res);
    }
    if (d->broken || PQstatus(d->conn) != CONNECTION_OK) {
        d->broken = true;
        return -1;
    }
    if (PQtransactionStatus(d->conn) != PQTRANS_IDLE)
        PQclear(PQexec(d->conn, "ROLLBACK"));
    return ok ? 0 : -1;
}

static void db_notes_flush(struct db *d)
{
    if (!d->nnotes)
        return;
    if (d->broken || PQstatus(d->conn) != CONNECTION_OK) {
        db_notes_clear(d);  /* the listeners' timer read delivers them */
        return;
    }
    /* a text[] literal of the payloads: each quoted, with \ and " escaped */
    size_t len = 3;
    for (size_t i = 0; i < d->nnotes; i++)
        len += strlen(d->notes[i]) * 2 + 3;
    char *arr = malloc(len), *w = arr;
    if (!arr) {
        db_notes_clear(d);
        return;
    }
    *w++ = '{';
    for (size_t i = 0; i < d->nnotes; i++) {
        if (i)
            *w++ = ',';
        *w++ = '"';
        for (const char *p = d->notes[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                *w++ = '\\';
            *w++ = *p;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    int ok = db_notes_send(d, arr) == 0;
    if (!ok)
        log_warn("event=notify_failed count=%zu msg=\"%s\"", d->nnotes, PQerrorMessage(d->conn));
    free(arr);
    db_notes_clear(d);
}

void db_wake_flush(struct db *d)
{
    if (!d->depth)
        db_notes_flush(d);
}

/* db_commit, with pre (may be NULL) run just before the COMMIT in the same
 * round trip; *pre_out its result when the commit succeeded. */
static int db_commit_pre(struct db *d, struct db_op *pre, PGresult **pre_out, struct err *e)
{
    if (!d->depth) {
        log_error("event=db_error msg=\"commit without a transaction\"");
        return err_set(e, ERR_INTERNAL, NULL);
    }
    if (d->begin_pending && !d->ndefer) {
        /* nothing was sent: nothing to commit */
        d->begin_pending = false;
        d->depth = 0;
        db_notes_clear(d);
        return pre ? db_call(d, pre, pre_out, e) : 0;
    }
    long long t0 = d->trace.on ? db_now_us() : 0;
    struct db_op commit = { .sql = "COMMIT", .label = "commit" };
    PGresult *r;
    PGresult *pr = NULL;
    int ret = db_call_pre(d, pre, &pr, &commit, &r, e);
    /* COMMIT of a transaction that failed earlier answers ROLLBACK */
    if (ret == 0 && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        log_error("event=db_error msg=\"commit answered %s\"", PQcmdStatus(r));
        ret = err_set(e, ERR_INTERNAL, NULL);
    }
    PQclear(r);
    if (ret == 0)
        d->commits++;
    if (pre && ret == 0)
        *pre_out = pr;
    else
        PQclear(pr);
    if (d->trace.on)
        d->trace.commit_us += db_now_us() - t0;
    if (ret < 0 && PQstatus(d->conn) == CONNECTION_OK &&
        PQtransactionStatus(d->conn) != PQTRANS_IDLE) {
        PGresult *rb = PQexec(d->conn, "ROLLBACK");
        if (!rb || PQresultStatus(rb) != PGRES_COMMAND_OK)
            d->broken = true;
        PQclear(rb);
    }
    d->depth = 0;
    d->begin_pending = false;
    db_defer_clear(d);
    if (ret < 0) {
        db_notes_clear(d);
        return -1;
    }
    if (!d->hold_wake)
        db_notes_flush(d);
    return 0;
}

int db_commit(struct db *d, struct err *e)
{
    return db_commit_pre(d, NULL, NULL, e);
}

PGresult *db_commit_read(struct db *d, struct arena *a, const struct db_stmt *st, int n,
                         const char *const *params, struct err *e)
{
    struct db_op op = { .st = st, .n = n, .params = params };
    PGresult *r = NULL;
    if (db_commit_pre(d, &op, &r, e) < 0)
        return NULL;
    arena_defer(a, db_clear_hook, r);
    return r;
}

void db_rollback(struct db *d)
{
    if (!d->depth) {
        db_defer_clear(d);  /* reads queued outside a transaction */
        return;
    }
    if (!d->begin_pending && PQstatus(d->conn) == CONNECTION_OK && !d->broken) {
        PGresult *r = PQexec(d->conn, "ROLLBACK");
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
            d->broken = true;
        PQclear(r);
    }
    d->depth = 0;
    d->begin_pending = false;
    db_defer_clear(d);
    db_notes_clear(d);
    if (!d->broken && PQstatus(d->conn) == CONNECTION_OK)
        db_dealloc_stale(d);
}

const char *db_get(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return PQgetvalue(r, row, col);
}

long long db_get_ll(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool db_get_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

const char *db_ll(struct arena *a, long long v)
{
    return arena_printf(a, "%lld", v);
}

const char *db_ll_array(struct arena *a, const long long *ids, size_t n)
{
    size_t cap = 3 + n * 21;
    char *s = arena_alloc(a, cap), *w = s;
    *w++ = '{';
    for (size_t i = 0; i < n; i++)
        w += snprintf(w, cap - (size_t)(w - s), "%s%lld", i ? "," : "", ids[i]);
    *w++ = '}';
    *w = '\0';
    return s;
}
