/* test_http.c: a whole response as FastCGI records (fcgi/http.c,
 * http_fcgi_write), read back and parsed on the other end of a socket. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cu.h"

#include "../../fcgi/http.c"

struct sink {
    int fd;
    unsigned char *buf;
    size_t len, cap;
};

/* Reads everything the writer sends until it closes its end. */
static void *sink_run(void *arg)
{
    struct sink *k = arg;
    for (;;) {
        if (k->cap - k->len < 65536) {
            k->cap = k->cap ? k->cap * 2 : 1 << 20;
            k->buf = realloc(k->buf, k->cap);
            if (!k->buf)
                return NULL;
        }
        ssize_t r = read(k->fd, k->buf + k->len, k->cap - k->len);
        if (r <= 0)
            return NULL;
        k->len += (size_t)r;
    }
}

/* Parses k's bytes as the records of request id: the STDOUT content goes
 * to *out (malloc'd), and it must end with an empty STDOUT record and
 * END_REQUEST (status 0, request complete), with nothing after. Returns
 * the number of non-empty STDOUT records, or -1 on a framing error. */
static int parse(const struct sink *k, int id, char **out, size_t *outlen)
{
    size_t pos = 0, ol = 0;
    char *o = malloc(k->len + 1);
    int nrec = 0;
    bool ended = false, eos = false;
    while (pos < k->len) {
        if (ended || k->len - pos < 8)
            goto bad;
        const unsigned char *h = k->buf + pos;
        size_t clen = (size_t)h[4] << 8 | h[5], plen = h[6];
        if (h[0] != 1 || ((int)h[2] << 8 | h[3]) != id || k->len - pos - 8 < clen + plen)
            goto bad;
        const unsigned char *c = h + 8;
        if (h[1] == FCGI_STDOUT) {
            if (eos)
                goto bad;
            if (clen == 0) {
                eos = true;
            } else {
                memcpy(o + ol, c, clen);
                ol += clen;
                nrec++;
            }
        } else if (h[1] == FCGI_END_REQUEST) {
            if (!eos || clen != 8 || c[0] || c[1] || c[2] || c[3] || c[4] != FCGI_REQUEST_COMPLETE)
                goto bad;
            ended = true;
        } else {
            goto bad;
        }
        pos += 8 + clen + plen;
    }
    if (!ended)
        goto bad;
    *out = o;
    *outlen = ol;
    return nrec;
bad:
    free(o);
    return -1;
}

/* Writes head + a body of bl bytes (NULL when bl is (size_t)-1) and checks
 * what arrives; returns the number of STDOUT records. */
static int roundtrip(size_t bl)
{
    int sv[2];
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct sink k = { .fd = sv[1] };
    pthread_t t;
    CU_ASSERT_FATAL(pthread_create(&t, NULL, sink_run, &k) == 0);
    const char head[] = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";
    bool none = bl == (size_t)-1;
    size_t n = none ? 0 : bl;
    char *body = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + (i * 7 + i / 251) % 26);
    struct arena *a = arena_new();
    int rc = http_fcgi_write(sv[0], 300, a, head, sizeof(head) - 1, none ? NULL : body, n);
    CU_ASSERT_EQUAL(rc, 0);
    close(sv[0]);
    pthread_join(t, NULL);
    close(sv[1]);
    char *got = NULL;
    size_t gl = 0;
    int nrec = parse(&k, 300, &got, &gl);
    CU_ASSERT(nrec >= 1);
    if (nrec >= 1) {
        CU_ASSERT_EQUAL(gl, sizeof(head) - 1 + n);
        CU_ASSERT(gl == sizeof(head) - 1 + n && memcmp(got, head, sizeof(head) - 1) == 0 &&
                  memcmp(got + sizeof(head) - 1, body, n) == 0);
    }
    free(got);
    free(k.buf);
    free(body);
    arena_free(a);
    return nrec;
}

static void test_http__one_record(void)
{
    CU_ASSERT_EQUAL(roundtrip((size_t)-1), 1);
    CU_ASSERT_EQUAL(roundtrip(0), 1);
    CU_ASSERT_EQUAL(roundtrip(1), 1);
    CU_ASSERT_EQUAL(roundtrip(18000), 1);
}

static void test_http__record_edges(void)
{
    size_t hl = sizeof("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n") - 1;
    CU_ASSERT_EQUAL(roundtrip(HTTP_REC_MAX - hl), 1);
    CU_ASSERT_EQUAL(roundtrip(HTTP_REC_MAX - hl + 1), 2);
    CU_ASSERT_EQUAL(roundtrip(2 * HTTP_REC_MAX - hl), 2);
    CU_ASSERT_EQUAL(roundtrip(2 * HTTP_REC_MAX - hl + 1), 3);
}

/* more records than one writev's vector holds */
static void test_http__many_records(void)
{
    size_t bl = 5u * 1024 * 1024 + 17;
    size_t hl = sizeof("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n") - 1;
    CU_ASSERT_EQUAL(roundtrip(bl), (int)((bl + hl + HTTP_REC_MAX - 1) / HTTP_REC_MAX));
}

/* the other end gone: an error, not a crash (SIGPIPE is ignored, as in
 * chat-fcgi) */
static void test_http__peer_gone(void)
{
    signal(SIGPIPE, SIG_IGN);
    int sv[2];
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    close(sv[1]);
    struct arena *a = arena_new();
    CU_ASSERT_EQUAL(http_fcgi_write(sv[0], 1, a, "x", 1, "y", 1), -1);
    close(sv[0]);
    arena_free(a);
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "one_record", test_http__one_record },
        { "record_edges", test_http__record_edges },
        { "many_records", test_http__many_records },
        { "peer_gone", test_http__peer_gone },
        { NULL, NULL },
    };
    return cu_run("http", tests);
}
