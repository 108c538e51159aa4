/* jsonx.c: json-c helpers. */
#include "core/jsonx.h"

#include <stdio.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void jsonx_put_hook(void *p)
{
    json_object_put(p);
}

json_object *jsonx_own(struct arena *a, json_object *o)
{
    if (o)
        arena_defer(a, jsonx_put_hook, o);
    return o;
}

json_object *jsonx_new_object(struct arena *a)
{
    return jsonx_own(a, json_object_new_object());
}

json_object *jsonx_new_array(struct arena *a)
{
    return jsonx_own(a, json_object_new_array());
}

void jsonx_add(json_object *o, const char *key, json_object *v)
{
    json_object_object_add(o, key, json_object_get(v));
}

void jsonx_push(json_object *arr, json_object *v)
{
    json_object_array_add(arr, json_object_get(v));
}

json_object *jsonx_parse_object(struct arena *a, const char *text, size_t len, struct err *e)
{
    if (!text || len == 0) {
        err_set(e, ERR_INVALID, "Se esperaba un cuerpo JSON");
        return NULL;
    }
    if (len > (size_t)0x7fffffff) {
        err_set(e, ERR_TOO_BIG, NULL);
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(32);
    if (!tok) {
        err_set(e, ERR_INTERNAL, NULL);
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!o || jerr != json_tokener_success) {
        json_object_put(o);
        err_set(e, ERR_INVALID, "JSON mal formado: %s",
                jerr == json_tokener_continue ? "incompleto" : json_tokener_error_desc(jerr));
        return NULL;
    }
    for (size_t i = used; i < len; i++)
        if (!strchr(" \t\r\n", text[i])) {
            json_object_put(o);
            err_set(e, ERR_INVALID, "JSON mal formado: datos después del objeto");
            return NULL;
        }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        err_set(e, ERR_INVALID, "Se esperaba un objeto JSON");
        return NULL;
    }
    return jsonx_own(a, o);
}

const char *jsonx_text(struct arena *a, json_object *o)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    return arena_strdup(a, s);
}

static int jsonx_field(json_object *obj, const char *key, json_type want, json_object **v,
                       const char *what, struct err *e)
{
    json_object *f = NULL;
    if (!obj || !json_object_object_get_ex(obj, key, &f) || !f)
        return 1;
    if (!json_object_is_type(f, want)) {
        err_set(e, ERR_INVALID, "El campo %s debe ser %s", key, what);
        return -1;
    }
    *v = f;
    return 0;
}

int jsonx_get_str(json_object *obj, const char *key, const char **out, struct err *e)
{
    json_object *v;
    int r = jsonx_field(obj, key, json_type_string, &v, "texto", e);
    if (r == 0) {
        /* a NUL inside would cut the text short on its way to SQL */
        if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
            err_set(e, ERR_INVALID, "El campo %s contiene caracteres no permitidos", key);
            return -1;
        }
        *out = json_object_get_string(v);
    }
    return r;
}

int jsonx_get_id(json_object *obj, const char *key, long long *out, struct err *e)
{
    json_object *v;
    int r = jsonx_field(obj, key, json_type_int, &v, "un número entero", e);
    if (r == 0) {
        errno = 0;
        long long x = json_object_get_int64(v);
        if (x <= 0 || x == INT64_MAX) {
            err_set(e, ERR_INVALID, "El campo %s debe ser un id positivo", key);
            return -1;
        }
        *out = x;
    }
    return r;
}

int jsonx_get_bool(json_object *obj, const char *key, bool *out, struct err *e)
{
    json_object *v;
    int r = jsonx_field(obj, key, json_type_boolean, &v, "booleano (true/false)", e);
    if (r == 0)
        *out = json_object_get_boolean(v);
    return r;
}

int jsonx_get_array(json_object *obj, const char *key, json_object **out, struct err *e)
{
    return jsonx_field(obj, key, json_type_array, out, "una lista", e);
}

int jsonx_get_object(json_object *obj, const char *key, json_object **out, struct err *e)
{
    return jsonx_field(obj, key, json_type_object, out, "un objeto", e);
}

json_object *jsonx_str(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *jsonx_id(const char *text)
{
    return text ? json_object_new_int64(strtoll(text, NULL, 10)) : NULL;
}

const char *jsonx_ts_text(const char *pg, char out[JSONX_TS_MAX])
{
    if (!pg)
        return NULL;
    /* "YYYY-MM-DD HH:MM:SS[.ffffff]+00" */
    size_t n = strlen(pg);
    if (n < 19)
        return pg;
    memcpy(out, pg, 10);
    out[10] = 'T';
    memcpy(out + 11, pg + 11, 8);
    char ms[4] = "000";
    if (n > 19 && pg[19] == '.')
        for (int i = 0; i < 3 && pg[20 + i] >= '0' && pg[20 + i] <= '9'; i++)
            ms[i] = pg[20 + i];
    out[19] = '.';
    memcpy(out + 20, ms, 3);
    memcpy(out + 23, "Z", 2);
    return out;
}

json_object *jsonx_ts(const char *pg)
{
    char out[JSONX_TS_MAX];
    const char *t = jsonx_ts_text(pg, out);
    return t ? json_object_new_string(t) : NULL;
}

long jsonx_utf8_chars(const char *s)
{
    long count = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int len;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return -1;
            len = 1;
        } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
            len = 2;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
        } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
            len = 4;
        } else {
            return -1;
        }
        for (int i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80)
                return -1;
        p += len;
        count++;
    }
    return count;
}

int jsonx_ids(struct arena *a, json_object *arr, const char *key, long long **out,
              struct err *e)
{
    size_t n = json_object_array_length(arr);
    long long *ids = arena_alloc(a, sizeof(long long) * (n + 1));
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        long long x = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
        if (x <= 0 || x == INT64_MAX)   /* INT64_MAX: json-c's clamp of a larger number */
            return err_set(e, ERR_INVALID, "%s debe ser una lista de ids", key);
        ids[i] = x;
    }
    *out = ids;
    return 0;
}
