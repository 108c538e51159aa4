/* main.c: chat-rtd, the realtime daemon: Socket.IO v4 over libwebsockets,
 * fed by PostgreSQL LISTEN/NOTIFY and the eventos table (API.md §5-6). */
#include <ev.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/app.h"
#include "core/log.h"
#include "core/sha256.h"
#include "feed.h"
#include "hub.h"
#include "metrics.h"
#include "presence.h"
#include "timer.h"
#include "work.h"
#include "ws.h"

#define RT_WORKERS 4
#define RT_DRAIN_US (2 * LWS_US_PER_SEC)

/* The only mutable globals: the stop flag and the context the signal
 * handler wakes (written once before signals are installed). */
static volatile sig_atomic_t rt_stop;
static struct lws_context *rt_signal_ctx;

static void rt_on_signal(int sig)
{
    (void)sig;
    rt_stop = 1;
    if (rt_signal_ctx)
        lws_cancel_service(rt_signal_ctx);
}

/* The daemon, put together here: each part is set up with the parts it
 * uses (ws -> feed -> hub -> presence -> work) and nothing else. */
struct rt {
    const struct cfg *cfg;
    struct token_keys *keys;
    struct lws_context *ctx;
    struct ev_loop *loop;   /* libev loop lws runs on; NULL: lws's poll() */
    char instance[160];     /* rtd_instancias.id */
    char host[128];
    struct presence_instance me;    /* instance, host, pid */
    struct rt_pool *pool;
    struct timers timers;   /* every per-socket and per-user timer (timer.h) */
    struct ws ws;
    struct feed feed;
    struct hub hub;
    struct presence pres;
    struct rt_stats stats;  /* GET /chat/rtd/metrics (metrics.c) */
    lws_sorted_usec_list_t sul_drain;
};

static const struct lws_protocols rt_protocols[] = {
    { "chat-rtd", ws_callback, sizeof(struct rt_conn), WS_RX_BUFFER, 0, NULL, 0 },
    { "chat-pg", feed_callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void rt_lws_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level & LLL_ERR)
        log_error("event=lws msg=\"%.*s\"", (int)n, line);
    else
        log_warn("event=lws msg=\"%.*s\"", (int)n, line);
}

/* Wakes the loop while draining at shutdown (lws_service ignores its
 * timeout). */
static void rt_drain_tick(lws_sorted_usec_list_t *sul)
{
    struct rt *rt = lws_container_of(sul, struct rt, sul_drain);
    lws_sul_schedule(rt->ctx, 0, &rt->sul_drain, rt_drain_tick, 50 * LWS_US_PER_MS);
}

/* One turn of the loop: libev's (epoll) when we have it, else lws's own
 * poll(). */
static int rt_turn(struct rt *rt)
{
    if (rt->loop) {
        ev_run(rt->loop, EVRUN_ONCE);
        return 0;
    }
    return lws_service(rt->ctx, 0);
}

static void rt_shutdown(struct rt *rt)
{
    log_info("event=stopping conexiones=%zu", rt->ws.nconns);
    feed_stop(&rt->feed);
    pres_stop(&rt->pres);
    hub_stop(&rt->hub);
    ws_stop(&rt->ws);
    lws_sul_schedule(rt->ctx, 0, &rt->sul_drain, rt_drain_tick, 50 * LWS_US_PER_MS);
    lws_usec_t deadline = lws_now_usecs() + RT_DRAIN_US;
    while (rt->ws.nconns && lws_now_usecs() < deadline)
        if (rt_turn(rt) < 0)
            break;
    lws_sul_cancel(&rt->sul_drain);
    /* this instance's presence rows go; the survivors (or the next start)
     * mark its users desconectado after the grace period */
    struct rt_job *j = job_new(JOB_SHUTDOWN);
    pool_run_now(rt->pool, j);
    job_free(j);
}

int main(int argc, char **argv)
{
    struct cfg *c = app_config("chat-rtd", &argc, argv);
    char why[512];
    struct rt rt;
    memset(&rt, 0, sizeof(rt));
    unsigned char efimeros_key[32];
    rt.cfg = c;
    rt.keys = token_keys_load(c, why, sizeof(why));
    if (!rt.keys) {
        log_error("event=start_failed reason=\"%s\"", why);
        cfg_free(c);
        return 2;
    }
    /* Ephemeral events between instances go over NOTIFY, which any role
     * that can connect may send: each carries an HMAC under a key only
     * the programs have (efimeros_secreto, or one derived from jwt_secret). */
    if (!c->efimeros_secreto[0] && c->jwt_alg[0] != 'H') {
        log_error("event=start_failed reason=\"efimeros_secreto: required when jwt_alg is %s "
                  "(chat-rtd signs its notifications to other instances with it)\"", c->jwt_alg);
        token_keys_free(rt.keys);
        cfg_free(c);
        return 2;
    }
    if (c->efimeros_secreto[0])
        hmac_sha256(c->efimeros_secreto, strlen(c->efimeros_secreto), "chat_efimeros", 13,
                    efimeros_key);
    else
        hmac_sha256(c->jwt_secret, strlen(c->jwt_secret), "chat_efimeros", 13, efimeros_key);
    /* migrations (and a first check that the database is there) */
    db_close(app_db(c, c->migrate_on_start));

    char host[100] = "localhost";
    gethostname(host, sizeof(host) - 1);
    snprintf(rt.instance, sizeof(rt.instance), "%s:%d:%d", host, c->rtd_port, (int)getpid());
    snprintf(rt.host, sizeof(rt.host), "%s", host);
    rt.me = (struct presence_instance){ rt.instance, rt.host, (int)getpid() };

    lws_set_log_level(LLL_ERR | LLL_WARN, rt_lws_log);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = c->rtd_port;
    info.iface = c->rtd_bind[0] ? c->rtd_bind : NULL;
    info.protocols = rt_protocols;
    info.user = &rt.ws;    /* ws.c reaches its state from any wsi */
    info.vhost_name = "default";
    /* an IPv6 rtd_bind (has a ':') needs IPv6 left on */
    info.options = strchr(c->rtd_bind, ':') ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
    info.ka_time = 0;
    info.timeout_secs = 30;
    /* lws's own idle check is off (a zero hang-up time): it keeps a timer
     * per connection in its one sorted timer list and re-arms it on every
     * frame received, a walk of that list each time (27% of the daemon
     * while 10,000 sockets connected). Engine.IO's ping and pong already
     * find dead peers, on our own timer queues (ws.c, timer.h). */
    static const lws_retry_bo_t no_idle_check = { .secs_since_valid_ping = 0,
                                                  .secs_since_valid_hangup = 0 };
    info.retry_and_idle_policy = &no_idle_check;
    /* lws's own loop is poll(): every turn costs O(open sockets) in the
     * kernel, which at 10,000 sockets dominated delivery. libev (epoll)
     * costs O(ready sockets). Our loop, so we decide when a turn ends
     * (shutdown drain, the stop flag). */
    void *loops[1] = { ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK) };
    if (loops[0]) {
        info.options |= LWS_SERVER_OPTION_LIBEV;
        info.foreign_loops = loops;
        rt.ctx = lws_create_context(&info);
        if (rt.ctx) {
            rt.loop = loops[0];
        } else {
            log_warn("event=evlib ok=0 reason=\"lws has no libev support; using poll()\"");
            ev_loop_destroy(loops[0]);
        }
    }
    if (!rt.ctx) {
        info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
        info.foreign_loops = NULL;
        rt.ctx = lws_create_context(&info);
    }
    if (!rt.ctx) {
        log_error("event=start_failed reason=\"cannot listen on %s:%d (rtd_bind, rtd_port)\"",
                  c->rtd_bind, c->rtd_port);
        token_keys_free(rt.keys);
        cfg_free(c);
        return 1;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(rt.ctx, "default");
    timers_init(&rt.timers, rt.ctx);
    struct work_env env = { c, rt.keys, &rt.me, rt.ctx };
    /* glibc gives each thread that mallocs its own arena, each keeping
     * what it touched: the workers allocate little (a job, a result), so
     * they share one arena beside the loop's instead of holding one each
     * (~50 bytes per socket at 10,000 sockets) */
    mallopt(M_ARENA_MAX, 2);
    rt.pool = pool_start(&env, RT_WORKERS);
    pres_init(&rt.pres, rt.ctx, &rt.timers, (lws_usec_t)c->presence_grace_seconds * LWS_US_PER_SEC,
              rt.pool, &rt.stats);
    hub_init(&rt.hub, c, &rt.stats, &rt.pres);
    feed_init(&rt.feed, rt.ctx, vh, rt.pool, &rt.hub, &rt.pres, &rt.stats, efimeros_key);
    ws_init(&rt.ws, c, rt.instance, &rt.timers, rt.pool, &rt.hub, &rt.pres, &rt.feed, &rt.stats);
    rt_signal_ctx = rt.ctx;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = rt_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    feed_start(&rt.feed);
    pres_start(&rt.pres);
    log_info("event=start instancia=%s bind=%s port=%d version=%s", rt.instance,
             c->rtd_bind[0] ? c->rtd_bind : "*", c->rtd_port, CHAT_VERSION);

    while (!rt_stop)
        if (rt_turn(&rt) < 0)
            break;

    rt_shutdown(&rt);
    pool_stop(rt.pool);
    rt.pool = NULL;
    timers_stop(&rt.timers);
    lws_context_destroy(rt.ctx);
    if (rt.loop)
        ev_loop_destroy(rt.loop);
    hub_release(&rt.hub);
    ws_release(&rt.ws);
    pres_release(&rt.pres);
    token_keys_free(rt.keys);
    log_info("event=stopped");
    cfg_free(c);
    return 0;
}
