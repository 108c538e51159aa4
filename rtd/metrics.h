/* metrics.h: chat-rtd's counters for GET /chat/rtd/metrics (Prometheus
 * text). Everything is touched on the lws loop thread only, so plain
 * integers suffice. Gauges (connections by state, users, rooms, queued
 * bytes) are computed when scraped, not kept. */
#ifndef CHAT_RTD_METRICS_H
#define CHAT_RTD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Delivery lag buckets: from the eventos row's time to its frame written
 * to a socket (seconds). */
#define RT_LAG_BUCKETS 13
/* Distinct event names counted by name; later ones count as "otro". */
#define RT_EVENT_NAMES 64

enum rt_auth_fail {
    RT_AUTH_NO_TOKEN,       /* CONNECT without a token or cookie */
    RT_AUTH_BAD_TOKEN,      /* token_invalido */
    RT_AUTH_DEACTIVATED,    /* usuario_desactivado */
    RT_AUTH_INTERNAL,       /* error_interno */
    RT_AUTH_DB,             /* database away: the client retries */
    RT_AUTH_SOCKET_CAP,     /* the user holds rtd_max_sockets_per_user here */
    RT_AUTH_NFAIL
};

struct rt_stats {
    uint64_t connects;              /* websocket sessions opened */
    uint64_t auth_fail[RT_AUTH_NFAIL];
    uint64_t slow_consumers;        /* sockets closed for not reading */
    uint64_t efimeros_rejected;     /* chat_efimeros payloads without a valid MAC */
    uint64_t feed_notifies;         /* chat_eventos NOTIFYs received */
    uint64_t feed_timer_reads;      /* cursor reads started by the 1 s timer */
    uint64_t feed_rows;             /* eventos rows read by the cursor */
    uint64_t db_reconnects;         /* LISTEN connection opened again */
    uint64_t db_listen_failures;    /* attempts to open it that failed */
    uint64_t pres_batches;          /* presence batches written */
    uint64_t pres_users;            /* user counts written in them */
    uint64_t lag_bucket[RT_LAG_BUCKETS + 1];  /* non-cumulative; last: +Inf */
    uint64_t lag_count;
    double lag_sum;
    struct {
        char name[48];
        uint64_t n;
    } ev[RT_EVENT_NAMES];
    size_t nev;
    uint64_t ev_other;
};

/* What the scrape reads from the live state (computed when scraped). */
struct rt_gauges {
    uint64_t conns_by_state[4];     /* enum rt_conn_state (hub.h) */
    uint64_t users, rooms;
    uint64_t queue_bytes, queue_frames;
    bool db_up;
};

/* Counts one event delivered (once per eventos row or ephemeral event,
 * however many sockets it reached). */
void rt_stats_event(struct rt_stats *s, const char *name);

/* One frame of an event written to a socket, lag seconds after the event. */
void rt_stats_lag(struct rt_stats *s, double lag);

/* The Prometheus text of the counters s and gauges g, malloc'd (free
 * it); NULL when out of memory. */
char *rt_metrics_text(const struct rt_stats *s, const struct rt_gauges *g, size_t *len);

#endif
