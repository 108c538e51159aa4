/* comunicado.h: announcements (API.md §4.6): creation with permission 567,
 * recipients resolved once at creation, read confirmations, reactions, the
 * readers' report, soft delete with 568, and the Comunicado object.
 *
 * Decisions (see also README "Comunicados"):
 *  - The author is never a recipient, even when listed in usuario_ids or
 *    when the announcement goes to everyone or to their department: they
 *    see it as its sender, and the report counts the others only.
 *  - Recipients are the active users matched at creation time, one
 *    comunicado_destinatarios row each; users provisioned or reactivated
 *    later do not receive it. A targeting that matches nobody is
 *    ERR_INVALID (a typo in a department would otherwise go unnoticed).
 *    Unknown usuario_ids are ERR_INVALID; deactivated ones are skipped.
 *    Departments match usuarios.departamento exactly.
 *  - Visibility: a live announcement is seen by its recipients, its author
 *    and holders of 567; a deleted one only by its author and holders of
 *    568 (eliminado true, text kept for them: it is an audit view; media
 *    null, since deleting hides the file).
 *    Everyone else gets ERR_NOT_FOUND.
 *  - Events. Targeted announcements: one eventos row per recipient in
 *    sala user:<id> (plus the author for reactions and deletion), written
 *    by one INSERT ... SELECT. Announcements to everyone (para_todos): ONE
 *    row in sala "todos", which every socket joins, so a company-wide
 *    announcement or each reaction to it costs one row, not thousands.
 *    Events: comunicado:nuevo (Comunicado, for no particular viewer),
 *    comunicado:reaccion {comunicado_id, usuario_id, emoji, accion},
 *    comunicado:leido {comunicado_id, usuario_id, leido_at} to user:<autor>,
 *    and (an addition to API.md §5) comunicado:eliminado {comunicado_id}
 *    to the same audience as comunicado:nuevo and the author, so clients
 *    and delta sync drop it.
 *  - Push (shared/push.h) is not called from here yet: com_create marks
 *    where push_enqueue_comunicado belongs. */
#ifndef CHAT_COMUNICADO_H
#define CHAT_COMUNICADO_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/usr.h"

/* Limits the API enforces (400 solicitud_invalida past them). */
#define COM_TITULO_MAX 200
#define COM_MAX_USUARIOS 10000
#define COM_MAX_DEPARTAMENTOS 100
#define COM_DEPARTAMENTO_MAX 200

enum com_target { COM_TODOS, COM_USUARIOS, COM_DEPARTAMENTOS };

/* What POST /comunicados sends, already type-checked by the handler.
 * ids (COM_USUARIOS) and deps (COM_DEPARTAMENTOS) are borrowed arrays;
 * media_id 0 and client_id NULL for none; contenido NULL means "". */
struct com_new {
    const char *titulo;
    const char *contenido;
    long long media_id;
    enum com_target target;
    const long long *ids;
    size_t nids;
    const char *const *deps;
    size_t ndeps;
    const char *client_id;
};

/* Creates an announcement as p in one transaction: permission 567
 * (ERR_FORBIDDEN), media_id an upload of p's (ERR_INVALID) not attached
 * to anything yet (ERR_CONFLICT; media_claim in media.h),
 * recipients as described above, comunicado:nuevo events. A client_id
 * already used by p returns that first announcement with *created false.
 * *out is the Comunicado as p sees it, owned by the arena. */
int com_create(struct db *d, struct arena *a, const struct principal *p,
               const struct com_new *in, bool *created, json_object **out, struct err *e);

/* Comunicado objects for ids, in the order given, as seen by the plain
 * user viewer (leido_at and reacciones[].mia are theirs): those addressed
 * to viewer or sent by viewer. A deleted one comes as its author sees it
 * to the author, and as a stub {id, eliminado: true} (other fields null)
 * to a recipient, so delta sync can drop it. Other ids are left out. Two
 * queries whatever n is. For POST /sync: the ids are those named by the
 * comunicado:* eventos rows in the viewer's rooms (user:<id> and "todos").
 * The array is owned by the arena. */
int com_load_many(struct db *d, struct arena *a, long long viewer, const long long *ids,
                  size_t n, json_object **out_array, struct err *e);

/* One announcement as p sees it (visibility above, with p's 567/568);
 * ERR_NOT_FOUND when not visible. Borrowed from the arena. */
int com_get(struct db *d, struct arena *a, const struct principal *p, long long id,
            json_object **out, struct err *e);

/* Announcements addressed to p or sent by p, newest first, before id
 * antes (0: from the newest), at most limite; deleted ones only when p
 * wrote them or holds 568. Sets *hay_mas. */
int com_list(struct db *d, struct arena *a, const struct principal *p, long long antes,
             int limite, json_object **out_array, bool *hay_mas, struct err *e);

/* p confirms reading: recipients only (visible non-recipient:
 * ERR_FORBIDDEN; deleted: ERR_NOT_FOUND unless visible, then
 * ERR_CONFLICT). The first time is kept; *changed tells whether this call
 * set it (then comunicado:leido goes to the author). *out is the
 * Comunicado now. */
int com_mark_read(struct db *d, struct arena *a, const struct principal *p, long long id,
                  bool *changed, json_object **out, struct err *e);

/* Report for the author or a holder of 567 (a visible other caller gets
 * ERR_FORBIDDEN): {total, leidos, pendientes, destinatarios: [{usuario,
 * leido_at}]}, readers first in reading order, then the others by name. */
int com_readers(struct db *d, struct arena *a, const struct principal *p, long long id,
                json_object **out, struct err *e);

/* Checks an emoji: 1..32 characters of valid UTF-8 without whitespace or
 * control characters (the rule of message reactions). 0 or ERR_INVALID. */
int com_emoji_check(const char *emoji, struct err *e);

/* Adds or removes p's reaction, idempotently: recipients only (as
 * com_mark_read). *changed tells whether a row changed (then
 * comunicado:reaccion is written). *out is the Comunicado now. */
int com_react(struct db *d, struct arena *a, const struct principal *p, long long id,
              const char *emoji, bool add, bool *changed, json_object **out, struct err *e);

/* Soft-deletes with permission 568 (ERR_FORBIDDEN without it, checked
 * first; ERR_NOT_FOUND when unknown). Deleting a deleted one succeeds and
 * changes nothing. */
int com_delete(struct db *d, struct arena *a, const struct principal *p, long long id,
               struct err *e);

#endif
