/* feed.c: the event feed: one LISTEN connection inside the lws loop (its
 * socket adopted as a raw descriptor), reading eventos by the (xid, id)
 * cursor on every NOTIFY and on a 1 s timer, delivering each row to its
 * room; chat_efimeros notifications are delivered as they come. */
#include "feed.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sha256.h"
#include "domain/evt.h"

#define FEED_TICK_US (1000 * LWS_US_PER_MS)
#define FEED_BACKOFF_MAX_MS 5000


/* Both are prepared when the connection opens: they run on every NOTIFY,
 * and planning them took 40 times longer than running them. */
static const struct db_stmt *const feed_statements[] = { &evt_st_feed_read, &evt_st_feed_ahead };

#define FEED_NOTIFIED_MAX 1024

static void feed_schedule_reconnect(struct feed *f);

static void feed_lost(struct feed *f, const char *why)
{
    if (!f->lconn)
        return;
    log_warn("event=db_listen ok=0 reason=\"%s\"", why);
    if (f->lwsi) {
        lws_set_timeout(f->lwsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        f->lwsi = NULL;
    }
    PQfinish(f->lconn);
    f->lconn = NULL;
    f->query_busy = f->query_again = false;
    feed_schedule_reconnect(f);
}

static bool feed_send(struct feed *f, const struct db_stmt *st, int n, const char *const *params)
{
    if (!PQsendQueryPrepared(f->lconn, st->name, n, params, NULL, NULL, 0)) {
        feed_lost(f, PQerrorMessage(f->lconn));
        return false;
    }
    PQflush(f->lconn);
    f->query_busy = true;
    return true;
}

static void feed_read(struct feed *f)
{
    if (!f->lconn || f->stopping)
        return;
    if (f->query_busy) {
        f->query_again = true;
        return;
    }
    char x[24], i[24];
    snprintf(x, sizeof(x), "%lld", f->cur_xid);
    snprintf(i, sizeof(i), "%lld", f->cur_id);
    const char *params[2] = { x, i };
    if (feed_send(f, &evt_st_feed_read, 2, params)) {
        f->query_ahead = false;
        f->query_again = false;
    }
}

/* Fetches the announced rows the cursor has not delivered. */
static void feed_read_ahead(struct feed *f)
{
    if (!f->lconn || f->stopping || f->query_busy || !f->nnotified ||
        f->nahead >= FEED_AHEAD_MAX) {
        f->nnotified = 0;
        return;
    }
    char *arr = malloc(f->nnotified * 21 + 3), *w = arr, x[24], i[24];
    if (!arr)
        abort();
    *w++ = '{';
    for (size_t k = 0; k < f->nnotified; k++)
        w += sprintf(w, "%s%lld", k ? "," : "", f->notified[k]);
    *w++ = '}';
    *w = '\0';
    f->nnotified = 0;
    snprintf(x, sizeof(x), "%lld", f->cur_xid);
    snprintf(i, sizeof(i), "%lld", f->cur_id);
    const char *params[3] = { arr, x, i };
    if (feed_send(f, &evt_st_feed_ahead, 3, params))
        f->query_ahead = true;
    free(arr);
}

/* Remembers the id of a chat_eventos NOTIFY ({"id":N,...}). */
static void feed_notified(struct feed *f, const char *payload)
{
    const char *p = strstr(payload, "\"id\":");
    if (!p)
        return;
    long long id = strtoll(p + 5, NULL, 10);
    if (id <= 0 || f->nnotified >= FEED_NOTIFIED_MAX)
        return;
    if (!f->notified) {
        f->notified = calloc(FEED_NOTIFIED_MAX, sizeof(*f->notified));
        if (!f->notified)
            abort();
    }
    f->notified[f->nnotified++] = id;
}

static void feed_forget_notified(struct feed *f, long long id)
{
    for (size_t k = 0; k < f->nnotified; k++)
        if (f->notified[k] == id) {
            f->notified[k] = f->notified[--f->nnotified];
            return;
        }
}

/* True (and forgotten) when the row was already delivered ahead. */
static bool feed_was_ahead(struct feed *f, long long id)
{
    for (size_t k = 0; k < f->nahead; k++)
        if (f->ahead[k].id == id) {
            f->ahead[k] = f->ahead[--f->nahead];
            return true;
        }
    return false;
}

/* "{1,2,3}" -> ids (malloc'd). */
static long long *feed_ids(const char *text, size_t *n)
{
    *n = 0;
    if (!text)
        return NULL;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    long long *ids = calloc(cap, sizeof(*ids));
    if (!ids)
        abort();
    for (const char *p = text; *p;) {
        if (*p >= '0' && *p <= '9') {
            char *end;
            ids[(*n)++] = strtoll(p, &end, 10);
            p = end;
        } else {
            p++;
        }
    }
    return ids;
}

static void feed_deliver_row(struct feed *f, PGresult *r, int k)
{
    size_t nchats = 0;
    long long *chats = feed_ids(PQgetisnull(r, k, 5) ? NULL : PQgetvalue(r, k, 5), &nchats);
    hub_deliver(f->hub, PQgetvalue(r, k, 2), PQgetvalue(r, k, 3), PQgetvalue(r, k, 4), chats, nchats,
                0, strtoll(PQgetvalue(r, k, 6), NULL, 10));
    free(chats);
}

/* Delivers the rows of one cursor read, skipping those that went out
 * ahead; returns how many rows there were. */
static int feed_rows(struct feed *f, PGresult *r)
{
    int n = PQntuples(r);
    f->stats->feed_rows += (uint64_t)n;
    for (int k = 0; k < n; k++) {
        long long id = strtoll(PQgetvalue(r, k, 0), NULL, 10);
        if (!f->nahead || !feed_was_ahead(f, id))
            feed_deliver_row(f, r, k);
        if (f->nnotified)
            feed_forget_notified(f, id);
        f->cur_id = id;
        f->cur_xid = strtoll(PQgetvalue(r, k, 1), NULL, 10);
    }
    return n;
}

/* Delivers announced rows ahead of the cursor and remembers them. */
static void feed_rows_ahead(struct feed *f, PGresult *r)
{
    int n = PQntuples(r);
    for (int k = 0; k < n && f->nahead < FEED_AHEAD_MAX; k++) {
        long long id = strtoll(PQgetvalue(r, k, 0), NULL, 10);
        bool dup = false;
        for (size_t q = 0; q < f->nahead && !dup; q++)
            dup = f->ahead[q].id == id;
        if (dup)
            continue;
        if (!f->ahead) {
            f->ahead = calloc(FEED_AHEAD_MAX, sizeof(*f->ahead));
            if (!f->ahead)
                abort();
        }
        feed_deliver_row(f, r, k);
        f->ahead[f->nahead++] = (struct feed_seen){ strtoll(PQgetvalue(r, k, 1), NULL, 10), id };
    }
}

/* A signed chat_efimeros payload is "<64 hex digits of HMAC-SHA256 of the
 * JSON>.<JSON>"; the JSON carries its time "t" (unix seconds). */
#define EFIMERO_MAC_HEX 64
#define EFIMERO_MAX_AGE_S 60

char *feed_sign_ephemeral(const struct feed *f, const char *json)
{
    char mac[EFIMERO_MAC_HEX + 1], *out;
    hmac_sha256_hex(f->efimeros_key, sizeof(f->efimeros_key), json, strlen(json), mac);
    if (asprintf(&out, "%s.%s", mac, json) < 0)
        abort();
    return out;
}

/* The JSON of a signed payload, or NULL (counted, and logged at most once
 * a minute) when its signature is missing or wrong. */
static const char *feed_verify_ephemeral(struct feed *f, const char *text)
{
    size_t n = strlen(text);
    if (n > EFIMERO_MAC_HEX + 1 && text[EFIMERO_MAC_HEX] == '.') {
        char mac[EFIMERO_MAC_HEX + 1];
        const char *json = text + EFIMERO_MAC_HEX + 1;
        hmac_sha256_hex(f->efimeros_key, sizeof(f->efimeros_key), json, strlen(json), mac);
        if (digest_equal(mac, text, EFIMERO_MAC_HEX))
            return json;
    }
    f->stats->efimeros_rejected++;
    time_t now = time(NULL);
    if (now - f->efimeros_warned_at >= 60) {
        f->efimeros_warned_at = now;
        log_warn("event=efimero_rechazado reason=firma total=%llu",
                 (unsigned long long)f->stats->efimeros_rejected);
    }
    return NULL;
}

/* An ephemeral event from chat_efimeros, once its signature checked out:
 * {"tipo":...,"sala":...,"excluir":<usuario_id>,"t":<unix s>,"payload":{...}}. */
static void feed_ephemeral(struct feed *f, const char *signed_text)
{
    const char *text = feed_verify_ephemeral(f, signed_text);
    if (!text)
        return;
    json_object *o = json_tokener_parse(text), *t, *s, *p, *x, *at;
    long long age = o && json_object_object_get_ex(o, "t", &at)
                        ? (long long)time(NULL) - json_object_get_int64(at) : EFIMERO_MAX_AGE_S + 1;
    if (age > EFIMERO_MAX_AGE_S || age < -EFIMERO_MAX_AGE_S) {
        /* a genuine one replayed later: stale news at best */
        f->stats->efimeros_rejected++;
        json_object_put(o);
        return;
    }
    if (o && json_object_object_get_ex(o, "tipo", &t) && json_object_object_get_ex(o, "sala", &s) &&
        json_object_object_get_ex(o, "payload", &p)) {
        long long skip = json_object_object_get_ex(o, "excluir", &x) ? json_object_get_int64(x) : 0;
        hub_deliver(f->hub, json_object_get_string(t), json_object_get_string(s),
                    json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE),
                    NULL, 0, skip, 0);
    } else {
        log_warn("event=efimero_invalido");
    }
    json_object_put(o);
}

static void feed_readable(struct feed *f)
{
    if (!PQconsumeInput(f->lconn)) {
        feed_lost(f, PQerrorMessage(f->lconn));
        return;
    }
    bool want = false, finished = false, failed = false;
    while (f->query_busy && !PQisBusy(f->lconn)) {
        PGresult *r = PQgetResult(f->lconn);
        if (!r) {
            f->query_busy = false;
            finished = true;
            break;
        }
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            if (f->query_ahead)
                feed_rows_ahead(f, r);
            else if (feed_rows(f, r) >= EVT_FEED_BATCH)
                want = true;
        } else {
            log_warn("event=feed_read ok=0 reason=\"%s\"", PQresultErrorMessage(r));
            failed = true;
        }
        PQclear(r);
    }
    if (failed && !f->query_busy) {
        /* A prepared read that fails once fails every time (a migration
         * changed what it returns, or the statement is gone): a new
         * connection prepares it again. The cursor is kept, so nothing is
         * skipped; the timer read covers the reconnect. */
        feed_lost(f, "feed read failed");
        return;
    }
    PGnotify *note;
    while ((note = PQnotifies(f->lconn)) != NULL) {
        if (strcmp(note->relname, "chat_efimeros") == 0) {
            feed_ephemeral(f, note->extra);
        } else {
            f->stats->feed_notifies++;
            feed_notified(f, note->extra);
            want = true;
        }
        PQfreemem(note);
    }
    if (PQstatus(f->lconn) != CONNECTION_OK) {
        feed_lost(f, "connection closed");
        return;
    }
    if (f->query_busy) {
        if (want)
            f->query_again = true;
    } else if (want || f->query_again) {
        feed_read(f);
    } else if (finished && !f->query_ahead && f->nnotified) {
        /* the cursor read is done and some announced rows did not come */
        feed_read_ahead(f);
    }
}

int feed_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    /* the feed rides on the adopted descriptor; other callbacks of the
     * protocol (vhost-wide ones) have none */
    struct feed *f = lws_get_opaque_user_data(wsi);
    if (!f)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (f->lwsi == wsi && f->lconn)
            feed_readable(f);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (f->lwsi == wsi) {
            f->lwsi = NULL;
            feed_lost(f, "descriptor closed");
        }
        return 0;
    default:
        return 0;
    }
}

static void feed_tick(lws_sorted_usec_list_t *sul)
{
    struct feed *f = lws_container_of(sul, struct feed, sul_tick);
    if (f->stopping)
        return;
    if (f->lconn) {
        /* a lost NOTIFY only delays; this also notices a dead server */
        if (f->query_busy) {
            feed_readable(f);
        } else {
            f->stats->feed_timer_reads++;
            feed_read(f);
        }
    }
    lws_sul_schedule(f->ctx, 0, &f->sul_tick, feed_tick, FEED_TICK_US);
}

static void feed_connect(lws_sorted_usec_list_t *sul)
{
    struct feed *f = lws_container_of(sul, struct feed, sul_reconnect);
    if (f->stopping || f->lconn || f->listen_pending)
        return;
    f->listen_pending = true;
    struct rt_job *j = job_new(JOB_LISTEN);
    j->want_cursor = !f->cursor_set;
    j->prepare = feed_statements;
    j->nprepare = sizeof(feed_statements) / sizeof(feed_statements[0]);
    pool_submit(f->pool, j);
}

static void feed_schedule_reconnect(struct feed *f)
{
    if (f->stopping)
        return;
    f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : 250;
    if (f->backoff_ms > FEED_BACKOFF_MAX_MS)
        f->backoff_ms = FEED_BACKOFF_MAX_MS;
    lws_sul_schedule(f->ctx, 0, &f->sul_reconnect, feed_connect,
                     (lws_usec_t)f->backoff_ms * LWS_US_PER_MS);
}

/* JOB_LISTEN came back. */
static void feed_listen_done(void *arg, struct rt_job *j)
{
    struct feed *f = arg;
    f->listen_pending = false;
    if (j->status < 0 || f->stopping) {
        if (!f->stopping)
            f->stats->db_listen_failures++;
        if (!f->stopping)
            log_warn("event=db_listen ok=0 reason=\"%s\"", j->result ? j->result : "?");
        feed_schedule_reconnect(f);
        return;
    }
    PGconn *conn = j->conn;
    j->conn = NULL;
    if (!f->cursor_set) {
        f->cur_xid = j->xid;
        f->cur_id = 0;
        f->cursor_set = true;
    }
    int fd = dup(PQsocket(conn));
    lws_adopt_desc_t ad;
    memset(&ad, 0, sizeof(ad));
    ad.vh = f->vh;
    ad.type = LWS_ADOPT_RAW_FILE_DESC;
    ad.fd.filefd = fd;
    ad.vh_prot_name = "chat-pg";
    ad.opaque = f;
    struct lws *w = fd < 0 ? NULL : lws_adopt_descriptor_vhost_via_info(&ad);
    if (!w) {
        log_warn("event=db_listen ok=0 reason=\"cannot adopt the descriptor\"");
        PQfinish(conn);
        feed_schedule_reconnect(f);
        return;
    }
    PQsetnonblocking(conn, 1);
    f->lconn = conn;
    f->lwsi = w;
    f->backoff_ms = 0;
    log_info("event=db_listen ok=1 cursor=%lld:%lld", f->cur_xid, f->cur_id);
    if (f->ever_listened) {
        f->stats->db_reconnects++;
        pres_resync_all(f->pres);
    }
    f->ever_listened = true;
    feed_read(f); /* whatever was written while we were away */
}

void feed_init(struct feed *f, struct lws_context *ctx, struct lws_vhost *vh,
               struct rt_pool *pool, struct hub *hub, struct presence *pres,
               struct rt_stats *stats, const unsigned char key[32])
{
    memset(f, 0, sizeof(*f));
    f->ctx = ctx;
    f->vh = vh;
    f->pool = pool;
    f->hub = hub;
    f->pres = pres;
    f->stats = stats;
    memcpy(f->efimeros_key, key, sizeof(f->efimeros_key));
    pool_on_done(pool, JOB_LISTEN, feed_listen_done, f);
}

bool feed_up(const struct feed *f)
{
    return f->lconn && PQstatus(f->lconn) == CONNECTION_OK;
}

void feed_start(struct feed *f)
{
    lws_sul_schedule(f->ctx, 0, &f->sul_reconnect, feed_connect, 1);
    lws_sul_schedule(f->ctx, 0, &f->sul_tick, feed_tick, FEED_TICK_US);
}

void feed_stop(struct feed *f)
{
    f->stopping = true;
    free(f->notified);
    f->notified = NULL;
    free(f->ahead);
    f->ahead = NULL;
    lws_sul_cancel(&f->sul_tick);
    lws_sul_cancel(&f->sul_reconnect);
    if (f->lwsi) {
        lws_set_timeout(f->lwsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        f->lwsi = NULL;
    }
    if (f->lconn) {
        PQfinish(f->lconn);
        f->lconn = NULL;
    }
}
