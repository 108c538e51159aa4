/* metrics.h: chat-cron's counters (kept in metricas_contadores) and the
 * `chat-cron metrics` command that exports them with the queue and eventos
 * gauges as Prometheus text. */
#ifndef CHAT_CRON_METRICS_H
#define CHAT_CRON_METRICS_H

#include "core/arena.h"
#include "core/cfg.h"
#include "core/db.h"

/* Adds values[i] to the counter names[i] (n of them; zeros are skipped),
 * outside any transaction. A failure is logged and otherwise ignored: the
 * work counted is already done. */
void cron_count(struct db *d, struct arena *a, const char *const *names, const long long *values,
                int n);

/* `chat-cron metrics [--out FILE]`: the Prometheus text on stdout, or
 * written to FILE atomically (a temporary file renamed over it). */
int cron_metrics(struct cfg *c, int argc, char **argv);

#endif
