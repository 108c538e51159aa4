/* h_interno.c: the ERP's internal endpoints (API.md §4.8), service token only. */
#include <stdio.h>
#include <string.h>

#include "core/jsonx.h"
#include "domain/chat.h"
#include "domain/retention.h"
#include "routes.h"

/* The id_erp path segment: 1..200 bytes of valid UTF-8 text. */
static int interno_id_erp(struct req *rq, const char **out, struct err *e)
{
    const char *v = route_capture(&rq->caps, "id_erp");
    if (!v || !*v || strlen(v) > 200 || jsonx_utf8_chars(v) < 0)
        return err_set(e, ERR_INVALID, "id_erp inválido");
    *out = v;
    return 0;
}

/* An optional text field of at most max characters; "" stays "". */
static int interno_text(json_object *j, const char *key, long max, const char **out,
                        struct err *e)
{
    *out = NULL;
    int r = jsonx_get_str(j, key, out, e);
    if (r < 0)
        return -1;
    if (r == 0) {
        long n = jsonx_utf8_chars(*out);
        if (n < 0 || n > max)
            return err_set(e, ERR_INVALID, "%s debe ser texto de hasta %ld caracteres", key, max);
    }
    return 0;
}

int h_interno_provision(struct req *rq, struct err *e)
{
    const char *id_erp;
    struct usr_profile p;
    if (interno_id_erp(rq, &id_erp, e) < 0 ||
        interno_text(rq->json, "nombre", 200, &p.nombre, e) < 0 ||
        interno_text(rq->json, "email", 320, &p.email, e) < 0 ||
        interno_text(rq->json, "puesto", 200, &p.puesto, e) < 0 ||
        interno_text(rq->json, "departamento", 200, &p.departamento, e) < 0 ||
        interno_text(rq->json, "imagen_url", 2000, &p.imagen_url, e) < 0)
        return -1;
    bool created;
    json_object *u;
    if (usr_provision(rq->db, rq->a, id_erp, &p, &created, &u, e) < 0)
        return -1;
    return http_json(rq, created ? 201 : 200, u);
}

static int interno_active(struct req *rq, bool activo, struct err *e)
{
    const char *id_erp;
    json_object *u;
    if (interno_id_erp(rq, &id_erp, e) < 0 ||
        usr_set_active(rq->db, rq->a, &rq->who, id_erp, activo, &u, e) < 0)
        return -1;
    return http_json(rq, 200, u);
}

int h_interno_desactivar(struct req *rq, struct err *e)
{
    return interno_active(rq, false, e);
}

int h_interno_reactivar(struct req *rq, struct err *e)
{
    return interno_active(rq, true, e);
}

/* A real calendar date "YYYY-MM-DD". */
static bool interno_date(const char *s)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        s[4] != '-' || s[7] != '-')
        return false;
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1)
        return false;
    int max = days[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    return d <= max;
}

int h_interno_vacaciones(struct req *rq, struct err *e)
{
    const char *id_erp, *hasta = NULL;
    bool activo;
    if (interno_id_erp(rq, &id_erp, e) < 0)
        return -1;
    int r = jsonx_get_bool(rq->json, "activo", &activo, e);
    if (r < 0)
        return -1;
    if (r == 1)
        return err_set(e, ERR_INVALID, "activo es obligatorio (true o false)");
    if (jsonx_get_str(rq->json, "hasta", &hasta, e) < 0)
        return -1;
    if (hasta && !interno_date(hasta))
        return err_set(e, ERR_INVALID, "hasta debe ser una fecha YYYY-MM-DD");
    json_object *u;
    if (usr_set_vacation(rq->db, rq->a, &rq->who, id_erp, activo, hasta, &u, e) < 0)
        return -1;
    return http_json(rq, 200, u);
}

/* PUT /interno/contextos/{tipo}/{clave} {titulo, url, miembros: [id_erp]}:
 * the chat of one ERP record, created or brought in line (API.md §9). */
int h_interno_contexto(struct req *rq, struct err *e)
{
    struct chat_contexto_in in = {
        .tipo = route_capture(&rq->caps, "tipo"),
        .clave = route_capture(&rq->caps, "clave"),
    };
    if (interno_text(rq->json, "titulo", 200, &in.titulo, e) < 0)
        return -1;
    json_object *v;
    if (json_object_object_get_ex(rq->json, "url", &v)) {
        in.has_url = true;
        if (interno_text(rq->json, "url", 2000, &in.url, e) < 0)
            return -1;
    }
    json_object *arr;
    int r = jsonx_get_array(rq->json, "miembros", &arr, e);
    if (r < 0)
        return -1;
    if (r == 0) {
        size_t n = json_object_array_length(arr);
        if (n > 1000)
            return err_set(e, ERR_INVALID, "miembros admite hasta 1000 usuarios");
        const char **ids = arena_alloc(rq->a, sizeof(char *) * (n + 1));
        for (size_t i = 0; i < n; i++) {
            json_object *x = json_object_array_get_idx(arr, i);
            const char *s = json_object_is_type(x, json_type_string) ? json_object_get_string(x)
                            : json_object_is_type(x, json_type_int) ? json_object_get_string(x)
                                                                     : NULL;
            if (!s || !*s || strlen(s) > 200 || jsonx_utf8_chars(s) < 0)
                return err_set(e, ERR_INVALID, "miembros debe ser una lista de id_erp");
            ids[i] = arena_strdup(rq->a, s);
        }
        in.has_miembros = true;
        in.miembros = ids;
        in.nmiembros = n;
    }
    bool created;
    json_object *c;
    if (chat_contexto_put(rq->db, rq->a, &in, &created, &c, e) < 0)
        return -1;
    return http_json(rq, created ? 201 : 200, c);
}

/* ---- legal hold and per-chat retention ------------------------------------ */

/* Days: absent (has false), null (-1: back to the config), or 0..36500. */
static int interno_days(json_object *j, const char *key, bool *has, int *out, struct err *e)
{
    json_object *v;
    *has = json_object_object_get_ex(j, key, &v);
    *out = -1;
    if (!*has || !v)
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return err_set(e, ERR_INVALID, "%s debe ser un entero de 0 a 36500 o null", key);
    int64_t n = json_object_get_int64(v);
    if (n < 0 || n > 36500)
        return err_set(e, ERR_INVALID, "%s debe ser un entero de 0 a 36500 o null", key);
    *out = (int)n;
    return 0;
}

int h_interno_chat_retencion(struct req *rq, struct err *e)
{
    long long chat_id;
    if (http_id(rq, "id", &chat_id, e) < 0)
        return -1;
    struct retention_chat_in in = { 0 };
    int r = jsonx_get_bool(rq->json, "conservar", &in.conservar, e);
    if (r < 0)
        return -1;
    in.has_conservar = r == 0;
    if (jsonx_get_str(rq->json, "motivo", &in.motivo, e) < 0 ||
        interno_days(rq->json, "mensajes_dias", &in.has_mensajes, &in.mensajes_dias, e) < 0 ||
        interno_days(rq->json, "media_dias", &in.has_media, &in.media_dias, e) < 0)
        return -1;
    json_object *o;
    if (retention_chat_set(rq->db, rq->a, &rq->who, chat_id, &in, &o, e) < 0)
        return -1;
    return http_json(rq, 200, o);
}

int h_interno_usuario_retencion(struct req *rq, struct err *e)
{
    const char *id_erp, *motivo = NULL;
    bool conservar;
    if (interno_id_erp(rq, &id_erp, e) < 0)
        return -1;
    int r = jsonx_get_bool(rq->json, "conservar", &conservar, e);
    if (r < 0)
        return -1;
    if (r == 1)
        return err_set(e, ERR_INVALID, "conservar es obligatorio (true o false)");
    if (jsonx_get_str(rq->json, "motivo", &motivo, e) < 0)
        return -1;
    json_object *o;
    if (retention_user_set(rq->db, rq->a, &rq->who, id_erp, conservar, motivo, &o, e) < 0)
        return -1;
    return http_json(rq, 200, o);
}
