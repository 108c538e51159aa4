/* ws.h: the lws protocol "chat-rtd": HTTP (health, metrics, refusing
 * polling), the Engine.IO websocket and its ping/pong timers, Socket.IO
 * packets, CONNECT (the token checked on a worker) and the inbound events.
 * The websockets are lws's per-session data (struct rt_conn, hub.h); the
 * context's user pointer is the struct ws. Loop thread only. */
#ifndef CHAT_RTD_WS_H
#define CHAT_RTD_WS_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "feed.h"
#include "hub.h"
#include "metrics.h"
#include "presence.h"
#include "timer.h"
#include "util.h"
#include "work.h"

/* lws's receive buffer per websocket: clients send small frames (typing,
 * acks), so keep it small for idle memory; larger frames arrive in pieces
 * and are reassembled up to rtd_max_payload. */
#define WS_RX_BUFFER 1024

struct ws {
    const struct cfg *cfg;
    const char *instance;   /* rtd_instancias.id, for the health answer */
    struct rt_pool *pool;
    struct hub *hub;
    struct presence *pres;
    struct feed *feed;
    struct rt_stats *stats;
    struct rt_map conns;    /* id -> rt_conn */
    uint64_t next_conn_id;
    size_t nconns;
    struct tq q_ping;       /* next Engine.IO ping (pingInterval) */
    struct tq q_pong;       /* pong deadline (pingTimeout) */
    bool stopping;          /* refuses upgrades, closes what opens */
    uint64_t sid_key[2];    /* random, drawn once: session ids without a
                               getrandom() per socket */
    uint64_t sid_next;
};

/* Sets w up: its timer queues in t, its job kinds' results in pool. */
void ws_init(struct ws *w, const struct cfg *cfg, const char *instance, struct timers *t,
             struct rt_pool *pool, struct hub *hub, struct presence *pres, struct feed *feed,
             struct rt_stats *stats);
/* Shutdown: refuses new upgrades and closes every socket with 1001 once
 * its queue is flushed. */
void ws_stop(struct ws *w);
/* Frees w's own memory (the sockets are lws's). */
void ws_release(struct ws *w);
/* The protocol callback (per-session data: struct rt_conn). */
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len);

#endif
