/* media_sniff.c: deciding what an uploaded file is from its bytes, and the
 * image dimensions and media duration its headers give. */
#include "domain/media.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SNIFF_HEAD (64 * 1024)
#define SNIFF_ZIP_CD_MAX (8 * 1024 * 1024)
#define SNIFF_MOOV_MAX (8 * 1024 * 1024)

/* The allowed types. */
enum sniff_id {
    K_JPEG, K_PNG, K_GIF, K_WEBP,
    K_MP3, K_M4A, K_OGG, K_WEBA,
    K_MP4, K_MOV, K_WEBM,
    K_PDF, K_DOCX, K_XLSX, K_PPTX, K_DOC, K_XLS, K_PPT,
};

static const struct {
    const char *mime, *tipo, *ext;
    const char *exts;           /* extensions a client name may keep, ",a,b," */
} sniff_kinds[] = {
    [K_JPEG] = { "image/jpeg", "imagen", "jpg", ",jpg,jpeg,jpe,jfif," },
    [K_PNG] = { "image/png", "imagen", "png", ",png," },
    [K_GIF] = { "image/gif", "imagen", "gif", ",gif," },
    [K_WEBP] = { "image/webp", "imagen", "webp", ",webp," },
    [K_MP3] = { "audio/mpeg", "audio", "mp3", ",mp3," },
    [K_M4A] = { "audio/mp4", "audio", "m4a", ",m4a,mp4,aac," },
    [K_OGG] = { "audio/ogg", "audio", "ogg", ",ogg,oga,opus," },
    [K_WEBA] = { "audio/webm", "audio", "weba", ",weba,webm," },
    [K_MP4] = { "video/mp4", "video", "mp4", ",mp4,m4v," },
    [K_MOV] = { "video/quicktime", "video", "mov", ",mov,qt," },
    [K_WEBM] = { "video/webm", "video", "webm", ",webm," },
    [K_PDF] = { "application/pdf", "documento", "pdf", ",pdf," },
    [K_DOCX] = { "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "documento", "docx", ",docx," },
    [K_XLSX] = { "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "documento", "xlsx", ",xlsx," },
    [K_PPTX] = { "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                 "documento", "pptx", ",pptx," },
    [K_DOC] = { "application/msword", "documento", "doc", ",doc,dot," },
    [K_XLS] = { "application/vnd.ms-excel", "documento", "xls", ",xls,xlt," },
    [K_PPT] = { "application/vnd.ms-powerpoint", "documento", "ppt", ",ppt,pps,pot," },
};

static uint16_t be16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[1] << 8 | p[0]); }
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint32_t le24(const unsigned char *p) { return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; }
static uint64_t be64(const unsigned char *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

/* Reads exactly n bytes at off; returns 0 or -1 (short file, error). */
static int sniff_pread(int fd, void *buf, size_t n, long long off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)off + (off_t)got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* The lowercase extension of name (after the last '.', at most 15
 * characters), or "" when none. */
static void sniff_ext(const char *name, char out[16])
{
    out[0] = '\0';
    if (!name)
        return;
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    const char *dot = strrchr(base, '.');
    if (!dot || strlen(dot + 1) >= 16)
        return;
    size_t i = 0;
    for (const char *p = dot + 1; *p; p++)
        out[i++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    out[i] = '\0';
}

static void sniff_set(struct media_kind *k, enum sniff_id id)
{
    k->mime = sniff_kinds[id].mime;
    k->tipo = sniff_kinds[id].tipo;
    k->ext = sniff_kinds[id].ext;
}

/* ---- images ------------------------------------------------------------ */

/* Walks the JPEG segments up to the first SOFn frame header. */
static void sniff_jpeg_dims(int fd, long long size, struct media_kind *k)
{
    long long off = 2;
    for (int seg = 0; seg < 4096 && off + 4 <= size; seg++) {
        unsigned char h[9];
        if (sniff_pread(fd, h, 4, off) < 0 || h[0] != 0xFF)
            return;
        unsigned char m = h[1];
        if (m == 0xFF) {        /* fill byte */
            off++;
            continue;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {
            off += 2;
            continue;
        }
        if (m == 0xD9 || m == 0xDA)     /* end of image, start of scan */
            return;
        unsigned len = be16(h + 2);
        if (len < 2)
            return;
        bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
        if (sof) {
            if (sniff_pread(fd, h, 9, off) < 0)
                return;
            k->alto = be16(h + 5);
            k->ancho = be16(h + 7);
            return;
        }
        off += 2 + len;
    }
}

static void sniff_webp_dims(const unsigned char *b, size_t n, struct media_kind *k)
{
    if (n >= 30 && memcmp(b + 12, "VP8 ", 4) == 0 && b[23] == 0x9D && b[24] == 0x01 &&
        b[25] == 0x2A) {
        k->ancho = le16(b + 26) & 0x3FFF;
        k->alto = le16(b + 28) & 0x3FFF;
    } else if (n >= 25 && memcmp(b + 12, "VP8L", 4) == 0 && b[20] == 0x2F) {
        uint32_t bits = le32(b + 21);
        k->ancho = (int)(bits & 0x3FFF) + 1;
        k->alto = (int)((bits >> 14) & 0x3FFF) + 1;
    } else if (n >= 30 && memcmp(b + 12, "VP8X", 4) == 0) {
        k->ancho = (int)le24(b + 24) + 1;
        k->alto = (int)le24(b + 27) + 1;
    }
}

/* ---- ISO base media (MP4, M4A, QuickTime) ------------------------------ */

/* Finds the top-level box of type t; sets its payload offset and size. */
static int sniff_box(int fd, long long size, const char *t, long long *poff, long long *plen)
{
    long long off = 0;
    for (int i = 0; i < 10000 && off + 8 <= size; i++) {
        unsigned char h[16];
        if (sniff_pread(fd, h, 8, off) < 0)
            return -1;
        long long len = be32(h), hdr = 8;
        if (len == 1) {
            if (sniff_pread(fd, h + 8, 8, off + 8) < 0)
                return -1;
            len = (long long)be64(h + 8);
            hdr = 16;
        } else if (len == 0) {
            len = size - off;
        }
        if (len < hdr || off + len > size)
            return -1;
        if (memcmp(h + 4, t, 4) == 0) {
            *poff = off + hdr;
            *plen = len - hdr;
            return 0;
        }
        off += len;
    }
    return -1;
}

/* Reads the moov box: whether it holds a video or a sound track, the
 * duration (mvhd) and the video size (the first tkhd with a width). */
static void sniff_moov(int fd, long long size, bool *video, bool *sound, struct media_kind *k)
{
    long long off, len;
    if (sniff_box(fd, size, "moov", &off, &len) < 0 || len > SNIFF_MOOV_MAX || len < 8)
        return;
    unsigned char *b = malloc((size_t)len);
    if (!b || sniff_pread(fd, b, (size_t)len, off) < 0) {
        free(b);
        return;
    }
    size_t n = (size_t)len;
    for (size_t i = 4; i + 4 <= n; i++) {
        const unsigned char *p = b + i;
        if (memcmp(p, "hdlr", 4) == 0 && i + 16 <= n) {
            if (memcmp(p + 12, "vide", 4) == 0)
                *video = true;
            else if (memcmp(p + 12, "soun", 4) == 0)
                *sound = true;
        } else if (memcmp(p, "mvhd", 4) == 0 && k->duracion < 0 && i + 36 <= n) {
            uint32_t scale;
            uint64_t dur;
            if (p[4] == 1) {
                scale = be32(p + 24);
                dur = be64(p + 28);
            } else {
                scale = be32(p + 16);
                dur = be32(p + 20);
            }
            if (scale && dur != UINT64_MAX && dur != UINT32_MAX)
                k->duracion = (double)dur / scale;
        } else if (memcmp(p, "tkhd", 4) == 0 && k->ancho == 0 && i + 5 <= n) {
            size_t w = p[4] == 1 ? 92 : 80;
            if (i + w + 8 <= n) {
                int ww = (int)(be32(p + w) >> 16), hh = (int)(be32(p + w + 4) >> 16);
                if (ww > 0 && hh > 0) {
                    k->ancho = ww;
                    k->alto = hh;
                }
            }
        }
    }
    free(b);
}

static bool sniff_brand_in(const unsigned char *brand, const char *list)
{
    for (const char *p = list; *p; p += 4)
        if (memcmp(brand, p, 4) == 0)
            return true;
    return false;
}

static int sniff_ftyp(int fd, long long size, const unsigned char *b, size_t n,
                      struct media_kind *k)
{
    static const char video_brands[] = "isomiso2iso4iso5iso6mp41mp42avc1M4V dashmmp4MSNVf4v ";
    /* HEIF/AVIF stills also list "isom": browsers cannot show most */
    static const char image_brands[] = "heicheixhevchevxheimheismif1msf1avifavis";
    uint32_t blen = be32(b);
    const unsigned char *major = b + 8;
    if (sniff_brand_in(major, image_brands))
        return -1;
    bool audio_brand = memcmp(major, "M4A ", 4) == 0 || memcmp(major, "M4B ", 4) == 0;
    bool qt = memcmp(major, "qt  ", 4) == 0;
    bool mp4 = sniff_brand_in(major, video_brands);
    /* the major brand may be vendor-specific: look at the compatible ones */
    for (size_t i = 16; !audio_brand && !qt && !mp4 && i + 4 <= blen && i + 4 <= n; i += 4)
        mp4 = sniff_brand_in(b + i, video_brands);
    if (!audio_brand && !qt && !mp4)
        return -1;      /* HEIC/AVIF, 3GP and others */
    bool video = false, sound = false;
    sniff_moov(fd, size, &video, &sound, k);
    if (video)
        sniff_set(k, qt ? K_MOV : K_MP4);
    else if (sound || audio_brand)
        sniff_set(k, K_M4A);    /* also an audio-only "isom" from Android */
    else
        sniff_set(k, qt ? K_MOV : K_MP4);
    if (strcmp(k->tipo, "video") != 0)
        k->ancho = k->alto = 0;
    return 0;
}

/* ---- Matroska / WebM ---------------------------------------------------- */

/* Reads an EBML variable-length integer at b[*i]; keep_marker keeps the
 * length bits (element ids). Returns -1 when malformed or past n. */
static int sniff_vint(const unsigned char *b, size_t n, size_t *i, bool keep_marker, uint64_t *out)
{
    if (*i >= n || b[*i] == 0)
        return -1;
    int len = 1;
    while (!(b[*i] & (0x80 >> (len - 1))))
        len++;
    if (*i + (size_t)len > n)
        return -1;
    uint64_t v = keep_marker ? b[*i] : (b[*i] & (0xFF >> len));
    for (int j = 1; j < len; j++)
        v = v << 8 | b[*i + (size_t)j];
    *i += (size_t)len;
    *out = v;
    return 0;
}

static int sniff_webm(const unsigned char *b, size_t n, const char *client_ctype,
                      struct media_kind *k)
{
    size_t i = 0;
    uint64_t id, len;
    if (sniff_vint(b, n, &i, true, &id) < 0 || id != 0x1A45DFA3 ||
        sniff_vint(b, n, &i, false, &len) < 0 || len > n - i)
        return -1;
    size_t end = i + (size_t)len;
    char doctype[16] = "";
    while (i < end) {
        if (sniff_vint(b, end, &i, true, &id) < 0 || sniff_vint(b, end, &i, false, &len) < 0 ||
            len > end - i)
            return -1;
        if (id == 0x4282 && len < sizeof(doctype)) {
            memcpy(doctype, b + i, (size_t)len);
            doctype[len] = '\0';
        }
        i += (size_t)len;
    }
    if (strcmp(doctype, "webm") != 0)
        return -1;      /* plain Matroska (.mkv) is not on the list */
    /* CodecID elements (0x86, a short size, "V_..." or "A_...") in the
     * Tracks near the start tell video from audio */
    bool video = false, audio = false;
    for (size_t j = 0; j + 4 <= n; j++) {
        if (b[j] != 0x86 || b[j + 1] < 0x82 || b[j + 1] > 0x9F)
            continue;
        if (b[j + 2] == 'V' && b[j + 3] == '_')
            video = true;
        else if (b[j + 2] == 'A' && b[j + 3] == '_')
            audio = true;
    }
    if (video)
        sniff_set(k, K_WEBM);
    else if (audio || (client_ctype && strncasecmp(client_ctype, "audio/", 6) == 0))
        sniff_set(k, K_WEBA);
    else
        sniff_set(k, K_WEBM);   /* unclear: video unless declared audio */
    return 0;
}

/* ---- Office ------------------------------------------------------------- */

struct sniff_zip {
    bool content_types, word, xl, ppt, macros;
};

static void sniff_zip_name(struct sniff_zip *z, const unsigned char *name, size_t n)
{
    if (n == 19 && memcmp(name, "[Content_Types].xml", 19) == 0)
        z->content_types = true;
    else if (n > 5 && memcmp(name, "word/", 5) == 0)
        z->word = true;
    else if (n > 3 && memcmp(name, "xl/", 3) == 0)
        z->xl = true;
    else if (n > 4 && memcmp(name, "ppt/", 4) == 0)
        z->ppt = true;
    if (n >= 14 && memcmp(name + n - 14, "vbaProject.bin", 14) == 0)
        z->macros = true;
}

/* Lists the entries from the central directory (the end of the file). */
static int sniff_zip_central(int fd, long long size, struct sniff_zip *z)
{
    size_t tail = size < 65557 ? (size_t)size : 65557;
    unsigned char *t = malloc(tail), *cd = NULL;
    int ret = -1;
    if (!t || sniff_pread(fd, t, tail, size - (long long)tail) < 0)
        goto cleanup;
    size_t eocd = SIZE_MAX;
    for (size_t i = tail >= 22 ? tail - 22 + 1 : 0; i-- > 0;)
        if (memcmp(t + i, "PK\x05\x06", 4) == 0) {
            eocd = i;
            break;
        }
    if (eocd == SIZE_MAX)
        goto cleanup;
    uint32_t cd_size = le32(t + eocd + 12), cd_off = le32(t + eocd + 16);
    if (cd_size > SNIFF_ZIP_CD_MAX || (long long)cd_off + cd_size > size)
        goto cleanup;
    cd = malloc(cd_size ? cd_size : 1);
    if (!cd || sniff_pread(fd, cd, cd_size, cd_off) < 0)
        goto cleanup;
    for (size_t i = 0; i + 46 <= cd_size && memcmp(cd + i, "PK\x01\x02", 4) == 0;) {
        size_t nl = le16(cd + i + 28), xl = le16(cd + i + 30), cl = le16(cd + i + 32);
        if (i + 46 + nl > cd_size)
            break;
        sniff_zip_name(z, cd + i + 46, nl);
        i += 46 + nl + xl + cl;
    }
    ret = 0;
cleanup:
    free(t);
    free(cd);
    return ret;
}

/* Lists the entries from the local headers found in the first bytes (for
 * a file whose central directory cannot be read). */
static void sniff_zip_local(const unsigned char *b, size_t n, struct sniff_zip *z)
{
    for (size_t i = 0; i + 30 <= n && memcmp(b + i, "PK\x03\x04", 4) == 0;) {
        size_t nl = le16(b + i + 26), xl = le16(b + i + 28);
        uint32_t csize = le32(b + i + 18);
        if (i + 30 + nl > n)
            break;
        sniff_zip_name(z, b + i + 30, nl);
        if (le16(b + i + 6) & 0x08)
            break;      /* sizes follow the data: cannot skip it */
        i += 30 + nl + xl + csize;
    }
}

static int sniff_ooxml(int fd, long long size, const unsigned char *b, size_t n,
                       struct media_kind *k, struct err *e)
{
    struct sniff_zip z = { 0 };
    if (sniff_zip_central(fd, size, &z) < 0)
        sniff_zip_local(b, n, &z);
    if (z.macros)
        return err_set(e, ERR_MEDIA_TYPE, "No se admiten documentos con macros");
    if (!z.content_types || (int)z.word + (int)z.xl + (int)z.ppt != 1)
        return -1;
    sniff_set(k, z.word ? K_DOCX : z.xl ? K_XLSX : K_PPTX);
    return 0;
}

/* Whether the 64-byte directory-entry name field holds name (UTF-16LE). */
static bool sniff_cfb_name(const unsigned char *entry, const char *name)
{
    size_t n = strlen(name);
    if (le16(entry + 64) != (n + 1) * 2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (entry[2 * i] != (unsigned char)name[i] || entry[2 * i + 1] != 0)
            return false;
    return true;
}

/* Legacy Office (OLE2 compound file): the directory entries (128 bytes,
 * always 128-aligned after the 512-byte header) name the main stream. */
static int sniff_cfb(int fd, long long size, const char *client_name, struct media_kind *k)
{
    bool doc = false, xls = false, ppt = false;
    unsigned char *buf = malloc(SNIFF_HEAD);
    if (!buf)
        return -1;
    for (long long off = 512; off < size; off += SNIFF_HEAD) {
        size_t n = size - off < SNIFF_HEAD ? (size_t)(size - off) : SNIFF_HEAD;
        if (sniff_pread(fd, buf, n, off) < 0)
            break;
        for (size_t i = 0; i + 128 <= n; i += 128) {
            doc = doc || sniff_cfb_name(buf + i, "WordDocument");
            xls = xls || sniff_cfb_name(buf + i, "Workbook") || sniff_cfb_name(buf + i, "Book");
            ppt = ppt || sniff_cfb_name(buf + i, "PowerPoint Document");
        }
    }
    free(buf);
    /* a file embedding another (a chart in a deck) holds both names: the
     * client's extension settles it when it names one of them */
    char ext[16];
    sniff_ext(client_name, ext);
    if (doc && (!strcmp(ext, "doc") || !strcmp(ext, "dot")))
        xls = ppt = false;
    else if (xls && (!strcmp(ext, "xls") || !strcmp(ext, "xlt")))
        doc = ppt = false;
    else if (ppt && (!strcmp(ext, "ppt") || !strcmp(ext, "pps") || !strcmp(ext, "pot")))
        doc = xls = false;
    if (doc)
        sniff_set(k, K_DOC);
    else if (ppt)
        sniff_set(k, K_PPT);
    else if (xls)
        sniff_set(k, K_XLS);
    else
        return -1;      /* MSI, Outlook .msg, Visio... */
    return 0;
}

/* ---- audio -------------------------------------------------------------- */

/* An MPEG audio Layer III frame header. */
static bool sniff_mp3_frame(const unsigned char *b, size_t n)
{
    return n >= 4 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0 && ((b[1] >> 3) & 3) != 1 &&
           ((b[1] >> 1) & 3) == 1 && (b[2] >> 4) != 0xF && (b[2] >> 4) != 0 &&
           ((b[2] >> 2) & 3) != 3;
}

static int sniff_ogg(const unsigned char *b, size_t n, struct media_kind *k)
{
    if (n < 28)
        return -1;
    size_t segs = b[26], p = 27 + segs;
    if (p + 8 > n)
        return -1;
    const unsigned char *pk = b + p;
    if (memcmp(pk, "OpusHead", 8) == 0 || memcmp(pk, "\x01vorbis", 7) == 0 ||
        memcmp(pk, "\x7F" "FLAC", 5) == 0 || memcmp(pk, "Speex   ", 8) == 0) {
        sniff_set(k, K_OGG);
        return 0;
    }
    return -1;          /* Theora video and anything else */
}

/* ---- the decision ----------------------------------------------------- */

static int sniff_decide(int fd, long long size, const unsigned char *b, size_t n,
                        const char *client_ctype, const char *client_name,
                        struct media_kind *k, struct err *e)
{
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) {
        sniff_set(k, K_JPEG);
        sniff_jpeg_dims(fd, size, k);
        return 0;
    }
    if (n >= 24 && memcmp(b, "\x89PNG\r\n\x1A\n", 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0) {
        sniff_set(k, K_PNG);
        uint32_t w = be32(b + 16), h = be32(b + 20);
        if (w > 0 && w <= INT32_MAX && h > 0 && h <= INT32_MAX) {
            k->ancho = (int)w;
            k->alto = (int)h;
        }
        return 0;
    }
    if (n >= 10 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) {
        sniff_set(k, K_GIF);
        k->ancho = le16(b + 6);
        k->alto = le16(b + 8);
        return 0;
    }
    if (n >= 16 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0 &&
        (memcmp(b + 12, "VP8 ", 4) == 0 || memcmp(b + 12, "VP8L", 4) == 0 ||
         memcmp(b + 12, "VP8X", 4) == 0)) {
        sniff_set(k, K_WEBP);
        sniff_webp_dims(b, n, k);
        return 0;
    }
    if (n >= 5 && memcmp(b, "%PDF-", 5) == 0) {
        sniff_set(k, K_PDF);
        return 0;
    }
    if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0)
        return sniff_ftyp(fd, size, b, n, k);
    if (n >= 4 && memcmp(b, "\x1A\x45\xDF\xA3", 4) == 0)
        return sniff_webm(b, n, client_ctype, k);
    if (n >= 4 && memcmp(b, "OggS", 4) == 0)
        return sniff_ogg(b, n, k);
    if ((n >= 10 && memcmp(b, "ID3", 3) == 0 && b[3] >= 2 && b[3] <= 4) ||
        sniff_mp3_frame(b, n)) {
        sniff_set(k, K_MP3);
        return 0;
    }
    if (n >= 30 && memcmp(b, "PK\x03\x04", 4) == 0)
        return sniff_ooxml(fd, size, b, n, k, e);
    if (n >= 512 && memcmp(b, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) == 0)
        return sniff_cfb(fd, size, client_name, k);
    return -1;
}

int media_sniff(int fd, long long size, const char *client_ctype, const char *client_name,
                struct media_kind *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    out->duracion = -1;
    size_t n = size < SNIFF_HEAD ? (size_t)size : SNIFF_HEAD;
    unsigned char *b = malloc(n ? n : 1);
    if (!b)
        return err_set(e, ERR_INTERNAL, NULL);
    struct err why = { ERR_NONE, "" };
    int ret = -1;
    if (sniff_pread(fd, b, n, 0) == 0)
        ret = sniff_decide(fd, size, b, n, client_ctype, client_name, out, &why);
    free(b);
    if (ret < 0) {
        if (why.code != ERR_NONE)
            *e = why;
        else
            err_set(e, ERR_MEDIA_TYPE, "Tipo de archivo no permitido");
        memset(out, 0, sizeof(*out));
        return -1;
    }
    if (out->ancho <= 0 || out->alto <= 0)
        out->ancho = out->alto = 0;
    return 0;
}

const char *media_tipo(const char *mime)
{
    if (!mime)
        return "documento";
    if (strncmp(mime, "image/", 6) == 0)
        return "imagen";
    if (strncmp(mime, "audio/", 6) == 0)
        return "audio";
    if (strncmp(mime, "video/", 6) == 0)
        return "video";
    return "documento";
}

bool media_ext_allowed(const struct media_kind *k, const char *ext)
{
    if (!ext[0] || strchr(ext, ','))
        return false;
    for (size_t i = 0; i < sizeof(sniff_kinds) / sizeof(sniff_kinds[0]); i++) {
        if (strcmp(sniff_kinds[i].mime, k->mime) != 0)
            continue;
        const char *hit = strstr(sniff_kinds[i].exts, ext);
        size_t el = strlen(ext);
        while (hit) {
            if (hit[-1] == ',' && hit[el] == ',')
                return true;
            hit = strstr(hit + 1, ext);
        }
    }
    return false;
}
