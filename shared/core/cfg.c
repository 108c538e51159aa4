/* cfg.c: config keys as a table of data; file, environment, validation. */
#include "core/cfg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/origin.h"

#define OFF(f) ((unsigned)offsetof(struct cfg, f))

static const char *const cfg_tls[] = { "ninguno", "opcional", "obligatorio", NULL };
static const char *const cfg_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const cfg_algs[] = { "HS256", "HS384", "HS512", "RS256", "RS384",
                                        "RS512", "ES256", "ES384", "ES512", NULL };

const struct cfg_key cfg_keys[] = {
    { "db_conninfo", CFG_STR, "dbname=chat", 0, 0, NULL, OFF(db_conninfo) },
    { "db_connect_retries", CFG_INT, "30", 0, 3600, NULL, OFF(db_connect_retries) },
    { "migrate_on_start", CFG_BOOL, "on", 0, 0, NULL, OFF(migrate_on_start) },
    { "log_level", CFG_STR, "info", 0, 0, cfg_levels, OFF(log_level) },
    { "log_timing", CFG_BOOL, "off", 0, 0, NULL, OFF(log_timing) },
    { "http_port", CFG_INT, "8080", 1, 65535, NULL, OFF(http_port) },
    { "fcgi_listen", CFG_STR, "var/run/fcgi.sock", 0, 0, NULL, OFF(fcgi_listen) },
    { "fcgi_workers", CFG_INT, "0", 0, 256, NULL, OFF(fcgi_workers) },
    { "body_max_bytes", CFG_INT, "1048576", 1024, 1073741824, NULL, OFF(body_max_bytes) },
    { "rtd_bind", CFG_STR, "127.0.0.1", 0, 0, NULL, OFF(rtd_bind) },
    { "rtd_port", CFG_INT, "8081", 1, 65535, NULL, OFF(rtd_port) },
    { "rtd_ping_interval_ms", CFG_INT, "25000", 100, 600000, NULL, OFF(rtd_ping_interval_ms) },
    { "rtd_ping_timeout_ms", CFG_INT, "20000", 100, 600000, NULL, OFF(rtd_ping_timeout_ms) },
    { "rtd_max_payload", CFG_INT, "1000000", 1024, 104857600, NULL, OFF(rtd_max_payload) },
    { "rtd_queue_max_bytes", CFG_INT, "4194304", 65536, 1073741824, NULL, OFF(rtd_queue_max_bytes) },
    { "rtd_max_sockets_per_user", CFG_INT, "16", 1, 1000, NULL, OFF(rtd_max_sockets_per_user) },
    { "presence_grace_seconds", CFG_INT, "10", 0, 3600, NULL, OFF(presence_grace_seconds) },
    { "jwt_alg", CFG_STR, "HS256", 0, 0, cfg_algs, OFF(jwt_alg) },
    { "jwt_secret", CFG_STR, "", 0, 0, NULL, OFF(jwt_secret) },
    { "jwt_public_key", CFG_STR, "", 0, 0, NULL, OFF(jwt_public_key) },
    { "jwt_private_key", CFG_STR, "", 0, 0, NULL, OFF(jwt_private_key) },
    { "jwt_issuer", CFG_STR, "", 0, 0, NULL, OFF(jwt_issuer) },
    { "jwt_audience", CFG_STR, "", 0, 0, NULL, OFF(jwt_audience) },
    { "jwt_audience_servicio", CFG_STR, "", 0, 0, NULL, OFF(jwt_audience_servicio) },
    { "jwt_leeway", CFG_INT, "30", 0, 3600, NULL, OFF(jwt_leeway) },
    { "jwt_cookie", CFG_STR, "", 0, 0, NULL, OFF(jwt_cookie) },
    { "jwt_max_bytes", CFG_INT, "8192", 256, 65536, NULL, OFF(jwt_max_bytes) },
    { "jwt_claim_id", CFG_STR, "idErp", 0, 0, NULL, OFF(jwt_claim_id) },
    { "jwt_claim_nombre", CFG_STR, "nombre", 0, 0, NULL, OFF(jwt_claim_nombre) },
    { "jwt_claim_email", CFG_STR, "email", 0, 0, NULL, OFF(jwt_claim_email) },
    { "jwt_claim_imagen", CFG_STR, "imagen", 0, 0, NULL, OFF(jwt_claim_imagen) },
    { "jwt_claim_puesto", CFG_STR, "puesto", 0, 0, NULL, OFF(jwt_claim_puesto) },
    { "jwt_claim_departamento", CFG_STR, "departamento", 0, 0, NULL, OFF(jwt_claim_departamento) },
    { "jwt_claim_permisos", CFG_STR, "permisos", 0, 0, NULL, OFF(jwt_claim_permisos) },
    { "jwt_claim_scope", CFG_STR, "scope", 0, 0, NULL, OFF(jwt_claim_scope) },
    { "origenes_permitidos", CFG_STR, "", 0, 0, NULL, OFF(origenes_permitidos) },
    { "token_en_url", CFG_BOOL, "off", 0, 0, NULL, OFF(token_en_url) },
    { "efimeros_secreto", CFG_STR, "", 0, 0, NULL, OFF(efimeros_secreto) },
    { "enlaces_registros", CFG_STR, "", 0, 0, NULL, OFF(enlaces_registros) },
    { "limite_envios", CFG_INT, "60", 0, 100000, NULL, OFF(limite_envios) },
    { "limite_subidas", CFG_INT, "20", 0, 100000, NULL, OFF(limite_subidas) },
    { "limite_busquedas", CFG_INT, "60", 0, 100000, NULL, OFF(limite_busquedas) },
    { "limite_sesiones", CFG_INT, "30", 0, 100000, NULL, OFF(limite_sesiones) },
    { "media_cuota_diaria_mb", CFG_INT, "2048", 0, 1048576, NULL, OFF(media_cuota_diaria_mb) },
    { "mensaje_max_chars", CFG_INT, "10000", 1, 1000000, NULL, OFF(mensaje_max_chars) },
    { "media_max_bytes", CFG_INT, "26214400", 1024, 2147483647, NULL, OFF(media_max_bytes) },
    { "media_dir", CFG_STR, "var/media", 0, 0, NULL, OFF(media_dir) },
    { "media_retention_days", CFG_INT, "30", 0, 36500, NULL, OFF(media_retention_days) },
    { "eventos_retention_days", CFG_INT, "30", 1, 36500, NULL, OFF(eventos_retention_days) },
    { "retencion_mensajes_dias", CFG_INT, "0", 0, 36500, NULL, OFF(retencion_mensajes_dias) },
    { "retencion_media_dias", CFG_INT, "0", 0, 36500, NULL, OFF(retencion_media_dias) },
    { "retencion_comunicados_dias", CFG_INT, "0", 0, 36500, NULL, OFF(retencion_comunicados_dias) },
    { "auditoria_permiso", CFG_INT, "569", 1, 2147483647, NULL, OFF(auditoria_permiso) },
    { "expo_url", CFG_STR, "http://127.0.0.1:9", 0, 0, NULL, OFF(expo_url) },
    { "expo_access_token", CFG_STR, "", 0, 0, NULL, OFF(expo_access_token) },
    { "push_max_attempts", CFG_INT, "8", 1, 100, NULL, OFF(push_max_attempts) },
    { "push_lease_seconds", CFG_INT, "60", 5, 3600, NULL, OFF(push_lease_seconds) },
    { "smtp_url", CFG_STR, "", 0, 0, NULL, OFF(smtp_url) },
    { "smtp_usuario", CFG_STR, "", 0, 0, NULL, OFF(smtp_usuario) },
    { "smtp_clave", CFG_STR, "", 0, 0, NULL, OFF(smtp_clave) },
    { "smtp_tls", CFG_STR, "opcional", 0, 0, cfg_tls, OFF(smtp_tls) },
    { "smtp_remitente", CFG_STR, "Chat <chat@localhost>", 0, 0, NULL, OFF(smtp_remitente) },
    { "resumen_retraso_minutos", CFG_INT, "60", 1, 10080, NULL, OFF(resumen_retraso_minutos) },
    { "resumen_en_vacaciones", CFG_BOOL, "off", 0, 0, NULL, OFF(resumen_en_vacaciones) },
    { "resumen_max_intentos", CFG_INT, "8", 1, 100, NULL, OFF(resumen_max_intentos) },
    { "url_publica", CFG_STR, "http://localhost:8080", 0, 0, NULL, OFF(url_publica) },
    { NULL, 0, NULL, 0, 0, NULL, 0 },
};

int cfg_parse_bool(const char *s, bool *out)
{
    static const char *yes[] = { "on", "true", "yes", "1" };
    static const char *no[] = { "off", "false", "no", "0" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static const struct cfg_key *cfg_key_find(const char *name)
{
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* Stores text as the value of k in c; returns 0 or -1 with why. */
static int cfg_set(struct cfg *c, const struct cfg_key *k, const char *text,
                   const char *where, char *why, unsigned whylen)
{
    char *base = (char *)c + k->offset;
    switch (k->type) {
    case CFG_STR: {
        if (k->choices) {
            const char *const *ch = k->choices;
            while (*ch && strcmp(*ch, text) != 0)
                ch++;
            if (!*ch) {
                snprintf(why, whylen, "%s: bad value for %s: \"%s\" is not one of the allowed values",
                         where, k->name, text);
                return -1;
            }
        }
        char *dup = strdup(text);
        if (!dup) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        free(*(char **)base);
        *(char **)base = dup;
        return 0;
    }
    case CFG_INT: {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end || v < k->min || v > k->max) {
            snprintf(why, whylen, "%s: bad value for %s: \"%s\" (an integer from %ld to %ld)",
                     where, k->name, text, k->min, k->max);
            return -1;
        }
        *(int *)base = (int)v;
        return 0;
    }
    case CFG_BOOL:
        if (cfg_parse_bool(text, (bool *)base) < 0) {
            snprintf(why, whylen, "%s: bad value for %s: \"%s\" (on or off)", where, k->name, text);
            return -1;
        }
        return 0;
    }
    return -1;
}

static char *cfg_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int cfg_read_file(struct cfg *c, const char *path, char *why, unsigned whylen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, whylen, "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, ret = -1;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char where[512];
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(why, whylen, "%s: line too long", where);
            goto cleanup;
        }
        char *s = cfg_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(why, whylen, "%s: expected key = value", where);
            goto cleanup;
        }
        *eq = '\0';
        char *key = cfg_trim(s), *val = cfg_trim(eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = '\0';
            val++;
        }
        const struct cfg_key *k = cfg_key_find(key);
        if (!k) {
            snprintf(why, whylen, "%s: unknown key %s", where, key);
            goto cleanup;
        }
        if (cfg_set(c, k, val, where, why, whylen) < 0)
            goto cleanup;
    }
    ret = 0;
cleanup:
    fclose(f);
    return ret;
}

/* Checks that go across keys. */
/* fcgi_workers = 0: 4 per CPU core, from 4 to 64. A worker spends most of
 * a write waiting for the commit's WAL flush, not on the CPU, so several
 * per core keep the cores and the disk busy (group commit); measured on 2
 * cores with durable commits, sends per second rose from 2 workers to 8
 * and not past it (BENCHMARKS.md), while each worker costs a connection. */
static int cfg_auto_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    n *= 4;
    return n < 4 ? 4 : n > 64 ? 64 : (int)n;
}

bool cfg_link_next(const char *s, size_t *pos, struct cfg_link *out)
{
    size_t i = *pos + strspn(s + *pos, " \t,");
    size_t n = strcspn(s + i, " \t,");
    if (n == 0)
        return false;
    const char *eq = memchr(s + i, '=', n);
    out->tipo = s + i;
    out->tipo_len = eq ? (size_t)(eq - (s + i)) : n;
    out->url = eq ? eq + 1 : s + i + n;
    out->url_len = eq ? n - out->tipo_len - 1 : 0;
    *pos = i + n;
    return true;
}

/* enlaces_registros: items "tipo=url" separated by spaces or commas; tipo of
 * [a-z0-9_] (what follows '#' in a message: #pedido-1001), the URL http(s)
 * or a path on this site, holding {clave} once, no quotes, <, > or \. */
static int cfg_links_check(const char *s, char *why, unsigned whylen)
{
    size_t pos = 0;
    struct cfg_link l;
    while (cfg_link_next(s, &pos, &l)) {
        bool ok = l.tipo_len >= 1 && l.tipo_len <= 40 &&
                  strspn(l.tipo, "abcdefghijklmnopqrstuvwxyz0123456789_") >= l.tipo_len &&
                  l.url_len > 0 && l.url_len < 1000;
        if (ok) {
            char url[1000];
            snprintf(url, sizeof(url), "%.*s", (int)l.url_len, l.url);
            const char *k = strstr(url, "{clave}");
            ok = (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0 ||
                  (url[0] == '/' && url[1] != '/')) &&
                 k && !strstr(k + 7, "{clave}") && !strpbrk(url, "\"'<>\\");
        }
        if (!ok) {
            snprintf(why, whylen, "enlaces_registros: each item must be tipo=url, tipo of a-z, 0-9"
                     " and _, the url http(s):// or /path holding {clave} once"
                     " (\"pedido=https://erp.example.com/pedidos/{clave}\")");
            return -1;
        }
    }
    return 0;
}

static int cfg_validate(struct cfg *c, char *why, unsigned whylen)
{
    if (c->jwt_alg[0] == 'H' && c->jwt_secret[0] == '\0') {
        snprintf(why, whylen, "jwt_secret: required when jwt_alg is %s", c->jwt_alg);
        return -1;
    }
    if (c->jwt_alg[0] == 'H' && strlen(c->jwt_secret) < 16) {
        snprintf(why, whylen, "jwt_secret: too short (at least 16 characters)");
        return -1;
    }
    if (c->jwt_alg[0] != 'H') {
        if (c->jwt_public_key[0] == '\0') {
            snprintf(why, whylen, "jwt_public_key: required when jwt_alg is %s", c->jwt_alg);
            return -1;
        }
        if (access(c->jwt_public_key, R_OK) != 0) {
            snprintf(why, whylen, "jwt_public_key: cannot read %s: %s", c->jwt_public_key,
                     strerror(errno));
            return -1;
        }
    }
    if (c->efimeros_secreto[0] && strlen(c->efimeros_secreto) < 32) {
        snprintf(why, whylen, "efimeros_secreto: too short (at least 32 characters)");
        return -1;
    }
    if (cfg_links_check(c->enlaces_registros, why, whylen) < 0)
        return -1;
    if (origin_list_check(c->origenes_permitidos, why, whylen) < 0)
        return -1;
    if (c->db_conninfo[0] == '\0') {
        snprintf(why, whylen, "db_conninfo: must not be empty");
        return -1;
    }
    if (strncmp(c->expo_url, "http://", 7) != 0 && strncmp(c->expo_url, "https://", 8) != 0) {
        snprintf(why, whylen, "expo_url: must start with http:// or https://");
        return -1;
    }
    if (c->smtp_url[0] && strncmp(c->smtp_url, "smtp://", 7) != 0 &&
        strncmp(c->smtp_url, "smtps://", 8) != 0) {
        snprintf(why, whylen, "smtp_url: must start with smtp:// or smtps:// (or be empty: no digest)");
        return -1;
    }
    {
        const char *lt = strchr(c->smtp_remitente, '<'), *at = strchr(c->smtp_remitente, '@');
        if (!at || strpbrk(c->smtp_remitente, "\r\n") || (lt && !strchr(lt, '>'))) {
            snprintf(why, whylen, "smtp_remitente: must be an address (\"Nombre <correo@dominio>\")");
            return -1;
        }
    }
    if (strncmp(c->url_publica, "http://", 7) != 0 && strncmp(c->url_publica, "https://", 8) != 0) {
        snprintf(why, whylen, "url_publica: must start with http:// or https://");
        return -1;
    }
    if (c->media_dir[0] == '\0' || c->fcgi_listen[0] == '\0') {
        snprintf(why, whylen, "%s: must not be empty", c->media_dir[0] ? "fcgi_listen" : "media_dir");
        return -1;
    }
    static const char *const claims[] = { "jwt_claim_id", "jwt_claim_nombre", "jwt_claim_permisos",
                                          "jwt_claim_scope", NULL };
    for (int i = 0; claims[i]; i++) {
        const struct cfg_key *k = cfg_key_find(claims[i]);
        if ((*(char **)((char *)c + k->offset))[0] == '\0') {
            snprintf(why, whylen, "%s: must not be empty", claims[i]);
            return -1;
        }
    }
    return 0;
}

static const char *cfg_getenv(const char *name)
{
    return getenv(name);
}

struct cfg *cfg_load_env(const char *path, const char *(*getenv_fn)(const char *),
                         char *why, unsigned whylen)
{
    struct cfg *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        if (cfg_set(c, k, k->def, "default", why, whylen) < 0)
            goto fail;
    if (path && cfg_read_file(c, path, why, whylen) < 0)
        goto fail;
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        char env[128] = "CHAT_";
        size_t i = 5;
        for (const char *p = k->name; *p && i < sizeof(env) - 1; p++)
            env[i++] = (char)toupper((unsigned char)*p);
        env[i] = '\0';
        const char *v = getenv_fn(env);
        if (v && cfg_set(c, k, v, env, why, whylen) < 0)
            goto fail;
    }
    if (cfg_validate(c, why, whylen) < 0)
        goto fail;
    if (c->fcgi_workers == 0)
        c->fcgi_workers = cfg_auto_workers();
    return c;
fail:
    cfg_free(c);
    return NULL;
}

struct cfg *cfg_load(const char *path, char *why, unsigned whylen)
{
    return cfg_load_env(path, cfg_getenv, why, whylen);
}

const char *cfg_find(const char *explicit_path)
{
    if (explicit_path)
        return explicit_path;
    const char *env = getenv("CHAT_CONFIG");
    if (env && *env)
        return env;
    if (access("var/chat.conf", R_OK) == 0)
        return "var/chat.conf";
    if (access("/etc/chat/chat.conf", R_OK) == 0)
        return "/etc/chat/chat.conf";
    return NULL;
}

void cfg_free(struct cfg *c)
{
    if (!c)
        return;
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        if (k->type == CFG_STR)
            free(*(char **)((char *)c + k->offset));
    free(c);
}
