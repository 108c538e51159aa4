/* prune.c: `chat-cron prune`: media files and eventos rows past their
 * retention. */
#include "prune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/log.h"
#include "metrics.h"
#include "domain/evt.h"
#include "domain/media.h"
#include "domain/retention.h"

/* Upload temporary files are live for seconds; one a day old was left by a
 * crash. */
#define PRUNE_TMP_AGE (24 * 3600)

/* eventos goes in slices, so a big backlog never holds one long lock. */
#define PRUNE_EVENTOS_BATCH 10000

static const char prune_sql_lock[] = "SELECT pg_try_advisory_lock(hashtext('chat-cron prune'))";
static const char prune_sql_unlock[] = "SELECT pg_advisory_unlock(hashtext('chat-cron prune'))";

/* Each slice also moves the pruned mark forward, so a sync cursor older
 * than what is gone is refused instead of silently missing events. */
static const char prune_sql_eventos[] =
    EVT_SQL_PRUNE("created_at < now() - make_interval(days => $1::int)", "$2");

static int prune_eventos(struct db *d, struct arena *a, int days, long long *deleted,
                         struct err *e)
{
    *deleted = 0;
    for (;;) {
        const char *params[2] = { db_ll(a, days), db_ll(a, PRUNE_EVENTOS_BATCH) };
        PGresult *r = db_exec(d, a, prune_sql_eventos, 2, params, e);
        if (!r)
            return -1;
        long long n = db_get_ll(r, 0, 0);
        *deleted += n;
        if (n < PRUNE_EVENTOS_BATCH)
            return 0;
    }
}

int cron_prune(struct cfg *c, int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: chat-cron prune\n");
        return 2;
    }
    (void)argv;
    int ret = 1;
    struct db *d = app_db(c, c->migrate_on_start);
    struct arena *a = arena_new();
    struct err e = { ERR_NONE, "" };
    PGresult *r = db_exec(d, a, prune_sql_lock, 0, NULL, &e);
    if (!r)
        goto cleanup;
    if (!db_get_bool(r, 0, 0)) {
        printf("prune: another run holds the lock; nothing to do\n");
        ret = 0;
        goto cleanup;
    }
    long purged = 0, swept = 0;
    long long eventos = 0;
    int failed = 0;
    struct media_store *s = media_store_local(a, c->media_dir, &e);
    /* the retention policy first: what it removes leaves media unattached
     * for media_prune below */
    struct retention_policy pol = { c->retencion_mensajes_dias, c->retencion_media_dias,
                                    c->retencion_comunicados_dias, 1000 };
    struct retention_counts rc = { 0 };
    if (retention_run(d, a, s, &pol, &rc, &e) < 0)
        failed = 1;
    if (!s || media_prune(d, a, s, c->media_retention_days, &purged, &e) < 0)
        failed = 1;
    if (s && s->sweep(s, PRUNE_TMP_AGE, &swept, &e) < 0)
        failed = 1;
    if (prune_eventos(d, a, c->eventos_retention_days, &eventos, &e) < 0)
        failed = 1;
    db_exec(d, a, prune_sql_unlock, 0, NULL, &e);
    static const char *const names[] = { "prune_runs", "prune_failed_runs",
                                         "prune_eventos_deleted", "prune_media_purged" };
    const long long v[] = { 1, failed, eventos, purged };
    cron_count(d, a, names, v, 4);
    log_info("event=prune media_purged=%ld tmp_removed=%ld eventos_deleted=%lld failed=%d",
             purged, swept, eventos, failed);
    printf("prune: %ld media files removed, %ld temporary files removed, %lld eventos deleted\n",
           purged, swept, eventos);
    printf("retention: %lld messages in %lld chats, %lld media files, %lld announcements,"
           " %lld chat events deleted\n",
           rc.mensajes, rc.chats, rc.media, rc.comunicados, rc.eventos);
    ret = failed;
cleanup:
    arena_free(a);
    db_close(d);
    return ret;
}
