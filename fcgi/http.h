/* http.h: one FastCGI request: its parsed parts, the caller, and the
 * JSON responses and API.md error bodies written back. */
#ifndef CHAT_FCGI_HTTP_H
#define CHAT_FCGI_HTTP_H

#include <fcgiapp.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "core/arena.h"
#include "core/cfg.h"
#include "core/db.h"
#include "core/err.h"
#include "core/route.h"
#include "wire/token.h"
#include "domain/usr.h"

/* What a worker keeps across requests. */
struct worker {
    const struct cfg *cfg;
    const struct token_keys *keys;
    struct token_cache *tokens;     /* tokens this worker verified; may be NULL */
    struct usr_cache *users;        /* users this worker logged in; may be NULL */
    struct db *db;
    struct arena *arena;
    unsigned long served;
    pid_t pid;
    struct fcgi_metrics *metrics;   /* shared with every worker; may be NULL */
    const char *const *route_names; /* "METHOD pattern" for each route */
};

struct req {
    struct worker *w;
    FCGX_Request *fx;
    struct arena *a;                /* == w->arena, reset after each request */
    struct db *db;
    const struct cfg *cfg;
    char id[40];                    /* request id for the logs */
    const char *method;
    const char *path;               /* under /chat/api/v1, no query string */
    const char *query;              /* raw, without '?' ("" when none) */
    struct route_captures caps;
    const char *body;               /* the JSON body when the route reads one */
    size_t body_len;
    json_object *json;              /* the parsed body (ROUTE_JSON) */
    struct principal who;
    int status;                     /* written status, for the log line */
    int force_status;               /* error status other than the code's (405) */
    int retry_after;                /* seconds for Retry-After with a 429 (0: 1) */
    int route_no;                   /* index in routes[] + 1; 0: none matched */
    const char *extra[8];           /* extra response header lines */
    int nextra;
    /* timing, for the log line (routes_log) */
    long long t0_us;                /* request start (monotonic) */
    long long auth_us;              /* token check and user look-up */
    long long done_us;              /* response written */
    int err_code;                   /* enum err_code of a failed request */
    bool streamed;                  /* the handler read the body stream itself
                                       (it cannot run again) */
    bool gated;                     /* the login check went with the handler's
                                       first statement (ROUTE_GATED) */
    int rate_kind;                  /* the route's enum limite_clase, -1: none */
};

#define HTTP_MAX_EXTRA 8

/* A CGI variable ("HTTP_AUTHORIZATION", "CONTENT_TYPE"...) or NULL. */
const char *http_env(const struct req *rq, const char *name);

/* A query parameter, percent-decoded ('+' as space) into the arena; NULL
 * when absent. A bad escape gives "" and sets *bad (may be NULL). */
const char *http_query(struct req *rq, const char *name, bool *bad);

/* The cookie name's value or NULL. */
const char *http_cookie(struct req *rq, const char *name);

/* Reads the request body: more than max bytes is ERR_TOO_BIG, a body
 * shorter than CONTENT_LENGTH is ERR_INVALID. Returns 0 or -1 with e. */
int http_read_body(struct req *rq, size_t max, struct err *e);

/* Reads and drops up to max bytes of the request body, so a request
 * refused before its body was read still ends cleanly for the web server
 * (a FastCGI request closed with unread input may lose our answer). */
void http_drain(struct req *rq, unsigned long long max);

/* Parses the optional paging parameters limite (default 50, 1..200),
 * antes and despues (ids; at most one). Returns 0 or -1 with e. */
int http_paging(struct req *rq, int *limite, long long *antes, long long *despues,
                struct err *e);

/* The path capture name as an id; -1 with ERR_NOT_FOUND when malformed. */
int http_id(struct req *rq, const char *name, long long *out, struct err *e);

/* Writes status and o as the JSON response. o is borrowed (jsonx.h's
 * rule): pass what a domain function returned, or an object made with
 * jsonx_new_object. Returns 0. */
int http_json(struct req *rq, int status, json_object *o);

/* Writes status and len bytes of JSON text already printed (jsonw.h), with
 * http_json's headers. Returns 0. */
int http_json_text(struct req *rq, int status, const char *json, size_t len);

/* Writes API.md's error body for e (its message, or the code's default). */
int http_error(struct req *rq, const struct err *e);

/* Writes the status line and headers of a streamed response (ctype, the
 * usual headers and those given with http_header); the caller then writes
 * the body with FCGX_PutStr as it goes. */
void http_stream_start(struct req *rq, int status, const char *ctype);

/* Writes status and len bytes of body with Content-Type ctype. Returns 0. */
int http_text(struct req *rq, int status, const char *ctype, const char *body, size_t len);

/* Writes a bodiless response (204). */
int http_empty(struct req *rq, int status);

/* Whether the request's input has been read to its end (a request without
 * a body: its end is read here). Then the connection can be closed at
 * once; otherwise libfcgi's close drains what the server still sends. */
bool http_input_done(struct req *rq);

/* Writes extra response headers before the body: call before http_json;
 * each line "Name: value" without CRLF. At most 8 per request. */
void http_header(struct req *rq, const char *line);

#endif
