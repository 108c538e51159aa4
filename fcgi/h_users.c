/* h_users.c: health, me, users and presence endpoints (API.md §4.1, §4.9). */
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/migrate.h"
#include "domain/resumen.h"
#include "routes.h"

int h_salud(struct req *rq, struct err *e)
{
    (void)e;
    json_object *o = jsonx_new_object(rq->a);
    char mig[128] = "";
    bool up = db_ensure(rq->db) == 0 && migrate_current(rq->db->conn, mig, sizeof(mig)) == 0;
    json_object_object_add(o, "estado", json_object_new_string(up ? "ok" : "degradado"));
    json_object_object_add(o, "db", json_object_new_string(up ? "ok" : "inaccesible"));
    json_object_object_add(o, "migracion", up ? json_object_new_string(mig) : NULL);
    json_object_object_add(o, "version", json_object_new_string(CHAT_VERSION));
    /* the web client honours ?token= in its page URL only when this is on */
    json_object_object_add(o, "token_en_url", json_object_new_boolean(rq->cfg->token_en_url));
    return http_json(rq, up ? 200 : 503, o);
}

int h_me(struct req *rq, struct err *e)
{
    json_object *u;
    if (usr_get(rq->db, rq->a, rq->who.id, false, &u, e) < 0)
        return -1;
    json_object *o = jsonx_new_object(rq->a);
    jsonx_add(o, "usuario", u);
    json_object *perms = json_object_new_array();
    for (size_t i = 0; i < rq->who.npermisos; i++)
        json_object_array_add(perms, json_object_new_int(rq->who.permisos[i]));
    json_object_object_add(o, "permisos", perms);
    /* the audit page's link: whether the token holds auditoria_permiso */
    json_object_object_add(o, "auditor",
                           json_object_new_boolean(usr_can(&rq->who, rq->cfg->auditoria_permiso)));
    json_object *rtd = json_object_new_object();
    json_object_object_add(rtd, "path", json_object_new_string("/chat/socket.io"));
    json_object_object_add(o, "rtd", rtd);
    /* record mentions the client turns into links (#pedido-1001) */
    json_object *links = json_object_new_array();
    size_t pos = 0;
    struct cfg_link l;
    while (cfg_link_next(rq->cfg->enlaces_registros, &pos, &l)) {
        json_object *x = json_object_new_object();
        json_object_object_add(x, "tipo", json_object_new_string_len(l.tipo, (int)l.tipo_len));
        json_object_object_add(x, "url", json_object_new_string_len(l.url, (int)l.url_len));
        json_object_array_add(links, x);
    }
    json_object_object_add(o, "enlaces_registros", links);
    return http_json(rq, 200, o);
}

int h_usuarios_list(struct req *rq, struct err *e)
{
    int limite;
    long long antes;
    if (http_paging(rq, &limite, &antes, NULL, e) < 0)
        return -1;
    bool bad = false;
    const char *q = http_query(rq, "q", &bad);
    if (bad)
        return err_set(e, ERR_INVALID, "El parámetro q está mal codificado");
    if (q) {
        long n = jsonx_utf8_chars(q);
        if (n < 0 || n > 100)
            return err_set(e, ERR_INVALID, "q debe ser texto de hasta 100 caracteres");
    }
    json_object *arr;
    bool more;
    if (usr_search(rq->db, rq->a, q, antes, limite, &arr, &more, e) < 0)
        return -1;
    json_object *o = jsonx_new_object(rq->a);
    jsonx_add(o, "usuarios", arr);
    json_object_object_add(o, "hay_mas", json_object_new_boolean(more));
    return http_json(rq, 200, o);
}

int h_usuarios_get(struct req *rq, struct err *e)
{
    long long id;
    json_object *u;
    if (http_id(rq, "id", &id, e) < 0 || usr_get(rq->db, rq->a, id, false, &u, e) < 0)
        return -1;
    return http_json(rq, 200, u);
}

#define PRESENCE_MAX_IDS 200

int h_presencia(struct req *rq, struct err *e)
{
    bool bad = false;
    const char *s = http_query(rq, "ids", &bad);
    if (!s || bad || !*s)
        return err_set(e, ERR_INVALID, "ids es obligatorio: ids=1,2,3");
    long long *ids = arena_alloc(rq->a, sizeof(long long) * PRESENCE_MAX_IDS);
    size_t n = 0;
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == PRESENCE_MAX_IDS)
            return err_set(e, ERR_INVALID, "ids admite hasta %d ids", PRESENCE_MAX_IDS);
        if (route_parse_id(arena_strndup(rq->a, p, len), &ids[n]) < 0)
            return err_set(e, ERR_INVALID, "ids debe ser una lista de ids separados por comas");
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (n == 0)
        return err_set(e, ERR_INVALID, "ids es obligatorio: ids=1,2,3");
    json_object *arr;
    if (usr_presence(rq->db, rq->a, rq->who.id, ids, n, &arr, e) < 0)
        return -1;
    json_object *o = jsonx_new_object(rq->a);
    jsonx_add(o, "presencia", arr);
    return http_json(rq, 200, o);
}

/* GET /me/preferencias (API.md §9). */
int h_me_prefs_get(struct req *rq, struct err *e)
{
    json_object *o;
    if (resumen_prefs_get(rq->db, rq->a, &rq->who, &o, e) < 0)
        return -1;
    return http_json(rq, 200, o);
}

/* PUT /me/preferencias {resumen_correo}. */
int h_me_prefs_put(struct req *rq, struct err *e)
{
    bool v;
    int r = jsonx_get_bool(rq->json, "resumen_correo", &v, e);
    if (r < 0)
        return -1;
    if (r == 1)
        return err_set(e, ERR_INVALID, "resumen_correo es obligatorio (true o false)");
    json_object *o;
    if (resumen_prefs_set(rq->db, rq->a, &rq->who, v, &o, e) < 0)
        return -1;
    return http_json(rq, 200, o);
}
