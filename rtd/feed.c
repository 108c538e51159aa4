/* feed.c: the event feed: one LISTEN connection inside the lws loop (its
 * socket adopted as a raw descriptor), reading eventos by the (xid, id)
 * cursor on every NOTIFY and on a 1 s timer, delivering each row to its
 * room; chat_efimeros notifications are delivered as they come. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sha256.h"
#include "rt.h"

#define FEED_BATCH 500
#define FEED_TICK_US (1000 * LWS_US_PER_MS)
#define FEED_BACKOFF_MAX_MS 5000

/* The columns of a row to deliver; for a presencia:<id> room also the
 * chats of that user (who should hear about them), resolved in the same
 * statement. */
#define FEED_COLS                                                           \
    "SELECT e.id, e.xid::text, e.tipo, e.sala, e.payload::text,"            \
    "  CASE WHEN e.sala LIKE 'presencia:%' THEN"                            \
    "    (SELECT coalesce(array_agg(uc.chat_id), '{}') FROM usuarios_chat uc" \
    "      WHERE uc.usuario_id = substr(e.sala, 11)::bigint)::text END,"     \
    "  (extract(epoch FROM e.created_at) * 1000000)::bigint"

/* The rows after the cursor, below the horizon: complete and final. */
static const char feed_sql[] =
    FEED_COLS " FROM eventos_despues($1::bigint, $2::bigint, $3::int) e ORDER BY e.xid, e.id";

/* Rows a NOTIFY announced that the cursor read could not hand out yet
 * (an older transaction somewhere in the cluster is still open, so they
 * are above the horizon). They are committed (the NOTIFY follows the
 * commit), so they go out now and are remembered, and the cursor read
 * skips them when it reaches them: instant delivery without giving up the
 * commit-safe cursor (sql/002_eventos.sql). */
static const char feed_sql_ahead[] =
    FEED_COLS " FROM eventos e WHERE e.id = ANY($1::bigint[])"
    "  AND (e.xid, e.id) > ($2::text::xid8, $3::bigint) ORDER BY e.xid, e.id";

#define FEED_NOTIFIED_MAX 1024

static void feed_schedule_reconnect(struct rt *rt);

static void feed_lost(struct rt *rt, const char *why)
{
    if (!rt->lconn)
        return;
    log_warn("event=db_listen ok=0 reason=\"%s\"", why);
    if (rt->lwsi) {
        lws_set_timeout(rt->lwsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        rt->lwsi = NULL;
    }
    PQfinish(rt->lconn);
    rt->lconn = NULL;
    rt->query_busy = rt->query_again = false;
    feed_schedule_reconnect(rt);
}

static bool feed_send(struct rt *rt, const char *sql, int n, const char *const *params)
{
    if (!PQsendQueryParams(rt->lconn, sql, n, NULL, params, NULL, NULL, 0)) {
        feed_lost(rt, PQerrorMessage(rt->lconn));
        return false;
    }
    PQflush(rt->lconn);
    rt->query_busy = true;
    return true;
}

static void feed_read(struct rt *rt)
{
    if (!rt->lconn || rt->stopping)
        return;
    if (rt->query_busy) {
        rt->query_again = true;
        return;
    }
    char x[24], i[24], n[16];
    snprintf(x, sizeof(x), "%lld", rt->cur_xid);
    snprintf(i, sizeof(i), "%lld", rt->cur_id);
    snprintf(n, sizeof(n), "%d", FEED_BATCH);
    const char *params[3] = { x, i, n };
    if (feed_send(rt, feed_sql, 3, params)) {
        rt->query_ahead = false;
        rt->query_again = false;
    }
}

/* Fetches the announced rows the cursor has not delivered. */
static void feed_read_ahead(struct rt *rt)
{
    if (!rt->lconn || rt->stopping || rt->query_busy || !rt->nnotified ||
        rt->nahead >= RT_AHEAD_MAX) {
        rt->nnotified = 0;
        return;
    }
    char *arr = malloc(rt->nnotified * 21 + 3), *w = arr, x[24], i[24];
    if (!arr)
        abort();
    *w++ = '{';
    for (size_t k = 0; k < rt->nnotified; k++)
        w += sprintf(w, "%s%lld", k ? "," : "", rt->notified[k]);
    *w++ = '}';
    *w = '\0';
    rt->nnotified = 0;
    snprintf(x, sizeof(x), "%lld", rt->cur_xid);
    snprintf(i, sizeof(i), "%lld", rt->cur_id);
    const char *params[3] = { arr, x, i };
    if (feed_send(rt, feed_sql_ahead, 3, params))
        rt->query_ahead = true;
    free(arr);
}

/* Remembers the id of a chat_eventos NOTIFY ({"id":N,...}). */
static void feed_notified(struct rt *rt, const char *payload)
{
    const char *p = strstr(payload, "\"id\":");
    if (!p)
        return;
    long long id = strtoll(p + 5, NULL, 10);
    if (id <= 0 || rt->nnotified >= FEED_NOTIFIED_MAX)
        return;
    if (!rt->notified) {
        rt->notified = calloc(FEED_NOTIFIED_MAX, sizeof(*rt->notified));
        if (!rt->notified)
            abort();
    }
    rt->notified[rt->nnotified++] = id;
}

static void feed_forget_notified(struct rt *rt, long long id)
{
    for (size_t k = 0; k < rt->nnotified; k++)
        if (rt->notified[k] == id) {
            rt->notified[k] = rt->notified[--rt->nnotified];
            return;
        }
}

/* True (and forgotten) when the row was already delivered ahead. */
static bool feed_was_ahead(struct rt *rt, long long id)
{
    for (size_t k = 0; k < rt->nahead; k++)
        if (rt->ahead[k].id == id) {
            rt->ahead[k] = rt->ahead[--rt->nahead];
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

static void feed_deliver_row(struct rt *rt, PGresult *r, int k)
{
    size_t nchats = 0;
    long long *chats = feed_ids(PQgetisnull(r, k, 5) ? NULL : PQgetvalue(r, k, 5), &nchats);
    hub_deliver(rt, PQgetvalue(r, k, 2), PQgetvalue(r, k, 3), PQgetvalue(r, k, 4), chats, nchats,
                0, strtoll(PQgetvalue(r, k, 6), NULL, 10));
    free(chats);
}

/* Delivers the rows of one cursor read, skipping those that went out
 * ahead; returns how many rows there were. */
static int feed_rows(struct rt *rt, PGresult *r)
{
    int n = PQntuples(r);
    rt->stats.feed_rows += (uint64_t)n;
    for (int k = 0; k < n; k++) {
        long long id = strtoll(PQgetvalue(r, k, 0), NULL, 10);
        if (!rt->nahead || !feed_was_ahead(rt, id))
            feed_deliver_row(rt, r, k);
        if (rt->nnotified)
            feed_forget_notified(rt, id);
        rt->cur_id = id;
        rt->cur_xid = strtoll(PQgetvalue(r, k, 1), NULL, 10);
    }
    return n;
}

/* Delivers announced rows ahead of the cursor and remembers them. */
static void feed_rows_ahead(struct rt *rt, PGresult *r)
{
    int n = PQntuples(r);
    for (int k = 0; k < n && rt->nahead < RT_AHEAD_MAX; k++) {
        long long id = strtoll(PQgetvalue(r, k, 0), NULL, 10);
        bool dup = false;
        for (size_t q = 0; q < rt->nahead && !dup; q++)
            dup = rt->ahead[q].id == id;
        if (dup)
            continue;
        if (!rt->ahead) {
            rt->ahead = calloc(RT_AHEAD_MAX, sizeof(*rt->ahead));
            if (!rt->ahead)
                abort();
        }
        feed_deliver_row(rt, r, k);
        rt->ahead[rt->nahead++] = (struct rt_seen){ strtoll(PQgetvalue(r, k, 1), NULL, 10), id };
    }
}

/* A signed chat_efimeros payload is "<64 hex digits of HMAC-SHA256 of the
 * JSON>.<JSON>"; the JSON carries its time "t" (unix seconds). */
#define EFIMERO_MAC_HEX 64
#define EFIMERO_MAX_AGE_S 60

char *feed_sign_ephemeral(const struct rt *rt, const char *json)
{
    char mac[EFIMERO_MAC_HEX + 1], *out;
    hmac_sha256_hex(rt->efimeros_key, sizeof(rt->efimeros_key), json, strlen(json), mac);
    if (asprintf(&out, "%s.%s", mac, json) < 0)
        abort();
    return out;
}

/* The JSON of a signed payload, or NULL (counted, and logged at most once
 * a minute) when its signature is missing or wrong. */
static const char *feed_verify_ephemeral(struct rt *rt, const char *text)
{
    size_t n = strlen(text);
    if (n > EFIMERO_MAC_HEX + 1 && text[EFIMERO_MAC_HEX] == '.') {
        char mac[EFIMERO_MAC_HEX + 1];
        const char *json = text + EFIMERO_MAC_HEX + 1;
        hmac_sha256_hex(rt->efimeros_key, sizeof(rt->efimeros_key), json, strlen(json), mac);
        if (digest_equal(mac, text, EFIMERO_MAC_HEX))
            return json;
    }
    rt->stats.efimeros_rejected++;
    time_t now = time(NULL);
    if (now - rt->efimeros_warned_at >= 60) {
        rt->efimeros_warned_at = now;
        log_warn("event=efimero_rechazado reason=firma total=%llu",
                 (unsigned long long)rt->stats.efimeros_rejected);
    }
    return NULL;
}

/* An ephemeral event from chat_efimeros, once its signature checked out:
 * {"tipo":...,"sala":...,"excluir":<usuario_id>,"t":<unix s>,"payload":{...}}. */
static void feed_ephemeral(struct rt *rt, const char *signed_text)
{
    const char *text = feed_verify_ephemeral(rt, signed_text);
    if (!text)
        return;
    json_object *o = json_tokener_parse(text), *t, *s, *p, *x, *at;
    long long age = o && json_object_object_get_ex(o, "t", &at)
                        ? (long long)time(NULL) - json_object_get_int64(at) : EFIMERO_MAX_AGE_S + 1;
    if (age > EFIMERO_MAX_AGE_S || age < -EFIMERO_MAX_AGE_S) {
        /* a genuine one replayed later: stale news at best */
        rt->stats.efimeros_rejected++;
        json_object_put(o);
        return;
    }
    if (o && json_object_object_get_ex(o, "tipo", &t) && json_object_object_get_ex(o, "sala", &s) &&
        json_object_object_get_ex(o, "payload", &p)) {
        long long skip = json_object_object_get_ex(o, "excluir", &x) ? json_object_get_int64(x) : 0;
        hub_deliver(rt, json_object_get_string(t), json_object_get_string(s),
                    json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE),
                    NULL, 0, skip, 0);
    } else {
        log_warn("event=efimero_invalido");
    }
    json_object_put(o);
}

static void feed_readable(struct rt *rt)
{
    if (!PQconsumeInput(rt->lconn)) {
        feed_lost(rt, PQerrorMessage(rt->lconn));
        return;
    }
    bool want = false, finished = false;
    while (rt->query_busy && !PQisBusy(rt->lconn)) {
        PGresult *r = PQgetResult(rt->lconn);
        if (!r) {
            rt->query_busy = false;
            finished = true;
            break;
        }
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            if (rt->query_ahead)
                feed_rows_ahead(rt, r);
            else if (feed_rows(rt, r) >= FEED_BATCH)
                want = true;
        } else {
            log_warn("event=feed_read ok=0 reason=\"%s\"", PQresultErrorMessage(r));
        }
        PQclear(r);
    }
    PGnotify *note;
    while ((note = PQnotifies(rt->lconn)) != NULL) {
        if (strcmp(note->relname, "chat_efimeros") == 0) {
            feed_ephemeral(rt, note->extra);
        } else {
            rt->stats.feed_notifies++;
            feed_notified(rt, note->extra);
            want = true;
        }
        PQfreemem(note);
    }
    if (PQstatus(rt->lconn) != CONNECTION_OK) {
        feed_lost(rt, "connection closed");
        return;
    }
    if (rt->query_busy) {
        if (want)
            rt->query_again = true;
    } else if (want || rt->query_again) {
        feed_read(rt);
    } else if (finished && !rt->query_ahead && rt->nnotified) {
        /* the cursor read is done and some announced rows did not come */
        feed_read_ahead(rt);
    }
}

int feed_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    struct rt *rt = rt_of(wsi);
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (rt->lwsi == wsi && rt->lconn)
            feed_readable(rt);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (rt->lwsi == wsi) {
            rt->lwsi = NULL;
            feed_lost(rt, "descriptor closed");
        }
        return 0;
    default:
        return 0;
    }
}

static void feed_tick(lws_sorted_usec_list_t *sul)
{
    struct rt *rt = lws_container_of(sul, struct rt, sul_feed);
    if (rt->stopping)
        return;
    if (rt->lconn) {
        /* a lost NOTIFY only delays; this also notices a dead server */
        if (rt->query_busy) {
            feed_readable(rt);
        } else {
            rt->stats.feed_timer_reads++;
            feed_read(rt);
        }
    }
    lws_sul_schedule(rt->ctx, 0, &rt->sul_feed, feed_tick, FEED_TICK_US);
}

static void feed_connect(lws_sorted_usec_list_t *sul)
{
    struct rt *rt = lws_container_of(sul, struct rt, sul_reconnect);
    if (rt->stopping || rt->lconn || rt->listen_pending)
        return;
    rt->listen_pending = true;
    struct rt_job *j = job_new(JOB_LISTEN);
    j->want_cursor = !rt->cursor_set;
    pool_submit(rt->pool, j);
}

static void feed_schedule_reconnect(struct rt *rt)
{
    if (rt->stopping)
        return;
    rt->backoff_ms = rt->backoff_ms ? rt->backoff_ms * 2 : 250;
    if (rt->backoff_ms > FEED_BACKOFF_MAX_MS)
        rt->backoff_ms = FEED_BACKOFF_MAX_MS;
    lws_sul_schedule(rt->ctx, 0, &rt->sul_reconnect, feed_connect,
                     (lws_usec_t)rt->backoff_ms * LWS_US_PER_MS);
}

void feed_listen_done(struct rt *rt, struct rt_job *j)
{
    rt->listen_pending = false;
    if (j->status < 0 || rt->stopping) {
        if (!rt->stopping)
            rt->stats.db_listen_failures++;
        if (!rt->stopping)
            log_warn("event=db_listen ok=0 reason=\"%s\"", j->result ? j->result : "?");
        feed_schedule_reconnect(rt);
        return;
    }
    PGconn *conn = j->conn;
    j->conn = NULL;
    if (!rt->cursor_set) {
        rt->cur_xid = j->xid;
        rt->cur_id = 0;
        rt->cursor_set = true;
    }
    int fd = dup(PQsocket(conn));
    lws_sock_file_fd_type u;
    u.filefd = fd;
    struct lws *w = fd < 0 ? NULL
                           : lws_adopt_descriptor_vhost(rt->vh, LWS_ADOPT_RAW_FILE_DESC, u,
                                                        "chat-pg", NULL);
    if (!w) {
        log_warn("event=db_listen ok=0 reason=\"cannot adopt the descriptor\"");
        PQfinish(conn);
        feed_schedule_reconnect(rt);
        return;
    }
    PQsetnonblocking(conn, 1);
    rt->lconn = conn;
    rt->lwsi = w;
    rt->backoff_ms = 0;
    log_info("event=db_listen ok=1 cursor=%lld:%lld", rt->cur_xid, rt->cur_id);
    if (rt->ever_listened) {
        rt->stats.db_reconnects++;
        pres_resync_all(rt);
    }
    rt->ever_listened = true;
    feed_read(rt); /* whatever was written while we were away */
}

void feed_start(struct rt *rt)
{
    lws_sul_schedule(rt->ctx, 0, &rt->sul_reconnect, feed_connect, 1);
    lws_sul_schedule(rt->ctx, 0, &rt->sul_feed, feed_tick, FEED_TICK_US);
}

void feed_stop(struct rt *rt)
{
    free(rt->notified);
    rt->notified = NULL;
    free(rt->ahead);
    rt->ahead = NULL;
    lws_sul_cancel(&rt->sul_feed);
    lws_sul_cancel(&rt->sul_reconnect);
    if (rt->lwsi) {
        lws_set_timeout(rt->lwsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        rt->lwsi = NULL;
    }
    if (rt->lconn) {
        PQfinish(rt->lconn);
        rt->lconn = NULL;
    }
}
