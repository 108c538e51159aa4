/* util.c: shared outgoing frames and the u64 hash map of the daemon. */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct rt_buf *rt_buf_new(const char *text, size_t len)
{
    struct rt_buf *b = malloc(sizeof(*b) + LWS_PRE + len + 1);
    if (!b)
        abort();
    b->refs = 1;
    b->len = (uint32_t)len;
    b->at_us = 0;
    memcpy(RT_BUF_TEXT(b), text, len);
    RT_BUF_TEXT(b)[len] = '\0';
    return b;
}

struct rt_buf *rt_buf_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    struct rt_buf *b = malloc(sizeof(*b) + LWS_PRE + (size_t)n + 1);
    if (!b)
        abort();
    b->refs = 1;
    b->len = (uint32_t)n;
    va_start(ap, fmt);
    vsnprintf(RT_BUF_TEXT(b), (size_t)n + 1, fmt, ap);
    va_end(ap);
    return b;
}

struct rt_buf *rt_buf_event(const char *name, const char *json_text)
{
    json_object *s = json_object_new_string(name);
    struct rt_buf *b = rt_buf_printf("42[%s,%s]",
                                     json_object_to_json_string_ext(
                                         s, JSON_C_TO_STRING_NOSLASHESCAPE),
                                     json_text && *json_text ? json_text : "null");
    json_object_put(s);
    return b;
}

void rt_buf_unref(struct rt_buf *b)
{
    if (b && --b->refs == 0)
        free(b);
}

/* ---- map: open addressing, linear probing, tombstones ------------------ */

#define TOMB ((void *)&rt_map_tomb)
static const char rt_map_tomb;

static size_t rt_map_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k;
}

bool rt_map_live(const struct rt_map *m, size_t i)
{
    return m->e[i].val && m->e[i].val != TOMB;
}

static void rt_map_grow(struct rt_map *m)
{
    size_t ncap = m->cap ? m->cap : 16;
    while (m->n * 2 >= ncap)
        ncap *= 2;
    struct rt_map_ent *old = m->e;
    size_t ocap = m->cap;
    m->e = calloc(ncap, sizeof(*m->e));
    if (!m->e)
        abort();
    m->cap = ncap;
    m->n = m->used = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].val && old[i].val != TOMB)
            rt_map_put(m, old[i].key, old[i].val);
    free(old);
}

void *rt_map_get(const struct rt_map *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = rt_map_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].val)
            return NULL;
        if (m->e[i].val != TOMB && m->e[i].key == key)
            return m->e[i].val;
    }
}

void rt_map_put(struct rt_map *m, uint64_t key, void *val)
{
    if ((m->used + 1) * 4 >= m->cap * 3)
        rt_map_grow(m);
    size_t tomb = (size_t)-1;
    for (size_t i = rt_map_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].val) {
            if (tomb != (size_t)-1)
                i = tomb;
            else
                m->used++;
            m->e[i].key = key;
            m->e[i].val = val;
            m->n++;
            return;
        }
        if (m->e[i].val == TOMB) {
            if (tomb == (size_t)-1)
                tomb = i;
        } else if (m->e[i].key == key) {
            m->e[i].val = val;
            return;
        }
    }
}

void rt_map_del(struct rt_map *m, uint64_t key)
{
    if (!m->cap)
        return;
    for (size_t i = rt_map_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].val)
            return;
        if (m->e[i].val != TOMB && m->e[i].key == key) {
            m->e[i].val = TOMB;
            m->n--;
            return;
        }
    }
}

void rt_map_release(struct rt_map *m)
{
    free(m->e);
    memset(m, 0, sizeof(*m));
}
