/* fuzz_sio.c: the Engine.IO/Socket.IO frame parser rtd runs on every
 * client frame, and the EVENT and CONNECT payload parsers after it. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/sio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sio_packet p;
    const char *why;
    if (sio_parse((const char *)data, size, &p, &why) < 0)
        return 0;
    /* pointers stay inside the frame */
    const char *lo = (const char *)data, *hi = lo + size;
    if (p.data < lo || p.data + p.data_len > hi || p.nsp_len > size)
        __builtin_trap();
    sio_nsp_main(&p);
    if (p.type == SIO_EVENT) {
        json_object *arr = NULL, *arg = NULL;
        const char *name;
        if (sio_event_parse(p.data, p.data_len, &arr, &name, &arg, &why) == 0) {
            if (!name)
                __builtin_trap();
            json_object_put(arr);
        }
    } else if (p.type == SIO_CONNECT) {
        char *token = NULL;
        if (sio_connect_parse(p.data, p.data_len, &token, &why) == 0)
            free(token);
    }
    return 0;
}
