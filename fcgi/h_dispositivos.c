/* h_dispositivos.c: registering and unregistering the caller's Expo push
 * tokens (API.md §4.7). */
#include "core/jsonx.h"
#include "domain/push.h"
#include "routes.h"

/* POST /dispositivos {token, plataforma}: 201 when the token is new to the
 * caller (or moved from another user), 200 when it was already theirs. */
int h_dispositivos_register(struct req *rq, struct err *e)
{
    const char *token = NULL, *plataforma = NULL;
    int rt = jsonx_get_str(rq->json, "token", &token, e);
    int rp = rt < 0 ? -1 : jsonx_get_str(rq->json, "plataforma", &plataforma, e);
    if (rt < 0 || rp < 0)
        return -1;
    if (rt > 0)
        return err_set(e, ERR_INVALID, "token es obligatorio");
    if (rp > 0)
        return err_set(e, ERR_INVALID, "plataforma es obligatoria: ios, android o web");
    bool created;
    json_object *o;
    if (push_device_register(rq->db, rq->a, rq->who.id, token, plataforma, &created, &o, e) < 0)
        return -1;
    return http_json(rq, created ? 201 : 200, o);
}

/* DELETE /dispositivos/{token} (URL-encoded): 204 whether or not the caller
 * had it; another user's token is left alone. */
int h_dispositivos_unregister(struct req *rq, struct err *e)
{
    const char *token = route_capture(&rq->caps, "token");
    if (push_device_unregister(rq->db, rq->a, rq->who.id, token, NULL, e) < 0)
        return -1;
    return http_empty(rq, 204);
}
