/* b64.h: base64 for JWT segments (URL-safe, unpadded) and PEM bodies
 * (standard alphabet). Both results are malloc'd; the caller frees them. */
#ifndef CHAT_B64_H
#define CHAT_B64_H

#include <stddef.h>

/* Decodes n characters of unpadded base64 (url: the URL-safe alphabet)
 * into a malloc'd, NUL-terminated buffer of *outlen bytes. Foreign
 * characters, a dangling character and non-zero leftover bits are refused,
 * so a byte string has exactly one accepted encoding (libjwt's decoder is
 * laxer: a token with a retouched last character would otherwise still
 * verify). NULL on bad input or no memory. */
unsigned char *b64_decode(const char *s, size_t n, int url, size_t *outlen);

/* Standard base64 of n bytes with padding, wrapped at 64 columns with a
 * final newline (a PEM body), malloc'd; NULL on no memory. */
char *b64_encode_pem(const unsigned char *p, size_t n);

#endif
