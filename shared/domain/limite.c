/* limite.c: token buckets in limites_uso, one statement per check. */
#include "domain/limite.h"

#include <math.h>
#include <stdlib.h>

static const char *const limite_nombres[LIMITE__COUNT] = {
    [LIMITE_ENVIOS] = "envios",
    [LIMITE_SUBIDAS] = "subidas",
    [LIMITE_BUSQUEDAS] = "busquedas",
    [LIMITE_SESIONES] = "sesiones",
};

const char *limite_nombre(enum limite_clase k)
{
    return (unsigned)k < LIMITE__COUNT ? limite_nombres[k] : "?";
}

int limite_por_minuto(const struct cfg *c, enum limite_clase k)
{
    switch (k) {
    case LIMITE_ENVIOS: return c->limite_envios;
    case LIMITE_SUBIDAS: return c->limite_subidas;
    case LIMITE_BUSQUEDAS: return c->limite_busquedas;
    case LIMITE_SESIONES: return c->limite_sesiones;
    default: return 0;
    }
}

/* One statement: refill, then take a unit when there is one (LIMITE_TOMAR,
 * limite.h); `ok` tells which happened and `fichas` what is left, from
 * which the wait for the next unit follows. */
static const char limite_sql[] = LIMITE_TOMAR("$1", "$2", "$3", "$4");
static const struct db_stmt limite_st = { "limite_tomar", limite_sql };

/* The whole seconds until one unit is back, from what is left. */
static int limite_espera(double left, double rate)
{
    double wait = ceil((1.0 - left) / rate);
    return wait < 1 ? 1 : wait > 3600 ? 3600 : (int)wait;
}

int limite_params(struct arena *a, const struct cfg *c, enum limite_clase k,
                  const char **burst, const char **rate)
{
    int per_min = limite_por_minuto(c, k);
    if (per_min <= 0)
        return 0;
    *burst = arena_printf(a, "%d", per_min);
    *rate = arena_printf(a, "%.9f", per_min / 60.0);
    return per_min;
}

int limite_refused(const struct cfg *c, enum limite_clase k, const char *fichas,
                   int *retry_after, struct err *e)
{
    int per_min = limite_por_minuto(c, k);
    *retry_after = limite_espera(fichas ? strtod(fichas, NULL) : 0.0,
                                 (per_min > 0 ? per_min : 1) / 60.0);
    return err_set(e, ERR_RATE, "Demasiadas solicitudes de este tipo (%s): intente de nuevo en %d s",
                   limite_nombre(k), *retry_after);
}

int limite_tomar(struct db *d, struct arena *a, const struct cfg *c, long long usuario,
                 enum limite_clase k, int *retry_after, struct err *e)
{
    *retry_after = 0;
    const char *burst, *rate;
    if (limite_params(a, c, k, &burst, &rate) == 0)
        return 0;
    const char *p[4] = { arena_printf(a, "%lld", usuario), limite_nombre(k), burst, rate };
    PGresult *r = db_run(d, a, &limite_st, 4, p, e);
    if (!r)
        return -1;
    if (db_get_bool(r, 0, 0))
        return 0;
    return limite_refused(c, k, db_get(r, 0, 1), retry_after, e);
}

/* limite_sql over an array of distinct user ids, inserted (and so
 * locked) in id order; one row per user. */
static const char limite_sql_many[] =
    "INSERT INTO limites_uso (usuario_id, clase, fichas, at, ok)"
    " SELECT u, $2, $3::float8 - 1, clock_timestamp(), true"
    "  FROM unnest($1::bigint[]) AS u ORDER BY u"
    " ON CONFLICT (usuario_id, clase) DO UPDATE SET"
    "  fichas = " LIMITE_LLENO("$3", "$4") " - CASE WHEN " LIMITE_LLENO("$3", "$4")
    " >= 1 THEN 1 ELSE 0 END,"
    "  ok = " LIMITE_LLENO("$3", "$4") " >= 1,"
    "  at = clock_timestamp()"
    " RETURNING usuario_id, ok, fichas";
static const struct db_stmt limite_st_many = { "limite_tomar_many", limite_sql_many };

int limite_tomar_many(struct db *d, struct arena *a, const struct cfg *c,
                      const long long *users, size_t n, enum limite_clase k, bool *ok,
                      int *retry_after, struct err *e)
{
    int per_min = limite_por_minuto(c, k);
    for (size_t i = 0; i < n; i++) {
        ok[i] = true;
        retry_after[i] = 0;
    }
    if (per_min <= 0 || n == 0)
        return 0;
    double rate = per_min / 60.0;
    /* the first request of each user goes in the batch, the others after */
    bool *first = arena_alloc(a, sizeof(*first) * n);
    long long *distinct = arena_alloc(a, sizeof(*distinct) * n);
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        first[i] = true;
        for (size_t j = 0; j < i && first[i]; j++)
            first[i] = users[j] != users[i];
        if (first[i])
            distinct[nd++] = users[i];
    }
    const char *p[4] = { db_ll_array(a, distinct, nd), limite_nombre(k),
                         arena_printf(a, "%d", per_min), arena_printf(a, "%.9f", rate) };
    PGresult *r = db_run(d, a, &limite_st_many, 4, p, e);
    if (!r)
        return -1;
    for (int row = 0; row < PQntuples(r); row++) {
        long long u = db_get_ll(r, row, 0);
        for (size_t i = 0; i < n; i++) {
            if (!first[i] || users[i] != u)
                continue;
            ok[i] = db_get_bool(r, row, 1);
            if (!ok[i])
                retry_after[i] = limite_espera(strtod(db_get(r, row, 2), NULL), rate);
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (first[i])
            continue;
        struct err e1 = { 0 };
        if (limite_tomar(d, a, c, users[i], k, &retry_after[i], &e1) < 0) {
            if (e1.code != ERR_RATE) {
                *e = e1;
                return -1;
            }
            ok[i] = false;
        }
    }
    return 0;
}

/* Bytes uploaded by the user in the last 24 hours (deleted or not: the
 * disk held them), and when the oldest of them leaves the window. */
static const char limite_sql_cuota[] =
    "SELECT coalesce(sum(tamano), 0),"
    " coalesce(ceil(extract(epoch FROM min(created_at) + interval '24 hours' - now())), 0)"
    " FROM media WHERE uploader_id = $1 AND created_at > now() - interval '24 hours'";

int limite_cuota_media(struct db *d, struct arena *a, const struct cfg *c, long long usuario,
                       long long incoming, int *retry_after, struct err *e)
{
    *retry_after = 0;
    long long cuota = (long long)c->media_cuota_diaria_mb * 1024 * 1024;
    if (cuota <= 0)
        return 0;
    const char *p[1] = { arena_printf(a, "%lld", usuario) };
    PGresult *r = db_exec(d, a, limite_sql_cuota, 1, p, e);
    if (!r)
        return -1;
    long long used = strtoll(db_get(r, 0, 0), NULL, 10);
    if (used + incoming <= cuota)
        return 0;
    long long wait = strtoll(db_get(r, 0, 1), NULL, 10);
    *retry_after = wait < 1 ? 1 : wait > 86400 ? 86400 : (int)wait;
    return err_set(e, ERR_RATE, "Cuota diaria de archivos agotada: intente de nuevo más tarde");
}
