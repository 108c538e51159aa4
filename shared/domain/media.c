/* media.c: media rows (create, authorise, attach, hide, purge), file
 * names and the Media JSON. */
#include "domain/media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonw.h"
#include "core/jsonx.h"
#include "core/log.h"

#define MEDIA_NAME_MAX 150

/* ---- names ------------------------------------------------------------ */

/* Decodes one UTF-8 code point at s (n bytes left); returns its length, or
 * 0 when the sequence is invalid (overlong, surrogate, truncated). */
static size_t media_utf8(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* Characters never kept in a name: controls, and the invisible ones that
 * can disguise an extension ("gpj.exe" shown as "exe.jpg"). */
static bool media_name_drop(unsigned cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x200E ||
           cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0xFEFF;
}

const char *media_clean_name(struct arena *a, const char *raw, const struct media_kind *k)
{
    const char *base = raw ? raw : "";
    for (const char *p = base; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t n = strlen(base);
    char *out = arena_alloc(a, n + MEDIA_NAME_MAX + 32);
    size_t o = 0;
    const unsigned char *s = (const unsigned char *)base;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        size_t len = media_utf8(s + i, n - i, &cp);
        if (len == 0) {
            out[o++] = '_';
            i++;
            continue;
        }
        if (!media_name_drop(cp)) {
            memcpy(out + o, s + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = '\0';
    /* no hidden-file names, no trailing dots or spaces (Windows drops them) */
    size_t lead = strspn(out, ". ");
    memmove(out, out + lead, o - lead + 1);
    o -= lead;
    while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '.'))
        out[--o] = '\0';
    /* the extension: after the last dot, short and alphanumeric */
    char ext[16] = "", ext_orig[16] = "";
    char *dot = strrchr(out, '.');
    if (dot && dot != out && strlen(dot + 1) < sizeof(ext) &&
        strspn(dot + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
            strlen(dot + 1)) {
        for (size_t i = 0; dot[1 + i]; i++)
            ext[i] = (char)((dot[1 + i] >= 'A' && dot[1 + i] <= 'Z') ? dot[1 + i] + 32 : dot[1 + i]);
        ext[strlen(dot + 1)] = '\0';
        memcpy(ext_orig, dot + 1, strlen(dot + 1) + 1);
        *dot = '\0';
        o = (size_t)(dot - out);
    }
    size_t room = MEDIA_NAME_MAX - (ext[0] ? strlen(ext) + 1 : 0);
    if (o > room) {
        o = room;
        while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80)
            o--;    /* cut at a character boundary */
        out[o] = '\0';
    }
    if (o == 0)
        o = (size_t)sprintf(out, "archivo");
    if (ext[0])
        o += (size_t)sprintf(out + o, ".%s", ext_orig);
    if (!media_ext_allowed(k, ext))
        sprintf(out + o, ".%s", k->ext);
    return out;
}

const char *media_disposition(struct arena *a, const char *mime, const char *nombre)
{
    bool inline_ = strcmp(media_tipo(mime), "documento") != 0;
    size_t n = strlen(nombre);
    char *ascii = arena_alloc(a, n + 1), *pct = arena_alloc(a, 3 * n + 1);
    size_t ao = 0, po = 0;
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)nombre[i];
        /* ASCII fallback: one '_' per non-ASCII character */
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '%')
            ascii[ao++] = (char)c;
        else if ((c & 0xC0) != 0x80)
            ascii[ao++] = '_';
        /* RFC 5987 attr-char, everything else percent-encoded */
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("!#$&+-.^_`|~", c)) {
            pct[po++] = (char)c;
        } else {
            pct[po++] = '%';
            pct[po++] = hex[c >> 4];
            pct[po++] = hex[c & 15];
        }
    }
    ascii[ao] = pct[po] = '\0';
    return arena_printf(a, "%s; filename=\"%s\"; filename*=UTF-8''%s",
                        inline_ ? "inline" : "attachment", ascii, pct);
}

/* ---- JSON --------------------------------------------------------------- */

void media_write(struct jsonw *w, const PGresult *r, int row, int col)
{
    const char *id = db_get(r, row, col);
    if (!id) {
        jsonw_null(w);
        return;
    }
    char url[64];
    snprintf(url, sizeof(url), "/chat/api/v1/media/%s", id);
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int_text(w, id);
    jsonw_key(w, "url");
    jsonw_str(w, url);
    jsonw_key(w, "mime");
    jsonw_str(w, db_get(r, row, col + 1));
    jsonw_key(w, "nombre");
    jsonw_str(w, db_get(r, row, col + 2));
    jsonw_key(w, "tamano");
    jsonw_int_text(w, db_get(r, row, col + 3));
    jsonw_key(w, "ancho");
    jsonw_int_text(w, db_get(r, row, col + 4));
    jsonw_key(w, "alto");
    jsonw_int_text(w, db_get(r, row, col + 5));
    jsonw_key(w, "duracion");
    const char *dur = db_get(r, row, col + 6);
    if (dur)
        jsonw_double(w, strtod(dur, NULL));
    else
        jsonw_null(w);
    jsonw_obj_end(w);
}

json_object *media_json(struct arena *a, const PGresult *r, int row, int col)
{
    if (!db_get(r, row, col))
        return NULL;
    struct jsonw w;
    jsonw_init(&w, a, 256);
    media_write(&w, r, row, col);
    return jsonx_own(a, json_tokener_parse(w.buf));
}

/* ---- rows --------------------------------------------------------------- */

static const char media_sql_insert[] =
    "INSERT INTO media AS m (uploader_id, storage_key, nombre, mime, tamano, ancho, alto,"
    "                        duracion, sha256)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, round($8::numeric, 3), $9)"
    " RETURNING " MEDIA_COLS;

int media_insert(struct db *d, struct arena *a, long long uploader, const char *key,
                 const char *nombre, const struct media_kind *k, long long tamano,
                 const char *sha256, json_object **out, struct err *e)
{
    const char *params[9] = {
        db_ll(a, uploader), key, nombre, k->mime, db_ll(a, tamano),
        k->ancho > 0 ? db_ll(a, k->ancho) : NULL, k->alto > 0 ? db_ll(a, k->alto) : NULL,
        k->duracion >= 0 ? arena_printf(a, "%.3f", k->duracion) : NULL, sha256,
    };
    PGresult *r = db_exec(d, a, media_sql_insert, 9, params, e);
    if (!r)
        return -1;
    *out = media_json(a, r, 0, 0);
    return 0;
}

/* Hidden: a deleted message (or one in a deleted chat) or a deleted
 * announcement holds it. Media are single-use, so nothing live can hold a
 * hidden one. $1 media id, $2 caller, $3 caller holds 567. */
static const char media_sql_file[] =
    "SELECT m.storage_key, m.mime, m.nombre, m.tamano"
    "  FROM media m"
    " WHERE m.id = $1 AND m.deleted_at IS NULL AND m.purged_at IS NULL"
    "   AND NOT EXISTS (SELECT 1 FROM mensajes x JOIN chats c ON c.id = x.chat_id"
    "                    WHERE x.media_id = m.id"
    "                      AND (x.deleted_at IS NOT NULL OR c.deleted_at IS NOT NULL))"
    "   AND NOT EXISTS (SELECT 1 FROM comunicados co"
    "                    WHERE co.media_id = m.id AND co.deleted_at IS NOT NULL)"
    "   AND (m.uploader_id = $2"
    "        OR EXISTS (SELECT 1 FROM mensajes x"
    "                     JOIN usuarios_chat uc ON uc.chat_id = x.chat_id AND uc.usuario_id = $2"
    "                    WHERE x.media_id = m.id)"
    "        OR EXISTS (SELECT 1 FROM chats c"
    "                     JOIN usuarios_chat uc ON uc.chat_id = c.id AND uc.usuario_id = $2"
    "                    WHERE c.imagen_media_id = m.id AND c.deleted_at IS NULL)"
    "        OR EXISTS (SELECT 1 FROM comunicados co"
    "                     JOIN comunicado_destinatarios cd"
    "                       ON cd.comunicado_id = co.id AND cd.usuario_id = $2"
    "                    WHERE co.media_id = m.id)"
    "        OR ($3 AND EXISTS (SELECT 1 FROM comunicados co WHERE co.media_id = m.id)))";

int media_get_file(struct db *d, struct arena *a, const struct principal *p, long long id,
                   struct media_file *out, struct err *e)
{
    const char *params[3] = { db_ll(a, id), db_ll(a, p->id),
                              usr_can(p, PERM_CREATE_ANNOUNCEMENT) ? "true" : "false" };
    PGresult *r = db_exec(d, a, media_sql_file, 3, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(e, ERR_NOT_FOUND, "Archivo no encontrado");
    out->id = id;
    out->storage_key = db_get(r, 0, 0);
    out->mime = db_get(r, 0, 1);
    out->nombre = db_get(r, 0, 2);
    out->tamano = db_get_ll(r, 0, 3);
    return 0;
}

static const char media_sql_lock[] =
    "SELECT uploader_id, mime FROM media"
    " WHERE id = $1 AND deleted_at IS NULL AND purged_at IS NULL FOR UPDATE";

/* A separate statement after the lock: in READ COMMITTED it sees the row
 * a concurrent claimer committed while we waited for the lock. */
static const char media_sql_used[] =
    "SELECT EXISTS (SELECT 1 FROM mensajes WHERE media_id = $1)"
    "    OR EXISTS (SELECT 1 FROM comunicados WHERE media_id = $1)"
    "    OR EXISTS (SELECT 1 FROM chats WHERE imagen_media_id = $1)";

int media_claim(struct db *d, struct arena *a, long long media_id, long long uploader,
                const char **tipo_out, struct err *e)
{
    if (d->depth == 0) {
        log_error("event=media_claim_outside_transaction media=%lld", media_id);
        return err_set(e, ERR_INTERNAL, NULL);
    }
    const char *params[1] = { db_ll(a, media_id) };
    PGresult *r = db_exec(d, a, media_sql_lock, 1, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0 || db_get_ll(r, 0, 0) != uploader)
        return err_set(e, ERR_INVALID, "media_id no válido");
    const char *tipo = media_tipo(db_get(r, 0, 1));
    r = db_exec(d, a, media_sql_used, 1, params, e);
    if (!r)
        return -1;
    if (db_get_bool(r, 0, 0))
        return err_set(e, ERR_CONFLICT, "Ese archivo ya fue enviado; súbalo de nuevo");
    *tipo_out = tipo;
    return 0;
}

static const char media_sql_discard[] =
    "UPDATE media SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL";

int media_discard(struct db *d, struct arena *a, long long media_id, struct err *e)
{
    const char *params[1] = { db_ll(a, media_id) };
    return db_exec(d, a, media_sql_discard, 1, params, e) ? 0 : -1;
}

static const char media_sql_discarded[] =
    "SELECT storage_key FROM media"
    " WHERE id = $1 AND deleted_at IS NOT NULL AND purged_at IS NULL";

static const char media_sql_purged[] =
    "UPDATE media SET purged_at = now(), deleted_at = coalesce(deleted_at, now())"
    " WHERE id = $1 AND purged_at IS NULL";

/* Removes the file first and marks the row after: a crash in between
 * leaves a row that the next prune purges again (a missing file counts as
 * removed), never a row marked purged whose file is still there. */
static int media_purge_one(struct db *d, struct arena *a, struct media_store *s, long long id,
                           const char *key, struct err *e)
{
    if (s->remove(s, key, e) < 0)
        return -1;
    const char *params[1] = { db_ll(a, id) };
    if (!db_exec(d, a, media_sql_purged, 1, params, e))
        return -1;
    log_info("event=media_purged media=%lld", id);
    return 0;
}

int media_purge_file(struct db *d, struct arena *a, struct media_store *s, long long media_id,
                     const char *key, struct err *e)
{
    return media_purge_one(d, a, s, media_id, key, e);
}

int media_purge(struct db *d, struct arena *a, struct media_store *s, long long media_id,
                struct err *e)
{
    const char *params[1] = { db_ll(a, media_id) };
    PGresult *r = db_exec(d, a, media_sql_discarded, 1, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return 0;
    return media_purge_one(d, a, s, media_id, db_get(r, 0, 0), e);
}

/* What prune removes, with a retention of $1 days (> 0): media discarded
 * longer ago than that, and media that nothing live holds (no live message
 * in a live chat, no live announcement, no live chat's image) since longer
 * than that: the latest moment one of its holders went (message or chat
 * deleted, announcement deleted), or its upload when nothing ever held it. */
static const char media_sql_prunable[] =
    "SELECT m.id, m.storage_key FROM media m"
    " WHERE m.purged_at IS NULL AND m.id > $3 AND $1 > 0"
    /* a legal hold keeps the files of its chats and of its users' announcements */
    "   AND NOT EXISTS (SELECT 1 FROM mensajes x WHERE x.media_id = m.id AND chat_retenido(x.chat_id))"
    "   AND NOT EXISTS (SELECT 1 FROM comunicados co JOIN usuarios u ON u.id = co.autor_id"
    "                    WHERE co.media_id = m.id AND u.conservar)"
    "   AND (m.deleted_at < now() - make_interval(days => $1)"
    "        OR (m.created_at < now() - make_interval(days => $1)"
    "            AND NOT EXISTS (SELECT 1 FROM mensajes x JOIN chats c ON c.id = x.chat_id"
    "                             WHERE x.media_id = m.id AND x.deleted_at IS NULL"
    "                               AND c.deleted_at IS NULL)"
    "            AND NOT EXISTS (SELECT 1 FROM comunicados co"
    "                             WHERE co.media_id = m.id AND co.deleted_at IS NULL)"
    "            AND NOT EXISTS (SELECT 1 FROM chats c"
    "                             WHERE c.imagen_media_id = m.id AND c.deleted_at IS NULL)"
    "            AND coalesce(greatest("
    "                  (SELECT max(least(x.deleted_at, c.deleted_at)) FROM mensajes x"
    "                     JOIN chats c ON c.id = x.chat_id WHERE x.media_id = m.id),"
    "                  (SELECT max(co.deleted_at) FROM comunicados co WHERE co.media_id = m.id),"
    "                  (SELECT max(c.deleted_at) FROM chats c WHERE c.imagen_media_id = m.id),"
    "                  m.deleted_at),"
    "                m.created_at) < now() - make_interval(days => $1)))"
    " ORDER BY m.id LIMIT $2";

#define MEDIA_PRUNE_BATCH 500

int media_prune(struct db *d, struct arena *a, struct media_store *s, int retention_days,
                long *purged, struct err *e)
{
    *purged = 0;
    long long after = 0;
    for (;;) {
        const char *params[3] = { db_ll(a, retention_days), db_ll(a, MEDIA_PRUNE_BATCH),
                                  db_ll(a, after) };
        PGresult *r = db_exec(d, a, media_sql_prunable, 3, params, e);
        if (!r)
            return -1;
        int n = PQntuples(r);
        for (int i = 0; i < n; i++) {
            long long id = db_get_ll(r, i, 0);
            struct err one = { ERR_NONE, "" };
            /* a file that cannot go now stays for the next run */
            if (media_purge_one(d, a, s, id, db_get(r, i, 1), &one) == 0)
                (*purged)++;
            after = id;
        }
        if (n < MEDIA_PRUNE_BATCH)
            return 0;
    }
}
