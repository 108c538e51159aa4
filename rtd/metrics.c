/* metrics.c: chat-rtd's Prometheus text exposition. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const double lag_le[RT_LAG_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                               1,     2.5,  5,     10,   30,  60 };

static const char *const auth_fail_name[RT_AUTH_NFAIL] = {
    [RT_AUTH_NO_TOKEN] = "sin_token",
    [RT_AUTH_BAD_TOKEN] = "token_invalido",
    [RT_AUTH_DEACTIVATED] = "usuario_desactivado",
    [RT_AUTH_INTERNAL] = "error_interno",
    [RT_AUTH_DB] = "db_inaccesible",
    [RT_AUTH_SOCKET_CAP] = "limite_sockets",
};

void rt_stats_event(struct rt_stats *s, const char *name)
{
    for (size_t i = 0; i < s->nev; i++)
        if (strcmp(s->ev[i].name, name) == 0) {
            s->ev[i].n++;
            return;
        }
    /* names come from the event vocabulary; keep only safe label text */
    size_t len = strlen(name);
    bool safe = len > 0 && len < sizeof(s->ev[0].name) &&
                strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_:-.") == len;
    if (!safe || s->nev == RT_EVENT_NAMES) {
        s->ev_other++;
        return;
    }
    memcpy(s->ev[s->nev].name, name, len + 1);
    s->ev[s->nev++].n = 1;
}

void rt_stats_lag(struct rt_stats *s, double lag)
{
    if (lag < 0)
        lag = 0;    /* clocks of the database and this host differ slightly */
    size_t b = 0;
    while (b < RT_LAG_BUCKETS && lag > lag_le[b])
        b++;
    s->lag_bucket[b]++;
    s->lag_count++;
    s->lag_sum += lag;
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
            (unsigned long long)v);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

char *rt_metrics_text(const struct rt_stats *s, const struct rt_gauges *g, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;

    static const char *const state_name[4] = { "abierta", "autenticando", "conectada",
                                               "cerrando" };
    fprintf(f, "# HELP chat_rtd_connections Websocket sessions on this instance, by state.\n"
               "# TYPE chat_rtd_connections gauge\n");
    for (int i = 0; i < 4; i++)
        fprintf(f, "chat_rtd_connections{state=\"%s\"} %llu\n", state_name[i],
                (unsigned long long)g->conns_by_state[i]);
    gauge(f, "chat_rtd_users", "Users with at least one socket here (or in their grace period).",
          (double)g->users);
    gauge(f, "chat_rtd_rooms", "Chat rooms with at least one local socket.", (double)g->rooms);
    gauge(f, "chat_rtd_send_queue_bytes", "Bytes of frames queued for sockets, not yet written.",
          (double)g->queue_bytes);
    gauge(f, "chat_rtd_send_queue_frames", "Frames queued for sockets, not yet written.",
          (double)g->queue_frames);
    gauge(f, "chat_rtd_db_up", "1 while the LISTEN connection to PostgreSQL is up.",
          g->db_up ? 1 : 0);

    counter(f, "chat_rtd_connects_total", "Websocket sessions opened.", s->connects);
    fprintf(f, "# HELP chat_rtd_auth_failures_total Socket.IO CONNECTs refused, by reason.\n"
               "# TYPE chat_rtd_auth_failures_total counter\n");
    for (int i = 0; i < RT_AUTH_NFAIL; i++)
        fprintf(f, "chat_rtd_auth_failures_total{reason=\"%s\"} %llu\n", auth_fail_name[i],
                (unsigned long long)s->auth_fail[i]);
    counter(f, "chat_rtd_slow_consumers_total",
            "Sockets closed because their send queue was full.", s->slow_consumers);
    counter(f, "chat_rtd_efimeros_rejected_total",
            "chat_efimeros notifications dropped for a missing or wrong signature.",
            s->efimeros_rejected);

    fprintf(f, "# HELP chat_rtd_events_delivered_total Events handed to their room, by name.\n"
               "# TYPE chat_rtd_events_delivered_total counter\n");
    for (size_t i = 0; i < s->nev; i++)
        fprintf(f, "chat_rtd_events_delivered_total{event=\"%s\"} %llu\n", s->ev[i].name,
                (unsigned long long)s->ev[i].n);
    if (s->ev_other)
        fprintf(f, "chat_rtd_events_delivered_total{event=\"otro\"} %llu\n",
                (unsigned long long)s->ev_other);

    fprintf(f, "# HELP chat_rtd_delivery_lag_seconds From the eventos row (its transaction's "
               "time) to the frame written to a socket.\n"
               "# TYPE chat_rtd_delivery_lag_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b < RT_LAG_BUCKETS; b++) {
        cum += s->lag_bucket[b];
        fprintf(f, "chat_rtd_delivery_lag_seconds_bucket{le=\"%g\"} %llu\n", lag_le[b],
                (unsigned long long)cum);
    }
    cum += s->lag_bucket[RT_LAG_BUCKETS];
    fprintf(f,
            "chat_rtd_delivery_lag_seconds_bucket{le=\"+Inf\"} %llu\n"
            "chat_rtd_delivery_lag_seconds_sum %.6f\n"
            "chat_rtd_delivery_lag_seconds_count %llu\n",
            (unsigned long long)cum, s->lag_sum, (unsigned long long)s->lag_count);

    counter(f, "chat_rtd_feed_notifies_total", "chat_eventos NOTIFY wake-ups received.",
            s->feed_notifies);
    counter(f, "chat_rtd_feed_timer_reads_total",
            "eventos cursor reads started by the 1 s timer (the safety net for lost NOTIFYs).",
            s->feed_timer_reads);
    counter(f, "chat_rtd_feed_rows_total", "eventos rows read by the cursor.", s->feed_rows);
    counter(f, "chat_rtd_db_reconnects_total",
            "Times the LISTEN connection was opened again after being lost.", s->db_reconnects);
    counter(f, "chat_rtd_db_connect_failures_total",
            "Attempts to open the LISTEN connection that failed.", s->db_listen_failures);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
