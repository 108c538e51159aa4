/* audit.h: the append-only audit trail (table auditoria): one row per
 * audited action, written inside the transaction of the change, and the
 * paged reader behind GET /interno/auditoria.
 *
 * Actions (accion) and their objeto:
 *   chat.creado, chat.actualizado, chat.eliminado              chat
 *   miembros.agregados, miembro.eliminado, miembro.salio,
 *   miembro.rol                                                  chat
 *   mensaje.eliminado (by someone other than its author)         mensaje
 *   comunicado.eliminado                                         comunicado
 *   usuario.desactivado, usuario.reactivado, usuario.vacaciones  usuario
 *   retencion.chat, retencion.usuario (holds and per-chat policy) chat / usuario
 *   exportacion.chat, exportacion.usuario                        chat / usuario
 *   retencion.poda (what one prune batch removed from a chat)    chat / comunicado
 * The actor is the principal: a user, the ERP's service token, or the
 * system (NULL principal: chat-cron). */
#ifndef CHAT_AUDIT_H
#define CHAT_AUDIT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/usr.h"

/* What was acted on. */
struct audit_obj {
    const char *tipo;       /* "chat", "mensaje", "usuario", ... */
    long long id;           /* 0: none */
    long long chat_id;      /* the chat concerned, 0: none */
};

/* Writes one row inside the caller's open transaction: actor from p
 * (NULL: sistema), request id and IP from p, antes/despues borrowed (NULL:
 * SQL null). Returns 0 or -1 with e (the caller rolls back, so the change
 * and its row commit together or not at all). */
int audit_add(struct db *d, struct arena *a, const struct principal *p, const char *accion,
              const struct audit_obj *obj, json_object *antes, json_object *despues,
              struct err *e);

/* Filters of a page of the trail; NULL / 0 for none. desde/hasta are
 * timestamps PostgreSQL accepts (checked by audit_ts_check). actor is a
 * usuarios.id, or "servicio" / "sistema". cursor is the last id of the
 * previous page (newest first). */
struct audit_query {
    const char *desde, *hasta;
    const char *actor;
    long long chat_id;
    const char *accion;
    long long cursor;
    int limite;
};

/* A page, newest first: *out_array of {id, at, actor: {tipo, id, nombre},
 * accion, objeto: {tipo, id, chat_id}, antes, despues, solicitud, ip};
 * *next the cursor for the next page (0 when none), *hay_mas. A bad
 * filter is ERR_INVALID. */
int audit_list(struct db *d, struct arena *a, const struct audit_query *q,
               json_object **out_array, long long *next, bool *hay_mas, struct err *e);

/* The conversation of chat_id around a moment, for the audit page
 * (read-only): up to limite messages up to the pivot (message alrededor,
 * or else the last one created at or before en) and limite after it,
 * oldest first, deleted ones included: *out is {chat: {id, tipo, nombre,
 * eliminado}, centro_id, mensajes: [{id, autor: {id, nombre}, tipo,
 * contenido, media: {id, nombre, mime} | null, created_at, editado_at,
 * eliminado, eliminado_at, eliminado_por: {id, nombre} | null,
 * contenido_conservado}]}. A deleted message has contenido null;
 * contenido_conservado is its text when a legal hold kept it. Names are
 * masked for deactivated users. ERR_NOT_FOUND for an unknown chat. */
int audit_conversation(struct db *d, struct arena *a, long long chat_id, long long alrededor,
                       const char *en, int limite, json_object **out, struct err *e);

/* True when s is an ISO-8601 date or date-time ("2026-11-20",
 * "2026-11-20T15:04:05.123Z", "...+01:00"). */
bool audit_ts_check(const char *s);

#endif
