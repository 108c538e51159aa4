/* test_pemkey.c: the JWT key reader (wire/pemkey) and the strict base64
 * under it (wire/b64), against keys the openssl command makes. */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu.h"
#include "wire/b64.h"
#include "wire/pemkey.h"

/* Key files made with the openssl command at start, in a temp folder;
 * their text read back. */
static char dir[64];
static char *rsa_priv, *rsa_pub, *rsa_pkcs1, *rsa_cert, *rsa_small, *ec256, *ec384;

static char *slurp(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf && n == 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

/* pemkey_spki_pem with a reason buffer; *why gets the reason. */
static char *spki(const char *text, enum pemkey_want want, const char *alg, char *why)
{
    why[0] = '\0';
    return pemkey_spki_pem(text, want, alg, why, 160);
}

/* Asserts text is refused with a reason containing part. */
#define REFUSED(text, want, alg, part)                                            \
    do {                                                                          \
        char why_[160];                                                           \
        char *pem_ = spki((text), (want), (alg), why_);                           \
        CU_ASSERT_PTR_NULL(pem_);                                                 \
        if (!strstr(why_, (part)))                                                \
            fprintf(stderr, "\n  reason \"%s\", wanted \"%s\"\n", why_, (part));  \
        CU_ASSERT_PTR_NOT_NULL(strstr(why_, (part)));                             \
        free(pem_);                                                               \
    } while (0)

/* The PEM of der bytes under label. */
static char *pem_of(const char *label, const unsigned char *der, size_t n)
{
    char *body = b64_encode_pem(der, n);
    size_t len = strlen(body) + 2 * strlen(label) + 64;
    char *out = malloc(len);
    snprintf(out, len, "-----BEGIN %s-----\n%s-----END %s-----\n", label, body, label);
    free(body);
    return out;
}

/* The DER bytes of the first PEM block of text (malloc'd). */
static unsigned char *der_of(const char *text, size_t *n)
{
    const char *b = strstr(text, "-----\n"), *e = strstr(text, "\n-----END");
    if (!b || !e)
        return NULL;
    b += 6;
    char *body = malloc((size_t)(e - b) + 1);
    size_t k = 0;
    for (const char *p = b; p < e; p++)
        if (*p != '\n' && *p != '=')
            body[k++] = *p;
    unsigned char *der = b64_decode(body, k, 0, n);
    free(body);
    return der;
}

/* ---- base64 ------------------------------------------------------------ */

static void test_pemkey__b64_round_trip(void)
{
    unsigned char bytes[200];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(bytes); n += 7) {
        char *enc = b64_encode_pem(bytes, n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
        /* lines of 64, a final newline when there is a body */
        for (char *line = enc; *line; ) {
            char *nl = strchr(line, '\n');
            CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
            CU_ASSERT(nl - line <= 64);
            line = nl + 1;
        }
        char flat[400];
        size_t k = 0;
        for (char *p = enc; *p; p++)
            if (*p != '\n' && *p != '=')
                flat[k++] = *p;
        size_t outn = 999;
        unsigned char *dec = b64_decode(flat, k, 0, &outn);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dec);
        CU_ASSERT_EQUAL(outn, n);
        CU_ASSERT(memcmp(dec, bytes, n) == 0);
        CU_ASSERT_EQUAL(dec[n], 0);
        free(dec);
        free(enc);
    }
}

static void test_pemkey__b64_strict(void)
{
    size_t n;
    unsigned char *d;
    /* "Zg" is "f"; "Zh" has leftover bits set: one encoding per string */
    d = b64_decode("Zg", 2, 0, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(d[0], 'f');
    free(d);
    CU_ASSERT_PTR_NULL(b64_decode("Zh", 2, 0, &n));
    /* a dangling character, a foreign one, the other alphabet */
    CU_ASSERT_PTR_NULL(b64_decode("Zm9vY", 5, 0, &n));
    CU_ASSERT_PTR_NULL(b64_decode("Zm9v!A", 6, 0, &n));
    CU_ASSERT_PTR_NULL(b64_decode("-_-_", 4, 0, &n));
    CU_ASSERT_PTR_NULL(b64_decode("+/+/", 4, 1, &n));
    d = b64_decode("-_-_", 4, 1, &n);
    CU_ASSERT_PTR_NOT_NULL(d);
    CU_ASSERT_EQUAL(n, 3);
    free(d);
}

/* ---- keys that are accepted -------------------------------------------- */

static void test_pemkey__spki_as_is(void)
{
    char why[160];
    char *pem = spki(rsa_pub, PEMKEY_RSA, "RS256", why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    /* openssl writes SPKI PEMs at 64 columns too: byte for byte the same */
    CU_ASSERT_STRING_EQUAL(pem, rsa_pub);
    free(pem);
    pem = spki(ec256, PEMKEY_EC_P256, "ES256", why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    CU_ASSERT_STRING_EQUAL(pem, ec256);
    free(pem);
    pem = spki(ec384, PEMKEY_EC_P384, "ES384", why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    CU_ASSERT_STRING_EQUAL(pem, ec384);
    free(pem);
}

static void test_pemkey__pkcs1_wrapped(void)
{
    char why[160];
    char *pem = spki(rsa_pkcs1, PEMKEY_RSA, "RS256", why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    CU_ASSERT_STRING_EQUAL(pem, rsa_pub);
    free(pem);
}

static void test_pemkey__certificate_key(void)
{
    char why[160];
    char *pem = spki(rsa_cert, PEMKEY_RSA, "RS512", why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    CU_ASSERT_STRING_EQUAL(pem, rsa_pub);
    free(pem);
}

static void test_pemkey__first_public_block(void)
{
    /* a private key and other blocks before it are passed over; CRLF and
     * text around the blocks are fine */
    size_t n = strlen(rsa_priv) + strlen(ec256) + strlen(rsa_pub) + 64;
    char *text = malloc(n * 2);
    snprintf(text, n, "comentario\n%s-----BEGIN OTRA COSA-----\nAAAA\n-----END OTRA COSA-----\n%s%s",
             rsa_priv, rsa_pub, ec256);
    char *crlf = malloc(n * 2), *w = crlf;
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            *w++ = '\r';
        *w++ = *p;
    }
    *w = '\0';
    char why[160];
    char *pem = spki(crlf, PEMKEY_RSA, "RS256", why);
    CU_ASSERT_PTR_NOT_NULL(pem);
    if (pem)
        CU_ASSERT_STRING_EQUAL(pem, rsa_pub);
    free(pem);
    /* the first public block decides: the RSA key is no ES256 key */
    REFUSED(text, PEMKEY_EC_P256, "ES256", "not an EC key, as ES256 needs");
    free(text);
    free(crlf);
}

/* ---- keys that are refused --------------------------------------------- */

static void test_pemkey__wrong_kind(void)
{
    REFUSED(ec256, PEMKEY_RSA, "RS256", "not an RSA key, as RS256 needs");
    REFUSED(rsa_pub, PEMKEY_EC_P256, "ES256", "not an EC key, as ES256 needs");
    REFUSED(ec384, PEMKEY_EC_P256, "ES256", "ES256 needs an EC key on curve P-256");
    REFUSED(ec256, PEMKEY_EC_P384, "ES384", "ES384 needs an EC key on curve P-384");
    REFUSED(ec256, PEMKEY_EC_P521, "ES512", "ES512 needs an EC key on curve P-521");
}

static void test_pemkey__short_rsa(void)
{
    REFUSED(rsa_small, PEMKEY_RSA, "RS256", "RSA key of 1024 bits: RS256 needs at least 2048");
}

static void test_pemkey__private_or_nothing(void)
{
    REFUSED(rsa_priv, PEMKEY_RSA, "RS256", "holds a private key");
    REFUSED("", PEMKEY_RSA, "RS256", "no PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE PEM block");
    REFUSED("-----BEGIN PUBLIC KEY-----\nAAAA\n", PEMKEY_RSA, "RS256", "no PUBLIC KEY");
    REFUSED("-----BEGIN PUBLIC KEY", PEMKEY_RSA, "RS256", "no PUBLIC KEY");
}

static void test_pemkey__bad_blocks(void)
{
    REFUSED("-----BEGIN PUBLIC KEY-----\nno es base64!\n-----END PUBLIC KEY-----\n", PEMKEY_RSA,
            "RS256", "bad PEM block");
    /* padding inside the body, too much padding, a length not a multiple of 4 */
    REFUSED("-----BEGIN PUBLIC KEY-----\nAA==AAAA\n-----END PUBLIC KEY-----\n", PEMKEY_RSA,
            "RS256", "bad PEM block");
    REFUSED("-----BEGIN PUBLIC KEY-----\nA===\n-----END PUBLIC KEY-----\n", PEMKEY_RSA, "RS256",
            "bad PEM block");
    REFUSED("-----BEGIN PUBLIC KEY-----\nAAAAA\n-----END PUBLIC KEY-----\n", PEMKEY_RSA, "RS256",
            "bad PEM block");
    /* a certificate that is not one */
    REFUSED("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n", PEMKEY_RSA, "RS256",
            "bad PEM block");
    /* well-formed base64 of something that is no key */
    REFUSED("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n", PEMKEY_RSA, "RS256",
            "not a well-formed public key");
}

static void test_pemkey__truncated_der(void)
{
    /* every prefix of a real key's DER, and the key with a byte too many,
     * is refused as malformed (the reader never reads past its input:
     * the ASan pass of make test runs this too) */
    size_t n;
    unsigned char *der = der_of(rsa_pub, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(der);
    CU_ASSERT(n > 256);
    for (size_t k = 0; k < n; k++) {
        char *pem = pem_of("PUBLIC KEY", der, k);
        REFUSED(pem, PEMKEY_RSA, "RS256", "well-formed");
        free(pem);
    }
    unsigned char *more = malloc(n + 1);
    memcpy(more, der, n);
    more[n] = 0;
    char *pem = pem_of("PUBLIC KEY", more, n + 1);
    REFUSED(pem, PEMKEY_RSA, "RS256", "not a well-formed public key");
    free(pem);
    free(more);
    free(der);
}

/* ---- main -------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int r = system(cmd);
    if (r != 0)
        fprintf(stderr, "failed: %s\n", cmd);
    return r;
}

static int make_keys(void)
{
    const char *d = dir, *q = "2>/dev/null";
    if (sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s/rsa.pem %s", d, q) ||
        sh("openssl pkey -in %s/rsa.pem -pubout -out %s/rsa.pub %s", d, d, q) ||
        sh("openssl rsa -in %s/rsa.pem -RSAPublicKey_out -out %s/rsa1.pub %s", d, d, q) ||
        sh("openssl req -new -x509 -key %s/rsa.pem -subj /CN=erp -days 2 -out %s/rsa.crt %s", d, d,
           q) ||
        sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out %s/small.pem %s", d,
           q) ||
        sh("openssl pkey -in %s/small.pem -pubout -out %s/small.pub %s", d, d, q) ||
        sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s/ec.pem %s", d,
           q) ||
        sh("openssl pkey -in %s/ec.pem -pubout -out %s/ec.pub %s", d, d, q) ||
        sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out %s/ec384.pem %s", d,
           q) ||
        sh("openssl pkey -in %s/ec384.pem -pubout -out %s/ec384.pub %s", d, d, q))
        return -1;
    rsa_priv = slurp("rsa.pem");
    rsa_pub = slurp("rsa.pub");
    rsa_pkcs1 = slurp("rsa1.pub");
    rsa_cert = slurp("rsa.crt");
    rsa_small = slurp("small.pub");
    ec256 = slurp("ec.pub");
    ec384 = slurp("ec384.pub");
    return rsa_priv && rsa_pub && rsa_pkcs1 && rsa_cert && rsa_small && ec256 && ec384 ? 0 : -1;
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "test_pemkey__b64_round_trip", test_pemkey__b64_round_trip },
        { "test_pemkey__b64_strict", test_pemkey__b64_strict },
        { "test_pemkey__spki_as_is", test_pemkey__spki_as_is },
        { "test_pemkey__pkcs1_wrapped", test_pemkey__pkcs1_wrapped },
        { "test_pemkey__certificate_key", test_pemkey__certificate_key },
        { "test_pemkey__first_public_block", test_pemkey__first_public_block },
        { "test_pemkey__wrong_kind", test_pemkey__wrong_kind },
        { "test_pemkey__short_rsa", test_pemkey__short_rsa },
        { "test_pemkey__private_or_nothing", test_pemkey__private_or_nothing },
        { "test_pemkey__bad_blocks", test_pemkey__bad_blocks },
        { "test_pemkey__truncated_der", test_pemkey__truncated_der },
        { NULL, NULL },
    };
    snprintf(dir, sizeof(dir), "/tmp/test_pemkey.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    int ret = make_keys() == 0 ? cu_run("pemkey", tests) : 2;
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(rsa_priv);
    free(rsa_pub);
    free(rsa_pkcs1);
    free(rsa_cert);
    free(rsa_small);
    free(ec256);
    free(ec384);
    return ret;
}
