/* timer.c: fixed-delay timer queues driven by one lws_sul (timer.h). */
#include <stdlib.h>

#include "timer.h"

static void timers_fire(lws_sorted_usec_list_t *sul);

/* Points the one lws_sul at the earliest head (plus the slack). */
static void timers_rearm(struct timers *w)
{
    lws_usec_t first = 0;
    for (int i = 0; i < w->nq; i++)
        if (w->qs[i]->head && (!first || w->qs[i]->head->due < first))
            first = w->qs[i]->head->due;
    if (!first) {
        if (w->armed)
            lws_sul_cancel(&w->sul);
        w->armed = 0;
        return;
    }
    lws_usec_t at = first + TIMER_SLACK;
    if (w->armed == at)
        return;
    lws_usec_t now = lws_now_usecs();
    lws_sul_schedule(w->ctx, 0, &w->sul, timers_fire, at > now ? at - now : 1);
    w->armed = at;
}

static void timers_fire(lws_sorted_usec_list_t *sul)
{
    struct timers *w = lws_container_of(sul, struct timers, sul);
    w->armed = 0;
    w->running = true;
    lws_usec_t now = lws_now_usecs();
    for (int i = 0; i < w->nq; i++) {
        struct tq *q = w->qs[i];
        /* a callback re-arming into q lands at now + delay > now, so this
         * ends */
        while (q->head && q->head->due <= now) {
            struct tq_node *n = q->head;
            tq_cancel(n);
            q->fire(n);
        }
    }
    w->running = false;
    timers_rearm(w);
}

void timers_init(struct timers *w, struct lws_context *ctx)
{
    w->ctx = ctx;
    w->armed = 0;
    w->running = false;
    w->nq = 0;
}

void tq_init(struct timers *w, struct tq *q, lws_usec_t delay, tq_fire_fn fire)
{
    if (w->nq >= TIMER_QUEUES)
        abort(); /* a programming error: raise TIMER_QUEUES */
    q->w = w;
    q->head = q->tail = NULL;
    q->delay = delay;
    q->fire = fire;
    q->n = 0;
    w->qs[w->nq++] = q;
}

void tq_cancel(struct tq_node *n)
{
    struct tq *q = n->q;
    if (!q)
        return;
    if (n->prev)
        n->prev->next = n->next;
    else
        q->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        q->tail = n->prev;
    n->next = n->prev = NULL;
    n->q = NULL;
    q->n--;
    /* the driver may now fire early for nothing, which is harmless; it is
     * pointed at the right head the next time anything fires or arms */
}

void tq_arm(struct tq *q, struct tq_node *n)
{
    tq_cancel(n);
    n->due = lws_now_usecs() + q->delay;
    n->q = q;
    n->next = NULL;
    n->prev = q->tail;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->n++;
    struct timers *w = q->w;
    /* only a timer that became its queue's head can be due before the
     * driver's next wake-up */
    if (!w->running && q->head == n && (!w->armed || n->due + TIMER_SLACK < w->armed))
        timers_rearm(w);
}

void timers_stop(struct timers *w)
{
    if (w->armed)
        lws_sul_cancel(&w->sul);
    w->armed = 0;
    w->nq = 0;
}
