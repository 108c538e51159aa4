/* lib_it.c: the integration test kit. */
#include "it.h"

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire/token.h"

static const char *it_base;
static struct cfg *it_config;
static PGconn *it_conn;

void it_init(void)
{
    it_base = getenv("CHAT_TEST_URL");
    const char *conf = getenv("CHAT_CONFIG");
    if (!it_base || !conf) {
        fprintf(stderr, "integration tests need CHAT_TEST_URL and CHAT_CONFIG "
                        "(run them with `make test`)\n");
        exit(2);
    }
    char why[512];
    it_config = cfg_load(conf, why, sizeof(why));
    if (!it_config) {
        fprintf(stderr, "cannot load %s: %s\n", conf, why);
        exit(2);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

const struct cfg *it_cfg(void)
{
    return it_config;
}

static size_t it_write(char *p, size_t size, size_t n, void *ud)
{
    struct it_resp *r = ud;
    size_t add = size * n;
    char *nb = realloc(r->body, r->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, p, add);
    r->len += add;
    nb[r->len] = '\0';
    r->body = nb;
    return add;
}

static size_t it_header(char *p, size_t size, size_t n, void *ud)
{
    struct it_resp *r = ud;
    size_t add = size * n, old = r->headers ? strlen(r->headers) : 0;
    char *nb = realloc(r->headers, old + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + old, p, add);
    nb[old + add] = '\0';
    r->headers = nb;
    return add;
}

struct it_resp *it_req_ex(const char *method, const char *path, const char *token,
                          const char *body, size_t body_len, const char *ctype,
                          const char *extra_header)
{
    const char *hs[] = { extra_header, NULL };
    return it_req_hdrs(method, path, token, body, body ? body_len : 0, ctype,
                       extra_header ? hs : NULL);
}

struct it_resp *it_req_hdrs(const char *method, const char *path, const char *token,
                            const char *body, size_t body_len, const char *ctype,
                            const char *const *headers)
{
    struct it_resp *r = calloc(1, sizeof(*r));
    CURL *c = curl_easy_init();
    char url[4096], auth[16384], ct[256];
    snprintf(url, sizeof(url), "%s%s", it_base, path);
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (body) {
        /* "Content-Type:" with no value makes curl send none */
        snprintf(ct, sizeof(ct), "Content-Type:%s%s", ctype && !*ctype ? "" : " ",
                 ctype ? ctype : "application/json");
        h = curl_slist_append(h, ct);
    }
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, it_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, it_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fprintf(stderr, "curl %s %s: %s\n", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r->body)
        r->body = calloc(1, 1);
    if (r->len)
        r->json = json_tokener_parse(r->body);
    return r;
}

struct it_resp *it_req(const char *method, const char *path, const char *token,
                       const char *body)
{
    return it_req_ex(method, path, token, body, body ? strlen(body) : 0, NULL, NULL);
}

void it_free(struct it_resp *r)
{
    if (!r)
        return;
    json_object_put(r->json);
    free(r->body);
    free(r->headers);
    free(r);
}

char *it_token(const char *id_erp, const char *nombre, const char *permisos, long ttl)
{
    const struct cfg *c = it_config;
    json_object *o = json_object_new_object();
    json_object_object_add(o, c->jwt_claim_id, json_object_new_string(id_erp));
    json_object_object_add(o, c->jwt_claim_nombre,
                           json_object_new_string(nombre ? nombre : id_erp));
    json_object *p = json_object_new_array();
    if (permisos) {
        char *copy = strdup(permisos), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_object_array_add(p, json_object_new_int(atoi(t)));
        free(copy);
    }
    json_object_object_add(o, c->jwt_claim_permisos, p);
    char why[256];
    char *t = token_mint(c, json_object_to_json_string(o), ttl, why, sizeof(why));
    json_object_put(o);
    if (!t) {
        fprintf(stderr, "token_mint: %s\n", why);
        exit(2);
    }
    return t;
}

char *it_service_token(void)
{
    const struct cfg *c = it_config;
    json_object *o = json_object_new_object();
    json_object_object_add(o, c->jwt_claim_scope, json_object_new_string("chat:interno"));
    char why[256];
    char *t = token_mint(c, json_object_to_json_string(o), 600, why, sizeof(why));
    json_object_put(o);
    if (!t) {
        fprintf(stderr, "token_mint: %s\n", why);
        exit(2);
    }
    return t;
}

const char *it_uid(const char *prefix)
{
    static char buf[16][64];
    static int n;
    char *b = buf[n % 16];
    snprintf(b, 64, "t%d_%d_%s", (int)getpid(), n, prefix);
    n++;
    return b;
}

const char *it_error_code(const struct it_resp *r)
{
    json_object *e, *c;
    if (r->json && json_object_object_get_ex(r->json, "error", &e) &&
        json_object_object_get_ex(e, "codigo", &c) && json_object_is_type(c, json_type_string)) {
        json_object *m;
        /* the shape also needs a mensaje */
        if (!json_object_object_get_ex(e, "mensaje", &m) || !json_object_is_type(m, json_type_string))
            return "";
        return json_object_get_string(c);
    }
    return "";
}

json_object *it_get(const struct it_resp *r, const char *path)
{
    json_object *o = r->json;
    char key[128];
    const char *p = path;
    while (o && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_object_is_type(o, json_type_array)) {
            o = json_object_array_get_idx(o, (size_t)atoi(key));
        } else if (!json_object_object_get_ex(o, key, &o)) {
            return NULL;
        }
        p = dot ? dot + 1 : p + n;
    }
    return o;
}

long long it_get_ll(const struct it_resp *r, const char *path)
{
    json_object *o = it_get(r, path);
    return o ? json_object_get_int64(o) : -1;
}

const char *it_get_str(const struct it_resp *r, const char *path)
{
    json_object *o = it_get(r, path);
    return o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

const char *it_conninfo(void)
{
    return it_config->db_conninfo;
}

PGconn *it_db(void)
{
    if (!it_conn) {
        it_conn = PQconnectdb(it_config->db_conninfo);
        if (PQstatus(it_conn) != CONNECTION_OK) {
            fprintf(stderr, "it_db: %s\n", PQerrorMessage(it_conn));
            exit(2);
        }
    }
    return it_conn;
}

void it_db_exec(const char *sql)
{
    PGresult *r = PQexec(it_db(), sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "it_db_exec(%s): %s\n", sql, PQerrorMessage(it_conn));
        exit(2);
    }
    PQclear(r);
}

long long it_db_ll(const char *sql)
{
    PGresult *r = PQexec(it_db(), sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
        fprintf(stderr, "it_db_ll(%s): %s\n", sql, PQerrorMessage(it_conn));
        exit(2);
    }
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* ---- helpers for the chat and message tests (issue 3) ---- */

const char *it_fmt(const char *fmt, ...)
{
    static char buf[64][1024];
    static int n;
    char *b = buf[n++ % 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, 1024, fmt, ap);
    va_end(ap);
    return b;
}

long long it_me_id(const char *token)
{
    struct it_resp *r = it_must(it_req("GET", "/me", token, NULL), 200);
    long long id = it_get_ll(r, "usuario.id");
    it_free(r);
    return id;
}

long long it_user(const char *tag, const char *nombre, const char *permisos, char **token)
{
    *token = it_token(it_uid(tag), nombre, permisos, 3600);
    return it_me_id(*token);
}

long long it_user_provisioned(const char *tag, const char *nombre, const char *departamento,
                              const char *permisos, char **token, char *erp)
{
    snprintf(erp, 64, "%s", it_uid(tag));
    json_object *b = json_object_new_object();
    json_object_object_add(b, "nombre", json_object_new_string(nombre ? nombre : tag));
    if (departamento)
        json_object_object_add(b, "departamento", json_object_new_string(departamento));
    char *svc = it_service_token();
    it_free(it_must(it_req("PUT", it_fmt("/interno/usuarios/%s", erp), svc,
                           json_object_to_json_string(b)), 201));
    free(svc);
    json_object_put(b);
    *token = it_token(erp, NULL, permisos, 3600);
    return it_me_id(*token);
}

static char *it_vfmt(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    return s;
}

static PGresult *it_vsql(PGconn *c, const char *fmt, va_list ap)
{
    if (!c)
        c = it_db();
    char *sql = it_vfmt(fmt, ap);
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        fprintf(stderr, "SQL failed: %s\n  %s\n", sql, PQerrorMessage(c));
        CU_FAIL("SQL failed");
    }
    free(sql);
    return r;
}

PGresult *it_sql(PGconn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = it_vsql(c, fmt, ap);
    va_end(ap);
    return r;
}

void it_sql_exec(PGconn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PQclear(it_vsql(c, fmt, ap));
    va_end(ap);
}

long long it_sql_ll(PGconn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = it_vsql(c, fmt, ap);
    va_end(ap);
    long long v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

char *it_sql_str(PGconn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = it_vsql(c, fmt, ap);
    va_end(ap);
    char *v = strdup(PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return v;
}

const char *it_erp_of(long long id)
{
    char *v = it_sql_str(NULL, "SELECT id_erp FROM usuarios WHERE id = %lld", id);
    const char *b = it_fmt("%s", v);
    free(v);
    return b;
}

long long it_db_llf(const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    return it_db_ll(sql);
}

char *it_db_fingerprint(void)
{
    static const char sql[] =
        "SELECT concat_ws('|',"
        " (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), '')) FROM chats t),"
        " (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t.chat_id, t.usuario_id), ''))"
        "   FROM usuarios_chat t),"
        " (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), ''))"
        "   FROM usuarios_chat_historial t),"
        " (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), '')) FROM mensajes t),"
        " (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t.mensaje_id, t.usuario_id, t.emoji), ''))"
        "   FROM reacciones_mensajes t),"
        " (SELECT count(*) || '/' || coalesce(max(id), 0) FROM eventos))";
    PGresult *r = PQexec(it_db(), sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "it_db_fingerprint: %s\n", PQerrorMessage(it_db()));
        exit(2);
    }
    char *s = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return s;
}

struct it_par {
    struct it_job *job;
    pthread_barrier_t *go;
};

static void *it_par_run(void *arg)
{
    struct it_par *p = arg;
    pthread_barrier_wait(p->go);
    struct it_resp *r = it_req(p->job->method, p->job->path, p->job->token, p->job->body);
    p->job->status = r->status;
    json_object *id;
    p->job->id = r->json && json_object_is_type(r->json, json_type_object) &&
                         json_object_object_get_ex(r->json, "id", &id)
                     ? json_object_get_int64(id) : -1;
    p->job->out = strdup(r->body);
    it_free(r);
    return NULL;
}

void it_parallel(struct it_job *jobs, size_t n)
{
    pthread_t *t = calloc(n, sizeof(*t));
    struct it_par *p = calloc(n, sizeof(*p));
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        p[i].job = &jobs[i];
        p[i].go = &go;
        pthread_create(&t[i], NULL, it_par_run, &p[i]);
    }
    for (size_t i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    free(t);
    free(p);
}

long long it_group(const char *tok, const char *nombre, const long long *ids, int n)
{
    char body[1024];
    int w = snprintf(body, sizeof(body), "{\"nombre\":\"%s\",\"miembros\":[", nombre);
    for (int i = 0; i < n; i++)
        w += snprintf(body + w, sizeof(body) - (size_t)w, "%s%lld", i ? "," : "", ids[i]);
    snprintf(body + w, sizeof(body) - (size_t)w, "]}");
    struct it_resp *r = it_req("POST", "/chats", tok, body);
    CU_ASSERT_EQUAL(r->status, 201);
    long long id = it_get_ll(r, "id");
    it_free(r);
    return id;
}

long long it_send_text(const char *tok, long long chat, const char *text)
{
    struct it_resp *r = it_req("POST", it_fmt("/chats/%lld/mensajes", chat), tok,
                               it_fmt("{\"contenido\":\"%s\"}", text));
    CU_ASSERT_EQUAL(r->status, 201);
    long long id = it_get_ll(r, "id");
    it_free(r);
    return id;
}

void it_expect(struct it_resp *r, long status, const char *codigo)
{
    CU_ASSERT_EQUAL(r->status, status);
    if (r->status != status)
        fprintf(stderr, "\n  expected %ld, got %ld: %s\n", status, r->status, r->body);
    if (codigo)
        CU_ASSERT_STRING_EQUAL(it_error_code(r), codigo);
    it_free(r);
}

struct it_resp *it_must(struct it_resp *r, long status)
{
    if (r->status != status)
        fprintf(stderr, "\n  expected %ld, got %ld: %s\n", status, r->status, r->body);
    /* outside a test (set-up in main, before cu_run) CUnit has no suite to
     * record an assertion in (it aborts): a wrong status stops the run */
    if (!CU_get_current_test()) {
        if (r->status != status)
            exit(1);
        return r;
    }
    CU_ASSERT_EQUAL_FATAL(r->status, status);
    return r;
}

const char *it_bin(const char *prog)
{
    static char path[4200];
    const char *bin = getenv("CHAT_BIN");
    if (bin && *bin) {
        snprintf(path, sizeof(path), "%s/%s", bin, prog);
        return path;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return prog;
    self[n] = '\0';
    /* <build>/tests/integ/test_x -> <build>/bin/prog */
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
    }
    snprintf(path, sizeof(path), "%s/bin/%s", self, prog);
    return path;
}
