/* h_comunicados.c: the announcement endpoints (API.md §4.6). */
#include <ctype.h>
#include <string.h>

#include "domain/comunicado.h"
#include "domain/msg.h"
#include "core/jsonx.h"
#include "routes.h"

/* A text field: valid UTF-8 without control characters other than \t \n
 * \r, at most max characters; required ones must not be blank. Absent
 * optional ones stay NULL. */
static int comunicados_text(json_object *j, const char *key, bool required, long max,
                            const char **out, struct err *e)
{
    *out = NULL;
    int r = jsonx_get_str(j, key, out, e);
    if (r < 0)
        return -1;
    if (r == 1) {
        if (required)
            return err_set(e, ERR_INVALID, "El campo %s es obligatorio", key);
        return 0;
    }
    long n = jsonx_utf8_chars(*out);
    if (n < 0)
        return err_set(e, ERR_INVALID, "El campo %s contiene caracteres no permitidos", key);
    if (n > max)
        return err_set(e, ERR_INVALID, "El campo %s admite hasta %ld caracteres", key, max);
    if (required) {
        const char *s = *out;
        while (*s && isspace((unsigned char)*s))
            s++;
        if (!*s)
            return err_set(e, ERR_INVALID, "El campo %s no puede estar vacío", key);
    }
    return 0;
}

static int comunicados_target_ids(struct req *rq, json_object *arr, struct com_new *in,
                                  struct err *e)
{
    size_t n = json_object_array_length(arr);
    if (n == 0 || n > COM_MAX_USUARIOS)
        return err_set(e, ERR_INVALID, "usuario_ids debe tener de 1 a %d ids", COM_MAX_USUARIOS);
    long long *ids;
    if (jsonx_ids(rq->a, arr, "usuario_ids", &ids, e) < 0)
        return -1;
    in->target = COM_USUARIOS;
    in->ids = ids;
    in->nids = n;
    return 0;
}

static int comunicados_target_deps(struct req *rq, json_object *arr, struct com_new *in,
                                   struct err *e)
{
    size_t n = json_object_array_length(arr);
    if (n == 0 || n > COM_MAX_DEPARTAMENTOS)
        return err_set(e, ERR_INVALID, "departamentos debe tener de 1 a %d nombres",
                       COM_MAX_DEPARTAMENTOS);
    const char **deps = arena_alloc(rq->a, sizeof(char *) * n);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        long len = s && strlen(s) == (size_t)json_object_get_string_len(v) ? jsonx_utf8_chars(s) : -1;
        if (len < 1 || len > COM_DEPARTAMENTO_MAX)
            return err_set(e, ERR_INVALID, "departamentos debe ser una lista de nombres de 1 a %d "
                                           "caracteres", COM_DEPARTAMENTO_MAX);
        deps[i] = s;
    }
    in->target = COM_DEPARTAMENTOS;
    in->deps = deps;
    in->ndeps = n;
    return 0;
}

/* destinatarios: exactly one of {todos: true}, {usuario_ids: [...]},
 * {departamentos: [...]}. */
static int comunicados_target(struct req *rq, struct com_new *in, struct err *e)
{
    json_object *t, *arr;
    int r = jsonx_get_object(rq->json, "destinatarios", &t, e);
    if (r < 0)
        return -1;
    if (r == 1)
        return err_set(e, ERR_INVALID, "El campo destinatarios es obligatorio");
    if (json_object_object_length(t) != 1)
        return err_set(e, ERR_INVALID, "destinatarios lleva uno de: todos, usuario_ids, "
                                       "departamentos");
    bool todos = false;
    if (jsonx_get_bool(t, "todos", &todos, e) == 0) {
        if (!todos)
            return err_set(e, ERR_INVALID, "destinatarios.todos debe ser true");
        in->target = COM_TODOS;
        return 0;
    }
    if ((r = jsonx_get_array(t, "usuario_ids", &arr, e)) == 0)
        return comunicados_target_ids(rq, arr, in, e);
    if (r < 0 || (r = jsonx_get_array(t, "departamentos", &arr, e)) < 0)
        return -1;
    if (r == 0)
        return comunicados_target_deps(rq, arr, in, e);
    return err_set(e, ERR_INVALID, "destinatarios lleva uno de: todos, usuario_ids, departamentos");
}

int h_comunicados_create(struct req *rq, struct err *e)
{
    struct com_new in = { 0 };
    /* the permission first: a caller without 567 learns nothing else */
    if (!usr_can(&rq->who, PERM_CREATE_ANNOUNCEMENT))
        return err_set(e, ERR_FORBIDDEN, "Crear comunicados requiere el permiso 567");
    if (comunicados_text(rq->json, "titulo", true, COM_TITULO_MAX, &in.titulo, e) < 0 ||
        comunicados_text(rq->json, "contenido", false, rq->cfg->mensaje_max_chars,
                         &in.contenido, e) < 0 ||
        jsonx_get_str(rq->json, "client_id", &in.client_id, e) < 0 ||
        msg_client_id_check(in.client_id, e) < 0 ||
        jsonx_get_id(rq->json, "media_id", &in.media_id, e) < 0 ||
        comunicados_target(rq, &in, e) < 0)
        return -1;
    bool created;
    json_object *c;
    if (com_create(rq->db, rq->a, &rq->who, &in, &created, &c, e) < 0)
        return -1;
    return http_json(rq, created ? 201 : 200, c);
}

int h_comunicados_list(struct req *rq, struct err *e)
{
    int limite;
    long long antes;
    json_object *arr;
    bool more;
    if (http_paging(rq, &limite, &antes, NULL, e) < 0 ||
        com_list(rq->db, rq->a, &rq->who, antes, limite, &arr, &more, e) < 0)
        return -1;
    json_object *o = jsonx_new_object(rq->a);
    jsonx_add(o, "comunicados", arr);
    json_object_object_add(o, "hay_mas", json_object_new_boolean(more));
    return http_json(rq, 200, o);
}

int h_comunicados_get(struct req *rq, struct err *e)
{
    long long id;
    json_object *c;
    if (http_id(rq, "id", &id, e) < 0 || com_get(rq->db, rq->a, &rq->who, id, &c, e) < 0)
        return -1;
    return http_json(rq, 200, c);
}

int h_comunicados_leido(struct req *rq, struct err *e)
{
    long long id;
    bool changed;
    json_object *c;
    if (http_id(rq, "id", &id, e) < 0 ||
        com_mark_read(rq->db, rq->a, &rq->who, id, &changed, &c, e) < 0)
        return -1;
    return http_json(rq, 200, c);
}

int h_comunicados_lecturas(struct req *rq, struct err *e)
{
    long long id;
    json_object *o;
    if (http_id(rq, "id", &id, e) < 0 || com_readers(rq->db, rq->a, &rq->who, id, &o, e) < 0)
        return -1;
    return http_json(rq, 200, o);
}

int h_comunicados_react(struct req *rq, struct err *e)
{
    long long id;
    const char *emoji = NULL;
    bool changed;
    json_object *c;
    if (http_id(rq, "id", &id, e) < 0 || jsonx_get_str(rq->json, "emoji", &emoji, e) < 0)
        return -1;
    if (!emoji)
        return err_set(e, ERR_INVALID, "El campo emoji es obligatorio");
    if (com_react(rq->db, rq->a, &rq->who, id, emoji, true, &changed, &c, e) < 0)
        return -1;
    return http_json(rq, 200, c);
}

/* Removing my reaction answers the Comunicado as it now is (200), like
 * every write on a resource that still exists. */
int h_comunicados_unreact(struct req *rq, struct err *e)
{
    long long id;
    bool changed;
    json_object *c;
    if (http_id(rq, "id", &id, e) < 0 ||
        com_react(rq->db, rq->a, &rq->who, id, route_capture(&rq->caps, "emoji"), false,
                  &changed, &c, e) < 0)
        return -1;
    return http_json(rq, 200, c);
}

int h_comunicados_delete(struct req *rq, struct err *e)
{
    long long id;
    if (!usr_can(&rq->who, PERM_DELETE_ANNOUNCEMENT))
        return err_set(e, ERR_FORBIDDEN, "Eliminar comunicados requiere el permiso 568");
    if (http_id(rq, "id", &id, e) < 0 || com_delete(rq->db, rq->a, &rq->who, id, e) < 0)
        return -1;
    return http_empty(rq, 204);
}
