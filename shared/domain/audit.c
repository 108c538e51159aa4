/* audit.c: the audit trail writer and its paged reader. */
#include "domain/audit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"

static const char audit_sql_insert[] =
    "INSERT INTO auditoria (actor_tipo, actor_id, actor_nombre, accion, objeto_tipo, objeto_id,"
    " chat_id, antes, despues, solicitud, ip)"
    " VALUES ($1, NULLIF($2, '0')::bigint, $3, $4, $5, NULLIF($6, '0')::bigint,"
    " NULLIF($7, '0')::bigint, $8::jsonb, $9::jsonb, $10, $11)";

/* A value kept only when it fits its column (request ids and addresses
 * come from outside). */
static const char *audit_fit(const char *s, size_t max)
{
    return s && *s && strlen(s) <= max ? s : NULL;
}

int audit_add(struct db *d, struct arena *a, const struct principal *p, const char *accion,
              const struct audit_obj *obj, json_object *antes, json_object *despues,
              struct err *e)
{
    const char *tipo = !p ? "sistema" : p->service ? "servicio" : "usuario";
    bool user = p && !p->service;
    const char *params[11] = {
        tipo,
        db_ll(a, user ? p->id : 0),
        user ? p->nombre : NULL,
        accion,
        obj->tipo,
        db_ll(a, obj->id),
        db_ll(a, obj->chat_id),
        antes ? jsonx_text(a, antes) : NULL,
        despues ? jsonx_text(a, despues) : NULL,
        p ? audit_fit(p->solicitud, 200) : NULL,
        p ? audit_fit(p->ip, 100) : NULL,
    };
    return db_exec(d, a, audit_sql_insert, 11, params, e) ? 0 : -1;
}

/* hasta as a date covers that whole day; as a date-time, up to it. */
static const char audit_sql_list[] =
    "SELECT id, at, actor_tipo, actor_id, actor_nombre, accion, objeto_tipo, objeto_id, chat_id,"
    " antes::text, despues::text, solicitud, ip"
    " FROM auditoria"
    " WHERE ($1::text IS NULL OR at >= $1::timestamptz)"
    "   AND ($2::text IS NULL OR at < CASE WHEN length($2) = 10 THEN ($2::date + 1)::timestamptz"
    "                                      ELSE $2::timestamptz + interval '1 microsecond' END)"
    "   AND ($3::text IS NULL OR actor_tipo = $3)"
    "   AND ($4::bigint IS NULL OR actor_id = $4::bigint)"
    "   AND ($5::bigint IS NULL OR chat_id = $5::bigint)"
    "   AND ($6::text IS NULL OR accion = $6)"
    "   AND ($7::bigint IS NULL OR id < $7::bigint)"
    " ORDER BY id DESC LIMIT $8::int";

bool audit_ts_check(const char *s)
{
    /* YYYY-MM-DD, then optionally [T ]HH:MM[:SS[.f{1,6}]] and Z or +-HH[:MM] */
    static const char date[] = "dddd-dd-dd";
    size_t i = 0;
    for (; date[i]; i++) {
        if (date[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != date[i])
            return false;
    }
    int mo = atoi(s + 5), dd = atoi(s + 8);
    if (mo < 1 || mo > 12 || dd < 1 || dd > 31)
        return false;
    if (!s[i])
        return true;
    if (s[i] != 'T' && s[i] != ' ')
        return false;
    i++;
    static const char hm[] = "dd:dd";
    for (size_t k = 0; hm[k]; k++, i++)
        if (hm[k] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != hm[k])
            return false;
    if (atoi(s + 11) > 23 || atoi(s + 14) > 59)
        return false;
    if (s[i] == ':') {
        if (!isdigit((unsigned char)s[i + 1]) || !isdigit((unsigned char)s[i + 2]) ||
            atoi(s + i + 1) > 60)
            return false;
        i += 3;
        if (s[i] == '.') {
            size_t n = 0;
            for (i++; isdigit((unsigned char)s[i]); i++)
                n++;
            if (n < 1 || n > 6)
                return false;
        }
    }
    if (s[i] == 'Z')
        return s[i + 1] == '\0';
    if (s[i] == '+' || s[i] == '-') {
        if (!isdigit((unsigned char)s[i + 1]) || !isdigit((unsigned char)s[i + 2]))
            return false;
        i += 3;
        if (s[i] == ':')
            i++;
        if (s[i] && (!isdigit((unsigned char)s[i]) || !isdigit((unsigned char)s[i + 1]) || s[i + 2]))
            return false;
        return true;
    }
    return s[i] == '\0';
}

static json_object *audit_jsonb(const char *text)
{
    return text ? json_tokener_parse(text) : NULL;
}

int audit_list(struct db *d, struct arena *a, const struct audit_query *q,
               json_object **out_array, long long *next, bool *hay_mas, struct err *e)
{
    if ((q->desde && !audit_ts_check(q->desde)) || (q->hasta && !audit_ts_check(q->hasta)))
        return err_set(e, ERR_INVALID, "desde y hasta deben ser fechas ISO-8601");
    if (q->accion && (strlen(q->accion) > 100 || jsonx_utf8_chars(q->accion) < 0))
        return err_set(e, ERR_INVALID, "accion inválida");
    const char *actor_tipo = NULL, *actor_id = NULL;
    if (q->actor) {
        if (strcmp(q->actor, "servicio") == 0 || strcmp(q->actor, "sistema") == 0) {
            actor_tipo = q->actor;
        } else {
            char *end;
            long long v = strtoll(q->actor, &end, 10);
            if (!*q->actor || *end || v <= 0 || !isdigit((unsigned char)*q->actor))
                return err_set(e, ERR_INVALID, "actor debe ser un id de usuario, servicio o sistema");
            actor_tipo = "usuario";
            actor_id = db_ll(a, v);
        }
    }
    int limite = q->limite > 0 ? q->limite : 50;
    const char *params[8] = {
        q->desde, q->hasta, actor_tipo, actor_id,
        q->chat_id ? db_ll(a, q->chat_id) : NULL, q->accion,
        q->cursor ? db_ll(a, q->cursor) : NULL, db_ll(a, limite + 1),
    };
    PGresult *r = db_exec(d, a, audit_sql_list, 8, params, e);
    if (!r)
        return -1;
    int n = PQntuples(r);
    *hay_mas = n > limite;
    if (*hay_mas)
        n = limite;
    json_object *arr = jsonx_own(a, json_object_new_array());
    for (int i = 0; i < n; i++) {
        json_object *o = json_object_new_object(), *actor = json_object_new_object(),
                    *obj = json_object_new_object();
        json_object_object_add(o, "id", jsonx_id(db_get(r, i, 0)));
        json_object_object_add(o, "at", jsonx_ts(db_get(r, i, 1)));
        json_object_object_add(actor, "tipo", jsonx_str(db_get(r, i, 2)));
        json_object_object_add(actor, "id", jsonx_id(db_get(r, i, 3)));
        json_object_object_add(actor, "nombre", jsonx_str(db_get(r, i, 4)));
        json_object_object_add(o, "actor", actor);
        json_object_object_add(o, "accion", jsonx_str(db_get(r, i, 5)));
        json_object_object_add(obj, "tipo", jsonx_str(db_get(r, i, 6)));
        json_object_object_add(obj, "id", jsonx_id(db_get(r, i, 7)));
        json_object_object_add(obj, "chat_id", jsonx_id(db_get(r, i, 8)));
        json_object_object_add(o, "objeto", obj);
        json_object_object_add(o, "antes", audit_jsonb(db_get(r, i, 9)));
        json_object_object_add(o, "despues", audit_jsonb(db_get(r, i, 10)));
        json_object_object_add(o, "solicitud", jsonx_str(db_get(r, i, 11)));
        json_object_object_add(o, "ip", jsonx_str(db_get(r, i, 12)));
        json_object_array_add(arr, o);
    }
    *next = *hay_mas && n > 0 ? db_get_ll(r, n - 1, 0) : 0;
    *out_array = arr;
    return 0;
}

static const char audit_sql_chat[] =
    "SELECT id, tipo, " "CASE WHEN tipo = 'grupo' THEN nombre END, deleted_at IS NOT NULL"
    " FROM chats WHERE id = $1";

static const char audit_sql_conv[] =
    "WITH pivot AS (SELECT CASE WHEN $2::bigint IS NOT NULL THEN $2::bigint"
    "   ELSE coalesce((SELECT max(id) FROM mensajes WHERE chat_id = $1 AND created_at <= $3::timestamptz), 0)"
    "   END AS id),"
    " a AS (SELECT m.id FROM mensajes m, pivot WHERE m.chat_id = $1 AND m.id <= pivot.id"
    "   ORDER BY m.id DESC LIMIT $4::int),"
    " b AS (SELECT m.id FROM mensajes m, pivot WHERE m.chat_id = $1 AND m.id > pivot.id"
    "   ORDER BY m.id LIMIT $4::int)"
    " SELECT m.id, m.autor_id, " USR_SHOWN_NOMBRE("au") ", m.tipo,"
    "  CASE WHEN m.deleted_at IS NULL THEN m.contenido END,"
    "  md.id, md.nombre, md.mime, m.created_at, m.editado_at, m.deleted_at IS NOT NULL, m.deleted_at,"
    "  m.eliminado_por, " USR_SHOWN_NOMBRE("eu") ","
    "  CASE WHEN m.deleted_at IS NOT NULL THEN m.contenido END, (SELECT id FROM pivot)"
    " FROM (SELECT id FROM a UNION ALL SELECT id FROM b) x JOIN mensajes m ON m.id = x.id"
    " LEFT JOIN usuarios au ON au.id = m.autor_id"
    " LEFT JOIN usuarios eu ON eu.id = m.eliminado_por"
    " LEFT JOIN media md ON md.id = m.media_id"
    " ORDER BY m.id";

static json_object *audit_person(const PGresult *r, int i, int col)
{
    if (!db_get(r, i, col))
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", jsonx_id(db_get(r, i, col)));
    json_object_object_add(o, "nombre", jsonx_str(db_get(r, i, col + 1)));
    return o;
}

int audit_conversation(struct db *d, struct arena *a, long long chat_id, long long alrededor,
                       const char *en, int limite, json_object **out, struct err *e)
{
    if (!alrededor && (!en || !audit_ts_check(en)))
        return err_set(e, ERR_INVALID, "alrededor (un id de mensaje) o en (fecha ISO-8601) es obligatorio");
    const char *params[4] = { db_ll(a, chat_id), alrededor ? db_ll(a, alrededor) : NULL,
                              alrededor ? NULL : en, db_ll(a, limite > 0 ? limite : 25) };
    PGresult *c = db_exec(d, a, audit_sql_chat, 1, params, e);
    if (!c)
        return -1;
    if (PQntuples(c) == 0)
        return err_set(e, ERR_NOT_FOUND, "Chat no encontrado");
    PGresult *r = db_exec(d, a, audit_sql_conv, 4, params, e);
    if (!r)
        return -1;
    json_object *o = jsonx_own(a, json_object_new_object());
    json_object *chat = json_object_new_object();
    json_object_object_add(chat, "id", jsonx_id(db_get(c, 0, 0)));
    json_object_object_add(chat, "tipo", jsonx_str(db_get(c, 0, 1)));
    json_object_object_add(chat, "nombre", jsonx_str(db_get(c, 0, 2)));
    json_object_object_add(chat, "eliminado", json_object_new_boolean(db_get_bool(c, 0, 3)));
    json_object_object_add(o, "chat", chat);
    json_object *arr = json_object_new_array();
    long long centro = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "id", jsonx_id(db_get(r, i, 0)));
        json_object_object_add(m, "autor", audit_person(r, i, 1));
        json_object_object_add(m, "tipo", jsonx_str(db_get(r, i, 3)));
        json_object_object_add(m, "contenido", jsonx_str(db_get(r, i, 4)));
        json_object *media = NULL;
        if (db_get(r, i, 5)) {
            media = json_object_new_object();
            json_object_object_add(media, "id", jsonx_id(db_get(r, i, 5)));
            json_object_object_add(media, "nombre", jsonx_str(db_get(r, i, 6)));
            json_object_object_add(media, "mime", jsonx_str(db_get(r, i, 7)));
        }
        json_object_object_add(m, "media", media);
        json_object_object_add(m, "created_at", jsonx_ts(db_get(r, i, 8)));
        json_object_object_add(m, "editado_at", jsonx_ts(db_get(r, i, 9)));
        json_object_object_add(m, "eliminado", json_object_new_boolean(db_get_bool(r, i, 10)));
        json_object_object_add(m, "eliminado_at", jsonx_ts(db_get(r, i, 11)));
        json_object_object_add(m, "eliminado_por", audit_person(r, i, 12));
        json_object_object_add(m, "contenido_conservado", jsonx_str(db_get(r, i, 14)));
        centro = db_get_ll(r, i, 15);
        json_object_array_add(arr, m);
    }
    json_object_object_add(o, "centro_id", centro ? json_object_new_int64(centro) : NULL);
    json_object_object_add(o, "mensajes", arr);
    *out = o;
    return 0;
}
