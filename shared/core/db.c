/* db.c: libpq wrapper with retry, arena-owned results and reconnection. */
#include "core/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

static void db_notes_clear(struct db *d);

static unsigned long long db_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000ULL + (unsigned long long)t.tv_nsec / 1000;
}

static void db_notes_flush(struct db *d);

/* Timestamps leave the server in UTC so jsonx_ts can reformat them as
 * text without parsing zones. */
static void db_session_init(struct db *d)
{
    PQsetClientEncoding(d->conn, "UTF8");
    PQclear(PQexec(d->conn, "SET TimeZone = 'UTC'"));
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
    free(d->conninfo);
    free(d);
}

int db_ensure(struct db *d)
{
    if (PQstatus(d->conn) == CONNECTION_OK && !d->broken)
        return 0;
    if (d->depth)
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

const char *db_last_sqlstate(const struct db *d)
{
    return d->sqlstate;
}

static int db_is_conflict(const char *state)
{
    return strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0 ||
           strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0;
}

PGresult *db_exec(struct db *d, struct arena *a, const char *sql, int n,
                  const char *const *params, struct err *e)
{
    char *state = d->sqlstate;
    state[0] = '\0';
    for (int attempt = 0; attempt < 2; attempt++) {
        if (db_ensure(d) < 0) {
            err_set(e, ERR_UNAVAILABLE, NULL);
            return NULL;
        }
        unsigned long long t0 = db_now_us();
        PGresult *r = PQexecParams(d->conn, sql, n, NULL, params, NULL, NULL, 0);
        d->wait_us += db_now_us() - t0;
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            arena_defer(a, db_clear_hook, r);
            return r;
        }
        const char *ss = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        snprintf(state, 6, "%s", ss ? ss : "");
        if (PQstatus(d->conn) != CONNECTION_OK) {
            PQclear(r);
            if (d->depth) {
                d->broken = true;
                err_set(e, ERR_UNAVAILABLE, NULL);
                return NULL;
            }
            continue;   /* reset and retry once outside a transaction */
        }
        if (db_is_conflict(state)) {
            log_info("event=db_conflict sqlstate=%s", state);
            err_set(e, ERR_CONFLICT, NULL);
        } else {
            log_error("event=db_error sqlstate=%s msg=\"%s\"", state,
                      r ? PQresultErrorMessage(r) : PQerrorMessage(d->conn));
            err_set(e, ERR_INTERNAL, NULL);
        }
        PQclear(r);
        return NULL;
    }
    err_set(e, ERR_UNAVAILABLE, NULL);
    return NULL;
}

static int db_simple(struct db *d, const char *sql, struct err *e)
{
    unsigned long long t0 = db_now_us();
    PGresult *r = PQexec(d->conn, sql);
    d->wait_us += db_now_us() - t0;
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        if (PQstatus(d->conn) != CONNECTION_OK)
            d->broken = true;
        log_error("event=db_error sql=\"%s\" msg=\"%s\"", sql, PQerrorMessage(d->conn));
        const char *ss = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        err_set(e, ss && db_is_conflict(ss) ? ERR_CONFLICT
                   : d->broken ? ERR_UNAVAILABLE : ERR_INTERNAL, NULL);
    }
    PQclear(r);
    return ok ? 0 : -1;
}

int db_begin(struct db *d, struct err *e)
{
    if (d->depth) {
        log_error("event=db_error msg=\"nested transaction\"");
        return err_set(e, ERR_INTERNAL, NULL);
    }
    /* a server restart shows only when the connection is used: a BEGIN
     * that finds it gone resets it and tries once more (nothing was
     * done yet) */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (db_ensure(d) < 0)
            return err_set(e, ERR_UNAVAILABLE, NULL);
        if (db_simple(d, "BEGIN", e) == 0) {
            d->depth = 1;
            return 0;
        }
        if (PQstatus(d->conn) == CONNECTION_OK)
            return -1;
        d->broken = true;
    }
    return -1;
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
    if (!d->depth)
        db_notes_flush(d);
}

/* Sends the queued wake-ups; failures are logged only (eventos is the truth). */
/* The wake-up transaction in one round trip: BEGIN, SET LOCAL
 * synchronous_commit = off, the pg_notify()s and COMMIT go out together as
 * a libpq pipeline. Returns 0, or -1 with nothing left open. */
static int db_notes_send(struct db *d, const char *arr)
{
    static const char *const sql[4] = {
        "BEGIN", "SET LOCAL synchronous_commit = off",
        "SELECT pg_notify('chat_eventos', x) FROM unnest($1::text[]) x", "COMMIT",
    };
    PGconn *c = d->conn;
    const char *params[1] = { arr };
    if (!PQenterPipelineMode(c))
        return -1;
    int sent = 0;
    while (sent < 4 && PQsendQueryParams(c, sql[sent], sent == 2 ? 1 : 0, NULL,
                                         sent == 2 ? params : NULL, NULL, NULL, 0))
        sent++;
    bool ok = sent == 4 && PQpipelineSync(c);
    /* every query sent has its results then a NULL; then the sync result */
    for (int i = 0; i < sent; i++) {
        PGresult *r;
        while ((r = PQgetResult(c)) != NULL) {
            ExecStatusType st = PQresultStatus(r);
            if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
                ok = false;
            PQclear(r);
        }
    }
    if (sent == 4 && PQpipelineStatus(c) != PQ_PIPELINE_OFF) {
        PGresult *r = PQgetResult(c);
        if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC)
            ok = false;
        PQclear(r);
    }
    if (!PQexitPipelineMode(c)) {
        d->broken = true;   /* results still pending: start afresh */
        return -1;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        d->broken = true;
        return -1;
    }
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    return ok ? 0 : -1;
}

static void db_notes_flush(struct db *d)
{
    if (!d->nnotes)
        return;
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
    unsigned long long t0 = db_now_us();
    int ok = db_notes_send(d, arr) == 0;
    d->wait_us += db_now_us() - t0;
    if (!ok)
        log_warn("event=notify_failed count=%zu msg=\"%s\"", d->nnotes, PQerrorMessage(d->conn));
    free(arr);
    db_notes_clear(d);
}

int db_commit(struct db *d, struct err *e)
{
    int ret = db_simple(d, "COMMIT", e);
    d->depth = 0;
    if (ret == 0)
        db_notes_flush(d);
    else
        db_notes_clear(d);
    return ret;
}

void db_rollback(struct db *d)
{
    if (!d->depth)
        return;
    if (PQstatus(d->conn) == CONNECTION_OK && !d->broken) {
        PGresult *r = PQexec(d->conn, "ROLLBACK");
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
            d->broken = true;
        PQclear(r);
    }
    d->depth = 0;
    db_notes_clear(d);
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
