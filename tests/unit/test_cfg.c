/* test_cfg.c: the config loader: defaults, file, environment, validation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "cu.h"

static const char *fake_env[16][2];

static const char *fake_getenv(const char *name)
{
    for (int i = 0; i < 16 && fake_env[i][0]; i++)
        if (strcmp(fake_env[i][0], name) == 0)
            return fake_env[i][1];
    return NULL;
}

static void env_set(int i, const char *k, const char *v)
{
    fake_env[i][0] = k;
    fake_env[i][1] = v;
    fake_env[i + 1][0] = NULL;
}

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/chat-cfg-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_cfg__defaults_need_secret(void)
{
    char why[256] = "";
    env_set(0, "CHAT_NOTHING", "x");
    struct cfg *c = cfg_load_env(NULL, fake_getenv, why, sizeof(why));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "jwt_secret"));
}

/* enlaces_registros: items split on spaces or commas, tipo and URL. */
static void test_cfg__record_links(void)
{
    char why[256] = "";
    env_set(0, "CHAT_JWT_SECRET", "0123456789abcdef0123");
    env_set(1, "CHAT_ENLACES_REGISTROS", " pedido=https://erp.example.com/pedidos/{clave},cliente=/erp/c?id={clave} ");
    struct cfg *c = cfg_load_env(NULL, fake_getenv, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    size_t pos = 0;
    struct cfg_link l;
    CU_ASSERT_TRUE_FATAL(cfg_link_next(c->enlaces_registros, &pos, &l));
    CU_ASSERT_EQUAL(l.tipo_len, 6);
    CU_ASSERT_NSTRING_EQUAL(l.tipo, "pedido", 6);
    CU_ASSERT_EQUAL(l.url_len, strlen("https://erp.example.com/pedidos/{clave}"));
    CU_ASSERT_NSTRING_EQUAL(l.url, "https://erp.example.com/pedidos/{clave}", l.url_len);
    CU_ASSERT_TRUE_FATAL(cfg_link_next(c->enlaces_registros, &pos, &l));
    CU_ASSERT_NSTRING_EQUAL(l.tipo, "cliente", l.tipo_len);
    CU_ASSERT_NSTRING_EQUAL(l.url, "/erp/c?id={clave}", l.url_len);
    CU_ASSERT_FALSE(cfg_link_next(c->enlaces_registros, &pos, &l));
    cfg_free(c);
}

static void test_cfg__env_overrides_defaults(void)
{
    char why[256] = "";
    env_set(0, "CHAT_JWT_SECRET", "0123456789abcdef0123");
    env_set(1, "CHAT_FCGI_WORKERS", "7");
    env_set(2, "CHAT_MIGRATE_ON_START", "off");
    struct cfg *c = cfg_load_env(NULL, fake_getenv, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->fcgi_workers, 7);
    CU_ASSERT_EQUAL(c->migrate_on_start, false);
    CU_ASSERT_EQUAL(c->mensaje_max_chars, 10000);
    CU_ASSERT_EQUAL(c->media_max_bytes, 26214400);
    CU_ASSERT_STRING_EQUAL(c->jwt_alg, "HS256");
    CU_ASSERT_STRING_EQUAL(c->jwt_claim_id, "idErp");
    cfg_free(c);
}

static void test_cfg__file_then_env(void)
{
    char why[256] = "";
    char *p = write_tmp("# comment\n\n jwt_secret = \"abcdefghijklmnopqrstuvwxyz\"\n"
                        "fcgi_workers=3\nlog_level = debug\njwt_cookie = erp_session\n");
    env_set(0, "CHAT_FCGI_WORKERS", "5");
    struct cfg *c = cfg_load_env(p, fake_getenv, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->fcgi_workers, 5);
    CU_ASSERT_STRING_EQUAL(c->jwt_secret, "abcdefghijklmnopqrstuvwxyz");
    CU_ASSERT_STRING_EQUAL(c->log_level, "debug");
    CU_ASSERT_STRING_EQUAL(c->jwt_cookie, "erp_session");
    cfg_free(c);
    unlink(p);
}

static void expect_fail(const char *text, const char *needle)
{
    char why[256] = "";
    char *p = write_tmp(text);
    env_set(0, "CHAT_JWT_SECRET", "0123456789abcdef0123");
    struct cfg *c = cfg_load_env(p, fake_getenv, why, sizeof(why));
    CU_ASSERT_PTR_NULL(c);
    if (!strstr(why, needle))
        fprintf(stderr, "\n  expected '%s' in: %s\n", needle, why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, needle));
    cfg_free(c);
    unlink(p);
}

/* fcgi_workers 0 (the default) resolves to 4 per core, 4 to 64 */
static void test_cfg__workers_default_per_core(void)
{
    char why[256] = "";
    env_set(0, "CHAT_JWT_SECRET", "0123456789abcdef0123");
    struct cfg *c = cfg_load_env(NULL, fake_getenv, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int want = (int)(cores < 1 ? 4 : cores * 4 > 64 ? 64 : cores * 4 < 4 ? 4 : cores * 4);
    CU_ASSERT_EQUAL(c->fcgi_workers, want);
    cfg_free(c);
}

static void test_cfg__bad_values_name_the_key(void)
{
    expect_fail("fcgi_workers = 257\n", "fcgi_workers");
    expect_fail("fcgi_workers = -1\n", "fcgi_workers");
    expect_fail("fcgi_workers = many\n", "fcgi_workers");
    expect_fail("http_port = 70000\n", "http_port");
    expect_fail("jwt_alg = none\n", "jwt_alg");
    expect_fail("log_level = loud\n", "log_level");
    expect_fail("migrate_on_start = maybe\n", "migrate_on_start");
    expect_fail("no_such_key = 1\n", "no_such_key");
    expect_fail("just text\n", ":1");
    expect_fail("jwt_alg = RS256\n", "jwt_public_key");
    expect_fail("jwt_alg = RS256\njwt_public_key = /nonexistent.pem\n", "jwt_public_key");
    expect_fail("expo_url = ftp://x\n", "expo_url");
    expect_fail("jwt_claim_id =\n", "jwt_claim_id");
    expect_fail("mensaje_max_chars = -5\n", "mensaje_max_chars");
    expect_fail("efimeros_secreto = corto\n", "efimeros_secreto");
    expect_fail("enlaces_registros = pedido\n", "enlaces_registros");
    expect_fail("enlaces_registros = pedido=https://erp/pedidos/1\n", "enlaces_registros");
    expect_fail("enlaces_registros = Pedido=https://erp/{clave}\n", "enlaces_registros");
    expect_fail("enlaces_registros = pedido=javascript:{clave}\n", "enlaces_registros");
    expect_fail("enlaces_registros = pedido=//otro.example/{clave}\n", "enlaces_registros");
    expect_fail("enlaces_registros = pedido=https://erp/\"{clave}\n", "enlaces_registros");
    expect_fail("enlaces_registros = pedido=https://erp/{clave}/{clave}\n", "enlaces_registros");
    expect_fail("rtd_max_sockets_per_user = 0\n", "rtd_max_sockets_per_user");
}

static void test_cfg__env_bad_value_names_variable(void)
{
    char why[256] = "";
    env_set(0, "CHAT_JWT_SECRET", "0123456789abcdef0123");
    env_set(1, "CHAT_RTD_PORT", "0");
    struct cfg *c = cfg_load_env(NULL, fake_getenv, why, sizeof(why));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "CHAT_RTD_PORT"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "rtd_port"));
}

static void test_cfg__missing_file(void)
{
    char why[256] = "";
    env_set(0, "CHAT_JWT_SECRET", "0123456789abcdef0123");
    struct cfg *c = cfg_load_env("/nonexistent/chat.conf", fake_getenv, why, sizeof(why));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "/nonexistent/chat.conf"));
}

static void test_cfg__bool_parse(void)
{
    bool b;
    CU_ASSERT_EQUAL(cfg_parse_bool("On", &b), 0);
    CU_ASSERT_TRUE(b);
    CU_ASSERT_EQUAL(cfg_parse_bool("0", &b), 0);
    CU_ASSERT_FALSE(b);
    CU_ASSERT_EQUAL(cfg_parse_bool("", &b), -1);
}

static void test_cfg__every_key_has_a_valid_default(void)
{
    /* the defaults plus a secret must load: no default violates its bounds */
    char why[256] = "";
    env_set(0, "CHAT_JWT_SECRET", "0123456789abcdef0123");
    struct cfg *c = cfg_load_env(NULL, fake_getenv, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL(c);
    int n = 0;
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        n++;
    CU_ASSERT(n >= 40);
    cfg_free(c);
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "defaults_need_secret", test_cfg__defaults_need_secret },
        { "env_overrides_defaults", test_cfg__env_overrides_defaults },
        { "record_links", test_cfg__record_links },
        { "file_then_env", test_cfg__file_then_env },
        { "workers_default_per_core", test_cfg__workers_default_per_core },
        { "bad_values_name_the_key", test_cfg__bad_values_name_the_key },
        { "env_bad_value_names_variable", test_cfg__env_bad_value_names_variable },
        { "missing_file", test_cfg__missing_file },
        { "bool_parse", test_cfg__bool_parse },
        { "every_key_has_a_valid_default", test_cfg__every_key_has_a_valid_default },
        { NULL, NULL },
    };
    return cu_run("cfg", tests);
}
