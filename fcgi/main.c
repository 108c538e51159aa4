/* main.c: chat-fcgi, the FastCGI server: binds its socket, pre-forks
 * workers (each with one database connection) and keeps them running. */
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/app.h"
#include "core/log.h"
#include "metrics.h"
#include "routes.h"

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: chat-fcgi [--config FILE]\n"
                    "Serves the REST API (/chat/api/v1) over FastCGI on fcgi_listen.\n");
}

/* Shared by every worker: mapped before the first fork. */
struct shared {
    struct fcgi_metrics *metrics;
    const char **route_names;
    size_t nroutes;
};

/* Frees the route labels (each process its own copy) and, in the parent,
 * unmaps the counters. */
static void shared_free(struct shared *sh, bool parent)
{
    for (size_t i = 0; sh->route_names && i < sh->nroutes; i++)
        free((void *)sh->route_names[i]);
    free(sh->route_names);
    if (parent)
        metrics_unmap(sh->metrics);
}

/* Verified tokens a worker remembers: about one per user it serves at a
 * time (a slot holds the claims, ~1.2 kB). */
#define WORKER_TOKEN_SLOTS 256
/* Users remembered per worker for logins without a round trip of their own
 * (one slot per id_erp hash: a company's active users fit, ~40 bytes each) */
#define WORKER_USER_SLOTS 8192

static int worker_run(const struct cfg *c, const struct token_keys *keys, int listen_fd,
                      const struct shared *sh)
{
    /* The parent's handler stays: a TERM sets the stop flag; accept() is
     * interrupted (no SA_RESTART, FCGI_FAIL_ACCEPT_ON_INTR) and a busy
     * worker finishes its request first. Leaving through main's return
     * lets the leak checker run in sanitizer builds. */
    struct worker w = { .cfg = c, .keys = keys, .metrics = sh->metrics,
                        .route_names = sh->route_names };
    w.pid = getpid();
    w.db = app_db(c, false);
    /* the wake-up of a request's commit goes once its response is out */
    w.db->hold_wake = true;
    w.arena = arena_new();
    w.tokens = token_cache_new(WORKER_TOKEN_SLOTS);
    w.users = usr_cache_new(WORKER_USER_SLOTS);
    FCGX_Request fx;
    if (FCGX_Init() != 0 || FCGX_InitRequest(&fx, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_error("event=worker_failed reason=\"FCGX init\"");
        return 1;
    }
    while (!stop_flag) {
        if (FCGX_Accept_r(&fx) < 0) {
            if (errno == EINTR && !stop_flag)
                continue;
            break;
        }
        struct req rq = { .w = &w, .fx = &fx, .a = w.arena, .db = w.db, .cfg = c };
        const char *rid = FCGX_GetParam("HTTP_X_REQUEST_ID", fx.envp);
        if (rid && strlen(rid) < sizeof(rq.id) && strspn(rid, "abcdefghijklmnopqrstuvwxyz"
                                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                              "0123456789-_.") == strlen(rid))
            snprintf(rq.id, sizeof(rq.id), "%s", rid);
        else
            snprintf(rq.id, sizeof(rq.id), "%d-%lu", (int)w.pid, ++w.served);
        routes_dispatch(&rq, keys);
        /* libfcgi's close shuts the socket down and waits (up to 2 s) for
         * the server to close its side first, reading what it still sends:
         * needed only when the input was not read to its end (an answer
         * given before an unread body). A Unix socket keeps what was
         * written readable after a plain close. */
        if (http_input_done(&rq))
            FCGX_Detach(&fx);
        else
            FCGX_Attach(&fx);
        FCGX_Finish_r(&fx);
        routes_finish(&rq);
        arena_reset(w.arena);
    }
    FCGX_Free(&fx, 1);
    arena_free(w.arena);
    token_cache_free(w.tokens);
    usr_cache_free(w.users);
    db_close(w.db);
    return 0;
}

static pid_t spawn(const struct cfg *c, const struct token_keys *keys, int fd,
                   struct shared *sh)
{
    pid_t pid = fork();
    if (pid == 0) {
        int rc = worker_run(c, keys, fd, sh);
        shared_free(sh, false);
        token_keys_free((struct token_keys *)keys);
        cfg_free((struct cfg *)c);
        exit(rc);
    }
    if (pid < 0)
        log_error("event=fork_failed errno=%d", errno);
    return pid;
}

/* Binds fcgi_listen: a unix socket path (mode 0666 so the web server's
 * user can connect) or host:port. */
static int open_listener(const struct cfg *c)
{
    const char *l = c->fcgi_listen;
    bool is_path = strchr(l, '/') != NULL || strchr(l, ':') == NULL;
    if (is_path)
        unlink(l);
    int fd = FCGX_OpenSocket(l, 128);
    if (fd < 0)
        return -1;
    if (is_path)
        chmod(l, 0666);
    return fd;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        }
    struct cfg *c = app_config("chat-fcgi", &argc, argv);
    if (argc > 1) {
        usage();
        return 2;
    }
    char why[512];
    struct token_keys *keys = token_keys_load(c, why, sizeof(why));
    if (!keys) {
        log_error("event=start_failed reason=\"%s\"", why);
        return 2;
    }
    /* migrations run once, here, before any worker serves */
    db_close(app_db(c, c->migrate_on_start));

    if (FCGX_Init() != 0) {
        log_error("event=start_failed reason=\"FCGX_Init\"");
        return 1;
    }
    int fd = open_listener(c);
    if (fd < 0) {
        log_error("event=start_failed reason=\"cannot listen on %s (fcgi_listen): %s\"",
                  c->fcgi_listen, strerror(errno));
        return 1;
    }
    struct sigaction sa = { 0 };
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* the counters every worker adds to, and the route labels */
    size_t nroutes = 0;
    while (routes[nroutes].method)
        nroutes++;
    const char **names = calloc(nroutes + 1, sizeof(*names));
    struct shared sh = { .metrics = metrics_map(nroutes), .route_names = names, .nroutes = nroutes };
    if (!names || !sh.metrics) {
        log_error("event=start_failed reason=\"cannot map the metrics region: %s\"", strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < nroutes; i++) {
        char *s = NULL;
        if (asprintf(&s, "%s %s", routes[i].method, routes[i].pattern) < 0)
            abort();
        names[i] = s;
    }

    int n = c->fcgi_workers;
    pid_t *pids = calloc((size_t)n, sizeof(pid_t));
    time_t *born = calloc((size_t)n, sizeof(time_t));
    for (int i = 0; i < n; i++) {
        born[i] = time(NULL);
        pids[i] = spawn(c, keys, fd, &sh);
    }
    log_info("event=started listen=%s workers=%d version=%s", c->fcgi_listen, n, CHAT_VERSION);

    while (!stop_flag) {
        int status;
        pid_t dead = waitpid(-1, &status, 0);
        if (dead < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < n; i++)
            if (pids[i] == dead) {
                log_warn("event=worker_exit pid=%d status=%d", (int)dead, status);
                if (!stop_flag) {
                    /* a worker that cannot start would otherwise spin */
                    if (time(NULL) - born[i] < 2)
                        sleep(1);
                    born[i] = time(NULL);
                    metrics_worker_restart(sh.metrics);
                    pids[i] = spawn(c, keys, fd, &sh);
                }
            }
    }
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    if (strchr(c->fcgi_listen, '/'))
        unlink(c->fcgi_listen);
    log_info("event=stopped");
    free(pids);
    free(born);
    shared_free(&sh, true);
    token_keys_free(keys);
    cfg_free(c);
    return 0;
}
