/* sync.c: delta sync over the eventos outbox, and the per-chat seed form. */
#include "domain/sync.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/chat.h"
#include "domain/comunicado.h"
#include "domain/evt.h"
#include "core/jsonx.h"
#include "domain/msg.h"
#include "core/route.h"

/* The horizon and the user's events after the cursor, in one statement so
 * both come from one snapshot (sql/002_eventos.sql). Rooms: user:<p>, and
 * "todos" (announcements to everyone), chat:<id> of every chat p is a
 * member of (deleted chats included, for their chat:eliminado); a chat p
 * left is reported by the chat:eliminado sent to user:<p>. Each room is read on eventos_sala_idx (sala, xid, id)
 * and the rooms merged, so the cost follows p's own events, not the whole
 * feed since the cursor (a client back after a week scans no one else's). */
static const char sync_sql_events[] =
    "WITH hz AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS h),"
    " rooms AS (SELECT 'user:' || $1::bigint AS sala UNION ALL SELECT 'todos'"
    "           UNION ALL SELECT 'chat:' || uc.chat_id FROM usuarios_chat uc"
    "           WHERE uc.usuario_id = $1::bigint)"
    " SELECT hz.h::text, e.id, e.xid::text, e.tipo, e.chat_id,"
    "  CASE WHEN e.tipo IN ('mensaje:nuevo', 'mensaje:editado', 'mensaje:eliminado')"
    "       THEN e.payload->>'id'"
    "       WHEN e.tipo IN ('mensaje:reaccion', 'encuesta:voto') THEN e.payload->>'mensaje_id' END,"
    "  e.payload->>'usuario_id', e.payload->>'mensaje_id', e.payload->>'leido_at',"
    "  CASE WHEN e.tipo LIKE 'comunicado:%' THEN"
    "       COALESCE(e.payload->>'comunicado_id', e.payload->>'id') END"
    " FROM hz LEFT JOIN LATERAL ("
    "   SELECT x.* FROM rooms CROSS JOIN LATERAL ("
    "     SELECT ev.id, ev.xid, ev.tipo, ev.chat_id, ev.payload FROM eventos ev"
    "      WHERE ev.sala = rooms.sala AND (ev.xid, ev.id) > ($2::text::xid8, $3::bigint)"
    "        AND ev.xid < hz.h"
    "      ORDER BY ev.xid, ev.id LIMIT $4::int) x"
    "   ORDER BY x.xid, x.id LIMIT $4::int) e ON true"
    " ORDER BY e.xid, e.id";
static const struct db_stmt sync_st_events = { "sync_events", sync_sql_events };

enum { SE_H, SE_ID, SE_XID, SE_TIPO, SE_CHAT, SE_MSG, SE_L_USR, SE_L_MSG, SE_L_AT, SE_COM };

static const char sync_sql_visible_msgs[] =
    "SELECT m.id FROM mensajes m"
    " JOIN usuarios_chat uc ON uc.chat_id = m.chat_id AND uc.usuario_id = $2"
    " JOIN chats c ON c.id = m.chat_id AND c.deleted_at IS NULL"
    " WHERE m.id = ANY($1::bigint[]) ORDER BY m.id";
static const struct db_stmt sync_st_visible_msgs = { "sync_visible_msgs", sync_sql_visible_msgs };

static const char sync_sql_horizon[] = "SELECT eventos_horizonte()";
static const struct db_stmt sync_st_horizon = { "sync_horizon", sync_sql_horizon };

/* A cursor from before what prune deleted may have missed events. */
static const char sync_sql_stale[] =
    "SELECT 1 FROM eventos_poda WHERE (xid, evento_id) > ($1::text::xid8, $2::bigint)";
static const struct db_stmt sync_st_stale = { "sync_stale", sync_sql_stale };

/* A growable set of ids (small: at most SYNC_MAX_EVENTS). */
struct sync_ids {
    long long *v;
    size_t n;
};

static void sync_ids_add(struct sync_ids *s, long long id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == id)
            return;
    s->v[s->n++] = id;
}

static int sync_parse_ll(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > 19)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (INT64_MAX - (s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "<xid>.<id>" */
static int sync_cursor_parse(const char *s, long long *xid, long long *id)
{
    const char *dot = s ? strchr(s, '.') : NULL;
    if (!dot)
        return -1;
    return sync_parse_ll(s, (size_t)(dot - s), xid) < 0 ||
                   sync_parse_ll(dot + 1, strlen(dot + 1), id) < 0
               ? -1 : 0;
}

int sync_cursor(struct db *d, struct arena *a, const char **out, struct err *e)
{
    PGresult *r = db_run(d, a, &sync_st_horizon, 0, NULL, e);
    if (!r)
        return -1;
    *out = arena_printf(a, "%s.0", db_get(r, 0, 0));
    return 0;
}

/* The response object with every list present. */
static json_object *sync_result(struct arena *a, const char *cursor, bool hay_mas,
                                json_object *mensajes, json_object *chats, json_object *gone,
                                json_object *lecturas, json_object *comunicados)
{
    json_object *o = jsonx_own(a, json_object_new_object());
    json_object_object_add(o, "cursor", json_object_new_string(cursor));
    json_object_object_add(o, "hay_mas", json_object_new_boolean(hay_mas));
    jsonx_add(o, "mensajes", mensajes);
    jsonx_add(o, "chats", chats);
    jsonx_add(o, "chats_eliminados", gone);
    jsonx_add(o, "lecturas", lecturas);
    if (comunicados)
        jsonx_add(o, "comunicados", comunicados);
    else
        json_object_object_add(o, "comunicados", json_object_new_array());
    return o;
}

/* Loads the messages of ids p may still see (member of a live chat), by id. */
static int sync_messages(struct db *d, struct arena *a, const struct principal *p,
                         const long long *ids, size_t n, json_object **out, struct err *e)
{
    if (n == 0)
        return msg_load_printed(d, a, p->id, NULL, 0, out, e);
    const char *params[2] = { db_ll_array(a, ids, n), db_ll(a, p->id) };
    PGresult *r = db_run(d, a, &sync_st_visible_msgs, 2, params, e);
    if (!r)
        return -1;
    int k = PQntuples(r);
    long long *vis = arena_alloc(a, sizeof(long long) * (size_t)(k ? k : 1));
    for (int i = 0; i < k; i++)
        vis[i] = db_get_ll(r, i, 0);
    return msg_load_printed(d, a, p->id, vis, (size_t)k, out, e);
}

/* Splits chat ids into those p is still a member of (their Chat into
 * chats) and the others (deleted or left: their id into gone). */
static int sync_chats(struct db *d, struct arena *a, const struct principal *p,
                      const long long *ids, size_t n, json_object *chats, json_object *gone,
                      struct err *e)
{
    if (n == 0)
        return 0;
    long long *viewers = arena_alloc(a, sizeof(long long) * n);
    json_object **objs = arena_alloc(a, sizeof(json_object *) * n);
    for (size_t i = 0; i < n; i++)
        viewers[i] = p->id;
    if (chat_load(d, a, ids, viewers, n, p->id, objs, e) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_object *rol = NULL;
        if (objs[i] && json_object_object_get_ex(objs[i], "mi_rol", &rol) && rol)
            jsonx_push(chats, objs[i]);
        else
            json_object_array_add(gone, json_object_new_int64(ids[i]));
    }
    return 0;
}

int sync_since(struct db *d, struct arena *a, const struct principal *p, const char *cursor,
               int limit, json_object **out, struct err *e)
{
    long long cx, ci;
    if (sync_cursor_parse(cursor, &cx, &ci) < 0)
        return err_set(e, ERR_INVALID, "cursor inválido: use el de GET /sync/cursor o de un /sync anterior");
    if (limit < 1 || limit > SYNC_MAX_EVENTS)
        limit = SYNC_MAX_EVENTS;
    const char *sp[2] = { db_ll(a, cx), db_ll(a, ci) };
    PGresult *st = db_run(d, a, &sync_st_stale, 2, sp, e);
    if (!st)
        return -1;
    if (PQntuples(st) > 0)
        return err_set(e, ERR_CONFLICT, "El cursor es demasiado antiguo: recargue los chats "
                                        "y pida uno nuevo con GET /sync/cursor");
    const char *params[4] = { db_ll(a, p->id), db_ll(a, cx), db_ll(a, ci), db_ll(a, limit + 1) };
    PGresult *r = db_run(d, a, &sync_st_events, 4, params, e);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    long long h = db_get_ll(r, 0, SE_H);
    int n = 0;
    for (int i = 0; i < rows; i++)
        if (db_get(r, i, SE_ID))
            n++;
    bool hay_mas = n > limit;
    if (hay_mas)
        n = limit;
    struct sync_ids msgs = { arena_alloc(a, sizeof(long long) * (size_t)(n + 1)), 0 };
    struct sync_ids chats = { arena_alloc(a, sizeof(long long) * (size_t)(n + 1)), 0 };
    struct sync_ids coms = { arena_alloc(a, sizeof(long long) * (size_t)(n + 1)), 0 };
    json_object *lecturas = jsonx_own(a, json_object_new_array());
    for (int i = 0; i < n; i++) {
        const char *tipo = db_get(r, i, SE_TIPO);
        if (db_get(r, i, SE_MSG)) {
            sync_ids_add(&msgs, db_get_ll(r, i, SE_MSG));
        } else if (db_get(r, i, SE_COM)) {
            sync_ids_add(&coms, db_get_ll(r, i, SE_COM));
        } else if (strcmp(tipo, evt_kind(EVT_MENSAJE_LEIDO)->name) == 0) {
            long long chat = db_get_ll(r, i, SE_CHAT), usr = db_get_ll(r, i, SE_L_USR);
            long long mid = db_get_ll(r, i, SE_L_MSG);
            json_object *prev = NULL;
            for (size_t j = 0; j < json_object_array_length(lecturas); j++) {
                json_object *x = json_object_array_get_idx(lecturas, j), *c, *u;
                json_object_object_get_ex(x, "chat_id", &c);
                json_object_object_get_ex(x, "usuario_id", &u);
                if (json_object_get_int64(c) == chat && json_object_get_int64(u) == usr)
                    prev = x;
            }
            if (!prev) {
                prev = json_object_new_object();
                json_object_object_add(prev, "chat_id", json_object_new_int64(chat));
                json_object_object_add(prev, "usuario_id", json_object_new_int64(usr));
                json_object_object_add(prev, "mensaje_id", json_object_new_int64(0));
                json_object_array_add(lecturas, prev);
            }
            json_object *old;
            json_object_object_get_ex(prev, "mensaje_id", &old);
            if (mid >= json_object_get_int64(old)) {
                json_object_object_add(prev, "mensaje_id", json_object_new_int64(mid));
                json_object_object_add(prev, "leido_at", jsonx_str(db_get(r, i, SE_L_AT)));
            }
        } else if (strncmp(tipo, "chat:", 5) == 0 && db_get(r, i, SE_CHAT)) {
            sync_ids_add(&chats, db_get_ll(r, i, SE_CHAT));
        }
    }
    const char *next;
    if (hay_mas)
        next = arena_printf(a, "%s.%s", db_get(r, n - 1, SE_XID), db_get(r, n - 1, SE_ID));
    else if (h > cx)
        next = arena_printf(a, "%lld.0", h);
    else
        next = arena_printf(a, "%lld.%lld", cx, ci);
    json_object *mensajes, *comunicados;
    json_object *chat_arr = jsonx_own(a, json_object_new_array());
    json_object *gone = jsonx_own(a, json_object_new_array());
    if (sync_messages(d, a, p, msgs.v, msgs.n, &mensajes, e) < 0 ||
        sync_chats(d, a, p, chats.v, chats.n, chat_arr, gone, e) < 0 ||
        com_load_many(d, a, p->id, coms.v, coms.n, &comunicados, e) < 0)
        return -1;
    *out = sync_result(a, next, hay_mas, mensajes, chat_arr, gone, lecturas, comunicados);
    return 0;
}

static const char sync_sql_seed[] =
    "SELECT x.id FROM unnest($1::bigint[], $2::bigint[]) q(chat_id, last_id)"
    " JOIN usuarios_chat uc ON uc.chat_id = q.chat_id AND uc.usuario_id = $3"
    " JOIN chats c ON c.id = q.chat_id AND c.deleted_at IS NULL"
    " CROSS JOIN LATERAL (SELECT m.id FROM mensajes m WHERE m.chat_id = q.chat_id"
    "   AND m.id > q.last_id ORDER BY m.id LIMIT $4) x"
    " ORDER BY x.id LIMIT $4";
static const struct db_stmt sync_st_seed = { "sync_seed", sync_sql_seed };

static const char sync_sql_seed_gone[] =
    "SELECT x FROM unnest($1::bigint[]) x WHERE NOT EXISTS ("
    " SELECT 1 FROM usuarios_chat uc JOIN chats c ON c.id = uc.chat_id AND c.deleted_at IS NULL"
    " WHERE uc.chat_id = x AND uc.usuario_id = $2) ORDER BY x";
static const struct db_stmt sync_st_seed_gone = { "sync_seed_gone", sync_sql_seed_gone };

#define SYNC_SEED_MAX_CHATS 1000

int sync_seed(struct db *d, struct arena *a, const struct principal *p, json_object *chats,
              int limit, json_object **out, struct err *e)
{
    if (limit < 1 || limit > SYNC_MAX_EVENTS)
        limit = SYNC_MAX_EVENTS;
    size_t cap = (size_t)json_object_object_length(chats);
    if (cap > SYNC_SEED_MAX_CHATS)
        return err_set(e, ERR_INVALID, "chats admite hasta %d chats", SYNC_SEED_MAX_CHATS);
    long long *cids = arena_alloc(a, sizeof(long long) * (cap + 1));
    long long *last = arena_alloc(a, sizeof(long long) * (cap + 1));
    size_t n = 0;
    json_object_object_foreach(chats, key, val) {
        if (route_parse_id(key, &cids[n]) < 0)
            return err_set(e, ERR_INVALID, "chats: las claves deben ser ids de chat");
        if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0)
            return err_set(e, ERR_INVALID, "chats: cada valor debe ser el último id de mensaje (entero)");
        last[n++] = json_object_get_int64(val);
    }
    /* the cursor first: whatever commits after this read is after it */
    const char *cursor;
    if (sync_cursor(d, a, &cursor, e) < 0)
        return -1;
    json_object *chat_arr = jsonx_own(a, json_object_new_array());
    json_object *gone = jsonx_own(a, json_object_new_array());
    json_object *lecturas = jsonx_own(a, json_object_new_array());
    json_object *mensajes;
    bool hay_mas = false;
    if (n == 0) {
        if (msg_load_printed(d, a, p->id, NULL, 0, &mensajes, e) < 0)
            return -1;
    } else {
        const char *params[4] = { db_ll_array(a, cids, n), db_ll_array(a, last, n),
                                  db_ll(a, p->id), db_ll(a, limit + 1) };
        PGresult *r = db_run(d, a, &sync_st_seed, 4, params, e);
        if (!r)
            return -1;
        int k = PQntuples(r);
        hay_mas = k > limit;
        if (hay_mas)
            k = limit;
        long long *ids = arena_alloc(a, sizeof(long long) * (size_t)(k + 1));
        for (int i = 0; i < k; i++)
            ids[i] = db_get_ll(r, i, 0);
        if (msg_load_printed(d, a, p->id, ids, (size_t)k, &mensajes, e) < 0)
            return -1;
        const char *gp[2] = { params[0], params[2] };
        r = db_run(d, a, &sync_st_seed_gone, 2, gp, e);
        if (!r)
            return -1;
        for (int i = 0; i < PQntuples(r); i++)
            json_object_array_add(gone, json_object_new_int64(db_get_ll(r, i, 0)));
    }
    *out = sync_result(a, cursor, hay_mas, mensajes, chat_arr, gone, lecturas, NULL);
    return 0;
}
