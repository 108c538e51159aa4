/* rt.h: the realtime daemon's internals: the daemon state, connections,
 * rooms, users, outgoing frames, the worker pool and the event feed.
 * Everything here runs on the lws loop thread except the job functions in
 * work.c, which run on worker threads and touch only their job. */
#ifndef CHAT_RT_H
#define CHAT_RT_H

#include <libwebsockets.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "core/err.h"
#include "wire/token.h"
#include "domain/presence.h"
#include "metrics.h"
#include "timer.h"

/* ---- outgoing frames -------------------------------------------------- */

/* One text frame, shared by every socket it goes to (a fan-out allocates
 * it once). The LWS_PRE bytes before the text are lws's headroom. */
struct rt_buf {
    uint32_t refs;
    uint32_t len;
    int64_t at_us;          /* an eventos row's time (µs since the epoch) for
                               the delivery lag; 0: not an eventos row */
    unsigned char mem[];    /* LWS_PRE + len + 1 */
};
#define RT_BUF_TEXT(b) ((char *)(b)->mem + LWS_PRE)

/* A new frame holding len bytes of text (refs 1); aborts when out of
 * memory. */
struct rt_buf *rt_buf_new(const char *text, size_t len);
/* printf into a new frame. */
struct rt_buf *rt_buf_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 42["name",<json_text>] */
struct rt_buf *rt_buf_event(const char *name, const char *json_text);
void rt_buf_unref(struct rt_buf *b);

struct rt_out {
    struct rt_out *next;
    struct rt_buf *b;
};

/* ---- a small u64 -> pointer hash map ---------------------------------- */

struct rt_map_ent {
    uint64_t key;
    void *val;              /* NULL: empty slot */
};

struct rt_map {
    struct rt_map_ent *e;
    size_t cap, n, used;    /* used counts tombstones too */
};

void *rt_map_get(const struct rt_map *m, uint64_t key);
void rt_map_put(struct rt_map *m, uint64_t key, void *val);
void rt_map_del(struct rt_map *m, uint64_t key);
void rt_map_release(struct rt_map *m);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (rt_map_live(m, i)) ... */
bool rt_map_live(const struct rt_map *m, size_t i);

/* ---- connections, rooms, users ---------------------------------------- */

enum rt_conn_state {
    RT_OPEN,                /* engine.io open, no socket.io CONNECT yet */
    RT_AUTH,                /* CONNECT received, token being checked */
    RT_CONNECTED,           /* in its rooms */
    RT_CLOSING,             /* flushing, then closing */
};

struct rt_room;
struct rt_user;

/* Where a connection sits in one room (for O(1) removal both ways). */
struct rt_slot {
    struct rt_room *room;
    uint32_t idx;           /* index of this connection in room->m */
};

/* The per-session data lws allocates for each websocket. Kept small. */
/* Before CONNECT: seconds a socket has to send it, the largest frame
 * (jwt_max_bytes plus this), and for everyone the largest ping payload a
 * client may send ("probe"). */
#define RT_CONNECT_DEADLINE_S 45
#define RT_PREAUTH_SLACK 1024
#define RT_PING_MAX 16

struct rt_conn {
    struct lws *wsi;
    uint64_t id;            /* 0 until established */
    struct rt_user *user;   /* set once connected */
    struct rt_conn *unext, *uprev;  /* the user's connections */
    struct rt_out *qhead, *qtail;
    uint32_t qlen;
    uint32_t qbytes;        /* text bytes queued, at most rtd_queue_max_bytes */
    uint32_t stamp;         /* dedupe in multi-room fan-out */
    uint32_t rate_second;   /* inbound events that reach the database: */
    uint16_t rate_count;    /*   how many in that second */
    uint8_t state;
    bool inactive;          /* reported presence:status inactivo */
    bool pong_wait;
    bool goaway;            /* close with 1001 (shutdown) instead of 1000 */
    const char *reason;     /* why it closed, for the log (static) */
    lws_usec_t opened;
    struct tq_node tn;      /* rt->q_ping, or rt->q_pong while pong_wait */
    struct rt_slot *rooms;
    uint32_t nrooms, caprooms;
    char *cookie_token;     /* the ERP cookie, kept until CONNECT */
    long long exp;          /* the token's exp (unix seconds), once connected */
    char *rx;               /* a fragmented frame being reassembled */
    size_t rxlen;
};

struct rt_member {
    struct rt_conn *c;
    uint32_t slot;          /* index in c->rooms */
};

/* chat:<id> on this instance: the local sockets in it. */
struct rt_room {
    long long chat_id;
    struct rt_member *m;
    uint32_t n, cap;
};

/* A user with sockets here (or in the grace period after the last one). */
struct rt_user {
    struct rt *rt;
    long long id;
    struct rt_conn *conns;
    uint32_t sockets, inactive;
    bool pres_queued;       /* in rt->pres_q, waiting for the next batch */
    bool sync_inflight;     /* in the batch in flight */
    bool sync_dirty;        /* its last write failed: the heartbeat retries */
    uint32_t rate_second;   /* costly inbound events of all the user's */
    uint16_t rate_count;    /*   sockets here, in that second */
    struct tq_node grace;   /* armed in rt->q_grace after the last socket */
};

/* ---- the daemon ------------------------------------------------------- */

struct rt_pool;
struct rt_job;

/* An eventos row by its feed position. */
struct rt_seen {
    long long xid, id;
};
#define RT_AHEAD_MAX 4096

/* A membership change seen recently, replayed for a socket whose auth
 * (and chat list) was being read while the change went by. */
#define RT_RECENT 256
struct rt_recent {
    lws_usec_t at;
    uint8_t op;             /* RT_RECENT_JOIN, _LEAVE, _GONE, _MEMBERS */
    long long user, chat;
    long long *ids;         /* _MEMBERS: the members (malloc'd) */
    size_t nids;
};
enum { RT_RECENT_JOIN = 1, RT_RECENT_LEAVE, RT_RECENT_GONE, RT_RECENT_MEMBERS };

struct rt {
    const struct cfg *cfg;
    struct token_keys *keys;
    unsigned char efimeros_key[32]; /* HMAC key of chat_efimeros payloads */
    time_t efimeros_warned_at;      /* last log line about a rejected one */
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct ev_loop *loop;   /* libev loop lws runs on; NULL: lws's poll() */
    char instance[160];     /* rtd_instancias.id */
    char host[128];
    struct presence_instance me;    /* instance, host, pid */
    struct rt_map conns;    /* id -> rt_conn */
    struct rt_map users;    /* usuarios.id -> rt_user */
    struct rt_map rooms;    /* chats.id -> rt_room */
    uint64_t next_conn_id;
    uint32_t stamp;
    size_t nconns;
    struct rt_pool *pool;
    bool stopping;
    /* every per-socket and per-user timer (timer.h) */
    struct timers timers;
    struct tq q_ping;       /* next Engine.IO ping (pingInterval) */
    struct tq q_pong;       /* pong deadline (pingTimeout) */
    struct tq q_grace;      /* presence grace after a user's last socket */
    /* the event feed (feed.c) */
    PGconn *lconn;          /* LISTEN connection, non-blocking */
    struct lws *lwsi;       /* its adopted descriptor */
    bool listen_pending;    /* a connect job is out */
    bool ever_listened;
    bool query_busy, query_again;
    bool query_ahead;       /* the query in flight is an ahead fetch */
    long long *notified;    /* ids announced by NOTIFY, not yet delivered */
    size_t nnotified;
    struct rt_seen *ahead;  /* rows delivered ahead of the cursor */
    size_t nahead;
    bool cursor_set;
    long long cur_xid, cur_id;
    int backoff_ms;
    uint64_t delivered;
    lws_sorted_usec_list_t sul_feed, sul_reconnect, sul_heartbeat;
    bool heartbeat_inflight;
    /* presence writes, batched (presence.c) */
    long long *pres_q;      /* users waiting for the next batch */
    size_t npres_q, cappres_q;
    bool pres_inflight;     /* one batch at a time, so writes stay in order */
    lws_sorted_usec_list_t sul_pres;
    struct rt_recent recent[RT_RECENT];
    unsigned recent_next;
    struct rt_stats stats;  /* GET /chat/rtd/metrics (metrics.c) */
};

/* rt from any wsi of this context. */
struct rt *rt_of(struct lws *wsi);

/* ---- hub.c: rooms, users, sending ------------------------------------- */

/* Queues b (taking a reference) on c and asks for a writeable callback.
 * A connection whose queue is too long is closed (slow consumer). */
void hub_send(struct rt *rt, struct rt_conn *c, struct rt_buf *b);
/* Frees every frame queued on c. */
void hub_drop_queue(struct rt_conn *c);
/* Queues b then closes c once flushed; reason is logged. */
void hub_close(struct rt *rt, struct rt_conn *c, const char *reason, bool goaway);
void hub_join(struct rt *rt, struct rt_conn *c, long long chat_id);
void hub_leave(struct rt *rt, struct rt_conn *c, long long chat_id);
void hub_leave_all(struct rt *rt, struct rt_conn *c);
/* Sends b to every socket in chat_id, skipping user skip_user's (0: none). */
void hub_room_send(struct rt *rt, long long chat_id, struct rt_buf *b, long long skip_user);
void hub_user_send(struct rt *rt, long long user_id, struct rt_buf *b);
/* Attaches c to its user (creating the record) and counts it. */
void hub_user_attach(struct rt *rt, struct rt_conn *c, long long user_id);
void hub_user_detach(struct rt *rt, struct rt_conn *c);
/* Frees the user record if nothing refers to it any more. */
void hub_user_maybe_free(struct rt *rt, struct rt_user *u);
/* Applies to c (just authenticated as user) the membership changes seen
 * since since, in order. */
void hub_replay(struct rt *rt, struct rt_conn *c, long long user, lws_usec_t since);
void hub_recent_release(struct rt *rt);
/* Delivers one eventos row (or an ephemeral event) to its room. chats
 * holds the chat ids of the user of a presencia:<id> room; at_us is the
 * row's time for the delivery lag (0 for an ephemeral event). */
void hub_deliver(struct rt *rt, const char *tipo, const char *sala, const char *payload,
                 const long long *chats, size_t nchats, long long skip_user, int64_t at_us);

/* ---- presence.c --------------------------------------------------------- */

/* The user's local counts changed: sync now, or after the grace period
 * when the last socket went away. */
void pres_changed(struct rt *rt, struct rt_user *u);
/* Heartbeat timer: starts the periodic instance heartbeat and sweep. */
void pres_start(struct rt *rt);
/* Cancels the heartbeat and the batch timer (shutdown). */
void pres_stop(struct rt *rt);
/* After the database came back: rewrite every local user's row. */
void pres_resync_all(struct rt *rt);
/* q_grace fired: the user's grace period is over. */
void pres_grace_due(struct tq_node *n);
/* Job results. */
void pres_done(struct rt *rt, struct rt_job *j);
void pres_heartbeat_done(struct rt *rt, struct rt_job *j);

/* ---- work.c: the worker pool -------------------------------------------- */

enum rt_job_kind {
    JOB_AUTH,               /* token -> principal, chat ids */
    JOB_NOTIFY,             /* pg_notify('chat_efimeros', text) */
    JOB_PRESENCE,           /* write counts, recompute a user's status */
    JOB_HEARTBEAT,          /* instance heartbeat and stale sweep */
    JOB_LISTEN,             /* open the LISTEN connection */
    JOB_MARK_READ,          /* chat:marcar_leido */
    JOB_REACT,              /* chat:reaccionar */
    JOB_SHUTDOWN,           /* remove this instance's presence rows */
};

struct rt_job {
    struct rt_job *next;
    enum rt_job_kind kind;
    uint64_t conn_id;
    long long user_id;
    long long ack;          /* socket.io ack id to answer, -1 none */
    char *text;             /* input: token, notify payload, event JSON */
    struct presence_count *pres;    /* JOB_PRESENCE (malloc'd) */
    size_t npres;
    int changed;            /* JOB_PRESENCE: statuses that changed */
    bool want_cursor;       /* JOB_LISTEN: also read eventos_horizonte() */
    lws_usec_t submitted;   /* JOB_AUTH: when the CONNECT came */
    long long exp;          /* JOB_AUTH: the token's exp */
    /* results */
    int status;             /* 0 ok, -1 failed */
    enum err_code err;
    long long *ids;         /* JOB_AUTH: chat ids (malloc'd) */
    size_t nids;
    char *result;           /* ack JSON (malloc'd) */
    PGconn *conn;           /* JOB_LISTEN */
    long long xid;          /* JOB_LISTEN with want_cursor */
    bool lost_instance;     /* JOB_HEARTBEAT: our row was gone */
};

/* Starts n workers, each with its own database connection. */
struct rt_pool *pool_start(struct rt *rt, int n);
/* Stops and joins the workers; unfinished jobs are dropped. */
void pool_stop(struct rt_pool *p);
/* A new zeroed job (ack -1); aborts when out of memory. */
struct rt_job *job_new(enum rt_job_kind kind);
void job_free(struct rt_job *j);
/* Hands j to the workers (they own it until it comes back). */
void pool_submit(struct rt_pool *p, struct rt_job *j);
/* Takes every finished job, oldest first (linked by next). */
struct rt_job *pool_take_done(struct rt_pool *p);
/* Runs j on the calling thread with a worker's connection (shutdown). */
void pool_run_now(struct rt_pool *p, struct rt_job *j);

/* ---- ws.c / main.c -------------------------------------------------------- */

/* q_ping / q_pong fired for a socket (timer.h). */
void ws_ping_due(struct tq_node *n);
void ws_pong_due(struct tq_node *n);
/* A JOB_AUTH came back: join the rooms and answer the CONNECT. */
void rt_auth_done(struct rt *rt, struct rt_job *j);
/* Handles one finished job on the loop. */
void rt_job_done(struct rt *rt, struct rt_job *j);
/* The ack frame 43<id>[<json>] for connection id conn_id, if still there. */
void rt_ack(struct rt *rt, uint64_t conn_id, long long ack, const char *json);
extern const struct lws_protocols rt_protocols[];

/* ---- feed.c -------------------------------------------------------------- */

void feed_start(struct rt *rt);
void feed_listen_done(struct rt *rt, struct rt_job *j);
/* LWS_CALLBACK_RAW_* of the adopted LISTEN descriptor. */
int feed_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);
void feed_stop(struct rt *rt);
/* json signed for chat_efimeros ("<hex HMAC>.<json>"), malloc'd. */
char *feed_sign_ephemeral(const struct rt *rt, const char *json);

#endif
