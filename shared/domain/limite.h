/* limite.h: per-user rate limits (API.md §3/§9: 429 limite_excedido with
 * Retry-After), one token bucket per user and kind in PostgreSQL, so every
 * FastCGI worker and rtd instance shares it; and the per-user upload quota. */
#ifndef CHAT_LIMITE_H
#define CHAT_LIMITE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/cfg.h"
#include "core/db.h"
#include "core/err.h"

enum limite_clase {
    LIMITE_ENVIOS,          /* messages, edits, reactions, polls, announcements */
    LIMITE_SUBIDAS,         /* uploads */
    LIMITE_BUSQUEDAS,       /* searches */
    LIMITE_SESIONES,        /* logins by token that open a socket */
    LIMITE__COUNT
};

/* The bucket refilled for the time since `at`, capped at the burst B; R
 * is the refill per second (SQL parameter placeholders, "$3"...). */
#define LIMITE_LLENO(B, R)                                                       \
    "least(" B "::float8, limites_uso.fichas"                                    \
    " + extract(epoch FROM clock_timestamp() - limites_uso.at) * " R "::float8)"

/* The statement that takes one unit of kind K for user U (placeholders):
 * refill, then take a unit when there is one, RETURNING ok (a unit was
 * taken) and fichas (what is left). ON CONFLICT locks the row, so
 * concurrent workers queue on it and no unit is handed out twice. For
 * statements that take a unit along with other work (usr.c's login check). */
#define LIMITE_TOMAR(U, K, B, R)                                                 \
    "INSERT INTO limites_uso (usuario_id, clase, fichas, at, ok)"              \
    " VALUES (" U "::bigint, " K "::text, " B "::float8 - 1, clock_timestamp(), true)" \
    " ON CONFLICT (usuario_id, clase) DO UPDATE SET"                             \
    "  fichas = " LIMITE_LLENO(B, R) " - CASE WHEN " LIMITE_LLENO(B, R)          \
    " >= 1 THEN 1 ELSE 0 END,"                                                   \
    "  ok = " LIMITE_LLENO(B, R) " >= 1,"                                        \
    "  at = clock_timestamp()"                                                   \
    " RETURNING ok, fichas"

/* The kind's name as stored ("envios"...). */
const char *limite_nombre(enum limite_clase k);

/* Per minute allowed by the config for kind k (0: unlimited). */
int limite_por_minuto(const struct cfg *c, enum limite_clase k);

/* The burst and refill-per-second parameters of kind k, as text in the
 * arena, for LIMITE_TOMAR. Returns the per-minute figure (0: unlimited,
 * and then *burst and *rate are not set). */
int limite_params(struct arena *a, const struct cfg *c, enum limite_clase k,
                  const char **burst, const char **rate);

/* A refusal of kind k given what was left in the bucket (fichas, the text
 * LIMITE_TOMAR returned): always -1 with ERR_RATE in e and *retry_after. */
int limite_refused(const struct cfg *c, enum limite_clase k, const char *fichas,
                   int *retry_after, struct err *e);

/* Takes one unit of kind k for user: 0 when allowed; over the limit -1 with
 * ERR_RATE in e and *retry_after set to the whole seconds until one unit is
 * back (at least 1). The bucket holds the per-minute figure and refills
 * evenly over the minute, so a burst of that size passes at once. One
 * statement, autocommit: call it outside a transaction. A database failure
 * is -1 with its error (the caller refuses the request). */
int limite_tomar(struct db *d, struct arena *a, const struct cfg *c, long long usuario,
                 enum limite_clase k, int *retry_after, struct err *e);

/* limite_tomar for n requests of kind k at once (users[i] asks for one
 * unit), in one statement for the first request of each user (rows locked
 * in user id order, so two batches never deadlock) and one more statement
 * for each further request of a user already in the batch, so that each
 * request gets what calls one by one would have given it: ok[i], and when
 * refused retry_after[i]. Returns 0, or -1 with e when a statement failed
 * (then no request has a result). */
int limite_tomar_many(struct db *d, struct arena *a, const struct cfg *c,
                      const long long *users, size_t n, enum limite_clase k, bool *ok,
                      int *retry_after, struct err *e);

/* The upload quota: refuses (ERR_RATE, *retry_after) when user's uploads
 * of the last 24 hours plus incoming bytes would pass media_cuota_diaria.
 * 0 when allowed or the quota is off. */
int limite_cuota_media(struct db *d, struct arena *a, const struct cfg *c, long long usuario,
                       long long incoming, int *retry_after, struct err *e);

#endif
