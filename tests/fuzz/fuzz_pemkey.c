/* fuzz_pemkey.c: the token key reader (PEM blocks, base64, DER walk,
 * PKCS#1 wrap, certificate key). The first byte picks the key kind asked
 * for, the rest is the file's text. An accepted key must come back as one
 * well-formed "PUBLIC KEY" PEM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/pemkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const enum pemkey_want wants[] = { PEMKEY_RSA, PEMKEY_EC_P256, PEMKEY_EC_P384,
                                              PEMKEY_EC_P521 };
    static const char *const algs[] = { "RS256", "ES256", "ES384", "ES512" };
    int k = data[0] % 4;
    /* the program reads the file as a NUL-terminated string */
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char why[160];
    why[0] = '\0';
    char *pem = pemkey_spki_pem(text, wants[k], algs[k], why, sizeof(why));
    if (pem) {
        static const char head[] = "-----BEGIN PUBLIC KEY-----\n";
        static const char tail[] = "-----END PUBLIC KEY-----\n";
        size_t n = strlen(pem);
        if (n < sizeof(head) + sizeof(tail) || memcmp(pem, head, sizeof(head) - 1) != 0 ||
            strcmp(pem + n - (sizeof(tail) - 1), tail) != 0)
            __builtin_trap();
        free(pem);
    } else if (!why[0]) {
        /* a refusal always says why */
        __builtin_trap();
    }
    free(text);
    return 0;
}
