/* retention.c: legal holds, per-chat retention policy and the retention
 * run. */
#include "domain/retention.h"

#include <stdio.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "domain/audit.h"
#include "domain/evt.h"

/* Setting a hold takes this lock exclusively; each retention batch takes
 * it shared, so once a hold is committed no batch already past its check
 * can still delete what the hold covers. */
#define RETENTION_LOCK "hashtext('chat-retencion')"

static const char ret_sql_lock_excl[] = "SELECT pg_advisory_xact_lock(" RETENTION_LOCK ")";
static const char ret_sql_lock_shared[] = "SELECT pg_advisory_xact_lock_shared(" RETENTION_LOCK ")";

#define RET_CHAT_JSON(T)                                                                \
    "json_build_object('conservar', " T ".conservar, 'motivo', " T ".conservar_motivo," \
    " 'mensajes_dias', " T ".retencion_mensajes_dias, 'media_dias', " T ".retencion_media_dias)::text"

static const char ret_sql_chat[] =
    "WITH old AS (SELECT id, conservar, conservar_motivo, retencion_mensajes_dias,"
    "  retencion_media_dias FROM chats WHERE id = $1 FOR NO KEY UPDATE)"
    " UPDATE chats c SET"
    "  conservar = CASE WHEN $2::boolean THEN $3::boolean ELSE c.conservar END,"
    "  conservar_motivo = CASE WHEN $2::boolean THEN $4 ELSE c.conservar_motivo END,"
    "  retencion_mensajes_dias = CASE WHEN $5::boolean THEN NULLIF($6::int, -1)"
    "                                 ELSE c.retencion_mensajes_dias END,"
    "  retencion_media_dias = CASE WHEN $7::boolean THEN NULLIF($8::int, -1)"
    "                              ELSE c.retencion_media_dias END"
    " FROM old WHERE c.id = old.id"
    " RETURNING " RET_CHAT_JSON("old") ", " RET_CHAT_JSON("c");

static int ret_motivo_check(const char *motivo, bool required, struct err *e)
{
    if (!motivo) {
        if (required)
            return err_set(e, ERR_INVALID, "motivo es obligatorio al conservar");
        return 0;
    }
    long n = jsonx_utf8_chars(motivo);
    if (n < 1 || n > 2000 || strspn(motivo, " \t\r\n") == strlen(motivo))
        return err_set(e, ERR_INVALID, "motivo debe tener de 1 a 2000 caracteres");
    return 0;
}

/* Audits a change (only when antes and despues differ) and commits. */
static int ret_audit_commit(struct db *d, struct arena *a, const struct principal *by,
                            const char *accion, const struct audit_obj *obj,
                            json_object *antes, json_object *despues, struct err *e)
{
    if (strcmp(jsonx_text(a, antes), jsonx_text(a, despues)) != 0 &&
        audit_add(d, a, by, accion, obj, antes, despues, e) < 0)
        return -1;
    return db_commit(d, e);
}

int retention_chat_set(struct db *d, struct arena *a, const struct principal *by,
                       long long chat_id, const struct retention_chat_in *in,
                       json_object **out, struct err *e)
{
    int ret = -1;
    if (in->has_conservar && ret_motivo_check(in->motivo, in->conservar, e) < 0)
        return -1;
    if ((in->has_mensajes && (in->mensajes_dias < -1 || in->mensajes_dias > 36500)) ||
        (in->has_media && (in->media_dias < -1 || in->media_dias > 36500)))
        return err_set(e, ERR_INVALID, "los días van de 0 (siempre) a 36500, o null");
    if (!in->has_conservar && !in->has_mensajes && !in->has_media)
        return err_set(e, ERR_INVALID, "nada que cambiar: conservar, mensajes_dias o media_dias");
    if (db_begin(d, e) < 0)
        return -1;
    const char *params[8] = {
        db_ll(a, chat_id), in->has_conservar ? "true" : "false", in->conservar ? "true" : "false",
        in->motivo, in->has_mensajes ? "true" : "false", db_ll(a, in->mensajes_dias),
        in->has_media ? "true" : "false", db_ll(a, in->media_dias),
    };
    if (!db_exec(d, a, ret_sql_lock_excl, 0, NULL, e))
        goto cleanup;
    PGresult *r = db_exec(d, a, ret_sql_chat, 8, params, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 0) {
        err_set(e, ERR_NOT_FOUND, "Chat no encontrado");
        goto cleanup;
    }
    json_object *antes = jsonx_own(a, json_tokener_parse(db_get(r, 0, 0)));
    json_object *desp = jsonx_own(a, json_tokener_parse(db_get(r, 0, 1)));
    struct audit_obj obj = { "chat", chat_id, chat_id };
    if (ret_audit_commit(d, a, by, "retencion.chat", &obj, antes, desp, e) < 0)
        goto cleanup;
    json_object *o = jsonx_own(a, json_tokener_parse(db_get(r, 0, 1)));
    json_object_object_add(o, "chat_id", json_object_new_int64(chat_id));
    *out = o;
    ret = 0;
cleanup:
    if (ret < 0 && d->depth)
        db_rollback(d);
    return ret;
}

static const char ret_sql_user[] =
    "WITH old AS (SELECT id, conservar, conservar_motivo FROM usuarios WHERE id_erp = $1 FOR UPDATE)"
    " UPDATE usuarios u SET conservar = $2::boolean, conservar_motivo = $3"
    " FROM old WHERE u.id = old.id"
    " RETURNING u.id, json_build_object('conservar', old.conservar, 'motivo', old.conservar_motivo)::text,"
    "  json_build_object('conservar', u.conservar, 'motivo', u.conservar_motivo)::text";

int retention_user_set(struct db *d, struct arena *a, const struct principal *by,
                       const char *id_erp, bool conservar, const char *motivo,
                       json_object **out, struct err *e)
{
    int ret = -1;
    if (ret_motivo_check(motivo, conservar, e) < 0 || db_begin(d, e) < 0)
        return -1;
    const char *params[3] = { id_erp, conservar ? "true" : "false", motivo };
    if (!db_exec(d, a, ret_sql_lock_excl, 0, NULL, e))
        goto cleanup;
    PGresult *r = db_exec(d, a, ret_sql_user, 3, params, e);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 0) {
        err_set(e, ERR_NOT_FOUND, "Usuario no encontrado");
        goto cleanup;
    }
    long long id = db_get_ll(r, 0, 0);
    json_object *antes = jsonx_own(a, json_tokener_parse(db_get(r, 0, 1)));
    json_object *desp = jsonx_own(a, json_tokener_parse(db_get(r, 0, 2)));
    json_object_object_add(antes, "id_erp", json_object_new_string(id_erp));
    json_object_object_add(desp, "id_erp", json_object_new_string(id_erp));
    struct audit_obj obj = { "usuario", id, 0 };
    if (ret_audit_commit(d, a, by, "retencion.usuario", &obj, antes, desp, e) < 0)
        goto cleanup;
    json_object *o = jsonx_own(a, json_tokener_parse(db_get(r, 0, 2)));
    json_object_object_add(o, "id_erp", json_object_new_string(id_erp));
    json_object_object_add(o, "usuario_id", json_object_new_int64(id));
    *out = o;
    ret = 0;
cleanup:
    if (ret < 0 && d->depth)
        db_rollback(d);
    return ret;
}

/* ---- the retention run ---------------------------------------------------- */

/* Chats with messages past their policy. The candidates come from the
 * messages older than the shortest policy in force (the created_at BRIN
 * index reads only the old end of the table); each chat's own cutoff is
 * then checked. */
#define RET_CANDIDATES(COL, EXTRA)                                                        \
    "WITH lim AS (SELECT min(x) AS d FROM (SELECT NULLIF($1::int, 0) UNION ALL"           \
    "   SELECT " COL " FROM chats WHERE " COL " > 0) t(x)),"                                \
    " cand AS (SELECT DISTINCT m.chat_id FROM mensajes m " EXTRA ", lim"                  \
    "   WHERE lim.d IS NOT NULL AND m.created_at < now() - make_interval(days => lim.d))"  \
    " SELECT c.id, coalesce(c." COL ", $1::int) FROM chats c JOIN cand ON cand.chat_id = c.id" \
    " WHERE coalesce(c." COL ", $1::int) > 0 AND NOT chat_retenido(c.id) ORDER BY c.id"

static const char ret_sql_chats_msgs[] = RET_CANDIDATES("retencion_mensajes_dias", "");

/* One batch; the hold is checked again under the shared lock. */
static const char ret_sql_del_msgs[] =
    "WITH del AS (DELETE FROM mensajes WHERE id IN ("
    "   SELECT id FROM mensajes WHERE chat_id = $1 AND created_at < now() - make_interval(days => $2::int)"
    "    ORDER BY id LIMIT $3::int)"
    "  AND NOT chat_retenido($1) RETURNING id)"
    " SELECT count(*), min(id), max(id) FROM del";

static const char ret_sql_chats_media[] =
    RET_CANDIDATES("retencion_media_dias",
                   "JOIN media md ON md.id = m.media_id AND md.purged_at IS NULL");

/* Media of a chat's old messages, unless another holder keeps it (a held
 * chat's message, an announcement, a chat image). */
static const char ret_sql_media[] =
    "SELECT DISTINCT md.id, md.storage_key FROM mensajes m JOIN media md ON md.id = m.media_id"
    " WHERE m.chat_id = $1 AND md.purged_at IS NULL"
    "   AND m.created_at < now() - make_interval(days => $2::int)"
    "   AND NOT EXISTS (SELECT 1 FROM mensajes x WHERE x.media_id = md.id AND chat_retenido(x.chat_id))"
    "   AND NOT EXISTS (SELECT 1 FROM comunicados co WHERE co.media_id = md.id AND co.deleted_at IS NULL)"
    "   AND NOT EXISTS (SELECT 1 FROM chats ci WHERE ci.imagen_media_id = md.id)"
    " ORDER BY md.id LIMIT $3::int";

/* Announcements past their policy that no hold covers (author or a
 * recipient under hold). */
static const char ret_sql_del_com[] =
    "WITH del AS (DELETE FROM comunicados WHERE id IN ("
    "   SELECT co.id FROM comunicados co WHERE co.created_at < now() - make_interval(days => $1::int)"
    "    AND NOT EXISTS (SELECT 1 FROM usuarios u WHERE u.id = co.autor_id AND u.conservar)"
    "    AND NOT EXISTS (SELECT 1 FROM comunicado_destinatarios cd JOIN usuarios u ON u.id = cd.usuario_id"
    "                     WHERE cd.comunicado_id = co.id AND u.conservar)"
    "    ORDER BY co.id LIMIT $2::int) RETURNING id)"
    " SELECT count(*), coalesce(json_agg(id ORDER BY id), '[]')::text FROM del";

/* Events of one chat older than its message cutoff, in slices, moving the
 * pruned mark (eventos_poda) like the age-based prune: a sync cursor from
 * before them then gets 409 and the client reloads, so it never keeps
 * messages that are gone. */
static const char ret_sql_eventos[] =
    EVT_SQL_PRUNE("chat_id = $1 AND created_at < now() - make_interval(days => $2::int)", "$3");

/* Runs one batch statement and its audit row in a short transaction under
 * the shared hold lock. *r_out is the statement's result. */
static int ret_batch(struct db *d, struct arena *a, const char *sql, int n, const char *const *params,
                     PGresult **r_out, struct err *e)
{
    if (db_begin(d, e) < 0)
        return -1;
    if (!db_exec(d, a, ret_sql_lock_shared, 0, NULL, e) ||
        !(*r_out = db_exec(d, a, sql, n, params, e))) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

static int ret_poda_audit(struct db *d, struct arena *a, const char *tipo, long long id,
                          long long chat_id, json_object *despues, struct err *e)
{
    struct audit_obj obj = { tipo, id, chat_id };
    if (audit_add(d, a, NULL, "retencion.poda", &obj, NULL, despues, e) < 0 ||
        db_commit(d, e) < 0) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

static int ret_chat_messages(struct db *d, struct arena *a, long long chat_id, int days,
                             int batch, struct retention_counts *out, struct err *e)
{
    for (;;) {
        const char *params[3] = { db_ll(a, chat_id), db_ll(a, days), db_ll(a, batch) };
        PGresult *r;
        if (ret_batch(d, a, ret_sql_del_msgs, 3, params, &r, e) < 0)
            return -1;
        long long n = db_get_ll(r, 0, 0);
        if (n == 0) {
            db_rollback(d);
            break;
        }
        json_object *desp = jsonx_own(a, json_object_new_object());
        json_object_object_add(desp, "mensajes", json_object_new_int64(n));
        json_object_object_add(desp, "desde_id", jsonx_id(db_get(r, 0, 1)));
        json_object_object_add(desp, "hasta_id", jsonx_id(db_get(r, 0, 2)));
        json_object_object_add(desp, "dias", json_object_new_int(days));
        if (ret_poda_audit(d, a, "chat", chat_id, chat_id, desp, e) < 0)
            return -1;
        out->mensajes += n;
        if (n < batch)
            break;
    }
    /* the chat's events from before the cutoff: autocommit slices */
    for (;;) {
        const char *params[3] = { db_ll(a, chat_id), db_ll(a, days), db_ll(a, 10000) };
        PGresult *r = db_exec(d, a, ret_sql_eventos, 3, params, e);
        if (!r)
            return -1;
        long long n = db_get_ll(r, 0, 0);
        out->eventos += n;
        if (n < 10000)
            return 0;
    }
}

static int ret_chat_media(struct db *d, struct arena *a, struct media_store *s, long long chat_id,
                          int days, int batch, struct retention_counts *out, struct err *e)
{
    for (;;) {
        const char *params[3] = { db_ll(a, chat_id), db_ll(a, days), db_ll(a, batch) };
        PGresult *r;
        if (ret_batch(d, a, ret_sql_media, 3, params, &r, e) < 0)
            return -1;
        /* the list is taken under the lock, the files go outside any
         * transaction (media_purge_file marks each row as it goes) */
        db_rollback(d);
        int n = PQntuples(r);
        long long purged = 0;
        json_object *ids = json_object_new_array();
        for (int i = 0; i < n; i++) {
            struct err one = { ERR_NONE, "" };
            long long id = db_get_ll(r, i, 0);
            if (media_purge_file(d, a, s, id, db_get(r, i, 1), &one) == 0) {
                purged++;
                json_object_array_add(ids, json_object_new_int64(id));
            }
        }
        json_object *desp = jsonx_own(a, json_object_new_object());
        json_object_object_add(desp, "media", json_object_new_int64(purged));
        json_object_object_add(desp, "media_ids", ids);
        json_object_object_add(desp, "dias", json_object_new_int(days));
        if (purged > 0 && (db_begin(d, e) < 0 || ret_poda_audit(d, a, "chat", chat_id, chat_id,
                                                                 desp, e) < 0))
            return -1;
        out->media += purged;
        /* a file that could not go is retried at the next run, not now */
        if (n < batch || purged == 0)
            return 0;
    }
}

static int ret_comunicados(struct db *d, struct arena *a, int days, int batch,
                           struct retention_counts *out, struct err *e)
{
    for (;;) {
        const char *params[2] = { db_ll(a, days), db_ll(a, batch) };
        PGresult *r;
        if (ret_batch(d, a, ret_sql_del_com, 2, params, &r, e) < 0)
            return -1;
        long long n = db_get_ll(r, 0, 0);
        if (n == 0) {
            db_rollback(d);
            return 0;
        }
        json_object *desp = jsonx_own(a, json_object_new_object());
        json_object_object_add(desp, "comunicados", json_object_new_int64(n));
        json_object_object_add(desp, "comunicado_ids", json_tokener_parse(db_get(r, 0, 1)));
        json_object_object_add(desp, "dias", json_object_new_int(days));
        if (ret_poda_audit(d, a, "comunicado", 0, 0, desp, e) < 0)
            return -1;
        out->comunicados += n;
        if (n < batch)
            return 0;
    }
}

int retention_run(struct db *d, struct arena *a, struct media_store *s,
                  const struct retention_policy *pol, struct retention_counts *out,
                  struct err *e)
{
    memset(out, 0, sizeof(*out));
    int batch = pol->batch > 0 ? pol->batch : 1000;
    /* messages, chat by chat (a chat's policy overrides the config's) */
    const char *params[1] = { db_ll(a, pol->mensajes_dias) };
    PGresult *r = db_exec(d, a, ret_sql_chats_msgs, 1, params, e);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        long long n0 = out->mensajes;
        if (ret_chat_messages(d, a, db_get_ll(r, i, 0), (int)db_get_ll(r, i, 1), batch, out, e) < 0)
            return -1;
        out->chats += out->mensajes > n0;
    }
    if (s) {
        params[0] = db_ll(a, pol->media_dias);
        r = db_exec(d, a, ret_sql_chats_media, 1, params, e);
        if (!r)
            return -1;
        for (int i = 0; i < PQntuples(r); i++)
            if (ret_chat_media(d, a, s, db_get_ll(r, i, 0), (int)db_get_ll(r, i, 1), batch, out, e) < 0)
                return -1;
    }
    if (pol->comunicados_dias > 0 && ret_comunicados(d, a, pol->comunicados_dias, batch, out, e) < 0)
        return -1;
    log_info("event=retention mensajes=%lld media=%lld comunicados=%lld chats=%lld eventos=%lld",
             out->mensajes, out->media, out->comunicados, out->chats, out->eventos);
    return 0;
}
