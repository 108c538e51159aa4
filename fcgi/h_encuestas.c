/* h_encuestas.c: the poll endpoints (API.md §4.5). */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "domain/encuesta.h"
#include "core/jsonx.h"
#include "routes.h"

/* Longest vote selection accepted (repeats included) before it is read. */
#define ENC_MAX_SELECTION 50

static int encuestas_options(struct req *rq, struct enc_new *in, struct err *e)
{
    json_object *arr;
    int r = jsonx_get_array(rq->json, "opciones", &arr, e);
    if (r < 0)
        return -1;
    if (r == 1)
        return err_set(e, ERR_INVALID, "opciones es obligatorio");
    size_t n = json_object_array_length(arr);
    if (n < ENC_MIN_OPCIONES || n > ENC_MAX_OPCIONES)
        return err_set(e, ERR_INVALID, "opciones debe tener de %d a %d textos", ENC_MIN_OPCIONES,
                       ENC_MAX_OPCIONES);
    const char **texts = arena_alloc(rq->a, sizeof(char *) * n);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_string) ||
            strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
            return err_set(e, ERR_INVALID, "opciones debe ser una lista de textos");
        texts[i] = json_object_get_string(v);
    }
    in->opciones = texts;
    in->nopciones = n;
    return 0;
}

int h_encuestas_create(struct req *rq, struct err *e)
{
    struct enc_new in = { 0 };
    if (http_id(rq, "id", &in.chat_id, e) < 0 ||
        jsonx_get_str(rq->json, "pregunta", &in.pregunta, e) < 0 ||
        encuestas_options(rq, &in, e) < 0 ||
        jsonx_get_bool(rq->json, "multiple", &in.multiple, e) < 0 ||
        jsonx_get_bool(rq->json, "anonima", &in.anonima, e) < 0 ||
        jsonx_get_str(rq->json, "cierra_at", &in.cierra_at, e) < 0 ||
        jsonx_get_str(rq->json, "client_id", &in.client_id, e) < 0 ||
        enc_new_check(&in, (long long)time(NULL), e) < 0)
        return -1;
    bool created;
    json_object *m;
    if (enc_create(rq->db, rq->a, &rq->who, &in, &created, &m, e) < 0)
        return -1;
    return http_json(rq, created ? 201 : 200, m);
}

int h_encuestas_voto(struct req *rq, struct err *e)
{
    long long id;
    json_object *arr;
    if (http_id(rq, "id", &id, e) < 0)
        return -1;
    int r = jsonx_get_array(rq->json, "opciones", &arr, e);
    if (r < 0)
        return -1;
    if (r == 1)
        return err_set(e, ERR_INVALID, "opciones es obligatorio ([] retira el voto)");
    size_t n = json_object_array_length(arr);
    if (n > ENC_MAX_SELECTION)
        return err_set(e, ERR_INVALID, "opciones admite hasta %d ids", ENC_MAX_SELECTION);
    long long *ids = arena_alloc(rq->a, sizeof(long long) * (n + 1));
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        long long x = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
        if (x <= 0 || x == INT64_MAX)
            return err_set(e, ERR_INVALID, "opciones debe ser una lista de ids de opción");
        ids[i] = x;
    }
    json_object *m;
    if (enc_vote(rq->db, rq->a, &rq->who, id, ids, n, &m, e) < 0)
        return -1;
    return http_json(rq, 200, m);
}

int h_encuestas_cerrar(struct req *rq, struct err *e)
{
    long long id;
    json_object *m;
    if (http_id(rq, "id", &id, e) < 0 || enc_close(rq->db, rq->a, &rq->who, id, &m, e) < 0)
        return -1;
    return http_json(rq, 200, m);
}
