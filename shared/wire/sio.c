/* sio.c: Engine.IO / Socket.IO packet parsing (text frames). */
#include "wire/sio.h"

#include <string.h>

int sio_parse(const char *buf, size_t len, struct sio_packet *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    out->type = -1;
    out->ack = -1;
    out->nsp = "/";
    out->nsp_len = 1;
    out->data = "";
    if (len == 0) {
        *why = "empty frame";
        return -1;
    }
    if (buf[0] < SIO_EIO_OPEN || buf[0] > SIO_EIO_NOOP) {
        *why = "unknown engine.io packet type";
        return -1;
    }
    out->eio = buf[0];
    if (out->eio != SIO_EIO_MESSAGE) {
        out->data = buf + 1;
        out->data_len = len - 1;
        return 0;
    }
    size_t i = 1;
    if (i >= len || buf[i] < '0' || buf[i] > '6') {
        *why = "unknown socket.io packet type";
        return -1;
    }
    out->type = buf[i++] - '0';
    if (out->type == SIO_BINARY_EVENT || out->type == SIO_BINARY_ACK) {
        *why = "binary packets are not supported";
        return -1;
    }
    if (i < len && buf[i] == '/') {
        size_t start = i;
        while (i < len && buf[i] != ',')
            i++;
        if (i >= len) {
            /* "41/admin" (no data) is valid: the namespace runs to the end */
            out->nsp = buf + start;
            out->nsp_len = len - start;
            out->data = buf + len;
            return 0;
        }
        out->nsp = buf + start;
        out->nsp_len = i - start;
        i++; /* the comma */
    }
    if (i < len && buf[i] >= '0' && buf[i] <= '9') {
        long long ack = 0;
        size_t digits = 0;
        while (i < len && buf[i] >= '0' && buf[i] <= '9') {
            if (++digits > SIO_ACK_MAX_DIGITS) {
                *why = "ack id too long";
                return -1;
            }
            ack = ack * 10 + (buf[i++] - '0');
        }
        out->ack = ack;
    }
    out->data = buf + i;
    out->data_len = len - i;
    if (out->data_len > 0 && buf[i] != '[' && buf[i] != '{') {
        *why = "socket.io data must be JSON";
        return -1;
    }
    return 0;
}

bool sio_nsp_main(const struct sio_packet *p)
{
    return p->nsp_len == 1 && p->nsp[0] == '/';
}

/* Parses len bytes as exactly one JSON value (nothing may follow). */
static json_object *sio_json(const char *data, size_t len)
{
    if (len == 0 || len > (size_t)0x7fffffff)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(32);
    if (!tok)
        return NULL;
    json_object *o = json_tokener_parse_ex(tok, data, (int)len);
    if (o && (json_tokener_get_error(tok) != json_tokener_success ||
              json_tokener_get_parse_end(tok) != len)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

int sio_event_parse(const char *data, size_t len, json_object **arr, const char **name,
                    json_object **arg, const char **why)
{
    *arr = NULL;
    *name = NULL;
    *arg = NULL;
    json_object *a = sio_json(data, len);
    if (!a || !json_object_is_type(a, json_type_array) || json_object_array_length(a) < 1 ||
        !json_object_is_type(json_object_array_get_idx(a, 0), json_type_string)) {
        json_object_put(a);
        *why = "an event is a JSON array starting with its name";
        return -1;
    }
    *arr = a;
    *name = json_object_get_string(json_object_array_get_idx(a, 0));
    if (json_object_array_length(a) > 1)
        *arg = json_object_array_get_idx(a, 1);
    return 0;
}

int sio_connect_parse(const char *data, size_t len, char **token, const char **why)
{
    *token = NULL;
    if (len == 0)
        return 0;
    json_object *o = sio_json(data, len);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        *why = "connect data must be a JSON object";
        return -1;
    }
    json_object *t;
    if (json_object_object_get_ex(o, "token", &t) && json_object_is_type(t, json_type_string))
        *token = strdup(json_object_get_string(t));
    json_object_put(o);
    return 0;
}
