/* receipts.c: `chat-cron receipts`: asks Expo for the receipts of sent
 * pushes ('enviado' rows with a ticket) and records them: ok -> entregado;
 * DeviceNotRegistered -> the device is deleted; MessageRateExceeded -> sent
 * again later; other errors -> fallido; no receipt 24 h after sending ->
 * desconocido. One run at a time (an advisory lock); at most 1000 ids per
 * request. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/app.h"
#include "cron.h"
#include "metrics.h"
#include "wire/expo.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "domain/push.h"

/* Expo keeps receipts for 24 hours. */
static const char rcpt_sql_expire[] =
    "UPDATE queue_mensajes SET estado = 'desconocido', "
    "       error = coalesce(error, 'no receipt within 24 hours'), updated_at = now() "
    " WHERE estado = 'enviado' AND sent_at < now() - interval '24 hours'";

/* The next page of tickets to ask about: sent at least $1 seconds ago,
 * after (sent_at, id) = ($2, $3), oldest first. */
static const char rcpt_sql_page[] =
    "SELECT id, ticket_id, intentos, sent_at FROM queue_mensajes "
    " WHERE estado = 'enviado' AND ticket_id IS NOT NULL "
    "   AND sent_at <= now() - make_interval(secs => $1::int) "
    "   AND (sent_at, id) > ($2::timestamptz, $3::bigint) "
    " ORDER BY sent_at, id LIMIT $4::int";

/* Records outcomes ($1: [{id, ticket, estado, error, delay_ms}]) of rows
 * still waiting for that ticket's receipt. A row sent again loses its
 * ticket. */
static const char rcpt_sql_record[] =
    "UPDATE queue_mensajes q "
    "   SET estado = r.estado, error = r.error, "
    "       ticket_id = CASE WHEN r.estado = 'pendiente' THEN NULL ELSE q.ticket_id END, "
    "       next_attempt_at = CASE WHEN r.delay_ms IS NULL THEN q.next_attempt_at "
    "                              ELSE now() + r.delay_ms * interval '1 millisecond' END, "
    "       updated_at = now() "
    "  FROM jsonb_to_recordset($1::jsonb) "
    "       AS r(id bigint, ticket text, estado text, error text, delay_ms bigint) "
    " WHERE q.id = r.id AND q.estado = 'enviado' AND q.ticket_id = r.ticket";

/* DeviceNotRegistered: the devices of rows $1 go, with all their rows,
 * unless the app registered the token again after that push was sent. */
static const char rcpt_sql_unregistered[] =
    "DELETE FROM dispositivos_usuario d USING queue_mensajes q "
    " WHERE q.id = ANY($1::bigint[]) AND d.id = q.dispositivo_id AND d.updated_at <= q.sent_at";

static const char rcpt_sql_lock[] = "SELECT pg_try_advisory_lock(hashtext('chat-cron receipts'))";
static const char rcpt_sql_unlock[] = "SELECT pg_advisory_unlock(hashtext('chat-cron receipts'))";

struct rcpt_checker {
    const struct cfg *cfg;
    struct db *db;
    struct expo *expo;
    struct arena *a;
    long min_age_s;
};

struct rcpt_counts {
    int requests, asked, delivered, failed, requeued, unregistered, waiting;
};

/* Asks for one page of receipts, after the key (last_sent, last_id), and
 * records them. Sets *more when the page was full, and the key to its last
 * row. */
static int rcpt_page(struct rcpt_checker *k, char last_sent[64], char last_id[32], bool *more,
                     struct rcpt_counts *cnt)
{
    struct err e = { 0 };
    struct arena *a = k->a;
    *more = false;
    const char *pp[4] = { db_ll(a, k->min_age_s), last_sent, last_id,
                          db_ll(a, EXPO_RECEIPTS_MAX) };
    PGresult *r = db_exec(k->db, a, rcpt_sql_page, 4, pp, &e);
    if (!r)
        return -1;
    int n = PQntuples(r);
    if (n == 0)
        return 0;
    *more = n == EXPO_RECEIPTS_MAX;
    snprintf(last_sent, 64, "%s", db_get(r, n - 1, 3));
    snprintf(last_id, 32, "%s", db_get(r, n - 1, 0));

    struct expo_receipt *rs = arena_alloc(a, sizeof(*rs) * (size_t)n);
    json_object *req = jsonx_own(a, json_object_new_object());
    json_object *ids = json_object_new_array();
    json_object_object_add(req, "ids", ids);
    for (int i = 0; i < n; i++) {
        rs[i].id = db_get(r, i, 1);
        json_object_array_add(ids, json_object_new_string(rs[i].id));
    }
    const char *body = jsonx_text(a, req);
    struct expo_reply rep;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expo_post(k->expo, a, EXPO_PATH_RECEIPTS, body, strlen(body), &rep);
    cnt->asked += n;
    cnt->requests++;
    char why[200];
    if (expo_classify(&rep) != EXPO_OK ||
        expo_parse_receipts(a, rep.body, rep.len, rs, (size_t)n, why, sizeof(why)) < 0) {
        /* nothing changes: the same tickets are asked for next time */
        log_warn("event=receipts_failed reason=\"%s\" http=%ld retry_after_s=%ld ids=%d",
                 rep.status == 200 ? why : rep.why, rep.status, rep.retry_after_s, n);
        *more = false;
        return 0;
    }

    json_object *arr = jsonx_own(a, json_object_new_array());
    char *unreg = arena_alloc(a, (size_t)n * 21 + 3), *p = unreg;
    int nunreg = 0;
    *p++ = '{';
    for (int i = 0; i < n; i++) {
        const struct expo_receipt *x = &rs[i];
        if (!x->found) {
            cnt->waiting++;
            continue;
        }
        const char *estado, *error = NULL;
        long long delay = -1;
        if (x->ok) {
            estado = "entregado";
            cnt->delivered++;
        } else {
            const char *code = x->error ? x->error : "error";
            error = arena_printf(a, "%s%s%s", code, x->message ? ": " : "",
                                 x->message ? x->message : "");
            int intentos = (int)db_get_ll(r, i, 2);
            if (strcmp(code, "MessageRateExceeded") == 0 && intentos < k->cfg->push_max_attempts) {
                estado = "pendiente";
                delay = push_retry_delay_ms(intentos, 0, (unsigned)random());
                cnt->requeued++;
            } else {
                estado = "fallido";
                cnt->failed++;
            }
            if (strcmp(code, "DeviceNotRegistered") == 0) {
                p += sprintf(p, "%s%s", nunreg ? "," : "", db_get(r, i, 0));
                nunreg++;
            }
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(db_get_ll(r, i, 0)));
        json_object_object_add(o, "ticket", json_object_new_string(x->id));
        json_object_object_add(o, "estado", json_object_new_string(estado));
        json_object_object_add(o, "error", jsonx_str(error));
        json_object_object_add(o, "delay_ms", delay >= 0 ? json_object_new_int64(delay) : NULL);
        json_object_array_add(arr, o);
    }
    *p++ = '}';
    *p = '\0';
    if (json_object_array_length(arr) == 0)
        return 0;
    const char *rp[1] = { jsonx_text(a, arr) };
    if (db_begin(k->db, &e) < 0)
        return -1;
    if (!db_exec(k->db, a, rcpt_sql_record, 1, rp, &e))
        goto fail;
    if (nunreg) {
        const char *up[1] = { unreg };
        PGresult *d = db_exec(k->db, a, rcpt_sql_unregistered, 1, up, &e);
        if (!d)
            goto fail;
        cnt->unregistered += atoi(PQcmdTuples(d));
    }
    if (db_commit(k->db, &e) < 0)
        goto fail;
    return 0;
fail:
    db_rollback(k->db);
    return -1;
}

static int rcpt_pass(void *ud)
{
    struct rcpt_checker *k = ud;
    struct err e = { 0 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    arena_reset(k->a);
    if (db_ensure(k->db) < 0)
        return -1;
    PGresult *r = db_exec(k->db, k->a, rcpt_sql_lock, 0, NULL, &e);
    if (!r)
        return -1;
    if (!db_get_bool(r, 0, 0)) {
        log_info("event=receipts_skipped reason=\"another receipts run holds the lock\"");
        return 0;
    }
    int ret = 0;
    struct rcpt_counts cnt = { 0 };
    r = db_exec(k->db, k->a, rcpt_sql_expire, 0, NULL, &e);
    if (!r) {
        ret = -1;
        goto cleanup;
    }
    int unknown = atoi(PQcmdTuples(r));
    char last_sent[64] = "-infinity", last_id[32] = "0";
    for (bool more = true; more && !cron_stopping();) {
        arena_reset(k->a);
        if (rcpt_page(k, last_sent, last_id, &more, &cnt) < 0) {
            ret = -1;
            break;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    /* a quiet pass (nothing sent lately) logs only at debug level */
    {
        static const char *const names[] = { "push_delivered", "push_failed", "push_requeued",
                                             "push_receipt_unknown",
                                             "push_devices_unregistered" };
        const long long v[] = { cnt.delivered, cnt.failed, cnt.requeued, unknown,
                                cnt.unregistered };
        arena_reset(k->a);
        cron_count(k->db, k->a, names, v, 5);
    }
    log_msg(cnt.asked || unknown ? LOG_INFO : LOG_DEBUG,
            "event=receipts asked=%d delivered=%d failed=%d requeued=%d devices_deleted=%d "
            "waiting=%d unknown=%d requests=%d ms=%.0f",
            cnt.asked, cnt.delivered, cnt.failed, cnt.requeued, cnt.unregistered, cnt.waiting,
            unknown, cnt.requests, ms);
cleanup:
    arena_reset(k->a);
    db_exec(k->db, k->a, rcpt_sql_unlock, 0, NULL, &e);
    arena_reset(k->a);
    return ret;
}

int cron_receipts(struct cfg *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "loop", required_argument, NULL, 'l' },
        { "min-age", required_argument, NULL, 'm' },
        { NULL, 0, NULL, 0 },
    };
    static const char usage[] = "usage: chat-cron receipts [--loop SECONDS] [--min-age SECONDS]\n";
    long loop_s = 0, min_age = 900;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = -1;
        if (ch == 'l')
            bad = cron_parse_seconds("receipts", "--loop", optarg, 1, 86400, &loop_s);
        else if (ch == 'm')
            bad = cron_parse_seconds("receipts", "--min-age", optarg, 0, 86400, &min_age);
        if (bad < 0) {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fputs(usage, stderr);
        return 2;
    }
    struct rcpt_checker k = { .cfg = c, .min_age_s = min_age };
    k.expo = expo_new(c->expo_url, c->expo_access_token, 30);
    k.a = arena_new();
    if (!k.expo || !k.a) {
        log_error("event=start_failed reason=\"cannot initialise libcurl\"");
        expo_free(k.expo);
        arena_free(k.a);
        return 1;
    }
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    k.db = app_db(c, c->migrate_on_start);
    int ret = cron_run("receipts", loop_s, rcpt_pass, &k);
    db_close(k.db);
    arena_free(k.a);
    expo_free(k.expo);
    return ret;
}
