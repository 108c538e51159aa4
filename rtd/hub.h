/* hub.h: sockets, rooms (chat:<id>) and users (user:<id>) on this
 * instance, delivery and fan-out to them, and what membership events do
 * to the rooms. The hub owns the user records (presence's part of each is
 * embedded, presence.h) and the rooms; the sockets themselves are lws's
 * per-session data, opened and closed by ws.c. Loop thread only. */
#ifndef CHAT_RTD_HUB_H
#define CHAT_RTD_HUB_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "metrics.h"
#include "presence.h"
#include "timer.h"
#include "util.h"

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
    uint8_t close_how;      /* enum hub_close_how */
    const char *reason;     /* why it closed, for the log (static) */
    lws_usec_t opened;
    struct tq_node tn;      /* the ping queue, or the pong queue while pong_wait */
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

/* A user with sockets here (or held by presence after the last one). */
struct rt_user {
    long long id;
    struct rt_conn *conns;
    struct pres_user pres;  /* counts (sockets, inactive) and presence state */
    uint32_t rate_second;   /* costly inbound events of all the user's */
    uint16_t rate_count;    /*   sockets here, in that second */
};

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

struct hub {
    const struct cfg *cfg;
    struct rt_stats *stats;
    struct presence *pres;
    struct rt_map users;    /* usuarios.id -> rt_user */
    struct rt_map rooms;    /* chats.id -> rt_room */
    uint32_t stamp;
    uint64_t delivered;     /* events handed to their room */
    bool stopping;          /* user records are kept until hub_release */
    struct rt_recent recent[RT_RECENT];
    unsigned recent_next;
};

/* Sets h up; user records are freed when presence lets go of them. */
void hub_init(struct hub *h, const struct cfg *cfg, struct rt_stats *stats,
              struct presence *pres);
/* Shutdown: user records stay until hub_release. */
void hub_stop(struct hub *h);
/* Frees every user record, room index and the recent changes. */
void hub_release(struct hub *h);

/* Queues b (taking a reference) on c and asks for a writeable callback.
 * A connection whose queue is too long is closed (slow consumer). */
void hub_send(struct hub *h, struct rt_conn *c, struct rt_buf *b);
/* Frees every frame queued on c. */
void hub_drop_queue(struct rt_conn *c);
/* How a connection ends once its queue is flushed. A close frame makes lws
 * wait for the peer's answer on a timer, and lws keeps its timers in one
 * sorted list: closing 10,000 sockets that way is 10,000 walks of a list
 * 10,000 long (a shutdown took 7 s, all of it there). So a close frame goes
 * only to a peer that is there to read it and cares why; a dead peer (no
 * pong), one that does not read (slow consumer) and every socket at shutdown
 * get their TCP connection closed, which Socket.IO clients treat as a
 * transport close and reconnect from (with delta sync) just the same. */
enum hub_close_how {
    HUB_CLOSE_NORMAL,       /* close frame 1000, then lws waits for the answer */
    HUB_CLOSE_GOAWAY,       /* close frame 1001 (the server cannot serve it) */
    HUB_CLOSE_DROP,         /* no close frame: the TCP connection is closed */
};

/* Closes c once its queue is flushed; reason is logged. */
void hub_close(struct rt_conn *c, const char *reason, enum hub_close_how how);
/* Makes room in c for n more rooms at once (its chat list at CONNECT), so
 * an idle socket holds its slots without the slack of growing by doubling. */
void hub_reserve(struct rt_conn *c, size_t n);
void hub_join(struct hub *h, struct rt_conn *c, long long chat_id);
void hub_leave(struct hub *h, struct rt_conn *c, long long chat_id);
void hub_leave_all(struct hub *h, struct rt_conn *c);
/* Sends b to every socket in chat_id, skipping user skip_user's (0: none). */
void hub_room_send(struct hub *h, long long chat_id, struct rt_buf *b, long long skip_user);
void hub_user_send(struct hub *h, long long user_id, struct rt_buf *b);
/* The user record of user_id, or NULL. */
struct rt_user *hub_user(struct hub *h, long long user_id);
/* Attaches c to its user (creating the record) and counts it. */
void hub_user_attach(struct hub *h, struct rt_conn *c, long long user_id);
void hub_user_detach(struct hub *h, struct rt_conn *c);
/* Applies to c (just authenticated as user) the membership changes seen
 * since since, in order. */
void hub_replay(struct hub *h, struct rt_conn *c, long long user, lws_usec_t since);
/* Delivers one eventos row (or an ephemeral event) to its room. chats
 * holds the chat ids of the user of a presencia:<id> room; at_us is the
 * row's time for the delivery lag (0 for an ephemeral event). */
void hub_deliver(struct hub *h, const char *tipo, const char *sala, const char *payload,
                 const long long *chats, size_t nchats, long long skip_user, int64_t at_us);

#endif
