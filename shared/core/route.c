/* route.c: path pattern matching. */
#include "core/route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int route_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *route_decode(struct arena *a, const char *s, size_t n)
{
    char *out = arena_alloc(a, n + 1), *w = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n)
                return NULL;
            int h = route_hex((unsigned char)s[i + 1]), l = route_hex((unsigned char)s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return NULL;
            *w++ = (char)(h * 16 + l);
            i += 2;
        } else {
            *w++ = s[i];
        }
    }
    *w = '\0';
    return out;
}

int route_match(const char *pattern, const char *path, struct arena *a,
                struct route_captures *caps)
{
    caps->n = 0;
    const char *p = pattern, *s = path;
    size_t plen = strlen(path);
    if (plen > 1 && path[plen - 1] == '/')
        plen--;
    const char *end = path + plen;
    while (*p && s < end) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        const char *pe = strchr(p, '/');
        if (!pe)
            pe = p + strlen(p);
        const char *se = memchr(s, '/', (size_t)(end - s));
        if (!se)
            se = end;
        size_t pl = (size_t)(pe - p), sl = (size_t)(se - s);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (sl == 0 || caps->n >= ROUTE_MAX_CAPTURES)
                return 0;
            char *v = route_decode(a, s, sl);
            if (!v)
                return 0;
            caps->name[caps->n] = arena_strndup(a, p + 1, pl - 2);
            caps->value[caps->n] = v;
            caps->n++;
        } else if (pl != sl || memcmp(p, s, pl) != 0) {
            return 0;
        }
        p = pe;
        s = se;
    }
    return *p == '\0' && s == end;
}

const char *route_capture(const struct route_captures *caps, const char *name)
{
    for (int i = 0; i < caps->n; i++)
        if (strcmp(caps->name[i], name) == 0)
            return caps->value[i];
    return NULL;
}

int route_parse_id(const char *s, long long *out)
{
    if (!s || !*s || strlen(s) > 18)
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    long long v = strtoll(s, NULL, 10);
    if (v <= 0)
        return -1;
    *out = v;
    return 0;
}
