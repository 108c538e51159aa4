/* resumen.c: preferences and the unread e-mail digest: who gets one, what
 * it lists, and the send queue. */
#include "domain/resumen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "wire/mail.h"

/* ---- preferences --------------------------------------------------------- */

static const char resumen_sql_prefs_get[] = "SELECT resumen_correo FROM usuarios WHERE id = $1";
static const char resumen_sql_prefs_set[] =
    "UPDATE usuarios SET resumen_correo = $2::boolean, updated_at = now() WHERE id = $1"
    " RETURNING resumen_correo";

static int resumen_prefs_row(struct arena *a, PGresult *r, json_object **out, struct err *e)
{
    if (PQntuples(r) != 1)
        return err_set(e, ERR_NOT_FOUND, "Usuario no encontrado");
    json_object *o = jsonx_own(a, json_object_new_object());
    json_object_object_add(o, "resumen_correo", json_object_new_boolean(db_get_bool(r, 0, 0)));
    *out = o;
    return 0;
}

int resumen_prefs_get(struct db *d, struct arena *a, const struct principal *p,
                      json_object **out, struct err *e)
{
    const char *params[1] = { db_ll(a, p->id) };
    PGresult *r = db_exec(d, a, resumen_sql_prefs_get, 1, params, e);
    return r ? resumen_prefs_row(a, r, out, e) : -1;
}

int resumen_prefs_set(struct db *d, struct arena *a, const struct principal *p, bool resumen_correo,
                      json_object **out, struct err *e)
{
    const char *params[2] = { db_ll(a, p->id), resumen_correo ? "true" : "false" };
    PGresult *r = db_exec(d, a, resumen_sql_prefs_set, 2, params, e);
    return r ? resumen_prefs_row(a, r, out, e) : -1;
}

/* ---- composing ------------------------------------------------------------ */

/* A message that makes a digest due for member uc of user u: from someone
 * else, live, not sistema, unread and not yet listed, older than the
 * delay ($1 minutes), written after the user's last presence change. */
#define RESUMEN_DUE(M)                                                          \
    " " M ".id > greatest(uc.ultimo_leido_id, uc.resumen_hasta_id)"             \
    " AND " M ".deleted_at IS NULL AND " M ".tipo <> 'sistema'"                 \
    " AND " M ".autor_id IS DISTINCT FROM u.id"                                 \
    " AND " M ".created_at < now() - make_interval(mins => $1::int)"            \
    " AND (u.ultima_conexion IS NULL OR " M ".created_at > u.ultima_conexion)"

#define RESUMEN_USER_OK                                                         \
    " u.activo AND u.resumen_correo AND u.estatus = 'desconectado'"             \
    " AND u.email ~ '^[^[:space:]<>@\"]+@[^[:space:]<>@\"]+$'"                  \
    " AND ($2::boolean OR NOT (u.vacaciones AND (u.vacaciones_hasta IS NULL"    \
    "      OR u.vacaciones_hasta >= current_date)))"                             \
    " AND NOT EXISTS (SELECT 1 FROM resumen_envios re WHERE re.usuario_id = u.id" \
    "      AND re.created_at > now() - make_interval(mins => $1::int))"

static const char resumen_sql_due[] =
    "SELECT u.id FROM usuarios u WHERE" RESUMEN_USER_OK
    " AND EXISTS (SELECT 1 FROM usuarios_chat uc JOIN chats c ON c.id = uc.chat_id"
    "   AND c.deleted_at IS NULL WHERE uc.usuario_id = u.id AND NOT uc.silenciado"
    "   AND EXISTS (SELECT 1 FROM mensajes m WHERE m.chat_id = uc.chat_id AND" RESUMEN_DUE("m") "))"
    " ORDER BY u.id LIMIT $3";

/* The user again, locked (another composer skips it), still due. */
static const char resumen_sql_lock_user[] =
    "SELECT u.nombre, u.email FROM usuarios u WHERE u.id = $3 AND" RESUMEN_USER_OK
    " FOR UPDATE SKIP LOCKED";

/* The chats to list: name as the user sees it, unread count (capped as the
 * badge), the newest message id (what the digest covers), and the latest
 * three unread messages as JSON [{autor, tipo, texto}]. */
static const char resumen_sql_chats[] =
    "SELECT c.id, CASE WHEN c.tipo = 'grupo' THEN c.nombre ELSE"
    "  (SELECT " USR_SHOWN_NOMBRE("o") " FROM usuarios o WHERE o.id ="
    "   CASE WHEN c.directo_a = u.id THEN c.directo_b ELSE c.directo_a END) END,"
    " (SELECT count(*) FROM (SELECT 1 FROM mensajes nm WHERE nm.chat_id = c.id"
    "   AND nm.id > uc.ultimo_leido_id AND nm.autor_id IS DISTINCT FROM u.id"
    "   AND nm.deleted_at IS NULL AND nm.tipo <> 'sistema' LIMIT 9999) x),"
    " (SELECT max(mx.id) FROM mensajes mx WHERE mx.chat_id = c.id),"
    " (SELECT json_agg(json_build_object('autor', z.autor, 'tipo', z.tipo, 'texto', z.texto)"
    "   ORDER BY z.id)::text FROM (SELECT lm.id, lm.tipo,"
    "    (SELECT " USR_SHOWN_NOMBRE("au") " FROM usuarios au WHERE au.id = lm.autor_id) AS autor,"
    "    left(coalesce(nullif(lm.contenido, ''), md.nombre, ''), 160) AS texto"
    "    FROM mensajes lm LEFT JOIN media md ON md.id = lm.media_id"
    "    WHERE lm.chat_id = c.id AND lm.id > uc.ultimo_leido_id AND lm.autor_id IS DISTINCT FROM u.id"
    "    AND lm.deleted_at IS NULL AND lm.tipo <> 'sistema' ORDER BY lm.id DESC LIMIT 3) z)"
    " FROM usuarios u JOIN usuarios_chat uc ON uc.usuario_id = u.id"
    " JOIN chats c ON c.id = uc.chat_id AND c.deleted_at IS NULL"
    " WHERE u.id = $3 AND $2::boolean IS NOT NULL AND NOT uc.silenciado"
    "  AND EXISTS (SELECT 1 FROM mensajes m WHERE m.chat_id = uc.chat_id AND" RESUMEN_DUE("m") ")"
    " ORDER BY 4 DESC LIMIT 20";

static const char resumen_sql_insert[] =
    "INSERT INTO resumen_envios (usuario_id, destinatario, asunto, texto, html, chats, mensajes)"
    " VALUES ($1, $2, $3, $4, $5, $6::int, $7::int) RETURNING id";

static const char resumen_sql_covered[] =
    "UPDATE usuarios_chat SET resumen_hasta_id = greatest(resumen_hasta_id, x.hasta)"
    " FROM unnest($2::bigint[], $3::bigint[]) x(chat_id, hasta)"
    " WHERE usuarios_chat.usuario_id = $1 AND usuarios_chat.chat_id = x.chat_id";

/* A growing string in the arena. */
struct resumen_buf {
    struct arena *a;
    char *s;
    size_t len, cap;
};

static void resumen_add(struct resumen_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + n;
        char *ns = arena_alloc(b->a, cap);
        if (b->len)
            memcpy(ns, b->s, b->len);
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* What a message without text is shown as. */
static const char *resumen_label(const char *tipo, const char *texto)
{
    if (texto && *texto && strcmp(tipo, "encuesta") != 0)
        return NULL;
    if (strcmp(tipo, "imagen") == 0) return "📷 Imagen";
    if (strcmp(tipo, "audio") == 0) return "🎤 Audio";
    if (strcmp(tipo, "video") == 0) return "🎬 Video";
    if (strcmp(tipo, "documento") == 0) return "📎 Documento";
    if (strcmp(tipo, "encuesta") == 0) return "📊 Encuesta";
    return "";
}

/* Composes one user's digest inside the open transaction. *made is false
 * when the user was taken or no longer due. */
static int resumen_one(struct db *d, struct arena *a, const struct resumen_cfg *rc,
                       long long uid, bool *made, struct err *e)
{
    *made = false;
    const char *params[3] = { db_ll(a, rc->retraso_minutos), rc->en_vacaciones ? "true" : "false",
                              db_ll(a, uid) };
    PGresult *ru = db_exec(d, a, resumen_sql_lock_user, 3, params, e);
    if (!ru)
        return -1;
    if (PQntuples(ru) == 0)
        return 0;
    PGresult *r = db_exec(d, a, resumen_sql_chats, 3, params, e);
    if (!r)
        return -1;
    int nchats = PQntuples(r);
    if (nchats == 0)
        return 0;
    const char *nombre = db_get(ru, 0, 0), *email = db_get(ru, 0, 1);
    struct resumen_buf t = { .a = a }, h = { .a = a };
    long long total = 0;
    long long *cids = arena_alloc(a, sizeof(long long) * (size_t)nchats);
    long long *hasta = arena_alloc(a, sizeof(long long) * (size_t)nchats);
    for (int i = 0; i < nchats; i++)
        total += db_get_ll(r, i, 2);
    resumen_add(&t, arena_printf(a, "Hola, %s:\n\nTienes mensajes sin leer en el chat.\n", nombre));
    resumen_add(&h, arena_printf(a,
        "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"></head>"
        "<body style=\"font-family:sans-serif;color:#222\"><p>Hola, %s:</p>"
        "<p>Tienes mensajes sin leer en el chat.</p>", mail_html_escape(a, nombre)));
    for (int i = 0; i < nchats; i++) {
        cids[i] = db_get_ll(r, i, 0);
        hasta[i] = db_get_ll(r, i, 3);
        const char *chat = db_get(r, i, 1) ? db_get(r, i, 1) : "Chat";
        long long n = db_get_ll(r, i, 2);
        const char *link = arena_printf(a, "%s/chat/?chat=%lld", rc->url_publica, cids[i]);
        const char *cuenta = n == 1 ? "1 mensaje sin leer" : arena_printf(a, "%lld mensajes sin leer", n);
        resumen_add(&t, arena_printf(a, "\n%s: %s\n", chat, cuenta));
        resumen_add(&h, arena_printf(a, "<h3 style=\"margin-bottom:4px\">%s <small style=\"color:#666\">"
                                        "(%s)</small></h3><ul style=\"margin-top:0\">",
                                     mail_html_escape(a, chat), cuenta));
        json_object *ex = db_get(r, i, 4) ? json_tokener_parse(db_get(r, i, 4)) : NULL;
        for (size_t k = 0; ex && k < json_object_array_length(ex); k++) {
            json_object *m = json_object_array_get_idx(ex, k), *v;
            const char *autor = json_object_object_get_ex(m, "autor", &v) && v ? json_object_get_string(v) : "";
            const char *tipo = json_object_object_get_ex(m, "tipo", &v) && v ? json_object_get_string(v) : "";
            const char *texto = json_object_object_get_ex(m, "texto", &v) && v ? json_object_get_string(v) : "";
            const char *label = resumen_label(tipo, texto);
            const char *shown = label ? (*texto ? arena_printf(a, "%s: %s", label, texto) : label) : texto;
            resumen_add(&t, arena_printf(a, "  %s: %s\n", autor, shown));
            resumen_add(&h, arena_printf(a, "<li><b>%s:</b> %s</li>", mail_html_escape(a, autor),
                                         mail_html_escape(a, shown)));
        }
        json_object_put(ex);
        resumen_add(&t, arena_printf(a, "  Abrir: %s\n", link));
        resumen_add(&h, arena_printf(a, "</ul><p><a href=\"%s\">Abrir la conversación</a></p>",
                                     mail_html_escape(a, link)));
    }
    const char *prefs = arena_printf(a, "%s/chat/?preferencias=1", rc->url_publica);
    resumen_add(&t, arena_printf(a, "\nEste resumen se envía cuando tienes mensajes sin leer por un"
                                    " tiempo. Para dejar de recibirlo: %s\n", prefs));
    resumen_add(&h, arena_printf(a, "<hr><p style=\"color:#666;font-size:small\">Este resumen se envía"
                                    " cuando tienes mensajes sin leer por un tiempo. <a href=\"%s\">"
                                    "Dejar de recibirlo</a></p></body></html>",
                                 mail_html_escape(a, prefs)));
    const char *asunto = total == 1 ? "Tienes 1 mensaje sin leer en el chat"
                         : arena_printf(a, "Tienes %lld mensajes sin leer en el chat", total);
    const char *ip[7] = { db_ll(a, uid), email, asunto, t.s, h.s, db_ll(a, nchats), db_ll(a, total) };
    const char *cp[3] = { db_ll(a, uid), db_ll_array(a, cids, (size_t)nchats),
                          db_ll_array(a, hasta, (size_t)nchats) };
    if (!db_exec(d, a, resumen_sql_insert, 7, ip, e) || !db_exec(d, a, resumen_sql_covered, 3, cp, e))
        return -1;
    *made = true;
    return 0;
}

int resumen_compose(struct db *d, struct arena *a, const struct resumen_cfg *rc, int max, int *n,
                    struct err *e)
{
    *n = 0;
    const char *params[3] = { db_ll(a, rc->retraso_minutos), rc->en_vacaciones ? "true" : "false",
                              db_ll(a, max) };
    PGresult *r = db_exec(d, a, resumen_sql_due, 3, params, e);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        bool made;
        if (db_begin(d, e) < 0)
            return -1;
        if (resumen_one(d, a, rc, db_get_ll(r, i, 0), &made, e) < 0 || db_commit(d, e) < 0) {
            db_rollback(d);
            return -1;
        }
        *n += made;
    }
    return 0;
}

/* ---- the send queue --------------------------------------------------------- */

static const char resumen_sql_claim[] =
    "UPDATE resumen_envios SET estado = 'enviando', intentos = intentos + 1,"
    " lease_until = now() + make_interval(secs => $1::int)"
    " WHERE id IN (SELECT id FROM resumen_envios"
    "   WHERE (estado = 'pendiente' AND next_attempt_at <= now())"
    "      OR (estado = 'enviando' AND lease_until < now())"
    "   ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, destinatario, asunto, texto, html,"
    "  extract(epoch FROM created_at)::bigint, intentos";

static const char resumen_sql_sent[] =
    "UPDATE resumen_envios SET estado = 'enviado', sent_at = now(), lease_until = NULL, error = NULL"
    " WHERE id = $1";

static const char resumen_sql_failed[] =
    "UPDATE resumen_envios SET lease_until = NULL, error = left($2, 500),"
    " estado = CASE WHEN intentos >= $3::int THEN 'fallido' ELSE 'pendiente' END,"
    " next_attempt_at = now() + make_interval(mins => least(60, power(2, intentos - 1)::int))"
    " WHERE id = $1";

int resumen_claim(struct db *d, struct arena *a, int lease_s, int max,
                  struct resumen_envio **out, int *n, struct err *e)
{
    const char *params[2] = { db_ll(a, lease_s), db_ll(a, max) };
    PGresult *r = db_exec(d, a, resumen_sql_claim, 2, params, e);
    if (!r)
        return -1;
    *n = PQntuples(r);
    struct resumen_envio *v = arena_alloc(a, sizeof(*v) * (size_t)(*n ? *n : 1));
    for (int i = 0; i < *n; i++) {
        v[i].id = db_get_ll(r, i, 0);
        v[i].destinatario = db_get(r, i, 1);
        v[i].asunto = db_get(r, i, 2);
        v[i].texto = db_get(r, i, 3);
        v[i].html = db_get(r, i, 4);
        v[i].created_epoch = db_get_ll(r, i, 5);
        v[i].intentos = (int)db_get_ll(r, i, 6);
    }
    *out = v;
    return 0;
}

int resumen_sent(struct db *d, struct arena *a, long long id, struct err *e)
{
    const char *params[1] = { db_ll(a, id) };
    return db_exec(d, a, resumen_sql_sent, 1, params, e) ? 0 : -1;
}

int resumen_failed(struct db *d, struct arena *a, long long id, const char *why, int max_intentos,
                   struct err *e)
{
    const char *params[3] = { db_ll(a, id), why ? why : "", db_ll(a, max_intentos) };
    return db_exec(d, a, resumen_sql_failed, 3, params, e) ? 0 : -1;
}
