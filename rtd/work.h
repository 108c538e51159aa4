/* work.h: the worker pool. Whatever can block on the database runs on a
 * few threads, each with its own connection; the loop thread hands them
 * jobs and gets each one back, finished, through a queue and
 * lws_cancel_service() (LWS_CALLBACK_EVENT_WAIT_CANCELLED -> pool_finish).
 *
 * One table (work.c) says for every kind of job what runs on the worker
 * and which queue it waits in; the loop-side owner of a kind registers
 * what to do with it when it comes back (pool_on_done). A job carries a
 * connection id, never a socket pointer: the socket may be gone when the
 * job returns. A job that fails because the server dropped the worker's
 * connection (a restart) is retried once after a reset. */
#ifndef CHAT_RTD_WORK_H
#define CHAT_RTD_WORK_H

#include <libpq-fe.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/presence.h"
#include "wire/token.h"

enum rt_job_kind {
    JOB_AUTH,               /* token -> principal, chat ids */
    JOB_NOTIFY,             /* pg_notify('chat_efimeros', text) */
    JOB_PRESENCE,           /* write counts, recompute users' statuses */
    JOB_HEARTBEAT,          /* instance heartbeat and stale sweep */
    JOB_LISTEN,             /* open the LISTEN connection */
    JOB_MARK_READ,          /* chat:marcar_leido */
    JOB_REACT,              /* chat:reaccionar */
    JOB_SHUTDOWN,           /* remove this instance's presence rows */
    JOB__COUNT
};

struct rt_job {
    struct rt_job *next;
    enum rt_job_kind kind;
    uint64_t conn_id;
    long long user_id;
    long long ack;          /* socket.io ack id to answer, -1 none */
    char *text;             /* input: token, notify payload, event JSON */
    struct presence_count *pres;    /* JOB_PRESENCE (malloc'd) */
    size_t npres;
    int changed;            /* JOB_PRESENCE: statuses that changed */
    bool want_cursor;       /* JOB_LISTEN: also read eventos_horizonte() */
    const struct db_stmt *const *prepare;   /* JOB_LISTEN: statements to prepare */
    size_t nprepare;
    lws_usec_t submitted;   /* JOB_AUTH: when the CONNECT came */
    long long exp;          /* JOB_AUTH: the token's exp */
    /* results */
    int status;             /* 0 ok, -1 failed */
    enum err_code err;
    long long *ids;         /* JOB_AUTH: chat ids (malloc'd) */
    size_t nids;
    char *result;           /* ack JSON, or JOB_LISTEN's failure (malloc'd) */
    PGconn *conn;           /* JOB_LISTEN */
    long long xid;          /* JOB_LISTEN with want_cursor */
    bool lost_instance;     /* JOB_HEARTBEAT: our row was gone */
};

/* What the jobs need from the daemon, read-only; borrowed for the pool's
 * life. ctx is woken when a job is done. */
struct work_env {
    const struct cfg *cfg;
    const struct token_keys *keys;
    const struct presence_instance *me;
    struct lws_context *ctx;
};

/* Called on the loop thread with a finished job, which is freed after it
 * returns (take what you keep, e.g. j->conn, and NULL it). */
typedef void (*job_done_fn)(void *arg, struct rt_job *j);

struct rt_pool;

/* Starts n workers, each with its own database connection. */
struct rt_pool *pool_start(const struct work_env *env, int n);
/* Stops and joins the workers; unfinished jobs are dropped. */
void pool_stop(struct rt_pool *p);
/* What happens on the loop when a job of kind comes back (none: it is
 * just freed). Register before submitting such a job. */
void pool_on_done(struct rt_pool *p, enum rt_job_kind kind, job_done_fn done, void *arg);
/* A new zeroed job (ack -1); aborts when out of memory. */
struct rt_job *job_new(enum rt_job_kind kind);
void job_free(struct rt_job *j);
/* Hands j to the workers (they own it until it comes back). */
void pool_submit(struct rt_pool *p, struct rt_job *j);
/* On the loop: hands every finished job, oldest first, to its kind's
 * done callback and frees it. */
void pool_finish(struct rt_pool *p);
/* Runs j on the calling thread with a worker's connection (shutdown). */
void pool_run_now(struct rt_pool *p, struct rt_job *j);

#endif
