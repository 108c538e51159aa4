/* comunicado.c: announcements: creation, visibility, read confirmations,
 * reactions, the readers' report and soft delete. */
#include "domain/comunicado.h"
#include "domain/push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "domain/evt.h"
#include "core/jsonx.h"
#include "domain/media.h"

/* Who is looking, for the loader. id 0 is nobody (an event's payload). */
struct com_viewer {
    long long id;
    bool all;           /* sees every live announcement (567, or an event) */
    bool deleted;       /* sees deleted ones in full (568, or an event) */
    bool stubs;         /* a deleted one addressed to it comes as a stub (sync) */
};

/* What one caller is to one announcement. */
struct com_acc {
    long long autor_id;
    bool deleted;
    bool para_todos;
    bool recipient;
    bool author;
};

/* ---- loading ---------------------------------------------------------- */

static const char com_sql_load[] =
    "SELECT c.id, c.titulo, c.contenido, c.para_todos, c.destinatarios_total, c.created_at,"
    "  c.deleted_at IS NOT NULL, c.autor_id = $2, my.usuario_id IS NOT NULL, my.leido_at,"
    "  (SELECT count(*) FROM comunicado_destinatarios r"
    "    WHERE r.comunicado_id = c.id AND r.leido_at IS NOT NULL),"
    "  u.id, " USR_SHOWN_NOMBRE("u") ", " USR_SHOWN("u", "imagen_url") ","
    "  " MEDIA_COLS
    " FROM unnest($1::bigint[]) WITH ORDINALITY x(id, ord)"
    " JOIN comunicados c ON c.id = x.id"
    " JOIN usuarios u ON u.id = c.autor_id"
    " LEFT JOIN media m ON m.id = c.media_id AND m.deleted_at IS NULL"
    " LEFT JOIN comunicado_destinatarios my ON my.comunicado_id = c.id AND my.usuario_id = $2"
    " ORDER BY x.ord";

enum {
    L_ID, L_TITULO, L_CONTENIDO, L_TODOS, L_TOTAL, L_CREATED, L_DELETED, L_AUTHOR,
    L_RECIPIENT, L_LEIDO_AT, L_LEIDOS, L_U_ID, L_U_NOMBRE, L_U_IMAGEN,
    L_M_ID,     /* then the rest of MEDIA_COLS */
};

static const char com_sql_reactions[] =
    "SELECT comunicado_id, emoji, count(*),"
    "  array_to_json(array_agg(usuario_id ORDER BY created_at, usuario_id))::text,"
    "  bool_or(usuario_id = $2)"
    " FROM reacciones_comunicados WHERE comunicado_id = ANY($1::bigint[])"
    " GROUP BY comunicado_id, emoji ORDER BY comunicado_id, min(created_at), emoji";

static json_object *com_autor_json(const PGresult *r, int row)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", jsonx_id(db_get(r, row, L_U_ID)));
    json_object_object_add(o, "nombre", jsonx_str(db_get(r, row, L_U_NOMBRE)));
    json_object_object_add(o, "imagen_url", jsonx_str(db_get(r, row, L_U_IMAGEN)));
    return o;
}

/* A deleted announcement for a recipient who may not read it any more. */
static json_object *com_stub_json(const PGresult *r, int row)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", jsonx_id(db_get(r, row, L_ID)));
    static const char *const nulls[] = { "titulo", "contenido", "media", "autor", "created_at",
                                         "para_todos", "destinatarios_total", "leidos_total",
                                         "leido_at", "reacciones" };
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        json_object_object_add(o, nulls[i], NULL);
    json_object_object_add(o, "eliminado", json_object_new_boolean(true));
    return o;
}

static json_object *com_row_json(struct arena *a, const PGresult *r, int row)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", jsonx_id(db_get(r, row, L_ID)));
    json_object_object_add(o, "titulo", jsonx_str(db_get(r, row, L_TITULO)));
    json_object_object_add(o, "contenido", jsonx_str(db_get(r, row, L_CONTENIDO)));
    /* deleting an announcement hides its file (media.h): no dead link */
    bool deleted = db_get_bool(r, row, L_DELETED);
    jsonx_add(o, "media", deleted ? NULL : media_json(a, r, row, L_M_ID));
    json_object_object_add(o, "autor", com_autor_json(r, row));
    json_object_object_add(o, "created_at", jsonx_ts(db_get(r, row, L_CREATED)));
    json_object_object_add(o, "para_todos", json_object_new_boolean(db_get_bool(r, row, L_TODOS)));
    json_object_object_add(o, "destinatarios_total", jsonx_id(db_get(r, row, L_TOTAL)));
    json_object_object_add(o, "leidos_total", jsonx_id(db_get(r, row, L_LEIDOS)));
    json_object_object_add(o, "leido_at", jsonx_ts(db_get(r, row, L_LEIDO_AT)));
    json_object_object_add(o, "reacciones", json_object_new_array());
    json_object_object_add(o, "eliminado", json_object_new_boolean(deleted));
    return o;
}

/* How row looks to v: 1 in full, 2 as a stub, 0 not at all. */
static int com_row_view(const PGresult *r, int row, const struct com_viewer *v)
{
    bool author = db_get_bool(r, row, L_AUTHOR), recipient = db_get_bool(r, row, L_RECIPIENT);
    if (!db_get_bool(r, row, L_DELETED))
        return author || recipient || v->all ? 1 : 0;
    if (author || v->deleted)
        return 1;
    return recipient && v->stubs ? 2 : 0;
}

/* Appends the reaction rows to the objects they belong to. */
static void com_add_reactions(const PGresult *rr, json_object *arr)
{
    size_t n = json_object_array_length(arr);
    for (int i = 0; i < PQntuples(rr); i++) {
        long long cid = db_get_ll(rr, i, 0);
        for (size_t k = 0; k < n; k++) {
            json_object *c = json_object_array_get_idx(arr, k), *id, *list;
            if (!json_object_object_get_ex(c, "id", &id) || json_object_get_int64(id) != cid ||
                !json_object_object_get_ex(c, "reacciones", &list) ||
                !json_object_is_type(list, json_type_array))
                continue;
            json_object *x = json_object_new_object();
            json_object_object_add(x, "emoji", jsonx_str(db_get(rr, i, 1)));
            json_object_object_add(x, "total", jsonx_id(db_get(rr, i, 2)));
            json_object *users = json_tokener_parse(db_get(rr, i, 3));
            json_object_object_add(x, "usuarios", users ? users : json_object_new_array());
            json_object_object_add(x, "mia", json_object_new_boolean(db_get_bool(rr, i, 4)));
            json_object_array_add(list, x);
        }
    }
}

/* The worker behind every read: Comunicado objects for ids as v sees them,
 * in order, those it may not see left out. */
static int com_load(struct db *d, struct arena *a, const struct com_viewer *v,
                    const long long *ids, size_t n, json_object **out, struct err *e)
{
    json_object *arr = jsonx_own(a, json_object_new_array());
    *out = arr;
    if (n == 0)
        return 0;
    const char *params[2] = { db_ll_array(a, ids, n), db_ll(a, v->id) };
    PGresult *r = db_exec(d, a, com_sql_load, 2, params, e);
    if (!r)
        return -1;
    bool any = false;
    for (int i = 0; i < PQntuples(r); i++) {
        int how = com_row_view(r, i, v);
        if (how == 1)
            any = true;
        if (how)
            json_object_array_add(arr, how == 1 ? com_row_json(a, r, i) : com_stub_json(r, i));
    }
    if (!any)
        return 0;
    PGresult *rr = db_exec(d, a, com_sql_reactions, 2, params, e);
    if (!rr)
        return -1;
    com_add_reactions(rr, arr);
    return 0;
}

static struct com_viewer com_viewer_of(const struct principal *p)
{
    struct com_viewer v = { p->id, usr_can(p, PERM_CREATE_ANNOUNCEMENT),
                            usr_can(p, PERM_DELETE_ANNOUNCEMENT), false };
    return v;
}

/* The Comunicado id as p sees it now; ERR_NOT_FOUND when hidden. */
static int com_load_one(struct db *d, struct arena *a, const struct com_viewer *v, long long id,
                        json_object **out, struct err *e)
{
    json_object *arr;
    if (com_load(d, a, v, &id, 1, &arr, e) < 0)
        return -1;
    if (json_object_array_length(arr) == 0)
        return err_set(e, ERR_NOT_FOUND, "Comunicado no encontrado");
    *out = json_object_array_get_idx(arr, 0);
    return 0;
}

int com_load_many(struct db *d, struct arena *a, long long viewer, const long long *ids,
                  size_t n, json_object **out_array, struct err *e)
{
    struct com_viewer v = { viewer, false, false, true };
    return com_load(d, a, &v, ids, n, out_array, e);
}

int com_get(struct db *d, struct arena *a, const struct principal *p, long long id,
            json_object **out, struct err *e)
{
    struct com_viewer v = com_viewer_of(p);
    return com_load_one(d, a, &v, id, out, e);
}

static const char com_sql_list[] =
    "SELECT id FROM ("
    "  (SELECT d.comunicado_id AS id FROM comunicado_destinatarios d"
    "    JOIN comunicados c ON c.id = d.comunicado_id"
    "   WHERE d.usuario_id = $1 AND d.comunicado_id < $2 AND (c.deleted_at IS NULL OR $4)"
    "   ORDER BY d.comunicado_id DESC LIMIT $3)"
    "  UNION"
    "  (SELECT id FROM comunicados WHERE autor_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3)"
    " ) t ORDER BY id DESC LIMIT $3";

int com_list(struct db *d, struct arena *a, const struct principal *p, long long antes,
             int limite, json_object **out_array, bool *hay_mas, struct err *e)
{
    struct com_viewer v = com_viewer_of(p);
    const char *params[4] = { db_ll(a, p->id), antes > 0 ? db_ll(a, antes) : "9223372036854775807",
                              db_ll(a, (long long)limite + 1), v.deleted ? "true" : "false" };
    PGresult *r = db_exec(d, a, com_sql_list, 4, params, e);
    if (!r)
        return -1;
    int n = PQntuples(r);
    *hay_mas = n > limite;
    if (n > limite)
        n = limite;
    long long *ids = arena_alloc(a, sizeof(long long) * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        ids[i] = db_get_ll(r, i, 0);
    return com_load(d, a, &v, ids, (size_t)n, out_array, e);
}

/* ---- access and events ----------------------------------------------- */

static const char com_sql_access[] =
    "SELECT c.autor_id, c.deleted_at IS NOT NULL, c.para_todos, my.usuario_id IS NOT NULL"
    " FROM comunicados c"
    " LEFT JOIN comunicado_destinatarios my ON my.comunicado_id = c.id AND my.usuario_id = $2"
    " WHERE c.id = $1";

static const char com_sql_access_lock[] =
    "SELECT c.autor_id, c.deleted_at IS NOT NULL, c.para_todos, my.usuario_id IS NOT NULL"
    " FROM comunicados c"
    " LEFT JOIN comunicado_destinatarios my ON my.comunicado_id = c.id AND my.usuario_id = $2"
    " WHERE c.id = $1 FOR SHARE OF c";

/* What p is to announcement id; ERR_NOT_FOUND when p may not see it. With
 * lock (inside a transaction) the row is held FOR SHARE so a concurrent
 * delete waits for the caller's write. */
static int com_access(struct db *d, struct arena *a, const struct principal *p, long long id,
                      bool lock, struct com_acc *out, struct err *e)
{
    const char *params[2] = { db_ll(a, id), db_ll(a, p->id) };
    PGresult *r = db_exec(d, a, lock ? com_sql_access_lock : com_sql_access, 2, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(e, ERR_NOT_FOUND, "Comunicado no encontrado");
    out->autor_id = db_get_ll(r, 0, 0);
    out->deleted = db_get_bool(r, 0, 1);
    out->para_todos = db_get_bool(r, 0, 2);
    out->recipient = db_get_bool(r, 0, 3);
    out->author = out->autor_id == p->id;
    bool visible = out->deleted
                       ? out->author || usr_can(p, PERM_DELETE_ANNOUNCEMENT)
                       : out->recipient || out->author || usr_can(p, PERM_CREATE_ANNOUNCEMENT);
    if (!visible)
        return err_set(e, ERR_NOT_FOUND, "Comunicado no encontrado");
    return 0;
}

/* Access for what only recipients do (read, react), inside a transaction. */
static int com_access_recipient(struct db *d, struct arena *a, const struct principal *p,
                                long long id, struct com_acc *out, struct err *e)
{
    if (com_access(d, a, p, id, true, out, e) < 0)
        return -1;
    if (out->deleted)
        return err_set(e, ERR_CONFLICT, "El comunicado fue eliminado");
    if (!out->recipient)
        return err_set(e, ERR_FORBIDDEN, "Solo los destinatarios pueden hacerlo");
    return 0;
}

static const char com_sql_fanout[] =
    "INSERT INTO eventos (tipo, sala, payload, usuario_id)"
    " SELECT $1, 'user:' || t.uid, $2::jsonb, t.uid FROM ("
    "   SELECT usuario_id AS uid FROM comunicado_destinatarios WHERE comunicado_id = $3"
    "   UNION SELECT $4::bigint"
    " ) t RETURNING id, sala";

/* Writes event tipo about announcement id to its audience: the room
 * "todos" once for an announcement to everyone, else each recipient's and
 * the author's user:<id> room, in one statement, each with its wake-up. */
static int com_fanout(struct db *d, struct arena *a, long long id, const struct com_acc *c,
                      long long actor, enum evt_id tipo, json_object *payload, struct err *e)
{
    if (c->para_todos)
        return evt_emit(d, a, tipo, EVT_ROOM_ALL, 0, payload, 0, actor, e) < 0 ? -1 : 0;
    const char *name = evt_kind(tipo)->name;
    if (!(evt_kind(tipo)->rooms & EVT_ROOM_RECIPIENTS))
        return err_set(e, ERR_INTERNAL, "evento %s: sala no prevista", name);
    const char *params[4] = { name, jsonx_text(a, payload), db_ll(a, id), db_ll(a, c->autor_id) };
    PGresult *r = db_exec(d, a, com_sql_fanout, 4, params, e);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        json_object *note = json_object_new_object();
        json_object_object_add(note, "id", jsonx_id(db_get(r, i, 0)));
        json_object_object_add(note, "tipo", json_object_new_string(name));
        json_object_object_add(note, "sala", jsonx_str(db_get(r, i, 1)));
        db_notify_after_commit(d, jsonx_text(a, note));
        json_object_put(note);
    }
    return 0;
}

/* ---- create ------------------------------------------------------------ */

static const char com_sql_unknown_user[] =
    "SELECT x.id FROM unnest($1::bigint[]) x(id)"
    " WHERE NOT EXISTS (SELECT 1 FROM usuarios u WHERE u.id = x.id) LIMIT 1";

static const char com_sql_insert[] =
    "INSERT INTO comunicados (autor_id, titulo, contenido, media_id, para_todos,"
    "  destinatarios_json, client_id)"
    " VALUES ($1, $2, $3, NULLIF($4, '0')::bigint, $5, $6::jsonb, $7)"
    " ON CONFLICT (autor_id, client_id) WHERE client_id IS NOT NULL DO NOTHING"
    " RETURNING id";

static const char com_sql_by_client[] =
    "SELECT id FROM comunicados WHERE autor_id = $1 AND client_id = $2";

/* Recipients by target: $1 comunicado, $2 author (never a recipient), $3
 * the ids (bigint[]) or the departments (a JSON array of strings). */
static const char *const com_sql_recipients[] = {
    [COM_TODOS] =
        "INSERT INTO comunicado_destinatarios (comunicado_id, usuario_id)"
        " SELECT $1, u.id FROM usuarios u WHERE u.activo AND u.id <> $2 AND $3::text IS NULL",
    [COM_USUARIOS] =
        "INSERT INTO comunicado_destinatarios (comunicado_id, usuario_id)"
        " SELECT $1, u.id FROM usuarios u"
        " WHERE u.activo AND u.id <> $2 AND u.id = ANY ($3::bigint[])",
    [COM_DEPARTAMENTOS] =
        "INSERT INTO comunicado_destinatarios (comunicado_id, usuario_id)"
        " SELECT $1, u.id FROM usuarios u"
        " WHERE u.activo AND u.id <> $2"
        "   AND u.departamento = ANY (ARRAY(SELECT jsonb_array_elements_text($3::jsonb)))",
};

static const char com_sql_set_total[] =
    "UPDATE comunicados SET destinatarios_total = $2 WHERE id = $1";

/* The targeting as given, for destinatarios_json, and the $3 of the
 * recipients statement. */
static json_object *com_target_json(struct arena *a, const struct com_new *in, const char **param)
{
    json_object *o = jsonx_own(a, json_object_new_object());
    *param = NULL;
    if (in->target == COM_TODOS) {
        json_object_object_add(o, "todos", json_object_new_boolean(true));
    } else if (in->target == COM_USUARIOS) {
        json_object *ids = json_object_new_array();
        for (size_t i = 0; i < in->nids; i++)
            json_object_array_add(ids, json_object_new_int64(in->ids[i]));
        json_object_object_add(o, "usuario_ids", ids);
        *param = db_ll_array(a, in->ids, in->nids);
    } else {
        json_object *deps = json_object_new_array();
        for (size_t i = 0; i < in->ndeps; i++)
            json_object_array_add(deps, json_object_new_string(in->deps[i]));
        json_object_object_add(o, "departamentos", deps);
        *param = jsonx_text(a, deps);
    }
    return o;
}

/* Inside the transaction: checks media and users, inserts the row and its
 * recipients. *id 0 means the client_id was used before (*id_prev). */
static int com_insert(struct db *d, struct arena *a, const struct principal *p,
                      const struct com_new *in, long long *id, long long *id_prev, struct err *e)
{
    const char *me = db_ll(a, p->id);
    *id = *id_prev = 0;
    if (in->client_id) {
        const char *cp[2] = { me, in->client_id };
        PGresult *r = db_exec(d, a, com_sql_by_client, 2, cp, e);
        if (!r)
            return -1;
        if (PQntuples(r) > 0) {
            *id_prev = db_get_ll(r, 0, 0);
            return 0;
        }
    }
    const char *tipo;   /* any kind of file may go with an announcement */
    if (in->media_id && media_claim(d, a, in->media_id, p->id, &tipo, e) < 0)
        return -1;
    const char *target;
    json_object *tj = com_target_json(a, in, &target);
    if (in->target == COM_USUARIOS) {
        PGresult *r = db_exec(d, a, com_sql_unknown_user, 1, &target, e);
        if (!r)
            return -1;
        if (PQntuples(r) > 0)
            return err_set(e, ERR_INVALID, "usuario_ids: el usuario %s no existe", db_get(r, 0, 0));
    }
    const char *ip[7] = { me, in->titulo, in->contenido ? in->contenido : "",
                          db_ll(a, in->media_id), in->target == COM_TODOS ? "true" : "false",
                          jsonx_text(a, tj), in->client_id };
    PGresult *r = db_exec(d, a, com_sql_insert, 7, ip, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        /* a concurrent retry with this client_id committed first */
        const char *cp[2] = { me, in->client_id };
        r = db_exec(d, a, com_sql_by_client, 2, cp, e);
        if (!r)
            return -1;
        if (PQntuples(r) == 0)
            return err_set(e, ERR_CONFLICT, "client_id en uso");
        *id_prev = db_get_ll(r, 0, 0);
        return 0;
    }
    *id = db_get_ll(r, 0, 0);
    const char *rp[3] = { db_ll(a, *id), me, target };
    r = db_exec(d, a, com_sql_recipients[in->target], 3, rp, e);
    if (!r)
        return -1;
    long long total = strtoll(PQcmdTuples(r), NULL, 10);
    if (total == 0)
        return err_set(e, ERR_INVALID, "Ningún usuario activo coincide con los destinatarios");
    const char *tp[2] = { db_ll(a, *id), db_ll(a, total) };
    return db_exec(d, a, com_sql_set_total, 2, tp, e) ? 0 : -1;
}

int com_create(struct db *d, struct arena *a, const struct principal *p,
               const struct com_new *in, bool *created, json_object **out, struct err *e)
{
    int ret = -1;
    *created = false;
    if (!usr_can(p, PERM_CREATE_ANNOUNCEMENT))
        return err_set(e, ERR_FORBIDDEN, "Crear comunicados requiere el permiso 567");
    if (db_begin(d, e) < 0)
        return -1;
    long long id, prev;
    if (com_insert(d, a, p, in, &id, &prev, e) < 0)
        goto cleanup;
    if (id) {
        struct com_viewer everyone = { 0, true, true, false };
        json_object *payload;
        struct com_acc c = { p->id, false, in->target == COM_TODOS, false, true };
        if (com_load_one(d, a, &everyone, id, &payload, e) < 0 ||
            com_fanout(d, a, id, &c, p->id, EVT_COMUNICADO_NUEVO, payload, e) < 0)
            goto cleanup;
        /* recipients' devices, vacation included (API.md §7) */
        if (push_enqueue_comunicado(d, a, id, e) < 0 || db_commit(d, e) < 0)
            goto cleanup;
        *created = true;
    } else {
        db_rollback(d);
        id = prev;
    }
    struct com_viewer v = com_viewer_of(p);
    ret = com_load_one(d, a, &v, id, out, e);
cleanup:
    if (ret < 0 && d->depth)
        db_rollback(d);
    return ret;
}

/* ---- read, react, report, delete ----------------------------------------- */

static const char com_sql_mark_read[] =
    "UPDATE comunicado_destinatarios SET leido_at = now()"
    " WHERE comunicado_id = $1 AND usuario_id = $2 AND leido_at IS NULL RETURNING leido_at";

int com_mark_read(struct db *d, struct arena *a, const struct principal *p, long long id,
                  bool *changed, json_object **out, struct err *e)
{
    int ret = -1;
    struct com_acc c;
    *changed = false;
    if (db_begin(d, e) < 0)
        return -1;
    if (com_access_recipient(d, a, p, id, &c, e) < 0)
        goto cleanup;
    const char *params[2] = { db_ll(a, id), db_ll(a, p->id) };
    PGresult *r = db_exec(d, a, com_sql_mark_read, 2, params, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) > 0) {
        json_object *ev = jsonx_own(a, json_object_new_object());
        json_object_object_add(ev, "comunicado_id", json_object_new_int64(id));
        json_object_object_add(ev, "usuario_id", json_object_new_int64(p->id));
        json_object_object_add(ev, "leido_at", jsonx_ts(db_get(r, 0, 0)));
        if (evt_emit(d, a, EVT_COMUNICADO_LEIDO, EVT_ROOM_USER, c.autor_id, ev, 0, c.autor_id,
                     e) < 0)
            goto cleanup;
        *changed = true;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    ret = com_get(d, a, p, id, out, e);
cleanup:
    if (ret < 0 && d->depth)
        db_rollback(d);
    return ret;
}

int com_emoji_check(const char *emoji, struct err *e)
{
    long n = emoji ? jsonx_utf8_chars(emoji) : -1;
    if (n < 1 || n > 32 || strpbrk(emoji, " \t\r\n"))
        return err_set(e, ERR_INVALID, "emoji debe ser de 1 a 32 caracteres sin espacios");
    return 0;
}

static const char com_sql_react_add[] =
    "INSERT INTO reacciones_comunicados (comunicado_id, usuario_id, emoji) VALUES ($1, $2, $3)"
    " ON CONFLICT DO NOTHING";

static const char com_sql_react_del[] =
    "DELETE FROM reacciones_comunicados WHERE comunicado_id = $1 AND usuario_id = $2 AND emoji = $3";

int com_react(struct db *d, struct arena *a, const struct principal *p, long long id,
              const char *emoji, bool add, bool *changed, json_object **out, struct err *e)
{
    int ret = -1;
    struct com_acc c;
    *changed = false;
    if (com_emoji_check(emoji, e) < 0 || db_begin(d, e) < 0)
        return -1;
    if (com_access_recipient(d, a, p, id, &c, e) < 0)
        goto cleanup;
    const char *params[3] = { db_ll(a, id), db_ll(a, p->id), emoji };
    PGresult *r = db_exec(d, a, add ? com_sql_react_add : com_sql_react_del, 3, params, e);
    if (!r)
        goto cleanup;
    if (strcmp(PQcmdTuples(r), "0") != 0) {
        json_object *ev = jsonx_own(a, json_object_new_object());
        json_object_object_add(ev, "comunicado_id", json_object_new_int64(id));
        json_object_object_add(ev, "usuario_id", json_object_new_int64(p->id));
        json_object_object_add(ev, "emoji", json_object_new_string(emoji));
        json_object_object_add(ev, "accion", json_object_new_string(add ? "agregar" : "quitar"));
        if (com_fanout(d, a, id, &c, p->id, EVT_COMUNICADO_REACCION, ev, e) < 0)
            goto cleanup;
        *changed = true;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    ret = com_get(d, a, p, id, out, e);
cleanup:
    if (ret < 0 && d->depth)
        db_rollback(d);
    return ret;
}

static const char com_sql_readers[] =
    "SELECT " USR_COLS ", d.leido_at"
    " FROM comunicado_destinatarios d JOIN usuarios u ON u.id = d.usuario_id"
    " WHERE d.comunicado_id = $1"
    " ORDER BY d.leido_at NULLS LAST, u.nombre, u.id";

int com_readers(struct db *d, struct arena *a, const struct principal *p, long long id,
                json_object **out, struct err *e)
{
    struct com_acc c;
    if (com_access(d, a, p, id, false, &c, e) < 0)
        return -1;
    if (!c.author && !usr_can(p, PERM_CREATE_ANNOUNCEMENT))
        return err_set(e, ERR_FORBIDDEN, "Solo el autor o el permiso 567 ven las lecturas");
    const char *params[1] = { db_ll(a, id) };
    PGresult *r = db_exec(d, a, com_sql_readers, 1, params, e);
    if (!r)
        return -1;
    json_object *o = jsonx_own(a, json_object_new_object());
    json_object *list = json_object_new_array();
    long long leidos = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        json_object *x = json_object_new_object();
        const char *at = db_get(r, i, USR_NCOLS);
        leidos += at != NULL;
        jsonx_add(x, "usuario", usr_json(a, r, i, 0, false));
        json_object_object_add(x, "leido_at", jsonx_ts(at));
        json_object_array_add(list, x);
    }
    json_object_object_add(o, "total", json_object_new_int64(PQntuples(r)));
    json_object_object_add(o, "leidos", json_object_new_int64(leidos));
    json_object_object_add(o, "pendientes", json_object_new_int64(PQntuples(r) - leidos));
    json_object_object_add(o, "destinatarios", list);
    *out = o;
    return 0;
}

static const char com_sql_delete[] =
    "UPDATE comunicados SET deleted_at = now(), eliminado_por = $2, updated_at = now()"
    " WHERE id = $1 AND deleted_at IS NULL RETURNING autor_id, para_todos, titulo, created_at";

static const char com_sql_exists[] = "SELECT 1 FROM comunicados WHERE id = $1";

int com_delete(struct db *d, struct arena *a, const struct principal *p, long long id,
               struct err *e)
{
    int ret = -1;
    if (!usr_can(p, PERM_DELETE_ANNOUNCEMENT))
        return err_set(e, ERR_FORBIDDEN, "Eliminar comunicados requiere el permiso 568");
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[2] = { db_ll(a, id), db_ll(a, p->id) };
    PGresult *r = db_exec(d, a, com_sql_delete, 2, params, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 0) {
        r = db_exec(d, a, com_sql_exists, 1, params, e);
        if (!r)
            goto cleanup;
        if (PQntuples(r) == 0) {
            err_set(e, ERR_NOT_FOUND, "Comunicado no encontrado");
            goto cleanup;
        }
    } else {
        struct com_acc c = { db_get_ll(r, 0, 0), true, db_get_bool(r, 0, 1), false, false };
        json_object *antes = jsonx_own(a, json_object_new_object());
        json_object_object_add(antes, "autor_id", jsonx_id(db_get(r, 0, 0)));
        json_object_object_add(antes, "titulo", jsonx_str(db_get(r, 0, 2)));
        json_object_object_add(antes, "created_at", jsonx_ts(db_get(r, 0, 3)));
        json_object *desp = jsonx_own(a, json_object_new_object());
        json_object_object_add(desp, "eliminado", json_object_new_boolean(true));
        struct audit_obj obj = { "comunicado", id, 0 };
        if (audit_add(d, a, p, "comunicado.eliminado", &obj, antes, desp, e) < 0)
            goto cleanup;
        json_object *ev = jsonx_own(a, json_object_new_object());
        json_object_object_add(ev, "comunicado_id", json_object_new_int64(id));
        if (com_fanout(d, a, id, &c, p->id, EVT_COMUNICADO_ELIMINADO, ev, e) < 0)
            goto cleanup;
    }
    ret = db_commit(d, e);
cleanup:
    if (ret < 0 && d->depth)
        db_rollback(d);
    return ret;
}
