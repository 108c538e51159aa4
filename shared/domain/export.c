/* export.c: streamed exports (NDJSON / CSV) for the ERP. */
#include "domain/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "domain/audit.h"

/* The record columns, the same for messages and announcements, in CSV
 * header order. Types drive the NDJSON output. The last, hidden column is
 * the media's storage key. */
enum ex_type { EX_TEXT, EX_INT, EX_BOOL };
static const struct {
    const char *name;
    enum ex_type type;
} ex_cols[] = {
    { "registro", EX_TEXT }, { "id", EX_INT }, { "chat_id", EX_INT }, { "chat_nombre", EX_TEXT },
    { "autor_id", EX_INT }, { "autor_id_erp", EX_TEXT }, { "autor_nombre", EX_TEXT },
    { "autor_email", EX_TEXT }, { "tipo", EX_TEXT }, { "titulo", EX_TEXT },
    { "contenido", EX_TEXT }, { "respuesta_a", EX_INT }, { "media_id", EX_INT },
    { "media_nombre", EX_TEXT }, { "media_mime", EX_TEXT }, { "media_tamano", EX_INT },
    { "media_url", EX_TEXT }, { "archivo", EX_TEXT }, { "created_at", EX_TEXT },
    { "editado_at", EX_TEXT }, { "eliminado", EX_BOOL }, { "eliminado_at", EX_TEXT },
    { "eliminado_por", EX_INT }, { "leido_at", EX_TEXT },
};
#define EX_NCOLS ((int)(sizeof(ex_cols) / sizeof(ex_cols[0])))
#define EX_COL_KEY EX_NCOLS

#define EX_TS(X) "to_char((" X ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* A person as the export shows them ($4: raw identity asked for, with a
 * reason). Without it a deactivated user stays masked, id_erp included:
 * an export leaves the company's systems. */
#define EX_PERSON(A)                                                                     \
    A ".id, CASE WHEN $4::boolean OR " A ".activo THEN " A ".id_erp END,"                \
    " CASE WHEN $4::boolean THEN " A ".nombre ELSE " USR_SHOWN_NOMBRE(A) " END,"        \
    " CASE WHEN $4::boolean THEN " A ".email ELSE " USR_SHOWN(A, "email") " END"

/* Media as a link, and ($5) its name inside the archive. */
#define EX_MEDIA                                                                           \
    " md.id, md.nombre, md.mime, md.tamano,"                                               \
    " CASE WHEN md.id IS NOT NULL AND md.purged_at IS NULL THEN '/chat/api/v1/media/' || md.id END," \
    " CASE WHEN $5::boolean AND md.id IS NOT NULL AND md.purged_at IS NULL THEN 'media/' || md.id"  \
    "  || '_' || left(regexp_replace(md.nombre, '[^A-Za-z0-9._-]', '_', 'g'), 100) END"

#define EX_RANGE(COL)                                                                      \
    " ($2::text IS NULL OR " COL " >= $2::timestamptz) AND ($3::text IS NULL OR " COL " <"  \
    " CASE WHEN length($3) = 10 THEN ($3::date + 1)::timestamptz"                          \
    "      ELSE $3::timestamptz + interval '1 microsecond' END)"

#define EX_MSG_COLS                                                                        \
    "SELECT 'mensaje', m.id, m.chat_id, c.nombre, " EX_PERSON("au") ", m.tipo, en.pregunta," \
    " m.contenido, m.respuesta_a," EX_MEDIA ", " EX_TS("m.created_at") ","                   \
    " " EX_TS("m.editado_at") ", m.deleted_at IS NOT NULL, " EX_TS("m.deleted_at") ","     \
    " m.eliminado_por, NULL::text, md.storage_key"                                          \
    " FROM mensajes m JOIN chats c ON c.id = m.chat_id"                                     \
    " LEFT JOIN usuarios au ON au.id = m.autor_id"                                          \
    " LEFT JOIN media md ON md.id = m.media_id"                                             \
    " LEFT JOIN encuestas en ON en.mensaje_id = m.id"

/* A chat: its messages oldest first, straight from the (chat_id, id)
 * index, no sort. */
#define EX_SQL_CHAT EX_MSG_COLS " WHERE m.chat_id = $1::bigint AND" EX_RANGE("m.created_at")

/* A person: what they wrote, and what reached the chats while they were
 * members (membership periods), then the announcements they wrote or
 * received. */
#define EX_SQL_USER                                                                         \
    "(" EX_MSG_COLS                                                                         \
    " WHERE m.chat_id IN (SELECT h.chat_id FROM usuarios_chat_historial h WHERE h.usuario_id = $1::bigint)" \
    "  AND (m.autor_id = $1::bigint OR EXISTS (SELECT 1 FROM usuarios_chat_historial h"    \
    "       WHERE h.chat_id = m.chat_id AND h.usuario_id = $1::bigint"                      \
    "         AND m.created_at >= h.joined_at AND (h.left_at IS NULL OR m.created_at <= h.left_at)))" \
    "  AND" EX_RANGE("m.created_at")                                                        \
    " ORDER BY m.chat_id, m.id)"                                                            \
    " UNION ALL "                                                                           \
    "(SELECT 'comunicado', co.id, NULL::bigint, NULL::text, " EX_PERSON("au") ", 'comunicado'," \
    " co.titulo, co.contenido, NULL::bigint," EX_MEDIA ", " EX_TS("co.created_at") ", NULL::text," \
    " co.deleted_at IS NOT NULL, " EX_TS("co.deleted_at") ", co.eliminado_por,"             \
    " " EX_TS("cd.leido_at") ", md.storage_key"                                             \
    " FROM comunicados co"                                                                  \
    " LEFT JOIN comunicado_destinatarios cd ON cd.comunicado_id = co.id AND cd.usuario_id = $1::bigint" \
    " LEFT JOIN usuarios au ON au.id = co.autor_id"                                         \
    " LEFT JOIN media md ON md.id = co.media_id"                                            \
    " WHERE (co.autor_id = $1::bigint OR cd.usuario_id IS NOT NULL) AND" EX_RANGE("co.created_at") \
    " ORDER BY co.id)"

static const char ex_sql_chat[] = EX_SQL_CHAT " ORDER BY m.chat_id DESC, m.id";
static const char ex_sql_user[] = EX_SQL_USER;

/* The distinct media files of the records (column numbers of ex_cols). */
#define EX_MEDIA_OF(SQL)                                                                    \
    "SELECT DISTINCT ON (x.media_id) x.media_id, x.storage_key, x.archivo, x.media_tamano"  \
    " FROM (" SQL ") x(registro, id, chat_id, chat_nombre, autor_id, autor_id_erp,"          \
    " autor_nombre, autor_email, tipo, titulo, contenido, respuesta_a, media_id, media_nombre," \
    " media_mime, media_tamano, media_url, archivo, created_at, editado_at, eliminado,"     \
    " eliminado_at, eliminado_por, leido_at, storage_key)"                                  \
    " WHERE x.archivo IS NOT NULL ORDER BY x.media_id"

static const char ex_sql_chat_media[] = EX_MEDIA_OF(EX_SQL_CHAT);
static const char ex_sql_user_media[] = EX_MEDIA_OF(EX_SQL_USER);

static const char ex_sql_chat_find[] = "SELECT id, tipo, nombre FROM chats WHERE id = $1";
static const char ex_sql_user_find[] = "SELECT id FROM usuarios WHERE id_erp = $1";

int export_prepare(struct db *d, struct arena *a, const struct principal *by,
                   struct export_req *r, struct err *e)
{
    if ((r->desde && !audit_ts_check(r->desde)) || (r->hasta && !audit_ts_check(r->hasta)))
        return err_set(e, ERR_INVALID, "desde y hasta deben ser fechas ISO-8601");
    if (r->identidad_real) {
        long n = r->motivo ? jsonx_utf8_chars(r->motivo) : -1;
        if (n < 1 || n > 2000 || strspn(r->motivo, " \t\r\n") == strlen(r->motivo))
            return err_set(e, ERR_INVALID, "identidad=real requiere un motivo (1 a 2000 caracteres)");
    }
    struct audit_obj obj = { NULL, 0, 0 };
    const char *params[1];
    PGresult *res;
    if (r->chat_id) {
        params[0] = db_ll(a, r->chat_id);
        res = db_exec(d, a, ex_sql_chat_find, 1, params, e);
        if (!res)
            return -1;
        if (PQntuples(res) == 0)
            return err_set(e, ERR_NOT_FOUND, "Chat no encontrado");
        obj = (struct audit_obj){ "chat", r->chat_id, r->chat_id };
    } else {
        params[0] = r->id_erp;
        res = db_exec(d, a, ex_sql_user_find, 1, params, e);
        if (!res)
            return -1;
        if (PQntuples(res) == 0)
            return err_set(e, ERR_NOT_FOUND, "Usuario no encontrado");
        obj = (struct audit_obj){ "usuario", db_get_ll(res, 0, 0), 0 };
    }
    json_object *desp = jsonx_own(a, json_object_new_object());
    json_object_object_add(desp, "formato", json_object_new_string(r->csv ? "csv" : "ndjson"));
    json_object_object_add(desp, "desde", jsonx_str(r->desde));
    json_object_object_add(desp, "hasta", jsonx_str(r->hasta));
    json_object_object_add(desp, "incluir_media", json_object_new_boolean(r->media_files));
    json_object_object_add(desp, "identidad_real", json_object_new_boolean(r->identidad_real));
    json_object_object_add(desp, "motivo", jsonx_str(r->motivo));
    if (r->id_erp)
        json_object_object_add(desp, "id_erp", json_object_new_string(r->id_erp));
    if (db_begin(d, e) < 0)
        return -1;
    if (audit_add(d, a, by, r->chat_id ? "exportacion.chat" : "exportacion.usuario", &obj, NULL,
                  desp, e) < 0 ||
        db_commit(d, e) < 0) {
        db_rollback(d);
        return -1;
    }
    if (!r->chat_id)
        r->usuario_id = obj.id;
    return 0;
}

/* ---- output formatting (a small buffer per record; nothing accumulates) --- */

struct ex_buf {
    char *p;
    size_t len, cap;
};

static int ex_put(struct ex_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

/* RFC 4180: quoted when it holds a comma, quote, CR or LF; quotes doubled.
 * A leading = + - @ gets a quote-protected apostrophe so a spreadsheet does
 * not run it as a formula. */
static int ex_csv_field(struct ex_buf *b, const char *v)
{
    if (!v)
        return 0;
    bool formula = v[0] && strchr("=+-@", v[0]) && !(v[0] == '-' && v[1] >= '0' && v[1] <= '9');
    bool quote = formula || strpbrk(v, ",\"\r\n") != NULL;
    if (!quote)
        return ex_put(b, v, strlen(v));
    if (ex_put(b, "\"", 1) < 0 || (formula && ex_put(b, "'", 1) < 0))
        return -1;
    for (const char *q = v; *q; q++)
        if ((*q == '"' && ex_put(b, "\"\"", 2) < 0) || (*q != '"' && ex_put(b, q, 1) < 0))
            return -1;
    return ex_put(b, "\"", 1);
}

static int ex_csv_row(struct ex_buf *b, const PGresult *r)
{
    for (int c = 0; c < EX_NCOLS; c++) {
        if (c && ex_put(b, ",", 1) < 0)
            return -1;
        const char *v = db_get(r, 0, c);
        if (ex_cols[c].type == EX_BOOL && v)
            v = v[0] == 't' ? "true" : "false";
        if (ex_csv_field(b, v) < 0)
            return -1;
    }
    return ex_put(b, "\r\n", 2);
}

static int ex_json_row(struct ex_buf *b, const PGresult *r)
{
    json_object *o = json_object_new_object();
    for (int c = 0; c < EX_NCOLS; c++) {
        const char *v = db_get(r, 0, c);
        json_object *j = NULL;
        if (v) {
            switch (ex_cols[c].type) {
            case EX_INT: j = jsonx_id(v); break;
            case EX_BOOL: j = json_object_new_boolean(v[0] == 't'); break;
            default: j = json_object_new_string(v); break;
            }
        }
        json_object_object_add(o, ex_cols[c].name, j);
    }
    size_t n;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    int ret = ex_put(b, s, n) < 0 || ex_put(b, "\n", 1) < 0 ? -1 : 0;
    json_object_put(o);
    return ret;
}

/* Streams sql's rows one at a time (single-row mode), handing each to
 * row(). On a failure midway the query is cancelled and drained so the
 * connection stays usable. */
static int ex_stream(struct db *d, const char *sql, const char *const *params,
                     int (*row)(void *ctx, const PGresult *r), void *ctx, struct err *e)
{
    PGconn *conn = d->conn;
    if (!PQsendQueryParams(conn, sql, 5, NULL, params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(conn)) {
        log_error("event=export_failed reason=\"%s\"", PQerrorMessage(conn));
        return err_set(e, ERR_INTERNAL, NULL);
    }
    int ret = 0;
    bool stopped = false;
    PGresult *r;
    while ((r = PQgetResult(conn))) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE && !stopped) {
            if (row(ctx, r) < 0) {
                /* the reader is gone: stop the server too */
                stopped = true;
                ret = err_set(e, ERR_UNAVAILABLE, "Exportación interrumpida");
                PGcancel *cn = PQgetCancel(conn);
                char buf[256];
                if (cn) {
                    PQcancel(cn, buf, sizeof(buf));
                    PQfreeCancel(cn);
                }
            }
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && !stopped) {
            log_error("event=export_failed reason=\"%s\"", PQresultErrorMessage(r));
            ret = err_set(e, ERR_INTERNAL, NULL);
        }
        PQclear(r);
    }
    return ret;
}

struct ex_ctx {
    const struct export_req *req;
    const struct export_sink *sink;
    struct ex_buf buf;
    long long rows;
};

static int ex_record(void *cv, const PGresult *r)
{
    struct ex_ctx *c = cv;
    c->buf.len = 0;
    if ((c->req->csv ? ex_csv_row(&c->buf, r) : ex_json_row(&c->buf, r)) < 0)
        return -1;
    c->rows++;
    return c->sink->out(c->sink->ctx, c->buf.p, c->buf.len);
}

static int ex_media(void *cv, const PGresult *r)
{
    struct ex_ctx *c = cv;
    return c->sink->media(c->sink->media_ctx, db_get_ll(r, 0, 0), db_get(r, 0, 1), db_get(r, 0, 2),
                       db_get_ll(r, 0, 3));
}

static const char ex_sql_begin[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

int export_run(struct db *d, struct arena *a, const struct export_req *r,
               const struct export_sink *sink, struct err *e)
{
    export_out_fn out = sink->out;
    void *ctx = sink->ctx;
    int ret = -1;
    bool user = r->chat_id == 0;
    long long subject = user ? r->usuario_id : r->chat_id;
    const char *params[5] = {
        db_ll(a, subject), r->desde, r->hasta,
        r->identidad_real ? "true" : "false", r->media_files ? "true" : "false",
    };
    struct ex_ctx c = { r, sink, { NULL, 0, 0 }, 0 };
    if (!db_exec(d, a, ex_sql_begin, 0, NULL, e))
        return -1;
    /* the first line says what this is */
    if (r->csv) {
        for (int i = 0; i < EX_NCOLS; i++)
            if ((i && ex_put(&c.buf, ",", 1) < 0) ||
                ex_put(&c.buf, ex_cols[i].name, strlen(ex_cols[i].name)) < 0)
                goto cleanup;
        if (ex_put(&c.buf, "\r\n", 2) < 0)
            goto cleanup;
    } else {
        json_object *h = json_object_new_object();
        json_object_object_add(h, "registro", json_object_new_string("exportacion"));
        json_object_object_add(h, user ? "usuario_id" : "chat_id", json_object_new_int64(subject));
        if (user)
            json_object_object_add(h, "id_erp", json_object_new_string(r->id_erp));
        json_object_object_add(h, "desde", jsonx_str(r->desde));
        json_object_object_add(h, "hasta", jsonx_str(r->hasta));
        json_object_object_add(h, "identidad_real", json_object_new_boolean(r->identidad_real));
        const char *s = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        int rc = ex_put(&c.buf, s, strlen(s));
        json_object_put(h);
        if (rc < 0 || ex_put(&c.buf, "\n", 1) < 0)
            goto cleanup;
    }
    if (out(ctx, c.buf.p, c.buf.len) < 0) {
        err_set(e, ERR_UNAVAILABLE, "Exportación interrumpida");
        goto cleanup;
    }
    if (ex_stream(d, user ? ex_sql_user : ex_sql_chat, params, ex_record, &c, e) < 0)
        goto cleanup;
    if (!r->csv) {
        char end[80];
        int n = snprintf(end, sizeof(end), "{\"registro\":\"fin\",\"total\":%lld}\n", c.rows);
        if (out(ctx, end, (size_t)n) < 0) {
            err_set(e, ERR_UNAVAILABLE, "Exportación interrumpida");
            goto cleanup;
        }
    }
    if (sink->media) {
        if (sink->records_done && sink->records_done(sink->media_ctx) < 0) {
            err_set(e, ERR_UNAVAILABLE, "Exportación interrumpida");
            goto cleanup;
        }
        if (ex_stream(d, user ? ex_sql_user_media : ex_sql_chat_media, params, ex_media, &c, e) < 0)
            goto cleanup;
    }
    log_info("event=export %s=%lld rows=%lld formato=%s media=%d", user ? "usuario" : "chat",
             subject, c.rows, r->csv ? "csv" : "ndjson", sink->media != NULL);
    ret = 0;
cleanup:
    free(c.buf.p);
    struct err ignored;
    db_exec(d, a, ret == 0 ? "COMMIT" : "ROLLBACK", 0, NULL, &ignored);
    return ret;
}
