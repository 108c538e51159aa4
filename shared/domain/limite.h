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

/* The kind's name as stored ("envios"...). */
const char *limite_nombre(enum limite_clase k);

/* Per minute allowed by the config for kind k (0: unlimited). */
int limite_por_minuto(const struct cfg *c, enum limite_clase k);

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
