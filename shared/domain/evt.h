/* evt.h: the event vocabulary and the event outbox.
 *
 * Every realtime event has one row in EVT_LIST: its API.md §5 name, the
 * rooms it may be sent to, how it travels, what rtd does with it beyond
 * delivering it, and who receives it. Emitters (evt_emit), rtd's inbound
 * dispatch and membership handling, and the browser client's handler map
 * (www/js/client.js, keyed by the same names; `make check` compares them)
 * all read this one list.
 *
 * How an event travels (path):
 *   EVT_STORED    an eventos row written in the emitter's transaction, then
 *                 a NOTIFY chat_eventos after the commit; delta sync
 *                 replays it.
 *   EVT_EPHEMERAL NOTIFY chat_efimeros only (typing): never stored.
 *   EVT_INBOUND   client -> server over Socket.IO.
 *   EVT_SOCKET    rtd writes it to one socket itself, about that socket
 *                 (never stored, never NOTIFYed).
 * Rooms: chat:<id> (the members' sockets), user:<id> (one user's
 * sockets), presencia:<id> (rtd sends to everyone sharing a chat with
 * user <id>), todos (every socket), each recipient's user room
 * (announcements, written by one statement in comunicado.c), or the one
 * socket an EVT_SOCKET event is about.
 * Flags:
 *   EVT_F_MEMBERSHIP rtd moves sockets between rooms (or closes them) when
 *                    it delivers this event.
 *   EVT_F_COSTLY     an inbound event that costs a database round trip or a
 *                    fan-out: rate-limited per socket.
 *   EVT_F_INTERNAL   delivered to nobody's client as such (rtd acts on it). */
#ifndef CHAT_EVT_H
#define CHAT_EVT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"

enum evt_path { EVT_STORED, EVT_EPHEMERAL, EVT_INBOUND, EVT_SOCKET };

enum evt_room {
    EVT_ROOM_CHAT = 1,          /* chat:<id> */
    EVT_ROOM_USER = 2,          /* user:<id> */
    EVT_ROOM_PRESENCE = 4,      /* presencia:<id> */
    EVT_ROOM_ALL = 8,           /* todos */
    EVT_ROOM_RECIPIENTS = 16,   /* each recipient's user:<id> */
    EVT_ROOM_SOCKET = 32,       /* the socket itself (rtd, EVT_SOCKET) */
};

enum { EVT_F_MEMBERSHIP = 1, EVT_F_COSTLY = 2, EVT_F_INTERNAL = 4 };

#define EVT_C EVT_ROOM_CHAT
#define EVT_U EVT_ROOM_USER

/* X(id, name, rooms, path, flags, who receives it) */
#define EVT_LIST(X)                                                                          \
    X(EVT_MENSAJE_NUEVO, "mensaje:nuevo", EVT_C, EVT_STORED, 0, "the chat's members")        \
    X(EVT_MENSAJE_EDITADO, "mensaje:editado", EVT_C, EVT_STORED, 0, "the chat's members")    \
    X(EVT_MENSAJE_ELIMINADO, "mensaje:eliminado", EVT_C, EVT_STORED, 0, "the chat's members") \
    X(EVT_MENSAJE_REACCION, "mensaje:reaccion", EVT_C, EVT_STORED, 0, "the chat's members")  \
    X(EVT_MENSAJE_LEIDO, "mensaje:leido", EVT_C, EVT_STORED, 0, "the chat's members")        \
    X(EVT_CHAT_ESCRIBIENDO, "chat:escribiendo", EVT_C, EVT_EPHEMERAL, 0,                     \
      "the chat's members but the typist's own sockets")                                    \
    X(EVT_CHAT_NUEVO, "chat:nuevo", EVT_U, EVT_STORED, EVT_F_MEMBERSHIP,                     \
      "a user added to a chat, or who created it")                                          \
    X(EVT_CHAT_ACTUALIZADO, "chat:actualizado", EVT_C | EVT_U, EVT_STORED, 0,                \
      "the chat's members; only the user who muted it, for a mute")                         \
    X(EVT_CHAT_ELIMINADO, "chat:eliminado", EVT_C | EVT_U, EVT_STORED, EVT_F_MEMBERSHIP,     \
      "the chat's members; a removed member or one who left, in their own room")           \
    X(EVT_CHAT_MIEMBROS, "chat:miembros", EVT_C, EVT_STORED, EVT_F_MEMBERSHIP,               \
      "the chat's members after a membership change")                                       \
    X(EVT_USUARIO_ESTATUS, "usuario:estatus", EVT_ROOM_PRESENCE, EVT_STORED, 0,              \
      "users who share a chat with them")                                                   \
    X(EVT_USUARIO_DESACTIVADO, "usuario:desactivado", EVT_U, EVT_STORED,                     \
      EVT_F_MEMBERSHIP | EVT_F_INTERNAL, "rtd: closes the user's sockets")                  \
    X(EVT_USUARIO_REACTIVADO, "usuario:reactivado", EVT_U, EVT_STORED, EVT_F_INTERNAL,       \
      "nobody (recorded for sync and audit)")                                               \
    X(EVT_ENCUESTA_VOTO, "encuesta:voto", EVT_C, EVT_STORED, 0, "the chat's members")        \
    X(EVT_COMUNICADO_NUEVO, "comunicado:nuevo", EVT_ROOM_ALL | EVT_ROOM_RECIPIENTS,          \
      EVT_STORED, 0, "each recipient (and the author)")                                     \
    X(EVT_COMUNICADO_REACCION, "comunicado:reaccion", EVT_ROOM_ALL | EVT_ROOM_RECIPIENTS,    \
      EVT_STORED, 0, "the author and each recipient")                                       \
    X(EVT_COMUNICADO_LEIDO, "comunicado:leido", EVT_U, EVT_STORED, 0, "the author")          \
    X(EVT_COMUNICADO_ELIMINADO, "comunicado:eliminado", EVT_ROOM_ALL | EVT_ROOM_RECIPIENTS,  \
      EVT_STORED, 0, "the author and each recipient")                                       \
    X(EVT_SESION_EXPIRADA, "sesion:expirada", EVT_ROOM_SOCKET, EVT_SOCKET, 0,                \
      "the socket whose token expired, just before rtd closes it")                          \
    X(EVT_CHAT_TYPING, "chat:typing", EVT_C, EVT_INBOUND, EVT_F_COSTLY,                      \
      "rtd: becomes chat:escribiendo")                                                      \
    X(EVT_PRESENCE_STATUS, "presence:status", EVT_U, EVT_INBOUND, EVT_F_COSTLY,              \
      "rtd: the socket's activity for presence")                                            \
    X(EVT_CHAT_MARCAR_LEIDO, "chat:marcar_leido", EVT_C, EVT_INBOUND, EVT_F_COSTLY,          \
      "rtd: msg_mark_read")                                                                 \
    X(EVT_CHAT_REACCIONAR, "chat:reaccionar", EVT_C, EVT_INBOUND, EVT_F_COSTLY,              \
      "rtd: msg_react_toggle")

#define EVT_ID_(id, name, rooms, path, flags, who) id,
enum evt_id { EVT_LIST(EVT_ID_) EVT__COUNT };
#undef EVT_ID_

struct evt_kind {
    enum evt_id id;
    const char *name;           /* API.md §5 */
    unsigned rooms;             /* enum evt_room bits */
    enum evt_path path;
    unsigned flags;             /* EVT_F_* */
    const char *who;            /* who receives it, for readers */
};

/* The row of id (never NULL for a valid id). */
const struct evt_kind *evt_kind(enum evt_id id);

/* The row named name, or NULL for a name not in the vocabulary. */
const struct evt_kind *evt_find(const char *name);

/* One slice of the eventos prune, as one statement: deletes at most
 * LIMIT (a parameter, "$2") rows matching COND (SQL over eventos) and
 * moves the pruned mark (eventos_poda) to the newest of them, so a sync
 * cursor from before them is refused (409) instead of silently missing
 * events. Returns one row: the count deleted. Used by the age-based prune
 * and the per-chat retention policy. */
#define EVT_SQL_PRUNE(COND, LIMIT)                                                           \
    "WITH del AS ("                                                                          \
    "  DELETE FROM eventos WHERE id IN ("                                                    \
    "   SELECT id FROM eventos WHERE " COND                                                  \
    "    LIMIT " LIMIT "::int)"                                                              \
    "  RETURNING xid, id),"                                                                  \
    " top AS (SELECT xid, id FROM del ORDER BY xid DESC, id DESC LIMIT 1),"                  \
    " mark AS ("                                                                             \
    "  INSERT INTO eventos_poda AS p (xid, evento_id) SELECT xid, id FROM top"               \
    "  ON CONFLICT (unica) DO UPDATE SET xid = EXCLUDED.xid, evento_id = EXCLUDED.evento_id," \
    "   podado_at = now()"                                                                   \
    "  WHERE (EXCLUDED.xid, EXCLUDED.evento_id) > (p.xid, p.evento_id))"                     \
    " SELECT count(*) FROM del"

/* Writes one stored event of kind id to room room_id of kind room (0 for
 * EVT_ROOM_ALL), with payload (borrowed; serialised now) and the chat and
 * user it concerns (0 for none). Must run inside a transaction. A room the
 * kind is not sent to is ERR_INTERNAL. The insert is deferred (db_defer):
 * it goes to the server with the transaction's next statement or its
 * COMMIT, in the same round trip; a failure of it fails that call. Once
 * inserted, the NOTIFY {"id":N,"tipo":"...","sala":"..."} is queued for
 * after the commit. Returns 0, or -1 with e. */
int evt_emit(struct db *d, struct arena *a, enum evt_id id, enum evt_room room,
             long long room_id, json_object *payload, long long chat_id, long long usuario_id,
             struct err *e);

/* The writer under evt_emit: tipo (an API.md §5 name), sala ("chat:12",
 * "user:5", "todos"). Same deferral and result as evt_emit. Only evt.c
 * calls it (`make check` holds that). */
int evt_add(struct db *d, struct arena *a, const char *tipo, const char *sala,
            json_object *payload, long long chat_id, long long usuario_id, struct err *e);

/* rtd's reading of the outbox (rtd/feed.c), prepared on its LISTEN
 * connection: the rows after the cursor up to the horizon, EVT_FEED_BATCH
 * at a time, in (xid, id) order ($1 xid, $2 id); and the rows a NOTIFY
 * announced above the cursor ($1 ids as a bigint[] text, $2 xid, $3 id).
 * Columns: id, xid, tipo, sala, payload, for a presencia:<id> room the
 * user's chat ids ("{1,2}", else NULL), created_at in unix microseconds. */
#define EVT_FEED_BATCH 500
extern const struct db_stmt evt_st_feed_read;
extern const struct db_stmt evt_st_feed_ahead;

#endif
