/* jsonw.c: the JSON writer (jsonw.h). */
#include "core/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The arena frees the buffer current at reset through this slot, so a
 * move (realloc) needs no second hook. */
static void jsonw_free_hook(void *slot)
{
    free(*(char **)slot);
}

void jsonw_init(struct jsonw *w, struct arena *a, size_t hint)
{
    memset(w, 0, sizeof(*w));
    w->cap = hint < 64 ? 64 : hint;
    w->slot = arena_alloc(a, sizeof(*w->slot));
    w->buf = malloc(w->cap);
    if (!w->buf)
        abort();
    w->buf[0] = '\0';
    *w->slot = w->buf;
    arena_defer(a, jsonw_free_hook, w->slot);
}

bool jsonw_ok(const struct jsonw *w)
{
    return !w->bad && w->depth == 0 && !w->after_key;
}

/* Room for n more bytes and the terminating NUL. */
static void jsonw_reserve(struct jsonw *w, size_t n)
{
    if (w->len + n + 1 <= w->cap)
        return;
    size_t cap = w->cap * 2;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *nb = realloc(w->buf, cap);
    if (!nb)
        abort();
    w->buf = *w->slot = nb;
    w->cap = cap;
}

static inline void jsonw_put(struct jsonw *w, const char *s, size_t n)
{
    jsonw_reserve(w, n);
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static inline void jsonw_putc(struct jsonw *w, char c)
{
    jsonw_reserve(w, 1);
    w->buf[w->len++] = c;
    w->buf[w->len] = '\0';
}

/* Before a value or a key: the comma when the container has a member. */
static void jsonw_sep(struct jsonw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0 || w->depth > JSONW_MAX_DEPTH)
        return;
    uint64_t bit = (uint64_t)1 << (w->depth - 1);
    if (w->used & bit)
        jsonw_putc(w, ',');
    w->used |= bit;
}

static void jsonw_begin(struct jsonw *w, char c)
{
    jsonw_sep(w);
    jsonw_putc(w, c);
    w->depth++;
    if (w->depth > JSONW_MAX_DEPTH)
        w->bad = true;
    else
        w->used &= ~((uint64_t)1 << (w->depth - 1));
}

static void jsonw_end(struct jsonw *w, char c)
{
    if (w->depth == 0 || w->after_key) {
        w->bad = true;
        return;
    }
    w->depth--;
    jsonw_putc(w, c);
}

void jsonw_obj_begin(struct jsonw *w) { jsonw_begin(w, '{'); }
void jsonw_obj_end(struct jsonw *w) { jsonw_end(w, '}'); }
void jsonw_arr_begin(struct jsonw *w) { jsonw_begin(w, '['); }
void jsonw_arr_end(struct jsonw *w) { jsonw_end(w, ']'); }

/* The escape of byte c, or NULL when it is copied as it is. */
static const char *jsonw_escape(unsigned char c, char tmp[8])
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default:
        if (c >= 0x20)
            return NULL;
        memcpy(tmp, "\\u00", 4);
        tmp[4] = hex[c >> 4];
        tmp[5] = hex[c & 0xf];
        tmp[6] = '\0';
        return tmp;
    }
}

static void jsonw_quoted(struct jsonw *w, const char *s, size_t n)
{
    /* worst case every byte becomes \u00xx: reserve once */
    jsonw_reserve(w, n * 6 + 2);
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        char tmp[8];
        const char *esc = jsonw_escape(c, tmp);
        size_t el = strlen(esc);
        memcpy(o, esc, el);
        o += el;
    }
    *o++ = '"';
    *o = '\0';
    w->len = (size_t)(o - w->buf);
}

void jsonw_key(struct jsonw *w, const char *key)
{
    jsonw_sep(w);
    jsonw_quoted(w, key, strlen(key));
    jsonw_putc(w, ':');
    w->after_key = true;
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
    jsonw_sep(w);
    jsonw_quoted(w, s, n);
}

void jsonw_str(struct jsonw *w, const char *s)
{
    if (!s)
        jsonw_null(w);
    else
        jsonw_strn(w, s, strlen(s));
}

void jsonw_int(struct jsonw *w, long long v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    /* unsigned arithmetic: -LLONG_MIN does not fit a long long */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    jsonw_sep(w);
    jsonw_put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jsonw_int_text(struct jsonw *w, const char *text)
{
    if (!text)
        jsonw_null(w);
    else
        jsonw_int(w, strtoll(text, NULL, 10));
}

void jsonw_double(struct jsonw *w, double v)
{
    char buf[128];
    int n;
    if (isnan(v))
        n = snprintf(buf, sizeof(buf), "NaN");
    else if (isinf(v))
        n = snprintf(buf, sizeof(buf), v > 0 ? "Infinity" : "-Infinity");
    else {
        n = snprintf(buf, sizeof(buf), "%.17g", v);
        /* json-c marks an integral double as one: "2" prints "2.0" */
        bool numeric = (buf[0] >= '0' && buf[0] <= '9') ||
                       (n > 1 && buf[0] == '-' && buf[1] >= '0' && buf[1] <= '9');
        if (numeric && n < (int)sizeof(buf) - 2 && !strchr(buf, '.') && !strchr(buf, ',') &&
            !strchr(buf, 'e')) {
            memcpy(buf + n, ".0", 3);
            n += 2;
        }
        /* a locale with a decimal comma: json-c prints a point */
        char *comma = strchr(buf, ',');
        if (comma)
            *comma = '.';
    }
    jsonw_sep(w);
    jsonw_put(w, buf, (size_t)n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
    jsonw_sep(w);
    if (v)
        jsonw_put(w, "true", 4);
    else
        jsonw_put(w, "false", 5);
}

void jsonw_null(struct jsonw *w)
{
    jsonw_sep(w);
    jsonw_put(w, "null", 4);
}

void jsonw_json(struct jsonw *w, json_object *o)
{
    if (!o) {
        jsonw_null(w);
        return;
    }
    size_t n;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    jsonw_sep(w);
    jsonw_put(w, s, n);
}

void jsonw_json_text(struct jsonw *w, const char *text)
{
    size_t n = strlen(text);
    jsonw_sep(w);
    jsonw_reserve(w, n);
    char *o = w->buf + w->len;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (in_str) {
            *o++ = c;
            if (c == '\\' && i + 1 < n)
                *o++ = text[++i];
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            *o++ = c;
            in_str = true;
        } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            *o++ = c;
        }
    }
    *o = '\0';
    w->len = (size_t)(o - w->buf);
}
