/* presence.c: presence counts and status in the database (presence.h). */
#include "domain/presence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "domain/evt.h"
#include "domain/usr.h"

/* events queued per round trip (db.c sends at most DB_OPS_MAX - 2) */
#define PRESENCE_EVT_CHUNK 30

static const char sql_lock[] =
    "SELECT id, activo, vacaciones AND (vacaciones_hasta IS NULL OR vacaciones_hasta >= current_date),"
    "  estatus FROM usuarios WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE";
static const struct db_stmt st_lock = { "presence_lock", sql_lock };
static const char sql_instance[] =
    "INSERT INTO rtd_instancias (id, host, pid) VALUES ($1, $2, $3::int)"
    " ON CONFLICT (id) DO NOTHING";
static const struct db_stmt st_instance = { "presence_instance", sql_instance };
static const char sql_upsert[] =
    "INSERT INTO presencia_conexiones (instancia, usuario_id, sockets, inactivos)"
    " SELECT $1, t.u, t.s, t.i FROM unnest($2::bigint[], $3::int[], $4::int[]) AS t(u, s, i)"
    " ON CONFLICT (instancia, usuario_id) DO UPDATE SET sockets = EXCLUDED.sockets,"
    "  inactivos = EXCLUDED.inactivos, updated_at = now()";
static const struct db_stmt st_upsert = { "presence_upsert", sql_upsert };
static const char sql_delete[] =
    "DELETE FROM presencia_conexiones WHERE instancia = $1 AND usuario_id = ANY($2::bigint[])";
static const struct db_stmt st_delete = { "presence_delete", sql_delete };
static const char sql_sum[] =
    "SELECT p.usuario_id, sum(p.sockets), sum(p.inactivos)"
    " FROM presencia_conexiones p JOIN rtd_instancias i ON i.id = p.instancia"
    " WHERE p.usuario_id = ANY($1::bigint[]) AND i.heartbeat_at > now() - interval '30 seconds'"
    " GROUP BY p.usuario_id ORDER BY p.usuario_id";
static const struct db_stmt st_sum = { "presence_sum", sql_sum };
static const char sql_set[] =
    "UPDATE usuarios u SET estatus = v.e, ultima_conexion = now()"
    " FROM unnest($1::bigint[], $2::text[]) AS v(id, e) WHERE u.id = v.id";
static const struct db_stmt st_set = { "presence_set", sql_set };

/* "{a,b,c}" of ints. */
static const char *presence_int_array(struct arena *a, const int *v, size_t n)
{
    char *s = arena_alloc(a, n * 12 + 3), *w = s;
    *w++ = '{';
    for (size_t i = 0; i < n; i++)
        w += sprintf(w, "%s%d", i ? "," : "", v[i]);
    *w++ = '}';
    *w = '\0';
    return s;
}

static int presence_cmp(const void *x, const void *y)
{
    long long a = *(const long long *)x, b = *(const long long *)y;
    return (a > b) - (a < b);
}

int presence_apply(struct db *d, struct arena *a, const struct presence_instance *in,
                   const struct presence_count *v, size_t n, int *changed, struct err *e)
{
    if (changed)
        *changed = 0;
    if (!n)
        return 0;
    long long *all = arena_alloc(a, sizeof(*all) * n), *up = arena_alloc(a, sizeof(*up) * n),
              *gone = arena_alloc(a, sizeof(*gone) * n);
    int *us = arena_alloc(a, sizeof(int) * n), *ui = arena_alloc(a, sizeof(int) * n);
    size_t nup = 0, ngone = 0;
    for (size_t i = 0; i < n; i++) {
        all[i] = v[i].usuario_id;
        if (v[i].sockets > 0) {
            up[nup] = v[i].usuario_id;
            us[nup] = v[i].sockets;
            ui[nup++] = v[i].inactivos;
        } else if (v[i].sockets == 0) {
            gone[ngone++] = v[i].usuario_id;
        }
    }
    qsort(all, n, sizeof(*all), presence_cmp);
    const char *ids = db_ll_array(a, all, n);
    int ret = -1;
    if (db_begin(d, e) < 0)
        return -1;
    const char *p1[1] = { ids };
    PGresult *locked;
    if (!db_exec(d, a, "SET LOCAL synchronous_commit = off", 0, NULL, e) ||
        !(locked = db_run(d, a, &st_lock, 1, p1, e)))
        goto cleanup;
    if (nup) {
        const char *pi[3] = { in->id, in->host, db_ll(a, in->pid) };
        const char *pu[4] = { in->id, db_ll_array(a, up, nup), presence_int_array(a, us, nup),
                              presence_int_array(a, ui, nup) };
        if (!db_run(d, a, &st_instance, 3, pi, e) || !db_run(d, a, &st_upsert, 4, pu, e))
            goto cleanup;
    }
    if (ngone) {
        const char *pd[2] = { in->id, db_ll_array(a, gone, ngone) };
        if (!db_run(d, a, &st_delete, 2, pd, e))
            goto cleanup;
    }
    PGresult *sum = db_run(d, a, &st_sum, 1, p1, e);
    if (!sum)
        goto cleanup;
    /* both results are in id order: sum only has users with live sockets */
    int nl = PQntuples(locked), ns = PQntuples(sum);
    long long *cid = arena_alloc(a, sizeof(*cid) * (size_t)(nl ? nl : 1));
    const char **cst = arena_alloc(a, sizeof(*cst) * (size_t)(nl ? nl : 1));
    bool *cannounce = arena_alloc(a, sizeof(bool) * (size_t)(nl ? nl : 1));
    size_t nc = 0;
    int s = 0;
    for (int k = 0; k < nl; k++) {
        long long uid = db_get_ll(locked, k, 0), total = 0, idle = 0;
        while (s < ns && db_get_ll(sum, s, 0) < uid)
            s++;
        if (s < ns && db_get_ll(sum, s, 0) == uid) {
            total = db_get_ll(sum, s, 1);
            idle = db_get_ll(sum, s, 2);
        }
        bool activo = db_get_bool(locked, k, 1), vacaciones = db_get_bool(locked, k, 2);
        const char *now = !activo || total == 0 ? "desconectado"
                          : total > idle        ? "en_linea"
                                                : "inactivo";
        const char *old = db_get(locked, k, 3);
        if (old && strcmp(now, old) == 0)
            continue;
        cid[nc] = uid;
        cst[nc] = now;
        cannounce[nc++] = activo && !vacaciones;
        log_info("event=presencia usuario=%lld estatus=%s antes=%s", uid, now, old ? old : "");
    }
    if (nc) {
        size_t len = 3;
        for (size_t k = 0; k < nc; k++)
            len += strlen(cst[k]) + 1;
        char *arr = arena_alloc(a, len), *w = arr;
        *w++ = '{';
        for (size_t k = 0; k < nc; k++)
            w += sprintf(w, "%s%s", k ? "," : "", cst[k]);
        *w++ = '}';
        *w = '\0';
        const char *ps[2] = { db_ll_array(a, cid, nc), arr };
        if (!db_run(d, a, &st_set, 2, ps, e))
            goto cleanup;
        int queued = 0;
        for (size_t k = 0; k < nc; k++) {
            if (!cannounce[k])
                continue;
            /* evt_emit queues its insert for the next round trip, which
             * carries a bounded number: send them every so many */
            if (++queued % PRESENCE_EVT_CHUNK == 0 &&
                !db_exec(d, a, "SELECT 1", 0, NULL, e))
                goto cleanup;
            json_object *o = jsonx_new_object(a);
            json_object_object_add(o, "usuario_id", json_object_new_int64(cid[k]));
            json_object_object_add(o, "estatus", json_object_new_string(cst[k]));
            if (evt_emit(d, a, EVT_USUARIO_ESTATUS, EVT_ROOM_PRESENCE, cid[k], o, 0, cid[k], e) < 0)
                goto cleanup;
        }
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    if (changed)
        *changed = (int)nc;
    ret = 0;
cleanup:
    if (ret < 0)
        db_rollback(d);
    return ret;
}

static const char sql_hb_upsert[] =
    "INSERT INTO rtd_instancias (id, host, pid) VALUES ($1, $2, $3::int)"
    " ON CONFLICT (id) DO UPDATE SET heartbeat_at = now() RETURNING (xmax = 0)";
static const struct db_stmt st_hb_upsert = { "presence_hb_upsert", sql_hb_upsert };
static const char sql_hb_stale[] =
    "DELETE FROM rtd_instancias WHERE heartbeat_at < now() - interval '30 seconds' RETURNING id";
static const struct db_stmt st_hb_stale = { "presence_hb_stale", sql_hb_stale };
/* users shown as connected that no live instance holds, past the grace */
static const char sql_hb_orphans[] =
    "SELECT u.id FROM usuarios u WHERE u.estatus <> 'desconectado'"
    "  AND (u.ultima_conexion IS NULL OR u.ultima_conexion < now() - make_interval(secs => $1::int))"
    "  AND NOT EXISTS (SELECT 1 FROM presencia_conexiones p JOIN rtd_instancias i"
    "                   ON i.id = p.instancia WHERE p.usuario_id = u.id"
    "                   AND i.heartbeat_at > now() - interval '30 seconds')"
    " LIMIT 1000";
static const struct db_stmt st_hb_orphans = { "presence_hb_orphans", sql_hb_orphans };

int presence_heartbeat(struct db *d, struct arena *a, const struct presence_instance *in,
                       int grace_seconds, bool *lost, struct err *e)
{
    const char *p[3] = { in->id, in->host, db_ll(a, in->pid) };
    PGresult *r = db_run(d, a, &st_hb_upsert, 3, p, e);
    if (!r)
        return -1;
    *lost = db_get_bool(r, 0, 0);
    r = db_run(d, a, &st_hb_stale, 0, NULL, e);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        log_info("event=instancia_caida instancia=%s", db_get(r, i, 0));
    const char *pg[1] = { db_ll(a, grace_seconds) };
    r = db_run(d, a, &st_hb_orphans, 1, pg, e);
    if (!r)
        return -1;
    int n = PQntuples(r);
    if (n) {
        struct presence_count *v = arena_alloc(a, sizeof(*v) * (size_t)n);
        for (int i = 0; i < n; i++)
            v[i] = (struct presence_count){ db_get_ll(r, i, 0), -1, 0 };
        if (presence_apply(d, a, in, v, (size_t)n, NULL, e) < 0)
            return -1;
    }
    /* a vacation whose end date passed ends by itself: tell who cares */
    int ended = 0;
    if (usr_expire_vacations(d, a, &ended, e) < 0)
        return -1;
    if (ended)
        log_info("event=vacaciones_terminadas usuarios=%d", ended);
    return 0;
}

static const char sql_leave[] =
    "WITH mine AS (SELECT usuario_id FROM presencia_conexiones WHERE instancia = $1)"
    " UPDATE usuarios SET ultima_conexion = now() WHERE id IN (SELECT usuario_id FROM mine)";
static const struct db_stmt st_leave = { "presence_leave", sql_leave };

int presence_leave(struct db *d, struct arena *a, const struct presence_instance *in,
                   struct err *e)
{
    const char *p[1] = { in->id };
    if (!db_run(d, a, &st_leave, 1, p, e) ||
        !db_exec(d, a, "DELETE FROM rtd_instancias WHERE id = $1", 1, p, e))
        return -1;
    return 0;
}
