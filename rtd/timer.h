/* timer.h: many timers of one fixed delay at the cost of one.
 *
 * lws 4.1 keeps every lws_sul in one sorted list, so each (re)schedule
 * walks it: with a timer per socket, O(sockets) per reschedule. Here all
 * timers of a queue share one delay, so a timer armed now is due no
 * earlier than any already in its queue: the queue stays in order by
 * appending, arming and cancelling are O(1), and one lws_sul per daemon
 * (set to the earliest head) drives every queue. A timer fires up to
 * TIMER_SLACK late, never early, which lets one wake-up serve all the
 * timers due within that window.
 *
 * Everything here runs on the lws loop thread. */
#ifndef CHAT_RTD_TIMER_H
#define CHAT_RTD_TIMER_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>

#define TIMER_SLACK (20 * LWS_US_PER_MS)
#define TIMER_QUEUES 4

struct tq;

/* Embedded in whatever the timer belongs to; zeroed = not armed. */
struct tq_node {
    struct tq_node *next, *prev;
    struct tq *q;               /* NULL when not armed */
    lws_usec_t due;
};

/* Called on the loop when n is due (n is already disarmed: the callback
 * may arm it again, in this or another queue, or free its owner). */
typedef void (*tq_fire_fn)(struct tq_node *n);

struct timers;

/* Timers of one delay, in due order. */
struct tq {
    struct timers *w;
    struct tq_node *head, *tail;
    lws_usec_t delay;
    tq_fire_fn fire;
    size_t n;                   /* armed timers, for the stats */
};

/* The driver: one lws_sul for every queue registered with it. */
struct timers {
    struct lws_context *ctx;
    lws_sorted_usec_list_t sul;
    lws_usec_t armed;           /* when sul fires; 0: not scheduled */
    bool running;
    struct tq *qs[TIMER_QUEUES];
    int nq;
};

void timers_init(struct timers *w, struct lws_context *ctx);
/* Registers q (at most TIMER_QUEUES per driver); delay in microseconds. */
void tq_init(struct timers *w, struct tq *q, lws_usec_t delay, tq_fire_fn fire);
/* Arms n to fire delay from now in q, first disarming it wherever it was. */
void tq_arm(struct tq *q, struct tq_node *n);
/* Disarms n (nothing when it is not armed). */
void tq_cancel(struct tq_node *n);
static inline bool tq_armed(const struct tq_node *n)
{
    return n->q != NULL;
}
/* Stops the driver; armed timers stay linked but never fire. */
void timers_stop(struct timers *w);

#endif
