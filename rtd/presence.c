/* presence.c: the loop side of presence: per-user socket counts, the grace
 * period before desconectado, one write in flight per user, and the
 * instance heartbeat. The SQL is in work.c (pres_recompute). */
#include "core/log.h"
#include "rt.h"

#define PRES_HEARTBEAT_US (5 * LWS_US_PER_SEC)

static void pres_submit(struct rt *rt, struct rt_user *u)
{
    if (rt->stopping)
        return; /* the shutdown job removes this instance's rows */
    if (u->sync_inflight) {
        u->sync_dirty = true;
        return;
    }
    u->sync_inflight = true;
    u->sync_dirty = false;
    struct rt_job *j = job_new(JOB_PRESENCE);
    j->user_id = u->id;
    j->sockets = (int)u->sockets;
    j->inactivos = (int)u->inactive;
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

/* A presence job came back. */
void pres_done(struct rt *rt, struct rt_job *j)
{
    struct rt_user *u = rt_map_get(&rt->users, (uint64_t)j->user_id);
    if (!u)
        return;
    u->sync_inflight = false;
    if (j->status < 0) {
        u->sync_dirty = true; /* rewritten when the database is back */
    } else if (u->sync_dirty) {
        if (tq_armed(&u->grace))
            u->sync_dirty = false; /* the grace timer writes the final state */
        else
            pres_submit(rt, u);
    }
    hub_user_maybe_free(rt, u);
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
