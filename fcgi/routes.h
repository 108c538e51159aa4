/* routes.h: the REST endpoints as data, and the handlers they name. */
#ifndef CHAT_FCGI_ROUTES_H
#define CHAT_FCGI_ROUTES_H

#include "http.h"

enum {
    ROUTE_PUBLIC = 0,
    ROUTE_USER = 1 << 0,        /* a user's token (Bearer or the ERP cookie) */
    ROUTE_SERVICE = 1 << 1,     /* the ERP's service token (scope chat:interno) */
    ROUTE_JSON = 1 << 2,        /* a JSON object body is required */
    ROUTE_JSON_OPT = 1 << 3,    /* a JSON object body is accepted, may be empty */
};

/* A handler writes its response and returns 0, or returns -1 with e and
 * the dispatcher writes API.md's error body. */
typedef int (*route_fn)(struct req *rq, struct err *e);

struct route {
    const char *method;
    const char *pattern;        /* under /chat/api/v1 */
    route_fn fn;
    unsigned flags;
};

extern const struct route routes[];

/* Handles one request end to end: routing, auth, body, handler, errors,
 * and the log line. */
void routes_dispatch(struct req *rq, const struct token_keys *keys);

/* handlers */
int h_salud(struct req *rq, struct err *e);
int h_me(struct req *rq, struct err *e);
int h_usuarios_list(struct req *rq, struct err *e);
int h_usuarios_get(struct req *rq, struct err *e);
int h_presencia(struct req *rq, struct err *e);
int h_interno_provision(struct req *rq, struct err *e);
int h_interno_desactivar(struct req *rq, struct err *e);
int h_interno_reactivar(struct req *rq, struct err *e);
int h_interno_vacaciones(struct req *rq, struct err *e);

#endif
