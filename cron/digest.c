/* digest.c: `chat-cron digest`: composes the unread e-mail digests that
 * are due and sends the queue over SMTP with libcurl (domain/resumen.h). */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/app.h"
#include "core/log.h"
#include "cron.h"
#include "domain/resumen.h"
#include "wire/mail.h"

struct digest {
    struct cfg *cfg;
    struct db *db;
    struct arena *a;
};

/* libcurl reads the message from here. */
struct digest_body {
    const char *p;
    size_t left;
};

static size_t digest_read(char *buf, size_t size, size_t n, void *ud)
{
    struct digest_body *b = ud;
    size_t k = size * n < b->left ? size * n : b->left;
    memcpy(buf, b->p, k);
    b->p += k;
    b->left -= k;
    return k;
}

/* One SMTP conversation; 0, or -1 with why. */
static int digest_smtp(const struct cfg *c, const char *to, const char *msg, size_t len,
                       char *why, size_t whylen)
{
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(why, whylen, "curl_easy_init failed");
        return -1;
    }
    struct arena *a = arena_new();
    struct curl_slist *rcpt = curl_slist_append(NULL, arena_printf(a, "<%s>", to));
    struct digest_body body = { msg, len };
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, c->smtp_url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, arena_printf(a, "<%s>", mail_address(a, c->smtp_remitente)));
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, digest_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &body);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE, (long)len);
    curl_easy_setopt(h, CURLOPT_USE_SSL, strcmp(c->smtp_tls, "obligatorio") == 0 ? (long)CURLUSESSL_ALL
                                         : strcmp(c->smtp_tls, "opcional") == 0  ? (long)CURLUSESSL_TRY
                                                                                 : (long)CURLUSESSL_NONE);
    if (c->smtp_usuario[0]) {
        curl_easy_setopt(h, CURLOPT_USERNAME, c->smtp_usuario);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->smtp_clave);
    }
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK)
        snprintf(why, whylen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    arena_free(a);
    return rc == CURLE_OK ? 0 : -1;
}

/* Sends what is queued, until the queue is empty or a stop. */
static int digest_send(struct digest *g)
{
    const struct cfg *c = g->cfg;
    /* the Message-ID's domain: the sender's (config checks it has an '@');
     * copied, as the arena is reset for every batch */
    char domain[256];
    const char *at = strchr(c->smtp_remitente, '@');
    snprintf(domain, sizeof(domain), "%.*s", at ? (int)strcspn(at + 1, ">") : 9,
             at ? at + 1 : "localhost");
    for (;;) {
        arena_reset(g->a);
        struct err e = { ERR_NONE, "" };
        struct resumen_envio *v;
        int n;
        if (resumen_claim(g->db, g->a, 120, 10, &v, &n, &e) < 0)
            return -1;
        if (n == 0)
            return 0;
        for (int i = 0; i < n; i++) {
            struct mail m = {
                .from = c->smtp_remitente,
                .to = v[i].destinatario,
                .subject = v[i].asunto,
                /* the same id on every attempt: a retry is the same message */
                .message_id = arena_printf(g->a, "<resumen.%lld.%lld@%s>", v[i].id,
                                           v[i].created_epoch, domain),
                .unsubscribe = arena_printf(g->a, "%s/chat/?preferencias=1", c->url_publica),
                .date = (time_t)v[i].created_epoch,
                .text = v[i].texto,
                .html = v[i].html,
            };
            size_t len;
            char *msg = mail_build(g->a, &m, &len);
            char why[CURL_ERROR_SIZE + 64] = "";
            int ok = msg ? digest_smtp(c, v[i].destinatario, msg, len, why, sizeof(why))
                         : (snprintf(why, sizeof(why), "dirección no válida"), -1);
            if (ok == 0) {
                log_info("event=resumen_enviado id=%lld intento=%d", v[i].id, v[i].intentos);
                if (resumen_sent(g->db, g->a, v[i].id, &e) < 0)
                    return -1;
            } else {
                log_warn("event=resumen_fallido id=%lld intento=%d error=\"%s\"", v[i].id,
                         v[i].intentos, why);
                if (resumen_failed(g->db, g->a, v[i].id, why, c->resumen_max_intentos, &e) < 0)
                    return -1;
            }
        }
        if (cron_stopping())
            return 0;
    }
}

static int digest_pass(void *ud)
{
    struct digest *g = ud;
    if (!g->cfg->smtp_url[0])
        return 0;   /* no SMTP server configured: the digest is off */
    if (db_ensure(g->db) < 0)
        return -1;
    struct resumen_cfg rc = { g->cfg->resumen_retraso_minutos, g->cfg->resumen_en_vacaciones,
                              g->cfg->url_publica };
    struct err e = { ERR_NONE, "" };
    int n, total = 0;
    do {
        arena_reset(g->a);
        if (resumen_compose(g->db, g->a, &rc, 200, &n, &e) < 0)
            return -1;
        total += n;
    } while (n > 0 && !cron_stopping());
    if (total)
        log_info("event=resumenes_compuestos usuarios=%d", total);
    return digest_send(g);
}

int cron_digest(struct cfg *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "loop", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    long loop_s = 0;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != 'l' || cron_parse_seconds("digest", "--loop", optarg, 1, 86400, &loop_s) < 0) {
            fprintf(stderr, "usage: chat-cron digest [--loop SECONDS]\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "usage: chat-cron digest [--loop SECONDS]\n");
        return 2;
    }
    if (!c->smtp_url[0])
        log_info("event=resumen_desactivado reason=\"smtp_url is empty\"");
    struct digest g = { .cfg = c, .a = arena_new() };
    if (!g.a)
        return 1;
    g.db = app_db(c, c->migrate_on_start);
    int ret = cron_run("digest", loop_s, digest_pass, &g);
    db_close(g.db);
    arena_free(g.a);
    return ret;
}
