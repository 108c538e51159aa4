/* http.c: request parsing over libfcgi, and response writing: streamed
 * through libfcgi, or a whole response as FastCGI records in one write. */
#include "http.h"

#include <errno.h>
#include <fastcgi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "core/jsonx.h"
#include "core/log.h"

void http_header(struct req *rq, const char *line)
{
    if (rq->nextra < HTTP_MAX_EXTRA)
        rq->extra[rq->nextra++] = arena_strdup(rq->a, line);
}

const char *http_env(const struct req *rq, const char *name)
{
    return FCGX_GetParam(name, rq->fx->envp);
}

static char *http_decode_form(struct arena *a, const char *s, size_t n, bool *bad)
{
    char *tmp = arena_strndup(a, s, n);
    for (char *p = tmp; *p; p++)
        if (*p == '+')
            *p = ' ';
    char *d = route_decode(a, tmp, n);
    if (!d) {
        if (bad)
            *bad = true;
        return arena_strdup(a, "");
    }
    return d;
}

const char *http_query(struct req *rq, const char *name, bool *bad)
{
    size_t nl = strlen(name);
    const char *p = rq->query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t kl = eq ? (size_t)(eq - p) : len;
        if (kl == nl && memcmp(p, name, nl) == 0) {
            if (!eq)
                return arena_strdup(rq->a, "");
            return http_decode_form(rq->a, eq + 1, len - kl - 1, bad);
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

const char *http_cookie(struct req *rq, const char *name)
{
    const char *c = http_env(rq, "HTTP_COOKIE");
    size_t nl = strlen(name);
    while (c && *c) {
        while (*c == ' ' || *c == ';')
            c++;
        const char *semi = strchr(c, ';');
        size_t len = semi ? (size_t)(semi - c) : strlen(c);
        if (len > nl && c[nl] == '=' && memcmp(c, name, nl) == 0)
            return arena_strndup(rq->a, c + nl + 1, len - nl - 1);
        c = semi;
    }
    return NULL;
}

int http_read_body(struct req *rq, size_t max, struct err *e)
{
    const char *cl = http_env(rq, "CONTENT_LENGTH");
    rq->body = "";
    rq->body_len = 0;
    if (!cl || !*cl)
        return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    if (errno || *end || cl[0] == '-')
        return err_set(e, ERR_INVALID, "Content-Length inválido");
    if (n > max)
        return err_set(e, ERR_TOO_BIG, NULL);
    char *buf = arena_alloc(rq->a, (size_t)n + 1);
    size_t got = 0;
    while (got < n) {
        int r = FCGX_GetStr(buf + got, (int)(n - got), rq->fx->in);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got != n)
        return err_set(e, ERR_INVALID, "Cuerpo incompleto");
    buf[n] = '\0';
    rq->body = buf;
    rq->body_len = (size_t)n;
    return 0;
}

void http_drain(struct req *rq, unsigned long long max)
{
    char buf[16384];
    unsigned long long got = 0;
    while (got < max) {
        int r = FCGX_GetStr(buf, (int)sizeof(buf), rq->fx->in);
        if (r <= 0)
            break;
        got += (unsigned long long)r;
    }
}

static int http_query_id(struct req *rq, const char *name, long long *out, struct err *e)
{
    bool bad = false;
    const char *v = http_query(rq, name, &bad);
    if (!v)
        return 0;
    if (bad || route_parse_id(v, out) < 0)
        return err_set(e, ERR_INVALID, "El parámetro %s debe ser un id", name);
    return 0;
}

int http_paging(struct req *rq, int *limite, long long *antes, long long *despues,
                struct err *e)
{
    *limite = 50;
    *antes = 0;
    if (despues)
        *despues = 0;
    bool bad = false;
    const char *l = http_query(rq, "limite", &bad);
    if (l) {
        long long v;
        if (bad || route_parse_id(l, &v) < 0 || v > 200)
            return err_set(e, ERR_INVALID, "limite debe ser un entero entre 1 y 200");
        *limite = (int)v;
    }
    if (http_query_id(rq, "antes", antes, e) < 0)
        return -1;
    if (despues && http_query_id(rq, "despues", despues, e) < 0)
        return -1;
    if (despues && *antes && *despues)
        return err_set(e, ERR_INVALID, "Use antes o despues, no ambos");
    return 0;
}

int http_id(struct req *rq, const char *name, long long *out, struct err *e)
{
    if (route_parse_id(route_capture(&rq->caps, name), out) < 0)
        return err_set(e, ERR_NOT_FOUND, NULL);
    return 0;
}

static const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* The status line and headers: the usual ones, ctype (NULL: none), the
 * body's length clen when known (-1: not sent) and those given with
 * http_header, in the arena. With a length nginx passes the body on as it
 * is, without chunked encoding. */
static const char *http_head(struct req *rq, int status, const char *ctype, long long clen,
                             size_t *len)
{
    static const char fixed[] =
        "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Request-Id: ";
    char line[96];
    int ll = snprintf(line, sizeof(line), "Status: %d %s\r\n", status, http_reason(status));
    if (clen >= 0)
        ll += snprintf(line + ll, sizeof(line) - (size_t)ll, "Content-Length: %lld\r\n", clen);
    size_t n = (size_t)ll + sizeof(fixed) - 1 + strlen(rq->id) + 4;
    if (ctype)
        n += sizeof("Content-Type: \r\n") - 1 + strlen(ctype);
    for (int i = 0; i < rq->nextra; i++)
        n += strlen(rq->extra[i]) + 2;
    char *h = arena_alloc(rq->a, n + 1), *w = h;
    w = stpcpy(w, line);
    if (ctype) {
        w = stpcpy(w, "Content-Type: ");
        w = stpcpy(w, ctype);
        w = stpcpy(w, "\r\n");
    }
    w = stpcpy(w, fixed);
    w = stpcpy(w, rq->id);
    w = stpcpy(w, "\r\n");
    for (int i = 0; i < rq->nextra; i++) {
        w = stpcpy(w, rq->extra[i]);
        w = stpcpy(w, "\r\n");
    }
    w = stpcpy(w, "\r\n");
    rq->status = status;
    *len = (size_t)(w - h);
    return h;
}

void http_stream_start(struct req *rq, int status, const char *ctype)
{
    size_t hl;
    const char *h = http_head(rq, status, ctype, -1, &hl);
    FCGX_PutStr(h, (int)hl, rq->fx->out);
}

/* ---- a whole response in one write ---------------------------------------
 * libfcgi's output stream cuts a response into records of 8 KB and writes
 * each one as it fills: three write(2) calls for a 50-message page, each
 * waking nginx to read it. A response that is complete in memory goes out
 * instead as FastCGI records built here (FastCGI 1.0: STDOUT records of at
 * most 65,535 bytes, the empty STDOUT record that ends the stream, then
 * END_REQUEST with status 0), in one writev. The request's output stream is
 * then marked closed, so FCGX_Finish_r adds nothing after END_REQUEST (its
 * error stream, never written, sends no record of its own). */

#define HTTP_REC_MAX 65528      /* content bytes per record (a multiple of 8) */
#define HTTP_IOV 64

static void http_rec_header(FCGI_Header *h, int type, int id, size_t len)
{
    *h = (FCGI_Header){ .version = FCGI_VERSION_1,
                        .type = (unsigned char)type,
                        .requestIdB1 = (unsigned char)((id >> 8) & 0xff),
                        .requestIdB0 = (unsigned char)(id & 0xff),
                        .contentLengthB1 = (unsigned char)((len >> 8) & 0xff),
                        .contentLengthB0 = (unsigned char)(len & 0xff) };
}

static int http_writev_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* head and body (bl bytes; NULL when none) as request id's STDOUT records,
 * the empty STDOUT record and END_REQUEST, written to fd. 0, or -1 with
 * errno when the write failed. */
static int http_fcgi_write(int fd, int id, struct arena *a, const char *head, size_t hl,
                           const char *body, size_t bl)
{
    const char *seg[2] = { head, body };
    size_t segl[2] = { hl, body ? bl : 0 };
    size_t total = segl[0] + segl[1];
    size_t nrec = (total + HTTP_REC_MAX - 1) / HTTP_REC_MAX;
    FCGI_Header *hdr = arena_alloc(a, sizeof(*hdr) * (nrec ? nrec : 1));
    struct {
        FCGI_Header eos;
        FCGI_EndRequestRecord end;
    } tail;
    http_rec_header(&tail.eos, FCGI_STDOUT, id, 0);
    http_rec_header(&tail.end.header, FCGI_END_REQUEST, id, sizeof(tail.end.body));
    tail.end.body = (FCGI_EndRequestBody){ .protocolStatus = FCGI_REQUEST_COMPLETE };
    struct iovec iov[HTTP_IOV];
    int n = 0, s = 0;
    size_t off = 0, left = total;
    for (size_t r = 0; r < nrec; r++) {
        size_t len = left < HTTP_REC_MAX ? left : HTTP_REC_MAX;
        left -= len;
        if (n + 3 > HTTP_IOV) {     /* a record takes its header and two slices at most */
            if (http_writev_all(fd, iov, n) < 0)
                return -1;
            n = 0;
        }
        http_rec_header(&hdr[r], FCGI_STDOUT, id, len);
        iov[n++] = (struct iovec){ &hdr[r], sizeof(hdr[r]) };
        while (len > 0) {
            while (off == segl[s]) {
                s++;
                off = 0;
            }
            size_t take = segl[s] - off < len ? segl[s] - off : len;
            iov[n++] = (struct iovec){ (void *)(seg[s] + off), take };
            off += take;
            len -= take;
        }
    }
    iov[n++] = (struct iovec){ &tail, sizeof(tail) };
    return http_writev_all(fd, iov, n);
}

static int http_whole(struct req *rq, int status, const char *ctype, const char *body,
                      size_t bl)
{
    FCGX_Request *fx = rq->fx;
    if (rq->status != 0) {
        /* a response was already started: a second one cannot follow */
        log_error("req=%s event=second_response status=%d first=%d", rq->id, status,
                  rq->status);
        return 0;
    }
    size_t hl;
    /* no Content-Length on a 204 (RFC 9110 §8.6) */
    const char *head = http_head(rq, status, ctype, status == 204 ? -1 : (long long)bl, &hl);
    if (http_fcgi_write(fx->ipcFd, fx->requestId, rq->a, head, hl, body, bl) < 0) {
        /* the server went away: nothing more on this connection */
        log_debug("req=%s event=response_write_failed errno=%d", rq->id, errno);
        fx->keepConnection = 0;
    }
    fx->out->wasFCloseCalled = 1;
    fx->out->isClosed = 1;
    return 0;
}

int http_json(struct req *rq, int status, json_object *o)
{
    size_t len;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    return http_whole(rq, status, "application/json; charset=utf-8", s, len);
}

int http_json_text(struct req *rq, int status, const char *json, size_t len)
{
    return http_whole(rq, status, "application/json; charset=utf-8", json, len);
}

int http_error(struct req *rq, const struct err *e)
{
    enum err_code code = e->code == ERR_NONE ? ERR_INTERNAL : e->code;
    json_object *o = jsonx_new_object(rq->a), *in = json_object_new_object();
    json_object_object_add(in, "codigo", json_object_new_string(err_codigo(code)));
    /* internal failures never carry details out */
    const char *msg = (code == ERR_INTERNAL || !e->msg[0]) ? err_default_msg(code) : e->msg;
    json_object_object_add(in, "mensaje", json_object_new_string(msg));
    json_object_object_add(o, "error", in);
    if (code == ERR_RATE) {
        char ra[40];
        snprintf(ra, sizeof(ra), "Retry-After: %d", rq->retry_after > 0 ? rq->retry_after : 1);
        http_header(rq, ra);
    }
    return http_json(rq, rq->force_status ? rq->force_status : err_status(code), o);
}

int http_text(struct req *rq, int status, const char *ctype, const char *body, size_t len)
{
    return http_whole(rq, status, ctype, body, len);
}

int http_empty(struct req *rq, int status)
{
    return http_whole(rq, status, NULL, NULL, 0);
}

bool http_input_done(struct req *rq)
{
    FCGX_Stream *in = rq->fx->in;
    if (!in)
        return false;
    if (FCGX_HasSeenEOF(in))
        return true;
    const char *cl = http_env(rq, "CONTENT_LENGTH");
    if (cl && *cl && strcmp(cl, "0") != 0)
        return false;   /* a body nobody read: let libfcgi drain it */
    /* no body: only the empty STDIN record that ends the input is left */
    return FCGX_GetChar(in) == EOF && FCGX_HasSeenEOF(in);
}
