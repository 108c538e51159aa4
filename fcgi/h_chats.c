/* h_chats.c: chats and members (API.md §4.2). */
#include <string.h>

#include "domain/chat.h"
#include "core/jsonx.h"
#include "routes.h"

/* Reads an array of positive ids under key (required). The C array lives in
 * the arena. At most max entries. */
static int chats_id_list(struct req *rq, const char *key, bool required, size_t max,
                         long long **out, size_t *n, struct err *e)
{
    json_object *arr = NULL;
    *out = NULL;
    *n = 0;
    int r = jsonx_get_array(rq->json, key, &arr, e);
    if (r < 0)
        return -1;
    if (r == 1)
        return required ? err_set(e, ERR_INVALID, "%s es obligatorio (lista de ids)", key) : 0;
    size_t len = json_object_array_length(arr);
    if (len > max)
        return err_set(e, ERR_INVALID, "%s admite hasta %zu ids", key, max);
    if (jsonx_ids(rq->a, arr, key, out, e) < 0)
        return -1;
    *n = len;
    return 0;
}

int h_chats_list(struct req *rq, struct err *e)
{
    json_object *arr;
    if (chat_list(rq->db, rq->a, &rq->who, &arr, e) < 0)
        return -1;
    json_object *o = jsonx_new_object(rq->a);
    jsonx_add(o, "chats", arr);
    json_object_object_add(o, "hay_mas", json_object_new_boolean(false));
    return http_json(rq, 200, o);
}

int h_chats_directo(struct req *rq, struct err *e)
{
    long long uid = 0;
    const char *erp = NULL;
    int r1 = jsonx_get_id(rq->json, "usuario_id", &uid, e);
    if (r1 < 0)
        return -1;
    int r2 = jsonx_get_str(rq->json, "id_erp", &erp, e);
    if (r2 < 0)
        return -1;
    if (r1 == 1 && r2 == 1)
        return err_set(e, ERR_INVALID, "usuario_id o id_erp es obligatorio");
    if (erp && (!*erp || strlen(erp) > 200))
        return err_set(e, ERR_INVALID, "id_erp inválido");
    bool created;
    json_object *c;
    if (chat_directo(rq->db, rq->a, &rq->who, uid, erp, &created, &c, e) < 0)
        return -1;
    return http_json(rq, created ? 201 : 200, c);
}

int h_chats_create(struct req *rq, struct err *e)
{
    struct chat_group_in in = { 0 };
    if (jsonx_get_str(rq->json, "nombre", &in.nombre, e) < 0 ||
        jsonx_get_str(rq->json, "descripcion", &in.descripcion, e) < 0 ||
        jsonx_get_bool(rq->json, "restringido", &in.restringido, e) < 0)
        return -1;
    long long *ids;
    if (chats_id_list(rq, "miembros", false, 1000, &ids, &in.nmiembros, e) < 0)
        return -1;
    in.miembros = ids;
    json_object *c;
    if (chat_create_group(rq->db, rq->a, &rq->who, &in, &c, e) < 0)
        return -1;
    return http_json(rq, 201, c);
}

int h_chats_get(struct req *rq, struct err *e)
{
    long long id;
    json_object *c;
    if (http_id(rq, "id", &id, e) < 0 || chat_get(rq->db, rq->a, &rq->who, id, &c, e) < 0)
        return -1;
    return http_json(rq, 200, c);
}

/* 1 when key is present (null included), 0 when absent. */
static int chats_has(json_object *o, const char *key)
{
    return json_object_object_get_ex(o, key, NULL) ? 1 : 0;
}

int h_chats_update(struct req *rq, struct err *e)
{
    long long id;
    if (http_id(rq, "id", &id, e) < 0)
        return -1;
    struct chat_patch in = { .media_dir = rq->cfg->media_dir };
    in.has_nombre = chats_has(rq->json, "nombre");
    in.has_descripcion = chats_has(rq->json, "descripcion");
    in.has_imagen = chats_has(rq->json, "imagen_media_id");
    in.has_restringido = chats_has(rq->json, "restringido");
    if (jsonx_get_str(rq->json, "nombre", &in.nombre, e) < 0 ||
        jsonx_get_str(rq->json, "descripcion", &in.descripcion, e) < 0 ||
        jsonx_get_id(rq->json, "imagen_media_id", &in.imagen_media_id, e) < 0)
        return -1;
    int r = jsonx_get_bool(rq->json, "restringido", &in.restringido, e);
    if (r < 0)
        return -1;
    if (in.has_restringido && r == 1)
        return err_set(e, ERR_INVALID, "restringido debe ser true o false");
    json_object *c;
    if (chat_update(rq->db, rq->a, &rq->who, id, &in, &c, e) < 0)
        return -1;
    return http_json(rq, 200, c);
}

int h_chats_delete(struct req *rq, struct err *e)
{
    long long id;
    if (http_id(rq, "id", &id, e) < 0 || chat_delete(rq->db, rq->a, &rq->who, id, e) < 0)
        return -1;
    return http_empty(rq, 204);
}

int h_miembros_list(struct req *rq, struct err *e)
{
    long long id;
    json_object *arr;
    if (http_id(rq, "id", &id, e) < 0 || chat_members(rq->db, rq->a, &rq->who, id, &arr, e) < 0)
        return -1;
    json_object *o = jsonx_new_object(rq->a);
    jsonx_add(o, "miembros", arr);
    json_object_object_add(o, "hay_mas", json_object_new_boolean(false));
    return http_json(rq, 200, o);
}

int h_miembros_add(struct req *rq, struct err *e)
{
    long long id, *ids;
    size_t n;
    if (http_id(rq, "id", &id, e) < 0 || chats_id_list(rq, "usuario_ids", true, 500, &ids, &n, e) < 0)
        return -1;
    bool added;
    json_object *arr;
    if (chat_members_add(rq->db, rq->a, &rq->who, id, ids, n, &added, &arr, e) < 0)
        return -1;
    json_object *o = jsonx_new_object(rq->a);
    jsonx_add(o, "miembros", arr);
    json_object_object_add(o, "hay_mas", json_object_new_boolean(false));
    return http_json(rq, added ? 201 : 200, o);
}

int h_miembros_rol(struct req *rq, struct err *e)
{
    long long id, uid;
    const char *rol = NULL;
    if (http_id(rq, "id", &id, e) < 0 || http_id(rq, "usuario_id", &uid, e) < 0)
        return -1;
    if (jsonx_get_str(rq->json, "rol", &rol, e) < 0)
        return -1;
    if (!rol || (strcmp(rol, "admin") != 0 && strcmp(rol, "miembro") != 0))
        return err_set(e, ERR_INVALID, "rol debe ser admin o miembro");
    json_object *m;
    if (chat_member_role(rq->db, rq->a, &rq->who, id, uid, strcmp(rol, "admin") == 0, &m, e) < 0)
        return -1;
    return http_json(rq, 200, m);
}

int h_miembros_remove(struct req *rq, struct err *e)
{
    long long id, uid;
    if (http_id(rq, "id", &id, e) < 0 || http_id(rq, "usuario_id", &uid, e) < 0 ||
        chat_member_remove(rq->db, rq->a, &rq->who, id, uid, e) < 0)
        return -1;
    return http_empty(rq, 204);
}

int h_chats_silenciar(struct req *rq, struct err *e)
{
    long long id;
    bool s;
    if (http_id(rq, "id", &id, e) < 0)
        return -1;
    int r = jsonx_get_bool(rq->json, "silenciado", &s, e);
    if (r < 0)
        return -1;
    if (r == 1)
        return err_set(e, ERR_INVALID, "silenciado es obligatorio (true o false)");
    json_object *c;
    if (chat_mute(rq->db, rq->a, &rq->who, id, s, &c, e) < 0)
        return -1;
    return http_json(rq, 200, c);
}

/* GET /contextos/{tipo}/{clave}: the chat of one ERP record, for its
 * members (API.md §9). */
int h_contextos_get(struct req *rq, struct err *e)
{
    json_object *c;
    if (chat_contexto_get(rq->db, rq->a, &rq->who, route_capture(&rq->caps, "tipo"),
                          route_capture(&rq->caps, "clave"), &c, e) < 0)
        return -1;
    return http_json(rq, 200, c);
}
