/* presence.h: the loop side of presence (API.md §5): per-user socket
 * counts on this instance, the grace period before desconectado, writes
 * batched one at a time (the SQL is domain/presence.h, run on the
 * workers), and the instance heartbeat.
 *
 * A pres_user is embedded in whatever record the owner keeps per user
 * (hub.h's rt_user); presence never allocates or frees one. While
 * pres_user_held() the record must stay; when presence lets go of a user
 * (its write came back, its grace period ran out) it calls the release
 * callback, and the owner may free the record then (after
 * pres_user_remove). Loop thread only. */
#ifndef CHAT_RTD_PRESENCE_H
#define CHAT_RTD_PRESENCE_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "timer.h"
#include "work.h"

struct presence;

struct pres_user {
    long long id;
    uint32_t sockets;       /* this user's sockets here */
    uint32_t inactive;      /*   of which report presence:status inactivo */
    bool queued;            /* waiting for the next batch */
    bool inflight;          /* in the batch in flight */
    bool dirty;             /* its last write failed: the heartbeat retries */
    struct tq_node grace;   /* armed after the last socket */
    struct presence *owner;
    struct pres_user *next, *prev;  /* every user presence knows */
};

/* Presence no longer holds u: its owner may free it. */
typedef void (*pres_release_fn)(void *arg, struct pres_user *u);

struct presence {
    struct lws_context *ctx;
    struct rt_pool *pool;
    struct rt_stats *stats;
    struct tq q_grace;      /* presence_grace_seconds after a last socket */
    struct pres_user *users;
    size_t nusers;
    struct pres_user **q;   /* users waiting for the next batch */
    size_t nq, capq;
    struct pres_user **batch;   /* the batch in flight, as sent */
    size_t nbatch;
    bool inflight;          /* one batch at a time, so writes stay in order */
    bool heartbeat_inflight;
    bool stopping;
    lws_sorted_usec_list_t sul_batch, sul_heartbeat;
    pres_release_fn release;
    void *release_arg;
};

/* Sets p up: its grace queue in w, its job kinds' results in pool. */
void pres_init(struct presence *p, struct lws_context *ctx, struct timers *w,
               lws_usec_t grace_us, struct rt_pool *pool, struct rt_stats *stats);
/* Who is told when presence lets go of a user. */
void pres_on_release(struct presence *p, pres_release_fn fn, void *arg);
/* u (zeroed by the owner) is user id's record from now on. */
void pres_user_add(struct presence *p, struct pres_user *u, long long id);
/* u is going away: forgets it. Only when !pres_user_held(u). */
void pres_user_remove(struct pres_user *u);
/* True while presence still needs u (queued, in flight, a failed write
 * to retry, or in its grace period). */
bool pres_user_held(const struct pres_user *u);
/* u's counts changed: written with the next batch, or after the grace
 * period when its last socket went away. */
void pres_changed(struct presence *p, struct pres_user *u);
/* Starts the periodic heartbeat (and the retry of failed writes). */
void pres_start(struct presence *p);
/* Stops writing (shutdown: the shutdown job removes the instance's rows);
 * cancels the timers. */
void pres_stop(struct presence *p);
/* After the database came back: rewrite every local user's row. */
void pres_resync_all(struct presence *p);
/* Frees p's own memory (not the users). */
void pres_release(struct presence *p);

#endif
