/* metrics.c: chat-cron's counters and the textfile for node_exporter. */
#include "metrics.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/app.h"
#include "core/log.h"

static const char sql_count[] =
    "INSERT INTO metricas_contadores (nombre, valor)"
    " SELECT n, v FROM unnest($1::text[], $2::bigint[]) AS x(n, v) WHERE v > 0"
    " ON CONFLICT (nombre) DO UPDATE"
    "  SET valor = metricas_contadores.valor + EXCLUDED.valor, updated_at = now()";

void cron_count(struct db *d, struct arena *a, const char *const *names, const long long *values,
                int n)
{
    size_t cap = 3;
    for (int i = 0; i < n; i++)
        cap += strlen(names[i]) + 24;
    char *nn = arena_alloc(a, cap), *vv = arena_alloc(a, cap), *pn = nn, *pv = vv;
    bool any = false;
    *pn++ = '{';
    *pv++ = '{';
    for (int i = 0; i < n; i++) {
        if (values[i] <= 0)
            continue;
        pn += sprintf(pn, "%s%s", any ? "," : "", names[i]);
        pv += sprintf(pv, "%s%lld", any ? "," : "", values[i]);
        any = true;
    }
    strcpy(pn, "}");
    strcpy(pv, "}");
    if (!any)
        return;
    struct err e = { 0 };
    const char *p[2] = { nn, vv };
    if (!db_exec(d, a, sql_count, 2, p, &e))
        log_warn("event=metrics_count_failed counters=%s values=%s", nn, vv);
}

/* Every gauge in one statement (one snapshot). The eventos row count is
 * the planner's estimate: an exact count of a large outbox costs a scan. */
static const char sql_gauges[] =
    "SELECT"
    " (SELECT count(*) FROM queue_mensajes WHERE estado = 'pendiente'),"
    " (SELECT count(*) FROM queue_mensajes WHERE estado = 'enviando'),"
    " (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM queue_mensajes"
    "   WHERE estado IN ('pendiente', 'enviando')),"
    " (SELECT count(*) FROM queue_mensajes WHERE estado = 'enviado'),"
    " (SELECT coalesce(extract(epoch FROM now() - min(sent_at)), 0) FROM queue_mensajes"
    "   WHERE estado = 'enviado'),"
    " (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'eventos'::regclass),"
    " (SELECT count(*) FROM eventos WHERE xid >= pg_snapshot_xmin(pg_current_snapshot())),"
    " (SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0) FROM pg_stat_activity"
    "   WHERE backend_xid IS NOT NULL),"
    " (SELECT count(*) FROM (SELECT 1 FROM eventos"
    "   WHERE created_at < now() - make_interval(days => $1::int) LIMIT 1000000) x),"
    " (SELECT coalesce(extract(epoch FROM podado_at), 0) FROM eventos_poda),"
    " (SELECT evento_id FROM eventos_poda)";

static const char sql_counters[] = "SELECT nombre, valor FROM metricas_contadores ORDER BY nombre";

struct gauge {
    const char *name, *help;
};

static const struct gauge gauges[] = {
    { "chat_cron_push_queue_pending", "Pushes waiting to be sent (estado pendiente)." },
    { "chat_cron_push_queue_sending", "Pushes claimed by a sender right now (estado enviando)." },
    { "chat_cron_push_queue_oldest_age_seconds",
      "Age of the oldest push not yet accepted by Expo (0 when none)." },
    { "chat_cron_push_receipts_pending", "Pushes sent and waiting for their Expo receipt." },
    { "chat_cron_push_receipts_oldest_age_seconds",
      "Age of the oldest push still waiting for its receipt (0 when none)." },
    { "chat_eventos_rows", "Rows in the eventos outbox (planner estimate)." },
    { "chat_eventos_waiting_horizon",
      "eventos rows not yet deliverable: an older write transaction is still open." },
    { "chat_eventos_horizon_age_seconds",
      "Age of the oldest open write transaction in the cluster (holds realtime delivery back)." },
    { "chat_eventos_past_retention",
      "eventos rows older than eventos_retention_days, waiting for chat-cron prune." },
    { "chat_eventos_pruned_timestamp_seconds", "When chat-cron prune last deleted eventos rows." },
    { "chat_eventos_pruned_up_to_id", "The highest eventos id deleted by chat-cron prune." },
};
#define NGAUGES (sizeof(gauges) / sizeof(gauges[0]))

static char *metrics_collect(struct db *d, struct arena *a, int retention_days, size_t *len)
{
    struct err e = { 0 };
    const char *p[1] = { db_ll(a, retention_days) };
    PGresult *g = db_exec(d, a, sql_gauges, 1, p, &e);
    PGresult *k = g ? db_exec(d, a, sql_counters, 0, NULL, &e) : NULL;
    if (!k)
        return NULL;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    for (size_t i = 0; i < NGAUGES; i++) {
        const char *v = db_get(g, 0, (int)i);
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", gauges[i].name, gauges[i].help,
                gauges[i].name, gauges[i].name, v ? v : "0");
    }
    for (int r = 0; r < PQntuples(k); r++) {
        const char *n = db_get(k, r, 0);
        fprintf(f, "# HELP chat_cron_%s_total chat-cron counter %s (metricas_contadores).\n"
                   "# TYPE chat_cron_%s_total counter\nchat_cron_%s_total %s\n",
                n, n, n, n, db_get(k, r, 1));
    }
    fprintf(f, "# HELP chat_cron_metrics_timestamp_seconds When this file was written.\n"
               "# TYPE chat_cron_metrics_timestamp_seconds gauge\n"
               "chat_cron_metrics_timestamp_seconds %lld\n",
            (long long)time(NULL));
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    char *out = arena_alloc(a, *len + 1);
    memcpy(out, buf, *len + 1);
    free(buf);
    return out;
}

/* Writes text to path through path.tmp and a rename, so the collector
 * never reads half a file. */
static int metrics_write(const char *path, const char *text, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        fprintf(stderr, "chat-cron metrics: --out path too long\n");
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "chat-cron metrics: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int cron_metrics(struct cfg *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    const char *out = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != 'o') {
            fprintf(stderr, "usage: chat-cron metrics [--out FILE]\n");
            return 2;
        }
        out = optarg;
    }
    if (optind < argc || (out && !*out)) {
        fprintf(stderr, "usage: chat-cron metrics [--out FILE]\n");
        return 2;
    }
    /* read-only and frequent: never migrates (the other programs do) */
    struct db *d = app_db(c, false);
    struct arena *a = arena_new();
    size_t len = 0;
    char *text = metrics_collect(d, a, c->eventos_retention_days, &len);
    int ret = 1;
    if (!text)
        fprintf(stderr, "chat-cron metrics: the database query failed (see the log)\n");
    else if (out)
        ret = metrics_write(out, text, len) < 0 ? 1 : 0;
    else
        ret = fwrite(text, 1, len, stdout) == len ? 0 : 1;
    arena_free(a);
    db_close(d);
    return ret;
}
