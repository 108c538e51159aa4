/* usr.c: users, the principal, and the ERP's lifecycle operations. */
#include "domain/usr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "domain/evt.h"
#include "domain/limite.h"
#include "core/jsonx.h"

bool usr_can(const struct principal *p, int code)
{
    for (size_t i = 0; i < p->npermisos; i++)
        if (p->permisos[i] == code)
            return true;
    return false;
}

json_object *usr_json(struct arena *a, const PGresult *r, int row, int col, bool service_view)
{
    /* USR_COLS already masks a deactivated user; only id_erp is left to
     * decide here, since a service caller still sees it */
    json_object *o = jsonx_new_object(a);
    bool activo = db_get_bool(r, row, col + 8);
    static const char *const keys[] = { "id_erp", "nombre", "email", "imagen_url",
                                        "puesto", "departamento", "estatus" };
    json_object_object_add(o, "id", jsonx_id(db_get(r, row, col)));
    for (int k = 0; k < 7; k++) {
        const char *v = k == 0 && !activo && !service_view ? NULL : db_get(r, row, col + 1 + k);
        json_object_object_add(o, keys[k], jsonx_str(v));
    }
    json_object_object_add(o, "activo", json_object_new_boolean(activo));
    return o;
}

/* Postgres int[] text form of the permission list: "{565,567}". */
static const char *usr_perm_text(struct arena *a, const int *p, size_t n)
{
    size_t cap = 2 + n * 12;
    char *s = arena_alloc(a, cap + 1), *w = s;
    *w++ = '{';
    for (size_t i = 0; i < n; i++)
        w += snprintf(w, cap - (size_t)(w - s), "%s%d", i ? "," : "", p[i]);
    *w++ = '}';
    *w = '\0';
    return s;
}

static bool usr_same(const char *claim, const char *stored)
{
    if (!claim)
        return true;    /* an absent optional claim keeps what is stored */
    return stored && strcmp(claim, stored) == 0;
}

static const char usr_sql_by_erp[] =
    "SELECT id, activo, nombre, email, imagen_url, puesto, departamento, permisos::text"
    " FROM usuarios WHERE id_erp = $1";
static const struct db_stmt usr_st_by_erp = { "usr_by_erp", usr_sql_by_erp };

/* A token's claims over the stored row ($1 id_erp, $2 nombre, $3 email,
 * $4 imagen_url, $5 puesto, $6 departamento, $7 permisos): an absent
 * optional claim keeps what is stored (usr_same). */
#define USR_SET_CLAIMS                                                                 \
    "nombre = COALESCE($2, usuarios.nombre), email = COALESCE($3, usuarios.email),"    \
    " imagen_url = COALESCE($4, usuarios.imagen_url), puesto = COALESCE($5, usuarios.puesto)," \
    " departamento = COALESCE($6, usuarios.departamento), permisos = $7::int[],"     \
    " updated_at = now()"

static const char usr_sql_upsert[] =
    "INSERT INTO usuarios (id_erp, nombre, email, imagen_url, puesto, departamento, permisos)"
    " VALUES ($1, COALESCE($2, ''), $3, $4, $5, $6, $7::int[])"
    " ON CONFLICT (id_erp) DO UPDATE SET " USR_SET_CLAIMS
    " RETURNING id, activo, nombre";
static const struct db_stmt usr_st_upsert = { "usr_upsert", usr_sql_upsert };

/* The user's live chats, for a socket's rooms: by usuarios_chat's
 * usuario_id index. */
#define USR_CHATS_OF(U)                                                              \
    "(SELECT coalesce(array_agg(uc.chat_id), '{}') FROM usuarios_chat uc"          \
    "  JOIN chats c ON c.id = uc.chat_id WHERE uc.usuario_id = " U                    \
    "  AND c.deleted_at IS NULL)::text"

static const char usr_sql_by_erp_chats[] =
    "SELECT id, activo, nombre, email, imagen_url, puesto, departamento, permisos::text, "
    USR_CHATS_OF("usuarios.id") " FROM usuarios WHERE id_erp = $1";
static const struct db_stmt usr_st_by_erp_chats = { "usr_by_erp_chats", usr_sql_by_erp_chats };
static const char usr_sql_chats[] = "SELECT " USR_CHATS_OF("$1::bigint");
static const struct db_stmt usr_st_chats = { "usr_chats", usr_sql_chats };

/* "{1,2,3}" -> ids in the arena. */
static long long *usr_parse_ids(struct arena *a, const char *t, size_t *n)
{
    size_t cap = 1;
    for (const char *q = t; *q; q++)
        cap += *q == ',';
    long long *ids = arena_alloc(a, sizeof(*ids) * cap);
    *n = 0;
    for (const char *q = t; *q;) {
        if (*q >= '0' && *q <= '9') {
            char *end;
            ids[(*n)++] = strtoll(q, &end, 10);
            q = end;
        } else {
            q++;
        }
    }
    return ids;
}

/* Whether the stored row (the usr_sql_by_erp columns) is what claims c
 * (permissions as text perms) would write. */
static bool usr_row_same(const struct token_claims *c, const char *perms, const PGresult *r,
                         int row)
{
    return usr_same(c->nombre, db_get(r, row, 2)) && usr_same(c->email, db_get(r, row, 3)) &&
           usr_same(c->imagen, db_get(r, row, 4)) && usr_same(c->puesto, db_get(r, row, 5)) &&
           usr_same(c->departamento, db_get(r, row, 6)) &&
           strcmp(perms, db_get(r, row, 7) ? db_get(r, row, 7) : "") == 0;
}

/* The principal from a stored row (id, activo, nombre first) and claims
 * c; ERR_DEACTIVATED for a deactivated user. Strings live in a. */
static int usr_row_principal(struct arena *a, const struct token_claims *c, const PGresult *r,
                             int row, struct principal *out, struct err *e)
{
    if (!db_get_bool(r, row, 1))
        return err_set(e, ERR_DEACTIVATED, NULL);
    out->id = db_get_ll(r, row, 0);
    out->id_erp = arena_strdup(a, c->id_erp);
    out->nombre = arena_strdup(a, db_get(r, row, 2));
    int *pp = arena_alloc(a, sizeof(int) * (c->npermisos ? c->npermisos : 1));
    memcpy(pp, c->permisos, sizeof(int) * c->npermisos);
    out->permisos = pp;
    out->npermisos = c->npermisos;
    return 0;
}

static int usr_login_sql(struct db *d, struct arena *a, const struct token_claims *c,
                         struct principal *out, const long long **chats, size_t *nchats,
                         struct err *e)
{
    memset(out, 0, sizeof(*out));
    if (c->service) {
        out->service = true;
        return 0;
    }
    const char *perms = usr_perm_text(a, c->permisos, c->npermisos);
    const char *p1[1] = { c->id_erp };
    PGresult *r = db_run(d, a, chats ? &usr_st_by_erp_chats : &usr_st_by_erp, 1, p1, e);
    if (!r)
        return -1;
    /* a deactivated user is refused before anything is written */
    if (PQntuples(r) > 0 && !db_get_bool(r, 0, 1))
        return err_set(e, ERR_DEACTIVATED, NULL);
    bool need = PQntuples(r) == 0 || !usr_row_same(c, perms, r, 0);
    const char *chat_text = !need && chats ? db_get(r, 0, 8) : NULL;
    if (need) {
        const char *p[7] = { c->id_erp, c->nombre, c->email, c->imagen, c->puesto,
                             c->departamento, perms };
        r = db_run(d, a, &usr_st_upsert, 7, p, e);
        if (!r)
            return -1;
    }
    if (usr_row_principal(a, c, r, 0, out, e) < 0)
        return -1;
    if (chats) {
        if (!chat_text) {
            /* the row was just written: its chats in a second statement */
            const char *p[1] = { db_ll(a, out->id) };
            if (!(r = db_run(d, a, &usr_st_chats, 1, p, e)))
                return -1;
            chat_text = db_get(r, 0, 0);
        }
        *chats = usr_parse_ids(a, chat_text ? chat_text : "", nchats);
    }
    return 0;
}

int usr_login(struct db *d, struct arena *a, const struct token_claims *c,
              struct principal *out, struct err *e)
{
    return usr_login_sql(d, a, c, out, NULL, NULL, e);
}

int usr_login_chats(struct db *d, struct arena *a, const struct token_claims *c,
                    struct principal *out, const long long **chats, size_t *nchats,
                    struct err *e)
{
    return usr_login_sql(d, a, c, out, chats, nchats, e);
}

/* The usr_sql_by_erp_chats columns for every id_erp of an array, with
 * the element's position (1-based) last; absent users give no row. */
static const char usr_sql_by_erp_chats_many[] =
    "SELECT u.id, u.activo, u.nombre, u.email, u.imagen_url, u.puesto, u.departamento,"
    " u.permisos::text, " USR_CHATS_OF("u.id") ", e.i"
    " FROM unnest($1::text[]) WITH ORDINALITY AS e(id_erp, i)"
    " JOIN usuarios u ON u.id_erp = e.id_erp";
static const struct db_stmt usr_st_by_erp_chats_many = { "usr_by_erp_chats_many",
                                                         usr_sql_by_erp_chats_many };

/* A text[] literal of strs: every element quoted, '"' and '\\' escaped. */
static const char *usr_text_array(struct arena *a, const char *const *strs, size_t n)
{
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += 3 + 2 * strlen(strs[i]);
    char *s = arena_alloc(a, cap), *w = s;
    *w++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *w++ = ',';
        *w++ = '"';
        for (const char *q = strs[i]; *q; q++) {
            if (*q == '"' || *q == '\\')
                *w++ = '\\';
            *w++ = *q;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return s;
}

int usr_login_chats_many(struct db *d, struct arena *a, struct usr_login_req *r, size_t n,
                         struct err *e)
{
    if (!n)
        return 0;
    const char **erps = arena_alloc(a, sizeof(*erps) * n);
    for (size_t i = 0; i < n; i++) {
        erps[i] = r[i].c->id_erp;
        r[i].status = 1;    /* not answered yet */
        memset(&r[i].e, 0, sizeof(r[i].e));
        memset(&r[i].p, 0, sizeof(r[i].p));
        r[i].chats = NULL;
        r[i].nchats = 0;
    }
    const char *p1[1] = { usr_text_array(a, erps, n) };
    PGresult *res = db_run(d, a, &usr_st_by_erp_chats_many, 1, p1, e);
    if (!res)
        return -1;
    for (int row = 0; row < PQntuples(res); row++) {
        long long i = db_get_ll(res, row, 9) - 1;
        if (i < 0 || (size_t)i >= n || r[i].status != 1)
            continue;
        struct usr_login_req *q = &r[i];
        if (!usr_row_same(q->c, usr_perm_text(a, q->c->permisos, q->c->npermisos), res, row))
            continue;   /* the profile changed: the upsert below */
        q->status = usr_row_principal(a, q->c, res, row, &q->p, &q->e);
        if (q->status == 0)
            q->chats = usr_parse_ids(a, db_get(res, row, 8) ? db_get(res, row, 8) : "",
                                     &q->nchats);
    }
    for (size_t i = 0; i < n; i++)
        if (r[i].status == 1)
            r[i].status = usr_login_chats(d, a, r[i].c, &r[i].p, &r[i].chats, &r[i].nchats,
                                          &r[i].e);
    return 0;
}

static const char usr_sql_principal[] =
    "SELECT id_erp, nombre, permisos::text, activo FROM usuarios WHERE id = $1";
static const struct db_stmt usr_st_principal = { "usr_principal", usr_sql_principal };

int usr_principal(struct db *d, struct arena *a, long long id, struct principal *p,
                  struct err *e)
{
    const char *params[1] = { db_ll(a, id) };
    PGresult *r = db_run(d, a, &usr_st_principal, 1, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0 || !db_get_bool(r, 0, 3))
        return err_set(e, ERR_DEACTIVATED, NULL);
    memset(p, 0, sizeof(*p));
    p->id = id;
    p->id_erp = arena_strdup(a, db_get(r, 0, 0));
    p->nombre = arena_strdup(a, db_get(r, 0, 1));
    size_t n = 0;
    const long long *perm = usr_parse_ids(a, db_get(r, 0, 2) ? db_get(r, 0, 2) : "", &n);
    int *perms = arena_alloc(a, sizeof(int) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        perms[i] = (int)perm[i];
    p->permisos = perms;
    p->npermisos = n;
    return 0;
}

static const char usr_sql_get[] = "SELECT " USR_COLS " FROM usuarios u WHERE u.id = $1";
static const struct db_stmt usr_st_get = { "usr_get", usr_sql_get };

int usr_get(struct db *d, struct arena *a, long long id, bool service_view,
            json_object **out, struct err *e)
{
    const char *p[1] = { db_ll(a, id) };
    PGresult *r = db_run(d, a, &usr_st_get, 1, p, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(e, ERR_NOT_FOUND, "Usuario no encontrado");
    *out = usr_json(a, r, 0, 0, service_view);
    return 0;
}

/* Walks usuarios_nombre_idx (sql/022) in name order, a page at a time.
 * Every word of q must appear in busqueda (name, email, puesto and
 * departamento, lower case without accents), in any order; LIKE wildcards
 * in q are taken literally. */
static const char usr_sql_search[] =
    "SELECT " USR_COLS " FROM usuarios u"
    " WHERE u.activo"
    "  AND ($1::text IS NULL OR NOT EXISTS ("
    "       SELECT 1 FROM regexp_split_to_table(chat_normalizar($1), '\\s+') w"
    "        WHERE w <> '' AND u.busqueda NOT LIKE '%' || chat_like_escapar(w) || '%'))"
    "  AND ($2::bigint IS NULL OR (lower(u.nombre), u.id) >"
    "       (SELECT lower(nombre), id FROM usuarios WHERE id = $2))"
    " ORDER BY lower(u.nombre), u.id LIMIT $3";
static const struct db_stmt usr_st_search = { "usr_search", usr_sql_search };

int usr_search(struct db *d, struct arena *a, const char *q, long long antes, int limite,
               json_object **out_array, bool *hay_mas, struct err *e)
{
    const char *p[3] = { q && *q ? q : NULL, antes > 0 ? db_ll(a, antes) : NULL,
                         db_ll(a, limite + 1) };
    PGresult *r = db_run(d, a, &usr_st_search, 3, p, e);
    if (!r)
        return -1;
    int n = PQntuples(r);
    *hay_mas = n > limite;
    json_object *arr = jsonx_own(a, json_object_new_array());
    for (int i = 0; i < n && i < limite; i++)
        jsonx_push(arr, usr_json(a, r, i, 0, false));
    *out_array = arr;
    return 0;
}

/* When someone was last seen is shown only to people who share a live chat
 * with them (and to themselves): the same people who get their presence
 * events. */
static const char usr_sql_presence[] =
    "SELECT u.id, " USR_SHOWN_ESTATUS("u") ","
    " CASE WHEN u.id = $2 OR EXISTS ("
    "   SELECT 1 FROM usuarios_chat mine"
    "   JOIN usuarios_chat theirs ON theirs.chat_id = mine.chat_id AND theirs.usuario_id = u.id"
    "   JOIN chats c ON c.id = mine.chat_id AND c.deleted_at IS NULL"
    "   WHERE mine.usuario_id = $2)"
    " THEN u.ultima_conexion END"
    " FROM usuarios u WHERE u.id = ANY($1::bigint[]) ORDER BY u.id";
static const struct db_stmt usr_st_presence = { "usr_presence", usr_sql_presence };

int usr_presence(struct db *d, struct arena *a, long long viewer, const long long *ids,
                 size_t n, json_object **out_array, struct err *e)
{
    const char *p[2] = { db_ll_array(a, ids, n), arena_printf(a, "%lld", viewer) };
    PGresult *r = db_run(d, a, &usr_st_presence, 2, p, e);
    if (!r)
        return -1;
    json_object *arr = jsonx_own(a, json_object_new_array());
    for (int i = 0; i < PQntuples(r); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "usuario_id", jsonx_id(db_get(r, i, 0)));
        json_object_object_add(o, "estatus", jsonx_str(db_get(r, i, 1)));
        json_object_object_add(o, "ultima_conexion", jsonx_ts(db_get(r, i, 2)));
        json_object_array_add(arr, o);
    }
    *out_array = arr;
    return 0;
}

static const char usr_sql_provision[] =
    "INSERT INTO usuarios AS u (id_erp, nombre, email, puesto, departamento, imagen_url)"
    " VALUES ($1, COALESCE($2, ''), $3, $4, $5, $6)"
    " ON CONFLICT (id_erp) DO UPDATE SET"
    "  nombre = COALESCE($2, u.nombre), email = COALESCE($3, u.email),"
    "  puesto = COALESCE($4, u.puesto), departamento = COALESCE($5, u.departamento),"
    "  imagen_url = COALESCE($6, u.imagen_url), updated_at = now()"
    " RETURNING " USR_COLS ", (xmax = 0)";
static const struct db_stmt usr_st_provision = { "usr_provision", usr_sql_provision };

int usr_provision(struct db *d, struct arena *a, const char *id_erp,
                  const struct usr_profile *p, bool *created, json_object **out,
                  struct err *e)
{
    const char *params[6] = { id_erp, p->nombre, p->email, p->puesto, p->departamento,
                              p->imagen_url };
    PGresult *r = db_run(d, a, &usr_st_provision, 6, params, e);
    if (!r)
        return -1;
    *created = db_get_bool(r, 0, USR_NCOLS);
    *out = usr_json(a, r, 0, 0, true);
    return 0;
}

static const char usr_sql_active[] =
    "WITH old AS (SELECT id, activo FROM usuarios WHERE id_erp = $1 FOR UPDATE)"
    " UPDATE usuarios u SET activo = $2::boolean,"
    "  desactivado_at = CASE WHEN $2::boolean THEN NULL ELSE COALESCE(u.desactivado_at, now()) END,"
    "  estatus = CASE WHEN $2::boolean THEN u.estatus ELSE 'desconectado' END,"
    "  updated_at = now()"
    " FROM old WHERE u.id = old.id RETURNING " USR_COLS ", old.activo";
static const struct db_stmt usr_st_active = { "usr_active", usr_sql_active };

/* The presence event for user id, to everyone who shares a chat with them
 * (rtd resolves the room "presencia:<id>"). */
static int usr_status_event(struct db *d, struct arena *a, long long id, const char *estatus,
                            struct err *e)
{
    json_object *o = jsonx_own(a, json_object_new_object());
    json_object_object_add(o, "usuario_id", json_object_new_int64(id));
    json_object_object_add(o, "estatus", json_object_new_string(estatus));
    return evt_emit(d, a, EVT_USUARIO_ESTATUS, EVT_ROOM_PRESENCE, id, o, 0, id, e) < 0 ? -1 : 0;
}

/* The audit row of a lifecycle change of user id (objeto usuario). */
static int usr_audit(struct db *d, struct arena *a, const struct principal *by,
                     const char *accion, long long id, const char *id_erp, json_object *antes,
                     json_object *despues, struct err *e)
{
    json_object_object_add(antes, "id_erp", json_object_new_string(id_erp));
    struct audit_obj obj = { "usuario", id, 0 };
    return audit_add(d, a, by, accion, &obj, antes, despues, e);
}

int usr_set_active(struct db *d, struct arena *a, const struct principal *by,
                   const char *id_erp, bool activo, json_object **out, struct err *e)
{
    int ret = -1;
    const char *p[2] = { id_erp, activo ? "true" : "false" };
    if (db_begin(d, e) < 0)
        return -1;
    PGresult *r = db_run(d, a, &usr_st_active, 2, p, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 0) {
        err_set(e, ERR_NOT_FOUND, "Usuario no encontrado");
        goto cleanup;
    }
    long long id = db_get_ll(r, 0, 0);
    json_object *ev = jsonx_own(a, json_object_new_object());
    json_object_object_add(ev, "usuario_id", json_object_new_int64(id));
    if (evt_emit(d, a, activo ? EVT_USUARIO_REACTIVADO : EVT_USUARIO_DESACTIVADO, EVT_ROOM_USER,
                 id, ev, 0, id, e) < 0)
        goto cleanup;
    if (usr_status_event(d, a, id, db_get(r, 0, 7), e) < 0)
        goto cleanup;
    if (db_get_bool(r, 0, USR_NCOLS) != activo) {
        json_object *antes = jsonx_own(a, json_object_new_object());
        json_object_object_add(antes, "activo", json_object_new_boolean(!activo));
        json_object *desp = jsonx_own(a, json_object_new_object());
        json_object_object_add(desp, "activo", json_object_new_boolean(activo));
        if (usr_audit(d, a, by, activo ? "usuario.reactivado" : "usuario.desactivado", id, id_erp,
                      antes, desp, e) < 0)
            goto cleanup;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    *out = usr_json(a, r, 0, 0, true);
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

static const char usr_sql_vacation[] =
    "WITH old AS (SELECT id, vacaciones, vacaciones_hasta FROM usuarios WHERE id_erp = $1 FOR UPDATE)"
    " UPDATE usuarios u SET vacaciones = $2::boolean,"
    "  vacaciones_hasta = CASE WHEN $2::boolean THEN $3::date END, updated_at = now()"
    " FROM old WHERE u.id = old.id RETURNING " USR_COLS ", old.vacaciones, old.vacaciones_hasta,"
    " u.vacaciones_hasta,"
    " (old.vacaciones, old.vacaciones_hasta) IS DISTINCT FROM (u.vacaciones, u.vacaciones_hasta)";
static const struct db_stmt usr_st_vacation = { "usr_vacation", usr_sql_vacation };

int usr_set_vacation(struct db *d, struct arena *a, const struct principal *by,
                     const char *id_erp, bool activo, const char *hasta, json_object **out,
                     struct err *e)
{
    int ret = -1;
    const char *p[3] = { id_erp, activo ? "true" : "false", hasta };
    if (db_begin(d, e) < 0)
        return -1;
    PGresult *r = db_run(d, a, &usr_st_vacation, 3, p, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 0) {
        err_set(e, ERR_NOT_FOUND, "Usuario no encontrado");
        goto cleanup;
    }
    if (db_get_bool(r, 0, 8) &&
        usr_status_event(d, a, db_get_ll(r, 0, 0), db_get(r, 0, 7), e) < 0)
        goto cleanup;
    if (db_get_bool(r, 0, USR_NCOLS + 3)) {
        json_object *antes = jsonx_own(a, json_object_new_object());
        json_object_object_add(antes, "vacaciones", json_object_new_boolean(db_get_bool(r, 0, USR_NCOLS)));
        json_object_object_add(antes, "hasta", jsonx_str(db_get(r, 0, USR_NCOLS + 1)));
        json_object *desp = jsonx_own(a, json_object_new_object());
        json_object_object_add(desp, "vacaciones", json_object_new_boolean(activo));
        json_object_object_add(desp, "hasta", jsonx_str(db_get(r, 0, USR_NCOLS + 2)));
        if (usr_audit(d, a, by, "usuario.vacaciones", db_get_ll(r, 0, 0), id_erp, antes, desp,
                      e) < 0)
            goto cleanup;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    *out = usr_json(a, r, 0, 0, true);
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

static const char usr_sql_vacation_expire[] =
    "UPDATE usuarios u SET vacaciones = false, vacaciones_hasta = NULL, updated_at = now()"
    " WHERE u.id IN (SELECT id FROM usuarios WHERE vacaciones AND vacaciones_hasta < current_date"
    "                ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED)"
    " RETURNING u.id, " USR_SHOWN_ESTATUS("u");
static const struct db_stmt usr_st_vacation_expire = { "usr_vacation_expire", usr_sql_vacation_expire };

int usr_expire_vacations(struct db *d, struct arena *a, int *ended, struct err *e)
{
    int ret = -1;
    if (ended)
        *ended = 0;
    if (db_begin(d, e) < 0)
        return -1;
    PGresult *r = db_run(d, a, &usr_st_vacation_expire, 0, NULL, e);
    if (!r)
        goto cleanup;
    for (int i = 0; i < PQntuples(r); i++)
        if (usr_status_event(d, a, db_get_ll(r, i, 0), db_get(r, i, 1), e) < 0)
            goto cleanup;
    if (db_commit(d, e) < 0)
        goto cleanup;
    if (ended)
        *ended = PQntuples(r);
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

/* ---- logins without a round trip of their own ------------------------------ */

/* One slot per id_erp hash, the newest wins. claims: the token claims the
 * row held when this worker last logged the user in (usr_claims_key). */
struct usr_cache_slot {
    char *id_erp;
    long long id;
    char *nombre;
    char *claims;
};

/* The claims usr_login writes, as one string that is equal for equal
 * claims: each optional claim "-" when absent or its length and text, then
 * the permissions (perms, usr_perm_text). In a. */
static char *usr_claims_key(struct arena *a, const struct token_claims *c, const char *perms)
{
    const char *f[5] = { c->nombre, c->email, c->imagen, c->puesto, c->departamento };
    size_t n = strlen(perms) + 1;
    for (int i = 0; i < 5; i++)
        n += f[i] ? strlen(f[i]) + 22 : 1;
    char *k = arena_alloc(a, n), *w = k;
    for (int i = 0; i < 5; i++) {
        if (f[i])
            w += sprintf(w, "%zu:%s", strlen(f[i]), f[i]);
        else
            *w++ = '-';
    }
    strcpy(w, perms);
    return k;
}

struct usr_cache {
    size_t n;
    struct usr_cache_slot *slots;
};

struct usr_cache *usr_cache_new(size_t slots)
{
    struct usr_cache *uc = calloc(1, sizeof(*uc));
    if (!uc)
        return NULL;
    uc->n = slots ? slots : 1;
    uc->slots = calloc(uc->n, sizeof(*uc->slots));
    if (!uc->slots) {
        free(uc);
        return NULL;
    }
    return uc;
}

void usr_cache_free(struct usr_cache *uc)
{
    if (!uc)
        return;
    for (size_t i = 0; i < uc->n; i++) {
        free(uc->slots[i].id_erp);
        free(uc->slots[i].nombre);
        free(uc->slots[i].claims);
    }
    free(uc->slots);
    free(uc);
}

static struct usr_cache_slot *usr_cache_slot(struct usr_cache *uc, const char *id_erp)
{
    uint64_t h = 1469598103934665603ULL;    /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id_erp; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return &uc->slots[h % uc->n];
}

void usr_cache_put(struct usr_cache *uc, struct arena *a, const struct principal *p,
                   const struct token_claims *c)
{
    if (!uc || p->service || !p->id_erp || !p->id)
        return;
    struct usr_cache_slot *s = usr_cache_slot(uc, p->id_erp);
    const char *perms = usr_perm_text(a, c->permisos, c->npermisos);
    char *id_erp = strdup(p->id_erp), *nombre = strdup(p->nombre ? p->nombre : "");
    char *claims = strdup(usr_claims_key(a, c, perms));
    if (!id_erp || !nombre || !claims) {
        free(id_erp);
        free(nombre);
        free(claims);
        return;
    }
    free(s->id_erp);
    free(s->nombre);
    free(s->claims);
    *s = (struct usr_cache_slot){ id_erp, p->id, nombre, claims };
}

void usr_cache_forget(struct usr_cache *uc, const char *id_erp)
{
    if (!uc || !id_erp)
        return;
    struct usr_cache_slot *s = usr_cache_slot(uc, id_erp);
    if (s->id_erp && strcmp(s->id_erp, id_erp) == 0) {
        free(s->id_erp);
        free(s->nombre);
        free(s->claims);
        *s = (struct usr_cache_slot){ 0 };
    }
}

/* The login check of a known user ($2 its id) whose claims are the ones
 * the row held at its last login here: CH003 when no row has that id and
 * id_erp, CH001 when it is deactivated (sql/021_entrada.sql). It writes
 * nothing: claims that changed take usr_login's way, which writes them. */
#define USR_GATE_ACTIVO \
    "chat_exigir_activo((SELECT activo FROM usuarios WHERE id = $2::bigint AND id_erp = $1))"

static const char usr_sql_gate[] = "SELECT " USR_GATE_ACTIVO;
static const struct db_stmt usr_st_gate = { "usr_gate", usr_sql_gate };
/* The same, and a unit of rate limit $3 taken (burst $4, refill $5 per
 * second), CH002 when there was none. */
static const char usr_sql_gate_limite[] =
    "WITH ficha AS (" LIMITE_TOMAR("$2", "$3", "$4", "$5") ")"
    " SELECT " USR_GATE_ACTIVO ", (SELECT chat_exigir_ficha(ok, fichas) FROM ficha)";
static const struct db_stmt usr_st_gate_limite = { "usr_gate_limite", usr_sql_gate_limite };

int usr_login_gated(struct db *d, struct arena *a, struct usr_cache *uc, const struct cfg *cfg,
                    const struct token_claims *c, int kind, struct principal *out,
                    struct err *e)
{
    if (!uc || c->service || !c->id_erp)
        return 0;
    struct usr_cache_slot *s = usr_cache_slot(uc, c->id_erp);
    if (!s->id_erp || strcmp(s->id_erp, c->id_erp) != 0)
        return 0;
    const char *perms = usr_perm_text(a, c->permisos, c->npermisos);
    if (!s->claims || strcmp(s->claims, usr_claims_key(a, c, perms)) != 0)
        return 0;   /* new claims: usr_login writes them */
    memset(out, 0, sizeof(*out));
    out->id = s->id;
    out->id_erp = arena_strdup(a, c->id_erp);
    out->nombre = arena_strdup(a, c->nombre ? c->nombre : s->nombre);
    int *pp = arena_alloc(a, sizeof(int) * (c->npermisos ? c->npermisos : 1));
    memcpy(pp, c->permisos, sizeof(int) * c->npermisos);
    out->permisos = pp;
    out->npermisos = c->npermisos;
    const char *p[5] = { c->id_erp, db_ll(a, s->id) };
    const struct db_stmt *st = &usr_st_gate;
    int n = 2;
    if (kind >= 0 && limite_params(a, cfg, (enum limite_clase)kind, &p[3], &p[4]) > 0) {
        p[2] = limite_nombre((enum limite_clase)kind);
        st = &usr_st_gate_limite;
        n = 5;
    }
    return db_gate(d, st, n, p, e) < 0 ? -1 : 1;
}

int usr_gate_error(struct db *d, const struct cfg *cfg, int kind, int *retry_after,
                   struct err *e)
{
    const struct db_gate *g = db_gate_failed(d);
    if (!g)
        return 0;
    if (strcmp(g->sqlstate, "CH001") == 0) {
        err_set(e, ERR_DEACTIVATED, NULL);
        return 1;
    }
    if (strcmp(g->sqlstate, "CH002") == 0 && kind >= 0) {
        limite_refused(cfg, (enum limite_clase)kind, g->detail, retry_after, e);
        return 1;
    }
    return 2;   /* CH003, or a refusal this caller did not ask for */
}
