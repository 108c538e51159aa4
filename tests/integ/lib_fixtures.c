/* lib_fixtures.c: the media file generators of fixtures.h. */
#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable byte buffer -------------------------------------------- */


void put(struct buf *b, const void *d, size_t n)
{
    if (n == 0)
        return;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }
static void put8(struct buf *b, unsigned v) { unsigned char c = (unsigned char)v; put(b, &c, 1); }
static void put16le(struct buf *b, unsigned v) { put8(b, v & 255); put8(b, v >> 8); }
static void put32le(struct buf *b, uint32_t v) { put16le(b, v & 0xFFFF); put16le(b, v >> 16); }
static void put16be(struct buf *b, unsigned v) { put8(b, v >> 8); put8(b, v & 255); }
static void put32be(struct buf *b, uint32_t v) { put16be(b, v >> 16); put16be(b, v & 0xFFFF); }
void putz(struct buf *b, size_t n) { for (size_t i = 0; i < n; i++) put8(b, 0); }
static void patch32be(struct buf *b, size_t at, uint32_t v)
{
    b->p[at] = (unsigned char)(v >> 24);
    b->p[at + 1] = (unsigned char)(v >> 16);
    b->p[at + 2] = (unsigned char)(v >> 8);
    b->p[at + 3] = (unsigned char)v;
}

static uint32_t crc32_(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* ---- file generators ----------------------------------------------------- */

static void png_chunk(struct buf *b, const char *type, const unsigned char *d, size_t n)
{
    put32be(b, (uint32_t)n);
    size_t at = b->n;
    puts_(b, type);
    put(b, d, n);
    put32be(b, crc32_(b->p + at, n + 4));
}

/* A real w x h RGB PNG (black), its pixels in one stored deflate block. */
struct buf gen_png(unsigned w, unsigned h)
{
    struct buf b = { 0 }, ihdr = { 0 }, z = { 0 }, raw = { 0 };
    put(&b, "\x89PNG\r\n\x1A\n", 8);
    put32be(&ihdr, w);
    put32be(&ihdr, h);
    put(&ihdr, "\x08\x02\x00\x00\x00", 5);
    png_chunk(&b, "IHDR", ihdr.p, ihdr.n);
    for (unsigned y = 0; y < h; y++) {
        put8(&raw, 0);
        putz(&raw, 3 * w);
    }
    put(&z, "\x78\x01\x01", 3);
    put16le(&z, (unsigned)raw.n);
    put16le(&z, (unsigned)(~raw.n & 0xFFFF));
    put(&z, raw.p, raw.n);
    uint32_t s1 = 1, s2 = 0;
    for (size_t i = 0; i < raw.n; i++) {
        s1 = (s1 + raw.p[i]) % 65521;
        s2 = (s2 + s1) % 65521;
    }
    put32be(&z, s2 << 16 | s1);
    png_chunk(&b, "IDAT", z.p, z.n);
    png_chunk(&b, "IEND", NULL, 0);
    free(ihdr.p);
    free(z.p);
    free(raw.p);
    return b;
}

/* JPEG markers up to the frame header (SOF0 w x h), after an EXIF-sized
 * APP1 so the size is not in the first bytes. */
struct buf gen_jpeg(unsigned w, unsigned h)
{
    struct buf b = { 0 };
    put(&b, "\xFF\xD8", 2);
    put(&b, "\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);
    put(&b, "\xFF\xE1", 2);
    put16be(&b, 2 + 3000);
    puts_(&b, "Exif");
    putz(&b, 2996);
    put(&b, "\xFF\xDB\x00\x43\x00", 5);
    for (int i = 0; i < 64; i++)
        put8(&b, 1);
    put(&b, "\xFF\xC0\x00\x11\x08", 5);
    put16be(&b, h);
    put16be(&b, w);
    put(&b, "\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10);
    put(&b, "\xFF\xD9", 2);
    return b;
}

struct buf gen_gif(unsigned w, unsigned h)
{
    struct buf b = { 0 };
    puts_(&b, "GIF89a");
    put16le(&b, w);
    put16le(&b, h);
    put(&b, "\x80\x00\x00\xFF\xFF\xFF\x00\x00\x00", 9);
    put(&b, "\x2C\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3B", 16);
    return b;
}

/* WebP in each of its three forms: 'L' lossless, 'X' extended, ' ' lossy. */
struct buf gen_webp(char form, unsigned w, unsigned h)
{
    struct buf b = { 0 }, c = { 0 };
    if (form == 'L') {
        put8(&c, 0x2F);
        put32le(&c, (uint32_t)((w - 1) | (h - 1) << 14));
        putz(&c, 3);
    } else if (form == 'X') {
        put32le(&c, 0);
        put8(&c, (w - 1) & 255), put8(&c, ((w - 1) >> 8) & 255), put8(&c, (w - 1) >> 16);
        put8(&c, (h - 1) & 255), put8(&c, ((h - 1) >> 8) & 255), put8(&c, (h - 1) >> 16);
    } else {
        put(&c, "\x10\x02\x00\x9D\x01\x2A", 6);
        put16le(&c, w);
        put16le(&c, h);
        putz(&c, 10);
    }
    puts_(&b, "RIFF");
    put32le(&b, (uint32_t)(4 + 8 + c.n));
    puts_(&b, "WEBP");
    puts_(&b, form == 'L' ? "VP8L" : form == 'X' ? "VP8X" : "VP8 ");
    put32le(&b, (uint32_t)c.n);
    put(&b, c.p, c.n);
    free(c.p);
    return b;
}

struct buf gen_mp3(bool id3)
{
    struct buf b = { 0 };
    if (id3)
        put(&b, "ID3\x04\x00\x00\x00\x00\x00\x00", 10);
    for (int i = 0; i < 3; i++) {
        put(&b, "\xFF\xFB\x90\x64", 4);     /* MPEG-1 Layer III 128k 44.1k */
        putz(&b, 413);
    }
    return b;
}

static size_t box_open(struct buf *b, const char *type)
{
    size_t at = b->n;
    put32be(b, 0);
    puts_(b, type);
    return at;
}
static void box_close(struct buf *b, size_t at) { patch32be(b, at, (uint32_t)(b->n - at)); }

/* An ISO media file: brand, one track (vide or soun), mvhd with the
 * duration; moov_last puts moov after mdat (Android's recorder). */
struct buf gen_mp4(const char *brand, const char *handler, unsigned w, unsigned h,
                          bool moov_last)
{
    struct buf b = { 0 }, moov = { 0 };
    size_t f = box_open(&b, "ftyp");
    puts_(&b, brand);
    put32be(&b, 0x200);
    puts_(&b, brand);
    puts_(&b, "isom");
    box_close(&b, f);

    size_t m = box_open(&moov, "moov");
    size_t v = box_open(&moov, "mvhd");
    put32be(&moov, 0), put32be(&moov, 0), put32be(&moov, 0);
    put32be(&moov, 1000);           /* timescale */
    put32be(&moov, 2500);           /* 2.5 s */
    put32be(&moov, 0x00010000), put16be(&moov, 0x0100);
    putz(&moov, 10 + 36 + 24);
    put32be(&moov, 2);
    box_close(&moov, v);
    size_t t = box_open(&moov, "trak");
    size_t k = box_open(&moov, "tkhd");
    put32be(&moov, 3), put32be(&moov, 0), put32be(&moov, 0), put32be(&moov, 1);
    put32be(&moov, 0), put32be(&moov, 2500);
    putz(&moov, 8 + 2 + 2 + 2 + 2 + 36);
    put32be(&moov, w << 16), put32be(&moov, h << 16);
    box_close(&moov, k);
    size_t md = box_open(&moov, "mdia");
    size_t hd = box_open(&moov, "hdlr");
    put32be(&moov, 0), put32be(&moov, 0);
    puts_(&moov, handler);
    putz(&moov, 12);
    puts_(&moov, "handler");
    put8(&moov, 0);
    box_close(&moov, hd);
    box_close(&moov, md);
    box_close(&moov, t);
    box_close(&moov, m);

    if (!moov_last)
        put(&b, moov.p, moov.n);
    size_t d = box_open(&b, "mdat");
    putz(&b, 600);
    box_close(&b, d);
    if (moov_last)
        put(&b, moov.p, moov.n);
    free(moov.p);
    return b;
}

struct buf gen_ogg(const char *codec_head, size_t headlen)
{
    struct buf b = { 0 };
    puts_(&b, "OggS");
    put8(&b, 0), put8(&b, 2);
    putz(&b, 8 + 4 + 4 + 4);
    put8(&b, 1), put8(&b, 19);
    put(&b, codec_head, headlen);
    putz(&b, 19 - headlen);
    return b;
}

static void ebml(struct buf *b, uint32_t id, const void *d, size_t n)
{
    if (id > 0xFFFFFF)
        put8(b, id >> 24);
    if (id > 0xFFFF)
        put8(b, (id >> 16) & 255);
    if (id > 0xFF)
        put8(b, (id >> 8) & 255);
    put8(b, id & 255);
    put8(b, 0x80 | (unsigned)n);
    put(b, d, n);
}

/* A WebM with one track of codec (NULL: no Tracks at all). */
struct buf gen_webm(const char *codec, const char *doctype)
{
    struct buf b = { 0 }, hdr = { 0 }, te = { 0 }, tr = { 0 };
    ebml(&hdr, 0x4286, "\x01", 1);
    ebml(&hdr, 0x4282, doctype, strlen(doctype));
    ebml(&hdr, 0x4287, "\x02", 1);
    ebml(&hdr, 0x4285, "\x02", 1);
    ebml(&b, 0x1A45DFA3, hdr.p, hdr.n);
    put(&b, "\x18\x53\x80\x67\x01\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 12);
    if (codec) {
        ebml(&te, 0xD7, "\x01", 1);
        ebml(&te, 0x83, codec[0] == 'V' ? "\x01" : "\x02", 1);
        ebml(&te, 0x86, codec, strlen(codec));
        ebml(&tr, 0xAE, te.p, te.n);
        ebml(&b, 0x1654AE6B, tr.p, tr.n);
    }
    putz(&b, 64);
    free(hdr.p);
    free(te.p);
    free(tr.p);
    return b;
}

struct buf gen_pdf(void)
{
    struct buf b = { 0 };
    puts_(&b, "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
              "2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
              "trailer << /Root 1 0 R >>\n%%EOF\n");
    return b;
}

/* A stored (uncompressed) ZIP holding the named entries. */
struct buf gen_zip(const char *const *names)
{
    struct buf b = { 0 }, cd = { 0 };
    size_t count = 0;
    for (const char *const *nm = names; *nm; nm++, count++) {
        char data[128];
        int dl = snprintf(data, sizeof(data), "<x>%s</x>", *nm);
        uint32_t crc = crc32_((const unsigned char *)data, (size_t)dl);
        size_t off = b.n, nl = strlen(*nm);
        put32le(&b, 0x04034b50), put16le(&b, 20), put16le(&b, 0), put16le(&b, 0);
        put16le(&b, 0), put16le(&b, 0x21), put32le(&b, crc);
        put32le(&b, (uint32_t)dl), put32le(&b, (uint32_t)dl);
        put16le(&b, (unsigned)nl), put16le(&b, 0);
        put(&b, *nm, nl);
        put(&b, data, (size_t)dl);
        put32le(&cd, 0x02014b50), put16le(&cd, 20), put16le(&cd, 20), put16le(&cd, 0);
        put16le(&cd, 0), put16le(&cd, 0), put16le(&cd, 0x21), put32le(&cd, crc);
        put32le(&cd, (uint32_t)dl), put32le(&cd, (uint32_t)dl);
        put16le(&cd, (unsigned)nl), put16le(&cd, 0), put16le(&cd, 0);
        put16le(&cd, 0), put16le(&cd, 0), put32le(&cd, 0), put32le(&cd, (uint32_t)off);
        put(&cd, *nm, nl);
    }
    size_t cdoff = b.n;
    put(&b, cd.p, cd.n);
    put32le(&b, 0x06054b50), put16le(&b, 0), put16le(&b, 0);
    put16le(&b, (unsigned)count), put16le(&b, (unsigned)count);
    put32le(&b, (uint32_t)cd.n), put32le(&b, (uint32_t)cdoff), put16le(&b, 0);
    free(cd.p);
    return b;
}

static void cfb_entry(struct buf *b, const char *name, int type)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < 32; i++)
        put16le(b, i < n ? (unsigned char)name[i] : 0);
    put16le(b, (unsigned)(n + 1) * 2);
    put8(b, (unsigned)type), put8(b, 1);
    put32le(b, 0xFFFFFFFF), put32le(b, 0xFFFFFFFF), put32le(b, 0xFFFFFFFF);
    putz(b, 16 + 4 + 8 + 8);
    put32le(b, type == 5 ? 0xFFFFFFFE : 0), put32le(b, 0), put32le(b, 0);
}

/* An OLE2 compound file whose directory names stream. */
struct buf gen_cfb(const char *stream)
{
    struct buf b = { 0 };
    put(&b, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
    putz(&b, 16);
    put16le(&b, 0x3E), put16le(&b, 3), put16le(&b, 0xFFFE), put16le(&b, 9), put16le(&b, 6);
    putz(&b, 6);
    put32le(&b, 0), put32le(&b, 1), put32le(&b, 0), put32le(&b, 0), put32le(&b, 0x1000);
    put32le(&b, 0xFFFFFFFE), put32le(&b, 0), put32le(&b, 0xFFFFFFFE), put32le(&b, 0);
    put32le(&b, 1);
    for (int i = 1; i < 109; i++)
        put32le(&b, 0xFFFFFFFF);
    cfb_entry(&b, "Root Entry", 5);
    cfb_entry(&b, stream, 2);
    putz(&b, 256);
    put32le(&b, 0xFFFFFFFE), put32le(&b, 0xFFFFFFFD);
    for (int i = 2; i < 128; i++)
        put32le(&b, 0xFFFFFFFF);
    return b;
}

