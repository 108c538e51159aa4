/* test_push.c: push delivery end to end: devices through the REST API,
 * who gets a push (the push_encolar_* functions through their C wrappers),
 * and chat-cron push / receipts against the fake Expo server
 * (tests/fake_expo/server.mjs), whose per-token counts prove that nothing
 * is lost and nothing is sent twice.
 *
 * The sending tests use a database of their own (push_t<pid>, same
 * cluster, dropped at the end): the stack runs its own `chat-cron push
 * --loop 5` against the stack's database, which must not take these rows.
 * chat-cron is $CHAT_TEST_BIN (the program or its folder), else
 * <build>/bin/chat-cron next to this executable. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "it.h"
#include "core/jsonx.h"
#include "domain/push.h"

static char cron_bin[4096];
static char fake_url[64];
static pid_t fake_pid;
static int fake_stdin = -1;
static char pdb_name[64];
static char *pdb_conninfo;
static PGconn *pdb;
static char logdir[] = "/tmp/test_push.XXXXXX";

/* The environment chat-cron runs with (reset by fresh()). */
static struct {
    const char *expo_url;
    int lease_s, max_attempts;
    const char *access_token;
} env;

/* ---- small helpers ------------------------------------------------------ */

static void msleep(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* SQL on the private database (printf-formatted; test values only). */
#define pq(...) it_sql(pdb, __VA_ARGS__)
#define px(...) it_sql_exec(pdb, __VA_ARGS__)
#define pll(...) it_sql_ll(pdb, __VA_ARGS__)
#define pstr(...) it_sql_str(pdb, __VA_ARGS__)

/* ---- the fake Expo server --------------------------------------------- */

struct buf {
    char *p;
    size_t len;
};

static size_t buf_write(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    size_t add = size * n;
    char *np = realloc(b->p, b->len + add + 1);
    if (!np)
        return 0;
    memcpy(np + b->len, p, add);
    b->len += add;
    np[b->len] = '\0';
    b->p = np;
    return add;
}

/* GET (body NULL) or POST body to the fake; returns the parsed JSON reply. */
static json_object *fake_call(const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", fake_url, path);
    CURL *c = curl_easy_init();
    struct buf b = { 0 };
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    CU_ASSERT_EQUAL_FATAL(rc, CURLE_OK);
    json_object *o = json_tokener_parse(b.p ? b.p : "");
    free(b.p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    return o;
}

static void fake_ctl(const char *json)
{
    json_object_put(fake_call("/control", json));
}

static json_object *jget(json_object *o, const char *path)
{
    char key[256];
    const char *p = path;
    while (o && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)atoi(key));
        else if (!json_object_object_get_ex(o, key, &o))
            return NULL;
        p = dot ? dot + 1 : p + n;
    }
    return o;
}

static long long jll(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v ? json_object_get_int64(v) : -1;
}

static const char *jstr(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* The fake's count field (ok, error, seen) for a token; 0 when unseen. */
static long long tok_count(json_object *stats, const char *token, const char *field)
{
    json_object *toks, *t, *v;
    if (!json_object_object_get_ex(stats, "tokens", &toks) ||
        !json_object_object_get_ex(toks, token, &t) || !json_object_object_get_ex(t, field, &v))
        return 0;
    return json_object_get_int64(v);
}

/* Checks every token of the fake that starts with prefix was delivered
 * (ok) exactly once; returns how many such tokens there were. */
static int all_once(json_object *stats, const char *prefix)
{
    json_object *toks;
    int n = 0, bad = 0;
    if (!json_object_object_get_ex(stats, "tokens", &toks))
        return 0;
    json_object_object_foreach(toks, k, v)
    {
        if (strncmp(k, prefix, strlen(prefix)) != 0)
            continue;
        n++;
        json_object *ok;
        if (!json_object_object_get_ex(v, "ok", &ok) || json_object_get_int64(ok) != 1) {
            if (bad++ < 5)
                fprintf(stderr, "token %s delivered %lld times\n", k,
                        ok ? (long long)json_object_get_int64(ok) : 0LL);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    return n;
}

/* The sizes of the requests the fake got at endpoint ("send"/"receipts"),
 * as "100,100,50". */
static char *sizes(json_object *stats, const char *endpoint)
{
    static char out[1024];
    char path[64];
    snprintf(path, sizeof(path), "%s.sizes", endpoint);
    json_object *a = jget(stats, path);
    out[0] = '\0';
    for (size_t i = 0; a && i < json_object_array_length(a); i++)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%lld", i ? "," : "",
                 (long long)json_object_get_int64(json_object_array_get_idx(a, i)));
    return out;
}

/* tests/fake_expo/server.mjs: $CHAT_TEST_FAKE_EXPO, else from the current
 * folder (make test runs from the project), else up from this program. */
static const char *fake_script(void)
{
    static char path[4300];
    const char *e = getenv("CHAT_TEST_FAKE_EXPO");
    if (e && *e)
        return e;
    if (access("tests/fake_expo/server.mjs", R_OK) == 0)
        return "tests/fake_expo/server.mjs";
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        for (int up = 0; up < 6; up++) {
            char *slash = strrchr(self, '/');
            if (!slash)
                break;
            *slash = '\0';
            snprintf(path, sizeof(path), "%s/tests/fake_expo/server.mjs", self);
            if (access(path, R_OK) == 0)
                return path;
        }
    }
    fprintf(stderr, "test_push: tests/fake_expo/server.mjs not found (set CHAT_TEST_FAKE_EXPO)\n");
    exit(2);
}

static void fake_start(void)
{
    int in[2], out[2];
    if (pipe(in) < 0 || pipe(out) < 0)
        exit(2);
    const char *script = fake_script();
    fake_pid = fork();
    if (fake_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execlp("node", "node", script, "--port", "0", "--exit-on-eof", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    fake_stdin = in[1];
    char line[128] = "";
    size_t got = 0;
    struct pollfd pfd = { out[0], POLLIN, 0 };
    while (got < sizeof(line) - 1 && !strchr(line, '\n') && poll(&pfd, 1, 15000) > 0) {
        ssize_t r = read(out[0], line + got, sizeof(line) - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        line[got] = '\0';
    }
    close(out[0]);
    int port = 0;
    if (sscanf(line, "listening %d", &port) != 1 || port <= 0) {
        fprintf(stderr, "test_push: the fake Expo server did not start (%s)\n", line);
        exit(2);
    }
    snprintf(fake_url, sizeof(fake_url), "http://127.0.0.1:%d", port);
}

static void fake_stop(void)
{
    if (fake_stdin >= 0)
        close(fake_stdin);
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
    }
}

/* ---- chat-cron -------------------------------------------------------- */

static void find_cron(void)
{
    const char *e = getenv("CHAT_TEST_BIN");
    struct stat st;
    if (e && *e) {
        if (stat(e, &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(cron_bin, sizeof(cron_bin), "%s/chat-cron", e);
        else
            snprintf(cron_bin, sizeof(cron_bin), "%s", e);
    } else {
        char self[3900];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            exit(2);
        self[n] = '\0';
        /* <build>/tests/integ/test_push -> <build>/bin/chat-cron */
        for (int i = 0; i < 3; i++)
            *strrchr(self, '/') = '\0';
        snprintf(cron_bin, sizeof(cron_bin), "%s/bin/chat-cron", self);
    }
    if (access(cron_bin, X_OK) != 0) {
        fprintf(stderr, "test_push: %s is not executable (build first, or set CHAT_TEST_BIN)\n",
                cron_bin);
        exit(2);
    }
}

/* Starts chat-cron with args (NULL-terminated) against the private
 * database and env, its output in a log file of its own (slot). */
static pid_t cron_spawn(int slot, const char *const *args)
{
    char logf[256];
    snprintf(logf, sizeof(logf), "%s/cron-%d.log", logdir, slot);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        char num[32];
        setenv("CHAT_DB_CONNINFO", pdb_conninfo, 1);
        setenv("CHAT_EXPO_URL", env.expo_url, 1);
        snprintf(num, sizeof(num), "%d", env.lease_s);
        setenv("CHAT_PUSH_LEASE_SECONDS", num, 1);
        snprintf(num, sizeof(num), "%d", env.max_attempts);
        setenv("CHAT_PUSH_MAX_ATTEMPTS", num, 1);
        setenv("CHAT_EXPO_ACCESS_TOKEN", env.access_token, 1);
        setenv("CHAT_LOG_LEVEL", "info", 1);
        const char *argv[16] = { "chat-cron" };
        int n = 1;
        for (int i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(cron_bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Waits for a chat-cron started in slot; copies its log to our stderr (the
 * test runner looks there for sanitizer reports) and returns the log
 * (malloc'd) in *log when asked. Returns the exit status, or 128 + signal. */
static int cron_wait(pid_t pid, int slot, char **log)
{
    int st;
    waitpid(pid, &st, 0);
    char logf[256];
    snprintf(logf, sizeof(logf), "%s/cron-%d.log", logdir, slot);
    FILE *f = fopen(logf, "r");
    char *text = NULL;
    size_t len = 0;
    if (f) {
        FILE *m = open_memstream(&text, &len);
        char chunk[4096];
        size_t r;
        while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
            fwrite(chunk, 1, r, m);
        fclose(m);
        fclose(f);
        fprintf(stderr, "---- chat-cron log (slot %d)\n%s", slot, text ? text : "");
    }
    if (log)
        *log = text ? text : strdup("");
    else
        free(text);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs chat-cron with up to three arguments to the end. */
static int cron_run(char **log, const char *a1, const char *a2, const char *a3)
{
    const char *args[4] = { a1, a2, a3, NULL };
    return cron_wait(cron_spawn(0, args), 0, log);
}

static int count_lines(const char *log, const char *needle)
{
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- fixtures in the private database ---------------------------------- */

/* Empty queue and devices, a forgetful fake, default chat-cron settings. */
static void fresh(void)
{
    px("DELETE FROM dispositivos_usuario");
    px("DELETE FROM queue_mensajes");
    fake_ctl("{\"reset\":true}");
    env.expo_url = fake_url;
    env.lease_s = 60;
    env.max_attempts = 8;
    env.access_token = "";
}

static int user_seq;

static long long mk_user(const char *nombre)
{
    return pll("INSERT INTO usuarios (id_erp, nombre) VALUES ('p%d_%d', '%s') RETURNING id",
               (int)getpid(), ++user_seq, nombre);
}

static long long mk_device(long long uid, const char *token)
{
    return pll("INSERT INTO dispositivos_usuario (usuario_id, token, plataforma) "
               "VALUES (%lld, '%s', 'ios') RETURNING id", uid, token);
}

/* A group chat of creator and members (0-terminated). */
static long long mk_group(const char *nombre, long long creator, const long long *members)
{
    long long c = pll("INSERT INTO chats (tipo, nombre, creado_por) VALUES ('grupo', '%s', %lld) "
                      "RETURNING id", nombre, creator);
    px("INSERT INTO usuarios_chat (chat_id, usuario_id, rol) VALUES (%lld, %lld, 'admin')", c,
       creator);
    for (int i = 0; members[i]; i++)
        px("INSERT INTO usuarios_chat (chat_id, usuario_id) VALUES (%lld, %lld)", c, members[i]);
    return c;
}

static long long mk_direct(long long a, long long b)
{
    long long c = pll("INSERT INTO chats (tipo, creado_por, directo_a, directo_b) "
                      "VALUES ('directo', %lld, %lld, %lld) RETURNING id",
                      a, a < b ? a : b, a < b ? b : a);
    px("INSERT INTO usuarios_chat (chat_id, usuario_id) VALUES (%lld, %lld), (%lld, %lld)", c, a,
       c, b);
    return c;
}

/* A message; media types get a media row. contenido may be NULL. */
static long long mk_msg(long long chat, long long autor, const char *tipo, const char *contenido)
{
    long long media = 0;
    if (strcmp(tipo, "imagen") == 0 || strcmp(tipo, "audio") == 0 ||
        strcmp(tipo, "video") == 0 || strcmp(tipo, "documento") == 0)
        media = pll("INSERT INTO media (uploader_id, storage_key, mime, tamano) "
                    "VALUES (%lld, 'k%d', 'application/octet-stream', 1) RETURNING id",
                    autor, ++user_seq);
    char *cont = contenido ? PQescapeLiteral(pdb, contenido, strlen(contenido)) : NULL;
    char mid[32] = "NULL";
    if (media)
        snprintf(mid, sizeof(mid), "%lld", media);
    char aid[32] = "NULL";
    if (autor)
        snprintf(aid, sizeof(aid), "%lld", autor);
    long long id = pll("INSERT INTO mensajes (chat_id, autor_id, tipo, contenido, media_id) "
                       "VALUES (%lld, %s, '%s', %s, %s) RETURNING id",
                       chat, aid, tipo, cont ? cont : "NULL", mid);
    PQfreemem(cont);
    return id;
}

/* n devices with tokens ExponentPushToken[<prefix><i>] (one user) and one
 * pendiente row each, due now. */
static void mk_bulk(const char *prefix, int n)
{
    long long u = mk_user("Bulk");
    px("WITH d AS (INSERT INTO dispositivos_usuario (usuario_id, token, plataforma) "
       "   SELECT %lld, 'ExponentPushToken[%s' || g || ']', 'android' "
       "     FROM generate_series(1, %d) g RETURNING id, usuario_id, token) "
       "INSERT INTO queue_mensajes (dispositivo_id, usuario_id, token, item_tipo, item_id, payload) "
       "SELECT id, usuario_id, token, 'mensaje', id, "
       "       jsonb_build_object('to', token, 'title', 'T', 'body', 'B', 'sound', 'default') "
       "  FROM d",
       u, prefix, n);
}

/* A queue row for one token (device created), due now. */
static long long mk_row(const char *token)
{
    long long u = mk_user("Uno");
    long long d = mk_device(u, token);
    return pll("INSERT INTO queue_mensajes (dispositivo_id, usuario_id, token, item_tipo, item_id, "
               "payload) VALUES (%lld, %lld, '%s', 'mensaje', %lld, "
               "jsonb_build_object('to', '%s'::text, 'title', 'T', 'body', 'B')) RETURNING id",
               d, u, token, d, token);
}

static long long count_estado(const char *estado)
{
    return pll("SELECT count(*) FROM queue_mensajes WHERE estado = '%s'", estado);
}

/* ---- devices through the REST API (the stack's database) ------------------ */

static struct it_resp *reg(const char *tok, const char *token, const char *plataforma)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"token\":\"%s\",\"plataforma\":\"%s\"}", token, plataforma);
    return it_req("POST", "/dispositivos", tok, body);
}

static void test_push__devices_register_and_validate(void)
{
    char *ta = it_token(it_uid("dev_a"), "Ana", NULL, 600);
    char token[128], token2[128];
    snprintf(token, sizeof(token), "ExponentPushToken[%s]", it_uid("tok"));
    snprintf(token2, sizeof(token2), "ExpoPushToken[%s]", it_uid("tok"));

    struct it_resp *r = reg(ta, token, "ios");
    it_must(r, 201);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "token"), token);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "plataforma"), "ios");
    CU_ASSERT(it_get_ll(r, "id") > 0);
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "created_at"));
    it_free(r);
    /* again: already mine, 200; the platform may change */
    r = reg(ta, token, "android");
    it_must(r, 200);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "plataforma"), "android");
    it_free(r);
    r = reg(ta, token2, "web");
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM dispositivos_usuario WHERE token IN ('%s', '%s') "
                            "AND usuario_id = %lld", token, token2, it_me_id(ta)), 2);

    /* bad input changes nothing */
    static const char *const bad_bodies[] = {
        "{\"token\":\"abc\",\"plataforma\":\"ios\"}",
        "{\"token\":\"ExponentPushToken[]\",\"plataforma\":\"ios\"}",
        "{\"token\":\"ExponentPushToken[a b]\",\"plataforma\":\"ios\"}",
        "{\"token\":\"ExponentPushToken[abc\",\"plataforma\":\"ios\"}",
        "{\"token\":\"exponentpushtoken[abc]\",\"plataforma\":\"ios\"}",
        "{\"token\":\"ExponentPushToken[a]b]\",\"plataforma\":\"ios\"}",
        "{\"token\":\"ExponentPushToken[zzbad1]\",\"plataforma\":\"windows\"}",
        "{\"token\":\"ExponentPushToken[zzbad2]\"}",
        "{\"plataforma\":\"ios\"}",
        "{\"token\":42,\"plataforma\":\"ios\"}",
        "{\"token\":\"ExponentPushToken[zzbad3]\",\"plataforma\":1}",
        NULL,
    };
    for (int i = 0; bad_bodies[i]; i++) {
        r = it_req("POST", "/dispositivos", ta, bad_bodies[i]);
        CU_ASSERT_EQUAL(r->status, 400);
        CU_ASSERT_STRING_EQUAL(it_error_code(r), "solicitud_invalida");
        it_free(r);
    }
    char longtok[400];
    snprintf(longtok, sizeof(longtok), "ExponentPushToken[%0300d]", 7);
    r = reg(ta, longtok, "ios");
    CU_ASSERT_EQUAL(r->status, 400);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM dispositivos_usuario WHERE token LIKE '%%zzbad%%' "
                            "OR token = 'abc'"), 0);
    /* no token, no device */
    r = it_req("POST", "/dispositivos", NULL, "{\"token\":\"ExponentPushToken[x]\",\"plataforma\":\"ios\"}");
    CU_ASSERT_EQUAL(r->status, 401);
    it_free(r);
    free(ta);
}

static void test_push__devices_move_and_unregister(void)
{
    char *ta = it_token(it_uid("mv_a"), "Ana", NULL, 600);
    char *tb = it_token(it_uid("mv_b"), "Beto", NULL, 600);
    long long a = it_me_id(ta), b = it_me_id(tb);
    char token[128], path[256];
    snprintf(token, sizeof(token), "ExponentPushToken[%s]", it_uid("mv"));
    struct it_resp *r = reg(ta, token, "ios");
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    /* a's rows for that device: one still to send (not due, so the stack's
     * sender leaves it alone), one delivered */
    it_db_llf("WITH x AS (INSERT INTO queue_mensajes (dispositivo_id, usuario_id, token, item_tipo, "
            "item_id, payload, estado, next_attempt_at) "
            "SELECT id, usuario_id, token, 'mensaje', v, '{}', e, now() + interval '1 day' "
            "  FROM dispositivos_usuario, (VALUES (1, 'pendiente'), (2, 'entregado')) s(v, e) "
            " WHERE token = '%s' RETURNING 1) SELECT count(*) FROM x", token);
    /* b registers the same token: it moves, a's pending row goes */
    r = reg(tb, token, "android");
    CU_ASSERT_EQUAL(r->status, 201);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT usuario_id FROM dispositivos_usuario WHERE token = '%s'", token), b);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM queue_mensajes q JOIN dispositivos_usuario d "
                            "ON d.id = q.dispositivo_id WHERE d.token = '%s' AND q.estado = 'pendiente'",
                            token), 0);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM queue_mensajes q JOIN dispositivos_usuario d "
                            "ON d.id = q.dispositivo_id WHERE d.token = '%s' AND q.estado = 'entregado'",
                            token), 1);
    /* a can no longer unregister it (204, nothing happens) */
    char *enc = curl_easy_escape(NULL, token, 0);
    snprintf(path, sizeof(path), "/dispositivos/%s", enc);
    curl_free(enc);
    r = it_req("DELETE", path, ta, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM dispositivos_usuario WHERE token = '%s'", token), 1);
    /* b can, and again is fine */
    r = it_req("DELETE", path, tb, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    CU_ASSERT_EQUAL(r->len, 0);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM dispositivos_usuario WHERE token = '%s'", token), 0);
    r = it_req("DELETE", path, tb, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    r = it_req("DELETE", "/dispositivos/nada", tb, NULL);
    CU_ASSERT_EQUAL(r->status, 204);
    it_free(r);
    r = it_req("DELETE", path, NULL, NULL);
    CU_ASSERT_EQUAL(r->status, 401);
    it_free(r);
    (void)a;
    free(ta);
    free(tb);
}

/* ---- who gets a push (private database, C wrappers) ----------------------- */

static struct db *wdb;
static struct arena *wa;

static long long enqueue_msg(long long mensaje_id)
{
    struct err e = { 0 };
    arena_reset(wa);
    long long n = push_enqueue_message(wdb, wa, mensaje_id, &e);
    CU_ASSERT(n >= 0);
    return n;
}

static long long rows_for_user(long long uid)
{
    return pll("SELECT count(*) FROM queue_mensajes WHERE usuario_id = %lld", uid);
}

static void test_push__enqueue_rules(void)
{
    fresh();
    long long A = mk_user("Ana"), B = mk_user("Beto"), C = mk_user("Carla"),
              D = mk_user("Dora"), E = mk_user("Eva"), F = mk_user("Fito"), G = mk_user("Gus"),
              H = mk_user("Hugo"), I = mk_user("Iris");
    mk_device(A, "ExponentPushToken[r-a]");
    mk_device(B, "ExponentPushToken[r-b1]");
    mk_device(B, "ExpoPushToken[r-b2]");
    mk_device(C, "ExponentPushToken[r-c]");
    mk_device(D, "ExponentPushToken[r-d]");
    mk_device(E, "ExponentPushToken[r-e]");
    mk_device(F, "ExponentPushToken[r-f]");
    mk_device(G, "ExponentPushToken[r-g]");
    mk_device(I, "ExponentPushToken[r-i]");
    px("UPDATE usuarios SET vacaciones = true WHERE id = %lld", D);                  /* on vacation */
    px("UPDATE usuarios SET vacaciones = true, vacaciones_hasta = current_date - 1 "
       "WHERE id = %lld", E);                                                           /* it ended */
    px("UPDATE usuarios SET estatus = 'en_linea' WHERE id = %lld", F);
    px("UPDATE usuarios SET activo = false WHERE id = %lld", G);
    px("UPDATE usuarios SET estatus = 'inactivo' WHERE id = %lld", I);                 /* idle: gets it */
    long long members[] = { B, C, D, E, F, G, H, I, 0 };
    long long chat = mk_group("Equipo", A, members);
    px("UPDATE usuarios_chat SET silenciado = true WHERE chat_id = %lld AND usuario_id = %lld", chat, C);

    /* B's badge: unread elsewhere, 2 from others (one more deleted, one
     * own, one sistema do not count), plus one unread announcement */
    long long members2[] = { B, 0 };
    long long other = mk_group("Otro", A, members2);
    mk_msg(other, A, "texto", "uno");
    mk_msg(other, A, "texto", "dos");
    px("UPDATE mensajes SET deleted_at = now() WHERE id = %lld", mk_msg(other, A, "texto", "x"));
    mk_msg(other, B, "texto", "mío");
    mk_msg(other, 0, "sistema", "Ana agregó a Beto");
    long long k0 = pll("INSERT INTO comunicados (autor_id, titulo) VALUES (%lld, 'Aviso') "
                       "RETURNING id", A);
    px("INSERT INTO comunicado_destinatarios (comunicado_id, usuario_id) VALUES (%lld, %lld)", k0, B);

    char text[260];
    memset(text, 'x', 200);
    text[200] = '\0';
    long long m = mk_msg(chat, A, "texto", text);
    /* B (2 devices), E and I; not A (author), C (muted), D (vacation),
     * F (online), G (deactivated), H (no device) */
    CU_ASSERT_EQUAL(enqueue_msg(m), 4);
    CU_ASSERT_EQUAL(rows_for_user(B), 2);
    CU_ASSERT_EQUAL(rows_for_user(E), 1);
    CU_ASSERT_EQUAL(rows_for_user(I), 1);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE usuario_id IN (%lld, %lld, %lld, "
                        "%lld, %lld, %lld)", A, C, D, F, G, H), 0);
    /* a retry adds nothing */
    CU_ASSERT_EQUAL(enqueue_msg(m), 0);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes"), 4);

    /* the payload */
    char *p = pstr("SELECT payload FROM queue_mensajes WHERE token = 'ExponentPushToken[r-b1]'");
    json_object *o = json_tokener_parse(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(jstr(o, "to"), "ExponentPushToken[r-b1]");
    CU_ASSERT_STRING_EQUAL(jstr(o, "title"), "Equipo");
    CU_ASSERT_STRING_EQUAL(jstr(o, "sound"), "default");
    CU_ASSERT_STRING_EQUAL(jstr(o, "data.tipo"), "mensaje");
    CU_ASSERT_EQUAL(jll(o, "data.chat_id"), chat);
    CU_ASSERT_EQUAL(jll(o, "data.mensaje_id"), m);
    CU_ASSERT_EQUAL(jll(o, "badge"), 1 + 2 + 1);
    const char *body = jstr(o, "body");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_EQUAL(jsonx_utf8_chars(body), 180);
    CU_ASSERT_STRING_EQUAL(body + strlen(body) - 3, "…");
    json_object_put(o);
    free(p);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE item_tipo = 'mensaje' AND item_id = "
                        "%lld AND estado = 'pendiente' AND payload->>'to' = token", m), 4);

    /* rolled back with the message's transaction */
    struct err e = { 0 };
    arena_reset(wa);
    CU_ASSERT_EQUAL(db_begin(wdb, &e), 0);
    const char *ip[2] = { db_ll(wa, chat), db_ll(wa, A) };
    PGresult *r = db_exec(wdb, wa,
                          "INSERT INTO mensajes (chat_id, autor_id, tipo, contenido) "
                          "VALUES ($1, $2, 'texto', 'deshecho') RETURNING id", 2, ip, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    long long gone = db_get_ll(r, 0, 0);
    /* inside a transaction the call is deferred to the next statement */
    CU_ASSERT_EQUAL(push_enqueue_message(wdb, wa, gone, &e), 0);
    const char *gp[1] = { db_ll(wa, gone) };
    r = db_exec(wdb, wa, "SELECT count(*) FROM queue_mensajes WHERE item_id = $1", 1, gp, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(db_get_ll(r, 0, 0), 4);
    db_rollback(wdb);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE item_id = %lld", gone), 0);

    /* sistema and deleted messages push nothing */
    CU_ASSERT_EQUAL(enqueue_msg(mk_msg(chat, 0, "sistema", "Ana cambió el nombre")), 0);
    long long del = mk_msg(chat, A, "texto", "borrado");
    px("UPDATE mensajes SET deleted_at = now() WHERE id = %lld", del);
    CU_ASSERT_EQUAL(enqueue_msg(del), 0);

    /* B unmutes nothing, C unmutes: C gets the next one */
    px("UPDATE usuarios_chat SET silenciado = false WHERE chat_id = %lld AND usuario_id = %lld", chat, C);
    CU_ASSERT_EQUAL(enqueue_msg(mk_msg(chat, A, "texto", "hola")), 5);
}

static char *body_of(long long item, const char *token)
{
    return pstr("SELECT payload->>'body' FROM queue_mensajes WHERE item_id = %lld AND token = '%s'",
                item, token);
}

static void test_push__enqueue_payloads(void)
{
    fresh();
    long long A = mk_user("Ana López"), B = mk_user("Beto");
    mk_device(A, "ExponentPushToken[l-a]");
    mk_device(B, "ExponentPushToken[l-b]");
    long long dchat = mk_direct(A, B);
    /* 1:1: the title is the sender's name */
    long long m = mk_msg(dchat, A, "texto", "hola Beto");
    CU_ASSERT_EQUAL(enqueue_msg(m), 1);
    char *s = pstr("SELECT payload->>'title' FROM queue_mensajes WHERE item_id = %lld", m);
    CU_ASSERT_STRING_EQUAL(s, "Ana López");
    free(s);
    s = body_of(m, "ExponentPushToken[l-b]");
    CU_ASSERT_STRING_EQUAL(s, "hola Beto");
    free(s);

    static const struct {
        const char *tipo, *contenido, *body;
    } cases[] = {
        { "imagen", NULL, "📷 Imagen" },
        { "imagen", "  ", "📷 Imagen" },
        { "imagen", "la playa", "📷 la playa" },
        { "audio", NULL, "🎤 Audio" },
        { "video", NULL, "🎬 Video" },
        { "documento", NULL, "📄 Documento" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long id = mk_msg(dchat, B, cases[i].tipo, cases[i].contenido);
        CU_ASSERT_EQUAL(enqueue_msg(id), 1);
        s = body_of(id, "ExponentPushToken[l-a]");
        CU_ASSERT_STRING_EQUAL(s, cases[i].body);
        free(s);
    }
    /* a poll: its own item type, the question in the body */
    long long poll = mk_msg(dchat, B, "encuesta", NULL);
    px("INSERT INTO encuestas (mensaje_id, pregunta) VALUES (%lld, '¿Pizza o tacos?')", poll);
    CU_ASSERT_EQUAL(enqueue_msg(poll), 1);
    s = body_of(poll, "ExponentPushToken[l-a]");
    CU_ASSERT_STRING_EQUAL(s, "📊 Encuesta: ¿Pizza o tacos?");
    free(s);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE item_tipo = 'encuesta' AND "
                        "item_id = %lld AND payload->'data'->>'tipo' = 'encuesta'", poll), 1);
    /* multi-byte text is cut by characters, not bytes */
    char text[800] = "";
    for (int i = 0; i < 200; i++)
        strcat(text, "ñ");
    long long mb = mk_msg(dchat, A, "texto", text);
    CU_ASSERT_EQUAL(enqueue_msg(mb), 1);
    CU_ASSERT_EQUAL(pll("SELECT char_length(payload->>'body') FROM queue_mensajes WHERE item_id = %lld",
                        mb), 180);

    /* a reaction goes to the message's author only, once per event */
    struct err e = { 0 };
    arena_reset(wa);
    long long ev = pll("INSERT INTO eventos (tipo, sala, payload) VALUES ('mensaje:reaccion', 'chat:1', "
                       "'{}') RETURNING id");
    CU_ASSERT_EQUAL(push_enqueue_reaction(wdb, wa, ev, m, B, "👍", &e), 1);
    CU_ASSERT_EQUAL(push_enqueue_reaction(wdb, wa, ev, m, B, "👍", &e), 0);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE item_tipo = 'reaccion' AND item_id = "
                        "%lld AND usuario_id = %lld AND payload->'data'->>'tipo' = 'reaccion' "
                        "AND (payload->'data'->>'mensaje_id')::bigint = %lld", ev, A, m), 1);
    s = pstr("SELECT payload->>'body' FROM queue_mensajes WHERE item_tipo = 'reaccion' AND item_id = %lld",
             ev);
    CU_ASSERT_STRING_EQUAL(s, "Beto reaccionó 👍 a tu mensaje: hola Beto");
    free(s);
    /* my own reaction, or a muted chat, or being online: nothing */
    CU_ASSERT_EQUAL(push_enqueue_reaction(wdb, wa, ev + 1000000, m, A, "👍", &e), 0);
    px("UPDATE usuarios_chat SET silenciado = true WHERE chat_id = %lld AND usuario_id = %lld", dchat, A);
    CU_ASSERT_EQUAL(push_enqueue_reaction(wdb, wa, ev + 1000001, m, B, "🎉", &e), 0);
    px("UPDATE usuarios_chat SET silenciado = false WHERE chat_id = %lld AND usuario_id = %lld", dchat, A);
    px("UPDATE usuarios SET estatus = 'en_linea' WHERE id = %lld", A);
    CU_ASSERT_EQUAL(push_enqueue_reaction(wdb, wa, ev + 1000002, m, B, "🎉", &e), 0);
    px("UPDATE usuarios SET estatus = 'desconectado' WHERE id = %lld", A);

    /* an announcement: vacation does not stop it, being online does */
    long long V = mk_user("Vera"), O = mk_user("Omar"), X = mk_user("Xavi");
    mk_device(V, "ExponentPushToken[l-v]");
    mk_device(O, "ExponentPushToken[l-o]");
    mk_device(X, "ExponentPushToken[l-x]");
    px("UPDATE usuarios SET vacaciones = true WHERE id = %lld", V);
    px("UPDATE usuarios SET estatus = 'en_linea' WHERE id = %lld", O);
    px("UPDATE usuarios SET activo = false WHERE id = %lld", X);
    long long k = pll("INSERT INTO comunicados (autor_id, titulo, contenido) VALUES "
                      "(%lld, 'Cierre anual', 'El viernes cerramos a las 14:00') RETURNING id", A);
    px("INSERT INTO comunicado_destinatarios (comunicado_id, usuario_id) "
       "VALUES (%lld, %lld), (%lld, %lld), (%lld, %lld), (%lld, %lld), (%lld, %lld)",
       k, A, k, B, k, V, k, O, k, X);
    arena_reset(wa);
    CU_ASSERT_EQUAL(push_enqueue_comunicado(wdb, wa, k, &e), 2);   /* B and V */
    CU_ASSERT_EQUAL(push_enqueue_comunicado(wdb, wa, k, &e), 0);
    char *p = pstr("SELECT payload FROM queue_mensajes WHERE item_tipo = 'comunicado' AND usuario_id = %lld",
                   V);
    json_object *o = json_tokener_parse(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(jstr(o, "title"), "Cierre anual");
    CU_ASSERT_STRING_EQUAL(jstr(o, "body"), "El viernes cerramos a las 14:00");
    CU_ASSERT_STRING_EQUAL(jstr(o, "data.tipo"), "comunicado");
    CU_ASSERT_EQUAL(jll(o, "data.comunicado_id"), k);
    CU_ASSERT_EQUAL(jll(o, "badge"), 1);
    CU_ASSERT_PTR_NULL(jget(o, "data.chat_id"));
    json_object_put(o);
    free(p);
}

/* ---- sending ------------------------------------------------------------ */

static void test_push__batches_of_100_and_tickets(void)
{
    fresh();
    mk_bulk("bat", 250);
    env.access_token = "s3cr3t-token";
    fake_ctl("{\"access_token\":\"s3cr3t-token\"}");
    char *log;
    CU_ASSERT_EQUAL(cron_run(&log, "push", NULL, NULL), 0);
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_STRING_EQUAL(sizes(st, "send"), "100,100,50");
    CU_ASSERT_EQUAL(all_once(st, "ExponentPushToken[bat"), 250);
    CU_ASSERT_EQUAL(count_estado("enviado"), 250);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE ticket_id IS NOT NULL AND sent_at "
                        "IS NOT NULL AND lease_until IS NULL AND intentos = 1"), 250);
    CU_ASSERT_EQUAL(pll("SELECT count(DISTINCT ticket_id) FROM queue_mensajes"), 250);
    CU_ASSERT_EQUAL(jll(st, "tickets"), 250);
    /* Expo's headers */
    CU_ASSERT_STRING_EQUAL(jstr(st, "headers.accept"), "application/json");
    CU_ASSERT_STRING_EQUAL(jstr(st, "headers.content-type"), "application/json");
    const char *ae = jstr(st, "headers.accept-encoding");
    CU_ASSERT(ae && strstr(ae, "gzip") && strstr(ae, "deflate"));
    CU_ASSERT_STRING_EQUAL(jstr(st, "headers.authorization"), "Bearer s3cr3t-token");
    /* one log line per batch */
    CU_ASSERT_EQUAL(count_lines(log, "event=push_batch"), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "event=push_batch rows=100 ok=100"));
    json_object_put(st);
    free(log);
    /* a second pass finds nothing to send */
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(jll(st, "send.requests"), 3);
    json_object_put(st);
}

static void test_push__ticket_errors(void)
{
    fresh();
    long long u = mk_user("Errores");
    long long dn = mk_device(u, "ExponentPushToken[unregistered-1]");
    /* two rows for the unregistered device */
    px("INSERT INTO queue_mensajes (dispositivo_id, usuario_id, token, item_tipo, item_id, payload) "
       "SELECT %lld, %lld, 'ExponentPushToken[unregistered-1]', 'mensaje', g, "
       "jsonb_build_object('to', 'ExponentPushToken[unregistered-1]', 'body', 'b') "
       "FROM generate_series(1, 2) g", dn, u);
    long long ok = mk_row("ExponentPushToken[fine-1]");
    long long big = mk_row("ExponentPushToken[toobig-1]");
    long long creds = mk_row("ExponentPushToken[badcreds-1]");
    long long rate = mk_row("ExponentPushToken[ratelimit-1]");
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    /* DeviceNotRegistered: the device and its rows are gone */
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM dispositivos_usuario WHERE id = %lld", dn), 0);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE dispositivo_id = %lld", dn), 0);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld AND estado = 'enviado'", ok), 1);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld AND estado = 'muerto' "
                        "AND error LIKE 'MessageTooBig%%'", big), 1);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld AND estado = 'muerto' "
                        "AND error LIKE 'InvalidCredentials%%'", creds), 1);
    /* MessageRateExceeded is tried again later */
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld AND estado = 'pendiente' "
                        "AND intentos = 1 AND next_attempt_at > now() AND error LIKE "
                        "'MessageRateExceeded%%'", rate), 1);
    /* the dead are never retried: the next pass sends nothing */
    px("UPDATE queue_mensajes SET next_attempt_at = now() WHERE id = %lld", rate);
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(jll(st, "send.requests"), 2);
    CU_ASSERT_STRING_EQUAL(sizes(st, "send"), "6,1");
    CU_ASSERT_EQUAL(tok_count(st, "ExponentPushToken[toobig-1]", "seen"), 1);
    CU_ASSERT_EQUAL(tok_count(st, "ExponentPushToken[ratelimit-1]", "seen"), 2);
    json_object_put(st);
}

static void test_push__bad_request_is_split(void)
{
    fresh();
    mk_bulk("split", 5);
    /* a row whose message Expo refuses as a whole request (400) */
    long long u = mk_user("Mal");
    long long d = mk_device(u, "ExponentPushToken[broken-1]");
    long long bad = pll("INSERT INTO queue_mensajes (dispositivo_id, usuario_id, token, item_tipo, "
                        "item_id, payload) VALUES (%lld, %lld, 'ExponentPushToken[broken-1]', "
                        "'mensaje', 1, '{\"to\": 5}') RETURNING id", d, u);
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(all_once(st, "ExponentPushToken[split"), 5);
    json_object_put(st);
    CU_ASSERT_EQUAL(count_estado("enviado"), 5);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld AND estado = 'muerto' "
                        "AND error LIKE 'VALIDATION_ERROR%%'", bad), 1);
}

static void test_push__429_retry_after_then_delivered(void)
{
    fresh();
    mk_bulk("r429-", 3);
    fake_ctl("{\"fail_next\":1,\"fail_status\":429,\"retry_after\":4}");
    char *log;
    CU_ASSERT_EQUAL(cron_run(&log, "push", NULL, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "retry_after_s=4"));
    free(log);
    CU_ASSERT_EQUAL(count_estado("pendiente"), 3);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE intentos = 1 AND error LIKE "
                        "'%%TOO_MANY_REQUESTS%%'"), 3);
    /* Retry-After wins over the first backoff (at most 1 s) */
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE next_attempt_at - updated_at "
                        "BETWEEN interval '3.9 seconds' AND interval '4.1 seconds'"), 3);
    /* not due yet: nothing is sent */
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(jll(st, "send.requests"), 1);
    json_object_put(st);
    /* due: delivered once */
    px("UPDATE queue_mensajes SET next_attempt_at = now()");
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(all_once(st, "ExponentPushToken[r429-"), 3);
    CU_ASSERT_EQUAL(tok_count(st, "ExponentPushToken[r429-1]", "seen"), 2);
    json_object_put(st);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE estado = 'enviado' AND intentos = 2 "
                        "AND error IS NULL"), 3);
}

static void test_push__500_and_network_errors_back_off(void)
{
    fresh();
    mk_bulk("r500-", 2);
    fake_ctl("{\"fail_next\":2,\"fail_status\":500}");
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    /* first backoff: 1 s with jitter in its upper half */
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE estado = 'pendiente' AND intentos = 1 "
                        "AND next_attempt_at - updated_at BETWEEN interval '0.49 s' AND interval '1.01 s'"),
                    2);
    /* wait for the backoff itself */
    double t0 = now_s();
    while (pll("SELECT count(*) FROM queue_mensajes WHERE next_attempt_at <= now()") < 2 &&
           now_s() - t0 < 5)
        msleep(50);
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    /* second backoff: 2 s with jitter */
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE estado = 'pendiente' AND intentos = 2 "
                        "AND next_attempt_at - updated_at BETWEEN interval '0.99 s' AND interval '2.01 s'"),
                    2);
    /* a network error is retried the same way */
    px("UPDATE queue_mensajes SET next_attempt_at = now()");
    env.expo_url = "http://127.0.0.1:9";
    char *log;
    CU_ASSERT_EQUAL(cron_run(&log, "push", NULL, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "event=push_retry"));
    free(log);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE estado = 'pendiente' AND intentos = 3 "
                        "AND next_attempt_at > now()"), 2);
    env.expo_url = fake_url;
    px("UPDATE queue_mensajes SET next_attempt_at = now()");
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(all_once(st, "ExponentPushToken[r500-"), 2);
    CU_ASSERT_EQUAL(jll(st, "send.requests"), 3);
    json_object_put(st);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE estado = 'enviado' AND intentos = 4"), 2);
}

static void test_push__max_attempts_then_muerto(void)
{
    fresh();
    mk_bulk("max-", 2);
    env.max_attempts = 2;
    fake_ctl("{\"fail_next\":10,\"fail_status\":503}");
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    CU_ASSERT_EQUAL(count_estado("pendiente"), 2);
    px("UPDATE queue_mensajes SET next_attempt_at = now()");
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE estado = 'muerto' AND intentos = 2 "
                        "AND error LIKE '%%gave up after 2 attempts%%'"), 2);
    /* never again */
    px("UPDATE queue_mensajes SET next_attempt_at = now()");
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(jll(st, "send.requests"), 2);
    CU_ASSERT_EQUAL(tok_count(st, "ExponentPushToken[max-1]", "ok"), 0);
    json_object_put(st);
}

static void test_push__receipts(void)
{
    fresh();
    mk_bulk("rc-ok-", 3);
    long long gone = mk_row("ExponentPushToken[rcptgone-1]");
    long long rate = mk_row("ExponentPushToken[rcptrate-1]");
    long long big = mk_row("ExponentPushToken[rcptbig-1]");
    long long none = mk_row("ExponentPushToken[rcptnone-1]");
    long long gone_dev = pll("SELECT dispositivo_id FROM queue_mensajes WHERE id = %lld", gone);
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    CU_ASSERT_EQUAL(count_estado("enviado"), 7);
    /* by default only tickets 15 minutes old are asked about */
    CU_ASSERT_EQUAL(cron_run(NULL, "receipts", NULL, NULL), 0);
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(jll(st, "receipts.requests"), 0);
    json_object_put(st);
    char *log;
    CU_ASSERT_EQUAL(cron_run(&log, "receipts", "--min-age", "0"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "event=receipts asked=7 delivered=3 failed=2 requeued=1 "
                                       "devices_deleted=1 waiting=1"));
    free(log);
    CU_ASSERT_EQUAL(count_estado("entregado"), 3);
    /* DeviceNotRegistered: the token is deleted (its rows with it) */
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM dispositivos_usuario WHERE id = %lld", gone_dev), 0);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld", gone), 0);
    /* MessageRateExceeded: queued again without its ticket */
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld AND estado = 'pendiente' "
                        "AND ticket_id IS NULL AND next_attempt_at > now()", rate), 1);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld AND estado = 'fallido' "
                        "AND error LIKE 'MessageTooBig%%'", big), 1);
    /* no receipt yet: still waiting; after 24 hours: unknown */
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld AND estado = 'enviado'", none), 1);
    px("UPDATE queue_mensajes SET sent_at = now() - interval '25 hours' WHERE id = %lld", none);
    CU_ASSERT_EQUAL(cron_run(NULL, "receipts", "--min-age", "0"), 0);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld AND estado = 'desconocido'",
                        none), 1);
    /* the re-queued row is sent again and confirmed */
    px("UPDATE queue_mensajes SET next_attempt_at = now() WHERE id = %lld", rate);
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE id = %lld AND estado = 'enviado' "
                        "AND ticket_id IS NOT NULL", rate), 1);
    /* an Expo failure changes nothing */
    px("UPDATE queue_mensajes SET estado = 'enviado' WHERE estado = 'entregado'");
    fake_ctl("{\"fail_next\":1,\"fail_status\":500,\"fail_path\":\"receipts\"}");
    CU_ASSERT_EQUAL(cron_run(NULL, "receipts", "--min-age", "0"), 0);
    CU_ASSERT_EQUAL(count_estado("enviado"), 4);
}

static void test_push__receipts_at_most_1000_per_request(void)
{
    fresh();
    long long u = mk_user("Recibos");
    long long d = mk_device(u, "ExponentPushToken[many]");
    px("INSERT INTO queue_mensajes (dispositivo_id, usuario_id, token, item_tipo, item_id, payload, "
       "estado, ticket_id, sent_at, intentos) "
       "SELECT %lld, %lld, 'ExponentPushToken[many]', 'mensaje', g, '{}', 'enviado', "
       "'unknown-ticket-' || g, now() - interval '1 minute' - g * interval '1 ms', 1 "
       "FROM generate_series(1, 2500) g", d, u);
    CU_ASSERT_EQUAL(cron_run(NULL, "receipts", "--min-age", "0"), 0);
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_STRING_EQUAL(sizes(st, "receipts"), "1000,1000,500");
    CU_ASSERT_EQUAL(jll(st, "receipts.ids"), 2500);
    json_object_put(st);
    /* Expo had none of them: all still waiting */
    CU_ASSERT_EQUAL(count_estado("enviado"), 2500);
}

/* Sends n rows with `senders` chat-cron push processes at once. */
static void test_push__concurrent_senders_never_send_twice(void)
{
    fresh();
    mk_bulk("conc-", 1200);
    fake_ctl("{\"delay_ms\":100}");
    enum { SENDERS = 3 };
    pid_t pids[SENDERS];
    const char *args[] = { "push", NULL };
    for (int i = 0; i < SENDERS; i++)
        pids[i] = cron_spawn(i + 1, args);
    int batches[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        char *log;
        CU_ASSERT_EQUAL(cron_wait(pids[i], i + 1, &log), 0);
        batches[i] = count_lines(log, "event=push_batch");
        free(log);
    }
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(all_once(st, "ExponentPushToken[conc-"), 1200);
    long long requests = jll(st, "send.requests");
    CU_ASSERT(requests >= 12);
    CU_ASSERT_EQUAL(jll(st, "aborted"), 0);
    json_object_put(st);
    CU_ASSERT_EQUAL(count_estado("enviado"), 1200);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE intentos = 1"), 1200);
    /* they really ran side by side */
    CU_ASSERT_EQUAL(batches[0] + batches[1] + batches[2], requests);
    int busy = 0;
    for (int i = 0; i < SENDERS; i++)
        busy += batches[i] > 0;
    CU_ASSERT(busy >= 2);
}

static void test_push__sigkill_mid_batch_loses_nothing(void)
{
    fresh();
    mk_bulk("kill-", 150);
    env.lease_s = 5;
    fake_ctl("{\"delay_ms\":3000}");
    const char *args[] = { "push", NULL };
    pid_t pid = cron_spawn(1, args);
    /* wait until the fake holds the first request, then kill the sender */
    double t0 = now_s();
    for (;;) {
        json_object *st = fake_call("/stats", NULL);
        long long n = jll(st, "send.requests");
        json_object_put(st);
        if (n >= 1 || now_s() - t0 > 10)
            break;
        msleep(20);
    }
    kill(pid, SIGKILL);
    CU_ASSERT_EQUAL(cron_wait(pid, 1, NULL), 128 + SIGKILL);
    CU_ASSERT_EQUAL(count_estado("enviando"), 100);
    CU_ASSERT_EQUAL(count_estado("pendiente"), 50);
    fake_ctl("{\"delay_ms\":0}");
    /* another sender at once takes only the free rows: the leased ones wait */
    CU_ASSERT_EQUAL(cron_run(NULL, "push", NULL, NULL), 0);
    CU_ASSERT_EQUAL(count_estado("enviando"), 100);
    CU_ASSERT_EQUAL(count_estado("enviado"), 50);
    /* once the lease has passed, they come back, and go once */
    t0 = now_s();
    while (pll("SELECT count(*) FROM queue_mensajes WHERE estado = 'enviando' AND lease_until >= now()") >
               0 && now_s() - t0 < 10)
        msleep(100);
    /* the held response found its client gone: Expo's side never answered */
    while (now_s() - t0 < 10) {
        json_object *st = fake_call("/stats", NULL);
        long long ab = jll(st, "aborted");
        json_object_put(st);
        if (ab >= 1)
            break;
        msleep(100);
    }
    char *log;
    CU_ASSERT_EQUAL(cron_run(&log, "push", NULL, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "event=push_lease_expired rows=100"));
    free(log);
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(all_once(st, "ExponentPushToken[kill-"), 150);
    CU_ASSERT_EQUAL(jll(st, "aborted"), 1);
    json_object_put(st);
    CU_ASSERT_EQUAL(count_estado("enviado"), 150);
    CU_ASSERT_EQUAL(pll("SELECT count(*) FROM queue_mensajes WHERE intentos = 2"), 100);
}

static void test_push__loop_mode_and_sigterm(void)
{
    fresh();
    const char *args[] = { "push", "--loop", "1", NULL };
    pid_t pid = cron_spawn(1, args);
    const char *rargs[] = { "receipts", "--loop", "1", "--min-age", "0", NULL };
    pid_t rpid = cron_spawn(2, rargs);
    msleep(300);
    mk_bulk("loop-", 20);
    /* the loop picks them up within a pass or two, receipts confirm them */
    double t0 = now_s();
    while (count_estado("entregado") < 20 && now_s() - t0 < 10)
        msleep(100);
    CU_ASSERT_EQUAL(count_estado("entregado"), 20);
    kill(pid, SIGTERM);
    kill(rpid, SIGTERM);
    char *log;
    CU_ASSERT_EQUAL(cron_wait(pid, 1, &log), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "event=loop_stop cmd=push"));
    free(log);
    CU_ASSERT_EQUAL(cron_wait(rpid, 2, &log), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "event=loop_stop cmd=receipts"));
    free(log);
    json_object *st = fake_call("/stats", NULL);
    CU_ASSERT_EQUAL(all_once(st, "ExponentPushToken[loop-"), 20);
    json_object_put(st);
    /* bad arguments */
    CU_ASSERT_EQUAL(cron_run(NULL, "push", "--loop", "0"), 2);
    CU_ASSERT_EQUAL(cron_run(NULL, "push", "--loop", "x"), 2);
    CU_ASSERT_EQUAL(cron_run(NULL, "push", "extra", NULL), 2);
    CU_ASSERT_EQUAL(cron_run(NULL, "receipts", "--min-age", "-1"), 2);
}

/* ---- set-up ------------------------------------------------------------- */

static void setup_private_db(void)
{
    snprintf(pdb_name, sizeof(pdb_name), "push_t%d", (int)getpid());
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", pdb_name);
    PQclear(PQexec(it_db(), sql));
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pdb_name);
    PGresult *r = PQexec(it_db(), sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "test_push: %s: %s\n", sql, PQerrorMessage(it_db()));
        exit(2);
    }
    PQclear(r);
    if (asprintf(&pdb_conninfo, "%s dbname=%s", it_cfg()->db_conninfo, pdb_name) < 0)
        exit(2);
    /* its schema, by chat-cron itself */
    env.expo_url = "http://127.0.0.1:9";
    env.lease_s = 60;
    env.max_attempts = 8;
    env.access_token = "";
    if (cron_run(NULL, "migrate", NULL, NULL) != 0) {
        fprintf(stderr, "test_push: chat-cron migrate failed on %s\n", pdb_name);
        exit(2);
    }
    pdb = PQconnectdb(pdb_conninfo);
    if (PQstatus(pdb) != CONNECTION_OK) {
        fprintf(stderr, "test_push: %s\n", PQerrorMessage(pdb));
        exit(2);
    }
    PQclear(PQexec(pdb, "SET client_min_messages = warning"));
    char why[256];
    wdb = db_open(pdb_conninfo, 0, why, sizeof(why));
    wa = arena_new();
    if (!wdb || !wa) {
        fprintf(stderr, "test_push: %s\n", why);
        exit(2);
    }
}

static void teardown(void)
{
    db_close(wdb);
    arena_free(wa);
    if (pdb)
        PQfinish(pdb);
    fake_stop();
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", pdb_name);
    PQclear(PQexec(it_db(), sql));
    free(pdb_conninfo);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", logdir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_push: could not remove %s\n", logdir);
}

int main(void)
{
    it_init();
    find_cron();
    if (!mkdtemp(logdir)) {
        perror("mkdtemp");
        return 2;
    }
    fake_start();
    setup_private_db();
    static const struct cu_test tests[] = {
        { "devices_register_and_validate", test_push__devices_register_and_validate },
        { "devices_move_and_unregister", test_push__devices_move_and_unregister },
        { "enqueue_rules", test_push__enqueue_rules },
        { "enqueue_payloads", test_push__enqueue_payloads },
        { "batches_of_100_and_tickets", test_push__batches_of_100_and_tickets },
        { "ticket_errors", test_push__ticket_errors },
        { "bad_request_is_split", test_push__bad_request_is_split },
        { "429_retry_after_then_delivered", test_push__429_retry_after_then_delivered },
        { "500_and_network_errors_back_off", test_push__500_and_network_errors_back_off },
        { "max_attempts_then_muerto", test_push__max_attempts_then_muerto },
        { "receipts", test_push__receipts },
        { "receipts_at_most_1000_per_request", test_push__receipts_at_most_1000_per_request },
        { "concurrent_senders_never_send_twice", test_push__concurrent_senders_never_send_twice },
        { "sigkill_mid_batch_loses_nothing", test_push__sigkill_mid_batch_loses_nothing },
        { "loop_mode_and_sigterm", test_push__loop_mode_and_sigterm },
        { NULL, NULL },
    };
    int rc = cu_run("push", tests);
    teardown();
    return rc;
}
