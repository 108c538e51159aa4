/* h_media.c: media upload and authorised download (API.md §4.7). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "domain/media.h"
#include "wire/mpart.h"
#include "routes.h"
#include "core/sha256.h"

/* Room for the multipart framing and small fields around the file: a body
 * declaring more than media_max_bytes plus this is refused unread. */
#define MEDIA_FORM_OVERHEAD (1024 * 1024)

/* How long browsers may keep a downloaded file (private: never a shared
 * cache). An id's bytes never change. */
#define MEDIA_CACHE "private, max-age=86400"

/* The request body: read to CONTENT_LENGTH and no further, or, when the
 * web server passed a chunked body on without a length, to the end of the
 * FastCGI input; never more than cap bytes in all (over is then set). */
struct media_body {
    FCGX_Stream *in;
    bool known;                 /* CONTENT_LENGTH was given */
    unsigned long long left;    /* when known */
    unsigned long long got, cap;
    bool over;
};

static long media_body_read(void *ud, char *buf, size_t n)
{
    struct media_body *b = ud;
    if (b->known && b->left == 0)
        return 0;
    if (b->got >= b->cap) {
        char probe;
        if (FCGX_GetStr(&probe, 1, b->in) <= 0)
            return 0;   /* exactly at the cap, and nothing more */
        b->over = true;
        return -1;
    }
    if (b->known && n > b->left)
        n = (size_t)b->left;
    if (n > b->cap - b->got)
        n = (size_t)(b->cap - b->got);
    if (n > INT_MAX)
        n = INT_MAX;
    int r = FCGX_GetStr(buf, (int)n, b->in);
    if (r <= 0)
        return 0;       /* a short body: the parser reports it truncated */
    b->got += (unsigned long long)r;
    if (b->known)
        b->left -= (unsigned long long)r;
    return r;
}

/* Reads and drops what is left of the body (up to the cap), so the web
 * server never has its request cut off: a FastCGI connection closed with
 * unread input is reset, and nginx may then lose our answer. */
static void media_body_drain(struct media_body *b)
{
    char buf[16384];
    while (media_body_read(b, buf, sizeof(buf)) > 0)
        ;
}

/* The upload in progress: the multipart sink's state. */
struct media_upload {
    struct req *rq;
    struct media_store *store;
    long long max;
    bool in_file;               /* the current part is `archivo` */
    bool got_file;
    int fd;
    const char *tmp_path;
    long long size;
    struct sha256 sha;
    char ctype[128];
    char filename[1024];
};

static int media_part_begin(void *ud, const struct mpart_part *p, struct err *e)
{
    struct media_upload *u = ud;
    u->in_file = false;
    if (strcmp(p->name, "archivo") != 0)
        return 0;       /* other fields are read and ignored */
    if (u->got_file)
        return err_set(e, ERR_INVALID, "Envíe un solo archivo por solicitud");
    if (u->store->tmp(u->store, u->rq->a, &u->tmp_path, &u->fd, e) < 0)
        return -1;
    u->got_file = u->in_file = true;
    sha256_init(&u->sha);
    snprintf(u->ctype, sizeof(u->ctype), "%s", p->ctype);
    snprintf(u->filename, sizeof(u->filename), "%s", p->filename);
    return 0;
}

static int media_part_data(void *ud, const char *buf, size_t n, struct err *e)
{
    struct media_upload *u = ud;
    if (!u->in_file)
        return 0;
    u->size += (long long)n;
    if (u->size > u->max)
        return err_set(e, ERR_TOO_BIG, "El archivo supera el máximo de %lld bytes", u->max);
    sha256_update(&u->sha, buf, n);
    while (n > 0) {
        ssize_t w = write(u->fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            log_error("req=%s event=media_write_failed path=%s reason=\"%s\"", u->rq->id,
                      u->tmp_path, strerror(errno));
            return err_set(e, ERR_INTERNAL, NULL);
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static int media_part_end(void *ud, struct err *e)
{
    (void)e;
    struct media_upload *u = ud;
    u->in_file = false;
    return 0;
}

/* Streams the multipart body into a temporary file. Returns 0 with the
 * file in u, or -1 with e; the caller removes u->tmp_path either way. */
static int media_receive(struct req *rq, struct media_upload *u, struct err *e)
{
    /* the file, its framing and a few small fields; more is refused */
    struct media_body body = { .in = rq->fx->in,
                               .cap = (unsigned long long)u->max + MEDIA_FORM_OVERHEAD };
    rq->streamed = true;
    const char *cl = http_env(rq, "CONTENT_LENGTH");
    if (cl && *cl) {
        char *end;
        errno = 0;
        body.left = strtoull(cl, &end, 10);
        if (*cl == '-' || errno || *end) {
            body.left = 0;
            media_body_drain(&body);
            return err_set(e, ERR_INVALID, "Content-Length inválido");
        }
        body.known = true;
        if (body.left > body.cap) {
            /* within what the web server lets through, drain it (see above) */
            if (body.left <= body.cap + MEDIA_FORM_OVERHEAD) {
                body.cap += MEDIA_FORM_OVERHEAD;
                media_body_drain(&body);
            }
            return err_set(e, ERR_TOO_BIG, "El archivo supera el máximo de %lld bytes", u->max);
        }
    }
    char boundary[MPART_BOUNDARY_MAX + 1];
    if (mpart_boundary(http_env(rq, "CONTENT_TYPE"), boundary, sizeof(boundary)) < 0) {
        media_body_drain(&body);
        return err_set(e, ERR_INVALID,
                       "Se esperaba multipart/form-data con el archivo en el campo archivo");
    }
    struct mpart_sink sink = { media_part_begin, media_part_data, media_part_end, u };
    int rc = mpart_parse(boundary, media_body_read, &body, &sink, e);
    media_body_drain(&body);
    if (body.over)
        return err_set(e, ERR_TOO_BIG, "El archivo supera el máximo de %lld bytes", u->max);
    if (rc < 0)
        return -1;
    if (!u->got_file)
        return err_set(e, ERR_INVALID, "Falta el campo archivo");
    if (u->size == 0)
        return err_set(e, ERR_INVALID, "El archivo está vacío");
    return 0;
}

int h_media_upload(struct req *rq, struct err *e)
{
    int ret = -1;
    const char *key = NULL;
    struct media_upload u = { .rq = rq, .max = rq->cfg->media_max_bytes, .fd = -1 };
    u.store = media_store_local(rq->a, rq->cfg->media_dir, e);
    if (!u.store) {
        struct media_body body = { .in = rq->fx->in, .cap = (unsigned long long)u.max +
                                                               2 * MEDIA_FORM_OVERHEAD };
        rq->streamed = true;
        media_body_drain(&body);
        return -1;
    }
    if (media_receive(rq, &u, e) < 0)
        goto cleanup;
    struct media_kind k;
    if (media_sniff(u.fd, u.size, u.ctype, u.filename, &k, e) < 0)
        goto cleanup;
    const char *nombre = media_clean_name(rq->a, u.filename, &k);
    if (u.store->put(u.store, rq->a, u.tmp_path, &key, e) < 0)
        goto cleanup;
    u.tmp_path = NULL;
    char sha[65];
    sha256_hex(&u.sha, sha);
    json_object *media;
    if (media_insert(rq->db, rq->a, rq->who.id, key, nombre, &k, u.size, sha, &media, e) < 0) {
        struct err ignore;
        u.store->remove(u.store, key, &ignore);
        goto cleanup;
    }
    log_info("req=%s event=media_uploaded media=%lld mime=%s bytes=%lld", rq->id,
             (long long)json_object_get_int64(json_object_object_get(media, "id")), k.mime, u.size);
    ret = http_json(rq, 201, media);
cleanup:
    if (u.fd >= 0)
        close(u.fd);
    if (u.tmp_path)
        unlink(u.tmp_path);
    return ret;
}

/* Writes one "Name: value" header line. */
static void media_put_header(struct req *rq, const char *name, const char *value)
{
    FCGX_PutS(name, rq->fx->out);
    FCGX_PutS(": ", rq->fx->out);
    FCGX_PutS(value, rq->fx->out);
    FCGX_PutS("\r\n", rq->fx->out);
}

/* The answer is headers only: the web server replaces the (empty) body with
 * the file, handling Range, If-Modified-Since and HEAD itself. nginx acts
 * on X-Accel-Redirect and keeps Content-Type, Content-Disposition and
 * Cache-Control (dropping X-Sendfile); Apache's mod_xsendfile acts on
 * X-Sendfile (its config unsets X-Accel-Redirect). The shared http_head
 * cannot be used: it always adds Cache-Control: no-store. */
int h_media_get(struct req *rq, struct err *e)
{
    long long id;
    struct media_file f;
    if (http_id(rq, "id", &id, e) < 0 || media_get_file(rq->db, rq->a, &rq->who, id, &f, e) < 0)
        return -1;
    struct media_store *s = media_store_local(rq->a, rq->cfg->media_dir, e);
    const char *path = s ? s->path(s, rq->a, f.storage_key) : NULL;
    if (!path) {
        log_error("req=%s event=media_bad_key media=%lld", rq->id, id);
        return err_set(e, ERR_INTERNAL, NULL);
    }
    rq->status = 200;
    media_put_header(rq, "Status", "200 OK");
    media_put_header(rq, "Content-Type", f.mime);
    media_put_header(rq, "Content-Disposition", media_disposition(rq->a, f.mime, f.nombre));
    media_put_header(rq, "Cache-Control", MEDIA_CACHE);
    media_put_header(rq, "X-Content-Type-Options", "nosniff");
    media_put_header(rq, "X-Request-Id", rq->id);
    media_put_header(rq, "X-Accel-Redirect", arena_printf(rq->a, "/chat/_media/%s", f.storage_key));
    media_put_header(rq, "X-Sendfile", path);
    FCGX_PutS("\r\n", rq->fx->out);
    return 0;
}
