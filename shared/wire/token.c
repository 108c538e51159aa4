/* token.c: the ERP's JWTs: libjwt 1.10 checks the signature, this file
 * does everything libjwt leaves to its caller (see DESIGN.md, pitfalls). */
#include "wire/token.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <jwt.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sha256.h"
#include "wire/b64.h"
#include "wire/pemkey.h"

#define TOKEN_ID_MAX 200                /* bytes of the id claim */
#define TOKEN_PEM_MAX (256 * 1024)      /* a key file is never this big */
#define TOKEN_TIME_MAX (1LL << 52)      /* clamp for NumericDates */
#define TOKEN_SERVICE_SCOPE "chat:interno"

struct token_keys {
    jwt_alg_t alg;
    unsigned char *key;     /* the HMAC secret, or an SPKI PEM libjwt can read */
    size_t len;
};

/* ---- JSON ------------------------------------------------------------ */

/* Parses exactly n bytes as one strict JSON value (valid UTF-8, nothing
 * but whitespace after it). Returns a new reference or NULL. */
static json_object *token_json_parse(const char *s, size_t n)
{
    if (n > INT_MAX)
        return NULL;
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, s, (int)n);
    if (o && json_tokener_get_error(tok) == json_tokener_success) {
        for (size_t i = json_tokener_get_parse_end(tok); i < n; i++) {
            if (!strchr(" \t\r\n", s[i]) || s[i] == '\0') {
                json_object_put(o);
                o = NULL;
                break;
            }
        }
    } else if (o) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* A JSON string's bytes when v is a string without NULs, else NULL. */
static const char *json_plain_str(json_object *v, size_t *len)
{
    if (!json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (strlen(s) != n)
        return NULL;
    if (len)
        *len = n;
    return s;
}

/* ---- claims ---------------------------------------------------------- */

/* Optional string claim into *out (NULL when absent or null). Returns 0, or
 * -1 with e set when the claim has another type. */
static int claim_str(struct arena *a, json_object *o, const char *name, char **out, struct err *e)
{
    json_object *v;
    *out = NULL;
    if (!name[0] || !json_object_object_get_ex(o, name, &v) || !v)
        return 0;
    size_t n;
    const char *s = json_plain_str(v, &n);
    if (!s)
        return err_set(e, ERR_TOKEN, "claim %s no válido", name);
    *out = arena_strndup(a, s, n);
    return 0;
}

/* A NumericDate claim (RFC 7519: integer or fraction). Returns 1 and sets
 * *out (clamped, fractions rounded down), 0 when absent, -1 when of
 * another type. */
static int claim_time(json_object *o, const char *name, long long *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v))
        return 0;
    if (json_object_is_type(v, json_type_int)) {
        int64_t x = json_object_get_int64(v);
        *out = x > TOKEN_TIME_MAX ? TOKEN_TIME_MAX : x < -TOKEN_TIME_MAX ? -TOKEN_TIME_MAX : x;
        return 1;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (isnan(d))
            return -1;
        d = d > (double)TOKEN_TIME_MAX ? (double)TOKEN_TIME_MAX
          : d < (double)-TOKEN_TIME_MAX ? (double)-TOKEN_TIME_MAX : floor(d);
        *out = (long long)d;
        return 1;
    }
    return -1;
}

/* The user's id: a non-empty string of at most TOKEN_ID_MAX bytes without
 * control characters, or an integer, given back as decimal text. */
static int claim_id(struct arena *a, json_object *o, const char *name, char **out, struct err *e)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v) || !v)
        return err_set(e, ERR_TOKEN, "token sin identificador de usuario");
    if (json_object_is_type(v, json_type_int)) {
        *out = arena_printf(a, "%" PRId64, json_object_get_int64(v));
        return 0;
    }
    size_t n;
    const char *s = json_plain_str(v, &n);
    if (!s || n == 0 || n > TOKEN_ID_MAX)
        return err_set(e, ERR_TOKEN, "identificador de usuario no válido");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return err_set(e, ERR_TOKEN, "identificador de usuario no válido");
    *out = arena_strndup(a, s, n);
    return 0;
}

/* permisos: absent/null is none; otherwise an array of integers (every
 * element checked, the first TOKEN_MAX_PERMISOS kept). */
static int claim_permisos(json_object *o, const char *name, struct token_claims *out,
                          struct err *e)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_array))
        return err_set(e, ERR_TOKEN, "permisos no válidos");
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        json_object *x = json_object_array_get_idx(v, i);
        if (!json_object_is_type(x, json_type_int))
            return err_set(e, ERR_TOKEN, "permisos no válidos");
        int64_t p = json_object_get_int64(x);
        if (p < INT_MIN || p > INT_MAX)
            return err_set(e, ERR_TOKEN, "permisos no válidos");
        if (out->npermisos < TOKEN_MAX_PERMISOS)
            out->permisos[out->npermisos++] = (int)p;
    }
    return 0;
}

/* aud (RFC 7519 4.1.3): a string or an array of strings, one of which must
 * be ours. */
static int claim_aud_ok(json_object *o, const char *want)
{
    json_object *v;
    if (!json_object_object_get_ex(o, "aud", &v) || !v)
        return 0;
    const char *s = json_plain_str(v, NULL);
    if (s)
        return strcmp(s, want) == 0;
    if (!json_object_is_type(v, json_type_array))
        return 0;
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        s = json_plain_str(json_object_array_get_idx(v, i), NULL);
        if (s && strcmp(s, want) == 0)
            return 1;
    }
    return 0;
}

/* exp (required) and nbf (when present) against now, with jwt_leeway:
 * the one time rule for a fresh token and for a cached one. */
static int claims_in_time(const struct cfg *c, const struct token_claims *t, long long now,
                          struct err *e)
{
    if (now - c->jwt_leeway >= t->exp)
        return err_set(e, ERR_TOKEN, "token expirado");
    if (t->has_nbf && now + c->jwt_leeway < t->nbf)
        return err_set(e, ERR_TOKEN, "token aún no válido");
    return 0;
}

/* Everything about the verified payload o: times, issuer, audience, then
 * the claims into out. */
static int token_claims_read(const struct cfg *c, json_object *o, long long now,
                             struct arena *a, struct token_claims *out, struct err *e)
{
    long long exp, nbf;
    int r = claim_time(o, "exp", &exp);
    if (r < 0)
        return err_set(e, ERR_TOKEN, "claim exp no válido");
    if (r == 0)
        return err_set(e, ERR_TOKEN, "token sin expiración");
    r = claim_time(o, "nbf", &nbf);
    if (r < 0)
        return err_set(e, ERR_TOKEN, "claim nbf no válido");
    out->exp = exp;
    out->has_nbf = r > 0;
    out->nbf = r > 0 ? nbf : 0;
    if (claims_in_time(c, out, now, e) < 0)
        return -1;
    if (c->jwt_issuer[0]) {
        json_object *v;
        const char *iss = json_object_object_get_ex(o, "iss", &v) ? json_plain_str(v, NULL) : NULL;
        if (!iss || strcmp(iss, c->jwt_issuer) != 0)
            return err_set(e, ERR_TOKEN, "emisor no válido");
    }

    if (claim_str(a, o, c->jwt_claim_scope, &out->scope, e) < 0)
        return -1;
    out->service = out->scope && strcmp(out->scope, TOKEN_SERVICE_SCOPE) == 0;
    /* The service token may have an audience of its own, so that no token
     * the ERP mints for users (or for other services) can act as it, and
     * it cannot act as a user's. */
    const char *aud = out->service && c->jwt_audience_servicio[0] ? c->jwt_audience_servicio
                                                                  : c->jwt_audience;
    if (aud[0] && !claim_aud_ok(o, aud))
        return err_set(e, ERR_TOKEN, "audiencia no válida");
    if (!out->service && c->jwt_audience_servicio[0] && claim_aud_ok(o, c->jwt_audience_servicio))
        return err_set(e, ERR_TOKEN, "audiencia no válida");
    if (!out->service && claim_id(a, o, c->jwt_claim_id, &out->id_erp, e) < 0)
        return -1;
    if (claim_str(a, o, c->jwt_claim_nombre, &out->nombre, e) < 0 ||
        claim_str(a, o, c->jwt_claim_email, &out->email, e) < 0 ||
        claim_str(a, o, c->jwt_claim_imagen, &out->imagen, e) < 0 ||
        claim_str(a, o, c->jwt_claim_puesto, &out->puesto, e) < 0 ||
        claim_str(a, o, c->jwt_claim_departamento, &out->departamento, e) < 0)
        return -1;
    return claim_permisos(o, c->jwt_claim_permisos, out, e);
}

/* ---- verify ---------------------------------------------------------- */

/* Our own look at the header before libjwt sees the token: the algorithm
 * must be the configured one (so neither "none" nor HS-with-the-RSA-PEM
 * reaches libjwt), no extension we would have to understand (crit), and a
 * typ, if any, of JWT (libjwt refuses others, but as a "bad signature"). */
static int token_header_check(const struct token_keys *k, const char *h, size_t n, struct err *e)
{
    size_t len;
    int ret = -1;
    json_object *o = NULL, *v;
    unsigned char *raw = b64_decode(h, n, 1, &len);
    if (!raw || !(o = token_json_parse((const char *)raw, len)) ||
        !json_object_is_type(o, json_type_object)) {
        err_set(e, ERR_TOKEN, "token mal formado");
        goto cleanup;
    }
    const char *alg = json_object_object_get_ex(o, "alg", &v) ? json_plain_str(v, NULL) : NULL;
    if (!alg || strcmp(alg, jwt_alg_str(k->alg)) != 0) {
        err_set(e, ERR_TOKEN, "algoritmo no permitido");
        goto cleanup;
    }
    if (json_object_object_get_ex(o, "crit", NULL)) {
        err_set(e, ERR_TOKEN, "cabecera crit no soportada");
        goto cleanup;
    }
    if (json_object_object_get_ex(o, "typ", &v)) {
        const char *typ = json_plain_str(v, NULL);
        if (!typ || strcasecmp(typ, "JWT") != 0) {
            err_set(e, ERR_TOKEN, "tipo de token no permitido");
            goto cleanup;
        }
    }
    ret = 0;
cleanup:
    json_object_put(o);
    free(raw);
    return ret;
}

int token_verify(const struct cfg *c, const struct token_keys *k, const char *tok,
                 long long now, struct arena *a, struct token_claims *out, struct err *e)
{
    json_object *payload = NULL;
    unsigned char *raw = NULL;
    jwt_t *jwt = NULL;
    size_t len;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (!k || k->len == 0 || k->alg != jwt_str_alg(c->jwt_alg)) {
        /* libjwt with no key verifies nothing: never call it so. */
        err_set(e, ERR_INTERNAL, "clave de verificación no cargada");
        goto cleanup;
    }
    if (!tok || !tok[0]) {
        err_set(e, ERR_TOKEN, "token ausente");
        goto cleanup;
    }
    size_t n = strnlen(tok, (size_t)c->jwt_max_bytes + 1);
    if (n > (size_t)c->jwt_max_bytes) {
        err_set(e, ERR_TOKEN, "token demasiado largo");
        goto cleanup;
    }
    const char *d1 = memchr(tok, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - tok)) || d1 == tok || d2 == d1 + 1) {
        err_set(e, ERR_TOKEN, "token mal formado");
        goto cleanup;
    }
    if (token_header_check(k, tok, (size_t)(d1 - tok), e) < 0)
        goto cleanup;
    size_t siglen = n - (size_t)(d2 + 1 - tok);
    if (siglen == 0 || !(raw = b64_decode(d2 + 1, siglen, 1, &len))) {
        err_set(e, ERR_TOKEN, siglen ? "token mal formado" : "firma inválida");
        goto cleanup;
    }
    free(raw);
    raw = b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), 1, &len);
    if (!raw || !(payload = token_json_parse((const char *)raw, len)) ||
        !json_object_is_type(payload, json_type_object)) {
        err_set(e, ERR_TOKEN, "token mal formado");
        goto cleanup;
    }
    int r = jwt_decode(&jwt, tok, k->key, (int)k->len);
    if (r == ENOMEM) {
        err_set(e, ERR_INTERNAL, NULL);
        goto cleanup;
    }
    if (r != 0 || !jwt) {
        err_set(e, ERR_TOKEN, "firma inválida");
        goto cleanup;
    }
    /* Again after libjwt, in case its reading of the header differs. */
    if (jwt_get_alg(jwt) != k->alg) {
        err_set(e, ERR_TOKEN, "algoritmo no permitido");
        goto cleanup;
    }
    /* The claims come from our strict parse of the same payload bytes that
     * libjwt just verified. */
    if (token_claims_read(c, payload, now, a, out, e) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    if (ret < 0)
        memset(out, 0, sizeof(*out));
    jwt_free(jwt);
    json_object_put(payload);
    free(raw);
    return ret;
}

/* ---- cache ----------------------------------------------------------- */

struct token_cache_slot {
    unsigned char key[32];          /* SHA-256 of the token */
    bool used;
    struct token_claims claims;     /* strings malloc'd, owned by the slot */
};

struct token_cache {
    size_t n;
    struct token_cache_slot slot[];
};

/* The claim strings of c, each as a pointer to its field. */
#define CLAIM_FIELDS(c) { &(c)->id_erp, &(c)->nombre, &(c)->email, &(c)->imagen, \
                          &(c)->puesto, &(c)->departamento, &(c)->scope }

static void slot_clear(struct token_cache_slot *s)
{
    char **f[] = CLAIM_FIELDS(&s->claims);
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        free(*f[i]);
    memset(s, 0, sizeof(*s));
}

struct token_cache *token_cache_new(size_t slots)
{
    struct token_cache *tc = calloc(1, sizeof(*tc) + slots * sizeof(tc->slot[0]));
    if (tc)
        tc->n = slots;
    return tc;
}

void token_cache_free(struct token_cache *tc)
{
    if (!tc)
        return;
    for (size_t i = 0; i < tc->n; i++)
        slot_clear(&tc->slot[i]);
    free(tc);
}

int token_verify_cached(struct token_cache *tc, const struct cfg *c, const struct token_keys *k,
                        const char *tok, long long now, struct arena *a,
                        struct token_claims *out, struct err *e)
{
    if (!tc || !tc->n || !tok || strnlen(tok, (size_t)c->jwt_max_bytes + 1) > (size_t)c->jwt_max_bytes)
        return token_verify(c, k, tok, now, a, out, e);
    unsigned char key[32];
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, tok, strlen(tok));
    sha256_final(&h, key);
    struct token_cache_slot *s = &tc->slot[((size_t)key[0] << 8 | key[1]) % tc->n];
    if (s->used && digest_equal((const char *)s->key, (const char *)key, sizeof(key))) {
        const struct token_claims *cl = &s->claims;
        if (claims_in_time(c, cl, now, e) < 0) {
            if (now - c->jwt_leeway >= cl->exp)
                slot_clear(s);      /* expired for good; not yet valid may come */
            memset(out, 0, sizeof(*out));
            return -1;
        }
        *out = *cl;
        char **f[] = CLAIM_FIELDS(out);
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
            *f[i] = arena_strdup(a, *f[i]);
        return 0;
    }
    if (token_verify(c, k, tok, now, a, out, e) < 0)
        return -1;
    slot_clear(s);
    s->claims = *out;
    char **f[] = CLAIM_FIELDS(&s->claims);
    size_t nf = sizeof(f) / sizeof(f[0]);
    for (size_t i = 0; i < nf; i++) {
        if (*f[i] && !(*f[i] = strdup(*f[i]))) {
            for (size_t j = i + 1; j < nf; j++)
                *f[j] = NULL;      /* still the arena's copies: not ours to free */
            slot_clear(s);
            return 0;               /* verified; just not remembered */
        }
    }
    memcpy(s->key, key, sizeof(key));
    s->used = true;
    return 0;
}

/* ---- keys ------------------------------------------------------------ */

/* Reads the whole file at path (at most TOKEN_PEM_MAX bytes) into a
 * malloc'd NUL-terminated buffer, or NULL with why. */
static char *file_read(const char *key, const char *path, size_t *outlen, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "%s: cannot read %s: %s", key, path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(TOKEN_PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, TOKEN_PEM_MAX + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || n > TOKEN_PEM_MAX) {
        snprintf(why, whylen, "%s: cannot read %s: %s", key, path,
                 !buf ? "out of memory" : n > TOKEN_PEM_MAX ? "file too large" : "read error");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *outlen = n;
    return buf;
}

static int alg_is_hmac(jwt_alg_t alg)
{
    return alg == JWT_ALG_HS256 || alg == JWT_ALG_HS384 || alg == JWT_ALG_HS512;
}

struct token_keys *token_keys_load(const struct cfg *c, char *why, size_t whylen)
{
    jwt_alg_t alg = jwt_str_alg(c->jwt_alg);
    if (alg == JWT_ALG_INVAL || alg == JWT_ALG_NONE) {
        snprintf(why, whylen, "jwt_alg: \"%s\" is not supported", c->jwt_alg);
        return NULL;
    }
    struct token_keys *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    k->alg = alg;
    if (alg_is_hmac(alg)) {
        size_t n = strlen(c->jwt_secret);
        if (n == 0) {
            snprintf(why, whylen, "jwt_secret: required when jwt_alg is %s", c->jwt_alg);
            goto fail;
        }
        if (n < 16) {
            snprintf(why, whylen, "jwt_secret: too short (at least 16 characters)");
            goto fail;
        }
        if (!(k->key = malloc(n))) {
            snprintf(why, whylen, "out of memory");
            goto fail;
        }
        memcpy(k->key, c->jwt_secret, n);
        k->len = n;
        return k;
    }
    if (!c->jwt_public_key[0]) {
        snprintf(why, whylen, "jwt_public_key: required when jwt_alg is %s", c->jwt_alg);
        goto fail;
    }
    size_t n;
    char *text = file_read("jwt_public_key", c->jwt_public_key, &n, why, whylen);
    if (!text)
        goto fail;
    char reason[160];
    enum pemkey_want want = PEMKEY_EC_P521;
    if (alg == JWT_ALG_RS256 || alg == JWT_ALG_RS384 || alg == JWT_ALG_RS512)
        want = PEMKEY_RSA;
    else if (alg == JWT_ALG_ES256)
        want = PEMKEY_EC_P256;
    else if (alg == JWT_ALG_ES384)
        want = PEMKEY_EC_P384;
    char *pem = strlen(text) == n ? pemkey_spki_pem(text, want, jwt_alg_str(alg), reason,
                                                    sizeof(reason))
                                  : NULL;
    if (!pem && strlen(text) != n)
        snprintf(reason, sizeof(reason), "not a PEM file");
    free(text);
    if (!pem) {
        snprintf(why, whylen, "jwt_public_key: %s: %s", c->jwt_public_key, reason);
        goto fail;
    }
    k->key = (unsigned char *)pem;
    k->len = strlen(pem);
    return k;
fail:
    token_keys_free(k);
    return NULL;
}

void token_keys_free(struct token_keys *k)
{
    if (!k)
        return;
    if (k->key)
        explicit_bzero(k->key, k->len);
    free(k->key);
    free(k);
}

/* ---- mint ------------------------------------------------------------ */

char *token_mint(const struct cfg *c, const char *claims_json, long ttl,
                 char *why, size_t whylen)
{
    jwt_alg_t alg = jwt_str_alg(c->jwt_alg);
    json_object *o = NULL;
    jwt_t *jwt = NULL;
    char *key = NULL, *tok = NULL;
    size_t keylen = 0;

    if (alg == JWT_ALG_INVAL || alg == JWT_ALG_NONE) {
        snprintf(why, whylen, "jwt_alg: \"%s\" is not supported", c->jwt_alg);
        goto cleanup;
    }
    o = claims_json ? token_json_parse(claims_json, strlen(claims_json)) : json_object_new_object();
    if (!o || !json_object_is_type(o, json_type_object)) {
        snprintf(why, whylen, "claims: not a JSON object");
        goto cleanup;
    }
    long long now = (long long)time(NULL);
    if (!json_object_object_get_ex(o, "exp", NULL))
        json_object_object_add(o, "exp", json_object_new_int64(now + ttl));
    json_object_object_add(o, "iat", json_object_new_int64(now));
    if (c->jwt_issuer[0] && !json_object_object_get_ex(o, "iss", NULL))
        json_object_object_add(o, "iss", json_object_new_string(c->jwt_issuer));
    if (!json_object_object_get_ex(o, "aud", NULL)) {
        json_object *sc;
        bool service = json_object_object_get_ex(o, c->jwt_claim_scope, &sc) &&
                       json_object_is_type(sc, json_type_string) &&
                       strcmp(json_object_get_string(sc), TOKEN_SERVICE_SCOPE) == 0;
        const char *aud = service && c->jwt_audience_servicio[0] ? c->jwt_audience_servicio
                                                                 : c->jwt_audience;
        if (aud[0])
            json_object_object_add(o, "aud", json_object_new_string(aud));
    }

    if (alg_is_hmac(alg)) {
        keylen = strlen(c->jwt_secret);
        if (keylen == 0) {
            snprintf(why, whylen, "jwt_secret: required to mint %s tokens", c->jwt_alg);
            goto cleanup;
        }
        if (!(key = strdup(c->jwt_secret))) {
            snprintf(why, whylen, "out of memory");
            goto cleanup;
        }
    } else {
        if (!c->jwt_private_key[0]) {
            snprintf(why, whylen, "jwt_private_key: required to mint %s tokens", c->jwt_alg);
            goto cleanup;
        }
        if (!(key = file_read("jwt_private_key", c->jwt_private_key, &keylen, why, whylen)))
            goto cleanup;
    }
    if (keylen > INT_MAX || jwt_new(&jwt) != 0 ||
        jwt_add_grants_json(jwt, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE)) != 0 ||
        jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)keylen) != 0) {
        snprintf(why, whylen, "cannot build the token");
        goto cleanup;
    }
    tok = jwt_encode_str(jwt);
    if (!tok && alg_is_hmac(alg))
        snprintf(why, whylen, "jwt_secret: cannot sign with it");
    else if (!tok)
        snprintf(why, whylen, "jwt_private_key: %s: cannot sign with it (not a %s private key PEM?)",
                 c->jwt_private_key, c->jwt_alg);
cleanup:
    if (key)
        explicit_bzero(key, keylen);
    free(key);
    jwt_free(jwt);
    json_object_put(o);
    return tok;
}
