/* test_limites.c: rate limits (API.md §3, §9) against the running stack:
 * a user who floods gets 429 limite_excedido with Retry-After, shared by
 * every FastCGI worker, while another user is not affected; a refused
 * request writes nothing; the daily upload quota. The test stack's limits
 * come from CHAT_LIMITE_* (scripts/run-tests.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "it.h"

#define BATCH 16

/* Sends n copies of one request in parallel batches; returns how many got
 * 429 (each checked for the error code), and counts the others in *ok. */
static int flood(const char *method, const char *path, const char *tok, const char *body,
                 int n, int *ok)
{
    int limited = 0;
    *ok = 0;
    struct it_job jobs[BATCH];
    for (int done = 0; done < n;) {
        int k = n - done < BATCH ? n - done : BATCH;
        for (int i = 0; i < k; i++)
            jobs[i] = (struct it_job){ .method = method, .path = path, .token = tok, .body = body };
        it_parallel(jobs, (size_t)k);
        for (int i = 0; i < k; i++) {
            if (jobs[i].status == 429) {
                limited++;
                CU_ASSERT_PTR_NOT_NULL(strstr(jobs[i].out, "\"limite_excedido\""));
            } else if (jobs[i].status >= 200 && jobs[i].status < 300) {
                (*ok)++;
            }
            free(jobs[i].out);
        }
        done += k;
    }
    return limited;
}

/* The Retry-After of a response, or -1. */
static long retry_after(const struct it_resp *r)
{
    const char *h = r->headers ? strcasestr(r->headers, "\nRetry-After:") : NULL;
    return h ? strtol(h + 13, NULL, 10) : -1;
}

static void test_limites__send_flood_gets_429_other_user_unaffected(void)
{
    int lim = it_cfg()->limite_envios;
    CU_ASSERT_FATAL(lim > 0 && lim <= 1000);
    char *ta, *tb;
    it_user("la", "Lola Limite", NULL, &ta);
    long long b = it_user("lb", "Luis Limite", NULL, &tb);
    long long g = it_group(ta, "Limites", &b, 1);
    long long m = it_send_text(tb, g, "reaccionen aquí");
    /* a reaction is a send: the same one, over and over (idempotent, so
     * only the limit can refuse it) */
    int ok = 0, limited = 0, total = 0;
    time_t t0 = time(NULL);
    /* past the bucket, and on until refusals come: a slow machine (the
     * sanitizer build) drains it more slowly, as the refill keeps adding */
    for (int n = lim + 150; limited < 1 && total < 4 * lim; n = 8 * BATCH) {
        int o;
        limited += flood("POST", it_fmt("/mensajes/%lld/reacciones", m), ta, "{\"emoji\":\"👍\"}",
                         n, &o);
        ok += o;
        total += n;
    }
    /* the bucket holds lim and refills lim per minute: what dripped in while
     * the flood ran passes too, never more */
    long secs = (long)(time(NULL) - t0) + 1;
    fprintf(stderr, "limit %d/min: %d ok, %d limited of %d in %ld s\n", lim, ok, limited, total, secs);
    CU_ASSERT(limited >= 1);
    CU_ASSERT(ok >= lim - 1 && ok <= lim + 1 + secs * lim / 60);
    CU_ASSERT_EQUAL(ok + limited, total);
    /* messages right after: the few that dripped in pass, the rest are
     * refused and write nothing (rows added == 201s) */
    long long before = it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld", g);
    int sent;
    int refused = flood("POST", it_fmt("/chats/%lld/mensajes", g), ta, "{\"contenido\":\"uno más\"}",
                        BATCH, &sent);
    CU_ASSERT(refused >= 1);
    CU_ASSERT_EQUAL(sent + refused, BATCH);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM mensajes WHERE chat_id = %lld", g), before + sent);
    /* until one is refused again (the bucket refills a unit every 150 ms):
     * its Retry-After says when to come back */
    struct it_resp *r = NULL;
    long ra = -1;
    for (int i = 0; i < 50 && ra < 0; i++) {
        r = it_req("POST", it_fmt("/mensajes/%lld/reacciones", m), ta, "{\"emoji\":\"👍\"}");
        if (r->status == 429)
            ra = retry_after(r);
        it_free(r);
    }
    CU_ASSERT(ra >= 1 && ra <= 60);
    /* the other user, in the same chat, at the same moment: unaffected */
    r = it_req("POST", it_fmt("/chats/%lld/mensajes", g), tb, "{\"contenido\":\"yo sí puedo\"}");
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    /* reading is not limited */
    r = it_req("GET", it_fmt("/chats/%lld/mensajes", g), ta, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    /* and after Retry-After, the flooder may send again */
    if (ra >= 1 && ra <= 60)
        sleep((unsigned)ra + 1);
    r = it_req("POST", it_fmt("/chats/%lld/mensajes", g), ta, "{\"contenido\":\"ya tranquilo\"}");
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    free(ta);
    free(tb);
}

static void test_limites__search_flood(void)
{
    int lim = it_cfg()->limite_busquedas;
    CU_ASSERT_FATAL(lim > 0 && lim <= 1000);
    char *ta, *tb;
    it_user("sa", "Sofía Busca", NULL, &ta);
    it_user("sb", "Sergio Busca", NULL, &tb);
    int ok;
    int limited = flood("GET", "/usuarios?q=busca&limite=1", ta, NULL, lim + 30, &ok);
    CU_ASSERT(limited >= 10);
    struct it_resp *r = it_req("GET", "/usuarios?q=busca&limite=1", tb, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    /* another kind is a separate budget */
    r = it_req("GET", "/me", ta, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    free(ta);
    free(tb);
}

static void test_limites__upload_quota(void)
{
    long long mb = it_cfg()->media_cuota_diaria_mb;
    CU_ASSERT_FATAL(mb > 0);
    char *ta, *tb;
    long long a = it_user("qa", "Quique Cuota", NULL, &ta);
    it_user("qb", "Queta Cuota", NULL, &tb);
    /* today's uploads so far: the whole quota but 1 KiB (rows standing for
     * files already stored) */
    it_db_llf("WITH x AS (INSERT INTO media (uploader_id, storage_key, nombre, mime, tamano)"
              " VALUES (%lld, 'cuota/' || %lld || '/' || txid_current(), 'x.bin',"
              " 'application/octet-stream', %lld) RETURNING 1) SELECT count(*) FROM x",
              a, a, mb * 1024 * 1024 - 1024);
    long long files = it_db_llf("SELECT count(*) FROM media WHERE uploader_id = %lld", a);
    const char *form = "--B0\r\nContent-Disposition: form-data; name=\"archivo\"; filename=\"a.pdf\"\r\n"
                       "Content-Type: application/pdf\r\n\r\n%%PDF-1.4\n%s\n%%%%EOF\n\r\n--B0--\r\n";
    char big[4096];
    memset(big, '%', 2048);
    big[2048] = '\0';
    char body[8192];
    int n = snprintf(body, sizeof(body), form, big);
    struct it_resp *r = it_req_ex("POST", "/media", ta, body, (size_t)n,
                                  "multipart/form-data; boundary=B0", NULL);
    CU_ASSERT_EQUAL(r->status, 429);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "limite_excedido");
    long ra = retry_after(r);
    CU_ASSERT(ra > 3600 && ra <= 86400);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM media WHERE uploader_id = %lld", a), files);
    /* a small file still fits */
    n = snprintf(body, sizeof(body), form, "hola");
    r = it_req_ex("POST", "/media", ta, body, (size_t)n, "multipart/form-data; boundary=B0", NULL);
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    /* another user's quota is theirs */
    n = snprintf(body, sizeof(body), form, big);
    r = it_req_ex("POST", "/media", tb, body, (size_t)n, "multipart/form-data; boundary=B0", NULL);
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    free(ta);
    free(tb);
}

int main(void)
{
    it_init();
    static const struct cu_test tests[] = {
        { "send_flood_gets_429_other_user_unaffected",
          test_limites__send_flood_gets_429_other_user_unaffected },
        { "search_flood", test_limites__search_flood },
        { "upload_quota", test_limites__upload_quota },
        { NULL, NULL },
    };
    return cu_run("limites", tests);
}
