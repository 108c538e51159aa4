/* routes.c: every REST endpoint, as data, and the dispatcher. */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "metrics.h"
#include "core/origin.h"
#include "domain/limite.h"

const struct route routes[] = {
    { "GET",  "/salud",                              h_salud,               ROUTE_PUBLIC },
    { "GET",  "/me",                                 h_me,                  ROUTE_USER },
    { "GET",  "/me/preferencias",                    h_me_prefs_get,        ROUTE_USER },
    { "PUT",  "/me/preferencias",                    h_me_prefs_put,        ROUTE_USER | ROUTE_JSON },
    { "GET",  "/usuarios",                           h_usuarios_list,       ROUTE_USER | ROUTE_RATE_SEARCH },
    { "GET",  "/usuarios/{id}",                      h_usuarios_get,        ROUTE_USER },
    { "GET",  "/presencia",                          h_presencia,           ROUTE_USER },
    { "PUT",  "/interno/usuarios/{id_erp}",          h_interno_provision,   ROUTE_SERVICE | ROUTE_JSON },
    { "POST", "/interno/usuarios/{id_erp}/desactivar", h_interno_desactivar, ROUTE_SERVICE | ROUTE_JSON_OPT },
    { "POST", "/interno/usuarios/{id_erp}/reactivar", h_interno_reactivar,  ROUTE_SERVICE | ROUTE_JSON_OPT },
    { "PUT",  "/interno/usuarios/{id_erp}/vacaciones", h_interno_vacaciones, ROUTE_SERVICE | ROUTE_JSON },
    { "GET",  "/interno/metricas",                   h_interno_metricas,    ROUTE_SERVICE },
    /* compliance: legal hold, retention, audit trail */
    { "PUT",  "/interno/usuarios/{id_erp}/retencion",  h_interno_usuario_retencion, ROUTE_SERVICE | ROUTE_JSON },
    { "PUT",  "/interno/chats/{id}/retencion",         h_interno_chat_retencion, ROUTE_SERVICE | ROUTE_JSON },
    { "GET",  "/interno/auditoria",                    h_interno_auditoria,   ROUTE_SERVICE },
    { "GET",  "/auditoria",                            h_auditoria_list,      ROUTE_USER },
    { "GET",  "/auditoria/chats/{id}/mensajes",        h_auditoria_mensajes,  ROUTE_USER },
    { "GET",  "/interno/chats/{id}/exportar",          h_interno_chat_exportar, ROUTE_SERVICE },
    { "GET",  "/interno/usuarios/{id_erp}/exportar",   h_interno_usuario_exportar, ROUTE_SERVICE },
    /* announcements (h_comunicados.c) */
    { "POST", "/comunicados",                        h_comunicados_create,  ROUTE_USER | ROUTE_JSON | ROUTE_RATE_SEND },
    { "GET",  "/comunicados",                        h_comunicados_list,    ROUTE_USER },
    { "GET",  "/comunicados/{id}",                   h_comunicados_get,     ROUTE_USER },
    { "DELETE", "/comunicados/{id}",                 h_comunicados_delete,  ROUTE_USER },
    { "POST", "/comunicados/{id}/leido",             h_comunicados_leido,   ROUTE_USER | ROUTE_JSON_OPT },
    { "GET",  "/comunicados/{id}/lecturas",          h_comunicados_lecturas, ROUTE_USER },
    { "POST", "/comunicados/{id}/reacciones",        h_comunicados_react,   ROUTE_USER | ROUTE_JSON | ROUTE_RATE_SEND },
    { "DELETE", "/comunicados/{id}/reacciones/{emoji}", h_comunicados_unreact, ROUTE_USER },
    /* polls (h_encuestas.c) */
    { "POST", "/chats/{id}/encuestas",               h_encuestas_create,    ROUTE_USER | ROUTE_JSON | ROUTE_RATE_SEND },
    { "PUT",  "/encuestas/{id}/voto",                h_encuestas_voto,      ROUTE_USER | ROUTE_GATED | ROUTE_JSON },
    { "POST", "/encuestas/{id}/cerrar",              h_encuestas_cerrar,    ROUTE_USER | ROUTE_JSON_OPT },
    /* chats, members, messages, sync (issue 3) */
    { "GET",    "/chats",                                h_chats_list,          ROUTE_USER | ROUTE_GATED },
    { "POST",   "/chats/directo",                        h_chats_directo,       ROUTE_USER | ROUTE_JSON },
    { "POST",   "/chats",                                h_chats_create,        ROUTE_USER | ROUTE_JSON },
    { "GET",    "/chats/{id}",                           h_chats_get,           ROUTE_USER },
    { "PATCH",  "/chats/{id}",                           h_chats_update,        ROUTE_USER | ROUTE_JSON },
    { "DELETE", "/chats/{id}",                           h_chats_delete,        ROUTE_USER },
    { "GET",    "/chats/{id}/miembros",                  h_miembros_list,       ROUTE_USER },
    { "POST",   "/chats/{id}/miembros",                  h_miembros_add,        ROUTE_USER | ROUTE_JSON },
    { "PATCH",  "/chats/{id}/miembros/{usuario_id}",     h_miembros_rol,        ROUTE_USER | ROUTE_JSON },
    { "DELETE", "/chats/{id}/miembros/{usuario_id}",     h_miembros_remove,     ROUTE_USER },
    { "PUT",    "/chats/{id}/silenciar",                 h_chats_silenciar,     ROUTE_USER | ROUTE_JSON },
    { "GET",    "/chats/{id}/mensajes",                  h_mensajes_list,       ROUTE_USER | ROUTE_GATED },
    { "POST",   "/chats/{id}/mensajes",                  h_mensajes_send,       ROUTE_USER | ROUTE_GATED | ROUTE_JSON | ROUTE_RATE_SEND },
    { "POST",   "/chats/{id}/leido",                     h_chats_leido,         ROUTE_USER | ROUTE_GATED | ROUTE_JSON },
    { "PATCH",  "/mensajes/{id}",                        h_mensajes_edit,       ROUTE_USER | ROUTE_GATED | ROUTE_JSON | ROUTE_RATE_SEND },
    { "DELETE", "/mensajes/{id}",                        h_mensajes_delete,     ROUTE_USER },
    { "POST",   "/mensajes/{id}/reacciones",             h_reacciones_add,      ROUTE_USER | ROUTE_GATED | ROUTE_JSON | ROUTE_RATE_SEND },
    { "DELETE", "/mensajes/{id}/reacciones/{emoji}",     h_reacciones_remove,   ROUTE_USER | ROUTE_GATED },
    { "GET",    "/mensajes/{id}/lecturas",               h_mensajes_lecturas,   ROUTE_USER },
    { "POST",   "/sync",                                 h_sync,                ROUTE_USER | ROUTE_GATED | ROUTE_JSON },
    { "GET",    "/sync/cursor",                          h_sync_cursor,         ROUTE_USER },
    /* chats tied to ERP records */
    { "PUT",    "/interno/contextos/{tipo}/{clave}",     h_interno_contexto,    ROUTE_SERVICE | ROUTE_JSON },
    { "GET",    "/contextos/{tipo}/{clave}",             h_contextos_get,       ROUTE_USER },
    /* search (h_busqueda.c) */
    { "GET",    "/buscar",                               h_buscar,              ROUTE_USER | ROUTE_RATE_SEARCH },
    /* media (h_media.c): no ROUTE_JSON, the upload streams its own body */
    { "POST",   "/media",                                h_media_upload,        ROUTE_USER | ROUTE_RATE_UPLOAD },
    { "GET",    "/media/{id}",                           h_media_get,           ROUTE_USER },
    { "HEAD",   "/media/{id}",                           h_media_get,           ROUTE_USER },
    /* push devices (h_dispositivos.c) */
    { "POST",   "/dispositivos",                         h_dispositivos_register,   ROUTE_USER | ROUTE_JSON },
    { "DELETE", "/dispositivos/{token}",                 h_dispositivos_unregister, ROUTE_USER },
    { NULL, NULL, NULL, 0 },
};

#define API_PREFIX "/chat/api/v1"

static long long routes_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* The bearer token or the ERP cookie; NULL when neither is there.
 * *cookie tells which one it was. */
static const char *routes_token(struct req *rq, bool *cookie)
{
    *cookie = false;
    const char *h = http_env(rq, "HTTP_AUTHORIZATION");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        return h;
    }
    if (rq->cfg->jwt_cookie[0]) {
        const char *c = http_cookie(rq, rq->cfg->jwt_cookie);
        *cookie = c != NULL;
        return c;
    }
    return NULL;
}

/* Whether the media type of CONTENT_TYPE (parameters after ';' ignored)
 * is exactly application/json. */
static bool routes_is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

/* A browser sends the ERP cookie with any request to us, whichever site
 * made it, so a cookie alone does not show that the user meant a change.
 * An unsafe method must then come from our own origin or a configured one
 * (API.md §9), and a JSON endpoint must be called with the JSON media type,
 * which no cross-site form or no-cors fetch can send. Runs before the
 * token is checked, so a refused request writes nothing. */
static int routes_cookie_rule(struct req *rq, unsigned flags, struct err *e)
{
    if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0)
        return 0;
    /* nginx passes REQUEST_SCHEME; Apache and others at least HTTPS=on */
    const char *scheme = http_env(rq, "REQUEST_SCHEME"), *https = http_env(rq, "HTTPS");
    if (!scheme || !*scheme)
        scheme = https && strcasecmp(https, "on") == 0 ? "https" : "http";
    char own[ORIGIN_MAX];
    bool have_own = origin_own(scheme, http_env(rq, "HTTP_HOST"), http_env(rq, "SERVER_PORT"), own) == 0;
    if (!origin_request_allowed(http_env(rq, "HTTP_ORIGIN"), http_env(rq, "HTTP_SEC_FETCH_SITE"),
                                http_env(rq, "HTTP_REFERER"), have_own ? own : NULL,
                                rq->cfg->origenes_permitidos)) {
        log_warn("req=%s event=origin_refused origin=\"%.100s\" host=\"%.100s\"", rq->id,
                 http_env(rq, "HTTP_ORIGIN") ? http_env(rq, "HTTP_ORIGIN") : "-",
                 http_env(rq, "HTTP_HOST") ? http_env(rq, "HTTP_HOST") : "-");
        return err_set(e, ERR_ORIGIN, NULL);
    }
    if ((flags & (ROUTE_JSON | ROUTE_JSON_OPT)) && !routes_is_json_type(http_env(rq, "CONTENT_TYPE")))
        return err_set(e, ERR_MEDIA_TYPE, "Se requiere Content-Type: application/json");
    return 0;
}

/* The route's rate-limit kind (enum limite_clase), or -1. */
static int routes_rate_kind(unsigned flags)
{
    if (flags & ROUTE_RATE_SEND)
        return LIMITE_ENVIOS;
    if (flags & ROUTE_RATE_UPLOAD)
        return LIMITE_SUBIDAS;
    if (flags & ROUTE_RATE_SEARCH)
        return LIMITE_BUSQUEDAS;
    return -1;
}

/* gated: the route may queue the login check (ROUTE_GATED) instead of
 * running it now; rq->gated tells whether it did. */
static int routes_auth(struct req *rq, const struct token_keys *keys, unsigned flags,
                       bool gated, struct err *e)
{
    bool cookie;
    const char *tok = routes_token(rq, &cookie);
    if (tok && *tok && cookie && routes_cookie_rule(rq, flags, e) < 0)
        return -1;
    if (!tok || !*tok)
        return err_set(e, ERR_TOKEN, "Falta el token de acceso");
    struct token_claims c;
    if (token_verify_cached(rq->w ? rq->w->tokens : NULL, rq->cfg, keys, tok, (long long)time(NULL),
                            rq->a, &c, e) < 0)
        return -1;
    if ((flags & ROUTE_SERVICE) && !c.service)
        return err_set(e, ERR_FORBIDDEN, "Se requiere el token de servicio del ERP");
    if ((flags & ROUTE_USER) && c.service)
        return err_set(e, ERR_FORBIDDEN, "Se requiere el token de un usuario");
    int ret = 0;
    rq->gated = false;
    if (gated && rq->w) {
        ret = usr_login_gated(rq->db, rq->a, rq->w->users, rq->cfg, &c, rq->rate_kind, &rq->who, e);
        rq->gated = ret == 1;
    }
    if (ret == 0) {
        ret = usr_login(rq->db, rq->a, &c, &rq->who, e);
        if (ret == 0 && rq->w)
            usr_cache_put(rq->w->users, rq->a, &rq->who, &c);
    }
    rq->auth_us = routes_now_us() - rq->t0_us;
    if (ret < 0)
        return -1;
    if (!c.service)
        metrics_login(rq->w ? rq->w->metrics : NULL, rq->gated);
    rq->who.solicitud = rq->id;
    rq->who.ip = http_env(rq, "REMOTE_ADDR");
    return 0;
}

/* The route's rate limit for the caller (service tokens have none); an
 * upload also checks the daily quota against its declared length, before
 * a byte of it is read. */
static int routes_rate(struct req *rq, unsigned flags, struct err *e)
{
    if (!rq->who.id || rq->gated || routes_rate_kind(flags) < 0)
        return 0;     /* a gated login takes the unit in its own check */
    enum limite_clase k = (enum limite_clase)routes_rate_kind(flags);
    if (k != LIMITE_SUBIDAS)
        return limite_tomar(rq->db, rq->a, rq->cfg, rq->who.id, k, &rq->retry_after, e);
    const char *cl = http_env(rq, "CONTENT_LENGTH");
    long long n = cl ? strtoll(cl, NULL, 10) : 0;
    if (limite_tomar(rq->db, rq->a, rq->cfg, rq->who.id, k, &rq->retry_after, e) < 0 ||
        limite_cuota_media(rq->db, rq->a, rq->cfg, rq->who.id, n > 0 ? n : 0, &rq->retry_after,
                           e) < 0) {
        /* the web server has the whole body buffered: take it, unread */
        http_drain(rq, (unsigned long long)rq->cfg->media_max_bytes + 2 * 1024 * 1024);
        return -1;
    }
    return 0;
}

/* Finds the route; sets *method_mismatch when the path exists with
 * another method. */
static const struct route *routes_find(struct req *rq, bool *method_mismatch)
{
    *method_mismatch = false;
    for (const struct route *r = routes; r->method; r++) {
        struct route_captures caps;
        if (!route_match(r->pattern, rq->path, rq->a, &caps))
            continue;
        if (strcmp(r->method, rq->method) != 0) {
            *method_mismatch = true;
            continue;
        }
        rq->caps = caps;
        rq->route_no = (int)(r - routes) + 1;
        return r;
    }
    return NULL;
}

/* Reads and parses the route's JSON body. */
static int routes_body(struct req *rq, const struct route *r, struct err *e)
{
    if (!(r->flags & (ROUTE_JSON | ROUTE_JSON_OPT)))
        return 0;
    if (http_read_body(rq, (size_t)rq->cfg->body_max_bytes, e) < 0)
        return -1;
    if (rq->body_len > 0 || (r->flags & ROUTE_JSON)) {
        const char *ct = http_env(rq, "CONTENT_TYPE");
        if (ct && *ct && strncasecmp(ct, "application/json", 16) != 0)
            return err_set(e, ERR_INVALID, "Se esperaba Content-Type: application/json");
        rq->json = jsonx_parse_object(rq->a, rq->body, rq->body_len, e);
        if (!rq->json)
            return -1;
    }
    return 0;
}

/* The handler, run once more when a plan went stale (below). */
static int routes_handle(struct req *rq, const struct route *r, struct err *e)
{
    unsigned long commits = rq->db->commits;
    if (r->fn(rq, e) == 0)
        return 0;
    /* A migration changed a result type under a prepared statement (or the
     * server forgot them) after the transaction had done work: it was
     * rolled back and every statement will be prepared afresh, so the
     * request runs once more rather than answering 503. Not when an answer
     * went out, a transaction of it committed, or the handler consumed the
     * body stream. */
    if (e->code == ERR_UNAVAILABLE && db_take_replanned(rq->db) && rq->status == 0 &&
        !rq->streamed && rq->db->commits == commits) {
        db_rollback(rq->db);
        log_info("event=request_retry req=%s reason=replan", rq->id);
        *e = (struct err){ ERR_NONE, "" };
        return r->fn(rq, e);
    }
    return -1;
}

/* After a gated login (ROUTE_GATED) the request ran with its login check
 * queued or sent with its first statement; ret is how it ended. The check
 * decides first, as if it had run before everything else: a check still
 * queued (the request failed before any statement) is sent now; its
 * refusal replaces the request's outcome (a refused check let nothing of
 * the request reach the server); a user whose row is gone is looked up
 * again (usr_login) and the request runs once more, when r is given and
 * nothing of it went out. */
static int routes_gate_settle(struct req *rq, const struct token_keys *keys,
                              const struct route *r, int ret, struct err *e)
{
    rq->gated = false;
    struct err ge = { ERR_NONE, "" };
    if (rq->db->gate.pending && db_gate_flush(rq->db, &ge) < 0 && !db_gate_failed(rq->db))
        return ret;     /* the server is gone: the request's own outcome stands */
    int g = usr_gate_error(rq->db, rq->cfg, rq->rate_kind, &rq->retry_after, &ge);
    if (g == 0)
        return ret;
    db_rollback(rq->db);
    db_gate_reset(rq->db);
    if (ret == 0) {
        /* a gated handler answered without running a statement: a route
         * that must not be ROUTE_GATED */
        log_error("req=%s event=gate_after_answer method=%s path=%s", rq->id, rq->method,
                  rq->path);
        return 0;
    }
    if (g == 1) {
        *e = ge;
        return -1;
    }
    usr_cache_forget(rq->w ? rq->w->users : NULL, rq->who.id_erp);
    if (!r || rq->status != 0 || rq->streamed)
        return ret;
    log_info("event=request_retry req=%s reason=login", rq->id);
    *e = (struct err){ ERR_NONE, "" };
    if (routes_auth(rq, keys, r->flags, false, e) < 0 || routes_rate(rq, r->flags, e) < 0)
        return -1;
    return routes_handle(rq, r, e);
}

static int routes_run(struct req *rq, const struct token_keys *keys, struct err *e)
{
    const char *uri = http_env(rq, "REQUEST_URI");
    if (!uri)
        uri = "";
    const char *q = strchr(uri, '?');
    size_t ulen = q ? (size_t)(q - uri) : strlen(uri);
    rq->query = q ? q + 1 : "";
    if (ulen < sizeof(API_PREFIX) - 1 || memcmp(uri, API_PREFIX, sizeof(API_PREFIX) - 1) != 0)
        return err_set(e, ERR_NOT_FOUND, "Ruta desconocida");
    rq->path = arena_strndup(rq->a, uri + sizeof(API_PREFIX) - 1,
                             ulen - (sizeof(API_PREFIX) - 1));
    if (!rq->path[0])
        rq->path = "/";
    bool mismatch;
    const struct route *r = routes_find(rq, &mismatch);
    if (!r) {
        if (mismatch) {
            rq->force_status = 405;
            return err_set(e, ERR_INVALID, "Método no permitido para esta ruta");
        }
        return err_set(e, ERR_NOT_FOUND, "Ruta desconocida");
    }
    rq->rate_kind = routes_rate_kind(r->flags);
    if ((r->flags & (ROUTE_USER | ROUTE_SERVICE)) &&
        routes_auth(rq, keys, r->flags, (r->flags & ROUTE_GATED) != 0, e) < 0)
        return -1;
    if (routes_rate(rq, r->flags, e) < 0)
        return -1;
    if (routes_body(rq, r, e) < 0)
        return rq->gated ? routes_gate_settle(rq, keys, NULL, -1, e) : -1;
    int ret = routes_handle(rq, r, e);
    return rq->gated ? routes_gate_settle(rq, keys, r, ret, e) : ret;
}

void routes_dispatch(struct req *rq, const struct token_keys *keys)
{
    rq->t0_us = routes_now_us();
    db_trace_start(rq->db, rq->cfg->log_timing);
    unsigned long long db0 = rq->db->wait_us;
    (void)db_take_replanned(rq->db);
    struct err e = { ERR_NONE, "" };
    /* copied: the log line is written after the request's variables are freed */
    const char *m = http_env(rq, "REQUEST_METHOD");
    rq->method = m ? arena_strdup(rq->a, m) : "GET";
    rq->gated = false;
    rq->rate_kind = -1;
    db_gate_reset(rq->db);
    if (routes_run(rq, keys, &e) < 0)
        http_error(rq, &e);
    db_gate_reset(rq->db);
    /* no request leaves a transaction open or a statement queued */
    db_rollback(rq->db);
    rq->err_code = e.code;
    rq->done_us = routes_now_us();
    metrics_request(rq->w->metrics, rq->route_no - 1, rq->status,
                    (double)(rq->done_us - rq->t0_us) / 1e6, (double)(rq->db->wait_us - db0) / 1e6);
}

void routes_finish(struct req *rq)
{
    db_wake_flush(rq->db);
    double ms = (double)(rq->done_us - rq->t0_us) / 1e3;
    const char *err = rq->err_code != ERR_NONE ? err_codigo((enum err_code)rq->err_code) : NULL;
    if (!rq->cfg->log_timing) {
        log_info("req=%s method=%s path=%s status=%d user=%lld ms=%.1f%s%s", rq->id, rq->method,
                 rq->path ? rq->path : "-", rq->status, rq->who.id, ms, err ? " error=" : "",
                 err ? err : "");
        return;
    }
    /* where the time went: the database round trips (each one), the
     * commit, the wake-up after the response, and the rest (ours) */
    const struct db_trace *t = &rq->db->trace;
    char rts[DB_TRACE_MAX * 64];
    db_trace_format(rq->db, rts, sizeof(rts));
    long long in_req_db = t->total_us - t->wake_us;
    log_info("req=%s method=%s path=%s status=%d user=%lld ms=%.2f auth_ms=%.2f rt=%d db_ms=%.2f"
             " commit_ms=%.2f app_ms=%.2f wake_ms=%.2f db=%s%s%s",
             rq->id, rq->method, rq->path ? rq->path : "-", rq->status, rq->who.id, ms,
             (double)rq->auth_us / 1e3, t->n, (double)in_req_db / 1e3,
             (double)t->commit_us / 1e3,
             (double)(rq->done_us - rq->t0_us - in_req_db) / 1e3, (double)t->wake_us / 1e3,
             rts[0] ? rts : "-", err ? " error=" : "", err ? err : "");
}
