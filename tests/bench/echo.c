/* echo.c: the socket-path ceiling: a bare libwebsockets server speaking
 * just enough Engine.IO/Socket.IO v4 for the load generator (open packet,
 * CONNECT answer, pings) with no token check and no database. An event
 * ("42[...]") from any client is broadcast, as is, to every connected
 * client: the least work a fan-out can be done with on this library.
 *
 * usage: echo PORT [PING_INTERVAL_MS]; prints "ready" when listening.
 * Built by scripts/bench.sh, never by `make all`. */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ebuf {
    unsigned refs;
    size_t len;
    unsigned char mem[];    /* LWS_PRE + len */
};

struct eout {
    struct eout *next;
    struct ebuf *b;
};

struct sess {
    struct lws *wsi;
    struct sess *next, *prev;
    struct eout *qh, *qt;
    unsigned qlen;
    int connected;
};

static struct lws_context *ctx;
static struct sess *all;
static int ping_ms = 25000;
static lws_sorted_usec_list_t sul_ping;
static volatile int interrupted;

static struct ebuf *ebuf_new(const char *text, size_t len)
{
    struct ebuf *b = malloc(sizeof(*b) + LWS_PRE + len);
    if (!b)
        abort();
    b->refs = 1;
    b->len = len;
    memcpy(b->mem + LWS_PRE, text, len);
    return b;
}

static void ebuf_unref(struct ebuf *b)
{
    if (b && --b->refs == 0)
        free(b);
}

static void queue(struct sess *s, struct ebuf *b)
{
    if (s->qlen > 4096)
        return; /* slow consumer: drop rather than grow without bound */
    struct eout *o = malloc(sizeof(*o));
    if (!o)
        abort();
    o->next = NULL;
    o->b = b;
    b->refs++;
    if (s->qt)
        s->qt->next = o;
    else
        s->qh = o;
    s->qt = o;
    s->qlen++;
    lws_callback_on_writable(s->wsi);
}

static void send_text(struct sess *s, const char *t)
{
    struct ebuf *b = ebuf_new(t, strlen(t));
    queue(s, b);
    ebuf_unref(b);
}

static void ping_all(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    struct ebuf *b = ebuf_new("2", 1);
    for (struct sess *s = all; s; s = s->next)
        queue(s, b);
    ebuf_unref(b);
    lws_sul_schedule(ctx, 0, &sul_ping, ping_all, (lws_usec_t)ping_ms * LWS_US_PER_MS);
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct sess *s = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        char open[200];
        s->wsi = wsi;
        s->next = all;
        s->prev = NULL;
        if (all)
            all->prev = s;
        all = s;
        snprintf(open, sizeof(open),
                 "0{\"sid\":\"echo\",\"upgrades\":[],\"pingInterval\":%d,\"pingTimeout\":20000,"
                 "\"maxPayload\":1000000}",
                 ping_ms);
        send_text(s, open);
        break;
    }
    case LWS_CALLBACK_RECEIVE: {
        const char *t = in;
        if (len >= 2 && t[0] == '4' && t[1] == '0') {
            s->connected = 1;
            send_text(s, "40{\"sid\":\"echo\"}");
        } else if (len >= 2 && t[0] == '4' && t[1] == '2') {
            struct ebuf *b = ebuf_new(t, len);
            for (struct sess *x = all; x; x = x->next)
                if (x->connected)
                    queue(x, b);
            ebuf_unref(b);
        }
        break;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        /* as many queued frames as the socket takes without blocking */
        while (s->qh) {
            struct eout *o = s->qh;
            s->qh = o->next;
            if (!s->qh)
                s->qt = NULL;
            s->qlen--;
            int w = lws_write(wsi, o->b->mem + LWS_PRE, o->b->len, LWS_WRITE_TEXT);
            ebuf_unref(o->b);
            free(o);
            if (w < 0)
                return -1;
            if (lws_send_pipe_choked(wsi))
                break;
        }
        if (s->qh)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLOSED:
        if (s->prev)
            s->prev->next = s->next;
        else if (all == s)
            all = s->next;
        if (s->next)
            s->next->prev = s->prev;
        while (s->qh) {
            struct eout *o = s->qh;
            s->qh = o->next;
            ebuf_unref(o->b);
            free(o);
        }
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    /* the same rx buffer as chat-rtd (RT_RX_BUFFER), so the floor is like for like */
    { "echo", cb, sizeof(struct sess), 1024, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    lws_cancel_service(ctx);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: echo PORT [PING_INTERVAL_MS]\n");
        return 2;
    }
    if (argc > 2)
        ping_ms = atoi(argv[2]);
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = atoi(argv[1]);
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    ctx = lws_create_context(&info);
    if (!ctx)
        return 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    lws_sul_schedule(ctx, 0, &sul_ping, ping_all, (lws_usec_t)ping_ms * LWS_US_PER_MS);
    printf("ready\n");
    fflush(stdout);
    while (!interrupted && lws_service(ctx, 0) >= 0)
        ;
    lws_context_destroy(ctx);
    return 0;
}
