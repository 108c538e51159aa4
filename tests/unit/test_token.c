/* test_token.c: JWT verification: every bad token refused, good ones read. */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/cfg.h"
#include "cu.h"
#include "core/err.h"
#include "wire/token.h"

#define SECRET "0123456789abcdef-dev-secret"
#define NOW 1800000000LL            /* the clock every test passes in */

/* Key files made with the openssl command at start, in a temp folder. */
static char dir[64];
static char rsa_priv[128], rsa_pub[128], rsa_pkcs1[128], rsa_cert[128];
static char rsa2_priv[128], rsa_small_pub[128];
static char ec_priv[128], ec_pub[128], ec384_pub[128], junk[128];

/* ---- helpers --------------------------------------------------------- */

/* The environment cfg_load_env sees: CHAT_ names and values, in pairs. */
static const char *const *env_pairs;

static const char *fake_getenv(const char *name)
{
    for (const char *const *p = env_pairs; p && p[0]; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

struct fx {
    struct cfg *c;
    struct token_keys *k;
    struct arena *a;
    struct token_claims cl;
    struct err e;
};

/* Loads a config from pairs (and its keys, when keys is set). */
static int fx_open(struct fx *f, const char *const *pairs, int keys)
{
    char why[300] = "";
    memset(f, 0, sizeof(*f));
    env_pairs = pairs;
    f->c = cfg_load_env(NULL, fake_getenv, why, sizeof(why));
    if (!f->c) {
        fprintf(stderr, "cfg: %s\n", why);
        return -1;
    }
    if (keys && !(f->k = token_keys_load(f->c, why, sizeof(why)))) {
        fprintf(stderr, "keys: %s\n", why);
        return -1;
    }
    f->a = arena_new();
    return 0;
}

static void fx_close(struct fx *f)
{
    token_keys_free(f->k);
    cfg_free(f->c);
    arena_free(f->a);
}

/* Replaces a string key of a loaded config (past cfg's own validation). */
static void cfg_put(char **field, const char *v)
{
    free(*field);
    *field = strdup(v);
}

static int verify(struct fx *f, const char *tok)
{
    memset(&f->e, 0, sizeof(f->e));
    return token_verify(f->c, f->k, tok, NOW, f->a, &f->cl, &f->e);
}

/* Mints with f's config; claims is printf-style JSON. */
static char *mint(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *mint(struct fx *f, const char *fmt, ...)
{
    char claims[32768], why[300] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(claims, sizeof(claims), fmt, ap);
    va_end(ap);
    char *t = token_mint(f->c, claims, 3600, why, sizeof(why));
    if (!t)
        fprintf(stderr, "mint: %s\n", why);
    return t;
}

static char *b64url(const void *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *s = p;
    char *out = malloc(n / 3 * 4 + 5), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        if (i + 1 < n)
            *o++ = tab[v >> 6 & 63];
        if (i + 2 < n)
            *o++ = tab[v & 63];
    }
    *o = '\0';
    return out;
}

/* Signs input with the openssl command: how is "HS256".."HS512" (key is
 * the secret's bytes) or "RS256" (key is a private key file), "none" gives
 * an empty signature. Returns the base64url signature (malloc'd). */
static char *sign(const char *how, const char *key, const char *input)
{
    if (strcmp(how, "none") == 0)
        return strdup("");
    char in[128], cmd[8192];
    snprintf(in, sizeof(in), "%s/input", dir);
    FILE *f = fopen(in, "w");
    fputs(input, f);
    fclose(f);
    const char *bits = how + 2;
    if (how[0] == 'H') {
        char hex[4096] = "";
        for (size_t i = 0; key[i] && i < sizeof(hex) / 2 - 1; i++)
            sprintf(hex + 2 * i, "%02x", (unsigned char)key[i]);
        snprintf(cmd, sizeof(cmd), "openssl dgst -sha%s -mac HMAC -macopt hexkey:%s -binary %s",
                 bits, hex, in);
    } else {
        snprintf(cmd, sizeof(cmd), "openssl dgst -sha%s -sign %s -binary %s", bits, key, in);
    }
    unsigned char sig[1024];
    FILE *p = popen(cmd, "r");
    size_t n = fread(sig, 1, sizeof(sig), p);
    pclose(p);
    return b64url(sig, n);
}

/* header.payload.signature from raw JSON texts. */
static char *craft(const char *how, const char *key, const char *header, const char *payload)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    char *input, *tok;
    if (asprintf(&input, "%s.%s", h, p) < 0)
        abort();
    char *s = sign(how, key, input);
    if (asprintf(&tok, "%s.%s", input, s) < 0)
        abort();
    free(h);
    free(p);
    free(input);
    free(s);
    return tok;
}

static char *file_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 65536);
    if (f) {
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static void accept_at(struct fx *f, char *tok, int line)
{
    int r = tok ? verify(f, tok) : -2;
    char what[400];
    snprintf(what, sizeof(what), "accepted (got %d: \"%s\")", r, f->e.msg);
    CU_assertImplementation(r == 0, line, what, __FILE__, "", CU_FALSE);
    free(tok);
}

/* Checks tok is refused as ERR_TOKEN with exactly msg, claims left empty. */
static void refuse_at(struct fx *f, char *tok, const char *msg, int line)
{
    int r = tok ? verify(f, tok) : -2;
    char what[400];
    snprintf(what, sizeof(what), "refused with \"%s\" (got %d: \"%s\")", msg, r, f->e.msg);
    CU_assertImplementation(r == -1 && f->e.code == ERR_TOKEN && strcmp(f->e.msg, msg) == 0 &&
                            !f->cl.id_erp && !f->cl.scope && f->cl.npermisos == 0,
                            line, what, __FILE__, "", CU_FALSE);
    free(tok);
}

#define ACCEPT(f, tok) accept_at(f, tok, __LINE__)
#define REFUSE(f, tok, msg) refuse_at(f, tok, msg, __LINE__)

/* The keys token_keys_load refuses: checks why mentions want. */
static void keys_refused_at(struct cfg *c, const char *want, int line)
{
    char why[300] = "";
    struct token_keys *k = token_keys_load(c, why, sizeof(why));
    char what[600];
    snprintf(what, sizeof(what), "keys refused with \"%s\" (got \"%s\")", want, why);
    CU_assertImplementation(!k && strstr(why, want) != NULL, line, what, __FILE__, "", CU_FALSE);
    token_keys_free(k);
}

#define KEYS_REFUSED(c, want) keys_refused_at(c, want, __LINE__)

static const char *const hs_env[] = { "CHAT_JWT_SECRET", SECRET, NULL };
#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define GOOD "{\"idErp\":\"u-1\",\"exp\":1800000600}"

/* ---- tests ----------------------------------------------------------- */

static void test_token__hs256_valid(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    char *t = mint(&f, "{\"idErp\":\"u-17\",\"nombre\":\"Ana Pérez\",\"email\":\"ana@erp.local\","
                   "\"imagen\":\"/fotos/17.png\",\"puesto\":\"Jefa\",\"departamento\":\"TI\","
                   "\"permisos\":[565,567],\"exp\":%lld}", NOW + 600);
    CU_ASSERT_EQUAL(verify(&f, t), 0);
    CU_ASSERT_STRING_EQUAL(f.cl.id_erp, "u-17");
    CU_ASSERT_STRING_EQUAL(f.cl.nombre, "Ana Pérez");
    CU_ASSERT_STRING_EQUAL(f.cl.email, "ana@erp.local");
    CU_ASSERT_STRING_EQUAL(f.cl.imagen, "/fotos/17.png");
    CU_ASSERT_STRING_EQUAL(f.cl.puesto, "Jefa");
    CU_ASSERT_STRING_EQUAL(f.cl.departamento, "TI");
    CU_ASSERT_EQUAL(f.cl.npermisos, 2);
    CU_ASSERT(f.cl.permisos[0] == 565 && f.cl.permisos[1] == 567);
    CU_ASSERT_EQUAL(f.cl.exp, NOW + 600);
    CU_ASSERT_PTR_NULL(f.cl.scope);
    CU_ASSERT_FALSE(f.cl.service);
    free(t);
    /* Optional claims may be absent or null; typ may be any case of JWT. */
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"nombre\":null,\"exp\":%lld}", NOW + 60));
    CU_ASSERT_PTR_NULL(f.cl.nombre);
    CU_ASSERT_PTR_NULL(f.cl.imagen);
    CU_ASSERT_EQUAL(f.cl.npermisos, 0);
    ACCEPT(&f, craft("HS256", SECRET, "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", GOOD));
    ACCEPT(&f, craft("HS256", SECRET, "{\"alg\":\"HS256\"}", GOOD));
    fx_close(&f);
}

static void test_token__alg_none(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    REFUSE(&f, craft("none", NULL, "{\"alg\":\"none\"}", GOOD), "algoritmo no permitido");
    REFUSE(&f, craft("none", NULL, "{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD),
           "algoritmo no permitido");
    /* With a signature appended too, and with no alg at all. */
    REFUSE(&f, craft("HS256", SECRET, "{\"alg\":\"none\"}", GOOD), "algoritmo no permitido");
    REFUSE(&f, craft("HS256", SECRET, "{\"typ\":\"JWT\"}", GOOD), "algoritmo no permitido");
    REFUSE(&f, craft("HS256", SECRET, "{\"alg\":256}", GOOD), "algoritmo no permitido");
    REFUSE(&f, craft("HS256", SECRET, "{\"alg\":\"hs256\"}", GOOD), "algoritmo no permitido");
    fx_close(&f);
}

static void test_token__hs256_signed_with_rsa_public_pem(void)
{
    const char *env[] = { "CHAT_JWT_ALG", "RS256", "CHAT_JWT_PUBLIC_KEY", rsa_pub, NULL };
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    char *pem = file_text(rsa_pub);
    REFUSE(&f, craft("HS256", pem, HS_HEADER, GOOD), "algoritmo no permitido");
    REFUSE(&f, craft("HS384", pem, "{\"alg\":\"HS384\"}", GOOD), "algoritmo no permitido");
    free(pem);
    fx_close(&f);
}

static void test_token__wrong_key(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    REFUSE(&f, craft("HS256", "another-secret-of-16+", HS_HEADER, GOOD), "firma inválida");
    fx_close(&f);

    const char *env[] = { "CHAT_JWT_ALG", "RS256", "CHAT_JWT_PUBLIC_KEY", rsa_pub,
                          "CHAT_JWT_PRIVATE_KEY", rsa2_priv, NULL };
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW + 60), "firma inválida");
    fx_close(&f);
}

/* Changes one base64url character of tok at index i to another. */
static char *flip(char *tok, size_t i)
{
    tok[i] = tok[i] == 'A' ? 'B' : 'A';
    return tok;
}

static void test_token__bad_signature(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    char *t = craft("HS256", SECRET, HS_HEADER, GOOD);
    REFUSE(&f, flip(t, strlen(t) - 10), "firma inválida");
    /* A payload changed under a good signature. */
    t = craft("HS256", SECRET, HS_HEADER, GOOD);
    char *d = strchr(t, '.') + 1;
    d[3] = d[3] == 'X' ? 'Y' : 'X';
    int r = verify(&f, t);
    CU_ASSERT(r == -1 && f.e.code == ERR_TOKEN);
    free(t);
    /* Signature cut short, or dropped. */
    t = craft("HS256", SECRET, HS_HEADER, GOOD);
    t[strlen(t) - 4] = '\0';
    REFUSE(&f, t, "firma inválida");
    t = craft("none", NULL, HS_HEADER, GOOD);
    REFUSE(&f, t, "firma inválida");
    fx_close(&f);

    const char *env[] = { "CHAT_JWT_ALG", "RS256", "CHAT_JWT_PUBLIC_KEY", rsa_pub,
                          "CHAT_JWT_PRIVATE_KEY", rsa_priv, NULL };
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    t = mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW + 60);
    REFUSE(&f, flip(t, strlen(t) - 100), "firma inválida");
    fx_close(&f);
}

/* libjwt's base64 decoder ignores the unused low bits of the last
 * character, so a signature has several spellings; only one is accepted. */
static void test_token__noncanonical_signature(void)
{
    const char *env[] = { "CHAT_JWT_ALG", "RS256", "CHAT_JWT_PUBLIC_KEY", rsa_pub,
                          "CHAT_JWT_PRIVATE_KEY", rsa_priv, NULL };
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    char *t = mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW + 60);
    /* 256 signature bytes: the last of 342 characters carries 2 bits. */
    char *last = t + strlen(t) - 1;
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    *last = tab[(strchr(tab, *last) - tab) | 1];
    REFUSE(&f, t, "token mal formado");
    fx_close(&f);
}

static void test_token__expired(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);   /* leeway 30 s */
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW - 100), "token expirado");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW - 30), "token expirado");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld.5}", NOW - 31), "token expirado");
    fx_close(&f);
}

static void test_token__expired_within_leeway(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW - 10));
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW - 29));
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld.25}", NOW + 5));
    CU_ASSERT_EQUAL(f.cl.exp, NOW + 5);
    fx_close(&f);

    const char *env[] = { "CHAT_JWT_SECRET", SECRET, "CHAT_JWT_LEEWAY", "0", NULL };
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW - 1), "token expirado");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW), "token expirado");
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW + 1));
    fx_close(&f);
}

static void test_token__not_yet_valid(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"nbf\":%lld,\"exp\":%lld}", NOW + 100, NOW + 600),
           "token aún no válido");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"nbf\":%lld,\"exp\":%lld}", NOW + 31, NOW + 600),
           "token aún no válido");
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"nbf\":%lld,\"exp\":%lld}", NOW + 30, NOW + 600));
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"nbf\":%lld,\"exp\":%lld}", NOW - 10, NOW + 600));
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"nbf\":\"ya\",\"exp\":%lld}", NOW + 600),
           "claim nbf no válido");
    fx_close(&f);
}

static void test_token__missing_exp(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, "{\"idErp\":\"u-1\"}"), "token sin expiración");
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, "{\"idErp\":\"u-1\",\"exp\":\"1800000600\"}"),
           "claim exp no válido");
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, "{\"idErp\":\"u-1\",\"exp\":null}"),
           "claim exp no válido");
    fx_close(&f);
}

static void test_token__wrong_iss(void)
{
    const char *env[] = { "CHAT_JWT_SECRET", SECRET, "CHAT_JWT_ISSUER", "erp.empresa", NULL };
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"iss\":\"otro\",\"exp\":%lld}", NOW + 60),
           "emisor no válido");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"iss\":[\"erp.empresa\"],\"exp\":%lld}", NOW + 60),
           "emisor no válido");
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, GOOD), "emisor no válido");   /* no iss */
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW + 60));        /* mint adds it */
    fx_close(&f);
}

static void test_token__wrong_aud(void)
{
    const char *env[] = { "CHAT_JWT_SECRET", SECRET, "CHAT_JWT_AUDIENCE", "chat", NULL };
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"aud\":\"nomina\",\"exp\":%lld}", NOW + 60),
           "audiencia no válida");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"aud\":[\"nomina\",\"ventas\"],\"exp\":%lld}",
                    NOW + 60), "audiencia no válida");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"aud\":[],\"exp\":%lld}", NOW + 60),
           "audiencia no válida");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"aud\":{\"chat\":1},\"exp\":%lld}", NOW + 60),
           "audiencia no válida");
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, GOOD), "audiencia no válida");  /* no aud */
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"aud\":[\"nomina\",\"chat\"],\"exp\":%lld}", NOW + 60));
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"aud\":\"chat\",\"exp\":%lld}", NOW + 60));
    fx_close(&f);
}

/* jwt_audience_servicio: the service token needs that aud (not the users'
 * one), and a user token carrying it is refused. */
static void test_token__service_audience(void)
{
    const char *env[] = { "CHAT_JWT_SECRET", SECRET, "CHAT_JWT_AUDIENCE", "chat",
                          "CHAT_JWT_AUDIENCE_SERVICIO", "chat-interno", NULL };
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    REFUSE(&f, mint(&f, "{\"scope\":\"chat:interno\",\"aud\":\"chat\",\"exp\":%lld}", NOW + 60),
           "audiencia no válida");
    ACCEPT(&f, mint(&f, "{\"scope\":\"chat:interno\",\"aud\":\"chat-interno\",\"exp\":%lld}", NOW + 60));
    ACCEPT(&f, mint(&f, "{\"scope\":\"chat:interno\",\"exp\":%lld}", NOW + 60));   /* mint adds it */
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"aud\":\"chat-interno\",\"exp\":%lld}", NOW + 60),
           "audiencia no válida");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"aud\":[\"chat\",\"chat-interno\"],\"exp\":%lld}",
                    NOW + 60), "audiencia no válida");
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"aud\":\"chat\",\"exp\":%lld}", NOW + 60));
    fx_close(&f);
}

static void test_token__missing_id(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    REFUSE(&f, mint(&f, "{\"nombre\":\"Ana\",\"exp\":%lld}", NOW + 60),
           "token sin identificador de usuario");
    REFUSE(&f, mint(&f, "{\"idErp\":null,\"exp\":%lld}", NOW + 60),
           "token sin identificador de usuario");
    REFUSE(&f, mint(&f, "{\"idErp\":\"\",\"exp\":%lld}", NOW + 60),
           "identificador de usuario no válido");
    /* An escaped NUL: libjwt's JSON parser (jansson) refuses it before we
     * look, so only the outcome is checked, not the message. */
    char *t = craft("HS256", SECRET, HS_HEADER, "{\"idErp\":\"a\\u0000b\",\"exp\":1800000600}");
    CU_ASSERT(verify(&f, t) == -1 && f.e.code == ERR_TOKEN && !f.cl.id_erp);
    free(t);
    REFUSE(&f, mint(&f, "{\"idErp\":\"a\\nb\",\"exp\":%lld}", NOW + 60),
           "identificador de usuario no válido");
    REFUSE(&f, mint(&f, "{\"idErp\":true,\"exp\":%lld}", NOW + 60),
           "identificador de usuario no válido");
    REFUSE(&f, mint(&f, "{\"idErp\":12.5,\"exp\":%lld}", NOW + 60),
           "identificador de usuario no válido");
    REFUSE(&f, mint(&f, "{\"idErp\":[\"u-1\"],\"exp\":%lld}", NOW + 60),
           "identificador de usuario no válido");
    char id[202];
    memset(id, 'x', 201);
    id[201] = '\0';
    REFUSE(&f, mint(&f, "{\"idErp\":\"%s\",\"exp\":%lld}", id, NOW + 60),
           "identificador de usuario no válido");
    id[200] = '\0';
    ACCEPT(&f, mint(&f, "{\"idErp\":\"%s\",\"exp\":%lld}", id, NOW + 60));
    CU_ASSERT_EQUAL(strlen(f.cl.id_erp), 200);
    fx_close(&f);
}

static void test_token__id_number(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    ACCEPT(&f, mint(&f, "{\"idErp\":4711,\"exp\":%lld}", NOW + 60));
    CU_ASSERT_STRING_EQUAL(f.cl.id_erp, "4711");
    ACCEPT(&f, mint(&f, "{\"idErp\":9007199254740993,\"exp\":%lld}", NOW + 60));
    CU_ASSERT_STRING_EQUAL(f.cl.id_erp, "9007199254740993");
    ACCEPT(&f, mint(&f, "{\"idErp\":0,\"exp\":%lld}", NOW + 60));
    CU_ASSERT_STRING_EQUAL(f.cl.id_erp, "0");
    fx_close(&f);

    /* The claim name comes from the config. */
    const char *env[] = { "CHAT_JWT_SECRET", SECRET, "CHAT_JWT_CLAIM_ID", "sub",
                          "CHAT_JWT_CLAIM_NOMBRE", "name", NULL };
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    ACCEPT(&f, mint(&f, "{\"sub\":\"e-9\",\"name\":\"Eva\",\"idErp\":\"x\",\"exp\":%lld}", NOW + 60));
    CU_ASSERT_STRING_EQUAL(f.cl.id_erp, "e-9");
    CU_ASSERT_STRING_EQUAL(f.cl.nombre, "Eva");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW + 60),
           "token sin identificador de usuario");
    fx_close(&f);
}

static void test_token__malformed_base64(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    char *good = craft("HS256", SECRET, HS_HEADER, GOOD);
    char *p = strchr(good, '.') + 1, *t;
    /* A foreign character in the payload, in the header, in the signature. */
    t = strdup(good);
    t[p - good + 2] = '*';
    REFUSE(&f, t, "token mal formado");
    t = strdup(good);
    t[1] = '+';
    REFUSE(&f, t, "token mal formado");
    t = strdup(good);
    t[strlen(t) - 3] = '/';
    REFUSE(&f, t, "token mal formado");
    /* Padding, spaces, a payload of 4n+1 characters. */
    if (asprintf(&t, "%s==", good) < 0)
        abort();
    REFUSE(&f, t, "token mal formado");
    if (asprintf(&t, " %s", good) < 0)
        abort();
    REFUSE(&f, t, "token mal formado");
    char *hdr = b64url(HS_HEADER, strlen(HS_HEADER));
    if (asprintf(&t, "%s.eyJhbGciOi.c2ln", hdr) < 0)
        abort();
    REFUSE(&f, t, "token mal formado");
    free(hdr);
    free(good);
    fx_close(&f);
}

static void test_token__malformed_json(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    /* Well signed, but not a JSON object. */
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, "{\"idErp\":\"u-1\",\"exp\":"), "token mal formado");
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, "[\"u-1\"]"), "token mal formado");
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, "\"u-1\""), "token mal formado");
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, GOOD "x"), "token mal formado");
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, "{'idErp':'u-1','exp':1800000600}"),
           "token mal formado");
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, "{\"idErp\":\"\xff\",\"exp\":1800000600}"),
           "token mal formado");
    REFUSE(&f, craft("HS256", SECRET, HS_HEADER, ""), "token mal formado");
    /* Nor is the header. */
    REFUSE(&f, craft("HS256", SECRET, "{\"alg\":\"HS256\"", GOOD), "token mal formado");
    REFUSE(&f, craft("HS256", SECRET, "HS256", GOOD), "token mal formado");
    /* Whitespace around JSON is fine. */
    ACCEPT(&f, craft("HS256", SECRET, HS_HEADER, " " GOOD "\n"));
    fx_close(&f);
}

static void test_token__segments(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    char *good = craft("HS256", SECRET, HS_HEADER, GOOD), *t;
    /* Two segments only: header.payload. */
    t = strdup(good);
    *strrchr(t, '.') = '\0';
    REFUSE(&f, t, "token mal formado");
    /* Four. */
    if (asprintf(&t, "%s.abc", good) < 0)
        abort();
    REFUSE(&f, t, "token mal formado");
    /* Empty header or payload. */
    if (asprintf(&t, "%s", strchr(good, '.')) < 0)
        abort();
    REFUSE(&f, t, "token mal formado");
    REFUSE(&f, strdup(".."), "token mal formado");
    REFUSE(&f, strdup("eyJhbGciOiJIUzI1NiJ9..c2ln"), "token mal formado");
    REFUSE(&f, strdup("no-es-un-token"), "token mal formado");
    REFUSE(&f, strdup(""), "token ausente");
    CU_ASSERT_EQUAL(verify(&f, NULL), -1);
    CU_ASSERT_STRING_EQUAL(f.e.msg, "token ausente");
    free(good);
    fx_close(&f);
}

static void test_token__oversized(void)
{
    const char *env[] = { "CHAT_JWT_SECRET", SECRET, "CHAT_JWT_MAX_BYTES", "256", NULL };
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    char big[300];
    memset(big, 'n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"nombre\":\"%s\",\"exp\":%lld}", big, NOW + 60),
           "token demasiado largo");
    /* Not even read past the limit: a huge string of junk says the same. */
    char *huge = malloc(1 << 20);
    memset(huge, 'A', (1 << 20) - 1);
    huge[(1 << 20) - 1] = '\0';
    REFUSE(&f, huge, "token demasiado largo");
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW + 60));
    fx_close(&f);
}

static void test_token__permisos_not_array(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":565,\"exp\":%lld}", NOW + 60),
           "permisos no válidos");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":\"565,566\",\"exp\":%lld}", NOW + 60),
           "permisos no válidos");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":{\"565\":true},\"exp\":%lld}", NOW + 60),
           "permisos no válidos");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":[565,\"566\"],\"exp\":%lld}", NOW + 60),
           "permisos no válidos");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":[565.5],\"exp\":%lld}", NOW + 60),
           "permisos no válidos");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":[null],\"exp\":%lld}", NOW + 60),
           "permisos no válidos");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":[4294967296],\"exp\":%lld}", NOW + 60),
           "permisos no válidos");
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":[],\"exp\":%lld}", NOW + 60));
    CU_ASSERT_EQUAL(f.cl.npermisos, 0);
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":null,\"exp\":%lld}", NOW + 60));
    CU_ASSERT_EQUAL(f.cl.npermisos, 0);
    /* More than TOKEN_MAX_PERMISOS: the first ones are kept. */
    char list[4096] = "";
    size_t o = 0;
    for (int i = 0; i < TOKEN_MAX_PERMISOS + 44; i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%d", i ? "," : "", 1000 + i);
    ACCEPT(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":[%s],\"exp\":%lld}", list, NOW + 60));
    CU_ASSERT_EQUAL(f.cl.npermisos, TOKEN_MAX_PERMISOS);
    CU_ASSERT_EQUAL(f.cl.permisos[TOKEN_MAX_PERMISOS - 1], 1000 + TOKEN_MAX_PERMISOS - 1);
    /* And an element past the cap is still checked. */
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"permisos\":[%s,\"x\"],\"exp\":%lld}", list, NOW + 60),
           "permisos no válidos");
    fx_close(&f);
}

static void test_token__optional_claim_types(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"nombre\":5,\"exp\":%lld}", NOW + 60),
           "claim nombre no válido");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"email\":[\"a@b\"],\"exp\":%lld}", NOW + 60),
           "claim email no válido");
    REFUSE(&f, mint(&f, "{\"idErp\":\"u-1\",\"scope\":[\"chat:interno\"],\"exp\":%lld}", NOW + 60),
           "claim scope no válido");
    fx_close(&f);
}

static void test_token__service_token(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    ACCEPT(&f, mint(&f, "{\"scope\":\"chat:interno\",\"exp\":%lld}", NOW + 60));
    CU_ASSERT_TRUE(f.cl.service);
    CU_ASSERT_STRING_EQUAL(f.cl.scope, "chat:interno");
    CU_ASSERT_PTR_NULL(f.cl.id_erp);
    /* Other scopes are user tokens and need the id. */
    REFUSE(&f, mint(&f, "{\"scope\":\"chat:otro\",\"exp\":%lld}", NOW + 60),
           "token sin identificador de usuario");
    ACCEPT(&f, mint(&f, "{\"scope\":\"lectura\",\"idErp\":7,\"exp\":%lld}", NOW + 60));
    CU_ASSERT_FALSE(f.cl.service);
    CU_ASSERT_STRING_EQUAL(f.cl.id_erp, "7");
    /* A service token still expires. */
    REFUSE(&f, mint(&f, "{\"scope\":\"chat:interno\",\"exp\":%lld}", NOW - 60), "token expirado");
    fx_close(&f);
}

static void test_token__rs256_valid(void)
{
    const char *pubs[] = { rsa_pub, rsa_pkcs1, rsa_cert };
    for (int i = 0; i < 3; i++) {
        const char *env[] = { "CHAT_JWT_ALG", "RS256", "CHAT_JWT_PUBLIC_KEY", pubs[i],
                              "CHAT_JWT_PRIVATE_KEY", rsa_priv, "CHAT_JWT_ISSUER", "erp",
                              "CHAT_JWT_AUDIENCE", "chat", NULL };
        struct fx f;
        CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
        ACCEPT(&f, mint(&f, "{\"idErp\":\"u-5\",\"permisos\":[566],\"exp\":%lld}", NOW + 60));
        CU_ASSERT_STRING_EQUAL(f.cl.id_erp, "u-5");
        CU_ASSERT(f.cl.npermisos == 1 && f.cl.permisos[0] == 566);
        /* Signed outside libjwt too (openssl dgst). */
        ACCEPT(&f, craft("RS256", rsa_priv, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
                         "{\"idErp\":\"u-6\",\"iss\":\"erp\",\"aud\":\"chat\",\"exp\":1800000600}"));
        CU_ASSERT_STRING_EQUAL(f.cl.id_erp, "u-6");
        REFUSE(&f, craft("RS256", rsa_priv, "{\"alg\":\"RS512\"}", GOOD), "algoritmo no permitido");
        fx_close(&f);
    }
}

static void test_token__es256_valid(void)
{
    const char *env[] = { "CHAT_JWT_ALG", "ES256", "CHAT_JWT_PUBLIC_KEY", ec_pub,
                          "CHAT_JWT_PRIVATE_KEY", ec_priv, NULL };
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    char *t = mint(&f, "{\"idErp\":\"u-8\",\"exp\":%lld}", NOW + 60);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    ACCEPT(&f, strdup(t));
    CU_ASSERT_STRING_EQUAL(f.cl.id_erp, "u-8");
    REFUSE(&f, flip(t, strlen(t) - 20), "firma inválida");
    fx_close(&f);
}

static void test_token__hs512_refused_when_hs256(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    REFUSE(&f, craft("HS512", SECRET, "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", GOOD),
           "algoritmo no permitido");
    REFUSE(&f, craft("HS384", SECRET, "{\"alg\":\"HS384\",\"typ\":\"JWT\"}", GOOD),
           "algoritmo no permitido");
    /* The header says HS256 but the MAC is HS512's. */
    REFUSE(&f, craft("HS512", SECRET, HS_HEADER, GOOD), "firma inválida");
    fx_close(&f);

    /* Minted by a config that uses HS512 with the same secret. */
    const char *env512[] = { "CHAT_JWT_ALG", "HS512", "CHAT_JWT_SECRET", SECRET, NULL };
    struct fx g;
    CU_ASSERT_FATAL(fx_open(&g, env512, 1) == 0);
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    char *t = mint(&g, "{\"idErp\":\"u-1\",\"exp\":%lld}", NOW + 60);
    ACCEPT(&g, strdup(t));
    REFUSE(&f, t, "algoritmo no permitido");
    fx_close(&f);
    fx_close(&g);
}

static void test_token__header_extensions(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    REFUSE(&f, craft("HS256", SECRET, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", GOOD),
           "cabecera crit no soportada");
    REFUSE(&f, craft("HS256", SECRET, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", GOOD),
           "tipo de token no permitido");
    REFUSE(&f, craft("HS256", SECRET, "{\"alg\":\"HS256\",\"typ\":1}", GOOD),
           "tipo de token no permitido");
    /* kid and other informational headers are ignored. */
    ACCEPT(&f, craft("HS256", SECRET, "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", GOOD));
    fx_close(&f);
}

static void test_token__empty_secret_refused(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 0) == 0);
    cfg_put(&f.c->jwt_secret, "");
    KEYS_REFUSED(f.c, "jwt_secret: required");
    cfg_put(&f.c->jwt_secret, "short-secret");
    KEYS_REFUSED(f.c, "jwt_secret: too short");
    cfg_put(&f.c->jwt_secret, "0123456789abcdef");
    char why[200];
    struct token_keys *k = token_keys_load(f.c, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL(k);
    token_keys_free(k);
    /* token_mint refuses to sign with no secret either. */
    cfg_put(&f.c->jwt_secret, "");
    char *t = token_mint(f.c, "{}", 60, why, sizeof(why));
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "jwt_secret"));
    free(t);
    fx_close(&f);
}

static void test_token__public_key_refused(void)
{
    const char *env[] = { "CHAT_JWT_ALG", "RS256", "CHAT_JWT_PUBLIC_KEY", rsa_pub, NULL };
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, env, 0) == 0);
    cfg_put(&f.c->jwt_public_key, "");
    KEYS_REFUSED(f.c, "jwt_public_key: required");
    char path[160];
    snprintf(path, sizeof(path), "%s/missing.pem", dir);
    cfg_put(&f.c->jwt_public_key, path);
    char want[300];
    snprintf(want, sizeof(want), "jwt_public_key: cannot read %s: No such file", path);
    KEYS_REFUSED(f.c, want);
    cfg_put(&f.c->jwt_public_key, rsa_priv);
    KEYS_REFUSED(f.c, "holds a private key");
    cfg_put(&f.c->jwt_public_key, ec_pub);
    KEYS_REFUSED(f.c, "not an RSA key");
    cfg_put(&f.c->jwt_public_key, rsa_small_pub);
    KEYS_REFUSED(f.c, "RSA key of 1024 bits");
    cfg_put(&f.c->jwt_public_key, junk);
    KEYS_REFUSED(f.c, "jwt_public_key: ");
    cfg_put(&f.c->jwt_public_key, dir);
    KEYS_REFUSED(f.c, "jwt_public_key: cannot read");
    cfg_put(&f.c->jwt_alg, "ES256");
    cfg_put(&f.c->jwt_public_key, rsa_pub);
    KEYS_REFUSED(f.c, "not an EC key");
    cfg_put(&f.c->jwt_public_key, ec384_pub);
    KEYS_REFUSED(f.c, "curve P-256");
    cfg_put(&f.c->jwt_alg, "ES384");
    char why[300];
    struct token_keys *k = token_keys_load(f.c, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL(k);
    token_keys_free(k);
    fx_close(&f);
}

/* Keys loaded for one algorithm never verify under a config of another. */
static void test_token__keys_config_mismatch(void)
{
    const char *env[] = { "CHAT_JWT_ALG", "RS256", "CHAT_JWT_PUBLIC_KEY", rsa_pub, NULL };
    struct fx f, g;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    CU_ASSERT_FATAL(fx_open(&g, env, 0) == 0);
    char *t = craft("HS256", SECRET, HS_HEADER, GOOD);
    CU_ASSERT_EQUAL(token_verify(g.c, f.k, t, NOW, f.a, &f.cl, &f.e), -1);
    CU_ASSERT_EQUAL(f.e.code, ERR_INTERNAL);
    CU_ASSERT_EQUAL(token_verify(f.c, NULL, t, NOW, f.a, &f.cl, &f.e), -1);
    CU_ASSERT_EQUAL(f.e.code, ERR_INTERNAL);
    free(t);
    fx_close(&f);
    fx_close(&g);
}

/* The cache answers a token it verified exactly as token_verify does,
 * expires it on time, and never remembers a refused one. */
static void test_token__cache(void)
{
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, hs_env, 1) == 0);
    struct token_cache *tc = token_cache_new(8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tc);
    char *t = mint(&f, "{\"idErp\":\"u-17\",\"nombre\":\"Ana\",\"puesto\":null,"
                   "\"permisos\":[565],\"nbf\":%lld,\"exp\":%lld}", NOW - 5, NOW + 600);
    for (int round = 0; round < 2; round++) {   /* a miss, then a hit */
        arena_reset(f.a);
        CU_ASSERT_EQUAL(token_verify_cached(tc, f.c, f.k, t, NOW, f.a, &f.cl, &f.e), 0);
        CU_ASSERT_STRING_EQUAL(f.cl.id_erp, "u-17");
        CU_ASSERT_STRING_EQUAL(f.cl.nombre, "Ana");
        CU_ASSERT_PTR_NULL(f.cl.puesto);
        CU_ASSERT_EQUAL(f.cl.npermisos, 1);
        CU_ASSERT_EQUAL(f.cl.permisos[0], 565);
        CU_ASSERT_EQUAL(f.cl.exp, NOW + 600);
        CU_ASSERT_FALSE(f.cl.service);
    }
    /* the claims handed out are the caller's copies */
    f.cl.nombre[0] = 'X';
    arena_reset(f.a);
    CU_ASSERT_EQUAL(token_verify_cached(tc, f.c, f.k, t, NOW, f.a, &f.cl, &f.e), 0);
    CU_ASSERT_STRING_EQUAL(f.cl.nombre, "Ana");
    /* expiry and nbf are checked on a hit, with the leeway (30 s) */
    CU_ASSERT_EQUAL(token_verify_cached(tc, f.c, f.k, t, NOW + 629, f.a, &f.cl, &f.e), 0);
    CU_ASSERT_EQUAL(token_verify_cached(tc, f.c, f.k, t, NOW - 40, f.a, &f.cl, &f.e), -1);
    CU_ASSERT_STRING_EQUAL(f.e.msg, "token aún no válido");
    CU_ASSERT_EQUAL(token_verify_cached(tc, f.c, f.k, t, NOW + 630, f.a, &f.cl, &f.e), -1);
    CU_ASSERT_EQUAL(f.e.code, ERR_TOKEN);
    CU_ASSERT_STRING_EQUAL(f.e.msg, "token expirado");
    CU_ASSERT_PTR_NULL(f.cl.id_erp);
    /* a token that differs in one byte of its signature is checked, and refused */
    char *bad = strdup(t);
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
    CU_ASSERT_EQUAL(token_verify_cached(tc, f.c, f.k, bad, NOW, f.a, &f.cl, &f.e), -1);
    CU_ASSERT_STRING_EQUAL(f.e.msg, "firma inválida");
    CU_ASSERT_EQUAL(token_verify_cached(tc, f.c, f.k, bad, NOW, f.a, &f.cl, &f.e), -1);
    /* many tokens through few slots: each still answers for itself */
    for (int i = 0; i < 40; i++) {
        char *ti = mint(&f, "{\"idErp\":\"u-%d\",\"exp\":%lld}", i, NOW + 600);
        char want[16];
        snprintf(want, sizeof(want), "u-%d", i);
        for (int k = 0; k < 2; k++) {
            CU_ASSERT_EQUAL(token_verify_cached(tc, f.c, f.k, ti, NOW, f.a, &f.cl, &f.e), 0);
            CU_ASSERT_STRING_EQUAL(f.cl.id_erp, want);
        }
        free(ti);
    }
    /* no cache: plain verification */
    CU_ASSERT_EQUAL(token_verify_cached(NULL, f.c, f.k, t, NOW, f.a, &f.cl, &f.e), 0);
    free(bad);
    free(t);
    token_cache_free(tc);
    fx_close(&f);
}

static void test_token__mint(void)
{
    const char *env[] = { "CHAT_JWT_SECRET", SECRET, "CHAT_JWT_ISSUER", "erp",
                          "CHAT_JWT_AUDIENCE", "chat", NULL };
    struct fx f;
    CU_ASSERT_FATAL(fx_open(&f, env, 1) == 0);
    char why[300] = "";
    long long t0 = (long long)time(NULL);
    char *t = token_mint(f.c, "{\"idErp\":\"u-3\",\"url\":\"a/b\"}", 120, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(token_verify(f.c, f.k, t, t0, f.a, &f.cl, &f.e), 0);
    CU_ASSERT(f.cl.exp >= t0 + 120 && f.cl.exp <= t0 + 125);
    /* The payload holds iat, iss, aud and the claims as given. */
    char *p = strchr(t, '.') + 1;
    char *text = NULL;
    {
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        size_t n = (size_t)(strchr(p, '.') - p), o = 0;
        unsigned acc = 0;
        int bits = 0;
        text = calloc(1, n);
        for (size_t i = 0; i < n; i++) {
            acc = acc << 6 | (unsigned)(strchr(tab, p[i]) - tab);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                text[o++] = (char)(acc >> bits);
            }
        }
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"iat\":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"iss\":\"erp\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"aud\":\"chat\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"url\":\"a/b\""));
    free(text);
    free(t);
    CU_ASSERT_PTR_NULL(token_mint(f.c, "[1]", 60, why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "claims"));
    CU_ASSERT_PTR_NULL(token_mint(f.c, "{\"a\":", 60, why, sizeof(why)));
    fx_close(&f);

    /* RS256 needs the private key, and a usable one. */
    const char *envrs[] = { "CHAT_JWT_ALG", "RS256", "CHAT_JWT_PUBLIC_KEY", rsa_pub, NULL };
    CU_ASSERT_FATAL(fx_open(&f, envrs, 1) == 0);
    CU_ASSERT_PTR_NULL(token_mint(f.c, "{}", 60, why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "jwt_private_key: required"));
    cfg_put(&f.c->jwt_private_key, rsa_pub);
    CU_ASSERT_PTR_NULL(token_mint(f.c, "{}", 60, why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "jwt_private_key"));
    cfg_put(&f.c->jwt_private_key, ec_priv);
    CU_ASSERT_PTR_NULL(token_mint(f.c, "{}", 60, why, sizeof(why)));
    fx_close(&f);
}

/* ---- main ------------------------------------------------------------ */

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
#define P(var, name) snprintf(var, sizeof(var), "%s/%s", dir, name)
    P(rsa_priv, "rsa.pem");
    P(rsa_pub, "rsa.pub");
    P(rsa_pkcs1, "rsa1.pub");
    P(rsa_cert, "rsa.crt");
    P(rsa2_priv, "rsa2.pem");
    P(rsa_small_pub, "small.pub");
    P(ec_priv, "ec.pem");
    P(ec_pub, "ec.pub");
    P(ec384_pub, "ec384.pub");
    P(junk, "junk.pem");
#undef P
    const char *q = "2>/dev/null";
    FILE *f = fopen(junk, "w");
    if (!f)
        return -1;
    fputs("-----BEGIN PUBLIC KEY-----\nno es base64!\n-----END PUBLIC KEY-----\n", f);
    fclose(f);
    return sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s %s", rsa_priv, q) ||
           sh("openssl pkey -in %s -pubout -out %s %s", rsa_priv, rsa_pub, q) ||
           sh("openssl rsa -in %s -RSAPublicKey_out -out %s %s", rsa_priv, rsa_pkcs1, q) ||
           sh("openssl req -new -x509 -key %s -subj /CN=erp -days 2 -out %s %s", rsa_priv, rsa_cert, q) ||
           sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s %s", rsa2_priv, q) ||
           sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out %s/small.pem %s", dir, q) ||
           sh("openssl pkey -in %s/small.pem -pubout -out %s %s", dir, rsa_small_pub, q) ||
           sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s %s", ec_priv, q) ||
           sh("openssl pkey -in %s -pubout -out %s %s", ec_priv, ec_pub, q) ||
           sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out %s/ec384.pem %s", dir, q) ||
           sh("openssl pkey -in %s/ec384.pem -pubout -out %s %s", dir, ec384_pub, q)
           ? -1 : 0;
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "test_token__hs256_valid", test_token__hs256_valid },
        { "test_token__alg_none", test_token__alg_none },
        { "test_token__hs256_signed_with_rsa_public_pem", test_token__hs256_signed_with_rsa_public_pem },
        { "test_token__wrong_key", test_token__wrong_key },
        { "test_token__bad_signature", test_token__bad_signature },
        { "test_token__noncanonical_signature", test_token__noncanonical_signature },
        { "test_token__expired", test_token__expired },
        { "test_token__expired_within_leeway", test_token__expired_within_leeway },
        { "test_token__not_yet_valid", test_token__not_yet_valid },
        { "test_token__missing_exp", test_token__missing_exp },
        { "test_token__wrong_iss", test_token__wrong_iss },
        { "test_token__wrong_aud", test_token__wrong_aud },
        { "test_token__service_audience", test_token__service_audience },
        { "test_token__missing_id", test_token__missing_id },
        { "test_token__id_number", test_token__id_number },
        { "test_token__malformed_base64", test_token__malformed_base64 },
        { "test_token__malformed_json", test_token__malformed_json },
        { "test_token__segments", test_token__segments },
        { "test_token__oversized", test_token__oversized },
        { "test_token__permisos_not_array", test_token__permisos_not_array },
        { "test_token__optional_claim_types", test_token__optional_claim_types },
        { "test_token__service_token", test_token__service_token },
        { "test_token__rs256_valid", test_token__rs256_valid },
        { "test_token__es256_valid", test_token__es256_valid },
        { "test_token__hs512_refused_when_hs256", test_token__hs512_refused_when_hs256 },
        { "test_token__header_extensions", test_token__header_extensions },
        { "test_token__empty_secret_refused", test_token__empty_secret_refused },
        { "test_token__public_key_refused", test_token__public_key_refused },
        { "test_token__keys_config_mismatch", test_token__keys_config_mismatch },
        { "test_token__mint", test_token__mint },
        { "test_token__cache", test_token__cache },
        { NULL, NULL },
    };
    snprintf(dir, sizeof(dir), "/tmp/test_token.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    int ret = make_keys() == 0 ? cu_run("token", tests) : 2;
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return ret;
}
