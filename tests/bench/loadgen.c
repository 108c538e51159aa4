/* loadgen.c: the benchmark load generator: many Socket.IO v4 clients over
 * WebSocket on one epoll loop (a minimal client of our own, so 50k+
 * connections cost a few hundred bytes each), bound to several 127.0.0.x
 * source addresses; HS256 tokens minted here with libjwt; a trigger thread
 * that writes eventos rows and NOTIFYs like the application does; sender
 * threads that POST messages through nginx at a fixed rate.
 *
 * Modes (all print key=value lines on stdout, progress on stderr):
 *   idle    open --count sockets, hold them --hold seconds answering pings;
 *           with --pid, the server's RssAnon (and VmRSS) before and after
 *   fanout  open --count sockets, then for each --room CHAT:SIZE send
 *           --msgs messages one at a time (time from the NOTIFY to each
 *           delivery and to the last one), then --sustain seconds of
 *           back-to-back messages to the last room (deliveries per second)
 *   e2e     open --count receiver sockets (users --users-from ...), and for
 *           each --rate R POST R messages/s for --secs seconds from
 *           --senders threads, one sender user and chat each; latency from
 *           the POST to the receiver's socket
 *   storm   open --count sockets, create --ready-file (the bench then
 *           restarts the server), reconnect each dropped socket with
 *           socket.io-client's default backoff (1 s doubling to 5 s, +-50%),
 *           and time until all are back and until one message to --room
 *           reaches them all
 * --echo: the server is tests/bench/echo (no database): fan-out is
 * triggered by connection 0 sending the event, which echo broadcasts.
 *
 * Built by scripts/bench.sh, never by `make all`. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jwt.h>
#include <math.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_SEQ 200000
#define MAX_ROOMS 8

enum cstate { C_FREE, C_CONNECTING, C_HANDSHAKE, C_EIO, C_SIO, C_CONNECTED, C_CLOSED };

struct conn {
    int fd;
    uint8_t state;
    uint8_t pings;
    uint8_t want_out;
    uint32_t user;
    uint32_t rxlen;
    uint32_t wlen;
    char *rx;
    char *wbuf;
};

struct opts {
    const char *mode;
    const char *host;
    int port;
    const char *path;
    const char *secret;
    const char *db;
    const char *http_host;
    int http_port;
    long users_from;
    long count;
    int nsrc;
    int inflight;
    double hold;
    int pid;
    struct { long chat; long size; } rooms[MAX_ROOMS];
    int nrooms;
    int msgs;
    double sustain;
    int window;
    double rates[32];
    int nrates;
    double secs;
    int senders;
    long sender_from;
    long chat_from;
    bool echo;
    double connect_timeout;
    long steps[16];
    int nsteps;
    int rounds;
    int pairs;
    const char *ready_file;     /* storm: created once every socket is connected */
    double storm_timeout;       /* storm: seconds to wait for the drop and the return */
};

static struct opts O = {
    .mode = "idle", .host = "127.0.0.1", .port = 8081, .path = "/chat/socket.io/",
    .http_host = "127.0.0.1", .http_port = 8080, .users_from = 1, .count = 100, .nsrc = 16,
    .inflight = 200, .hold = 5, .msgs = 20, .sustain = 5, .window = 4, .secs = 5,
    .senders = 4, .connect_timeout = 120, .rounds = 1, .pairs = 0, .storm_timeout = 120,
};

static volatile sig_atomic_t stop_flag;
static int ep;
static struct conn *conns;
static long nopen, nconnected, nfailed, nclosed, nerr_connect;
static uint64_t pings_answered, events_seen;
static char rxbig[1 << 20];

/* per message: when it was triggered, how many got it, the last arrival */
static _Atomic int64_t t0_ns[MAX_SEQ];
static int64_t tins_ns[MAX_SEQ];
static uint32_t got[MAX_SEQ];
static int64_t last_ns[MAX_SEQ];
static uint32_t *lat;      /* per delivery, microseconds */
static size_t nlat, caplat;
static bool record_each = true;
static uint64_t deliveries;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double now_s(void) { return (double)now_ns() / 1e9; }

static void die(const char *msg)
{
    fprintf(stderr, "loadgen: %s\n", msg);
    exit(2);
}

static void lat_add(uint32_t us)
{
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 1 << 16;
        lat = realloc(lat, caplat * sizeof(*lat));
        if (!lat)
            die("out of memory");
    }
    lat[nlat++] = us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint32_t *v, size_t n, double p)
{
    if (!n)
        return -1;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

/* A memory figure of the server's /proc/PID/status ("VmRSS:", "RssAnon:"),
 * kB, or -1. */
static long status_kb(int pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    size_t kl = strlen(key);
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0)
            kb = strtol(line + kl, NULL, 10);
    fclose(f);
    return kb;
}

/* What a connection costs is private anonymous memory (heap, thread
 * arenas, buffers): VmRSS also counts shared library code the server pages
 * in the first time it uses it (libcrypto's at the first token check, ~2 MB),
 * a one-off cost that a per-connection figure would spread over the
 * connections. Both are printed; bpc is from RssAnon. */
static long vmrss_kb(int pid)
{
    return status_kb(pid, "VmRSS:");
}

static long anon_kb(int pid)
{
    return status_kb(pid, "RssAnon:");
}

/* ---- tokens --------------------------------------------------------------- */

static char *mint(long user)
{
    jwt_t *j = NULL;
    char idb[32], nom[48];
    snprintf(idb, sizeof(idb), "b%ld", user);
    snprintf(nom, sizeof(nom), "Bench %ld", user);
    if (jwt_new(&j) || jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)O.secret,
                                   (int)strlen(O.secret)))
        die("jwt_new");
    jwt_add_grant(j, "idErp", idb);
    jwt_add_grant(j, "nombre", nom);
    jwt_add_grant_int(j, "exp", (long)time(NULL) + 4 * 3600);
    char *s = jwt_encode_str(j);
    jwt_free(j);
    if (!s)
        die("jwt_encode_str");
    return s;
}

/* ---- websocket client ------------------------------------------------------ */

static void conn_close(struct conn *c, bool failed)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    if (c->state == C_CONNECTED)
        nconnected--;
    if (failed && c->state != C_CONNECTED)
        nfailed++;
    else
        nclosed++;
    if (c->state != C_CONNECTED && c->state != C_CLOSED)
        nopen--;
    c->fd = -1;
    c->state = C_CLOSED;
    free(c->rx);
    free(c->wbuf);
    c->rx = c->wbuf = NULL;
    c->rxlen = c->wlen = 0;
}

static void conn_events(struct conn *c, bool out)
{
    struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = out;
}

static void conn_write(struct conn *c, const char *buf, size_t len)
{
    if (c->wlen) {
        char *n = realloc(c->wbuf, c->wlen + len);
        if (!n)
            die("out of memory");
        memcpy(n + c->wlen, buf, len);
        c->wbuf = n;
        c->wlen += (uint32_t)len;
        return;
    }
    ssize_t w = write(c->fd, buf, len);
    if (w < 0) {
        if (errno != EAGAIN) {
            conn_close(c, true);
            return;
        }
        w = 0;
    }
    if ((size_t)w < len) {
        c->wbuf = malloc(len - (size_t)w);
        if (!c->wbuf)
            die("out of memory");
        memcpy(c->wbuf, buf + w, len - (size_t)w);
        c->wlen = (uint32_t)(len - (size_t)w);
        conn_events(c, true);
    }
}

/* One masked text frame (mask key zero: the payload goes as it is). */
static void ws_send(struct conn *c, const char *text, size_t len)
{
    char stackbuf[4096];
    char *f = len + 14 <= sizeof(stackbuf) ? stackbuf : malloc(len + 14);
    size_t h = 0;
    if (!f)
        die("out of memory");
    f[h++] = (char)0x81;
    if (len < 126) {
        f[h++] = (char)(0x80 | len);
    } else if (len < 65536) {
        f[h++] = (char)(0x80 | 126);
        f[h++] = (char)(len >> 8);
        f[h++] = (char)(len & 0xff);
    } else {
        f[h++] = (char)(0x80 | 127);
        for (int i = 7; i >= 0; i--)
            f[h++] = (char)((uint64_t)len >> (8 * i));
    }
    memset(f + h, 0, 4);
    h += 4;
    memcpy(f + h, text, len);
    conn_write(c, f, h + len);
    if (f != stackbuf)
        free(f);
}

static void ws_control(struct conn *c, int opcode, const char *p, size_t len)
{
    char f[6 + 125];
    if (len > 125)
        len = 125;
    f[0] = (char)(0x80 | opcode);
    f[1] = (char)(0x80 | len);
    memset(f + 2, 0, 4);
    memcpy(f + 6, p, len);
    conn_write(c, f, 6 + len);
}

static void on_marker(const char *t, size_t len)
{
    static const char mk[] = "bench#";
    const char *p = memmem(t, len, mk, sizeof(mk) - 1);
    if (!p)
        return;
    long seq = strtol(p + sizeof(mk) - 1, NULL, 10);
    if (seq < 0 || seq >= MAX_SEQ)
        return;
    int64_t t0 = atomic_load_explicit(&t0_ns[seq], memory_order_acquire);
    if (!t0)
        return;
    int64_t now = now_ns();
    got[seq]++;
    last_ns[seq] = now;
    deliveries++;
    if (record_each)
        lat_add((uint32_t)((now - t0) / 1000));
}

static void on_text(struct conn *c, const char *t, size_t len)
{
    if (len == 1 && t[0] == '2') {
        ws_send(c, "3", 1);
        pings_answered++;
        if (c->pings < 255)
            c->pings++;
        return;
    }
    if (len >= 2 && t[0] == '4' && t[1] == '2') {
        events_seen++;
        on_marker(t, len);
        return;
    }
    if (len >= 1 && t[0] == '0' && c->state == C_EIO) {
        char *tok = O.echo ? NULL : mint((long)c->user);
        char buf[1024];
        int n = snprintf(buf, sizeof(buf), "40{\"token\":\"%s\"}", tok ? tok : "echo");
        free(tok);
        c->state = C_SIO;
        ws_send(c, buf, (size_t)n);
        return;
    }
    if (len >= 2 && t[0] == '4' && t[1] == '0' && c->state == C_SIO) {
        c->state = C_CONNECTED;
        nconnected++;
        nopen--;
        return;
    }
    if (len >= 2 && t[0] == '4' && t[1] == '4') {
        if (nfailed < 3)
            fprintf(stderr, "loadgen: connect error: %.*s\n", (int)(len > 200 ? 200 : len), t);
        conn_close(c, true);
        return;
    }
    if (len >= 2 && t[0] == '4' && t[1] == '1') {
        conn_close(c, false);
        return;
    }
    if (len >= 1 && t[0] == '1') {
        conn_close(c, false);
        return;
    }
}

/* Parses the frames in buf; returns the bytes consumed, or -1 when c closed. */
static long ws_parse(struct conn *c, const char *buf, size_t n)
{
    size_t off = 0;
    while (n - off >= 2) {
        const unsigned char *b = (const unsigned char *)buf + off;
        int op = b[0] & 0x0f;
        uint64_t plen = b[1] & 0x7f;
        size_t h = 2;
        if (plen == 126) {
            if (n - off < 4)
                break;
            plen = ((uint64_t)b[2] << 8) | b[3];
            h = 4;
        } else if (plen == 127) {
            if (n - off < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = (plen << 8) | b[2 + i];
            h = 10;
        }
        if (b[1] & 0x80)
            h += 4; /* a server never masks; tolerate it anyway */
        if (n - off < h + plen)
            break;
        const char *p = buf + off + h;
        off += h + plen;
        if (op == 1 || op == 0) {
            on_text(c, p, plen);
        } else if (op == 9) {
            ws_control(c, 10, p, plen);
        } else if (op == 8) {
            conn_close(c, false);
        }
        if (c->state == C_CLOSED)
            return -1;
    }
    return (long)off;
}

static void conn_readable(struct conn *c)
{
    size_t have = c->rxlen;
    if (have)
        memcpy(rxbig, c->rx, have);
    ssize_t r = read(c->fd, rxbig + have, sizeof(rxbig) - have);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_close(c, c->state != C_CONNECTED);
        return;
    }
    if (r < 0)
        return;
    size_t n = have + (size_t)r;
    size_t off = 0;
    if (c->state == C_HANDSHAKE) {
        char *end = memmem(rxbig, n, "\r\n\r\n", 4);
        if (!end) {
            goto keep;
        }
        if (n < 12 || memcmp(rxbig + 9, "101", 3) != 0) {
            if (nfailed < 3)
                fprintf(stderr, "loadgen: handshake refused: %.*s\n", (int)(n > 120 ? 120 : n), rxbig);
            conn_close(c, true);
            return;
        }
        c->state = C_EIO;
        off = (size_t)(end + 4 - rxbig);
    }
    long used = ws_parse(c, rxbig + off, n - off);
    if (used < 0)
        return;
    off += (size_t)used;
keep:
    if (n - off) {
        char *k = realloc(c->rx, n - off);
        if (!k)
            die("out of memory");
        memmove(k, rxbig + off, n - off);
        c->rx = k;
        c->rxlen = (uint32_t)(n - off);
    } else if (c->rx) {
        free(c->rx);
        c->rx = NULL;
        c->rxlen = 0;
    }
}

static void conn_writable(struct conn *c)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            if (nerr_connect++ < 3)
                fprintf(stderr, "loadgen: connect: %s\n", strerror(err));
            conn_close(c, true);
            return;
        }
        c->state = C_HANDSHAKE;
        char req[512];
        int n = snprintf(req, sizeof(req),
                         "GET %s?EIO=4&transport=websocket HTTP/1.1\r\n"
                         "Host: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n",
                         O.path, O.host, O.port);
        conn_events(c, false);
        conn_write(c, req, (size_t)n);
        return;
    }
    if (c->wlen) {
        ssize_t w = write(c->fd, c->wbuf, c->wlen);
        if (w < 0) {
            if (errno != EAGAIN)
                conn_close(c, true);
            return;
        }
        memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
        c->wlen -= (uint32_t)w;
    }
    if (!c->wlen) {
        free(c->wbuf);
        c->wbuf = NULL;
        conn_events(c, false);
    }
}

static int conn_open(struct conn *c, long idx)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (nerr_connect++ < 3)
            fprintf(stderr, "loadgen: socket: %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    struct sockaddr_in src = { .sin_family = AF_INET };
    src.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)(2 + idx % O.nsrc));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
        if (nerr_connect++ < 3)
            fprintf(stderr, "loadgen: bind: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)O.port) };
    inet_pton(AF_INET, O.host, &dst.sin_addr);
    if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS) {
        if (nerr_connect++ < 3)
            fprintf(stderr, "loadgen: connect: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->state = C_CONNECTING;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    c->want_out = 1;
    nopen++;
    return 0;
}

static void loop_once(int timeout_ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, timeout_ms);
    for (int i = 0; i < n; i++) {
        struct conn *c = evs[i].data.ptr;
        if (!c || c->state == C_CLOSED)
            continue;
        if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            if (c->state == C_CONNECTING || c->wlen) {
                conn_writable(c);
                if (c->state == C_CLOSED)
                    continue;
            }
        }
        if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            conn_readable(c);
    }
}

/* Opens conns[..target) (those not opened yet) and waits until each is
 * connected or failed; returns the seconds it took. */
static long next_conn;
static double open_to(long target)
{
    double t0 = now_s(), last = t0;
    long next = next_conn;
    while (!stop_flag) {
        while (next < target && nopen < O.inflight) {
            struct conn *c = &conns[next];
            c->user = (uint32_t)(O.users_from + next);
            if (conn_open(c, next) < 0) {
                c->state = C_CLOSED;
                nfailed++;
            }
            next++;
        }
        if (next >= target && nopen == 0)
            break;
        if (now_s() - t0 > O.connect_timeout) {
            fprintf(stderr, "loadgen: connect timeout with %ld pending\n", nopen);
            break;
        }
        loop_once(5);
        if (now_s() - last > 2) {
            last = now_s();
            fprintf(stderr, "loadgen: %ld connected, %ld failed, %ld pending\n", nconnected,
                    nfailed, nopen);
        }
    }
    next_conn = next;
    return now_s() - t0;
}

static void run_for(double secs)
{
    double end = now_s() + secs;
    while (!stop_flag && now_s() < end)
        loop_once(10);
}

/* ---- triggers --------------------------------------------------------------- */

/* A Mensaje-shaped payload (~500 bytes) that carries the marker. */
static int payload(char *buf, size_t cap, long seq, long chat)
{
    return snprintf(buf, cap,
                    "{\"id\":%ld,\"chat_id\":%ld,\"autor\":{\"id\":1,\"nombre\":\"Bench 1\","
                    "\"imagen_url\":null},\"tipo\":\"texto\",\"contenido\":\"bench#%ld# "
                    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
                    "tempor incididunt ut labore et dolore magna aliqua.\",\"respuesta_a\":null,"
                    "\"media\":null,\"encuesta\":null,\"reacciones\":[],"
                    "\"created_at\":\"2026-11-23T15:04:05.123Z\",\"editado_at\":null,"
                    "\"eliminado\":false,\"client_id\":\"c%ld\",\"leido_por_todos\":false}",
                    seq + 1, chat, seq, seq);
}

static int trig_pipe[2];
static PGconn *trig_db;

static void pg_ok(PGresult *r, const char *what)
{
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        fprintf(stderr, "loadgen: %s: %s", what, PQresultErrorMessage(r));
        exit(2);
    }
    PQclear(r);
}

/* The application's send, reduced to its database part: the eventos row in
 * a durable transaction, then the NOTIFY in its own asynchronous one. */
static void *trigger_main(void *arg)
{
    (void)arg;
    struct { long seq, chat; } m;
    while (read(trig_pipe[0], &m, sizeof(m)) == sizeof(m)) {
        char pl[1024], sala[32], chat[24], note[160];
        payload(pl, sizeof(pl), m.seq, m.chat);
        snprintf(sala, sizeof(sala), "chat:%ld", m.chat);
        snprintf(chat, sizeof(chat), "%ld", m.chat);
        const char *p[3] = { sala, pl, chat };
        tins_ns[m.seq] = now_ns();
        /* a delivery by the server's timer read, before the NOTIFY, counts
         * from the insert (rare; conservative) */
        atomic_store_explicit(&t0_ns[m.seq], tins_ns[m.seq], memory_order_release);
        PGresult *r = PQexecParams(trig_db,
                                   "INSERT INTO eventos (tipo, sala, payload, chat_id)"
                                   " VALUES ('mensaje:nuevo', $1, $2::jsonb, $3::bigint) RETURNING id",
                                   3, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            pg_ok(r, "insert eventos");
        long id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        snprintf(note, sizeof(note), "{\"id\":%ld,\"tipo\":\"mensaje:nuevo\",\"sala\":\"%s\"}", id,
                 sala);
        const char *np[1] = { note };
        atomic_store_explicit(&t0_ns[m.seq], now_ns(), memory_order_release);
        pg_ok(PQexec(trig_db, "BEGIN"), "begin");
        pg_ok(PQexec(trig_db, "SET LOCAL synchronous_commit = off"), "set");
        pg_ok(PQexecParams(trig_db, "SELECT pg_notify('chat_eventos', $1)", 1, NULL, np, NULL,
                           NULL, 0),
              "notify");
        pg_ok(PQexec(trig_db, "COMMIT"), "commit");
    }
    return NULL;
}

static long trig_seq;

/* The trigger thread and its database connection (--db). */
static void trigger_start(void)
{
    trig_db = PQconnectdb(O.db);
    if (PQstatus(trig_db) != CONNECTION_OK)
        die(PQerrorMessage(trig_db));
    if (pipe(trig_pipe) < 0)
        die("pipe");
    pthread_t th;
    pthread_create(&th, NULL, trigger_main, NULL);
    pthread_detach(th);
}

static void trigger(long chat)
{
    long seq = trig_seq++;
    if (seq >= MAX_SEQ)
        die("too many messages");
    if (O.echo) {
        /* connection 0 asks echo to broadcast the event */
        struct conn *c = &conns[0];
        char pl[1024], fr[1200];
        payload(pl, sizeof(pl), seq, chat);
        int n = snprintf(fr, sizeof(fr), "42[\"mensaje:nuevo\",%s]", pl);
        atomic_store_explicit(&t0_ns[seq], now_ns(), memory_order_release);
        tins_ns[seq] = t0_ns[seq];
        if (c->state == C_CONNECTED)
            ws_send(c, fr, (size_t)n);
        return;
    }
    struct { long seq, chat; } m = { seq, chat };
    if (write(trig_pipe[1], &m, sizeof(m)) != sizeof(m))
        die("trigger pipe");
}

static void report_lat(const char *pfx, uint32_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u32);
    printf("%s_n=%zu\n%s_p50_ms=%.3f\n%s_p99_ms=%.3f\n%s_max_ms=%.3f\n", pfx, n, pfx,
           pct(v, n, 50), pfx, pct(v, n, 99), pfx, n ? v[n - 1] / 1000.0 : -1);
}

static void fanout_round(int round);

static void mode_fanout(void)
{
    if (!O.echo)
        trigger_start();
    run_for(1.0);
    for (int round = 0; round < O.rounds && !stop_flag; round++)
        fanout_round(round);
}

/* One round: each room in turn, then the sustained phase; keys r<N>_... */
static void fanout_round(int round)
{
    for (int r = 0; r < O.nrooms && !stop_flag; r++) {
        long chat = O.rooms[r].chat, size = O.rooms[r].size;
        uint32_t *lastv = calloc((size_t)O.msgs, sizeof(*lastv));
        size_t nlast = 0;
        long incomplete = 0;
        nlat = 0;
        record_each = true;
        for (int k = 0; k < O.msgs && !stop_flag; k++) {
            long seq = trig_seq;
            trigger(chat);
            double until = now_s() + 5;
            while (!stop_flag && got[seq] < (uint32_t)size && now_s() < until)
                loop_once(1);
            int64_t t0 = atomic_load(&t0_ns[seq]);
            if (got[seq] >= (uint32_t)size && t0)
                lastv[nlast++] = (uint32_t)((last_ns[seq] - t0) / 1000);
            else
                incomplete++;
            run_for(0.05); /* let stragglers and pings through */
        }
        char pfx[64];
        printf("r%d_room%d_chat=%ld\nr%d_room%d_size=%ld\nr%d_room%d_incomplete=%ld\n", round, r,
               chat, round, r, size, round, r, incomplete);
        snprintf(pfx, sizeof(pfx), "r%d_room%d_last", round, r);
        report_lat(pfx, lastv, nlast);
        snprintf(pfx, sizeof(pfx), "r%d_room%d_each", round, r);
        report_lat(pfx, lat, nlat);
        fflush(stdout);
        free(lastv);
    }
    if (O.sustain > 0 && O.nrooms > 0 && !stop_flag) {
        long chat = O.rooms[O.nrooms - 1].chat, size = O.rooms[O.nrooms - 1].size;
        record_each = false;
        uint64_t d0 = deliveries;
        long first = trig_seq;
        double t0 = now_s(), end = t0 + O.sustain;
        long sent = 0;
        while (!stop_flag && now_s() < end) {
            /* keep `window` messages not yet fully delivered */
            long outstanding = 0;
            for (long s = trig_seq - 1; s >= first && s >= trig_seq - O.window - 1; s--)
                if (got[s] < (uint32_t)size)
                    outstanding++;
            while (outstanding < O.window && now_s() < end) {
                trigger(chat);
                sent++;
                outstanding++;
            }
            loop_once(1);
        }
        double el = now_s() - t0;
        uint64_t d = deliveries - d0;
        run_for(1.0); /* drain, not counted */
        printf("r%d_sustain_secs=%.2f\nr%d_sustain_msgs=%ld\nr%d_sustain_deliveries=%lu\n"
               "r%d_sustain_dps=%.0f\nr%d_sustain_expected=%ld\nr%d_sustain_connected_after=%ld\n",
               round, el, round, sent, round, (unsigned long)d, round, (double)d / el, round,
               sent * size, round, nconnected);
        fflush(stdout);
    }
}

/* ---- storm: the server restarts under every socket -------------------------- */

/* socket.io-client's default reconnection delay for attempt k (0-based):
 * 1 s doubled per attempt, at most 5 s, +-50% at random. */
static double storm_delay(int k)
{
    double ms = 1000.0;
    for (int i = 0; i < k && ms < 5000; i++)
        ms *= 2;
    double r = (double)random() / RAND_MAX;
    double dev = floor(r * 0.5 * ms);
    ms = ((long)floor(r * 10) & 1) == 0 ? ms - dev : ms + dev;
    return (ms < 5000 ? ms : 5000) / 1000.0;
}

/* Every socket connected; --ready-file tells the bench to restart the
 * server; each dropped socket reconnects on its own backoff, as the stock
 * client does; once all are back, one message to the room holding them all
 * (--room), timed to the last socket. */
static void mode_storm(void)
{
    if (O.nrooms < 1)
        die("storm needs --room CHAT:SIZE holding every socket");
    trigger_start();
    srandom((unsigned)now_ns());
    long n = O.count;
    double *retry_at = calloc((size_t)n, sizeof(*retry_at));
    uint8_t *dropped = calloc((size_t)n, 1);
    uint8_t *tries = calloc((size_t)n, 1);
    if (!retry_at || !dropped || !tries)
        die("out of memory");
    if (O.ready_file) {
        FILE *f = fopen(O.ready_file, "w");
        if (!f)
            die("cannot write --ready-file");
        fclose(f);
    }
    double t_drop = 0, t_back = 0, t0 = now_s();
    long ndropped = 0, attempts = 0;
    while (!stop_flag) {
        loop_once(2);
        double now = now_s();
        long back = 0;
        for (long i = 0; i < n; i++) {
            struct conn *c = &conns[i];
            if (c->state == C_CONNECTED) {
                back += dropped[i];
                tries[i] = 0;
                continue;
            }
            if (c->state != C_CLOSED && c->state != C_FREE)
                continue; /* an attempt in progress */
            if (!dropped[i]) {
                dropped[i] = 1;
                ndropped++;
                if (!t_drop)
                    t_drop = now;
            }
            if (retry_at[i] == 0) {
                retry_at[i] = now + storm_delay(tries[i] < 20 ? tries[i] : 20);
            } else if (now >= retry_at[i] && nopen < O.inflight) {
                retry_at[i] = 0;
                if (tries[i] < 255)
                    tries[i]++;
                attempts++;
                if (conn_open(c, i) < 0)
                    c->state = C_CLOSED;
            }
        }
        if (ndropped == n && back == n) {
            t_back = now;
            break;
        }
        if (now - (t_drop ? t_drop : t0) > O.storm_timeout) {
            fprintf(stderr, "loadgen: storm: %ld of %ld back after %.0f s\n", back, n, O.storm_timeout);
            break;
        }
    }
    printf("storm_n=%ld\nstorm_dropped=%ld\nstorm_attempts=%ld\nstorm_connected=%ld\n", n, ndropped,
           attempts, nconnected);
    if (!t_back) {
        printf("storm_back=0\n");
        fflush(stdout);
        return;
    }
    printf("storm_back=1\nstorm_back_s=%.3f\n", t_back - t_drop);
    fflush(stdout);
    /* one message to everyone, from the moment the last socket was back */
    long chat = O.rooms[0].chat, size = O.rooms[0].size < n ? O.rooms[0].size : n;
    long seq = trig_seq;
    run_for(0.2); /* rooms joined on the server's side */
    trigger(chat);
    double until = now_s() + 30;
    while (!stop_flag && got[seq] < (uint32_t)size && now_s() < until)
        loop_once(1);
    int64_t tm = atomic_load(&t0_ns[seq]);
    if (got[seq] >= (uint32_t)size && tm) {
        printf("storm_msg_ms=%.3f\nstorm_all_receiving_s=%.3f\n", (double)(last_ns[seq] - tm) / 1e6,
               (double)last_ns[seq] / 1e9 - t_drop);
    } else {
        printf("storm_msg_received=%u\n", got[seq]);
    }
    fflush(stdout);
}

/* ---- e2e: POST through nginx ----------------------------------------------- */

struct sender {
    pthread_t th;
    int idx;
    long user;
    long chat;
    double rate;
    double secs;
    long sent, errors;
    char *token;
    int64_t *sendt;     /* per request: latency of the HTTP answer, us */
};

static _Atomic long e2e_seq;

static int http_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)O.http_port) };
    inet_pton(AF_INET, O.http_host, &dst.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* One request/answer on a keep-alive connection; returns the status. */
static int http_post(int *fd, const char *req, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*fd < 0 && (*fd = http_connect()) < 0)
            return -1;
        if (write(*fd, req, len) != (ssize_t)len) {
            close(*fd);
            *fd = -1;
            continue;
        }
        char buf[16384];
        size_t have = 0;
        long clen = -1;
        char *body = NULL;
        bool closeit = false;
        while (1) {
            ssize_t r = read(*fd, buf + have, sizeof(buf) - 1 - have);
            if (r <= 0)
                break;
            have += (size_t)r;
            buf[have] = 0;
            if (!body) {
                char *e = strstr(buf, "\r\n\r\n");
                if (!e)
                    continue;
                body = e + 4;
                char *cl = strcasestr(buf, "\r\nContent-Length:");
                clen = cl ? strtol(cl + 17, NULL, 10) : 0;
                closeit = strcasestr(buf, "\r\nConnection: close") != NULL;
            }
            if (body && (long)(have - (size_t)(body - buf)) >= clen)
                break;
            if (have >= sizeof(buf) - 1)
                break;
        }
        if (!body) {
            close(*fd);
            *fd = -1;
            if (have == 0)
                continue; /* the server closed an idle keep-alive */
            return -1;
        }
        int status = atoi(buf + 9);
        if (closeit) {
            close(*fd);
            *fd = -1;
        }
        return status;
    }
    return -1;
}

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    int fd = -1;
    double interval = 1.0 / s->rate;
    /* the senders' schedules interleave (sender i starts i/N of an interval
     * late), so R messages/s arrive one every 1/R s, not in bursts of N */
    double start = now_s() + interval * (double)s->idx / (double)O.senders;
    long k = 0;
    while (!stop_flag) {
        double due = start + (double)k * interval;
        if (due - start >= s->secs)
            break;
        double now = now_s();
        if (due > now) {
            struct timespec ts = { 0, (long)((due - now) * 1e9) };
            nanosleep(&ts, NULL);
        }
        long seq = atomic_fetch_add(&e2e_seq, 1);
        if (seq >= MAX_SEQ)
            break;
        char body[256], req[2048];
        int bl = snprintf(body, sizeof(body), "{\"contenido\":\"bench#%ld# e2e\"}", seq);
        int rl = snprintf(req, sizeof(req),
                          "POST /chat/api/v1/chats/%ld/mensajes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                          "Content-Length: %d\r\n\r\n%s",
                          s->chat, s->token, bl, body);
        int64_t t = now_ns();
        atomic_store_explicit(&t0_ns[seq], t, memory_order_release);
        int st = http_post(&fd, req, (size_t)rl);
        if (st != 201 && st != 200) {
            if (s->errors++ < 3)
                fprintf(stderr, "loadgen: POST chat %ld: status %d\n", s->chat, st);
        }
        tins_ns[seq] = now_ns() - t;
        s->sent++;
        k++;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void mode_e2e(void)
{
    struct sender *ss = calloc((size_t)O.senders, sizeof(*ss));
    for (int i = 0; i < O.senders; i++) {
        ss[i].idx = i;
        int k = O.pairs > 0 ? i % O.pairs : i;
        ss[i].user = O.sender_from + k;
        ss[i].chat = O.chat_from + k;
        ss[i].token = mint(ss[i].user);
    }
    run_for(1.0);
    for (int ri = 0; ri < O.nrates && !stop_flag; ri++) {
        double rate = O.rates[ri];
        long first = atomic_load(&e2e_seq);
        nlat = 0;
        record_each = true;
        double t0 = now_s();
        for (int i = 0; i < O.senders; i++) {
            ss[i].rate = rate / O.senders;
            ss[i].secs = O.secs;
            ss[i].sent = ss[i].errors = 0;
            pthread_create(&ss[i].th, NULL, sender_main, &ss[i]);
        }
        /* receive while the senders run */
        bool *joined = calloc((unsigned)O.senders, sizeof(*joined));
        int done = 0;
        while (done < O.senders) {
            loop_once(1);
            for (int i = 0; i < O.senders; i++)
                if (!joined[i] && pthread_tryjoin_np(ss[i].th, NULL) == 0) {
                    joined[i] = true;
                    done++;
                }
        }
        free(joined);
        double el = now_s() - t0;
        run_for(1.0); /* late arrivals are counted, as they are late */
        long last = atomic_load(&e2e_seq), sent = 0, errors = 0, lost = 0;
        for (int i = 0; i < O.senders; i++) {
            sent += ss[i].sent;
            errors += ss[i].errors;
        }
        uint32_t *http = calloc((size_t)(last - first + 1), sizeof(*http));
        size_t nh = 0;
        for (long s = first; s < last; s++) {
            if (!got[s])
                lost++;
            http[nh++] = (uint32_t)(tins_ns[s] / 1000);
        }
        printf("rate%d_target=%.0f\nrate%d_achieved=%.1f\nrate%d_sent=%ld\nrate%d_errors=%ld\n"
               "rate%d_lost=%ld\n",
               ri, rate, ri, (double)sent / el, ri, sent, ri, errors, ri, lost);
        char pfx[32];
        snprintf(pfx, sizeof(pfx), "rate%d_e2e", ri);
        report_lat(pfx, lat, nlat);
        snprintf(pfx, sizeof(pfx), "rate%d_http", ri);
        report_lat(pfx, http, nh);
        fflush(stdout);
        free(http);
        double p99 = nlat ? lat[(size_t)(0.99 * (double)(nlat - 1) + 0.5)] / 1000.0 : 1e9;
        if (O.nrates > 1 && (p99 > 200 || (double)sent / el < 0.8 * rate || lost > sent / 10)) {
            fprintf(stderr, "loadgen: stopping the rate steps at %.0f/s (p99 %.1f ms)\n", rate, p99);
            break;
        }
    }
}

/* ---- main ------------------------------------------------------------------- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return strdup(buf);
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen --mode idle|fanout|e2e|storm [--echo] --port P [--path /chat/socket.io/]\n"
            "  --secret-file F --db CONNINFO --users-from N --count N --src-ips N --inflight N\n"
            "  --hold S --pid PID --room CHAT:SIZE ... --msgs N --sustain S --window N\n"
            "  --http-port P --rate R ... --secs S --senders N --sender-from U --chat-from C\n"
            "  --ready-file F --storm-timeout S (storm)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && ++i)
        if (ARG("--mode")) O.mode = v;
        else if (ARG("--host")) O.host = v;
        else if (ARG("--port")) O.port = atoi(v);
        else if (ARG("--path")) O.path = v;
        else if (ARG("--secret-file")) { O.secret = read_file(v); if (!O.secret) die("cannot read the secret"); }
        else if (ARG("--db")) O.db = v;
        else if (ARG("--users-from")) O.users_from = atol(v);
        else if (ARG("--count")) O.count = atol(v);
        else if (ARG("--src-ips")) O.nsrc = atoi(v);
        else if (ARG("--inflight")) O.inflight = atoi(v);
        else if (ARG("--hold")) O.hold = atof(v);
        else if (ARG("--pid")) O.pid = atoi(v);
        else if (ARG("--room")) {
            if (O.nrooms < MAX_ROOMS && sscanf(v, "%ld:%ld", &O.rooms[O.nrooms].chat, &O.rooms[O.nrooms].size) == 2)
                O.nrooms++;
        }
        else if (ARG("--msgs")) O.msgs = atoi(v);
        else if (ARG("--sustain")) O.sustain = atof(v);
        else if (ARG("--window")) O.window = atoi(v);
        else if (ARG("--http-port")) O.http_port = atoi(v);
        else if (ARG("--rate")) { if (O.nrates < 32) O.rates[O.nrates++] = atof(v); }
        else if (ARG("--secs")) O.secs = atof(v);
        else if (ARG("--senders")) O.senders = atoi(v);
        else if (ARG("--sender-from")) O.sender_from = atol(v);
        else if (ARG("--chat-from")) O.chat_from = atol(v);
        else if (ARG("--connect-timeout")) O.connect_timeout = atof(v);
        else if (ARG("--steps")) {
            for (char *q = (char *)v; *q && O.nsteps < 16;) {
                O.steps[O.nsteps++] = strtol(q, &q, 10);
                while (*q == ',')
                    q++;
            }
        }
        else if (ARG("--rounds")) O.rounds = atoi(v);
        else if (ARG("--pairs")) O.pairs = atoi(v);
        else if (ARG("--ready-file")) O.ready_file = v;
        else if (ARG("--storm-timeout")) O.storm_timeout = atof(v);
        else if (strcmp(a, "--echo") == 0) O.echo = true;
        else usage();
#undef ARG
    }
    if (!O.echo && !O.secret)
        die("--secret-file is required");
    if (O.count < 1 || O.nsrc < 1 || O.nsrc > 250 || O.senders < 1)
        usage();
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)O.count + 100) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    ep = epoll_create1(EPOLL_CLOEXEC);
    conns = calloc((size_t)O.count, sizeof(*conns));
    if (!conns || ep < 0)
        die("setup");
    for (long i = 0; i < O.count; i++)
        conns[i].fd = -1;

    long rss0 = O.pid ? vmrss_kb(O.pid) : -1, anon0 = O.pid ? anon_kb(O.pid) : -1;
    if (strcmp(O.mode, "idle") == 0 && O.nsteps > 0) {
        /* a ramp: at each step, hold, then the server's memory */
        printf("mode=idle\nrss0_kb=%ld\nanon0_kb=%ld\n", rss0, anon0);
        for (int k = 0; k < O.nsteps && !stop_flag; k++) {
            long target = O.steps[k] < O.count ? O.steps[k] : O.count;
            long c0 = nconnected;
            double ramp = open_to(target);
            run_for(O.hold);
            long pinged = 0;
            for (long i = 0; i < target; i++)
                if (conns[i].state == C_CONNECTED && conns[i].pings > 0)
                    pinged++;
            long rss1 = O.pid ? vmrss_kb(O.pid) : -1, anon1 = O.pid ? anon_kb(O.pid) : -1;
            printf("step%d_n=%ld\nstep%d_held=%ld\nstep%d_pinged=%ld\nstep%d_failed=%ld\n"
                   "step%d_rate=%.0f\nstep%d_rss_kb=%ld\nstep%d_anon_kb=%ld\n",
                   k, target, k, nconnected, k, pinged, k, nfailed, k,
                   ramp > 0 ? (double)(nconnected - c0) / ramp : 0, k, rss1, k, anon1);
            if (rss0 > 0 && rss1 > 0 && nconnected > 0)
                printf("step%d_bpc_vmrss=%.0f\n", k,
                       (double)(rss1 - rss0) * 1024.0 / (double)nconnected);
            if (anon0 > 0 && anon1 > 0 && nconnected > 0)
                printf("step%d_bpc=%.0f\n", k, (double)(anon1 - anon0) * 1024.0 / (double)nconnected);
            fflush(stdout);
        }
        printf("events_seen=%lu\nclosed=%ld\n", (unsigned long)events_seen, nclosed);
        return 0;
    }
    double ramp = open_to(O.count);
    printf("mode=%s\ncount=%ld\nconnected=%ld\nfailed=%ld\nramp_s=%.2f\nconnect_rate=%.0f\n",
           O.mode, O.count, nconnected, nfailed, ramp, ramp > 0 ? (double)nconnected / ramp : 0);
    fflush(stdout);
    if (strcmp(O.mode, "idle") == 0) {
        uint64_t p0 = pings_answered;
        run_for(O.hold);
        long pinged = 0;
        for (long i = 0; i < O.count; i++)
            if (conns[i].state == C_CONNECTED && conns[i].pings > 0)
                pinged++;
        long rss1 = O.pid ? vmrss_kb(O.pid) : -1;
        printf("held=%ld\nheld_pinged=%ld\npings=%lu\nrss0_kb=%ld\nrss1_kb=%ld\n", nconnected,
               pinged, (unsigned long)(pings_answered - p0), rss0, rss1);
        if (rss0 > 0 && rss1 > 0 && nconnected > 0)
            printf("bytes_per_conn=%.0f\n", (double)(rss1 - rss0) * 1024.0 / (double)nconnected);
    } else if (strcmp(O.mode, "fanout") == 0) {
        mode_fanout();
    } else if (strcmp(O.mode, "e2e") == 0) {
        mode_e2e();
    } else if (strcmp(O.mode, "storm") == 0) {
        mode_storm();
    } else {
        usage();
    }
    printf("events_seen=%lu\nclosed=%ld\n", (unsigned long)events_seen, nclosed);
    fflush(stdout);
    return 0;
}
