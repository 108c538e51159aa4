/* chat.c: chats and members: the Chat and Miembro objects, listing, 1:1
 * get-or-create, groups, membership changes and mute. */
#include "domain/chat.h"
#include "domain/media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "domain/evt.h"
#include "core/jsonx.h"
#include "domain/msg.h"

/* The columns chat_row_json reads for chat c, membership uc of viewer V,
 * last message lm and (directo) the other user u. no_leidos counts others'
 * live, non-sistema messages after the read mark, capped at 9999 (as the
 * push badge) so a long-unread busy chat costs a bounded scan. */
#define CHAT_COLS(V)                                                                  \
    "c.id, c.tipo, c.nombre, c.descripcion, c.imagen_media_id, c.restringido,"        \
    " c.creado_por, c.created_at, c.updated_at, uc.rol, COALESCE(uc.silenciado, false)," \
    " CASE WHEN uc.usuario_id IS NULL THEN 0 ELSE"                                    \
    "  (SELECT count(*) FROM (SELECT 1 FROM mensajes nm WHERE nm.chat_id = c.id"      \
    "   AND nm.id > uc.ultimo_leido_id AND nm.autor_id IS DISTINCT FROM " V           \
    "   AND nm.deleted_at IS NULL AND nm.tipo <> 'sistema' LIMIT 9999) nl) END,"      \
    " lm.id, " USR_COLS ", ctx.tipo, ctx.clave, ctx.titulo, ctx.url"

#define CHAT_JOINS(V)                                                                 \
    " LEFT JOIN LATERAL (SELECT x.id, x.created_at FROM mensajes x WHERE x.chat_id = c.id" \
    "  ORDER BY x.id DESC LIMIT 1) lm ON true"                                        \
    " LEFT JOIN usuarios u ON c.tipo = 'directo' AND u.id ="                          \
    "  CASE WHEN c.directo_a = " V " THEN c.directo_b ELSE c.directo_a END"            \
    " LEFT JOIN chat_contextos ctx ON ctx.chat_id = c.id"

enum {
    CC_ID, CC_TIPO, CC_NOMBRE, CC_DESCRIPCION, CC_IMAGEN, CC_RESTRINGIDO, CC_CREADO_POR,
    CC_CREATED, CC_UPDATED, CC_ROL, CC_SILENCIADO, CC_NO_LEIDOS, CC_ULTIMO, CC_USR,
    CC_CTX_TIPO = CC_USR + USR_NCOLS, CC_CTX_CLAVE, CC_CTX_TITULO, CC_CTX_URL,
    CC_AFTER_USR
};

/* The last activity is derived, not stored per message: the later of the
 * chat's ultima_actividad (creation) and its last message. */
static const char chat_sql_list[] =
    "SELECT " CHAT_COLS("$1::bigint")
    " FROM usuarios_chat uc JOIN chats c ON c.id = uc.chat_id AND c.deleted_at IS NULL"
    CHAT_JOINS("$1::bigint")
    " WHERE uc.usuario_id = $1::bigint"
    " ORDER BY greatest(c.ultima_actividad, lm.created_at) DESC, c.id DESC";

static const char chat_sql_pairs[] =
    "SELECT " CHAT_COLS("q.viewer") ", q.ord"
    " FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY q(chat_id, viewer, ord)"
    " JOIN chats c ON c.id = q.chat_id AND c.deleted_at IS NULL"
    " LEFT JOIN usuarios_chat uc ON uc.chat_id = c.id AND uc.usuario_id = q.viewer"
    CHAT_JOINS("q.viewer")
    " ORDER BY q.ord";

/* The Chat of row i, without ultimo_mensaje (set by chat_attach_last). */
static json_object *chat_row_json(struct arena *a, const PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    bool directo = strcmp(db_get(r, i, CC_TIPO), "directo") == 0;
    json_object_object_add(o, "id", jsonx_id(db_get(r, i, CC_ID)));
    json_object_object_add(o, "tipo", jsonx_str(db_get(r, i, CC_TIPO)));
    json_object *otro = NULL;
    if (directo && db_get(r, i, CC_USR))
        otro = usr_json(a, r, i, CC_USR, false);
    /* a 1:1 chat is shown under the other person's name and picture */
    json_object *nombre = NULL, *imagen = NULL, *tmp;
    if (directo) {
        if (otro && json_object_object_get_ex(otro, "nombre", &tmp))
            nombre = jsonx_str(json_object_get_string(tmp));
        if (otro && json_object_object_get_ex(otro, "imagen_url", &tmp))
            imagen = jsonx_str(json_object_get_string(tmp));
    } else {
        nombre = jsonx_str(db_get(r, i, CC_NOMBRE));
        const char *img = db_get(r, i, CC_IMAGEN);
        if (img) {
            char url[64];
            snprintf(url, sizeof(url), "/chat/api/v1/media/%s", img);
            imagen = json_object_new_string(url);
        }
    }
    json_object_object_add(o, "nombre", nombre);
    json_object_object_add(o, "descripcion", jsonx_str(db_get(r, i, CC_DESCRIPCION)));
    json_object_object_add(o, "imagen_url", imagen);
    json_object_object_add(o, "restringido", json_object_new_boolean(db_get_bool(r, i, CC_RESTRINGIDO)));
    json_object_object_add(o, "creado_por", jsonx_id(db_get(r, i, CC_CREADO_POR)));
    json_object_object_add(o, "created_at", jsonx_ts(db_get(r, i, CC_CREATED)));
    json_object_object_add(o, "updated_at", jsonx_ts(db_get(r, i, CC_UPDATED)));
    json_object_object_add(o, "mi_rol", jsonx_str(db_get(r, i, CC_ROL)));
    json_object_object_add(o, "silenciado", json_object_new_boolean(db_get_bool(r, i, CC_SILENCIADO)));
    json_object_object_add(o, "no_leidos", json_object_new_int64(db_get_ll(r, i, CC_NO_LEIDOS)));
    json_object_object_add(o, "ultimo_mensaje", NULL);
    jsonx_add(o, "otro_usuario", otro);
    json_object *ctx = NULL;
    if (db_get(r, i, CC_CTX_TIPO)) {
        ctx = json_object_new_object();
        json_object_object_add(ctx, "tipo", jsonx_str(db_get(r, i, CC_CTX_TIPO)));
        json_object_object_add(ctx, "clave", jsonx_str(db_get(r, i, CC_CTX_CLAVE)));
        json_object_object_add(ctx, "titulo", jsonx_str(db_get(r, i, CC_CTX_TITULO)));
        json_object_object_add(ctx, "url", jsonx_str(db_get(r, i, CC_CTX_URL)));
    }
    json_object_object_add(o, "contexto", ctx);
    return o;
}

/* Loads the last messages named in column CC_ULTIMO of r (one msg_load)
 * and attaches each to objs[i]. */
static int chat_attach_last(struct db *d, struct arena *a, const PGresult *r, json_object **objs,
                            long long msg_viewer, struct err *e)
{
    int n = PQntuples(r);
    long long *ids = arena_alloc(a, sizeof(long long) * (size_t)(n ? n : 1));
    size_t k = 0;
    for (int i = 0; i < n; i++)
        if (db_get(r, i, CC_ULTIMO))
            ids[k++] = db_get_ll(r, i, CC_ULTIMO);
    if (k == 0)
        return 0;
    json_object *arr;
    if (msg_load(d, a, msg_viewer, ids, k, &arr, e) < 0)
        return -1;
    size_t j = 0;
    for (int i = 0; i < n; i++) {
        if (!objs[i] || !db_get(r, i, CC_ULTIMO))
            continue;
        long long want = db_get_ll(r, i, CC_ULTIMO);
        /* msg_load keeps the order given; skip any that vanished */
        for (; j < json_object_array_length(arr); j++) {
            json_object *m = json_object_array_get_idx(arr, j), *idv;
            if (json_object_object_get_ex(m, "id", &idv) && json_object_get_int64(idv) == want) {
                jsonx_add(objs[i], "ultimo_mensaje", m);
                j++;
                break;
            }
        }
    }
    return 0;
}

int chat_load(struct db *d, struct arena *a, const long long *chat_ids, const long long *viewers,
              size_t n, long long msg_viewer, json_object **out, struct err *e)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (n == 0)
        return 0;
    const char *params[2] = { db_ll_array(a, chat_ids, n), db_ll_array(a, viewers, n) };
    PGresult *r = db_exec(d, a, chat_sql_pairs, 2, params, e);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    json_object **objs = arena_alloc(a, sizeof(json_object *) * (size_t)(rows ? rows : 1));
    for (int i = 0; i < rows; i++) {
        objs[i] = jsonx_own(a, chat_row_json(a, r, i));
        long long ord = db_get_ll(r, i, CC_AFTER_USR);
        if (ord >= 1 && (size_t)ord <= n)
            out[ord - 1] = objs[i];
    }
    return chat_attach_last(d, a, r, objs, msg_viewer, e);
}

static int chat_load_one(struct db *d, struct arena *a, long long chat_id, long long viewer,
                         json_object **out, struct err *e)
{
    if (chat_load(d, a, &chat_id, &viewer, 1, viewer, out, e) < 0)
        return -1;
    if (!*out)
        return err_set(e, ERR_NOT_FOUND, "Chat no encontrado");
    return 0;
}

int chat_list(struct db *d, struct arena *a, const struct principal *p, json_object **out_array,
              struct err *e)
{
    const char *params[1] = { db_ll(a, p->id) };
    PGresult *r = db_exec(d, a, chat_sql_list, 1, params, e);
    if (!r)
        return -1;
    int n = PQntuples(r);
    json_object *arr = jsonx_own(a, json_object_new_array());
    json_object **objs = arena_alloc(a, sizeof(json_object *) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        objs[i] = chat_row_json(a, r, i);
        json_object_array_add(arr, objs[i]);
    }
    if (chat_attach_last(d, a, r, objs, p->id, e) < 0)
        return -1;
    *out_array = arr;
    return 0;
}

int chat_get(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
             json_object **out, struct err *e)
{
    struct chat_access acc;
    if (chat_access_get(d, a, p, chat_id, PERM_DELETE_CHAT, false, &acc, e) < 0)
        return -1;
    return chat_load_one(d, a, chat_id, p->id, out, e);
}

/* ---- events ------------------------------------------------------------- */

/* chat:nuevo to each user's room with the Chat as that user sees it. */
static int chat_event_new(struct db *d, struct arena *a, long long chat_id, const long long *users,
                          size_t n, long long actor, struct err *e)
{
    long long *cids = arena_alloc(a, sizeof(long long) * (n ? n : 1));
    json_object **objs = arena_alloc(a, sizeof(json_object *) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        cids[i] = chat_id;
    if (chat_load(d, a, cids, users, n, 0, objs, e) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!objs[i])
            continue;
        if (evt_emit(d, a, EVT_CHAT_NUEVO, EVT_ROOM_USER, users[i], objs[i], chat_id, actor,
                     e) < 0)
            return -1;
    }
    return 0;
}

/* {chat_id} to the chat's room, or to user:<room_id>'s (EVT_ROOM_USER). */
static int chat_event_gone(struct db *d, struct arena *a, long long chat_id, enum evt_room room,
                           long long room_id, long long actor, struct err *e)
{
    json_object *o = jsonx_new_object(a);
    json_object_object_add(o, "chat_id", json_object_new_int64(chat_id));
    return evt_emit(d, a, EVT_CHAT_ELIMINADO, room, room_id, o, chat_id, actor, e) < 0 ? -1 : 0;
}

static const char chat_sql_members[] =
    "SELECT uc.rol, uc.joined_at, uc.ultimo_leido_id, " USR_COLS
    " FROM usuarios_chat uc JOIN usuarios u ON u.id = uc.usuario_id"
    " WHERE uc.chat_id = $1 AND ($2::bigint IS NULL OR uc.usuario_id = $2::bigint)"
    " ORDER BY uc.joined_at, uc.usuario_id";

static json_object *chat_member_json(struct arena *a, const PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    jsonx_add(o, "usuario", usr_json(a, r, i, 3, false));
    json_object_object_add(o, "rol", jsonx_str(db_get(r, i, 0)));
    json_object_object_add(o, "joined_at", jsonx_ts(db_get(r, i, 1)));
    json_object_object_add(o, "ultimo_leido_id", json_object_new_int64(db_get_ll(r, i, 2)));
    return o;
}

/* The Miembro array of chat_id (only usuario_id when not 0). */
static int chat_members_load(struct db *d, struct arena *a, long long chat_id, long long usuario_id,
                             json_object **out_array, struct err *e)
{
    const char *params[2] = { db_ll(a, chat_id), usuario_id ? db_ll(a, usuario_id) : NULL };
    PGresult *r = db_exec(d, a, chat_sql_members, 2, params, e);
    if (!r)
        return -1;
    json_object *arr = jsonx_own(a, json_object_new_array());
    for (int i = 0; i < PQntuples(r); i++)
        json_object_array_add(arr, chat_member_json(a, r, i));
    *out_array = arr;
    return 0;
}

/* chat:miembros {chat_id, miembros} to the chat's room. */
static int chat_event_members(struct db *d, struct arena *a, long long chat_id, long long actor,
                              struct err *e)
{
    json_object *arr;
    if (chat_members_load(d, a, chat_id, 0, &arr, e) < 0)
        return -1;
    json_object *o = jsonx_own(a, json_object_new_object());
    json_object_object_add(o, "chat_id", json_object_new_int64(chat_id));
    jsonx_add(o, "miembros", arr);
    return evt_emit(d, a, EVT_CHAT_MIEMBROS, EVT_ROOM_CHAT, chat_id, o, chat_id, actor, e) < 0 ? -1 : 0;
}

static const char chat_sql_names[] =
    "SELECT string_agg(" USR_SHOWN_NOMBRE("u") ", ', '"
    " ORDER BY lower(u.nombre), u.id) FROM usuarios u WHERE u.id = ANY($1::bigint[])";

/* "Ana, Luis" for ids (display names, masked when deactivated). */
static const char *chat_names(struct db *d, struct arena *a, const long long *ids, size_t n,
                              struct err *e)
{
    const char *params[1] = { db_ll_array(a, ids, n) };
    PGresult *r = db_exec(d, a, chat_sql_names, 1, params, e);
    if (!r)
        return NULL;
    const char *s = db_get(r, 0, 0);
    return s ? s : "";
}

/* A JSON array of ids (new object). */
static json_object *chat_ids_json(const long long *ids, size_t n)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, json_object_new_int64(ids[i]));
    return arr;
}

/* A sistema message with datos {accion, actor_id, usuario_ids}. */
static int chat_system(struct db *d, struct arena *a, long long chat_id, long long actor,
                       const char *accion, const long long *ids, size_t n, const char *texto,
                       struct err *e)
{
    json_object *datos = jsonx_own(a, json_object_new_object());
    json_object_object_add(datos, "accion", json_object_new_string(accion));
    json_object_object_add(datos, "actor_id", actor ? json_object_new_int64(actor) : NULL);
    json_object_object_add(datos, "usuario_ids", chat_ids_json(ids, n));
    return msg_insert_system(d, a, chat_id, actor, texto, datos, e) < 0 ? -1 : 0;
}

/* One audit row about chat_id with an object {key: value...} built by the
 * caller as despues (and antes). */
static int chat_audit(struct db *d, struct arena *a, const struct principal *p,
                      const char *accion, long long chat_id, json_object *antes,
                      json_object *despues, struct err *e)
{
    struct audit_obj obj = { "chat", chat_id, chat_id };
    return audit_add(d, a, p, accion, &obj, antes, despues, e);
}

/* ---- 1:1 ---------------------------------------------------------------- */

static const char chat_sql_other[] =
    "SELECT id FROM usuarios WHERE activo AND"
    " CASE WHEN $1::bigint IS NOT NULL THEN id = $1::bigint ELSE id_erp = $2 END";

static const char chat_sql_directo_find[] =
    "SELECT id FROM chats WHERE directo_a = least($1::bigint, $2::bigint)"
    " AND directo_b = greatest($1::bigint, $2::bigint) AND deleted_at IS NULL";

static const char chat_sql_directo_ins[] =
    "INSERT INTO chats (tipo, creado_por, directo_a, directo_b)"
    " VALUES ('directo', $1::bigint, least($1::bigint, $2::bigint), greatest($1::bigint, $2::bigint))"
    " ON CONFLICT (directo_a, directo_b) DO NOTHING RETURNING id";

static const char chat_sql_directo_members[] =
    "INSERT INTO usuarios_chat (chat_id, usuario_id, rol)"
    " VALUES ($1, $2, 'miembro'), ($1, $3, 'miembro')";

static int chat_directo_find(struct db *d, struct arena *a, long long me, long long other,
                             long long *out, struct err *e)
{
    const char *params[2] = { db_ll(a, me), db_ll(a, other) };
    PGresult *r = db_exec(d, a, chat_sql_directo_find, 2, params, e);
    if (!r)
        return -1;
    *out = PQntuples(r) ? db_get_ll(r, 0, 0) : 0;
    return 0;
}

int chat_directo(struct db *d, struct arena *a, const struct principal *p, long long other_id,
                 const char *other_erp, bool *created, json_object **out, struct err *e)
{
    int ret = -1;
    *created = false;
    const char *params[3] = { other_id ? db_ll(a, other_id) : NULL, other_erp, NULL };
    PGresult *r = db_exec(d, a, chat_sql_other, 2, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(e, ERR_NOT_FOUND, "Usuario no encontrado");
    long long other = db_get_ll(r, 0, 0), chat_id;
    if (other == p->id)
        return err_set(e, ERR_INVALID, "No se puede abrir un chat directo con uno mismo");
    /* the common case, an existing chat, writes nothing */
    if (chat_directo_find(d, a, p->id, other, &chat_id, e) < 0)
        return -1;
    if (chat_id)
        return chat_load_one(d, a, chat_id, p->id, out, e);
    if (db_begin(d, e) < 0)
        return -1;
    params[0] = db_ll(a, p->id);
    params[1] = db_ll(a, other);
    r = db_exec(d, a, chat_sql_directo_ins, 2, params, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 0) {
        /* another call made it first: the unique pair made us wait for its
         * commit, and this new statement sees its row */
        db_rollback(d);
        if (chat_directo_find(d, a, p->id, other, &chat_id, e) < 0)
            return -1;
        if (!chat_id)
            return err_set(e, ERR_CONFLICT, "Inténtelo de nuevo");
        return chat_load_one(d, a, chat_id, p->id, out, e);
    }
    chat_id = db_get_ll(r, 0, 0);
    params[0] = db_ll(a, chat_id);
    params[1] = db_ll(a, p->id);
    params[2] = db_ll(a, other);
    if (!db_exec(d, a, chat_sql_directo_members, 3, params, e))
        goto cleanup;
    long long users[2] = { p->id, other };
    if (chat_event_new(d, a, chat_id, users, 2, p->id, e) < 0 || db_commit(d, e) < 0)
        goto cleanup;
    if (chat_load_one(d, a, chat_id, p->id, out, e) < 0)
        return -1;
    *created = true;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

/* ---- groups ------------------------------------------------------------- */

static int chat_check_text(const char *s, const char *field, long min, long max, struct err *e)
{
    long n = jsonx_utf8_chars(s);
    if (n < 0)
        return err_set(e, ERR_INVALID, "%s contiene caracteres no permitidos", field);
    if (n < min || n > max)
        return err_set(e, ERR_INVALID, "%s debe tener de %ld a %ld caracteres", field, min, max);
    if (min > 0 && strspn(s, " \t\r\n") == strlen(s))
        return err_set(e, ERR_INVALID, "%s no puede estar vacío", field);
    return 0;
}

static const char chat_sql_active_count[] =
    "SELECT count(*) FROM usuarios WHERE id = ANY($1::bigint[]) AND activo";

/* Sorts and dedupes ids (in place), dropping skip; checks they are all
 * active users (ERR_INVALID otherwise). Returns the new count or -1. */
static long chat_users_check(struct db *d, struct arena *a, long long *ids, size_t n,
                             long long skip, struct err *e)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == skip)
            continue;
        bool dup = false;
        for (size_t j = 0; j < k; j++)
            if (ids[j] == ids[i])
                dup = true;
        if (!dup)
            ids[k++] = ids[i];
    }
    if (k == 0)
        return 0;
    const char *params[1] = { db_ll_array(a, ids, k) };
    PGresult *r = db_exec(d, a, chat_sql_active_count, 1, params, e);
    if (!r)
        return -1;
    if ((size_t)db_get_ll(r, 0, 0) != k)
        return err_set(e, ERR_INVALID, "Algún usuario de la lista no existe o está desactivado");
    return (long)k;
}

static const char chat_sql_group_ins[] =
    "INSERT INTO chats (tipo, nombre, descripcion, restringido, creado_por)"
    " VALUES ('grupo', $1, $2, $3::boolean, $4) RETURNING id";

static const char chat_sql_members_ins[] =
    "INSERT INTO usuarios_chat (chat_id, usuario_id, rol)"
    " SELECT $1, x, CASE WHEN x = $3::bigint THEN 'admin' ELSE 'miembro' END"
    " FROM unnest($2::bigint[]) x ON CONFLICT DO NOTHING RETURNING usuario_id";

/* How members join a chat, written once for a new group, members added by
 * an admin, and a record's chat created or brought in step by the ERP.
 * Inside the caller's transaction, makes users[0..n) members of chat_id
 * (admin_id, when among them, as admin; present members are skipped) and
 * announces the new ones: chat:nuevo to each first (rtd joins their sockets
 * to the chat's room before the rest reaches it), then one sistema message
 * by actor (0: nobody) with datos {accion, actor_id, usuario_ids: the new
 * members but the actor}, reading texto, or when texto is NULL, prefijo
 * followed by their names ("Ana, Luis"). Nobody new: nothing announced.
 * The new ids go to *nuevos (in the arena) when nuevos is not NULL.
 * Returns how many joined, or -1 with e. chat:miembros is the caller's. */
static long chat_members_join(struct db *d, struct arena *a, long long chat_id, long long actor,
                              long long admin_id, const long long *users, size_t n,
                              const char *accion, const char *texto, const char *prefijo,
                              long long **nuevos, struct err *e)
{
    const char *params[3] = { db_ll(a, chat_id), db_ll_array(a, users, n), db_ll(a, admin_id) };
    PGresult *r = db_exec(d, a, chat_sql_members_ins, 3, params, e);
    if (!r)
        return -1;
    size_t m = (size_t)PQntuples(r), k = 0;
    long long *nu = arena_alloc(a, sizeof(long long) * (m + 1));
    long long *shown = arena_alloc(a, sizeof(long long) * (m + 1));
    for (size_t i = 0; i < m; i++) {
        nu[i] = db_get_ll(r, (int)i, 0);
        if (nu[i] != actor)
            shown[k++] = nu[i];
    }
    if (nuevos)
        *nuevos = nu;
    if (m == 0)
        return 0;
    if (chat_event_new(d, a, chat_id, nu, m, actor, e) < 0)
        return -1;
    if (!texto) {
        const char *names = chat_names(d, a, shown, k, e);
        if (!names)
            return -1;
        texto = arena_printf(a, "%s%s", prefijo, names);
    }
    if (chat_system(d, a, chat_id, actor, accion, shown, k, texto, e) < 0)
        return -1;
    return (long)m;
}

int chat_create_group(struct db *d, struct arena *a, const struct principal *p,
                      const struct chat_group_in *in, json_object **out, struct err *e)
{
    int ret = -1;
    if (!in->nombre)
        return err_set(e, ERR_INVALID, "nombre es obligatorio");
    if (chat_check_text(in->nombre, "nombre", 1, 200, e) < 0 ||
        (in->descripcion && chat_check_text(in->descripcion, "descripcion", 0, 2000, e) < 0))
        return -1;
    if (in->nmiembros > 1000)
        return err_set(e, ERR_INVALID, "miembros admite hasta 1000 usuarios");
    long long *ids = arena_alloc(a, sizeof(long long) * (in->nmiembros + 1));
    memcpy(ids, in->miembros, sizeof(long long) * in->nmiembros);
    long k = chat_users_check(d, a, ids, in->nmiembros, p->id, e);
    if (k < 0)
        return -1;
    /* the creator first: admin */
    memmove(ids + 1, ids, sizeof(long long) * (size_t)k);
    ids[0] = p->id;
    size_t n = (size_t)k + 1;
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[4] = { in->nombre, in->descripcion, in->restringido ? "true" : "false",
                              db_ll(a, p->id) };
    PGresult *r = db_exec(d, a, chat_sql_group_ins, 4, params, e);
    if (!r)
        goto cleanup;
    long long chat_id = db_get_ll(r, 0, 0);
    const char *texto = arena_printf(a, "%s creó el grupo «%s»", p->nombre, in->nombre);
    json_object *desp = jsonx_own(a, json_object_new_object());
    json_object_object_add(desp, "nombre", json_object_new_string(in->nombre));
    json_object_object_add(desp, "descripcion", jsonx_str(in->descripcion));
    json_object_object_add(desp, "restringido", json_object_new_boolean(in->restringido));
    json_object_object_add(desp, "miembros", chat_ids_json(ids, n));
    if (chat_members_join(d, a, chat_id, p->id, p->id, ids, n, "creado", texto, NULL, NULL,
                          e) < 0 ||
        chat_audit(d, a, p, "chat.creado", chat_id, NULL, desp, e) < 0 ||
        db_commit(d, e) < 0)
        goto cleanup;
    if (chat_load_one(d, a, chat_id, p->id, out, e) < 0)
        return -1;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

/* Serialises membership changes of one chat (so "the last admin" stays
 * true until the commit) without blocking senders: FOR NO KEY UPDATE does
 * not conflict with the FK's FOR KEY SHARE taken by message inserts. */
static const char chat_sql_lock[] =
    "SELECT 1 FROM chats WHERE id = $1 AND deleted_at IS NULL FOR NO KEY UPDATE";

/* Opens the transaction, locks the chat and loads p's access. */
static int chat_begin_locked(struct db *d, struct arena *a, const struct principal *p,
                             long long chat_id, int override_perm, struct chat_access *acc,
                             struct err *e)
{
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[1] = { db_ll(a, chat_id) };
    if (!db_exec(d, a, chat_sql_lock, 1, params, e) ||
        chat_access_get(d, a, p, chat_id, override_perm, false, acc, e) < 0) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

static const char chat_sql_image_lock[] =
    "SELECT imagen_media_id FROM chats WHERE id = $1 FOR NO KEY UPDATE";

/* A new chat image is claimed (the caller's unused upload, an image) and
 * the one it replaces discarded, in the update's transaction; *old gets
 * the replaced media's id (0: none) so its file goes after the commit. */
static int chat_image_swap(struct db *d, struct arena *a, const struct principal *p,
                           long long chat_id, long long new_id, long long *old, struct err *e)
{
    *old = 0;
    const char *params[1] = { db_ll(a, chat_id) };
    PGresult *r = db_exec(d, a, chat_sql_image_lock, 1, params, e);
    if (!r)
        return -1;
    long long cur = PQntuples(r) ? db_get_ll(r, 0, 0) : 0;
    if (cur == new_id)
        return 0;
    if (new_id) {
        const char *tipo = NULL;
        if (media_claim(d, a, new_id, p->id, &tipo, e) < 0)
            return -1;
        if (strcmp(tipo, "imagen") != 0)
            return err_set(e, ERR_INVALID, "imagen_media_id debe ser una imagen");
    }
    if (cur && media_discard(d, a, cur, e) < 0)
        return -1;
    *old = cur;
    return 0;
}

/* Returns the settings before and after, as JSON text, for the audit. */
static const char chat_sql_update[] =
    "WITH old AS (SELECT id, nombre, descripcion, imagen_media_id, restringido FROM chats"
    "  WHERE id = $1 AND deleted_at IS NULL FOR NO KEY UPDATE)"
    " UPDATE chats c SET"
    "  nombre = CASE WHEN $2::boolean THEN $3 ELSE c.nombre END,"
    "  descripcion = CASE WHEN $4::boolean THEN $5 ELSE c.descripcion END,"
    "  imagen_media_id = CASE WHEN $6::boolean THEN $7::bigint ELSE c.imagen_media_id END,"
    "  restringido = CASE WHEN $8::boolean THEN $9::boolean ELSE c.restringido END,"
    "  updated_at = now()"
    " FROM old WHERE c.id = old.id AND ("
    "  ($2::boolean AND old.nombre IS DISTINCT FROM $3)"
    "  OR ($4::boolean AND old.descripcion IS DISTINCT FROM $5)"
    "  OR ($6::boolean AND old.imagen_media_id IS DISTINCT FROM $7::bigint)"
    "  OR ($8::boolean AND old.restringido IS DISTINCT FROM $9::boolean))"
    " RETURNING c.id,"
    "  json_build_object('nombre', old.nombre, 'descripcion', old.descripcion,"
    "   'imagen_media_id', old.imagen_media_id, 'restringido', old.restringido)::text,"
    "  json_build_object('nombre', c.nombre, 'descripcion', c.descripcion,"
    "   'imagen_media_id', c.imagen_media_id, 'restringido', c.restringido)::text";

int chat_update(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                const struct chat_patch *in, json_object **out, struct err *e)
{
    int ret = -1;
    if (in->has_nombre && !in->nombre)
        return err_set(e, ERR_INVALID, "nombre no puede ser null");
    if (in->has_nombre && chat_check_text(in->nombre, "nombre", 1, 200, e) < 0)
        return -1;
    if (in->has_descripcion && in->descripcion &&
        chat_check_text(in->descripcion, "descripcion", 0, 2000, e) < 0)
        return -1;
    struct chat_access acc;
    if (chat_access_get(d, a, p, chat_id, 0, false, &acc, e) < 0)
        return -1;
    if (acc.directo)
        return err_set(e, ERR_FORBIDDEN, "Un chat directo no se puede modificar");
    if (!acc.admin)
        return err_set(e, ERR_FORBIDDEN, "Solo los administradores del grupo");
    const char *params[9];
    long long replaced = 0;
    if (db_begin(d, e) < 0)
        return -1;
    if (in->has_imagen &&
        chat_image_swap(d, a, p, chat_id, in->imagen_media_id, &replaced, e) < 0)
        goto cleanup;
    params[0] = db_ll(a, chat_id);
    params[1] = in->has_nombre ? "true" : "false";
    params[2] = in->nombre;
    params[3] = in->has_descripcion ? "true" : "false";
    params[4] = in->descripcion;
    params[5] = in->has_imagen ? "true" : "false";
    params[6] = in->imagen_media_id ? db_ll(a, in->imagen_media_id) : NULL;
    params[7] = in->has_restringido ? "true" : "false";
    params[8] = in->restringido ? "true" : "false";
    PGresult *r = db_exec(d, a, chat_sql_update, 9, params, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 1) {
        json_object *pub;
        json_object *antes = jsonx_own(a, json_tokener_parse(db_get(r, 0, 1)));
        json_object *desp = jsonx_own(a, json_tokener_parse(db_get(r, 0, 2)));
        if (chat_audit(d, a, p, "chat.actualizado", chat_id, antes, desp, e) < 0 ||
            chat_load_one(d, a, chat_id, 0, &pub, e) < 0 ||
            evt_emit(d, a, EVT_CHAT_ACTUALIZADO, EVT_ROOM_CHAT, chat_id, pub, chat_id, p->id, e) < 0)
            goto cleanup;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    if (replaced && in->media_dir) {
        /* best effort: prune removes the file later if this fails */
        struct err ignored;
        struct media_store *st = media_store_local(a, in->media_dir, &ignored);
        if (st)
            media_purge(d, a, st, replaced, &ignored);
    }
    if (chat_load_one(d, a, chat_id, p->id, out, e) < 0)
        return -1;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

static const char chat_sql_delete[] =
    "UPDATE chats SET deleted_at = now(), eliminado_por = $2, directo_a = NULL, directo_b = NULL,"
    " updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id, tipo, nombre";

int chat_delete(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                struct err *e)
{
    int ret = -1;
    struct chat_access acc;
    if (chat_access_get(d, a, p, chat_id, PERM_DELETE_CHAT, false, &acc, e) < 0)
        return -1;
    if (!usr_can(p, PERM_DELETE_CHAT) && (acc.directo || !acc.admin))
        return err_set(e, ERR_FORBIDDEN, acc.directo ? "Un chat directo solo se elimina con el permiso 565"
                                                     : "Solo los administradores del grupo");
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[2] = { db_ll(a, chat_id), db_ll(a, p->id) };
    PGresult *r = db_exec(d, a, chat_sql_delete, 2, params, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 1) {
        json_object *antes = jsonx_new_object(a);
        json_object_object_add(antes, "tipo", jsonx_str(db_get(r, 0, 1)));
        json_object_object_add(antes, "nombre", jsonx_str(db_get(r, 0, 2)));
        json_object *desp = jsonx_new_object(a);
        json_object_object_add(desp, "eliminado", json_object_new_boolean(true));
        /* whether the group's own admin did it or the 565 permission was needed */
        json_object_object_add(desp, "como", json_object_new_string(
                                                 acc.admin && !acc.directo ? "admin" : "permiso_565"));
        if (chat_audit(d, a, p, "chat.eliminado", chat_id, antes, desp, e) < 0 ||
            chat_event_gone(d, a, chat_id, EVT_ROOM_CHAT, chat_id, p->id, e) < 0)
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

/* ---- members ------------------------------------------------------------ */

int chat_members(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                 json_object **out_array, struct err *e)
{
    struct chat_access acc;
    if (chat_access_get(d, a, p, chat_id, PERM_DELETE_CHAT, false, &acc, e) < 0)
        return -1;
    return chat_members_load(d, a, chat_id, 0, out_array, e);
}

int chat_members_add(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                     const long long *ids0, size_t n, bool *added, json_object **out_array,
                     struct err *e)
{
    int ret = -1;
    *added = false;
    if (n == 0)
        return err_set(e, ERR_INVALID, "usuario_ids no puede estar vacío");
    if (n > 500)
        return err_set(e, ERR_INVALID, "usuario_ids admite hasta 500 usuarios");
    long long *ids = arena_alloc(a, sizeof(long long) * n);
    memcpy(ids, ids0, sizeof(long long) * n);
    struct chat_access acc;
    if (chat_begin_locked(d, a, p, chat_id, 0, &acc, e) < 0)
        return -1;
    if (acc.directo || !acc.admin) {
        err_set(e, ERR_FORBIDDEN, acc.directo ? "Un chat directo no admite miembros"
                                              : "Solo los administradores del grupo");
        goto cleanup;
    }
    long k = chat_users_check(d, a, ids, n, 0, e);
    if (k < 0)
        goto cleanup;
    long long *nu;
    long m = chat_members_join(d, a, chat_id, p->id, 0, ids, (size_t)k, "agregado", NULL,
                               arena_printf(a, "%s agregó a ", p->nombre), &nu, e);
    if (m < 0)
        goto cleanup;
    if (m > 0) {
        json_object *desp = jsonx_own(a, json_object_new_object());
        json_object_object_add(desp, "usuario_ids", chat_ids_json(nu, (size_t)m));
        if (chat_audit(d, a, p, "miembros.agregados", chat_id, NULL, desp, e) < 0 ||
            chat_event_members(d, a, chat_id, p->id, e) < 0)
            goto cleanup;
        *added = true;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    if (chat_members_load(d, a, chat_id, 0, out_array, e) < 0)
        return -1;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

static const char chat_sql_member_rol[] =
    "SELECT rol, (SELECT count(*) FROM usuarios_chat WHERE chat_id = $1 AND rol = 'admin')"
    " FROM usuarios_chat WHERE chat_id = $1 AND usuario_id = $2";

static const char chat_sql_set_rol[] =
    "UPDATE usuarios_chat SET rol = $3, updated_at = now() WHERE chat_id = $1 AND usuario_id = $2";

int chat_member_role(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                     long long usuario_id, bool admin, json_object **out, struct err *e)
{
    int ret = -1;
    struct chat_access acc;
    if (chat_begin_locked(d, a, p, chat_id, 0, &acc, e) < 0)
        return -1;
    if (acc.directo || !acc.admin) {
        err_set(e, ERR_FORBIDDEN, acc.directo ? "Un chat directo no tiene roles"
                                              : "Solo los administradores del grupo");
        goto cleanup;
    }
    const char *params[3] = { db_ll(a, chat_id), db_ll(a, usuario_id), admin ? "admin" : "miembro" };
    PGresult *r = db_exec(d, a, chat_sql_member_rol, 2, params, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 0) {
        err_set(e, ERR_NOT_FOUND, "Ese usuario no es miembro del chat");
        goto cleanup;
    }
    bool was_admin = strcmp(db_get(r, 0, 0), "admin") == 0;
    if (was_admin != admin) {
        if (!admin && db_get_ll(r, 0, 1) <= 1) {
            err_set(e, ERR_CONFLICT, "El grupo debe conservar al menos un administrador");
            goto cleanup;
        }
        if (!db_exec(d, a, chat_sql_set_rol, 3, params, e))
            goto cleanup;
        const char *name = chat_names(d, a, &usuario_id, 1, e);
        if (!name)
            goto cleanup;
        const char *texto = admin ? arena_printf(a, "%s hizo administrador a %s", p->nombre, name)
                                  : arena_printf(a, "%s quitó como administrador a %s", p->nombre, name);
        json_object *antes = jsonx_own(a, json_object_new_object());
        json_object_object_add(antes, "usuario_id", json_object_new_int64(usuario_id));
        json_object_object_add(antes, "rol", json_object_new_string(was_admin ? "admin" : "miembro"));
        json_object *desp = jsonx_own(a, json_object_new_object());
        json_object_object_add(desp, "usuario_id", json_object_new_int64(usuario_id));
        json_object_object_add(desp, "rol", json_object_new_string(admin ? "admin" : "miembro"));
        if (chat_audit(d, a, p, "miembro.rol", chat_id, antes, desp, e) < 0 ||
            chat_system(d, a, chat_id, p->id, admin ? "admin" : "miembro", &usuario_id, 1, texto,
                        e) < 0 ||
            chat_event_members(d, a, chat_id, p->id, e) < 0)
            goto cleanup;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    json_object *arr;
    if (chat_members_load(d, a, chat_id, usuario_id, &arr, e) < 0)
        return -1;
    if (json_object_array_length(arr) == 0)
        return err_set(e, ERR_NOT_FOUND, "Ese usuario no es miembro del chat");
    *out = json_object_array_get_idx(arr, 0);
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

static const char chat_sql_members_del[] =
    "DELETE FROM usuarios_chat WHERE chat_id = $1 AND usuario_id = ANY($2::bigint[]) RETURNING rol";

/* When no admin is left, the longest-standing member becomes one. */
static const char chat_sql_promote[] =
    "UPDATE usuarios_chat SET rol = 'admin', updated_at = now()"
    " WHERE chat_id = $1 AND NOT EXISTS (SELECT 1 FROM usuarios_chat WHERE chat_id = $1 AND rol = 'admin')"
    "  AND usuario_id = (SELECT usuario_id FROM usuarios_chat WHERE chat_id = $1"
    "                    ORDER BY joined_at, usuario_id LIMIT 1)"
    " RETURNING usuario_id";

/* How a member leaves a chat.
 * CHAT_LEAVE_ONE: one member leaves or an admin removes them; an
 *   admin-less group gets its longest-standing member as admin, and
 *   chat:miembros goes out before chat:eliminado, so the removed user
 *   (still in the room) hears the new list too.
 * CHAT_LEAVE_SYNC: a record's chat brought in step with the ERP's list;
 *   chat:miembros is the caller's, once the joins are done too. */
enum chat_leave { CHAT_LEAVE_ONE, CHAT_LEAVE_SYNC };

/* How members leave a chat, written once for a member who leaves, one an
 * admin removes, and a record's chat brought in step by the ERP. Inside
 * the caller's transaction, removes users[0..n) from chat_id and, when
 * any was a member, announces it: one sistema message by actor (0:
 * nobody) with datos {accion, actor_id, usuario_ids: users} reading
 * texto; for CHAT_LEAVE_ONE the promotion of a new admin (with its own
 * sistema message; its id to *new_admin, else 0) and chat:miembros; then
 * chat:eliminado {chat_id} to each user's room (rtd takes their sockets
 * out of the chat's room). The first removed row's rol goes to *rol (in
 * the arena) when rol is not NULL. Returns how many were members (0:
 * nothing changed, nothing announced), or -1 with e. */
static long chat_members_leave(struct db *d, struct arena *a, long long chat_id, long long actor,
                               const long long *users, size_t n, enum chat_leave how,
                               const char *accion, const char *texto, const char **rol,
                               long long *new_admin, struct err *e)
{
    if (new_admin)
        *new_admin = 0;
    const char *params[2] = { db_ll(a, chat_id), db_ll_array(a, users, n) };
    PGresult *r = db_exec(d, a, chat_sql_members_del, 2, params, e);
    if (!r)
        return -1;
    long gone = PQntuples(r);
    if (gone == 0)
        return 0;
    if (rol)
        *rol = db_get(r, 0, 0) ? arena_strdup(a, db_get(r, 0, 0)) : NULL;
    if (chat_system(d, a, chat_id, actor, accion, users, n, texto, e) < 0)
        return -1;
    if (how == CHAT_LEAVE_ONE) {
        if (!(r = db_exec(d, a, chat_sql_promote, 1, params, e)))
            return -1;
        if (PQntuples(r) == 1) {
            long long nu = db_get_ll(r, 0, 0);
            const char *nn = chat_names(d, a, &nu, 1, e);
            if (!nn || chat_system(d, a, chat_id, 0, "admin", &nu, 1,
                                   arena_printf(a, "%s ahora es administrador", nn), e) < 0)
                return -1;
            if (new_admin)
                *new_admin = nu;
        }
        if (chat_event_members(d, a, chat_id, actor, e) < 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (chat_event_gone(d, a, chat_id, EVT_ROOM_USER, users[i], actor, e) < 0)
            return -1;
    return gone;
}

int chat_member_remove(struct db *d, struct arena *a, const struct principal *p,
                       long long chat_id, long long usuario_id, struct err *e)
{
    int ret = -1;
    bool self = usuario_id == p->id;
    struct chat_access acc;
    if (chat_begin_locked(d, a, p, chat_id, 0, &acc, e) < 0)
        return -1;
    if (acc.directo) {
        err_set(e, ERR_FORBIDDEN, "No se puede salir de un chat directo");
        goto cleanup;
    }
    if (!self && !acc.admin) {
        err_set(e, ERR_FORBIDDEN, "Solo los administradores del grupo");
        goto cleanup;
    }
    const char *name = chat_names(d, a, &usuario_id, 1, e);
    if (!name)
        goto cleanup;
    const char *texto = self ? arena_printf(a, "%s salió del grupo", name)
                             : arena_printf(a, "%s eliminó a %s del grupo", p->nombre, name);
    const char *rol = NULL;
    long long nuevo_admin = 0;
    long gone = chat_members_leave(d, a, chat_id, p->id, &usuario_id, 1, CHAT_LEAVE_ONE,
                                   self ? "salio" : "eliminado", texto, &rol, &nuevo_admin, e);
    if (gone < 0)
        goto cleanup;
    if (gone == 0) {
        err_set(e, ERR_NOT_FOUND, "Ese usuario no es miembro del chat");
        goto cleanup;
    }
    json_object *antes = jsonx_own(a, json_object_new_object());
    json_object_object_add(antes, "usuario_id", json_object_new_int64(usuario_id));
    json_object_object_add(antes, "rol", jsonx_str(rol));
    json_object *desp = jsonx_own(a, json_object_new_object());
    json_object_object_add(desp, "nuevo_admin_id",
                           nuevo_admin ? json_object_new_int64(nuevo_admin) : NULL);
    if (chat_audit(d, a, p, self ? "miembro.salio" : "miembro.eliminado", chat_id, antes, desp,
                   e) < 0 ||
        db_commit(d, e) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

static const char chat_sql_mute[] =
    "UPDATE usuarios_chat SET silenciado = $3::boolean, updated_at = now()"
    " WHERE chat_id = $1 AND usuario_id = $2 AND silenciado IS DISTINCT FROM $3::boolean"
    " RETURNING 1";

int chat_mute(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
              bool silenciado, json_object **out, struct err *e)
{
    int ret = -1;
    struct chat_access acc;
    if (chat_access_get(d, a, p, chat_id, 0, false, &acc, e) < 0)
        return -1;
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[3] = { db_ll(a, chat_id), db_ll(a, p->id), silenciado ? "true" : "false" };
    PGresult *r = db_exec(d, a, chat_sql_mute, 3, params, e);
    if (!r)
        goto cleanup;
    if (chat_load_one(d, a, chat_id, p->id, out, e) < 0)
        goto cleanup;
    if (PQntuples(r) == 1 &&
        evt_emit(d, a, EVT_CHAT_ACTUALIZADO, EVT_ROOM_USER, p->id, *out, chat_id, p->id, e) < 0)
        goto cleanup;
    if (db_commit(d, e) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

/* ---- chats tied to an ERP record ---------------------------------------- */

/* One PUT at a time per record: the advisory lock covers the look-up and
 * the insert, so two first PUTs cannot both create. */
static const char chat_sql_ctx_lock[] =
    "SELECT pg_advisory_xact_lock(hashtextextended('chat_contexto:' || $1 || ':' || $2, 0))";

static const char chat_sql_ctx_find[] =
    "SELECT ctx.chat_id, c.deleted_at IS NOT NULL, ctx.titulo, ctx.url"
    " FROM chat_contextos ctx JOIN chats c ON c.id = ctx.chat_id"
    " WHERE ctx.tipo = $1 AND ctx.clave = $2";

static const char chat_sql_ctx_release[] =
    "DELETE FROM chat_contextos WHERE chat_id = $1";

/* The users named by id_erp: (given, id or NULL, activo). */
static const char chat_sql_ctx_users[] =
    "SELECT x.e, u.id, COALESCE(u.activo, false)"
    " FROM jsonb_array_elements_text($1::jsonb) x(e) LEFT JOIN usuarios u ON u.id_erp = x.e";

static const char chat_sql_ctx_chat_ins[] =
    "INSERT INTO chats (tipo, nombre, creado_por) VALUES ('grupo', $1, $2) RETURNING id";

static const char chat_sql_ctx_ins[] =
    "INSERT INTO chat_contextos (chat_id, tipo, clave, titulo, url) VALUES ($1, $2, $3, $4, $5)";

static const char chat_sql_ctx_update[] =
    "WITH k AS (UPDATE chat_contextos SET titulo = $2, url = $3, updated_at = now()"
    "           WHERE chat_id = $1 RETURNING 1)"
    " UPDATE chats SET nombre = $2, updated_at = now() WHERE id = $1";

static const char chat_sql_ctx_members[] =
    "SELECT usuario_id FROM usuarios_chat WHERE chat_id = $1";

static bool chat_ctx_has(const long long *ids, size_t n, long long id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static int chat_ctx_check(const struct chat_contexto_in *in, struct err *e)
{
    size_t tl = in->tipo ? strlen(in->tipo) : 0;
    if (tl < 1 || tl > 50 || strspn(in->tipo, "abcdefghijklmnopqrstuvwxyz0123456789_") != tl)
        return err_set(e, ERR_INVALID, "tipo debe ser de 1 a 50 letras minúsculas, dígitos o _");
    if (!in->clave || chat_check_text(in->clave, "clave", 1, 100, e) < 0)
        return in->clave ? -1 : err_set(e, ERR_INVALID, "clave es obligatoria");
    if (in->titulo && chat_check_text(in->titulo, "titulo", 1, 200, e) < 0)
        return -1;
    if (in->has_url && in->url) {
        if (chat_check_text(in->url, "url", 1, 2000, e) < 0)
            return -1;
        if (strncmp(in->url, "https://", 8) != 0 && strncmp(in->url, "http://", 7) != 0 &&
            !(in->url[0] == '/' && in->url[1] != '/'))
            return err_set(e, ERR_INVALID, "url debe empezar con https://, http:// o /");
        if (strpbrk(in->url, " \t\r\n\"<>"))
            return err_set(e, ERR_INVALID, "url contiene caracteres no permitidos");
    }
    if (in->has_miembros && in->nmiembros > 1000)
        return err_set(e, ERR_INVALID, "miembros admite hasta 1000 usuarios");
    return 0;
}

/* The active users named in in->miembros (deduplicated, in order). */
static long chat_ctx_users(struct db *d, struct arena *a, const struct chat_contexto_in *in,
                           long long **out, struct err *e)
{
    json_object *arr = jsonx_own(a, json_object_new_array());
    for (size_t i = 0; i < in->nmiembros; i++)
        json_object_array_add(arr, json_object_new_string(in->miembros[i]));
    const char *params[1] = { jsonx_text(a, arr) };
    PGresult *r = db_exec(d, a, chat_sql_ctx_users, 1, params, e);
    if (!r)
        return -1;
    long long *ids = arena_alloc(a, sizeof(long long) * (in->nmiembros + 1));
    size_t k = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        if (!db_get(r, i, 1))
            return err_set(e, ERR_INVALID, "miembros: el usuario %s no existe", db_get(r, i, 0));
        long long id = db_get_ll(r, i, 1);
        if (db_get_bool(r, i, 2) && !chat_ctx_has(ids, k, id))
            ids[k++] = id;
    }
    *out = ids;
    return (long)k;
}

/* Makes the members of chat_id exactly want[0..nwant) (actor: nobody). */
static int chat_ctx_sync_members(struct db *d, struct arena *a, long long chat_id,
                                 const long long *want, size_t nwant, struct err *e)
{
    const char *params[1] = { db_ll(a, chat_id) };
    PGresult *r = db_exec(d, a, chat_sql_ctx_members, 1, params, e);
    if (!r)
        return -1;
    size_t nhave = (size_t)PQntuples(r), nadd = 0, ndel = 0;
    long long *have = arena_alloc(a, sizeof(long long) * (nhave + 1));
    for (size_t i = 0; i < nhave; i++)
        have[i] = db_get_ll(r, (int)i, 0);
    long long *add = arena_alloc(a, sizeof(long long) * (nwant + 1));
    long long *del = arena_alloc(a, sizeof(long long) * (nhave + 1));
    for (size_t i = 0; i < nwant; i++)
        if (!chat_ctx_has(have, nhave, want[i]))
            add[nadd++] = want[i];
    for (size_t i = 0; i < nhave; i++)
        if (!chat_ctx_has(want, nwant, have[i]))
            del[ndel++] = have[i];
    if (nadd == 0 && ndel == 0)
        return 0;
    if (ndel > 0) {
        const char *names = chat_names(d, a, del, ndel, e);
        if (!names ||
            chat_members_leave(d, a, chat_id, 0, del, ndel, CHAT_LEAVE_SYNC, "eliminado",
                               arena_printf(a, "%s ya no participa en este registro", names),
                               NULL, NULL, e) < 0)
            return -1;
    }
    if (nadd > 0 && chat_members_join(d, a, chat_id, 0, 0, add, nadd, "agregado", NULL,
                                      "Se agregó a ", NULL, e) < 0)
        return -1;
    return chat_event_members(d, a, chat_id, 0, e);
}

int chat_contexto_put(struct db *d, struct arena *a, const struct chat_contexto_in *in,
                      bool *created, json_object **out, struct err *e)
{
    int ret = -1;
    *created = false;
    if (chat_ctx_check(in, e) < 0)
        return -1;
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[5] = { in->tipo, in->clave, NULL, NULL, NULL };
    PGresult *r;
    if (!db_exec(d, a, chat_sql_ctx_lock, 2, params, e) ||
        !(r = db_exec(d, a, chat_sql_ctx_find, 2, params, e)))
        goto cleanup;
    long long chat_id = 0;
    const char *old_titulo = NULL, *old_url = NULL;
    if (PQntuples(r) == 1) {
        chat_id = db_get_ll(r, 0, 0);
        old_titulo = db_get(r, 0, 2);
        old_url = db_get(r, 0, 3);
        if (db_get_bool(r, 0, 1)) {
            /* its chat was deleted: the record gets a new one */
            params[0] = db_ll(a, chat_id);
            if (!db_exec(d, a, chat_sql_ctx_release, 1, params, e))
                goto cleanup;
            params[0] = in->tipo;
            chat_id = 0;
        }
    }
    long long *want = NULL;
    long nwant = 0;
    if (in->has_miembros && (nwant = chat_ctx_users(d, a, in, &want, e)) < 0)
        goto cleanup;
    if (!chat_id) {
        if (!in->titulo) {
            err_set(e, ERR_INVALID, "titulo es obligatorio para crear el chat del registro");
            goto cleanup;
        }
        if (nwant < 1) {
            err_set(e, ERR_INVALID, "miembros debe nombrar al menos un usuario activo");
            goto cleanup;
        }
        params[0] = in->titulo;
        params[1] = db_ll(a, want[0]);
        if (!(r = db_exec(d, a, chat_sql_ctx_chat_ins, 2, params, e)))
            goto cleanup;
        chat_id = db_get_ll(r, 0, 0);
        const char *ip[5] = { db_ll(a, chat_id), in->tipo, in->clave, in->titulo,
                              in->has_url ? in->url : NULL };
        if (!db_exec(d, a, chat_sql_ctx_ins, 5, ip, e) ||
            chat_members_join(d, a, chat_id, 0, 0, want, (size_t)nwant, "creado",
                              arena_printf(a, "Conversación de %s %s: «%s»", in->tipo, in->clave,
                                           in->titulo),
                              NULL, NULL, e) < 0)
            goto cleanup;
        *created = true;
    } else {
        const char *titulo = in->titulo ? in->titulo : old_titulo;
        const char *url = in->has_url ? in->url : old_url;
        bool changed = strcmp(titulo, old_titulo) != 0 ||
                       (url == NULL) != (old_url == NULL) || (url && strcmp(url, old_url) != 0);
        if (changed) {
            const char *up[3] = { db_ll(a, chat_id), titulo, url };
            if (!db_exec(d, a, chat_sql_ctx_update, 3, up, e))
                goto cleanup;
        }
        if (in->has_miembros &&
            chat_ctx_sync_members(d, a, chat_id, want, (size_t)nwant, e) < 0)
            goto cleanup;
        if (changed) {
            json_object *pub;
            if (chat_load_one(d, a, chat_id, 0, &pub, e) < 0 ||
                evt_emit(d, a, EVT_CHAT_ACTUALIZADO, EVT_ROOM_CHAT, chat_id, pub, chat_id, 0,
                         e) < 0)
                goto cleanup;
        }
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    if (chat_load_one(d, a, chat_id, 0, out, e) < 0)
        return -1;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

static const char chat_sql_ctx_get[] =
    "SELECT ctx.chat_id FROM chat_contextos ctx JOIN chats c ON c.id = ctx.chat_id"
    " AND c.deleted_at IS NULL WHERE ctx.tipo = $1 AND ctx.clave = $2";

int chat_contexto_get(struct db *d, struct arena *a, const struct principal *p, const char *tipo,
                      const char *clave, json_object **out, struct err *e)
{
    const char *params[2] = { tipo, clave };
    PGresult *r = db_exec(d, a, chat_sql_ctx_get, 2, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(e, ERR_NOT_FOUND, "Chat no encontrado");
    return chat_get(d, a, p, db_get_ll(r, 0, 0), out, e);
}
