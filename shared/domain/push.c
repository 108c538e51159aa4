/* push.c: devices, queueing pushes in the caller's transaction, and the
 * retry policy. */
#include "domain/push.h"

#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"

bool push_token_valid(const char *token)
{
    static const char *const prefixes[] = { "ExponentPushToken[", "ExpoPushToken[" };
    if (!token)
        return false;
    size_t len = strlen(token);
    if (len > PUSH_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i]);
        if (len < pl + 2 || strncmp(token, prefixes[i], pl) != 0 || token[len - 1] != ']')
            continue;
        for (size_t j = pl; j < len - 1; j++) {
            unsigned char ch = (unsigned char)token[j];
            if (ch <= 0x20 || ch >= 0x7f || ch == '[' || ch == ']' || ch == '"' || ch == '\\')
                return false;
        }
        return true;
    }
    return false;
}

bool push_platform_valid(const char *plataforma)
{
    return plataforma && (strcmp(plataforma, "ios") == 0 || strcmp(plataforma, "android") == 0 ||
                          strcmp(plataforma, "web") == 0);
}

/* Who holds the token now; locked so that two registrations of one token
 * take turns. */
static const char push_sql_owner[] =
    "SELECT usuario_id FROM dispositivos_usuario WHERE token = $1 FOR UPDATE";
static const struct db_stmt push_st_owner = { "push_owner", push_sql_owner };

static const char push_sql_upsert[] =
    "INSERT INTO dispositivos_usuario (usuario_id, token, plataforma) VALUES ($2, $1, $3) "
    "ON CONFLICT (token) DO UPDATE SET usuario_id = EXCLUDED.usuario_id, "
    "    plataforma = EXCLUDED.plataforma, updated_at = now(), last_error = NULL "
    "RETURNING id, token, plataforma, created_at, updated_at";
static const struct db_stmt push_st_upsert = { "push_upsert", push_sql_upsert };

/* The rows a moved token had yet to send were for its previous user. */
static const char push_sql_drop_pending[] =
    "DELETE FROM queue_mensajes WHERE dispositivo_id = $1 AND estado IN ('pendiente', 'enviando')";
static const struct db_stmt push_st_drop_pending = { "push_drop_pending", push_sql_drop_pending };

int push_device_register(struct db *d, struct arena *a, long long usuario_id,
                         const char *token, const char *plataforma, bool *created,
                         json_object **out, struct err *e)
{
    if (!push_token_valid(token))
        return err_set(e, ERR_INVALID,
                       "token debe ser un token de Expo: ExponentPushToken[...] o ExpoPushToken[...]");
    if (!push_platform_valid(plataforma))
        return err_set(e, ERR_INVALID, "plataforma debe ser ios, android o web");
    int ret = -1;
    const char *uid = db_ll(a, usuario_id);
    const char *p[3] = { token, uid, plataforma };
    if (db_begin(d, e) < 0)
        return -1;
    PGresult *r = db_run(d, a, &push_st_owner, 1, p, e);
    if (!r)
        goto cleanup;
    bool existed = PQntuples(r) > 0;
    long long prev = existed ? db_get_ll(r, 0, 0) : 0;
    r = db_run(d, a, &push_st_upsert, 3, p, e);
    if (!r || PQntuples(r) != 1)
        goto cleanup;
    if (existed && prev != usuario_id) {
        const char *dp[1] = { db_get(r, 0, 0) };
        if (!db_run(d, a, &push_st_drop_pending, 1, dp, e))
            goto cleanup;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    json_object *o = jsonx_own(a, json_object_new_object());
    json_object_object_add(o, "id", jsonx_id(db_get(r, 0, 0)));
    json_object_object_add(o, "token", jsonx_str(db_get(r, 0, 1)));
    json_object_object_add(o, "plataforma", jsonx_str(db_get(r, 0, 2)));
    json_object_object_add(o, "created_at", jsonx_ts(db_get(r, 0, 3)));
    json_object_object_add(o, "updated_at", jsonx_ts(db_get(r, 0, 4)));
    *created = !existed || prev != usuario_id;
    *out = o;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

static const char push_sql_unregister[] =
    "DELETE FROM dispositivos_usuario WHERE token = $1 AND usuario_id = $2";
static const struct db_stmt push_st_unregister = { "push_unregister", push_sql_unregister };

int push_device_unregister(struct db *d, struct arena *a, long long usuario_id,
                           const char *token, bool *deleted, struct err *e)
{
    if (deleted)
        *deleted = false;
    if (!push_token_valid(token))
        return 0;   /* such a token cannot be registered */
    const char *p[2] = { token, db_ll(a, usuario_id) };
    PGresult *r = db_run(d, a, &push_st_unregister, 2, p, e);
    if (!r)
        return -1;
    if (deleted)
        *deleted = strcmp(PQcmdTuples(r), "0") != 0;
    return 0;
}

static const struct db_stmt push_st_mensaje = {
    "push_mensaje", "SELECT push_encolar_mensaje($1::bigint)"
};
/* evento_id 0: the eventos row this session inserted last (the evt_add
 * queued just before in the same transaction) */
static const struct db_stmt push_st_reaccion = {
    "push_reaccion",
    "SELECT push_encolar_reaccion(COALESCE(NULLIF($1::bigint, 0),"
    " currval(pg_get_serial_sequence('eventos', 'id'))), $2::bigint, $3::bigint, $4::text)"
};
static const struct db_stmt push_st_comunicado = {
    "push_comunicado", "SELECT push_encolar_comunicado($1::bigint)"
};

/* Runs one push_encolar_* call: at once outside a transaction (returns its
 * count), deferred to the next statement or the COMMIT inside one
 * (returns 0). */
static long long push_enqueue(struct db *d, struct arena *a, const struct db_stmt *st, int n,
                              const char *const *p, struct err *e)
{
    if (d->depth)
        return db_defer(d, a, st, n, p, NULL, NULL, e) < 0 ? -1 : 0;
    PGresult *r = db_run(d, a, st, n, p, e);
    if (!r || PQntuples(r) != 1)
        return r ? err_set(e, ERR_INTERNAL, NULL) : -1;
    return db_get_ll(r, 0, 0);
}

long long push_enqueue_message(struct db *d, struct arena *a, long long mensaje_id,
                               struct err *e)
{
    const char *p[1] = { db_ll(a, mensaje_id) };
    return push_enqueue(d, a, &push_st_mensaje, 1, p, e);
}

long long push_enqueue_reaction(struct db *d, struct arena *a, long long evento_id,
                                long long mensaje_id, long long reactor_id, const char *emoji,
                                struct err *e)
{
    const char *p[4] = { db_ll(a, evento_id), db_ll(a, mensaje_id), db_ll(a, reactor_id),
                         arena_strdup(a, emoji) };
    return push_enqueue(d, a, &push_st_reaccion, 4, p, e);
}

long long push_enqueue_comunicado(struct db *d, struct arena *a, long long comunicado_id,
                                  struct err *e)
{
    const char *p[1] = { db_ll(a, comunicado_id) };
    return push_enqueue(d, a, &push_st_comunicado, 1, p, e);
}

#define PUSH_BACKOFF_BASE_MS 1000LL
#define PUSH_BACKOFF_CAP_MS (3600LL * 1000)

long long push_retry_delay_ms(int attempts, long retry_after_s, unsigned rnd)
{
    long long base = PUSH_BACKOFF_CAP_MS;
    if (attempts < 1)
        attempts = 1;
    if (attempts <= 22)
        base = PUSH_BACKOFF_BASE_MS << (attempts - 1);
    if (base > PUSH_BACKOFF_CAP_MS)
        base = PUSH_BACKOFF_CAP_MS;
    long long half = base / 2;
    long long delay = half + (long long)(rnd % (unsigned long long)(half + 1));
    if (retry_after_s > 0) {
        long long ra = (long long)retry_after_s * 1000;
        if (ra > PUSH_BACKOFF_CAP_MS * 24)
            ra = PUSH_BACKOFF_CAP_MS * 24;
        if (delay < ra)
            delay = ra;
    }
    return delay;
}
