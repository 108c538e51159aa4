/* fuzz_token.c: JWT verification (HS256). The first byte chooses: even,
 * the rest is a token as a client would send it; odd, the rest is the
 * claims JSON of a token the harness signs with the right key, so the
 * fuzzer reaches the claim checks behind the signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/cfg.h"
#include "wire/token.h"

static const char *fuzz_env(const char *name)
{
    if (strcmp(name, "CHAT_JWT_SECRET") == 0)
        return "fuzz-secret-0123456789abcdef";
    if (strcmp(name, "CHAT_JWT_AUDIENCE") == 0)
        return "chat";
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cfg *c;
    static struct token_keys *k;
    static struct arena *a;
    if (!c) {
        char why[256];
        c = cfg_load_env(NULL, fuzz_env, why, sizeof(why));
        if (!c || !(k = token_keys_load(c, why, sizeof(why))))
            abort();
        a = arena_new();
    }
    if (size < 1 || size > 20000)
        return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *tok = text;
    char *minted = NULL;
    if (data[0] & 1) {
        char why[256];
        minted = token_mint(c, text, 600, why, sizeof(why));
        if (!minted) {
            free(text);
            return 0;
        }
        tok = minted;
    }
    struct token_claims out;
    struct err e = { ERR_NONE, "" };
    if (token_verify(c, k, tok, 1800000000LL, a, &out, &e) == 0) {
        if (!out.service && !out.id_erp)
            __builtin_trap();
        if (out.npermisos > TOKEN_MAX_PERMISOS)
            __builtin_trap();
    }
    arena_reset(a);
    free(minted);
    free(text);
    return 0;
}
