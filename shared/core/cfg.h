/* cfg.h: the configuration: one key = value file, each key overridable by
 * the environment variable CHAT_<KEY>, validated at start. */
#ifndef CHAT_CFG_H
#define CHAT_CFG_H

#include <stdbool.h>
#include <stddef.h>

/* Every key of etc/chat.conf. Strings are never NULL ("" when unset). */
struct cfg {
    /* database */
    char *db_conninfo;
    int db_connect_retries;
    bool migrate_on_start;
    /* logging */
    char *log_level;
    bool log_timing;
    /* web server / FastCGI */
    int http_port;
    char *fcgi_listen;
    int fcgi_workers;       /* resolved at load: never 0 */
    int body_max_bytes;
    /* realtime daemon */
    char *rtd_bind;
    int rtd_port;
    int rtd_ping_interval_ms;
    int rtd_ping_timeout_ms;
    int rtd_max_payload;
    int rtd_queue_max_bytes;
    int rtd_max_sockets_per_user;   /* per instance; one more is refused */
    int presence_grace_seconds;
    /* identity */
    char *jwt_alg;
    char *jwt_secret;
    char *jwt_public_key;
    char *jwt_private_key;
    char *jwt_issuer;
    char *jwt_audience;
    char *jwt_audience_servicio;   /* the service token's own aud ("": jwt_audience) */
    int jwt_leeway;
    char *jwt_cookie;
    int jwt_max_bytes;
    char *jwt_claim_id;
    char *jwt_claim_nombre;
    char *jwt_claim_email;
    char *jwt_claim_imagen;
    char *jwt_claim_puesto;
    char *jwt_claim_departamento;
    char *jwt_claim_permisos;
    char *jwt_claim_scope;
    /* cookie sessions */
    char *origenes_permitidos;
    /* rate limits (per user and minute; 0: none) and the upload quota */
    int limite_envios;
    int limite_subidas;
    int limite_busquedas;
    int limite_sesiones;
    int media_cuota_diaria_mb;
    /* development switches */
    bool token_en_url;
    char *enlaces_registros;        /* "tipo=url-with-{clave} ..." (cfg_link_next) */
    char *efimeros_secreto;         /* signs chat_efimeros ("": from jwt_secret) */
    /* content */
    int mensaje_max_chars;
    int media_max_bytes;
    char *media_dir;
    int media_retention_days;
    int eventos_retention_days;
    /* compliance: retention policies (days, 0 = forever) and the audit page */
    int retencion_mensajes_dias;
    int retencion_media_dias;
    int retencion_comunicados_dias;
    int auditoria_permiso;
    /* push */
    char *expo_url;
    char *expo_access_token;
    int push_max_attempts;
    int push_lease_seconds;
    /* the unread e-mail digest (chat-cron digest) and links out */
    char *smtp_url;
    char *smtp_usuario;
    char *smtp_clave;
    char *smtp_tls;
    char *smtp_remitente;
    int resumen_retraso_minutos;
    bool resumen_en_vacaciones;
    int resumen_max_intentos;
    char *url_publica;
};

/* What a key is, for the loader, the docs and the tests. */
enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL };

struct cfg_key {
    const char *name;
    enum cfg_type type;
    const char *def;        /* default, as text */
    long min, max;          /* CFG_INT bounds */
    const char *const *choices; /* CFG_STR allowed values, or NULL */
    unsigned offset;        /* into struct cfg */
};

/* The table of keys, NULL-terminated by name. */
extern const struct cfg_key cfg_keys[];

/* Finds the config file: explicit (from --config) if given, else
 * $CHAT_CONFIG, else var/chat.conf, else /etc/chat/chat.conf. Returns a
 * path or NULL when none exists (defaults and environment then apply).
 * An explicit or $CHAT_CONFIG path is returned even if missing, so that
 * loading it fails loudly. */
const char *cfg_find(const char *explicit_path);

/* Loads defaults, then the file at path (NULL: none), then CHAT_<KEY>
 * variables, then validates. Returns a new cfg, or NULL with a message
 * naming the bad key or line in why. Free with cfg_free. */
struct cfg *cfg_load(const char *path, char *why, unsigned whylen);

/* Same as cfg_load, reading overrides through getenv_fn (tests). */
struct cfg *cfg_load_env(const char *path, const char *(*getenv_fn)(const char *),
                         char *why, unsigned whylen);

/* Frees c and its strings; NULL is accepted. */
void cfg_free(struct cfg *c);

/* Parses "on/off/true/false/yes/no/1/0"; returns 0 or -1. */
int cfg_parse_bool(const char *s, bool *out);

/* One item of enlaces_registros: the record kind and its URL template
 * (holding "{clave}"), as spans of the config text. */
struct cfg_link {
    const char *tipo, *url;
    size_t tipo_len, url_len;
};

/* The item at *pos (advanced past it) of a validated enlaces_registros;
 * false at the end. */
bool cfg_link_next(const char *s, size_t *pos, struct cfg_link *out);

#endif
