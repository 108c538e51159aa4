/* feed.h: the event feed: one LISTEN connection inside the lws loop (its
 * socket adopted as a raw descriptor of the "chat-pg" protocol, whose
 * callback is feed_callback), reading eventos by the (xid, id) cursor on
 * every NOTIFY and on its own 1 s timer and handing each row to the hub;
 * chat_efimeros notifications are checked and handed on as they come.
 * Losing the connection reconnects with backoff, keeping the cursor.
 * Loop thread only, except that the connection is opened on a worker. */
#ifndef CHAT_RTD_FEED_H
#define CHAT_RTD_FEED_H

#include <libpq-fe.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/cfg.h"
#include "hub.h"
#include "metrics.h"
#include "presence.h"
#include "work.h"

/* An eventos row by its feed position. */
struct feed_seen {
    long long xid, id;
};
#define FEED_AHEAD_MAX 4096

struct feed {
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct rt_pool *pool;
    struct hub *hub;
    struct presence *pres;  /* rewritten after the database came back */
    struct rt_stats *stats;
    unsigned char efimeros_key[32]; /* HMAC key of chat_efimeros payloads */
    time_t efimeros_warned_at;      /* last log line about a rejected one */
    PGconn *lconn;          /* LISTEN connection, non-blocking */
    struct lws *lwsi;       /* its adopted descriptor */
    bool stopping;
    bool listen_pending;    /* a connect job is out */
    bool ever_listened;
    bool query_busy, query_again;
    bool query_ahead;       /* the query in flight is an ahead fetch */
    long long *notified;    /* ids announced by NOTIFY, not yet delivered */
    size_t nnotified;
    struct feed_seen *ahead;    /* rows delivered ahead of the cursor */
    size_t nahead;
    bool cursor_set;
    long long cur_xid, cur_id;
    int backoff_ms;
    lws_sorted_usec_list_t sul_tick, sul_reconnect;
};

/* Sets f up (key: the chat_efimeros HMAC key, 32 bytes); its connect
 * job's results come back through pool. */
void feed_init(struct feed *f, struct lws_context *ctx, struct lws_vhost *vh,
               struct rt_pool *pool, struct hub *hub, struct presence *pres,
               struct rt_stats *stats, const unsigned char key[32]);
/* Opens the LISTEN connection and starts the 1 s timer. */
void feed_start(struct feed *f);
/* Closes the connection, cancels the timers, frees f's memory. */
void feed_stop(struct feed *f);
/* True while the LISTEN connection is up. */
bool feed_up(const struct feed *f);
/* LWS_CALLBACK_RAW_* of the adopted LISTEN descriptor ("chat-pg"). */
int feed_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);
/* json signed for chat_efimeros ("<hex HMAC>.<json>"), malloc'd. */
char *feed_sign_ephemeral(const struct feed *f, const char *json);

#endif
