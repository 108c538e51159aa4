/* zipw.c: the streaming ZIP writer. Format: PKWARE APPNOTE 6.3 (local
 * header, data, data descriptor per entry; central directory; ZIP64 end
 * of central directory record and locator when needed). */
#include "zipw.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct zipw_entry {
    char *name;
    uint32_t crc;
    uint64_t size;              /* stored: compressed == uncompressed */
    uint64_t offset;            /* of the local header */
    bool big;
};

#define ZIPW_MAX32 0xffffffffu
#define ZIPW_FLAGS 0x0808       /* bit 3: sizes in the descriptor; bit 11: UTF-8 names */

uint32_t zipw_crc32(uint32_t crc, const void *buf, size_t len)
{
    /* a 16-entry table: small, and some hundreds of MB/s, more than the
     * client's link */
    static const uint32_t t[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
        0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
    };
    const unsigned char *p = buf;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ t[crc & 15];
        crc = (crc >> 4) ^ t[crc & 15];
    }
    return ~crc;
}

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static int zipw_write(struct zipw *z, const void *buf, size_t len)
{
    if (z->failed)
        return -1;
    if (len && z->out(z->ctx, buf, len) < 0) {
        z->failed = true;
        return -1;
    }
    z->offset += len;
    return 0;
}

void zipw_init(struct zipw *z, zipw_out_fn out, void *ctx)
{
    memset(z, 0, sizeof(*z));
    z->out = out;
    z->ctx = ctx;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    z->dos_time = (uint16_t)((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
    z->dos_date = (uint16_t)(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
}

int zipw_begin(struct zipw *z, const char *name, bool big)
{
    size_t nlen = strlen(name);
    if (z->failed || z->open || nlen == 0 || nlen > 65535)
        return -1;
    if (z->n == z->cap) {
        size_t cap = z->cap ? z->cap * 2 : 16;
        struct zipw_entry *ne = realloc(z->entries, cap * sizeof(*ne));
        if (!ne) {
            z->failed = true;
            return -1;
        }
        z->entries = ne;
        z->cap = cap;
    }
    struct zipw_entry *en = &z->entries[z->n];
    en->name = strdup(name);
    if (!en->name) {
        z->failed = true;
        return -1;
    }
    en->crc = 0;
    en->size = 0;
    en->offset = z->offset;
    en->big = big;
    z->n++;
    unsigned char h[30 + 20];
    size_t extra = big ? 20 : 0;
    put32(h, 0x04034b50);
    put16(h + 4, big ? 45 : 20);            /* version needed */
    put16(h + 6, ZIPW_FLAGS);
    put16(h + 8, 0);                        /* stored */
    put16(h + 10, z->dos_time);
    put16(h + 12, z->dos_date);
    put32(h + 14, 0);                       /* crc, sizes: in the descriptor */
    put32(h + 18, big ? ZIPW_MAX32 : 0);
    put32(h + 22, big ? ZIPW_MAX32 : 0);
    put16(h + 26, (uint16_t)nlen);
    put16(h + 28, (uint16_t)extra);
    if (big) {
        put16(h + 30, 0x0001);              /* ZIP64 extended information */
        put16(h + 32, 16);
        put64(h + 34, 0);
        put64(h + 42, 0);
    }
    if (zipw_write(z, h, 30) < 0 || zipw_write(z, name, nlen) < 0 ||
        zipw_write(z, h + 30, extra) < 0)
        return -1;
    z->open = true;
    return 0;
}

int zipw_data(void *zv, const char *buf, size_t len)
{
    struct zipw *z = zv;
    if (!z->open || z->failed)
        return -1;
    struct zipw_entry *en = &z->entries[z->n - 1];
    en->crc = zipw_crc32(en->crc, buf, len);
    en->size += len;
    if (!en->big && en->size >= ZIPW_MAX32) {
        /* the local header promised 4-byte sizes */
        z->failed = true;
        return -1;
    }
    return zipw_write(z, buf, len);
}

int zipw_end(struct zipw *z)
{
    if (!z->open || z->failed)
        return -1;
    struct zipw_entry *en = &z->entries[z->n - 1];
    unsigned char d[24];
    put32(d, 0x08074b50);
    put32(d + 4, en->crc);
    size_t len;
    if (en->big) {
        put64(d + 8, en->size);
        put64(d + 16, en->size);
        len = 24;
    } else {
        put32(d + 8, (uint32_t)en->size);
        put32(d + 12, (uint32_t)en->size);
        len = 16;
    }
    z->open = false;
    return zipw_write(z, d, len);
}

int zipw_finish(struct zipw *z)
{
    if (z->open || z->failed)
        return -1;
    uint64_t cd_start = z->offset;
    for (size_t i = 0; i < z->n; i++) {
        const struct zipw_entry *en = &z->entries[i];
        bool sz64 = en->size >= ZIPW_MAX32, off64 = en->offset >= ZIPW_MAX32;
        size_t nlen = strlen(en->name);
        unsigned char h[46 + 28];
        size_t extra = (sz64 || off64) ? 4 + (sz64 ? 16 : 0) + (off64 ? 8 : 0) : 0;
        put32(h, 0x02014b50);
        put16(h + 4, (3 << 8) | 45);        /* made by: Unix, 4.5 */
        put16(h + 6, (sz64 || off64 || en->big) ? 45 : 20);
        put16(h + 8, ZIPW_FLAGS);
        put16(h + 10, 0);
        put16(h + 12, z->dos_time);
        put16(h + 14, z->dos_date);
        put32(h + 16, en->crc);
        put32(h + 20, sz64 ? ZIPW_MAX32 : (uint32_t)en->size);
        put32(h + 24, sz64 ? ZIPW_MAX32 : (uint32_t)en->size);
        put16(h + 28, (uint16_t)nlen);
        put16(h + 30, (uint16_t)extra);
        put16(h + 32, 0);                   /* comment */
        put16(h + 34, 0);                   /* disk */
        put16(h + 36, 0);                   /* internal attributes */
        put32(h + 38, (uint32_t)0100644 << 16); /* external: a regular file, rw-r--r-- */
        put32(h + 42, off64 ? ZIPW_MAX32 : (uint32_t)en->offset);
        size_t k = 46;
        if (extra) {
            put16(h + k, 0x0001);
            put16(h + k + 2, (uint16_t)(extra - 4));
            k += 4;
            if (sz64) {
                put64(h + k, en->size);
                put64(h + k + 8, en->size);
                k += 16;
            }
            if (off64) {
                put64(h + k, en->offset);
                k += 8;
            }
        }
        if (zipw_write(z, h, 46) < 0 || zipw_write(z, en->name, nlen) < 0 ||
            zipw_write(z, h + 46, extra) < 0)
            return -1;
    }
    uint64_t cd_size = z->offset - cd_start;
    bool z64 = z->n >= 0xffff || cd_size >= ZIPW_MAX32 || cd_start >= ZIPW_MAX32;
    if (z64) {
        uint64_t rec = z->offset;
        unsigned char e[56 + 20];
        put32(e, 0x06064b50);
        put64(e + 4, 44);                   /* size of the rest of this record */
        put16(e + 12, (3 << 8) | 45);
        put16(e + 14, 45);
        put32(e + 16, 0);
        put32(e + 20, 0);
        put64(e + 24, z->n);
        put64(e + 32, z->n);
        put64(e + 40, cd_size);
        put64(e + 48, cd_start);
        put32(e + 56, 0x07064b50);          /* locator */
        put32(e + 60, 0);
        put64(e + 64, rec);
        put32(e + 72, 1);
        if (zipw_write(z, e, sizeof(e)) < 0)
            return -1;
    }
    unsigned char e[22];
    put32(e, 0x06054b50);
    put16(e + 4, 0);
    put16(e + 6, 0);
    put16(e + 8, z64 ? 0xffff : (uint16_t)z->n);
    put16(e + 10, z64 ? 0xffff : (uint16_t)z->n);
    put32(e + 12, z64 ? ZIPW_MAX32 : (uint32_t)cd_size);
    put32(e + 16, z64 ? ZIPW_MAX32 : (uint32_t)cd_start);
    put16(e + 20, 0);
    return zipw_write(z, e, sizeof(e));
}

void zipw_release(struct zipw *z)
{
    for (size_t i = 0; i < z->n; i++)
        free(z->entries[i].name);
    free(z->entries);
    z->entries = NULL;
    z->n = z->cap = 0;
}
