/* work.c: the worker pool: threads with their own database connection
 * doing what would block the loop (auth, writes, presence), handing each
 * finished job back through a queue and lws_cancel_service; the job
 * table (what each kind runs, in which queue). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/db.h"
#include "domain/limite.h"
#include "domain/evt.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "domain/msg.h"
#include "domain/presence.h"
#include "domain/usr.h"
#include "work.h"

/* Runs on a worker: 0, or -1 with e. A kind without db opens its own
 * connection (d is NULL) and sets j->result itself on failure. */
typedef int (*job_run_fn)(const struct work_env *env, struct db *d, struct arena *a,
                          struct rt_job *j, struct err *e);

/* One row per kind of job. */
struct job_row {
    enum rt_job_kind kind;
    job_run_fn run;
    bool db;                /* runs on the worker's connection */
    bool background;        /* waits behind what a client waits for */
    job_done_fn done;       /* on the loop, registered by the kind's owner */
    void *done_arg;
};

struct rt_pool {
    struct work_env env;
    struct job_row rows[JOB__COUNT];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* two queues: what a client waits for (CONNECT, acks) goes before
     * background writes (presence, heartbeat), which can come in storms */
    struct rt_job *todo_head[2], *todo_tail[2];
    struct rt_job *done_head, *done_tail;
    bool stop;
    int n;
    pthread_t *threads;
    struct db *spare;           /* for pool_run_now */
};

struct rt_job *job_new(enum rt_job_kind kind)
{
    struct rt_job *j = calloc(1, sizeof(*j));
    if (!j)
        abort();
    j->kind = kind;
    j->ack = -1;
    return j;
}

void job_free(struct rt_job *j)
{
    if (!j)
        return;
    free(j->text);
    free(j->ids);
    free(j->result);
    free(j->pres);
    if (j->conn)
        PQfinish(j->conn);
    free(j);
}

/* ---- the jobs (worker threads) -------------------------------------------- */

/* Socket logins taken by one worker at once: their users' rows and chat
 * ids come back in one round trip (and their rate-limit units in one
 * more), instead of one round trip (or two) per login. */
#define AUTH_BATCH_MAX 64

/* Several JOB_AUTH at once: each token checked here, then every verified
 * login's user row and chat ids in one statement and their session units
 * in one more; each job ends as job_auth would have ended it alone.
 * Returns 0, or -1 with e when a batch statement failed (then every job
 * not already refused by its token fails with e, as it would have alone). */
static int job_auth_batch(const struct work_env *env, struct db *d, struct arena *a,
                          struct rt_job **jobs, size_t n, struct err *e)
{
    struct token_claims *claims = arena_alloc(a, sizeof(*claims) * n);
    struct usr_login_req *req = arena_alloc(a, sizeof(*req) * n);
    size_t *of = arena_alloc(a, sizeof(*of) * n);     /* req -> job */
    size_t nreq = 0;
    long long now = (long long)time(NULL);
    for (size_t i = 0; i < n; i++) {
        struct rt_job *j = jobs[i];
        struct err je = { 0 };
        j->status = -1;
        j->err = ERR_NONE;
        if (token_verify(env->cfg, env->keys, j->text, now, a, &claims[i], &je) < 0 ||
            (claims[i].service &&
             err_set(&je, ERR_TOKEN, "un token de servicio no abre sockets") < 0)) {
            j->err = je.code;
            continue;
        }
        memset(&req[nreq], 0, sizeof(req[nreq]));
        req[nreq].c = &claims[i];
        of[nreq++] = i;
    }
    if (usr_login_chats_many(d, a, req, nreq, e) < 0)
        return -1;
    /* each socket login costs a login and the chat list: rate-limited */
    long long *users = arena_alloc(a, sizeof(*users) * (nreq ? nreq : 1));
    size_t *lim_of = arena_alloc(a, sizeof(*lim_of) * (nreq ? nreq : 1));
    size_t nlim = 0;
    for (size_t k = 0; k < nreq; k++) {
        if (req[k].status < 0) {
            jobs[of[k]]->err = req[k].e.code;
            continue;
        }
        users[nlim] = req[k].p.id;
        lim_of[nlim++] = k;
    }
    bool *ok = arena_alloc(a, sizeof(*ok) * (nlim ? nlim : 1));
    int *retry = arena_alloc(a, sizeof(*retry) * (nlim ? nlim : 1));
    if (limite_tomar_many(d, a, env->cfg, users, nlim, LIMITE_SESIONES, ok, retry, e) < 0)
        return -1;
    for (size_t l = 0; l < nlim; l++) {
        struct usr_login_req *q = &req[lim_of[l]];
        struct rt_job *j = jobs[of[lim_of[l]]];
        if (!ok[l]) {
            j->err = ERR_RATE;
            continue;
        }
        j->status = 0;
        j->err = ERR_NONE;
        j->user_id = q->p.id;
        j->exp = q->c->exp;
        j->nids = q->nchats;
        j->ids = calloc(q->nchats ? q->nchats : 1, sizeof(*j->ids));
        if (!j->ids)
            abort();
        memcpy(j->ids, q->chats, q->nchats * sizeof(*j->ids));
    }
    return 0;
}

/* One login alone (the batch of one). */
static int job_auth(const struct work_env *env, struct db *d, struct arena *a,
                    struct rt_job *j, struct err *e)
{
    if (job_auth_batch(env, d, a, &j, 1, e) < 0)
        return -1;
    if (j->status < 0) {
        e->code = j->err;
        return -1;
    }
    return 0;
}

static int job_notify(const struct work_env *env, struct db *d, struct arena *a,
                      struct rt_job *j, struct err *e)
{
    (void)env;
    const char *params[1] = { j->text };
    if (!db_exec(d, a, "SELECT pg_notify('chat_efimeros', $1)", 1, params, e))
        return -1;
    j->result = strdup("{\"ok\":true}");
    return 0;
}

/* The ack {"ok":true, ...fields of extra} (extra may be NULL). */
static char *job_ok(json_object *extra)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(1));
    if (extra) {
        json_object_object_foreach(extra, k, v)
            json_object_object_add(o, k, json_object_get(v));
    }
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

/* chat:marcar_leido {chat_id, mensaje_id} */
static int job_mark_read(const struct work_env *env, struct db *d, struct arena *a,
                         struct rt_job *j, struct err *e)
{
    (void)env;
    struct principal p;
    json_object *in = jsonx_parse_object(a, j->text, strlen(j->text), e), *out = NULL;
    long long chat_id = 0, mensaje_id = 0;
    bool changed = false;
    if (!in)
        return -1;
    if (jsonx_get_id(in, "chat_id", &chat_id, e) != 0 ||
        jsonx_get_id(in, "mensaje_id", &mensaje_id, e) != 0)
        return err_set(e, ERR_INVALID, "chat_id y mensaje_id son obligatorios");
    if (usr_principal(d, a, j->user_id, &p, e) < 0 ||
        msg_mark_read(d, a, &p, chat_id, mensaje_id, &changed, &out, e) < 0)
        return -1;
    j->result = job_ok(out);
    return 0;
}

/* chat:reaccionar {mensaje_id, emoji}: adds the reaction, or removes it
 * when it was already there (a toggle). */
static int job_react(const struct work_env *env, struct db *d, struct arena *a,
                     struct rt_job *j, struct err *e)
{
    (void)env;
    struct principal p;
    json_object *in = jsonx_parse_object(a, j->text, strlen(j->text), e), *out = NULL;
    long long mensaje_id = 0;
    const char *emoji = NULL;
    bool add = true;
    if (!in)
        return -1;
    if (jsonx_get_id(in, "mensaje_id", &mensaje_id, e) != 0 ||
        jsonx_get_str(in, "emoji", &emoji, e) != 0)
        return err_set(e, ERR_INVALID, "mensaje_id y emoji son obligatorios");
    if (msg_emoji_check(emoji, e) < 0 || usr_principal(d, a, j->user_id, &p, e) < 0 ||
        msg_react_toggle(d, a, &p, mensaje_id, emoji, &add, &out, e) < 0)
        return -1;
    json_object *extra = jsonx_own(a, json_object_new_object());
    json_object_object_add(extra, "accion", json_object_new_string(add ? "agregar" : "quitar"));
    if (out)
        json_object_object_add(extra, "mensaje", json_object_get(out));
    j->result = job_ok(extra);
    return 0;
}

/* Opens the LISTEN connection (blocking), handed to the loop in j->conn. */
static int job_listen(const struct work_env *env, struct db *d, struct arena *a,
                      struct rt_job *j, struct err *e)
{
    (void)d;
    (void)a;
    (void)e;
    PGconn *conn = PQconnectdb(env->cfg->db_conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        char *msg = PQerrorMessage(conn), *nl;
        j->result = strdup(msg);
        if ((nl = strchr(j->result, '\n')) != NULL)
            *nl = '\0';
        PQfinish(conn);
        return -1;
    }
    /* The feed's reads are a few index-ordered rows each, on the delivery
     * path: a parallel worker's start-up alone costs more than the read.
     * They run on every wake-up, and PostgreSQL's choice between a custom
     * and the generic plan kept planning them on every call (0.27 ms of
     * planning for 0.03 ms of execution at 1,100 messages/s, by
     * pg_stat_statements): their generic plans are the ones to keep
     * (test_sync feed_plans checks them on a large eventos table). */
    PGresult *r = PQexec(conn, "SET TimeZone = 'UTC'; SET max_parallel_workers_per_gather = 0;"
                               " SET plan_cache_mode = force_generic_plan;"
                               " LISTEN chat_eventos; LISTEN chat_efimeros");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    for (size_t k = 0; ok && k < j->nprepare; k++) {
        r = PQprepare(conn, j->prepare[k]->name, j->prepare[k]->sql, 0, NULL);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (ok && j->want_cursor) {
        r = PQexec(conn, "SELECT eventos_horizonte()");
        ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        if (ok)
            j->xid = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    if (!ok) {
        j->result = strdup(PQerrorMessage(conn));
        PQfinish(conn);
        return -1;
    }
    j->conn = conn;
    return 0;
}

static int job_presence(const struct work_env *env, struct db *d, struct arena *a,
                        struct rt_job *j, struct err *e)
{
    return presence_apply(d, a, env->me, j->pres, j->npres, &j->changed, e);
}

static int job_heartbeat(const struct work_env *env, struct db *d, struct arena *a,
                         struct rt_job *j, struct err *e)
{
    return presence_heartbeat(d, a, env->me, env->cfg->presence_grace_seconds,
                              &j->lost_instance, e);
}

static int job_shutdown(const struct work_env *env, struct db *d, struct arena *a,
                        struct rt_job *j, struct err *e)
{
    (void)j;
    return presence_leave(d, a, env->me, e);
}

/* The job table. Background jobs (presence writes, which come in storms
 * at a mass connect, and the shutdown cleanup) wait behind what a client
 * waits for (CONNECT, acks); the heartbeat goes with the urgent ones: behind
 * a presence backlog it would miss its 30 s and the instance would look
 * dead. */
static const struct job_row job_table[JOB__COUNT] = {
    [JOB_AUTH] = { JOB_AUTH, job_auth, true, false, NULL, NULL },
    [JOB_NOTIFY] = { JOB_NOTIFY, job_notify, true, false, NULL, NULL },
    [JOB_PRESENCE] = { JOB_PRESENCE, job_presence, true, true, NULL, NULL },
    [JOB_HEARTBEAT] = { JOB_HEARTBEAT, job_heartbeat, true, false, NULL, NULL },
    [JOB_LISTEN] = { JOB_LISTEN, job_listen, false, false, NULL, NULL },
    [JOB_MARK_READ] = { JOB_MARK_READ, job_mark_read, true, false, NULL, NULL },
    [JOB_REACT] = { JOB_REACT, job_react, true, false, NULL, NULL },
    [JOB_SHUTDOWN] = { JOB_SHUTDOWN, job_shutdown, true, true, NULL, NULL },
};

static void job_run(struct rt_pool *p, struct db **dp, struct arena *a, struct rt_job *j)
{
    const struct job_row *row = &p->rows[j->kind];
    const struct work_env *env = &p->env;
    struct err e = { 0 };
    if (!row->db) {
        j->status = row->run(env, NULL, a, j, &e);
        return;
    }
    if (!*dp) {
        char why[256];
        *dp = db_open(env->cfg->db_conninfo, 0, why, sizeof(why));
    }
    struct db *d = *dp;
    int rc = -1;
    if (!d || db_ensure(d) < 0) {
        err_set(&e, ERR_UNAVAILABLE, "base de datos inaccesible");
        goto done;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = row->run(env, d, a, j, &e);
        /* a connection the server dropped (a restart) is only noticed when
         * used: reset it and try once more (failed jobs rolled back) */
        if (rc == 0 || e.code != ERR_UNAVAILABLE || db_ensure(d) < 0)
            break;
        free(j->result);
        j->result = NULL;
        arena_reset(a);
    }
done:
    j->status = rc;
    j->err = rc < 0 ? e.code : ERR_NONE;
    if (rc < 0 && !j->result && j->ack >= 0) {
        char buf[160];
        snprintf(buf, sizeof(buf), "{\"ok\":false,\"error\":\"%s\"}", err_codigo(e.code));
        j->result = strdup(buf);
    }
    if (rc < 0 && (e.code == ERR_INTERNAL || e.code == ERR_UNAVAILABLE))
        log_warn("event=job_failed kind=%d codigo=%s reason=\"%s\"", (int)j->kind,
                 err_codigo(e.code), e.msg);
    arena_reset(a);
}

/* JOB_AUTH jobs run as a batch (job_auth_batch), with job_run's retry:
 * a batch that failed because the server dropped the connection is run
 * once more after a reset. */
static void job_run_auth(struct rt_pool *p, struct db **dp, struct arena *a,
                         struct rt_job **jobs, size_t n)
{
    const struct work_env *env = &p->env;
    struct err e = { 0 };
    if (!*dp) {
        char why[256];
        *dp = db_open(env->cfg->db_conninfo, 0, why, sizeof(why));
    }
    struct db *d = *dp;
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        jobs[i]->status = -1;
        jobs[i]->err = ERR_NONE;
    }
    if (!d || db_ensure(d) < 0) {
        err_set(&e, ERR_UNAVAILABLE, "base de datos inaccesible");
    } else {
        for (int attempt = 0; attempt < 2; attempt++) {
            rc = job_auth_batch(env, d, a, jobs, n, &e);
            if (rc == 0 || e.code != ERR_UNAVAILABLE || db_ensure(d) < 0)
                break;
            for (size_t i = 0; i < n; i++) {
                free(jobs[i]->ids);
                jobs[i]->ids = NULL;
            }
            arena_reset(a);
        }
    }
    if (rc < 0) {
        /* a batch statement failed (or the database is away): every login
         * not answered before it (by its token, or its user row) fails with
         * it; none has succeeded, that comes after the last statement */
        for (size_t i = 0; i < n; i++) {
            struct rt_job *j = jobs[i];
            j->status = -1;
            if (j->err == ERR_NONE)
                j->err = e.code;
        }
        if (e.code == ERR_INTERNAL || e.code == ERR_UNAVAILABLE)
            log_warn("event=job_failed kind=%d codigo=%s reason=\"%s\" jobs=%zu", (int)JOB_AUTH,
                     err_codigo(e.code), e.msg, n);
    }
    arena_reset(a);
}

static void *pool_main(void *arg)
{
    struct rt_pool *p = arg;
    struct arena *a = arena_new();
    struct db *d = NULL;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && !p->todo_head[0] && !p->todo_head[1])
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        int q = p->todo_head[0] ? 0 : 1;
        /* the job at the head, and when it is a login, the logins right
         * behind it too */
        struct rt_job *batch[AUTH_BATCH_MAX];
        size_t n = 0;
        do {
            struct rt_job *j = p->todo_head[q];
            p->todo_head[q] = j->next;
            if (!p->todo_head[q])
                p->todo_tail[q] = NULL;
            j->next = NULL;
            batch[n++] = j;
        } while (batch[0]->kind == JOB_AUTH && n < AUTH_BATCH_MAX && p->todo_head[q] &&
                 p->todo_head[q]->kind == JOB_AUTH);
        pthread_mutex_unlock(&p->mu);
        if (batch[0]->kind == JOB_AUTH)
            job_run_auth(p, &d, a, batch, n);
        else
            job_run(p, &d, a, batch[0]);
        pthread_mutex_lock(&p->mu);
        for (size_t i = 0; i < n; i++) {
            if (p->done_tail)
                p->done_tail->next = batch[i];
            else
                p->done_head = batch[i];
            p->done_tail = batch[i];
        }
        pthread_mutex_unlock(&p->mu);
        lws_cancel_service(p->env.ctx);
    }
    db_close(d);
    arena_free(a);
    return NULL;
}

struct rt_pool *pool_start(const struct work_env *env, int n)
{
    struct rt_pool *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->env = *env;
    memcpy(p->rows, job_table, sizeof(p->rows));
    p->n = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = calloc((size_t)n, sizeof(*p->threads));
    if (!p->threads)
        abort();
    for (int i = 0; i < n; i++)
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0)
            abort();
    return p;
}

void pool_submit(struct rt_pool *p, struct rt_job *j)
{
    int q = p->rows[j->kind].background;
    j->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->todo_tail[q])
        p->todo_tail[q]->next = j;
    else
        p->todo_head[q] = j;
    p->todo_tail[q] = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void pool_on_done(struct rt_pool *p, enum rt_job_kind kind, job_done_fn done, void *arg)
{
    p->rows[kind].done = done;
    p->rows[kind].done_arg = arg;
}

void pool_finish(struct rt_pool *p)
{
    pthread_mutex_lock(&p->mu);
    struct rt_job *j = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (j) {
        struct rt_job *next = j->next;
        const struct job_row *row = &p->rows[j->kind];
        if (row->done)
            row->done(row->done_arg, j);
        job_free(j);
        j = next;
    }
}

void pool_run_now(struct rt_pool *p, struct rt_job *j)
{
    struct arena *a = arena_new();
    job_run(p, &p->spare, a, j);
    arena_free(a);
}

static void pool_free_list(struct rt_job *j)
{
    while (j) {
        struct rt_job *next = j->next;
        job_free(j);
        j = next;
    }
}

void pool_stop(struct rt_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pool_free_list(p->todo_head[0]);
    pool_free_list(p->todo_head[1]);
    pool_free_list(p->done_head);
    db_close(p->spare);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}
