/* h_exportar.c: GET /interno/chats/{id}/exportar and
 * GET /interno/usuarios/{id_erp}/exportar: NDJSON or CSV written to the
 * client as the rows arrive, or with incluir_media=1 a ZIP made on the fly
 * (the records file, then each media file). Memory stays flat: one record
 * or one 64 KiB file chunk at a time. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "domain/export.h"
#include "domain/media.h"
#include "routes.h"
#include "zipw.h"

static int exp_out(void *ctx, const char *buf, size_t len)
{
    struct req *rq = ctx;
    while (len > 0) {
        int n = len > (1 << 30) ? (1 << 30) : (int)len;
        if (FCGX_PutStr(buf, n, rq->fx->out) != n)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The zip streamed into the response, and the media store to read from. */
struct exp_zip {
    struct zipw z;
    struct media_store *st;
    const char *rid;
};

/* One media file into the archive, read in chunks. A file missing from
 * storage is skipped (logged): the record still names it. */
static int exp_media(void *ctx, long long id, const char *key, const char *archivo,
                     long long tamano)
{
    struct exp_zip *x = ctx;
    struct err e = { ERR_NONE, "" };
    int fd;
    if (x->st->open(x->st, key, &fd, &e) < 0) {
        log_error("req=%s event=export_media_missing media=%lld", x->rid, id);
        return 0;
    }
    int ret = -1;
    char buf[65536];
    if (zipw_begin(&x->z, archivo, tamano >= 0xffff0000LL) < 0)
        goto cleanup;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            log_error("req=%s event=export_media_read media=%lld errno=%d", x->rid, id, errno);
            goto cleanup;
        }
        if (n == 0)
            break;
        if (zipw_data(&x->z, buf, (size_t)n) < 0)
            goto cleanup;
    }
    ret = zipw_end(&x->z);
cleanup:
    close(fd);
    return ret;
}

static int exp_records_done(void *ctx)
{
    struct exp_zip *x = ctx;
    return zipw_end(&x->z);
}

static int exp_flag(struct req *rq, const char *name, const char *yes, bool *out, struct err *e)
{
    bool bad = false;
    const char *v = http_query(rq, name, &bad);
    *out = false;
    if (!v)
        return 0;
    if (bad || (strcmp(v, yes) != 0 && strcmp(v, "0") != 0))
        return err_set(e, ERR_INVALID, "%s debe ser %s", name, yes);
    *out = strcmp(v, yes) == 0;
    return 0;
}

static int exp_run(struct req *rq, struct export_req *x, const char *base, struct err *e)
{
    bool bad = false;
    const char *formato = http_query(rq, "formato", &bad);
    if (bad || (formato && strcmp(formato, "ndjson") != 0 && strcmp(formato, "csv") != 0))
        return err_set(e, ERR_INVALID, "formato debe ser ndjson o csv");
    x->csv = formato && strcmp(formato, "csv") == 0;
    bool b1 = false, b2 = false, b3 = false;
    x->desde = http_query(rq, "desde", &b1);
    x->hasta = http_query(rq, "hasta", &b2);
    x->motivo = http_query(rq, "motivo", &b3);
    if (b1 || b2 || b3)
        return err_set(e, ERR_INVALID, "Parámetro mal codificado");
    if (exp_flag(rq, "incluir_media", "1", &x->media_files, e) < 0 ||
        exp_flag(rq, "identidad", "real", &x->identidad_real, e) < 0)
        return -1;
    struct exp_zip zx = { .rid = rq->id };
    if (x->media_files) {
        zx.st = media_store_local(rq->a, rq->cfg->media_dir, e);
        if (!zx.st)
            return -1;
    }
    if (export_prepare(rq->db, rq->a, &rq->who, x, e) < 0)
        return -1;
    const char *ext = x->media_files ? "zip" : x->csv ? "csv" : "ndjson";
    http_header(rq, arena_printf(rq->a, "Content-Disposition: attachment; filename=\"%s.%s\"",
                                 base, ext));
    http_stream_start(rq, 200, x->media_files ? "application/zip"
                               : x->csv       ? "text/csv; charset=utf-8"
                                              : "application/x-ndjson; charset=utf-8");
    /* from here on the status is sent: a failure can only cut the body
     * short (NDJSON then lacks its "fin" line, a ZIP its directory) */
    struct err se = { ERR_NONE, "" };
    int rc;
    if (!x->media_files) {
        struct export_sink sink = { exp_out, rq, NULL, NULL, NULL };
        rc = export_run(rq->db, rq->a, x, &sink, &se);
    } else {
        zipw_init(&zx.z, exp_out, rq);
        /* the records entry, closed (exp_records_done) before the media
         * entries start */
        struct export_sink sink = { zipw_data, &zx.z, exp_records_done, exp_media, &zx };
        rc = zipw_begin(&zx.z, x->csv ? "registros.csv" : "registros.ndjson", true);
        if (rc == 0)
            rc = export_run(rq->db, rq->a, x, &sink, &se);
        if (rc == 0)
            rc = zipw_finish(&zx.z);
        zipw_release(&zx.z);
    }
    if (rc < 0)
        log_error("req=%s event=export_cut reason=\"%s\"", rq->id, se.msg);
    return 0;
}

int h_interno_chat_exportar(struct req *rq, struct err *e)
{
    struct export_req x = { 0 };
    if (http_id(rq, "id", &x.chat_id, e) < 0)
        return -1;
    return exp_run(rq, &x, arena_printf(rq->a, "chat-%lld", x.chat_id), e);
}

int h_interno_usuario_exportar(struct req *rq, struct err *e)
{
    struct export_req x = { 0 };
    x.id_erp = route_capture(&rq->caps, "id_erp");
    if (!x.id_erp || !*x.id_erp || strlen(x.id_erp) > 200)
        return err_set(e, ERR_INVALID, "id_erp inválido");
    return exp_run(rq, &x, "usuario", e);
}
