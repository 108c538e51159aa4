/* http.c: request parsing and response writing over libfcgi. */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void http_head(struct req *rq, int status, const char *ctype)
{
    char line[256];
    rq->status = status;
    snprintf(line, sizeof(line), "Status: %d %s\r\n", status, http_reason(status));
    FCGX_PutS(line, rq->fx->out);
    if (ctype) {
        FCGX_PutS("Content-Type: ", rq->fx->out);
        FCGX_PutS(ctype, rq->fx->out);
        FCGX_PutS("\r\n", rq->fx->out);
    }
    FCGX_PutS("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Request-Id: ",
              rq->fx->out);
    FCGX_PutS(rq->id, rq->fx->out);
    FCGX_PutS("\r\n", rq->fx->out);
    for (int i = 0; i < rq->nextra; i++) {
        FCGX_PutS(rq->extra[i], rq->fx->out);
        FCGX_PutS("\r\n", rq->fx->out);
    }
    FCGX_PutS("\r\n", rq->fx->out);
}

void http_stream_start(struct req *rq, int status, const char *ctype)
{
    http_head(rq, status, ctype);
}

int http_json(struct req *rq, int status, json_object *o)
{
    size_t len;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    http_head(rq, status, "application/json; charset=utf-8");
    FCGX_PutStr(s, (int)len, rq->fx->out);
    return 0;
}

int http_json_text(struct req *rq, int status, const char *json, size_t len)
{
    http_head(rq, status, "application/json; charset=utf-8");
    FCGX_PutStr(json, (int)len, rq->fx->out);
    return 0;
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
    http_head(rq, status, ctype);
    FCGX_PutStr(body, (int)len, rq->fx->out);
    return 0;
}

int http_empty(struct req *rq, int status)
{
    http_head(rq, status, NULL);
    return 0;
}
