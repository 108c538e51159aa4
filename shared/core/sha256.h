/* sha256.h: SHA-256 (FIPS 180-4), streaming, for upload checksums, and
 * HMAC-SHA256 (RFC 2104) for messages the programs sign for each other. */
#ifndef CHAT_SHA256_H
#define CHAT_SHA256_H

#include <stdbool.h>
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

/* Finishes the hash into the 32-byte digest; s must be initialised again
 * before reuse. */
void sha256_final(struct sha256 *s, unsigned char out[32]);

/* HMAC-SHA256 of msg under key (any length), as 32 bytes or as 64
 * lowercase hex digits and a NUL. Can't fail. */
void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                 unsigned char out[32]);
void hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len, char out[65]);

/* Compares n bytes in a time that does not depend on where they differ
 * (for MACs). */
bool digest_equal(const char *a, const char *b, size_t n);

#endif
