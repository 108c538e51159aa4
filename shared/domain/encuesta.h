/* encuesta.h: polls (API.md §4.5). A poll is a mensajes row of tipo
 * encuesta (contenido = the question) with its encuestas row, options and
 * votes, so ordering, paging, sync, read marks, replies and deletion are
 * the message's. This module creates polls, reconciles votes, closes them,
 * and builds the Encuesta object that the Mensaje carries.
 *
 * Decisions (see also README "Encuestas"):
 *  - {id} in /encuestas/{id}/... is the Encuesta's id (Mensaje.encuesta.id).
 *  - A vote is the caller's full selection, reconciled in one transaction
 *    under a row lock on the encuestas row (FOR NO KEY UPDATE): votes on
 *    one poll, and its closing, run one at a time, so counts always match
 *    the rows. Repeated ids in a selection count once.
 *  - Voting on a closed, expired or deleted poll is ERR_CONFLICT. Closing
 *    an already closed (or expired) poll succeeds and changes nothing.
 *  - Anonymous polls never reveal who voted: votantes is left out of
 *    every Encuesta (the voter ids never leave the database), and their
 *    encuesta:voto events carry no usuario_id, not even in the eventos
 *    row's column. mis_votos is only ever the viewer's own.
 *  - Event encuesta:voto {chat_id, mensaje_id, encuesta} (Encuesta without
 *    mis_votos) to chat:<id> after each vote that changed something and
 *    after closing (so clients and delta sync learn that it closed).
 *    Passing cierra_at writes no event: clients compare with the clock.
 *  - A poll's mensajes row is written by msg_insert, the one write path
 *    of messages (access, restringido, client_id), and announced with
 *    msg_announce (mensaje:nuevo and the push) once its options exist. */
#ifndef CHAT_ENCUESTA_H
#define CHAT_ENCUESTA_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/usr.h"

#define ENC_MIN_OPCIONES 2
#define ENC_MAX_OPCIONES 12
#define ENC_OPCION_MAX 200      /* characters per option */
#define ENC_PREGUNTA_MAX 2000   /* characters of the question */

/* Encuesta objects for the polls of mensaje_ids, as viewer sees them
 * (mis_votos: viewer's own option ids; viewer 0 leaves mis_votos out, as
 * events need): by_index is the caller's array of n pointers, set parallel
 * to mensaje_ids, NULL where the message is not a live poll (other tipo,
 * unknown or deleted). Two queries whatever n is. The objects are owned by
 * the arena: take a reference (json_object_get) to attach one elsewhere.
 * msg_load calls this for its tipo encuesta messages. */
int enc_load(struct db *d, struct arena *a, long long viewer, const long long *mensaje_ids,
             size_t n, json_object **by_index, struct err *e);

/* The Mensaje of poll message mensaje_id as viewer sees it (msg_load_one,
 * whose "encuesta" comes from enc_load). ERR_NOT_FOUND when the message
 * does not exist. Borrowed from the arena. */
int enc_mensaje(struct db *d, struct arena *a, long long viewer, long long mensaje_id,
                json_object **out, struct err *e);

/* What POST /chats/{id}/encuestas sends, type-checked by the handler:
 * opciones are n texts; cierra_at an ISO-8601 timestamp with zone or NULL;
 * client_id NULL for none. */
struct enc_new {
    long long chat_id;
    const char *pregunta;
    const char *const *opciones;
    size_t nopciones;
    bool multiple;
    bool anonima;
    const char *cierra_at;
    const char *client_id;
};

/* Checks an enc_new: question 1..ENC_PREGUNTA_MAX characters, not blank;
 * 2..12 options of 1..200 characters, not blank, no two equal (ignoring
 * surrounding spaces and ASCII case); cierra_at well formed and in the
 * future (now: seconds since the epoch). 0 or ERR_INVALID naming the field. */
int enc_new_check(const struct enc_new *in, long long now, struct err *e);

/* Posts a poll as p in one transaction: the mensajes row (tipo encuesta,
 * contenido = pregunta), the poll and its options, and mensaje:nuevo to
 * chat:<id>. Members only (ERR_NOT_FOUND), only admins in a restringido
 * group (ERR_FORBIDDEN). A client_id already used by p for a poll in this
 * chat returns that poll with *created false (used elsewhere:
 * ERR_CONFLICT). Call enc_new_check first. *out is the Mensaje as p sees it. */
int enc_create(struct db *d, struct arena *a, const struct principal *p,
               const struct enc_new *in, bool *created, json_object **out, struct err *e);

/* Sets p's votes on poll encuesta_id to the n option ids (0: withdraw),
 * in one transaction under the poll's row lock. Members only
 * (ERR_NOT_FOUND); closed, expired or deleted: ERR_CONFLICT; an option of
 * another poll, or more than one on a single-choice poll: ERR_INVALID.
 * *out is the Mensaje now as p sees it. */
int enc_vote(struct db *d, struct arena *a, const struct principal *p, long long encuesta_id,
             const long long *opcion_ids, size_t n, json_object **out, struct err *e);

/* Closes poll encuesta_id: its author or an admin of the chat
 * (ERR_FORBIDDEN for other members, ERR_NOT_FOUND for non-members,
 * ERR_CONFLICT when the message was deleted). *out is the Mensaje now. */
int enc_close(struct db *d, struct arena *a, const struct principal *p, long long encuesta_id,
              json_object **out, struct err *e);

#endif
