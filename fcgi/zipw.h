/* zipw.h: a streaming ZIP writer (store method, no compression): entries
 * are written as their bytes arrive, with the CRC-32 computed on the way
 * and sizes in a data descriptor after the data, so nothing is buffered;
 * ZIP64 records are used where a size, an offset or the entry count needs
 * them. Only the central directory's per-entry facts are kept (a few dozen
 * bytes per entry) until zipw_finish writes it. */
#ifndef CHAT_FCGI_ZIPW_H
#define CHAT_FCGI_ZIPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the bytes go: returns 0, or -1 when the reader is gone. */
typedef int (*zipw_out_fn)(void *ctx, const char *buf, size_t len);

struct zipw_entry;

struct zipw {
    zipw_out_fn out;
    void *ctx;
    uint64_t offset;            /* bytes written so far */
    struct zipw_entry *entries; /* malloc'd, grows */
    size_t n, cap;
    bool open;                  /* an entry is being written */
    bool failed;                /* out failed or memory ran out: all later calls fail */
    uint16_t dos_time, dos_date;
};

/* Starts an archive written through out(ctx, ...). Cannot fail. */
void zipw_init(struct zipw *z, zipw_out_fn out, void *ctx);

/* Starts entry name (UTF-8, 1..65535 bytes, '/' separated). big: the entry
 * may reach 4 GiB (its local header then carries a ZIP64 field and its
 * descriptor 8-byte sizes); unknown sizes should pass true. 0 or -1. */
int zipw_begin(struct zipw *z, const char *name, bool big);

/* Appends len bytes to the open entry. 0 or -1. Has zipw_out_fn's
 * signature, so an exporter can write into it directly. */
int zipw_data(void *z, const char *buf, size_t len);

/* Ends the open entry with its data descriptor. 0 or -1. */
int zipw_end(struct zipw *z);

/* Writes the central directory (and the ZIP64 end records when needed).
 * 0 or -1. */
int zipw_finish(struct zipw *z);

/* Frees what z holds (after finish or on failure); z may be reused by
 * zipw_init. */
void zipw_release(struct zipw *z);

/* CRC-32 (ISO-HDLC, as ZIP and zlib) of len bytes continuing from crc (0 to
 * start). */
uint32_t zipw_crc32(uint32_t crc, const void *buf, size_t len);

#endif
