/* msg.h: messages: the Mensaje object, sending, editing, deleting,
 * reactions, read marks and history (API.md §4.3).
 *
 * Every write runs in one transaction of its own and writes its eventos row
 * there (evt_add); the NOTIFY follows the commit (db_commit). Events:
 *   mensaje:nuevo / mensaje:editado / mensaje:eliminado  sala chat:<id>, Mensaje
 *   mensaje:reaccion  sala chat:<id>, {chat_id, mensaje_id, usuario_id, emoji, accion}
 *   mensaje:leido     sala chat:<id>, {chat_id, usuario_id, mensaje_id, leido_at}
 * An event's Mensaje is built for no particular viewer (reacciones[].mia is
 * false): clients derive "mine" from reacciones[].usuarios.
 *
 * A chat's last message and last activity are not stored per message: they
 * are read from the (chat_id, id DESC) index, so a send touches no shared
 * row besides its own inserts. */
#ifndef CHAT_MSG_H
#define CHAT_MSG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/usr.h"

/* Full Mensaje objects (API.md §4) for ids, in the order given, as seen by
 * viewer (reacciones[].mia, encuesta.mis_votos; 0 for nobody). Ids that do
 * not exist are left out. One query whatever n is. The array is owned by
 * the arena. */
int msg_load(struct db *d, struct arena *a, long long viewer, const long long *ids, size_t n,
             json_object **out_array, struct err *e);

/* The same array as msg_load, printed straight from the rows (no json-c
 * object per Mensaje): *out_array is a json-c array, owned by the arena,
 * that json-c prints as those Mensajes but that holds no elements. Only to
 * nest in a response (jsonx_add) and print; never read it. */
int msg_load_printed(struct db *d, struct arena *a, long long viewer, const long long *ids,
                     size_t n, json_object **out_array, struct err *e);

/* The Mensaje of one id (see msg_load); ERR_NOT_FOUND when it does not
 * exist. Borrowed from the arena. */
int msg_load_one(struct db *d, struct arena *a, long long viewer, long long id,
                 json_object **out, struct err *e);

/* Inserts a sistema message into chat_id inside the caller's transaction
 * (contenido is the text shown, datos optional structured data such as
 * {"accion":"agregado","usuario_ids":[..]}; actor_id 0 for none) and writes
 * the mensaje:nuevo event. The message has no author (autor null); the
 * actor is the event's usuario_id (and belongs in datos). The chat's last activity moves with it (it is
 * derived from the messages). Returns the new id or -1. */
long long msg_insert_system(struct db *d, struct arena *a, long long chat_id,
                            long long actor_id, const char *contenido, json_object *datos,
                            struct err *e);


/* Checks a message text: valid UTF-8 without control characters other than
 * \t \n \r, not empty or blank, at most max characters. 0, or -1 with
 * ERR_INVALID naming field. */
int msg_text_check(const char *s, const char *field, long max, struct err *e);

/* What POST /chats/{id}/mensajes sends. tipo NULL means texto; contenido
 * is required for texto, an optional caption for media tipos (imagen,
 * audio, video, documento: media_id required, uploaded by the caller).
 * respuesta_a and media_id 0 for none, client_id NULL for none. */
struct msg_send_in {
    long long chat_id;
    const char *tipo;
    const char *contenido;
    long long respuesta_a;
    long long media_id;
    const char *client_id;
    long max_chars;
};

/* The one write path of a user's message (texts, media and polls alike),
 * inside the caller's transaction: inserts in as p's message (in->tipo
 * set, input already checked) when p may post in the chat (a member; only
 * admins in a restringido group) and respuesta_a is a live message of it.
 * Returns 1 with the new *id and, when row is not NULL, *row its Mensaje
 * as inserted (arena; no reacciones, no encuesta); 0 when p already used
 * in->client_id for a message of this chat (a retry: *id is that message,
 * nothing was written); -1 with ERR_NOT_FOUND (not a member, no chat),
 * ERR_FORBIDDEN (restringido), ERR_INVALID (respuesta_a) or ERR_CONFLICT
 * (client_id used in another chat, or by a message of another kind when
 * in->tipo is encuesta). The caller completes its rows, then calls
 * msg_announce. */
int msg_insert(struct db *d, struct arena *a, const struct principal *p,
               const struct msg_send_in *in, long long *id, json_object **row, struct err *e);

/* Announces new message id of chat_id inside the transaction that inserted
 * it: the mensaje:nuevo event carrying m (its Mensaje for no viewer) and
 * the push to the other members' devices. */
int msg_announce(struct db *d, struct arena *a, long long chat_id, long long actor,
                 long long id, json_object *m, struct err *e);

/* Sends a message as p: one transaction (insert and event). A non-member or
 * deleted chat is ERR_NOT_FOUND, a restringido group for a non-admin
 * ERR_FORBIDDEN, a respuesta_a outside the chat (or deleted) or a bad
 * media ERR_INVALID. A client_id already used by p in this chat returns
 * that first message with *created false (in another chat: ERR_CONFLICT);
 * concurrent retries with one client_id yield one message. The push to the
 * other members' devices is queued in the same transaction (push.h). */
int msg_send(struct db *d, struct arena *a, const struct principal *p,
             const struct msg_send_in *in, bool *created, json_object **out, struct err *e);

/* Edits the text of p's own message (sets editado_at; event
 * mensaje:editado). ERR_NOT_FOUND when not visible, ERR_FORBIDDEN when not
 * the author, ERR_CONFLICT when deleted or not editable (sistema,
 * encuesta). Same text: nothing changes. *out is the Mensaje now. */
int msg_edit(struct db *d, struct arena *a, const struct principal *p, long long mensaje_id,
             const char *contenido, long max_chars, json_object **out, struct err *e);

/* Soft-deletes a message: its author or a holder of 566. The row keeps its
 * place with contenido and media removed (event mensaje:eliminado).
 * Deleting a deleted message succeeds and changes nothing. */
int msg_delete(struct db *d, struct arena *a, const struct principal *p, long long mensaje_id,
               struct err *e);

/* The client_id rule (idempotency key of a message, poll or
 * announcement): NULL for none, else 1..MSG_CLIENT_ID_MAX characters of
 * valid UTF-8 without control characters. 0 or -1 with ERR_INVALID. */
#define MSG_CLIENT_ID_MAX 200
int msg_client_id_check(const char *client_id, struct err *e);

/* Checks an emoji: 1..32 characters of valid UTF-8, no whitespace or
 * control characters. 0 or -1 with ERR_INVALID. */
int msg_emoji_check(const char *emoji, struct err *e);

/* Adds (add true) or removes p's reaction emoji on a message, idempotently;
 * *changed tells whether a row changed (then the event mensaje:reaccion is
 * written, and an added reaction queues a push to the message's author).
 * ERR_CONFLICT on a deleted message. *out is the Mensaje now, as
 * p sees it. */
int msg_react(struct db *d, struct arena *a, const struct principal *p, long long mensaje_id,
              const char *emoji, bool add, bool *changed, json_object **out, struct err *e);

/* Toggles p's reaction emoji (chat:reaccionar): adds it, or removes it when
 * it is there, in one transaction, so two toggles at once end as two
 * toggles in some order. *added tells which happened. Errors as msg_react. */
int msg_react_toggle(struct db *d, struct arena *a, const struct principal *p,
                     long long mensaje_id, const char *emoji, bool *added, json_object **out,
                     struct err *e);

/* Moves p's read mark in chat_id forward to mensaje_id (never back; event
 * mensaje:leido when it moved). mensaje_id must be a message of that chat
 * (else ERR_INVALID); a non-member gets ERR_NOT_FOUND. *out is
 * {chat_id, ultimo_leido_id}; *changed tells whether it moved. */
int msg_mark_read(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                  long long mensaje_id, bool *changed, json_object **out, struct err *e);

/* Read receipts of a message for its author, a group admin or a holder of
 * 566: {leido_por: [{usuario, leido_at}], pendientes: [Usuario]} over the
 * members at send time other than the author (pendientes: those still
 * members). leido_at is when that member's mark last moved. */
int msg_readers(struct db *d, struct arena *a, const struct principal *p, long long mensaje_id,
                json_object **out, struct err *e);

/* The largest page msg_history gives (its SQL reads MSG_PAGE_MAX + 1 ids). */
#define MSG_PAGE_MAX 200

/* History of chat_id (member, or holder of 565): with antes, the limite
 * messages before it, newest first; with despues, those after it, oldest
 * first; with neither, the newest. The page is printed into w as a JSON
 * array of Mensajes (as msg_load would give them, straight from the rows:
 * no json-c objects but the polls'); *hay_mas tells whether more exist in
 * that direction. Index-backed at any depth. limite outside
 * 1..MSG_PAGE_MAX is ERR_INVALID; on failure w holds a partial text. */
struct jsonw;
int msg_history_write(struct db *d, struct arena *a, const struct principal *p,
                      long long chat_id, long long antes, long long despues, int limite,
                      struct jsonw *w, bool *hay_mas, struct err *e);

#endif
