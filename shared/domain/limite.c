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

/* The bucket refilled for the time since `at`, capped at the burst $3;
 * $4 is the refill per second. */
#define LIMITE_LLENO                                                              \
    "least($3::float8, limites_uso.fichas"                                       \
    " + extract(epoch FROM clock_timestamp() - limites_uso.at) * $4::float8)"

/* One statement: refill, then take a unit when there is one; `ok` tells
 * which happened and `fichas` what is left, from which the wait for the
 * next unit follows. ON CONFLICT locks the row, so concurrent workers
 * queue on it and no unit is handed out twice. */
static const char limite_sql[] =
    "INSERT INTO limites_uso (usuario_id, clase, fichas, at, ok)"
    " VALUES ($1, $2, $3::float8 - 1, clock_timestamp(), true)"
    " ON CONFLICT (usuario_id, clase) DO UPDATE SET"
    "  fichas = " LIMITE_LLENO " - CASE WHEN " LIMITE_LLENO " >= 1 THEN 1 ELSE 0 END,"
    "  ok = " LIMITE_LLENO " >= 1,"
    "  at = clock_timestamp()"
    " RETURNING ok, fichas";
static const struct db_stmt limite_st = { "limite_tomar", limite_sql };

int limite_tomar(struct db *d, struct arena *a, const struct cfg *c, long long usuario,
                 enum limite_clase k, int *retry_after, struct err *e)
{
    *retry_after = 0;
    int per_min = limite_por_minuto(c, k);
    if (per_min <= 0)
        return 0;
    double rate = per_min / 60.0;
    const char *p[4] = { arena_printf(a, "%lld", usuario), limite_nombre(k),
                         arena_printf(a, "%d", per_min), arena_printf(a, "%.9f", rate) };
    PGresult *r = db_run(d, a, &limite_st, 4, p, e);
    if (!r)
        return -1;
    if (db_get_bool(r, 0, 0))
        return 0;
    double left = strtod(db_get(r, 0, 1), NULL);
    double wait = ceil((1.0 - left) / rate);
    *retry_after = wait < 1 ? 1 : wait > 3600 ? 3600 : (int)wait;
    return err_set(e, ERR_RATE, "Demasiadas solicitudes de este tipo (%s): intente de nuevo en %d s",
                   limite_nombre(k), *retry_after);
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
