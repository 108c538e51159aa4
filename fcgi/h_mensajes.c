/* h_mensajes.c: messages, reactions, read marks and receipts (API.md §4.3). */
#include <string.h>

#include "core/jsonw.h"
#include "core/jsonx.h"
#include "domain/busq.h"
#include "domain/msg.h"
#include "routes.h"

int h_mensajes_list(struct req *rq, struct err *e)
{
    long long id, antes, despues;
    int limite;
    if (http_id(rq, "id", &id, e) < 0 || http_paging(rq, &limite, &antes, &despues, e) < 0)
        return -1;
    json_object *arr;
    bool more;
    bool bad = false;
    const char *around = http_query(rq, "alrededor", &bad);
    if (around) {
        /* the page around one message (a search hit): both directions */
        long long mid;
        bool newer;
        if (bad || route_parse_id(around, &mid) < 0)
            return err_set(e, ERR_INVALID, "alrededor debe ser el id de un mensaje");
        if (antes || despues)
            return err_set(e, ERR_INVALID, "Use alrededor sin antes ni despues");
        if (busq_around(rq->db, rq->a, &rq->who, id, mid, limite, &arr, &more, &newer, e) < 0)
            return -1;
        json_object *o = jsonx_new_object(rq->a);
        jsonx_add(o, "mensajes", arr);
        json_object_object_add(o, "hay_mas", json_object_new_boolean(more));
        json_object_object_add(o, "hay_mas_despues", json_object_new_boolean(newer));
        return http_json(rq, 200, o);
    }
    /* the hot read: printed straight into one buffer, no json-c tree */
    struct jsonw w;
    jsonw_init(&w, rq->a, 32768);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "mensajes");
    if (msg_history_write(rq->db, rq->a, &rq->who, id, antes, despues, limite, &w, &more, e) < 0)
        return -1;
    jsonw_key(&w, "hay_mas");
    jsonw_bool(&w, more);
    jsonw_obj_end(&w);
    return http_json_text(rq, 200, w.buf, w.len);
}

int h_mensajes_send(struct req *rq, struct err *e)
{
    struct msg_send_in in = { 0 };
    if (http_id(rq, "id", &in.chat_id, e) < 0)
        return -1;
    if (jsonx_get_str(rq->json, "tipo", &in.tipo, e) < 0 ||
        jsonx_get_str(rq->json, "contenido", &in.contenido, e) < 0 ||
        jsonx_get_id(rq->json, "respuesta_a", &in.respuesta_a, e) < 0 ||
        jsonx_get_id(rq->json, "media_id", &in.media_id, e) < 0 ||
        jsonx_get_str(rq->json, "client_id", &in.client_id, e) < 0)
        return -1;
    in.max_chars = rq->cfg->mensaje_max_chars;
    bool created;
    json_object *m;
    if (msg_send(rq->db, rq->a, &rq->who, &in, &created, &m, e) < 0)
        return -1;
    return http_json(rq, created ? 201 : 200, m);
}

int h_mensajes_edit(struct req *rq, struct err *e)
{
    long long id;
    const char *contenido = NULL;
    if (http_id(rq, "id", &id, e) < 0 || jsonx_get_str(rq->json, "contenido", &contenido, e) < 0)
        return -1;
    json_object *m;
    if (msg_edit(rq->db, rq->a, &rq->who, id, contenido, rq->cfg->mensaje_max_chars, &m, e) < 0)
        return -1;
    return http_json(rq, 200, m);
}

int h_mensajes_delete(struct req *rq, struct err *e)
{
    long long id;
    if (http_id(rq, "id", &id, e) < 0 || msg_delete(rq->db, rq->a, &rq->who, id, e) < 0)
        return -1;
    return http_empty(rq, 204);
}

/* Reactions answer 200 with the Mensaje whether or not anything changed
 * (API.md §3: a reaction is a write that answers the Mensaje). */
static int mensajes_react(struct req *rq, const char *emoji, bool add, struct err *e)
{
    long long id;
    if (http_id(rq, "id", &id, e) < 0)
        return -1;
    bool changed;
    json_object *m;
    if (msg_react(rq->db, rq->a, &rq->who, id, emoji, add, &changed, &m, e) < 0)
        return -1;
    return http_json(rq, 200, m);
}

int h_reacciones_add(struct req *rq, struct err *e)
{
    const char *emoji = NULL;
    if (jsonx_get_str(rq->json, "emoji", &emoji, e) < 0)
        return -1;
    if (!emoji)
        return err_set(e, ERR_INVALID, "emoji es obligatorio");
    return mensajes_react(rq, emoji, true, e);
}

int h_reacciones_remove(struct req *rq, struct err *e)
{
    return mensajes_react(rq, route_capture(&rq->caps, "emoji"), false, e);
}

int h_chats_leido(struct req *rq, struct err *e)
{
    long long id, mid = 0;
    if (http_id(rq, "id", &id, e) < 0)
        return -1;
    int r = jsonx_get_id(rq->json, "mensaje_id", &mid, e);
    if (r < 0)
        return -1;
    if (r == 1)
        return err_set(e, ERR_INVALID, "mensaje_id es obligatorio");
    bool changed;
    json_object *o;
    if (msg_mark_read(rq->db, rq->a, &rq->who, id, mid, &changed, &o, e) < 0)
        return -1;
    return http_json(rq, 200, o);
}

int h_mensajes_lecturas(struct req *rq, struct err *e)
{
    long long id;
    json_object *o;
    if (http_id(rq, "id", &id, e) < 0 || msg_readers(rq->db, rq->a, &rq->who, id, &o, e) < 0)
        return -1;
    return http_json(rq, 200, o);
}
