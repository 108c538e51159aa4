/* pemkey.h: the public key that verifies the ERP's signed tokens, read
 * from the text of a PEM file. Untrusted bytes in, no I/O. */
#ifndef CHAT_PEMKEY_H
#define CHAT_PEMKEY_H

#include <stddef.h>

/* The key an algorithm needs: RSA (RS256/384/512) or EC on one curve
 * (ES256 P-256, ES384 P-384, ES512 P-521). */
enum pemkey_want { PEMKEY_RSA, PEMKEY_EC_P256, PEMKEY_EC_P384, PEMKEY_EC_P521 };

/* Finds the first PEM block of text (NUL-terminated) labelled "PUBLIC
 * KEY", "RSA PUBLIC KEY" or "CERTIFICATE" and returns its key as a
 * "PUBLIC KEY" (SubjectPublicKeyInfo) PEM, the only form libjwt 1.10's
 * PEM_read_bio_PUBKEY reads: an SPKI as is, a PKCS#1 key wrapped, a
 * certificate's key taken out; base64 at 64 columns. The key must be what
 * want asks for: RSA of at least 2048 bits, or EC on that curve. Returns
 * the PEM (malloc'd; the caller frees it), or NULL with a reason in why
 * that names alg ("RS256"): no such block (or only a private key), a bad
 * block, the wrong kind of key, a short RSA key, out of memory. */
char *pemkey_spki_pem(const char *text, enum pemkey_want want, const char *alg, char *why,
                      size_t whylen);

#endif
