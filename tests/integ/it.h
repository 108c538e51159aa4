/* it.h: the integration test kit: HTTP calls to the running stack (libcurl),
 * tokens minted with the stack's config, and direct database checks. */
#ifndef CHAT_TEST_IT_H
#define CHAT_TEST_IT_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "core/cfg.h"

/* One response. json is NULL when the body is not JSON. Free with it_free. */
struct it_resp {
    long status;
    char *body;
    size_t len;
    json_object *json;
    char *headers;
};

/* Reads CHAT_TEST_URL and CHAT_CONFIG; exits 2 with a message when missing. */
void it_init(void);

/* The stack's config (for minting tokens), loaded by it_init. */
const struct cfg *it_cfg(void);

/* Performs method on CHAT_TEST_URL + path with an optional bearer token and
 * body (sent as application/json unless ctype given). Never NULL. */
struct it_resp *it_req(const char *method, const char *path, const char *token,
                       const char *body);
struct it_resp *it_req_ex(const char *method, const char *path, const char *token,
                          const char *body, size_t body_len, const char *ctype,
                          const char *extra_header);

/* it_req_ex with any number of extra header lines ("Name: value"), NULL
 * terminated; headers may be NULL. A body is sent as ctype when given,
 * else application/json; ctype "" sends the body with no Content-Type. */
struct it_resp *it_req_hdrs(const char *method, const char *path, const char *token,
                            const char *body, size_t body_len, const char *ctype,
                            const char *const *headers);

void it_free(struct it_resp *r);

/* A user token for id_erp (nombre given or derived), with permisos as
 * "565,567" or NULL. ttl seconds. Returns a malloc'd string. */
char *it_token(const char *id_erp, const char *nombre, const char *permisos, long ttl);

/* A service token (scope chat:interno). */
char *it_service_token(void);

/* A fresh unique id_erp for this test run ("t<pid>_<n>_<prefix>"). */
const char *it_uid(const char *prefix);

/* The error code of a response ("solicitud_invalida"...), or "" when the
 * body is not API.md's error shape. */
const char *it_error_code(const struct it_resp *r);

/* A field of the JSON body by dotted path ("usuario.id"), or NULL. */
json_object *it_get(const struct it_resp *r, const char *path);
long long it_get_ll(const struct it_resp *r, const char *path);
const char *it_get_str(const struct it_resp *r, const char *path);

/* The stack's db_conninfo (from its chat.conf). */
const char *it_conninfo(void);

/* A connection to the stack's database (shared, opened on first use). */
PGconn *it_db(void);

/* Runs one SQL query with no parameters and returns the first column of the
 * first row as a number (e.g. a count); exits the test run on SQL error. */
long long it_db_ll(const char *sql);

/* Runs a statement that returns no rows (DDL, UPDATE); exits the test run
 * on SQL error. */
void it_db_exec(const char *sql);

/* SQL on connection c (NULL: it_db()), printf-formatted from test values
 * only. A statement that fails is a test failure (CU_FAIL, with the
 * statement and the server's message on stderr). it_sql's result is the
 * caller's to PQclear; it_sql_ll gives the first column of the first row
 * as a number (-1 when none or NULL); it_sql_str the same as a malloc'd
 * string ("" when none). */
PGresult *it_sql(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void it_sql_exec(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
long long it_sql_ll(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *it_sql_str(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- helpers for the chat and message tests (issue 3) ---- */

/* printf into one of 64 rotating static buffers (1 KiB each): for paths
 * and small bodies; not for use from several threads. */
const char *it_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Users. Every test makes its users through these.
 * it_me_id: usuarios.id of token's user, through GET /me (which creates
 *   the row on first use); a status other than 200 stops the test.
 * it_user: a new user (unique id_erp from tag, nombre NULL for one derived
 *   from it) logged in once, with permisos as in it_token. Sets *token
 *   (malloc'd) and returns usuarios.id.
 * it_user_provisioned: the same, but provisioned first by the ERP
 *   (PUT /interno/usuarios/{id_erp}, nombre and departamento, which may
 *   be NULL); erp (at least 64 bytes) receives the id_erp. */
long long it_me_id(const char *token);
long long it_user(const char *tag, const char *nombre, const char *permisos, char **token);
long long it_user_provisioned(const char *tag, const char *nombre, const char *departamento,
                              const char *permisos, char **token, char *erp);

/* The id_erp of usuarios.id id ("" when none), in one of it_fmt's
 * rotating buffers. */
const char *it_erp_of(long long id);

/* it_db_ll on a formatted query: integers only, never text from outside. */
long long it_db_llf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A digest of every row of chats, usuarios_chat, usuarios_chat_historial,
 * mensajes, reacciones_mensajes and eventos: equal before and after means
 * nothing changed. malloc'd. */
char *it_db_fingerprint(void);

/* One request of a concurrent batch: in method/path/token/body; out the
 * status, the body's "id" (or -1) and the body text (malloc'd or NULL). */
struct it_job {
    const char *method, *path, *token, *body;
    long status;
    long long id;
    char *out;
};

/* Runs the n requests at once, one thread each, released together by a
 * barrier; returns when all are done. Free each out with free(). */
void it_parallel(struct it_job *jobs, size_t n);

/* The path of the stack's program prog ("chat-cron"): $CHAT_BIN/prog when
 * set, else <build>/bin/prog next to this test (in a static buffer). */
const char *it_bin(const char *prog);

/* A group made by tok with the given members (201 asserted); its id. */
long long it_group(const char *tok, const char *nombre, const long long *ids, int n);

/* Sends text to chat as tok (201 asserted); the message id. */
long long it_send_text(const char *tok, long long chat, const char *text);

/* Asserts r's status and (when codigo) its error code, then frees r. */
void it_expect(struct it_resp *r, long status, const char *codigo);

/* A status check that stops the test (CUnit's FATAL) before the body is
 * read: the body of an unexpected status is printed, never parsed as if
 * it were the answer. Outside a test (set-up in main, before cu_run) a
 * wrong status ends the program with status 1. Returns r. */
struct it_resp *it_must(struct it_resp *r, long status);

#endif
