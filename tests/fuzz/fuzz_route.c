/* fuzz_route.c: the REST route matcher (percent-decoding captures) and id
 * parser, over the shapes of patterns the route table uses. The input is
 * the request path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/route.h"

static const char *const patterns[] = {
    "/me",
    "/usuarios/{id}",
    "/interno/usuarios/{id_erp}/desactivar",
    "/chats/{id}/miembros/{usuario_id}",
    "/mensajes/{id}/reacciones/{emoji}",
    "/dispositivos/{token}",
    "/interno/contextos/{tipo}/{clave}",
    "/{a}/{b}/{c}/{d}",
    NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct arena *a;
    if (!a)
        a = arena_new();
    if (size > 8192)
        return 0;
    char *path = malloc(size + 1);
    memcpy(path, data, size);
    path[size] = '\0';
    for (int i = 0; patterns[i]; i++) {
        struct route_captures c;
        if (route_match(patterns[i], path, a, &c)) {
            if (c.n < 0 || c.n > ROUTE_MAX_CAPTURES)
                __builtin_trap();
            for (int j = 0; j < c.n; j++) {
                long long id;
                if (!c.value[j] || !c.value[j][0])
                    __builtin_trap();
                route_parse_id(c.value[j], &id);
            }
        }
    }
    route_decode(a, path, size);
    long long id;
    route_parse_id(path, &id);
    arena_reset(a);
    free(path);
    return 0;
}
