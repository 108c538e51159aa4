/* sync.h: delta sync for reconnecting clients (API.md §4.4): every change
 * visible to a user since an opaque cursor, read from the eventos outbox in
 * (xid, id) order below the horizon (sql/002_eventos.sql), so a change whose
 * transaction commits after one with a higher id is never skipped. */
#ifndef CHAT_SYNC_H
#define CHAT_SYNC_H

#include <json-c/json.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/usr.h"

/* Events read per call at most; more gives hay_mas true. */
#define SYNC_MAX_EVENTS 500

/* A starting cursor ("<xid>.<id>", in the arena): everything that commits
 * from now on comes after it. */
int sync_cursor(struct db *d, struct arena *a, const char **out, struct err *e);

/* Changes visible to p after cursor (ERR_INVALID when malformed; ERR_CONFLICT
 * when prune has deleted events after it: the client must reload): events of
 * the user:<p> and "todos" rooms and of the chats p is a member of, up to
 * limit events:
 * {cursor, hay_mas, mensajes: [Mensaje, latest state, one per id, by id],
 * chats: [Chat created, updated or whose members changed, still mine],
 * chats_eliminados: [chat_id deleted or left], lecturas: [{chat_id,
 * usuario_id, mensaje_id, leido_at}, latest per member], comunicados:
 * [Comunicado created, reacted to or deleted (a stub {id, eliminado}),
 * as com_load_many gives them]}.
 * Call again with the returned cursor while hay_mas. */
int sync_since(struct db *d, struct arena *a, const struct principal *p, const char *cursor,
               int limit, json_object **out, struct err *e);

/* The seed form {"<chat_id>": <last_mensaje_id>, ...}: the messages after
 * those ids in those chats (p's live chats only; the others are listed in
 * chats_eliminados), oldest first, at most limit (hay_mas), and a cursor
 * for the next sync_since. Same shape as sync_since. */
int sync_seed(struct db *d, struct arena *a, const struct principal *p, json_object *chats,
              int limit, json_object **out, struct err *e);

#endif
