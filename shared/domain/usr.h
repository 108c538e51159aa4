/* usr.h: users: the principal behind a request, lazy upsert from a token,
 * lookup and search, the Usuario JSON (masked when deactivated), and the
 * ERP's lifecycle operations (provision, deactivate, reactivate, vacation). */
#ifndef CHAT_USR_H
#define CHAT_USR_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "wire/token.h"

/* Who is calling. For a service token only `service` is set. */
struct principal {
    bool service;
    long long id;               /* usuarios.id */
    const char *id_erp;
    const char *nombre;
    const int *permisos;
    size_t npermisos;
    /* where the call came from, for the audit trail (NULL when unknown) */
    const char *solicitud;      /* request id */
    const char *ip;             /* peer address as the web server saw it */
};

/* Permission codes of API.md §2. */
enum {
    PERM_DELETE_CHAT = 565,
    PERM_DELETE_MESSAGE = 566,
    PERM_CREATE_ANNOUNCEMENT = 567,
    PERM_DELETE_ANNOUNCEMENT = 568,
};

/* True when p holds permission code. */
bool usr_can(const struct principal *p, int code);

/* How a user is shown to others, written once as SQL expressions over a
 * usuarios row aliased A (a string literal): a deactivated user is
 * "Usuario desactivado", without picture, contact or job fields, and
 * desconectado; a user on vacation (vacaciones_hasta not past) shows
 * vacaciones. Every query that shows a user reads these, so the mask has
 * one home. Over an outer join's missing row they give NULL. */
#define USR_DESACTIVADO "Usuario desactivado"
#define USR_SHOWN_NOMBRE(A) \
    "CASE WHEN " A ".activo IS NOT FALSE THEN " A ".nombre ELSE '" USR_DESACTIVADO "' END"
#define USR_SHOWN(A, COL) "CASE WHEN " A ".activo THEN " A "." COL " END"
#define USR_SHOWN_ESTATUS(A)                                                        \
    "CASE WHEN NOT " A ".activo THEN 'desconectado' WHEN " A ".vacaciones AND ("   \
    A ".vacaciones_hasta IS NULL OR " A ".vacaciones_hasta >= current_date)"        \
    " THEN 'vacaciones' ELSE " A ".estatus END"

/* The columns usr_json reads, in order, for a usuarios row aliased `u`
 * (id_erp unmasked: usr_json decides who sees it). */
#define USR_COLS                                                              \
    "u.id, u.id_erp, " USR_SHOWN_NOMBRE("u") ", " USR_SHOWN("u", "email") ", " \
    USR_SHOWN("u", "imagen_url") ", " USR_SHOWN("u", "puesto") ", "           \
    USR_SHOWN("u", "departamento") ", " USR_SHOWN_ESTATUS("u") ", u.activo"
#define USR_NCOLS 9

/* The Usuario object of API.md §4 from the USR_COLS at column col of row,
 * borrowed from a (jsonx.h). A deactivated user is masked; a service
 * caller still sees id_erp. */
json_object *usr_json(struct arena *a, const PGresult *r, int row, int col, bool service_view);

/* Turns verified claims into a principal: a service token as is; a user
 * token upserts the usuarios row (only when a claim changed) and fails
 * with ERR_DEACTIVATED for a deactivated user. Strings live in a. */
int usr_login(struct db *d, struct arena *a, const struct token_claims *c,
              struct principal *out, struct err *e);
/* usr_login, plus the user's live chat ids (in a) for a socket's rooms:
 * one round trip when the profile is unchanged, by usuarios_chat's index. */
int usr_login_chats(struct db *d, struct arena *a, const struct token_claims *c,
                    struct principal *out, const long long **chats, size_t *nchats,
                    struct err *e);
/* One socket login of a batch (usr_login_chats_many): c in; the rest out.
 * status 0 with the principal and chat ids (in the arena), or -1 with e,
 * exactly as usr_login_chats would have answered for c alone. */
struct usr_login_req {
    const struct token_claims *c;
    int status;
    struct err e;
    struct principal p;
    const long long *chats;
    size_t nchats;
};
/* usr_login_chats for n user tokens (no service token) in one round trip:
 * the users' rows and chat ids by one statement over the array of id_erp;
 * a user not stored yet or whose claims changed goes through
 * usr_login_chats alone (the upsert). Returns 0 with each
 * request's own result, or -1 with e when the batch statement failed (then
 * no request has a result). */
int usr_login_chats_many(struct db *d, struct arena *a, struct usr_login_req *r, size_t n,
                         struct err *e);
/* The principal of user id as last seen in a token (permissions as stored),
 * for actions of an already authenticated socket; ERR_DEACTIVATED when the
 * user is gone or deactivated. Strings live in a. */
int usr_principal(struct db *d, struct arena *a, long long id, struct principal *p,
                  struct err *e);

/* One user by id as Usuario JSON; ERR_NOT_FOUND when none. */
int usr_get(struct db *d, struct arena *a, long long id, bool service_view,
            json_object **out, struct err *e);

/* Active users matching q (name, email, puesto, departamento; NULL or ""
 * for all), ordered by name, after the user `antes` (0: from the start),
 * at most limite. Sets *hay_mas. */
int usr_search(struct db *d, struct arena *a, const char *q, long long antes, int limite,
               json_object **out_array, bool *hay_mas, struct err *e);

/* Presence of the given ids as seen by viewer: array of {usuario_id,
 * estatus, ultima_conexion}; ultima_conexion is null for users who share
 * no live chat with viewer (except viewer). Unknown ids are left out. */
int usr_presence(struct db *d, struct arena *a, long long viewer, const long long *ids,
                 size_t n, json_object **out_array, struct err *e);

/* Provisioning from the ERP (§4.8). Fields may be NULL (kept as they are).
 * *created tells whether the row is new. */
struct usr_profile {
    const char *nombre, *email, *puesto, *departamento, *imagen_url;
};
int usr_provision(struct db *d, struct arena *a, const char *id_erp,
                  const struct usr_profile *p, bool *created, json_object **out,
                  struct err *e);

/* Deactivates (activo=false, masked; an event closes the user's sockets) or
 * reactivates the user with id_erp, on behalf of by (the audit actor). A
 * change is audited (usuario.desactivado / usuario.reactivado) in its
 * transaction. ERR_NOT_FOUND when unknown. */
int usr_set_active(struct db *d, struct arena *a, const struct principal *by,
                   const char *id_erp, bool activo, json_object **out, struct err *e);

/* Forces or ends vacation; hasta is "YYYY-MM-DD" or NULL. Audited
 * (usuario.vacaciones) when it changed something. */
int usr_set_vacation(struct db *d, struct arena *a, const struct principal *by,
                     const char *id_erp, bool activo, const char *hasta, json_object **out,
                     struct err *e);

/* Ends the vacations whose `hasta` date has passed (at most 100 users per
 * call, rows locked with SKIP LOCKED so several callers share the work)
 * and writes each user's usuario:estatus event, in one transaction. Run
 * periodically (chat-rtd's heartbeat). *ended (may be NULL) counts them. */
int usr_expire_vacations(struct db *d, struct arena *a, int *ended, struct err *e);

/* ---- logins without a round trip of their own ----------------------------
 * A worker remembers the users it logged in (id_erp -> usuarios.id, which
 * never changes for an id_erp) and the claims their row then held. For one
 * of them, with the same claims, the login check (deactivated refused) and
 * the route's rate-limit unit go out with the request's first statement,
 * as a db_gate: a refusal raised there stops the request before anything
 * of it happens. Changed claims take usr_login's way, which writes them. */
struct cfg;
struct usr_cache;

/* A cache of slots entries (one per id_erp hash, the newest wins), or NULL
 * out of memory. Free with usr_cache_free (NULL accepted). */
struct usr_cache *usr_cache_new(size_t slots);
void usr_cache_free(struct usr_cache *uc);

/* Remembers p after usr_login succeeded for it with claims c (service
 * principals are not kept); the row then holds c's claims. usr_cache_forget
 * drops id_erp's entry. */
void usr_cache_put(struct usr_cache *uc, struct arena *a, const struct principal *p,
                   const struct token_claims *c);
void usr_cache_forget(struct usr_cache *uc, const char *id_erp);

/* For a user in uc with c's claims: fills out from the cache and the claims
 * (strings in a) and queues the login check, with a unit of rate limit kind
 * (enum limite_clase; -1 for none, or a kind configured unlimited) taken in
 * the same statement; returns 1. 0 when the user is not in uc, its claims
 * changed, or c is a service token: use usr_login. -1 with e on failure. */
int usr_login_gated(struct db *d, struct arena *a, struct usr_cache *uc, const struct cfg *cfg,
                    const struct token_claims *c, int kind, struct principal *out,
                    struct err *e);

/* After a request failed: 0 when the queued check did not refuse it; 1
 * when it did, with e set to the API's error (ERR_DEACTIVATED, or
 * ERR_RATE with *retry_after for kind); 2 when the user must be looked up
 * again with usr_login (the row with that id and id_erp is gone). */
int usr_gate_error(struct db *d, const struct cfg *cfg, int kind, int *retry_after,
                   struct err *e);

#endif
