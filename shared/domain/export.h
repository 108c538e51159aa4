/* export.h: exports for the ERP (data-access requests, legal discovery):
 * a chat's messages, or everything one person wrote and received, as
 * NDJSON or CSV written through a callback row by row. Rows come from the
 * server in libpq's single-row mode inside one REPEATABLE READ READ ONLY
 * transaction, so memory stays flat whatever the size and the export is
 * one consistent snapshot. */
#ifndef CHAT_EXPORT_H
#define CHAT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/usr.h"

/* Where the bytes go: 0, or -1 when the reader is gone (the export stops). */
typedef int (*export_out_fn)(void *ctx, const char *buf, size_t len);

/* Called for each media file of the export when media is wanted: id,
 * storage key, the name it has inside the export ("media/<id>_<nombre>"),
 * size. 0, or -1 to stop. */
typedef int (*export_media_fn)(void *ctx, long long id, const char *key, const char *archivo,
                               long long tamano);

struct export_req {
    long long chat_id;          /* a chat's export, or */
    const char *id_erp;         /* a person's (chat_id 0) */
    const char *desde, *hasta;  /* ISO-8601 (audit_ts_check), NULL for open */
    bool csv;                   /* else NDJSON */
    bool identidad_real;        /* deactivated users unmasked (motivo required) */
    const char *motivo;
    bool media_files;           /* media as files inside the archive (archivo field) */
    long long usuario_id;       /* set by export_prepare for a person's export */
};

/* Checks r and resolves its subject (ERR_NOT_FOUND for an unknown chat or
 * user; deleted chats and deactivated users are exported), then writes the
 * audit row (exportacion.chat / exportacion.usuario, with the parameters
 * and motivo) in its own transaction. Call before sending anything. */
int export_prepare(struct db *d, struct arena *a, const struct principal *by,
                   struct export_req *r, struct err *e);

/* Where an export goes: out gets the records' bytes; then, when media is
 * given, records_done (may be NULL) is called once and media for each
 * media file the records name. */
struct export_sink {
    export_out_fn out;
    void *ctx;
    int (*records_done)(void *ctx);
    export_media_fn media;
    void *media_ctx;
};

/* Streams the export into sink. NDJSON: a first line describing the
 * export ({"registro":"exportacion",...}), then one {"registro":"mensaje"}
 * per message (oldest first) and, for a person, one
 * {"registro":"comunicado"} per announcement, and a last line
 * {"registro":"fin","total":N} (a file without it was cut short). CSV: a
 * header line and one line per record (RFC 4180 quoting). Returns 0, or -1 with e (output
 * already sent cannot be taken back: the caller cuts the response). */
int export_run(struct db *d, struct arena *a, const struct export_req *r,
               const struct export_sink *sink, struct err *e);

#endif
