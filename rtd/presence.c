/* presence.c: the loop side of presence: per-user socket counts, the grace
 * period before desconectado, and batching: every change of one loop tick
 * (and everything that changed while a batch was out) goes to the database
 * as one batch in one transaction (domain/presence.h), one batch at a time
 * so writes stay in order. A mass connect is then a few transactions, not
 * one durable commit per socket. Also the instance heartbeat. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "rt.h"

#define PRES_HEARTBEAT_US (5 * LWS_US_PER_SEC)
/* a batch goes on the next loop turn when none is out, so the changes of
 * one turn (e.g. a burst of CONNECT answers) share it; while one is out,
 * changes gather for the next */
#define PRES_TICK_US 1
/* users per batch: bounds one transaction (and the rows it locks) */
#define PRES_BATCH_MAX 2000

static void pres_flush(struct rt *rt);

static void pres_tick(lws_sorted_usec_list_t *sul)
{
    pres_flush(lws_container_of(sul, struct rt, sul_pres));
}

static void pres_submit(struct rt *rt, struct rt_user *u)
{
    if (rt->stopping)
        return; /* the shutdown job removes this instance's rows */
    u->sync_dirty = false;
    if (u->pres_queued)
        return; /* its counts are read when the batch is built */
    if (rt->npres_q == rt->cappres_q) {
        rt->cappres_q = rt->cappres_q ? rt->cappres_q * 2 : 256;
        rt->pres_q = realloc(rt->pres_q, rt->cappres_q * sizeof(*rt->pres_q));
        if (!rt->pres_q)
            abort();
    }
    rt->pres_q[rt->npres_q++] = u->id;
    u->pres_queued = true;
    if (!rt->pres_inflight && rt->npres_q == 1)
        lws_sul_schedule(rt->ctx, 0, &rt->sul_pres, pres_tick, PRES_TICK_US);
}

/* Sends the waiting users' current counts as one batch. */
static void pres_flush(struct rt *rt)
{
again:
    if (rt->pres_inflight || !rt->npres_q || rt->stopping)
        return;
    size_t n = rt->npres_q < PRES_BATCH_MAX ? rt->npres_q : PRES_BATCH_MAX;
    struct rt_job *j = job_new(JOB_PRESENCE);
    j->pres = calloc(n, sizeof(*j->pres));
    if (!j->pres)
        abort();
    for (size_t i = 0; i < n; i++) {
        struct rt_user *u = rt_map_get(&rt->users, (uint64_t)rt->pres_q[i]);
        /* a queued user is never freed (hub_user_maybe_free) */
        u->pres_queued = false;
        /* its last socket went after it was queued: the grace timer writes
         * the final state (a reload must not show desconectado) */
        if (u->sockets == 0 && tq_armed(&u->grace))
            continue;
        u->sync_inflight = true;
        j->pres[j->npres++] = (struct presence_count){ u->id, (int)u->sockets, (int)u->inactive };
    }
    rt->npres_q -= n;
    memmove(rt->pres_q, rt->pres_q + n, rt->npres_q * sizeof(*rt->pres_q));
    if (!j->npres) {
        job_free(j);
        goto again;
    }
    rt->pres_inflight = true;
    pool_submit(rt->pool, j);
}

void pres_grace_due(struct tq_node *n)
{
    struct rt_user *u = lws_container_of(n, struct rt_user, grace);
    struct rt *rt = u->rt;
    if (u->sockets == 0)
        pres_submit(rt, u);
    hub_user_maybe_free(rt, u);
}

void pres_changed(struct rt *rt, struct rt_user *u)
{
    if (rt->stopping)
        return;
    if (u->sockets == 0) {
        if (!tq_armed(&u->grace))
            tq_arm(&rt->q_grace, &u->grace);
        return;
    }
    tq_cancel(&u->grace);
    pres_submit(rt, u);
}

/* A batch came back. */
void pres_done(struct rt *rt, struct rt_job *j)
{
    rt->pres_inflight = false;
    for (size_t i = 0; i < j->npres; i++) {
        struct rt_user *u = rt_map_get(&rt->users, (uint64_t)j->pres[i].usuario_id);
        if (!u)
            continue;
        u->sync_inflight = false;
        if (j->status < 0 && !u->pres_queued)
            u->sync_dirty = true; /* rewritten by the heartbeat once the database is back */
        hub_user_maybe_free(rt, u);
    }
    if (j->status == 0) {
        rt->stats.pres_batches++;
        rt->stats.pres_users += j->npres;
    }
    pres_flush(rt);
}

void pres_resync_all(struct rt *rt)
{
    for (size_t i = 0; i < rt->users.cap; i++) {
        if (!rt_map_live(&rt->users, i))
            continue;
        struct rt_user *u = rt->users.e[i].val;
        if (tq_armed(&u->grace))
            continue;
        pres_submit(rt, u);
    }
}

static void pres_heartbeat_cb(lws_sorted_usec_list_t *sul)
{
    struct rt *rt = lws_container_of(sul, struct rt, sul_heartbeat);
    if (rt->stopping)
        return;
    if (!rt->heartbeat_inflight) {
        rt->heartbeat_inflight = true;
        pool_submit(rt->pool, job_new(JOB_HEARTBEAT));
    }
    /* writes that failed (database away) are retried here */
    for (size_t i = 0; i < rt->users.cap; i++) {
        if (!rt_map_live(&rt->users, i))
            continue;
        struct rt_user *u = rt->users.e[i].val;
        if (u->sync_dirty && !u->sync_inflight && !tq_armed(&u->grace))
            pres_submit(rt, u);
    }
    lws_sul_schedule(rt->ctx, 0, &rt->sul_heartbeat, pres_heartbeat_cb, PRES_HEARTBEAT_US);
}

void pres_heartbeat_done(struct rt *rt, struct rt_job *j)
{
    rt->heartbeat_inflight = false;
    if (j->status == 0 && j->lost_instance && rt->users.n) {
        log_info("event=presencia_reescrita usuarios=%zu", rt->users.n);
        pres_resync_all(rt);
    }
}

void pres_start(struct rt *rt)
{
    lws_sul_schedule(rt->ctx, 0, &rt->sul_heartbeat, pres_heartbeat_cb, 1);
}

void pres_stop(struct rt *rt)
{
    lws_sul_cancel(&rt->sul_heartbeat);
    lws_sul_cancel(&rt->sul_pres);
}
