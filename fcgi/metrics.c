/* metrics.c: the shared counters of chat-fcgi and their text exposition. */
#include "metrics.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* Request duration buckets, in seconds (upper bounds; +Inf is implied). */
static const double bucket_le[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,   0.25,   0.5,   1,    2.5,   5,   10 };
#define NBUCKETS (sizeof(bucket_le) / sizeof(bucket_le[0]))
#define STATUS_MIN 100
#define STATUS_MAX 599

struct route_slot {
    uint64_t status[STATUS_MAX - STATUS_MIN + 1];
    uint64_t bucket[NBUCKETS + 1];  /* non-cumulative; the last is +Inf */
    uint64_t sum_us, db_us;
};

struct fcgi_metrics {
    size_t size;                    /* bytes mapped */
    size_t nroutes;                 /* slots: nroutes + 1 (the last: no route) */
    uint64_t worker_restarts;
    uint64_t rate_limited;
    uint64_t logins[2];             /* looked up, gated */
    struct route_slot slot[];
};

static void add(uint64_t *p, uint64_t v)
{
    __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

struct fcgi_metrics *metrics_map(size_t nroutes)
{
    size_t size = sizeof(struct fcgi_metrics) + (nroutes + 1) * sizeof(struct route_slot);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    struct fcgi_metrics *m = p;    /* zero-filled by mmap */
    m->size = size;
    m->nroutes = nroutes;
    return m;
}

void metrics_unmap(struct fcgi_metrics *m)
{
    if (m)
        munmap(m, m->size);
}

void metrics_request(struct fcgi_metrics *m, int route, int status, double seconds,
                     double db_seconds)
{
    if (!m)
        return;
    struct route_slot *s = &m->slot[route >= 0 && (size_t)route < m->nroutes ? (size_t)route
                                                                              : m->nroutes];
    if (status < STATUS_MIN || status > STATUS_MAX)
        status = 500;
    add(&s->status[status - STATUS_MIN], 1);
    size_t b = 0;
    while (b < NBUCKETS && seconds > bucket_le[b])
        b++;
    add(&s->bucket[b], 1);
    add(&s->sum_us, seconds > 0 ? (uint64_t)(seconds * 1e6) : 0);
    add(&s->db_us, db_seconds > 0 ? (uint64_t)(db_seconds * 1e6) : 0);
    if (status == 429)
        add(&m->rate_limited, 1);
}

void metrics_login(struct fcgi_metrics *m, bool gated)
{
    if (m)
        add(&m->logins[gated ? 1 : 0], 1);
}

void metrics_worker_restart(struct fcgi_metrics *m)
{
    if (m)
        add(&m->worker_restarts, 1);
}

/* A growing text buffer in the arena. */
struct out {
    struct arena *a;
    char *s;
    size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (o->len + (size_t)n < o->cap) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n) * 2;
        char *s = arena_alloc(o->a, cap);
        memcpy(s, o->s, o->len);
        o->s = s;
        o->cap = cap;
    }
}

char *metrics_text(const struct fcgi_metrics *m, struct arena *a, const char *const *names,
                   int workers, size_t *len)
{
    struct out o = { .a = a, .cap = 16384 };
    o.s = arena_alloc(a, o.cap);
    o.s[0] = '\0';
    size_t n = m->nroutes + 1;

    put(&o, "# HELP chat_fcgi_requests_total Requests answered, by route and HTTP status.\n"
            "# TYPE chat_fcgi_requests_total counter\n");
    for (size_t r = 0; r < n; r++) {
        const char *name = r < m->nroutes ? names[r] : "other";
        for (int st = STATUS_MIN; st <= STATUS_MAX; st++) {
            uint64_t v = get(&m->slot[r].status[st - STATUS_MIN]);
            if (v)
                put(&o, "chat_fcgi_requests_total{route=\"%s\",status=\"%d\"} %llu\n", name, st,
                    (unsigned long long)v);
        }
    }
    put(&o, "# HELP chat_fcgi_request_duration_seconds Time to answer a request, by route.\n"
            "# TYPE chat_fcgi_request_duration_seconds histogram\n");
    for (size_t r = 0; r < n; r++) {
        const struct route_slot *s = &m->slot[r];
        uint64_t cum = 0, b[NBUCKETS + 1];
        for (size_t k = 0; k <= NBUCKETS; k++)
            cum += b[k] = get(&s->bucket[k]);
        if (!cum)
            continue;   /* a route never called has no series */
        const char *name = r < m->nroutes ? names[r] : "other";
        cum = 0;
        for (size_t k = 0; k < NBUCKETS; k++) {
            cum += b[k];
            put(&o, "chat_fcgi_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                name, bucket_le[k], (unsigned long long)cum);
        }
        cum += b[NBUCKETS];
        put(&o,
            "chat_fcgi_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
            "chat_fcgi_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
            "chat_fcgi_request_duration_seconds_count{route=\"%s\"} %llu\n",
            name, (unsigned long long)cum, name, (double)get(&s->sum_us) / 1e6, name,
            (unsigned long long)cum);
    }
    put(&o, "# HELP chat_fcgi_request_db_seconds_total Time spent waiting for PostgreSQL while "
            "answering, by route.\n"
            "# TYPE chat_fcgi_request_db_seconds_total counter\n");
    for (size_t r = 0; r < n; r++) {
        const struct route_slot *s = &m->slot[r];
        uint64_t cnt = 0;
        for (size_t k = 0; k <= NBUCKETS; k++)
            cnt += get(&s->bucket[k]);
        if (cnt)
            put(&o, "chat_fcgi_request_db_seconds_total{route=\"%s\"} %.6f\n",
                r < m->nroutes ? names[r] : "other", (double)get(&s->db_us) / 1e6);
    }
    put(&o,
        "# HELP chat_fcgi_rate_limited_total Requests refused with 429 limite_excedido.\n"
        "# TYPE chat_fcgi_rate_limited_total counter\n"
        "chat_fcgi_rate_limited_total %llu\n"
        "# HELP chat_fcgi_logins_total User logins: checked along with the request's first"
        " statement (gated) or in a round trip of their own (looked_up).\n"
        "# TYPE chat_fcgi_logins_total counter\n"
        "chat_fcgi_logins_total{how=\"gated\"} %llu\n"
        "chat_fcgi_logins_total{how=\"looked_up\"} %llu\n"
        "# HELP chat_fcgi_worker_restarts_total Workers that exited and were started again.\n"
        "# TYPE chat_fcgi_worker_restarts_total counter\n"
        "chat_fcgi_worker_restarts_total %llu\n"
        "# HELP chat_fcgi_workers Configured worker processes (fcgi_workers).\n"
        "# TYPE chat_fcgi_workers gauge\n"
        "chat_fcgi_workers %d\n",
        (unsigned long long)get(&m->rate_limited), (unsigned long long)get(&m->logins[1]),
        (unsigned long long)get(&m->logins[0]), (unsigned long long)get(&m->worker_restarts),
        workers);
    *len = o.len;
    return o.s;
}
