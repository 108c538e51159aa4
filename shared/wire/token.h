/* token.h: verification of the ERP's JWTs (and minting dev tokens). */
#ifndef CHAT_TOKEN_H
#define CHAT_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/cfg.h"
#include "core/err.h"

#define TOKEN_MAX_PERMISOS 256

/* The claims of a verified token. Strings live in the arena given to
 * token_verify; absent optional claims are NULL. */
struct token_claims {
    char *id_erp;           /* NULL for a service token */
    char *nombre;
    char *email;
    char *imagen;
    char *puesto;
    char *departamento;
    char *scope;            /* "chat:interno" for the ERP's service token */
    int permisos[TOKEN_MAX_PERMISOS];
    size_t npermisos;
    long long exp;
    long long nbf;          /* when has_nbf */
    bool has_nbf;
    bool service;           /* scope == "chat:interno" */
};

/* The key material for the configured algorithm, loaded once at start. */
struct token_keys;

/* Loads the key the config names (jwt_secret, or the PEM at jwt_public_key)
 * and checks it fits jwt_alg. Returns NULL with why set on failure (a
 * message naming the config key). Free with token_keys_free.
 * HS256/384/512: a secret of at least 16 characters. RS and ES algorithms:
 * the first "PUBLIC KEY", "RSA PUBLIC KEY" (PKCS#1) or "CERTIFICATE" PEM
 * block in the file, turned into the SPKI form libjwt reads; RSA of at
 * least 2048 bits for RS256/384/512, EC on the algorithm's own curve
 * (P-256, P-384, P-521) for ES256/384/512. */
struct token_keys *token_keys_load(const struct cfg *c, char *why, size_t whylen);

void token_keys_free(struct token_keys *k);

/* Verifies tok against the config: only jwt_alg is accepted (never "none",
 * never HS with an RSA key), signature, exp (required) and nbf with
 * jwt_leeway, iss/aud when configured, size under jwt_max_bytes, claim
 * names from config. A user token needs the id claim (string or number);
 * a service token needs scope = "chat:interno". now is the current time
 * in seconds (tests pass their own). Returns 0 and fills out (strings in
 * a), or -1 with e = ERR_TOKEN and a reason in e->msg ("token expirado",
 * "firma inválida", "algoritmo no permitido"...), out then zeroed.
 * ERR_INTERNAL when k is NULL or was loaded for another jwt_alg. */
int token_verify(const struct cfg *c, const struct token_keys *k, const char *tok,
                 long long now, struct arena *a, struct token_claims *out, struct err *e);

/* A cache of tokens already verified, for one thread. The same token comes
 * with every request of a session (the ERP's cookie or the widget's token
 * lasts minutes or hours), and checking its signature and parsing its JSON
 * twice cost more than the rest of a short request. Keyed by the SHA-256 of
 * the whole token (compared in constant time), so a hit is exactly a token
 * that passed token_verify with this cfg and these keys; a hit is still
 * checked against exp and nbf (with jwt_leeway) at the time given, so a
 * cached token expires like any other. Fixed size, direct-mapped: a newer
 * token takes the slot of an older one. */
struct token_cache;

/* slots: how many tokens it holds (0: none, every call verifies). NULL
 * when out of memory. */
struct token_cache *token_cache_new(size_t slots);
void token_cache_free(struct token_cache *tc);

/* token_verify through tc (NULL: no cache): the same result and the same
 * errors; a verified token is remembered, a refused one never is. */
int token_verify_cached(struct token_cache *tc, const struct cfg *c, const struct token_keys *k,
                        const char *tok, long long now, struct arena *a,
                        struct token_claims *out, struct err *e);

/* Mints a token signed with the configured algorithm (HS* with jwt_secret,
 * RS or ES algorithms with the PEM at jwt_private_key): claims as JSON object text
 * (exp is added from ttl seconds unless present, iat always, iss/aud from
 * config when set and not present). Returns a malloc'd string (free it)
 * or NULL with why. */
char *token_mint(const struct cfg *c, const char *claims_json, long ttl,
                 char *why, size_t whylen);

#endif
