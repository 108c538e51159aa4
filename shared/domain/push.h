/* push.h: push notifications: the users' devices (Expo push tokens), the
 * queue every push goes through, and its retry policy (API.md §4.7, §7).
 *
 * Who gets a push and what it says is SQL (sql/003_push.sql, the
 * push_encolar_* functions); the wrappers here run them in the caller's
 * transaction. chat-cron sends the queue (cron/push.c) and checks the
 * receipts (cron/receipts.c); expo.h speaks Expo's protocol. */
#ifndef CHAT_PUSH_H
#define CHAT_PUSH_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"

/* Longest token accepted (Expo's are about 41 characters). */
#define PUSH_TOKEN_MAX 256

/* True when token has the form of an Expo push token:
 * "ExponentPushToken[...]" or "ExpoPushToken[...]", the part inside the
 * brackets 1 or more printable ASCII characters other than brackets,
 * quotes, backslashes and spaces, PUSH_TOKEN_MAX characters in all. */
bool push_token_valid(const char *token);

/* True for "ios", "android" and "web". */
bool push_platform_valid(const char *plataforma);

/* Registers token for usuario_id (POST /dispositivos), in a transaction of
 * its own: creates the device, or updates it (plataforma, updated_at).
 * A token registered by another user moves to usuario_id, and the rows it
 * still had to send (pendiente, enviando) are deleted: they were the other
 * user's. *created is true when the token is new to usuario_id (201) and
 * false when it was already theirs (200). *out is the Dispositivo
 * {id, token, plataforma, created_at, updated_at}, owned by the arena.
 * ERR_INVALID (with a message naming the field) for a malformed token or
 * platform, before anything is written. */
int push_device_register(struct db *d, struct arena *a, long long usuario_id,
                         const char *token, const char *plataforma, bool *created,
                         json_object **out, struct err *e);

/* Unregisters token for usuario_id (DELETE /dispositivos/{token}): deletes
 * it, with its queued rows, only when it belongs to usuario_id. Deleting a
 * token that is not there, or is someone else's, changes nothing and is
 * not an error (idempotent, and no existence leak). *deleted tells whether
 * a row went (may be NULL). Returns 0, or -1 with e on a database error. */
int push_device_unregister(struct db *d, struct arena *a, long long usuario_id,
                           const char *token, bool *deleted, struct err *e);

/* Queue a push. Each runs ONE statement (sql/003_push.sql) and must be
 * called inside the caller's transaction, right after writing the change,
 * so the rows commit or roll back with it. A repeated call for the same
 * item queues nothing more (unique per device and item). Inside a
 * transaction the statement is deferred (db_defer: it goes with the next
 * statement or the COMMIT, whose failure its failure becomes) and the call
 * returns 0; outside one it runs at once and returns the number of rows
 * queued (>= 0). -1 with e on failure. */

/* A new message or poll, by mensajes.id: to every device of the chat's
 * members except the author, members who muted the chat, users on
 * vacation, en_linea and deactivated users. For a poll call it after the
 * encuestas row is written (the body shows the question). Sistema and
 * deleted messages queue nothing. */
long long push_enqueue_message(struct db *d, struct arena *a, long long mensaje_id,
                               struct err *e);

/* A reaction added to a message: to the message author's devices (unless
 * the author reacted, left, muted the chat, is on vacation, en_linea or
 * deactivated). evento_id is the id of the mensaje:reaccion event written
 * for it (one push per reaction added), or 0 for the eventos row this
 * session inserted last (evt_add just before, in the same transaction);
 * reactor_id who reacted; emoji as stored. */
long long push_enqueue_reaction(struct db *d, struct arena *a, long long evento_id,
                                long long mensaje_id, long long reactor_id, const char *emoji,
                                struct err *e);

/* A new announcement, by comunicados.id, after its comunicado_destinatarios
 * rows are written: to every recipient's devices, on vacation or not,
 * except en_linea and deactivated users and the author. */
long long push_enqueue_comunicado(struct db *d, struct arena *a, long long comunicado_id,
                                  struct err *e);

/* Milliseconds to wait before attempt number attempts + 1 after a
 * retryable failure: exponential backoff (1 s, 2 s, 4 s ... capped at
 * 1 hour) with "equal jitter" (a random point in the upper half, from
 * rnd), and never less than retry_after_s seconds (Retry-After; 0 when
 * none). attempts counts the attempts made so far (>= 1). */
long long push_retry_delay_ms(int attempts, long retry_after_s, unsigned rnd);

#endif
