/* media.h: uploaded files (API.md §4.7): where the bytes live (a small
 * storage interface with a local-folder backend), what they are (the type
 * decided from the bytes, image dimensions), the media rows (create,
 * authorise, attach, hide, purge) and the Media JSON.
 *
 * Life of a media row:
 *   upload (POST /media)   row + file; only the uploader may fetch it.
 *   attach (media_claim)   a media is single-use: it joins exactly one
 *                          message, announcement or chat image, chosen by
 *                          its uploader while still unattached. A second
 *                          use is 409 conflicto (upload again to resend:
 *                          each row then has its own lifetime, and hiding
 *                          one message never hides another one's file).
 *   hide                   deleting that message or announcement (or its
 *                          chat) hides the media from everyone, uploader
 *                          included; the file stays until prune.
 *                          (The holder must keep its media_id when it is
 *                          deleted: that link is what hides the media.)
 *   discard                media_discard hides a media by itself (a
 *                          replaced chat image); media_purge then removes
 *                          its file at once, after the commit.
 *   prune (chat-cron)      removes the file of a media hidden, discarded
 *                          or never attached for more than
 *                          media_retention_days (0: never) and sets
 *                          purged_at. */
#ifndef CHAT_MEDIA_H
#define CHAT_MEDIA_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/usr.h"

/* ---- storage --------------------------------------------------------- */

/* A place for the bytes. Keys are opaque, unguessable and never derived
 * from the client's file name; the local backend's are "ab/cd/<32 hex>"
 * (16 random bytes from the kernel, two levels of fan-out). Every op
 * returns 0 or -1 with e (ERR_INTERNAL, details logged). */
struct media_store {
    /* Creates an empty temporary file for an upload, open for reading and
     * writing; *path (arena) names it for put() or unlink(). */
    int (*tmp)(struct media_store *s, struct arena *a, const char **path, int *fd,
               struct err *e);
    /* Moves the finished temporary file into storage under a new key
     * (*key, arena). The temporary file is gone afterwards on success. */
    int (*put)(struct media_store *s, struct arena *a, const char *tmp_path,
               const char **key, struct err *e);
    /* Opens the stored bytes read-only; the caller closes *fd. A key that
     * does not exist is ERR_NOT_FOUND. */
    int (*open)(struct media_store *s, const char *key, int *fd, struct err *e);
    /* Removes the stored bytes; a key already gone counts as removed. */
    int (*remove)(struct media_store *s, const char *key, struct err *e);
    /* The absolute file name of key for the web server (X-Sendfile), in
     * the arena; NULL when the key is malformed. */
    const char *(*path)(struct media_store *s, struct arena *a, const char *key);
    /* Removes temporary files older than max_age seconds (left by a
     * crash); adds their number to *removed. */
    int (*sweep)(struct media_store *s, long max_age, long *removed, struct err *e);
    char *root;                 /* local: absolute media_dir, no trailing '/' */
};

/* The local-folder backend rooted at dir (created, with its tmp/ folder,
 * when missing). Files and folders are created 0666/0777 less the umask
 * (the systemd unit's UMask 0007 gives the web server's group read
 * access). Lives in the arena. NULL with e when dir cannot be created. */
struct media_store *media_store_local(struct arena *a, const char *dir, struct err *e);

/* True when key has the shape the local backend makes (so a key read from
 * the database can never name a file outside media_dir). */
bool media_key_valid(const char *key);

/* ---- what a file is ---------------------------------------------------- */

/* The type decided from a file's bytes. */
struct media_kind {
    const char *mime;           /* canonical MIME type (static) */
    const char *tipo;           /* imagen | audio | video | documento */
    const char *ext;            /* canonical extension, no dot */
    int ancho, alto;            /* pixels; 0 when unknown */
    double duracion;            /* seconds; < 0 when unknown */
};

/* Decides the type of the size bytes open at fd from the bytes alone,
 * against the allowed list: JPEG, PNG, GIF, WebP; MP3, M4A, OGG
 * (Opus/Vorbis/FLAC), WebM audio; MP4, QuickTime, WebM video; PDF; DOCX,
 * XLSX, PPTX (macro-free: a vbaProject.bin is refused); DOC, XLS, PPT.
 * client_ctype and client_name are the client's word and only break ties
 * the bytes leave open (a WebM with no recognisable track is video unless
 * declared as audio; an OLE2 file holding several Office streams follows
 * its extension). Anything else is ERR_MEDIA_TYPE. */
int media_sniff(int fd, long long size, const char *client_ctype, const char *client_name,
                struct media_kind *out, struct err *e);

/* Whether ext (lowercase, no dot) is a usual extension for k's type
 * ("jpeg" for image/jpeg...). */
bool media_ext_allowed(const struct media_kind *k, const char *ext);

/* The message tipo for a MIME type: imagen, audio, video or documento. */
const char *media_tipo(const char *mime);

/* A display name from the client's raw file name: the last path component,
 * valid UTF-8 with control and bidi-override characters removed, no
 * leading dots or spaces, at most 150 bytes with its extension kept, and
 * ending in an extension that matches k (else k->ext is appended: a PNG
 * sent as "x.exe" is named "x.exe.png"). Never empty. In the arena. */
const char *media_clean_name(struct arena *a, const char *raw, const struct media_kind *k);

/* The Content-Disposition value for a download: inline for images, audio
 * and video, attachment otherwise, with an ASCII filename= fallback and
 * the UTF-8 name as RFC 5987 filename*=. In the arena. */
const char *media_disposition(struct arena *a, const char *mime, const char *nombre);

/* ---- rows ------------------------------------------------------------- */

/* The columns media_json reads, in order, for a media row aliased A (a
 * string literal); MEDIA_COLS for the alias `m`. */
#define MEDIA_COLS_OF(A) \
    A ".id, " A ".mime, " A ".nombre, " A ".tamano, " A ".ancho, " A ".alto, " A ".duracion"
#define MEDIA_COLS MEDIA_COLS_OF("m")
#define MEDIA_NCOLS 7

/* The Media object of API.md §4 ({id, url, mime, nombre, tamano, ancho,
 * alto, duracion}) from MEDIA_COLS at column col of row, borrowed from a
 * (jsonx.h); json null (NULL) when the id column is NULL (no media). */
json_object *media_json(struct arena *a, const PGresult *r, int row, int col);

/* The same Media printed into w (the one projection; media_json reads it
 * back); json null when the id column is NULL. */
struct jsonw;
void media_write(struct jsonw *w, const PGresult *r, int row, int col);

/* Inserts the row of a stored upload and returns its Media object in *out
 * (arena-owned). duracion < 0 stores NULL; sha256 is the hex digest of the
 * bytes, or NULL. */
int media_insert(struct db *d, struct arena *a, long long uploader, const char *key,
                 const char *nombre, const struct media_kind *k, long long tamano,
                 const char *sha256, json_object **out, struct err *e);

/* What GET /media/{id} needs to hand the file to the web server. */
struct media_file {
    long long id;
    const char *storage_key, *mime, *nombre;
    long long tamano;
};

/* Loads media id if p may fetch it: its uploader, a member of a live chat
 * holding a live message with it (or using it as the chat image), a
 * recipient of a live announcement with it (or a holder of 567). A media
 * hidden by a deleted message, announcement or chat, discarded or purged
 * is ERR_NOT_FOUND for everyone, as is one p may not see. */
int media_get_file(struct db *d, struct arena *a, const struct principal *p, long long id,
                   struct media_file *out, struct err *e);

/* Attaching an upload, for POST /chats/{id}/mensajes, POST /comunicados
 * and PATCH /chats/{id} (imagen_media_id). Call inside the transaction
 * that inserts the row pointing at media_id, before that insert: locks the
 * media row until the commit, so two requests cannot both attach it.
 * Unknown, purged, discarded or someone else's media is ERR_INVALID
 * ("media_id no válido", no existence leak); one already attached to
 * anything (even deleted) is ERR_CONFLICT. *tipo_out (static) is the
 * message tipo: imagen, audio, video or documento (a chat image must be
 * "imagen": check it). */
int media_claim(struct db *d, struct arena *a, long long media_id, long long uploader,
                const char **tipo_out, struct err *e);

/* Marks media_id discarded (deleted_at: hidden from everyone, never
 * attachable again) inside the caller's transaction, e.g. the chat image a
 * PATCH replaces; then call media_purge after the commit to delete its
 * file at once (else prune removes it after media_retention_days). */
int media_discard(struct db *d, struct arena *a, long long media_id, struct err *e);

/* Deletes the file of a discarded media and sets purged_at (outside a
 * transaction, after the one that called media_discard committed). A
 * media that is not discarded or already purged is left alone (0). */
int media_purge(struct db *d, struct arena *a, struct media_store *s, long long media_id,
                struct err *e);

/* Removes the file stored under key and marks media_id purged (and hidden)
 * whatever its state: the retention run's removal of old media. Outside a
 * transaction. 0, or -1 with e (the file stays for the next run). */
int media_purge_file(struct db *d, struct arena *a, struct media_store *s, long long media_id,
                     const char *key, struct err *e);

/* Removes the files of every media discarded, hidden or never attached
 * for more than retention_days (0: none), marking each purged_at; *purged
 * gets the count. A file that cannot be removed is logged and retried at
 * the next run. */
int media_prune(struct db *d, struct arena *a, struct media_store *s, int retention_days,
                long *purged, struct err *e);

#endif
