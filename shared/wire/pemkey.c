/* pemkey.c: a JWT verification key out of a PEM file, checked and
 * rewritten as a SubjectPublicKeyInfo PEM, with a small DER reader. */
#include "wire/pemkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/b64.h"

/* A read-only cursor over DER bytes. */
struct der {
    const unsigned char *p;
    size_t n;
};

/* Takes one element off cur: its tag, its content and (if whole) the
 * element with its header. Returns 0 or -1 when cur does not start with
 * a well-formed element. */
static int der_next(struct der *cur, unsigned char *tag, struct der *content, struct der *whole)
{
    if (cur->n < 2 || (cur->p[0] & 0x1f) == 0x1f)
        return -1;
    size_t hdr = 2, len = cur->p[1];
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 4 || cur->n < 2 + nb)
            return -1;
        len = 0;
        for (size_t i = 0; i < nb; i++)
            len = (len << 8) | cur->p[2 + i];
        hdr += nb;
    }
    if (len > cur->n - hdr)
        return -1;
    *tag = cur->p[0];
    content->p = cur->p + hdr;
    content->n = len;
    if (whole) {
        whole->p = cur->p;
        whole->n = hdr + len;
    }
    cur->p += hdr + len;
    cur->n -= hdr + len;
    return 0;
}

static int der_expect(struct der *cur, unsigned char want, struct der *content, struct der *whole)
{
    unsigned char tag;
    return der_next(cur, &tag, content, whole) == 0 && tag == want ? 0 : -1;
}

static int der_is(const struct der *d, const unsigned char *want, size_t n)
{
    return d->n == n && memcmp(d->p, want, n) == 0;
}

/* The tail of an OID's content bytes (after 06 len). */
static const unsigned char oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const unsigned char oid_ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const unsigned char oid_p256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char oid_p384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const unsigned char oid_p521[] = { 0x2b, 0x81, 0x04, 0x00, 0x23 };

/* Checks that the SubjectPublicKeyInfo spki holds the key want asks for:
 * RSA of at least 2048 bits (RFC 7518 3.3), or EC on the named curve
 * (libjwt itself does not compare the curve). alg names the algorithm in
 * the reasons. */
static int spki_check(struct der spki, enum pemkey_want want, const char *alg, char *why,
                      size_t whylen)
{
    struct der body, algid, oid, params, bits, rsa, modulus;
    const int want_rsa = want == PEMKEY_RSA;
    if (der_expect(&spki, 0x30, &body, NULL) < 0 || spki.n != 0 ||
        der_expect(&body, 0x30, &algid, NULL) < 0 || der_expect(&algid, 0x06, &oid, NULL) < 0 ||
        der_expect(&body, 0x03, &bits, NULL) < 0 || bits.n < 1 || bits.p[0] != 0) {
        snprintf(why, whylen, "not a well-formed public key");
        return -1;
    }
    if (want_rsa) {
        if (!der_is(&oid, oid_rsa, sizeof(oid_rsa))) {
            snprintf(why, whylen, "not an RSA key, as %s needs", alg);
            return -1;
        }
        bits.p++, bits.n--;
        if (der_expect(&bits, 0x30, &rsa, NULL) < 0 || der_expect(&rsa, 0x02, &modulus, NULL) < 0) {
            snprintf(why, whylen, "not a well-formed RSA key");
            return -1;
        }
        while (modulus.n && modulus.p[0] == 0)
            modulus.p++, modulus.n--;
        if (modulus.n < 256) {
            snprintf(why, whylen, "RSA key of %zu bits: %s needs at least 2048", modulus.n * 8,
                     alg);
            return -1;
        }
        return 0;
    }
    const unsigned char *curve = oid_p521;
    size_t curvelen = sizeof(oid_p521);
    const char *curvename = "P-521";
    if (want == PEMKEY_EC_P256)
        curve = oid_p256, curvelen = sizeof(oid_p256), curvename = "P-256";
    else if (want == PEMKEY_EC_P384)
        curve = oid_p384, curvelen = sizeof(oid_p384), curvename = "P-384";
    if (!der_is(&oid, oid_ec, sizeof(oid_ec))) {
        snprintf(why, whylen, "not an EC key, as %s needs", alg);
        return -1;
    }
    if (der_expect(&algid, 0x06, &params, NULL) < 0 || !der_is(&params, curve, curvelen)) {
        snprintf(why, whylen, "%s needs an EC key on curve %s", alg, curvename);
        return -1;
    }
    return 0;
}

/* Appends a DER header (tag, length) for len content bytes to out. */
static size_t der_header(unsigned char *out, unsigned char tag, size_t len)
{
    size_t o = 0;
    out[o++] = tag;
    if (len < 0x80) {
        out[o++] = (unsigned char)len;
    } else {
        int nb = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
        out[o++] = (unsigned char)(0x80 | nb);
        for (int i = nb - 1; i >= 0; i--)
            out[o++] = (unsigned char)(len >> (8 * i));
    }
    return o;
}

/* Wraps a PKCS#1 RSAPublicKey into a SubjectPublicKeyInfo (malloc'd). */
static unsigned char *spki_from_pkcs1(const unsigned char *k, size_t n, size_t *outlen)
{
    static const unsigned char algid[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                           0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
    unsigned char bh[8], sh[8];
    size_t bhn = der_header(bh, 0x03, n + 1);
    size_t inner = sizeof(algid) + bhn + 1 + n;
    size_t shn = der_header(sh, 0x30, inner);
    unsigned char *out = malloc(shn + inner);
    if (!out)
        return NULL;
    size_t o = 0;
    memcpy(out + o, sh, shn), o += shn;
    memcpy(out + o, algid, sizeof(algid)), o += sizeof(algid);
    memcpy(out + o, bh, bhn), o += bhn;
    out[o++] = 0;
    memcpy(out + o, k, n), o += n;
    *outlen = o;
    return out;
}

/* The SubjectPublicKeyInfo inside an X.509 certificate (a slice of cert). */
static int spki_from_cert(struct der cert, struct der *spki)
{
    struct der c, tbs, skip;
    unsigned char tag;
    if (der_expect(&cert, 0x30, &c, NULL) < 0 || der_expect(&c, 0x30, &tbs, NULL) < 0)
        return -1;
    if (tbs.n && tbs.p[0] == 0xa0 && der_next(&tbs, &tag, &skip, NULL) < 0)    /* version */
        return -1;
    for (int i = 0; i < 5; i++)     /* serial, signature, issuer, validity, subject */
        if (der_next(&tbs, &tag, &skip, NULL) < 0)
            return -1;
    return der_expect(&tbs, 0x30, &skip, spki);
}

char *pemkey_spki_pem(const char *text, enum pemkey_want want, const char *alg, char *why,
                      size_t whylen)
{
    static const char *const labels[] = { "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE" };
    unsigned char *der = NULL, *wrapped = NULL;
    char *b64 = NULL, *pem = NULL, *body = NULL;
    int saw_private = 0;
    for (const char *p = text; (p = strstr(p, "-----BEGIN ")) != NULL; p++) {
        const char *lab = p + 11, *labend = strstr(lab, "-----");
        if (!labend)
            break;
        size_t labn = (size_t)(labend - lab);
        int which = -1;
        for (int i = 0; i < 3; i++)
            if (labn == strlen(labels[i]) && memcmp(lab, labels[i], labn) == 0)
                which = i;
        if (which < 0) {
            if (labn >= 11 && memcmp(lab + labn - 11, "PRIVATE KEY", 11) == 0)
                saw_private = 1;
            continue;
        }
        char endmark[64];
        snprintf(endmark, sizeof(endmark), "-----END %s-----", labels[which]);
        const char *start = labend + 5, *end = strstr(start, endmark);
        if (!end)
            break;
        /* The body without whitespace and padding. */
        body = malloc((size_t)(end - start) + 1);
        if (!body)
            goto oom;
        size_t bn = 0, pad = 0;
        for (const char *q = start; q < end; q++) {
            if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
                continue;
            if (*q == '=')
                pad++;
            else if (pad)
                goto bad;
            else
                body[bn++] = *q;
        }
        size_t dn;
        if (pad > 2 || (bn + pad) % 4 || !(der = b64_decode(body, bn, 0, &dn)))
            goto bad;
        struct der spki = { der, dn };
        if (which == 1) {
            if (!(wrapped = spki_from_pkcs1(der, dn, &spki.n)))
                goto oom;
            spki.p = wrapped;
        } else if (which == 2 && spki_from_cert((struct der){ der, dn }, &spki) < 0) {
            goto bad;
        }
        if (spki_check(spki, want, alg, why, whylen) < 0)
            goto cleanup;
        if (!(b64 = b64_encode_pem(spki.p, spki.n)))
            goto oom;
        size_t pn = strlen(b64) + 64;
        if (!(pem = malloc(pn)))
            goto oom;
        snprintf(pem, pn, "-----BEGIN PUBLIC KEY-----\n%s-----END PUBLIC KEY-----\n", b64);
        goto cleanup;
    }
    snprintf(why, whylen, saw_private ? "holds a private key; give the public key (PUBLIC KEY PEM)"
                                      : "no PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE PEM block");
    goto cleanup;
bad:
    snprintf(why, whylen, "bad PEM block");
    goto cleanup;
oom:
    snprintf(why, whylen, "out of memory");
cleanup:
    free(body);
    free(der);
    free(wrapped);
    free(b64);
    return pem;
}
