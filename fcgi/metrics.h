/* metrics.h: chat-fcgi's Prometheus counters. The parent maps one shared
 * anonymous region before it forks, so every pre-forked worker (and every
 * worker started later) adds to the same counters; updates are relaxed
 * atomic adds, and GET /interno/metricas reads them from whichever worker
 * answers. Nothing is lost when a worker exits. */
#ifndef CHAT_FCGI_METRICS_H
#define CHAT_FCGI_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"

struct fcgi_metrics;

/* Maps the region for nroutes routes (plus one slot for requests that
 * matched none). Returns NULL when mmap fails (errno set). Unmap with
 * metrics_unmap in the process that mapped it; children inherit it. */
struct fcgi_metrics *metrics_map(size_t nroutes);
void metrics_unmap(struct fcgi_metrics *m);

/* Counts one answered request: route is the index into routes[] or -1 for
 * none, status the HTTP status written, seconds the whole handling time,
 * db_seconds the part spent waiting for PostgreSQL. m may be NULL. */
void metrics_request(struct fcgi_metrics *m, int route, int status, double seconds,
                     double db_seconds);

/* Counts a user login: gated (checked along with the request's first
 * statement, usr_login_gated) or looked up in a round trip of its own. */
void metrics_login(struct fcgi_metrics *m, bool gated);

/* Counts a worker that exited and was started again (parent only). */
void metrics_worker_restart(struct fcgi_metrics *m);

/* The Prometheus text exposition (format 0.0.4) of every counter, in a,
 * with the number of configured workers as a gauge. Route labels are
 * "METHOD pattern" from names (nroutes entries, as mapped). */
char *metrics_text(const struct fcgi_metrics *m, struct arena *a, const char *const *names,
                   int workers, size_t *len);

#endif
