/* test_media.c: uploads, type checks, limits, authorised downloads with
 * ranges, hiding and prune, against the running stack through nginx. The
 * files are small real ones generated here. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cu.h"
#include "fixtures.h"
#include "it.h"
#include "domain/media.h"
#include "core/sha256.h"

/* ---- helpers ----------------------------------------------------------- */

static char *tok_a, *tok_b, *tok_c;
static long long id_a, id_b, id_c;

/* A multipart body with the given file part (name "archivo" unless
 * field), ctype and filename; close false leaves the closing delimiter out. */
static struct buf form(const char *field, const char *filename, const char *ctype,
                       const struct buf *file, bool close)
{
    struct buf b = { 0 };
    puts_(&b, "preamble ignored\r\n--XyZzy42\r\nContent-Disposition: form-data; name=\"nota\"\r\n"
              "\r\nhola\r\n--XyZzy42\r\n");
    char h[1024];
    snprintf(h, sizeof(h), "Content-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n",
             field, filename);
    puts_(&b, h);
    if (ctype) {
        snprintf(h, sizeof(h), "Content-Type: %s\r\n", ctype);
        puts_(&b, h);
    }
    puts_(&b, "\r\n");
    put(&b, file->p, file->n);
    if (close)
        puts_(&b, "\r\n--XyZzy42--\r\n");
    return b;
}

static struct it_resp *upload_ex(const char *token, const char *field, const char *filename,
                                 const char *ctype, const struct buf *file, bool close)
{
    struct buf f = form(field, filename, ctype, file, close);
    struct it_resp *r = it_req_ex("POST", "/media", token, (const char *)f.p, f.n,
                                  "multipart/form-data; boundary=XyZzy42", NULL);
    free(f.p);
    return r;
}

static struct it_resp *upload(const char *filename, const char *ctype, const struct buf *file)
{
    return upload_ex(tok_a, "archivo", filename, ctype, file, true);
}

static long long media_count(void)
{
    return it_db_ll("SELECT count(*) FROM media");
}

static long nfiles;
static int count_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)p, (void)st, (void)f;
    if (flag == FTW_F)
        nfiles++;
    return 0;
}

/* Regular files under media_dir (stored files and temporary ones). */
static long file_count(void)
{
    nfiles = 0;
    nftw(it_cfg()->media_dir, count_one, 16, FTW_PHYS);
    return nfiles;
}

static char *storage_path(long long id)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT storage_key FROM media WHERE id = %lld", id);
    PGresult *r = PQexec(it_db(), sql);
    char *p = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
        asprintf(&p, "%s/%s", it_cfg()->media_dir, PQgetvalue(r, 0, 0)) < 0)
        p = NULL;
    PQclear(r);
    return p;
}

static bool file_exists(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0;
}

/* The value of response header name (case-insensitive), or "". */
static const char *header(const struct it_resp *r, const char *name)
{
    static char val[1024];
    val[0] = '\0';
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            if (vl >= sizeof(val))
                vl = sizeof(val) - 1;
            memcpy(val, v, vl);
            val[vl] = '\0';
        }
        p = eol ? eol + 2 : p + len;
    }
    return val;
}

static char path_buf[64];
static const char *media_path(long long id)
{
    snprintf(path_buf, sizeof(path_buf), "/media/%lld", id);
    return path_buf;
}

static const char *sha_hex(const struct buf *b)
{
    static char out[65];
    struct sha256 s;
    sha256_init(&s);
    sha256_update(&s, b->p, b->n);
    sha256_hex(&s, out);
    return out;
}

/* Uploads file, checks the Media JSON and the stored copy; returns its id. */
static long long upload_ok(const char *filename, const char *ctype, struct buf file,
                           const char *mime, int ancho, int alto)
{
    struct it_resp *r = upload(filename, ctype, &file);
    it_must(r, 201);
    if (r->status != 201)
        fprintf(stderr, "upload %s: %ld %s\n", filename, r->status, r->body);
    long long id = it_get_ll(r, "id");
    const char *m = it_get_str(r, "mime");
    CU_ASSERT(m && strcmp(m, mime) == 0);
    if (m && strcmp(m, mime) != 0)
        fprintf(stderr, "upload %s: mime %s, expected %s\n", filename, m, mime);
    CU_ASSERT_EQUAL(it_get_ll(r, "tamano"), (long long)file.n);
    char url[64];
    snprintf(url, sizeof(url), "/chat/api/v1/media/%lld", id);
    CU_ASSERT(it_get_str(r, "url") && strcmp(it_get_str(r, "url"), url) == 0);
    if (ancho) {
        CU_ASSERT_EQUAL(it_get_ll(r, "ancho"), ancho);
        CU_ASSERT_EQUAL(it_get_ll(r, "alto"), alto);
    } else {
        CU_ASSERT(json_object_is_type(it_get(r, "ancho"), json_type_null));
        CU_ASSERT(json_object_is_type(it_get(r, "alto"), json_type_null));
    }
    CU_ASSERT_PTR_NOT_NULL(it_get(r, "nombre"));
    /* the checksum is the bytes' */
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM media WHERE id = %lld AND sha256 = '%s'",
             id, sha_hex(&file));
    CU_ASSERT_EQUAL(it_db_ll(sql), 1);
    /* the stored copy is byte for byte the upload */
    char *p = storage_path(id);
    FILE *f = p ? fopen(p, "rb") : NULL;
    CU_ASSERT_PTR_NOT_NULL(f);
    if (f) {
        unsigned char *got = malloc(file.n + 1);
        size_t n = fread(got, 1, file.n + 1, f);
        CU_ASSERT_EQUAL(n, file.n);
        CU_ASSERT(n == file.n && memcmp(got, file.p, n) == 0);
        free(got);
        fclose(f);
    }
    free(p);
    it_free(r);
    free(file.p);
    return id;
}

static void upload_refused(const char *filename, const char *ctype, struct buf file,
                           long status, const char *codigo)
{
    long long rows = media_count();
    long files = file_count();
    struct it_resp *r = upload(filename, ctype, &file);
    CU_ASSERT_EQUAL(r->status, status);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), codigo);
    if (r->status != status)
        fprintf(stderr, "upload %s: %ld %s (expected %ld)\n", filename, r->status, r->body, status);
    CU_ASSERT_EQUAL(media_count(), rows);
    CU_ASSERT_EQUAL(file_count(), files);
    it_free(r);
    free(file.p);
}

/* ---- tests ------------------------------------------------------------- */

static void test_media__images(void)
{
    long long id = upload_ok("foto.png", "image/png", gen_png(3, 2), "image/png", 3, 2);
    CU_ASSERT(id > 0);
    upload_ok("foto.jpg", "image/jpeg", gen_jpeg(640, 480), "image/jpeg", 640, 480);
    upload_ok("anim.gif", "image/gif", gen_gif(5, 7), "image/gif", 5, 7);
    upload_ok("l.webp", "image/webp", gen_webp('L', 300, 200), "image/webp", 300, 200);
    upload_ok("x.webp", "image/webp", gen_webp('X', 1920, 1080), "image/webp", 1920, 1080);
    upload_ok("v.webp", "image/webp", gen_webp(' ', 16, 9), "image/webp", 16, 9);
    /* the client's type is ignored: a PNG sent as text/plain is a PNG */
    upload_ok("sin tipo", "text/plain", gen_png(1, 1), "image/png", 1, 1);
}

static void test_media__audio_video(void)
{
    upload_ok("nota.mp3", "audio/mpeg", gen_mp3(true), "audio/mpeg", 0, 0);
    upload_ok("frames.mp3", NULL, gen_mp3(false), "audio/mpeg", 0, 0);
    upload_ok("voz.ogg", "audio/ogg", gen_ogg("OpusHead\x01\x01", 10), "audio/ogg", 0, 0);
    upload_ok("voz.webm", "audio/webm", gen_webm("A_OPUS", "webm"), "audio/webm", 0, 0);
    upload_ok("clip.webm", "video/webm", gen_webm("V_VP8", "webm"), "video/webm", 0, 0);
    /* no tracks to tell: video, unless the client says audio */
    upload_ok("a.webm", "audio/webm", gen_webm(NULL, "webm"), "audio/webm", 0, 0);
    upload_ok("b.webm", "application/octet-stream", gen_webm(NULL, "webm"), "video/webm", 0, 0);

    struct buf m4a = gen_mp4("M4A ", "soun", 0, 0, false);
    struct it_resp *r = upload("voz.m4a", "audio/mp4", &m4a);
    it_must(r, 201);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "mime"), "audio/mp4");
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(it_get(r, "duracion")), 2.5, 0.001);
    it_free(r);
    free(m4a.p);

    struct buf mp4 = gen_mp4("isom", "vide", 640, 360, false);
    r = upload("video.mp4", "video/mp4", &mp4);
    it_must(r, 201);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "mime"), "video/mp4");
    CU_ASSERT_EQUAL(it_get_ll(r, "ancho"), 640);
    CU_ASSERT_EQUAL(it_get_ll(r, "alto"), 360);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(it_get(r, "duracion")), 2.5, 0.001);
    it_free(r);
    free(mp4.p);

    /* Android's recorder: brand isom, sound only, moov at the end */
    upload_ok("grabacion.m4a", "audio/mp4", gen_mp4("isom", "soun", 0, 0, true), "audio/mp4", 0, 0);
    upload_ok("iphone.mov", "video/quicktime", gen_mp4("qt  ", "vide", 1280, 720, true),
              "video/quicktime", 1280, 720);
}

static void test_media__documents(void)
{
    upload_ok("informe.pdf", "application/pdf", gen_pdf(), "application/pdf", 0, 0);
    static const char *const docx[] = { "[Content_Types].xml", "_rels/.rels",
                                        "word/document.xml", NULL };
    static const char *const xlsx[] = { "[Content_Types].xml", "xl/workbook.xml",
                                        "xl/worksheets/sheet1.xml", NULL };
    static const char *const pptx[] = { "[Content_Types].xml", "ppt/presentation.xml",
                                        "ppt/slides/slide1.xml", NULL };
    upload_ok("carta.docx", NULL, gen_zip(docx),
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 0, 0);
    upload_ok("cuentas.xlsx", NULL, gen_zip(xlsx),
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 0, 0);
    upload_ok("junta.pptx", NULL, gen_zip(pptx),
              "application/vnd.openxmlformats-officedocument.presentationml.presentation", 0, 0);
    upload_ok("viejo.doc", NULL, gen_cfb("WordDocument"), "application/msword", 0, 0);
    upload_ok("viejo.xls", NULL, gen_cfb("Workbook"), "application/vnd.ms-excel", 0, 0);
    upload_ok("viejo.ppt", NULL, gen_cfb("PowerPoint Document"), "application/vnd.ms-powerpoint",
              0, 0);
    /* the stream decides, not the name */
    upload_ok("renombrado.xls", NULL, gen_cfb("WordDocument"), "application/msword", 0, 0);
}

static void test_media__refused_types(void)
{
    struct buf elf = { 0 };
    put(&elf, "\x7F" "ELF\x02\x01\x01\x00", 8);
    putz(&elf, 120);
    upload_refused("foto.jpg", "image/jpeg", elf, 415, "tipo_no_permitido");
    struct buf pe = { 0 };
    puts_(&pe, "MZ\x90");
    putz(&pe, 200);
    upload_refused("foto.png", "image/png", pe, 415, "tipo_no_permitido");
    struct buf html = { 0 };
    puts_(&html, "<html><script>alert(1)</script></html>");
    upload_refused("pagina.pdf", "application/pdf", html, 415, "tipo_no_permitido");
    struct buf svg = { 0 };
    puts_(&svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>");
    upload_refused("logo.svg", "image/svg+xml", svg, 415, "tipo_no_permitido");
    static const char *const plain[] = { "leeme.txt", "programa.exe", NULL };
    upload_refused("fotos.zip", "application/zip", gen_zip(plain), 415, "tipo_no_permitido");
    static const char *const docm[] = { "[Content_Types].xml", "word/document.xml",
                                        "word/vbaProject.bin", NULL };
    upload_refused("macro.docx", NULL, gen_zip(docm), 415, "tipo_no_permitido");
    upload_refused("instalador.doc", NULL, gen_cfb("SummaryInformation"), 415, "tipo_no_permitido");
    upload_refused("video.mkv", "video/x-matroska", gen_webm("V_VP8", "matroska"), 415,
                   "tipo_no_permitido");
    upload_refused("video.ogv", "video/ogg", gen_ogg("\x80theora", 7), 415, "tipo_no_permitido");
    upload_refused("foto.heic", "image/heic", gen_mp4("heic", "pict", 0, 0, false), 415,
                   "tipo_no_permitido");
    struct buf empty = { 0 };
    upload_refused("vacio.png", "image/png", empty, 400, "solicitud_invalida");
}

static void test_media__bad_forms(void)
{
    long long rows = media_count();
    long files = file_count();
    struct buf png = gen_png(2, 2);
    /* no closing delimiter: the body ends inside the file */
    struct it_resp *r = upload_ex(tok_a, "archivo", "a.png", "image/png", &png, false);
    CU_ASSERT_EQUAL(r->status, 400);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "solicitud_invalida");
    it_free(r);
    /* the field has another name */
    r = upload_ex(tok_a, "foto", "a.png", "image/png", &png, true);
    CU_ASSERT_EQUAL(r->status, 400);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "solicitud_invalida");
    it_free(r);
    /* two files */
    struct buf two = form("archivo", "a.png", "image/png", &png, false);
    puts_(&two, "\r\n--XyZzy42\r\nContent-Disposition: form-data; name=\"archivo\"; "
                "filename=\"b.png\"\r\n\r\n");
    put(&two, png.p, png.n);
    puts_(&two, "\r\n--XyZzy42--\r\n");
    r = it_req_ex("POST", "/media", tok_a, (const char *)two.p, two.n,
                  "multipart/form-data; boundary=XyZzy42", NULL);
    CU_ASSERT_EQUAL(r->status, 400);
    it_free(r);
    free(two.p);
    /* the body's boundary is not the declared one */
    struct buf f = form("archivo", "a.png", "image/png", &png, true);
    r = it_req_ex("POST", "/media", tok_a, (const char *)f.p, f.n,
                  "multipart/form-data; boundary=otra", NULL);
    CU_ASSERT_EQUAL(r->status, 400);
    it_free(r);
    /* not multipart at all */
    r = it_req_ex("POST", "/media", tok_a, (const char *)png.p, png.n, "image/png", NULL);
    CU_ASSERT_EQUAL(r->status, 400);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "solicitud_invalida");
    it_free(r);
    r = it_req("POST", "/media", tok_a, "{\"archivo\":\"x\"}");
    CU_ASSERT_EQUAL(r->status, 400);
    it_free(r);
    /* no token */
    r = it_req_ex("POST", "/media", NULL, (const char *)f.p, f.n,
                  "multipart/form-data; boundary=XyZzy42", NULL);
    CU_ASSERT_EQUAL(r->status, 401);
    it_free(r);
    free(f.p);
    free(png.p);
    CU_ASSERT_EQUAL(media_count(), rows);
    CU_ASSERT_EQUAL(file_count(), files);
}

static void test_media__size_limit(void)
{
    long long max = it_cfg()->media_max_bytes;
    /* one byte over: 413 while reading, nothing left behind */
    struct buf big = gen_pdf();
    size_t head = big.n;
    big.p = realloc(big.p, (size_t)max + 1);
    memset(big.p + head, ' ', (size_t)max + 1 - head);
    big.n = (size_t)max + 1;
    long long rows = media_count();
    long files = file_count();
    struct it_resp *r = upload("grande.pdf", "application/pdf", &big);
    CU_ASSERT_EQUAL(r->status, 413);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "demasiado_grande");
    it_free(r);
    CU_ASSERT_EQUAL(media_count(), rows);
    CU_ASSERT_EQUAL(file_count(), files);
    /* exactly the limit is fine */
    big.n = (size_t)max;
    r = upload("justo.pdf", "application/pdf", &big);
    it_must(r, 201);
    CU_ASSERT_EQUAL(it_get_ll(r, "tamano"), max);
    it_free(r);
    free(big.p);
}

static void test_media__names(void)
{
    struct buf png = gen_png(1, 1);
    struct it_resp *r = upload("../../etc/pass\x01wd.exe", "image/png", &png);
    it_must(r, 201);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), "passwd.exe.png");
    it_free(r);
    r = upload("C:\\Users\\ana\\Foto Año.JPG", "image/png", &png);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), "Foto Año.JPG.png");
    it_free(r);
    r = upload("\xE2\x80\xAE" "gnp.exe", "image/png", &png);     /* RTL override */
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), "gnp.exe.png");
    it_free(r);
    r = upload("...", "image/png", &png);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "nombre"), "archivo.png");
    it_free(r);
    char longname[400];
    memset(longname, 'a', 300);
    strcpy(longname + 300, ".png");
    r = upload(longname, "image/png", &png);
    const char *n = it_get_str(r, "nombre");
    CU_ASSERT(n && strlen(n) == 150 && strcmp(n + 146, ".png") == 0);
    it_free(r);
    free(png.p);
    /* the stored name is random, never the client's */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM media WHERE uploader_id = %lld"
             " AND storage_key !~ '^([0-9a-f]{2})/([0-9a-f]{2})/\\1\\2[0-9a-f]{28}$'",
             id_a);
    CU_ASSERT_EQUAL(it_db_ll(sql), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM media WHERE uploader_id = %lld", id_a);
    CU_ASSERT(it_db_ll(sql) > 10);
}

static void test_media__download_headers(void)
{
    struct buf png = gen_png(4, 4);
    struct it_resp *r = upload("mi foto ñ.png", "image/png", &png);
    long long id = it_get_ll(r, "id");
    it_free(r);
    r = it_req("GET", media_path(id), tok_a, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(r->len, png.n);
    CU_ASSERT(r->len == png.n && memcmp(r->body, png.p, png.n) == 0);
    CU_ASSERT_STRING_EQUAL(header(r, "Content-Type"), "image/png");
    CU_ASSERT_STRING_EQUAL(header(r, "Content-Disposition"),
                           "inline; filename=\"mi foto _.png\"; "
                           "filename*=UTF-8''mi%20foto%20%C3%B1.png");
    CU_ASSERT_STRING_EQUAL(header(r, "X-Content-Type-Options"), "nosniff");
    CU_ASSERT(strncmp(header(r, "Cache-Control"), "private", 7) == 0);
    /* internals stay inside */
    CU_ASSERT_STRING_EQUAL(header(r, "X-Accel-Redirect"), "");
    CU_ASSERT_STRING_EQUAL(header(r, "X-Sendfile"), "");
    it_free(r);
    free(png.p);

    struct buf pdf = gen_pdf();
    r = upload("informe final.pdf", "application/pdf", &pdf);
    id = it_get_ll(r, "id");
    it_free(r);
    r = it_req("GET", media_path(id), tok_a, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_STRING_EQUAL(header(r, "Content-Type"), "application/pdf");
    CU_ASSERT(strncmp(header(r, "Content-Disposition"), "attachment;", 11) == 0);
    CU_ASSERT_STRING_EQUAL(header(r, "X-Content-Type-Options"), "nosniff");
    it_free(r);
    free(pdf.p);
}

static void test_media__ranges(void)
{
    struct buf mp3 = gen_mp3(true);
    size_t total = mp3.n;
    struct it_resp *r = upload("cancion.mp3", "audio/mpeg", &mp3);
    long long id = it_get_ll(r, "id");
    it_free(r);
    r = it_req_ex("GET", media_path(id), tok_a, NULL, 0, NULL, "Range: bytes=0-9");
    it_must(r, 206);
    CU_ASSERT_EQUAL(r->len, 10);
    CU_ASSERT(r->len == 10 && memcmp(r->body, mp3.p, 10) == 0);
    char want[64];
    snprintf(want, sizeof(want), "bytes 0-9/%zu", total);
    CU_ASSERT_STRING_EQUAL(header(r, "Content-Range"), want);
    CU_ASSERT_STRING_EQUAL(header(r, "Content-Type"), "audio/mpeg");
    it_free(r);
    /* the middle and the tail (what a player seeking does) */
    r = it_req_ex("GET", media_path(id), tok_a, NULL, 0, NULL, "Range: bytes=100-199");
    it_must(r, 206);
    CU_ASSERT(r->len == 100 && memcmp(r->body, mp3.p + 100, 100) == 0);
    it_free(r);
    r = it_req_ex("GET", media_path(id), tok_a, NULL, 0, NULL, "Range: bytes=-5");
    it_must(r, 206);
    CU_ASSERT(r->len == 5 && memcmp(r->body, mp3.p + total - 5, 5) == 0);
    it_free(r);
    /* past the end */
    snprintf(want, sizeof(want), "Range: bytes=%zu-", total + 10);
    r = it_req_ex("GET", media_path(id), tok_a, NULL, 0, NULL, want);
    CU_ASSERT_EQUAL(r->status, 416);
    it_free(r);
    /* a stranger's range request is no different from a plain one: 404 */
    r = it_req_ex("GET", media_path(id), tok_b, NULL, 0, NULL, "Range: bytes=0-9");
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    free(mp3.p);
}

static void test_media__access(void)
{
    struct buf png = gen_png(2, 3);
    struct it_resp *r = upload("privada.png", "image/png", &png);
    long long id = it_get_ll(r, "id");
    it_free(r);
    /* the uploader yes, a stranger and nobody no (404, no existence leak) */
    r = it_req("GET", media_path(id), tok_a, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    r = it_req("GET", media_path(id), tok_b, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    CU_ASSERT_STRING_EQUAL(it_error_code(r), "no_encontrado");
    it_free(r);
    r = it_req("GET", media_path(id), NULL, NULL);
    CU_ASSERT_EQUAL(r->status, 401);
    it_free(r);
    r = it_req("GET", "/media/999999999", tok_a, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    r = it_req("GET", "/media/abc", tok_a, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);

    /* a message in a chat of A and B: B (member) may, C (not) may not */
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "WITH c AS (INSERT INTO chats (tipo, nombre, creado_por) VALUES ('grupo', 'media', %lld)"
             " RETURNING id), m AS (INSERT INTO usuarios_chat (chat_id, usuario_id)"
             " SELECT id, u FROM c, unnest(ARRAY[%lld, %lld]) u)"
             " INSERT INTO mensajes (chat_id, autor_id, tipo, media_id)"
             " SELECT id, %lld, 'imagen', %lld FROM c RETURNING id",
             id_a, id_a, id_b, id_a, id);
    long long msg = it_db_ll(sql);
    CU_ASSERT(msg > 0);
    r = it_req("GET", media_path(id), tok_b, NULL);
    it_must(r, 200);
    CU_ASSERT(r->len == png.n && memcmp(r->body, png.p, png.n) == 0);
    it_free(r);
    r = it_req("GET", media_path(id), tok_c, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);

    /* deleting the message hides the media from everyone, file kept */
    snprintf(sql, sizeof(sql), "UPDATE mensajes SET deleted_at = now() WHERE id = %lld", msg);
    it_sql_exec(NULL, "%s", sql);
    r = it_req("GET", media_path(id), tok_b, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    r = it_req("GET", media_path(id), tok_a, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    char *p = storage_path(id);
    CU_ASSERT(file_exists(p));
    free(p);

    /* an announcement: its recipient C may, B (not addressed) may not */
    r = upload("aviso.png", "image/png", &png);
    long long id2 = it_get_ll(r, "id");
    it_free(r);
    snprintf(sql, sizeof(sql),
             "WITH co AS (INSERT INTO comunicados (autor_id, titulo, media_id, destinatarios_total)"
             " VALUES (%lld, 'Aviso', %lld, 1) RETURNING id)"
             " INSERT INTO comunicado_destinatarios (comunicado_id, usuario_id)"
             " SELECT id, %lld FROM co RETURNING comunicado_id",
             id_a, id2, id_c);
    long long co = it_db_ll(sql);
    r = it_req("GET", media_path(id2), tok_c, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    r = it_req("GET", media_path(id2), tok_b, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    snprintf(sql, sizeof(sql), "UPDATE comunicados SET deleted_at = now() WHERE id = %lld", co);
    it_sql_exec(NULL, "%s", sql);
    r = it_req("GET", media_path(id2), tok_c, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    free(png.p);
}

/* The public path: a group, a media message through the API, the member
 * fetches it, the author deletes the message, the member no longer can. */
static void test_media__through_messages_api(void)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"nombre\":\"Fotos\",\"miembros\":[%lld]}", id_b);
    struct it_resp *r = it_req("POST", "/chats", tok_a, body);
    it_must(r, 201);
    long long chat = it_get_ll(r, "id");
    it_free(r);
    struct buf jpg = gen_jpeg(32, 24);
    r = upload("playa.jpg", "image/jpeg", &jpg);
    long long media = it_get_ll(r, "id");
    it_free(r);
    char path[64];
    snprintf(path, sizeof(path), "/chats/%lld/mensajes", chat);
    snprintf(body, sizeof(body), "{\"tipo\":\"imagen\",\"media_id\":%lld}", media);
    r = it_req("POST", path, tok_a, body);
    it_must(r, 201);
    long long msg = it_get_ll(r, "id");
    CU_ASSERT_EQUAL(it_get_ll(r, "media.id"), media);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "media.mime"), "image/jpeg");
    it_free(r);
    r = it_req("GET", media_path(media), tok_b, NULL);
    it_must(r, 200);
    CU_ASSERT(r->len == jpg.n && memcmp(r->body, jpg.p, jpg.n) == 0);
    it_free(r);
    r = it_req("GET", media_path(media), tok_c, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    /* someone else's upload cannot be sent */
    struct buf png = gen_png(1, 1);
    r = upload_ex(tok_b, "archivo", "b.png", "image/png", &png, true);
    long long media_b = it_get_ll(r, "id");
    it_free(r);
    snprintf(body, sizeof(body), "{\"tipo\":\"imagen\",\"media_id\":%lld}", media_b);
    r = it_req("POST", path, tok_a, body);
    CU_ASSERT_EQUAL(r->status, 400);
    it_free(r);
    /* a media is used once: sending it again is a conflict */
    snprintf(body, sizeof(body), "{\"tipo\":\"imagen\",\"media_id\":%lld}", media);
    r = it_req("POST", path, tok_a, body);
    CU_ASSERT_EQUAL(r->status, 409);
    it_free(r);
    /* the tipo comes from the bytes: none given, or a wrong one refused */
    struct buf pdf_jpg = gen_jpeg(8, 8);
    r = upload("otra.jpg", "image/jpeg", &pdf_jpg);
    long long media2 = it_get_ll(r, "id");
    it_free(r);
    snprintf(body, sizeof(body), "{\"tipo\":\"documento\",\"media_id\":%lld}", media2);
    r = it_req("POST", path, tok_a, body);
    CU_ASSERT_EQUAL(r->status, 400);
    it_free(r);
    snprintf(body, sizeof(body), "{\"media_id\":%lld,\"client_id\":\"img-%lld\"}", media2, media2);
    r = it_req("POST", path, tok_a, body);
    it_must(r, 201);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "tipo"), "imagen");
    long long msg2 = it_get_ll(r, "id");
    it_free(r);
    /* a retry with the same client_id returns the first message */
    r = it_req("POST", path, tok_a, body);
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "id"), msg2);
    it_free(r);
    free(pdf_jpg.p);
    snprintf(path, sizeof(path), "/mensajes/%lld", msg);
    r = it_req("DELETE", path, tok_a, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    r = it_req("GET", media_path(media), tok_b, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    /* hidden from the uploader too, and never attachable again */
    r = it_req("GET", media_path(media), tok_a, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    snprintf(path, sizeof(path), "/chats/%lld/mensajes", chat);
    snprintf(body, sizeof(body), "{\"media_id\":%lld}", media);
    r = it_req("POST", path, tok_a, body);
    CU_ASSERT_EQUAL(r->status, 409);
    it_free(r);
    char *p = storage_path(media);
    CU_ASSERT(file_exists(p));      /* kept until prune */
    free(p);

    /* a chat image: a replaced one is discarded and its file removed */
    struct buf i1 = gen_png(4, 4), i2 = gen_png(5, 5);
    r = upload("g1.png", "image/png", &i1);
    long long img1 = it_get_ll(r, "id");
    it_free(r);
    r = upload("g2.png", "image/png", &i2);
    long long img2 = it_get_ll(r, "id");
    it_free(r);
    snprintf(path, sizeof(path), "/chats/%lld", chat);
    snprintf(body, sizeof(body), "{\"imagen_media_id\":%lld}", img1);
    r = it_req("PATCH", path, tok_a, body);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    r = it_req("GET", media_path(img1), tok_b, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    char *p1 = storage_path(img1);
    CU_ASSERT(file_exists(p1));
    snprintf(body, sizeof(body), "{\"imagen_media_id\":%lld}", img2);
    r = it_req("PATCH", path, tok_a, body);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    CU_ASSERT(!file_exists(p1));
    r = it_req("GET", media_path(img1), tok_b, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    r = it_req("GET", media_path(img2), tok_b, NULL);
    CU_ASSERT_EQUAL(r->status, 200);
    it_free(r);
    /* a document cannot be a chat image */
    struct buf pdf = gen_pdf();
    r = upload("doc.pdf", "application/pdf", &pdf);
    long long doc = it_get_ll(r, "id");
    it_free(r);
    snprintf(body, sizeof(body), "{\"imagen_media_id\":%lld}", doc);
    r = it_req("PATCH", path, tok_a, body);
    CU_ASSERT_EQUAL(r->status, 400);
    it_free(r);
    free(p1);
    free(i1.p);
    free(i2.p);
    free(pdf.p);
    free(jpg.p);
    free(png.p);
}

/* media_claim, the function POST /chats/{id}/mensajes and POST /comunicados
 * call, against the real database. */
static void test_media__claim(void)
{
    struct buf ogg = gen_ogg("OpusHead\x01\x01", 10);
    struct it_resp *r = upload("voz.ogg", "audio/ogg", &ogg);
    long long id = it_get_ll(r, "id");
    it_free(r);
    free(ogg.p);
    char why[256];
    struct db *d = db_open(it_cfg()->db_conninfo, 0, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct arena *a = arena_new();
    struct err e = { ERR_NONE, "" };
    const char *tipo = NULL;
    /* outside a transaction it would lock nothing: refused */
    CU_ASSERT_EQUAL(media_claim(d, a, id, id_a, &tipo, &e), -1);
    CU_ASSERT_EQUAL(e.code, ERR_INTERNAL);
    /* someone else's, or unknown: invalid */
    CU_ASSERT_EQUAL(db_begin(d, &e), 0);
    CU_ASSERT_EQUAL(media_claim(d, a, id, id_b, &tipo, &e), -1);
    CU_ASSERT_EQUAL(e.code, ERR_INVALID);
    db_rollback(d);
    CU_ASSERT_EQUAL(db_begin(d, &e), 0);
    CU_ASSERT_EQUAL(media_claim(d, a, 999999999, id_a, &tipo, &e), -1);
    CU_ASSERT_EQUAL(e.code, ERR_INVALID);
    db_rollback(d);
    /* the uploader's, unattached: its message tipo */
    CU_ASSERT_EQUAL(db_begin(d, &e), 0);
    CU_ASSERT_EQUAL(media_claim(d, a, id, id_a, &tipo, &e), 0);
    CU_ASSERT_STRING_EQUAL(tipo, "audio");
    db_rollback(d);
    /* once a message holds it (even a deleted one), never again */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "WITH c AS (INSERT INTO chats (tipo, nombre, creado_por) VALUES ('grupo', 'claim', %lld)"
             " RETURNING id) INSERT INTO mensajes (chat_id, autor_id, tipo, media_id)"
             " SELECT id, %lld, 'audio', %lld FROM c RETURNING id",
             id_a, id_a, id);
    it_db_ll(sql);
    CU_ASSERT_EQUAL(db_begin(d, &e), 0);
    CU_ASSERT_EQUAL(media_claim(d, a, id, id_a, &tipo, &e), -1);
    CU_ASSERT_EQUAL(e.code, ERR_CONFLICT);
    db_rollback(d);
    arena_free(a);
    db_close(d);
}

/* A replaced chat image: discarded in the transaction, file gone after. */
static void test_media__discard_purge(void)
{
    struct buf png = gen_png(8, 8);
    struct it_resp *r = upload("grupo.png", "image/png", &png);
    long long id = it_get_ll(r, "id");
    it_free(r);
    free(png.p);
    char *p = storage_path(id);
    CU_ASSERT(file_exists(p));
    char why[256];
    struct db *d = db_open(it_cfg()->db_conninfo, 0, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct arena *a = arena_new();
    struct err e = { ERR_NONE, "" };
    struct media_store *s = media_store_local(a, it_cfg()->media_dir, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* not discarded: purge leaves it alone */
    CU_ASSERT_EQUAL(media_purge(d, a, s, id, &e), 0);
    CU_ASSERT(file_exists(p));
    CU_ASSERT_EQUAL(db_begin(d, &e), 0);
    CU_ASSERT_EQUAL(media_discard(d, a, id, &e), 0);
    CU_ASSERT_EQUAL(db_commit(d, &e), 0);
    r = it_req("GET", media_path(id), tok_a, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    CU_ASSERT_EQUAL(media_purge(d, a, s, id, &e), 0);
    CU_ASSERT(!file_exists(p));
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM media WHERE id = %lld AND purged_at IS NOT NULL",
             id);
    CU_ASSERT_EQUAL(it_db_ll(sql), 1);
    free(p);
    arena_free(a);
    db_close(d);
}

/* chat-cron prune: what is past retention goes, the rest stays. */
static void test_media__prune(void)
{
    struct buf png = gen_png(2, 2);
    long long ids[6];
    for (int i = 0; i < 6; i++) {
        struct it_resp *r = upload("p.png", "image/png", &png);
        ids[i] = it_get_ll(r, "id");
        it_free(r);
    }
    free(png.p);
    char sql[1024];
    int days = it_cfg()->media_retention_days;
    CU_ASSERT_FATAL(days > 0);
    /* 0: never sent, old; 1: never sent, new; 2: its message deleted long
     * ago; 3: its message deleted just now; 4: discarded long ago; 5:
     * discarded just now (both uploaded long ago) */
    snprintf(sql, sizeof(sql),
             "UPDATE media SET created_at = now() - make_interval(days => %d + 5)"
             " WHERE id IN (%lld, %lld, %lld, %lld, %lld)",
             days, ids[0], ids[2], ids[3], ids[4], ids[5]);
    it_sql_exec(NULL, "%s", sql);
    snprintf(sql, sizeof(sql),
             "UPDATE media SET deleted_at = CASE WHEN id = %lld"
             " THEN now() - make_interval(days => %d + 1) ELSE now() END"
             " WHERE id IN (%lld, %lld)",
             ids[4], days, ids[4], ids[5]);
    it_sql_exec(NULL, "%s", sql);
    snprintf(sql, sizeof(sql),
             "WITH c AS (INSERT INTO chats (tipo, nombre, creado_por) VALUES ('grupo', 'prune', %lld)"
             " RETURNING id) INSERT INTO mensajes (chat_id, autor_id, tipo, media_id, deleted_at)"
             " SELECT id, %lld, 'imagen', m, CASE WHEN m = %lld"
             " THEN now() - make_interval(days => %d + 1) ELSE now() END"
             " FROM c, unnest(ARRAY[%lld, %lld]) m",
             id_a, id_a, ids[2], days, ids[2], ids[3]);
    it_sql_exec(NULL, "%s", sql);
    char *paths[6];
    for (int i = 0; i < 6; i++)
        paths[i] = storage_path(ids[i]);
    /* a temporary file left by a crash two days ago */
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s/tmp/0123456789abcdef0123456789abcdef.part", it_cfg()->media_dir);
    FILE *f = fopen(tmp, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("x", f);
    fclose(f);
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "touch -d '2 days ago' %s", tmp);
    CU_ASSERT_EQUAL(system(cmd), 0);

    /* eventos: one past eventos_retention_days, one fresh */
    snprintf(sql, sizeof(sql),
             "INSERT INTO eventos (tipo, sala, payload, created_at) VALUES"
             " ('prueba:%s', 'user:0', '{\"viejo\":true}',"
             "  now() - make_interval(days => %d + 1)),"
             " ('prueba:%s', 'user:0', '{\"viejo\":false}', now())",
             it_uid("prune"), it_cfg()->eventos_retention_days, it_uid("prune"));
    it_sql_exec(NULL, "%s", sql);

    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    CU_ASSERT_FATAL(n > 0);
    exe[n] = '\0';
    /* <build>/tests/integ/test_media -> <build>/bin/chat-cron */
    for (int i = 0; i < 3; i++)
        *strrchr(exe, '/') = '\0';
    snprintf(cmd, sizeof(cmd), "%s/bin/chat-cron prune", exe);
    CU_ASSERT_EQUAL(system(cmd), 0);

    CU_ASSERT(!file_exists(paths[0]));
    CU_ASSERT(file_exists(paths[1]));
    CU_ASSERT(!file_exists(paths[2]));
    CU_ASSERT(file_exists(paths[3]));
    CU_ASSERT(!file_exists(paths[4]));
    CU_ASSERT(file_exists(paths[5]));
    CU_ASSERT(!file_exists(tmp));
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM media WHERE purged_at IS NOT NULL AND id IN (%lld, %lld, %lld)",
             ids[0], ids[2], ids[4]);
    CU_ASSERT_EQUAL(it_db_ll(sql), 3);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM media WHERE purged_at IS NULL AND id IN (%lld, %lld, %lld)",
             ids[1], ids[3], ids[5]);
    CU_ASSERT_EQUAL(it_db_ll(sql), 3);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM eventos WHERE tipo LIKE 'prueba:t%d\\_%%\\_prune'"
             " AND (payload->>'viejo')::boolean", (int)getpid());
    CU_ASSERT_EQUAL(it_db_ll(sql), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM eventos WHERE tipo LIKE 'prueba:t%d\\_%%\\_prune'"
             " AND NOT (payload->>'viejo')::boolean", (int)getpid());
    CU_ASSERT_EQUAL(it_db_ll(sql), 1);
    /* purged stays 404 even for the uploader */
    struct it_resp *r = it_req("GET", media_path(ids[0]), tok_a, NULL);
    CU_ASSERT_EQUAL(r->status, 404);
    it_free(r);
    /* a second run finds nothing more to do */
    CU_ASSERT_EQUAL(system(cmd), 0);
    CU_ASSERT(file_exists(paths[1]));
    for (int i = 0; i < 6; i++)
        free(paths[i]);
}

int main(void)
{
    it_init();
    tok_a = it_token(it_uid("media_a"), "Ana Media", NULL, 3600);
    tok_b = it_token(it_uid("media_b"), "Beto Media", NULL, 3600);
    tok_c = it_token(it_uid("media_c"), "Carla Media", NULL, 3600);
    id_a = it_me_id(tok_a);
    id_b = it_me_id(tok_b);
    id_c = it_me_id(tok_c);
    static const struct cu_test tests[] = {
        { "test_media__images", test_media__images },
        { "test_media__audio_video", test_media__audio_video },
        { "test_media__documents", test_media__documents },
        { "test_media__refused_types", test_media__refused_types },
        { "test_media__bad_forms", test_media__bad_forms },
        { "test_media__size_limit", test_media__size_limit },
        { "test_media__names", test_media__names },
        { "test_media__download_headers", test_media__download_headers },
        { "test_media__ranges", test_media__ranges },
        { "test_media__access", test_media__access },
        { "test_media__through_messages_api", test_media__through_messages_api },
        { "test_media__claim", test_media__claim },
        { "test_media__discard_purge", test_media__discard_purge },
        { "test_media__prune", test_media__prune },
        { NULL, NULL },
    };
    int rc = cu_run("media", tests);
    free(tok_a);
    free(tok_b);
    free(tok_c);
    return rc;
}
