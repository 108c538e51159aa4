/* presence.c: the loop side of presence: per-user socket counts, the grace
 * period before desconectado, and batching: every change of one loop tick
 * (and everything that changed while a batch was out) goes to the database
 * as one batch in one transaction (domain/presence.h), one batch at a time
 * so writes stay in order. A mass connect is then a few transactions, not
 * one durable commit per socket. Also the instance heartbeat. */
#include "presence.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define PRES_HEARTBEAT_US (5 * LWS_US_PER_SEC)
/* a batch goes on the next loop turn when none is out, so the changes of
 * one turn (e.g. a burst of CONNECT answers) share it; while one is out,
 * changes gather for the next */
#define PRES_TICK_US 1
/* users per batch: bounds one transaction (and the rows it locks) */
#define PRES_BATCH_MAX 2000

static void pres_flush(struct presence *p);

static void pres_tick(lws_sorted_usec_list_t *sul)
{
    pres_flush(lws_container_of(sul, struct presence, sul_batch));
}

/* Presence lets go of u (its owner may free it). */
static void pres_let_go(struct presence *p, struct pres_user *u)
{
    if (p->release)
        p->release(p->release_arg, u);
}

static void pres_submit(struct presence *p, struct pres_user *u)
{
    if (p->stopping)
        return; /* the shutdown job removes this instance's rows */
    u->dirty = false;
    if (u->queued)
        return; /* its counts are read when the batch is built */
    if (p->nq == p->capq) {
        p->capq = p->capq ? p->capq * 2 : 256;
        p->q = realloc(p->q, p->capq * sizeof(*p->q));
        if (!p->q)
            abort();
    }
    p->q[p->nq++] = u;
    u->queued = true;
    if (!p->inflight && p->nq == 1)
        lws_sul_schedule(p->ctx, 0, &p->sul_batch, pres_tick, PRES_TICK_US);
}

/* Sends the waiting users' current counts as one batch. */
static void pres_flush(struct presence *p)
{
again:
    if (p->inflight || !p->nq || p->stopping)
        return;
    size_t n = p->nq < PRES_BATCH_MAX ? p->nq : PRES_BATCH_MAX;
    struct rt_job *j = job_new(JOB_PRESENCE);
    j->pres = calloc(n, sizeof(*j->pres));
    p->batch = realloc(p->batch, n * sizeof(*p->batch));
    if (!j->pres || !p->batch)
        abort();
    p->nbatch = 0;
    for (size_t i = 0; i < n; i++) {
        /* a queued user is held, so never freed (pres_user_held) */
        struct pres_user *u = p->q[i];
        u->queued = false;
        /* its last socket went after it was queued: the grace timer writes
         * the final state (a reload must not show desconectado) */
        if (u->sockets == 0 && tq_armed(&u->grace))
            continue;
        u->inflight = true;
        p->batch[p->nbatch++] = u;
        j->pres[j->npres++] = (struct presence_count){ u->id, (int)u->sockets, (int)u->inactive };
    }
    p->nq -= n;
    memmove(p->q, p->q + n, p->nq * sizeof(*p->q));
    if (!j->npres) {
        job_free(j);
        goto again;
    }
    p->inflight = true;
    pool_submit(p->pool, j);
}

static void pres_grace_due(struct tq_node *n)
{
    struct pres_user *u = lws_container_of(n, struct pres_user, grace);
    struct presence *p = u->owner;
    if (u->sockets == 0)
        pres_submit(p, u);
    pres_let_go(p, u);
}

void pres_changed(struct presence *p, struct pres_user *u)
{
    if (p->stopping)
        return;
    if (u->sockets == 0) {
        if (!tq_armed(&u->grace))
            tq_arm(&p->q_grace, &u->grace);
        return;
    }
    tq_cancel(&u->grace);
    pres_submit(p, u);
}

/* A batch came back. */
static void pres_done(void *arg, struct rt_job *j)
{
    struct presence *p = arg;
    p->inflight = false;
    size_t n = p->nbatch;
    p->nbatch = 0;
    for (size_t i = 0; i < n; i++) {
        struct pres_user *u = p->batch[i];
        u->inflight = false;
        if (j->status < 0 && !u->queued)
            u->dirty = true; /* rewritten by the heartbeat once the database is back */
        pres_let_go(p, u);
    }
    if (j->status == 0) {
        p->stats->pres_batches++;
        p->stats->pres_users += j->npres;
    }
    pres_flush(p);
}

void pres_resync_all(struct presence *p)
{
    for (struct pres_user *u = p->users; u; u = u->next)
        if (!tq_armed(&u->grace))
            pres_submit(p, u);
}

static void pres_heartbeat_cb(lws_sorted_usec_list_t *sul)
{
    struct presence *p = lws_container_of(sul, struct presence, sul_heartbeat);
    if (p->stopping)
        return;
    if (!p->heartbeat_inflight) {
        p->heartbeat_inflight = true;
        pool_submit(p->pool, job_new(JOB_HEARTBEAT));
    }
    /* writes that failed (database away) are retried here */
    for (struct pres_user *u = p->users; u; u = u->next)
        if (u->dirty && !u->inflight && !tq_armed(&u->grace))
            pres_submit(p, u);
    lws_sul_schedule(p->ctx, 0, &p->sul_heartbeat, pres_heartbeat_cb, PRES_HEARTBEAT_US);
}

static void pres_heartbeat_done(void *arg, struct rt_job *j)
{
    struct presence *p = arg;
    p->heartbeat_inflight = false;
    if (j->status == 0 && j->lost_instance && p->nusers) {
        log_info("event=presencia_reescrita usuarios=%zu", p->nusers);
        pres_resync_all(p);
    }
}

void pres_init(struct presence *p, struct lws_context *ctx, struct timers *w,
               lws_usec_t grace_us, struct rt_pool *pool, struct rt_stats *stats)
{
    memset(p, 0, sizeof(*p));
    p->ctx = ctx;
    p->pool = pool;
    p->stats = stats;
    tq_init(w, &p->q_grace, grace_us, pres_grace_due);
    pool_on_done(pool, JOB_PRESENCE, pres_done, p);
    pool_on_done(pool, JOB_HEARTBEAT, pres_heartbeat_done, p);
}

void pres_on_release(struct presence *p, pres_release_fn fn, void *arg)
{
    p->release = fn;
    p->release_arg = arg;
}

void pres_user_add(struct presence *p, struct pres_user *u, long long id)
{
    u->id = id;
    u->owner = p;
    u->prev = NULL;
    u->next = p->users;
    if (p->users)
        p->users->prev = u;
    p->users = u;
    p->nusers++;
}

void pres_user_remove(struct pres_user *u)
{
    struct presence *p = u->owner;
    tq_cancel(&u->grace);
    if (u->prev)
        u->prev->next = u->next;
    else
        p->users = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->next = u->prev = NULL;
    p->nusers--;
}

bool pres_user_held(const struct pres_user *u)
{
    return tq_armed(&u->grace) || u->inflight || u->dirty || u->queued;
}

void pres_start(struct presence *p)
{
    lws_sul_schedule(p->ctx, 0, &p->sul_heartbeat, pres_heartbeat_cb, 1);
}

void pres_stop(struct presence *p)
{
    p->stopping = true;
    lws_sul_cancel(&p->sul_heartbeat);
    lws_sul_cancel(&p->sul_batch);
}

void pres_release(struct presence *p)
{
    free(p->q);
    free(p->batch);
    p->q = NULL;
    p->batch = NULL;
}
