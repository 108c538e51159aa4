/* msg.c: messages: the Mensaje object, send, edit, delete, reactions, read
 * marks, read receipts and history. */
#include "domain/msg.h"
#include "domain/media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/chat.h"
#include "domain/encuesta.h"
#include "domain/audit.h"
#include "domain/evt.h"
#include "core/jsonw.h"
#include "core/jsonx.h"
#include "domain/push.h"

/* The joins every Mensaje query makes around a message aliased m. */
#define MSG_FROM                                                                \
    " LEFT JOIN usuarios au ON au.id = m.autor_id"                              \
    " LEFT JOIN mensajes r ON r.id = m.respuesta_a"                             \
    " LEFT JOIN usuarios ru ON ru.id = r.autor_id"                              \
    " LEFT JOIN media md ON md.id = m.media_id AND md.deleted_at IS NULL"

/* The reacciones of m as JSON text, mia for viewer expression V. */
#define MSG_REAC(V)                                                             \
    "COALESCE((SELECT json_agg(json_build_object('emoji', x.emoji, 'total', x.n," \
    " 'usuarios', x.ids, 'mia', x.mia) ORDER BY x.f, x.emoji)::text"            \
    " FROM (SELECT rm.emoji, count(*) AS n,"                                    \
    "  array_agg(rm.usuario_id ORDER BY rm.created_at, rm.usuario_id) AS ids,"  \
    "  bool_or(rm.usuario_id = " V ") AS mia, min(rm.created_at) AS f"          \
    "  FROM reacciones_mensajes rm WHERE rm.mensaje_id = m.id AND m.deleted_at IS NULL" \
    "  GROUP BY rm.emoji) x), '[]')"

/* The columns of a Mensaje row, in order: X(index, SQL, width). Both the
 * SELECT list (MSG_COLS) and the MC_* indexes msg_row_json reads are
 * generated from this one list, so they cannot drift apart. The author
 * and the replied-to author are shown through usr.h's mask. */
#define MSG_COLUMNS(X)                                                                   \
    X(MC_ID, "m.id", 1)                                                                  \
    X(MC_CHAT, "m.chat_id", 1)                                                           \
    X(MC_AUTOR, "m.autor_id", 1)                                                         \
    X(MC_AUTOR_NOMBRE, USR_SHOWN_NOMBRE("au"), 1)                                        \
    X(MC_AUTOR_IMAGEN, USR_SHOWN("au", "imagen_url"), 1)                                 \
    X(MC_TIPO, "m.tipo", 1)                                                              \
    X(MC_CONTENIDO, "m.contenido", 1)                                                    \
    X(MC_R_ID, "r.id", 1)                                                                \
    X(MC_R_NOMBRE, USR_SHOWN_NOMBRE("ru"), 1)                                            \
    X(MC_R_EXTRACTO, "left(r.contenido, 100)", 1)                                        \
    X(MC_R_TIPO, "r.tipo", 1)                                                            \
    X(MC_R_ELIMINADO, "r.deleted_at IS NOT NULL", 1)                                     \
    X(MC_MEDIA, MEDIA_COLS_OF("md"), MEDIA_NCOLS)                                        \
    X(MC_CREATED, "m.created_at", 1)                                                     \
    X(MC_EDITADO, "m.editado_at", 1)                                                     \
    X(MC_ELIMINADO, "m.deleted_at IS NOT NULL", 1)                                       \
    X(MC_CLIENT_ID, "m.client_id", 1)                                                    \
    X(MC_LEIDO_TODOS,                                                                    \
      "NOT EXISTS (SELECT 1 FROM usuarios_chat lc WHERE lc.chat_id = m.chat_id"          \
      " AND lc.usuario_id IS DISTINCT FROM m.autor_id AND lc.ultimo_leido_id < m.id"     \
      " AND lc.joined_at <= m.created_at)", 1)

#define MSG_COL_SQL(idx, sql, width) sql ", "
#define MSG_COL_IDX(idx, sql, width) idx, idx##_LAST_ = idx + (width) - 1,

/* The SELECT list of a Mensaje; REAC (the reacciones text) comes last. */
#define MSG_COLS(REAC) MSG_COLUMNS(MSG_COL_SQL) REAC

enum { MSG_COLUMNS(MSG_COL_IDX) MC_REAC, MC__COUNT };

static const char msg_sql_load[] =
    "SELECT " MSG_COLS(MSG_REAC("$2::bigint"))
    " FROM unnest($1::bigint[]) WITH ORDINALITY q(id, ord)"
    " JOIN mensajes m ON m.id = q.id" MSG_FROM " ORDER BY q.ord";
static const struct db_stmt msg_st_load = { "msg_load", msg_sql_load };

/* The Mensaje of row i of a MSG_COLS result, printed into w; poll is its
 * Encuesta (NULL: null, filled later for msg_load by msg_polls_fill). This
 * is the one projection of a Mensaje: the history page prints it straight
 * into the response, msg_row_json reads it back as a json-c object. */
static void msg_row_write(struct jsonw *w, const PGresult *r, int i, json_object *poll)
{
    char ts[JSONX_TS_MAX];
    bool eliminado = db_get_bool(r, i, MC_ELIMINADO);
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int_text(w, db_get(r, i, MC_ID));
    jsonw_key(w, "chat_id");
    jsonw_int_text(w, db_get(r, i, MC_CHAT));
    jsonw_key(w, "autor");
    if (db_get(r, i, MC_AUTOR)) {
        jsonw_obj_begin(w);
        jsonw_key(w, "id");
        jsonw_int_text(w, db_get(r, i, MC_AUTOR));
        jsonw_key(w, "nombre");
        jsonw_str(w, db_get(r, i, MC_AUTOR_NOMBRE));
        jsonw_key(w, "imagen_url");
        jsonw_str(w, db_get(r, i, MC_AUTOR_IMAGEN));
        jsonw_obj_end(w);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "tipo");
    jsonw_str(w, db_get(r, i, MC_TIPO));
    jsonw_key(w, "contenido");
    jsonw_str(w, eliminado ? NULL : db_get(r, i, MC_CONTENIDO));
    jsonw_key(w, "respuesta_a");
    if (db_get(r, i, MC_R_ID)) {
        bool r_del = db_get_bool(r, i, MC_R_ELIMINADO);
        jsonw_obj_begin(w);
        jsonw_key(w, "id");
        jsonw_int_text(w, db_get(r, i, MC_R_ID));
        jsonw_key(w, "autor_nombre");
        jsonw_str(w, db_get(r, i, MC_R_NOMBRE));
        jsonw_key(w, "extracto");
        jsonw_str(w, r_del ? NULL : db_get(r, i, MC_R_EXTRACTO));
        jsonw_key(w, "tipo");
        jsonw_str(w, db_get(r, i, MC_R_TIPO));
        jsonw_key(w, "eliminado");
        jsonw_bool(w, r_del);
        jsonw_obj_end(w);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "media");
    if (eliminado)
        jsonw_null(w);
    else
        media_write(w, r, i, MC_MEDIA);
    jsonw_key(w, "encuesta");
    jsonw_json(w, poll);
    /* PostgreSQL's json_agg text, an array; most messages have none */
    jsonw_key(w, "reacciones");
    const char *rt = db_get(r, i, MC_REAC);
    if (rt && rt[0] == '[' && strcmp(rt, "[]") != 0)
        jsonw_json_text(w, rt);
    else
        jsonw_json_text(w, "[]");
    jsonw_key(w, "created_at");
    jsonw_str(w, jsonx_ts_text(db_get(r, i, MC_CREATED), ts));
    jsonw_key(w, "editado_at");
    jsonw_str(w, jsonx_ts_text(db_get(r, i, MC_EDITADO), ts));
    jsonw_key(w, "eliminado");
    jsonw_bool(w, eliminado);
    jsonw_key(w, "client_id");
    jsonw_str(w, db_get(r, i, MC_CLIENT_ID));
    jsonw_key(w, "leido_por_todos");
    jsonw_bool(w, db_get_bool(r, i, MC_LEIDO_TODOS));
    jsonw_obj_end(w);
}

/* The Mensaje of row i as a new json-c object (the caller owns it). */
static json_object *msg_row_json(struct arena *a, const PGresult *r, int i)
{
    struct jsonw w;
    jsonw_init(&w, a, 1024);
    msg_row_write(&w, r, i, NULL);
    return json_tokener_parse(w.buf);
}

/* Polls: every live message of tipo encuesta in arr gets its Encuesta as
 * viewer sees it (enc_load: at most two more queries, whatever n is). */
static int msg_polls_fill(struct db *d, struct arena *a, long long viewer, json_object *arr,
                          struct err *e)
{
    size_t n = json_object_array_length(arr), k = 0;
    long long *ids = arena_alloc(a, sizeof(long long) * (n ? n : 1));
    json_object **msgs = arena_alloc(a, sizeof(json_object *) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(arr, i), *t, *del, *id;
        if (json_object_object_get_ex(m, "tipo", &t) &&
            strcmp(json_object_get_string(t), "encuesta") == 0 &&
            json_object_object_get_ex(m, "eliminado", &del) && !json_object_get_boolean(del) &&
            json_object_object_get_ex(m, "id", &id)) {
            ids[k] = json_object_get_int64(id);
            msgs[k++] = m;
        }
    }
    if (k == 0)
        return 0;
    json_object **polls = arena_alloc(a, sizeof(json_object *) * k);
    if (enc_load(d, a, viewer, ids, k, polls, e) < 0)
        return -1;
    for (size_t i = 0; i < k; i++)
        if (polls[i])
            jsonx_add(msgs[i], "encuesta", polls[i]);
    return 0;
}

int msg_load(struct db *d, struct arena *a, long long viewer, const long long *ids, size_t n,
             json_object **out_array, struct err *e)
{
    json_object *arr = jsonx_own(a, json_object_new_array());
    *out_array = arr;
    if (n == 0)
        return 0;
    const char *params[2] = { db_ll_array(a, ids, n), db_ll(a, viewer) };
    PGresult *r = db_run(d, a, &msg_st_load, 2, params, e);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        json_object_array_add(arr, msg_row_json(a, r, i));
    return msg_polls_fill(d, a, viewer, arr, e);
}

/* Commits the open transaction and loads message id as viewer sees it,
 * the load sent just before the COMMIT in the same round trip (it sees
 * what the transaction wrote, as a load after the commit would). */
static int msg_commit_load_one(struct db *d, struct arena *a, long long viewer, long long id,
                               json_object **out, struct err *e)
{
    const char *params[2] = { db_ll_array(a, &id, 1), db_ll(a, viewer) };
    PGresult *r = db_commit_read(d, a, &msg_st_load, 2, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(e, ERR_NOT_FOUND, "Mensaje no encontrado");
    json_object *arr = jsonx_own(a, json_object_new_array());
    json_object_array_add(arr, msg_row_json(a, r, 0));
    if (msg_polls_fill(d, a, viewer, arr, e) < 0)
        return -1;
    *out = json_object_array_get_idx(arr, 0);
    return 0;
}

int msg_load_one(struct db *d, struct arena *a, long long viewer, long long id,
                 json_object **out, struct err *e)
{
    json_object *arr;
    if (msg_load(d, a, viewer, &id, 1, &arr, e) < 0)
        return -1;
    if (json_object_array_length(arr) == 0)
        return err_set(e, ERR_NOT_FOUND, "Mensaje no encontrado");
    *out = json_object_array_get_idx(arr, 0);
    return 0;
}

/* The event for a message (payload: the Mensaje for no viewer). */
static int msg_event(struct db *d, struct arena *a, enum evt_id tipo, long long chat_id,
                     long long actor, json_object *mensaje, struct err *e)
{
    return evt_emit(d, a, tipo, EVT_ROOM_CHAT, chat_id, mensaje, chat_id, actor, e) < 0 ? -1 : 0;
}

/* A sistema message has no author (autor null): who did it is in datos. */
static const char msg_sql_system[] =
    "INSERT INTO mensajes (chat_id, tipo, contenido, datos)"
    " VALUES ($1, 'sistema', $2, $3::jsonb) RETURNING id";
static const struct db_stmt msg_st_system = { "msg_system", msg_sql_system };

long long msg_insert_system(struct db *d, struct arena *a, long long chat_id,
                            long long actor_id, const char *contenido, json_object *datos,
                            struct err *e)
{
    const char *params[3] = { db_ll(a, chat_id), contenido, datos ? jsonx_text(a, datos) : NULL };
    PGresult *r = db_run(d, a, &msg_st_system, 3, params, e);
    if (!r)
        return -1;
    long long id = db_get_ll(r, 0, 0);
    json_object *m;
    if (msg_load_one(d, a, 0, id, &m, e) < 0 ||
        msg_event(d, a, EVT_MENSAJE_NUEVO, chat_id, actor_id, m, e) < 0)
        return -1;
    return id;
}

/* True when s holds only whitespace (ASCII, NBSP, ideographic and
 * zero-width spaces). */
static bool msg_blank(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
        } else if (p[0] == 0xC2 && p[1] == 0xA0) {
            p += 2;
        } else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) {
            p += 3;
        } else if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0x8B || p[2] == 0xAF)) {
            p += 3;
        } else {
            return false;
        }
    }
    return true;
}

int msg_text_check(const char *s, const char *field, long max, struct err *e)
{
    long n = jsonx_utf8_chars(s);
    if (n < 0)
        return err_set(e, ERR_INVALID, "%s contiene caracteres no permitidos", field);
    if (n == 0 || msg_blank(s))
        return err_set(e, ERR_INVALID, "%s no puede estar vacío", field);
    if (n > max)
        return err_set(e, ERR_INVALID, "%s admite hasta %ld caracteres", field, max);
    return 0;
}

int msg_client_id_check(const char *client_id, struct err *e)
{
    if (!client_id)
        return 0;
    long n = jsonx_utf8_chars(client_id);
    if (n < 1 || n > MSG_CLIENT_ID_MAX)
        return err_set(e, ERR_INVALID, "client_id debe ser texto de 1 a %d caracteres",
                       MSG_CLIENT_ID_MAX);
    return 0;
}

int msg_emoji_check(const char *emoji, struct err *e)
{
    long n = emoji ? jsonx_utf8_chars(emoji) : -1;
    if (n < 1 || n > 32 || strpbrk(emoji, " \t\r\n") || msg_blank(emoji))
        return err_set(e, ERR_INVALID, "emoji debe ser un emoji (hasta 32 caracteres, sin espacios)");
    return 0;
}

/* ---- send ------------------------------------------------------------- */

/* One statement: the access check, the insert (a client_id already used by
 * the author makes it insert nothing) and the Mensaje's columns. Zero rows
 * means something was wrong; msg_send_diagnose finds out what. */
static const char msg_sql_send[] =
    "WITH acc AS ("
    "  SELECT c.id FROM chats c"
    "  JOIN usuarios_chat uc ON uc.chat_id = c.id AND uc.usuario_id = $2::bigint"
    "  WHERE c.id = $1::bigint AND c.deleted_at IS NULL AND (NOT c.restringido OR uc.rol = 'admin')"
    "   AND ($4::bigint IS NULL OR EXISTS (SELECT 1 FROM mensajes q"
    "        WHERE q.chat_id = $1::bigint AND q.id = $4::bigint AND q.deleted_at IS NULL))),"
    " m AS ("
    "  INSERT INTO mensajes (chat_id, autor_id, tipo, contenido, respuesta_a, media_id, client_id)"
    "  SELECT acc.id, $2::bigint, $3::text, $5::text, $4::bigint, $6::bigint, $7::text FROM acc"
    "  ON CONFLICT (autor_id, client_id) WHERE client_id IS NOT NULL DO NOTHING"
    "  RETURNING *)"
    " SELECT " MSG_COLS("'[]'") " FROM m" MSG_FROM;
static const struct db_stmt msg_st_send = { "msg_send", msg_sql_send };

static const char msg_sql_by_client_id[] =
    "SELECT id, chat_id, tipo = 'encuesta' FROM mensajes WHERE autor_id = $1 AND client_id = $2";
static const struct db_stmt msg_st_by_client_id = { "msg_by_client_id", msg_sql_by_client_id };

static const char msg_sql_reply_ok[] =
    "SELECT 1 FROM mensajes WHERE chat_id = $1 AND id = $2 AND deleted_at IS NULL";
static const struct db_stmt msg_st_reply_ok = { "msg_reply_ok", msg_sql_reply_ok };

/* Why the send statement inserted nothing: the error, or the earlier
 * message with the same client_id (returns 1 with *prev). A client_id
 * names one message: a retry must be in the same chat, and a poll's retry
 * must find a poll. */
static int msg_send_diagnose(struct db *d, struct arena *a, const struct principal *p,
                             const struct msg_send_in *in, long long *prev, struct err *e)
{
    struct chat_access acc;
    if (chat_access_get(d, a, p, in->chat_id, 0, false, &acc, e) < 0)
        return -1;
    if (in->client_id) {
        const char *params[2] = { db_ll(a, p->id), in->client_id };
        PGresult *r = db_run(d, a, &msg_st_by_client_id, 2, params, e);
        if (!r)
            return -1;
        if (PQntuples(r) > 0) {
            bool poll = in->tipo && strcmp(in->tipo, "encuesta") == 0;
            if (db_get_ll(r, 0, 1) != in->chat_id)
                return err_set(e, ERR_CONFLICT, "client_id ya se usó en otro chat");
            if (poll && !db_get_bool(r, 0, 2))
                return err_set(e, ERR_CONFLICT, "client_id ya se usó en otro mensaje");
            *prev = db_get_ll(r, 0, 0);
            return 1;
        }
    }
    if (acc.restringido && !acc.admin)
        return err_set(e, ERR_FORBIDDEN, "En este grupo solo los administradores publican");
    if (in->respuesta_a) {
        const char *params[2] = { db_ll(a, in->chat_id), db_ll(a, in->respuesta_a) };
        PGresult *r = db_run(d, a, &msg_st_reply_ok, 2, params, e);
        if (!r)
            return -1;
        if (PQntuples(r) == 0)
            return err_set(e, ERR_INVALID, "respuesta_a no es un mensaje de este chat");
    }
    return err_set(e, ERR_CONFLICT, "El mensaje no se pudo enviar; inténtelo de nuevo");
}

int msg_insert(struct db *d, struct arena *a, const struct principal *p,
               const struct msg_send_in *in, long long *id, json_object **row, struct err *e)
{
    const char *params[7] = {
        db_ll(a, in->chat_id), db_ll(a, p->id), in->tipo,
        in->respuesta_a ? db_ll(a, in->respuesta_a) : NULL, in->contenido,
        in->media_id ? db_ll(a, in->media_id) : NULL, in->client_id,
    };
    PGresult *r = db_run(d, a, &msg_st_send, 7, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return msg_send_diagnose(d, a, p, in, id, e) < 0 ? -1 : 0;
    *id = db_get_ll(r, 0, MC_ID);
    if (row)
        *row = jsonx_own(a, msg_row_json(a, r, 0));
    return 1;
}

int msg_announce(struct db *d, struct arena *a, long long chat_id, long long actor,
                 long long id, json_object *m, struct err *e)
{
    if (msg_event(d, a, EVT_MENSAJE_NUEVO, chat_id, actor, m, e) < 0)
        return -1;
    return push_enqueue_message(d, a, id, e) < 0 ? -1 : 0;
}

/* Attaches the upload to the message being sent (inside its transaction):
 * the caller's own, unused media; the message's tipo comes from the media's
 * bytes, and a tipo the client named must agree. A retry with the same
 * client_id finds its media already attached: 1 with the first message. */
static int msg_media_attach(struct db *d, struct arena *a, const struct principal *p,
                            struct msg_send_in *in, json_object **out, struct err *e)
{
    const char *tipo = NULL;
    if (media_claim(d, a, in->media_id, p->id, &tipo, e) < 0) {
        if (e->code != ERR_CONFLICT || !in->client_id)
            return -1;
        struct err why = *e;
        long long prev;
        int found = msg_send_diagnose(d, a, p, in, &prev, e);
        if (found == 1)
            return msg_load_one(d, a, p->id, prev, out, e) < 0 ? -1 : 1;
        if (e->code == ERR_NOT_FOUND || e->code == ERR_FORBIDDEN)
            return found;
        *e = why;   /* no earlier message: the media is someone else's use */
        return -1;
    }
    if (in->tipo && strcmp(in->tipo, tipo) != 0)
        return err_set(e, ERR_INVALID, "media_id es de tipo %s, no %s", tipo, in->tipo);
    in->tipo = tipo;
    return 0;
}

static bool msg_media_tipo(const char *t)
{
    return strcmp(t, "imagen") == 0 || strcmp(t, "audio") == 0 || strcmp(t, "video") == 0 ||
           strcmp(t, "documento") == 0;
}

int msg_send(struct db *d, struct arena *a, const struct principal *p,
             const struct msg_send_in *in0, bool *created, json_object **out, struct err *e)
{
    struct msg_send_in in = *in0;
    int ret = -1;
    *created = false;
    if (!in.tipo && !in.media_id)
        in.tipo = "texto";
    if (!in.tipo) {
        if (in.contenido && !*in.contenido)
            in.contenido = NULL;    /* a media message: tipo from the media below */
    } else if (strcmp(in.tipo, "texto") == 0) {
        if (!in.contenido)
            return err_set(e, ERR_INVALID, "contenido es obligatorio");
        if (in.media_id)
            return err_set(e, ERR_INVALID, "Un mensaje de texto no lleva media_id");
    } else if (msg_media_tipo(in.tipo)) {
        if (!in.media_id)
            return err_set(e, ERR_INVALID, "media_id es obligatorio para tipo %s", in.tipo);
        if (in.contenido && !*in.contenido)
            in.contenido = NULL;
    } else {
        return err_set(e, ERR_INVALID, "tipo debe ser texto, imagen, audio, video o documento");
    }
    if (in.contenido && msg_text_check(in.contenido, "contenido", in.max_chars, e) < 0)
        return -1;
    if (msg_client_id_check(in.client_id, e) < 0)
        return -1;
    if (db_begin(d, e) < 0)
        return -1;
    if (in.media_id) {
        int found = msg_media_attach(d, a, p, &in, out, e);
        if (found < 0)
            goto cleanup;
        if (found == 1) {
            db_rollback(d);     /* a retry: the first message, nothing written */
            return 0;
        }
    }
    long long id;
    json_object *m;
    int r = msg_insert(d, a, p, &in, &id, &m, e);
    if (r < 0)
        goto cleanup;
    if (r == 0) {
        db_rollback(d);     /* a retry: the first message, nothing written */
        return msg_load_one(d, a, p->id, id, out, e);
    }
    if (msg_announce(d, a, in.chat_id, p->id, id, m, e) < 0 || db_commit(d, e) < 0)
        goto cleanup;
    *out = m;
    *created = true;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

/* ---- access to one message ---------------------------------------------- */

struct msg_access {
    long long chat_id;
    long long autor_id;
    bool eliminado;
    bool editable;      /* texto or media, not sistema or encuesta */
    bool directo;
    bool member;
    bool admin;
};

static const char msg_sql_access[] =
    "SELECT m.chat_id, m.autor_id, m.deleted_at IS NOT NULL,"
    "  m.tipo NOT IN ('sistema', 'encuesta'), c.tipo = 'directo',"
    "  uc.usuario_id IS NOT NULL, COALESCE(uc.rol = 'admin', false)"
    " FROM mensajes m JOIN chats c ON c.id = m.chat_id AND c.deleted_at IS NULL"
    " LEFT JOIN usuarios_chat uc ON uc.chat_id = m.chat_id AND uc.usuario_id = $2"
    " WHERE m.id = $1";
static const struct db_stmt msg_st_access = { "msg_access", msg_sql_access };

/* Loads p's access to a message: ERR_NOT_FOUND when it does not exist, its
 * chat is deleted, or p is not a member (unless p holds override_perm). */
static int msg_access_get(struct db *d, struct arena *a, const struct principal *p,
                          long long mensaje_id, int override_perm, struct msg_access *out,
                          struct err *e)
{
    const char *params[2] = { db_ll(a, mensaje_id), db_ll(a, p->id) };
    PGresult *r = db_run(d, a, &msg_st_access, 2, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(e, ERR_NOT_FOUND, "Mensaje no encontrado");
    out->chat_id = db_get_ll(r, 0, 0);
    out->autor_id = db_get_ll(r, 0, 1);
    out->eliminado = db_get_bool(r, 0, 2);
    out->editable = db_get_bool(r, 0, 3);
    out->directo = db_get_bool(r, 0, 4);
    out->member = db_get_bool(r, 0, 5);
    out->admin = db_get_bool(r, 0, 6);
    if (!out->member && !(override_perm && usr_can(p, override_perm)))
        return err_set(e, ERR_NOT_FOUND, "Mensaje no encontrado");
    return 0;
}

/* ---- edit and delete ---------------------------------------------------- */

static const char msg_sql_edit[] =
    "UPDATE mensajes SET contenido = $3, editado_at = now()"
    " WHERE id = $1 AND autor_id = $2 AND deleted_at IS NULL"
    "  AND contenido IS DISTINCT FROM $3 RETURNING id";
static const struct db_stmt msg_st_edit = { "msg_edit", msg_sql_edit };

int msg_edit(struct db *d, struct arena *a, const struct principal *p, long long mensaje_id,
             const char *contenido, long max_chars, json_object **out, struct err *e)
{
    int ret = -1;
    if (!contenido)
        return err_set(e, ERR_INVALID, "contenido es obligatorio");
    if (msg_text_check(contenido, "contenido", max_chars, e) < 0)
        return -1;
    struct msg_access acc;
    if (msg_access_get(d, a, p, mensaje_id, 0, &acc, e) < 0)
        return -1;
    if (acc.autor_id != p->id)
        return err_set(e, ERR_FORBIDDEN, "Solo el autor puede editar el mensaje");
    if (acc.eliminado)
        return err_set(e, ERR_CONFLICT, "El mensaje fue eliminado");
    if (!acc.editable)
        return err_set(e, ERR_CONFLICT, "Este tipo de mensaje no se puede editar");
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[3] = { db_ll(a, mensaje_id), db_ll(a, p->id), contenido };
    PGresult *r = db_run(d, a, &msg_st_edit, 3, params, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 1) {
        json_object *ev;
        if (msg_load_one(d, a, 0, mensaje_id, &ev, e) < 0 ||
            msg_event(d, a, EVT_MENSAJE_EDITADO, acc.chat_id, p->id, ev, e) < 0)
            goto cleanup;
    }
    if (msg_commit_load_one(d, a, p->id, mensaje_id, out, e) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

/* Under a legal hold the text stays in the row (hidden by the projection:
 * eliminado messages show no contenido) so the hold keeps it. */
static const char msg_sql_delete[] =
    "UPDATE mensajes SET deleted_at = now(), eliminado_por = $2,"
    " contenido = CASE WHEN chat_retenido(chat_id) THEN contenido END"
    " WHERE id = $1 AND deleted_at IS NULL RETURNING id, autor_id, tipo, created_at";
static const struct db_stmt msg_st_delete = { "msg_delete", msg_sql_delete };

int msg_delete(struct db *d, struct arena *a, const struct principal *p, long long mensaje_id,
               struct err *e)
{
    int ret = -1;
    struct msg_access acc;
    if (msg_access_get(d, a, p, mensaje_id, PERM_DELETE_MESSAGE, &acc, e) < 0)
        return -1;
    if (acc.autor_id != p->id && !usr_can(p, PERM_DELETE_MESSAGE))
        return err_set(e, ERR_FORBIDDEN, "Solo el autor puede eliminar el mensaje");
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[2] = { db_ll(a, mensaje_id), db_ll(a, p->id) };
    PGresult *r = db_run(d, a, &msg_st_delete, 2, params, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 1 && acc.autor_id != p->id) {
        /* a moderator's delete (566) is audited; the text is not copied
         * into the trail, so a removal stays a removal */
        json_object *antes = jsonx_own(a, json_object_new_object());
        json_object_object_add(antes, "autor_id", jsonx_id(db_get(r, 0, 1)));
        json_object_object_add(antes, "tipo", jsonx_str(db_get(r, 0, 2)));
        json_object_object_add(antes, "created_at", jsonx_ts(db_get(r, 0, 3)));
        json_object *desp = jsonx_own(a, json_object_new_object());
        json_object_object_add(desp, "eliminado", json_object_new_boolean(true));
        struct audit_obj obj = { "mensaje", mensaje_id, acc.chat_id };
        if (audit_add(d, a, p, "mensaje.eliminado", &obj, antes, desp, e) < 0)
            goto cleanup;
    }
    if (PQntuples(r) == 1) {
        json_object *ev;
        if (msg_load_one(d, a, 0, mensaje_id, &ev, e) < 0 ||
            msg_event(d, a, EVT_MENSAJE_ELIMINADO, acc.chat_id, p->id, ev, e) < 0)
            goto cleanup;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

/* ---- reactions ---------------------------------------------------------- */

static const char msg_sql_react_add[] =
    "INSERT INTO reacciones_mensajes (mensaje_id, usuario_id, emoji) VALUES ($1, $2, $3)"
    " ON CONFLICT DO NOTHING RETURNING 1";
static const struct db_stmt msg_st_react_add = { "msg_react_add", msg_sql_react_add };

static const char msg_sql_react_del[] =
    "DELETE FROM reacciones_mensajes WHERE mensaje_id = $1 AND usuario_id = $2 AND emoji = $3"
    " RETURNING 1";
static const struct db_stmt msg_st_react_del = { "msg_react_del", msg_sql_react_del };

/* The one worker behind msg_react and msg_react_toggle: mode 1 adds, 0
 * removes, -1 toggles (adds, or removes when already there, in the same
 * transaction so concurrent toggles serialise on the row). */
static int msg_react_do(struct db *d, struct arena *a, const struct principal *p,
                        long long mensaje_id, const char *emoji, int mode, bool *changed,
                        bool *added, json_object **out, struct err *e)
{
    int ret = -1;
    *changed = false;
    *added = mode != 0;
    if (msg_emoji_check(emoji, e) < 0)
        return -1;
    struct msg_access acc;
    if (msg_access_get(d, a, p, mensaje_id, 0, &acc, e) < 0)
        return -1;
    if (acc.eliminado)
        return err_set(e, ERR_CONFLICT, "El mensaje fue eliminado");
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[3] = { db_ll(a, mensaje_id), db_ll(a, p->id), emoji };
    PGresult *r = db_run(d, a, mode != 0 ? &msg_st_react_add : &msg_st_react_del, 3, params, e);
    if (!r)
        goto cleanup;
    /* a toggle: there already, so remove it; gone meanwhile (another toggle
     * removed it first), so add it after all. Each statement sees the
     * latest commit, so this ends within a few rounds. */
    for (int round = 0; mode < 0 && PQntuples(r) == 0 && round < 8; round++) {
        *added = !*added;
        r = db_run(d, a, *added ? &msg_st_react_add : &msg_st_react_del, 3, params, e);
        if (!r)
            goto cleanup;
    }
    if (PQntuples(r) == 1) {
        bool add = *added;
        json_object *ev = jsonx_own(a, json_object_new_object());
        json_object_object_add(ev, "chat_id", json_object_new_int64(acc.chat_id));
        json_object_object_add(ev, "mensaje_id", json_object_new_int64(mensaje_id));
        json_object_object_add(ev, "usuario_id", json_object_new_int64(p->id));
        json_object_object_add(ev, "emoji", json_object_new_string(emoji));
        json_object_object_add(ev, "accion", json_object_new_string(add ? "agregar" : "quitar"));
        if (evt_emit(d, a, EVT_MENSAJE_REACCION, EVT_ROOM_CHAT, acc.chat_id, ev, acc.chat_id,
                     p->id, e) < 0 ||
            (add && push_enqueue_reaction(d, a, 0, mensaje_id, p->id, emoji, e) < 0))
            goto cleanup;
        *changed = true;
    }
    if (msg_commit_load_one(d, a, p->id, mensaje_id, out, e) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

int msg_react(struct db *d, struct arena *a, const struct principal *p, long long mensaje_id,
              const char *emoji, bool add, bool *changed, json_object **out, struct err *e)
{
    bool added;
    return msg_react_do(d, a, p, mensaje_id, emoji, add ? 1 : 0, changed, &added, out, e);
}

int msg_react_toggle(struct db *d, struct arena *a, const struct principal *p,
                     long long mensaje_id, const char *emoji, bool *added, json_object **out,
                     struct err *e)
{
    bool changed;
    return msg_react_do(d, a, p, mensaje_id, emoji, -1, &changed, added, out, e);
}

/* ---- read marks --------------------------------------------------------- */

/* One statement: is the message in the (live) chat, move the mark, and the
 * mark before (the CTE's update is not visible to the outer subqueries). */
static const char msg_sql_mark[] =
    "WITH m AS (SELECT mm.id FROM mensajes mm JOIN chats c ON c.id = mm.chat_id"
    "           AND c.deleted_at IS NULL WHERE mm.id = $3 AND mm.chat_id = $1),"
    " u AS (UPDATE usuarios_chat uc SET ultimo_leido_id = m.id, leido_at = now(),"
    "       updated_at = now() FROM m"
    "       WHERE uc.chat_id = $1 AND uc.usuario_id = $2 AND uc.ultimo_leido_id < m.id"
    "       RETURNING uc.ultimo_leido_id, uc.leido_at)"
    " SELECT (SELECT count(*) FROM m), (SELECT ultimo_leido_id FROM u), (SELECT leido_at FROM u),"
    "  (SELECT uc.ultimo_leido_id FROM usuarios_chat uc JOIN chats c ON c.id = uc.chat_id"
    "   AND c.deleted_at IS NULL WHERE uc.chat_id = $1 AND uc.usuario_id = $2)";
static const struct db_stmt msg_st_mark = { "msg_mark", msg_sql_mark };

int msg_mark_read(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                  long long mensaje_id, bool *changed, json_object **out, struct err *e)
{
    int ret = -1;
    *changed = false;
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[3] = { db_ll(a, chat_id), db_ll(a, p->id), db_ll(a, mensaje_id) };
    PGresult *r = db_run(d, a, &msg_st_mark, 3, params, e);
    if (!r)
        goto cleanup;
    if (!db_get(r, 0, 3)) {
        err_set(e, ERR_NOT_FOUND, "Chat no encontrado");
        goto cleanup;
    }
    if (db_get_ll(r, 0, 0) == 0) {
        err_set(e, ERR_INVALID, "mensaje_id no es un mensaje de este chat");
        goto cleanup;
    }
    long long mark = db_get_ll(r, 0, 3);
    if (db_get(r, 0, 1)) {
        mark = db_get_ll(r, 0, 1);
        json_object *ev = jsonx_own(a, json_object_new_object());
        json_object_object_add(ev, "chat_id", json_object_new_int64(chat_id));
        json_object_object_add(ev, "usuario_id", json_object_new_int64(p->id));
        json_object_object_add(ev, "mensaje_id", json_object_new_int64(mark));
        json_object_object_add(ev, "leido_at", jsonx_ts(db_get(r, 0, 2)));
        if (evt_emit(d, a, EVT_MENSAJE_LEIDO, EVT_ROOM_CHAT, chat_id, ev, chat_id, p->id, e) < 0)
            goto cleanup;
        *changed = true;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    json_object *o = jsonx_own(a, json_object_new_object());
    json_object_object_add(o, "chat_id", json_object_new_int64(chat_id));
    json_object_object_add(o, "ultimo_leido_id", json_object_new_int64(mark));
    *out = o;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

/* ---- read receipts ------------------------------------------------------ */

/* Members at send time (one row per user: their latest period containing
 * the send), their read mark (the live one while still a member, the one
 * kept at leaving otherwise), the author excluded. */
static const char msg_sql_readers[] =
    "WITH msg AS (SELECT id, chat_id, autor_id, created_at FROM mensajes WHERE id = $1),"
    " per AS (SELECT DISTINCT ON (h.usuario_id) h.usuario_id, h.left_at IS NULL AS actual,"
    "   CASE WHEN h.left_at IS NULL THEN uc.ultimo_leido_id ELSE h.ultimo_leido_id END AS mark,"
    "   CASE WHEN h.left_at IS NULL THEN uc.leido_at ELSE h.leido_at END AS lat"
    "   FROM msg JOIN usuarios_chat_historial h ON h.chat_id = msg.chat_id"
    "    AND h.joined_at <= msg.created_at AND (h.left_at IS NULL OR h.left_at > msg.created_at)"
    "   LEFT JOIN usuarios_chat uc ON h.left_at IS NULL AND uc.chat_id = h.chat_id"
    "    AND uc.usuario_id = h.usuario_id"
    "   WHERE h.usuario_id IS DISTINCT FROM msg.autor_id"
    "   ORDER BY h.usuario_id, h.joined_at DESC)"
    " SELECT COALESCE(per.mark >= msg.id, false), per.actual, per.lat, " USR_COLS
    " FROM per CROSS JOIN msg JOIN usuarios u ON u.id = per.usuario_id"
    " ORDER BY per.lat NULLS LAST, lower(u.nombre), u.id";
static const struct db_stmt msg_st_readers = { "msg_readers", msg_sql_readers };

int msg_readers(struct db *d, struct arena *a, const struct principal *p, long long mensaje_id,
                json_object **out, struct err *e)
{
    struct msg_access acc;
    if (msg_access_get(d, a, p, mensaje_id, PERM_DELETE_MESSAGE, &acc, e) < 0)
        return -1;
    if (acc.autor_id != p->id && !acc.admin && !usr_can(p, PERM_DELETE_MESSAGE))
        return err_set(e, ERR_FORBIDDEN, "Solo el autor o un administrador del grupo");
    const char *params[1] = { db_ll(a, mensaje_id) };
    PGresult *r = db_run(d, a, &msg_st_readers, 1, params, e);
    if (!r)
        return -1;
    json_object *o = jsonx_own(a, json_object_new_object());
    json_object *leido = json_object_new_array(), *pend = json_object_new_array();
    for (int i = 0; i < PQntuples(r); i++) {
        if (db_get_bool(r, i, 0)) {
            json_object *x = json_object_new_object();
            jsonx_add(x, "usuario", usr_json(a, r, i, 3, false));
            json_object_object_add(x, "leido_at", jsonx_ts(db_get(r, i, 2)));
            json_object_array_add(leido, x);
        } else if (db_get_bool(r, i, 1)) {
            jsonx_push(pend, usr_json(a, r, i, 3, false));
        }
    }
    json_object_object_add(o, "leido_por", leido);
    json_object_object_add(o, "pendientes", pend);
    *out = o;
    return 0;
}

/* ---- history ------------------------------------------------------------ */

/* The page and its Mensaje columns in one statement: limite + 1 rows ($4)
 * before ($3) or after the id, newest first or oldest first.
 *
 * The ids are collected first (an ARRAY sub-select: an init plan run once)
 * and the rows joined to them by primary key. Written as a plain join with
 * LIMIT $4, the generic plan PostgreSQL caches for a prepared statement
 * knows neither the limit nor the range and merge-joins the whole table
 * (500 ms, JIT-compiled), so it planned every execution instead (1.4 ms of
 * planning for 0.7 ms of work). With a constant limit (the largest page, 200,
 * plus one) and the page cut from the array, the generic plan is the good
 * one and the plan cache keeps it: reading 201 ids from the index costs less
 * than a plan.
 *
 * The reactions of the whole page are read and grouped once (one index scan
 * for all its ids) and joined to the rows, instead of a sub-select run for
 * every row (MSG_REAC, as msg_load does for a few ids): about a tenth less
 * PostgreSQL time per 50-message page. Same text as MSG_REAC gives. */
#define MSG_SQL_HISTORY(CMP, DIR)                                               \
    "WITH p AS (SELECT (ARRAY(SELECT id FROM mensajes"                          \
    "   WHERE chat_id = $1::bigint AND id " CMP " $3::bigint"                   \
    "   ORDER BY id " DIR " LIMIT 201))[1:$4::bigint] AS ids)"                  \
    " SELECT " MSG_COLS("CASE WHEN m.deleted_at IS NULL THEN rx.reac END")      \
    " FROM unnest((SELECT ids FROM p)) WITH ORDINALITY q(id, ord)"              \
    " JOIN mensajes m ON m.id = q.id" MSG_FROM                                  \
    " LEFT JOIN (SELECT x.mensaje_id, json_agg(json_build_object('emoji', x.emoji," \
    "   'total', x.n, 'usuarios', x.ids, 'mia', x.mia) ORDER BY x.f, x.emoji)::text AS reac" \
    "  FROM (SELECT rm.mensaje_id, rm.emoji, count(*) AS n,"                    \
    "   array_agg(rm.usuario_id ORDER BY rm.created_at, rm.usuario_id) AS ids," \
    "   bool_or(rm.usuario_id = $2::bigint) AS mia, min(rm.created_at) AS f"    \
    "   FROM reacciones_mensajes rm"                                            \
    "   WHERE rm.mensaje_id = ANY((SELECT ids FROM p)::bigint[])"               \
    "   GROUP BY rm.mensaje_id, rm.emoji) x GROUP BY x.mensaje_id) rx"          \
    "  ON rx.mensaje_id = m.id"                                                 \
    " ORDER BY q.ord"

static const struct db_stmt msg_st_before = { "msg_before", MSG_SQL_HISTORY("<", "DESC") };
static const struct db_stmt msg_st_after = { "msg_after", MSG_SQL_HISTORY(">", "ASC") };

/* The live polls of a page get their Encuesta as viewer sees it: *out is
 * NULL when the page has none, else one pointer per row (NULL where the row
 * is no live poll). enc_load: at most two more queries, whatever n is. */
static int msg_page_polls(struct db *d, struct arena *a, long long viewer, const PGresult *r,
                          int n, json_object ***out, struct err *e)
{
    *out = NULL;
    long long *ids = NULL;
    int *rows = NULL, k = 0;
    for (int i = 0; i < n; i++) {
        const char *tipo = db_get(r, i, MC_TIPO);
        if (!tipo || strcmp(tipo, "encuesta") != 0 || db_get_bool(r, i, MC_ELIMINADO))
            continue;
        if (!ids) {
            ids = arena_alloc(a, sizeof(long long) * (size_t)n);
            rows = arena_alloc(a, sizeof(int) * (size_t)n);
        }
        ids[k] = db_get_ll(r, i, MC_ID);
        rows[k++] = i;
    }
    if (k == 0)
        return 0;
    json_object **polls = arena_alloc(a, sizeof(json_object *) * (size_t)k);
    if (enc_load(d, a, viewer, ids, (size_t)k, polls, e) < 0)
        return -1;
    json_object **by_row = arena_alloc(a, sizeof(json_object *) * (size_t)n);
    for (int j = 0; j < k; j++)
        by_row[rows[j]] = polls[j];
    *out = by_row;
    return 0;
}

/* json-c prints an array made by msg_load_printed through this: the text
 * printed already (its userdata). */
static int msg_printed_serializer(json_object *o, struct printbuf *pb, int level, int flags)
{
    (void)level;
    (void)flags;
    const char *text = json_object_get_userdata(o);
    return printbuf_memappend(pb, text, (int)strlen(text)) < 0 ? -1 : 0;
}

int msg_load_printed(struct db *d, struct arena *a, long long viewer, const long long *ids,
                     size_t n, json_object **out_array, struct err *e)
{
    PGresult *r = NULL;
    int k = 0;
    if (n > 0) {
        const char *params[2] = { db_ll_array(a, ids, n), db_ll(a, viewer) };
        r = db_run(d, a, &msg_st_load, 2, params, e);
        if (!r)
            return -1;
        k = PQntuples(r);
    }
    json_object **polls = NULL;
    if (k > 0 && msg_page_polls(d, a, viewer, r, k, &polls, e) < 0)
        return -1;
    struct jsonw w;
    jsonw_init(&w, a, 1024 + (size_t)k * 512);
    jsonw_arr_begin(&w);
    for (int i = 0; i < k; i++)
        msg_row_write(&w, r, i, polls ? polls[i] : NULL);
    jsonw_arr_end(&w);
    /* registered after the buffer, so put before it is freed at reset */
    json_object *o = jsonx_own(a, json_object_new_array());
    json_object_set_serializer(o, msg_printed_serializer, w.buf, NULL);
    *out_array = o;
    return 0;
}

int msg_history_write(struct db *d, struct arena *a, const struct principal *p,
                      long long chat_id, long long antes, long long despues, int limite,
                      struct jsonw *w, bool *hay_mas, struct err *e)
{
    /* the access check goes with the page, in one round trip; the page is
     * used only once the check passed */
    if (limite < 1 || limite > MSG_PAGE_MAX)
        return err_set(e, ERR_INVALID, "limite debe ser un entero entre 1 y 200");
    struct chat_access_ahead ah;
    if (chat_access_defer(d, a, p, chat_id, &ah, e) < 0)
        return -1;
    bool forward = despues > 0;
    const char *params[4] = {
        db_ll(a, chat_id), db_ll(a, p->id),
        forward ? db_ll(a, despues) : antes > 0 ? db_ll(a, antes) : "9223372036854775807",
        db_ll(a, limite + 1),
    };
    PGresult *r = db_run(d, a, forward ? &msg_st_after : &msg_st_before, 4, params, e);
    if (!r)
        return -1;
    struct chat_access acc;
    if (chat_access_done(&ah, p, PERM_DELETE_CHAT, &acc, e) < 0)
        return -1;
    int n = PQntuples(r);
    *hay_mas = n > limite;
    if (n > limite)
        n = limite;
    json_object **polls;
    if (msg_page_polls(d, a, p->id, r, n, &polls, e) < 0)
        return -1;
    jsonw_arr_begin(w);
    for (int i = 0; i < n; i++)
        msg_row_write(w, r, i, polls ? polls[i] : NULL);
    jsonw_arr_end(w);
    return 0;
}
