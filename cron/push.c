/* push.c: `chat-cron push`: sends the push queue (queue_mensajes) to Expo.
 *
 * A pass repeats one batch until no row is due: claim up to 100 due rows
 * (FOR UPDATE SKIP LOCKED, so concurrent senders take disjoint rows; each
 * claimed row becomes 'enviando' with a lease), POST them to Expo as one
 * request, then record each row's outcome in one transaction. A sender
 * killed mid-batch leaves its rows 'enviando'; the next claim after their
 * lease_until takes them back. The state machine is in sql/003_push.sql. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/app.h"
#include "cron.h"
#include "metrics.h"
#include "wire/expo.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "domain/push.h"

/* Rows of a sender killed mid-batch come back here; a row whose lease
 * expired push_max_attempts times (a row that kills its sender, say) is
 * given up instead of being sent forever. */
static const char push_sql_take_back[] =
    "UPDATE queue_mensajes "
    "   SET estado = CASE WHEN intentos >= $1::int THEN 'muerto' ELSE 'pendiente' END, "
    "       error = CASE WHEN intentos >= $1::int THEN 'lease expired ' || intentos || ' times' "
    "                    ELSE error END, "
    "       lease_until = NULL, updated_at = now() "
    " WHERE estado = 'enviando' AND lease_until < now()";

/* Claims up to $1 due rows for $2 seconds. Returns each row with the lease
 * (the fencing value the outcome's UPDATE checks) and the claim time. */
static const char push_sql_claim[] =
    "WITH due AS ("
    "    SELECT id FROM queue_mensajes "
    "     WHERE estado = 'pendiente' AND next_attempt_at <= now() "
    "     ORDER BY next_attempt_at "
    "     LIMIT $1::int "
    "     FOR UPDATE SKIP LOCKED) "
    "UPDATE queue_mensajes q "
    "   SET estado = 'enviando', lease_until = now() + make_interval(secs => $2::int), "
    "       intentos = q.intentos + 1, updated_at = now() "
    "  FROM due WHERE q.id = due.id "
    "RETURNING q.id, q.intentos, q.payload::text, q.lease_until, now()";

/* Records the outcomes ($1: [{id, estado, ticket, error, delay_ms}]) of
 * rows still leased by this batch ($2: its lease_until). */
static const char push_sql_record[] =
    "UPDATE queue_mensajes q "
    "   SET estado = r.estado, ticket_id = r.ticket, error = r.error, "
    "       sent_at = CASE WHEN r.estado = 'enviado' THEN now() ELSE q.sent_at END, "
    "       next_attempt_at = CASE WHEN r.delay_ms IS NULL THEN q.next_attempt_at "
    "                              ELSE now() + r.delay_ms * interval '1 millisecond' END, "
    "       lease_until = NULL, updated_at = now() "
    "  FROM jsonb_to_recordset($1::jsonb) "
    "       AS r(id bigint, estado text, ticket text, error text, delay_ms bigint) "
    " WHERE q.id = r.id AND q.estado = 'enviando' AND q.lease_until = $2::timestamptz";

/* DeviceNotRegistered: the devices of rows $1 go, with all their rows,
 * unless the app registered the token again after the claim ($2). */
static const char push_sql_unregistered[] =
    "DELETE FROM dispositivos_usuario d USING queue_mensajes q "
    " WHERE q.id = ANY($1::bigint[]) AND d.id = q.dispositivo_id AND d.updated_at <= $2::timestamptz";

struct push_row {
    const char *id;
    int intentos;
    const char *payload;    /* the Expo message as JSON text */
    const char *estado;     /* outcome: enviado, pendiente or muerto */
    const char *ticket;
    const char *error;
    long long delay_ms;     /* -1: next_attempt_at unchanged */
    bool unregistered;
};

struct push_sender {
    const struct cfg *cfg;
    struct db *db;
    struct expo *expo;
    struct arena *a;
    struct timespec claimed;    /* when the batch was claimed */
    /* per batch */
    int requests;
    long status;                /* HTTP status of the last request (0: none) */
    bool halt;                  /* Expo is down or asked us to slow down: end the pass */
};

static double push_ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The row failed in a way that may pass later: back to pendiente after the
 * backoff, or muerto once it has had its attempts. */
static void push_retry(struct push_sender *s, struct push_row *row, long retry_after_s,
                       const char *why)
{
    if (row->intentos >= s->cfg->push_max_attempts) {
        row->estado = "muerto";
        row->error = arena_printf(s->a, "%s (gave up after %d attempts)", why, row->intentos);
        row->delay_ms = -1;
        return;
    }
    row->estado = "pendiente";
    row->error = why;
    row->delay_ms = push_retry_delay_ms(row->intentos, retry_after_s, (unsigned)random());
}

static void push_dead(struct push_row *row, const char *why)
{
    row->estado = "muerto";
    row->error = why;
    row->delay_ms = -1;
}

/* Applies one ticket to its row. */
static void push_ticket(struct push_sender *s, struct push_row *row, const struct expo_ticket *t)
{
    if (t->ok) {
        row->estado = "enviado";
        row->ticket = t->id;
        row->error = NULL;
        row->delay_ms = -1;
        return;
    }
    const char *code = t->error ? t->error : "error";
    const char *why = arena_printf(s->a, "%s%s%s", code, t->message ? ": " : "",
                                   t->message ? t->message : "");
    if (strcmp(code, "DeviceNotRegistered") == 0) {
        push_dead(row, why);
        row->unregistered = true;
    } else if (strcmp(code, "MessageTooBig") == 0 || strcmp(code, "InvalidCredentials") == 0 ||
               strcmp(code, "MismatchSenderId") == 0) {
        push_dead(row, why);
    } else {
        /* MessageRateExceeded, and errors Expo may add later */
        push_retry(s, row, 0, why);
    }
}

/* The request body: the rows' messages as one JSON array. */
static const char *push_body(struct push_sender *s, const struct push_row *rows, int lo, int hi,
                             size_t *len)
{
    size_t n = 3;
    for (int i = lo; i < hi; i++)
        n += strlen(rows[i].payload) + 1;
    char *b = arena_alloc(s->a, n), *p = b;
    *p++ = '[';
    for (int i = lo; i < hi; i++) {
        if (i > lo)
            *p++ = ',';
        size_t l = strlen(rows[i].payload);
        memcpy(p, rows[i].payload, l);
        p += l;
    }
    *p++ = ']';
    *p = '\0';
    *len = (size_t)(p - b);
    return b;
}

/* Sends rows [lo, hi) in one request and sets their outcomes. A request
 * Expo refuses as a whole (400/413) is split in halves until the bad
 * message stands alone, so one bad row never sinks the others. */
static void push_send(struct push_sender *s, struct push_row *rows, int lo, int hi)
{
    /* past half the lease, another sender may soon take these rows back:
     * send nothing more for them */
    if (s->halt || push_ms_since(&s->claimed) > s->cfg->push_lease_seconds * 500.0) {
        const char *why = s->halt ? "not sent: an earlier request failed"
                                  : "not sent: batch out of time";
        for (int i = lo; i < hi; i++)
            push_retry(s, &rows[i], 0, why);
        return;
    }
    size_t len;
    const char *body = push_body(s, rows, lo, hi, &len);
    struct expo_reply rep;
    expo_post(s->expo, s->a, EXPO_PATH_SEND, body, len, &rep);
    s->requests++;
    s->status = rep.status;
    switch (expo_classify(&rep)) {
    case EXPO_OK: {
        struct expo_ticket *t = arena_alloc(s->a, sizeof(*t) * (size_t)(hi - lo));
        char why[200];
        if (expo_parse_tickets(s->a, rep.body, rep.len, (size_t)(hi - lo), t, why, sizeof(why)) < 0) {
            log_warn("event=push_bad_response reason=\"%s\" rows=%d", why, hi - lo);
            const char *w = arena_printf(s->a, "bad response: %s", why);
            for (int i = lo; i < hi; i++)
                push_retry(s, &rows[i], 0, w);
            return;
        }
        for (int i = lo; i < hi; i++)
            push_ticket(s, &rows[i], &t[i - lo]);
        return;
    }
    case EXPO_RETRY: {
        const char *w = arena_strdup(s->a, rep.why);
        log_warn("event=push_retry reason=\"%s\" retry_after_s=%ld rows=%d", rep.why,
                 rep.retry_after_s, hi - lo);
        for (int i = lo; i < hi; i++)
            push_retry(s, &rows[i], rep.retry_after_s, w);
        s->halt = true;
        return;
    }
    case EXPO_REJECTED:
        if (hi - lo > 1) {
            log_warn("event=push_rejected reason=\"%s\" rows=%d action=split", rep.why, hi - lo);
            int mid = lo + (hi - lo) / 2;
            push_send(s, rows, lo, mid);
            push_send(s, rows, mid, hi);
        } else {
            log_warn("event=push_rejected reason=\"%s\" row=%s action=give_up", rep.why,
                     rows[lo].id);
            push_dead(&rows[lo], arena_strdup(s->a, rep.why));
        }
        return;
    }
}

/* Writes the outcomes of a batch in one transaction. */
static int push_record(struct push_sender *s, struct push_row *rows, int n, const char *lease,
                       const char *claimed_at)
{
    struct err e = { 0 };
    json_object *arr = jsonx_own(s->a, json_object_new_array());
    char *ids = arena_alloc(s->a, (size_t)n * 21 + 3), *p = ids;
    int nunreg = 0;
    *p++ = '{';
    for (int i = 0; i < n; i++) {
        struct push_row *r = &rows[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(strtoll(r->id, NULL, 10)));
        json_object_object_add(o, "estado", json_object_new_string(r->estado));
        json_object_object_add(o, "ticket", jsonx_str(r->ticket));
        json_object_object_add(o, "error", jsonx_str(r->error));
        json_object_object_add(o, "delay_ms",
                               r->delay_ms >= 0 ? json_object_new_int64(r->delay_ms) : NULL);
        json_object_array_add(arr, o);
        if (r->unregistered) {
            p += sprintf(p, "%s%s", nunreg ? "," : "", r->id);
            nunreg++;
        }
    }
    *p++ = '}';
    *p = '\0';
    const char *rp[2] = { jsonx_text(s->a, arr), lease };
    if (db_begin(s->db, &e) < 0)
        return -1;
    if (!db_exec(s->db, s->a, push_sql_record, 2, rp, &e))
        goto fail;
    if (nunreg) {
        const char *up[2] = { ids, claimed_at };
        PGresult *r = db_exec(s->db, s->a, push_sql_unregistered, 2, up, &e);
        if (!r)
            goto fail;
        log_info("event=push_devices_deleted reason=DeviceNotRegistered devices=%s",
                 PQcmdTuples(r));
    }
    if (db_commit(s->db, &e) < 0)
        goto fail;
    return 0;
fail:
    db_rollback(s->db);
    log_error("event=push_record_failed rows=%d (they come back after their lease)", n);
    return -1;
}

/* One batch: claim, send, record. Sets *claimed to the rows claimed. */
static int push_batch(struct push_sender *s, int *claimed)
{
    struct err e = { 0 };
    arena_reset(s->a);
    *claimed = 0;
    const char *cp[2] = { db_ll(s->a, EXPO_SEND_MAX), db_ll(s->a, s->cfg->push_lease_seconds) };
    clock_gettime(CLOCK_MONOTONIC, &s->claimed);
    PGresult *r = db_exec(s->db, s->a, push_sql_claim, 2, cp, &e);
    if (!r)
        return -1;
    int n = PQntuples(r);
    if (n == 0)
        return 0;
    *claimed = n;
    struct push_row *rows = arena_alloc(s->a, sizeof(*rows) * (size_t)n);
    for (int i = 0; i < n; i++) {
        rows[i].id = db_get(r, i, 0);
        rows[i].intentos = (int)db_get_ll(r, i, 1);
        rows[i].payload = db_get(r, i, 2);
        rows[i].delay_ms = -1;
    }
    const char *lease = db_get(r, 0, 3), *claimed_at = db_get(r, 0, 4);
    s->requests = 0;
    s->status = 0;
    push_send(s, rows, 0, n);
    int ok = 0, retry = 0, dead = 0, unreg = 0;
    for (int i = 0; i < n; i++) {
        if (rows[i].unregistered)
            unreg++;
        else if (strcmp(rows[i].estado, "enviado") == 0)
            ok++;
        else if (strcmp(rows[i].estado, "pendiente") == 0)
            retry++;
        else
            dead++;
    }
    int ret = push_record(s, rows, n, lease, claimed_at);
    if (ret == 0) {
        static const char *const names[] = { "push_sent", "push_retried", "push_given_up",
                                             "push_devices_unregistered" };
        const long long v[] = { ok, retry, dead, unreg };
        cron_count(s->db, s->a, names, v, 4);
    }
    log_info("event=push_batch rows=%d ok=%d retry=%d dead=%d unregistered=%d requests=%d "
             "http=%ld ms=%.0f recorded=%d",
             n, ok, retry, dead, unreg, s->requests, s->status, push_ms_since(&s->claimed),
             ret == 0);
    return ret;
}

static int push_pass(void *ud)
{
    struct push_sender *s = ud;
    struct err e = { 0 };
    arena_reset(s->a);
    if (db_ensure(s->db) < 0)
        return -1;
    const char *tp[1] = { db_ll(s->a, s->cfg->push_max_attempts) };
    PGresult *r = db_exec(s->db, s->a, push_sql_take_back, 1, tp, &e);
    if (!r)
        return -1;
    if (strcmp(PQcmdTuples(r), "0") != 0)
        log_info("event=push_lease_expired rows=%s", PQcmdTuples(r));
    s->halt = false;
    for (;;) {
        int claimed;
        if (push_batch(s, &claimed) < 0)
            return -1;
        if (claimed == 0 || s->halt || cron_stopping())
            break;
    }
    return 0;
}

int cron_push(struct cfg *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "loop", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    long loop_s = 0;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != 'l' || cron_parse_seconds("push", "--loop", optarg, 1, 86400, &loop_s) < 0) {
            fprintf(stderr, "usage: chat-cron push [--loop SECONDS]\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "usage: chat-cron push [--loop SECONDS]\n");
        return 2;
    }
    /* a request must end well inside the lease, or another sender could
     * take its rows back while it is still waiting for Expo */
    long timeout = c->push_lease_seconds / 2;
    if (timeout > 30)
        timeout = 30;
    if (timeout < 2)
        timeout = 2;
    struct push_sender s = { .cfg = c };
    s.expo = expo_new(c->expo_url, c->expo_access_token, timeout);
    s.a = arena_new();
    if (!s.expo || !s.a) {
        log_error("event=start_failed reason=\"cannot initialise libcurl\"");
        expo_free(s.expo);
        arena_free(s.a);
        return 1;
    }
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    s.db = app_db(c, c->migrate_on_start);
    int ret = cron_run("push", loop_s, push_pass, &s);
    db_close(s.db);
    arena_free(s.a);
    expo_free(s.expo);
    return ret;
}
