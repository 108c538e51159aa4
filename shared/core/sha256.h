/* sha256.h: SHA-256 (FIPS 180-4), streaming, for upload checksums. */
#ifndef CHAT_SHA256_H
#define CHAT_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t len;               /* bytes hashed so far */
    unsigned char buf[64];
    size_t nbuf;
};

/* Starts a new hash. Can't fail. */
void sha256_init(struct sha256 *s);

/* Adds n bytes. */
void sha256_update(struct sha256 *s, const void *p, size_t n);

/* Finishes the hash into out as 64 lowercase hex digits and a NUL; s must
 * be initialised again before reuse. */
void sha256_hex(struct sha256 *s, char out[65]);

#endif
