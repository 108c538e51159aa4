/* fuzz_json.c: the JSON body parser every REST handler reads through
 * (jsonx_parse_object), then the typed getters handlers use on it. */
#include <stdint.h>
#include <stdlib.h>

#include "core/arena.h"
#include "core/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct arena *a;
    if (!a)
        a = arena_new();
    struct err e = { ERR_NONE, "" };
    json_object *o = jsonx_parse_object(a, (const char *)data, size, &e);
    if (o) {
        const char *s;
        long long id;
        bool b;
        json_object *arr, *obj;
        jsonx_get_str(o, "contenido", &s, &e);
        jsonx_get_id(o, "usuario_id", &id, &e);
        jsonx_get_bool(o, "silenciado", &b, &e);
        /* handlers bound the length before jsonx_ids */
        if (jsonx_get_array(o, "usuario_ids", &arr, &e) == 0 && json_object_array_length(arr) <= 200) {
            long long *ids;
            jsonx_ids(a, arr, "usuario_ids", &ids, &e);
        }
        jsonx_get_object(o, "encuesta", &obj, &e);
        jsonx_text(a, o);
    }
    arena_reset(a);
    return 0;
}
