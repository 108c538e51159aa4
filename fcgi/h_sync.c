/* h_sync.c: delta sync (API.md §4.4). */
#include "core/jsonx.h"
#include "routes.h"
#include "domain/sync.h"

int h_sync(struct req *rq, struct err *e)
{
    const char *cursor = NULL;
    json_object *chats = NULL, *o;
    if (jsonx_get_str(rq->json, "cursor", &cursor, e) < 0 ||
        jsonx_get_object(rq->json, "chats", &chats, e) < 0)
        return -1;
    if (cursor) {
        if (sync_since(rq->db, rq->a, &rq->who, cursor, SYNC_MAX_EVENTS, &o, e) < 0)
            return -1;
    } else if (chats) {
        if (sync_seed(rq->db, rq->a, &rq->who, chats, SYNC_MAX_EVENTS, &o, e) < 0)
            return -1;
    } else {
        return err_set(e, ERR_INVALID, "cursor o chats es obligatorio");
    }
    return http_json(rq, 200, o);
}

int h_sync_cursor(struct req *rq, struct err *e)
{
    const char *c;
    if (sync_cursor(rq->db, rq->a, &c, e) < 0)
        return -1;
    json_object *o = jsonx_new_object(rq->a);
    json_object_object_add(o, "cursor", json_object_new_string(c));
    return http_json(rq, 200, o);
}
