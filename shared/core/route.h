/* route.h: URL path patterns ("/chats/{id}/mensajes") matched segment by
 * segment, with captures percent-decoded. */
#ifndef CHAT_ROUTE_H
#define CHAT_ROUTE_H

#include <stddef.h>

#include "core/arena.h"

#define ROUTE_MAX_CAPTURES 4

struct route_captures {
    const char *name[ROUTE_MAX_CAPTURES];
    const char *value[ROUTE_MAX_CAPTURES];   /* decoded, in the arena */
    int n;
};

/* Matches path (no query string) against pattern. Literal segments compare
 * exactly; "{name}" takes one non-empty segment, percent-decoded (a decoded
 * NUL or bad escape makes the match fail). A trailing slash on path is
 * ignored. Returns 1 on a match with captures filled, 0 otherwise. */
int route_match(const char *pattern, const char *path, struct arena *a,
                struct route_captures *caps);

/* Percent-decodes n bytes of s into the arena ('+' stays '+'). Returns NULL
 * on a bad escape or a decoded NUL. */
char *route_decode(struct arena *a, const char *s, size_t n);

/* The value of capture name, or NULL. */
const char *route_capture(const struct route_captures *caps, const char *name);

/* Parses a positive 64-bit id (decimal digits only, no sign, no leading
 * zero run beyond "0"); returns 0 and *out, or -1. */
int route_parse_id(const char *s, long long *out);

#endif
