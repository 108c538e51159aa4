/* origin.c: origin parsing and the cookie-session Origin rule. */
#include "core/origin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool origin_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

int origin_normalize(const char *s, size_t len, char *out)
{
    char buf[ORIGIN_MAX];
    if (!s || len == 0 || len >= sizeof(buf))
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        buf[i] = c;
    }
    buf[len] = '\0';
    const char *def;
    size_t sl;
    if (strncmp(buf, "http://", 7) == 0) {
        def = "80";
        sl = 7;
    } else if (strncmp(buf, "https://", 8) == 0) {
        def = "443";
        sl = 8;
    } else {
        return -1;
    }
    const char *h = buf + sl, *end = buf + len, *p = h;
    if (*p == '[') {
        p++;
        while (p < end && *p != ']') {
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == ':' || *p == '.'))
                return -1;
            p++;
        }
        if (p == end || p == h + 1)
            return -1;
        p++;
    } else {
        while (p < end && origin_host_char(*p))
            p++;
        if (p == h)
            return -1;
    }
    size_t hl = (size_t)(p - h);
    const char *port = NULL;
    size_t pl = 0;
    if (p < end) {
        if (*p != ':')
            return -1;
        port = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        pl = (size_t)(p - port);
        if (p != end || pl == 0 || pl > 5)
            return -1;
        long v = 0;
        for (size_t i = 0; i < pl; i++)
            v = v * 10 + (port[i] - '0');
        if (v < 1 || v > 65535)
            return -1;
        /* "0443" and "443" are the same port: drop leading zeros */
        while (pl > 1 && *port == '0') {
            port++;
            pl--;
        }
        if (pl == strlen(def) && memcmp(port, def, pl) == 0)
            port = NULL;
    }
    int n = port ? snprintf(out, ORIGIN_MAX, "%.*s%.*s:%.*s", (int)sl, buf, (int)hl, h, (int)pl, port)
                 : snprintf(out, ORIGIN_MAX, "%.*s%.*s", (int)sl, buf, (int)hl, h);
    return n > 0 && n < ORIGIN_MAX ? 0 : -1;
}

int origin_of_url(const char *url, char *out)
{
    if (!url)
        return -1;
    const char *sep = strstr(url, "://");
    if (!sep)
        return -1;
    const char *h = sep + 3;
    size_t n = strcspn(h, "/?#");
    /* user info ("user@host") is not an origin we accept */
    if (memchr(h, '@', n))
        return -1;
    return origin_normalize(url, (size_t)(h - url) + n, out);
}

int origin_own(const char *scheme, const char *host, const char *port, char *out)
{
    if (!host || !*host)
        return -1;
    char buf[ORIGIN_MAX];
    bool tls = scheme && strcasecmp(scheme, "https") == 0;
    /* a port is there when the host ends in ":digits" (after any "]") */
    const char *colon = strrchr(host, ':'), *bracket = strrchr(host, ']');
    bool has_port = colon && (!bracket || colon > bracket);
    bool add = !has_port && port && *port && strspn(port, "0123456789") == strlen(port);
    int n = snprintf(buf, sizeof(buf), "%s://%s%s%s", tls ? "https" : "http", host,
                     add ? ":" : "", add ? port : "");
    if (n <= 0 || n >= (int)sizeof(buf))
        return -1;
    return origin_normalize(buf, (size_t)n, out);
}

/* Calls fn on each entry of list; stops at the first nonzero result. */
static int origin_each(const char *list, int (*fn)(const char *s, size_t n, void *arg), void *arg)
{
    const char *p = list ? list : "";
    while (*p) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ", \t");
        if (n == 0)
            break;
        int r = fn(p, n, arg);
        if (r)
            return r;
        p += n;
    }
    return 0;
}

struct origin_check_arg {
    char *why;
    size_t whylen;
};

static int origin_check_one(const char *s, size_t n, void *arg)
{
    struct origin_check_arg *c = arg;
    char tmp[ORIGIN_MAX];
    if (origin_normalize(s, n, tmp) < 0) {
        snprintf(c->why, c->whylen,
                 "origenes_permitidos: \"%.*s\" is not an origin (scheme://host[:port], no path)",
                 (int)(n > 100 ? 100 : n), s);
        return -1;
    }
    return 0;
}

int origin_list_check(const char *list, char *why, size_t whylen)
{
    struct origin_check_arg c = { why, whylen };
    return origin_each(list, origin_check_one, &c);
}

static int origin_match_one(const char *s, size_t n, void *arg)
{
    char tmp[ORIGIN_MAX];
    return origin_normalize(s, n, tmp) == 0 && strcmp(tmp, (const char *)arg) == 0;
}

bool origin_in(const char *o, const char *own, const char *list)
{
    if (!o || !*o)
        return false;
    if (own && strcmp(o, own) == 0)
        return true;
    return origin_each(list, origin_match_one, (void *)o) == 1;
}

bool origin_request_allowed(const char *origin, const char *sec_fetch_site,
                            const char *referer, const char *own, const char *list)
{
    char o[ORIGIN_MAX];
    if (origin) {
        /* "null" (sandboxed frames, file:, some redirects) fails to parse */
        return origin_normalize(origin, strlen(origin), o) == 0 && origin_in(o, own, list);
    }
    if (sec_fetch_site)
        return strcmp(sec_fetch_site, "same-origin") == 0;
    if (referer)
        return origin_of_url(referer, o) == 0 && origin_in(o, own, list);
    return false;
}
