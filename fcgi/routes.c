/* routes.c: every REST endpoint, as data, and the dispatcher. */
#include "routes.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "core/origin.h"

const struct route routes[] = {
    { "GET",  "/salud",                              h_salud,               ROUTE_PUBLIC },
    { "GET",  "/me",                                 h_me,                  ROUTE_USER },
    { "GET",  "/me/preferencias",                    h_me_prefs_get,        ROUTE_USER },
    { "PUT",  "/me/preferencias",                    h_me_prefs_put,        ROUTE_USER | ROUTE_JSON },
    { "GET",  "/usuarios",                           h_usuarios_list,       ROUTE_USER },
    { "GET",  "/usuarios/{id}",                      h_usuarios_get,        ROUTE_USER },
    { "GET",  "/presencia",                          h_presencia,           ROUTE_USER },
    { "PUT",  "/interno/usuarios/{id_erp}",          h_interno_provision,   ROUTE_SERVICE | ROUTE_JSON },
    { "POST", "/interno/usuarios/{id_erp}/desactivar", h_interno_desactivar, ROUTE_SERVICE | ROUTE_JSON_OPT },
    { "POST", "/interno/usuarios/{id_erp}/reactivar", h_interno_reactivar,  ROUTE_SERVICE | ROUTE_JSON_OPT },
    { "PUT",  "/interno/usuarios/{id_erp}/vacaciones", h_interno_vacaciones, ROUTE_SERVICE | ROUTE_JSON },
    /* compliance: legal hold, retention, audit trail */
    { "PUT",  "/interno/usuarios/{id_erp}/retencion",  h_interno_usuario_retencion, ROUTE_SERVICE | ROUTE_JSON },
    { "PUT",  "/interno/chats/{id}/retencion",         h_interno_chat_retencion, ROUTE_SERVICE | ROUTE_JSON },
    { "GET",  "/interno/auditoria",                    h_interno_auditoria,   ROUTE_SERVICE },
    /* announcements (h_comunicados.c) */
    { "POST", "/comunicados",                        h_comunicados_create,  ROUTE_USER | ROUTE_JSON },
    { "GET",  "/comunicados",                        h_comunicados_list,    ROUTE_USER },
    { "GET",  "/comunicados/{id}",                   h_comunicados_get,     ROUTE_USER },
    { "DELETE", "/comunicados/{id}",                 h_comunicados_delete,  ROUTE_USER },
    { "POST", "/comunicados/{id}/leido",             h_comunicados_leido,   ROUTE_USER | ROUTE_JSON_OPT },
    { "GET",  "/comunicados/{id}/lecturas",          h_comunicados_lecturas, ROUTE_USER },
    { "POST", "/comunicados/{id}/reacciones",        h_comunicados_react,   ROUTE_USER | ROUTE_JSON },
    { "DELETE", "/comunicados/{id}/reacciones/{emoji}", h_comunicados_unreact, ROUTE_USER },
    /* polls (h_encuestas.c) */
    { "POST", "/chats/{id}/encuestas",               h_encuestas_create,    ROUTE_USER | ROUTE_JSON },
    { "PUT",  "/encuestas/{id}/voto",                h_encuestas_voto,      ROUTE_USER | ROUTE_JSON },
    { "POST", "/encuestas/{id}/cerrar",              h_encuestas_cerrar,    ROUTE_USER | ROUTE_JSON_OPT },
    /* chats, members, messages, sync (issue 3) */
    { "GET",    "/chats",                                h_chats_list,          ROUTE_USER },
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
    { "GET",    "/chats/{id}/mensajes",                  h_mensajes_list,       ROUTE_USER },
    { "POST",   "/chats/{id}/mensajes",                  h_mensajes_send,       ROUTE_USER | ROUTE_JSON },
    { "POST",   "/chats/{id}/leido",                     h_chats_leido,         ROUTE_USER | ROUTE_JSON },
    { "PATCH",  "/mensajes/{id}",                        h_mensajes_edit,       ROUTE_USER | ROUTE_JSON },
    { "DELETE", "/mensajes/{id}",                        h_mensajes_delete,     ROUTE_USER },
    { "POST",   "/mensajes/{id}/reacciones",             h_reacciones_add,      ROUTE_USER | ROUTE_JSON },
    { "DELETE", "/mensajes/{id}/reacciones/{emoji}",     h_reacciones_remove,   ROUTE_USER },
    { "GET",    "/mensajes/{id}/lecturas",               h_mensajes_lecturas,   ROUTE_USER },
    { "POST",   "/sync",                                 h_sync,                ROUTE_USER | ROUTE_JSON },
    { "GET",    "/sync/cursor",                          h_sync_cursor,         ROUTE_USER },
    /* chats tied to ERP records */
    { "PUT",    "/interno/contextos/{tipo}/{clave}",     h_interno_contexto,    ROUTE_SERVICE | ROUTE_JSON },
    { "GET",    "/contextos/{tipo}/{clave}",             h_contextos_get,       ROUTE_USER },
    /* search (h_busqueda.c) */
    { "GET",    "/buscar",                               h_buscar,              ROUTE_USER },
    /* media (h_media.c): no ROUTE_JSON, the upload streams its own body */
    { "POST",   "/media",                                h_media_upload,        ROUTE_USER },
    { "GET",    "/media/{id}",                           h_media_get,           ROUTE_USER },
    { "HEAD",   "/media/{id}",                           h_media_get,           ROUTE_USER },
    /* push devices (h_dispositivos.c) */
    { "POST",   "/dispositivos",                         h_dispositivos_register,   ROUTE_USER | ROUTE_JSON },
    { "DELETE", "/dispositivos/{token}",                 h_dispositivos_unregister, ROUTE_USER },
    { NULL, NULL, NULL, 0 },
};

#define API_PREFIX "/chat/api/v1"

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

static int routes_auth(struct req *rq, const struct token_keys *keys, unsigned flags,
                       struct err *e)
{
    bool cookie;
    const char *tok = routes_token(rq, &cookie);
    if (tok && *tok && cookie && routes_cookie_rule(rq, flags, e) < 0)
        return -1;
    if (!tok || !*tok)
        return err_set(e, ERR_TOKEN, "Falta el token de acceso");
    struct token_claims c;
    if (token_verify(rq->cfg, keys, tok, (long long)time(NULL), rq->a, &c, e) < 0)
        return -1;
    if ((flags & ROUTE_SERVICE) && !c.service)
        return err_set(e, ERR_FORBIDDEN, "Se requiere el token de servicio del ERP");
    if ((flags & ROUTE_USER) && c.service)
        return err_set(e, ERR_FORBIDDEN, "Se requiere el token de un usuario");
    if (usr_login(rq->db, rq->a, &c, &rq->who, e) < 0)
        return -1;
    rq->who.solicitud = rq->id;
    rq->who.ip = http_env(rq, "REMOTE_ADDR");
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
        return r;
    }
    return NULL;
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
    if ((r->flags & (ROUTE_USER | ROUTE_SERVICE)) && routes_auth(rq, keys, r->flags, e) < 0)
        return -1;
    if (r->flags & (ROUTE_JSON | ROUTE_JSON_OPT)) {
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
    }
    return r->fn(rq, e);
}

void routes_dispatch(struct req *rq, const struct token_keys *keys)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct err e = { ERR_NONE, "" };
    rq->method = http_env(rq, "REQUEST_METHOD");
    if (!rq->method)
        rq->method = "GET";
    if (routes_run(rq, keys, &e) < 0) {
        if (rq->db->depth)
            db_rollback(rq->db);
        http_error(rq, &e);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    log_info("req=%s method=%s path=%s status=%d user=%lld ms=%.1f%s%s", rq->id, rq->method,
             rq->path ? rq->path : "-", rq->status, rq->who.id, ms,
             e.code != ERR_NONE ? " error=" : "", e.code != ERR_NONE ? err_codigo(e.code) : "");
}
