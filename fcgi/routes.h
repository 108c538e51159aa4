/* routes.h: the REST endpoints as data, and the handlers they name. */
#ifndef CHAT_FCGI_ROUTES_H
#define CHAT_FCGI_ROUTES_H

#include "http.h"

enum {
    ROUTE_PUBLIC = 0,
    ROUTE_USER = 1 << 0,        /* a user's token (Bearer or the ERP cookie) */
    ROUTE_SERVICE = 1 << 1,     /* the ERP's service token (scope chat:interno) */
    ROUTE_JSON = 1 << 2,        /* a JSON object body is required */
    ROUTE_JSON_OPT = 1 << 3,    /* a JSON object body is accepted, may be empty */
    /* rate-limited kinds (domain/limite.h), checked after auth, before the body */
    ROUTE_RATE_SEND = 1 << 4,
    ROUTE_RATE_UPLOAD = 1 << 5,
    ROUTE_RATE_SEARCH = 1 << 6,
    /* for a user this worker logged in before, the login check (and the
     * route's rate-limit unit) go with the handler's first statement
     * (usr_login_gated): only for handlers that run a statement before
     * they write a successful answer */
    ROUTE_GATED = 1 << 7,
};

/* A handler writes its response and returns 0, or returns -1 with e and
 * the dispatcher writes API.md's error body. */
typedef int (*route_fn)(struct req *rq, struct err *e);

struct route {
    const char *method;
    const char *pattern;        /* under /chat/api/v1 */
    route_fn fn;
    unsigned flags;
};

extern const struct route routes[];

/* Handles one request: routing, auth, body, handler, errors; the response
 * is written (not yet flushed). */
void routes_dispatch(struct req *rq, const struct token_keys *keys);

/* After the response went out: sends the request's post-commit wake-ups
 * and writes its log line (with the time breakdown when log_timing is on). */
void routes_finish(struct req *rq);

/* handlers */
int h_salud(struct req *rq, struct err *e);
int h_me(struct req *rq, struct err *e);
int h_usuarios_list(struct req *rq, struct err *e);
int h_usuarios_get(struct req *rq, struct err *e);
int h_presencia(struct req *rq, struct err *e);
int h_interno_provision(struct req *rq, struct err *e);
int h_interno_desactivar(struct req *rq, struct err *e);
int h_interno_reactivar(struct req *rq, struct err *e);
int h_interno_vacaciones(struct req *rq, struct err *e);
int h_interno_metricas(struct req *rq, struct err *e);
int h_interno_usuario_retencion(struct req *rq, struct err *e);
int h_interno_chat_retencion(struct req *rq, struct err *e);
/* h_auditoria.c */
int h_interno_auditoria(struct req *rq, struct err *e);
int h_auditoria_list(struct req *rq, struct err *e);
int h_auditoria_mensajes(struct req *rq, struct err *e);
/* h_exportar.c */
int h_interno_chat_exportar(struct req *rq, struct err *e);
int h_interno_usuario_exportar(struct req *rq, struct err *e);
/* h_comunicados.c */
int h_comunicados_create(struct req *rq, struct err *e);
int h_comunicados_list(struct req *rq, struct err *e);
int h_comunicados_get(struct req *rq, struct err *e);
int h_comunicados_delete(struct req *rq, struct err *e);
int h_comunicados_leido(struct req *rq, struct err *e);
int h_comunicados_lecturas(struct req *rq, struct err *e);
int h_comunicados_react(struct req *rq, struct err *e);
int h_comunicados_unreact(struct req *rq, struct err *e);
/* h_encuestas.c */
int h_encuestas_create(struct req *rq, struct err *e);
int h_encuestas_voto(struct req *rq, struct err *e);
int h_encuestas_cerrar(struct req *rq, struct err *e);

/* chats, members, messages, sync (issue 3) */
int h_chats_list(struct req *rq, struct err *e);
int h_chats_directo(struct req *rq, struct err *e);
int h_chats_create(struct req *rq, struct err *e);
int h_chats_get(struct req *rq, struct err *e);
int h_chats_update(struct req *rq, struct err *e);
int h_chats_delete(struct req *rq, struct err *e);
int h_chats_silenciar(struct req *rq, struct err *e);
int h_chats_leido(struct req *rq, struct err *e);
int h_miembros_list(struct req *rq, struct err *e);
int h_miembros_add(struct req *rq, struct err *e);
int h_miembros_rol(struct req *rq, struct err *e);
int h_miembros_remove(struct req *rq, struct err *e);
int h_mensajes_list(struct req *rq, struct err *e);
/* record-linked chats (h_interno.c, h_chats.c) */
int h_interno_contexto(struct req *rq, struct err *e);
int h_contextos_get(struct req *rq, struct err *e);
/* preferences (h_users.c) */
int h_me_prefs_get(struct req *rq, struct err *e);
int h_me_prefs_put(struct req *rq, struct err *e);
/* h_busqueda.c */
int h_buscar(struct req *rq, struct err *e);
int h_mensajes_send(struct req *rq, struct err *e);
int h_mensajes_edit(struct req *rq, struct err *e);
int h_mensajes_delete(struct req *rq, struct err *e);
int h_mensajes_lecturas(struct req *rq, struct err *e);
int h_reacciones_add(struct req *rq, struct err *e);
int h_reacciones_remove(struct req *rq, struct err *e);
int h_sync(struct req *rq, struct err *e);
int h_sync_cursor(struct req *rq, struct err *e);
/* media (h_media.c) */
int h_media_upload(struct req *rq, struct err *e);
int h_media_get(struct req *rq, struct err *e);
/* push devices (h_dispositivos.c) */
int h_dispositivos_register(struct req *rq, struct err *e);
int h_dispositivos_unregister(struct req *rq, struct err *e);

#endif
