/* msg.h: messages: the Mensaje object, sending, editing, deleting,
 * reactions, read marks and history (API.md §4.3). */
#ifndef CHAT_MSG_H
#define CHAT_MSG_H

#include <json-c/json.h>
#include <stddef.h>

#include "arena.h"
#include "db.h"
#include "err.h"
#include "usr.h"

/* Full Mensaje objects (API.md §4) for ids, in the order given, as seen by
 * viewer (reacciones[].mia, encuesta.mis_votos). Ids that do not exist are
 * left out. The array is owned by the arena. */
int msg_load(struct db *d, struct arena *a, long long viewer, const long long *ids, size_t n,
             json_object **out_array, struct err *e);

/* Inserts a sistema message into chat_id inside the caller's transaction
 * (contenido is the text shown, datos optional structured data such as
 * {"accion":"agregado","usuario_ids":[..]}), moves the chat's last
 * activity, and writes the mensaje:nuevo event. Returns the new id or -1. */
long long msg_insert_system(struct db *d, struct arena *a, long long chat_id,
                            long long actor_id, const char *contenido, json_object *datos,
                            struct err *e);

#endif
