/* ws.c: the lws protocol: HTTP (health, refusing polling), the Engine.IO
 * websocket, Socket.IO packets, inbound events and acks. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/origin.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "domain/evt.h"
#include "wire/sio.h"
#include "ws.h"

/* Before CONNECT: seconds a socket has to send it, the largest frame
 * (jwt_max_bytes plus this), and for everyone the largest ping payload a
 * client may send ("probe"). */
#define RT_CONNECT_DEADLINE_S 45
#define RT_PREAUTH_SLACK 1024
#define RT_PING_MAX 16

static struct ws *ws_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- HTTP ----------------------------------------------------------------- */

static int ws_http_send(struct lws *wsi, unsigned status, const char *ctype, const char *body,
                        size_t blen)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, status, ctype, (lws_filepos_t)blen, &p,
                                    end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    unsigned char *b = malloc(LWS_PRE + blen + 1);
    if (!b)
        return -1;
    memcpy(b + LWS_PRE, body, blen);
    int n = lws_write(wsi, b + LWS_PRE, blen, LWS_WRITE_HTTP_FINAL);
    free(b);
    if (n < (int)blen)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int ws_http_reply(struct lws *wsi, unsigned status, const char *body)
{
    return ws_http_send(wsi, status, "application/json", body, strlen(body));
}

static int ws_metrics(struct lws *wsi, struct ws *w)
{
    struct rt_gauges g;
    memset(&g, 0, sizeof(g));
    for (size_t i = 0; i < w->conns.cap; i++) {
        if (!rt_map_live(&w->conns, i))
            continue;
        const struct rt_conn *c = w->conns.e[i].val;
        if (c->state < 4)
            g.conns_by_state[c->state]++;
        for (const struct rt_out *o = c->qhead; o; o = o->next) {
            g.queue_bytes += o->b->len;
            g.queue_frames++;
        }
    }
    g.users = w->hub->users.n;
    g.rooms = w->hub->rooms.n;
    g.db_up = feed_up(w->feed);
    size_t len = 0;
    char *text = rt_metrics_text(w->stats, &g, &len);
    if (!text)
        return -1;
    int r = ws_http_send(wsi, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return r;
}

static int ws_salud(struct lws *wsi, struct ws *w)
{
    bool up = feed_up(w->feed);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "estado", json_object_new_string(up ? "ok" : "degradado"));
    json_object_object_add(o, "db", json_object_new_string(up ? "ok" : "inaccesible"));
    json_object_object_add(o, "conexiones", json_object_new_int64((int64_t)w->nconns));
    json_object_object_add(o, "usuarios", json_object_new_int64((int64_t)w->hub->users.n));
    json_object_object_add(o, "salas", json_object_new_int64((int64_t)w->hub->rooms.n));
    json_object_object_add(o, "instancia", json_object_new_string(w->instance));
    json_object_object_add(o, "eventos_entregados", json_object_new_int64((int64_t)w->hub->delivered));
    json_object_object_add(o, "version", json_object_new_string(CHAT_VERSION));
    int r = ws_http_reply(wsi, up ? 200 : 503,
                          json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return r;
}

static bool ws_is_sio_path(const char *uri)
{
    return strcmp(uri, "/chat/socket.io/") == 0 || strcmp(uri, "/socket.io/") == 0 ||
           strcmp(uri, "/chat/socket.io") == 0 || strcmp(uri, "/socket.io") == 0;
}

static int ws_http(struct lws *wsi, struct ws *w, const char *uri)
{
    if (strcmp(uri, "/chat/rtd/salud") == 0 || strcmp(uri, "/rtd/salud") == 0)
        return ws_salud(wsi, w);
    if (strcmp(uri, "/chat/rtd/metrics") == 0 || strcmp(uri, "/rtd/metrics") == 0)
        return ws_metrics(wsi, w);
    if (ws_is_sio_path(uri)) {
        char buf[64];
        const char *eio = lws_get_urlarg_by_name(wsi, "EIO=", buf, sizeof(buf));
        if (!eio || strcmp(eio, "4") != 0)
            return ws_http_reply(wsi, 400, "{\"code\":5,\"message\":\"Unsupported protocol version\"}");
        /* only the websocket transport: polling gets Engine.IO's own error */
        return ws_http_reply(wsi, 400, "{\"code\":0,\"message\":\"Transport unknown\"}");
    }
    return ws_http_reply(wsi, 404, "{\"error\":{\"codigo\":\"no_encontrado\","
                                   "\"mensaje\":\"No encontrado\"}}");
}

/* A header of the upgrade request into buf (NUL-terminated), or NULL when
 * absent or longer than buf. custom names are lower case with the colon
 * ("x-forwarded-proto:"); tok is used when custom is NULL. */
static const char *ws_header(struct lws *wsi, enum lws_token_indexes tok, const char *custom,
                             char *buf, int len)
{
    int n = custom ? lws_hdr_custom_length(wsi, custom, (int)strlen(custom))
                   : lws_hdr_total_length(wsi, tok);
    if (n <= 0 || n >= len)
        return NULL;
    n = custom ? lws_hdr_custom_copy(wsi, buf, len, custom, (int)strlen(custom))
               : lws_hdr_copy(wsi, buf, len, tok);
    return n > 0 ? buf : NULL;
}

/* The ERP cookie authenticates whatever page opens the socket, so a
 * socket that would be authenticated by it must come from our own origin
 * or one in origenes_permitidos (the same rule as REST writes, API.md §9).
 * Our own origin: X-Forwarded-Proto (else http) and the Host the proxy
 * passed on. */
static bool ws_origin_ok(struct ws *w, struct lws *wsi)
{
    char origin[ORIGIN_MAX], host[ORIGIN_MAX], proto[16], site[32], own[ORIGIN_MAX];
    const char *o = ws_header(wsi, WSI_TOKEN_ORIGIN, NULL, origin, sizeof(origin));
    const char *h = ws_header(wsi, WSI_TOKEN_HOST, NULL, host, sizeof(host));
    const char *pr = ws_header(wsi, 0, "x-forwarded-proto:", proto, sizeof(proto));
    const char *sfs = ws_header(wsi, 0, "sec-fetch-site:", site, sizeof(site));
    bool have_own = origin_own(pr, h, NULL, own) == 0;
    /* a header too long to copy is there but unreadable: refuse */
    if (!o && lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0)
        return false;
    /* browsers always send Origin on a WebSocket upgrade; a client without
     * one is not a browser, so no other site's page is behind it */
    if (!o)
        return true;
    return origin_request_allowed(o, sfs, NULL, have_own ? own : NULL,
                                  w->cfg->origenes_permitidos);
}

/* Accepts the upgrade only at the Socket.IO path with EIO=4 and the
 * websocket transport, and, when it carries the ERP cookie, only from an
 * allowed origin. */
static char *ws_cookie(struct lws *wsi, const char *name);

static int ws_filter(struct ws *w, struct lws *wsi)
{
    char uri[128], buf[64];
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || !ws_is_sio_path(uri))
        return -1;
    const char *v = lws_get_urlarg_by_name(wsi, "EIO=", buf, sizeof(buf));
    if (!v || strcmp(v, "4") != 0)
        return -1;
    v = lws_get_urlarg_by_name(wsi, "transport=", buf, sizeof(buf));
    if (!v || strcmp(v, "websocket") != 0)
        return -1;
    if (w->cfg->jwt_cookie[0]) {
        char *ck = ws_cookie(wsi, w->cfg->jwt_cookie);
        bool cookie = ck && *ck;
        free(ck);
        if (cookie && !ws_origin_ok(w, wsi)) {
            char origin[ORIGIN_MAX];
            const char *o = ws_header(wsi, WSI_TOKEN_ORIGIN, NULL, origin, sizeof(origin));
            log_warn("event=upgrade_refused reason=origen_no_permitido origin=\"%.100s\"", o ? o : "-");
            return -1;
        }
    }
    return 0;
}

/* The value of cookie name in the upgrade request, malloc'd, or NULL. */
static char *ws_cookie(struct lws *wsi, const char *name)
{
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);
    if (!*name || len <= 0 || len > 16384)
        return NULL;
    char *all = malloc((size_t)len + 1);
    if (!all)
        return NULL;
    char *found = NULL;
    if (lws_hdr_copy(wsi, all, len + 1, WSI_TOKEN_HTTP_COOKIE) > 0) {
        size_t n = strlen(name);
        for (char *s = all; s && *s;) {
            while (*s == ' ' || *s == ';')
                s++;
            char *semi = strchr(s, ';');
            if (strncmp(s, name, n) == 0 && s[n] == '=') {
                size_t vlen = semi ? (size_t)(semi - s - n - 1) : strlen(s + n + 1);
                found = strndup(s + n + 1, vlen);
                break;
            }
            s = semi;
        }
    }
    free(all);
    return found;
}

/* ---- Engine.IO / Socket.IO ---------------------------------------------- */

/* splitmix64's finalizer: a bijection of 64-bit values. */
static uint64_t ws_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A session id (base64url, 20 chars): sockets are never resumed, so it
 * only has to be unique, which a counter is; mixed with a key drawn once at
 * start so ids are not guessable from one another either. Two syscalls a
 * socket less than drawing each from getrandom(). */
static void ws_sid(struct ws *w, char out[21])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t n = w->sid_next++;
    uint64_t a = ws_mix(n ^ w->sid_key[0]), b = ws_mix(ws_mix(n) ^ w->sid_key[1]);
    for (int i = 0; i < 10; i++) {
        out[i] = b64[(a >> (6 * i)) & 63];
        out[10 + i] = b64[(b >> (6 * i)) & 63];
    }
    out[20] = '\0';
}

static void ws_send_text(struct ws *w, struct rt_conn *c, const char *text)
{
    struct rt_buf *b = rt_buf_new(text, strlen(text));
    hub_send(w->hub, c, b);
    rt_buf_unref(b);
}

/* q_ping fired: ping, and wait pingTimeout for the pong. */
static void ws_ping_due(struct tq_node *n)
{
    struct rt_conn *c = lws_container_of(n, struct rt_conn, tn);
    struct ws *w = ws_of(c->wsi);
    if (c->state == RT_CLOSING)
        return;
    if (c->state != RT_CONNECTED &&
        lws_now_usecs() - c->opened > (lws_usec_t)RT_CONNECT_DEADLINE_S * LWS_US_PER_SEC) {
        hub_close(c, "connect_timeout", HUB_CLOSE_NORMAL);
        return;
    }
    /* the token that opened the socket has expired: the socket ends with
     * it (checked at each ping, so within one ping interval of exp plus
     * the leeway); the client fetches a fresh token and reconnects */
    if (c->state == RT_CONNECTED && c->exp &&
        (long long)time(NULL) > c->exp + w->cfg->jwt_leeway) {
        struct rt_buf *b = rt_buf_event(evt_kind(EVT_SESION_EXPIRADA)->name, "{}");
        hub_send(w->hub, c, b);
        rt_buf_unref(b);
        log_info("event=session_expired conn=%llu", (unsigned long long)c->id);
        hub_close(c, "token_expired", HUB_CLOSE_NORMAL);
        return;
    }
    ws_send_text(w, c, "2");
    c->pong_wait = true;
    tq_arm(&w->q_pong, &c->tn);
}

/* q_pong fired: no pong within pingTimeout. */
static void ws_pong_due(struct tq_node *n)
{
    struct rt_conn *c = lws_container_of(n, struct rt_conn, tn);
    if (c->state == RT_CLOSING)
        return;
    hub_close(c, "ping_timeout", HUB_CLOSE_DROP);
}

/* The ack frame 43<id>[<json>] for connection conn_id, if still there. */
static void ws_ack(struct ws *w, uint64_t conn_id, long long ack, const char *json)
{
    if (ack < 0)
        return;
    struct rt_conn *c = rt_map_get(&w->conns, conn_id);
    if (!c || c->state != RT_CONNECTED)
        return;
    struct rt_buf *b = rt_buf_printf("43%lld[%s]", ack, json);
    hub_send(w->hub, c, b);
    rt_buf_unref(b);
}

static void ws_ack_err(struct ws *w, struct rt_conn *c, long long ack, const char *codigo)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "{\"ok\":false,\"error\":\"%s\"}", codigo);
    ws_ack(w, c->id, ack, buf);
}

static void ws_on_connect(struct ws *w, struct rt_conn *c, const struct sio_packet *p)
{
    if (!sio_nsp_main(p)) {
        struct rt_buf *b = rt_buf_printf("44%.*s,{\"message\":\"Invalid namespace\"}",
                                         (int)p->nsp_len, p->nsp);
        hub_send(w->hub, c, b);
        rt_buf_unref(b);
        return;
    }
    if (c->state != RT_OPEN)
        return; /* a second CONNECT while one is pending or done */
    char *token = NULL;
    const char *why = NULL;
    if (sio_connect_parse(p->data, p->data_len, &token, &why) < 0) {
        hub_close(c, "protocol_error", HUB_CLOSE_NORMAL);
        return;
    }
    if (!token && c->cookie_token) {
        token = c->cookie_token;
        c->cookie_token = NULL;
    }
    free(c->cookie_token);
    c->cookie_token = NULL;
    if (!token) {
        w->stats->auth_fail[RT_AUTH_NO_TOKEN]++;
        ws_send_text(w, c, "44{\"message\":\"token_invalido\"}");
        hub_close(c, "auth_failed", HUB_CLOSE_NORMAL);
        return;
    }
    c->state = RT_AUTH;
    struct rt_job *j = job_new(JOB_AUTH);
    j->conn_id = c->id;
    j->submitted = lws_now_usecs();
    j->text = token;
    pool_submit(w->pool, j);
}

/* JOB_AUTH came back: join the rooms and answer the CONNECT. */
static void ws_auth_done(void *arg, struct rt_job *j)
{
    struct ws *w = arg;
    struct rt_conn *c = rt_map_get(&w->conns, j->conn_id);
    if (!c || c->state != RT_AUTH)
        return;
    if (j->status < 0 && j->err == ERR_UNAVAILABLE) {
        /* our trouble (the database is away), not the client's: close the
         * transport without CONNECT_ERROR so the client reconnects with its
         * own backoff instead of giving up */
        log_info("event=connect_deferred conn=%llu codigo=%s", (unsigned long long)c->id,
                 err_codigo(j->err));
        w->stats->auth_fail[RT_AUTH_DB]++;
        hub_close(c, "db_unavailable", HUB_CLOSE_GOAWAY);
        return;
    }
    if (j->status < 0) {
        const char *codigo = j->err == ERR_DEACTIVATED ? "usuario_desactivado"
                             : j->err == ERR_INTERNAL  ? "error_interno"
                             : j->err == ERR_RATE      ? "limite_excedido"
                                                       : "token_invalido";
        w->stats->auth_fail[j->err == ERR_DEACTIVATED ? RT_AUTH_DEACTIVATED
                            : j->err == ERR_INTERNAL  ? RT_AUTH_INTERNAL
                                                      : RT_AUTH_BAD_TOKEN]++;
        struct rt_buf *b = rt_buf_printf("44{\"message\":\"%s\"}", codigo);
        hub_send(w->hub, c, b);
        rt_buf_unref(b);
        log_info("event=connect_refused conn=%llu codigo=%s", (unsigned long long)c->id, codigo);
        hub_close(c, "auth_failed", HUB_CLOSE_NORMAL);
        return;
    }
    struct rt_user *held = hub_user(w->hub, j->user_id);
    if (held && held->pres.sockets >= (uint32_t)w->cfg->rtd_max_sockets_per_user) {
        /* a page opening sockets in a loop must not take every descriptor */
        w->stats->auth_fail[RT_AUTH_SOCKET_CAP]++;
        struct rt_buf *b = rt_buf_printf("44{\"message\":\"limite_excedido\"}");
        hub_send(w->hub, c, b);
        rt_buf_unref(b);
        log_info("event=connect_refused conn=%llu usuario=%lld codigo=limite_excedido sockets=%u",
                 (unsigned long long)c->id, j->user_id, (unsigned)held->pres.sockets);
        hub_close(c, "socket_cap", HUB_CLOSE_NORMAL);
        return;
    }
    c->state = RT_CONNECTED;
    c->exp = j->exp;
    hub_reserve(c, j->nids);
    for (size_t i = 0; i < j->nids; i++)
        hub_join(w->hub, c, j->ids[i]);
    hub_replay(w->hub, c, j->user_id, j->submitted);
    hub_user_attach(w->hub, c, j->user_id);
    char sid[21];
    ws_sid(w, sid);
    struct rt_buf *b = rt_buf_printf("40{\"sid\":\"%s\"}", sid);
    hub_send(w->hub, c, b);
    rt_buf_unref(b);
    log_info("event=connect conn=%llu usuario=%lld salas=%zu", (unsigned long long)c->id,
             j->user_id, j->nids);
}

/* chat:typing {chat_id, escribiendo}: only members (sockets in the room)
 * may type; the event reaches every instance through chat_efimeros. */
static void ws_typing(struct ws *w, struct rt_conn *c, json_object *arg, long long ack)
{
    long long chat_id = 0;
    bool escribiendo = true;
    struct err e;
    if (!arg || !json_object_is_type(arg, json_type_object) ||
        jsonx_get_id(arg, "chat_id", &chat_id, &e) != 0 ||
        jsonx_get_bool(arg, "escribiendo", &escribiendo, &e) < 0) {
        ws_ack_err(w, c, ack, "solicitud_invalida");
        return;
    }
    bool member = false;
    for (uint32_t i = 0; i < c->nrooms && !member; i++)
        member = c->rooms[i].room->chat_id == chat_id;
    if (!member) {
        ws_ack_err(w, c, ack, "no_encontrado");
        return;
    }
    struct rt_job *j = job_new(JOB_NOTIFY);
    j->conn_id = c->id;
    j->ack = ack;
    char *body;
    if (asprintf(&body,
                 "{\"tipo\":\"%s\",\"sala\":\"chat:%lld\",\"excluir\":%lld,"
                 "\"t\":%lld,"
                 "\"payload\":{\"chat_id\":%lld,\"usuario_id\":%lld,\"escribiendo\":%s}}",
                 evt_kind(EVT_CHAT_ESCRIBIENDO)->name, chat_id, c->user->id, (long long)time(NULL),
                 chat_id, c->user->id,
                 escribiendo ? "true" : "false") < 0)
        abort();
    j->text = feed_sign_ephemeral(w->feed, body);
    free(body);
    pool_submit(w->pool, j);
}

static void ws_status(struct ws *w, struct rt_conn *c, json_object *arg, long long ack)
{
    const char *estatus = NULL;
    struct err e;
    if (!arg || !json_object_is_type(arg, json_type_object) ||
        jsonx_get_str(arg, "estatus", &estatus, &e) != 0 ||
        (strcmp(estatus, "en_linea") != 0 && strcmp(estatus, "inactivo") != 0)) {
        ws_ack_err(w, c, ack, "solicitud_invalida");
        return;
    }
    bool idle = strcmp(estatus, "inactivo") == 0;
    if (idle != c->inactive) {
        c->inactive = idle;
        if (idle)
            c->user->pres.inactive++;
        else
            c->user->pres.inactive--;
        pres_changed(w->pres, &c->user->pres);
    }
    ws_ack(w, c->id, ack, "{\"ok\":true}");
}

/* chat:marcar_leido / chat:reaccionar run shared domain code on a worker. */
static void ws_domain(struct ws *w, struct rt_conn *c, enum rt_job_kind kind, json_object *arg,
                      long long ack)
{
    if (!arg || !json_object_is_type(arg, json_type_object)) {
        ws_ack_err(w, c, ack, "solicitud_invalida");
        return;
    }
    struct rt_job *j = job_new(kind);
    j->conn_id = c->id;
    j->user_id = c->user->id;
    j->ack = ack;
    j->text = strdup(json_object_to_json_string_ext(arg, JSON_C_TO_STRING_PLAIN));
    pool_submit(w->pool, j);
}

/* Inbound events that cost a database round trip, per socket and second:
 * far above what a client does (typing is sent every few seconds), low
 * enough that one socket cannot flood PostgreSQL. */
#define RT_RATE_PER_SECOND 20
/* The same for all of one user's sockets together, so opening many
 * sockets does not multiply the budget. */
#define RT_USER_RATE_PER_SECOND 40

static bool ws_rate_ok(struct rt_conn *c)
{
    uint32_t now = (uint32_t)(lws_now_usecs() / LWS_US_PER_SEC);
    if (now != c->rate_second) {
        c->rate_second = now;
        c->rate_count = 0;
    }
    if (c->rate_count >= RT_RATE_PER_SECOND)
        return false;
    struct rt_user *u = c->user;
    if (u) {
        if (now != u->rate_second) {
            u->rate_second = now;
            u->rate_count = 0;
        }
        if (u->rate_count >= RT_USER_RATE_PER_SECOND)
            return false;
        u->rate_count++;
    }
    c->rate_count++;
    return true;
}

static void ws_on_event(struct ws *w, struct rt_conn *c, const struct sio_packet *p)
{
    json_object *arr, *arg;
    const char *name, *why;
    if (c->state != RT_CONNECTED || !sio_nsp_main(p) ||
        sio_event_parse(p->data, p->data_len, &arr, &name, &arg, &why) < 0) {
        hub_close(c, "protocol_error", HUB_CLOSE_NORMAL);
        return;
    }
    /* the client -> server rows of the vocabulary (domain/evt.h) */
    const struct evt_kind *k = evt_find(name);
    if (k && k->path != EVT_INBOUND)
        k = NULL;
    if (k && (k->flags & EVT_F_COSTLY) && !ws_rate_ok(c)) {
        ws_ack_err(w, c, p->ack, "limite_excedido");
    } else {
        switch (k ? k->id : EVT__COUNT) {
        case EVT_CHAT_TYPING: ws_typing(w, c, arg, p->ack); break;
        case EVT_PRESENCE_STATUS: ws_status(w, c, arg, p->ack); break;
        case EVT_CHAT_MARCAR_LEIDO: ws_domain(w, c, JOB_MARK_READ, arg, p->ack); break;
        case EVT_CHAT_REACCIONAR: ws_domain(w, c, JOB_REACT, arg, p->ack); break;
        default: ws_ack_err(w, c, p->ack, "evento_desconocido"); break;
        }
    }
    json_object_put(arr);
}

static void ws_on_frame(struct ws *w, struct rt_conn *c, const char *buf, size_t len)
{
    struct sio_packet p;
    const char *why = NULL;
    if (c->state == RT_CLOSING)
        return;
    if (sio_parse(buf, len, &p, &why) < 0) {
        log_info("event=bad_frame conn=%llu reason=\"%s\"", (unsigned long long)c->id, why);
        hub_close(c, "protocol_error", HUB_CLOSE_NORMAL);
        return;
    }
    switch (p.eio) {
    case SIO_EIO_PONG:
        if (c->pong_wait) {
            c->pong_wait = false;
            tq_arm(&w->q_ping, &c->tn);
        }
        return;
    case SIO_EIO_PING: {
        /* clients only ever ping "probe" (the transport upgrade check):
         * a bigger payload is not echoed, so nobody makes rtd queue copies
         * of what they send */
        if (p.data_len > RT_PING_MAX) {
            hub_close(c, "protocol_error", HUB_CLOSE_NORMAL);
            return;
        }
        struct rt_buf *b = rt_buf_printf("3%.*s", (int)p.data_len, p.data);
        hub_send(w->hub, c, b);
        rt_buf_unref(b);
        return;
    }
    case SIO_EIO_NOOP:
        return;
    case SIO_EIO_CLOSE:
        hub_close(c, "client_close", HUB_CLOSE_NORMAL);
        return;
    case SIO_EIO_MESSAGE:
        break;
    default:
        hub_close(c, "protocol_error", HUB_CLOSE_NORMAL);
        return;
    }
    switch (p.type) {
    case SIO_CONNECT:
        ws_on_connect(w, c, &p);
        break;
    case SIO_DISCONNECT:
        if (sio_nsp_main(&p))
            hub_close(c, "client_disconnect", HUB_CLOSE_NORMAL);
        break;
    case SIO_EVENT:
        ws_on_event(w, c, &p);
        break;
    case SIO_ACK:
        break; /* the server never asks for acks */
    default:
        hub_close(c, "protocol_error", HUB_CLOSE_NORMAL);
        break;
    }
}

static void ws_established(struct lws *wsi, struct ws *w, struct rt_conn *c)
{
    memset(c, 0, sizeof(*c));
    c->wsi = wsi;
    c->id = ++w->next_conn_id;
    c->state = RT_OPEN;
    c->opened = lws_now_usecs();
    c->reason = "transport_close";
    if (w->cfg->jwt_cookie[0])
        c->cookie_token = ws_cookie(wsi, w->cfg->jwt_cookie);
    rt_map_put(&w->conns, c->id, c);
    w->nconns++;
    w->stats->connects++;
    char sid[21];
    ws_sid(w, sid);
    struct rt_buf *b = rt_buf_printf(
        "0{\"sid\":\"%s\",\"upgrades\":[],\"pingInterval\":%d,\"pingTimeout\":%d,"
        "\"maxPayload\":%d}",
        sid, w->cfg->rtd_ping_interval_ms, w->cfg->rtd_ping_timeout_ms,
        w->cfg->rtd_max_payload);
    hub_send(w->hub, c, b);
    rt_buf_unref(b);
    tq_arm(&w->q_ping, &c->tn);
    if (w->stopping)
        hub_close(c, "server_shutdown", HUB_CLOSE_DROP);
}

static void ws_closed(struct ws *w, struct rt_conn *c)
{
    if (!c->id)
        return;
    tq_cancel(&c->tn);
    if (c->user)
        log_info("event=disconnect conn=%llu usuario=%lld reason=%s duracion_ms=%lld",
                 (unsigned long long)c->id, c->user->id, c->reason,
                 (long long)((lws_now_usecs() - c->opened) / 1000));
    hub_leave_all(w->hub, c);
    hub_user_detach(w->hub, c);
    hub_drop_queue(c);
    free(c->cookie_token);
    free(c->rx);
    rt_map_del(&w->conns, c->id);
    w->nconns--;
    c->id = 0;
}

static int ws_writeable(struct ws *w, struct rt_conn *c)
{
    struct rt_out *o = c->qhead;
    if (!o) {
        if (c->state == RT_CLOSING) {
            /* without a reason lws closes at once (hub.h, hub_close_how) */
            if (c->close_how != HUB_CLOSE_DROP)
                lws_close_reason(c->wsi,
                                 c->close_how == HUB_CLOSE_GOAWAY ? LWS_CLOSE_STATUS_GOINGAWAY
                                                                  : LWS_CLOSE_STATUS_NORMAL,
                                 NULL, 0);
            return -1;
        }
        return 0;
    }
    c->qhead = o->next;
    if (!c->qhead)
        c->qtail = NULL;
    c->qlen--;
    c->qbytes -= o->b->len;
    int n = lws_write(c->wsi, (unsigned char *)RT_BUF_TEXT(o->b), o->b->len, LWS_WRITE_TEXT);
    if (o->b->at_us && n >= 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
        rt_stats_lag(w->stats, (double)(us - o->b->at_us) / 1e6);
    }
    rt_buf_unref(o->b);
    free(o);
    if (n < 0)
        return -1;
    if (c->qhead || c->state == RT_CLOSING)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static int ws_receive(struct ws *w, struct rt_conn *c, const char *in, size_t len)
{
    if (lws_frame_is_binary(c->wsi)) {
        hub_close(c, "protocol_error", HUB_CLOSE_NORMAL);
        return 0;
    }
    bool final = lws_is_final_fragment(c->wsi) && lws_remaining_packet_payload(c->wsi) == 0;
    if (final && !c->rx && (c->state == RT_CONNECTED ||
                            len <= (size_t)w->cfg->jwt_max_bytes + RT_PREAUTH_SLACK)) {
        ws_on_frame(w, c, in, len);
        return 0;
    }
    /* before CONNECT a client may send little more than its token */
    size_t max = c->state == RT_CONNECTED ? (size_t)w->cfg->rtd_max_payload
                                          : (size_t)w->cfg->jwt_max_bytes + RT_PREAUTH_SLACK;
    if (c->rxlen + len > max) {
        free(c->rx);
        c->rx = NULL;
        c->rxlen = 0;
        log_info("event=frame_too_big conn=%llu", (unsigned long long)c->id);
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        c->reason = "too_big";
        return -1;
    }
    char *nb = realloc(c->rx, c->rxlen + len + 1);
    if (!nb)
        return -1;
    memcpy(nb + c->rxlen, in, len);
    c->rx = nb;
    c->rxlen += len;
    if (final) {
        char *buf = c->rx;
        size_t n = c->rxlen;
        c->rx = NULL;
        c->rxlen = 0;
        ws_on_frame(w, c, buf, n);
        free(buf);
    }
    return 0;
}

int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct ws *w = ws_of(wsi);
    struct rt_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return ws_http(wsi, w, (const char *)in);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return w->stopping ? -1 : ws_filter(w, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        ws_established(wsi, w, c);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!c || !c->id)
            return -1;
        return ws_receive(w, c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!c || !c->id)
            return 0;
        return ws_writeable(w, c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c && c->id && c->state != RT_CLOSING)
            c->reason = "transport_close";
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (c)
            ws_closed(w, c);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (w && w->pool)
            pool_finish(w->pool);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* JOB_NOTIFY, JOB_MARK_READ, JOB_REACT came back: the ack. */
static void ws_ack_done(void *arg, struct rt_job *j)
{
    ws_ack(arg, j->conn_id, j->ack, j->result ? j->result : "{\"ok\":true}");
}

void ws_init(struct ws *w, const struct cfg *cfg, const char *instance, struct timers *t,
             struct rt_pool *pool, struct hub *hub, struct presence *pres, struct feed *feed,
             struct rt_stats *stats)
{
    memset(w, 0, sizeof(*w));
    if (getrandom(w->sid_key, sizeof(w->sid_key), 0) != (ssize_t)sizeof(w->sid_key))
        w->sid_key[0] = (uint64_t)lws_now_usecs();
    w->cfg = cfg;
    w->instance = instance;
    w->pool = pool;
    w->hub = hub;
    w->pres = pres;
    w->feed = feed;
    w->stats = stats;
    tq_init(t, &w->q_ping, (lws_usec_t)cfg->rtd_ping_interval_ms * LWS_US_PER_MS, ws_ping_due);
    tq_init(t, &w->q_pong, (lws_usec_t)cfg->rtd_ping_timeout_ms * LWS_US_PER_MS, ws_pong_due);
    pool_on_done(pool, JOB_AUTH, ws_auth_done, w);
    pool_on_done(pool, JOB_NOTIFY, ws_ack_done, w);
    pool_on_done(pool, JOB_MARK_READ, ws_ack_done, w);
    pool_on_done(pool, JOB_REACT, ws_ack_done, w);
}

void ws_stop(struct ws *w)
{
    w->stopping = true;
    for (size_t i = 0; i < w->conns.cap; i++)
        if (rt_map_live(&w->conns, i))
            hub_close(w->conns.e[i].val, "server_shutdown", HUB_CLOSE_DROP);
}

void ws_release(struct ws *w)
{
    rt_map_release(&w->conns);
}
