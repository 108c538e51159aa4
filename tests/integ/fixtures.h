/* fixtures.h: small real media files for the integration tests, built
 * in memory byte by byte (so no binary fixture is checked in): images,
 * audio, video, PDF, Office (ZIP and OLE2) containers. */
#ifndef CHAT_TEST_FIXTURES_H
#define CHAT_TEST_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer; p is malloc'd (free it), n bytes used. */
struct buf {
    unsigned char *p;
    size_t n, cap;
};

/* Appends n bytes, a string, or n zero bytes. */
void put(struct buf *b, const void *d, size_t n);
void puts_(struct buf *b, const char *s);
void putz(struct buf *b, size_t n);

/* The generators: each returns a new buffer holding one file. */
struct buf gen_png(unsigned w, unsigned h);
struct buf gen_jpeg(unsigned w, unsigned h);
struct buf gen_gif(unsigned w, unsigned h);
struct buf gen_webp(char form, unsigned w, unsigned h);
struct buf gen_mp3(bool id3);
struct buf gen_mp4(const char *brand, const char *handler, unsigned w, unsigned h, bool moov_last);
struct buf gen_ogg(const char *codec_head, size_t headlen);
struct buf gen_webm(const char *codec, const char *doctype);
struct buf gen_pdf(void);
struct buf gen_zip(const char *const *names);
struct buf gen_cfb(const char *stream);

#endif
